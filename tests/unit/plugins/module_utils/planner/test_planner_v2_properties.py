# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner v2 property tests: shared-vCPU limits under allocation ratios, topology preferences and maxima,
PCI locality and spread, checked by hypothesis and against exhaustive searches on small hosts."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan

from test_planner_properties import _cores, _memory, _split, parse_memory, small_hosts

GIB_KIB = 1024 * 1024
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ratios = st.sampled_from([1.0, 1.5, 2.0, 16.0])


def _node_cpus(host):
    return dict((n["id"], [c["id"] for c in host["cpus"] if c["node"] == n["id"]]) for n in host["nodes"])


shared_guests = st.fixed_dictionaries({
    "name": st.just("g"),
    "vcpus": st.integers(1, 6),
    "memory": st.integers(1, 4).map(lambda g: "%dG" % g),
    "numa_nodes": st.one_of(st.none(), st.integers(1, 2)),
})


def exhaustive_shared_fits(host, held, load, ratio, guest):
    """Does a placement of a shared guest exist? Every cell count and node order, by brute force."""
    node_cpus = _node_cpus(host)
    memory_kib = int(guest["memory"][:-1]) * GIB_KIB
    ks = [guest["numa_nodes"]] if guest["numa_nodes"] else range(1, min(len(node_cpus), guest["vcpus"]) + 1)
    for k in ks:
        if k > len(node_cpus) or guest["vcpus"] < k:
            continue
        counts = _split(guest["vcpus"], k, 1)
        mem = _memory(memory_kib, counts)
        for nodes in itertools.permutations(sorted(node_cpus), k):
            ok = True
            for node, count, kib in zip(nodes, counts, mem):
                pool = len([c for c in node_cpus[node] if c not in held])
                room = int(pool * ratio + 1e-9)
                if kib > host["nodes"][node]["memory_kib"] or count > pool or load.get(node, 0) + count > room:
                    ok = False
            if ok:
                return True
    return False


@SETTINGS
@given(small_hosts(), shared_guests, ratios, st.lists(st.integers(0, 8), min_size=3, max_size=3))
def test_shared_guests_against_exhaustive_search_with_ratios(host_held_reserved, guest, ratio, loads):
    host, held, reserved = host_held_reserved
    assume(not guest["numa_nodes"] or guest["numa_nodes"] <= guest["vcpus"])
    load = dict((n["id"], loads[n["id"]]) for n in host["nodes"])
    existing = [{"name": "other", "cpus": ",".join(str(c) for c in held),
                 "shared_vcpus": [{"node": n, "count": c} for n, c in sorted(load.items())]}]
    result = plan(host, [guest], existing=existing, reserved_cpus=",".join(str(c) for c in reserved),
                  allocation={"cpu_ratio": ratio})
    entry = result["plan"][0]
    assert entry["fits"] == exhaustive_shared_fits(host, set(held), load, ratio, guest), entry
    if not entry["fits"]:
        assert entry["reason"]
        return
    node_cpus = _node_cpus(host)
    for cell, node in zip(entry["numa"]["cells"], entry["host_nodes"]):
        vcpus = parse_cpuset(cell["cpus"])
        pool = [c for c in node_cpus[node] if c not in held]
        assert len(vcpus) <= len(pool)
        assert load[node] + len(vcpus) <= int(len(pool) * ratio + 1e-9)
        for vcpu in vcpus:
            pin = next(p["cpuset"] for p in entry["cputune"]["vcpupin"] if p["vcpu"] == vcpu)
            assert sorted(parse_cpuset(pin)) == pool


mixed_guests = st.lists(
    st.fixed_dictionaries({
        "vcpus": st.integers(1, 4),
        "memory": st.integers(1, 2).map(lambda g: "%dG" % g),
        "cpu_policy": st.sampled_from(["dedicated", "shared", "shared"]),
        "thread_policy": st.sampled_from(["prefer", "isolate"]),
    }), min_size=1, max_size=10)


