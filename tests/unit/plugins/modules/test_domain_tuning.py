"""domain_tuning: several areas in one call, through the same engine as the area modules."""

import libvirt

from conftest import fixture_text, run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

BASE = fixture_text("guest-minimal.xml")


def test_areas_see_each_other_within_one_call():
    result = run_module("domain_tuning", {"xml": BASE, "vcpus": {"maximum": 6},
                                          "cputune": {"vcpupin": [{"vcpu": 5, "cpuset": "1"}]}})
    assert result["changed"] is True
    assert result["before"] == {"vcpus": {"maximum": 4, "current": 2, "placement": "static"}, "cputune": {}}
    assert result["after"] == {"vcpus": {"maximum": 6, "current": 2, "placement": "static"},
                               "cputune": {"vcpupin": [{"vcpu": 5, "cpuset": "1"}]}}
    assert [d["before_header"] for d in result["diff"]] == ["vcpus (persistent)", "cputune (persistent)"]
    root = parse_domain(result["xml"])
    assert AREAS["cputune"].to_options(AREAS["cputune"].read(root)) == {"vcpupin": [{"vcpu": 5, "cpuset": "1"}]}
    assert root.findtext("vcpu") == "6"


def test_same_result_as_the_area_modules_one_after_the_other():
    combined = run_module("domain_tuning", {"xml": BASE, "cputune": {"emulatorpin": "0", "shares": 300},
                                            "memtune": {"soft_limit": "64M"}})
    first = run_module("cputune", {"xml": BASE, "emulatorpin": "0", "shares": 300})
    second = run_module("memtune", {"xml": first["xml"], "soft_limit": "64M"})
    assert combined["xml"] == second["xml"]
    again = run_module("domain_tuning", {"xml": combined["xml"], "cputune": {"emulatorpin": "0", "shares": 300},
                                         "memtune": {"soft_limit": "64M"}})
    assert again["changed"] is False


def test_a_refusal_in_one_area_fails_the_whole_call():
    result = run_module("domain_tuning", {"xml": BASE, "cputune": {"vcpupin": [{"vcpu": 4, "cpuset": "1"}]},
                                          "memtune": {"soft_limit": "64M"}})
    assert result == {"failed": True, "msg": "vcpupin[vcpu=4].vcpu: 4 is not valid: the guest has 4 vCPUs (0-3); "
                                             "raise vcpus.maximum or drop this pin"}


def test_area_options_are_checked_against_the_area_modules_spec():
    result = run_module("domain_tuning", {"xml": BASE, "cputune": {"vcpupin": [{"vcpu": "zero", "cpuset": 1}]}})
    assert result["failed"] is True
    assert result["msg"] == ("cputune: argument 'vcpu' is of type str found in 'vcpupin'. and we were unable to "
                             "convert to int: \"'zero'\" cannot be converted to an int")


def test_no_area_is_a_clear_failure():
    result = run_module("domain_tuning", {"xml": BASE})
    assert result == {"failed": True, "msg": "no area given: name at least one of " + ", ".join(AREAS)}


def test_gathered_returns_every_area_and_feeds_back_unchanged(testdriver):
    conn, created = testdriver
    conn.defineXML(fixture_text("guest-testdriver.xml").replace("NAME", "vt-ut-dt"))
    created.append("vt-ut-dt")
    args = {"uri": "test:///default", "name": "vt-ut-dt"}
    applied = run_module("domain_tuning", dict(args, cputune={"emulatorpin": "0"}, memtune={"soft_limit": "256M"}))
    assert applied["changed"] is True
    gathered = run_module("domain_tuning", dict(args, state="gathered"))
    assert sorted(gathered["gathered"]) == sorted(AREAS)
    assert gathered["gathered"]["cputune"] == {"emulatorpin": "0"}
    assert gathered["gathered"]["memtune"] == {"soft_limit": "256 MiB"}
    replay = {name: options for name, options in gathered["gathered"].items() if options}
    again = run_module("domain_tuning", dict(args, state="replaced", **replay))
    assert again["changed"] is False, again.get("diff")
    persistent = parse_domain(conn.lookupByName("vt-ut-dt").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert AREAS["memtune"].to_options(AREAS["memtune"].read(persistent)) == {"soft_limit": "256 MiB"}
