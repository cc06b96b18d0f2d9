# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""numa_planner golden tests: exact pinning and exact module options on described hosts."""

from __future__ import annotations

import pytest

import fakehost
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.profiles import PROFILES, resolve_profile

HOSTS = dict((name, build_host(fakehost.load_capabilities(name))) for name in fakehost.HOSTS)


def numa(nodes, cells):
    """Expected numa options: nodes per cell, cells as (cpus, memory)."""
    return {
        "numatune": {"memory": {"mode": "strict", "nodeset": ",".join(str(n) for n in sorted(nodes))
                                if sorted(nodes) != list(range(min(nodes), max(nodes) + 1)) or len(nodes) == 1
                                else "%d-%d" % (min(nodes), max(nodes))},
                     "memnodes": [{"cellid": i, "mode": "strict", "nodeset": str(n)} for i, n in enumerate(nodes)]},
        "cells": [{"id": i, "cpus": cpus, "memory": mem} for i, (cpus, mem) in enumerate(cells)],
    }


def pins(*cpus):
    return [{"vcpu": i, "cpuset": str(c)} for i, c in enumerate(cpus)]


def topology(sockets, cores, threads):
    return {"topology": {"sockets": sockets, "dies": 1, "cores": cores, "threads": threads}}


def by_name(result):
    return dict((g["name"], g) for g in result["plan"])


def test_interleaved_smt_three_kinds_of_guest():
    result = plan(HOSTS["two-socket-interleaved"], [
        {"name": "vm1", "vcpus": 4, "memory": "8G", "cpu_policy": "dedicated"},
        {"name": "rt", "vcpus": 4, "memory": "4G", "profile": "realtime"},
        {"name": "nfv", "vcpus": 8, "memory": "8G", "profile": "nfv-hugepages", "numa_nodes": 2, "iothreads": 1},
    ], reserved_cpus="0-1,56-57")
    guests = by_name(result)
    assert guests["nfv"] == {
        "name": "nfv", "fits": True, "reason": "", "host_nodes": [0, 1],
        "cputune": {"vcpupin": pins(3, 59, 4, 60, 28, 84, 29, 85), "emulatorpin": "2",
                    "iothreadpin": [{"iothread": 1, "cpuset": "58"}]},
        "numa": numa([0, 1], [("0-3", "4 GiB"), ("4-7", "4 GiB")]),
        "memory_backing": {"hugepages": [{"size": "1 GiB", "nodeset": "0-1"}]},
        "vcpus": {"maximum": 8, "placement": "static"},
        "cpu_model": topology(2, 2, 2),
        "iothreads": {"count": 1},
        # the newest version of the profile, as the guest records it
        "metadata": {"profile": "nfv-hugepages@2"},
    }
    assert guests["vm1"] == {
        "name": "vm1", "fits": True, "reason": "", "host_nodes": [0],
        "cputune": {"vcpupin": pins(5, 61, 6, 62), "emulatorpin": "5-6,61-62"},
        "numa": numa([0], [("0-3", "8 GiB")]),
        "memory_backing": {},
        "vcpus": {"maximum": 4, "placement": "static"},
        "cpu_model": topology(1, 2, 2),
    }
    assert guests["rt"] == {
        "name": "rt", "fits": True, "reason": "", "host_nodes": [0],
        "cputune": {"vcpupin": pins(8, 9, 10, 11), "emulatorpin": "7",
                    "vcpusched": [{"vcpus": "1-3", "scheduler": "fifo", "priority": 1}]},
        "numa": numa([0], [("0-3", "4 GiB")]),
        "memory_backing": {"hugepages": [{"size": "1 GiB", "nodeset": "0"}]},
        "vcpus": {"maximum": 4, "placement": "static"},
        "cpu_model": topology(1, 4, 1),
        "metadata": {"profile": "realtime@1"},
    }
    assert result["host_requirements"] == {
        "hugepages": [{"node": 0, "size": "1 GiB", "count": 8}, {"node": 1, "size": "1 GiB", "count": 4}],
        "isolated_cpus": "2-11,28-29,58-62,84-85"}
    lines = result["map"].splitlines()
    assert lines[0] == "node 0: 192 GiB memory, pages 2 MiB 0/8192 used, 1 GiB 8/32 used"
    assert lines[1:9] == [
        "  core 0,56: 0=housekeeping 56=housekeeping",
        "  core 1,57: 1=housekeeping 57=housekeeping",
        "  core 2,58: 2=nfv/emulator 58=nfv/io1",
        "  core 3,59: 3=nfv/v0 59=nfv/v1",
        "  core 4,60: 4=nfv/v2 60=nfv/v3",
        "  core 5,61: 5=vm1/v0 61=vm1/v1",
        "  core 6,62: 6=vm1/v2 62=vm1/v3",
        "  core 7,63: 7=rt/emulator 63=.",
    ]
    assert lines[9] == "  core 8,64: 8=rt/v0 64=rt/held"
    assert len(lines) == 2 + 56


