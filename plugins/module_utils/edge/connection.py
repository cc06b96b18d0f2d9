# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to libvirt: connect, look up, read, define, live calls.

Everything else in the collection plans with pure code; this edge carries the
plan out. libvirt errors become LibvirtCallError with the call named; they are
never swallowed.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
import zlib

from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.live_ops import HOST_ACTIONS, LIVE_OPS
# URI handling lives in edge/uri.py (no libvirt); the names stay importable from here too
from ansible_collections.virtuned.libvirt.plugins.module_utils.edge.uri import (  # noqa: F401 pylint: disable=unused-import
    DEFAULT_URI, default_uri, redact_uri, scrub_uri_secrets, uri_secrets,
)
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.cpuset import parse_cpuset
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import LibvirtCallError, TuningError, shown

# The libvirt binding is imported when the first connection is opened (load_libvirt), not with this
# module: an offline run, or a module that only masks URIs, does not pay for it.
libvirt = None

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None


def load_libvirt():
    """The libvirt binding, imported on first use; TuningError when it is not installed."""
    global libvirt  # pylint: disable=global-statement
    if libvirt is None:
        try:
            import libvirt as binding
        except ImportError as exc:
            raise TuningError("the libvirt python binding (libvirt-python) is required: %s" % exc)
        libvirt = binding
    return libvirt


def _silence(_ctx, _err):
    # libvirt prints errors to stderr by default; we raise them instead.
    return None


