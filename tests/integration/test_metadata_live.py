"""The profile a guest was placed with, recorded in a running guest on qemu:///system: numa_plan (on this host)
-> placement_options -> domain_tuning, read back live and persistently, through a reboot, then removed; another
application's <metadata> element stays as it was throughout."""

import libvirt

from conftest import run_module
from integration.conftest import QEMU_URI, guest_xml, run_playbook

from ansible_collections.virtuned.libvirt.plugins.filter.placement_options import placement_options

NAME = "vt-it-meta"
OWN = "urn:virtuned.libvirt:tuning:1"
APP = "http://example.org/app/1"
APP_XML = "<app:owner xmlns:app='%s' team='db'/>" % APP
LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG


def recorded(dom, flags, uri=OWN):
    """What libvirt holds for the namespace (virDomainGetMetadata), or None."""
    try:
        return dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, uri, flags)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
            return None
        raise


def test_profile_recorded_live_and_persistently_on_a_running_guest(guests):
    dom = guests(NAME, xml=guest_xml(NAME, vcpus=1, extra="<metadata>%s</metadata>" % APP_XML))
    assert dom.isActive()
    plan = run_module("numa_plan", {"uri": QEMU_URI, "existing": [], "guests": [
        {"name": NAME, "profile": "dedicated", "vcpus": 1, "memory": "128M"}]})["plan"][0]
    assert (plan["fits"], plan["metadata"]) == (True, {"profile": "dedicated@1"})
    options = placement_options(plan)
    assert options["metadata"] == {"profile": "dedicated@1"}

    placed = run_module("domain_tuning", dict(options, uri=QEMU_URI, name=NAME))
    assert placed.get("failed") is None, placed.get("msg")
    assert "record profile dedicated@1 in the guest's metadata" in placed["live_changes"]
    assert "metadata.profile" not in placed.get("pending_restart", [])
    for flags in (LIVE, CONFIG):
        assert recorded(dom, flags) == "<tuning profile=\"dedicated@1\"/>"
        assert recorded(dom, flags, APP) == "<owner team=\"db\"/>"

    info = run_module("tuning_info", {"uri": QEMU_URI, "name": NAME})["guest"]
    assert info["areas"]["metadata"] == info["live_areas"]["metadata"] == {"profile": "dedicated@1"}
    assert info["profile"] == {"profile": "dedicated@1", "matches": True, "differences": []}
    assert [d for d in info["drift"] if d["area"] == "metadata"] == []
    # the guest_placements_info module reads it back for the next plan
    existing = run_module("guest_placements_info", {"uri": QEMU_URI})["existing"]
    assert [e.get("profile") for e in existing if e["name"] == NAME] == ["dedicated@1"]

    again = run_module("domain_tuning", dict(options, uri=QEMU_URI, name=NAME))
    assert (again["changed"], again["live_changes"]) == (False, [])

    # a fresh boot starts from the persistent definition: the record is there
    dom.destroy()
    dom.create()
    assert recorded(dom, LIVE) == "<tuning profile=\"dedicated@1\"/>"

    changed = run_module("metadata", {"uri": QEMU_URI, "name": NAME, "profile": "dedicated@1,realtime@1"})
    assert (changed["changed"], changed["live_changes"], changed["restart_required"]) == (
        True, ["record profile dedicated@1,realtime@1 in the guest's metadata"], False)
    for flags in (LIVE, CONFIG):
        assert recorded(dom, flags) == "<tuning profile=\"dedicated@1,realtime@1\"/>"

    deleted = run_module("metadata", {"uri": QEMU_URI, "name": NAME, "state": "deleted"})
    assert deleted["live_changes"] == ["remove the recorded profile from the guest's metadata"]
    for flags in (LIVE, CONFIG):
        assert recorded(dom, flags) is None
        assert recorded(dom, flags, APP) == "<owner team=\"db\"/>"
    assert run_module("tuning_info", {"uri": QEMU_URI, "name": NAME})["guest"]["profile"] is None


ROLE_GUEST = "vt-it-meta-role"
PLACE = "virtuned.libvirt.numa_pinning : Place the guests (one domain_tuning call for all of them)"


def test_the_numa_pinning_role_records_the_profile_of_a_running_guest(guests):
    """The role hands plan[].metadata to domain_tuning: the running guest records dedicated@1, a re-run keeps it."""
    dom = guests(ROLE_GUEST, xml=guest_xml(ROLE_GUEST, vcpus=1, extra="<metadata>%s</metadata>" % APP_XML))
    request = {"numa_pinning_guests": [{"name": ROLE_GUEST, "profile": "dedicated", "vcpus": 1, "memory": "128M"}]}
    rc, tasks, _stats = run_playbook("numa_pinning_guests.yml", request)
    assert rc == 0, tasks
    placed = tasks[PLACE]["guests"][ROLE_GUEST]
    # the role applies whole areas (placement_areas): the metadata area is one of them
    assert (placed["after"]["metadata"], placed["changed"]) == ({"profile": "dedicated@1"}, True)
    assert placed["after"]["metadata"] == {"profile": "dedicated@1"}
    for flags in (LIVE, CONFIG):
        assert recorded(dom, flags) == "<tuning profile=\"dedicated@1\"/>"
        assert recorded(dom, flags, APP) == "<owner team=\"db\"/>"
    rc, tasks, _stats = run_playbook("numa_pinning_guests.yml", request)
    assert rc == 0, tasks
    again = tasks[PLACE]["guests"][ROLE_GUEST]
    assert (again["after"]["metadata"], again["changed"]) == ({"profile": "dedicated@1"}, False)
