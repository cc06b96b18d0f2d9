# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Described hosts for the host_info and numa_plan tests.

Each host is a small spec; ``capabilities_xml(spec)`` writes what ``virsh capabilities``
would print for it and ``write_sysfs(spec, root)`` a fake /sys tree. The XML files under
fixtures/hosts/ are generated from these specs (``python tests/unit/fakehost.py``) and a
test checks they still agree.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "hosts")
GIB_KIB = 1024 * 1024


def _fmt(cpus):
    cpus = sorted(cpus)
    runs = []
    for c in cpus:
        if runs and c == runs[-1][1] + 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return ",".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in runs)


def make_spec(name, nodes, threads, numbering, offline=(), isolated=(), nohz_full=(),
              memory_gib=None, pages=None, free_pages=None, distances=None, cmdline=""):
    """Build a host spec.

    nodes: cores per node (one socket per node). threads: SMT threads per core.
    numbering: 'interleaved' (sibling n + total/2) or 'adjacent' (threads of a core consecutive).
    pages: {node: {size_kib: total}}; free_pages: {node: {size_kib: free}} (sysfs only).
    """
    total_cores = sum(nodes)
    cpus = []
    core_index = 0
    for node, ncores in enumerate(nodes):
        for core in range(ncores):
            if numbering == "interleaved":
                ids = [core_index + t * total_cores for t in range(threads)]
            else:
                ids = [core_index * threads + t for t in range(threads)]
            for cpu_id in ids:
                cpus.append({"id": cpu_id, "node": node, "socket": node, "die": 0, "core": core,
                             "siblings": ids, "online": cpu_id not in offline})
            core_index += 1
    cpus.sort(key=lambda c: c["id"])
    n = len(nodes)
    if distances is None:
        distances = [[10 if a == b else 21 for b in range(n)] for a in range(n)]
    memory_gib = memory_gib or [4 * ncores for ncores in nodes]
    return {
        "name": name, "cpus": cpus, "nodes": list(range(n)), "memory_kib": [m * GIB_KIB for m in memory_gib],
        "pages": pages or {}, "free_pages": free_pages or {}, "distances": distances,
        "isolated": sorted(isolated), "nohz_full": sorted(nohz_full), "cmdline": cmdline,
    }


HOSTS = {
    # 2 sockets x 28 cores x 2 threads; siblings n and n+56
    "two-socket-interleaved": make_spec(
        "two-socket-interleaved", [28, 28], 2, "interleaved", memory_gib=[192, 192],
        pages={0: {2048: 8192, 1048576: 32}, 1: {2048: 8192, 1048576: 32}},
        isolated=list(range(2, 28)) + list(range(30, 56)) + list(range(58, 84)) + list(range(86, 112)),
        nohz_full=list(range(2, 28)) + list(range(30, 56)) + list(range(58, 84)) + list(range(86, 112)),
        cmdline="BOOT_IMAGE=/vmlinuz root=/dev/sda1 isolcpus=managed_irq,domain,2-27,30-55,58-83,86-111"),
    # 2 nodes x 8 cores x 2 threads; siblings 2n and 2n+1
    "adjacent": make_spec(
        "adjacent", [8, 8], 2, "adjacent", memory_gib=[32, 32],
        pages={0: {2048: 2048}, 1: {2048: 2048}}, free_pages={0: {2048: 1024}, 1: {2048: 2048}}),
    # 4 nodes with 4, 2, 3 and 1 cores (x2 threads, adjacent numbering) and unequal memory
    "four-nodes-unequal": make_spec(
        "four-nodes-unequal", [4, 2, 3, 1], 2, "adjacent", memory_gib=[16, 8, 12, 4],
        pages={0: {2048: 1024}, 1: {2048: 512}, 2: {2048: 2048}, 3: {2048: 0}},
        distances=[[10, 16, 16, 22], [16, 10, 22, 16], [16, 22, 10, 16], [22, 16, 16, 10]]),
    # 2 nodes x 4 cores x 2 threads (siblings n, n+8); CPUs 3, 11 (a whole core) and 13 offline
    "offline-cpus": make_spec(
        "offline-cpus", [4, 4], 2, "interleaved", offline=(3, 11, 13), memory_gib=[8, 8]),
    # 2 nodes x 8 single-thread cores
    "no-smt": make_spec("no-smt", [8, 8], 1, "adjacent", memory_gib=[16, 16],
                        pages={0: {1048576: 8}, 1: {1048576: 8}}),
}


