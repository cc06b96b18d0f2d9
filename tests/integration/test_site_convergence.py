"""Site convergence through numa_pinning's guest side on qemu:///system (issue 15): place, shrink, small pages,
unplace, restart.

Each step runs the role (tasks_from: guests) in check mode, for real, and again. Check mode changes nothing and
reports the same changes as the real run; the real run leaves exactly the expected live and persistent XML; the
second run changes nothing. No host-side setting is given, so no host file may change.

This host has one node and CPUs 0-1, and CPU 0 is the housekeeping CPU no dedicated vCPU may take: a 2-vCPU guest
beside a dedicated one does not fit (planner v2: a shared cell never has more vCPUs than its node has shared CPUs).
So both guests are shared (they float over CPUs 0-1): vt-it-site-a (2 vCPUs, running) and vt-it-site-b (1 vCPU, shut off),
both first on 2 MiB pages. Then a shrinks to 1 vCPU, goes to small pages, b is unplaced, and a, running all along
with what waits for its boot, is restarted with restart if_needed. It sits in its firmware without an OS and ignores
the ACPI request: force_off powers it off after a 3 s timeout.

The 2 MiB pool of node 0 follows the guests exactly: after each step it holds the pages the guests need after the
step (128, 128, 64 once a is on small pages, 0 once b is unplaced) plus the pages in use at the start of the run;
the free pages no guest needs are given back. The pool is shared with the other tests: a run during which someone
else moved it, or while another test's hugepage-backed guest is defined, is checked for the rest only.
"""

import contextlib
import glob
import hashlib
import os
import re

import libvirt
import pytest

from integration.conftest import guest_xml, run_playbook

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

PLAYBOOK = "site_convergence.yml"
A, B = "vt-it-site-a", "vt-it-site-b"
PLACE = "virtuned.libvirt.numa_pinning : Place the guests (one domain_tuning call for all of them)"
RESERVE = "virtuned.libvirt.hugepages_host : Reserve the run-time hugepage pools"
SHOW = "Show the outcome"
GLOBAL_POOL = "/proc/sys/vm/nr_hugepages"
NODE_POOLS = "/sys/devices/system/node/node*/hugepages/hugepages-*kB/nr_hugepages"
POOL = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"
FREE = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages"
GUEST_PAGES = 64  # 128 MiB on 2 MiB pages
# Host files a guest-side run must never touch (the host side of both roles writes these).
HOST_FILES = ["/etc/systemd/system.conf.d", "/etc/systemd/system", "/etc/default", "/etc/virtuned", "/etc/fstab",
              "/etc/libvirt/qemu.conf", "/etc/sysctl.d", "/etc/tuned", "/etc/sysconfig"]

SHARED_PINS = {"vcpupin": [{"vcpu": 0, "cpuset": "0-1"}, {"vcpu": 1, "cpuset": "0-1"}], "emulatorpin": "0-1"}
SHARED_PIN = {"vcpupin": [{"vcpu": 0, "cpuset": "0-1"}], "emulatorpin": "0-1"}
STRICT = {"memory": {"mode": "strict", "nodeset": "0"}, "memnodes": [{"cellid": 0, "mode": "strict", "nodeset": "0"}]}
CELL_2 = [{"id": 0, "cpus": "0-1", "memory": "128 MiB"}]
CELL_1 = [{"id": 0, "cpus": "0", "memory": "128 MiB"}]
PAGES = {"hugepages": [{"size": "2 MiB", "nodeset": "0"}]}


def topology(cores):
    return {"sockets": 1, "dies": 1, "cores": cores, "threads": 1}


def tuning(cputune, numa, memory_backing, vcpus, topo):
    return {"cputune": cputune, "numa": numa, "memory_backing": memory_backing, "vcpus": vcpus, "topology": topo}


def read_tuning(xml):
    """The areas the role owns, as each area's reader sees them."""
    root = parse_domain(xml)
    shown = {name: AREAS[name].to_options(AREAS[name].read(root)) for name in ("cputune", "numa", "memory_backing", "vcpus")}
    shown["topology"] = AREAS["cpu_model"].to_options(AREAS["cpu_model"].read(root)).get("topology")
    return shown


def read_guests(qemu):
    """Per guest: its persistent tuning and, when it runs, its live tuning (None when shut off)."""
    found = {}
    for name in (A, B):
        dom = qemu.lookupByName(name)
        found[name] = {"persistent": read_tuning(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)),
                       "live": read_tuning(dom.XMLDesc(0)) if dom.isActive() else None}
    return found


