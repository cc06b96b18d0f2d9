# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet placement golden tests: which host each guest goes to, and that each host's share is numa_plan's."""

from __future__ import annotations

import copy
import random

import pytest

import fakehost
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.fleet import plan_fleet
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan

FIXTURE_HOSTS = dict((name, build_host(fakehost.load_capabilities(name))) for name in fakehost.HOSTS)


def small_host(cores, threads=1, memory_gib=None, pages=None):
    """A host dict (host_info's shape) with one socket per node of ``cores`` cores each."""
    spec = fakehost.make_spec("t", cores, threads, "adjacent", memory_gib=memory_gib, pages=pages)
    return build_host(fakehost.capabilities_xml(spec))


def dedicated(name, vcpus, memory="1G", **extra):
    return dict({"name": name, "vcpus": vcpus, "memory": memory, "cpu_policy": "dedicated"}, **extra)


def per_host_plan(fleet_hosts, result, guests, strategy="pack", reserve_hugepages=False):
    """What numa_plan returns on each host for the guests fleet_plan put there (and those it re-plans there)."""
    by_name = dict((g["name"], g) for g in guests)
    out = {}
    for name, entry in fleet_hosts.items():
        names = set(result["placements"][name]) | set(p["name"] for p in result["plans"][name])
        requests = [dict((k, v) for k, v in by_name[n].items() if k not in ("host", "labels", "anti_affinity"))
                    for n in sorted(names)]
        out[name] = plan(entry["host"], requests, existing=entry.get("existing"),
                         reserved_cpus=entry.get("reserved_cpus"), strategy=strategy,
                         reserve_hugepages=reserve_hugepages)
    return out


# ---------------------------------------------------------------------------------------------- sharing numa_plan


@pytest.mark.parametrize("strategy", ["pack", "spread"])
def test_each_hosts_share_is_exactly_what_numa_plan_gives(strategy):
    hosts = {
        "hv-a": {"host": FIXTURE_HOSTS["adjacent"], "reserved_cpus": "0-1",
                 "existing": [{"name": "old", "cpus": "2-3", "memory": [{"node": 0, "size": "4G"}]}]},
        "hv-b": {"host": FIXTURE_HOSTS["four-nodes-unequal"], "labels": ["ssd"]},
        "hv-c": {"host": FIXTURE_HOSTS["no-smt"], "reserved_cpus": "0"},
        "hv-d": {"host": FIXTURE_HOSTS["offline-cpus"]},
    }
    guests = [
        dedicated("db1", 4, "4G", page_size="2M", anti_affinity="db"),
        dedicated("db2", 4, "4G", page_size="2M", anti_affinity="db"),
        dedicated("db3", 4, "4G", page_size="2M", anti_affinity="db"),
        dedicated("nfv", 4, "4G", profile="nfv-hugepages", labels=["ssd"]),
        dedicated("rt", 2, "2G", profile="realtime"),
        {"name": "web1", "vcpus": 3, "memory": "6G"},
        {"name": "web2", "vcpus": 2, "memory": "3G", "host": "hv-d"},
        {"name": "mix", "vcpus": 4, "memory": "2G", "cpu_policy": "mixed", "dedicated_vcpus": "2-3",
         "numa_nodes": 2},
        dedicated("big", 12, "8G", numa_nodes=2, emulator_threads="isolate", iothreads=1, iothread_policy="isolate"),
    ]
    result = plan_fleet(hosts, guests, strategy=strategy)
    expected = per_host_plan(hosts, result, guests, strategy)
    placed = sorted(n for names in result["placements"].values() for n in names)
    assert sorted(placed + [u["name"] for u in result["unplaced"]]) == sorted(g["name"] for g in guests)
    if strategy == "pack":
        assert result["placements"] == {"hv-a": ["db2"], "hv-b": ["db1", "rt"], "hv-c": ["big"],
                                        "hv-d": ["mix", "web1", "web2"]}
        assert [u["name"] for u in result["unplaced"]] == ["db3", "nfv"]
    for name in hosts:
        assert result["plans"][name] == expected[name]["plan"]
        assert result["host_requirements"][name] == expected[name]["host_requirements"]
        assert [p["name"] for p in result["plans"][name]] == result["placements"][name]


