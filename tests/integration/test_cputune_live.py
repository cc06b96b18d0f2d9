"""cputune on a booted KVM guest: live pins and scheduler values, idempotence, check mode, diff."""

import libvirt

from integration.conftest import run_playbook

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.cputune import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

NAME = "vt-it-cputune"
LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE


def persistent(dom):
    return AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))))


def live(dom):
    return AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(0))))


def test_cputune_playbook_live_and_persistent(guests):
    dom = guests(NAME, vcpus=2)
    untouched = persistent(dom)

    rc, tasks, stats = run_playbook("cputune.yml", {"guest": NAME}, check=True)
    assert rc == 0, tasks
    pin = tasks["Pin vCPUs and the emulator"]
    assert pin["changed"] is True
    assert pin["live_changes"] == ["set cpu_shares to 2048", "set vcpu_period to 100000", "set vcpu_quota to 50000",
                                   "pin vCPU 0 to 1", "pin vCPU 1 to 0", "pin the emulator to 0-1"]
    assert persistent(dom) == untouched
    assert dom.vcpuPinInfo(LIVE) == [(True, True), (True, True)]

    rc, tasks, stats = run_playbook("cputune.yml", {"guest": NAME})
    assert rc == 0, tasks
    assert stats["changed"] == 2
    pin = tasks["Pin vCPUs and the emulator"]
    assert pin["diff"]["after"] == (
        "<cputune>\n  <shares>2048</shares>\n  <period>100000</period>\n  <quota>50000</quota>\n"
        "  <vcpupin vcpu=\"0\" cpuset=\"1\"/>\n  <vcpupin vcpu=\"1\" cpuset=\"0\"/>\n"
        "  <emulatorpin cpuset=\"0-1\"/>\n</cputune>\n")
    sched = tasks["Set a batch scheduler (waits for the next boot)"]
    assert (sched["changed"], sched["restart_required"], sched["pending_restart"], sched["live_changes"]) == \
        (True, True, ["cputune.vcpusched"], [])

    # what libvirt reports for the running guest, through the API
    assert dom.vcpuPinInfo(LIVE) == [(False, True), (True, False)]
    assert dom.emulatorPinInfo(LIVE) == (True, True)
    params = dom.schedulerParametersFlags(LIVE)
    assert (params["cpu_shares"], params["vcpu_period"], params["vcpu_quota"]) == (2048, 100000, 50000)
    expected = {"shares": 2048, "period": 100000, "quota": 50000,
                "vcpupin": [{"vcpu": 0, "cpuset": "1"}, {"vcpu": 1, "cpuset": "0"}], "emulatorpin": "0-1"}
    assert live(dom) == expected
    assert persistent(dom) == dict(expected, vcpusched=[{"vcpus": "1", "scheduler": "batch"}])

    rc, tasks, stats = run_playbook("cputune.yml", {"guest": NAME})
    assert rc == 0 and stats["changed"] == 0
    assert tasks["Set a batch scheduler (waits for the next boot)"]["restart_required"] is True

    rc, tasks, stats = run_playbook("cputune.yml", {"guest": NAME}, check=True)
    assert rc == 0 and stats["changed"] == 0

    # after a restart the scheduler is in effect and nothing is pending
    dom.destroy()
    dom.create()
    rc, tasks, stats = run_playbook("cputune.yml", {"guest": NAME})
    assert rc == 0 and stats["changed"] == 0
    assert tasks["Set a batch scheduler (waits for the next boot)"]["restart_required"] is False
    assert live(dom)["vcpusched"] == [{"vcpus": "1", "scheduler": "batch"}]


def test_live_false_updates_only_the_definition(guests):
    from conftest import run_module
    dom = guests(NAME + "-cfg", vcpus=2)
    result = run_module("cputune", {"uri": "qemu:///system", "name": NAME + "-cfg", "emulatorpin": "1", "live": False})
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (True, [], True)
    assert result["pending_restart"] == ["pin the emulator to 1"]
    assert dom.emulatorPinInfo(LIVE) == (True, True)
    assert persistent(dom) == {"emulatorpin": "1"}


def test_host_cpus_are_checked_when_connected(guests):
    from conftest import run_module
    guests(NAME + "-cpus", vcpus=2, start=False)
    result = run_module("cputune", {"uri": "qemu:///system", "name": NAME + "-cpus", "emulatorpin": "0-63"})
    assert result == {"failed": True, "msg": "emulatorpin: '0-63' names CPUs 2-63 that this host does not have "
                                             "(host CPUs: 0-1)"}
