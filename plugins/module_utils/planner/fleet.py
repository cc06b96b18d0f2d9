# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet placement: choose the host of each guest across an inventory (the fleet_plan module).

There is no second planner here. Each host is a ``HostSession``: numa_plan's own host model and
plan state, with the host's existing guests accounted for exactly as ``planner.plan`` does it.
A guest is tried on a host with ``planner.place_guest`` (nothing taken) and kept with
``planner.commit``; the options, host requirements and per-host map at the end come from the
same functions ``planner.plan`` uses. Guests are taken in ``plan``'s canonical order, so each
host's share is placed exactly as ``numa_plan`` would place it (a unit test holds it to that).

Choosing the host is a greedy, deterministic scan. The guest's main resource is free dedicated
CPUs when it has dedicated vCPUs or isolated threads, otherwise free ordinary memory; ``pack``
tries the hosts with the least of it first (the busiest that fits), ``spread`` the most first.
Hosts are kept sorted by both figures, so hosts that cannot hold the guest's main need are
never looked at, and a host that refused a request of one shape is not asked again for that
shape (placing guests only takes resources, so a refusal stays a refusal). The cost is one
placement attempt per guest and per (request shape, host) refusal, not hosts x guests attempts.
"""

from __future__ import annotations

import bisect

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner import planner

HOST_FIELDS = ("host", "existing", "reserved_cpus", "allocation", "labels")
FLEET_FIELDS = ("host", "labels", "anti_affinity")
STRATEGIES = planner.STRATEGIES


# ---------------------------------------------------------------------------------------------- one host


class HostSession:
    """One host's plan in progress, built from numa_plan's per-host code.

    ``requested`` names the guests whose entries in ``existing`` are re-planned (released first),
    as ``planner.plan`` does for requests named like an existing guest. Placing requests with
    ``try_place`` / ``accept`` in ``planner.plan``'s order and calling ``result`` gives what
    ``planner.plan`` returns for the same host, existing guests and requests.
    """

    def __init__(self, host, existing=None, reserved_cpus=None, reserve_hugepages=False, requested=(), where=""):
        # ``where`` prefixes the option names in errors (hosts[hv1].); empty for numa_plan's own names
        prefix = where + "." if where else ""
        self.model = host if isinstance(host, planner.HostModel) else planner.HostModel(host, prefix + "host")
        reserved = frozenset()
        if reserved_cpus not in (None, ""):
            reserved = parse_cpuset(reserved_cpus, prefix + "reserved_cpus", allow_empty=True)
        stray = sorted(c for c in reserved if c not in self.model.online)
        if stray:
            raise option_error(prefix + "reserved_cpus", reserved_cpus, "CPU %d is not an online host CPU" % stray[0])
        self.held = planner.normalise_existing(existing, self.model, prefix + "existing")
        self.state = planner.PlanState(self.model, reserved, reserve_hugepages)
        requested = set(requested)
        for entry in sorted(self.held, key=lambda e: e["name"]):
            self.state.add_existing(entry, entry["name"] in requested)
        self.previous = frozenset(e["name"] for e in self.held)
        self.placed = {}  # guest name -> (request, placement, cells)
        self.refused = {}  # guest name -> reason, for guests re-planned here that no longer fit
        self._figures = {}  # free figures, until the next accept

    def try_place(self, req, strategy):
        """(placement, None) when ``req`` fits next to what the host holds now, else (None, reason); takes nothing."""
        return planner.place_guest(self.model, self.state, req, strategy)

    def accept(self, req, placement):
        """Take the placement's CPUs and memory for ``req`` (a placement ``try_place`` just returned)."""
        cells = planner.commit(self.model, self.state, req, placement)
        for cell in cells:
            cell["page"] = placement.page
        self.placed[req["name"]] = (req, placement, cells)
        self._figures = {}

    def free_cpus(self):
        """CPUs a dedicated vCPU or isolated thread could still take."""
        if "cpus" not in self._figures:
            usable = self.state.usable
            self._figures["cpus"] = sum(1 for c in self.model.online if usable(c))
        return self._figures["cpus"]

    def free_memory_kib(self):
        """Ordinary (small-page) memory left, summed over nodes."""
        if "memory" not in self._figures:
            self._figures["memory"] = sum(max(kib, 0) for kib in self.state.small_left.values())
        return self._figures["memory"]

    def page_room(self, size):
        """Pages of ``size`` KiB the host could still give (free pool, plus memory with reserve_hugepages)."""
        if size not in self._figures:
            self._figures[size] = sum(self.state.page_room(n, size) for n in self.model.nodes)
        return self._figures[size]

    def plan_entries(self):
        """numa_plan's ``plan`` entries for the guests placed here (and the re-planned ones that failed), by name."""
        entries = []
        names = sorted(set(self.placed) | set(self.refused))
        for name in names:
            if name in self.refused:
                entries.append({"name": name, "fits": False, "reason": self.refused[name], "host_nodes": []})
                continue
            req, placement, cells = self.placed[name]
            entry = {"name": name, "fits": True, "reason": "", "host_nodes": list(placement.nodes)}
            entry.update(planner.guest_options(self.model, self.state, req, cells))
            entries.append(entry)
        return entries

    def requirements(self):
        """numa_plan's ``host_requirements`` for this host."""
        return planner._requirements(self.model, self.state, self.held)  # pylint: disable=protected-access

    def node_rows(self):
        """Per node: free and held CPUs, shared vCPUs, free memory, pages per size (used, total)."""
        rows = []
        for node in sorted(self.model.nodes):
            info = self.model.nodes[node]
            cpus = info["cpus"]
            free = sum(1 for c in cpus if self.state.usable(c))
            pages = []
            for size in sorted(set(info["pools"]) | set(self.state.pages_used[node])):
                total = info["pools"].get(size, {}).get("total", 0)
                used = self.state.pages_used[node].get(size, 0)
                if total or used:
                    pages.append((size, used, total))
            rows.append({"node": node, "cpus": len(cpus), "free": free, "held": len(cpus) - free,
                         "shared_vcpus": self.state.shared_load[node],
                         "memory_free_kib": max(self.state.small_left[node], 0), "pages": pages})
        return rows


