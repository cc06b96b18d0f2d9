"""iothreads module: offline (xml) and on the libvirt test driver (persistent path)."""

import pytest

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.iothreads import AREA
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

from conftest import fixture_text, run_module

BASE = fixture_text("guest-iothreads.xml")  # <iothreads>2</iothreads>, disks vda (virtio) and sda (sata),
# SCSI controllers 0 (virtio-scsi) and 1 (lsilogic)


def test_bare_count_reads_as_every_id():
    result = run_module("iothreads", {"xml": BASE, "state": "gathered"})
    assert result["gathered"] == {"count": 2, "iothreadids": [{"id": 1}, {"id": 2}]}
    assert result["changed"] is False


def test_count_alone_stays_a_bare_count():
    result = run_module("iothreads", {"xml": BASE, "count": 3})
    assert result["diff"] == {"before_header": "iothreads (persistent)", "after_header": "iothreads (persistent)",
                              "before": "<iothreads>2</iothreads>\n", "after": "<iothreads>3</iothreads>\n"}
    assert result["after"] == {"count": 3, "iothreadids": [{"id": 1}, {"id": 2}, {"id": 3}]}
    assert run_module("iothreads", {"xml": result["xml"], "count": 3})["changed"] is False
    same = run_module("iothreads", {"xml": BASE, "iothreadids": [{"id": 1}, {"id": 2}]})
    assert same["changed"] is False


def test_ids_pools_and_device_iothreads():
    result = run_module("iothreads", {"xml": BASE, "iothreadids": [{"id": 5, "thread_pool_max": 4}],
                                      "disks": [{"target": "vda", "iothread": 5}],
                                      "controllers": [{"index": 0, "iothread": 1}],
                                      "defaultiothread": {"thread_pool_min": 1, "thread_pool_max": 8}})
    assert result["changed"] is True
    assert result["diff"]["after"] == (
        '<iothreads>3</iothreads>\n<iothreadids>\n  <iothread id="1"/>\n  <iothread id="2"/>\n'
        '  <iothread id="5" thread_pool_max="4"/>\n</iothreadids>\n'
        '<defaultiothread thread_pool_min="1" thread_pool_max="8"/>\n'
        '<!-- disk vda -->\n<driver name="qemu" type="raw" iothread="5"/>\n'
        '<!-- controller 0 -->\n<driver iothread="1"/>\n')
    assert result["after"] == {
        "count": 3, "iothreadids": [{"id": 1}, {"id": 2}, {"id": 5, "thread_pool_max": 4}],
        "defaultiothread": {"thread_pool_min": 1, "thread_pool_max": 8},
        "disks": [{"target": "vda", "iothread": 5}], "controllers": [{"index": 0, "iothread": 1}]}
    # the devices themselves are untouched: no disk or controller added or removed
    assert result["xml"].count("<disk ") == 2 and result["xml"].count("<controller ") == 2
    gathered = run_module("iothreads", {"xml": result["xml"], "state": "gathered"})["gathered"]
    assert gathered == result["after"]
    replaced = run_module("iothreads", dict(gathered, xml=result["xml"], state="replaced"))
    assert replaced["changed"] is False and replaced["xml"] == result["xml"]


def test_lower_count_removes_the_highest_unnamed_ids():
    xml = run_module("iothreads", {"xml": BASE, "count": 4})["xml"]
    result = run_module("iothreads", {"xml": xml, "count": 2, "iothreadids": [{"id": 4}]})
    assert result["after"]["iothreadids"] == [{"id": 1}, {"id": 4}]
    assert result["diff"]["after"] == ('<iothreads>2</iothreads>\n<iothreadids>\n  <iothread id="1"/>\n'
                                       '  <iothread id="4"/>\n</iothreadids>\n')


def test_replaced_and_deleted():
    xml = run_module("iothreads", {"xml": BASE, "count": 3, "disks": [{"target": "vda", "iothread": 3}]})["xml"]
    replaced = run_module("iothreads", {"xml": xml, "state": "replaced", "count": 1})
    assert replaced["after"] == {"count": 1, "iothreadids": [{"id": 1}]}
    assert 'iothread="' not in replaced["xml"]
    deleted = run_module("iothreads", {"xml": xml, "state": "deleted", "disks": [{"target": "vda"}],
                                       "iothreadids": [{"id": 3}]})
    assert deleted["after"] == {"count": 2, "iothreadids": [{"id": 1}, {"id": 2}]}
    everything = run_module("iothreads", {"xml": xml, "state": "deleted"})
    assert everything["after"] == {}
    assert everything["diff"]["after"] == ""


