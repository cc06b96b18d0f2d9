# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What defined guests hold (numa_plan's existing), the pools a plan needs, and a plan entry as domain_tuning areas."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.filter.hugepage_reservation import hugepage_reservation
from ansible_collections.virtuned.libvirt.plugins.filter.placement_options import placement_options
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.placements import existing_entry, profile_check
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

HOST_CPUS = set(range(8))
NODES = {0, 1}


def domain(body, memory="<memory unit='MiB'>4096</memory>"):
    return parse_domain("<domain type='kvm'><name>g</name>%s<vcpu>4</vcpu>%s</domain>" % (memory, body))


TWO_CELLS = """
<cputune>
  <vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/><vcpupin vcpu='2' cpuset='6'/><vcpupin vcpu='3' cpuset='7'/>
  <emulatorpin cpuset='1'/><iothreadpin iothread='1' cpuset='2-3'/>
</cputune>
<numatune><memory mode='strict' nodeset='0-1'/>
  <memnode cellid='0' mode='strict' nodeset='0'/><memnode cellid='1' mode='strict' nodeset='1'/></numatune>
<memoryBacking><hugepages><page size='2' unit='M' nodeset='0'/><page size='1' unit='G' nodeset='1'/></hugepages></memoryBacking>
<cpu><numa><cell id='0' cpus='0-1' memory='3' unit='GiB'/><cell id='1' cpus='2-3' memory='1' unit='GiB'/></numa></cpu>
"""


def test_dedicated_two_cells_hold_cpus_and_pages_per_node():
    assert existing_entry("db", domain(TWO_CELLS), True, HOST_CPUS, NODES) == {
        "name": "db", "cpus": "1-3,6-7", "active": True,
        "memory": [{"node": 0, "size": "3 GiB", "page_size": "2M"}, {"node": 1, "size": "1 GiB", "page_size": "1G"}],
    }


def test_shared_vcpus_hold_nothing_and_unbound_memory_counts_nowhere_on_two_nodes():
    shared = "<cputune><vcpupin vcpu='0' cpuset='0-3'/><vcpupin vcpu='1' cpuset='4'/><vcpupin vcpu='2' cpuset='4'/>" \
             "<emulatorpin cpuset='5'/></cputune><numatune><memory nodeset='0-1'/></numatune>"
    assert existing_entry("web", domain(shared), False, HOST_CPUS, NODES) == {
        "name": "web", "cpus": "", "memory": [], "active": False}


def test_one_node_host_default_page_and_live_memory_of_a_running_guest():
    persistent = domain("<cputune><vcpupin vcpu='0' cpuset='9'/></cputune><memoryBacking><hugepages/></memoryBacking>")
    live = domain("<memoryBacking><hugepages/></memoryBacking>", memory="<memory unit='MiB'>256</memory>")
    # CPU 9 is not a host CPU: left out (so all 4 vCPUs are shared ones on the only node); memory as the
    # guest runs now, on the default (2 MiB) pages
    assert existing_entry("vm", persistent, True, HOST_CPUS, {0}, live_root=live) == {
        "name": "vm", "cpus": "", "memory": [{"node": 0, "size": "256 MiB", "page_size": "2M"}], "active": True,
        "shared_vcpus": [{"node": 0, "count": 4}]}


HOST = {"nodes": [{"id": 0, "hugepages": [{"size_kib": 2048, "total": 600, "free": 600, "surplus": 0},
                                          {"size_kib": 1048576, "total": 0, "free": 0, "surplus": 0}]},
                  {"id": 1, "hugepages": [{"size_kib": 2048, "total": 0, "free": 0, "surplus": 0}]}]}


def test_reservation_grows_pools_and_never_shrinks_them():
    requirements = {"hugepages": [{"node": 0, "size": "2 MiB", "count": 512}, {"node": 1, "size": "2 MiB", "count": 256},
                                  {"node": 0, "size": "1 GiB", "count": 2}], "isolated_cpus": "2-3"}
    assert hugepage_reservation(requirements, HOST) == [
        {"node": 0, "size": "2M", "count": 600}, {"node": 0, "size": "1G", "count": 2},
        {"node": 1, "size": "2M", "count": 256}]
    assert hugepage_reservation({"hugepages": [], "isolated_cpus": ""}, HOST) == []


@pytest.mark.parametrize("requirements, host, message", [
    ("nope", HOST, "host_requirements: 'nope' is not valid: expected numa_plan's host_requirements (a dictionary)"),
    ({"hugepages": [{"node": 0, "size": "2 MiB", "count": "x"}]}, HOST,
     "host_requirements.hugepages[0]: {'node': 0, 'size': '2 MiB', 'count': 'x'} is not valid: "
     "expected {node, size, count} with integer node and count"),
    ({"hugepages": [{"node": 0, "size": "huge", "count": 1}]}, HOST,
     "host_requirements.hugepages[0].size: 'huge' is not valid: expected a number with an optional unit, such as 8G or '512 MiB'"),
    ({"hugepages": []}, [], "host: 'list' is not valid: expected host_info's host (a dictionary with nodes)"),
])
def test_reservation_refuses_bad_input_by_name(requirements, host, message):
    with pytest.raises(AnsibleFilterError) as err:
        hugepage_reservation(requirements, host)
    assert str(err.value) == message


