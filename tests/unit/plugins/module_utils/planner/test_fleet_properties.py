# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet placement property tests: capacity and constraints hold, each host's share is numa_plan's,
and an exhaustive search over small fleets (3 hosts, up to 6 guests) agrees where the greedy choice is optimal.

The last test prints how many examples each property ran and how often greedy fell short of the optimum.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import parse_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.fleet import plan_fleet
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan

GIB_KIB = 1024 * 1024
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXHAUSTIVE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COUNTS = {}


def count(name, key="examples"):
    COUNTS.setdefault(name, {}).setdefault(key, 0)
    COUNTS[name][key] += 1


@st.composite
def small_host(draw):
    """(host dict in host_info's shape, fleet entry extras): 1-2 nodes of 1-3 cores, 1 or 2 threads."""
    threads = draw(st.integers(1, 2))
    cores = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
    cpus, nodes, next_id = [], [], 0
    for node, ncores in enumerate(cores):
        ids = []
        for core in range(ncores):
            sib = list(range(next_id, next_id + threads))
            next_id += threads
            ids += sib
            for cpu in sib:
                cpus.append({"id": cpu, "online": True, "node": node, "socket": node, "die": 0, "core": core,
                             "siblings": ",".join(str(s) for s in sib), "l3": None, "isolated": False,
                             "nohz_full": False})
        pages = draw(st.sampled_from([0, 256, 512]))
        nodes.append({"id": node, "cpus": ",".join(str(i) for i in ids),
                      "memory_kib": draw(st.integers(2, 4)) * GIB_KIB, "free_kib": None,
                      "distances": [{"id": o, "value": 10 if o == node else 20} for o in range(len(cores))],
                      "hugepages": [{"size_kib": 2048, "total": pages, "free": pages}] if pages else []})
    host = {"cpus": cpus, "nodes": nodes, "isolated": "", "nohz_full": "", "cmdline": "", "smt": threads > 1,
            "domain_capabilities": None}
    all_ids = [c["id"] for c in cpus]
    held = draw(st.sets(st.sampled_from(all_ids), max_size=len(all_ids) // 3))
    reserved = draw(st.sets(st.sampled_from(all_ids), max_size=1)) - held
    entry = {"host": host, "labels": draw(st.sampled_from([[], ["ssd"]])),
             "allocation": {"cpu_ratio": draw(st.sampled_from([1.0, 2.0, 16.0]))}}
    if held:
        entry["existing"] = [{"name": "other", "cpus": ",".join(str(c) for c in sorted(held))}]
    if reserved:
        entry["reserved_cpus"] = ",".join(str(c) for c in sorted(reserved))
    return entry


def fleets(max_hosts=3):
    return st.lists(small_host(), min_size=1, max_size=max_hosts).map(
        lambda entries: dict(("hv%d" % i, e) for i, e in enumerate(entries)))


guest_shape = st.fixed_dictionaries({
    "vcpus": st.integers(1, 4),
    "memory": st.sampled_from(["512M", "1G", "2G"]),
    "cpu_policy": st.sampled_from(["dedicated", "shared", "mixed"]),
    "thread_policy": st.sampled_from(["prefer", "isolate"]),
    "page_size": st.sampled_from(["small", "2M"]),
})
constraints = st.fixed_dictionaries({
    "labels": st.sampled_from([None, ["ssd"]]),
    "anti_affinity": st.sampled_from([None, None, "g"]),
    "pin": st.sampled_from([None, None, None, 0, 1]),
})


def make_guests(shapes, extras, hosts):
    guests = []
    for i, (shape, extra) in enumerate(zip(shapes, extras)):
        guest = dict(shape, name="g%d" % i)
        if guest["cpu_policy"] == "mixed":
            if guest["vcpus"] < 2:
                guest["cpu_policy"] = "dedicated"
            else:
                guest["dedicated_vcpus"] = "1-%d" % (guest["vcpus"] - 1)
        if guest["cpu_policy"] != "dedicated":
            guest.pop("thread_policy")
        if extra["labels"]:
            guest["labels"] = extra["labels"]
        if extra["anti_affinity"]:
            guest["anti_affinity"] = extra["anti_affinity"]
        if extra["pin"] is not None and "hv%d" % extra["pin"] in hosts:
            guest["host"] = "hv%d" % extra["pin"]
        guests.append(guest)
    return guests


def request(guest):
    return dict((k, v) for k, v in guest.items() if k not in ("host", "labels", "anti_affinity"))


def dedicated_vcpus(guest):
    if guest["cpu_policy"] == "dedicated":
        return set(range(guest["vcpus"]))
    if guest["cpu_policy"] == "mixed":
        return set(parse_cpuset(guest["dedicated_vcpus"]))
    return set()


def check_capacity(hosts, guests, result):
    """No host gives a CPU twice, more memory or pages than a node has, or more shared vCPUs than its ratio allows."""
    by_name = dict((g["name"], g) for g in guests)
    for name, entry in hosts.items():
        host = entry["host"]
        node_of = dict((c["id"], c["node"]) for c in host["cpus"])
        held = set()
        for item in entry.get("existing") or []:
            held |= set(parse_cpuset(item["cpus"]))
        reserved = set(parse_cpuset(entry["reserved_cpus"])) if entry.get("reserved_cpus") else set()
        ratio = entry["allocation"]["cpu_ratio"]
        pinned = []
        small = dict((n["id"], 0) for n in host["nodes"])
        pages = dict((n["id"], 0) for n in host["nodes"])
        shared = {}  # node -> (pool, shared vCPUs)
        for item in result["plans"][name]:
            assert item["fits"]
            guest = by_name[item["name"]]
            assert item["name"] in result["placements"][name]
            ded = dedicated_vcpus(guest)
            cell_node = {}
            for cell, node in zip(item["numa"]["cells"], item["host_nodes"]):
                for vcpu in parse_cpuset(cell["cpus"]):
                    cell_node[vcpu] = node
                kib = parse_size(cell["memory"]) // 1024
                if guest["page_size"] == "small":
                    small[node] += kib
                else:
                    pages[node] += kib // 2048
            for pin in item["cputune"]["vcpupin"]:
                cpus = set(parse_cpuset(pin["cpuset"]))
                node = cell_node[pin["vcpu"]]
                assert all(node_of[c] == node for c in cpus), (item, pin)
                if pin["vcpu"] in ded:
                    assert len(cpus) == 1
                    pinned.append(min(cpus))
                else:
                    pool, load = shared.get(node, (cpus, 0))
                    assert pool == cpus  # every shared vCPU of a node floats over the same pool
                    shared[node] = (pool, load + 1)
        assert len(pinned) == len(set(pinned)), result["plans"][name]
        assert not set(pinned) & (held | reserved)
        for node in host["nodes"]:
            pool_kib = sum(p["size_kib"] * p["total"] for p in node["hugepages"])
            assert small[node["id"]] <= node["memory_kib"] - pool_kib
            assert pages[node["id"]] <= sum(p["free"] for p in node["hugepages"])
        for node, (pool, load) in shared.items():
            assert not pool & set(pinned)
            assert load <= int(len(pool) * ratio + 1e-9)


def check_constraints(hosts, guests, result):
    placed = {}
    for name, names in result["placements"].items():
        for guest in names:
            assert guest not in placed
            placed[guest] = name
    unplaced = [u["name"] for u in result["unplaced"]]
    assert sorted(list(placed) + unplaced) == sorted(g["name"] for g in guests)
    for item in result["unplaced"]:
        assert sorted(item["reasons"]) == sorted(hosts)
        assert all(item["reasons"].values())
    groups = {}
    for guest in guests:
        where = placed.get(guest["name"])
        if where is None:
            continue
        assert set(guest.get("labels") or []) <= set(hosts[where].get("labels") or [])
        if guest.get("host"):
            assert where == guest["host"]
        if guest.get("anti_affinity"):
            assert (guest["anti_affinity"], where) not in groups
            groups[(guest["anti_affinity"], where)] = guest["name"]


@SETTINGS
@given(fleets(), st.lists(st.tuples(guest_shape, constraints), min_size=1, max_size=8),
       st.sampled_from(["pack", "spread"]))
def test_capacity_and_constraints_hold_and_each_share_is_numa_plans(hosts, raw, strategy):
    count("capacity, constraints, shares are numa_plan's")
    guests = make_guests([r[0] for r in raw], [r[1] for r in raw], hosts)
    result = plan_fleet(hosts, guests, strategy=strategy)
    check_constraints(hosts, guests, result)
    check_capacity(hosts, guests, result)
    by_name = dict((g["name"], g) for g in guests)
    for name, entry in hosts.items():
        expected = plan(entry["host"], [request(by_name[n]) for n in result["placements"][name]],
                        existing=entry.get("existing"), reserved_cpus=entry.get("reserved_cpus"),
                        strategy=strategy, allocation=entry["allocation"])
        assert result["plans"][name] == expected["plan"]
        assert result["host_requirements"][name] == expected["host_requirements"]
    if result["unplaced"]:
        count("capacity, constraints, shares are numa_plan's", "with unplaced guests")


def exhaustive_best(hosts, guests):
    """The most guests (and, among those, the most vCPUs) any assignment places, each host's share fitting whole."""
    names = sorted(hosts)
    feasible = {}
    for name in names:
        entry = hosts[name]
        allowed = [i for i, g in enumerate(guests)
                   if set(g.get("labels") or []) <= set(entry.get("labels") or []) and g.get("host") in (None, name)]
        for size in range(len(allowed) + 1):
            for subset in itertools.combinations(allowed, size):
                groups = [guests[i]["anti_affinity"] for i in subset if guests[i].get("anti_affinity")]
                if len(groups) != len(set(groups)):
                    continue
                # a share fits when numa_plan places it whole under either strategy (the fleet's strategy
                # is also the one used within each host, so the oracle must not be narrower than that)
                if any(all(p["fits"] for p in plan(entry["host"], [request(guests[i]) for i in subset],
                                                   existing=entry.get("existing"),
                                                   reserved_cpus=entry.get("reserved_cpus"),
                                                   allocation=entry["allocation"], strategy=strategy)["plan"])
                       for strategy in ("pack", "spread")):
                    feasible.setdefault(name, []).append(frozenset(subset))
    best = (0, 0)

    def search(i, used, score):
        nonlocal best
        if i == len(names):
            best = max(best, score)
            return
        for subset in feasible.get(names[i], [frozenset()]):
            if subset & used:
                continue
            search(i + 1, used | subset, (score[0] + len(subset), score[1] + sum(guests[g]["vcpus"] for g in subset)))

    search(0, frozenset(), (0, 0))
    return best


def greedy_score(guests, result):
    placed = set(n for names in result["placements"].values() for n in names)
    return (len(placed), sum(g["vcpus"] for g in guests if g["name"] in placed))


three_hosts = st.lists(small_host(), min_size=3, max_size=3).map(
    lambda entries: dict(("hv%d" % i, e) for i, e in enumerate(entries)))


@EXHAUSTIVE
@given(three_hosts, guest_shape, st.integers(1, 6), st.sampled_from([None, "g"]), st.sampled_from(["pack", "spread"]))
def test_identical_guests_greedy_is_optimal(hosts, shape, number, group, strategy):
    """Copies of one request (one anti_affinity group or none): greedy places as many as any assignment."""
    count("identical guests: greedy = exhaustive")
    guests = make_guests([shape] * number, [{"labels": None, "anti_affinity": group, "pin": None}] * number, {})
    result = plan_fleet(hosts, guests, strategy=strategy)
    check_constraints(hosts, guests, result)
    assert greedy_score(guests, result)[0] == exhaustive_best(hosts, guests)[0]


@EXHAUSTIVE
@given(three_hosts, st.lists(st.tuples(guest_shape, constraints), min_size=1, max_size=6),
       st.sampled_from(["pack", "spread"]))
def test_mixed_guests_greedy_never_beats_and_often_matches_exhaustive(hosts, raw, strategy):
    """Mixed requests: greedy is never better than the best assignment (every share is feasible), and the
    shortfalls are counted and printed: bigger guests go first, labels and pins are not looked ahead."""
    name = "mixed guests: greedy <= exhaustive"
    count(name)
    guests = make_guests([r[0] for r in raw], [r[1] for r in raw], hosts)
    result = plan_fleet(hosts, guests, strategy=strategy)
    check_constraints(hosts, guests, result)
    greedy = greedy_score(guests, result)
    best = exhaustive_best(hosts, guests)
    assert greedy[0] <= best[0]
    if greedy[0] < best[0]:
        count(name, "fewer guests than the optimum")
        # not fewer vCPUs too, unless labels, pins or groups are in play (they are not looked ahead)
        if not any(g.get("labels") or g.get("host") or g.get("anti_affinity") for g in guests):
            count(name, "fewer guests, constraint-free")


def test_zz_print_example_counts(capsys):
    with capsys.disabled():
        for name in sorted(COUNTS):
            figures = ", ".join("%s %d" % (k, v) for k, v in sorted(COUNTS[name].items()))
            print("\ntest_fleet_properties: %s: %s" % (name, figures))
    assert all(c["examples"] > 0 for c in COUNTS.values())
