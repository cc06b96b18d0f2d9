"""make bench-guest: write the guest's initramfs (a gzip'd newc cpio) with busybox and the benchmark.

Usage: initramfs.py OUT.gz BUSYBOX GUESTBENCH

The /init script mounts /proc, runs /guestbench with the arguments of the kernel command line's
``bench=MIB,LOADS,WAKEUPS`` and powers the guest off. The cpio is written here (no cpio(1), no root
needed for the /dev/console node).
"""

import gzip
import os
import stat
import sys

INIT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
args=""
for word in $(/bin/busybox cat /proc/cmdline); do
  case "$word" in bench=*) args=$(echo "${word#bench=}" | /bin/busybox tr , ' ') ;; esac
done
echo "BENCH kernel=$(/bin/busybox uname -r) cpus=$(/bin/busybox nproc)"
/guestbench $args
echo "BENCH done"
/bin/busybox poweroff -f
"""


class Cpio:
    """The newc format: a 110-byte ASCII header, the NUL-terminated name, the data, each padded to 4 bytes."""

    def __init__(self):
        self.parts, self.inode = [], 1

    def add(self, name, mode, data=b"", rdev=(0, 0)):
        name_bytes = name.encode() + b"\0"
        fields = [self.inode, mode, 0, 0, 1 if not stat.S_ISDIR(mode) else 2, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name_bytes), 0]
        self.inode += 1
        header = b"070701" + b"".join(b"%08x" % value for value in fields)
        self.parts.append(header + name_bytes + b"\0" * (-(110 + len(name_bytes)) % 4))
        self.parts.append(data + b"\0" * (-len(data) % 4))

    def finish(self):
        self.add("TRAILER!!!", 0)
        return b"".join(self.parts)


def main(out, busybox, guestbench):
    archive = Cpio()
    for directory in ("bin", "dev", "proc", "sys", "tmp"):
        archive.add(directory, stat.S_IFDIR | 0o755)
    archive.add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    with open(busybox, "rb") as handle:
        archive.add("bin/busybox", stat.S_IFREG | 0o755, handle.read())
    for applet in ("sh", "echo", "mount", "poweroff"):
        archive.add("bin/" + applet, stat.S_IFLNK | 0o777, b"busybox")
    with open(guestbench, "rb") as handle:
        archive.add("guestbench", stat.S_IFREG | 0o755, handle.read())
    archive.add("init", stat.S_IFREG | 0o755, INIT.encode())
    data = archive.finish()
    with gzip.open(out + ".tmp", "wb", compresslevel=6) as handle:
        handle.write(data)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
