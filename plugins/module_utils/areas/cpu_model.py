# -*- coding: utf-8 -*-
# Copyright: virtuned.libvirt contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cpu_model area: <cpu> (mode, model, vendor, topology, features, cache, maxphysaddr).

The guest NUMA cells under <cpu><numa> belong to the numa area: no field here reaches
them, and <cpu> is removed only when nothing else is left in it. Nothing applies live.
"""

from __future__ import annotations

import re

from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.limits import bounded_int
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import Area
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.fields import (
    Attr, Bool, Enum, Group, Int, Items, Str, Text,
)

MODES = ("host-passthrough", "host-model", "custom", "maximum")
POLICIES = ("force", "require", "optional", "disable", "forbid")
CLUSTERS_SINCE = (10, 1, 0)  # libvirt learnt <topology clusters=...> in 10.1.0

FIELDS = [
    Attr("mode", "mode", Enum(*MODES), path="cpu"),
    Attr("match", "match", Enum("minimum", "exact", "strict"), path="cpu"),
    Attr("check", "check", Enum("none", "partial", "full"), path="cpu"),
    Attr("migratable", "migratable", Bool("on", "off"), path="cpu"),
    Group("model", "cpu/model", [
        Text("name", None, Str()),
        Attr("fallback", "fallback", Enum("allow", "forbid")),
        Attr("vendor_id", "vendor_id", Str()),
    ]),
    Text("vendor", "cpu/vendor", Str()),
    Group("topology", "cpu/topology", [
        Attr("sockets", "sockets", Int(1)),
        Attr("dies", "dies", Int(1), default=1),
        Attr("clusters", "clusters", Int(1), default=1),
        Attr("cores", "cores", Int(1)),
        Attr("threads", "threads", Int(1)),
    ]),
    Items("features", "cpu/feature", [
        Attr("name", "name", Str()),
        Attr("policy", "policy", Enum(*POLICIES), default="require", write_default=True),
    ], key="name"),
    Group("cache", "cpu/cache", [
        Attr("level", "level", Int(1, 3)),
        Attr("mode", "mode", Enum("emulate", "passthrough", "disable")),
    ]),
    Group("maxphysaddr", "cpu/maxphysaddr", [
        Attr("mode", "mode", Enum("emulate", "passthrough")),
        Attr("bits", "bits", Int(1, 64)),
    ]),
]


def _fill_defaults(values):
    """What libvirt fills in on define, so that it never shows as a change."""
    mode = values.get("mode")
    if mode is None and any(values.get(name) for name in ("model", "topology", "features", "vendor")):
        mode = values["mode"] = "custom"
    if mode == "custom":
        if values.get("match") is None:
            values["match"] = "exact"
        model = values.get("model")
        if model and model.get("name") is not None:
            if model.get("fallback") is None:
                values["model"] = dict(model, fallback="allow")
            if values.get("check") is None:
                values["check"] = "partial"
    elif mode == "host-model" and values.get("check") is None:
        values["check"] = "partial"
    elif mode in ("host-passthrough", "maximum"):
        values["match"] = None  # libvirt keeps match only with mode custom: it drops it here (libvirt 9.0)
        if values.get("check") is None:
            values["check"] = "none"
        if values.get("migratable") is None:
            values["migratable"] = True
    return values


def fill_in(values, _root):
    return _fill_defaults(values)


# What libvirt (qemuDomainDefSetDefaultCPU) writes into an x86 QEMU/KVM guest defined without a <cpu>:
# QEMU's default CPU type for the pc and q35 machines.
LIBVIRT_DEFAULT_X86_CPU = {"mode": "custom", "match": "exact", "check": "none",
                           "model": {"name": "qemu64", "fallback": "forbid", "vendor_id": None}}
X86_ARCHES = ("x86_64", "i686")


def _set(value):
    """True when a value sets something (a group whose fields are all unset sets nothing)."""
    if isinstance(value, dict):
        return any(_set(item) for item in value.values())
    if isinstance(value, list):
        return bool(value)
    return value is not None


def _differs(result, current):
    """True when the target would change the area (the module would write <cpu>)."""
    return any(AREA.by_name[name].comparable(result.get(name)) != AREA.by_name[name].comparable(current.get(name))
               for name in result if name in AREA.by_name)


def _is_x86_qemu(root):
    """True for an x86 QEMU/KVM guest (where libvirt writes a default CPU into a definition without one)."""
    os_type = root.find("os/type")
    return root.get("type") in ("kvm", "qemu") and os_type is not None and \
        os_type.get("arch", "x86_64") in X86_ARCHES


def adjust_target(result, view):
    if view.state == "deleted" and view.desired.get("mode") is not None:
        # without a mode the rest of <cpu> means nothing: drop what depends on it
        result.update(match=None, check=None, migratable=None)
    result = _fill_defaults(result)
    # (a vendor or features without a model are refused by libvirt's parser before that: validate says so)
    modelless = result.get("mode") in (None, "custom") and not _set((result.get("model") or {}).get("name")) \
        and not _set(result.get("vendor")) and not _set(result.get("features"))
    if modelless and _is_x86_qemu(view.root) and _differs(result, view.current):
        # A custom <cpu> without a model gets libvirt's default CPU on define (x86 QEMU/KVM, checked on libvirt
        # 9.0): mode custom, match exact, check none, model qemu64; the rest of <cpu> (topology, maxphysaddr,
        # cache) stays. That is the target, so that check mode, the result and a rerun agree with libvirt.
        filled = dict(result)
        filled.update(LIBVIRT_DEFAULT_X86_CPU)
        return filled
    return result


def validate(target, ctx):
    """Mode, model and topology; model, mode and clusters against the host when connected (the topology
    against the vCPU maximum: engine/rules.py)."""
    mode = target["mode"]
    if target["migratable"] is not None and mode not in ("host-passthrough", "maximum"):
        raise TuningError("migratable: not valid with mode %s: only host-passthrough and maximum take it" % mode)
    if mode in ("host-passthrough", "maximum") and (target["model"] or {}).get("name"):
        raise TuningError("model.name: %r is not valid with mode %s: a named model needs mode custom or host-model"
                          % (target["model"]["name"], mode))
    topology = target["topology"]
    if topology:
        for name in ("sockets", "cores", "threads"):
            if topology.get(name) is None:
                raise TuningError("topology.%s: required: libvirt needs sockets, cores and threads" % name)
        if topology.get("clusters") not in (None, 1):
            _check_clusters(ctx)
    _check_model_parts(target)
    _check_cache(target, ctx)
    _check_maxphysaddr(target, ctx)
    return _unknown_features(target, ctx) + _check_host(target, ctx)


def _unknown_features(target, ctx):
    arch = _arch(ctx)
    if arch not in (None, "x86_64", "i686"):
        return []
    unknown = sorted(feature["name"] for feature in target["features"] or [] if feature["name"] not in X86_FEATURES_9_0)
    if not unknown:
        return []
    return ["features: %s not in libvirt 9.0's x86 CPU map (src/cpu_map/x86_features.xml); libvirt refuses to "
            "start a guest with a CPU feature it does not know (newer libvirt versions know more)"
            % ", ".join(unknown)]


VENDOR_ID_LENGTH = 12  # VIR_CPU_VENDOR_ID_LENGTH
# src/conf/schemas/cputypes.rng featureName
FEATURE_NAME = re.compile(r"^[a-zA-Z0-9\-_.]+$")
# The x86 CPU features libvirt 9.0.0 knows (src/cpu_map/x86_features.xml); QEMU guests with another one do
# not start ("unknown CPU feature", virCPUx86ValidateFeatures at process start). Newer libvirt knows more:
# a name outside this list is a warning, not a refusal.
X86_FEATURES_9_0 = frozenset("""
    3dnow 3dnowext 3dnowprefetch abm acpi adx aes amd-no-ssb amd-ssbd amd-stibp amx-bf16 amx-int8
    amx-tile apic arat arch-capabilities arch-lbr avic avx avx-vnni avx2 avx512-4fmaps avx512-4vnniw
    avx512-bf16 avx512-fp16 avx512-vp2intersect avx512-vpopcntdq avx512bitalg avx512bw avx512cd
    avx512dq avx512er avx512f avx512ifma avx512pf avx512vbmi avx512vbmi2 avx512vl avx512vnni bmi1
    bmi2 bus-lock-detect cid cldemote clflush clflushopt clwb clzero cmov cmp_legacy cmt
    core-capability cr8legacy cvt16 cx16 cx8 dca de decodeassists ds ds_cpl dtes64 erms est extapic
    f16c flushbyasid fma fma4 fpu fsgsbase fsrm fxsr fxsr_opt gfni hle ht hypervisor ia64 ibpb ibrs
    ibrs-all ibs intel-pt intel-pt-lip invpcid invtsc la57 lahf_lm lbrv lm lwp mbm_local mbm_total
    mca mce md-clear mds-no misalignsse mmx mmxext monitor movbe movdir64b movdiri mpx msr mtrr
    nodeid_msr npt nrip-save nx ospke osvw osxsave pae pat pause-filter pbe pcid pclmuldq pcommit
    pconfig pdcm pdpe1gb perfctr_core perfctr_nb pfthreshold pge pks pku pn pni popcnt
    pschange-mc-no pse pse36 rdctl-no rdpid rdrand rdseed rdtscp rsba rtm sep serialize sgx
    sgx-debug sgx-exinfo sgx-kss sgx-mode64 sgx-provisionkey sgx-tokenkey sgx1 sgx2 sgxlc sha-ni
    skinit skip-l1dfl-vmentry smap smep smx spec-ctrl split-lock-detect ss ssb-no ssbd sse sse2
    sse4.1 sse4.2 sse4a ssse3 stibp svm svm-lock svme-addr-chk syscall taa-no tbm tce tm tm2 topoext
    tsc tsc-deadline tsc-scale tsc_adjust tsx-ctrl tsx-ldtrk umip v-vmsave-vmload vaes vgif
    virt-ssbd vmcb-clean vme vmx vpclmulqdq waitpkg wbnoinvd wdt x2apic xfd xgetbv1 xop xsave xsavec
    xsaveerptr xsaveopt xsaves xtpr