def test_pack_fills_the_busiest_host_and_spread_the_emptiest():
    hosts = dict(("hv%d" % i, {"host": small_host([4])}) for i in range(3))
    guests = [dedicated("g%d" % i, 1) for i in range(6)]
    packed = plan_fleet(hosts, guests, strategy="pack")
    spread = plan_fleet(hosts, guests, strategy="spread")
    # equal hosts: pack takes the first by name until it is full; spread goes round the hosts
    assert packed["placements"] == {"hv0": ["g0", "g1", "g2", "g3"], "hv1": ["g4", "g5"], "hv2": []}
    assert spread["placements"] == {"hv0": ["g0", "g3"], "hv1": ["g1", "g4"], "hv2": ["g2", "g5"]}


def test_pack_prefers_the_host_with_the_least_room_that_fits():
    # hv-big has 8 free CPUs, hv-small 4, hv-half 2 (6 of 8 held): a 2-vCPU guest goes to hv-half under
    # pack, to hv-big under spread; a 3-vCPU one skips hv-half (too little room) under pack
    hosts = {
        "hv-big": {"host": small_host([8])},
        "hv-small": {"host": small_host([4])},
        "hv-half": {"host": small_host([8]), "existing": [{"name": "other", "cpus": "0-5"}]},
    }
    assert plan_fleet(hosts, [dedicated("a", 2)])["placements"] == {"hv-big": [], "hv-half": ["a"], "hv-small": []}
    assert plan_fleet(hosts, [dedicated("a", 2)], strategy="spread")["placements"] == {
        "hv-big": ["a"], "hv-half": [], "hv-small": []}
    assert plan_fleet(hosts, [dedicated("a", 3)])["placements"] == {"hv-big": [], "hv-half": [], "hv-small": ["a"]}


def test_shared_guests_rank_hosts_by_free_memory():
    hosts = {"hv1": {"host": small_host([4], memory_gib=[8])}, "hv2": {"host": small_host([4], memory_gib=[16])}}
    guests = [{"name": "s1", "vcpus": 2, "memory": "4G"}]
    assert plan_fleet(hosts, guests)["placements"] == {"hv1": ["s1"], "hv2": []}
    assert plan_fleet(hosts, guests, strategy="spread")["placements"] == {"hv1": [], "hv2": ["s1"]}


# ---------------------------------------------------------------------------------------------- constraints


def test_anti_affinity_labels_and_a_fixed_host():
    hosts = {
        "hv1": {"host": small_host([4]), "labels": ["ssd", "gpu"]},
        "hv2": {"host": small_host([4]), "labels": ["ssd"]},
        "hv3": {"host": small_host([4])},
    }
    guests = [
        dedicated("a1", 1, anti_affinity="a"), dedicated("a2", 1, anti_affinity="a"),
        dedicated("a3", 1, anti_affinity="a"), dedicated("a4", 1, anti_affinity="a"),
        dedicated("gpu1", 1, labels=["gpu", "ssd"]),
        dedicated("pinned", 1, host="hv3"),
    ]
    result = plan_fleet(hosts, guests)
    assert result["placements"] == {"hv1": ["a1", "gpu1"], "hv2": ["a2"], "hv3": ["a3", "pinned"]}
    assert result["unplaced"] == [{"name": "a4", "reasons": {
        "hv1": "anti_affinity a: a1 already there",
        "hv2": "anti_affinity a: a2 already there",
        "hv3": "anti_affinity a: a3 already there",
    }}]


