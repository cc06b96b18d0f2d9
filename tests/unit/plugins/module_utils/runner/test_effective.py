# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kernel enforces against what the definition asks: effective and effective_drift, pure."""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
from ansible_collections.virtuned.libvirt.plugins.module_utils.runner.effective import (
    effective_report, guest_memory_blocks, match_memory)

HOST = frozenset({0, 1, 2, 3})
MIB = 1024


def thread(tid, name, role, index, cpus, policy="other", priority=0):
    return {"tid": tid, "name": name, "role": role, "index": index, "cpus": frozenset(cpus), "policy": policy,
            "priority": priority, "nice": 0}


def mapping(start, size_mib, nodes_mib, hugetlb=False, page_kib=4, file=None, thp_mib=0):
    return {"start": start, "size_kib": size_mib * MIB, "file": file, "hugetlb": hugetlb, "page_kib": page_kib,
            "nodes": {node: mib * MIB for node, mib in nodes_mib.items()}, "rss_kib": sum(nodes_mib.values()) * MIB,
            "anon_huge_kib": thp_mib * MIB, "hugetlb_kib": size_mib * MIB if hugetlb else 0}


def domain(inner, memory_mib=256):
    return parse_domain("<domain type='kvm'><name>g</name><memory unit='MiB'>%d</memory>"
                        "<vcpu placement='static'>2</vcpu>%s<os><type>hvm</type></os></domain>" % (memory_mib, inner))


def process(threads, mappings):
    return {"pid": 100, "threads": threads, "mappings": mappings}


THREADS_UNPINNED = [
    thread(100, "qemu-system-x86", "emulator", None, HOST),
    thread(101, "qemu-system-x86", "emulator", None, HOST),
    thread(102, "IO iothread1", "iothread", 1, HOST),
    thread(103, "CPU 0/KVM", "vcpu", 0, HOST),
    thread(104, "CPU 1/KVM", "vcpu", 1, HOST),
    thread(105, "kvm-nx-lpage-re", "kernel", None, {3}),
]
RAM_4K = mapping(0x7f00000000, 256, {0: 200}, thp_mib=64)


def test_an_unpinned_guest_as_its_definition_asks():
    effective, drift = effective_report(domain("<iothreads>1</iothreads>"), process(THREADS_UNPINNED, [RAM_4K]), HOST)
    assert drift == []
    assert effective == {
        "pid": 100,
        "vcpus": [{"vcpu": 0, "tid": 103, "name": "CPU 0/KVM", "cpus": "0-3", "policy": "other", "priority": 0},
                  {"vcpu": 1, "tid": 104, "name": "CPU 1/KVM", "cpus": "0-3", "policy": "other", "priority": 0}],
        "iothreads": [{"iothread": 1, "tid": 102, "name": "IO iothread1", "cpus": "0-3", "policy": "other", "priority": 0}],
        "emulator": [{"tid": 100, "name": "qemu-system-x86", "cpus": "0-3", "policy": "other", "priority": 0},
                     {"tid": 101, "name": "qemu-system-x86", "cpus": "0-3", "policy": "other", "priority": 0}],
        "kernel_threads": [{"tid": 105, "name": "kvm-nx-lpage-re", "cpus": "3", "policy": "other", "priority": 0}],
        "memory": [{"node": 0, "page_size": "4 KiB", "size": "200 MiB"}],
        "transparent_hugepages": "64 MiB",
        "hugetlb_pages": [],
    }


PINNED = ("<cputune><vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/><emulatorpin cpuset='0-1'/>"
          "<iothreadpin iothread='1' cpuset='1'/><vcpusched vcpus='0-1' scheduler='fifo' priority='5'/>"
          "<iothreadsched iothreads='1' scheduler='batch'/></cputune>")


def test_pins_and_schedulers_that_the_kernel_does_not_enforce():
    _effective, drift = effective_report(domain(PINNED), process(THREADS_UNPINNED, [RAM_4K]), HOST)
    assert drift == [
        "vCPU 0 may run on 0-3, the definition pins it to 2",
        "vCPU 0 runs under the other policy, the definition asks for fifo priority 5",
        "vCPU 1 may run on 0-3, the definition pins it to 3",
        "vCPU 1 runs under the other policy, the definition asks for fifo priority 5",
        "iothread 1 may run on 0-3, the definition pins it to 1",
        "iothread 1 runs under the other policy, the definition asks for batch",
        "emulator threads 100 (qemu-system-x86), 101 (qemu-system-x86) may run on 0-3, "
        "the definition pins the emulator to 0-1",
    ]