@SETTINGS
@given(small_hosts(), mixed_guests, ratios, st.sampled_from(["pack", "spread"]))
def test_shared_vcpus_never_exceed_cpus_times_ratio(host_held_reserved, raw, ratio, strategy):
    """Across many guests: per node, shared vCPUs <= shared CPUs left x cpu_ratio; dedicated CPUs used once."""
    host, _held, reserved = host_held_reserved
    requests = [dict(g, name="g%d" % i) for i, g in enumerate(raw)]
    result = plan(host, requests, reserved_cpus=",".join(str(c) for c in reserved), strategy=strategy,
                  allocation={"cpu_ratio": ratio})
    policy = dict((r["name"], r["cpu_policy"]) for r in requests)
    dedicated, shared = [], {}
    for entry in result["plan"]:
        if not entry["fits"]:
            continue
        for cell, node in zip(entry["numa"]["cells"], entry["host_nodes"]):
            if policy[entry["name"]] == "shared":
                shared[node] = shared.get(node, 0) + len(parse_cpuset(cell["cpus"]))
        if policy[entry["name"]] == "dedicated":
            dedicated += [int(p["cpuset"]) for p in entry["cputune"]["vcpupin"]]
    assert len(dedicated) == len(set(dedicated))
    held = set(dedicated)
    for entry in result["plan"]:  # isolate's idle siblings and isolated threads
        if entry["fits"] and policy[entry["name"]] == "dedicated":
            for cpu in entry["cputune"]["vcpupin"]:
                held |= set(parse_cpuset(cpu["cpuset"]))
    node_cpus = _node_cpus(host)
    for node, count in shared.items():
        pool = [c for c in node_cpus[node] if c not in held and not _held_in_map(result["map"], c)]
        assert count <= int(len(pool) * ratio + 1e-9), (node, count, pool, result["map"])


def _held_in_map(text, cpu):
    """Is the CPU held by a guest in the map (vCPU, idle sibling or isolated thread)?"""
    for line in text.splitlines():
        for item in line.split()[2:] if line.startswith("  core") else []:
            number, _sep, label = item.partition("=")
            if number == str(cpu):
                return label not in (".", "housekeeping")
    return False


topologies = st.fixed_dictionaries({}, optional={
    "sockets": st.integers(1, 4), "cores": st.integers(1, 8), "threads": st.integers(1, 2),
    "max_sockets": st.integers(1, 4), "max_cores": st.integers(1, 8), "max_threads": st.integers(1, 2)})


def _reference_fits(host, entry, threads_per_core, sockets, cores, threads):
    """The placement rules for a guest topology, written out again: sockets inside one cell, thread groups
    on one host core's siblings (dedicated) or within the host's threads per core (shared)."""
    vcpus = entry["vcpus"]["maximum"]
    cell_of = dict((v, i) for i, cell in enumerate(entry["numa"]["cells"]) for v in parse_cpuset(cell["cpus"]))
    per_socket = cores * threads
    for start in range(0, vcpus, per_socket):
        if len(set(cell_of[v] for v in range(start, start + per_socket))) != 1:
            return False
    if threads == 1:
        return True
    core_of = _cores(host)
    pins = dict((p["vcpu"], parse_cpuset(p["cpuset"])) for p in entry["cputune"]["vcpupin"])
    for start in range(0, vcpus, threads):
        group = [pins[v] for v in range(start, start + threads)]
        if all(len(p) > 1 for p in group):
            if threads > threads_per_core:
                return False
            continue
        cpus = [min(p) for p in group]
        if any(len(p) != 1 for p in group) or sorted(cpus) != list(core_of[cpus[0]]):
            return False
    return True


@SETTINGS
@given(small_hosts(), st.integers(1, 8), st.sampled_from(["dedicated", "shared"]), topologies,
       st.one_of(st.none(), st.integers(1, 2)))
