# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choosing and checking the host CPUs to isolate for pinned guests.

Works on the ``host`` dictionary that the host_info module returns (only
``host.cpus`` is read: id, online, node, siblings). Pure code: no I/O.

Rules:
  * SMT siblings stay together: a core is isolated whole or not at all;
  * every NUMA node keeps at least one online housekeeping CPU (so the host
    keeps at least one too);
  * CPU 0 and its siblings are always housekeeping (timekeeping, boot CPU);
  * every CPU named must exist on the host.
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import format_cpuset, parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError, option_error


class HostCpus:
    """The CPUs of a host_info ``host``: which exist, which are online, nodes and cores."""

    def __init__(self, host):
        if not isinstance(host, dict) or not isinstance(host.get("cpus"), list) or not host["cpus"]:
            raise TuningError("host: expected host_info's 'host' dictionary with a non-empty 'cpus' list")
        self.present = set()
        self.online = set()
        self.node_of = {}
        siblings_of = {}
        for entry in host["cpus"]:
            cpu = int(entry["id"])
            self.present.add(cpu)
            # a CPU without NUMA information counts as node 0, as the kernel does
            self.node_of[cpu] = int(entry["node"]) if entry.get("node") is not None else 0
            if entry.get("online", True):
                self.online.add(cpu)
                siblings = entry.get("siblings")
                group = parse_cpuset(siblings, "host.cpus[%d].siblings" % cpu) if siblings not in (None, "") else frozenset()
                siblings_of[cpu] = group | frozenset([cpu])
        # A core is the union of the sibling lists that mention each other; an
        # offline CPU absent from every list is a core of its own.
        self.core_of = {}
        for cpu in sorted(self.present):
            if cpu in self.core_of:
                continue
            group = set(siblings_of.get(cpu, {cpu}))
            pending = list(group)
            while pending:
                other = pending.pop()
                for more in siblings_of.get(other, ()):
                    if more not in group:
                        group.add(more)
                        pending.append(more)
            frozen = frozenset(group)
            for member in frozen:
                self.core_of[member] = frozen

    def nodes(self):
        """Node ids in ascending order."""
        return sorted(set(self.node_of.values()))

    def online_in_node(self, node):
        """Online CPUs of a node."""
        return frozenset(cpu for cpu in self.online if self.node_of[cpu] == node)

    def cores_in_node(self, node):
        """Whole cores of a node whose every thread is online and in that node, lowest first."""
        cores = set()
        for cpu in self.online_in_node(node):
            core = self.core_of[cpu]
            if core <= self.online and all(self.node_of.get(c) == node for c in core):
                cores.add(core)
        return sorted(cores, key=min)


def validate_isolated(host_cpus, isolated, option="isolated_cpus"):
    """Refuse an isolated set that breaks a rule; the message names the CPUs.

    ``isolated`` is a set of ints; ``host_cpus`` a HostCpus. Returns nothing.
    """
    text = format_cpuset(isolated)
    missing = isolated - host_cpus.present
    if missing:
        raise option_error(option, text, "CPUs %s do not exist on this host (it has %s)"
                           % (format_cpuset(missing), format_cpuset(host_cpus.present)))
    if 0 in isolated:
        raise option_error(option, text, "CPU 0 always stays a housekeeping CPU (the boot CPU keeps the timekeeping)")
    split = []
    for core in sorted(set(host_cpus.core_of[cpu] for cpu in isolated), key=min):
        left_out = core - isolated
        if left_out:
            split.append("%s (not %s)" % (format_cpuset(core), format_cpuset(left_out)))
    if split:
        raise option_error(option, text, "it splits SMT siblings; isolate whole cores: %s" % "; ".join(split))
    if host_cpus.online and host_cpus.online <= isolated:
        raise option_error(option, text, "it covers every online CPU of the host (%s); keep housekeeping CPUs"
                           % format_cpuset(host_cpus.online))
    for node in host_cpus.nodes():
        online = host_cpus.online_in_node(node)
        if online and online <= isolated:
            raise option_error(option, text, "it covers every online CPU of NUMA node %d (%s); keep at least one "
                               "housekeeping core on every node" % (node, format_cpuset(online)))


def select_isolated(host_cpus, per_node, option="isolated_per_node"):
    """Pick ``per_node`` CPUs to isolate on every node, as whole cores.

    The highest-numbered cores are taken first; the core of CPU 0, and on other
    nodes the lowest-numbered core, stay housekeeping. Raises TuningError when a
    node cannot give that many CPUs as whole cores.
    """
    if isinstance(per_node, bool) or not isinstance(per_node, int) or per_node < 0:
        raise option_error(option, per_node, "expected a number of CPUs (0 or more)")
    chosen = set()
    if per_node == 0:
        return frozenset()
    for node in host_cpus.nodes():
        cores = host_cpus.cores_in_node(node)
        if not cores:
            continue  # a node without online CPUs (memory only)
        if 0 in host_cpus.core_of and host_cpus.core_of[0] in cores:
            candidates = [core for core in cores if core != host_cpus.core_of[0]]
        else:
            candidates = cores[1:]
        taken, count = [], 0
        for core in reversed(candidates):
            if count + len(core) > per_node:
                continue
            taken.append(core)
            count += len(core)
            if count == per_node:
                break
        if count != per_node:
            available = sum(len(core) for core in candidates)
            raise option_error(option, per_node, "NUMA node %d cannot isolate %d CPUs as whole cores: it has %d CPUs "
                               "in cores of %s beyond its housekeeping core"
                               % (node, per_node, available,
                                  "/".join(sorted(set(str(len(core)) for core in candidates))) or "no"))
        for core in taken:
            chosen.update(core)
    return frozenset(chosen)


def plan_isolation(host, isolated_cpus=None, per_node=None,
                   cpus_option="isolated_cpus", per_node_option="isolated_per_node"):
    """The isolated and housekeeping CPUs for a host, checked against the rules.

    Give ``isolated_cpus`` (a cpuset; '' for none) or ``per_node`` (a count),
    not both. Returns {'isolated': cpuset str, 'housekeeping': cpuset str,
    'nodes': [{'node', 'isolated', 'housekeeping'}]}.
    """
    host_cpus = HostCpus(host)
    has_cpus = isolated_cpus not in (None, "", [])
    has_count = per_node not in (None, 0)
    if has_cpus and has_count:
        raise TuningError("%s and %s are mutually exclusive: give one of them" % (cpus_option, per_node_option))
    if has_cpus:
        isolated = parse_cpuset(isolated_cpus, cpus_option)
    elif has_count:
        isolated = select_isolated(host_cpus, per_node, per_node_option)
    else:
        isolated = frozenset()
    if isolated:
        validate_isolated(host_cpus, isolated, cpus_option if has_cpus else per_node_option)
    housekeeping = host_cpus.online - isolated
    nodes = []
    for node in host_cpus.nodes():
        in_node = frozenset(cpu for cpu, owner in host_cpus.node_of.items() if owner == node)
        nodes.append({
            "node": node,
            "isolated": format_cpuset(isolated & in_node),
            "housekeeping": format_cpuset(housekeeping & in_node),
        })
    return {
        "isolated": format_cpuset(isolated),
        "housekeeping": format_cpuset(housekeeping),
        "nodes": nodes,
    }
