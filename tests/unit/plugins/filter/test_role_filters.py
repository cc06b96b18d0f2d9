# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The small filters the roles use: unknown variables, page sizes, isolation kernel arguments and suggestions."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.filter.isolation_kernel_args import isolation_kernel_args
from ansible_collections.virtuned.libvirt.plugins.filter.isolation_suggestion import isolation_suggestion
from ansible_collections.virtuned.libvirt.plugins.filter.page_size_kib import page_size_kib
from ansible_collections.virtuned.libvirt.plugins.filter.unknown_variables import unknown_variables
from ansible_collections.virtuned.libvirt.plugins.filter.cpu_isolation import cpu_isolation

KNOWN = ["numa_pinning_guests", "numa_pinning_uri", "numa_pinning_isolated_cpus", "numa_pinning_isolated_per_node"]


def host(siblings, node_of=None):
    """host_info-shaped host: ``siblings`` maps cpu -> sibling set text."""
    node_of = node_of or {}
    return {"cpus": [{"id": cpu, "online": True, "node": node_of.get(cpu, 0), "siblings": text}
                     for cpu, text in sorted(siblings.items())]}


TWO_CPUS = host({0: "0", 1: "1"})
SMT = host({0: "0,4", 1: "1,5", 2: "2,6", 3: "3,7", 4: "0,4", 5: "1,5", 6: "2,6", 7: "3,7"})


def test_unknown_variables_names_the_closest_known_one():
    assert unknown_variables(["numa_pinning_guest", "numa_pinning_uri", "numa_pinning_zzz"], KNOWN) == [
        {"name": "numa_pinning_guest", "closest": "numa_pinning_guests",
         "message": "numa_pinning_guest is not a variable of this role (did you mean numa_pinning_guests?)"},
        {"name": "numa_pinning_zzz", "closest": None,
         "message": "numa_pinning_zzz is not a variable of this role"},
    ]


def test_unknown_variables_reads_the_varnames_string_and_accepts_known_names():
    assert unknown_variables("numa_pinning_uri, numa_pinning_guests", KNOWN) == []
    assert [u["name"] for u in unknown_variables("numa_pinning_isolated_cpu", KNOWN)] == ["numa_pinning_isolated_cpu"]


def test_unknown_variables_refuses_what_is_not_names():
    with pytest.raises(AnsibleFilterError) as err:
        unknown_variables([1], KNOWN)
    assert str(err.value) == "unknown_variables: the input must be a list of variable names, got [1]"


@pytest.mark.parametrize("value, kib", [("2M", 2048), ("1G", 1048576), ("2048K", 2048), ("2 MiB", 2048),
                                        (2048, 2048), ("64K", 64)])
def test_page_size_kib(value, kib):
    assert page_size_kib(value) == kib


@pytest.mark.parametrize("value, message", [
    ("3X", "hugepages_host_mounts[0].size: '3X' is not valid: expected a page size such as 2M, 1G or 2048K"),
    (0, "hugepages_host_mounts[0].size: 0 is not valid: expected a page size such as 2M, 1G or 2048K"),
    ("1000b", "hugepages_host_mounts[0].size: '1000b' is not valid: a page size is a whole number of KiB"),
])
def test_page_size_kib_refuses_naming_the_option(value, message):
    with pytest.raises(AnsibleFilterError) as err:
        page_size_kib(value, option="hugepages_host_mounts[0].size")
    assert str(err.value) == message


def test_kernel_args_for_an_isolation():
    iso = cpu_isolation(SMT, isolated_cpus="2-3,6-7")
    assert isolation_kernel_args(iso) == ["isolcpus=managed_irq,domain,2-3,6-7", "nohz_full=2-3,6-7",
                                          "rcu_nocbs=2-3,6-7", "irqaffinity=0-1,4-5"]
    # a switch left null counts as true, false leaves the argument out
    assert isolation_kernel_args(iso, isolcpus=None, isolcpus_flags=["domain"], nohz_full=False, rcu_nocbs=None,
                                 irqaffinity=False) == ["isolcpus=domain,2-3,6-7", "rcu_nocbs=2-3,6-7"]


