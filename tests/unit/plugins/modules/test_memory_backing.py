"""memory_backing module: offline (xml), refusals, round trips, host pools (test driver)."""

import pytest

from conftest import fixture_text, run_module
from test_memtune import area_warnings

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.memory_backing import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import AreaView, DomainContext
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain, parse_xml

BASE = fixture_text("guest-minimal.xml").replace("<name>vt-probe</name>", "<name>vt-backing</name>")
# two guest NUMA cells: 64 MiB on vCPUs 0-1, 1 GiB on vCPUs 2-3 (memory 1088 MiB)
CELLS = BASE.replace("<memory unit='MiB'>128</memory>", "<memory unit='MiB'>1088</memory>").replace(
    "</model>", "</model><numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/>"
                "<cell id='1' cpus='2-3' memory='1' unit='GiB'/></numa>")


def refused(args, xml=BASE):
    result = run_module("memory_backing", dict(args, xml=xml))
    assert result["failed"] is True
    return result["msg"]


def test_offline_hugepages_and_flags_canonical_xml():
    result = run_module("memory_backing", {"xml": BASE, "hugepages": [{"size": "2M"}], "nosharepages": True,
                                           "allocation": {"mode": "immediate", "threads": 2}, "access": "private",
                                           "source": "memfd", "discard": False})
    assert result["changed"] is True
    assert result["after"] == {"hugepages": [{"size": "2 MiB"}], "nosharepages": True, "source": "memfd",
                               "access": "private", "allocation": {"mode": "immediate", "threads": 2}}
    assert result["diff"]["after"] == (
        '<memoryBacking>\n  <hugepages>\n    <page size="2048" unit="KiB"/>\n  </hugepages>\n  <nosharepages/>\n'
        '  <source type="memfd"/>\n  <access mode="private"/>\n  <allocation mode="immediate" threads="2"/>\n'
        '</memoryBacking>\n')
    assert (result["live_changes"], result["restart_required"]) == ([], False)
    again = run_module("memory_backing", {"xml": result["xml"], "hugepages": [{"size": 2048}], "source": "memfd"})
    assert (again["changed"], again["xml"]) == (False, result["xml"])


def test_empty_hugepages_list_means_the_host_default_size():
    result = run_module("memory_backing", {"xml": BASE, "hugepages": []})
    assert result["diff"]["after"] == "<memoryBacking>\n  <hugepages/>\n</memoryBacking>\n"
    gathered = run_module("memory_backing", {"xml": result["xml"], "state": "gathered"})["gathered"]
    assert gathered == {"hugepages": []}
    assert run_module("memory_backing", dict(gathered, xml=result["xml"], state="replaced"))["changed"] is False
    sized = run_module("memory_backing", {"xml": result["xml"], "hugepages": [{"size": "2M"}]})
    assert sized["diff"]["after"] == (
        '<memoryBacking>\n  <hugepages>\n    <page size="2048" unit="KiB"/>\n  </hugepages>\n</memoryBacking>\n')
    back = run_module("memory_backing", {"xml": sized["xml"], "hugepages": []})
    assert back["diff"]["after"] == "<memoryBacking>\n  <hugepages/>\n</memoryBacking>\n"


def test_per_cell_page_sizes_and_round_trip():
    result = run_module("memory_backing", {"xml": CELLS, "hugepages": [{"size": "1G", "nodeset": [1]},
                                                                       {"size": "2 MiB"}], "locked": True})
    assert result["after"] == {"hugepages": [{"size": "1 GiB", "nodeset": "1"}, {"size": "2 MiB"}], "locked": True}
    assert result["diff"]["after"] == (
        '<memoryBacking>\n  <hugepages>\n    <page size="1048576" unit="KiB" nodeset="1"/>\n'
        '    <page size="2048" unit="KiB"/>\n  </hugepages>\n  <locked/>\n</memoryBacking>\n')
    gathered = run_module("memory_backing", {"xml": result["xml"], "state": "gathered"})
    again = run_module("memory_backing", dict(gathered["gathered"], xml=result["xml"], state="replaced"))
    assert (again["changed"], again["xml"]) == (False, result["xml"])


