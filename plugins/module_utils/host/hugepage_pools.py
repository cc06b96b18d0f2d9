# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hugepage pools: requests, checks, boot-time arguments, and run-time reservation through sysfs.

The kernel reserves pages when a count is written to
``/sys/devices/system/node/nodeN/hugepages/hugepages-SIZEkB/nr_hugepages`` (one
node) or ``/sys/kernel/mm/hugepages/hugepages-SIZEkB/nr_hugepages`` (host-wide,
spread over the nodes), and silently allocates fewer when memory is
fragmented; so every write is read back, and retried for a bounded time.
"""

from __future__ import annotations

import os
import re
import time

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size, parse_size

BOOT_TIME = ("auto", "always", "never")
# Pages above the buddy allocator's largest block (4 MiB on x86-64) are "gigantic":
# reserving them at run time needs a contiguous 1 GiB and usually fails on a busy host.
GIGANTIC_ABOVE_KIB = 4096
_SIZE_DIR = re.compile(r"^hugepages-(\d+)kB$")
_NODE_DIR = re.compile(r"^node(\d+)$")


def kernel_size(size_kib):
    """A page size as the kernel's memparse reads it: '2M', '1G', '64K'."""
    for suffix, factor in (("G", 1024 * 1024), ("M", 1024)):
        if size_kib % factor == 0:
            return "%d%s" % (size_kib // factor, suffix)
    return "%dK" % size_kib


def where(node):
    return "host-wide" if node is None else "node %d" % node


class SysfsPools:
    """Reads and writes hugepage pools under a sysfs root (``/sys`` or a fake tree)."""

    def __init__(self, sysfs_root="/sys"):
        self.root = sysfs_root

    def _dir(self, node, size_kib):
        if node is None:
            return os.path.join(self.root, "kernel/mm/hugepages", "hugepages-%dkB" % size_kib)
        return os.path.join(self.root, "devices/system/node", "node%d" % node, "hugepages", "hugepages-%dkB" % size_kib)

    def sizes(self):
        """Page sizes (KiB) the kernel offers, ascending."""
        base = os.path.join(self.root, "kernel/mm/hugepages")
        names = os.listdir(base) if os.path.isdir(base) else []
        return sorted(int(m.group(1)) for m in map(_SIZE_DIR.match, names) if m)

    def nodes(self):
        """NUMA node ids, ascending (empty on a kernel without NUMA)."""
        base = os.path.join(self.root, "devices/system/node")
        names = os.listdir(base) if os.path.isdir(base) else []
        return sorted(int(m.group(1)) for m in map(_NODE_DIR.match, names) if m)

    def _read_int(self, path):
        with open(path) as handle:
            return int(handle.read().strip() or 0)

    def count(self, node, size_kib):
        """The pool's persistent page count (nr_hugepages)."""
        return self._read_int(os.path.join(self._dir(node, size_kib), "nr_hugepages"))

    def set_count(self, node, size_kib, count):
        with open(os.path.join(self._dir(node, size_kib), "nr_hugepages"), "w") as handle:
            handle.write("%d\n" % count)

    def stats(self, node, size_kib):
        """{'total', 'free', 'surplus'} of one pool."""
        directory = self._dir(node, size_kib)
        result = {}
        for key, name in (("total", "nr_hugepages"), ("free", "free_hugepages"), ("surplus", "surplus_hugepages")):
            path = os.path.join(directory, name)
            result[key] = self._read_int(path) if os.path.exists(path) else 0
        return result

    def meminfo(self, node):
        """{'MemTotal': kib, 'MemFree': kib, ...} of a node (empty when unreadable)."""
        info = {}
        try:
            with open(os.path.join(self.root, "devices/system/node", "node%d" % node, "meminfo")) as handle:
                for line in handle:
                    # "Node 0 MemFree:         4350008 kB"
                    words = line.replace(":", " ").split()
                    if len(words) >= 4 and words[0] == "Node":
                        info[words[2]] = int(words[3])
        except (IOError, OSError, ValueError):
            pass
        return info

    def compact(self):
        """Ask the kernel to compact memory before a retry (real /sys only)."""
        if os.path.realpath(self.root) != "/sys":
            return
        try:
            with open("/proc/sys/vm/compact_memory", "w") as handle:
                handle.write("1\n")
        except (IOError, OSError):
            pass


def parse_requests(pages, sizes, nodes, option="pages"):
    """Normalise and check the requested pools.

    ``pages``: list of {size, count, node?}. Returns a list of
    {'node': int|None, 'size_kib': int, 'count': int} in the input order.
    Refuses sizes the kernel does not offer, missing nodes, duplicates, and
    a size requested both host-wide and per node.
    """
    requests, seen = [], {}
    for index, page in enumerate(pages or []):
        label = "%s[%d]" % (option, index)
        if not isinstance(page, dict):
            raise option_error(label, page, "expected a dictionary with size, count and optionally node")
        unknown = sorted(set(page) - {"size", "count", "node"})
        if unknown:
            raise option_error(label, page, "unknown keys %s; use size, count and node" % ", ".join(unknown))
        if page.get("size") is None:
            raise option_error(label + ".size", None, "a page size such as 2M or 1G is required")
        nbytes = parse_size(page["size"], label + ".size", default_unit="KiB", allow_zero=False)
        size_kib = nbytes // 1024
        if nbytes % 1024 or size_kib not in sizes:
            offered = ", ".join(format_size(s * 1024) for s in sizes) or "none"
            hint = " (1 GiB pages need the CPU flag pdpe1gb)" if size_kib == 1024 * 1024 else ""
            raise option_error(label + ".size", page["size"], "this kernel offers hugepages of %s only%s"
                               % (offered, hint))
        count = page.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise option_error(label + ".count", count, "expected a number of pages, 0 or more (0 releases them)")
        node = page.get("node")
        if node is not None:
            if isinstance(node, bool) or not isinstance(node, int) or node not in nodes:
                raise option_error(label + ".node", node, "this host has NUMA nodes %s"
                                   % (", ".join(str(n) for n in nodes) or "none"))
        key = (node, size_kib)
        if key in seen:
            raise option_error(label, page, "%s already asks for %s pages %s"
                               % (seen[key], kernel_size(size_kib), where(node)))
        seen[key] = label
        requests.append({"node": node, "size_kib": size_kib, "count": count})
    for size_kib in set(r["size_kib"] for r in requests):
        scopes = set(r["node"] is None for r in requests if r["size_kib"] == size_kib)
        if len(scopes) == 2:
            raise option_error(option, pages, "%s pages are asked for both host-wide and per node; give one or the "
                               "other" % kernel_size(size_kib))
    return requests


def split_boot_time(requests, boot_time):
    """Split requests into (run-time, boot-time) lists according to ``boot_time``.

    never: everything at run time; auto: gigantic pages (1 GiB) at boot only,
    the rest at run time; always: everything at boot, and the non-gigantic
    sizes also at run time so they are usable before the reboot.
    """
    if boot_time not in BOOT_TIME:
        raise option_error("boot_time", boot_time, "expected one of %s" % ", ".join(BOOT_TIME))
    runtime, boot = [], []
    for request in requests:
        gigantic = request["size_kib"] > GIGANTIC_ABOVE_KIB
        if boot_time == "never":
            runtime.append(request)
        elif boot_time == "auto":
            (boot if gigantic else runtime).append(request)
        else:
            boot.append(request)
            if not gigantic:
                runtime.append(request)
    return runtime, boot


def kernel_args(boot_requests, default_size_kib=None):
    """Kernel arguments for boot-time pools: default_hugepagesz=, then hugepagesz=/hugepages= per size.

    Per-node counts use the kernel's node syntax (hugepages=0:4,1:4; Linux 5.19+).
    A count of 0 gives no argument.
    """
    args = []
    if default_size_kib:
        args.append("default_hugepagesz=%s" % kernel_size(default_size_kib))
    for size_kib in sorted(set(r["size_kib"] for r in boot_requests)):
        of_size = sorted((r for r in boot_requests if r["size_kib"] == size_kib and r["count"] > 0),
                         key=lambda r: -1 if r["node"] is None else r["node"])
        if not of_size:
            continue
        if of_size[0]["node"] is None:
            count = "%d" % of_size[0]["count"]
        else:
            count = ",".join("%d:%d" % (r["node"], r["count"]) for r in of_size)
        args.extend(["hugepagesz=%s" % kernel_size(size_kib), "hugepages=%s" % count])
    return args


def check_memory(pools, runtime, boot, min_free_kib, option="min_free"):
    """Refuse reservations that would leave less than ``min_free_kib`` free on a node (or host-wide)."""
    nodes = pools.nodes()
    free, total = {}, {}
    for node in nodes:
        info = pools.meminfo(node)
        free[node], total[node] = info.get("MemFree"), info.get("MemTotal")
    if any(value is None for value in list(free.values()) + list(total.values())) or not nodes:
        return  # no per-node meminfo to check against
    text = format_size(min_free_kib * 1024)
    for scope in nodes + [None]:
        scope_free = free[scope] if scope is not None else sum(free.values())
        scope_total = total[scope] if scope is not None else sum(total.values())
        minimum = min_free_kib if scope is not None else min_free_kib * len(nodes)
        added = sum(max(0, r["count"] - pools.count(r["node"], r["size_kib"])) * r["size_kib"]
                    for r in runtime if r["node"] == scope)
        if added and scope_free - added < minimum:
            raise option_error(option, text, "the run-time reservation asks %s more on %s, which has %s free: "
                               "less than %s would be left" % (format_size(added * 1024), where(scope),
                                                               format_size(scope_free * 1024),
                                                               format_size(minimum * 1024)))
        at_boot = sum(r["count"] * r["size_kib"] for r in boot if r["node"] == scope)
        if at_boot and scope_total - at_boot < minimum:
            raise option_error(option, text, "the boot-time reservation takes %s of the %s of %s: less than %s "
                               "would be left" % (format_size(at_boot * 1024), format_size(scope_total * 1024),
                                                  where(scope), format_size(minimum * 1024)))


def reserve(pools, runtime, check_mode=False, allow_partial=False, timeout=30.0, interval=1.0,
            sleep=time.sleep, clock=time.monotonic):
    """Set the run-time pools, read them back, retry until ``timeout`` seconds.

    Returns {'changes': [...], 'short': [...]}. Each change is {node, size_kib,
    before, requested, allocated}. When pools stay short and ``allow_partial``
    is false, every pool changed here is put back as it was and TuningError is
    raised with requested versus allocated per node and size.
    """
    changes = []
    for request in runtime:
        before = pools.count(request["node"], request["size_kib"])
        if before != request["count"]:
            changes.append({"node": request["node"], "size_kib": request["size_kib"], "before": before,
                            "requested": request["count"], "allocated": before})
    if check_mode or not changes:
        return {"changes": changes, "short": []}
    deadline = clock() + timeout
    pending = list(changes)
    while True:
        for change in pending:
            pools.set_count(change["node"], change["size_kib"], change["requested"])
        for change in changes:
            change["allocated"] = pools.count(change["node"], change["size_kib"])
        pending = [c for c in changes if c["allocated"] < c["requested"]]
        if not pending or clock() >= deadline:
            break
        pools.compact()
        sleep(interval)
    short = [dict(c) for c in pending]
    if short and not allow_partial:
        for change in changes:
            pools.set_count(change["node"], change["size_kib"], change["before"])
        raise TuningError("the kernel allocated fewer hugepages than requested within %ss (memory too fragmented "
                          "or too little free); pools put back as they were: %s. Reserve at boot "
                          "(boot_time: always) or allow a partial reservation" % (
                              ("%g" % timeout), "; ".join(describe_short(c) for c in short)))
    return {"changes": changes, "short": short}


def describe_short(change):
    return "%s, %s pages: requested %d, allocated %d" % (where(change["node"]), kernel_size(change["size_kib"]),
                                                         change["requested"], change["allocated"])


def read_pools(pools):
    """Every pool per node and host-wide: ([{node, size_kib, total, free, surplus}], [{size_kib, ...}])."""
    per_node, host = [], []
    for node in pools.nodes():
        for size_kib in pools.sizes():
            entry = {"node": node, "size_kib": size_kib}
            entry.update(pools.stats(node, size_kib))
            per_node.append(entry)
    for size_kib in pools.sizes():
        entry = {"size_kib": size_kib}
        entry.update(pools.stats(None, size_kib))
        host.append(entry)
    return per_node, host


def persistence(runtime, default_size_kib):
    """How run-time pools survive a reboot: sysctl for the host-wide default size, a boot unit for the rest.

    Returns {'sysctl_nr_hugepages': int|None, 'boot_pools': [{node, size_kib, count}]}.
    """
    sysctl, boot = None, []
    for request in runtime:
        if request["node"] is None and request["size_kib"] == default_size_kib:
            sysctl = request["count"]
        elif request["count"] > 0:
            boot.append(dict(request))
    return {"sysctl_nr_hugepages": sysctl, "boot_pools": boot}


def running_default_size_kib(proc_root):
    """The running kernel's default hugepage size (KiB), from PROC/meminfo; None when unknown."""
    try:
        with open(os.path.join(proc_root, "meminfo")) as handle:
            for line in handle:
                if line.startswith("Hugepagesize:"):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError, IndexError):
        pass
    return None


