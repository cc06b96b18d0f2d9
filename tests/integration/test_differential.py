"""Differential test against the real libvirt (issue 9, item 2).

Generated option sets per tuning area (hypothesis, derandomized so that CI runs the same cases)
are run on one STOPPED scratch guest on qemu:///system: in check mode, then for real, then for
real once more. Each case starts from a base definition defined again (same uuid), so a case costs
a few libvirt calls and no guest creation. Every offline output (``xml:`` input) is validated
against libvirt's RNG schemas (what ``virt-xml-validate`` runs, loaded once in-process with lxml).

A mismatch is any disagreement between what the module predicted and what libvirt did:
- check mode accepted and the real run failed (libvirt refused the define), or the reverse;
- check mode and the real run disagree on ``changed`` or on ``after``;
- the real run failed but the definition was changed anyway (reported ``changed: false``);
- the real run reported success but libvirt holds a different value (the module's own warning),
  or the definition did not change while the run said it did (or the reverse);
- the rerun is not ``changed: false``;
- a Python traceback instead of a result.
The test asserts 0 mismatches and 0 schema-invalid offline outputs, and prints the counts.

VIRTUNED_DIFF_CASES sets the number of cases per area (default 400: 9 areas, 3,600 cases);
VIRTUNED_FINDINGS names a directory where the mismatches are written as differential.md.
"""

import collections
import json
import os
import re
import time
import traceback
import zlib

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lxml import etree

from conftest import fixture_text, run_module
from integration.conftest import QEMU_URI, cleanup, libvirt

# another checkout's run on the same host can take other names (VIRTUNED_DIFF_GUEST, its uuid derived)
GUEST = os.environ.get("VIRTUNED_DIFF_GUEST", "vt-it-diff")
UUID = "6b1c9a52-2f0e-4d1e-9a55-%012x" % (zlib.crc32(GUEST.encode()) & 0xFFFFFFFFFFFF)
CASES = int(os.environ.get("VIRTUNED_DIFF_CASES", "400"))
SCHEMA = "/usr/share/libvirt/schemas/domain.rng"

# --------------------------------------------------------------------------- base definitions

_MINIMAL = fixture_text("guest-minimal.xml").replace(
    "<name>vt-probe</name>", "<name>%s</name>\n  <uuid>%s</uuid>" % (GUEST, UUID))
_CPU = "<cpu mode='custom' match='exact' check='none'>\n    <model fallback='forbid'>kvm64</model>\n  </cpu>"
assert _CPU in _MINIMAL


def _with_cpu(xml, inner):
    return xml.replace(_CPU, _CPU.replace("  </cpu>", "  %s\n  </cpu>" % inner))


def _after_memory(xml, extra):
    return xml.replace("<memory unit='MiB'>128</memory>", "<memory unit='MiB'>128</memory>\n  %s" % extra)


def _devices(xml, extra):
    return xml.replace("  </devices>", "    %s\n  </devices>" % extra)


_ONE_CELL = "<numa><cell id='0' cpus='0-3' memory='128' unit='MiB'/></numa>"
_TWO_CELLS = "<numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/><cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa>"
_MAXMEM = "<maxMemory slots='4' unit='GiB'>1</maxMemory>"
_DIMM = "<memory model='dimm'><target><size unit='MiB'>128</size><node>0</node></target></memory>"