@pytest.mark.parametrize("args, message", [
    ({"disks": [{"target": "vdz", "iothread": 1}]},
     "disks[0].target: 'vdz' is not valid: the guest has no disk with that target (disks: sda, vda)"),
    ({"disks": [{"target": "sda", "iothread": 1}]},
     "disks[0].target: 'sda' is not valid: its bus is sata; only virtio disks take an iothread "
     "(a SCSI disk uses its virtio-scsi controller's: set controllers)"),
    ({"disks": [{"target": "vda", "iothread": 7}]},
     "disk vda: iothread 7 is not valid: the guest defines iothreads 1-2 (add it with count or iothreadids)"),
    ({"disks": [{"target": "vda"}]}, "disks[0].iothread: required: the iothread id for disk vda"),
    ({"disks": [{"target": "vda", "iothread": 1}, {"target": "vda", "iothread": 2}]},
     "disks[1].target: 'vda' is not valid: target vda appears twice (items 0 and 1)"),
    ({"controllers": [{"index": 3, "iothread": 1}]},
     "controllers[0].index: 3 is not valid: the guest has no SCSI controller with that index (SCSI controllers: 0, 1)"),
    ({"controllers": [{"index": 1, "iothread": 1}]},
     "controllers[0].index: 1 is not valid: the controller's model is lsilogic; only virtio-scsi controllers "
     "take an iothread"),
    ({"iothreadids": [{"id": 1}, {"id": 1}]}, None),
    ({"iothreadids": [{"id": 0}]}, "iothreadids[0].id: 0 is not valid: must be between 1 and 4294967295 (libvirt's unsigned int)"),
    ({"count": 1, "iothreadids": [{"id": 1}, {"id": 2}]},
     "count: 1 is not valid: iothreadids lists 2 iothreads (1-2); raise count or list fewer"),
    ({"iothreadids": [{"id": 1, "thread_pool_min": 8, "thread_pool_max": 2}]},
     "iothreadids[0].thread_pool_min: 8 is not valid: it is above thread_pool_max 2"),
])
def test_refusals(args, message):
    result = run_module("iothreads", dict(args, xml=BASE))
    assert result["failed"] is True
    if message is None:
        assert result["msg"] == "iothreadids[1].id: 1 is not valid: id 1 appears twice (items 0 and 1)"
    else:
        assert result["msg"] == message


def test_removing_a_used_iothread_names_the_user():
    xml = run_module("iothreads", {"xml": BASE, "disks": [{"target": "vda", "iothread": 2}],
                                   "controllers": [{"index": 0, "iothread": 1}]})["xml"]
    assert run_module("iothreads", {"xml": xml, "count": 1})["msg"] == (
        "iothreads: removing iothread 2 is refused: disk vda uses it; move it (disks) first")
    assert run_module("iothreads", {"xml": xml, "state": "deleted", "iothreadids": [{"id": 1}]})["msg"] == (
        "iothreads: removing iothread 1 is refused: SCSI controller 0 uses it; move it (controllers) first")
    pinned = BASE.replace("<os>", "<cputune><iothreadpin iothread='2' cpuset='0'/></cputune>\n  <os>")
    assert run_module("iothreads", {"xml": pinned, "count": 1})["msg"] == (
        "iothreads: removing iothread 2 is refused: cputune.iothreadpin uses it; change cputune first")


def test_check_mode_reports_the_same_change():
    real = run_module("iothreads", {"xml": BASE, "count": 3})
    check = run_module("iothreads", {"xml": BASE, "count": 3}, check=True)
    assert check["changed"] is real["changed"] is True
    assert check["after"] == real["after"]


def test_testdriver_persistent_path(testdriver):
    conn, created = testdriver
    created.append("vt-ut-iothreads")
    dom = conn.defineXML(BASE.replace("<name>vt-probe</name>", "<name>vt-ut-iothreads</name>"))
    args = {"uri": "test:///default", "name": "vt-ut-iothreads", "iothreadids": [{"id": 4, "thread_pool_max": 2}],
            "disks": [{"target": "vda", "iothread": 4}]}
    check = run_module("iothreads", args, check=True)
    assert check["changed"] is True
    # check mode leaves the definition as it was
    assert AREA.to_options(AREA.read(parse_domain(dom.XMLDesc(2)))) == {"count": 2, "iothreadids": [{"id": 1}, {"id": 2}]}
    result = run_module("iothreads", args)
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (True, [], False)
    root = parse_domain(dom.XMLDesc(2))
    assert AREA.to_options(AREA.read(root)) == {
        "count": 3, "iothreadids": [{"id": 1}, {"id": 2}, {"id": 4, "thread_pool_max": 2}],
        "disks": [{"target": "vda", "iothread": 4}]}
    assert [dict(driver.attrib) for driver in root.xpath("devices/disk[target/@dev='vda']/driver")] == [
        {"name": "qemu", "type": "raw", "iothread": "4"}]
    assert run_module("iothreads", args)["changed"] is False
    gathered = run_module("iothreads", {"uri": "test:///default", "name": "vt-ut-iothreads",
                                        "state": "gathered"})["gathered"]
    assert run_module("iothreads", dict(gathered, uri="test:///default", name="vt-ut-iothreads",
                                        state="replaced"))["changed"] is False


def test_a_thread_pool_size_above_a_c_int_is_refused():
    # libvirt reads thread_pool_max as a C int ("Expected integer value" on define): found by the differential test
    result = run_module("iothreads", {"xml": fixture_text("guest-minimal.xml"),
                                      "iothreadids": [{"id": 1, "thread_pool_max": 2147483648}]})
    assert (result["failed"], result["msg"]) == (
        True, "iothreadids[0].thread_pool_max: 2147483648 is not valid: must be between 1 and 2147483647")