def test_kernel_args_none_without_isolation_or_with_tuned():
    assert isolation_kernel_args(cpu_isolation(SMT, isolated_cpus="")) == []
    assert isolation_kernel_args(cpu_isolation(SMT, isolated_cpus="3,7"), tuned=True) == []


def test_kernel_args_refuse_bad_flags():
    with pytest.raises(AnsibleFilterError) as err:
        isolation_kernel_args(cpu_isolation(SMT, isolated_cpus="3,7"), isolcpus_flags=["bogus"])
    assert str(err.value) == ("isolation_kernel_args: isolcpus_flags: ['bogus'] is not valid: "
                              "expected a list of nohz, domain, managed_irq")


def test_suggestion_widens_to_whole_cores_and_is_accepted_by_cpu_isolation():
    # an isolate guest on CPU 2 holds its idle sibling 6; a dedicated vCPU on 3 leaves 7 on the same core
    suggestion = isolation_suggestion({"isolated_cpus": "2-3"}, SMT)
    assert suggestion == {"isolated_cpus": "2-3,6-7", "held_cpus": "2-3", "accepted": True, "reason": ""}
    assert cpu_isolation(SMT, isolated_cpus=suggestion["isolated_cpus"])["isolated"] == "2-3,6-7"


def test_suggestion_gives_no_impossible_advice_on_two_cpus():
    assert isolation_suggestion({"isolated_cpus": "1"}, TWO_CPUS) == {
        "isolated_cpus": "1", "held_cpus": "1", "accepted": True, "reason": ""}
    assert isolation_suggestion({"isolated_cpus": "0-1"}, TWO_CPUS) == {
        "isolated_cpus": "", "held_cpus": "0-1", "accepted": False,
        "reason": "numa_pinning_isolated_cpus: '0-1' is not valid: CPU 0 always stays a housekeeping CPU "
                  "(the boot CPU keeps the timekeeping)"}
    assert isolation_suggestion({"isolated_cpus": ""}, TWO_CPUS) == {
        "isolated_cpus": "", "held_cpus": "", "accepted": True, "reason": ""}


def test_suggestion_refuses_a_node_left_without_housekeeping():
    two_nodes = host({0: "0", 1: "1", 2: "2", 3: "3"}, node_of={2: 1, 3: 1})
    suggestion = isolation_suggestion({"isolated_cpus": "1-3"}, two_nodes)
    assert suggestion["accepted"] is False
    assert suggestion["reason"] == ("numa_pinning_isolated_cpus: '1-3' is not valid: it covers every online CPU of "
                                    "NUMA node 1 (2-3); keep at least one housekeeping core on every node")


def test_guest_requests_split_present_and_absent():
    from ansible_collections.virtuned.libvirt.plugins.filter.guest_requests import guest_requests
    assert guest_requests([{"name": "a", "vcpus": 1, "memory": "128M", "state": "present"},
                           {"name": "b", "state": "absent"}, {"name": "c", "vcpus": 2, "memory": "1G"}]) == {
        "present": [{"name": "a", "vcpus": 1, "memory": "128M"}, {"name": "c", "vcpus": 2, "memory": "1G"}],
        "absent": [{"name": "b", "state": "absent"}],
        "names": ["a", "b", "c"],
    }
    assert guest_requests([]) == {"present": [], "absent": [], "names": []}


@pytest.mark.parametrize("guests, message", [
    ([{"vcpus": 1}], "numa_pinning_guests[0]: {'vcpus': 1} is not valid: expected a dictionary with a name"),
    ([{"name": "a"}, {"name": "a"}], "numa_pinning_guests[1]: 'a' is not valid: the guest a is given twice"),
    ([{"name": "a", "state": "gone"}], "numa_pinning_guests[0].state: 'gone' is not valid: expected present or absent"),
    ([{"name": "a", "state": "absent", "vcpus": 2}],
     "numa_pinning_guests[0]: 'a' is not valid: a guest to unplace takes only name and state (not vcpus)"),
    ("a", "numa_pinning_guests: 'a' is not valid: expected a list of guests"),
])
def test_guest_requests_refuse_bad_entries(guests, message):
    from ansible_collections.virtuned.libvirt.plugins.filter.guest_requests import guest_requests
    with pytest.raises(AnsibleFilterError) as err:
        guest_requests(guests)
    assert str(err.value) == message