BASES = {
    "plain": _MINIMAL,
    "one-cell": _after_memory(_with_cpu(_MINIMAL, _ONE_CELL), _MAXMEM),
    "two-cells": _after_memory(_with_cpu(_MINIMAL, _TWO_CELLS), _MAXMEM),
    "memtune-set": _after_memory(_MINIMAL, "<memtune><hard_limit unit='KiB'>2097152</hard_limit>"
                                           "<soft_limit unit='KiB'>524288</soft_limit>"
                                           "<swap_hard_limit unit='KiB'>3145728</swap_hard_limit></memtune>"),
    "vcpu-list": _MINIMAL.replace(
        "<iothreads>2</iothreads>",
        "<vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/><vcpu id='1' enabled='yes' hotpluggable='yes'/>"
        "<vcpu id='2' enabled='no' hotpluggable='yes'/><vcpu id='3' enabled='no' hotpluggable='yes'/></vcpus>\n"
        "  <iothreads>2</iothreads>"),
    "cputune-set": _after_memory(_MINIMAL, "<cputune><shares>2048</shares><period>100000</period><quota>50000</quota>"
                                           "<vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='1'/>"
                                           "<emulatorpin cpuset='0-1'/><iothreadpin iothread='1' cpuset='1'/>"
                                           "<vcpusched vcpus='0-1' scheduler='batch'/></cputune>"),
    "dimm": _devices(_after_memory(_with_cpu(_MINIMAL, _ONE_CELL), _MAXMEM), _DIMM).replace(
        "<memory unit='MiB'>128</memory>", "<memory unit='MiB'>256</memory>"),
    "hugepages": _after_memory(_with_cpu(_MINIMAL, _TWO_CELLS),
                               "<memoryBacking><hugepages><page size='2048' unit='KiB' nodeset='0'/></hugepages>"
                               "</memoryBacking>"),
    "efi": _MINIMAL.replace("<os>", "<os firmware='efi'>"),
    "disks": _devices(_MINIMAL, "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                                "<source file='/var/lib/libvirt/images/vt-h2-diff-absent.img'/>"
                                "<target dev='vda' bus='virtio'/></disk>"
                                "<disk type='file' device='disk'><source file='/var/lib/libvirt/images/vt-h2-diff-b.img'/>"
                                "<target dev='sda' bus='scsi'/></disk>"
                                "<controller type='scsi' index='0' model='virtio-scsi'/>"),
    "kernel-boot": _MINIMAL.replace("</type>", "</type>\n    <kernel>/boot/vmlinuz</kernel>"
                                               "\n    <cmdline>console=ttyS0</cmdline>"),
}

# --------------------------------------------------------------------------- values near libvirt's edges


def _pick(values):
    return st.sampled_from(values)


def _mostly(valid, invalid):
    """Nine in ten draws from values libvirt should take, one from values just past its rules."""
    return _pick(list(valid) * (9 * len(invalid)) + list(invalid) * len(valid))


CPUSETS = _mostly(["0", "1", "0-1", "0,1", "1,0", "^0,0-1", "0-1,^1"],
                  ["0-3", "2", "^0", "0-63", "64", "", " ", "1-0", "0-1023", "1024", "0-1,", "a"])
VCPUSETS = _mostly(["0", "1", "2", "3", "0-1", "1-2", "2-3", "0-3", "0,2", "3,1", "0-3,^2"],
                   ["4", "^0", "0-4", "", "1-0"])
PERIODS = _mostly([1000, 1001, 100000, 1000000], [-1, 0, 1, 999, 1000001, 2 ** 63])
QUOTAS = _mostly([-1, 1000, 50000, 17592186044415], [-2, 0, 1, 999, 17592186044416, 18446744073709551, 2 ** 63])
SHARES = _mostly([2, 1024, 10000, 262144], [-1, 0, 1, 10001, 262145, 2 ** 32, 2 ** 64])
SIZES = _mostly(["4K", "1M", "2M", "64M", "127M", "128M", "129M", "256M", "512M", "512 MiB", "1G", "1GiB", "2G",
                 "3G", "unlimited", 1024, 131072],
                ["0", 0, 1, "1", "100K", "100KiB", "3M", "16G", "1.5G", "8E", "16E", "9007199254740991K",
                 "9007199254740992K", "17179869184G", "-1", "1T"])
SCHEDULERS = _mostly(["batch", "idle", "fifo", "rr"], ["batch"])
PRIORITIES = _mostly([None, 1, 50, 99], [-1, 0, 100])


def _opt(**strategies):
    """A dict with any subset of these keys (hypothesis chooses which)."""
    return st.fixed_dictionaries({}, optional=strategies)


def _items(strategy, max_size=3, key=None):
    """Lists of items; with ``key``, with distinct identities (duplicates are the fuzz test's business)."""
    if key is None:
        return st.lists(strategy, max_size=max_size)
    return st.lists(strategy, max_size=max_size, unique_by=lambda item: item.get(key))


