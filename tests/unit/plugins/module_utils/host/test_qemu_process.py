# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The QEMU process reader on fake /proc trees shaped like QEMU 7.2's under libvirt 9.0."""

from __future__ import annotations

import os

import pytest

from ansible_collections.virtuned.libvirt.plugins.module_utils.host.qemu_process import (
    ProcReadError, default_hugepage_kib, find_qemu_pid, parse_numa_maps, parse_smaps, parse_stat, read_mappings,
    read_qemu_process, read_threads, thread_role)

PID = 4242
# (tid, comm, Cpus_allowed_list, policy number, rt priority, flags) as seen for a running guest here
THREADS = [
    (4242, "qemu-system-x86", "0", 0, 0, 0x8400180),
    (4246, "qemu-system-x86", "0", 0, 0, 0x400040),
    (4247, "IO iothread1", "1", 3, 0, 0x84000c0),
    (4248, "IO mon_iothread", "0", 0, 0, 0x84000c0),
    (4249, "CPU 0/KVM", "1", 1, 5, 0x84000c0),
    (4250, "CPU 1/KVM", "0-1", 0, 0, 0x84000c0),
    (4252, "vnc_worker", "0", 0, 0, 0x84000c0),
    (4270, "kvm-nx-lpage-re", "1", 0, 0, 0x84040c0),
]

GUEST_RAM = 0x7fc307e00000
HUGE_RAM = 0x7f0000000000
SMAPS = """55908d6e2000-55908dae9000 r--p 00000000 fe:01 1234                       /usr/bin/qemu-system-x86_64
Size:               4124 kB
KernelPageSize:        4 kB
Rss:                4060 kB
AnonHugePages:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
VmFlags: rd mr mw me sd
7fc307e00000-7fc30fe00000 rw-p 00000000 00:00 0 
Size:             131072 kB
KernelPageSize:        4 kB
Rss:                8192 kB
AnonHugePages:      6144 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
VmFlags: rd wr mr mw me ac sd hg
7f0000000000-7f0008000000 rw-s 00000000 00:2d 99                         /dev/hugepages/libvirt/qemu/1-g/qemu_back_mem.pc.ram.Xa1b2 (deleted)
Size:             131072 kB
KernelPageSize:     2048 kB
Rss:                   0 kB
AnonHugePages:         0 kB
Shared_Hugetlb:   131072 kB
Private_Hugetlb:       0 kB
VmFlags: rd wr sh mr mw me ms de ht sd
"""
NUMA_MAPS = """55908d6e2000 default file=/usr/bin/qemu-system-x86_64 mapped=1015 active=949 N0=1015 kernelpagesize_kB=4
7fc307e00000 default anon=2048 dirty=2048 active=0 N0=1536 N1=512 kernelpagesize_kB=4
7f0000000000 bind:0 file=/dev/hugepages/libvirt/qemu/1-g/qemu_back_mem.pc.ram.Xa1b2\\040(deleted) huge dirty=64 N0=48 N1=16 kernelpagesize_kB=2048
7fc3001f8000 default
"""


def stat_line(tid, comm, policy, priority, flags, nice=0):
    """A stat(5) line: fields 3 to 52, the ones read here set, the others 0; the name may hold spaces and ')'."""
    fields = {3: "S", 4: "1", 5: str(PID), 9: str(flags), 18: "20", 19: str(nice), 20: "8",
              40: str(priority), 41: str(policy)}
    return "%d (%s) %s\n" % (tid, comm, " ".join(fields.get(number, "0") for number in range(3, 53)))


def make_proc(root, threads=THREADS, smaps=SMAPS, numa_maps=NUMA_MAPS, name="vt-guest", pid=PID):
    base = os.path.join(str(root), str(pid))
    for tid, comm, cpus, policy, priority, flags in threads:
        task = os.path.join(base, "task", str(tid))
        os.makedirs(task)
        with open(os.path.join(task, "comm"), "w") as handle:
            handle.write(comm + "\n")
        with open(os.path.join(task, "stat"), "w") as handle:
            handle.write(stat_line(tid, comm, policy, priority, flags))
        with open(os.path.join(task, "status"), "w") as handle:
            handle.write("Name:\t%s\nState:\tS (sleeping)\nCpus_allowed:\t3\nCpus_allowed_list:\t%s\n"
                         "Mems_allowed_list:\t0\n" % (comm, cpus))
    for filename, text in (("smaps", smaps), ("numa_maps", numa_maps)):
        with open(os.path.join(base, filename), "w") as handle:
            handle.write(text)
    with open(os.path.join(base, "cmdline"), "w") as handle:
        handle.write("\0".join(["/usr/bin/qemu-system-x86_64", "-name", "guest=%s,debug-threads=on" % name, "-S"]) + "\0")
    return str(root)


def test_stat_fields_are_counted_from_the_last_parenthesis():
    line = stat_line(7, "odd) name (x", 2, 10, 0x40, nice=-5)
    assert parse_stat(line) == {"flags": 0x40, "nice": -5, "priority": 10, "policy": "rr"}


@pytest.mark.parametrize("name, flags, role", [
    ("CPU 0/KVM", 0, ("vcpu", 0)),
    ("CPU 12/TCG", 0, ("vcpu", 12)),
    ("IO iothread3", 0, ("iothread", 3)),
    ("IO mon_iothread", 0, ("emulator", None)),
    ("qemu-system-x86", 0, ("emulator", None)),
    ("vnc_worker", 0, ("emulator", None)),
    ("kvm-nx-lpage-re", 0x4000, ("kernel", None)),
    ("CPU 0/KVM", 0x200000, ("kernel", None)),
])
def test_thread_roles_come_from_qemu_thread_names(name, flags, role):
    assert thread_role(name, flags) == role


