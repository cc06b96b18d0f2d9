"""memory_backing on qemu:///system: a guest backed by 2 MiB hugepages boots once the test reserves them."""

import contextlib

import libvirt
import pytest

from conftest import run_module
from integration.conftest import run_playbook

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memory_backing import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

NAME = "vt-it-memory_backing"
NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
GUEST_PAGES = 64  # 128 MiB of 2 MiB pages


def read_pages():
    with open(NR_HUGEPAGES) as handle:
        return int(handle.read())


def write_pages(count):
    with open(NR_HUGEPAGES, "w") as handle:
        handle.write("%d\n" % count)


@pytest.fixture
def hugepages():
    """Reserve 2 MiB pages for one guest; give them back afterwards (only what this test added)."""
    before = read_pages()
    write_pages(before + GUEST_PAGES)
    if read_pages() < before + GUEST_PAGES:
        write_pages(before)
        pytest.fail("the kernel reserved only %d of %d 2 MiB pages" % (read_pages() - before, GUEST_PAGES))
    yield GUEST_PAGES
    now = read_pages()
    with contextlib.suppress(OSError):
        write_pages(before if now == before + GUEST_PAGES else max(now - GUEST_PAGES, 0))


def free_2m(conn):
    return sum(sizes.get(2048, 0) for sizes in conn.getFreePages([2048], 0, 1, 0).values())


def persistent(dom):
    return AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))))


def test_guest_on_2m_hugepages_boots(qemu, hugepages, guests):
    dom = guests(NAME, start=False)
    rc, tasks, stats = run_playbook("memory_backing.yml", {"guest": NAME}, check=True)
    assert rc == 0 and stats["changed"] == 1, tasks
    assert persistent(dom) == {}

    rc, tasks, stats = run_playbook("memory_backing.yml", {"guest": NAME})
    assert rc == 0 and stats["changed"] == 1, tasks
    task = tasks["Back the guest with 2 MiB hugepages and keep KSM away"]
    assert (task["live_changes"], task["restart_required"]) == ([], False)
    assert task["diff"]["after"] == (
        '<memoryBacking>\n  <hugepages>\n    <page size="2048" unit="KiB"/>\n  </hugepages>\n  <nosharepages/>\n'
        '  <allocation mode="immediate"/>\n</memoryBacking>\n')
    expected = {"hugepages": [{"size": "2 MiB"}], "nosharepages": True, "allocation": {"mode": "immediate"}}
    assert persistent(dom) == expected

    free_before = free_2m(qemu)
    assert free_before >= GUEST_PAGES
    dom.create()
    assert dom.isActive()
    assert free_before - free_2m(qemu) == GUEST_PAGES  # the guest's memory is on 2 MiB pages
    live = AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(0))))
    assert live == expected

    rc, tasks, stats = run_playbook("memory_backing.yml", {"guest": NAME})
    assert rc == 0 and stats["changed"] == 0, tasks
    assert tasks["Back the guest with 2 MiB hugepages and keep KSM away"]["restart_required"] is False
    # regression: the running guest holds its 64 pages, so it is not warned that the host has too few free
    assert tasks["Back the guest with 2 MiB hugepages and keep KSM away"].get("warnings", []) == []
    rc, tasks, stats = run_playbook("memory_backing.yml", {"guest": NAME}, check=True)
    assert rc == 0 and stats["changed"] == 0, tasks

    # a running guest keeps its backing until it restarts
    result = run_module("memory_backing", {"uri": "qemu:///system", "name": NAME, "nosharepages": False})
    assert (result["changed"], result["live_changes"], result["restart_required"], result["pending_restart"]) == \
        (True, [], True, ["memory_backing.nosharepages"])


def test_host_without_a_pool_of_that_size_is_refused(guests):
    guests(NAME + "-64m", start=False)
    result = run_module("memory_backing", {"uri": "qemu:///system", "name": NAME + "-64m",
                                           "hugepages": [{"size": "64M"}]})
    assert result["failed"] is True
    assert result["msg"] == ("hugepages[0].size: '64 MiB' is not valid: this host has no pool of 64 MiB pages "
                             "(its page sizes: 4 KiB, 2 MiB, 1 GiB)")