class LibvirtEdge:
    """A libvirt connection with the few calls the collection needs."""

    def __init__(self, uri=None, readonly=False):
        load_libvirt()
        self.uri = uri or default_uri()
        self.shown_uri = redact_uri(self.uri)
        libvirt.registerErrorHandler(_silence, None)
        try:
            self.conn = libvirt.openReadOnly(self.uri) if readonly else libvirt.open(self.uri)
        except libvirt.libvirtError as exc:
            raise LibvirtCallError("uri: cannot connect to %s: %s"
                                   % (self.shown_uri, scrub_uri_secrets(_message(exc), self.uri)))
        self._host_cpus = None

    def close(self):
        with contextlib.suppress(Exception):
            self.conn.close()

    # ------------------------------------------------------------------ lookup and XML
    def lookup(self, name=None, uuid=None):
        what = ("uuid", uuid) if uuid else ("name", name)
        if isinstance(what[1], str) and "\x00" in what[1]:
            # the binding raises ValueError (embedded null character) before libvirt sees it
            raise LibvirtCallError("%s: %s is not valid: it holds a NUL character, which no domain %s has"
                                   % (what[0], shown(what[1]), what[0]))
        try:
            if uuid:
                return self.conn.lookupByUUIDString(uuid)
            return self.conn.lookupByName(name)
        except libvirt.libvirtError as exc:
            raise LibvirtCallError("%s: no domain %s on %s: %s" % (what[0], shown(what[1]), self.shown_uri,
                                                                   _message(exc)))

    def list_domains(self):
        return self._call("listing domains", self.conn.listAllDomains, 0)

    def persistent_xml(self, dom):
        """The persistent definition, secrets included (so that a define loses nothing)."""
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
        return self._call("reading the persistent XML of %s" % dom.name(), dom.XMLDesc, flags)

    def live_xml(self, dom):
        return self._call("reading the live XML of %s" % dom.name(), dom.XMLDesc, 0)

    def live_xml_migratable(self, dom):
        """The live XML with the guest CPU as defined, not as QEMU expanded it at start."""
        return self._call("reading the migratable live XML of %s" % dom.name(), dom.XMLDesc,
                          libvirt.VIR_DOMAIN_XML_MIGRATABLE)

    def is_defined(self, uuid):
        """True when a persistent domain with ``uuid`` exists (another writer may have undefined it)."""
        try:
            return bool(self.conn.lookupByUUIDString(uuid).isPersistent())
        except libvirt.libvirtError:
            return False

    def running_xml(self, dom):
        """The live XML of the domain when it runs, else None."""
        return self.live_xml(dom) if self.is_active(dom) else None

    def is_active(self, dom):
        return bool(self._call("asking whether %s runs" % dom.name(), dom.isActive))

    def is_persistent(self, dom):
        return bool(self._call("asking whether %s is persistent" % dom.name(), dom.isPersistent))

    def define(self, xml, validate=False):
        """Define the domain; the XML keeps the existing uuid, so this updates it.

        ``validate``: libvirt checks the XML against its RNG schema first (a new guest, runner/apply.py).
        """
        try:
            if validate:
                dom = self.conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
            else:
                dom = self.conn.defineXML(xml)
        except libvirt.libvirtError as exc:
            raise LibvirtCallError("libvirt refused the new definition: %s" % _message(exc))
        if dom is None:
            raise LibvirtCallError("libvirt returned no domain for the new definition")
        return dom

    # ------------------------------------------------------------------ host
    def host_cpus(self):
        """The host's CPU numbers (present CPUs, online or not)."""
        if self._host_cpus is None:
            count = self._call("reading the host CPU map", self.conn.getCPUMap, 0)[0]
            self._host_cpus = frozenset(range(count))
        return self._host_cpus

    def cpus_and_hypervisor(self):
        """(host CPU numbers, hypervisor type): what every connected run's rules need."""
        return self.host_cpus(), self.hypervisor()

    def hypervisor(self):
        return self._call("reading the hypervisor type", self.conn.getType).lower()

    def capabilities(self):
        return self._call("reading host capabilities", self.conn.getCapabilities)

    def domain_capabilities(self, emulator=None, arch=None, machine=None, virttype=None):
        return self._call("reading domain capabilities", self.conn.getDomainCapabilities,
                          emulator, arch, machine, virttype, 0)

    def pci_node_devices(self):
        """The node-device XML (virsh nodedev-dumpxml) of every PCI device of the host, sorted by name."""
        devices = self._call("listing the host's PCI node devices", self.conn.listAllDevices,
                             libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV)
        return [self._call("reading node device %s" % dev.name(), dev.XMLDesc, 0)
                for dev in sorted(devices or [], key=lambda dev: dev.name())]

    def lib_version(self):
        """The libvirt version of the daemon, as (major, minor, micro)."""
        number = self._call("reading the libvirt version", self.conn.getLibVersion)
        return (number // 1000000, number // 1000 % 1000, number % 1000)

    def free_pages(self, size_kib):
        """Free pages of ``size_kib`` per host NUMA node: {node: count}."""
        info = self._call("reading host node info", self.conn.getInfo)
        nodes = max(1, info[4])
        try:
            pages = self.conn.getFreePages([size_kib], 0, nodes, 0)
        except libvirt.libvirtError as exc:
            raise LibvirtCallError("libvirt refused reading free %d KiB pages: %s" % (size_kib, _message(exc)))
        return {int(node): int(sizes.get(size_kib, 0)) for node, sizes in (pages or {}).items()}

    @contextlib.contextmanager
    def domain_lock(self, dom):
        """Serialise this collection's writers to one domain on this host."""
        if fcntl is None:
            yield
            return
        # the uuid, and a checksum of the URI (which may hold credentials): no hashlib (OpenSSL) to load
        key = "%s-%08x" % (dom.UUIDString(), zlib.crc32(self.uri.encode()))
        directory = os.path.join(tempfile.gettempdir(), "virtuned-libvirt-locks")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        with open(os.path.join(directory, key + ".lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ live operations
    def run(self, dom, op):
        """Carry out one LiveOp from the engine on the running guest (names: edge/live_ops.py)."""
        return getattr(self, LIVE_OPS[op.method])(dom, *op.args)

    def run_host_action(self, dom, action):
        """Carry out one HostAction from the engine on the hypervisor host (names: edge/live_ops.py)."""
        return getattr(self, HOST_ACTIONS[action.method])(dom, *action.args)

    def _cpumap(self, cpuset):
        cpus = self.host_cpus()
        chosen = cpus if cpuset is None else parse_cpuset(cpuset, "cpuset")
        return tuple(cpu in chosen for cpu in range(max(cpus) + 1))

    def live_pin_vcpu(self, dom, vcpu, cpuset):
        self._call("pinning vCPU %d live" % vcpu, dom.pinVcpuFlags, vcpu, self._cpumap(cpuset),
                   libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_pin_emulator(self, dom, cpuset):
        self._call("pinning the emulator live", dom.pinEmulator, self._cpumap(cpuset), libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_pin_iothread(self, dom, iothread, cpuset):
        self._call("pinning iothread %d live" % iothread, dom.pinIOThread, iothread, self._cpumap(cpuset),
                   libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_set_scheduler(self, dom, params):
        self._call("setting scheduler parameters %s live" % sorted(params), dom.setSchedulerParametersFlags,
                   params, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_set_memory_parameters(self, dom, params):
        self._call("setting memory parameters %s live" % sorted(params), dom.setMemoryParameters,
                   params, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_set_numa_parameters(self, dom, params):
        self._call("setting NUMA parameters %s live" % sorted(params), dom.setNumaParameters,
                   params, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_set_vcpus(self, dom, count):
        self._call("setting %d vCPUs live" % count, dom.setVcpusFlags, count, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_set_vcpu(self, dom, cpuset, enable):
        self._call("%s vCPUs %s live" % ("enabling" if enable else "disabling", cpuset), dom.setVcpu,
                   cpuset, 1 if enable else 0, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_add_iothread(self, dom, iothread):
        self._call("adding iothread %d live" % iothread, dom.addIOThread, iothread, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_del_iothread(self, dom, iothread):
        self._call("removing iothread %d live" % iothread, dom.delIOThread, iothread, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_set_iothread_params(self, dom, iothread, params):
        self._call("setting iothread %d parameters live" % iothread, dom.setIOThreadParams, iothread, params,
                   libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_attach_device(self, dom, xml):
        self._call("attaching a device live", dom.attachDeviceFlags, xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_detach_device(self, dom, xml):
        self._call("detaching a device live", dom.detachDeviceFlags, xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_set_memory(self, dom, kib):
        self._call("setting the balloon to %d KiB live" % kib, dom.setMemoryFlags, kib, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def live_set_metadata(self, dom, xml, prefix, uri):
        """Replace the running guest's <metadata> element of namespace ``uri`` with ``xml`` (None removes it);
        elements of other namespaces stay as they are."""
        self._call("recording metadata (%s) live" % uri, dom.setMetadata, libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                   xml, prefix if xml is not None else None, uri, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    # ------------------------------------------------------------------ restart (domain_tuning guests)
    def shutdown(self, dom, timeout, poll=0.5):
        """Ask the guest to shut down (ACPI) and wait up to ``timeout`` seconds; True when it stopped."""
        self._call("shutting down %s" % dom.name(), dom.shutdown)
        deadline = time.monotonic() + max(0, timeout)
        while self.is_active(dom):
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)
        return True

    def destroy(self, dom):
        """Power the guest off at once (virsh destroy)."""
        self._call("powering off %s" % dom.name(), dom.destroy)

    def start(self, dom):
        self._call("starting %s" % dom.name(), dom.create)

    # ------------------------------------------------------------------ live reads (tuning_info)
    def domain_xml(self, dom, inactive=False):
        """Domain XML without secrets (works on read-only connections)."""
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        return self._call("reading the %s XML of %s" % ("persistent" if inactive else "live", dom.name()),
                          dom.XMLDesc, flags)

    def read_state(self, dom):
        """The domain's state as virsh names it (running, paused, shut off, ...)."""
        state = self._call("reading the state of %s" % dom.name(), dom.state)[0]
        names = {libvirt.VIR_DOMAIN_NOSTATE: "no state", libvirt.VIR_DOMAIN_RUNNING: "running",
                 libvirt.VIR_DOMAIN_BLOCKED: "blocked", libvirt.VIR_DOMAIN_PAUSED: "paused",
                 libvirt.VIR_DOMAIN_SHUTDOWN: "shutting down", libvirt.VIR_DOMAIN_SHUTOFF: "shut off",
                 libvirt.VIR_DOMAIN_CRASHED: "crashed", libvirt.VIR_DOMAIN_PMSUSPENDED: "suspended"}
        return names.get(state, str(state))

    def read_vcpu_affinity(self, dom):
        """Live vCPU affinity: [(vcpu, frozenset of host CPUs)]."""
        maps = self._call("reading the vCPU affinity of %s" % dom.name(), dom.vcpuPinInfo,
                          libvirt.VIR_DOMAIN_AFFECT_LIVE)
        return [(vcpu, _cpus_of(cpumap)) for vcpu, cpumap in enumerate(maps)]

    def read_emulator_affinity(self, dom):
        """Live emulator affinity: a frozenset of host CPUs."""
        return _cpus_of(self._call("reading the emulator affinity of %s" % dom.name(), dom.emulatorPinInfo,
                                   libvirt.VIR_DOMAIN_AFFECT_LIVE))

    def read_iothread_affinity(self, dom):
        """Live iothread affinity: [(iothread id, frozenset of host CPUs)], by id."""
        info = self._call("reading the iothreads of %s" % dom.name(), dom.ioThreadInfo, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        return sorted((int(ident), _cpus_of(cpumap)) for ident, cpumap in info or [])

    def read_memory_parameters(self, dom):
        """Live memtune values in KiB (hard_limit, soft_limit, swap_hard_limit, ...)."""
        return dict(self._call("reading the memory parameters of %s" % dom.name(), dom.memoryParameters,
                               libvirt.VIR_DOMAIN_AFFECT_LIVE))

    def read_numa_parameters(self, dom):
        """Live NUMA parameters: numa_mode (libvirt's number) and numa_nodeset."""
        return dict(self._call("reading the NUMA parameters of %s" % dom.name(), dom.numaParameters,
                               libvirt.VIR_DOMAIN_AFFECT_LIVE))

    def read_scheduler(self, dom):
        """Live scheduler: (type, parameters)."""
        kind = self._call("reading the scheduler type of %s" % dom.name(), dom.schedulerType)[0]
        params = self._call("reading the scheduler parameters of %s" % dom.name(), dom.schedulerParametersFlags,
                            libvirt.VIR_DOMAIN_AFFECT_LIVE)
        return kind, dict(params)

    def read_vcpu_counts(self, dom):
        """vCPU counts: {'maximum', 'current'} of the persistent definition and 'live_maximum', 'live_current'."""
        counts = {}
        for key, flags in (("maximum", libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM),
                           ("current", libvirt.VIR_DOMAIN_AFFECT_CONFIG),
                           ("live_maximum", libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_VCPU_MAXIMUM),
                           ("live_current", libvirt.VIR_DOMAIN_AFFECT_LIVE)):
            counts[key] = self._call("reading the vCPU counts of %s" % dom.name(), dom.vcpusFlags, flags)
        return counts

    def reset_nvram(self, dom, path):
        """Remove the guest's NVRAM file so that libvirt makes a fresh one from its template at the
        next start (a running QEMU keeps its open copy until then). Only on a local connection."""
        if not self.is_local():
            raise TuningError("reset_nvram: true is not valid over %s: the NVRAM file can only be reset on "
                              "the hypervisor itself (use a local URI such as qemu:///system)" % self.shown_uri)
        if path is None and self.is_active(dom):
            from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import (
                parse_domain as parse_domain_text,
            )
            path = (parse_domain_text(self.live_xml(dom)).findtext("os/nvram") or "").strip() or None
        if path is None:
            path = "/var/lib/libvirt/qemu/nvram/%s_VARS.fd" % dom.name()
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise TuningError("reset_nvram: cannot remove %s: %s" % (path, exc))

    def is_local(self):
        """True when the connection is to this machine (no host part in the URI)."""
        match = re.match(r"^[a-z0-9+.-]+://([^/]*)/", self.uri or "", re.IGNORECASE)
        host = (match.group(1).rsplit("@", 1)[-1] if match else "").split(":")[0]
        return host in ("", "localhost", "127.0.0.1", "::1")

    # ------------------------------------------------------------------ helpers
    def _call(self, what, func, *args):
        try:
            return func(*args)
        except libvirt.libvirtError as exc:
            raise LibvirtCallError("libvirt refused %s: %s" % (what, _message(exc)))


def _message(exc):
    text = exc.get_error_message() if hasattr(exc, "get_error_message") else str(exc)
    return text or str(exc)


def _cpus_of(cpumap):
    """A libvirt CPU map (tuple of booleans) as a frozenset of CPU numbers."""
    return frozenset(cpu for cpu, used in enumerate(cpumap or ()) if used)