def test_a_guest_that_fits_nowhere_gets_one_reason_per_host():
    hosts = {
        "hv1": {"host": small_host([2], memory_gib=[4]), "labels": ["ssd"]},
        "hv2": {"host": small_host([2, 2], memory_gib=[1, 1]), "labels": ["ssd"]},
        "hv3": {"host": small_host([8])},
        "hv4": {"host": small_host([8]), "labels": ["ssd"]},
    }
    guests = [dedicated("filler", 8, host="hv4"), dedicated("big", 3, "3G", labels=["ssd"])]
    result = plan_fleet(hosts, guests)
    assert result["placements"] == {"hv1": [], "hv2": [], "hv3": [], "hv4": ["filler"]}
    assert result["unplaced"] == [{"name": "big", "reasons": {
        "hv1": "on 1 node with small pages: node 0: 2 free CPUs, 3 needed",
        "hv2": "on 1 node with small pages: node 0: 1 GiB of memory free, 3 GiB needed; node 0: 2 free CPUs, "
               "3 needed; node 1: 1 GiB of memory free, 3 GiB needed; node 1: 2 free CPUs, 3 needed; over 2 nodes "
               "with small pages: node 0: 1 GiB of memory free, 2 GiB needed; node 1: 1 GiB of memory free, "
               "2 GiB needed",
        "hv3": "the host lacks the label ssd",
        "hv4": "on 1 node with small pages: node 0: 0 free CPUs, 3 needed (held by filler)",
    }}]
    # each capacity reason is numa_plan's own refusal on that host
    for name in ("hv1", "hv2"):
        assert result["unplaced"][0]["reasons"][name] == plan(hosts[name]["host"], [dedicated("big", 3, "3G")])[
            "plan"][0]["reason"]


def test_a_fixed_host_that_is_full_leaves_the_guest_unplaced():
    hosts = {"hv1": {"host": small_host([2])}, "hv2": {"host": small_host([8])}}
    result = plan_fleet(hosts, [dedicated("g", 4, host="hv1")])
    assert result["unplaced"] == [{"name": "g", "reasons": {
        "hv1": "on 1 node with small pages: node 0: 2 free CPUs, 4 needed",
        "hv2": "the guest must go to hv1 (guests[g].host)",
    }}]


def test_a_guest_already_on_a_host_stays_there_and_is_planned_again_first():
    hosts = {
        "hv1": {"host": small_host([8])},
        "hv2": {"host": small_host([4]),
                "existing": [{"name": "db", "cpus": "2-3"}, {"name": "other", "cpus": "0"}]},
    }
    guests = [dedicated("db", 2), dedicated("new", 8)]
    result = plan_fleet(hosts, guests)
    # pack would prefer hv2 (least room) for a new 2-vCPU guest too, but db stays on hv2 regardless;
    # re-planned first, it takes the lowest free CPUs again
    assert result["placements"] == {"hv1": ["new"], "hv2": ["db"]}
    assert result["plans"]["hv2"][0]["cputune"]["vcpupin"] == [{"vcpu": 0, "cpuset": "1"}, {"vcpu": 1, "cpuset": "2"}]
    spread = plan_fleet(hosts, guests, strategy="spread")
    assert spread["placements"] == {"hv1": ["new"], "hv2": ["db"]}


def test_a_re_planned_guest_that_no_longer_fits_is_reported_as_numa_plan_reports_it():
    hosts = {"hv1": {"host": small_host([2]), "existing": [{"name": "db", "cpus": "0-1"}]},
             "hv2": {"host": small_host([8])}}
    result = plan_fleet(hosts, [dedicated("db", 4)])
    reason = "on 1 node with small pages: node 0: 2 free CPUs, 4 needed"
    assert result["unplaced"] == [{"name": "db", "reasons": {
        "hv1": reason, "hv2": "the guest is on hv1 (in its existing) and stays there"}}]
    assert result["plans"]["hv1"] == [{"name": "db", "fits": False, "reason": reason, "host_nodes": []}]
    assert result["plans"]["hv1"] == plan(hosts["hv1"]["host"], [dedicated("db", 4)],
                                          existing=hosts["hv1"]["existing"])["plan"]


# ---------------------------------------------------------------------------------------------- determinism, map


