# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet placement: choose the host of each guest across an inventory (the fleet_plan module).

There is no second planner here. Each host is a ``HostSession``: numa_plan's own ``HostPlanner``
(the host model and plan state, with the host's existing guests accounted for as ``planner.plan``
does it). A guest is tried on a host with ``HostPlanner.try_place`` (nothing taken) and kept with
``HostPlanner.place``; the options, host requirements and per-host map at the end are
``HostPlanner.result``. Guests are taken in ``plan``'s canonical order, so each host's share is
placed exactly as ``numa_plan`` would place it (a unit test holds it to that).

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
import contextlib
import gc
import json

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, option_error
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import format_size
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner import planner

# the contract, then numa_plan's other per-host options
HOST_FIELDS = ("host", "existing", "reserved_cpus", "allocation", "labels", "dedicated_cpus", "shared_cpus",
               "reserved_hugepages")
FLEET_FIELDS = ("host", "labels", "anti_affinity")
STRATEGIES = planner.STRATEGIES


# ---------------------------------------------------------------------------------------------- one host


class HostSession(planner.HostPlanner):
    """One host's plan in progress: numa_plan's HostPlanner, with its free figures kept between placements.

    ``try_place`` (HostPlanner's) asks whether a request fits next to what the host holds now and takes
    nothing; ``accept`` places what it found. Placing requests this way in ``order``'s order and calling
    ``result`` gives exactly what ``planner.plan`` returns for the same host and requests.
    """

    def __init__(self, *args, **kwargs):
        planner.HostPlanner.__init__(self, *args, **kwargs)
        self._free = None  # HostPlanner.free(), until the next placement
        self._rooms = {}  # page size -> pages the host could still give

    def accept(self, req, placement):
        """Place ``req`` as ``try_place`` just found it."""
        self.place(req, tried=(placement, None))
        self._free = None
        self._rooms = {}

    def refuse(self, req, reason):
        """Record a guest re-planned here that no longer fits, as ``place`` records it."""
        self.place(req, tried=(None, reason))

    def _figures(self):
        if self._free is None:
            self._free = self.free()
        return self._free

    def free_cpus(self):
        """CPUs a dedicated vCPU or isolated thread could still take."""
        return self._figures()["cpus"]

    def free_memory_kib(self):
        """Ordinary (small-page) memory guests could still take, summed over nodes (ram_ratio applied)."""
        return self._figures()["memory_kib"]

    def shared_room(self):
        """Shared vCPUs the host could still run, summed over nodes (shared CPUs x cpu_ratio, less those in use)."""
        return self._figures()["shared_vcpus"]

    def page_room(self, size):
        """Pages of ``size`` KiB the host could still give (free pool, plus memory with reserve_hugepages)."""
        if size not in self._rooms:
            self._rooms[size] = sum(self.state.page_room(n, size) for n in self.model.nodes)
        return self._rooms[size]

    def node_rows(self):
        """Per node: free and held CPUs, shared vCPUs and their room, free memory, pages (used, total) per size."""
        rows = []
        state = self.state
        for node in sorted(self.model.nodes):
            info = self.model.nodes[node]
            cpus = info["cpus"]
            free = sum(1 for c in cpus if state.usable(c))
            pages = []
            for size in sorted(set(info["pools"]) | set(state.pages_used[node])):
                total = info["pools"].get(size, {}).get("total", 0)
                used = state.pages_used[node].get(size, 0)
                if total or used:
                    pages.append((size, used, total))
            rows.append({"node": node, "cpus": len(cpus), "free": free, "held": len(cpus) - free,
                         "shared_vcpus": state.shared_load[node], "shared_room": state.shared_room(len(state.pool(node))),
                         "memory_free_kib": state.small_free(node), "pages": pages})
        return rows


# ---------------------------------------------------------------------------------------------- input


def _labels(value, option):
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise option_error(option, value, "expected a list of label strings")
    return frozenset(value)