def host_files():
    """Every file and directory under HOST_FILES: its content's sha256 (None for a directory) and mtime."""
    seen = {}
    for top in HOST_FILES:
        if not os.path.lexists(top):
            seen[top] = "absent"
            continue
        walk = [(top, [], [])] if not os.path.isdir(top) else os.walk(top)
        for folder, _dirs, files in walk:
            for path in [folder] + [os.path.join(folder, f) for f in files]:
                info = os.lstat(path)
                digest = None
                if os.path.isfile(path) and not os.path.islink(path):
                    with open(path, "rb") as handle:
                        digest = hashlib.sha256(handle.read()).hexdigest()
                seen[path] = (digest, info.st_mtime_ns)
    return seen


def read_pools():
    pools = {path: int(open(path).read()) for path in glob.glob(NODE_POOLS)}
    pools[GLOBAL_POOL] = int(open(GLOBAL_POOL).read())
    return pools


@pytest.fixture
def pools_given_back():
    """The run-time pools as they were: the role grows them and gives back what no guest needs (also pages someone
    else reserved and nobody uses), so each one it moved is written back."""
    before = read_pools()
    yield before
    for path, count in sorted(before.items(), key=lambda item: item[0] == GLOBAL_POOL):
        with contextlib.suppress(OSError, ValueError):
            if int(open(path).read()) != count:
                with open(path, "w") as handle:
                    handle.write("%d\n" % count)


def others_on_pages(qemu):
    """Defined guests other than this test's that are hugepage-backed (defined or running): other tests'."""
    found = []
    for dom in qemu.listAllDomains():
        if dom.name() in (A, B):
            continue
        try:
            xmls = [dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)] + ([dom.XMLDesc(0)] if dom.isActive() else [])
        except libvirt.libvirtError:
            # undefined by another test while read: its pages may still move the pool
            found.append(dom.name())
            continue
        if any(parse_domain(xml).find("memoryBacking/hugepages") is not None for xml in xmls):
            found.append(dom.name())
    return found


def pool_state():
    """(total, in use) of the 2 MiB pool of node 0."""
    total = int(open(POOL).read())
    return total, total - int(open(FREE).read())


def pool_target(qemu, pages_needed):
    """The 2 MiB pool of node 0 the role leaves: the pages this test's guests need after the step plus the pages in
    use now (this test's guests never run on hugepages: a's 2 MiB backing always waits for its boot, b is shut
    off), so every free page no guest needs is given back. None when another test's hugepage-backed guest is
    defined: its pages are kept too, and this test does not count them."""
    if others_on_pages(qemu):
        return None
    return pages_needed + int(open(POOL).read()) - int(open(FREE).read())


def changed_tasks(tasks):
    return sorted(name for name, result in tasks.items() if result.get("changed"))


def summary_lines(tasks):
    """The role's summary. The host line's memory and page counts are this machine's and the other tests' (the pool
    and the memory are shared): they are masked."""
    masked = []
    for line in tasks[SHOW]["msg"]["summary"].splitlines():
        line = re.sub(r"memory [0-9.]+ [MG]iB, [0-9.]+ [MG]iB free", "memory M, F free", line)
        masked.append(re.sub(r"2 MiB pages [0-9]+ total, [0-9]+ free", "2 MiB pages T total, F free", line))
    return masked


HOST_LINES = ["host:", "  node 0: CPUs 0-1, held by guests none, housekeeping 0, free for dedicated vCPUs 1; "
              "memory M, F free; 2 MiB pages T total, F free"]
# once the pool is given back whole (no other test holds or needs pages)
HOST_LINES_NO_PAGES = ["host:", "  node 0: CPUs 0-1, held by guests none, housekeeping 0, free for dedicated vCPUs 1; "
                       "memory M, F free; no hugepages reserved"]


def host_lines(pool):
    """The summary's host lines for the 2 MiB pool of node 0 the real run left (``pool`` pages)."""
    return HOST_LINES if pool else HOST_LINES_NO_PAGES


PINS_2 = "  pins: vCPUs 0-1 -> CPUs 0-1, emulator -> CPUs 0-1"
PINS_1 = "  pins: vCPU 0 -> CPUs 0-1, emulator -> CPUs 0-1"
ON_PAGES = "  memory: 128 MiB on 2 MiB pages (64 pages)"
ON_SMALL = "  memory: 128 MiB on small pages"
WAITING = "cpu_model.topology, numa.numatune, numa.cells"


def block(name, pins, memory, live="nothing", waits="nothing", restarted=False):
    return ["%s: host node 0, host CPUs 0-1" % name, pins, memory, "  applied live: %s" % live,
            ("  applied by the restart: %s" if restarted else "  waits for a restart: %s") % waits,
            "  restarted: %s" % ("yes" if restarted else "no")]


B_PLACED = block(B, PINS_1, ON_PAGES)
B_UNPLACED = ["%s: unplaced (its vCPU pins, numatune and hugepage backing removed; vCPUs, memory and cells kept)" % B,
              "  applied live: nothing", "  waits for a restart: nothing", "  restarted: no"]