def test_deleted_removes_page_sizes_then_hugepages():
    tuned = run_module("memory_backing", {"xml": CELLS, "hugepages": [{"size": "1G", "nodeset": 1}, {"size": "2M"}],
                                          "nosharepages": True})["xml"]
    one = run_module("memory_backing", {"xml": tuned, "state": "deleted", "hugepages": [{"size": "2M"}]})
    assert one["after"] == {"hugepages": [{"size": "1 GiB", "nodeset": "1"}], "nosharepages": True}
    none = run_module("memory_backing", {"xml": tuned, "state": "deleted", "hugepages": []})
    assert none["after"] == {"nosharepages": True}
    assert none["diff"]["after"] == "<memoryBacking>\n  <nosharepages/>\n</memoryBacking>\n"
    everything = run_module("memory_backing", {"xml": tuned, "state": "deleted"})
    assert (everything["after"], everything["diff"]["after"]) == ({}, "")


def test_check_mode_reports_the_same_change():
    args = {"xml": BASE, "hugepages": [{"size": "2M"}]}
    checked, real = run_module("memory_backing", args, check=True), run_module("memory_backing", args)
    assert checked["changed"] is real["changed"] is True
    assert checked["diff"] == real["diff"]


@pytest.mark.parametrize("args, xml, message", [
    ({"hugepages": [{"size": "3M"}]}, BASE,
     "hugepages[0].size: '3 MiB' is not valid: a page size is a power of two of at least 4 KiB"),
    ({"hugepages": [{"size": "2k"}]}, BASE,
     "hugepages[0].size: '2 KiB' is not valid: a page size is a power of two of at least 4 KiB"),
    ({"hugepages": [{"size": "-2M"}]}, BASE, "hugepages[0].size: '-2M' is not valid: sizes cannot be negative"),
    ({"hugepages": [{"size": "1G"}]}, BASE,
     "hugepages[0].size: '1 GiB' is not valid: the guest's memory (128 MiB) is not a multiple of it"),
    ({"hugepages": [{"size": "1G"}]}, CELLS,
     "hugepages[0].size: '1 GiB' is not valid: guest NUMA cell 0's memory (64 MiB) is not a multiple of it"),
    ({"hugepages": [{"size": "2M", "nodeset": "1-2"}]}, CELLS,
     "hugepages[0].nodeset: '1-2' names guest NUMA cells 2, but the guest has cells 0-1"),
    ({"hugepages": [{"size": "2M", "nodeset": 0}]}, BASE,
     "hugepages[0].nodeset: '0' names guest NUMA cells 0, but the guest has no NUMA cells (see the numa module)"),
    ({"hugepages": [{"nodeset": 0}]}, BASE, "missing required arguments: size found in hugepages"),
    ({"source": "disk"}, BASE, "value of source must be one of: file, anonymous, memfd, got: disk"),
])
def test_refusals(args, xml, message):
    assert refused(args, xml) == message


def test_warnings_locked_without_hard_limit_and_free_pages():
    assert area_warnings(AREA, BASE, {"locked": True}) == [
        "locked: the guest's memory is locked but memtune has no hard_limit, so libvirt lets QEMU lock memory "
        "without limit; set memtune hard_limit (guest memory plus QEMU's overhead)"]
    limited = BASE.replace("<iothreads>", "<memtune><hard_limit unit='GiB'>1</hard_limit></memtune><iothreads>")
    assert area_warnings(AREA, limited, {"locked": True}) == []
    caps = parse_xml("<capabilities><host><cpu><pages unit='KiB' size='4'/><pages unit='KiB' size='2048'/>"
                     "</cpu></host></capabilities>")
    loaders = {"capabilities": lambda: caps, "free_pages": lambda kib: {0: 10, 1: 20}}
    assert area_warnings(AREA, BASE, {"hugepages": [{"size": "2M"}]},
                         {"connected": True, "loaders": loaders}) == [
        "hugepages: the guest needs 64 pages of 2 MiB but the host has 30 free now (node 0: 10, node 1: 20); it will "
        "not start until more are reserved (vm.nr_hugepages or virtuned.libvirt.hugepage_pools)"]
    plenty = {"capabilities": lambda: caps, "free_pages": lambda kib: {0: 64}}
    assert area_warnings(AREA, BASE, {"hugepages": [{"size": "2M"}]}, {"connected": True, "loaders": plenty}) == []