# ---------------------------------------------------------------------------------------------- input


def _labels(value, option):
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise option_error(option, value, "expected a list of label strings")
    return frozenset(value)


def normalise_hosts(hosts):
    """The ``hosts`` option: inventory name -> {host, existing, reserved_cpus, allocation, labels}."""
    if not isinstance(hosts, dict) or not hosts:
        raise option_error("hosts", hosts, "expected a non-empty dict of inventory name -> {host, existing, ...}")
    result = {}
    for name in sorted(hosts):
        entry = hosts[name]
        where = "hosts[%s]" % name
        if not isinstance(entry, dict) or entry.get("host") is None:
            raise option_error(where, entry if not isinstance(entry, dict) else sorted(entry),
                               "each host needs 'host' (host_info's host dict)")
        unknown = sorted(set(entry) - set(HOST_FIELDS))
        if unknown:
            raise option_error(where, unknown, "unknown fields; known: %s" % ", ".join(HOST_FIELDS))
        if entry.get("existing") is not None and not isinstance(entry["existing"], list):
            raise option_error(where + ".existing", entry["existing"], "expected a list, as numa_plan's existing")
        if entry.get("allocation") not in (None, {}):
            raise option_error(where + ".allocation", entry["allocation"],
                               "allocation ratios are not supported by this planner yet")
        result[name] = {"raw": entry, "labels": _labels(entry.get("labels"), where + ".labels")}
    return result


def normalise_guests(guests, hosts):
    """The ``guests`` option: numa_plan requests plus host, labels and anti_affinity."""
    if not isinstance(guests, list):
        raise option_error("guests", guests, "expected a list of guest requests")
    result = []
    for index, raw in enumerate(guests):
        if not isinstance(raw, dict):
            raise option_error("guests[%d]" % index, raw, "a guest request is a dict")
        request = dict((k, v) for k, v in raw.items() if k not in FLEET_FIELDS)
        req = planner.normalise_request(request, index)
        where = "guests[%s]" % req["name"]
        target = raw.get("host")
        if target is not None and target not in hosts:
            raise option_error(where + ".host", target, "not one of the hosts: %s" % ", ".join(sorted(hosts)))
        group = raw.get("anti_affinity")
        if group is not None and (not isinstance(group, str) or not group):
            raise option_error(where + ".anti_affinity", group, "expected a group name")
        result.append({"req": req, "host": target, "labels": _labels(raw.get("labels"), where + ".labels"),
                       "group": group})
    names = [g["req"]["name"] for g in result]
    seen, dupes = set(), set()
    for name in names:
        (dupes if name in seen else seen).add(name)
    if dupes:
        raise option_error("guests", sorted(dupes)[0], "guest names must be unique")
    return result


def _existing_names(entry, where):
    names = []
    for index, item in enumerate(entry or []):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"])
        else:
            raise option_error("%s.existing[%d]" % (where, index), item, "each entry needs a name")
    return names


