"""memtune on qemu:///system: soft and hard limits live on a booted guest, limits of a stopped guest."""

import libvirt

from conftest import run_module
from integration.conftest import run_playbook

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memtune import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

NAME = "vt-it-memtune"
STOPPED = "vt-it-memtune-off"
LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG
UNLIMITED = 9007199254740991


def persistent(dom):
    return AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))))


def limits(dom, flags):
    params = dom.memoryParameters(flags)
    return params["hard_limit"], params["soft_limit"], params["swap_hard_limit"]


def test_memtune_playbook_live_and_persistent(guests):
    dom = guests(NAME)
    stopped = guests(STOPPED, start=False)
    vars_ = {"guest": NAME, "stopped_guest": STOPPED}

    rc, tasks, stats = run_playbook("memtune.yml", vars_, check=True)
    assert rc == 0, tasks
    assert stats["changed"] == 2
    assert tasks["Lower the soft limit and set a hard limit live"]["live_changes"] == [
        "set memory parameters hard_limit=1048576 KiB, swap_hard_limit=unlimited",
        "set memory parameters soft_limit=98304 KiB"]
    assert limits(dom, LIVE) == (UNLIMITED, UNLIMITED, UNLIMITED)
    assert persistent(dom) == {} and persistent(stopped) == {}

    rc, tasks, stats = run_playbook("memtune.yml", vars_)
    assert rc == 0, tasks
    assert stats["changed"] == 2
    running = tasks["Lower the soft limit and set a hard limit live"]
    assert (running["restart_required"], running["diff"]["after"]) == (False, (
        '<memtune>\n  <hard_limit unit="KiB">1048576</hard_limit>\n'
        '  <soft_limit unit="KiB">98304</soft_limit>\n</memtune>\n'))
    assert limits(dom, LIVE) == (1048576, 98304, UNLIMITED)
    assert persistent(dom) == {"hard_limit": "1 GiB", "soft_limit": "96 MiB"}
    off = tasks["Cap the stopped guest with hard and swap limits"]
    assert (off["changed"], off["live_changes"], off["restart_required"]) == (True, [], False)
    assert limits(stopped, CONFIG) == (524288, 262144, 1048576)

    rc, tasks, stats = run_playbook("memtune.yml", vars_)
    assert rc == 0 and stats["changed"] == 0, tasks
    rc, tasks, stats = run_playbook("memtune.yml", vars_, check=True)
    assert rc == 0 and stats["changed"] == 0, tasks


def test_min_guarantee_is_refused_on_qemu(guests):
    guests(STOPPED + "-mg", start=False)
    result = run_module("memtune", {"uri": "qemu:///system", "name": STOPPED + "-mg", "min_guarantee": "64M"})
    assert result == {"failed": True, "msg": "min_guarantee: '64 MiB' is not valid: libvirt supports min_guarantee "
                                             "only for VMware ESX and OpenVZ guests, not on this QEMU/KVM connection"}


def test_drift_is_brought_back_live(guests):
    dom = guests(NAME + "-drift")
    run_module("memtune", {"uri": "qemu:///system", "name": NAME + "-drift", "soft_limit": "64M"})
    dom.setMemoryParameters({"soft_limit": 32768}, LIVE)  # someone changes the running guest only
    result = run_module("memtune", {"uri": "qemu:///system", "name": NAME + "-drift", "soft_limit": "64M"})
    assert (result["changed"], result["live_changes"]) == (True, ["set memory parameters soft_limit=65536 KiB"])
    assert limits(dom, LIVE)[1] == 65536