def test_same_input_in_any_order_gives_the_same_result():
    hosts = dict(("hv%d" % i, {"host": small_host([4, 4], threads=2), "labels": ["x"] if i % 2 else []})
                 for i in range(5))
    guests = [dedicated("d%d" % i, 1 + i % 4, anti_affinity="g%d" % (i % 3)) for i in range(12)] + \
        [{"name": "s%d" % i, "vcpus": 2, "memory": "%dG" % (1 + i % 3), "labels": ["x"] if i % 4 == 0 else []}
         for i in range(12)]
    first = plan_fleet(hosts, guests, strategy="spread")
    rnd = random.Random(7)
    shuffled_guests = list(copy.deepcopy(guests))
    rnd.shuffle(shuffled_guests)
    names = list(hosts)
    rnd.shuffle(names)
    shuffled_hosts = dict((n, copy.deepcopy(hosts[n])) for n in names)
    assert plan_fleet(shuffled_hosts, shuffled_guests, strategy="spread") == first


def test_the_map_has_a_row_per_host():
    hosts = {
        "hv1": {"host": small_host([2, 2], memory_gib=[4, 4], pages={0: {2048: 512}}), "reserved_cpus": "0"},
        "hypervisor-two": {"host": small_host([4], threads=2)},
    }
    guests = [dedicated("a", 1, "1G", page_size="2M"), {"name": "s", "vcpus": 2, "memory": "1G"}]
    result = plan_fleet(hosts, guests)
    assert result["placements"] == {"hv1": ["a", "s"], "hypervisor-two": []}
    assert result["map"] == (
        "host            guests  per node (pages: needed/in pool)\n"
        "hv1                  2  n0 cpus 0 free 2 held, shared vcpus 0/16, mem 3GiB free, pages 2MiB 512/512"
        " | n1 cpus 2 free 0 held, shared vcpus 2/32, mem 3GiB free\n"
        "hypervisor-two       0  n0 cpus 8 free 0 held, shared vcpus 0/128, mem 16GiB free\n")


def test_hugepages_needed_are_per_host_requirements_with_reserve_hugepages():
    hosts = {"hv1": {"host": small_host([4], memory_gib=[8])}}
    guests = [dedicated("a", 2, "2G", page_size="1G")]
    assert plan_fleet(hosts, guests)["unplaced"][0]["reasons"] == {
        "hv1": "on 1 node with 1 GiB pages: node 0: 0 free 1 GiB pages, 2 needed"}
    result = plan_fleet(hosts, guests, reserve_hugepages=True)
    assert result["host_requirements"] == {"hv1": {"hugepages": [{"node": 0, "size": "1 GiB", "count": 2}],
                                                   "isolated_cpus": "0-1"}}


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("hosts, guests, message", [
    ({}, [], "hosts: {} is not valid: expected a non-empty dict of inventory name -> {host, existing, ...}"),
    ({"hv1": {"existing": []}}, [], "hosts[hv1]: ['existing'] is not valid: each host needs 'host' "
                                    "(host_info's host dict)"),
    ({"hv1": {"host": "H", "zone": 1}}, [], "hosts[hv1]: ['zone'] is not valid: unknown fields; known: host, "
                                            "existing, reserved_cpus, allocation, labels, dedicated_cpus, "
                                            "shared_cpus, reserved_hugepages"),
    ({"hv1": {"host": "H", "labels": "ssd"}}, [], "hosts[hv1].labels: 'ssd' is not valid: expected a list of "
                                                  "label strings"),
    ({"hv1": {"host": "SMALL", "allocation": {"cpu_ratio": 0}}}, [],
     "hosts[hv1].allocation.cpu_ratio: 0 is not valid: must be above 0"),
    ({"hv1": {"host": "SMALL", "shared_cpus": "0", "dedicated_cpus": "0-1"}}, [],
     "hosts[hv1].shared_cpus: '0' is not valid: CPU 0 is in dedicated_cpus too; a CPU is dedicated or shared, "
     "not both"),
    ({"hv1": {"host": "H"}}, [dedicated("a", 1, host="hv9")],
     "guests[a].host: 'hv9' is not valid: not one of the hosts: hv1"),
    ({"hv1": {"host": "H"}}, [dedicated("a", 1), dedicated("a", 2)],
     "guests: 'a' is not valid: guest names must be unique"),
    ({"hv1": {"host": "H"}}, [dedicated("a", 1, anti_affinity=3)],
     "guests[a].anti_affinity: 3 is not valid: expected a group name"),
    ({"hv1": {"host": "H"}}, [dedicated("a", 1, zone="x")],
     "guests[a]: ['zone'] is not valid: unknown fields; known: name, profile, vcpus, memory, cpu_policy, "
     "dedicated_vcpus, thread_policy, emulator_threads, iothreads, iothread_policy, numa_nodes, cells, page_size, "
     "realtime_vcpus, emulator_cell, topology, pci_devices, pci_numa_policy, strategy"),
    ({"hv1": {"host": "H", "existing": [{"name": "a"}]}, "hv2": {"host": "H", "existing": [{"name": "a"}]}},
     [dedicated("a", 1)], "hosts[hv2].existing: 'a' is not valid: guest a is also in hosts[hv1].existing: "
                          "a guest is on one host"),
    ({"hv1": {"host": "H", "existing": [{"name": "a"}]}, "hv2": {"host": "H"}}, [dedicated("a", 1, host="hv2")],
     "guests[a].host: 'hv2' is not valid: the guest is in hosts[hv1].existing and stays there"),
    ({"hv1": {"host": "H"}}, [], "hosts[hv1].host: 'H' is not valid: expected the host dict that host_info returns"),
    ({"hv1": {"host": "SMALL", "reserved_cpus": "9"}}, [],
     "hosts[hv1].reserved_cpus: '9' is not valid: CPU 9 is not an online host CPU"),
    ({"hv1": {"host": "SMALL", "existing": [{"name": "x", "cpus": "7"}]}}, [],
     "hosts[hv1].existing[x].cpus: '7' is not valid: CPU 7 is not an online host CPU"),
])
def test_bad_input_names_the_option_value_and_rule(hosts, guests, message):
    for entry in hosts.values():
        if entry.get("host") == "SMALL":
            entry["host"] = small_host([2])
    with pytest.raises(TuningError) as err:
        plan_fleet(hosts, guests)
    assert str(err.value) == message