STATES = _pick(["merged", "merged", "merged", "replaced", "deleted"])
SCHED = _opt(scheduler=SCHEDULERS, priority=PRIORITIES)

AREA_OPTIONS = {
    "cputune": _opt(
        shares=SHARES, period=PERIODS, quota=QUOTAS,
        global_period=PERIODS, global_quota=QUOTAS, emulator_period=PERIODS,
        emulator_quota=QUOTAS, iothread_period=PERIODS, iothread_quota=QUOTAS,
        vcpupin=_items(st.fixed_dictionaries({"vcpu": _mostly([0, 1, 2, 3], [-1, 4, 255]), "cpuset": CPUSETS}), key="vcpu"),
        emulatorpin=CPUSETS,
        iothreadpin=_items(st.fixed_dictionaries({"iothread": _mostly([1, 2], [0, 3]), "cpuset": CPUSETS}), key="iothread"),
        vcpusched=_items(st.fixed_dictionaries({"vcpus": VCPUSETS}, optional={
            "scheduler": SCHEDULERS, "priority": PRIORITIES}), key="vcpus"),
        iothreadsched=_items(st.fixed_dictionaries({"iothreads": _mostly(["1", "2", "1-2", "1,2"], ["3", "0", ""])}, optional={
            "scheduler": SCHEDULERS, "priority": PRIORITIES})),
        emulatorsched=SCHED,
        cachetune=_items(st.fixed_dictionaries({"vcpus": VCPUSETS}, optional={
            "caches": _items(st.fixed_dictionaries({"id": _pick([0, 1]), "level": _pick([1, 2, 3]),
                                                    "type": _pick(["both", "code", "data"]),
                                                    "size": _pick(["0", "256K", "3M", "1G", "100"])}), 2),
            "monitors": _items(st.fixed_dictionaries({"vcpus": VCPUSETS}, optional={"level": _pick([2, 3])}), 2)}), 2),
        memorytune=_items(st.fixed_dictionaries({"vcpus": VCPUSETS}, optional={
            "nodes": _items(st.fixed_dictionaries({"id": _pick([0, 1]), "bandwidth": _pick([-1, 0, 1, 60, 100, 101])}), 2)}),
            2),
    ),
    "vcpus": _opt(
        maximum=_mostly([1, 2, 3, 4, 5, 8, 240, 255], [0, 256, 288, 4096, 16384]),
        current=_mostly([1, 2, 3, 4], [0, 5]),
        placement=_pick(["static", "auto"]),
        cpuset=CPUSETS,
        vcpus=_items(st.fixed_dictionaries({"id": _pick([0, 1, 2, 3, 4])}, optional={
            "enabled": st.booleans(), "hotpluggable": st.booleans(), "order": _mostly([1, 2, 3, 4], [0, 5])}), 4, key="id"),
        enable_cells=_items(_pick([0, 1, 2]), 2),
    ),
    "iothreads": _opt(
        count=_pick([0, 1, 2, 3, 4, 16, 64]),
        iothreadids=_items(st.fixed_dictionaries({"id": _mostly([1, 2, 3, 5], [0, 2 ** 31 - 1, 2 ** 31])}, optional={
            "thread_pool_min": _mostly([0, 1, 4], [-1, 2 ** 31]), "thread_pool_max": _mostly([1, 4], [-1, 0, 2 ** 31]),
            "poll": _opt(max=_pick([-1, 0, 1, 32768, 2 ** 63]), grow=_pick([0, 2, 2 ** 32]),
                         shrink=_pick([0, 2, 2 ** 32]))}), key="id"),
        defaultiothread=_opt(thread_pool_min=_mostly([0, 1, 4], [-1]), thread_pool_max=_mostly([1, 4], [-1, 0])),
        disks=_items(st.fixed_dictionaries({"target": _pick(["vda", "sda"])}, optional={"iothread": _pick([1, 2, 3])}), 1),
        controllers=_items(st.fixed_dictionaries({"index": _pick([0, 1])}, optional={"iothread": _pick([1, 2, 3])}), 1),
    ),
    "cpu_model": _opt(
        mode=_pick(["host-passthrough", "host-model", "custom", "maximum"]),
        match=_pick(["minimum", "exact", "strict"]),
        check=_pick(["none", "partial", "full"]),
        migratable=st.booleans(),
        model=_opt(name=_pick(["kvm64", "qemu64", "Nehalem", "Skylake-Client", "EPYC", "kvm32", "bogus", ""]),
                   fallback=_pick(["allow", "forbid"]),
                   vendor_id=_pick(["GenuineIntel", "AuthenticAMD", "short", "abcdefghijklm", ""])),
        vendor=_pick(["Intel", "AMD", "bogus", ""]),
        topology=_opt(sockets=_mostly([1, 2, 4], [0]), dies=_mostly([1, 2], [0]), clusters=_pick([1, 2]),
                      cores=_mostly([1, 2, 4], [0]), threads=_mostly([1, 2, 4], [0])),
        features=_items(st.fixed_dictionaries({"name": _pick(["pcid", "x2apic", "vmx", "svm", "bogus-feature", "avx512f",
                                                              "lahf_lm", "hypervisor", ""])},
                                              optional={"policy": _pick(["force", "require", "optional", "disable",
                                                                         "forbid"])})),
        cache=_opt(level=_mostly([1, 2, 3], [0, 4]), mode=_pick(["emulate", "passthrough", "disable"])),
        maxphysaddr=_opt(mode=_pick(["emulate", "passthrough"]), bits=_mostly([32, 39, 46, 52], [0, 1, 53, 64, 65])),
    ),
    "boot_firmware": _opt(
        firmware=_pick(["efi", "bios"]),
        firmware_features=_opt(secure_boot=st.booleans(), enrolled_keys=st.booleans()),
        loader=_opt(path=_pick(["/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
                                "/nonexistent/CODE.fd", "relative.fd", ""]),
                    type=_pick(["rom", "pflash"]), readonly=st.booleans(), secure=st.booleans(),
                    stateless=st.booleans()),
        nvram=_opt(path=_pick(["/var/lib/libvirt/qemu/nvram/%s_VARS.fd" % GUEST, "relative_VARS.fd", ""]),
                   template=_pick(["/usr/share/OVMF/OVMF_VARS.fd", "/nonexistent/VARS.fd", ""])),
        kernel=_pick(["/boot/vmlinuz", "/nonexistent/vmlinuz", "vmlinuz", ""]),
        initrd=_pick(["/boot/initrd.img", "initrd.img", ""]),
        cmdline=_pick(["console=ttyS0", "", "a'b\"c<&>", "x" * 300]),
        dtb=_pick(["/boot/board.dtb", "board.dtb", ""]),
        boot_order=st.lists(_pick(["hd", "cdrom", "network", "fd"]), max_size=4),
        bootmenu=_opt(enable=st.booleans(), timeout=_mostly([0, 1, 3000, 65535], [-1, 65536])),
        reset_nvram=st.booleans(),
    ),
    "memtune": _opt(hard_limit=SIZES, soft_limit=SIZES, swap_hard_limit=SIZES,
                    min_guarantee=SIZES),
    "memory_backing": _opt(
        hugepages=_items(st.fixed_dictionaries({"size": _pick(["2M", "2048K", "2048", "1G", "4K", "3M", "0", "1024M"])},
                                               optional={"nodeset": _pick(["0", "1", "0-1", "2", ""])}), 2),
        nosharepages=st.booleans(), locked=st.booleans(),
        source=_pick(["file", "anonymous", "memfd"]), access=_pick(["shared", "private"]),
        allocation=_opt(mode=_pick(["immediate", "ondemand"]), threads=_mostly([1, 2, 8], [0, 2 ** 31])),
        discard=st.booleans(),
    ),
    "memory_devices": _opt(
        memory=st.one_of(SIZES, _pick(["384M", "640M"])),
        max_memory=_opt(slots=_mostly([1, 2, 4, 255, 256], [0, 257]),
                        size=_pick(["128M", "256M", "512M", "1G", "100K", "16G", "1025M"])),
        dimms=_items(_opt(size=_pick(["128M", "100K", "2M", "1M", "256M", "130M", "0"]), node=_pick([0, 1, 2]),
                          slot=_pick([0, 1, 3, 4, 255])), 3),
        current_memory=SIZES,
    ),
    "numa": _opt(
        numatune=_opt(memory=_opt(mode=_pick(["strict", "interleave", "preferred", "restrictive"]),
                                  nodeset=_pick(["0", "1", "0-1", ""]), placement=_pick(["static", "auto"])),
                      memnodes=_items(st.fixed_dictionaries({"cellid": _pick([0, 1, 2])}, optional={
                          "mode": _pick(["strict", "interleave", "preferred", "restrictive"]),
                          "nodeset": _pick(["0", "1", "0-1", ""])}), 2, key="cellid")),
        cells=_items(st.fixed_dictionaries({"id": _pick([0, 1, 2])}, optional={
            "cpus": _pick(["0-3", "0-1", "2-3", "0", "1-3", "4", ""]),
            "memory": _pick(["128M", "64M", "0", "100K", "127M", "1M"]),
            "memAccess": _pick(["shared", "private"]), "discard": st.booleans(),
            "distances": _items(st.fixed_dictionaries({"id": _pick([0, 1, 2]),
                                                       "value": _mostly([10, 11, 20, 21, 255], [0, 9, 256])}), 2, key="id")}), 2, key="id"),
    ),
}

