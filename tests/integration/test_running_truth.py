"""Running KVM guests told truthfully (issue 9): what libvirt reports live, what QEMU here cannot do,
what the guest does not complete. Every case runs check mode, then real, then real again."""

import libvirt

from conftest import run_module
from integration.conftest import guest_xml

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
KEYS = ("changed", "live_changes", "restart_required", "pending_restart", "pending_reasons", "live_pending")


def tune(module, name, check=False, **options):
    result = run_module(module, dict(options, uri="qemu:///system", name=name), check=check)
    return {key: result[key] for key in KEYS + ("failed", "msg") if key in result}


def persistent(dom, area):
    return AREAS[area].to_options(AREAS[area].read(parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))))


def test_deleting_pins_and_quotas_on_a_running_guest_converges(guests):
    name = "vt-h1-unpin"
    tuned = ("<iothreads>2</iothreads><cputune><period>100000</period><quota>50000</quota><vcpupin vcpu='1' "
             "cpuset='1'/><emulatorpin cpuset='1'/><iothreadpin iothread='1' cpuset='1'/></cputune>")
    xml = guest_xml(name, vcpus=2).replace("<iothreads>2</iothreads>", tuned)
    dom = guests(name, xml=xml)
    options = {"state": "deleted", "quota": 50000, "vcpupin": [{"vcpu": 1, "cpuset": "1"}], "emulatorpin": "1",
               "iothreadpin": [{"iothread": 1, "cpuset": "1"}]}
    expected = {"changed": True, "restart_required": False, "live_changes": [
        "set vcpu_quota to -1", "pin vCPU 1 to all host CPUs", "pin the emulator to all host CPUs",
        "pin iothread 1 to all host CPUs"]}
    assert tune("cputune", name, check=True, **options) == expected
    assert tune("cputune", name, **options) == expected
    assert persistent(dom, "cputune") == {"period": 100000}
    assert dom.emulatorPinInfo(LIVE) == (True, True) and dom.vcpuPinInfo(LIVE)[1] == (True, True)
    # libvirt now reports quota -1 and pins to every host CPU: the same as none
    assert tune("cputune", name, **options) == {"changed": False, "live_changes": [], "restart_required": False}
    assert tune("cputune", name, check=True, **options) == {"changed": False, "live_changes": [],
                                                            "restart_required": False}


def test_vcpus_qemu_cannot_unplug_wait_for_the_boot_in_check_mode_and_real_run(guests):
    name = "vt-h1-unplug"
    dom = guests(name, vcpus=4, current=2)
    # below the boot count: vCPU 1 was plugged at boot
    below = {"changed": True, "live_changes": [], "restart_required": True, "pending_restart": ["vcpus.current"],
             "pending_reasons": {"vcpus.current": "vCPUs 1 were plugged at boot and cannot be unplugged from the "
                                                  "running guest"}}
    assert tune("vcpus", name, check=True, current=1) == below
    assert tune("vcpus", name, current=1) == below
    assert dom.vcpusFlags(LIVE) == 2
    assert tune("vcpus", name, current=1) == dict(below, changed=False)
    # plugged live, then asked out again: QEMU refuses to unplug kvm64 vCPUs, so it is not tried
    assert tune("vcpus", name, current=3)["live_changes"] == ["set the number of vCPUs to 3"]
    assert dom.vcpusFlags(LIVE) == 3
    unplug = {"changed": True, "live_changes": [], "restart_required": True, "pending_restart": ["vcpus.current"],
              "pending_reasons": {"vcpus.current": "QEMU cannot unplug vCPUs 2 of CPU model kvm64 from the running "
                                                   "guest"}}
    assert tune("vcpus", name, check=True, current=2) == unplug
    assert tune("vcpus", name, current=2) == unplug
    assert tune("vcpus", name, current=2) == dict(unplug, changed=False)
    assert dom.vcpusFlags(LIVE) == 3


def test_current_on_a_guest_with_a_vcpus_list_goes_live(guests):
    name = "vt-h1-vcpulist"
    listed = "".join("<vcpu id='%d' enabled='%s' hotpluggable='%s'/>" % (i, "yes" if i < 2 else "no",
                                                                         "no" if i < 2 else "yes") for i in range(4))
    xml = guest_xml(name, vcpus=4, current=2).replace("</vcpu>", "</vcpu><vcpus>%s</vcpus>" % listed)
    dom = guests(name, xml=xml)
    expected = {"changed": True, "live_changes": ["enable vCPUs 2", "enable vCPUs 3"], "restart_required": False}
    assert tune("vcpus", name, check=True, current=4) == expected
    assert tune("vcpus", name, current=4) == expected
    assert dom.vcpusFlags(LIVE) == 4
    assert tune("vcpus", name, current=4) == {"changed": False, "live_changes": [], "restart_required": False}