def test_bad_strategy():
    with pytest.raises(TuningError) as err:
        plan_fleet({"hv1": {"host": small_host([2])}}, [], strategy="fill")
    assert str(err.value) == "strategy: 'fill' is not valid: expected one of pack, spread"


# ---------------------------------------------------------------------------------------------- where greedy is not optimal
# (docs/fleet.md lists these; test_fleet_properties.py counts how often it happens on random small fleets)


def test_bigger_guests_first_can_place_fewer_guests_than_possible():
    # numa_plan's order takes the 4-vCPU guests first: 7 of 7 CPUs used by 2 guests, where 3 guests
    # (3 + 2,1 vCPUs) would fit; greedy places more vCPUs, not more guests
    hosts = {"h0": {"host": small_host([4])}, "h1": {"host": small_host([3])}}
    guests = [dedicated("g0", 2), dedicated("g1", 4), dedicated("g2", 3), dedicated("g3", 1), dedicated("g4", 4)]
    result = plan_fleet(hosts, guests)
    assert result["placements"] == {"h0": ["g1"], "h1": ["g2"]}
    assert [u["name"] for u in result["unplaced"]] == ["g0", "g3", "g4"]


def test_labels_are_not_looked_ahead():
    # g0 (no label) takes the only ssd host because it comes first; g1 needs ssd and finds it full
    hosts = {"hv-a": {"host": small_host([1]), "labels": ["ssd"]}, "hv-b": {"host": small_host([1])}}
    result = plan_fleet(hosts, [dedicated("g0", 1), dedicated("g1", 1, labels=["ssd"])])
    assert result["placements"] == {"hv-a": ["g0"], "hv-b": []}
    assert result["unplaced"] == [{"name": "g1", "reasons": {
        "hv-a": "on 1 node with small pages: node 0: 0 free CPUs, 1 needed (held by g0)",
        "hv-b": "the host lacks the label ssd"}}]


