# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hugepage pools on fake sysfs trees: checks, boot-time arguments, reservation with read-back and retry."""

from __future__ import annotations

import os

import pytest
from conftest import run_module
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.hugepage_pools import (
    SysfsPools, check_memory, kernel_args, kernel_size, parse_requests, persistence, read_pools, reserve,
    split_boot_time)

GIB_KIB = 1024 * 1024


def make_sysfs(root, nodes=(0, 1), sizes=(2048, GIB_KIB), mem_total_kib=8 * GIB_KIB, mem_free_kib=6 * GIB_KIB):
    """A fake /sys with hugepage pools per node and host-wide, and node meminfo."""
    root = str(root)

    def pool(directory):
        os.makedirs(directory, exist_ok=True)
        for name in ("nr_hugepages", "free_hugepages", "surplus_hugepages"):
            with open(os.path.join(directory, name), "w") as handle:
                handle.write("0\n")

    for size in sizes:
        pool(os.path.join(root, "kernel/mm/hugepages", "hugepages-%dkB" % size))
        for node in nodes:
            pool(os.path.join(root, "devices/system/node/node%d/hugepages/hugepages-%dkB" % (node, size)))
    for node in nodes:
        with open(os.path.join(root, "devices/system/node/node%d/meminfo" % node), "w") as handle:
            handle.write("Node %d MemTotal:       %d kB\nNode %d MemFree:        %d kB\n"
                         % (node, mem_total_kib, node, mem_free_kib))
    return root


class CappedPools(SysfsPools):
    """A kernel that can allocate at most ``cap`` pages per pool, more on each retry when ``grow`` is set."""

    def __init__(self, root, cap, grow=0):
        SysfsPools.__init__(self, root)
        self.cap, self.grow, self.writes = cap, grow, []

    def set_count(self, node, size_kib, count):
        self.writes.append((node, size_kib, count))
        SysfsPools.set_count(self, node, size_kib, min(count, self.cap))
        self.cap += self.grow


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


# --- requests -------------------------------------------------------------------------------------

def test_parse_requests_normalises_sizes():
    assert parse_requests([{"size": "2M", "count": 512, "node": 0}, {"size": "1G", "count": 2},
                           {"size": 2048, "count": 3, "node": 1}], [2048, GIB_KIB], [0, 1]) == [
        {"node": 0, "size_kib": 2048, "count": 512},
        {"node": None, "size_kib": GIB_KIB, "count": 2},
        {"node": 1, "size_kib": 2048, "count": 3},
    ]


def test_unsupported_size_names_pdpe1gb():
    with pytest.raises(TuningError) as err:
        parse_requests([{"size": "1G", "count": 1}], [2048], [0])
    assert str(err.value) == ("pages[0].size: '1G' is not valid: this kernel offers hugepages of 2 MiB only "
                              "(1 GiB pages need the CPU flag pdpe1gb)")


def test_missing_node_refused():
    with pytest.raises(TuningError) as err:
        parse_requests([{"size": "2M", "count": 1, "node": 2}], [2048], [0, 1])
    assert str(err.value) == "pages[0].node: 2 is not valid: this host has NUMA nodes 0, 1"


def test_duplicates_and_mixed_scopes_refused():
    with pytest.raises(TuningError, match=r"^pages\[1\]: .* pages\[0\] already asks for 2M pages node 0$"):
        parse_requests([{"size": "2M", "count": 1, "node": 0}, {"size": "2048K", "count": 2, "node": 0}], [2048], [0])
    with pytest.raises(TuningError, match="2M pages are asked for both host-wide and per node"):
        parse_requests([{"size": "2M", "count": 1, "node": 0}, {"size": "2M", "count": 2}], [2048], [0])


@pytest.mark.parametrize("page, message", [
    ({"size": "2M", "count": -1}, "pages[0].count: -1 is not valid: expected a number of pages, 0 or more (0 releases them)"),
    ({"size": "2M", "count": True}, "pages[0].count: True is not valid: expected a number of pages, 0 or more (0 releases them)"),
    ({"count": 1}, "pages[0].size: None is not valid: a page size such as 2M or 1G is required"),
    ({"size": "2M", "count": 1, "nodes": 0},
     "pages[0]: {'size': '2M', 'count': 1, 'nodes': 0} is not valid: unknown keys nodes; use size, count and node"),
    ({"size": "3M", "count": 1}, "pages[0].size: '3M' is not valid: this kernel offers hugepages of 2 MiB, 1 GiB only"),
])
def test_bad_requests(page, message):
    with pytest.raises(TuningError) as err:
        parse_requests([page], [2048, GIB_KIB], [0])
    assert str(err.value) == message


# --- boot time ------------------------------------------------------------------------------------

REQUESTS = [{"node": 0, "size_kib": 2048, "count": 512}, {"node": 0, "size_kib": GIB_KIB, "count": 4},
            {"node": 1, "size_kib": GIB_KIB, "count": 2}]


