"""numa_pinning's guest side on qemu:///system: plan two guests, reserve their 2 MiB pages, pin them, boot them.

The host side is switched off (no CPUs isolated, bootloader none, no persisted pools), so nothing on this host
changes but the guests and the run-time 2 MiB pool, which the test gives back. This host has one node and
CPUs 0-1: CPU 0 is kept for housekeeping, so the dedicated guest takes CPU 1 and the shared one floats on CPU 0.
"""

import contextlib
import os

import libvirt
import pytest

from integration.conftest import guest_xml, run_playbook

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

PLAYBOOK = "numa_pinning_guests.yml"
DEDICATED = "vt-it-np-a"
SHARED = "vt-it-np-b"
POOL = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"
GUEST_PAGES = 64  # 128 MiB on 2 MiB pages
REQUESTS = {
    DEDICATED: {"name": DEDICATED, "vcpus": 1, "memory": "128M", "cpu_policy": "dedicated", "page_size": "2M"},
    SHARED: {"name": SHARED, "vcpus": 1, "memory": "128M", "page_size": "2M"},
}
PLACE = "virtuned.libvirt.numa_pinning : Place the guests (one domain_tuning call for all of them)"
SHOW = "Show the placement"
CELL = {"cells": [{"id": 0, "cpus": "0", "memory": "128 MiB"}],
        "numatune": {"memory": {"mode": "strict", "nodeset": "0"},
                     "memnodes": [{"cellid": 0, "mode": "strict", "nodeset": "0"}]}}


def expected_plan(name, cpu):
    return {
        "name": name, "fits": True, "reason": "", "host_nodes": [0],
        "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": cpu}], "emulatorpin": cpu},
        "numa": CELL,
        "memory_backing": {"hugepages": [{"size": "2 MiB", "nodeset": "0"}]},
        "vcpus": {"maximum": 1, "placement": "static"},
        "cpu_model": {"topology": {"sockets": 1, "dies": 1, "cores": 1, "threads": 1}},
    }


def expected_tuning(cpu):
    return {
        "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": cpu}], "emulatorpin": cpu},
        "numa": CELL,
        "memory_backing": {"hugepages": [{"size": "2 MiB", "nodeset": "0"}]},
        "vcpus": {"maximum": 1, "placement": "static"},
        "topology": {"sockets": 1, "dies": 1, "cores": 1, "threads": 1},
    }


def tuning(xml):
    root = parse_domain(xml)
    shown = {name: AREAS[name].to_options(AREAS[name].read(root)) for name in ("cputune", "numa", "memory_backing", "vcpus")}
    shown["topology"] = AREAS["cpu_model"].to_options(AREAS["cpu_model"].read(root)).get("topology")
    return shown


def read_pool():
    with open(POOL) as handle:
        return int(handle.read())


@pytest.fixture
def pool_restored():
    """Give back the 2 MiB pages the role reserves (only what this test added; other tests share the pool)."""
    before = read_pool()
    yield before
    # the role sizes the pool to what the guests need (it grows it, or gives back free pages): back to where it was
    with contextlib.suppress(OSError):
        if read_pool() != before:
            with open(POOL, "w") as handle:
                handle.write("%d\n" % before)


def play(guests, check=False):
    rc, tasks, stats = run_playbook(PLAYBOOK, {"numa_pinning_guests": [REQUESTS[g] for g in guests]}, check=check)
    assert rc == 0, tasks
    return tasks, stats


def placed(tasks):
    return {name: result["changed"] for name, result in tasks[PLACE]["guests"].items()}


@pytest.mark.skipif(not os.path.exists(POOL), reason="no 2 MiB pool on node 0")
def test_plan_reserve_pin_boot_and_rerun(qemu, pool_restored, guests):
    for name in (DEDICATED, SHARED):
        guests(name, start=False, xml=guest_xml(name, vcpus=1).replace("<iothreads>2</iothreads>", ""))

    # one guest: planned on CPU 1 (CPU 0 is housekeeping), its pages reserved, pinned
    tasks, stats = play([DEDICATED])
    assert tasks[SHOW]["msg"]["plan"] == [expected_plan(DEDICATED, "1")]
    assert tasks[SHOW]["msg"]["host_requirements"] == {
        "hugepages": [{"node": 0, "size": "2 MiB", "count": GUEST_PAGES}], "isolated_cpus": "1"}
    assert placed(tasks) == {DEDICATED: True}
    assert read_pool() >= GUEST_PAGES

    # adding a guest keeps the first where it is: its call changes nothing
    tasks, stats = play([DEDICATED, SHARED])
    assert tasks[SHOW]["msg"]["plan"] == [expected_plan(DEDICATED, "1"), expected_plan(SHARED, "0")]
    assert tasks[SHOW]["msg"]["host_requirements"]["hugepages"] == [{"node": 0, "size": "2 MiB", "count": 2 * GUEST_PAGES}]
    assert placed(tasks) == {DEDICATED: False, SHARED: True}
    assert tasks[SHOW]["msg"]["restart_required"] == []
    assert read_pool() >= 2 * GUEST_PAGES

    # libvirt holds exactly the plan; both guests boot on their pages
    for name, cpu in ((DEDICATED, "1"), (SHARED, "0")):
        dom = qemu.lookupByName(name)
        assert tuning(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)) == expected_tuning(cpu)
        dom.create()
        assert dom.isActive()
        assert tuning(dom.XMLDesc(0)) == expected_tuning(cpu)
        assert dom.vcpuPinInfo(0)[0][:2] == ((False, True) if cpu == "1" else (True, False))

    # running guests holding their pages: the same plan, nothing to change, in a real run and in check mode
    for check in (False, True):
        tasks, stats = play([DEDICATED, SHARED], check=check)
        assert stats["changed"] == 0, tasks
        assert tasks[SHOW]["msg"]["plan"] == [expected_plan(DEDICATED, "1"), expected_plan(SHARED, "0")]
        assert placed(tasks) == {DEDICATED: False, SHARED: False}
