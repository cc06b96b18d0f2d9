# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""numa_pinning's guest-side filters: whole areas for state replaced, refusals, the summary."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.filter.placement_areas import placement_areas
from ansible_collections.virtuned.libvirt.plugins.filter.placement_refusal import placement_refusal
from ansible_collections.virtuned.libvirt.plugins.filter.placement_summary import placement_summary

from conftest import fixture_text, run_module

CELL = {"cells": [{"id": 0, "cpus": "0", "memory": "128 MiB"}],
        "numatune": {"memory": {"mode": "strict", "nodeset": "0"},
                     "memnodes": [{"cellid": 0, "mode": "strict", "nodeset": "0"}]}}
SMALL = {"name": "g", "fits": True, "reason": "", "host_nodes": [0],
         "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "1"}], "emulatorpin": "1"},
         "numa": CELL, "memory_backing": {},
         "vcpus": {"maximum": 1, "placement": "static"},
         "cpu_model": {"topology": {"sockets": 1, "dies": 1, "cores": 1, "threads": 1}}}
BIG_GATHERED = {
    "vcpus": {"maximum": 2, "current": 2, "placement": "static"},
    "cpu_model": {"mode": "custom", "model": {"name": "kvm64", "fallback": "forbid"},
                  "topology": {"sockets": 1, "dies": 1, "cores": 2, "threads": 1}},
    "numa": {"cells": [{"id": 0, "cpus": "0-1", "memory": "128 MiB"}],
             "numatune": {"memory": {"mode": "strict", "nodeset": "0"}}},
    "memory_devices": {"memory": "128 MiB", "current_memory": "128 MiB"},
    "cputune": {"shares": 512, "vcpupin": [{"vcpu": 0, "cpuset": "0"}, {"vcpu": 1, "cpuset": "1"}],
                "emulatorpin": "0-1"},
    "memory_backing": {"hugepages": [{"size": "2 MiB"}], "nosharepages": True},
    "iothreads": {},
}


def test_a_smaller_plan_owns_its_options_and_keeps_the_rest():
    assert placement_areas(SMALL, BIG_GATHERED) == {
        "cputune": {"shares": 512, "vcpupin": [{"vcpu": 0, "cpuset": "1"}], "emulatorpin": "1"},
        "numa": CELL,
        "memory_backing": {"nosharepages": True},
        # the current count above the new maximum goes, placement is the plan's
        "vcpus": {"maximum": 1, "placement": "static"},
        "cpu_model": {"mode": "custom", "model": {"name": "kvm64", "fallback": "forbid"},
                      "topology": {"sockets": 1, "dies": 1, "cores": 1, "threads": 1}},
        # current_memory at the new memory goes (libvirt sets it again)
        "memory_devices": {"memory": "128 MiB"},
    }


def test_unplacing_removes_pins_numatune_and_hugepages_only():
    assert placement_areas(None, BIG_GATHERED, state="absent") == {
        "cputune": {"shares": 512},
        "numa": {"cells": [{"id": 0, "cpus": "0-1", "memory": "128 MiB"}]},
        "memory_backing": {"nosharepages": True},
    }


def test_iothread_ids_and_hotplug_entries_beyond_the_plan_go():
    plan = dict(SMALL, iothreads={"count": 1})
    gathered = dict(BIG_GATHERED, iothreads={"count": 2, "iothreadids": [{"id": 1}, {"id": 2}]},
                    vcpus={"maximum": 2, "placement": "static",
                           "vcpus": [{"id": 0, "enabled": True}, {"id": 1, "enabled": True, "hotpluggable": True}]})
    areas = placement_areas(plan, gathered)
    assert areas["iothreads"] == {"count": 1, "iothreadids": [{"id": 1}]}
    assert areas["vcpus"] == {"maximum": 1, "placement": "static", "vcpus": [{"id": 0, "enabled": True}]}


def test_a_guest_that_does_not_fit_or_a_bad_state_is_refused():
    with pytest.raises(AnsibleFilterError) as err:
        placement_areas({"name": "g", "fits": False, "reason": "node 0: 0 free CPUs"}, BIG_GATHERED)
    assert str(err.value) == ("plan[g]: 'node 0: 0 free CPUs' is not valid: the guest does not fit; "
                              "there are no options to apply")
    with pytest.raises(AnsibleFilterError) as err:
        placement_areas(SMALL, BIG_GATHERED, state="gone")
    assert str(err.value) == "placement_areas: state: 'gone' is not valid: expected present or absent"