def test_pins_in_force_and_a_wrong_priority():
    threads = [thread(100, "qemu-system-x86", "emulator", None, {0, 1}),
               thread(101, "vnc_worker", "emulator", None, {0}),
               thread(102, "IO iothread1", "iothread", 1, {1}, "batch"),
               thread(103, "CPU 0/KVM", "vcpu", 0, {2}, "fifo", 5),
               thread(104, "CPU 1/KVM", "vcpu", 1, {3}, "fifo", 1)]
    _effective, drift = effective_report(domain(PINNED), process(threads, [RAM_4K]), HOST)
    assert drift == ["vCPU 1 runs under the fifo priority 1 policy, the definition asks for fifo priority 5",
                     "emulator thread 101 (vnc_worker) may run on 0, the definition pins the emulator to 0-1"]


def test_a_pinned_thread_the_definition_does_not_pin_and_vcpu_cpuset():
    threads = [thread(103, "CPU 0/KVM", "vcpu", 0, {1}), thread(100, "qemu-system-x86", "emulator", None, HOST)]
    _effective, drift = effective_report(domain(""), process(threads, [RAM_4K]), HOST)
    assert drift == ["vCPU 0 may run on 1, the definition does not pin it (host CPUs 0-3)"]
    root = parse_domain("<domain><name>g</name><memory unit='MiB'>256</memory><vcpu cpuset='1-2'>2</vcpu></domain>")
    _effective, drift = effective_report(root, process(threads, [RAM_4K]), HOST)
    assert drift == ["vCPU 0 may run on 1, the definition pins it to 1-2 (<vcpu cpuset>)",
                     "emulator thread 100 (qemu-system-x86) may run on 0-3, the definition pins the emulator to 1-2 "
                     "(<vcpu cpuset>)"]


def test_automatic_placement_is_not_compared():
    root = parse_domain("<domain><name>g</name><memory unit='MiB'>256</memory><vcpu placement='auto'>2</vcpu>"
                        "<numatune><memory mode='strict' placement='auto'/></numatune></domain>")
    threads = [thread(103, "CPU 0/KVM", "vcpu", 0, {1})]
    assert effective_report(root, process(threads, [mapping(1, 256, {1: 256})]), HOST)[1] == []


HUGE_2M = "<memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages></memoryBacking>"


def test_guest_memory_on_hugepages_in_force():
    ram = mapping(0x7f00, 256, {0: 256}, hugetlb=True, page_kib=2048,
                  file="/dev/hugepages/libvirt/qemu/1-g/qemu_back_mem.pc.ram.XXXX (deleted)")
    other = mapping(0x5500, 16, {0: 2})
    effective, drift = effective_report(domain(HUGE_2M), process([], [other, ram]), HOST)
    assert drift == []
    assert (effective["memory"], effective["hugetlb_pages"], effective["transparent_hugepages"]) == (
        [{"node": 0, "page_size": "2 MiB", "size": "256 MiB"}], [{"node": 0, "page_size": "2 MiB", "pages": 128}],
        "0 KiB")


def test_guest_memory_on_4k_pages_when_the_definition_asks_for_hugepages():
    _effective, drift = effective_report(domain(HUGE_2M, memory_mib=312), process([], [mapping(1, 312, {0: 100})]),
                                         HOST)
    assert drift == ["312 MiB of guest memory on 4 KiB pages, the definition asks for 2 MiB pages"]
    # a bare <hugepages/> asks for the host's default hugepage size
    bare = domain("<memoryBacking><hugepages/></memoryBacking>", memory_mib=312)
    assert effective_report(bare, process([], [mapping(1, 312, {0: 100})]), HOST, default_hugepage_kib=1048576)[1] == [
        "312 MiB of guest memory on 4 KiB pages, the definition asks for 1 GiB pages"]


def test_guest_memory_on_hugepages_the_definition_does_not_ask_for():
    ram = mapping(1, 256, {0: 256}, hugetlb=True, page_kib=2048)
    assert effective_report(domain(""), process([], [ram]), HOST)[1] == [
        "256 MiB of guest memory on 2 MiB pages, the definition asks for no hugepages"]