def test_split_boot_time():
    assert split_boot_time(REQUESTS, "never") == (REQUESTS, [])
    assert split_boot_time(REQUESTS, "auto") == (REQUESTS[:1], REQUESTS[1:])
    assert split_boot_time(REQUESTS, "always") == (REQUESTS[:1], REQUESTS)


def test_kernel_args():
    assert kernel_args(REQUESTS[1:], default_size_kib=GIB_KIB) == [
        "default_hugepagesz=1G", "hugepagesz=1G", "hugepages=0:4,1:2"]
    assert kernel_args(REQUESTS) == ["hugepagesz=2M", "hugepages=0:512", "hugepagesz=1G", "hugepages=0:4,1:2"]
    assert kernel_args([{"node": None, "size_kib": GIB_KIB, "count": 8}]) == ["hugepagesz=1G", "hugepages=8"]
    assert kernel_args([{"node": None, "size_kib": GIB_KIB, "count": 0}]) == []
    assert kernel_size(64) == "64K" and kernel_size(2048) == "2M" and kernel_size(16 * GIB_KIB) == "16G"


def test_persistence_sysctl_for_host_wide_default_size_only():
    runtime = [{"node": None, "size_kib": 2048, "count": 100}, {"node": 1, "size_kib": 64, "count": 3},
               {"node": 0, "size_kib": 64, "count": 0}]
    assert persistence(runtime, 2048) == {"sysctl_nr_hugepages": 100,
                                          "boot_pools": [{"node": 1, "size_kib": 64, "count": 3}]}
    assert persistence(runtime[1:], 2048) == {"sysctl_nr_hugepages": None,
                                              "boot_pools": [{"node": 1, "size_kib": 64, "count": 3}]}


# --- memory check ---------------------------------------------------------------------------------

def test_min_free_refused_per_node(tmp_path):
    pools = SysfsPools(make_sysfs(tmp_path, mem_free_kib=2 * GIB_KIB))
    runtime = [{"node": 1, "size_kib": 2048, "count": 600}]  # 1.17 GiB of the 2 GiB free
    check_memory(pools, runtime[:0], [], 1024 * 1024)
    with pytest.raises(TuningError) as err:
        check_memory(pools, runtime, [], 1024 * 1024)
    assert str(err.value) == ("min_free: '1 GiB' is not valid: the run-time reservation asks 1200 MiB more on node 1, "
                              "which has 2 GiB free: less than 1 GiB would be left")
    check_memory(pools, [{"node": 1, "size_kib": 2048, "count": 400}], [], 1024 * 1024)


def test_min_free_refused_at_boot_and_host_wide(tmp_path):
    pools = SysfsPools(make_sysfs(tmp_path))
    with pytest.raises(TuningError, match="boot-time reservation takes 8 GiB of the 8 GiB of node 0"):
        check_memory(pools, [], [{"node": 0, "size_kib": GIB_KIB, "count": 8}], 1024 * 1024)
    with pytest.raises(TuningError, match="asks 11 GiB more on host-wide, which has 12 GiB free: less than 2 GiB"):
        check_memory(pools, [{"node": None, "size_kib": 2048, "count": 11 * 512}], [], 1024 * 1024)


def test_already_reserved_pages_do_not_count_again(tmp_path):
    pools = SysfsPools(make_sysfs(tmp_path, mem_free_kib=2 * GIB_KIB))
    pools.set_count(0, 2048, 600)
    check_memory(pools, [{"node": 0, "size_kib": 2048, "count": 600}], [], 1024 * 1024)


# --- reservation ----------------------------------------------------------------------------------

def test_reserve_writes_reads_back_and_is_idempotent(tmp_path):
    pools = SysfsPools(make_sysfs(tmp_path))
    runtime = [{"node": 0, "size_kib": 2048, "count": 64}, {"node": 1, "size_kib": 2048, "count": 0}]
    assert reserve(pools, runtime, check_mode=True) == {
        "changes": [{"node": 0, "size_kib": 2048, "before": 0, "requested": 64, "allocated": 0}], "short": []}
    assert pools.count(0, 2048) == 0
    assert reserve(pools, runtime) == {
        "changes": [{"node": 0, "size_kib": 2048, "before": 0, "requested": 64, "allocated": 64}], "short": []}
    assert pools.count(0, 2048) == 64
    assert reserve(pools, runtime) == {"changes": [], "short": []}
    assert reserve(pools, [{"node": 0, "size_kib": 2048, "count": 0}])["changes"][0]["allocated"] == 0


def test_reserve_retries_until_the_kernel_finds_the_pages(tmp_path):
    pools = CappedPools(make_sysfs(tmp_path), cap=10, grow=30)
    clock = FakeClock()
    result = reserve(pools, [{"node": 1, "size_kib": 2048, "count": 64}], timeout=30, sleep=clock.sleep, clock=clock)
    assert result["changes"][0]["allocated"] == 64
    assert pools.writes == [(1, 2048, 64)] * 3
    assert clock.now == 2.0


