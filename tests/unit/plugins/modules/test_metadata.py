"""metadata module (and domain_tuning's metadata): the collection's own <metadata> element, others left alone."""

import shutil
import subprocess

import pytest

from conftest import fixture_text, run_module

from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.placements import placement_options  # what the filter returns
from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.metadata import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import converge, plan_live
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain, to_string
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.placements import existing_entry, profile_check
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan

OWN = "urn:virtuned.libvirt:tuning:1"
OTHER = "<other:app xmlns:other=\"http://example.org/app/1\" state=\"kept\"><other:x>1</other:x></other:app>"
BASE = fixture_text("guest-minimal.xml").replace("<name>vt-probe</name>", "<name>vt-meta</name>")
WITH_OTHER = BASE.replace("</name>", "</name>\n  <metadata>%s</metadata>" % OTHER, 1)


def metadata_xml(xml):
    """The whole <metadata> element of a domain XML document, or None."""
    found = parse_domain(xml).find("metadata")
    if found is None:
        return None
    found.tail = None
    for elem in found.iter():
        elem.tail = None
        if len(elem):
            elem.text = None
    return to_string(found)


def ours(profile):
    return "<virtuned:tuning xmlns:virtuned=\"%s\" profile=\"%s\"/>" % (OWN, profile)


def test_record_keeps_other_namespaces_and_reads_back():
    result = run_module("metadata", {"xml": WITH_OTHER, "profile": "db@2"})
    assert (result["changed"], result["before"], result["after"]) == (True, {}, {"profile": "db@2"})
    assert metadata_xml(result["xml"]) == "<metadata>%s%s</metadata>" % (OTHER, ours("db@2"))
    assert result["diff"] == {"before_header": "metadata (persistent)", "after_header": "metadata (persistent)",
                              "before": "", "after": ours("db@2") + "\n"}
    changed = run_module("metadata", {"xml": result["xml"], "profile": "dedicated@1,db@3"})
    assert metadata_xml(changed["xml"]) == "<metadata>%s%s</metadata>" % (OTHER, ours("dedicated@1,db@3"))
    # where <metadata> does not exist yet, it goes where libvirt writes it (after the name, before <memory>)
    fresh = run_module("metadata", {"xml": BASE, "profile": "db@2"})["xml"]
    assert [child.tag for child in parse_domain(fresh)][:3] == ["name", "metadata", "memory"]


def test_gathered_then_replaced_changes_nothing():
    recorded = run_module("metadata", {"xml": WITH_OTHER, "profile": "db@2"})["xml"]
    for xml in (recorded, WITH_OTHER, BASE):
        gathered = run_module("metadata", {"xml": xml, "state": "gathered"})["gathered"]
        assert gathered == ({"profile": "db@2"} if xml is recorded else {})
        again = run_module("metadata", dict(gathered, xml=xml, state="replaced"))
        assert (again["changed"], again["xml"]) == (False, run_module("metadata", {"xml": xml})["xml"])
        assert metadata_xml(again["xml"]) == metadata_xml(xml if xml is not recorded else recorded)


def test_remove_only_our_element():
    recorded = run_module("metadata", {"xml": WITH_OTHER, "profile": "db@2"})["xml"]
    deleted = run_module("metadata", {"xml": recorded, "state": "deleted"})
    assert (deleted["changed"], deleted["after"]) == (True, {})
    assert metadata_xml(deleted["xml"]) == "<metadata>%s</metadata>" % OTHER
    # an empty string removes it with state merged too
    emptied = run_module("metadata", {"xml": recorded, "profile": ""})
    assert (emptied["changed"], metadata_xml(emptied["xml"])) == (True, "<metadata>%s</metadata>" % OTHER)
    # alone in <metadata>, the emptied <metadata> goes as well
    alone = run_module("metadata", {"xml": BASE, "profile": "db@2"})["xml"]
    assert metadata_xml(run_module("metadata", {"xml": alone, "state": "deleted"})["xml"]) is None
    assert run_module("metadata", {"xml": WITH_OTHER, "state": "deleted"})["changed"] is False


def test_profile_versions_are_canonical():
    result = run_module("metadata", {"xml": BASE, "profile": " dedicated@01 , db@2 "})
    assert result["after"] == {"profile": "dedicated@1,db@2"}
    assert run_module("metadata", {"xml": result["xml"], "profile": "dedicated@1,db@2"})["changed"] is False


@pytest.mark.parametrize("value, rule", [
    ("db", "expected profile versions: name@N, or several joined by commas (dedicated@1,db@2)"),
    ("db@", "expected profile versions: name@N, or several joined by commas (dedicated@1,db@2)"),
    ("db@0", "expected profile versions: name@N, or several joined by commas (dedicated@1,db@2)"),
    ("db@1.5", "expected profile versions: name@N, or several joined by commas (dedicated@1,db@2)"),
    ("@2", "expected profile versions: name@N, or several joined by commas (dedicated@1,db@2)"),
    ("db@1,", "expected profile versions: name@N, or several joined by commas (dedicated@1,db@2)"),
    ("my db@1", "expected profile versions: name@N, or several joined by commas (dedicated@1,db@2)"),
    ("db@1,db@2", "profile db appears twice; a guest records one version of each profile"),
])
def test_bad_profiles_are_refused_by_name(value, rule):
    result = run_module("metadata", {"xml": BASE, "profile": value})
    assert result == {"failed": True, "msg": "profile: %r is not valid: %s" % (value, rule)}
    # domain_tuning names the option as the area does (as for every area)
    assert run_module("domain_tuning", {"xml": BASE, "metadata": {"profile": value}}) == result