def test_adjacent_five_vcpus_over_two_nodes_is_three_plus_two():
    result = plan(HOSTS["adjacent"], [
        {"name": "b", "vcpus": 5, "memory": "5G", "cpu_policy": "dedicated", "numa_nodes": 2,
         "emulator_threads": "isolate", "page_size": "2M"}], reserved_cpus="0-1")
    assert result["plan"] == [{
        "name": "b", "fits": True, "reason": "", "host_nodes": [0, 1],
        "cputune": {"vcpupin": pins(4, 5, 6, 16, 17), "emulatorpin": "2"},
        "numa": numa([0, 1], [("0-2", "3 GiB"), ("3-4", "2 GiB")]),
        "memory_backing": {"hugepages": [{"size": "2 MiB", "nodeset": "0-1"}]},
        "vcpus": {"maximum": 5, "placement": "static"},
        # 3 + 2 vCPUs: one core per socket, so that no socket straddles the cells
        "cpu_model": topology(5, 1, 1),
    }]
    assert result["host_requirements"] == {
        "hugepages": [{"node": 0, "size": "2 MiB", "count": 1536}, {"node": 1, "size": "2 MiB", "count": 1024}],
        "isolated_cpus": "2,4-6,16-17"}


def test_four_unequal_nodes_take_the_closest_pair_that_fits():
    guest = {"name": "big", "vcpus": 10, "memory": "10G", "cpu_policy": "dedicated"}
    result = plan(HOSTS["four-nodes-unequal"], [guest])
    assert result["plan"] == [{
        "name": "big", "fits": True, "reason": "", "host_nodes": [2, 0],
        "cputune": {"vcpupin": pins(12, 13, 14, 15, 16, 0, 1, 2, 3, 4), "emulatorpin": "0-4,12-16"},
        "numa": {"numatune": {"memory": {"mode": "strict", "nodeset": "0,2"},
                              "memnodes": [{"cellid": 0, "mode": "strict", "nodeset": "2"},
                                           {"cellid": 1, "mode": "strict", "nodeset": "0"}]},
                 "cells": [{"id": 0, "cpus": "0-4", "memory": "5 GiB"}, {"id": 1, "cpus": "5-9", "memory": "5 GiB"}]},
        "memory_backing": {},
        "vcpus": {"maximum": 10, "placement": "static"},
        "cpu_model": topology(2, 5, 1),
    }]