def test_placement_options_add_the_memory_of_the_cells():
    entry = {"name": "web", "fits": True, "reason": "", "host_nodes": [0, 1],
             "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "4"}], "emulatorpin": "4"},
             "numa": {"cells": [{"id": 0, "cpus": "0-2", "memory": "3 GiB"}, {"id": 1, "cpus": "3-4", "memory": "2 GiB"}]},
             "memory_backing": {}, "vcpus": {"maximum": 5, "placement": "static"},
             "cpu_model": {"topology": {"sockets": 5, "dies": 1, "cores": 1, "threads": 1}}, "iothreads": {"count": 1}}
    assert placement_options(entry) == {
        "vcpus": entry["vcpus"], "cpu_model": entry["cpu_model"], "numa": entry["numa"], "iothreads": {"count": 1},
        "cputune": entry["cputune"], "memory_backing": {}, "memory_devices": {"memory": "5 GiB"}}


def test_placement_options_refuse_a_guest_that_does_not_fit():
    with pytest.raises(AnsibleFilterError) as err:
        placement_options({"name": "big", "fits": False, "reason": "node 0: 0 free CPUs, 2 needed", "host_nodes": []})
    assert str(err.value) == ("plan[big]: 'node 0: 0 free CPUs, 2 needed' is not valid: the guest does not fit; "
                              "there are no options to apply")
    with pytest.raises(AnsibleFilterError):
        placement_options(["not", "an", "entry"])


def test_existing_entry_keeps_a_replanned_guest_where_it_was():
    """What the role does on a re-run: read the placed guest back, pass it as existing, get the same plan."""
    host = {"cpus": [{"id": c, "online": True, "node": 0, "socket": 0, "die": 0, "core": c, "siblings": str(c),
                      "l3": None, "isolated": False, "nohz_full": False} for c in range(4)],
            "nodes": [{"id": 0, "cpus": "0-3", "memory_kib": 8 << 20, "free_kib": None,
                       "distances": [{"id": 0, "value": 10}], "hugepages": []}],
            "isolated": "", "nohz_full": "", "cmdline": "", "smt": False, "domain_capabilities": None}
    small = {"name": "small", "vcpus": 1, "memory": "1G", "cpu_policy": "dedicated"}
    first = plan(host, [small], reserved_cpus="0", reserve_hugepages=True)["plan"][0]
    placed = domain("<cputune><vcpupin vcpu='0' cpuset='%s'/><emulatorpin cpuset='%s'/></cputune>"
                    % (first["cputune"]["vcpupin"][0]["cpuset"], first["cputune"]["emulatorpin"]),
                    memory="<memory unit='GiB'>1</memory>")
    existing = [existing_entry("small", placed, False, range(4), {0})]
    big = {"name": "big", "vcpus": 2, "memory": "1G", "cpu_policy": "dedicated"}
    again = plan(host, [big, small], existing=existing, reserved_cpus="0", reserve_hugepages=True)["plan"]
    assert [e["cputune"]["vcpupin"] for e in again] == [
        [{"vcpu": 0, "cpuset": "2"}, {"vcpu": 1, "cpuset": "3"}], first["cputune"]["vcpupin"]]
    assert first["cputune"]["vcpupin"] == [{"vcpu": 0, "cpuset": "1"}]


RECORDED = """
<metadata><virtuned:tuning xmlns:virtuned='urn:virtuned.libvirt:tuning:1' profile='%s'/></metadata>
<cputune>
  <vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/><vcpupin vcpu='2' cpuset='6'/><vcpupin vcpu='3' cpuset='7'/>
  <emulatorpin cpuset='1'/>
  <vcpusched vcpus='1-3' scheduler='fifo' priority='1'/>
</cputune>
<devices><hostdev mode='subsystem' type='pci' managed='yes'>
  <source><address domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source></hostdev></devices>
<memoryBacking><hugepages><page size='1' unit='G'/></hugepages></memoryBacking>
"""


def test_existing_entry_reads_the_recorded_profile_and_pci_devices():
    root = domain(RECORDED % "realtime@1")
    assert existing_entry("rt", root, False, HOST_CPUS, {0}) == {
        "name": "rt", "cpus": "1-3,6-7", "memory": [{"node": 0, "size": "4 GiB", "page_size": "1G"}], "active": False,
        "pci_devices": ["0000:3b:02.1"], "profile": "realtime@1"}


def test_profile_check_compares_the_guest_with_its_recorded_profile():
    assert profile_check(domain(RECORDED % "realtime@1")) == {"profile": "realtime@1", "matches": True,
                                                              "differences": []}
    assert profile_check(domain(RECORDED % "dedicated@1")) == {
        "profile": "dedicated@1", "matches": False,
        "differences": ["emulator_threads: share in dedicated@1, isolate in the guest",
                        "page_size: small in dedicated@1, 1G in the guest"]}
    user = {"db": {"version": 3, "extends": "realtime@1", "vcpus": 8, "memory": "4G", "realtime_vcpus": "^0,^1"}}
    assert profile_check(domain(RECORDED % "db@3"), profiles=user) == {
        "profile": "db@3", "matches": False,
        "differences": ["vcpus: 8 in db@3, 4 in the guest", "realtime_vcpus: 2-3 in db@3, 1-3 in the guest"]}
    assert profile_check(domain("")) is None
    assert profile_check(domain(""), "shared-balanced") == {
        "profile": "shared-balanced@2", "matches": True, "differences": []}