def _host_error(name, exc):
    """numa_plan's message for a host option, with the option named inside ``hosts``."""
    return TuningError("hosts[%s].%s" % (name, exc))


def _existing_names(existing, where):
    if existing is None:
        return []
    if not isinstance(existing, list):
        raise option_error(where + ".existing", existing, "expected a list, as numa_plan's existing")
    names = []
    for index, item in enumerate(existing):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise option_error("%s.existing[%d]" % (where, index), item, "each entry needs a name")
        names.append(item["name"])
    return names


class Guest:
    """One entry of ``guests``: the request as numa_plan reads it, and where it may go."""

    __slots__ = ("index", "raw", "request", "req", "name", "host", "labels", "group", "per_host", "shape")

    def __init__(self, index, raw, reader, hosts, seen):
        if not isinstance(raw, dict):
            raise option_error("guests[%d]" % index, raw, "a guest request is a dict")
        self.index = index
        self.raw = raw
        self.request = dict((k, v) for k, v in raw.items() if k not in FLEET_FIELDS)
        # PCI devices are named per host: read them on each host; everything else is checked once, here
        self.per_host = self.request.get("pci_devices") not in (None, [])
        general = dict(self.request)
        general.pop("pci_devices", None)
        # guests that differ only by name are read once (the name only ever appears in messages)
        key = json.dumps(dict((k, v) for k, v in general.items() if k != "name"), sort_keys=True, default=str)
        if key in seen and isinstance(general.get("name"), str) and general["name"]:
            template, shape = seen[key]
            self.req = dict(template, name=general["name"])
        else:
            self.req = planner.normalise_request(general, index, reader=reader)
            shape = request_shape(self.req)
            seen[key] = (self.req, shape)
        self.name = self.req["name"]
        where = "guests[%s]" % self.name
        self.host = raw.get("host")
        if self.host is not None and self.host not in hosts:
            raise option_error(where + ".host", self.host, "not one of the hosts: %s" % ", ".join(sorted(hosts)))
        self.labels = _labels(raw.get("labels"), where + ".labels")
        self.group = raw.get("anti_affinity")
        if self.group is not None and (not isinstance(self.group, str) or not self.group):
            raise option_error(where + ".anti_affinity", self.group, "expected a group name")
        self.shape = (shape, _freeze(self.request.get("pci_devices")))