def test_threads(tmp_path):
    root = make_proc(tmp_path)
    assert read_threads(PID, root) == [
        {"tid": 4242, "name": "qemu-system-x86", "role": "emulator", "index": None, "cpus": frozenset({0}),
         "policy": "other", "priority": 0, "nice": 0},
        {"tid": 4246, "name": "qemu-system-x86", "role": "emulator", "index": None, "cpus": frozenset({0}),
         "policy": "other", "priority": 0, "nice": 0},
        {"tid": 4247, "name": "IO iothread1", "role": "iothread", "index": 1, "cpus": frozenset({1}),
         "policy": "batch", "priority": 0, "nice": 0},
        {"tid": 4248, "name": "IO mon_iothread", "role": "emulator", "index": None, "cpus": frozenset({0}),
         "policy": "other", "priority": 0, "nice": 0},
        {"tid": 4249, "name": "CPU 0/KVM", "role": "vcpu", "index": 0, "cpus": frozenset({1}),
         "policy": "fifo", "priority": 5, "nice": 0},
        {"tid": 4250, "name": "CPU 1/KVM", "role": "vcpu", "index": 1, "cpus": frozenset({0, 1}),
         "policy": "other", "priority": 0, "nice": 0},
        {"tid": 4252, "name": "vnc_worker", "role": "emulator", "index": None, "cpus": frozenset({0}),
         "policy": "other", "priority": 0, "nice": 0},
        {"tid": 4270, "name": "kvm-nx-lpage-re", "role": "kernel", "index": None, "cpus": frozenset({1}),
         "policy": "other", "priority": 0, "nice": 0},
    ]


def test_smaps_and_numa_maps_parse():
    smaps = parse_smaps(SMAPS)
    assert sorted(smaps) == [0x55908d6e2000, HUGE_RAM, GUEST_RAM]
    assert smaps[GUEST_RAM] == {"size_kib": 131072, "file": None, "fields": {
        "Size": 131072, "KernelPageSize": 4, "Rss": 8192, "AnonHugePages": 6144, "Shared_Hugetlb": 0,
        "Private_Hugetlb": 0}}
    numa = parse_numa_maps(NUMA_MAPS)
    assert numa[HUGE_RAM] == {"policy": "bind:0", "huge": True, "kernel_page_kib": 2048, "pages": {0: 48, 1: 16},
                              "file": "/dev/hugepages/libvirt/qemu/1-g/qemu_back_mem.pc.ram.Xa1b2\\040(deleted)"}
    assert numa[0x7fc3001f8000] == {"policy": "default", "huge": False, "file": None, "kernel_page_kib": None,
                                    "pages": {}}


def test_mappings_join_smaps_with_numa_maps(tmp_path):
    root = make_proc(tmp_path)
    assert read_mappings(PID, root) == [
        {"start": 0x55908d6e2000, "size_kib": 4124, "file": "/usr/bin/qemu-system-x86_64", "hugetlb": False,
         "page_kib": 4, "nodes": {0: 4060}, "rss_kib": 4060, "anon_huge_kib": 0, "hugetlb_kib": 0},
        {"start": HUGE_RAM, "size_kib": 131072, "hugetlb": True, "page_kib": 2048,
         "file": "/dev/hugepages/libvirt/qemu/1-g/qemu_back_mem.pc.ram.Xa1b2 (deleted)",
         "nodes": {0: 98304, 1: 32768}, "rss_kib": 0, "anon_huge_kib": 0, "hugetlb_kib": 131072},
        {"start": GUEST_RAM, "size_kib": 131072, "file": None, "hugetlb": False, "page_kib": 4,
         "nodes": {0: 6144, 1: 2048}, "rss_kib": 8192, "anon_huge_kib": 6144, "hugetlb_kib": 0},
    ]


def test_whole_process(tmp_path):
    root = make_proc(tmp_path)
    process = read_qemu_process(str(PID), root)
    assert (process["pid"], len(process["threads"]), len(process["mappings"])) == (PID, 8, 3)


def test_a_missing_process_is_a_clear_error(tmp_path):
    with pytest.raises(ProcReadError) as caught:
        read_threads(99, str(tmp_path))
    assert str(caught.value) == "cannot list %s/99/task: No such file or directory" % tmp_path


def test_pid_from_the_pid_file_or_the_command_line(tmp_path):
    root = make_proc(tmp_path / "proc", name="vt-guest")
    run = tmp_path / "run"
    run.mkdir()
    assert find_qemu_pid("vt-guest", root, (str(run),)) == PID  # no pid file: found by its -name
    (run / "vt-guest.pid").write_text("%d" % PID)
    assert find_qemu_pid("vt-guest", root, (str(run),)) == PID
    (run / "vt-guest.pid").write_text("777")  # stale: pid 777 is not this guest's QEMU
    assert find_qemu_pid("vt-guest", root, (str(run),)) == PID
    assert find_qemu_pid("vt-gues", root, (str(run),)) is None
    assert find_qemu_pid("vt-guest-2", root, (str(run),)) is None


def test_default_hugepage_size(tmp_path):
    assert default_hugepage_kib(str(tmp_path)) == 2048
    (tmp_path / "meminfo").write_text("MemTotal:  100 kB\nHugepagesize:    1048576 kB\n")
    assert default_hugepage_kib(str(tmp_path)) == 1048576