def test_live_plan_sets_only_our_namespace():
    recorded = parse_domain(run_module("metadata", {"xml": WITH_OTHER, "profile": "db@1"})["xml"])
    live = parse_domain(to_string(recorded))
    results = converge(recorded, [(AREA, {"profile": "db@2"}, "merged")])
    assert [(key, op.method, op.args, op.text) for key, op in plan_live(results, live).ops] == [
        ("metadata.profile", "set_metadata", ("<tuning profile=\"db@2\"/>", "virtuned", OWN),
         "record profile db@2 in the guest's metadata")]
    removed = converge(parse_domain(to_string(live)), [(AREA, {}, "deleted")])
    assert [(op.args, op.text) for _key, op in plan_live(removed, live).ops] == [
        ((None, "virtuned", OWN), "remove the recorded profile from the guest's metadata")]
    same = converge(parse_domain(to_string(live)), [(AREA, {"profile": "db@1"}, "merged")])
    assert plan_live(same, live).ops == []


def test_test_driver_running_guest_live_and_persistent(testdriver):
    import libvirt
    conn, created = testdriver
    dom = conn.defineXML(WITH_OTHER.replace("<domain type='kvm'>", "<domain type='test'>")
                         .replace("/usr/bin/qemu-system-x86_64", "/usr/bin/test-hv"))
    created.append("vt-meta")
    dom.create()
    args = {"uri": "test:///default", "name": "vt-meta", "profile": "db@2"}
    result = run_module("metadata", args)
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (
        True, ["record profile db@2 in the guest's metadata"], False)
    for flags in (libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG):
        assert dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, OWN, flags) == "<tuning profile=\"db@2\"/>"
        assert dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "http://example.org/app/1", flags) == (
            "<app state=\"kept\">\n  <x>1</x>\n</app>")
    assert run_module("metadata", args)["changed"] is False
    gathered = run_module("metadata", {"uri": "test:///default", "name": "vt-meta", "state": "gathered"})
    assert gathered["gathered"] == {"profile": "db@2"}
    again = run_module("metadata", dict(gathered["gathered"], uri="test:///default", name="vt-meta", state="replaced"))
    assert (again["changed"], again["live_changes"]) == (False, [])
    deleted = run_module("metadata", {"uri": "test:///default", "name": "vt-meta", "state": "deleted"})
    assert deleted["live_changes"] == ["remove the recorded profile from the guest's metadata"]
    for flags in (libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG):
        with pytest.raises(libvirt.libvirtError):
            dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, OWN, flags)
        assert dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "http://example.org/app/1", flags) == (
            "<app state=\"kept\">\n  <x>1</x>\n</app>")


HOST = {"cpus": [{"id": c, "online": True, "node": 0, "socket": 0, "die": 0, "core": c, "siblings": str(c),
                  "l3": None, "isolated": False, "nohz_full": False} for c in range(4)],
        "nodes": [{"id": 0, "cpus": "0-3", "memory_kib": 8 << 20, "free_kib": None,
                   "distances": [{"id": 0, "value": 10}], "hugepages": []}],
        "isolated": "", "nohz_full": "", "cmdline": "", "smt": False, "domain_capabilities": None}


def test_a_plan_with_a_profile_is_recorded_read_back_and_checked():
    """numa_plan -> placement_options -> domain_tuning: the guest records the versions it was placed with,
    guest_placements_info reads them back, and profile_check finds the guest matches them."""
    entry = plan(HOST, [{"name": "vt-meta", "profile": "dedicated", "vcpus": 2, "memory": "128M"}],
                 reserved_cpus="0")["plan"][0]
    options = placement_options(entry)
    assert options["metadata"] == {"profile": "dedicated@1"}
    placed = run_module("domain_tuning", dict(options, xml=WITH_OTHER))
    assert placed.get("failed") is None, placed.get("msg")
    assert placed["after"]["metadata"] == {"profile": "dedicated@1"}
    root = parse_domain(placed["xml"])
    assert metadata_xml(placed["xml"]) == "<metadata>%s%s</metadata>" % (OTHER, ours("dedicated@1"))
    assert existing_entry("vt-meta", root, False, range(4), {0})["profile"] == "dedicated@1"
    assert profile_check(root) == {"profile": "dedicated@1", "matches": True, "differences": []}
    # a plan without a profile has no metadata: the areas leave the record alone
    bare = plan(HOST, [{"name": "vt-meta", "vcpus": 2, "memory": "128M"}], reserved_cpus="0")["plan"][0]
    assert "metadata" not in placement_options(bare)


def test_the_recorded_metadata_is_valid_domain_xml(tmp_path):
    validator = shutil.which("virt-xml-validate")
    assert validator, "virt-xml-validate (libvirt-clients) is installed by make test's host set-up"
    result = run_module("metadata", {"xml": WITH_OTHER, "profile": "dedicated@1,db@2"})
    path = tmp_path / "domain.xml"
    path.write_text(result["xml"])
    proc = subprocess.run([validator, str(path), "domain"], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stderr.strip()) == (0, "%s validates" % path)