def test_topology_honours_maxima_and_preferences_against_exhaustive_search(
        host_held_reserved, vcpus, policy, wanted, numa_nodes):
    host, held, reserved = host_held_reserved
    assume(not numa_nodes or numa_nodes <= vcpus)
    for key in ("sockets", "cores", "threads"):
        assume(key not in wanted or "max_" + key not in wanted or wanted[key] <= wanted["max_" + key])
    candidates = [(s, c, t) for s in range(1, vcpus + 1) for c in range(1, vcpus + 1) for t in range(1, vcpus + 1)
                  if s * c * t == vcpus and s <= wanted.get("max_sockets", vcpus)
                  and c <= wanted.get("max_cores", vcpus) and t <= wanted.get("max_threads", vcpus)]
    assume(candidates)  # else refused as a bad request (tested in the golden tests)
    guest = {"name": "g", "vcpus": vcpus, "memory": "1G", "cpu_policy": policy, "topology": wanted,
             "numa_nodes": numa_nodes}
    existing = [{"name": "other", "cpus": ",".join(str(c) for c in held)}] if held else []
    entry = plan(host, [guest], existing=existing, reserved_cpus=",".join(str(c) for c in reserved))["plan"][0]
    assume(entry["fits"])
    topo = entry["cpu_model"]["topology"]
    chosen = (topo["sockets"], topo["cores"], topo["threads"])
    assert chosen in candidates  # the maxima always hold
    threads_per_core = max(len(c) for c in _cores(host).values())
    fitting = [c for c in candidates if _reference_fits(host, entry, threads_per_core, *c)]
    prefs = [(i, wanted[k]) for i, k in enumerate(("sockets", "cores", "threads")) if k in wanted]

    def score(cand):
        return sum(1 for i, value in prefs if cand[i] == value)

    if fitting:
        assert chosen in fitting
        assert score(chosen) == max(score(c) for c in fitting)
        best_possible = [c for c in fitting if score(c) == len(prefs)]
        assert (entry["topology_reason"] == "") == bool(best_possible), entry["topology_reason"]
    else:
        assert entry["topology_reason"].startswith("no topology within the maxima")


pci_policies = st.sampled_from(["required", "preferred", "legacy", "socket"])


@SETTINGS
@given(small_hosts(), st.integers(0, 2), pci_policies, st.integers(1, 3), st.booleans())
def test_pci_locality_against_exhaustive_search(host_held_reserved, device_node, policy, vcpus, dedicated):
    host, held, reserved = host_held_reserved
    nodes = [n["id"] for n in host["nodes"]]
    node = device_node if device_node in nodes else None
    host = dict(host, pci_devices=[{"address": "0000:01:00.0", "numa_node": node}])
    guest = {"name": "g", "vcpus": vcpus, "memory": "1G", "cpu_policy": "dedicated" if dedicated else "shared",
             "pci_devices": ["0000:01:00.0"], "pci_numa_policy": policy}
    existing = [{"name": "other", "cpus": ",".join(str(c) for c in held)}] if held else []
    entry = plan(host, [guest], existing=existing, reserved_cpus=",".join(str(c) for c in reserved))["plan"][0]
    anywhere = plan(host, [dict(guest, pci_devices=[])], existing=existing,
                    reserved_cpus=",".join(str(c) for c in reserved), strategy="pack")["plan"][0]
    if not entry["fits"]:
        assert entry["reason"]
    if policy == "preferred" or (policy == "legacy" and node is None):
        assert entry["fits"] == anywhere["fits"]
    if entry["fits"] and node is not None and policy in ("required", "legacy", "socket"):
        # small hosts have one socket per node: socket means the device's node too
        assert node in entry["host_nodes"]
    if node is None and policy in ("required", "socket"):
        assert not entry["fits"]


spread_guests = st.lists(st.tuples(st.integers(1, 2), st.integers(1, 2)), min_size=2, max_size=6)


