# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host kernel enforces for one QEMU process, read from /proc (a pure reader).

- every thread: its name, its role in the guest (vCPU, iothread, emulator, kernel worker), the host
  CPUs it may run on (``Cpus_allowed_list`` of ``task/TID/status``) and its scheduler policy and
  real-time priority (fields 41 and 40 of ``task/TID/stat``);
- every memory mapping: its size, kernel page size, and the memory it has on each host node
  (``smaps`` joined with ``numa_maps`` by start address).

QEMU names its threads when libvirt asks it to (``-name guest=...,debug-threads=on``): QEMU 7.2 calls
a vCPU thread ``CPU 0/KVM`` (``CPU 0/TCG`` under TCG), an iothread ``IO <object id>`` (libvirt's
ids are ``iothread1``, ...), and leaves the main thread with the program's name; QEMU's own helper
threads (``IO mon_iothread``, ``vnc_worker``, the RCU thread) sit with the main thread, where libvirt
puts them too (the emulator). KVM's ``kvm-nx-lpage-recovery`` worker shows in the task list but is
the kernel's, so it is reported and never compared.

Every function takes ``proc_root`` so that it can read a fake tree in tests.
"""

from __future__ import annotations

import os
import re

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import parse_cpuset

# sched(7) policy numbers, named as libvirt's <vcpusched scheduler=...> names them ("other" for SCHED_OTHER)
POLICIES = {0: "other", 1: "fifo", 2: "rr", 3: "batch", 5: "idle", 6: "deadline"}
# task flags (field 9 of stat) of threads that are the kernel's, not QEMU's
PF_USER_WORKER = 0x00004000
PF_KTHREAD = 0x00200000

_VCPU_NAME = re.compile(r"^CPU (\d+)/\w+$")
_IOTHREAD_NAME = re.compile(r"^IO iothread(\d+)$")


class ProcReadError(Exception):
    """The process (or one of its files) could not be read; the message says which file and why."""


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError as exc:
        raise ProcReadError("cannot read %s: %s" % (path, exc.strerror or exc))


def thread_role(name, flags=0):
    """(role, index) of a QEMU thread from its name: ('vcpu', 0), ('iothread', 1), ('emulator', None)
    or ('kernel', None)."""
    if flags & (PF_USER_WORKER | PF_KTHREAD):
        return "kernel", None
    match = _VCPU_NAME.match(name)
    if match:
        return "vcpu", int(match.group(1))
    match = _IOTHREAD_NAME.match(name)
    if match:
        return "iothread", int(match.group(1))
    return "emulator", None


def parse_stat(text):
    """The fields of a ``stat`` file that matter here: {'flags', 'nice', 'priority', 'policy'}.

    The name (field 2) may hold spaces and parentheses, so the fields are counted from its last ')'.
    """
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state): field N is rest[N - 3]
    return {"flags": int(rest[9 - 3]), "nice": int(rest[19 - 3]),
            "priority": int(rest[40 - 3]), "policy": POLICIES.get(int(rest[41 - 3]), rest[41 - 3])}


def parse_status_cpus(text):
    """The CPUs of ``Cpus_allowed_list`` in a ``status`` file, as a frozenset."""
    for line in text.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return parse_cpuset(line.split(":", 1)[1].strip(), "Cpus_allowed_list", allow_empty=True)
    raise ProcReadError("no Cpus_allowed_list in the status file")


def read_threads(pid, proc_root="/proc"):
    """Every thread of process ``pid``, by thread id: dicts with tid, name, role, index, cpus
    (frozenset), policy, priority and nice. Threads that end while being read are left out."""
    task_dir = os.path.join(proc_root, str(pid), "task")
    try:
        tids = sorted(int(tid) for tid in os.listdir(task_dir) if tid.isdigit())
    except OSError as exc:
        raise ProcReadError("cannot list %s: %s" % (task_dir, exc.strerror or exc))
    threads = []
    for tid in tids:
        base = os.path.join(task_dir, str(tid))
        try:
            name = _read(os.path.join(base, "comm")).rstrip("\n")
            try:
                stat = parse_stat(_read(os.path.join(base, "stat")))
            except (ValueError, IndexError):
                raise ProcReadError("cannot parse %s" % os.path.join(base, "stat"))
            cpus = parse_status_cpus(_read(os.path.join(base, "status")))
        except ProcReadError:
            if not os.path.isdir(base):
                continue  # the thread ended
            raise
        role, index = thread_role(name, stat["flags"])
        threads.append({"tid": tid, "name": name, "role": role, "index": index, "cpus": cpus,
                        "policy": stat["policy"], "priority": stat["priority"], "nice": stat["nice"]})
    if not threads:
        raise ProcReadError("process %s has no threads under %s" % (pid, task_dir))
    return threads


# a mapping's header line, or one of the fields read here (the regex engine skips the other lines)
_SMAPS_LINE = re.compile(r"^(?:([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+[ \t]*(.*)"
                         r"|(Size|KernelPageSize|Rss|AnonHugePages|Shared_Hugetlb|Private_Hugetlb):\s+(\d+) kB)$",
                         re.MULTILINE)


def parse_smaps(text):
    """{start address: {'size_kib', 'file', 'fields': {smaps key: KiB}}} of an ``smaps`` file (the keys
    read here: Size, KernelPageSize, Rss, AnonHugePages, Shared_Hugetlb, Private_Hugetlb)."""
    mappings, fields = {}, None
    for match in _SMAPS_LINE.finditer(text):
        start, end, path, key, value = match.groups()
        if key is None:
            start, end = int(start, 16), int(end, 16)
            fields = {}
            mappings[start] = {"size_kib": (end - start) // 1024, "file": path.strip() or None, "fields": fields}
        elif fields is not None:
            fields[key] = int(value)
    return mappings


def parse_numa_maps(text):
    """{start address: {'policy', 'huge', 'file', 'kernel_page_kib', 'pages': {node: pages}}} of a
    ``numa_maps`` file (pages in units of the mapping's kernel page size)."""
    mappings = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2:
            continue
        entry = {"policy": words[1], "huge": False, "file": None, "kernel_page_kib": None, "pages": {}}
        for word in words[2:]:
            key, _sep, value = word.partition("=")
            if word == "huge":
                entry["huge"] = True
            elif key == "file":
                entry["file"] = value
            elif key == "kernelpagesize_kB":
                entry["kernel_page_kib"] = int(value)
            elif len(key) > 1 and key[0] == "N" and key[1:].isdigit():
                entry["pages"][int(key[1:])] = int(value)
        mappings[int(words[0], 16)] = entry
    return mappings


def read_mappings(pid, proc_root="/proc"):
    """Every memory mapping of process ``pid``, by address: dicts with start, size_kib, file,
    hugetlb (bool), page_kib, nodes ({host node: KiB resident there}), rss_kib, anon_huge_kib
    (transparent hugepages) and hugetlb_kib (hugetlb pages held)."""
    base = os.path.join(proc_root, str(pid))
    smaps = parse_smaps(_read(os.path.join(base, "smaps")))
    numa = parse_numa_maps(_read(os.path.join(base, "numa_maps")))
    mappings = []
    for start in sorted(smaps):
        smap, node_info = smaps[start], numa.get(start, {})
        fields = smap["fields"]
        page_kib = node_info.get("kernel_page_kib") or fields.get("KernelPageSize") or 4
        hugetlb = bool(node_info.get("huge")) or bool(fields.get("Private_Hugetlb") or fields.get("Shared_Hugetlb"))
        mappings.append({
            "start": start, "size_kib": smap["size_kib"], "file": smap["file"] or node_info.get("file"),
            "hugetlb": hugetlb, "page_kib": page_kib,
            "nodes": {node: pages * page_kib for node, pages in sorted(node_info.get("pages", {}).items()) if pages},
            "rss_kib": fields.get("Rss", 0), "anon_huge_kib": fields.get("AnonHugePages", 0),
            "hugetlb_kib": fields.get("Private_Hugetlb", 0) + fields.get("Shared_Hugetlb", 0),
        })
    return mappings


def read_qemu_process(pid, proc_root="/proc"):
    """{'pid', 'threads', 'mappings'} of one QEMU process (see read_threads and read_mappings)."""
    return {"pid": int(pid), "threads": read_threads(pid, proc_root), "mappings": read_mappings(pid, proc_root)}


def read_pid_file(path):
    """The pid in a pid file such as /run/libvirt/qemu/NAME.pid."""
    text = _read(path).strip()
    if not text.isdigit():
        raise ProcReadError("%s holds no pid (%r)" % (path, text[:40]))
    return int(text)


def _cmdline_names_guest(pid, name, proc_root):
    try:
        args = _read(os.path.join(proc_root, str(pid), "cmdline")).split("\0")
    except ProcReadError:
        return False
    for before, value in zip(args, args[1:]):
        if before == "-name" and ("guest=%s" % name in value.split(",") or value == name):
            return True
    return False


def find_qemu_pid(name, proc_root="/proc", run_dirs=("/run/libvirt/qemu",)):
    """The pid of the QEMU process of guest ``name``: its libvirt pid file when that pid still runs QEMU
    for this guest, else the process whose command line has ``-name guest=NAME,...``. None if none."""
    for directory in run_dirs:
        path = os.path.join(directory, name + ".pid")
        if os.path.exists(path):
            try:
                pid = read_pid_file(path)
            except ProcReadError:
                continue
            if _cmdline_names_guest(pid, name, proc_root):
                return pid
    try:
        pids = sorted(int(entry) for entry in os.listdir(proc_root) if entry.isdigit())
    except OSError:
        return None
    for pid in pids:
        if _cmdline_names_guest(pid, name, proc_root):
            return pid
    return None


def default_hugepage_kib(proc_root="/proc"):
    """The host's default hugepage size (Hugepagesize of meminfo), 2048 when it cannot be read."""
    try:
        text = _read(os.path.join(proc_root, "meminfo"))
    except ProcReadError:
        return 2048
    match = re.search(r"^Hugepagesize:\s+(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 2048
