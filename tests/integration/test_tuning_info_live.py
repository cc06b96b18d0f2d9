"""tuning_info on qemu:///system through ansible-playbook: areas, runtime values and drift of a running guest."""

import libvirt

from conftest import run_module
from integration.conftest import run_playbook

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS

NAME = "vt-it-tuning_info"
STOPPED = "vt-it-tuning_info-off"
LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE


def test_report_of_a_running_and_a_stopped_guest(guests):
    dom = guests(NAME, current=2)
    guests(STOPPED, start=False)
    for module, args in (("memtune", {"soft_limit": "96M"}), ("cputune", {"emulatorpin": "1", "vcpupin": [
            {"vcpu": 0, "cpuset": 0}]}), ("numa", {"numatune": {"memory": {"nodeset": "0"}}})):
        assert run_module(module, dict(args, uri="qemu:///system", name=NAME))["changed"] is True
    dom.setMemoryParameters({"soft_limit": 65536}, LIVE)  # changed behind the definition's back
    dom.pinEmulator((True, True), LIVE)

    vars_ = {"guest": NAME, "stopped_guest": STOPPED}
    for check in (False, True):
        rc, tasks, stats = run_playbook("tuning_info.yml", vars_, check=check)
        assert rc == 0 and stats["changed"] == 0, tasks
    one = tasks["Report one guest"]
    guest = one["guest"]
    assert one["guests"] == [guest]
    assert (guest["name"], guest["state"], guest["running"], guest["persistent"]) == (NAME, "running", True, True)
    assert sorted(guest["areas"]) == sorted(AREAS)
    for area in ("memtune", "cputune", "numa", "memory_devices", "memory_backing"):
        gathered = run_module(area, {"uri": "qemu:///system", "name": NAME, "state": "gathered"})["gathered"]
        assert guest["areas"][area] == gathered, area
    assert guest["areas"]["memtune"] == {"soft_limit": "96 MiB"}
    assert guest["live_areas"]["memtune"] == {"soft_limit": "64 MiB"}

    runtime = guest["runtime"]
    assert runtime["vcpu_counts"] == {"maximum": 4, "current": 2, "live_maximum": 4, "live_current": 2}
    assert runtime["vcpu_affinity"] == [{"vcpu": 0, "cpuset": "0"}, {"vcpu": 1, "cpuset": "0-1"}]
    assert runtime["emulator_affinity"] == "0-1"
    assert runtime["iothread_affinity"] == [{"iothread": 1, "cpuset": "0-1"}, {"iothread": 2, "cpuset": "0-1"}]
    assert runtime["memory_parameters"] == {"hard_limit": "unlimited", "soft_limit": "64 MiB",
                                            "swap_hard_limit": "unlimited"}
    assert runtime["numa_parameters"] == {"mode": "strict", "nodeset": "0"}
    assert runtime["scheduler"]["type"] == "posix"
    assert runtime["scheduler"]["parameters"]["vcpu_quota"] == -1
    assert "unavailable" not in guest

    # QEMU's expansion of the CPU model at start is not drift: cpu_model's live handler tells them apart
    assert guest["drift"] == [
        {"area": "cputune", "option": "emulatorpin", "persistent": "1", "live": "0-1"},
        {"area": "memtune", "option": "soft_limit", "persistent": "96 MiB", "live": "64 MiB"},
    ]

    several = tasks["Report several guests"]
    assert "guest" not in several
    assert [g["name"] for g in several["guests"]] == [NAME, STOPPED]
    off = several["guests"][1]
    assert (off["state"], off["running"], off["runtime"], off["drift"]) == ("shut off", False, {}, [])
