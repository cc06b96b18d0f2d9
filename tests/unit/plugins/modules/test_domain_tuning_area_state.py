"""domain_tuning: a ``state`` inside an area's dictionary applies to that area only (issue 15 item 5)."""

import pytest

from conftest import fixture_text, run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS

# pins on vCPUs 0 and 1, the emulator on 0, a soft limit and a hard limit
TUNED = fixture_text("guest-minimal.xml").replace("<devices>", """<cputune>
    <vcpupin vcpu='0' cpuset='0'/>
    <vcpupin vcpu='1' cpuset='1'/>
    <emulatorpin cpuset='0'/>
  </cputune>
  <memtune>
    <hard_limit unit='KiB'>1048576</hard_limit>
    <soft_limit unit='KiB'>524288</soft_limit>
  </memtune>
  <devices>""")
PINNED = {"vcpupin": [{"vcpu": 0, "cpuset": "0"}, {"vcpu": 1, "cpuset": "1"}], "emulatorpin": "0"}
LIMITS = {"hard_limit": "1 GiB", "soft_limit": "512 MiB"}


def areas_of(xml, *names):
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
    root = parse_domain(xml)
    return {name: AREAS[name].to_options(AREAS[name].read(root)) for name in names}


def test_replaced_in_one_area_and_merged_in_another():
    result = run_module("domain_tuning", {"xml": TUNED, "cputune": {"state": "replaced",
                                                                    "vcpupin": [{"vcpu": 0, "cpuset": "1"}]},
                                          "memtune": {"state": "merged", "soft_limit": "256M"}}, diff=False)
    after = {"cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "1"}]},
             "memtune": {"hard_limit": "1 GiB", "soft_limit": "256 MiB"}}
    assert (result["changed"], result["before"], result["after"]) == (
        True, {"cputune": PINNED, "memtune": LIMITS}, after)
    assert areas_of(result["xml"], "cputune", "memtune") == after


def test_the_tasks_state_is_the_default_of_the_areas_without_one():
    result = run_module("domain_tuning", {"xml": TUNED, "state": "replaced",
                                          "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "1"}]},
                                          "memtune": {"state": "merged", "soft_limit": "256M"}}, diff=False)
    assert areas_of(result["xml"], "cputune", "memtune") == {
        "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "1"}]},
        "memtune": {"hard_limit": "1 GiB", "soft_limit": "256 MiB"}}
    # state: null in an area is the task's state too
    nulled = run_module("domain_tuning", {"xml": TUNED, "state": "replaced",
                                          "cputune": {"state": None, "vcpupin": [{"vcpu": 0, "cpuset": "1"}]}},
                        diff=False)
    assert areas_of(nulled["xml"], "cputune") == {"cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "1"}]}}


def test_deleted_and_gathered_areas_beside_a_merged_one():
    result = run_module("domain_tuning", {"xml": TUNED, "cputune": {"state": "deleted"},
                                          "memtune": {"state": "gathered"},
                                          "vcpus": {"maximum": 6}}, diff=False)
    assert (result["changed"], result["before"], result["after"], result["gathered"]) == (
        True, {"cputune": PINNED, "vcpus": {"maximum": 4, "current": 2, "placement": "static"}},
        {"cputune": {}, "vcpus": {"maximum": 6, "current": 2, "placement": "static"}},
        {"memtune": LIMITS})
    assert areas_of(result["xml"], "cputune", "memtune") == {"cputune": {}, "memtune": LIMITS}


def test_an_area_state_is_the_same_as_the_area_module_with_that_state():
    combined = run_module("domain_tuning", {"xml": TUNED, "cputune": {"state": "replaced", "emulatorpin": "1"},
                                            "memtune": {"state": "deleted", "hard_limit": "1G"}}, diff=False)
    first = run_module("cputune", {"xml": TUNED, "state": "replaced", "emulatorpin": "1"}, diff=False)
    second = run_module("memtune", {"xml": first["xml"], "state": "deleted", "hard_limit": "1G"}, diff=False)
    assert combined["xml"] == second["xml"]
    assert areas_of(combined["xml"], "cputune", "memtune") == {"cputune": {"emulatorpin": "1"},
                                                               "memtune": {"soft_limit": "512 MiB"}}


@pytest.mark.parametrize("args, message", [
    ({"cputune": {"state": "gone", "emulatorpin": "0"}},
     "cputune.state: 'gone' is not valid: expected one of merged, replaced, deleted, gathered"),
    ({"cputune": {"state": ["replaced"], "emulatorpin": "0"}},
     "cputune.state: ['replaced'] is not valid: expected one of merged, replaced, deleted, gathered"),
    ({"guests": [{"name": "a", "memtune": {"state": "absent"}}]},
     "guests[0] (a): memtune.state: 'absent' is not valid: expected one of merged, replaced, deleted, gathered"),
])
def test_a_bad_area_state_names_the_area_the_value_and_the_rule(args, message):
    if "guests" not in args:
        args = dict(args, xml=TUNED)
    assert run_module("domain_tuning", args) == {"failed": True, "msg": message}


def test_guests_area_state_overrides_the_guests_state(testdriver):
    conn, created = testdriver
    conn.defineXML(TUNED.replace("vt-probe", "vt-ut-as").replace("type='kvm'", "type='test'")
                   .replace("<emulator>/usr/bin/qemu-system-x86_64</emulator>", "")
                   .replace(" machine='pc'", ""))
    created.append("vt-ut-as")
    result = run_module("domain_tuning", {"uri": "test:///default", "guests": [
        {"name": "vt-ut-as", "state": "replaced", "cputune": {"emulatorpin": "1"},
         "memtune": {"state": "merged", "soft_limit": "256M"}}]}, diff=False)
    entry = result["guests"]["vt-ut-as"]
    assert (entry["changed"], entry["after"]) == (True, {"cputune": {"emulatorpin": "1"},
                                                         "memtune": {"hard_limit": "1 GiB", "soft_limit": "256 MiB"}})
    assert areas_of(conn.lookupByName("vt-ut-as").XMLDesc(2), "cputune", "memtune") == entry["after"]