def test_replaced_with_the_areas_shrinks_the_guest_and_converges():
    """The filter's output through domain_tuning (offline): the big placement goes, a second run changes nothing."""
    xml = fixture_text("guest-minimal.xml").replace("<iothreads>2</iothreads>", "").replace(
        "<vcpu placement='static' current='2'>4</vcpu>", "<vcpu placement='static'>2</vcpu>")
    big = dict(SMALL, cputune={"vcpupin": [{"vcpu": 0, "cpuset": "0"}, {"vcpu": 1, "cpuset": "1"}],
                               "emulatorpin": "0-1"},
               numa={"cells": [{"id": 0, "cpus": "0-1", "memory": "128 MiB"}],
                     "numatune": {"memory": {"mode": "strict", "nodeset": "0"}}},
               memory_backing={"hugepages": [{"size": "2 MiB"}]},
               vcpus={"maximum": 2, "placement": "static"},
               cpu_model={"topology": {"sockets": 1, "dies": 1, "cores": 2, "threads": 1}})

    def apply(entry, xml, state="present"):
        gathered = run_module("domain_tuning", {"xml": xml, "state": "gathered"})["gathered"]
        args = dict(placement_areas(entry, gathered, state=state), xml=xml, state="replaced")
        result = run_module("domain_tuning", args)
        assert "failed" not in result, result
        return result

    placed = apply(big, xml)["xml"]
    shrunk = apply(SMALL, placed)
    assert shrunk["changed"] is True
    after = run_module("domain_tuning", {"xml": shrunk["xml"], "state": "gathered"})["gathered"]
    assert after["cputune"] == SMALL["cputune"]
    assert after["numa"] == CELL
    assert after["memory_backing"] == {}
    assert after["vcpus"] == {"maximum": 1, "placement": "static"}
    assert after["cpu_model"]["topology"] == SMALL["cpu_model"]["topology"]
    assert apply(SMALL, shrunk["xml"])["changed"] is False
    unplaced = apply(None, shrunk["xml"], state="absent")
    after = run_module("domain_tuning", {"xml": unplaced["xml"], "state": "gathered"})["gathered"]
    assert after["cputune"] == {}
    assert after["numa"] == {"cells": CELL["cells"]}
    assert after["vcpus"] == {"maximum": 1, "placement": "static"}
    assert apply(None, unplaced["xml"], state="absent")["changed"] is False


HOST = {"cpus": [{"id": 0, "node": 0, "online": True}, {"id": 1, "node": 0, "online": True}],
        "nodes": [{"id": 0, "hugepages": [{"size_kib": 2048, "total": 128, "free": 64, "surplus": 0},
                                          {"size_kib": 1048576, "total": 0, "free": 0, "surplus": 0}]}]}
EXISTING = [{"name": "other", "cpus": "1", "memory": [{"node": 0, "size": "256 MiB", "page_size": "2M"}],
             "active": True},
            {"name": "g", "cpus": "", "memory": [], "active": False}]
UNFIT = [{"name": "g", "fits": False, "reason": "on 1 node with small pages: node 0: 0 free CPUs, 1 needed",
          "host_nodes": []}]
UNFIT_PAGES = [{"name": "g", "fits": False, "host_nodes": [],
                "reason": "on 1 node with 2 MiB pages: node 0: 12 free 2 MiB pages, 64 needed"}]


def test_refusal_names_the_holders_and_what_would_change_it():
    assert placement_refusal(UNFIT, EXISTING, HOST) == (
        "numa_pinning_guests: g does not fit (on 1 node with small pages: node 0: 0 free CPUs, 1 needed). "
        "Held by guests outside numa_pinning_guests: node 0: other (CPUs 1, 256 MiB on 2M pages). "
        "What would change the outcome: numa_pinning_other_guests: ignore plans as if those guests were not there; "
        "a smaller request (fewer vCPUs, less memory, cpu_policy shared, page_size small) fits in less. "
        "Nothing was changed.")


def test_refusal_hints_at_hugepages_for_a_page_shortage():
    assert placement_refusal(UNFIT_PAGES, [], HOST) == (
        "numa_pinning_guests: g does not fit (on 1 node with 2 MiB pages: node 0: 12 free 2 MiB pages, 64 needed). "
        "What would change the outcome: a smaller request (fewer vCPUs, less memory, cpu_policy shared, "
        "page_size small) fits in less; more free hugepages (hugepages_host_pages) change what fits on hugepages. "
        "Nothing was changed.")


def test_refusal_empty_when_everything_fits_and_without_holders_when_ignored():
    assert placement_refusal([SMALL], EXISTING, HOST) == ""
    assert placement_refusal(UNFIT, EXISTING, HOST, other_guests="ignore") == (
        "numa_pinning_guests: g does not fit (on 1 node with small pages: node 0: 0 free CPUs, 1 needed). "
        "What would change the outcome: a smaller request (fewer vCPUs, less memory, cpu_policy shared, "
        "page_size small) fits in less. Nothing was changed.")