@SETTINGS
@given(st.integers(2, 4), spread_guests)
def test_spread_keeps_equal_nodes_within_one_guest_of_each_other(node_count, sizes):
    """On equal nodes, single-node shared guests of one size under spread: node loads differ by at most one guest."""
    vcpus, mem = sizes[0]
    host = _equal_host(node_count)
    guests = [{"name": "g%d" % i, "vcpus": vcpus, "memory": "%dG" % mem, "numa_nodes": 1} for i in range(len(sizes))]
    result = plan(host, guests, strategy="spread")
    per_node = dict((n, 0) for n in range(node_count))
    for entry in result["plan"]:
        assert entry["fits"]
        per_node[entry["host_nodes"][0]] += 1
    assert max(per_node.values()) - min(per_node.values()) <= 1
    # deterministic
    assert plan(host, list(reversed(guests)), strategy="spread") == result


def _equal_host(node_count, per_node=4):
    cpus, nodes = [], []
    for node in range(node_count):
        ids = [node * per_node + i for i in range(per_node)]
        for cpu in ids:
            cpus.append({"id": cpu, "online": True, "node": node, "socket": node, "die": 0, "core": cpu,
                         "siblings": str(cpu), "l3": None, "isolated": False, "nohz_full": False})
        nodes.append({"id": node, "cpus": "%d-%d" % (ids[0], ids[-1]), "memory_kib": 16 * GIB_KIB, "free_kib": None,
                      "distances": [{"id": o, "value": 10 if o == node else 20} for o in range(node_count)],
                      "hugepages": []})
    return {"cpus": cpus, "nodes": nodes, "isolated": "", "nohz_full": "", "cmdline": "", "smt": False,
            "domain_capabilities": None}


def test_parse_memory_helper():
    assert parse_memory("3 GiB") == 3 * GIB_KIB


@st.composite
def scattered_cells(draw):
    """Explicit cells whose vCPUs need not be consecutive: each vCPU gets a cell label."""
    vcpus = draw(st.integers(2, 8))
    k = draw(st.integers(1, min(3, vcpus)))
    labels = draw(st.lists(st.integers(0, k - 1), min_size=vcpus, max_size=vcpus))
    assume(len(set(labels)) == k)
    cells = [{"cpus": ",".join(str(v) for v in range(vcpus) if labels[v] == c), "memory": "1G"} for c in range(k)]
    return vcpus, cells


@SETTINGS
@given(scattered_cells(), st.sampled_from(["shared", "dedicated"]), st.one_of(st.none(), topologies))
def test_no_guest_socket_spans_two_cells_whatever_the_cell_numbering(cells_spec, policy, wanted):
    vcpus, cells = cells_spec
    host = _equal_host(3, per_node=8)
    guest = {"name": "g", "vcpus": vcpus, "memory": "%dG" % len(cells), "cpu_policy": policy, "cells": cells}
    if wanted is not None:
        for key in ("sockets", "cores", "threads"):
            assume(key not in wanted or "max_" + key not in wanted or wanted[key] <= wanted["max_" + key])
        assume([1 for s in range(1, vcpus + 1) for c in range(1, vcpus + 1) for t in range(1, vcpus + 1)
                if s * c * t == vcpus and s <= wanted.get("max_sockets", vcpus) and c <= wanted.get("max_cores", vcpus)
                and t <= wanted.get("max_threads", vcpus)])
        guest["topology"] = wanted
    entry = plan(host, [guest])["plan"][0]
    assert entry["fits"]
    topo = entry["cpu_model"]["topology"]
    assert topo["sockets"] * topo["cores"] * topo["threads"] == vcpus
    cell_of = dict((v, i) for i, cell in enumerate(cells) for v in parse_cpuset(cell["cpus"]))
    per_socket = topo["cores"] * topo["threads"]
    spans = any(len(set(cell_of[v] for v in range(s, s + per_socket))) > 1 for s in range(0, vcpus, per_socket))
    if wanted is None or not spans:
        assert not spans
    else:
        # only a maximum can force a socket across cells, and the reason says so
        assert entry["topology_reason"].startswith("no topology within the maxima keeps each guest socket")
