"""iothreads on a booted KVM guest: add, tune and remove I/O threads live; a disk moves at the next boot."""

import os

import libvirt
import pytest

from conftest import fixture_text, run_module

NAME = "vt-it-iothreads"
IMAGE_DIR = "/var/lib/libvirt/images"


@pytest.fixture
def disk_image():
    path = os.path.join(IMAGE_DIR, "%s-%d.img" % (NAME, os.getpid()))
    os.makedirs(IMAGE_DIR, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(1024 * 1024)
    yield path
    os.unlink(path)


def guest(disk):
    xml = fixture_text("guest-iothreads.xml").replace("<name>vt-probe</name>", "<name>%s</name>" % NAME)
    xml = xml.replace("/var/lib/libvirt/images/vt-it-iothreads.img", disk)
    xml = xml.replace("<iothreads>2</iothreads>", "<iothreads>1</iothreads>")
    return xml.replace("<driver name='qemu' type='raw'/>", "<driver name='qemu' type='raw' iothread='1'/>")


def iothreads(**args):
    check = args.pop("check", False)
    return run_module("iothreads", dict(args, uri="qemu:///system", name=NAME), check=check)


def live_ids(dom):
    return sorted(info[0] for info in dom.ioThreadInfo(libvirt.VIR_DOMAIN_AFFECT_LIVE))


def test_iothreads_live(guests, disk_image):
    dom = guests(NAME, xml=guest(disk_image))
    assert live_ids(dom) == [1]

    result = iothreads(count=2, check=True)
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (True, ["add iothread 2"], False)
    assert live_ids(dom) == [1]
    assert "<iothreads>1</iothreads>" in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)

    result = iothreads(count=2)
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (True, ["add iothread 2"], False)
    assert live_ids(dom) == [1, 2]
    assert "<iothreads>2</iothreads>" in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert iothreads(count=2)["changed"] is False

    result = iothreads(iothreadids=[{"id": 2, "thread_pool_max": 4}])
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (
        True, ["set iothread 2 thread_pool_max=4"], False)
    assert "<iothread id='2' thread_pool_max='4'/>" in dom.XMLDesc(0)
    again = iothreads(iothreadids=[{"id": 2, "thread_pool_max": 4}])
    assert (again["changed"], again["live_changes"], again["restart_required"]) == (False, [], False)

    result = iothreads(state="deleted", iothreadids=[{"id": 2}])
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (
        True, ["remove iothread 2"], False)
    assert live_ids(dom) == [1]

    # removing the disk's iothread is refused, naming the disk
    refused = iothreads(count=0)
    assert refused["msg"] == "iothreads: removing iothread 1 is refused: disk vda uses it; move it (disks) first"

    # the disk moves to a new iothread at the next boot
    result = iothreads(count=2, disks=[{"target": "vda", "iothread": 2}])
    assert (result["changed"], result["live_changes"], result["restart_required"]) == (True, ["add iothread 2"], True)
    assert result["pending_restart"] == ["iothreads.disks"]
    assert result["pending_reasons"] == {"iothreads.disks": "moving a disk to another iothread takes effect at the "
                                                            "next boot"}
    again = iothreads(count=2, disks=[{"target": "vda", "iothread": 2}])
    assert (again["changed"], again["restart_required"]) == (False, True)
    dom.destroy()
    dom.create()
    assert "<driver name='qemu' type='raw' iothread='2'/>" in dom.XMLDesc(0)
    after = iothreads(count=2, disks=[{"target": "vda", "iothread": 2}])
    assert (after["changed"], after["restart_required"], after["live_changes"]) == (False, False, [])