# which base definitions each area is tried on
AREA_BASES = {
    "cputune": ["plain", "cputune-set", "vcpu-list"],
    "vcpus": ["plain", "vcpu-list", "one-cell", "two-cells", "cputune-set"],
    "iothreads": ["plain", "cputune-set", "disks"],
    "cpu_model": ["plain", "one-cell", "two-cells"],
    "boot_firmware": ["plain", "efi", "kernel-boot"],
    "memtune": ["plain", "memtune-set"],
    "memory_backing": ["plain", "one-cell", "two-cells", "hugepages"],
    "memory_devices": ["plain", "one-cell", "two-cells", "dimm"],
    "numa": ["plain", "one-cell", "two-cells", "dimm", "hugepages"],
}

# --------------------------------------------------------------------------- the runs


class Tally:
    """Counts and findings over the whole session: {group key: {"case": smallest, "count": n}}."""

    def __init__(self):
        self.counts = collections.Counter()
        self.mismatches = {}
        self.schema_invalid = {}
        self.stricter = {}
        self.seconds = 0.0


TALLY = Tally()


def _shape(result):
    """What a module run came to: ('ok', changed, after) | ('failed', msg) | ('traceback', text)."""
    if "traceback" in result:
        return ("traceback", result["traceback"])
    if result.get("failed"):
        return ("failed", result.get("msg"))
    return ("ok", result.get("changed"), result.get("after"))