def test_reserve_short_fails_and_puts_pools_back(tmp_path):
    pools = CappedPools(make_sysfs(tmp_path), cap=37)
    pools.set_count(0, GIB_KIB, 1)
    clock = FakeClock()
    runtime = [{"node": 0, "size_kib": 2048, "count": 100}, {"node": 0, "size_kib": GIB_KIB, "count": 2}]
    with pytest.raises(TuningError) as err:
        reserve(pools, runtime, timeout=5, sleep=clock.sleep, clock=clock)
    assert str(err.value) == (
        "the kernel allocated fewer hugepages than requested within 5s (memory too fragmented or too little free); "
        "pools put back as they were: node 0, 2M pages: requested 100, allocated 37. Reserve at boot "
        "(boot_time: always) or allow a partial reservation")
    assert pools.count(0, 2048) == 0 and pools.count(0, GIB_KIB) == 1
    assert clock.now == 5.0


def test_reserve_partial_allowed_keeps_what_it_got(tmp_path):
    pools = CappedPools(make_sysfs(tmp_path), cap=37)
    clock = FakeClock()
    result = reserve(pools, [{"node": None, "size_kib": 2048, "count": 100}], allow_partial=True, timeout=2,
                     sleep=clock.sleep, clock=clock)
    assert result["short"] == [{"node": None, "size_kib": 2048, "before": 0, "requested": 100, "allocated": 37}]
    assert pools.count(None, 2048) == 37


def test_read_pools(tmp_path):
    pools = SysfsPools(make_sysfs(tmp_path, nodes=(0,), sizes=(2048,)))
    pools.set_count(0, 2048, 8)
    assert read_pools(pools) == ([{"node": 0, "size_kib": 2048, "total": 8, "free": 0, "surplus": 0}],
                                 [{"size_kib": 2048, "total": 0, "free": 0, "surplus": 0}])
    assert pools.meminfo(0) == {"MemTotal": 8 * GIB_KIB, "MemFree": 6 * GIB_KIB}
    assert pools.nodes() == [0] and pools.sizes() == [2048]


@given(st.lists(st.tuples(st.sampled_from([None, 0, 1]), st.sampled_from([2048, GIB_KIB]), st.integers(0, 9)),
                max_size=6, unique_by=lambda t: (t[0], t[1])))
def test_boot_args_cover_every_boot_pool_with_pages(items):
    requests = [{"node": n, "size_kib": s, "count": c} for n, s, c in items]
    if any(len(set(r["node"] is None for r in requests if r["size_kib"] == size)) == 2 for size in (2048, GIB_KIB)):
        return  # refused by parse_requests
    runtime, boot = split_boot_time(requests, "always")
    args = kernel_args(boot)
    sizes_with_pages = sorted(set(r["size_kib"] for r in requests if r["count"] > 0))
    assert args[0::2] == ["hugepagesz=%s" % kernel_size(s) for s in sizes_with_pages]
    assert all(r["size_kib"] == 2048 for r in runtime)


# --- the module as Ansible runs it ----------------------------------------------------------------

def make_proc(tmp_path, default_kib=2048):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text("MemTotal: 16777216 kB\nHugepagesize:       %d kB\n" % default_kib)
    return str(proc)


def test_module_reserves_plans_boot_and_persistence(tmp_path):
    sysfs = make_sysfs(tmp_path / "sys")
    args = {"pages": [{"size": "2M", "count": 16, "node": 1}, {"size": "1G", "count": 2, "node": 0}],
            "default_size": "1G", "sysfs_root": sysfs, "proc_root": make_proc(tmp_path)}
    check = run_module("hugepage_pools", args, check=True)
    assert check["changed"] is True and SysfsPools(sysfs).count(1, 2048) == 0
    result = run_module("hugepage_pools", args)
    assert result["changed"] is True
    assert result["changes"] == [{"node": 1, "size_kib": 2048, "before": 0, "requested": 16, "allocated": 16}]
    assert result["kernel_args"] == ["default_hugepagesz=1G", "hugepagesz=1G", "hugepages=0:2"]
    assert result["boot_pools"] == [{"node": 1, "size_kib": 2048, "count": 16}]
    assert result["sysctl_nr_hugepages"] is None and result["default_size_kib"] == 2048
    assert {"node": 1, "size_kib": 2048, "total": 16, "free": 0, "surplus": 0} in result["pools"]
    again = run_module("hugepage_pools", args)
    assert again["changed"] is False and again["changes"] == []


def test_module_failure_names_option_value_rule(tmp_path):
    sysfs = make_sysfs(tmp_path / "sys", sizes=(2048,))
    result = run_module("hugepage_pools", {"pages": [{"size": "1G", "count": 1}], "sysfs_root": sysfs,
                                           "proc_root": make_proc(tmp_path)})
    assert result["failed"] is True
    assert result["msg"] == ("pages[0].size: '1G' is not valid: this kernel offers hugepages of 2 MiB only "
                             "(1 GiB pages need the CPU flag pdpe1gb)")
