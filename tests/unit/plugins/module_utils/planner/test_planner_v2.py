# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner v2 golden tests (issue 11): overcommit, host CPU sets, reserved pages, topology preferences,
real-time masks, PCI locality, spread, every shortage, and user-defined versioned profiles."""

from __future__ import annotations

import pytest

import fakehost
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host, parse_nodedevs
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import HostPlanner, plan

GIB_KIB = 1024 * 1024
HOSTS = dict((name, build_host(fakehost.load_capabilities(name))) for name in fakehost.HOSTS)
PCI_HOSTS = dict((name, build_host(fakehost.load_capabilities(name), nodedev_xml=fakehost.load_nodedevs(name)))
                 for name in ("two-node-nic", "snc-four-node-pci"))
NIC = "0000:3b:00.0"
VF0, VF1 = "0000:3b:02.0", "0000:3b:02.1"
GPU = "0000:17:00.0"
SATA = "0000:00:17.0"


def tiny(cores, threads=1, memory_gib=4, pages=None):
    """A host dict: nodes of ``cores`` cores (a list, one entry per node), adjacent sibling numbering."""
    cpus, nodes, next_id = [], [], 0
    for node, count in enumerate(cores):
        ids = []
        for core in range(count):
            sib = list(range(next_id, next_id + threads))
            next_id += threads
            ids += sib
            for cpu in sib:
                cpus.append({"id": cpu, "online": True, "node": node, "socket": node, "die": 0, "core": core,
                             "siblings": ",".join(str(s) for s in sib), "l3": None, "isolated": False,
                             "nohz_full": False})
        nodes.append({"id": node, "cpus": ",".join(str(i) for i in ids), "memory_kib": memory_gib * GIB_KIB,
                      "free_kib": None, "distances": [{"id": o, "value": 10 if o == node else 20}
                                                      for o in range(len(cores))],
                      "hugepages": [{"size_kib": size, "total": count, "free": count, "surplus": 0}
                                    for size, count in sorted((pages or {}).get(node, {}).items())]})
    return {"cpus": cpus, "nodes": nodes, "isolated": "", "nohz_full": "", "cmdline": "", "smt": threads > 1,
            "domain_capabilities": None}


def pins(*cpus):
    return [{"vcpu": i, "cpuset": str(c)} for i, c in enumerate(cpus)]


def topology(sockets, cores, threads):
    return {"topology": {"sockets": sockets, "dies": 1, "cores": cores, "threads": threads}}


def by_name(result):
    return dict((g["name"], g) for g in result["plan"])


def placed(result):
    return dict((g["name"], g["host_nodes"] if g["fits"] else g["reason"]) for g in result["plan"])


# ---------------------------------------------------------------------------------------------- 1. overcommit


def test_a_guest_cell_never_has_more_shared_vcpus_than_its_node_has_cpus():
    """Nova refuses 3 shared vCPUs in one cell on a 2-CPU node, whatever the ratio."""
    result = plan(tiny([2, 2]), [{"name": "s", "vcpus": 3, "memory": "1G", "numa_nodes": 1}])
    assert result["plan"] == [{
        "name": "s", "fits": False, "host_nodes": [],
        "reason": "on 1 node with small pages: node 0: 2 shared CPUs, fewer than the cell's 3 shared vCPUs; "
                  "node 1: 2 shared CPUs, fewer than the cell's 3 shared vCPUs"}]
    # without numa_nodes the planner splits it over both nodes: 2 + 1
    split = plan(tiny([2, 2]), [{"name": "s", "vcpus": 3, "memory": "1G"}])["plan"][0]
    assert (split["host_nodes"], split["numa"]["cells"]) == ([0, 1], [
        {"id": 0, "cpus": "0-1", "memory": "683 MiB"}, {"id": 1, "cpus": "2", "memory": "341 MiB"}])


def test_shared_vcpus_count_against_cpus_times_cpu_ratio():
    guests = [{"name": n, "vcpus": 2, "memory": "256M"} for n in ("a", "b", "c")]
    result = plan(tiny([2]), guests, allocation={"cpu_ratio": 2.0})
    assert placed(result) == {
        "a": [0], "b": [0],
        "c": "on 1 node with small pages: node 0: room for 0 more shared vCPUs (2 shared CPUs x cpu_ratio 2, "
             "4 in use), 2 needed (held by a, b)"}
    assert result["map"].splitlines()[0] == "node 0: 4 GiB memory, shared vCPUs 4/4"
    # Nova's default ratio, 16: 32 shared vCPUs on 2 CPUs
    many = plan(tiny([2]), [{"name": "g%02d" % i, "vcpus": 2, "memory": "64M"} for i in range(17)])
    assert [g["name"] for g in many["plan"] if not g["fits"]] == ["g16"]


def test_existing_shared_vcpus_and_memory_are_counted():
    old = {"name": "old", "shared_vcpus": [{"node": 0, "count": 3}], "memory": [{"node": 0, "size": "3G"}]}
    result = plan(tiny([2, 2]), [{"name": "new", "vcpus": 2, "memory": "2G", "numa_nodes": 1}],
                  existing=[old], allocation={"cpu_ratio": 2})
    # node 0 has room for 1 more shared vCPU and 1 GiB: the guest goes to node 1
    assert by_name(result)["new"]["host_nodes"] == [1]
    full = plan(tiny([2, 2]), [{"name": "new", "vcpus": 2, "memory": "2G", "numa_nodes": 1}],
                existing=[old, dict(old, name="old2", shared_vcpus=[{"node": 1, "count": 4}], memory=[])],
                allocation={"cpu_ratio": 2})
    assert placed(full)["new"] == (
        "on 1 node with small pages: node 0: 1 GiB of memory free, 2 GiB needed (held by old); "
        "node 0: room for 1 more shared vCPUs (2 shared CPUs x cpu_ratio 2, 3 in use), 2 needed (held by old); "
        "node 1: room for 0 more shared vCPUs (2 shared CPUs x cpu_ratio 2, 4 in use), 2 needed (held by old2)")


def test_dedicated_vcpus_are_never_overcommitted_and_keep_the_shared_ones_room():
    result = plan(tiny([4]), [{"name": "s", "vcpus": 4, "memory": "1G"},
                              {"name": "d", "vcpus": 3, "memory": "1G", "cpu_policy": "dedicated"}],
                  allocation={"cpu_ratio": 2.0})
    # dedicated first (canonical order): 3 CPUs; the shared guest then has 1 CPU: a 4-vCPU cell does not fit
    assert placed(result) == {
        "d": [0], "s": "on 1 node with small pages: node 0: 1 shared CPUs, fewer than the cell's 4 shared vCPUs"}
    # a shared guest already there keeps its room: the dedicated guest may not shrink the pool below it
    existing = [{"name": "s", "shared_vcpus": [{"node": 0, "count": 4}]}]
    again = plan(tiny([4]), [{"name": "d", "vcpus": 3, "memory": "1G", "cpu_policy": "dedicated"}],
                 existing=existing, allocation={"cpu_ratio": 2.0})
    assert placed(again) == {"d": "on 1 node with small pages: node 0: the 4 shared vCPUs already placed there "
                                  "would exceed 1 shared CPUs x cpu_ratio 2"}
    with_room = plan(tiny([4]), [{"name": "d", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"}],
                     existing=existing, allocation={"cpu_ratio": 2.0})
    assert by_name(with_room)["d"]["cputune"]["vcpupin"] == pins(0, 1)


def test_ram_ratio_overcommits_small_pages_only():
    guests = [{"name": "a", "vcpus": 1, "memory": "5G"}]
    assert placed(plan(tiny([2]), guests)) == {
        "a": "on 1 node with small pages: node 0: 4 GiB of memory free, 5 GiB needed"}
    assert placed(plan(tiny([2]), guests, allocation={"ram_ratio": 1.5})) == {"a": [0]}
    huge = plan(tiny([2], pages={0: {2048: 1024}}), [dict(guests[0], memory="3G", page_size="2M")],
                allocation={"ram_ratio": 4.0})
    assert placed(huge) == {"a": "on 1 node with 2 MiB pages: node 0: 1024 free 2 MiB pages, 1536 needed"}


@pytest.mark.parametrize("allocation, message", [
    ({"cpu_ratio": 0}, "allocation.cpu_ratio: 0 is not valid: must be above 0"),
    ({"cpu_ratio": "lots"}, "allocation.cpu_ratio: 'lots' is not valid: expected a number such as 16.0"),
    ({"disk_ratio": 1}, "allocation: ['disk_ratio'] is not valid: unknown fields; known: cpu_ratio, ram_ratio"),
])
def test_bad_allocation(allocation, message):
    with pytest.raises(TuningError) as caught:
        plan(tiny([2]), [], allocation=allocation)
    assert str(caught.value) == message


# ---------------------------------------------------------------------------------------------- 2. host CPU sets


def test_dedicated_and_shared_host_cpu_sets():
    host = HOSTS["adjacent"]  # node 0: CPUs 0-15, node 1: 16-31; siblings 2n, 2n+1
    result = plan(host, [
        {"name": "d", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"},
        {"name": "s", "vcpus": 2, "memory": "1G"},
        {"name": "m", "vcpus": 2, "memory": "1G", "cpu_policy": "mixed", "dedicated_vcpus": "1", "iothreads": 1},
    ], dedicated_cpus="4-15,20-31", shared_cpus="0-3,16-19")
    guests = by_name(result)
    # the emulator (share) of a dedicated guest runs on the host's shared set, as Nova's cpu_shared_set
    assert guests["d"]["cputune"] == {"vcpupin": pins(4, 5), "emulatorpin": "0-3,16-19"}
    assert guests["s"]["cputune"] == {"vcpupin": [{"vcpu": 0, "cpuset": "0-3"}, {"vcpu": 1, "cpuset": "0-3"}],
                                      "emulatorpin": "0-3,16-19"}
    assert guests["m"]["cputune"] == {"vcpupin": [{"vcpu": 0, "cpuset": "0-3"}, {"vcpu": 1, "cpuset": "6"}],
                                      "emulatorpin": "0-3,16-19", "iothreadpin": [{"iothread": 1, "cpuset": "0-3,16-19"}]}


def test_shared_cpus_alone_keep_dedicated_vcpus_off_them():
    result = plan(tiny([2]), [{"name": "d", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"}], shared_cpus="0")
    assert placed(result) == {"d": "on 1 node with small pages: node 0: 1 free CPUs, 2 needed"}
    only = plan(tiny([2]), [{"name": "s", "vcpus": 1, "memory": "1G"}], dedicated_cpus="1")
    assert by_name(only)["s"]["cputune"]["vcpupin"] == [{"vcpu": 0, "cpuset": "0"}]


def test_all_vcpus_real_time_when_the_emulator_has_the_shared_set():
    result = plan(tiny([4]), [{"name": "rt", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated",
                               "realtime_vcpus": "0-1"}], shared_cpus="0")
    assert by_name(result)["rt"]["cputune"] == {
        "vcpupin": pins(1, 2), "emulatorpin": "0", "vcpusched": [{"vcpus": "0-1", "scheduler": "fifo", "priority": 1}]}


@pytest.mark.parametrize("options, message", [
    ({"dedicated_cpus": "2-3", "shared_cpus": "0-2"},
     "shared_cpus: '0-2' is not valid: CPU 2 is in dedicated_cpus too; a CPU is dedicated or shared, not both"),
    ({"shared_cpus": "9"}, "shared_cpus: '9' is not valid: CPU 9 is not an online host CPU"),
])
def test_bad_cpu_sets(options, message):
    with pytest.raises(TuningError) as caught:
        plan(tiny([4]), [], **options)
    assert str(caught.value) == message


# ---------------------------------------------------------------------------------------------- 3. reserved hugepages


def test_reserved_hugepages_per_node():
    guest = {"name": "h", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated", "page_size": "2M"}
    # adjacent (from its capabilities XML): 2048 free 2 MiB pages on each node; pack takes node 0 first
    assert by_name(plan(HOSTS["adjacent"], [guest]))["h"]["host_nodes"] == [0]
    result = plan(HOSTS["adjacent"], [guest], reserved_hugepages=[{"node": 0, "size": "2M", "count": 1600}])
    assert by_name(result)["h"]["host_nodes"] == [1]
    assert result["host_requirements"]["hugepages"] == [{"node": 0, "size": "2 MiB", "count": 1600},
                                                        {"node": 1, "size": "2 MiB", "count": 512}]
    refused = plan(HOSTS["adjacent"], [dict(guest, numa_nodes=1, memory="4G")],
                   reserved_hugepages=[{"node": 0, "size": "2M", "count": 1600}, {"node": 1, "size": "2M", "count": 1500}])
    assert placed(refused)["h"] == ("on 1 node with 2 MiB pages: node 0: 448 free 2 MiB pages, 2048 needed "
                                    "(held by reserved_hugepages); node 1: 548 free 2 MiB pages, 2048 needed "
                                    "(held by reserved_hugepages)")


def test_bad_reserved_hugepages():
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["adjacent"], [], reserved_hugepages=[{"node": 5, "size": "2M", "count": 1}])
    assert str(caught.value) == "reserved_hugepages[0].node: 5 is not valid: not a host node"
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["adjacent"], [], reserved_hugepages=[{"node": 0, "size": "small", "count": 1}])
    assert str(caught.value) == "reserved_hugepages[0].size: 'small' is not valid: name a hugepage size such as 2M or 1G"


# ---------------------------------------------------------------------------------------------- 4. topology


ASYMMETRIC = [{"cpus": "0-3", "memory": "2G"}, {"cpus": "4,6", "memory": "1G"}, {"cpus": "5,7", "memory": "1G"}]


@pytest.mark.parametrize("policy", ["shared", "dedicated"])
def test_asymmetric_cells_never_share_a_guest_socket(policy):
    """Cells 0-3 / 4,6 / 5,7: vCPUs 4 and 5 are in two cells, so a socket holds one vCPU."""
    result = plan(HOSTS["four-nodes-unequal"], [{"name": "asym", "vcpus": 8, "memory": "4G", "cpu_policy": policy,
                                                 "cells": ASYMMETRIC}])
    entry = by_name(result)["asym"]
    assert entry["numa"]["cells"] == [{"id": 0, "cpus": "0-3", "memory": "2 GiB"},
                                      {"id": 1, "cpus": "4,6", "memory": "1 GiB"},
                                      {"id": 2, "cpus": "5,7", "memory": "1 GiB"}]
    assert entry["cpu_model"] == topology(8, 1, 1)
    # a preference cannot change that: the closest one, and why
    preferred = plan(HOSTS["four-nodes-unequal"], [{"name": "asym", "vcpus": 8, "memory": "4G", "cpu_policy": policy,
                                                    "cells": ASYMMETRIC, "topology": {"sockets": 2}}])
    entry = by_name(preferred)["asym"]
    assert (entry["cpu_model"], entry["topology_reason"]) == (
        topology(8, 1, 1), "sockets 2 would put vCPUs of two guest cells into one guest socket; "
                           "chose 8 sockets x 1 cores x 1 threads")


def test_consecutive_uneven_cells_keep_their_default():
    cells = [{"vcpus": 6, "memory": "3G"}, {"vcpus": 2, "memory": "1G"}]
    result = plan(HOSTS["four-nodes-unequal"], [{"name": "c", "vcpus": 8, "memory": "4G", "cells": cells}])
    assert by_name(result)["c"]["cpu_model"] == topology(4, 2, 1)


def _one(host, guest, **options):
    entry = by_name(plan(host, [guest], **options))[guest["name"]]
    return entry["cpu_model"]["topology"], entry.get("topology_reason")


@pytest.mark.parametrize("wanted, expected, reason", [
    (None, (1, 8, 1), None),
    ({}, (1, 8, 1), ""),
    ({"sockets": 2}, (2, 4, 1), ""),
    ({"max_cores": 4}, (2, 4, 1), ""),
    ({"sockets": 4, "cores": 2, "threads": 1}, (4, 2, 1), ""),
    ({"max_sockets": 2, "max_cores": 2}, (2, 2, 2),
     "no topology within the maxima matches the host siblings the vCPUs use; chose 2 sockets x 2 cores x 2 threads"),
    ({"cores": 3}, (1, 8, 1), "no sockets x cores x threads with cores 3 makes 8 vCPUs within the maxima; "
                              "chose 1 sockets x 8 cores x 1 threads"),
    ({"threads": 2}, (1, 8, 1), "threads 2: 2 guest threads per core do not match the host siblings the vCPUs "
                                "use; chose 1 sockets x 8 cores x 1 threads"),
])
def test_topology_preferences_and_maxima_on_a_shared_guest_without_smt(wanted, expected, reason):
    guest = {"name": "w", "vcpus": 8, "memory": "4G"}
    if wanted is not None:
        guest["topology"] = wanted
    topo, why = _one(HOSTS["no-smt"], guest)
    assert ((topo["sockets"], topo["cores"], topo["threads"]), why) == (expected, reason)


def test_threads_follow_the_host_siblings_a_dedicated_guest_uses():
    host = HOSTS["adjacent"]
    guest = {"name": "d", "vcpus": 8, "memory": "4G", "cpu_policy": "dedicated"}
    assert _one(host, guest) == ({"sockets": 1, "dies": 1, "cores": 4, "threads": 2}, None)
    assert _one(host, dict(guest, topology={"sockets": 2})) == ({"sockets": 2, "dies": 1, "cores": 2, "threads": 2}, "")
    assert _one(host, dict(guest, topology={"max_threads": 1})) == (
        {"sockets": 1, "dies": 1, "cores": 8, "threads": 1}, "")
    # isolate keeps siblings idle: guest threads would not be host siblings
    assert _one(host, dict(guest, thread_policy="isolate", topology={"threads": 2})) == (
        {"sockets": 1, "dies": 1, "cores": 8, "threads": 1},
        "threads 2: 2 guest threads per core do not match the host siblings the vCPUs use; "
        "chose 1 sockets x 8 cores x 1 threads")
    # shared vCPUs float: guest threads up to the host's threads per core are allowed when asked for
    assert _one(host, {"name": "s", "vcpus": 8, "memory": "4G", "topology": {"threads": 2}}) == (
        {"sockets": 1, "dies": 1, "cores": 4, "threads": 2}, "")


def test_two_cells_and_a_one_socket_maximum():
    """Windows desktop: at most one socket, but the guest spans two host nodes."""
    guest = {"name": "win", "vcpus": 8, "memory": "8G", "numa_nodes": 2, "topology": {"max_sockets": 1}}
    assert _one(HOSTS["no-smt"], guest) == (
        {"sockets": 1, "dies": 1, "cores": 8, "threads": 1},
        "no topology within the maxima keeps each guest socket inside one guest cell; "
        "chose 1 sockets x 8 cores x 1 threads")
    assert _one(HOSTS["no-smt"], dict(guest, topology={"max_sockets": 2})) == (
        {"sockets": 2, "dies": 1, "cores": 4, "threads": 1}, "")


@pytest.mark.parametrize("wanted, message", [
    ({"max_sockets": 1, "max_cores": 2, "max_threads": 1},
     "guests[t].topology: {'max_sockets': 1, 'max_cores': 2, 'max_threads': 1} is not valid: no sockets x cores x "
     "threads makes 4 vCPUs within the maxima"),
    ({"sockets": 4, "max_sockets": 2}, "guests[t].topology.sockets: 4 is not valid: above max_sockets 2"),
    ({"cores": 0}, "guests[t].topology.cores: 0 is not valid: must be at least 1"),
    ({"dies": 2}, "guests[t].topology: ['dies'] is not valid: unknown fields; known: sockets, cores, threads, "
                  "max_sockets, max_cores, max_threads"),
])
def test_bad_topology_requests(wanted, message):
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["no-smt"], [{"name": "t", "vcpus": 4, "memory": "1G", "topology": wanted}])
    assert str(caught.value) == message


# ---------------------------------------------------------------------------------------------- 5. real-time masks


@pytest.mark.parametrize("mask, message", [
    ("^3", "guests[rt].realtime_vcpus: '^3' is not valid: vCPU 3 does not exist: the guest has vCPUs 0-2"),
    ("^0,^5", "guests[rt].realtime_vcpus: '^0,^5' is not valid: vCPU 5 does not exist: the guest has vCPUs 0-2"),
    ("1-3", "guests[rt].realtime_vcpus: '1-3' is not valid: vCPU 3 does not exist: the guest has vCPUs 0-2"),
])
def test_realtime_masks_naming_missing_vcpus_are_refused(mask, message):
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["adjacent"], [{"name": "rt", "vcpus": 3, "memory": "1G", "profile": "realtime",
                                  "realtime_vcpus": mask}])
    assert str(caught.value) == message


# ---------------------------------------------------------------------------------------------- 6. PCI locality


def test_node_devices_become_host_pci_devices():
    host = PCI_HOSTS["two-node-nic"]
    assert host["pci_devices"] == [
        {"address": SATA, "numa_node": None, "class": "0x010601", "vendor": "0x8086", "product": "0xa352",
         "driver": "ahci", "physical_function": None, "virtual_functions": []},
        {"address": GPU, "numa_node": 0, "class": "0x030200", "vendor": "0x10de", "product": "0x20b5",
         "driver": "vfio-pci", "physical_function": None, "virtual_functions": []},
        {"address": NIC, "numa_node": 1, "class": "0x020000", "vendor": "0x8086", "product": "0x1572",
         "driver": "i40e", "physical_function": None, "virtual_functions": [VF0, VF1]},
        {"address": VF0, "numa_node": 1, "class": "0x020000", "vendor": "0x8086", "product": "0x154c",
         "driver": "vfio-pci", "physical_function": NIC, "virtual_functions": []},
        {"address": VF1, "numa_node": 1, "class": "0x020000", "vendor": "0x8086", "product": "0x154c",
         "driver": "vfio-pci", "physical_function": NIC, "virtual_functions": []},
    ]
    # without nodedev_xml the host dict has no pci_devices key (as before)
    assert "pci_devices" not in HOSTS["two-node-nic"]


def test_node_device_xml_of_this_host():
    """Real virsh nodedev-dumpxml output (virtio devices of a one-node VM: no NUMA node, no names)."""
    with open(fakehost.nodedev_path("this-host")) as handle:
        documents = ["<device>" + part for part in handle.read().split("<device>")[1:]]
    devices = parse_nodedevs(documents)
    assert [(d["address"], d["numa_node"], d["class"], d["vendor"]) for d in devices] == [
        ("0000:00:00.0", None, "0x060000", "0x8086"), ("0000:00:01.0", None, "0xffff00", "0x1af4"),
        ("0000:00:02.0", None, "0x018000", "0x1af4")]


def test_nodedev_fixtures_are_generated_from_the_specs():
    for name in ("two-node-nic", "snc-four-node-pci"):
        assert fakehost.load_nodedevs(name) == fakehost.nodedev_xml(fakehost.HOSTS[name])


def test_bad_nodedev_xml():
    with pytest.raises(TuningError) as caught:
        parse_nodedevs(["<capabilities/>"])
    assert str(caught.value) == "nodedev_xml[0]: 'capabilities' is not valid: the root element must be <device> " \
                                "(virsh nodedev-dumpxml)"
    # other kinds of node device are left out
    assert parse_nodedevs(["<device><name>net_eth0</name><capability type='net'/></device>"]) == []


def test_a_required_nic_on_node_1_puts_the_guest_there():
    """The worked example of docs/numa_plan.md: a VNF with a virtual function of the NIC on node 1."""
    host = PCI_HOSTS["two-node-nic"]
    result = plan(host, [{"name": "vnf", "vcpus": 4, "memory": "4G", "profile": "nfv-hugepages",
                          "pci_devices": [VF0]}])
    assert by_name(result)["vnf"] == {
        "name": "vnf", "fits": True, "reason": "", "host_nodes": [1],
        "cputune": {"vcpupin": pins(10, 11, 12, 13), "emulatorpin": "8"},
        "numa": {"numatune": {"memory": {"mode": "strict", "nodeset": "1"},
                              "memnodes": [{"cellid": 0, "mode": "strict", "nodeset": "1"}]},
                 "cells": [{"id": 0, "cpus": "0-3", "memory": "4 GiB"}]},
        "memory_backing": {"hugepages": [{"size": "1 GiB", "nodeset": "0"}]},
        "vcpus": {"maximum": 4, "placement": "static"},
        "cpu_model": topology(1, 2, 2),
        "pci_devices": [{"address": VF0, "numa_node": 1}],
        "metadata": {"profile": "nfv-hugepages@2"},
    }
    assert result["map"].splitlines() == [
        "node 0: 16 GiB memory, pages 2 MiB 0/1024 used, 1 GiB 0/4 used",
        "  core 0,1: 0=. 1=.",
        "  core 2,3: 2=. 3=.",
        "  core 4,5: 4=. 5=.",
        "  core 6,7: 6=. 7=.",
        "  pci 0000:17:00.0: . (0x030200 vfio-pci)",
        "node 1: 16 GiB memory, pages 2 MiB 0/1024 used, 1 GiB 4/4 used",
        "  core 8,9: 8=vnf/emulator 9=.",
        "  core 10,11: 10=vnf/v0 11=vnf/v1",
        "  core 12,13: 12=vnf/v2 13=vnf/v3",
        "  core 14,15: 14=. 15=.",
        "  pci 0000:3b:00.0: . (0x020000 i40e)",
        "  pci 0000:3b:02.0: vnf (0x020000 vfio-pci)",
        "  pci 0000:3b:02.1: . (0x020000 vfio-pci)",
        "pci 0000:00:17.0 (no NUMA node): . (0x010601 ahci)",
    ]


NODE_1_FULL = [{"name": "big", "cpus": "8-15"}]


@pytest.mark.parametrize("policy, expected", [
    ("required", "on 1 node with small pages: node 0: PCI device 0000:3b:02.0 is on node 1 (pci_numa_policy "
                 "required); node 1: 0 free CPUs, 2 needed (held by big); over 2 nodes with small pages: "
                 "node 1: 0 free CPUs, 1 needed (held by big)"),
    ("legacy", "on 1 node with small pages: node 0: PCI device 0000:3b:02.0 is on node 1 (pci_numa_policy "
               "legacy); node 1: 0 free CPUs, 2 needed (held by big); over 2 nodes with small pages: "
               "node 1: 0 free CPUs, 1 needed (held by big)"),
    ("preferred", [0]),
])
def test_pci_numa_policies_when_the_device_node_is_full(policy, expected):
    guest = {"name": "g", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated", "pci_devices": [VF0],
             "pci_numa_policy": policy}
    assert placed(plan(PCI_HOSTS["two-node-nic"], [guest], existing=NODE_1_FULL))["g"] == expected


def test_devices_with_no_numa_node():
    guest = {"name": "g", "vcpus": 2, "memory": "1G", "pci_devices": ["pci_0000_00_17_0"]}
    assert placed(plan(PCI_HOSTS["two-node-nic"], [guest])) == {"g": [0]}  # legacy: anywhere
    assert placed(plan(PCI_HOSTS["two-node-nic"], [dict(guest, pci_numa_policy="required")])) == {
        "g": "PCI device 0000:00:17.0 reports no NUMA node; pci_numa_policy required needs one"}


def test_socket_policy_takes_a_node_of_the_device_socket():
    """snc-four-node-pci: sockets of nodes 0-1 and 2-3; a NIC on node 1."""
    guest = {"name": "g", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated", "pci_devices": ["0000:18:00.0"],
             "pci_numa_policy": "socket"}
    host = PCI_HOSTS["snc-four-node-pci"]
    assert placed(plan(host, [guest])) == {"g": [0]}  # pack: equal nodes, the lowest of socket 0
    full = [{"name": "x", "cpus": "0-7"}]
    assert placed(plan(host, [guest], existing=full))["g"].startswith(
        "on 1 node with small pages: node 0: 0 free CPUs, 2 needed (held by x); node 1: 0 free CPUs, 2 needed "
        "(held by x); node 2: PCI device 0000:18:00.0 is on node 1, another socket (pci_numa_policy socket); "
        "node 3: PCI device 0000:18:00.0 is on node 1, another socket (pci_numa_policy socket); over 2 nodes")
    required = plan(host, [dict(guest, pci_numa_policy="required")])
    assert placed(required) == {"g": [1]}


def test_two_nics_on_two_nodes_need_two_cells():
    host = PCI_HOSTS["snc-four-node-pci"]
    guest = {"name": "g", "vcpus": 4, "memory": "2G", "pci_devices": ["0000:18:00.0", "0000:af:00.0"],
             "pci_numa_policy": "required"}
    assert placed(plan(host, [guest])) == {"g": [1, 3]}
    assert placed(plan(host, [dict(guest, numa_nodes=1)])) == {
        "g": "1 guest cells cannot reach the 2 nodes of the PCI devices (1,3)"}
    assert placed(plan(host, [dict(guest, vcpus=1, memory="1G")])) == {
        "g": "the PCI devices are on 2 nodes (1,3): 2 guest cells, but the guest has 1 vCPUs"}


def test_preferred_says_why_the_guest_fits_nowhere():
    guest = {"name": "g", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated", "pci_devices": [VF0],
             "pci_numa_policy": "preferred", "numa_nodes": 1}
    full = [{"name": "big", "cpus": "0-15"}]
    assert placed(plan(PCI_HOSTS["two-node-nic"], [guest], existing=full)) == {
        "g": "on 1 node with small pages: node 0: 0 free CPUs, 2 needed (held by big); node 1: 0 free CPUs, 2 needed "
             "(held by big)"}


def test_a_device_goes_to_one_guest_and_a_pf_takes_its_vfs():
    host = PCI_HOSTS["two-node-nic"]
    guests = [{"name": "a", "vcpus": 1, "memory": "1G", "pci_devices": [VF0]},
              {"name": "b", "vcpus": 1, "memory": "1G", "pci_devices": [VF0]},
              {"name": "c", "vcpus": 1, "memory": "1G", "pci_devices": [NIC]},
              {"name": "d", "vcpus": 1, "memory": "1G", "pci_devices": [VF1]}]
    assert placed(plan(host, guests)) == {
        "a": [1], "b": "PCI device 0000:3b:02.0 is given to a",
        "c": "PCI device 0000:3b:00.0: its virtual function 0000:3b:02.0 is given to a", "d": [1]}
    held = plan(host, [guests[2]], existing=[{"name": "old", "pci_devices": [VF1]}])
    assert placed(held) == {"c": "PCI device 0000:3b:00.0: its virtual function 0000:3b:02.1 is given to old"}


@pytest.mark.parametrize("host, device, message", [
    ("two-node-nic", "0000:99:00.0", "guests[g].pci_devices[0]: '0000:99:00.0' is not valid: no such PCI device on "
     "the host; known: 0000:00:17.0, 0000:17:00.0, 0000:3b:00.0, 0000:3b:02.0, 0000:3b:02.1"),
    ("adjacent", NIC, "guests[g].pci_devices[0]: '0000:3b:00.0' is not valid: the host dict lists no PCI devices "
     "(host.pci_devices, read from libvirt's node-device XML)"),
])
def test_unknown_pci_devices(host, device, message):
    hosts = dict(HOSTS, **PCI_HOSTS)
    with pytest.raises(TuningError) as caught:
        plan(hosts[host], [{"name": "g", "vcpus": 1, "memory": "1G", "pci_devices": [device]}])
    assert str(caught.value) == message


# ---------------------------------------------------------------------------------------------- 7. spread


def test_shared_balanced_spreads_three_guests():
    guests = [{"name": "g%d" % i, "vcpus": 2, "memory": "2G", "profile": "shared-balanced"} for i in range(3)]
    assert placed(plan(HOSTS["adjacent"], guests)) == {"g0": [0], "g1": [1], "g2": [0]}
    # version 1, as shipped, follows the plan's strategy
    old = [dict(g, profile="shared-balanced@1") for g in guests]
    assert placed(plan(HOSTS["adjacent"], old)) == {"g0": [0], "g1": [0], "g2": [0]}
    assert placed(plan(HOSTS["adjacent"], old, strategy="spread")) == {"g0": [0], "g1": [1], "g2": [0]}


def test_two_cell_guests_under_spread_do_not_all_take_the_first_cells():
    host = PCI_HOSTS["snc-four-node-pci"]  # nodes 0-1 and 2-3 are close pairs
    guests = [{"name": "g%d" % i, "vcpus": 4, "memory": "2G", "numa_nodes": 2} for i in range(4)]
    assert placed(plan(host, guests, strategy="spread")) == {"g0": [0, 1], "g1": [2, 3], "g2": [0, 1],
                                                             "g3": [2, 3]}
    assert placed(plan(host, guests)) == {"g0": [0, 1], "g1": [0, 1], "g2": [0, 1], "g3": [0, 1]}


def test_spread_balances_cpus_then_memory_for_dedicated_guests():
    # equal free CPUs: the node with more free memory first
    existing = [{"name": "m", "memory": [{"node": 0, "size": "4G"}]}]
    guest = {"name": "d", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"}
    assert placed(plan(HOSTS["adjacent"], [guest], existing=existing, strategy="spread")) == {"d": [1]}
    assert placed(plan(HOSTS["adjacent"], [guest], existing=existing)) == {"d": [0]}


# ---------------------------------------------------------------------------------------------- 8. every shortage


def test_a_refusal_names_every_shortage_per_node_once():
    existing = [{"name": "a", "cpus": "0-5", "memory": [{"node": 0, "size": "3G"}]},
                {"name": "b", "cpus": "8-13", "memory": [{"node": 1, "size": "1G", "page_size": "2M"}]}]
    host = tiny([4, 4], threads=2, memory_gib=4, pages={1: {2048: 1024}})
    result = plan(host, [{"name": "g", "vcpus": 4, "memory": "2G", "cpu_policy": "dedicated", "numa_nodes": 1,
                          "page_size": "any"}], existing=existing)
    assert placed(result)["g"] == (
        "on 1 node with 2 MiB pages: node 0: 0 free 2 MiB pages, 1024 needed; node 0: 2 free CPUs, 4 needed "
        "(held by a); node 1: 2 free CPUs, 4 needed (held by b); node 1: 512 free 2 MiB pages, 1024 needed "
        "(held by b); on 1 node with small pages: node 0: 1 GiB of memory free, 2 GiB needed (held by a); "
        "node 0: 2 free CPUs, 4 needed (held by a); node 1: 2 free CPUs, 4 needed (held by b)")


# ---------------------------------------------------------------------------------------------- 9. profiles


USER_PROFILES = {
    "db": [
        {"version": 1, "description": "Database guests", "extends": "dedicated@1", "page_size": "2M"},
        {"version": 2, "description": "Database guests, emulator isolated", "extends": ["dedicated@1", "db@1"],
         "emulator_threads": "isolate"},
    ],
    "small-flavour": {"version": 1, "vcpus": 2, "memory": "1G"},
}


def test_user_profiles_extend_compose_and_are_recorded():
    host = HOSTS["adjacent"]
    result = plan(host, [
        {"name": "db-new", "vcpus": 2, "memory": "1G", "profile": "db"},
        {"name": "db-old", "vcpus": 2, "memory": "1G", "profile": "db@1"},
        {"name": "flavoured", "profile": ["small-flavour", "db@1"], "memory": "2G"},
    ], profiles=USER_PROFILES, reserved_cpus="0-1")
    guests = by_name(result)
    # canonical order: flavoured (more memory) takes 2-3 first; db-new's isolated emulator takes core 4,5
    assert guests["db-new"]["cputune"] == {"vcpupin": pins(6, 7), "emulatorpin": "4"}
    assert guests["db-new"]["memory_backing"] == {"hugepages": [{"size": "2 MiB", "nodeset": "0"}]}
    assert guests["db-new"]["metadata"] == {"profile": "db@2"}
    assert guests["db-old"]["cputune"] == {"vcpupin": pins(8, 9), "emulatorpin": "8-9"}
    assert guests["db-old"]["metadata"] == {"profile": "db@1"}
    # the flavour gives vCPUs, db@1 the policy, the request the memory
    assert (guests["flavoured"]["vcpus"], guests["flavoured"]["numa"]["cells"], guests["flavoured"]["metadata"]) == (
        {"maximum": 2, "placement": "static"}, [{"id": 0, "cpus": "0-1", "memory": "2 GiB"}],
        {"profile": "small-flavour@1,db@1"})
    assert guests["flavoured"]["cputune"]["vcpupin"] == pins(2, 3)


def test_replanning_uses_the_recorded_version():
    guest = {"name": "db1", "vcpus": 2, "memory": "1G", "profile": "db"}
    recorded = [{"name": "db1", "cpus": "2-3", "profile": "db@1"}]
    again = by_name(plan(HOSTS["adjacent"], [guest], existing=recorded, profiles=USER_PROFILES))["db1"]
    assert (again["metadata"], again["cputune"]) == ({"profile": "db@1"}, {"vcpupin": pins(0, 1), "emulatorpin": "0-1"})
    # naming a version wins over the record
    newer = by_name(plan(HOSTS["adjacent"], [dict(guest, profile="db@2")], existing=recorded,
                         profiles=USER_PROFILES))["db1"]
    assert newer["metadata"] == {"profile": "db@2"}
    # a guest that is not re-planned keeps what it holds whatever it records
    other = plan(HOSTS["adjacent"], [{"name": "x", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"}],
                 existing=recorded, profiles=USER_PROFILES)
    assert by_name(other)["x"]["cputune"]["vcpupin"] == pins(0, 1)
    assert "metadata" not in by_name(other)["x"]


def test_the_request_wins_over_every_profile():
    result = plan(HOSTS["adjacent"], [{"name": "g", "vcpus": 2, "memory": "1G", "profile": ["db@2", "small-flavour"],
                                       "emulator_threads": "share", "page_size": "small"}], profiles=USER_PROFILES)
    entry = by_name(result)["g"]
    assert (entry["cputune"], entry["memory_backing"], entry["metadata"]) == (
        {"vcpupin": pins(0, 1), "emulatorpin": "0-1"}, {}, {"profile": "db@2,small-flavour@1"})


@pytest.mark.parametrize("profiles, message", [
    ({"dedicated": {"version": 2}}, "profiles[dedicated]: 'dedicated' is not valid: a built-in profile has this "
     "name; choose another (built-in: dedicated, dedicated-isolated-emulator, nfv-hugepages, realtime, "
     "shared-balanced)"),
    ({"a": {"description": "no version"}}, "profiles[a].version: None is not valid: every profile needs a version, "
     "a whole number from 1"),
    ({"a": [{"version": 1}, {"version": 1}]}, "profiles[a][1].version: 1 is not valid: profile a has version 1 twice"),
    ({"a": {"version": 1, "colour": "red"}}, "profiles[a]: ['colour'] is not valid: unknown fields; a profile takes "
     "version, description, extends and the request fields vcpus, memory, cpu_policy, dedicated_vcpus, "
     "thread_policy, emulator_threads, iothreads, iothread_policy, numa_nodes, cells, page_size, realtime_vcpus, "
     "emulator_cell, topology, pci_devices, pci_numa_policy, strategy"),
    ({"a": {"version": 1, "extends": "b"}, "b": {"version": 1, "extends": "a@1"}},
     "profiles[a]: 'a@1' is not valid: profiles extend each other in a cycle: a@1 -> b@1 -> a@1"),
    ({"a": {"version": 1, "extends": "nope"}}, "profiles[a].extends: 'nope' is not valid: unknown profile; known: "
     "a, dedicated, dedicated-isolated-emulator, nfv-hugepages, realtime, shared-balanced"),
    ({"a": {"version": 1, "extends": "dedicated@9"}}, "profiles[a].extends: 'dedicated@9' is not valid: profile "
     "dedicated has versions 1"),
    ({"a@1": {"version": 1}}, "profiles: 'a@1' is not valid: a profile name is a non-empty string without '@' or ','"),
    ("db", "profiles: 'db' is not valid: expected a dict of profile name: {version, description, extends, "
     "request fields}"),
])
def test_bad_profiles(profiles, message):
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["adjacent"], [], profiles=profiles)
    assert str(caught.value) == message


@pytest.mark.parametrize("guest, message", [
    ({"name": "g", "profile": "db@3", "vcpus": 1, "memory": "1G"},
     "guests[g].profile: 'db@3' is not valid: profile db has versions 1, 2"),
    ({"name": "g", "profile": "db@x", "vcpus": 1, "memory": "1G"},
     "guests[g].profile: 'db@x' is not valid: a version is a whole number: name@2"),
    ({"name": "g", "profile": "db"}, "guests[g].vcpus: None is not valid: every guest needs a vCPU count (in the "
                                     "request or its profile)"),
    ({"name": "g", "profile": "small-flavour", "vcpus": 4, "memory": "1G", "topology": {"max_sockets": 0}},
     "guests[g].topology.max_sockets: 0 is not valid: must be at least 1"),
])
def test_bad_profile_requests(guest, message):
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["adjacent"], [guest], profiles=USER_PROFILES)
    assert str(caught.value) == message


def test_a_profile_setting_a_bad_field_is_refused_on_the_guest():
    with pytest.raises(TuningError) as caught:
        plan(HOSTS["adjacent"], [{"name": "g", "vcpus": 1, "memory": "1G", "profile": "bad"}],
             profiles={"bad": {"version": 1, "cpu_policy": "pinned"}})
    assert str(caught.value) == "guests[g].cpu_policy: 'pinned' is not valid: expected one of shared, dedicated, mixed"


# ---------------------------------------------------------------------------------------------- per-host API


def test_host_planner_places_one_guest_at_a_time_as_plan_does():
    guests = [{"name": "a", "vcpus": 4, "memory": "2G", "cpu_policy": "dedicated"},
              {"name": "b", "vcpus": 2, "memory": "1G"}]
    whole = plan(HOSTS["adjacent"], guests, reserved_cpus="0-1")
    planner = HostPlanner(HOSTS["adjacent"], reserved_cpus="0-1", requested=["a", "b"])
    requests = planner.order(planner.read(guests))
    assert [r["name"] for r in requests] == ["a", "b"]
    assert planner.free() == {"cpus": 30, "memory_kib": 56 * GIB_KIB, "shared_vcpus": 32 * 16,
                              "pages": {2048: 4096, 1048576: 0}}
    tried = planner.try_place(requests[0])
    assert (tried[0].nodes, tried[1]) == ([0], None)
    assert planner.free()["cpus"] == 30  # trying changes nothing
    assert [planner.place(requests[0], tried), planner.place(requests[1])] == [True, True]
    assert planner.free() == {"cpus": 26, "memory_kib": 53 * GIB_KIB, "shared_vcpus": 28 * 16 - 2,
                              "pages": {2048: 4096, 1048576: 0}}
    assert planner.result() == whole


# ---------------------------------------------------------------------------------------------- the map


def test_the_map_shows_shared_guests_and_memory_a_person_reads():
    """Shared guests are named on their node with their vCPUs and the CPUs they float over; memory is never KiB."""
    host = tiny([2, 2])
    host["nodes"][0]["memory_kib"] = 8480504  # not a whole MiB: 8.1 GiB
    host["nodes"][1]["memory_kib"] = 1536 * 1024
    result = plan(host, [
        {"name": "ded", "vcpus": 1, "memory": "256M", "cpu_policy": "dedicated", "numa_nodes": 1},
        {"name": "web", "vcpus": 1, "memory": "256M", "numa_nodes": 1},
        {"name": "db", "vcpus": 2, "memory": "512M", "numa_nodes": 1},
    ], reserved_cpus="0")
    assert placed(result) == {"ded": [0], "web": [1], "db": [1]}
    assert result["map"].splitlines() == [
        "node 0: 8.1 GiB memory",
        "  core 0: 0=housekeeping",
        "  core 1: 1=ded/v0",
        "node 1: 1536 MiB memory, shared vCPUs 3/32",
        "  core 2: 2=.",
        "  core 3: 3=.",
        "  shared over CPUs 2-3: db 2 vCPUs, web 1 vCPU",
    ]


@pytest.mark.parametrize("nbytes, text", [
    (0, "0 MiB"), (512 * 1024, "0.5 MiB"), (128 * 1024 ** 2, "128 MiB"), (1536 * 1024 ** 2, "1536 MiB"),
    (4 * 1024 ** 3, "4 GiB"), (8480504 * 1024, "8.1 GiB"), (20000 * 1024 ** 2, "19.5 GiB"),
])
def test_readable_memory(nbytes, text):
    from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import readable_memory
    assert readable_memory(nbytes) == text