def _run(module, args, check=False):
    try:
        return run_module(module, args, check=check, diff=False)
    except BaseException as exc:  # noqa: B902 - a traceback is the finding
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {"traceback": "".join(traceback.format_exception_only(type(exc), exc)).strip()}


class Scratch:
    """The stopped scratch guest, defined again from a base XML (same uuid) before each case."""

    def __init__(self, conn):
        self.conn = conn
        self.normalised = {}

    def reset(self, base):
        dom = self.conn.defineXML(BASES[base])
        if base not in self.normalised:
            self.normalised[base] = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        return dom

    def persistent(self):
        return self.conn.lookupByName(GUEST).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)


@pytest.fixture(scope="module")
def scratch():
    conn = libvirt.open(QEMU_URI)
    cleanup(conn, GUEST)
    yield Scratch(conn)
    cleanup(conn, GUEST)
    conn.close()
    _write_findings()


@pytest.fixture(scope="module")
def schema():
    assert os.path.exists(SCHEMA), "libvirt's RNG schemas are installed with libvirt-clients (make host)"
    return etree.RelaxNG(etree.parse(SCHEMA))


def _schema_error(schema, doc):
    """The schema's complaints and the element they are about (RNG messages alone name little)."""
    paths = sorted({entry.path for entry in schema.error_log if entry.path and entry.path != "/domain"}, key=len)
    messages = "; ".join("%s at %s" % (entry.message, entry.path) for entry in schema.error_log if entry.path)
    element = doc.xpath(paths[0]) if paths else []
    snippet = etree.tostring(element[0], encoding="unicode").strip() if element else ""
    return "%s: %s" % (messages, re.sub(r"\s*\n\s*", "", snippet)[:500])