def test_guest_memory_outside_a_strict_nodeset():
    root = domain("<numatune><memory mode='strict' nodeset='0'/></numatune>")
    _effective, drift = effective_report(root, process([], [mapping(1, 256, {0: 100, 1: 28, 2: 4})]), HOST)
    assert drift == ["28 MiB of guest memory on host node 1, the definition binds it to node 0 (strict)",
                     "4 MiB of guest memory on host node 2, the definition binds it to node 0 (strict)"]
    preferred = domain("<numatune><memory mode='preferred' nodeset='0'/></numatune>")
    assert effective_report(preferred, process([], [mapping(1, 256, {0: 100, 1: 28})]), HOST)[1] == []


NUMA_GUEST = ("<cpu><numa><cell id='0' cpus='0' memory='128' unit='MiB'/><cell id='1' cpus='1' memory='64' "
              "unit='MiB'/></numa></cpu>"
              "<memoryBacking><hugepages><page size='2048' unit='KiB' nodeset='1'/></hugepages></memoryBacking>"
              "<numatune><memory mode='strict' nodeset='0-1'/><memnode cellid='1' mode='strict' nodeset='1'/>"
              "</numatune>")


def test_guest_cells_each_with_their_page_size_and_nodes():
    root = domain(NUMA_GUEST, memory_mib=192)
    assert guest_memory_blocks(root) == [
        {"what": "ram-node0", "cell": 0, "size_kib": 128 * MIB, "page_kib": 4, "nodeset": (frozenset({0, 1}), "strict")},
        {"what": "ram-node1", "cell": 1, "size_kib": 64 * MIB, "page_kib": 2048, "nodeset": (frozenset({1}), "strict")},
    ]
    cell0 = mapping(1, 128, {0: 64, 1: 64})
    cell1 = mapping(2, 64, {0: 8, 1: 56}, hugetlb=True, page_kib=2048)
    effective, drift = effective_report(root, process([], [cell1, cell0]), HOST)
    assert drift == ["8 MiB of guest memory (guest cell 1) on host node 0, the definition binds it to node 1 (strict)"]
    assert effective["memory"] == [{"node": 0, "page_size": "4 KiB", "size": "64 MiB"},
                                   {"node": 0, "page_size": "2 MiB", "size": "8 MiB"},
                                   {"node": 1, "page_size": "4 KiB", "size": "64 MiB"},
                                   {"node": 1, "page_size": "2 MiB", "size": "56 MiB"}]


def test_memory_blocks_found_by_backend_file_name_then_by_size():
    root = domain("<cpu><numa><cell id='0' cpus='0' memory='64' unit='MiB'/><cell id='1' cpus='1' memory='64' "
                  "unit='MiB'/></numa></cpu>", memory_mib=128)
    first = mapping(1, 64, {}, hugetlb=True, page_kib=2048, file="/dev/hugepages/x/qemu_back_mem.ram-node1.AbC")
    second = mapping(2, 64, {})
    pairs = match_memory(guest_memory_blocks(root), [first, second])
    assert [(block["what"], found["start"]) for block, found in pairs] == [("ram-node0", 2), ("ram-node1", 1)]


def test_dimms_are_blocks_of_their_own_and_missing_memory_is_said():
    root = domain("<maxMemory slots='4' unit='MiB'>1024</maxMemory><devices><memory model='dimm'><target>"
                  "<size unit='MiB'>128</size><node>0</node></target></memory></devices>", memory_mib=384)
    blocks = [(b["what"], b["size_kib"]) for b in guest_memory_blocks(root)]
    assert blocks == [("pc.ram", 256 * MIB), ("memdimm0", 128 * MIB)]
    assert effective_report(root, process([], [mapping(1, 256, {0: 1})]), HOST)[1] == [
        "no mapping of 128 MiB (guest memory memdimm0) found in the QEMU process"]


def test_memory_rounded_up_at_start_is_still_found():
    root = parse_domain("<domain><name>g</name><memory unit='KiB'>100000</memory><vcpu>1</vcpu></domain>")
    rounded = mapping(1, 98, {0: 10})  # 100000 KiB started as 98 MiB (100352 KiB)
    assert [found for _block, found in match_memory(guest_memory_blocks(root), [mapping(2, 97, {}), rounded])] == [
        rounded]