def _shared_model(models, host):
    """The host model of ``host``, one per distinct host dict (a model is never changed once built)."""
    try:
        key = json.dumps(host, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return planner.HostModel(host)
    if key not in models:
        models[key] = planner.HostModel(host)
    return models[key]


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
    """What decides where a request fits: the normalised request without its name and profile text."""
    return _freeze(dict((k, v) for k, v in req.items() if k not in ("name", "profile")))


def _extras(req):
    return (1 if req["emulator_threads"] == "isolate" else 0) + \
        (req["iothreads"] if req["iothread_policy"] == "isolate" else 0)


# ---------------------------------------------------------------------------------------------- the fleet


class _Ranking:
    """Hosts sorted by one free figure; ``pack`` scans from the least, ``spread`` from the most."""

    def __init__(self, strategy, figures):
        self.sign = 1 if strategy == "pack" else -1
        self.keys = dict((index, (self.sign * figure, index)) for index, figure in enumerate(figures))
        self.order = sorted(self.keys.values())

    def update(self, index, figure):
        del self.order[bisect.bisect_left(self.order, self.keys[index])]
        self.keys[index] = (self.sign * figure, index)
        bisect.insort(self.order, self.keys[index])

    def candidates(self, demand):
        """Host indexes whose figure is at least ``demand``, in strategy order."""
        if self.sign == 1:
            for key in self.order[bisect.bisect_left(self.order, (demand, -1)):]:
                yield key[1]
        else:
            for key in self.order[:bisect.bisect_right(self.order, (-demand, len(self.order)))]:
                yield key[1]


class Fleet:
    """The hosts and guests of one fleet_plan call, and the placement in progress."""

    def __init__(self, hosts, guests, strategy="pack", reserve_hugepages=False, profiles=None):
        planner._choice(strategy, "strategy", STRATEGIES)  # pylint: disable=protected-access
        self.strategy = strategy
        if not isinstance(hosts, dict) or not hosts:
            raise option_error("hosts", hosts, "expected a non-empty dict of inventory name -> {host, existing, ...}")
        self.names = sorted(hosts)
        self.index_of = dict((name, i) for i, name in enumerate(self.names))
        self.labels = []
        for name in self.names:
            entry = hosts[name]
            where = "hosts[%s]" % name
            if not isinstance(entry, dict) or entry.get("host") is None:
                raise option_error(where, entry if not isinstance(entry, dict) else sorted(entry),
                                   "each host needs 'host' (host_info's host dict)")
            unknown = sorted(set(entry) - set(HOST_FIELDS))
            if unknown:
                raise option_error(where, unknown, "unknown fields; known: %s" % ", ".join(HOST_FIELDS))
            self.labels.append(_labels(entry.get("labels"), where + ".labels"))
        if not isinstance(guests, list):
            raise option_error("guests", guests, "expected a list of guest requests")
        any_shared_set = any(hosts[n].get("shared_cpus") not in (None, "") for n in self.names)
        # with shared_cpus on some host, the emulator of an all-real-time guest may go there: that rule is per host
        reader = planner.RequestReader(None, profiles, shared_set=True if any_shared_set else None)
        seen = {}
        self.guests = [Guest(i, raw, reader, hosts, seen) for i, raw in enumerate(guests)]
        seen, dupes = set(), set()
        for guest in self.guests:
            (dupes if guest.name in seen else seen).add(guest.name)
        if dupes:
            raise option_error("guests", sorted(dupes)[0], "guest names must be unique")
        requested = set(g.name for g in self.guests)
        # a guest already in a host's existing stays there
        self.home = {}
        for name in self.names:
            for guest in _existing_names(hosts[name].get("existing"), "hosts[%s]" % name):
                if guest in requested:
                    if guest in self.home:
                        raise option_error("hosts[%s].existing" % name, guest,
                                           "guest %s is also in hosts[%s].existing: a guest is on one host"
                                           % (guest, self.home[guest]))
                    self.home[guest] = name
        for guest in self.guests:
            if guest.name in self.home:
                if guest.host not in (None, self.home[guest.name]):
                    raise option_error("guests[%s].host" % guest.name, guest.host,
                                       "the guest is in hosts[%s].existing and stays there" % self.home[guest.name])
                guest.host = self.home[guest.name]
                guest.per_host = True  # its recorded profile version is read on its host
                guest.shape = guest.shape + (guest.name,)  # so its refusals are its own
        self.sessions = []
        models = {}  # equal host dicts (hosts of one kind) share one read-only host model
        for name in self.names:
            entry = hosts[name]
            try:
                model = _shared_model(models, entry["host"])
                self.sessions.append(HostSession(
                    model, existing=entry.get("existing"), reserved_cpus=entry.get("reserved_cpus"),
                    strategy=strategy, reserve_hugepages=reserve_hugepages, allocation=entry.get("allocation"),
                    dedicated_cpus=entry.get("dedicated_cpus"), shared_cpus=entry.get("shared_cpus"),
                    reserved_hugepages=entry.get("reserved_hugepages"), profiles=profiles,
                    requested=[g for g, h in self.home.items() if h == name]))
            except TuningError as exc:
                raise _host_error(name, exc)
        self.per_host_reqs = {}  # (host index, guest index) -> request or refusal text
        self.refused = {}  # guest shape -> {host index: reason}, refusals while placing
        self.members = {}  # anti_affinity group -> {host index: [guest names]}
        self.chosen = {}  # guest name -> host index

    def request_on(self, index, guest):
        """The guest's request as host ``index`` reads it (its PCI devices, its recorded profile), or a refusal."""
        if not guest.per_host and not self.sessions[index].state.shared_set:
            return guest.req
        key = (index, guest.index)
        if key not in self.per_host_reqs:
            try:
                self.per_host_reqs[key] = self.sessions[index].reader.read(guest.request, guest.index)
            except TuningError as exc:
                self.per_host_reqs[key] = str(exc)
        return self.per_host_reqs[key]

    def place_all(self):
        # planner.plan's order on every host: guests re-planned where they are first, then the canonical order
        order = sorted(self.guests, key=self._order_key)
        rank_cpus = _Ranking(self.strategy, [s.free_cpus() for s in self.sessions])
        rank_memory = _Ranking(self.strategy, [s.free_memory_kib() for s in self.sessions])
        unplaced = []
        for guest in order:
            req = guest.req
            extras = _extras(req)
            if guest.host is not None:
                candidates = [self.index_of[guest.host]]
            elif req["dedicated"] or extras:
                candidates = rank_cpus.candidates(len(req["dedicated"]) + extras)
            else:
                candidates = rank_memory.candidates(req["memory_kib"] if req["page_size"] == "small" else 0)
            placed = self._first_fit(guest, candidates, extras)
            if placed is None:
                unplaced.append(guest)
                continue
            self.chosen[guest.name] = placed
            if guest.group:
                self.members.setdefault(guest.group, {}).setdefault(placed, []).append(guest.name)
            rank_cpus.update(placed, self.sessions[placed].free_cpus())
            rank_memory.update(placed, self.sessions[placed].free_memory_kib())
        return unplaced

    def _order_key(self, guest):
        req = guest.req
        if guest.name in self.home:
            # read on its host, as plan() reads it there (its recorded profile version)
            local = self.request_on(self.index_of[guest.host], guest)
            req = local if isinstance(local, dict) else req
        return (guest.name not in self.home, planner._order_key(req))  # pylint: disable=protected-access

    def _first_fit(self, guest, candidates, extras):
        dead = self.refused.setdefault(guest.shape, {})
        group_hosts = self.members.get(guest.group, {}) if guest.group else {}
        for index in candidates:
            if index in dead or index in group_hosts or not guest.labels <= self.labels[index]:
                continue
            session = self.sessions[index]
            req = self.request_on(index, guest)
            if isinstance(req, str):
                dead[index] = req
                continue
            if req is not guest.req:
                extras = _extras(req)
            if not _may_fit(session, req, extras):
                dead[index] = None  # short of a total: the reason is worked out at the end if it is needed
                continue
            found, reason = session.try_place(req)
            if found is None:
                dead[index] = reason
                continue
            session.accept(req, found)
            return index
        return None

    def reasons(self, guest, final):
        """One reason per host for a guest placed nowhere, against the final plan."""
        group_hosts = self.members.get(guest.group, {}) if guest.group else {}
        reasons = {}
        for index, host_name in enumerate(self.names):
            if guest.host is not None and host_name != guest.host:
                if guest.name in self.home:
                    reasons[host_name] = "the guest is on %s (in its existing) and stays there" % guest.host
                else:
                    reasons[host_name] = "the guest must go to %s (guests[%s].host)" % (guest.host, guest.name)
                continue
            missing = sorted(guest.labels - self.labels[index])
            if missing:
                reasons[host_name] = "the host lacks the label%s %s" % ("s" if len(missing) > 1 else "",
                                                                        ", ".join(missing))
                continue
            if index in group_hosts:
                there = ", ".join(group_hosts[index])
                reasons[host_name] = "anti_affinity %s: %s already there" % (guest.group, there)
                continue
            key = (guest.shape, index) if guest.name not in self.home else (guest.name, index)
            if key not in final:
                req = self.request_on(index, guest)
                if isinstance(req, str):
                    final[key] = req
                else:
                    found, reason = self.sessions[index].try_place(req)
                    if found is not None:
                        # placing only takes resources, so this is rare (the planner's heuristics): keep the refusal
                        # seen when the guest's turn came
                        reason = self.refused.get(guest.shape, {}).get(index) or "refused when its turn came"
                    final[key] = reason
            reasons[host_name] = final[key]
        return reasons


@contextlib.contextmanager
def _without_cyclic_gc():
    """The cyclic garbage collector paused: a fleet's plan is millions of small objects, all alive until the
    end, which the collector would walk again and again and find nothing to free (a third of the planner's
    CPU time at 1,000 hosts x 20,000 guests). Reference counting still frees what the plan drops."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def plan_fleet(hosts, guests, strategy="pack", reserve_hugepages=False, profiles=None):
    """Place ``guests`` across ``hosts``; returns {placements, plans, host_requirements, unplaced, map}."""
    with _without_cyclic_gc():
        return _plan_fleet(hosts, guests, strategy, reserve_hugepages, profiles)


def _plan_fleet(hosts, guests, strategy, reserve_hugepages, profiles):
    fleet = Fleet(hosts, guests, strategy, reserve_hugepages, profiles)
    unplaced = fleet.place_all()
    final = {}
    unplaced_out = []
    for guest in sorted(unplaced, key=lambda g: g.name):
        reasons = fleet.reasons(guest, final)
        if guest.name in fleet.home:
            # as numa_plan reports a re-planned guest that no longer fits
            index = fleet.index_of[guest.host]
            local = fleet.request_on(index, guest)
            fleet.sessions[index].refuse(local if isinstance(local, dict) else guest.req, reasons[guest.host])
        unplaced_out.append({"name": guest.name, "reasons": reasons})
    names = fleet.names
    placements = dict((name, []) for name in names)
    for guest_name in sorted(fleet.chosen):
        placements[names[fleet.chosen[guest_name]]].append(guest_name)
    results = [session.result() for session in fleet.sessions]
    return {
        "placements": placements,
        "plans": dict((name, results[i]["plan"]) for i, name in enumerate(names)),
        "host_requirements": dict((name, results[i]["host_requirements"]) for i, name in enumerate(names)),
        "unplaced": unplaced_out,
        "map": render_fleet_map(names, fleet.sessions, placements),
    }


def _may_fit(session, req, extras):
    """Cheap necessary conditions (totals over the host's nodes); the exact check is place_guest's."""
    if req["dedicated"] or extras:
        if session.free_cpus() < len(req["dedicated"]) + extras:
            return False
    if req["vcpus"] > len(req["dedicated"]) and session.shared_room() < req["vcpus"] - len(req["dedicated"]):
        return False
    page = req["page_size"]
    if page == "small":
        return session.free_memory_kib() >= req["memory_kib"]
    if isinstance(page, int):
        return session.page_room(page) >= req["memory_kib"] // page
    return True


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
            text = "n%d cpus %d free %d held, shared vcpus %d/%d, mem %s free" % (
                row["node"], row["free"], row["held"], row["shared_vcpus"], row["shared_room"],
                planner.readable_memory(row["memory_free_kib"] * 1024).replace(" ", ""))
            if row["pages"]:
                text += ", pages " + _pages_text(row["pages"])
            cells.append(text)
        rows.append((name, str(len(placements[name])), " | ".join(cells)))
    width = max([len("host")] + [len(r[0]) for r in rows])
    gwidth = max([len("guests")] + [len(r[1]) for r in rows])
    lines = ["%s  %s  %s" % ("host".ljust(width), "guests".rjust(gwidth), "per node (pages: needed/in pool)")]
    for name, count, text in rows:
        lines.append("%s  %s  %s" % (name.ljust(width), count.rjust(gwidth), text))
    return "\n".join(lines) + "\n"
