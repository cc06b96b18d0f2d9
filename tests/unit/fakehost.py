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
              memory_gib=None, pages=None, free_pages=None, distances=None, cmdline="", nodes_per_socket=1,
              pci=()):
    """Build a host spec.

    nodes: cores per node (one socket per node, or nodes_per_socket nodes per socket, as with
    sub-NUMA clustering). threads: SMT threads per core.
    numbering: 'interleaved' (sibling n + total/2) or 'adjacent' (threads of a core consecutive).
    pages: {node: {size_kib: total}}; free_pages: {node: {size_kib: free}} (sysfs only).
    pci: PCI devices for node-device XML: {address, node (-1: none), class, vendor, product, driver,
    pf (address of the physical function), vfs (addresses of the virtual functions)}.
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
                cpus.append({"id": cpu_id, "node": node, "socket": node // nodes_per_socket, "die": 0,
                             "core": core + (node % nodes_per_socket) * ncores,
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
        "pci": [dict({"class": "0x020000", "vendor": "0x8086", "product": "0x1572", "driver": "vfio-pci",
                      "pf": None, "vfs": []}, **device) for device in pci],
    }


def _nic(address, node, vfs=(), driver="i40e"):
    return {"address": address, "node": node, "driver": driver, "vfs": list(vfs)}


def _vf(address, node, pf):
    return {"address": address, "node": node, "product": "0x154c", "driver": "vfio-pci", "pf": pf}


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
    # 2 nodes x 4 cores x 2 threads (siblings 2n, 2n+1), 2 MiB and 1 GiB pages; a NIC on node 1 with two
    # virtual functions, a GPU on node 0, a SATA controller that reports no NUMA node
    "two-node-nic": make_spec(
        "two-node-nic", [4, 4], 2, "adjacent", memory_gib=[16, 16],
        pages={0: {2048: 1024, 1048576: 4}, 1: {2048: 1024, 1048576: 4}},
        pci=[_nic("0000:3b:00.0", 1, vfs=["0000:3b:02.0", "0000:3b:02.1"]),
             _vf("0000:3b:02.0", 1, "0000:3b:00.0"), _vf("0000:3b:02.1", 1, "0000:3b:00.0"),
             {"address": "0000:17:00.0", "node": 0, "class": "0x030200", "vendor": "0x10de", "product": "0x20b5"},
             {"address": "0000:00:17.0", "node": -1, "class": "0x010601", "product": "0xa352", "driver": "ahci"}]),
    # 2 sockets of 2 nodes each (sub-NUMA clustering), 4 single-thread cores per node, 1 GiB pages;
    # NICs on nodes 1 and 3
    "snc-four-node-pci": make_spec(
        "snc-four-node-pci", [4, 4, 4, 4], 1, "adjacent", memory_gib=[8, 8, 8, 8], nodes_per_socket=2,
        pages=dict((n, {1048576: 4}) for n in range(4)),
        distances=[[10, 11, 21, 21], [11, 10, 21, 21], [21, 21, 10, 11], [21, 21, 11, 10]],
        pci=[_nic("0000:18:00.0", 1), _nic("0000:af:00.0", 3)]),
}
# the bench host of issue 11: 4 sockets x 32 cores x 2 threads (not a fixture file: only the bench uses it)
BENCH_HOST = make_spec("four-socket-32-core", [32, 32, 32, 32], 2, "interleaved", memory_gib=[256] * 4,
                       pages=dict((n, {2048: 16384, 1048576: 64}) for n in range(4)))


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


def nodedev_xml(spec):
    """virsh nodedev-dumpxml output of each PCI device of the spec (libvirt 9.0's shape), in address order."""
    out = []
    for device in sorted(spec.get("pci") or [], key=lambda d: d["address"]):
        domain, bus, rest = device["address"].split(":")
        slot, function = rest.split(".")
        name = "pci_%s_%s_%s_%s" % (domain, bus, slot, function)
        lines = ["<device>", "  <name>%s</name>" % name,
                 "  <path>/sys/devices/pci%s:%s/%s</path>" % (domain, bus, device["address"]),
                 "  <parent>computer</parent>"]
        if device.get("driver"):
            lines += ["  <driver>", "    <name>%s</name>" % device["driver"], "  </driver>"]
        lines += ["  <capability type='pci'>", "    <class>%s</class>" % device["class"],
                  "    <domain>%d</domain>" % int(domain, 16), "    <bus>%d</bus>" % int(bus, 16),
                  "    <slot>%d</slot>" % int(slot, 16), "    <function>%d</function>" % int(function, 16),
                  "    <product id='%s'>Device %s</product>" % (device["product"], device["product"][2:]),
                  "    <vendor id='%s'>Vendor %s</vendor>" % (device["vendor"], device["vendor"][2:])]
        if device.get("pf"):
            pdomain, pbus, prest = device["pf"].split(":")
            pslot, pfunction = prest.split(".")
            lines += ["    <capability type='phys_function'>",
                      "      <address domain='0x%s' bus='0x%s' slot='0x%s' function='0x%s'/>"
                      % (pdomain, pbus, pslot, pfunction), "    </capability>"]
        if device.get("vfs"):
            lines.append("    <capability type='virt_functions' maxCount='64'>")
            for vf in device["vfs"]:
                vdomain, vbus, vrest = vf.split(":")
                vslot, vfunction = vrest.split(".")
                lines.append("      <address domain='0x%s' bus='0x%s' slot='0x%s' function='0x%s'/>"
                             % (vdomain, vbus, vslot, vfunction))
            lines.append("    </capability>")
        lines += ["    <iommuGroup number='%d'>" % int(bus, 16),
                  "      <address domain='0x%s' bus='0x%s' slot='0x%s' function='0x%s'/>"
                  % (domain, bus, slot, function), "    </iommuGroup>"]
        if device["node"] >= 0:
            lines.append("    <numa node='%d'/>" % device["node"])
        lines += ["  </capability>", "</device>", ""]
        out.append("\n".join(lines))
    return out


def nodedev_path(name):
    return os.path.join(FIXTURES, name + ".nodedev.xml")


def load_nodedevs(name):
    """The node-device XML documents of a fixture host (one file, documents split at each <device>)."""
    with open(nodedev_path(name)) as handle:
        text = handle.read()
    return ["<device>" + part for part in text.split("<device>")[1:]]


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
        if host_spec["pci"]:
            with open(nodedev_path(host_name), "w") as out_file:
                out_file.write("".join(nodedev_xml(host_spec)))
    sys.stdout.write("wrote %d capabilities files under %s\n" % (len(HOSTS), FIXTURES))