def test_a_running_guest_holding_its_pages_is_not_warned_about_free_pages():
    """Regression (make demo): a running guest already on its 2 MiB pages was told the host had 0 free."""
    caps = parse_xml("<capabilities><host><cpu><pages unit='KiB' size='4'/><pages unit='KiB' size='2048'/>"
                     "</cpu></host></capabilities>")
    backing = "<memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages></memoryBacking>"
    backed = parse_domain(BASE.replace("<iothreads>", backing + "<iothreads>"))
    for running, free, expected in [
        (backed, {0: 0}, []),                              # it holds all 64 pages it needs
        (backed, {0: 0, 1: 0}, []),
        (parse_domain(BASE), {0: 10}, [                    # still on small pages: it needs 64 more
            "hugepages: the guest needs 64 pages of 2 MiB but the host has 10 free now (node 0: 10); it will "
            "not start until more are reserved (vm.nr_hugepages or virtuned.libvirt.hugepage_pools)"]),
    ]:
        loaders = {"capabilities": lambda: caps, "free_pages": lambda kib, free=free: free,
                   "running_root": lambda running=running: running}
        assert area_warnings(AREA, BASE, {"hugepages": [{"size": "2M"}]},
                             {"connected": True, "loaders": loaders}) == expected


def test_connected_page_size_without_a_host_pool_is_refused():
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
    caps = parse_xml("<capabilities><host><cpu><pages unit='KiB' size='4'/><pages unit='KiB' size='2048'/>"
                     "</cpu></host></capabilities>")
    ctx = AreaView(parse_domain(BASE.replace("128</memory>", "1024</memory>")),
                   ctx=DomainContext(connected=True, loaders={"capabilities": lambda: caps}))
    target = dict(AREA.read(ctx.root), hugepages=[{"size": 1024 ** 3, "nodeset": None}])
    with pytest.raises(TuningError) as err:
        AREA.validate(target, ctx)
    assert str(err.value) == ("hugepages[0].size: '1 GiB' is not valid: this host has no pool of 1 GiB pages "
                              "(its page sizes: 4 KiB, 2 MiB)")


# --------------------------------------------------------------------------- test driver

def test_test_driver_persistent_path_and_host_pools(testdriver):
    import libvirt
    conn, created = testdriver
    dom = conn.defineXML(BASE.replace("<name>vt-backing</name>", "<name>vt-ut-backing</name>"))
    created.append("vt-ut-backing")
    args = {"uri": "test:///default", "name": "vt-ut-backing", "hugepages": [{"size": "2M"}], "nosharepages": True}
    checked = run_module("memory_backing", args, check=True)
    assert checked["changed"] is True
    assert "<memoryBacking" not in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    result = run_module("memory_backing", args)
    assert (result["changed"], result["restart_required"]) == (True, False)
    held = AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))))
    assert held == {"hugepages": [{"size": "2 MiB"}], "nosharepages": True}
    assert run_module("memory_backing", args)["changed"] is False
    # the test driver's host has 4 KiB, 8 KiB, 2 MiB and 1 GiB pages
    bad = run_module("memory_backing", {"uri": "test:///default", "name": "vt-ut-backing",
                                        "hugepages": [{"size": "64M"}]})
    assert bad["msg"] == ("hugepages[0].size: '64 MiB' is not valid: this host has no pool of 64 MiB pages "
                          "(its page sizes: 4 KiB, 8 KiB, 2 MiB, 1 GiB)")


def test_test_driver_running_guest_waits_for_restart(testdriver):
    conn, created = testdriver
    dom = conn.defineXML(BASE.replace("<name>vt-backing</name>", "<name>vt-ut-backing-run</name>"))
    created.append("vt-ut-backing-run")
    dom.create()
    result = run_module("memory_backing", {"uri": "test:///default", "name": "vt-ut-backing-run", "locked": True})
    assert (result["changed"], result["live_changes"], result["restart_required"], result["pending_restart"]) == \
        (True, [], True, ["memory_backing.locked"])
