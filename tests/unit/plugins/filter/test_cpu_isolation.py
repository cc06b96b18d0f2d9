# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CPU isolation choice and checks on fake host_info topologies."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.virtuned.libvirt.plugins.filter.cpu_isolation import cpu_isolation
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.cpu_isolation import HostCpus, plan_isolation
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible.errors import AnsibleFilterError


def make_host(node_of, siblings_of, offline=()):
    """A host_info-shaped dict: node_of maps cpu -> node, siblings_of cpu -> frozenset."""
    cpus = []
    for cpu in sorted(node_of):
        online = cpu not in offline
        cpus.append({
            "id": cpu, "online": online, "node": node_of[cpu], "socket": node_of[cpu], "die": 0,
            "core": min(siblings_of[cpu]), "siblings": format_cpuset(siblings_of[cpu]) if online else cpu,
            "l3": None, "isolated": False, "nohz_full": False,
        })
    return {"cpus": cpus, "nodes": [], "isolated": "", "nohz_full": "", "cmdline": "", "smt": True,
            "domain_capabilities": None}


def interleaved(sockets=2, cores=16):
    """Siblings n and n+32 style: thread 1 of every core numbered after all thread 0s."""
    total = sockets * cores
    node_of, siblings_of = {}, {}
    for cpu in range(2 * total):
        base = cpu % total
        node_of[cpu] = base // cores
        siblings_of[cpu] = frozenset([base, base + total])
    return node_of, siblings_of


def adjacent(sockets=2, cores=4):
    """Siblings 2n and 2n+1."""
    node_of, siblings_of = {}, {}
    for cpu in range(sockets * cores * 2):
        node_of[cpu] = cpu // (cores * 2)
        siblings_of[cpu] = frozenset([cpu - cpu % 2, cpu - cpu % 2 + 1])
    return node_of, siblings_of


def no_smt(cpus=2):
    return {c: 0 for c in range(cpus)}, {c: frozenset([c]) for c in range(cpus)}


# --- interleaved numbering (siblings n and n+32) ---------------------------------------------------

def test_interleaved_per_node_takes_whole_cores_from_the_top():
    host = make_host(*interleaved())
    assert plan_isolation(host, per_node=4) == {
        "isolated": "14-15,30-31,46-47,62-63",
        "housekeeping": "0-13,16-29,32-45,48-61",
        "nodes": [
            {"node": 0, "isolated": "14-15,46-47", "housekeeping": "0-13,32-45"},
            {"node": 1, "isolated": "30-31,62-63", "housekeeping": "16-29,48-61"},
        ],
    }


def test_interleaved_maximum_leaves_cpu0_core_and_lowest_core_of_other_nodes():
    host = make_host(*interleaved())
    result = plan_isolation(host, per_node=30)
    assert result["housekeeping"] == "0,16,32,48"
    assert result["isolated"] == "1-15,17-31,33-47,49-63"


def test_interleaved_split_siblings_refused_naming_cpus():
    host = make_host(*interleaved())
    with pytest.raises(TuningError) as err:
        plan_isolation(host, isolated_cpus="2-5")
    assert str(err.value) == (
        "isolated_cpus: '2-5' is not valid: it splits SMT siblings; isolate whole cores: "
        "2,34 (not 34); 3,35 (not 35); 4,36 (not 36); 5,37 (not 37)")


def test_interleaved_whole_cores_accepted():
    host = make_host(*interleaved())
    assert plan_isolation(host, isolated_cpus="2-5,34-37")["isolated"] == "2-5,34-37"


def test_per_node_odd_count_with_smt_refused():
    host = make_host(*interleaved())
    with pytest.raises(TuningError) as err:
        plan_isolation(host, per_node=3)
    assert str(err.value) == ("isolated_per_node: 3 is not valid: NUMA node 0 cannot isolate 3 CPUs as whole cores: "
                              "it has 30 CPUs in cores of 2 beyond its housekeeping core")


def test_per_node_too_many_refused():
    host = make_host(*interleaved())
    with pytest.raises(TuningError, match="NUMA node 0 cannot isolate 32 CPUs"):
        plan_isolation(host, per_node=32)


# --- adjacent numbering (siblings 2n, 2n+1) ---------------------------------------------------------

