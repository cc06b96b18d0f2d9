"""hugepage_reservation with give_back: the pools the guests need after this run (issue 15 item 5)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.virtuned.libvirt.plugins.filter.hugepage_reservation import hugepage_reservation


def host(node0_2m, node1_2m=(0, 0), node0_1g=(0, 0)):
    """host_info's host with (total, free) per pool."""
    def pool(size_kib, total_free):
        return {"size_kib": size_kib, "total": total_free[0], "free": total_free[1], "surplus": 0}
    return {"nodes": [{"id": 0, "hugepages": [pool(2048, node0_2m), pool(1048576, node0_1g)]},
                      {"id": 1, "hugepages": [pool(2048, node1_2m)]}]}


def planned(name, memory="256 MiB", page="2 MiB", node=0):
    """A numa_plan plan entry: one cell on ``node``, on ``page`` pages (None: small pages)."""
    return {"name": name, "fits": True, "reason": "", "host_nodes": [node],
            "numa": {"cells": [{"id": 0, "cpus": "0", "memory": memory}]},
            "memory_backing": {"hugepages": [{"size": page, "nodeset": "0"}]} if page else {}}


def placed(name, memory="256 MiB", page="2M", node=0, active=False):
    """A guest_placements_info existing entry (running memory when active)."""
    return {"name": name, "cpus": "", "active": active,
            "memory": [{"node": node, "size": memory, "page_size": page}]}


def needs(*pools):
    return {"hugepages": [{"node": n, "size": s, "count": c} for n, s, c in pools], "isolated_cpus": ""}


def test_grow_a_bare_pool_to_what_the_plan_needs():
    assert hugepage_reservation(needs((0, "2 MiB", 128)), host((0, 0)), give_back=True, plan=[planned("a")],
                                existing=[placed("a", page="small")]) == [{"node": 0, "size": "2M", "count": 128}]


def test_shrink_after_unplace_gives_back_the_free_pages():
    # b (shut off, 128 pages in its definition) is unplaced; a keeps its 128
    result = hugepage_reservation(needs((0, "2 MiB", 128)), host((256, 256)), give_back=True, plan=[planned("a")],
                                  existing=[placed("a"), placed("b")], unplaced=["b"])
    assert result == [{"node": 0, "size": "2M", "count": 128}]
    # nothing needs pages any more: the pool is given back whole
    assert hugepage_reservation(needs(), host((128, 128)), give_back=True, plan=[planned("a", page=None)],
                                existing=[placed("a")]) == [{"node": 0, "size": "2M", "count": 0}]
    # and the next run leaves it alone (nothing listed)
    assert hugepage_reservation(needs(), host((0, 0)), give_back=True, plan=[planned("a", page=None)],
                                existing=[placed("a", page="small")]) == []


def test_small_pages_shrink_keeps_the_other_placed_guest():
    # a goes to small pages, b stays on 2 MiB pages (both shut off)
    assert hugepage_reservation(needs((0, "2 MiB", 128)), host((256, 256)), give_back=True,
                                plan=[planned("a", page=None), planned("b")],
                                existing=[placed("a"), placed("b")]) == [{"node": 0, "size": "2M", "count": 128}]


def test_never_below_the_pages_in_use():
    # b runs on its 128 pages and is unplaced: they stay in use until it stops; a needs its 128 free
    result = hugepage_reservation(needs((0, "2 MiB", 128)), host((256, 128)), give_back=True, plan=[planned("a")],
                                  existing=[placed("a"), placed("b", active=True)], unplaced=["b"])
    assert result == [{"node": 0, "size": "2M", "count": 256}]
    # no guest needs pages: the pool keeps only the 128 in use
    assert hugepage_reservation(needs(), host((256, 128)), give_back=True, plan=[],
                                existing=[placed("b", active=True)], unplaced=["b"]) == [
        {"node": 0, "size": "2M", "count": 128}]
    # pages in use by something that is no guest (64 of 100) are kept too
    assert hugepage_reservation(needs(), host((100, 36)), give_back=True, plan=[], existing=[]) == [
        {"node": 0, "size": "2M", "count": 64}]