def test_summary_per_guest_then_per_node():
    hugepage_guest = dict(SMALL, name="a", memory_backing={"hugepages": [{"size": "2 MiB", "nodeset": "0"}]})
    shared = dict(SMALL, name="b", cputune={"vcpupin": [{"vcpu": 0, "cpuset": "0"}], "emulatorpin": "0"},
                  numa=dict(CELL, cells=[{"id": 0, "cpus": "0", "memory": "1536 MiB"}]))
    guests = [
        {"name": "b", "state": "present", "plan": shared, "restarted": True,
         "result": {"changed": True, "live_changes": [], "pending_restart": ["numa.cells"], "restart_required": True}},
        {"name": "a", "state": "present", "plan": hugepage_guest, "restarted": False,
         "result": {"changed": True, "live_changes": ["vcpupin 0 -> 1"], "restart_required": False}},
        {"name": "c", "state": "absent", "restarted": False, "result": {"changed": False, "live_changes": []}},
    ]
    assert placement_summary(guests, HOST, held_cpus="1", reserved_cpus="0").splitlines() == [
        "a: host node 0, host CPUs 1",
        "  pins: vCPU 0 -> CPU 1, emulator -> CPU 1",
        "  memory: 128 MiB on 2 MiB pages (64 pages)",
        "  applied live: vcpupin 0 -> 1",
        "  waits for a restart: nothing",
        "  restarted: no",
        "b: host node 0, host CPUs 0",
        "  pins: vCPU 0 -> CPU 0, emulator -> CPU 0",
        "  memory: 1536 MiB on small pages",
        "  applied live: nothing",
        "  applied by the restart: numa.cells",
        "  restarted: yes",
        "c: unplaced (its vCPU pins, numatune and hugepage backing removed; vCPUs, memory and cells kept)",
        "  applied live: nothing",
        "  waits for a restart: nothing",
        "  restarted: no",
        "host:",
        "  node 0: CPUs 0-1, held by guests 1, housekeeping 0, free for dedicated vCPUs none; "
        "2 MiB pages 128 total, 64 free",
    ]


def test_summary_takes_the_loop_results_and_restarted_names():
    targets = [{"name": "a", "state": "present", "plan": dict(SMALL, name="a")}]
    results = [{"item": {"name": "a"}, "changed": True, "live_changes": [], "restart_required": True,
                "pending_restart": ["cpu_model.topology"]}]
    lines = placement_summary(targets, HOST, results=results, restarted=["a"]).splitlines()
    assert lines[3:6] == ["  applied live: nothing", "  applied by the restart: cpu_model.topology", "  restarted: yes"]
    lines = placement_summary(targets, HOST, results=results).splitlines()
    assert lines[3:6] == ["  applied live: nothing", "  waits for a restart: cpu_model.topology", "  restarted: no"]


def test_summary_from_one_domain_tuning_call_in_check_mode_and_for_real():
    """The module's guests (name -> result) fill in each guest; restarted comes from the result; memory is MiB/GiB."""
    host = {"cpus": HOST["cpus"], "nodes": [dict(HOST["nodes"][0], memory_kib=8480504, free_kib=6230400)]}
    big = dict(SMALL, name="a", numa=dict(CELL, cells=[{"id": 0, "cpus": "0", "memory": "20000 MiB"}]),
               memory_backing={"hugepages": [{"size": "2 MiB", "nodeset": "0"}]})
    targets = [{"name": "a", "state": "present", "plan": big}, {"name": "b", "state": "absent", "plan": {}}]
    guests = {"a": {"changed": True, "live_changes": ["vcpupin 0 -> 1"], "restart_required": True,
                    "pending_restart": ["memory_backing.hugepages"], "restarted": True},
              "b": {"changed": False, "live_changes": [], "restart_required": False}}
    block_a = [
        "a: host node 0, host CPUs 1",
        "  pins: vCPU 0 -> CPU 1, emulator -> CPU 1",
        "  memory: 19.5 GiB on 2 MiB pages (10000 pages)",
        "  applied live: vcpupin 0 -> 1",
        "  applied by the restart: memory_backing.hugepages",
    ]
    rest = [
        "b: unplaced (its vCPU pins, numatune and hugepage backing removed; vCPUs, memory and cells kept)",
        "  applied live: nothing",
        "  waits for a restart: nothing",
        "  restarted: no",
        "host:",
        "  node 0: CPUs 0-1, held by guests none, housekeeping 0, free for dedicated vCPUs 1; "
        "memory 8.1 GiB, 5.9 GiB free; 2 MiB pages 128 total, 64 free",
    ]
    assert placement_summary(targets, host, reserved_cpus="0", results=guests).splitlines() == (
        block_a + ["  restarted: yes"] + rest)
    assert placement_summary(targets, host, reserved_cpus="0", results=guests, check_mode=True).splitlines() == (
        ["check mode: nothing was changed; what a real run does:"] + block_a + ["  restarted: would be (check mode)"]
        + rest)


def test_summary_refuses_results_of_another_kind():
    with pytest.raises(AnsibleFilterError) as failure:
        placement_summary([], HOST, results="a")
    assert str(failure.value) == ("placement_summary: results must be domain_tuning's guests (a dict) or a loop's "
                                  "results (a list), got 'a'")