""".split())


def _check_model_parts(target):
    """src/conf/cpu_conf.c virCPUDefParseXML: vendor_id, vendor and features need what libvirt says."""
    model = target["model"] or {}
    vendor_id = model.get("vendor_id")
    if vendor_id and (len(vendor_id) != VENDOR_ID_LENGTH or "," in vendor_id):
        raise TuningError("model.vendor_id: %r is not valid: libvirt needs exactly %d characters and no comma "
                          "(the CPUID vendor string QEMU is given)" % (vendor_id, VENDOR_ID_LENGTH))
    if target["vendor"] and not model.get("name"):
        raise TuningError("vendor: %r is not valid without model.name: libvirt refuses a CPU vendor specified "
                          "without CPU model" % target["vendor"])
    for feature in target["features"] or []:
        if not FEATURE_NAME.match(feature["name"]):
            raise TuningError("features[name=%s].name: %r is not valid: a CPU feature name is letters, digits, "
                              "'-', '_' and '.' (libvirt's schema)" % (feature["name"], feature["name"]))
    if target["features"] and target["mode"] == "custom" and not model.get("name"):
        raise TuningError("features: %s is not valid without model.name in mode custom: libvirt refuses a "
                          "feature list specified without CPU model"
                          % ", ".join(feature["name"] for feature in target["features"]))


def _arch(ctx):
    os_type = ctx.root.find("os/type")
    return os_type.get("arch") if os_type is not None else None


def _check_cache(target, ctx):
    """src/conf/cpu_conf.c virCPUDefParseXMLCache (mode required) and src/qemu/qemu_validate.c
    qemuValidateDomainDefCpu (which level and CPU mode each cache mode takes)."""
    cache = target["cache"]
    if not cache or all(value is None for value in cache.values()):
        return
    mode, level = cache.get("mode"), cache.get("level")
    if mode is None:
        raise TuningError("cache.mode: required: libvirt needs the cache mode (emulate, passthrough or disable)")
    arch = _arch(ctx)
    if arch and arch not in ("x86_64", "i686"):
        raise TuningError("cache: not valid on %s: QEMU's CPU cache settings exist on x86 only" % arch)
    if mode == "emulate" and level != 3:
        raise TuningError("cache.level: %r is not valid with mode emulate: libvirt emulates the level 3 cache only "
                          "(set level 3)" % level)
    if mode == "passthrough" and target["mode"] not in ("host-passthrough", "maximum"):
        raise TuningError("cache.mode: 'passthrough' is not valid with CPU mode %s: libvirt passes the host's cache "
                          "through only for host-passthrough and maximum CPUs" % (target["mode"] or "not set"))
    if mode in ("passthrough", "disable") and level is not None:
        raise TuningError("cache.level: %d is not valid with mode %s: libvirt takes a level only with mode emulate"
                          % (level, mode))


def _check_maxphysaddr(target, ctx):
    """src/qemu/qemu_validate.c qemuValidateDomainDefCpu: bits with emulate only, and at most the host's."""
    addr = target["maxphysaddr"]
    if not addr or all(value is None for value in addr.values()):
        return
    mode, bits = addr.get("mode"), addr.get("bits")
    if mode is None:
        raise TuningError("maxphysaddr.mode: required: libvirt needs the mode (emulate or passthrough)")
    if mode == "passthrough" and bits is not None:
        raise TuningError("maxphysaddr.bits: %d is not valid with mode passthrough: libvirt takes bits only with "
                          "mode emulate" % bits)
    if mode == "emulate" and bits is None:
        raise TuningError("maxphysaddr.bits: required with mode emulate: the number of physical address bits")
    caps = ctx.host("capabilities")
    host = caps.find("host/cpu/maxphysaddr") if caps is not None else None
    if mode == "emulate" and host is not None and bounded_int(host.get("bits")) is not None and bits > bounded_int(host.get("bits")):
        raise TuningError("maxphysaddr.bits: %d is not valid on this host: its CPU has %s physical address bits, "
                          "and the guest's cannot exceed them" % (bits, host.get("bits")))