def offline_schema_error(schema, module, base, state, options):
    """(offline result, schema error or None) for the options on the base XML."""
    offline = _run(module, dict(options, state=state, xml=BASES[base]))
    if "traceback" in offline or offline.get("failed"):
        return offline, None
    doc = etree.fromstring(offline["xml"].encode())
    if schema.validate(doc):
        return offline, None
    if doc.find("iothreadids/iothread/poll") is not None:
        # <iothread><poll> is in libvirt's schema from 9.4 (where the module writes it; connected to an older
        # libvirt it refuses poll): the 9.0 schema installed here cannot judge such an output
        return offline, None
    return offline, _schema_error(schema, doc)


def evaluate(scratch, schema, module, base, state, options, counts):
    """Run one case: offline (schema), check mode, real, rerun. Returns (mismatches, schema error, stricter).

    A mismatch is (kind, detail, check shape, real shape).
    """
    found = []
    offline, invalid = offline_schema_error(schema, module, base, state, options)
    if "traceback" in offline:
        found.append(("traceback (offline)", offline["traceback"], None, None))
    elif not offline.get("failed"):
        counts["offline accepted"] += 1
    scratch.reset(base)
    before = scratch.normalised[base]
    connected = dict(options, state=state, name=GUEST, uri=QEMU_URI)
    check = _shape(_run(module, connected, check=True))
    if check[0] == "traceback":
        found.append(("traceback (check mode)", check[1], check, None))
        return found, invalid, None
    real = _shape(_run(module, connected))
    held = scratch.persistent()
    if real[0] == "traceback":
        found.append(("traceback (real run)", real[1], check, real))
        return found, invalid, None
    counts["check accepted" if check[0] == "ok" else "check refused"] += 1
    if check[0] == "ok" and real[0] == "failed":
        found.append(("check accepted, real run refused", real[1], check, real))
    elif check[0] == "failed" and real[0] == "ok":
        found.append(("check refused, real run accepted", check[1], check, real))
    elif check[0] == "ok" and real[0] == "ok":
        counts["defined"] += 1
        if check[1:] != real[1:]:
            found.append(("check and real run disagree", "check changed=%s after=%s; real changed=%s after=%s"
                          % (check[1], check[2], real[1], real[2]), check, real))
        if real[1] != (held != before):
            found.append(("changed is not what libvirt holds", "real changed=%s, the definition %s"
                          % (real[1], "changed" if held != before else "did not change"), check, real))
        rerun = _run(module, connected)
        warned = [w for w in rerun.get("warnings", []) if "after define" in w]
        if options.get("reset_nvram"):
            pass  # a request (reset the NVRAM now), not a state: it changes on every run
        elif "traceback" in rerun or rerun.get("failed"):
            found.append(("rerun failed", rerun.get("traceback") or rerun.get("msg"), check, _shape(rerun)))
        elif rerun.get("changed"):
            moved = sorted(key for key in set(rerun.get("before", {})) | set(rerun.get("after", {}))
                           if rerun.get("before", {}).get(key) != rerun.get("after", {}).get(key))
            for name in moved:
                found.append(("rerun changed again", "%s changes again: before %s, after %s" % (
                    name, json.dumps(rerun.get("before", {}).get(name)), json.dumps(rerun.get("after", {}).get(name))),
                    check, _shape(rerun)))
        elif warned:
            found.append(("libvirt holds another value", "; ".join(warned), check, real))
    if real[0] == "failed" and held != before:
        found.append(("failed after writing the definition", real[1], check, real))
    stricter = None
    if check[0] == "failed" and "traceback" not in offline and not offline.get("failed"):
        # refused only when connected: would libvirt have taken the offline output?
        try:
            scratch.conn.defineXML(offline["xml"])
            stricter = check[1]
        except libvirt.libvirtError:
            pass
    return found, invalid, stricter


# --------------------------------------------------------------------------- smallest reproductions