def converge_pools(params, check_mode):
    """The hugepage_pools module's run: reserve ``params['pages']`` at run time where it can, say what
    needs the boot command line, and read the pools back. Raises TuningError before any write on a refusal."""
    pools = SysfsPools(params["sysfs_root"])
    sizes, nodes = pools.sizes(), pools.nodes()
    if not sizes:
        raise TuningError("sysfs_root: %r is not valid: it offers no hugepage sizes (no kernel/mm/hugepages)"
                          % params["sysfs_root"])
    pages = [dict((k, v) for k, v in page.items() if v is not None) for page in params["pages"]]
    requests = parse_requests(pages, sizes, nodes, "pages")
    default_size_kib = None
    if params["default_size"]:
        default_size_kib = parse_requests([{"size": params["default_size"], "count": 0}], sizes, nodes,
                                          "default_size")[0]["size_kib"]
    min_free_kib = parse_size(params["min_free"], "min_free", default_unit="KiB") // 1024
    runtime, boot = split_boot_time(requests, params["boot_time"])
    check_memory(pools, runtime, boot, min_free_kib)
    outcome = reserve(pools, runtime, check_mode=check_mode, allow_partial=params["allow_partial"],
                      timeout=params["timeout"])
    per_node, host = read_pools(pools)
    running_default = running_default_size_kib(params["proc_root"])
    result = dict(
        changed=bool(outcome["changes"]),
        pools=per_node,
        host_pools=host,
        changes=outcome["changes"],
        short=outcome["short"],
        kernel_args=kernel_args(boot, default_size_kib),
        default_size_kib=running_default,
    )
    result.update(persistence(runtime, running_default))
    return result