def test_a_guest_that_stays_keeps_the_profile_version_it_records():
    profiles = {"web": [{"version": 1, "description": "v1", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"},
                        {"version": 2, "description": "v2", "vcpus": 4, "memory": "1G", "cpu_policy": "dedicated"}]}
    hosts = {"hv1": {"host": small_host([8]), "existing": [{"name": "w", "cpus": "0-1", "profile": "web@1"}]},
             "hv2": {"host": small_host([8])}}
    guests = [{"name": "w", "profile": "web"}, {"name": "n", "profile": "web"}]
    result = plan_fleet(hosts, guests, profiles=profiles)
    assert result["placements"] == {"hv1": ["n", "w"], "hv2": []}
    plans = dict((p["name"], p) for p in result["plans"]["hv1"])
    assert (plans["w"]["metadata"], plans["w"]["vcpus"]) == ({"profile": "web@1"}, {"maximum": 2, "placement": "static"})
    assert (plans["n"]["metadata"], plans["n"]["vcpus"]) == ({"profile": "web@2"}, {"maximum": 4, "placement": "static"})
    assert result["plans"]["hv1"] == plan(hosts["hv1"]["host"], guests, existing=hosts["hv1"]["existing"],
                                          profiles=profiles)["plan"]


def test_pci_devices_are_looked_up_on_each_host():
    nic = build_host(fakehost.load_capabilities("two-node-nic"), nodedev_xml=fakehost.load_nodedevs("two-node-nic"))
    hosts = {"hv-nic": {"host": nic}, "hv-plain": {"host": small_host([8])}}
    address = sorted(d["address"] for d in nic["pci_devices"] if d.get("numa_node") == 1)[0]
    assert address == "0000:3b:00.0"
    guests = [dedicated("nfv", 2, pci_devices=[address], pci_numa_policy="required"),
              dedicated("nfv2", 2, pci_devices=[address])]
    result = plan_fleet(hosts, guests)
    assert result["placements"] == {"hv-nic": ["nfv"], "hv-plain": []}
    assert result["plans"]["hv-nic"][0]["host_nodes"] == [1]
    # the host without the device refuses with numa_plan's own message
    assert result["unplaced"] == [{"name": "nfv2", "reasons": {
        "hv-nic": "PCI device 0000:3b:00.0 is given to nfv",
        "hv-plain": "guests[nfv2].pci_devices[0]: '0000:3b:00.0' is not valid: the host dict lists no PCI devices "
                    "(host.pci_devices, read from libvirt's node-device XML)"}}]


def test_shared_vcpus_count_against_each_hosts_cpu_ratio():
    hosts = {"hv-1": {"host": small_host([2]), "allocation": {"cpu_ratio": 1.0}},
             "hv-4": {"host": small_host([2]), "allocation": {"cpu_ratio": 4}}}
    guests = [{"name": "s%02d" % i, "vcpus": 1, "memory": "256M"} for i in range(11)]
    result = plan_fleet(hosts, guests)
    assert result["placements"] == {"hv-1": ["s00", "s01"],
                                    "hv-4": ["s02", "s03", "s04", "s05", "s06", "s07", "s08", "s09"]}
    assert result["unplaced"] == [{"name": "s10", "reasons": {
        "hv-1": "on 1 node with small pages: node 0: room for 0 more shared vCPUs (2 shared CPUs x cpu_ratio 1, "
                "2 in use), 1 needed (held by s00, s01)",
        "hv-4": "on 1 node with small pages: node 0: room for 0 more shared vCPUs (2 shared CPUs x cpu_ratio 4, "
                "8 in use), 1 needed (held by s02, s03, s04, s05, s06 and 3 more)"}}]
    assert result["map"] == (
        "host  guests  per node (pages: needed/in pool)\n"
        "hv-1       2  n0 cpus 2 free 0 held, shared vcpus 2/2, mem 7680MiB free\n"
        "hv-4       8  n0 cpus 2 free 0 held, shared vcpus 8/8, mem 6GiB free\n")


def test_the_map_shows_free_memory_in_mib_or_gib_never_kib():
    """Regression (fleet mode on this host): a node's free memory that is no whole MiB read '8349432KiB free'."""
    from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import readable_memory
    assert [readable_memory(kib * 1024).replace(" ", "") for kib in (8349432, 7680 * 1024, 3 * 1024 ** 2, 1536, 100)] \
        == ["8.0GiB", "7680MiB", "3GiB", "1.5MiB", "0.1MiB"]