def capabilities_xml(spec):
    """virsh capabilities output for the spec (host part only, as libvirt 9.0 writes it)."""
    out = ["<capabilities>", "", "  <host>", "    <uuid>00000000-0000-0000-0000-000000000001</uuid>",
           "    <cpu>", "      <arch>x86_64</arch>", "    </cpu>", "    <topology>",
           "      <cells num='%d'>" % len(spec["nodes"])]
    for node in spec["nodes"]:
        cpus = [c for c in spec["cpus"] if c["node"] == node and c["online"]]
        mem = spec["memory_kib"][node]
        node_pages = spec["pages"].get(node, {})
        huge_kib = sum(size * count for size, count in node_pages.items())
        out.append("        <cell id='%d'>" % node)
        out.append("          <memory unit='KiB'>%d</memory>" % mem)
        out.append("          <pages unit='KiB' size='4'>%d</pages>" % ((mem - huge_kib) // 4))
        for size in (2048, 1048576):
            out.append("          <pages unit='KiB' size='%d'>%d</pages>" % (size, node_pages.get(size, 0)))
        out.append("          <distances>")
        for other in spec["nodes"]:
            out.append("            <sibling id='%d' value='%d'/>" % (other, spec["distances"][node][other]))
        out.append("          </distances>")
        # libvirt lists the node's CPUs from its cpumap: only online ones
        out.append("          <cpus num='%d'>" % len(cpus))
        for c in cpus:
            sib = [s for s in c["siblings"] if s not in [o["id"] for o in spec["cpus"] if not o["online"]]]
            out.append("            <cpu id='%d' socket_id='%d' die_id='%d' core_id='%d' siblings='%s'/>"
                       % (c["id"], c["socket"], c["die"], c["core"], _fmt(sib)))
        out.append("          </cpus>")
        out.append("        </cell>")
    out += ["      </cells>", "    </topology>", "    <cache>"]
    for node in spec["nodes"]:
        cpus = [c["id"] for c in spec["cpus"] if c["node"] == node and c["online"]]
        out.append("      <bank id='%d' level='3' type='both' size='32' unit='MiB' cpus='%s'/>" % (node, _fmt(cpus)))
    out += ["    </cache>", "  </host>", "", "</capabilities>", ""]
    return "\n".join(out)


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text + "\n")


def write_sysfs(spec, root):
    """Write a fake /sys tree for the spec under root."""
    offline = [c["id"] for c in spec["cpus"] if not c["online"]]
    cpu_dir = os.path.join(root, "devices", "system", "cpu")
    for c in spec["cpus"]:
        base = os.path.join(cpu_dir, "cpu%d" % c["id"])
        os.makedirs(os.path.join(base, "node%d" % c["node"]), exist_ok=True)
        if c["id"] != 0:
            _write(os.path.join(base, "online"), "1" if c["online"] else "0")
        if not c["online"]:
            continue  # the kernel drops topology and cache of offline CPUs
        _write(os.path.join(base, "topology", "physical_package_id"), str(c["socket"]))
        _write(os.path.join(base, "topology", "die_id"), str(c["die"]))
        _write(os.path.join(base, "topology", "core_id"), str(c["core"]))
        _write(os.path.join(base, "topology", "thread_siblings_list"),
               _fmt([s for s in c["siblings"] if s not in offline]))
        _write(os.path.join(base, "cache", "index3", "level"), "3")
        _write(os.path.join(base, "cache", "index3", "shared_cpu_list"),
               _fmt([o["id"] for o in spec["cpus"] if o["node"] == c["node"] and o["online"]]))
    _write(os.path.join(cpu_dir, "isolated"), _fmt(spec["isolated"]))
    if spec["nohz_full"]:
        _write(os.path.join(cpu_dir, "nohz_full"), _fmt(spec["nohz_full"]))
    else:
        _write(os.path.join(cpu_dir, "nohz_full"), "(null)")
    for node in spec["nodes"]:
        base = os.path.join(root, "devices", "system", "node", "node%d" % node)
        cpus = [c["id"] for c in spec["cpus"] if c["node"] == node and c["online"]]
        _write(os.path.join(base, "cpulist"), _fmt(cpus))
        mem = spec["memory_kib"][node]
        _write(os.path.join(base, "meminfo"),
               "Node %d MemTotal:       %d kB\nNode %d MemFree:        %d kB\nNode %d MemUsed:        %d kB"
               % (node, mem, node, mem // 2, node, mem - mem // 2))
        _write(os.path.join(base, "distance"), " ".join(str(d) for d in spec["distances"][node]))
        for size in (2048, 1048576):
            total = spec["pages"].get(node, {}).get(size, 0)
            free = spec["free_pages"].get(node, {}).get(size, total)
            pool = os.path.join(base, "hugepages", "hugepages-%dkB" % size)
            _write(os.path.join(pool, "nr_hugepages"), str(total))
            _write(os.path.join(pool, "free_hugepages"), str(free))
            _write(os.path.join(pool, "surplus_hugepages"), "0")
    return root


def write_proc(spec, root):
    """A fake /proc with only cmdline."""
    _write(os.path.join(root, "cmdline"), spec["cmdline"])
    return root


def fixture_path(name):
    return os.path.join(FIXTURES, name + ".capabilities.xml")


def load_capabilities(name):
    with open(fixture_path(name)) as handle:
        return handle.read()


if __name__ == "__main__":
    os.makedirs(FIXTURES, exist_ok=True)
    for host_name, host_spec in HOSTS.items():
        with open(fixture_path(host_name), "w") as out_file:
            out_file.write(capabilities_xml(host_spec))
    sys.stdout.write("wrote %d capabilities files under %s\n" % (len(HOSTS), FIXTURES))
