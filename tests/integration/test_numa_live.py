"""numa on qemu:///system: the nodeset moves live; guest cells and memnodes wait for the next boot."""

import libvirt

from conftest import run_module
from integration.conftest import run_playbook

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.numa import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

NAME = "vt-it-numa"
LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
CELLS = [{"id": 0, "cpus": "0-1", "memory": "64 MiB"}, {"id": 1, "cpus": "2-3", "memory": "64 MiB"}]


def persistent(dom):
    return AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))))


def live(dom):
    return AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(0))))


def test_numa_playbook_live_and_persistent(guests):
    dom = guests(NAME)
    rc, tasks, stats = run_playbook("numa.yml", {"guest": NAME}, check=True)
    assert rc == 0 and stats["changed"] == 2, tasks
    assert tasks["Place the guest's memory on host node 0"]["live_changes"] == ["set the NUMA nodeset to 0"]
    assert persistent(dom) == {} and live(dom) == {}

    rc, tasks, stats = run_playbook("numa.yml", {"guest": NAME})
    assert rc == 0 and stats["changed"] == 2, tasks
    placed = tasks["Place the guest's memory on host node 0"]
    assert (placed["live_changes"], placed["restart_required"]) == (["set the NUMA nodeset to 0"], False)
    assert placed["diff"]["after"] == '<numatune>\n  <memory mode="strict" nodeset="0"/>\n</numatune>\n'
    cells = tasks["Give the guest two NUMA cells"]
    assert (cells["live_changes"], cells["restart_required"]) == ([], True)
    assert cells["pending_restart"] == ["numa.numatune (memnodes of a running guest cannot change)", "numa.cells"]
    params = dom.numaParameters(LIVE)
    assert (params["numa_mode"], params["numa_nodeset"]) == (libvirt.VIR_DOMAIN_NUMATUNE_MEM_STRICT, "0")
    expected = {"numatune": {"memory": {"mode": "strict", "nodeset": "0"},
                             "memnodes": [{"cellid": 0, "mode": "strict", "nodeset": "0"},
                                          {"cellid": 1, "mode": "strict", "nodeset": "0"}]},
                "cells": CELLS}
    assert persistent(dom) == expected
    assert live(dom) == {"numatune": {"memory": {"mode": "strict", "nodeset": "0"}}}

    rc, tasks, stats = run_playbook("numa.yml", {"guest": NAME})
    assert rc == 0 and stats["changed"] == 0, tasks
    assert tasks["Give the guest two NUMA cells"]["restart_required"] is True
    rc, tasks, stats = run_playbook("numa.yml", {"guest": NAME}, check=True)
    assert rc == 0 and stats["changed"] == 0, tasks

    # the guest boots with its cells, and then nothing is pending
    dom.destroy()
    dom.create()
    assert live(dom) == expected
    rc, tasks, stats = run_playbook("numa.yml", {"guest": NAME})
    assert rc == 0 and stats["changed"] == 0, tasks
    assert tasks["Give the guest two NUMA cells"]["restart_required"] is False


def test_host_nodes_are_checked_when_connected(guests):
    guests(NAME + "-nodes", start=False)
    result = run_module("numa", {"uri": "qemu:///system", "name": NAME + "-nodes",
                                 "numatune": {"memory": {"nodeset": "0-1"}}})
    assert result["failed"] is True
    assert result["msg"] == ("numatune.memory.nodeset: '0-1' names host NUMA nodes 1 that this host does not have "
                             "(host nodes: 0)")
