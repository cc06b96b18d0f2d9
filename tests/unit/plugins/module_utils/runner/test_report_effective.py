# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tuning_info's effective part for one guest: the QEMU process found and read from a fake /proc."""

from __future__ import annotations

from fakeproc import PID, make_proc

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.report import add_effective

DEFINITION = parse_domain(
    "<domain type='kvm'><name>vt-guest</name><memory unit='MiB'>128</memory><vcpu>2</vcpu><iothreads>1</iothreads>"
    "<cputune><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='1' cpuset='1'/><emulatorpin cpuset='0'/>"
    "<iothreadpin iothread='1' cpuset='1'/><vcpusched vcpus='0' scheduler='fifo' priority='5'/>"
    "<iothreadsched iothreads='1' scheduler='batch'/></cputune>"
    "<memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages></memoryBacking>"
    "<os><type>hvm</type></os></domain>")


class FakeEdge:
    uri = "qemu:///system"
    shown_uri = "qemu:///system"

    def __init__(self, hypervisor="qemu", local=True):
        self._hypervisor, self._local = hypervisor, local

    def hypervisor(self):
        return self._hypervisor

    def is_local(self):
        return self._local

    def host_cpus(self):
        return frozenset({0, 1})


class FakeDomain:
    def name(self):
        return "vt-guest"


def test_the_kernel_view_of_a_guest_and_its_drift(tmp_path):
    proc = make_proc(tmp_path, name="vt-guest")
    report = {"running": True}
    add_effective(report, FakeEdge(), FakeDomain(), DEFINITION, proc_root=proc)
    assert report["effective"] == {
        "pid": PID,
        "vcpus": [{"vcpu": 0, "tid": 4249, "name": "CPU 0/KVM", "cpus": "1", "policy": "fifo", "priority": 5},
                  {"vcpu": 1, "tid": 4250, "name": "CPU 1/KVM", "cpus": "0-1", "policy": "other", "priority": 0}],
        "iothreads": [{"iothread": 1, "tid": 4247, "name": "IO iothread1", "cpus": "1", "policy": "batch", "priority": 0}],
        "emulator": [{"tid": 4242, "name": "qemu-system-x86", "cpus": "0", "policy": "other", "priority": 0},
                     {"tid": 4246, "name": "qemu-system-x86", "cpus": "0", "policy": "other", "priority": 0},
                     {"tid": 4248, "name": "IO mon_iothread", "cpus": "0", "policy": "other", "priority": 0},
                     {"tid": 4252, "name": "vnc_worker", "cpus": "0", "policy": "other", "priority": 0}],
        "kernel_threads": [{"tid": 4270, "name": "kvm-nx-lpage-re", "cpus": "1", "policy": "other", "priority": 0}],
        # the first 128 MiB mapping, the hugetlbfs file named after pc.ram: 48 pages on node 0, 16 on node 1
        "memory": [{"node": 0, "page_size": "2 MiB", "size": "96 MiB"}, {"node": 1, "page_size": "2 MiB", "size": "32 MiB"}],
        "transparent_hugepages": "0 KiB",
        "hugetlb_pages": [{"node": 0, "page_size": "2 MiB", "pages": 48}, {"node": 1, "page_size": "2 MiB", "pages": 16}],
    }
    assert report["effective_drift"] == ["vCPU 1 may run on 0-1, the definition pins it to 1"]
    assert "unavailable" not in report


def test_guests_that_cannot_be_read_say_why(tmp_path):
    report = {"running": False}
    add_effective(report, FakeEdge(), FakeDomain(), DEFINITION, proc_root=str(tmp_path))
    assert report == {"running": False, "effective": {}, "effective_drift": []}

    for edge, reason in (
            (FakeEdge(local=False), "effective: true reads /proc on the hypervisor itself, which qemu:///system is not"),
            (FakeEdge(), "no QEMU process of vt-guest found under %s" % tmp_path)):
        report = {"running": True}
        add_effective(report, edge, FakeDomain(), DEFINITION, proc_root=str(tmp_path))
        assert report == {"running": True, "effective": {}, "effective_drift": [], "unavailable": {"effective": reason}}