def moved_by_others(tasks, seen):
    """The pool is shared with the other tests on this machine: a reservation whose count before is not what this
    test read just before the run (``seen``) found the pool moved by someone else in between."""
    return any(change.get("before") != seen for change in tasks.get(RESERVE, {}).get("changes") or [])


def expected_changes(tasks, target, seen):
    """The tasks that must report changed: the placement call, and the pool when it must become ``target`` (None:
    at least what the plan needs, other tests' guests decide the rest) from what it had (``seen``), or when someone
    else moved the pool in between."""
    if target is None:
        reserve = bool(tasks.get(RESERVE, {}).get("changed"))
    else:
        reserve = target != seen or moved_by_others(tasks, seen)
    return sorted([PLACE] + ([RESERVE] if reserve else []))


def pool_changes(tasks):
    """The reservation's changes as (node, page KiB, before, requested), [] when the pool was left alone."""
    return [(c.get("node"), c.get("size_kib"), c.get("before"), c.get("requested"))
            for c in tasks.get(RESERVE, {}).get("changes") or []]


def converge(qemu, guests, expected, changes, pages_needed, restart=False):
    """One step: check mode, real run, second run; asserts all of it. Returns the real run's summary lines and tasks."""
    extra = {"numa_pinning_guests": guests}
    if restart:
        extra.update({"numa_pinning_restart": "if_needed", "numa_pinning_force_off": True,
                      "numa_pinning_shutdown_timeout": 3})
    restarted = sorted(name for name, change in changes.items() if change) if restart else []
    before, files = read_guests(qemu), host_files()

    state = pool_state()
    seen, target = state[0], pool_target(qemu, pages_needed)
    rc, tasks, stats = run_playbook(PLAYBOOK, extra, check=True)
    assert rc == 0, tasks
    assert read_guests(qemu) == before
    # check mode writes no pool: its reservation allocates nothing, and the pool moves only when someone else
    # (another test, a molecule scenario) moves it during the run
    reserved = tasks.get(RESERVE, {}).get("changes") or []
    assert [c["allocated"] for c in reserved] == [c["before"] for c in reserved]
    moved = moved_by_others(tasks, seen) or pool_state() != state
    assert {name: result["changed"] for name, result in tasks[PLACE]["guests"].items()} == changes
    changing = expected_changes(tasks, None if moved else target, seen)
    check_pool = pool_changes(tasks)
    assert (changed_tasks(tasks), stats["changed"]) == (changing, len(changing))
    assert tasks[SHOW]["msg"]["restarted"] == restarted
    assert host_files() == files

    checked, check_target = state, target
    state = pool_state()
    seen, target = state[0], pool_target(qemu, pages_needed)
    moved = moved or state != checked
    rc, tasks, stats = run_playbook(PLAYBOOK, extra)
    assert rc == 0, tasks
    # someone else's pages taken or freed during the run: the role saw another pool than ``state``
    settled = not moved_by_others(tasks, seen) and pool_state()[1] == state[1]
    assert {name: result["changed"] for name, result in tasks[PLACE]["guests"].items()} == changes
    assert changed_tasks(tasks) == expected_changes(tasks, target if settled else None, seen)
    assert stats["changed"] == len(changed_tasks(tasks))
    if settled and not moved and None not in (check_target, target):
        # the same changed tasks and the same pool change as the check run (no other test's hugepage-backed
        # guest, which could have changed in between)
        assert changed_tasks(tasks) == changing
        assert pool_changes(tasks) == check_pool
    if settled and target is not None:
        # grown to what the guests need, or the free pages no guest needs given back: exactly
        assert int(open(POOL).read()) == target
        assert pool_changes(tasks) == ([] if target == seen else [(0, 2048, seen, target)])
    assert tasks[SHOW]["msg"]["restarted"] == restarted
    assert read_guests(qemu) == expected
    assert int(open(POOL).read()) >= pages_needed
    assert host_files() == files
    real = summary_lines(tasks)
    pool_after = int(open(POOL).read())
    if os.environ.get("VIRTUNED_SUMMARY_FILE"):
        with open(os.environ["VIRTUNED_SUMMARY_FILE"], "a") as handle:
            handle.write("\n".join(tasks[SHOW]["msg"]["summary"].splitlines()) + "\n\n")

    state = pool_state()
    seen, target = state[0], pool_target(qemu, pages_needed)
    rc, again, stats = run_playbook(PLAYBOOK, extra)
    assert rc == 0, again
    settled = not moved_by_others(again, seen) and pool_state() == state
    assert changed_tasks(again) == [name for name in expected_changes(again, target if settled else None, seen)
                                    if name != PLACE]
    if settled and target is not None:
        # the pool the real run left is what the guests need: the second run leaves it alone
        assert pool_changes(again) == []
    assert stats["changed"] == len(changed_tasks(again))
    assert not any(result["changed"] for result in again[PLACE]["guests"].values())
    assert again[SHOW]["msg"]["restarted"] == []
    assert read_guests(qemu) == expected
    assert host_files() == files
    return real, tasks, pool_after


