# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""numa_planner property tests: the rules hold, and an exhaustive search on small hosts agrees."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan

GIB_KIB = 1024 * 1024
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def small_hosts(draw):
    """A host dict (host_info's shape) with 1-3 nodes of 1-3 cores, 1 or 2 threads, adjacent numbering."""
    threads = draw(st.integers(1, 2))
    cores = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    cpus, nodes, next_id = [], [], 0
    for node, count in enumerate(cores):
        ids = []
        for core in range(count):
            sib = list(range(next_id, next_id + threads))
            next_id += threads
            ids += sib
            for cpu in sib:
                cpus.append({"id": cpu, "online": True, "node": node, "socket": node, "die": 0, "core": core,
                             "siblings": ",".join(str(s) for s in sib), "l3": None, "isolated": False,
                             "nohz_full": False})
        nodes.append({"id": node, "cpus": ",".join(str(i) for i in ids),
                      "memory_kib": draw(st.integers(1, 4)) * GIB_KIB, "free_kib": None,
                      "distances": [{"id": o, "value": 10 if o == node else 20} for o in range(len(cores))],
                      "hugepages": []})
    # some CPUs already held by another guest, some kept for housekeeping
    all_ids = [c["id"] for c in cpus]
    held = draw(st.sets(st.sampled_from(all_ids), max_size=len(all_ids) // 2))
    reserved = draw(st.sets(st.sampled_from(all_ids), max_size=2)) - held
    host = {"cpus": cpus, "nodes": nodes, "isolated": "", "nohz_full": "", "cmdline": "", "smt": threads > 1,
            "domain_capabilities": None}
    return host, sorted(held), sorted(reserved)


guests = st.fixed_dictionaries({
    "name": st.just("g"),
    "vcpus": st.integers(1, 5),
    "memory": st.integers(1, 4).map(lambda g: "%dG" % g),
    "cpu_policy": st.just("dedicated"),
    "thread_policy": st.sampled_from(["prefer", "isolate", "require"]),
    "emulator_threads": st.sampled_from(["share", "isolate"]),
    "iothreads": st.integers(0, 1),
    "iothread_policy": st.sampled_from(["share", "isolate"]),
    "numa_nodes": st.one_of(st.none(), st.integers(1, 2)),
})


def _cores(host):
    cores = {}
    for cpu in host["cpus"]:
        cores.setdefault(cpu["siblings"], []).append(cpu["id"])
    return dict((cpu, tuple(sorted(ids))) for ids in cores.values() for cpu in ids)


def _split(total, parts, unit):
    base, extra = divmod(total // unit, parts)
    return [(base + (1 if i < extra else 0)) * unit for i in range(parts)]


def _memory(memory_kib, counts):
    granules = memory_kib // 1024
    total = sum(counts)
    shares = [granules * c // total for c in counts]
    order = sorted(range(len(counts)), key=lambda i: (-((granules * counts[i]) % total), i))
    for i in order[:granules - sum(shares)]:
        shares[i] += 1
    return [s * 1024 for s in shares]


def exhaustive_fits(host, held, reserved, guest):
    """Does any valid placement exist? Brute force over cells, node orders and CPU subsets."""
    core_of = _cores(host)
    threads = max(len(c) for c in core_of.values())
    usable = set(c["id"] for c in host["cpus"]) - set(held) - set(reserved)
    node_cpus = dict((n["id"], [c["id"] for c in host["cpus"] if c["node"] == n["id"]]) for n in host["nodes"])
    policy = guest["thread_policy"]
    extras = (guest["emulator_threads"] == "isolate") + (guest["iothreads"] if guest["iothread_policy"] == "isolate" else 0)
    memory_kib = int(guest["memory"][:-1]) * GIB_KIB

    def node_ok(node, count, extra, mem):
        if mem > host["nodes"][node]["memory_kib"]:
            return False
        free = [c for c in node_cpus[node] if c in usable]
        for chosen in itertools.combinations(free, count):
            cores = [core_of[c] for c in chosen]
            if policy == "isolate" and (len(set(cores)) != count or any(not set(k) <= usable for k in cores)):
                continue
            if policy == "require" and (set(chosen) != set(c for k in cores for c in k)
                                        or any(len(k) != threads for k in cores)):
                continue
            spare = [c for c in free if core_of[c] not in cores]
            if len(spare) >= extra:
                return True
        return False

    if policy == "require" and threads < 2:
        return False
    unit = threads if policy == "require" else 1
    ks = [guest["numa_nodes"]] if guest["numa_nodes"] else range(1, min(len(node_cpus), guest["vcpus"]) + 1)
    for k in ks:
        if k > len(node_cpus) or guest["vcpus"] % unit or guest["vcpus"] // unit < k:
            continue
        counts = _split(guest["vcpus"], k, unit)
        mem = _memory(memory_kib, counts)
        for nodes in itertools.permutations(sorted(node_cpus), k):
            if all(node_ok(nodes[i], counts[i], extras if i == 0 else 0, mem[i]) for i in range(k)):
                return True
    return False


def check_rules(host, held, reserved, guest, entry):
    """The rules a user can rely on, checked on one placed guest."""
    core_of = _cores(host)
    threads = max(len(c) for c in core_of.values())
    node_of = dict((c["id"], c["node"]) for c in host["cpus"])
    cells = entry["numa"]["cells"]
    cell_of = dict((v, cell["id"]) for cell in cells for v in parse_cpuset(cell["cpus"]))
    pinned = dict((p["vcpu"], int(p["cpuset"])) for p in entry["cputune"]["vcpupin"])
    assert sorted(pinned) == list(range(guest["vcpus"]))
    assert len(set(pinned.values())) == guest["vcpus"]  # CPUs of their own
    assert not set(pinned.values()) & (set(held) | set(reserved))
    for vcpu, cpu in pinned.items():
        assert node_of[cpu] == entry["host_nodes"][cell_of[vcpu]]
    vcpu_cores = set(core_of[c] for c in pinned.values())
    if guest["thread_policy"] == "isolate":
        assert len(vcpu_cores) == guest["vcpus"]
    if guest["thread_policy"] == "require":
        assert set(c for k in vcpu_cores for c in k) == set(pinned.values())
        for start in range(0, guest["vcpus"], threads):
            assert len(set(core_of[pinned[v]] for v in range(start, start + threads))) == 1
    isolated_threads = []
    if guest["emulator_threads"] == "isolate":
        isolated_threads.append(int(entry["cputune"]["emulatorpin"]))
    if guest["iothreads"] and guest["iothread_policy"] == "isolate":
        isolated_threads += [int(p["cpuset"]) for p in entry["cputune"]["iothreadpin"]]
    for cpu in isolated_threads:
        assert core_of[cpu] not in vcpu_cores  # never shares a core with the guest's vCPUs
        assert node_of[cpu] == entry["host_nodes"][0]
        assert cpu not in set(held) | set(reserved) | set(pinned.values())
    if guest["thread_policy"] == "isolate":
        others = set(held) | set(isolated_threads)
        assert not others & set(c for k in vcpu_cores for c in k)
    # memory: proportional to vCPUs, whole MiB, adding up
    memory = [parse_memory(cell["memory"]) for cell in cells]
    assert sum(memory) == int(guest["memory"][:-1]) * GIB_KIB
    counts = [len(parse_cpuset(cell["cpus"])) for cell in cells]
    assert max(counts) - min(counts) <= (threads if guest["thread_policy"] == "require" else 1)
    for mem, count in zip(memory, counts):
        assert abs(mem - sum(memory) * count / guest["vcpus"]) < 1024
    # topology: follows the placement, no socket straddles two cells
    topo = entry["cpu_model"]["topology"]
    assert topo["sockets"] * topo["cores"] * topo["threads"] == guest["vcpus"]
    per_socket = topo["cores"] * topo["threads"]
    assert all(count % per_socket == 0 for count in counts)
    if guest["thread_policy"] == "require":
        assert topo["threads"] == threads
    if topo["threads"] > 1:
        for start in range(0, guest["vcpus"], topo["threads"]):
            group = [pinned[v] for v in range(start, start + topo["threads"])]
            assert sorted(group) == list(core_of[group[0]])


def parse_memory(text):
    number, unit = text.split()
    return int(number) * {"KiB": 1, "MiB": 1024, "GiB": GIB_KIB}[unit]


@SETTINGS
@given(small_hosts(), guests)
def test_complete_and_correct_against_exhaustive_search(host_held_reserved, guest):
    host, held, reserved = host_held_reserved
    assume(not guest["numa_nodes"] or guest["numa_nodes"] <= guest["vcpus"])  # refused as a bad request
    existing = [{"name": "other", "cpus": ",".join(str(c) for c in held)}] if held else []
    result = plan(host, [guest], existing=existing, reserved_cpus=",".join(str(c) for c in reserved))
    entry = result["plan"][0]
    assert entry["fits"] == exhaustive_fits(host, held, reserved, guest), entry
    if entry["fits"]:
        check_rules(host, held, reserved, guest, entry)
    else:
        assert entry["reason"]


many_guests = st.lists(
    st.fixed_dictionaries({
        "vcpus": st.integers(1, 4),
        "memory": st.integers(1, 2).map(lambda g: "%dG" % g),
        "cpu_policy": st.sampled_from(["dedicated", "shared"]),
        "thread_policy": st.sampled_from(["prefer", "isolate"]),
    }), min_size=1, max_size=6)


@SETTINGS
@given(small_hosts(), many_guests, st.randoms(use_true_random=False), st.sampled_from(["pack", "spread"]))
def test_same_input_in_any_order_gives_the_same_plan(host_held_reserved, raw, rnd, strategy):
    host, _held, reserved = host_held_reserved
    requests = [dict(g, name="g%d" % i) for i, g in enumerate(raw)]
    shuffled = list(requests)
    rnd.shuffle(shuffled)
    first = plan(host, requests, reserved_cpus=",".join(str(c) for c in reserved), strategy=strategy)
    second = plan(host, shuffled, reserved_cpus=",".join(str(c) for c in reserved), strategy=strategy)
    assert first == second
    # no CPU is dedicated twice across guests
    dedicated = [p["cpuset"] for g in first["plan"] if g["fits"] for p in g["cputune"]["vcpupin"]
                 if next(r for r in requests if r["name"] == g["name"])["cpu_policy"] == "dedicated"]
    assert len(dedicated) == len(set(dedicated))
