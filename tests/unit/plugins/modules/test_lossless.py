"""Lossless on what libvirt writes (issue 9 item 7): for libvirt 9.0.0's own test definitions, ``gathered``
then ``replaced`` with what was gathered changes nothing and refuses nothing, in every area.

The definitions are libvirt's qemuxml2xmloutdata/genericxml2xmloutdata (tests/unit/fixtures/libvirt/README.md).
"""

import glob
import os

import pytest

from conftest import run_module

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "fixtures", "libvirt")
FILES = sorted(glob.glob(os.path.join(FIXTURES, "*.xml")))


def as_defined(xml):
    """The definition as virDomainDefineXML would hold it.

    libvirt's xml2xml tests parse without VIR_DOMAIN_DEF_PARSE_ABI_UPDATE; a define parses with it, and
    virDomainDefPostParseMemory (src/conf/domain_postparse.c) then makes <memory> the guest NUMA cells'
    memory plus every memory device, and a <currentMemory> above it equal to it. Only that is applied here.
    """
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain, to_document
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.guest_memory import (
        guest_cells, memory_device_total,
    )
    root = parse_domain(xml)
    cells = guest_cells(root)
    memory = root.find("memory")
    if cells and memory is not None:
        total = sum(cell["memory"] for cell in cells.values()) + memory_device_total(root)
        memory.text, memory.attrib["unit"] = str(total // 1024), "KiB"
        balloon = root.find("currentMemory")
        if balloon is not None and int(balloon.text) * (1024 if balloon.get("unit", "KiB") == "KiB" else 1) > total:
            balloon.text, balloon.attrib["unit"] = str(total // 1024), "KiB"
    return to_document(root)


def areas():
    from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
    return sorted(AREAS)


def test_the_fixture_set_is_there():
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(path) for path in FILES])
def test_gathered_then_replaced_changes_and_refuses_nothing(path):
    with open(path) as handle:
        xml = as_defined(handle.read())
    outcomes = {}
    for area in areas():
        gathered = run_module(area, {"xml": xml, "state": "gathered"})
        if gathered.get("failed"):
            outcomes[area] = "gathered refused: " + gathered["msg"]
            continue
        replaced = run_module(area, dict(gathered["gathered"], xml=xml, state="replaced"))
        if replaced.get("failed"):
            outcomes[area] = "replaced refused: " + replaced["msg"]
        elif replaced["changed"]:
            outcomes[area] = "replaced changed: %s" % replaced.get("diff")
    assert outcomes == {}