CELLS = "</model><numa><cell id='0' cpus='0-3' memory='128' unit='MiB'/></numa>"


def test_a_dimm_the_guest_does_not_release_is_live_pending_and_not_asked_again(guests):
    name = "vt-h1-dimm"
    xml = guest_xml(name).replace("</model>", CELLS).replace(
        "<memory unit='MiB'>", "<maxMemory slots='4' unit='GiB'>1</maxMemory><memory unit='MiB'>")
    dom = guests(name, xml=xml)
    plugged = tune("memory_devices", name, dimms=[{"size": "128M", "node": 0}])
    assert plugged == {"changed": True, "live_changes": ["attach a 128 MiB DIMM to node 0"], "restart_required": False}
    # a guest with no OS accepts the unplug request and keeps the DIMM
    text = "the 128 MiB DIMM of node 0 (slot 0)"
    check = tune("memory_devices", name, check=True, state="deleted", dimms=[{"size": "128M", "node": 0}])
    assert check == {"changed": True, "live_changes": ["detach " + text], "restart_required": False}
    first = tune("memory_devices", name, state="deleted", dimms=[{"size": "128M", "node": 0}])
    assert first == {"changed": True, "live_changes": ["detach " + text], "restart_required": False,
                     "live_pending": ["memory_devices.dimms"],
                     "pending_reasons": {"memory_devices.dimms": "the guest has not completed: detach " + text}}
    assert "dimms" not in persistent(dom, "memory_devices")
    again = tune("memory_devices", name, state="deleted", dimms=[{"size": "128M", "node": 0}])
    assert again == {"changed": False, "live_changes": [], "restart_required": False,
                     "live_pending": ["memory_devices.dimms"],
                     "pending_reasons": {"memory_devices.dimms": "the guest has not released " + text}}


def test_a_dimm_qemu_cannot_hot_plug_is_refused_in_check_mode_and_real_run_alike(guests):
    name = "vt-h1-dimm100k"
    xml = guest_xml(name).replace("</model>", CELLS).replace(
        "<memory unit='MiB'>", "<maxMemory slots='4' unit='GiB'>1</maxMemory><memory unit='MiB'>")
    dom = guests(name, xml=xml)
    before = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    refused = {"failed": True, "msg": (
        "dimms[0].size: '100 KiB' is not valid: QEMU needs DIMM sizes in multiples of 2 MiB on this architecture "
        "(libvirt rounds them up at boot and QEMU refuses them at hot-plug)")}
    for check in (True, False, False):
        result = run_module("memory_devices", {"uri": "qemu:///system", "name": name,
                                               "dimms": [{"size": "100K", "node": 0}]}, check=check)
        assert ({key: result.get(key) for key in refused}, result.get("changed", False)) == (refused, False)
    assert dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before


def test_a_refused_define_changes_nothing(guests):
    name = "vt-h1-refused"
    dom = guests(name, start=False)
    before = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    # libvirt (or a rule of the module that knows libvirt's) refuses maxphysaddr emulate without bits
    result = run_module("cpu_model", {"uri": "qemu:///system", "name": name, "maxphysaddr": {"mode": "emulate"}})
    assert (result["failed"], result.get("changed", False)) == (True, False)
    assert dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before


def test_a_balloon_target_the_guest_does_not_follow_is_live_pending(guests):
    name = "vt-h1-balloon"
    guests(name, memory_mib=256)
    check = tune("memory_devices", name, check=True, current_memory="192M")
    assert check == {"changed": True, "live_changes": ["set the balloon target to 196608 KiB"],
                     "restart_required": False}
    first = tune("memory_devices", name, current_memory="192M")
    # a guest sitting in its firmware has no balloon driver: it keeps its memory
    assert first == dict(check, live_pending=["memory_devices.current_memory"], pending_reasons={
        "memory_devices.current_memory": "the guest has not completed: set the balloon target to 196608 KiB"})
    again = tune("memory_devices", name, current_memory="192M")
    assert again == {"changed": False, "live_changes": [], "restart_required": False,
                     "live_pending": ["memory_devices.current_memory"], "pending_reasons": {
                         "memory_devices.current_memory": "the guest has not followed the balloon target of 196608 "
                                                          "KiB asked of it before"}}