def test_four_unequal_nodes_spread():
    result = plan(HOSTS["four-nodes-unequal"], [
        {"name": "a", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"},
        {"name": "b", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"},
        {"name": "c", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"}], strategy="spread")
    assert [(g["name"], g["host_nodes"], g["cputune"]["vcpupin"]) for g in result["plan"]] == [
        # node 0 and node 2 both have 6 free CPUs after a: the tie goes to the lower node
        ("a", [0], pins(0, 1)), ("b", [0], pins(2, 3)), ("c", [2], pins(12, 13))]
    packed = plan(HOSTS["four-nodes-unequal"], [{"name": "a", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"}])
    assert packed["plan"][0]["host_nodes"] == [3]


def test_offline_cpus_and_isolate():
    spec = fakehost.HOSTS["offline-cpus"]
    del spec  # the host comes from the XML, which lists online CPUs only
    result = plan(HOSTS["offline-cpus"], [{"name": "iso", "vcpus": 4, "memory": "2G", "cpu_policy": "dedicated",
                                           "thread_policy": "isolate"}])
    assert result["plan"][0]["cputune"] == {"vcpupin": pins(5, 4, 6, 7), "emulatorpin": "4-7"}
    assert result["plan"][0]["cpu_model"] == topology(1, 4, 1)
    assert result["map"].splitlines()[4:] == [
        "node 1: 8 GiB memory",
        "  core 4,12: 4=iso/v1 12=iso/held",
        "  core 5: 5=iso/v0",
        "  core 6,14: 6=iso/v2 14=iso/held",
        "  core 7,15: 7=iso/v3 15=iso/held",
    ]


def test_offline_cpus_from_sysfs_are_never_used(tmp_path):
    spec = fakehost.HOSTS["offline-cpus"]
    host = build_host(fakehost.load_capabilities("offline-cpus"),
                      sysfs_root=fakehost.write_sysfs(spec, str(tmp_path / "sys")))
    result = plan(host, [{"name": "all", "vcpus": 13, "memory": "2G", "cpu_policy": "dedicated"}])
    used = sorted(int(p["cpuset"]) for p in result["plan"][0]["cputune"]["vcpupin"])
    assert used == [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15]
    assert result["map"].splitlines()[-1] == "offline: 3,11,13"
    too_many = plan(host, [{"name": "x", "vcpus": 14, "memory": "2G", "cpu_policy": "dedicated", "numa_nodes": 2}])
    assert too_many["plan"][0]["reason"] == "over 2 nodes with small pages: node 0: 6 free CPUs, 7 needed"


def test_no_smt_require_is_refused_and_named():
    result = plan(HOSTS["no-smt"], [{"name": "req", "vcpus": 4, "memory": "2G", "cpu_policy": "dedicated",
                                     "thread_policy": "require", "numa_nodes": 1}])
    assert result["plan"] == [{
        "name": "req", "fits": False, "host_nodes": [],
        "reason": "on 1 node with small pages: node 0: thread_policy require needs SMT, the host has 1 thread per "
                  "core; node 1: thread_policy require needs SMT, the host has 1 thread per core"}]


def test_no_smt_hugepages_split_over_nodes():
    result = plan(HOSTS["no-smt"], [{"name": "huge", "vcpus": 2, "memory": "10G", "page_size": "1G"}])
    assert result["plan"][0] == {
        "name": "huge", "fits": True, "reason": "", "host_nodes": [0, 1],
        "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "0-7"}, {"vcpu": 1, "cpuset": "8-15"}], "emulatorpin": "0-15"},
        "numa": numa([0, 1], [("0", "5 GiB"), ("1", "5 GiB")]),
        "memory_backing": {"hugepages": [{"size": "1 GiB", "nodeset": "0-1"}]},
        "vcpus": {"maximum": 2, "placement": "static"},
        "cpu_model": topology(2, 1, 1),
    }
    refused = plan(HOSTS["no-smt"], [{"name": "huge", "vcpus": 2, "memory": "10G", "page_size": "1G",
                                      "numa_nodes": 1}])
    assert refused["plan"][0]["reason"] == \
        "on 1 node with 1 GiB pages: node 0: 8 free 1 GiB pages, 10 needed; node 1: 8 free 1 GiB pages, 10 needed"


def test_reserve_hugepages_plans_a_host_without_pages():
    guests = [{"name": "g", "vcpus": 2, "memory": "3G", "cpu_policy": "dedicated", "page_size": "2M"}]
    refused = plan(HOSTS["offline-cpus"], guests)
    assert refused["plan"][0]["reason"] == \
        ("on 1 node with 2 MiB pages: node 0: 0 free 2 MiB pages, 1536 needed; node 1: 0 free 2 MiB pages, 1536 needed; "
         "over 2 nodes with 2 MiB pages: node 0: 0 free 2 MiB pages, 768 needed; node 1: 0 free 2 MiB pages, 768 needed")
    reserved = plan(HOSTS["offline-cpus"], guests, reserve_hugepages=True)
    assert reserved["plan"][0]["memory_backing"] == {"hugepages": [{"size": "2 MiB", "nodeset": "0"}]}
    assert reserved["host_requirements"]["hugepages"] == [{"node": 0, "size": "2 MiB", "count": 1536}]


def test_mixed_policy_pins_dedicated_and_shares_the_rest():
    result = plan(HOSTS["adjacent"], [{"name": "m", "vcpus": 4, "memory": "2G", "cpu_policy": "mixed",
                                       "dedicated_vcpus": "2-3", "realtime_vcpus": "3"}], reserved_cpus="0-1")
    assert result["plan"][0]["cputune"] == {
        "vcpupin": [{"vcpu": 0, "cpuset": "0-1,4-15"}, {"vcpu": 1, "cpuset": "0-1,4-15"},
                    {"vcpu": 2, "cpuset": "2"}, {"vcpu": 3, "cpuset": "3"}],
        "emulatorpin": "0-1,4-15",
        "vcpusched": [{"vcpus": "3", "scheduler": "fifo", "priority": 1}]}
    assert result["plan"][0]["cpu_model"] == topology(1, 4, 1)


def test_explicit_cells():
    result = plan(HOSTS["adjacent"], [{"name": "c", "vcpus": 4, "memory": "3G", "cpu_policy": "dedicated",
                                       "cells": [{"vcpus": 2, "memory": "2G"}, {"cpus": "2-3", "memory": "1G"}]}])
    assert result["plan"][0]["numa"]["cells"] == [{"id": 0, "cpus": "0-1", "memory": "2 GiB"},
                                                  {"id": 1, "cpus": "2-3", "memory": "1 GiB"}]
    assert result["plan"][0]["cpu_model"] == topology(2, 1, 2)


def test_existing_guests_hold_their_cpus_and_pages():
    result = plan(HOSTS["adjacent"], [{"name": "new", "vcpus": 2, "memory": "2G", "cpu_policy": "dedicated",
                                       "page_size": "2M"}],
                  existing=[{"name": "old", "cpus": "0-13", "memory": [{"node": 0, "size": "3G", "page_size": "2M"}]}])
    # node 0 has CPUs 14-15 free but only 512 of its 2048 pages: the old guest (not running) holds 1536
    assert (result["plan"][0]["host_nodes"], result["plan"][0]["cputune"]["vcpupin"]) == ([1], pins(16, 17))
    assert result["host_requirements"] == {
        "hugepages": [{"node": 0, "size": "2 MiB", "count": 1536}, {"node": 1, "size": "2 MiB", "count": 1024}],
        "isolated_cpus": "0-13,16-17"}
    bigger = plan(HOSTS["adjacent"], [{"name": "new", "vcpus": 2, "memory": "2G", "cpu_policy": "dedicated",
                                       "page_size": "2M", "numa_nodes": 1}],
                  existing=[{"name": "old", "cpus": "0-11", "memory": [{"node": 0, "size": "3G", "page_size": "2M"}]},
                            {"name": "other", "cpus": "16-31"}])
    # every shortage, and the guests holding what is short
    assert bigger["plan"][0]["reason"] == ("on 1 node with 2 MiB pages: node 0: 512 free 2 MiB pages, 1024 needed "
                                           "(held by old); node 1: 0 free CPUs, 2 needed (held by other)")


def existing_from(result):
    """What the guests of a plan hold, as the role would pass it back."""
    held = []
    for guest in result["plan"]:
        if not guest["fits"]:
            continue
        cpus = [p["cpuset"] for p in guest["cputune"]["vcpupin"]]
        held.append({"name": guest["name"], "cpus": ",".join(cpus)})
    return held


def test_adding_a_guest_keeps_the_others_where_they_are():
    guests = [{"name": "b%d" % i, "vcpus": 2 + i % 3, "memory": "1G", "cpu_policy": "dedicated"} for i in range(6)]
    first = plan(HOSTS["adjacent"], guests, reserved_cpus="0-1")
    bigger = {"name": "a-big", "vcpus": 8, "memory": "4G", "cpu_policy": "dedicated"}
    second = plan(HOSTS["adjacent"], guests + [bigger], reserved_cpus="0-1", existing=existing_from(first))
    assert [g for g in second["plan"] if g["name"] != "a-big"] == first["plan"]
    assert by_name(second)["a-big"]["fits"] is True
    # without existing, the bigger guest is placed first and the others move
    moved = plan(HOSTS["adjacent"], guests + [bigger], reserved_cpus="0-1")
    assert [g for g in moved["plan"] if g["name"] != "a-big"] != first["plan"]


def test_input_order_does_not_matter():
    guests = [{"name": "g%d" % i, "vcpus": 1 + i % 4, "memory": "%dG" % (1 + i % 2),
               "cpu_policy": ["dedicated", "shared", "mixed"][i % 3], **({"dedicated_vcpus": "0"} if i % 3 == 2 else {})}
              for i in range(12)]
    first = plan(HOSTS["four-nodes-unequal"], guests)
    again = plan(HOSTS["four-nodes-unequal"], list(reversed(guests)))
    assert first == again


@pytest.mark.parametrize("guest, message", [
    ({"name": "x", "vcpus": 0, "memory": "1G"}, "guests[x].vcpus: 0 is not valid: must be at least 1"),
    ({"name": "x", "vcpus": 2, "memory": "1G", "cpu_policy": "pinned"},
     "guests[x].cpu_policy: 'pinned' is not valid: expected one of shared, dedicated, mixed"),
    ({"name": "x", "vcpus": 2, "memory": "1G", "realtime_vcpus": "1"},
     "guests[x].realtime_vcpus: '1' is not valid: real-time vCPUs must be dedicated (cpu_policy dedicated, "
     "or in dedicated_vcpus)"),
    ({"name": "x", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated", "realtime_vcpus": "0-1"},
     "guests[x].realtime_vcpus: '0-1' is not valid: every vCPU is real-time: leave one for the emulator or set "
     "emulator_threads isolate"),
    ({"name": "x", "vcpus": 2, "memory": "1G", "cpu_policy": "mixed"},
     "guests[x].dedicated_vcpus: None is not valid: cpu_policy mixed needs dedicated_vcpus"),
    ({"name": "x", "vcpus": 2, "memory": "1G", "emulator_threads": "isolate"},
     "guests[x].emulator_threads: 'isolate' is not valid: isolated threads need CPUs of their own: use cpu_policy "
     "dedicated or mixed"),
    ({"name": "x", "vcpus": 2, "memory": "1G", "profile": "fast"},
     "guests[x].profile: 'fast' is not valid: unknown profile; known: dedicated, dedicated-isolated-emulator, "
     "nfv-hugepages, realtime, shared-balanced"),
    ({"name": "x", "vcpus": 2, "memory": "1G", "cells": [{"vcpus": 1, "memory": "1G"}]},
     "guests[x].cells: [{'vcpus': 1, 'memory': '1G'}] is not valid: the cells must hold every vCPU 0-1 exactly once"),
    ({"name": "x", "vcpus": 2, "memory": "1G", "page_size": "huge"},
     "guests[x].page_size: 'huge' is not valid: expected a number with an optional unit, such as 8G or '512 MiB'"),
    ({"name": "x", "vcpus": 2, "memory": "1G", "numa_nodes": 3},
     "guests[x].numa_nodes: 3 is not valid: each guest NUMA cell needs a vCPU"),
    ({"name": "x", "vcpus": 2, "memory": "1G", "colour": "red"},
     "guests[x]: ['colour'] is not valid: unknown fields; known: name, profile, vcpus, memory, cpu_policy, "
     "dedicated_vcpus, thread_policy, emulator_threads, iothreads, iothread_policy, numa_nodes, cells, page_size, "
     "realtime_vcpus, emulator_cell, topology, pci_devices, pci_numa_policy, strategy"),
])
def test_bad_requests_name_field_value_and_rule(guest, message):
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["adjacent"], [guest])
    assert str(caught.value) == message


def test_bad_plan_options():
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["adjacent"], [], reserved_cpus="40")
    assert str(caught.value) == "reserved_cpus: '40' is not valid: CPU 40 is not an online host CPU"
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["adjacent"], [], strategy="scatter")
    assert str(caught.value) == "strategy: 'scatter' is not valid: expected one of pack, spread"
    with pytest.raises(TuningError) as caught:
        plan({"cpus": []}, [])
    assert str(caught.value) == "host: ['cpus'] is not valid: the host dict needs a list under 'nodes' (use host_info's result)"
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["adjacent"], [{"name": "a", "vcpus": 1, "memory": "1G"}, {"name": "a", "vcpus": 1, "memory": "1G"}])
    assert str(caught.value) == "guests: 'a' is not valid: guest names must be unique"


def test_profiles_are_versioned_data():
    assert sorted(PROFILES) == ["dedicated", "dedicated-isolated-emulator", "nfv-hugepages", "realtime",
                                "shared-balanced"]
    assert resolve_profile("realtime@1") == {
        "cpu_policy": "dedicated", "thread_policy": "isolate", "emulator_threads": "isolate",
        "iothread_policy": "isolate", "page_size": "large", "realtime_vcpus": "^0"}
    with pytest.raises(TuningError) as caught:
        resolve_profile("realtime@7")
    assert str(caught.value) == "profile: 'realtime@7' is not valid: profile realtime has versions 1"


def test_request_fields_override_the_profile():
    result = plan(HOSTS["adjacent"], [{"name": "p", "vcpus": 2, "memory": "1G", "profile": "realtime",
                                       "page_size": "small", "thread_policy": "prefer"}])
    assert result["plan"][0]["cputune"] == {"vcpupin": pins(2, 3), "emulatorpin": "0",
                                            "vcpusched": [{"vcpus": "1", "scheduler": "fifo", "priority": 1}]}
    assert result["plan"][0]["memory_backing"] == {}
    assert result["plan"][0]["cpu_model"] == topology(1, 1, 2)


@pytest.mark.parametrize("profile, vcpupin, emulatorpin, extra", [
    ("dedicated", pins(2, 58, 3, 59), "2-3,58-59", {}),
    ("dedicated-isolated-emulator", pins(3, 59, 4, 60), "2", {}),
    ("realtime", pins(3, 4, 5, 6), "2", {"vcpusched": [{"vcpus": "1-3", "scheduler": "fifo", "priority": 1}]}),
    ("nfv-hugepages", pins(3, 59, 4, 60), "2", {}),
    ("shared-balanced", [{"vcpu": v, "cpuset": "0-27,56-83"} for v in range(4)], "0-27,56-83", {}),
])
def test_profiles_lead_to_the_documented_xml(profile, vcpupin, emulatorpin, extra):
    """docs/numa_profiles.md shows these placements."""
    result = plan(HOSTS["two-socket-interleaved"], [{"name": "g", "vcpus": 4, "memory": "4G", "profile": profile}],
                  reserved_cpus="0-1,56-57")
    assert result["plan"][0]["cputune"] == dict({"vcpupin": vcpupin, "emulatorpin": emulatorpin}, **extra)


def test_running_existing_guests_are_already_out_of_the_free_pages():
    guest = {"name": "new", "vcpus": 2, "memory": "2G", "cpu_policy": "dedicated", "page_size": "2M", "numa_nodes": 1}
    old = {"name": "old", "cpus": "0-3", "memory": [{"node": 0, "size": "3G", "page_size": "2M"}]}
    stopped = plan(HOSTS["adjacent"], [guest], existing=[old])
    running = plan(HOSTS["adjacent"], [guest], existing=[dict(old, active=True)])
    assert stopped["plan"][0]["host_nodes"] == [1]
    assert running["plan"][0]["host_nodes"] == [0]
    assert running["host_requirements"]["hugepages"] == [{"node": 0, "size": "2 MiB", "count": 2560}]
    # re-planning the running guest itself gives its pages back first
    again = plan(HOSTS["adjacent"], [dict(guest, name="old", memory="3G")], existing=[dict(old, active=True)])
    assert (again["plan"][0]["host_nodes"], again["plan"][0]["cputune"]["vcpupin"]) == ([0], pins(0, 1))
