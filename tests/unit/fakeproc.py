# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fake /proc trees of a QEMU process, shaped like QEMU 7.2's under libvirt 9.0 on the test machines."""

from __future__ import annotations

import os

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
7fc307e00000-7fc30fe00000 rw-p 00000000 00:00 0{space}
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
""".format(space=" ")  # smaps pads an anonymous mapping's header with a space
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


def make_proc(root, threads=None, smaps=SMAPS, numa_maps=NUMA_MAPS, name="vt-guest", pid=PID):
    threads = THREADS if threads is None else threads
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