def test_a_running_guest_that_moves_to_small_pages_keeps_room_for_a_shut_off_one():
    # a runs on 128 pages and goes to small pages at its next boot; s (not managed, shut off) needs 128 at its boot
    assert hugepage_reservation(needs((0, "2 MiB", 128)), host((256, 128)), give_back=True,
                                plan=[planned("a", page=None)],
                                existing=[placed("a", active=True), placed("s")]) == [
        {"node": 0, "size": "2M", "count": 256}]


def test_a_running_guest_that_keeps_its_pages_is_counted_once():
    # a runs on its 128 pages and keeps them; 128 free pages nobody needs are given back
    assert hugepage_reservation(needs((0, "2 MiB", 128)), host((256, 128)), give_back=True, plan=[planned("a")],
                                existing=[placed("a", active=True)]) == [{"node": 0, "size": "2M", "count": 128}]


def test_other_guests_pages_are_kept_even_when_the_plan_ignored_them():
    # numa_pinning_other_guests: ignore leaves c and d out of host_requirements; their pages stay:
    # c (shut off) needs 64 on node 1, d runs on 32 pages of node 0
    result = hugepage_reservation(needs((0, "2 MiB", 128)), host((300, 140), node1_2m=(100, 100)), give_back=True,
                                  plan=[planned("a")],
                                  existing=[placed("a"), placed("c", memory="128 MiB", node=1),
                                            placed("d", memory="64 MiB", active=True)])
    # node 0: a 128 + d 32 needed, 160 in use of which d keeps 32: 160 + 160 - 32
    assert result == [{"node": 0, "size": "2M", "count": 288}, {"node": 1, "size": "2M", "count": 64}]


def test_gigantic_pools_only_grow():
    assert hugepage_reservation(needs(), host((0, 0), node0_1g=(2, 2)), give_back=True, plan=[], existing=[]) == []
    assert hugepage_reservation(needs((0, "1 GiB", 1)), host((0, 0), node0_1g=(2, 2)), give_back=True,
                                plan=[planned("a", memory="1 GiB", page="1 GiB")], existing=[placed("a")]) == [
        {"node": 0, "size": "1G", "count": 2}]


def test_a_pool_whose_free_pages_are_unknown_is_never_shrunk():
    unknown = {"nodes": [{"id": 0, "hugepages": [{"size_kib": 2048, "total": 256, "free": None}]}]}
    assert hugepage_reservation(needs(), unknown, give_back=True, plan=[], existing=[]) == []


def test_without_give_back_pools_only_grow():
    assert hugepage_reservation(needs((0, "2 MiB", 128)), host((256, 256)), plan=[planned("a")],
                                existing=[placed("a")]) == [{"node": 0, "size": "2M", "count": 256}]


@pytest.mark.parametrize("kwargs, message", [
    ({"plan": None, "existing": []}, "plan: 'NoneType' is not valid: expected numa_plan's plan (a list) with give_back"),
    ({"plan": [], "existing": None},
     "existing: 'NoneType' is not valid: expected guest_placements_info's existing (a list) with give_back"),
    ({"plan": ["x"], "existing": []}, "plan[0]: 'x' is not valid: expected one entry of numa_plan's plan"),
    ({"plan": [], "existing": [{"name": "b", "memory": [{"node": "0", "size": "1G", "page_size": "2M"}]}]},
     "existing[b].memory[0]: {'node': '0', 'size': '1G', 'page_size': '2M'} is not valid: "
     "expected {node, size, page_size} with an integer node"),
])
def test_give_back_refuses_bad_input_by_name(kwargs, message):
    with pytest.raises(AnsibleFilterError) as err:
        hugepage_reservation(needs(), host((0, 0)), give_back=True, **kwargs)
    assert str(err.value) == message