def _check_clusters(ctx):
    version = ctx.host("lib_version")
    if version is not None and tuple(version) < CLUSTERS_SINCE:
        raise TuningError("topology.clusters: not valid here: libvirt %s on this host does not know clusters "
                          "(needs libvirt %s or later); leave clusters out"
                          % (".".join(str(v) for v in version), ".".join(str(v) for v in CLUSTERS_SINCE)))


def _check_host(target, ctx):
    caps = ctx.host("domain_capabilities")
    if caps is None:
        return []
    mode = target["mode"]
    if mode is not None:
        modes = {elem.get("name"): elem for elem in caps.findall("cpu/mode")}
        supported = sorted(name for name, elem in modes.items() if elem.get("supported") == "yes")
        if mode not in supported:
            raise TuningError("mode: %r is not valid on this host: its hypervisor supports %s"
                              % (mode, ", ".join(supported) or "no CPU mode"))
    name = (target["model"] or {}).get("name")
    if name is not None and mode == "custom":
        offered = sorted({(elem.text or "").strip() for elem in caps.findall("cpu/mode[@name='custom']/model")})
        if offered and name not in offered:
            raise TuningError("model.name: %r is not valid on this host: its hypervisor offers %s"
                              % (name, ", ".join(offered)))
        usable = [elem.get("usable") for elem in caps.findall("cpu/mode[@name='custom']/model")
                  if (elem.text or "").strip() == name]
        if usable == ["no"] and target["check"] != "none" and (target["model"] or {}).get("fallback") != "allow":
            return ["model.name: %s is not usable as it is on this host (domain capabilities: usable='no', some of "
                    "its features are missing); the guest may not start unless check is none" % name]
    return []


# --------------------------------------------------------------------------- live

def live_view(live_root, view):
    """The CPU the guest was started with, not QEMU's expansion of it (the plain live XML lists every
    feature of the model and check='full' once QEMU has started). Nothing changes live."""
    started = view.live_migratable()
    return view.read_area(started if started is not None else live_root)


AREA = Area("cpu_model", FIELDS, diff_paths=["cpu"], diff_drop=["cpu/numa"], validate=validate,
            fill_in=fill_in, adjust_target=adjust_target, live_view=live_view,
            description="guest CPU: <cpu> except its NUMA cells")