def _pattern(text):
    """A message with its values blanked, so that one root cause is one group."""
    text = str(text).split(": before ", maxsplit=1)[0]
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    return text[:160]


def _smaller(value):
    """Candidates one step smaller than ``value`` (a key or a list item left out, a state made plain)."""
    if isinstance(value, dict):
        for key in list(value):
            yield {k: v for k, v in value.items() if k != key}
        for key in list(value):
            for sub in _smaller(value[key]):
                yield dict(value, **{key: sub})
    elif isinstance(value, list):
        for index in range(len(value)):
            yield value[:index] + value[index + 1:]
        for index in range(len(value)):
            for sub in _smaller(value[index]):
                yield value[:index] + [sub] + value[index + 1:]


def shrink(case, still, budget=80):
    """Greedy: leave out what the finding does not need (``still(base, state, options)`` says it remains)."""
    base, state, options = case
    tries = 0
    if state != "merged" and still(base, "merged", options):
        state = "merged"
    progress = True
    while progress and tries < budget:
        progress = False
        for candidate in _smaller(options):
            tries += 1
            if still(base, state, candidate):
                options, progress = candidate, True
                break
            if tries >= budget:
                break
    for other in AREA_BASES_ORDER:
        if other != base and other in AREA_BASES[CURRENT["module"]] and still(other, state, options):
            base = other
            break
    return base, state, options


AREA_BASES_ORDER = ["plain", "one-cell", "two-cells"]
CURRENT = {}


def one_case(scratch, schema, module, base, state, options):
    """Run one generated case; record what disagrees, each new kind of finding shrunk to its smallest case."""
    TALLY.counts["cases"] += 1
    found, invalid, stricter = evaluate(scratch, schema, module, base, state, options, TALLY.counts)
    for kind, detail, check, real in found:
        key = (module, kind, _pattern(detail))
        if key in TALLY.mismatches:
            TALLY.mismatches[key]["count"] += 1
            continue

        def still(b, s, o, key=key):
            again, _invalid, _stricter = evaluate(scratch, schema, module, b, s, o, collections.Counter())
            return any((module, k, _pattern(d)) == key for k, d, _c, _r in again)
        small = shrink((base, state, options), still)
        again = [f for f in evaluate(scratch, schema, module, *small, counts=collections.Counter())[0]
                 if (module, f[0], _pattern(f[1])) == key]
        kind, detail, check, real = again[0] if again else (kind, detail, check, real)
        TALLY.mismatches[key] = {"count": 1, "module": module, "kind": kind, "detail": detail, "check": check,
                                 "real": real, "base": small[0], "state": small[1], "options": small[2],
                                 "generated": {"base": base, "state": state, "options": options}}
        _write_findings()
    if invalid:
        def still_invalid(b, s, o):
            return offline_schema_error(schema, module, b, s, o)[1] is not None
        small = shrink((base, state, options), still_invalid, budget=200)
        key = (module, json.dumps(_signature(small[2]), sort_keys=True))
        if key in TALLY.schema_invalid:
            TALLY.schema_invalid[key]["count"] += 1
        else:
            TALLY.schema_invalid[key] = {"count": 1, "module": module, "base": small[0], "state": small[1],
                                         "options": small[2],
                                         "error": offline_schema_error(schema, module, *small)[1]}
            _write_findings()
    if stricter:
        key = (module, _pattern(stricter))
        entry = TALLY.stricter.setdefault(key, {"count": 0, "module": module, "base": base, "state": state,
                                                "options": options, "msg": stricter})
        entry["count"] += 1


def _signature(options):
    """The shape of a reproduction: its option paths (values left out), so that one root cause is one group."""
    if isinstance(options, dict):
        return {key: _signature(value) for key, value in sorted(options.items())}
    if isinstance(options, list):
        return [_signature(item) for item in options]
    if not isinstance(options, str):
        return type(options).__name__
    if not options.strip():
        return "empty"
    return "str" if options.startswith("/") else "relative"


