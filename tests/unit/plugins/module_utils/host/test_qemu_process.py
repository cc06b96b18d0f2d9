# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The QEMU process reader on fake /proc trees shaped like QEMU 7.2's under libvirt 9.0."""

from __future__ import annotations

import os

import pytest
from fakeproc import GUEST_RAM, HUGE_RAM, NUMA_MAPS, PID, SMAPS, make_proc, stat_line

from ansible_collections.virtuned.libvirt.plugins.module_utils.host.qemu_process import (
    ProcReadError, default_hugepage_kib, find_qemu_pid, parse_numa_maps, parse_smaps, parse_stat, read_mappings,
    read_qemu_process, read_threads, thread_role)


def test_stat_fields_are_counted_from_the_last_parenthesis():
    line = stat_line(7, "odd) name (x", 2, 10, 0x40, nice=-5)
    assert parse_stat(line) == {"flags": 0x40, "nice": -5, "priority": 10, "policy": "rr"}


@pytest.mark.parametrize("name, flags, role", [
    ("CPU 0/KVM", 0, ("vcpu", 0)),
    ("CPU 12/TCG", 0, ("vcpu", 12)),
    ("IO iothread3", 0, ("iothread", 3)),
    ("IO mon_iothread", 0, ("emulator", None)),
    ("qemu-system-x86", 0, ("emulator", None)),
    ("vnc_worker", 0, ("emulator", None)),
    ("kvm-nx-lpage-re", 0x4000, ("kernel", None)),
    ("CPU 0/KVM", 0x200000, ("kernel", None)),
])
def test_thread_roles_come_from_qemu_thread_names(name, flags, role):
    assert thread_role(name, flags) == role


def test_threads(tmp_path):
    root = make_proc(tmp_path)
    assert read_threads(PID, root) == [
        {"tid": 4242, "name": "qemu-system-x86", "role": "emulator", "index": None, "cpus": frozenset({0}),
         "policy": "other", "priority": 0, "nice": 0},
        {"tid": 4246, "name": "qemu-system-x86", "role": "emulator", "index": None, "cpus": frozenset({0}),
         "policy": "other", "priority": 0, "nice": 0},
        {"tid": 4247, "name": "IO iothread1", "role": "iothread", "index": 1, "cpus": frozenset({1}),
         "policy": "batch", "priority": 0, "nice": 0},
        {"tid": 4248, "name": "IO mon_iothread", "role": "emulator", "index": None, "cpus": frozenset({0}),
         "policy": "other", "priority": 0, "nice": 0},
        {"tid": 4249, "name": "CPU 0/KVM", "role": "vcpu", "index": 0, "cpus": frozenset({1}),
         "policy": "fifo", "priority": 5, "nice": 0},
        {"tid": 4250, "name": "CPU 1/KVM", "role": "vcpu", "index": 1, "cpus": frozenset({0, 1}),
         "policy": "other", "priority": 0, "nice": 0},
        {"tid": 4252, "name": "vnc_worker", "role": "emulator", "index": None, "cpus": frozenset({0}),
         "policy": "other", "priority": 0, "nice": 0},
        {"tid": 4270, "name": "kvm-nx-lpage-re", "role": "kernel", "index": None, "cpus": frozenset({1}),
         "policy": "other", "priority": 0, "nice": 0},
    ]


def test_smaps_and_numa_maps_parse():
    smaps = parse_smaps(SMAPS)
    assert sorted(smaps) == [0x55908d6e2000, HUGE_RAM, GUEST_RAM]
    assert smaps[GUEST_RAM] == {"size_kib": 131072, "file": None, "fields": {
        "Size": 131072, "KernelPageSize": 4, "Rss": 8192, "AnonHugePages": 6144, "Shared_Hugetlb": 0,
        "Private_Hugetlb": 0}}
    numa = parse_numa_maps(NUMA_MAPS)
    assert numa[HUGE_RAM] == {"policy": "bind:0", "huge": True, "kernel_page_kib": 2048, "pages": {0: 48, 1: 16},
                              "file": "/dev/hugepages/libvirt/qemu/1-g/qemu_back_mem.pc.ram.Xa1b2\\040(deleted)"}
    assert numa[0x7fc3001f8000] == {"policy": "default", "huge": False, "file": None, "kernel_page_kib": None,
                                    "pages": {}}


def test_mappings_join_smaps_with_numa_maps(tmp_path):
    root = make_proc(tmp_path)
    assert read_mappings(PID, root) == [
        {"start": 0x55908d6e2000, "size_kib": 4124, "file": "/usr/bin/qemu-system-x86_64", "hugetlb": False,
         "page_kib": 4, "nodes": {0: 4060}, "rss_kib": 4060, "anon_huge_kib": 0, "hugetlb_kib": 0},
        {"start": HUGE_RAM, "size_kib": 131072, "hugetlb": True, "page_kib": 2048,
         "file": "/dev/hugepages/libvirt/qemu/1-g/qemu_back_mem.pc.ram.Xa1b2 (deleted)",
         "nodes": {0: 98304, 1: 32768}, "rss_kib": 0, "anon_huge_kib": 0, "hugetlb_kib": 131072},
        {"start": GUEST_RAM, "size_kib": 131072, "file": None, "hugetlb": False, "page_kib": 4,
         "nodes": {0: 6144, 1: 2048}, "rss_kib": 8192, "anon_huge_kib": 6144, "hugetlb_kib": 0},
    ]


def test_whole_process(tmp_path):
    root = make_proc(tmp_path)
    process = read_qemu_process(str(PID), root)
    assert (process["pid"], len(process["threads"]), len(process["mappings"])) == (PID, 8, 3)


def test_a_missing_process_is_a_clear_error(tmp_path):
    with pytest.raises(ProcReadError) as caught:
        read_threads(99, str(tmp_path))
    assert str(caught.value) == "cannot list %s/99/task: No such file or directory" % tmp_path


def test_pid_from_the_pid_file_or_the_command_line(tmp_path):
    root = make_proc(tmp_path / "proc", name="vt-guest")
    run = tmp_path / "run"
    run.mkdir()
    assert find_qemu_pid("vt-guest", root, (str(run),)) == PID  # no pid file: found by its -name
    (run / "vt-guest.pid").write_text("%d" % PID)
    assert find_qemu_pid("vt-guest", root, (str(run),)) == PID
    (run / "vt-guest.pid").write_text("777")  # stale: pid 777 is not this guest's QEMU
    assert find_qemu_pid("vt-guest", root, (str(run),)) == PID
    assert find_qemu_pid("vt-gues", root, (str(run),)) is None
    assert find_qemu_pid("vt-guest-2", root, (str(run),)) is None


def test_default_hugepage_size(tmp_path):
    assert default_hugepage_kib(str(tmp_path)) == 2048
    (tmp_path / "meminfo").write_text("MemTotal:  100 kB\nHugepagesize:    1048576 kB\n")
    assert default_hugepage_kib(str(tmp_path)) == 1048576


def test_an_unreadable_stat_is_a_clear_error(tmp_path):
    root = make_proc(tmp_path)
    stat = os.path.join(root, str(PID), "task", "4242", "stat")
    with open(stat, "w") as handle:
        handle.write("4242 (qemu-system-x86) S 1\n")
    with pytest.raises(ProcReadError) as caught:
        read_threads(PID, root)
    assert str(caught.value) == "cannot parse %s" % stat