@pytest.mark.skipif(not os.path.exists(POOL), reason="no 2 MiB pool on node 0")
def test_place_shrink_small_pages_unplace_restart(qemu, guests, pools_given_back):
    untouched_a = tuning({}, {}, {}, {"maximum": 2, "placement": "static"}, None)
    guests(A, start=True, xml=guest_xml(A, vcpus=2).replace("<iothreads>2</iothreads>", ""))
    guests(B, start=False, xml=guest_xml(B, vcpus=1).replace("<iothreads>2</iothreads>", ""))
    shared = {"memory": "128M"}

    # 1. place both on 2 MiB pages: a runs, its pins apply live, the rest waits for its boot
    a_placed = tuning(SHARED_PINS, {"cells": CELL_2, "numatune": STRICT}, PAGES, {"maximum": 2, "placement": "static"},
                      topology(2))
    b_placed = tuning(SHARED_PIN, {"cells": CELL_1, "numatune": STRICT}, PAGES, {"maximum": 1, "placement": "static"},
                      topology(1))
    place = [dict(shared, name=A, vcpus=2, page_size="2M"), dict(shared, name=B, vcpus=1, page_size="2M")]
    live_a = dict(untouched_a, cputune=SHARED_PINS)
    lines, tasks, _pool = converge(qemu, place, {A: {"persistent": a_placed, "live": live_a},
                                                 B: {"persistent": b_placed, "live": None}},
                                   {A: True, B: True}, 2 * GUEST_PAGES)
    assert tasks[SHOW]["msg"]["restart_required"] == [A]
    assert lines == block(A, PINS_2, ON_PAGES, live="pin vCPU 0 to 0-1, pin vCPU 1 to 0-1, pin the emulator to 0-1",
                          waits=WAITING + ", memory_backing.hugepages") + B_PLACED + HOST_LINES

    # 2. shrink a: 2 vCPUs -> 1 (its second vCPU's pin stays live until the restart)
    a_one = tuning(SHARED_PIN, {"cells": CELL_1, "numatune": STRICT}, PAGES, {"maximum": 1, "placement": "static"},
                   topology(1))
    shrink = [dict(shared, name=A, vcpus=1, page_size="2M"), place[1]]
    lines, _tasks, pool = converge(qemu, shrink, {A: {"persistent": a_one, "live": live_a},
                                                  B: {"persistent": b_placed, "live": None}},
                                   {A: True, B: False}, 2 * GUEST_PAGES)
    assert lines == block(A, PINS_1, ON_PAGES, waits="vcpus.maximum, %s, memory_backing.hugepages" % WAITING) + (
        B_PLACED + HOST_LINES)

    # 3. a back on small pages
    a_small = dict(a_one, memory_backing={})
    small = [dict(shared, name=A, vcpus=1), place[1]]
    lines, _tasks, pool = converge(qemu, small, {A: {"persistent": a_small, "live": live_a},
                                                 B: {"persistent": b_placed, "live": None}},
                                   {A: True, B: False}, GUEST_PAGES)
    a_waits = block(A, PINS_1, ON_SMALL, waits="vcpus.maximum, " + WAITING)
    assert lines == a_waits + B_PLACED + HOST_LINES

    # 4. unplace b: its pins, numatune and hugepage backing go; its vCPUs, memory and cells stay
    b_unplaced = tuning({}, {"cells": CELL_1}, {}, {"maximum": 1, "placement": "static"}, topology(1))
    unplace = [small[0], {"name": B, "state": "absent"}]
    lines, _tasks, pool = converge(qemu, unplace, {A: {"persistent": a_small, "live": live_a},
                                                   B: {"persistent": b_unplaced, "live": None}},
                                   {A: False, B: True}, 0)
    assert lines == a_waits + B_UNPLACED + host_lines(pool)

    # 5. restart if_needed: a, which waited for its boot since step 1, is powered off after the timeout and started
    lines, tasks, pool = converge(qemu, unplace, {A: {"persistent": a_small, "live": a_small},
                                                  B: {"persistent": b_unplaced, "live": None}},
                                  {A: True, B: False}, 0, restart=True)
    assert qemu.lookupByName(A).isActive()
    assert tasks[PLACE]["guests"][A]["in_force"] == ["vcpus.maximum"] + WAITING.split(", ")
    assert tasks[SHOW]["msg"]["restart_required"] == []
    assert lines == block(A, PINS_1, ON_SMALL, waits="vcpus.maximum, " + WAITING, restarted=True) + (
        B_UNPLACED + host_lines(pool))