def planner_host(total, free):
    return {"cpus": [{"id": c, "online": True, "node": 0, "socket": 0, "die": 0, "core": c, "siblings": str(c),
                      "l3": None, "isolated": False, "nohz_full": False} for c in range(4)],
            "nodes": [{"id": 0, "cpus": "0-3", "memory_kib": 8 << 20, "free_kib": None,
                       "distances": [{"id": 0, "value": 10}],
                       "hugepages": [{"size_kib": 2048, "total": total, "free": free, "surplus": 0}]}],
            "isolated": "", "nohz_full": "", "cmdline": "", "smt": False, "domain_capabilities": None}


def test_the_role_steps_with_the_real_planner():
    """What the role passes: numa_plan's host_requirements and plan, guest_placements_info's existing (all defined
    guests), the unplaced names; the planner gets existing without the unplaced guests."""
    from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan
    a = {"name": "a", "vcpus": 1, "memory": "256M", "page_size": "2M"}
    b = {"name": "b", "vcpus": 1, "memory": "256M", "page_size": "2M"}

    def step(guests, existing, total, free, unplaced=()):
        kept = [e for e in existing if e["name"] not in unplaced]
        result = plan(planner_host(total, free), guests, existing=kept, reserved_cpus="0", reserve_hugepages=True)
        return hugepage_reservation(result["host_requirements"], planner_host(total, free), give_back=True,
                                    plan=result["plan"], existing=existing, unplaced=list(unplaced))

    # both placed on a bare pool: it grows to 256
    assert step([a, b], [placed("a", page="small"), placed("b", page="small")], 0, 0) == [
        {"node": 0, "size": "2M", "count": 256}]
    # a back on small pages (both shut off): 128 given back
    assert step([dict(a, page_size="small"), b], [placed("a"), placed("b")], 256, 256) == [
        {"node": 0, "size": "2M", "count": 128}]
    # b unplaced: the rest given back
    assert step([dict(a, page_size="small")], [placed("a", page="small"), placed("b")], 128, 128,
                unplaced=["b"]) == [{"node": 0, "size": "2M", "count": 0}]
    # b unplaced while it runs on its pages: they stay until it stops (the pool is left alone)
    assert step([dict(a, page_size="small")], [placed("a", page="small"), placed("b", active=True)], 128, 0,
                unplaced=["b"]) == []
    # ... and a guest planned beside it gets pages on top of them
    assert step([a], [placed("a", page="small"), placed("b", active=True)], 128, 0, unplaced=["b"]) == [
        {"node": 0, "size": "2M", "count": 256}]
    # another defined guest c (not in the list, shut off, 64 pages) keeps its pages: the planner holds it
    assert step([dict(a, page_size="small")], [placed("a", page="small"), placed("c", memory="128 MiB")], 256, 256) \
        == [{"node": 0, "size": "2M", "count": 64}]


def test_grow_phase_never_shrinks_so_the_shrink_waits_for_the_guests_write():
    """The role reserves phase grow before writing the guests and phase final after: a run stopped between the two
    steps never leaves a guest defined on hugepages whose pages were already given back."""
    unplace = dict(give_back=True, plan=[planned("a")], existing=[placed("a"), placed("b")], unplaced=["b"])
    assert hugepage_reservation(needs((0, "2 MiB", 128)), host((256, 256)), **unplace) == [
        {"node": 0, "size": "2M", "count": 128}]
    assert hugepage_reservation(needs((0, "2 MiB", 128)), host((256, 256)), phase="grow", **unplace) == [
        {"node": 0, "size": "2M", "count": 256}]
    # a pool that grows is the same in both phases
    grow = dict(give_back=True, plan=[planned("a")], existing=[placed("a", page="small")])
    assert hugepage_reservation(needs((0, "2 MiB", 128)), host((0, 0)), phase="grow", **grow) == \
        hugepage_reservation(needs((0, "2 MiB", 128)), host((0, 0)), **grow) == [{"node": 0, "size": "2M", "count": 128}]
    with pytest.raises(AnsibleFilterError) as err:
        hugepage_reservation(needs(), host((0, 0)), phase="shrink", **grow)
    assert str(err.value) == "phase: 'shrink' is not valid: expected final or grow"
