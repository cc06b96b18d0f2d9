"""The shared engine on the cputune area: states, identity matching, preservation, rules."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import fixture_text

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.cputune import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import DomainContext, converge, plan_live
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain, parse_xml, to_document

TUNED = """<domain type='kvm'>
  <name>g</name>
  <uuid>6f2a3f4e-1d2c-4b5a-9e8f-0a1b2c3d4e5f</uuid>
  <memory unit='KiB'>1048576</memory>
  <vcpu placement='static'>4</vcpu>
  <iothreads>2</iothreads>
  <cputune>
    <shares>1024</shares>
    <vcpupin vcpu='0' cpuset='2'/>
    <vcpupin vcpu='1' cpuset='3'/>
    <emulatorpin cpuset='0-1'/>
    <vcpusched vcpus='0-1' scheduler='fifo' priority='10'/>
  </cputune>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><graphics type='vnc' passwd='pw'/></devices>
</domain>"""


def run(xml, state="merged", host_cpus=None, **options):
    root = parse_domain(xml)
    params = {f.name: None for f in AREA.fields}
    params.update(options)
    results = converge(root, [(AREA, params, state)], DomainContext(root, host_cpus=host_cpus))
    return results[0], root


def cputune_xml(root):
    return AREA.snapshot(root)


def test_merged_matches_items_by_vcpu_and_keeps_the_rest():
    result, root = run(TUNED, vcpupin=[{"vcpu": 1, "cpuset": "0-3,^2"}, {"vcpu": 3, "cpuset": "1"}])
    assert result.changed
    assert AREA.to_options(result.target) == {
        "shares": 1024,
        "vcpupin": [{"vcpu": 0, "cpuset": "2"}, {"vcpu": 1, "cpuset": "0-1,3"}, {"vcpu": 3, "cpuset": "1"}],
        "emulatorpin": "0-1",
        "vcpusched": [{"vcpus": "0-1", "scheduler": "fifo", "priority": 10}],
    }
    assert cputune_xml(root) == (
        "<cputune>\n  <shares>1024</shares>\n  <vcpupin vcpu=\"0\" cpuset=\"2\"/>\n"
        "  <vcpupin vcpu=\"1\" cpuset=\"0-1,3\"/>\n  <vcpupin vcpu=\"3\" cpuset=\"1\"/>\n"
        "  <emulatorpin cpuset=\"0-1\"/>\n  <vcpusched vcpus=\"0-1\" scheduler=\"fifo\" priority=\"10\"/>\n</cputune>\n")


def test_equal_after_normalisation_is_no_change():
    result, root = run(TUNED, vcpupin=[{"vcpu": 1, "cpuset": "3"}, {"vcpu": 0, "cpuset": [2]}], emulatorpin="0,1",
                       shares="1024", vcpusched=[{"vcpus": "1,0", "scheduler": "fifo", "priority": "10"}])
    assert not result.changed
    assert to_document(root) == to_document(parse_domain(TUNED))


def test_replaced_makes_the_area_exactly_what_is_given():
    result, root = run(TUNED, state="replaced", emulatorpin="1")
    assert AREA.to_options(result.target) == {"emulatorpin": "1"}
    assert cputune_xml(root) == "<cputune>\n  <emulatorpin cpuset=\"1\"/>\n</cputune>\n"


def test_deleted_with_items_removes_only_those():
    result, _root = run(TUNED, state="deleted", vcpupin=[{"vcpu": 0, "cpuset": "0"}], shares=2)
    assert AREA.to_options(result.target) == {
        "vcpupin": [{"vcpu": 1, "cpuset": "3"}], "emulatorpin": "0-1",
        "vcpusched": [{"vcpus": "0-1", "scheduler": "fifo", "priority": 10}]}


def test_deleted_without_options_removes_the_element_and_keeps_everything_else():
    result, root = run(TUNED, state="deleted")
    assert result.changed and root.find("cputune") is None
    original = parse_domain(TUNED)
    original.remove(original.find("cputune"))
    assert to_document(root) == to_document(original)


def test_untouched_elements_stay_as_they_were():
    _result, root = run(TUNED, shares=2048)
    before, after = parse_domain(TUNED), root
    for tag in ("name", "uuid", "memory", "vcpu", "iothreads", "os", "devices"):
        assert to_document(after.find(tag)) == to_document(before.find(tag))
    assert after.find("devices/graphics").get("passwd") == "pw"


def test_new_cputune_goes_to_libvirts_place_in_the_domain():
    xml = fixture_text("guest-minimal.xml")
    _result, root = run(xml, emulatorpin="1")
    assert [child.tag for child in root] == [
        "name", "memory", "vcpu", "iothreads", "cputune", "os", "features", "cpu", "devices"]


@pytest.mark.parametrize("options, message", [
    ({"vcpupin": [{"vcpu": 4, "cpuset": "1"}]},
     "vcpupin[vcpu=4].vcpu: 4 is not valid: the guest has 4 vCPUs (0-3); raise vcpus.maximum or drop this pin"),
    ({"iothreadpin": [{"iothread": 3, "cpuset": "1"}]},
     "iothreadpin[iothread=3].iothread: 3 is not valid: the guest defines iothreads 1-2"),
    ({"period": 999}, "period: 999 is not valid: must be between 1000 and 1000000"),
    ({"quota": 0}, "quota: 0 is not valid: must be -1 (no limit) or between 1000 and 17592186044415"),
    ({"vcpusched": [{"vcpus": "2", "scheduler": "batch", "priority": 5}]},
     "vcpusched[vcpus=2].priority: 5 is not valid: a priority needs scheduler fifo or rr, not batch"),
    ({"vcpusched": [{"vcpus": "2", "scheduler": "rr", "priority": 100}]},
     "vcpusched[0].priority: 100 is not valid: must be between 0 and 99"),
    ({"vcpusched": [{"vcpus": "1-2", "scheduler": "rr", "priority": 1}, {"vcpus": "2-3", "scheduler": "batch"}]},
     "vcpusched[vcpus=2-3].vcpus: '2-3' overlaps another vcpusched entry on vcpus 2 (libvirt refuses overlaps)"),
    ({"vcpupin": [{"vcpu": 0, "cpuset": "1"}, {"vcpu": 0, "cpuset": "2"}]},
     "vcpupin[1].vcpu: 0 is not valid: vcpu 0 appears twice (items 0 and 1)"),
    ({"emulatorpin": "0-9"}, "emulatorpin: '0-9' names CPUs 4-9 that this host does not have (host CPUs: 0-3)"),
    ({"vcpusched": [{"vcpus": "6", "scheduler": "idle"}]},
     "vcpusched[vcpus=6].vcpus: '6' names vcpus 6, but the guest has 4 vCPUs (0-3)"),
])
def test_refusals_name_option_value_and_rule(options, message):
    with pytest.raises(TuningError) as err:
        run(TUNED, host_cpus=frozenset(range(4)), **options)
    assert str(err.value) == message


def test_safe_parser_refuses_entities():
    evil = "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><name>&x;</name></domain>"
    with pytest.raises(TuningError) as err:
        parse_xml(evil)
    assert str(err.value) == "xml: entity references are not allowed in domain XML"


def test_live_plan_for_pins_and_scheduler():
    result, root = run(TUNED, vcpupin=[{"vcpu": 0, "cpuset": "1"}], shares=2048, vcpusched=[{"vcpus": "2", "scheduler": "idle"}])
    live_root = parse_domain(TUNED)
    plan = plan_live([result], live_root, DomainContext(root))
    assert [(key, op.method, op.args) for key, op in plan.ops] == [
        ("cputune.shares", "set_scheduler", ({"cpu_shares": 2048},)), ("cputune.vcpupin", "pin_vcpu", (0, "1"))]
    assert plan.restart_required is True and plan.pending == ["cputune.vcpusched"] and plan.reasons == {}


def test_live_plan_unpins_removed_vcpupin_to_all_cpus():
    result, root = run(TUNED, state="deleted", vcpupin=[{"vcpu": 1, "cpuset": "3"}])
    plan = plan_live([result], parse_domain(TUNED), DomainContext(root))
    assert [op.text for _key, op in plan.ops] == ["pin vCPU 1 to all host CPUs"]
    assert plan.restart_required is False


pins = st.lists(st.tuples(st.integers(0, 3), st.sets(st.integers(0, 15), min_size=1)), max_size=4,
                unique_by=lambda p: p[0])
sched = st.sampled_from([None, 1024, 2, 262144])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pins, st.one_of(st.none(), st.sets(st.integers(0, 15), min_size=1)), sched,
       st.one_of(st.none(), st.integers(1000, 1000000)))
def test_gathered_then_replaced_changes_nothing(vcpupin, emulator, shares, period):
    options = {"vcpupin": [{"vcpu": v, "cpuset": format_cpuset(c)} for v, c in vcpupin] or None,
               "emulatorpin": format_cpuset(emulator) if emulator else None, "shares": shares, "period": period}
    _result, root = run(TUNED, state="replaced", **options)
    xml = to_document(root)
    gathered, _root = run(xml, state="gathered")
    shown = AREA.to_options(gathered.current)
    again, root2 = run(xml, state="replaced", **shown)
    assert not again.changed
    assert to_document(root2) == xml
