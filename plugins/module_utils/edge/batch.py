# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads of many guests at once over one LibvirtEdge, for tuning_info.

``BatchedReads(edge, domains)`` answers the per-guest questions a report asks from a few
connection-wide calls made once (which domains are active and persistent, their states, live vCPU
from ``domainListGetStats``), remembers host-wide answers (capabilities,
libvirt version, hypervisor type), and passes every other call to the edge. A guest without iothreads
(no ``<iothreads>`` in the live XML it was just asked for) is not asked for its iothreads: libvirt would
query QEMU's monitor for an empty list (tens of milliseconds on a busy host).
"""

from __future__ import annotations

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection import load_libvirt


def _state_names():
    binding = load_libvirt()
    return {binding.VIR_DOMAIN_NOSTATE: "no state", binding.VIR_DOMAIN_RUNNING: "running",
            binding.VIR_DOMAIN_BLOCKED: "blocked", binding.VIR_DOMAIN_PAUSED: "paused",
            binding.VIR_DOMAIN_SHUTDOWN: "shutting down", binding.VIR_DOMAIN_SHUTOFF: "shut off",
            binding.VIR_DOMAIN_CRASHED: "crashed", binding.VIR_DOMAIN_PMSUSPENDED: "suspended"}


class BatchedReads:
    """A LibvirtEdge for reports over many domains; see the module docstring."""

    def __init__(self, edge, domains):
        self._edge = edge
        self._memo = {}
        conn = edge.conn
        self._active = {dom.UUIDString() for dom in edge._call(
            "listing active domains", conn.listAllDomains, load_libvirt().VIR_CONNECT_LIST_DOMAINS_ACTIVE)}
        self._persistent = {dom.UUIDString() for dom in edge._call(
            "listing persistent domains", conn.listAllDomains, load_libvirt().VIR_CONNECT_LIST_DOMAINS_PERSISTENT)}
        self._stats = {}
        if domains:
            try:  # the state group only: the vcpu and iothread groups would query every guest's QEMU monitor
                found = conn.domainListGetStats(list(domains), load_libvirt().VIR_DOMAIN_STATS_STATE, 0)
            except load_libvirt().libvirtError:
                found = []  # an older daemon: every question goes to the edge, one guest at a time
            self._stats = {dom.UUIDString(): stats for dom, stats in found}

    def __getattr__(self, name):
        return getattr(self._edge, name)

    def _remember(self, key, func, *args):
        if key not in self._memo:
            self._memo[key] = func(*args)
        return self._memo[key]

    # host-wide answers, asked once
    def capabilities(self):
        return self._remember("capabilities", self._edge.capabilities)

    def lib_version(self):
        return self._remember("lib_version", self._edge.lib_version)

    def hypervisor(self):
        return self._remember("hypervisor", self._edge.hypervisor)

    # per-guest answers from the batch
    def is_active(self, dom):
        return dom.UUIDString() in self._active

    def is_persistent(self, dom):
        return dom.UUIDString() in self._persistent

    def read_state(self, dom):
        stats = self._stats.get(dom.UUIDString())
        if stats is None or "state.state" not in stats:
            return self._edge.read_state(dom)
        state = stats["state.state"]
        return _state_names().get(state, str(state))

    def domain_xml(self, dom, inactive=False):
        text = self._edge.domain_xml(dom, inactive=inactive)
        if not inactive:
            self._memo[("live_xml", dom.UUIDString())] = text
        return text

    def read_iothread_affinity(self, dom):
        live = self._memo.get(("live_xml", dom.UUIDString()))
        if live is not None and "<iothreads>" not in live:
            return []  # libvirt formats <iothreads>N</iothreads> for every guest that has iothreads
        return self._edge.read_iothread_affinity(dom)