def test_adjacent_per_node():
    host = make_host(*adjacent())
    assert plan_isolation(host, per_node=4) == {
        "isolated": "4-7,12-15",
        "housekeeping": "0-3,8-11",
        "nodes": [
            {"node": 0, "isolated": "4-7", "housekeeping": "0-3"},
            {"node": 1, "isolated": "12-15", "housekeeping": "8-11"},
        ],
    }


def test_adjacent_split_refused():
    host = make_host(*adjacent())
    with pytest.raises(TuningError) as err:
        plan_isolation(host, isolated_cpus="3-4")
    assert str(err.value) == ("isolated_cpus: '3-4' is not valid: it splits SMT siblings; isolate whole cores: "
                              "2-3 (not 2); 4-5 (not 5)")


def test_cpu0_sibling_refused_as_split():
    host = make_host(*adjacent())
    with pytest.raises(TuningError, match=r"0-1 \(not 0\)"):
        plan_isolation(host, isolated_cpus="1")


def test_cpu0_refused():
    host = make_host(*adjacent())
    with pytest.raises(TuningError) as err:
        plan_isolation(host, isolated_cpus="0-1")
    assert str(err.value) == ("isolated_cpus: '0-1' is not valid: CPU 0 always stays a housekeeping CPU "
                              "(the boot CPU keeps the timekeeping)")


def test_whole_node_refused():
    host = make_host(*adjacent())
    with pytest.raises(TuningError) as err:
        plan_isolation(host, isolated_cpus="8-15")
    assert str(err.value) == ("isolated_cpus: '8-15' is not valid: it covers every online CPU of NUMA node 1 "
                              "(8-15); keep at least one housekeeping core on every node")


def test_missing_cpus_refused():
    host = make_host(*adjacent())
    with pytest.raises(TuningError) as err:
        plan_isolation(host, isolated_cpus="14-17")
    assert str(err.value) == ("isolated_cpus: '14-17' is not valid: CPUs 16-17 do not exist on this host "
                              "(it has 0-15)")


def test_malformed_cpuset_refused_by_shared_parser():
    host = make_host(*adjacent())
    with pytest.raises(TuningError, match="^isolated_cpus: '3-1' is not valid: range 3-1 runs backwards$"):
        plan_isolation(host, isolated_cpus="3-1")


def test_both_inputs_refused():
    host = make_host(*adjacent())
    with pytest.raises(TuningError, match="mutually exclusive"):
        plan_isolation(host, isolated_cpus="4-5", per_node=2)


# --- offline CPUs ---------------------------------------------------------------------------------

def test_offline_cpus_are_never_picked_and_cores_with_offline_threads_skipped():
    node_of, siblings_of = adjacent(sockets=1, cores=4)
    host = make_host(node_of, siblings_of, offline={7})
    # core 6-7 has an offline thread: skipped; 4-5 and 2-3 taken
    assert plan_isolation(host, per_node=4) == {
        "isolated": "2-5", "housekeeping": "0-1,6",
        "nodes": [{"node": 0, "isolated": "2-5", "housekeeping": "0-1,6"}],
    }


def test_offline_cpu_exists_and_may_be_named():
    node_of, siblings_of = no_smt(4)
    host = make_host(node_of, siblings_of, offline={3})
    assert plan_isolation(host, isolated_cpus="2-3") == {
        "isolated": "2-3", "housekeeping": "0-1",
        "nodes": [{"node": 0, "isolated": "2-3", "housekeeping": "0-1"}],
    }


def test_isolating_all_online_cpus_refused_even_with_offline_left():
    node_of, siblings_of = no_smt(4)
    host = make_host(node_of, siblings_of, offline={0})
    with pytest.raises(TuningError, match=r"covers every online CPU of the host \(1-3\)"):
        plan_isolation(host, isolated_cpus="1-3")


# --- several nodes, memory-only nodes, this machine -----------------------------------------------

def test_four_nodes_unequal_and_memory_only_node():
    node_of = {c: (0 if c < 4 else 1 if c < 12 else 3) for c in range(16)}
    siblings_of = {c: frozenset([c]) for c in range(16)}
    host = make_host(node_of, siblings_of)  # node 2 has memory only: no CPUs, skipped
    result = plan_isolation(host, per_node=2)
    assert result["isolated"] == "2-3,10-11,14-15"
    assert [n["node"] for n in result["nodes"]] == [0, 1, 3]