def _freeze(value):
    """A hashable copy of a normalised request's value (dicts, lists and sets inside)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return ("set",) + tuple(sorted(value))
    return value


def request_shape(req):
    """What decides where a request fits: the normalised request without its name."""
    return _freeze(dict((k, v) for k, v in req.items() if k not in ("name", "profile")))


def _extras(req):
    return (1 if req["emulator_threads"] == "isolate" else 0) + \
        (req["iothreads"] if req["iothread_policy"] == "isolate" else 0)


# ---------------------------------------------------------------------------------------------- the fleet


class _Ranking:
    """Hosts sorted by one free figure; ``pack`` scans from the least, ``spread`` from the most."""

    def __init__(self, strategy, figures):
        self.sign = 1 if strategy == "pack" else -1
        self.keys = {}
        self.order = []
        for index, figure in enumerate(figures):
            self.keys[index] = (self.sign * figure, index)
        self.order = sorted(self.keys.values())

    def update(self, index, figure):
        old = self.keys[index]
        del self.order[bisect.bisect_left(self.order, old)]
        new = (self.sign * figure, index)
        self.keys[index] = new
        bisect.insort(self.order, new)

    def candidates(self, demand):
        """Host indexes whose figure is at least ``demand``, in strategy order."""
        if self.sign == 1:
            start = bisect.bisect_left(self.order, (demand, -1))
            for key in self.order[start:]:
                yield key[1]
        else:
            for key in list(self.order):
                if -key[0] < demand:
                    return
                yield key[1]


def plan_fleet(hosts, guests, strategy="pack", reserve_hugepages=False):
    """Place ``guests`` across ``hosts``; returns {placements, plans, host_requirements, unplaced, map}."""
    planner._choice(strategy, "strategy", STRATEGIES)  # pylint: disable=protected-access
    fleet = normalise_hosts(hosts)
    names = sorted(fleet)
    wanted = normalise_guests(guests, fleet)
    requested = set(g["req"]["name"] for g in wanted)

    # a guest already in a host's existing stays there
    home = {}
    for name in names:
        for guest in _existing_names(fleet[name]["raw"].get("existing"), "hosts[%s]" % name):
            if guest in requested:
                if guest in home:
                    raise option_error("hosts[%s].existing" % name, guest,
                                       "guest %s is also in hosts[%s].existing: a guest is on one host"
                                       % (guest, home[guest]))
                home[guest] = name
    for guest in wanted:
        name = guest["req"]["name"]
        if name in home and guest["host"] not in (None, home[name]):
            raise option_error("guests[%s].host" % name, guest["host"],
                               "the guest is in hosts[%s].existing and stays there" % home[name])

    sessions = []
    for name in names:
        raw = fleet[name]["raw"]
        sessions.append(HostSession(raw["host"], existing=raw.get("existing"), reserved_cpus=raw.get("reserved_cpus"),
                                    reserve_hugepages=reserve_hugepages,
                                    requested=[g for g, h in home.items() if h == name],
                                    where="hosts[%s]" % name))
    index_of = dict((name, i) for i, name in enumerate(names))
    rank_cpus = _Ranking(strategy, [s.free_cpus() for s in sessions])
    rank_memory = _Ranking(strategy, [s.free_memory_kib() for s in sessions])

    # planner.plan's order: guests re-planned where they are first, then the canonical order
    order = sorted(wanted, key=lambda g: (g["req"]["name"] not in home, planner._order_key(g["req"])))  # pylint: disable=protected-access
    refused_shapes = {}  # request shape -> {host index: reason}
    members = {}  # anti_affinity group -> {host index: [guest names]}
    chosen = {}
    unplaced = []
    for guest in order:
        req = guest["req"]
        name = req["name"]
        target = home.get(name, guest["host"])
        group_hosts = members.get(guest["group"], {}) if guest["group"] else {}
        shape = request_shape(req)
        dead = refused_shapes.setdefault(shape, {})
        extras = _extras(req)
        if target is not None:
            candidates = [index_of[target]]
        elif req["dedicated"] or extras:
            candidates = rank_cpus.candidates(len(req["dedicated"]) + extras)
        else:
            candidates = rank_memory.candidates(req["memory_kib"] if req["page_size"] == "small" else 0)
        placed = None
        for index in candidates:
            if index in dead or index in group_hosts or not guest["labels"] <= fleet[names[index]]["labels"]:
                continue
            session = sessions[index]
            if not _may_fit(session, req, extras):
                continue
            found, reason = session.try_place(req, strategy)
            if found is None:
                dead[index] = reason
                continue
            placed = index
            session.accept(req, found)
            break
        if placed is None:
            if name in home:
                # as numa_plan reports a re-planned guest that no longer fits
                sessions[index_of[home[name]]].refused[name] = None
            unplaced.append(guest)
            continue
        chosen[name] = placed
        if guest["group"]:
            members.setdefault(guest["group"], {}).setdefault(placed, []).append(name)
        rank_cpus.update(placed, sessions[placed].free_cpus())
        rank_memory.update(placed, sessions[placed].free_memory_kib())

    final_reasons = {}
    unplaced_out = []
    for guest in sorted(unplaced, key=lambda g: g["req"]["name"]):
        reasons = _reasons(guest, names, fleet, sessions, home, members, refused_shapes, final_reasons, strategy)
        name = guest["req"]["name"]
        if name in home:
            sessions[index_of[home[name]]].refused[name] = reasons[home[name]]
        unplaced_out.append({"name": name, "reasons": reasons})

    placements = dict((name, []) for name in names)
    for guest_name in sorted(chosen):
        placements[names[chosen[guest_name]]].append(guest_name)
    return {
        "placements": placements,
        "plans": dict((name, sessions[i].plan_entries()) for i, name in enumerate(names)),
        "host_requirements": dict((name, sessions[i].requirements()) for i, name in enumerate(names)),
        "unplaced": unplaced_out,
        "map": render_fleet_map(names, sessions, placements),
    }


def _may_fit(session, req, extras):
    """Cheap necessary conditions (totals over the host's nodes); the exact check is place_guest's."""
    if req["dedicated"] or extras:
        if session.free_cpus() < len(req["dedicated"]) + extras:
            return False
    page = req["page_size"]
    if page == "small":
        return session.free_memory_kib() >= req["memory_kib"]
    if isinstance(page, int):
        return session.page_room(page) >= req["memory_kib"] // page
    return True


def _reasons(guest, names, fleet, sessions, home, members, refused_shapes, final_reasons, strategy):
    """One reason per host for a guest placed nowhere, against the final plan."""
    req = guest["req"]
    name = req["name"]
    target = home.get(name, guest["host"])
    shape = request_shape(req)
    group_hosts = members.get(guest["group"], {}) if guest["group"] else {}
    reasons = {}
    for index, host_name in enumerate(names):
        if target is not None and host_name != target:
            if name in home:
                reasons[host_name] = "the guest is on %s (in its existing) and stays there" % target
            else:
                reasons[host_name] = "the guest must go to %s (guests[%s].host)" % (target, name)
            continue
        missing = sorted(guest["labels"] - fleet[host_name]["labels"])
        if missing:
            reasons[host_name] = "the host lacks the label%s %s" % ("s" if len(missing) > 1 else "", ", ".join(missing))
            continue
        if index in group_hosts:
            reasons[host_name] = "anti_affinity %s: %s already there" % (guest["group"], ", ".join(group_hosts[index]))
            continue
        key = (shape, index)
        if key not in final_reasons:
            found, reason = sessions[index].try_place(req, strategy)
            if found is not None:
                # placing only takes resources, so this is rare (the planner's heuristics); keep the refusal seen then
                reason = refused_shapes.get(shape, {}).get(index) or "refused when it was placed"
            final_reasons[key] = reason
        reasons[host_name] = final_reasons[key]
    return reasons


# ---------------------------------------------------------------------------------------------- map


def _pages_text(pages):
    return ", ".join("%s %d/%d" % (format_size(size * 1024).replace(" ", ""), used, total)
                     for size, used, total in pages)


def render_fleet_map(names, sessions, placements):
    """A text table, one row per host: per node, free and held CPUs, shared vCPUs, free memory, pages used/total."""
    rows = []
    for index, name in enumerate(names):
        cells = []
        for row in sessions[index].node_rows():
            text = "n%d cpus %d free %d held %d shared-vcpus, mem %s free" % (
                row["node"], row["free"], row["held"], row["shared_vcpus"],
                format_size(row["memory_free_kib"] * 1024).replace(" ", ""))
            if row["pages"]:
                text += ", pages " + _pages_text(row["pages"])
            cells.append(text)
        rows.append((name, str(len(placements[name])), " | ".join(cells)))
    width = max([len("host")] + [len(r[0]) for r in rows])
    gwidth = max([len("guests")] + [len(r[1]) for r in rows])
    lines = ["%s  %s  %s" % ("host".ljust(width), "guests".rjust(gwidth), "per node (pages used/total)")]
    for name, count, text in rows:
        lines.append("%s  %s  %s" % (name.ljust(width), count.rjust(gwidth), text))
    return "\n".join(lines) + "\n"

