"""domain_tuning guests on real guests: one call converges running and stopped guests, live and persistent,
a missing guest fails alone, check mode and diff per guest, and restart puts what waits for the boot in force."""

import libvirt

from integration.conftest import run_playbook

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

PINNED, GROWN, STOPPED = "vt-h9-pinned", "vt-h9-grown", "vt-h9-stopped"
LIVE, CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG
MAXIMUM = libvirt.VIR_DOMAIN_VCPU_MAXIMUM
PIN = {"vcpupin": [{"vcpu": 0, "cpuset": "1"}, {"vcpu": 1, "cpuset": "0"}], "emulatorpin": "0"}


def cputune(dom, flags=0):
    return AREAS["cputune"].to_options(AREAS["cputune"].read(parse_domain(dom.XMLDesc(flags))))


def host_guests(grow=3, restart=False, absent=True):
    entries = [{"name": PINNED, "cputune": PIN},
               {"name": GROWN, "restart": restart, "vcpus": {"maximum": grow}},
               {"name": STOPPED, "memtune": {"soft_limit": "96M"}}]
    if absent:
        entries.insert(1, {"name": "vt-h9-absent", "cputune": PIN})
    return entries


def test_guests_in_one_call_live_and_persistent_with_a_failing_guest(guests):
    pinned, grown, stopped = guests(PINNED, vcpus=2), guests(GROWN, vcpus=2), guests(STOPPED, vcpus=2, start=False)

    rc, tasks, _stats = run_playbook("domain_tuning_guests.yml", {"tuning_guests": host_guests()}, check=True)
    task = tasks["Converge the guests"]
    absent = ("name: no domain 'vt-h9-absent' on qemu:///system: Domain not found: no domain with matching name "
              "'vt-h9-absent'")
    assert (task["failed"], task["msg"]) == (True, "1 of 4 guests failed: vt-h9-absent: " + absent)
    assert task["guests"]["vt-h9-absent"] == {"changed": False, "restarted": False, "failed": True, "msg": absent}
    assert task["guests"][PINNED]["live_changes"] == ["pin vCPU 0 to 1", "pin vCPU 1 to 0", "pin the emulator to 0"]
    assert [d["before_header"] for d in task["diff"]] == [
        PINNED + ": cputune (persistent)", GROWN + ": vcpus (persistent)", STOPPED + ": memtune (persistent)"]
    assert cputune(pinned) == {} and cputune(pinned, libvirt.VIR_DOMAIN_XML_INACTIVE) == {}
    assert grown.vcpusFlags(CONFIG | MAXIMUM) == 2

    rc, tasks, stats = run_playbook("domain_tuning_guests.yml", {"tuning_guests": host_guests()})
    task = tasks["Converge the guests"]
    assert (task["changed"], task["failed"], task["msg"]) == (True, True, "1 of 4 guests failed: vt-h9-absent: " + absent)
    assert task["guests"][PINNED] == {
        "changed": True, "live_changes": ["pin vCPU 0 to 1", "pin vCPU 1 to 0", "pin the emulator to 0"],
        "restart_required": False, "restarted": False, "before": {"cputune": {}}, "after": {"cputune": PIN},
        "diff": task["guests"][PINNED]["diff"]}
    entry = task["guests"][GROWN]
    assert (entry["changed"], entry["restart_required"], entry["pending_restart"], entry["live_changes"]) == (
        True, True, ["vcpus.maximum"], [])
    assert task["guests"][STOPPED]["after"] == {"memtune": {"soft_limit": "96 MiB"}}
    assert cputune(pinned) == PIN and cputune(pinned, libvirt.VIR_DOMAIN_XML_INACTIVE) == PIN
    assert pinned.vcpuPinInfo(LIVE) == [(False, True), (True, False)]
    assert (grown.vcpusFlags(CONFIG | MAXIMUM), grown.vcpusFlags(LIVE | MAXIMUM)) == (3, 2)
    assert stopped.memoryParameters(CONFIG)["soft_limit"] == 96 * 1024

    rc, tasks, stats = run_playbook("domain_tuning_guests.yml", {"tuning_guests": host_guests(absent=False)})
    task = tasks["Converge the guests"]
    assert (rc, task["changed"], stats["changed"]) == (0, False, 0)
    assert task["guests"][GROWN]["pending_restart"] == ["vcpus.maximum"]


def test_restart_force_puts_the_waiting_change_in_force_and_true_never_powers_off(guests):
    # the older spellings of guests[].restart: true is if_needed, force is if_needed with force_off
    guests(PINNED, vcpus=2)
    grown = guests(GROWN, vcpus=2)
    guests(STOPPED, vcpus=2, start=False)

    # a guest with no OS ignores the ACPI request: restart true waits, fails the entry and leaves it running
    rc, tasks, _stats = run_playbook("domain_tuning_guests.yml", {
        "tuning_guests": host_guests(restart=True, absent=False), "tuning_restart_timeout": 2}, diff=False)
    task = tasks["Converge the guests"]
    message = ("restart: %s did not shut down within 2 s of an ACPI shutdown request (a guest needs an OS "
               "that handles it); it runs on with the settings of its last boot; the persistent definition is "
               "updated; vcpus.maximum waits for its next boot; force_off: true powers it off after shutdown_timeout"
               % GROWN)
    assert task["msg"] == "1 of 3 guests failed: %s: %s" % (GROWN, message)
    entry = task["guests"][GROWN]
    assert (entry["failed"], entry["restarted"], entry["pending_restart"]) == (True, False, ["vcpus.maximum"])
    assert (task["guests"][PINNED]["changed"], task["guests"][PINNED]["restarted"]) == (True, False)
    assert grown.isActive() == 1
    assert (grown.vcpusFlags(CONFIG | MAXIMUM), grown.vcpusFlags(LIVE | MAXIMUM)) == (3, 2)

    rc, tasks, _stats = run_playbook("domain_tuning_guests.yml", {
        "tuning_guests": host_guests(restart="force", absent=False), "tuning_restart_timeout": 2}, diff=False)
    task = tasks["Converge the guests"]
    assert rc == 0 and task["changed"] is True
    assert task["guests"][GROWN] == {
        "changed": True, "live_changes": [], "restart_required": False, "restarted": True,
        "in_force": ["vcpus.maximum"], "before": {"vcpus": {"maximum": 3, "placement": "static"}},
        "after": {"vcpus": {"maximum": 3, "placement": "static"}}}
    assert grown.isActive() == 1
    assert (grown.vcpusFlags(CONFIG | MAXIMUM), grown.vcpusFlags(LIVE | MAXIMUM)) == (3, 3)

    rc, tasks, stats = run_playbook("domain_tuning_guests.yml", {
        "tuning_guests": host_guests(restart="force", absent=False), "tuning_restart_timeout": 2}, diff=False)
    assert (rc, stats["changed"], tasks["Converge the guests"]["guests"][GROWN]["restart_required"]) == (0, 0, False)