def test_this_machine_two_cpus_no_smt():
    host = make_host(*no_smt(2))
    assert plan_isolation(host, per_node=1) == {
        "isolated": "1", "housekeeping": "0", "nodes": [{"node": 0, "isolated": "1", "housekeeping": "0"}]}
    assert plan_isolation(host, isolated_cpus="1")["isolated"] == "1"
    assert plan_isolation(host)["isolated"] == ""
    assert plan_isolation(host, isolated_cpus="")["housekeeping"] == "0-1"


def test_cpu_without_node_counts_as_node0():
    host = make_host(*no_smt(4))
    for cpu in host["cpus"]:
        cpu["node"] = None
    assert plan_isolation(host, per_node=2)["nodes"] == [{"node": 0, "isolated": "2-3", "housekeeping": "0-1"}]


def test_bad_host_refused():
    with pytest.raises(TuningError, match="host_info"):
        plan_isolation({"cpus": []}, per_node=1)


def test_filter_turns_errors_into_filter_errors():
    host = make_host(*no_smt(2))
    assert cpu_isolation(host, per_node=1, per_node_option="numa_pinning_isolated_per_node")["isolated"] == "1"
    with pytest.raises(AnsibleFilterError, match="^numa_pinning_isolated_per_node: 2 is not valid"):
        cpu_isolation(host, per_node=2, per_node_option="numa_pinning_isolated_per_node")
    with pytest.raises(AnsibleFilterError, match="not host_info's 'host' shape"):
        cpu_isolation({"cpus": [{"node": 0}]}, per_node=1)


# --- properties -----------------------------------------------------------------------------------

@st.composite
def topologies(draw):
    nodes = draw(st.integers(1, 4))
    cores = draw(st.integers(1, 6))
    threads = draw(st.sampled_from([1, 2, 4]))
    style = draw(st.sampled_from(["interleaved", "adjacent"]))
    total = nodes * cores
    node_of, siblings_of = {}, {}
    for core in range(total):
        if style == "interleaved":
            members = frozenset(core + t * total for t in range(threads))
        else:
            members = frozenset(core * threads + t for t in range(threads))
        for cpu in members:
            node_of[cpu] = core // cores
            siblings_of[cpu] = members
    offline = draw(st.sets(st.sampled_from(sorted(node_of)), max_size=2).filter(lambda s: 0 not in s))
    return make_host(node_of, siblings_of, offline)


def expected_refusal(host_cpus, per_node):
    """The refusal for the first node that cannot give ``per_node`` CPUs, or None.

    In topologies() every whole core of a host has the same number of threads, so a node
    can give ``per_node`` exactly when it is a multiple of that size and fits in the cores
    beyond the housekeeping one (the core of CPU 0, elsewhere the lowest core).
    """
    if per_node == 0:
        return None
    for node in host_cpus.nodes():
        cores = host_cpus.cores_in_node(node)
        if not cores:
            continue
        housekeeping = host_cpus.core_of[0] if host_cpus.core_of[0] in cores else cores[0]
        candidates = [core for core in cores if core != housekeeping]
        available = sum(len(core) for core in candidates)
        if per_node > available or any(per_node % len(core) for core in candidates):
            sizes = "/".join(sorted(set(str(len(core)) for core in candidates))) or "no"
            return ("isolated_per_node: %d is not valid: NUMA node %d cannot isolate %d CPUs as whole cores: it has %d "
                    "CPUs in cores of %s beyond its housekeeping core" % (per_node, node, per_node, available, sizes))
    return None


@settings(max_examples=200, deadline=None)
@given(topologies(), st.integers(0, 12))
def test_per_node_choice_always_passes_the_checks(host, per_node):
    host_cpus = HostCpus(host)
    refusal = expected_refusal(host_cpus, per_node)
    try:
        result = plan_isolation(host, per_node=per_node)
    except TuningError as exc:
        assert str(exc) == refusal
        return
    assert refusal is None
    isolated = parse_cpuset(result["isolated"], allow_empty=True)
    assert 0 not in isolated
    for cpu in isolated:
        assert host_cpus.core_of[cpu] <= isolated
    for node in host_cpus.nodes():
        online = host_cpus.online_in_node(node)
        assert not online or online - isolated
        assert len(isolated & online) in (0, per_node)
    # a checked explicit set round-trips
    assert plan_isolation(host, isolated_cpus=result["isolated"]) == result