@pytest.mark.parametrize("module", sorted(AREA_OPTIONS))
def test_check_mode_agrees_with_libvirt(module, scratch, schema, capsys):
    started = time.monotonic()
    CURRENT["module"] = module
    cases_before = TALLY.counts["cases"]

    @settings(max_examples=CASES, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(base=_pick(AREA_BASES[module]), state=STATES, options=AREA_OPTIONS[module])
    def cases(base, state, options):
        one_case(scratch, schema, module, base, state, options)

    cases()
    elapsed = time.monotonic() - started
    TALLY.seconds += elapsed
    mismatches = {"%s | %s | %s" % key: (entry["state"], entry["base"], entry["options"], entry["count"])
                  for key, entry in TALLY.mismatches.items() if key[0] == module}
    invalid = {"%s | %s" % key: (entry["state"], entry["base"], entry["options"], entry["count"])
               for key, entry in TALLY.schema_invalid.items() if key[0] == module}
    _write_findings()
    with capsys.disabled():
        print("\ndifferential %s: %d cases in %.1f s, %d mismatch cases (%d kinds), %d schema-invalid offline "
              "outputs (%d kinds); session: %s"
              % (module, TALLY.counts["cases"] - cases_before, elapsed,
                 sum(entry[3] for entry in mismatches.values()), len(mismatches),
                 sum(entry[3] for entry in invalid.values()), len(invalid),
                 ", ".join("%s %d" % item for item in sorted(TALLY.counts.items()))))
    assert (mismatches, invalid) == ({}, {})


# --------------------------------------------------------------------------- findings file

def _write_findings():
    directory = os.environ.get("VIRTUNED_FINDINGS")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    total = sum(entry["count"] for entry in TALLY.mismatches.values())
    invalid = sum(entry["count"] for entry in TALLY.schema_invalid.values())
    lines = ["# Differential test findings (tests/integration/test_differential.py)", "",
             "Written by the test as it runs. One section per kind of finding (module, kind, message with values",
             "blanked), with the generated case shrunk to the smallest that still shows it. Base XMLs are `BASES`",
             "in the test file (name %s, uuid %s); a case defines the base again, then runs the module with" % (
                 GUEST, UUID),
             "`name`, `uri: qemu:///system` in check mode, for real, and for real again.", "",
             "Counts: " + ", ".join("%s %d" % item for item in sorted(TALLY.counts.items()))
             + "; mismatch cases %d (%d kinds); schema-invalid offline outputs %d (%d kinds); %.0f s" % (
                 total, len(TALLY.mismatches), invalid, len(TALLY.schema_invalid), TALLY.seconds), "",
             "## Mismatches"]
    for key in sorted(TALLY.mismatches):
        entry = TALLY.mismatches[key]
        lines += ["", "### %s: %s (%d cases)" % (entry["module"], entry["kind"], entry["count"]), "",
                  "- reproduce: `%s` state `%s` on base `%s`, options `%s`" % (
                      entry["module"], entry["state"], entry["base"], json.dumps(entry["options"], sort_keys=True)),
                  "- check mode: `%s`" % json.dumps(entry["check"], default=str)[:500],
                  "- real run: `%s`" % json.dumps(entry["real"], default=str)[:500],
                  "- detail: %s" % str(entry["detail"])[:600]]
    lines += ["", "## Offline outputs libvirt's schema refuses (virt-xml-validate's domain.rng)"]
    for key in sorted(TALLY.schema_invalid):
        entry = TALLY.schema_invalid[key]
        lines += ["", "### %s (%d cases)" % (entry["module"], entry["count"]), "",
                  "- reproduce: `%s` state `%s` on base `%s`, options `%s` (offline, `xml:`)" % (
                      entry["module"], entry["state"], entry["base"], json.dumps(entry["options"], sort_keys=True)),
                  "- schema: %s" % entry["error"]]
    lines += ["", "## For information: refused when connected, but libvirt defines the offline output", "",
              "Often right (the host could not run it); listed so that over-strict rules can be spotted.", ""]
    for key in sorted(TALLY.stricter):
        entry = TALLY.stricter[key]
        lines.append("- %s (%d cases): `%s` on %s/%s: %s" % (
            entry["module"], entry["count"], json.dumps(entry["options"], sort_keys=True), entry["base"],
            entry["state"], entry["msg"]))
    with open(os.path.join(directory, "differential.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
