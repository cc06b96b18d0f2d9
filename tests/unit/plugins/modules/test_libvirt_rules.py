"""libvirt's own rules, checked before anything is written, in check mode too (issue 9 item 1).

Each test names the libvirt 9.0.0 source the rule comes from, and asserts the exact message.
"""

import pytest

from conftest import fixture_text, run_module

BASE = fixture_text("guest-minimal.xml")
CELL = "<numa><cell id='0' cpus='0-3' memory='131072' unit='KiB'/></numa></cpu>"
NUMA = BASE.replace("</cpu>", CELL).replace("<vcpu", "<maxMemory slots='4' unit='GiB'>4</maxMemory><vcpu")


def refused(module, args):
    """The refusal of a real run and of a check-mode run: the same message, nothing written."""
    real = run_module(module, args)
    check = run_module(module, args, check=True)
    assert real.get("failed") is True, real
    assert check.get("failed") is True, check
    assert real["msg"] == check["msg"]
    return real["msg"]


# --- memtune: src/hypervisor/domain_cgroup.c virDomainCgroupSetMemoryLimitParameters

def test_unlimited_hard_limit_while_swap_is_set_is_refused():
    tuned = run_module("memtune", {"xml": BASE, "soft_limit": "512M", "hard_limit": "2G",
                                   "swap_hard_limit": "3G"})["xml"]
    assert refused("memtune", {"xml": tuned, "hard_limit": "unlimited"}) == (
        "hard_limit: 'unlimited' is not valid while swap_hard_limit is 3 GiB: libvirt requires hard_limit to be lower "
        "than or equal to swap_hard_limit (which limits memory plus swap); set a hard_limit or make swap_hard_limit "
        "unlimited too")
    both = run_module("memtune", {"xml": tuned, "hard_limit": "unlimited", "swap_hard_limit": "unlimited"})
    assert both["after"] == {"hard_limit": "unlimited", "soft_limit": "512 MiB", "swap_hard_limit": "unlimited"}


def test_swap_limit_without_hard_limit_is_refused():
    assert refused("memtune", {"xml": BASE, "swap_hard_limit": "1G"}) == (
        "hard_limit: None is not valid while swap_hard_limit is 1 GiB: libvirt requires hard_limit to be lower than "
        "or equal to swap_hard_limit (which limits memory plus swap); set a hard_limit or make swap_hard_limit "
        "unlimited too")


def test_soft_limit_zero_is_kept():
    xml = BASE.replace("<iothreads>", "<memtune><soft_limit unit='KiB'>0</soft_limit></memtune><iothreads>")
    gathered = run_module("memtune", {"xml": xml, "state": "gathered"})["gathered"]
    assert gathered == {"soft_limit": "0 KiB"}
    again = run_module("memtune", dict(gathered, xml=xml, state="replaced"))
    assert (again["changed"], again["xml"].count("<soft_limit unit=\"KiB\">0</soft_limit>")) == (False, 1)


# --- memory devices: src/qemu/qemu_domain.c qemuDomainGetMemoryModuleSizeAlignment,
#     src/conf/domain_postparse.c virDomainDefPostParseMemory

def test_dimm_size_not_a_multiple_of_2_mib_is_refused():
    assert refused("memory_devices", {"xml": NUMA, "dimms": [{"size": "100K", "node": 0}]}) == (
        "dimms[0].size: '100 KiB' is not valid: QEMU needs DIMM sizes in multiples of 2 MiB on this architecture "
        "(libvirt rounds them up at boot and QEMU refuses them at hot-plug)")


def test_an_existing_unaligned_dimm_is_kept():
    dimm = "<memory model='dimm'><target><size unit='KiB'>1024</size><node>0</node></target></memory></devices>"
    xml = NUMA.replace("</devices>", dimm).replace("<memory unit='MiB'>128</memory>",
                                                   "<memory unit='KiB'>132096</memory>")
    gathered = run_module("memory_devices", {"xml": xml, "state": "gathered"})["gathered"]
    again = run_module("memory_devices", dict(gathered, xml=xml, state="replaced"))
    assert (again.get("failed"), again["changed"]) == (None, False)


VIRTIO_MEM = ("<memory model='virtio-mem'><target><size unit='MiB'>256</size><node>0</node>"
              "<block unit='MiB'>2</block><requested unit='MiB'>0</requested></target></memory>")
NVDIMM = ("<memory model='nvdimm'><source><path>/tmp/nvdimm</path></source><target><size unit='MiB'>64</size>"
          "<node>0</node></target></memory>")
PMEM = ("<memory model='virtio-pmem' access='shared'><source><path>/tmp/pmem</path></source>"
        "<target><size unit='MiB'>32</size></target></memory>")


@pytest.mark.parametrize("device, size_mib", [(VIRTIO_MEM, 256), (NVDIMM, 64), (PMEM, 32)])
def test_every_memory_device_counts_toward_memory(device, size_mib):
    # what libvirt writes: <memory> = cells + every memory device
    xml = NUMA.replace("</devices>", device + "</devices>").replace(
        "<memory unit='MiB'>128</memory>", "<memory unit='MiB'>%d</memory>" % (128 + size_mib))
    gathered = run_module("memory_devices", {"xml": xml, "state": "gathered"})["gathered"]
    assert gathered == {"memory": "%d MiB" % (128 + size_mib), "max_memory": {"slots": 4, "size": "4 GiB"}}
    again = run_module("memory_devices", dict(gathered, xml=xml, state="replaced"))
    assert (again.get("failed"), again["changed"]) == (None, False)
    numa = run_module("numa", {"xml": xml, "state": "gathered"})["gathered"]
    assert run_module("numa", dict(numa, xml=xml, state="replaced"))["changed"] is False
    plus = run_module("memory_devices", {"xml": xml, "dimms": [{"size": "128M", "node": 0}]})
    assert plus["after"]["memory"] == "%d MiB" % (256 + size_mib)


def test_memory_that_leaves_out_a_virtio_mem_device_is_refused():
    xml = NUMA.replace("</devices>", VIRTIO_MEM + "</devices>")
    assert refused("memory_devices", {"xml": xml, "memory": "128M"}) == (
        "memory: '128 MiB' is not valid: the memory devices alone are 256 MiB (DIMMs 0 KiB, virtio-mem 256 MiB); "
        "memory is the total, memory devices included")


# --- what libvirt's RNG schemas (src/conf/schemas/*.rng) require of the XML written

def schema_valid(xml):
    import shutil
    import subprocess
    import tempfile
    if shutil.which("virt-xml-validate") is None:
        pytest.skip("virt-xml-validate is not installed")
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as handle:
        handle.write(xml)
        handle.flush()
        done = subprocess.run(["virt-xml-validate", handle.name, "domain"], capture_output=True, text=True, check=False)
    return done.returncode == 0


TWO_CELLS = BASE.replace("</cpu>", "<numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/>"
                                   "<cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa></cpu>")


def test_memnode_mode_is_written_as_libvirt_writes_it():
    tune = {"memory": {"nodeset": "0"}, "memnodes": [{"cellid": 1, "nodeset": "0"}]}
    result = run_module("numa", {"xml": TWO_CELLS, "numatune": tune})
    assert result["diff"]["after"].startswith(
        '<numatune>\n  <memory nodeset="0"/>\n  <memnode cellid="1" mode="strict" nodeset="0"/>\n</numatune>\n')
    assert schema_valid(result["xml"])
    assert run_module("numa", {"xml": result["xml"], "numatune": {"memnodes": [{"cellid": 1, "mode": "strict",
                                                                               "nodeset": 0}]}})["changed"] is False


def test_feature_policy_is_written_as_libvirt_writes_it():
    result = run_module("cpu_model", {"xml": BASE, "features": [{"name": "pcid"}]})
    assert result["diff"]["after"] == ('<cpu mode="custom" match="exact" check="none">\n'
                                       '  <model fallback="forbid">kvm64</model>\n'
                                       '  <feature name="pcid" policy="require"/>\n</cpu>\n')
    assert schema_valid(result["xml"])


@pytest.mark.parametrize("module, args", [
    ("boot_firmware", {"loader": {}}), ("boot_firmware", {"nvram": {}}), ("boot_firmware", {"bootmenu": {}}),
    ("memory_backing", {"allocation": {}}), ("numa", {"numatune": {}}), ("numa", {"numatune": {"memory": {}}}),
    ("iothreads", {"defaultiothread": {}}), ("cpu_model", {"maxphysaddr": {}}), ("cpu_model", {"cache": {}}),
])
def test_an_empty_group_is_no_element(module, args):
    # libvirt drops an element that sets nothing: {} changes nothing, and reruns agree
    result = run_module(module, dict(args, xml=BASE))
    assert (result.get("failed"), result["changed"]) == (None, False)


def test_an_empty_text_means_absent():
    kernel = run_module("boot_firmware", {"xml": BASE, "kernel": "/boot/vmlinuz", "cmdline": "console=ttyS0 "})
    assert kernel["after"] == {"kernel": "/boot/vmlinuz", "cmdline": "console=ttyS0", "boot_order": ["hd"]}
    assert run_module("boot_firmware", {"xml": kernel["xml"], "cmdline": "console=ttyS0 "})["changed"] is False
    cleared = run_module("boot_firmware", {"xml": kernel["xml"], "cmdline": ""})
    assert cleared["after"] == {"kernel": "/boot/vmlinuz", "boot_order": ["hd"]}
    assert run_module("boot_firmware", {"xml": cleared["xml"], "cmdline": ""})["changed"] is False


# --- connected rules, with the host's answers given (DomainContext.host loaders)

DOMCAPS = """<domainCapabilities><path>/usr/bin/qemu-system-x86_64</path><domain>kvm</domain>
<machine>pc-i440fx-7.2</machine><arch>x86_64</arch><vcpu max='255'/>
<os supported='yes'><enum name='firmware'><value>efi</value></enum>
<loader supported='yes'><value>/usr/share/OVMF/OVMF_CODE_4M.fd</value><enum name='secure'><value>no</value></enum></loader></os>
<cpu><mode name='host-passthrough' supported='yes'/><mode name='maximum' supported='yes'/>
<mode name='host-model' supported='yes'><model fallback='forbid'>kvm64</model></mode>
<mode name='custom' supported='yes'><model usable='no' vendor='unknown'>kvm64</model>
<model usable='yes' vendor='unknown'>pentium3</model></mode></cpu>
<memoryBacking supported='yes'><enum name='sourceType'><value>file</value><value>memfd</value></enum></memoryBacking>
</domainCapabilities>"""
CAPS = """<capabilities><host><cpu><arch>x86_64</arch><maxphysaddr mode='emulate' bits='48'/>
<pages unit='KiB' size='4'/><pages unit='KiB' size='2048'/></cpu>
<topology><cells num='1'><cell id='0'/></cells></topology></host></capabilities>"""


def connected_rules(area_name, xml, params, state="merged", domcaps=DOMCAPS, caps=CAPS):
    """An area's rules as on a connected run (host answers from the strings above): warnings, or the refusal."""
    from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import DomainContext, converge
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain, parse_xml
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.errors import TuningError
    area = AREAS[area_name]
    full = {f.name: None for f in area.fields}
    full.update(params)
    loaders = {"domain_capabilities": lambda: parse_xml(domcaps), "capabilities": lambda: parse_xml(caps),
               "free_pages": lambda size: None, "lib_version": lambda: (9, 0, 0)}
    try:
        root = parse_domain(xml)
        results = converge(root, [(area, full, state)],
                           DomainContext(root, host_cpus=frozenset({0, 1}), hypervisor="qemu", connected=True,
                                         loaders=loaders))
    except TuningError as exc:
        return str(exc)
    return results[0].warnings


# --- cpu_model: src/conf/cpu_conf.c virCPUDefParseXML, virCPUDefParseXMLCache; src/qemu/qemu_validate.c
#     qemuValidateDomainDefCpu

@pytest.mark.parametrize("args, message", [
    ({"cache": {"mode": "passthrough"}},
     "cache.mode: 'passthrough' is not valid with CPU mode custom: libvirt passes the host's cache through only for "
     "host-passthrough and maximum CPUs"),
    ({"cache": {"mode": "emulate"}},
     "cache.level: None is not valid with mode emulate: libvirt emulates the level 3 cache only (set level 3)"),
    ({"cache": {"mode": "emulate", "level": 2}},
     "cache.level: 2 is not valid with mode emulate: libvirt emulates the level 3 cache only (set level 3)"),
    ({"cache": {"level": 3, "mode": "disable"}},
     "cache.level: 3 is not valid with mode disable: libvirt takes a level only with mode emulate"),
    ({"cache": {"level": 3}}, "cache.mode: required: libvirt needs the cache mode (emulate, passthrough or disable)"),
    ({"maxphysaddr": {"mode": "emulate"}},
     "maxphysaddr.bits: required with mode emulate: the number of physical address bits"),
    ({"maxphysaddr": {"bits": 40}}, "maxphysaddr.mode: required: libvirt needs the mode (emulate or passthrough)"),
    ({"maxphysaddr": {"mode": "passthrough", "bits": 40}},
     "maxphysaddr.bits: 40 is not valid with mode passthrough: libvirt takes bits only with mode emulate"),
    ({"model": {"vendor_id": "short"}},
     "model.vendor_id: 'short' is not valid: libvirt needs exactly 12 characters and no comma (the CPUID vendor "
     "string QEMU is given)"),
    ({"model": {"vendor_id": "Genuine,ntel"}},
     "model.vendor_id: 'Genuine,ntel' is not valid: libvirt needs exactly 12 characters and no comma (the CPUID "
     "vendor string QEMU is given)"),
])
def test_cpu_rules(args, message):
    assert refused("cpu_model", dict(args, xml=BASE)) == message


def test_cpu_vendor_and_features_need_a_model():
    assert refused("cpu_model", {"xml": BASE, "state": "replaced", "vendor": "AMD"}) == (
        "vendor: 'AMD' is not valid without model.name: libvirt refuses a CPU vendor specified without CPU model")
    assert refused("cpu_model", {"xml": BASE, "state": "replaced", "features": [{"name": "x2apic"}]}) == (
        "features: x2apic is not valid without model.name in mode custom: libvirt refuses a feature list specified "
        "without CPU model")


def test_cpu_cache_passthrough_with_host_passthrough_and_valid_maxphysaddr():
    result = run_module("cpu_model", {"xml": BASE, "state": "replaced", "mode": "host-passthrough",
                                      "cache": {"mode": "passthrough"}, "maxphysaddr": {"mode": "passthrough"}})
    assert result["diff"]["after"] == ('<cpu mode="host-passthrough" check="none" migratable="on">\n'
                                       '  <cache mode="passthrough"/>\n  <maxphysaddr mode="passthrough"/>\n</cpu>\n')
    assert schema_valid(result["xml"])


def test_cpu_rules_against_the_host():
    assert connected_rules("cpu_model", BASE, {"maxphysaddr": {"mode": "emulate", "bits": 52}}) == (
        "maxphysaddr.bits: 52 is not valid on this host: its CPU has 48 physical address bits, and the guest's cannot "
        "exceed them")
    assert connected_rules("cpu_model", BASE, {"maxphysaddr": {"mode": "emulate", "bits": 46}}) == []
    assert connected_rules("cpu_model", BASE, {"check": "partial"}) == [
        "model.name: kvm64 is not usable as it is on this host (domain capabilities: usable='no', some of its features "
        "are missing); the guest may not start unless check is none"]
    assert connected_rules("cpu_model", BASE, {"model": {"name": "pentium3"}}) == []


# --- boot_firmware: src/conf/domain_validate.c virDomainDefOSValidate, src/qemu/qemu_validate.c
#     qemuValidateDomainDefBoot, src/conf/schemas/domaincommon.rng (absFilePath, bootmenu)

@pytest.mark.parametrize("args, message", [
    ({"kernel": "vmlinuz"}, "kernel: 'vmlinuz' is not valid: libvirt needs an absolute path (it resolves no path "
                            "relative to anything)"),
    ({"kernel": "/boot/vmlinuz", "initrd": "initrd.img"},
     "initrd: 'initrd.img' is not valid: libvirt needs an absolute path (it resolves no path relative to anything)"),
    ({"kernel": "/boot/vmlinuz", "dtb": "board.dtb"},
     "dtb: 'board.dtb' is not valid: libvirt needs an absolute path (it resolves no path relative to anything)"),
    ({"loader": {"path": "OVMF_CODE.fd"}},
     "loader.path: 'OVMF_CODE.fd' is not valid: libvirt needs an absolute path (it resolves no path relative to "
     "anything)"),
    ({"firmware": "efi", "nvram": {"path": "relative_VARS.fd"}},
     "nvram.path: 'relative_VARS.fd' is not valid: libvirt needs an absolute path (it resolves no path relative to "
     "anything)"),
    ({"bootmenu": {"timeout": 3000}},
     "bootmenu.enable: required with bootmenu.timeout: libvirt's schema needs enable (true or false) on <bootmenu>"),
    ({"firmware": "bios", "nvram": {"path": "/var/lib/libvirt/qemu/nvram/x_VARS.fd"}},
     "nvram: {'path': '/var/lib/libvirt/qemu/nvram/x_VARS.fd'} is not valid with firmware bios: firmware type 'bios' "
     "does not support nvram"),
    ({"nvram": {"path": "/var/lib/libvirt/qemu/nvram/x_VARS.fd"}},
     "loader.path: required: without firmware (autoselection) a loader or NVRAM needs the loader's path (libvirt: no "
     "loader path specified and firmware auto selection disabled)"),
    ({"firmware": "efi", "nvram": {"template": "/usr/share/OVMF/OVMF_VARS.fd"}},
     "nvram.template: '/usr/share/OVMF/OVMF_VARS.fd' is not valid with firmware efi: libvirt chooses the template "
     "when firmware is set (firmware autoselection)"),
    ({"firmware": "efi", "loader": {"path": "/usr/share/OVMF/OVMF_CODE_4M.fd"}},
     "loader.path: '/usr/share/OVMF/OVMF_CODE_4M.fd' is not valid with firmware efi: libvirt chooses the loader when "
     "firmware is set (firmware autoselection); drop loader.path or firmware"),
    ({"firmware": "efi", "loader": {"readonly": True}},
     "loader.readonly: True is not valid with firmware efi: libvirt chooses the loader when firmware is set "
     "(firmware autoselection); drop loader.readonly or firmware"),
    ({"firmware": "efi", "loader": {"secure": False}},
     "loader.secure: false is not valid with firmware efi: with firmware autoselection, secure boot is asked for "
     "with firmware_features.secure_boot"),
    ({"loader": {"path": "/usr/share/OVMF/OVMF_CODE_4M.fd", "stateless": True},
      "nvram": {"path": "/var/lib/libvirt/qemu/nvram/x_VARS.fd"}},
     "nvram: {'path': '/var/lib/libvirt/qemu/nvram/x_VARS.fd'} is not valid with loader.stateless true: a stateless "
     "loader has no NVRAM"),
    ({"loader": {"path": "/usr/share/OVMF/OVMF_CODE_4M.fd", "stateless": False}},
     "loader.stateless: false is not valid with loader type not set: only a pflash loader keeps NVRAM"),
    ({"loader": {"path": "/usr/share/OVMF/OVMF_CODE_4M.fd", "type": "pflash", "secure": True}},
     "loader.secure: true is not valid with machine type pc: QEMU supports secure boot with q35 machine types only"),
])
def test_boot_firmware_rules(args, message):
    assert refused("boot_firmware", dict(args, xml=BASE)) == message


def test_firmware_against_domain_capabilities_in_both_directions():
    assert connected_rules("boot_firmware", BASE, {"firmware": "bios"}) == (
        "firmware: 'bios' is not valid on this host for pc-i440fx-7.2: no BIOS firmware is installed for firmware "
        "autoselection (firmware offered: efi)")
    assert connected_rules("boot_firmware", BASE, {"firmware": "efi"}) == []
    bios_only = DOMCAPS.replace("<value>efi</value>", "<value>bios</value>")
    assert connected_rules("boot_firmware", BASE, {"firmware": "efi"}, domcaps=bios_only) == (
        "firmware: 'efi' is not valid on this host for pc-i440fx-7.2: no UEFI firmware is installed for firmware "
        "autoselection (firmware offered: bios)")
    # enrolled keys turn secure boot on (libvirt's post-parse): checked against the host on the first run
    assert connected_rules("boot_firmware", BASE, {"firmware": "efi", "firmware_features": {"enrolled_keys": True}}) \
        == ("firmware_features.secure_boot: true is not valid on this host for pc-i440fx-7.2: its firmware offers no "
            "secure boot (a q35 machine type and OVMF secboot images are needed)")


# --- memory_backing: src/conf/domain_validate.c virDomainDefMemtuneValidate, src/qemu/qemu_validate.c
#     qemuValidateDomainDefMemory

@pytest.mark.parametrize("args, message", [
    ({"hugepages": [{"nodeset": "0", "size": "2M"}, {"nodeset": "0-1", "size": "1G"}]},
     "hugepages[1].nodeset: '0-1' is not valid: guest cells 0 already have 2 MiB pages (hugepages[0]); libvirt "
     "refuses hugepage nodesets that intersect"),
    ({"hugepages": [{"size": "2M"}, {"size": "1G"}]},
     "hugepages[1]: 1 GiB pages without nodeset are not valid beside hugepages[0] (2 MiB pages without nodeset): "
     "libvirt takes one default page size (two master hugepages); give the others a nodeset"),
    ({"hugepages": [], "allocation": {"mode": "ondemand"}},
     "allocation.mode: 'ondemand' is not valid with hugepages: libvirt allocates hugepages immediately (use mode "
     "immediate, or no hugepages)"),
    ({"hugepages": [{"size": "2M"}], "source": "anonymous"},
     "source: 'anonymous' is not valid with hugepages: hugepages are not allowed with anonymous memory source (use "
     "file or memfd)"),
])
def test_memory_backing_rules(args, message):
    assert refused("memory_backing", dict(args, xml=TWO_CELLS)) == message


def test_hugepages_per_cell_and_a_default_are_valid():
    result = run_module("memory_backing", {"xml": TWO_CELLS, "hugepages": [{"size": "2M"},
                                                                           {"size": "32M", "nodeset": "1"}]})
    assert result["after"] == {"hugepages": [{"size": "2 MiB"}, {"size": "32 MiB", "nodeset": "1"}]}


def test_memory_source_against_domain_capabilities():
    assert connected_rules("memory_backing", BASE, {"source": "anonymous"}) == (
        "source: 'anonymous' is not valid on this host: its QEMU offers memory sources file, memfd")
    assert connected_rules("memory_backing", BASE, {"source": "memfd"}) == []


# --- numa: src/conf/numa_conf.c virDomainNumatuneSet, virDomainNumatuneNodeParseXML, virDomainNumaDefParseXML;
#     src/qemu/qemu_domain.c qemuDomainDefValidateMemoryHotplug

@pytest.mark.parametrize("args, message", [
    ({"numatune": {"memory": {"mode": "strict"}}},
     "numatune.memory.nodeset: required with placement static: libvirt needs the host nodes (nodeset for NUMA memory "
     "tuning must be set if placement is static)"),
    ({"numatune": {"memory": {"placement": "auto"}, "memnodes": [{"cellid": 0, "nodeset": "0"}]}},
     "numatune.memnodes: not valid with placement auto: per-node binding is not compatible with automatic NUMA "
     "placement"),
    ({"numatune": {"memory": {"mode": "restrictive", "nodeset": "0"}, "memnodes": [{"cellid": 0, "nodeset": "0"}]}},
     "numatune.memnodes[0].mode: 'strict' is not valid with memory mode restrictive: libvirt requires mode "
     "restrictive in every memnode then"),
    ({"state": "replaced", "cells": [{"id": 0, "cpus": "0-1", "memory": "64M"},
                                     {"id": 2, "cpus": "2-3", "memory": "64M"}]},
     "cells: ids 0,2 are not valid: libvirt numbers guest NUMA cells from 0 to 1, each once (exactly one cell "
     "element per guest NUMA cell)"),
])
def test_numa_rules(args, message):
    assert refused("numa", dict(args, xml=TWO_CELLS)) == message


def test_removing_every_cell_of_a_hotplug_guest_is_refused():
    assert refused("numa", {"xml": NUMA, "state": "replaced"}) == (
        "cells: at least one guest NUMA cell is needed while the guest has max_memory (libvirt: at least one numa node "
        "has to be configured when enabling memory hotplug); remove memory_devices.max_memory first")


def test_cells_without_id_are_numbered_by_position():
    xml = BASE.replace("</cpu>", "<numa><cell cpus='0-1' memory='64' unit='MiB'/>"
                                 "<cell cpus='2-3' memory='64' unit='MiB'/></numa></cpu>")
    gathered = run_module("numa", {"xml": xml, "state": "gathered"})["gathered"]
    assert gathered == {"cells": [{"id": 0, "cpus": "0-1", "memory": "64 MiB"},
                                  {"id": 1, "cpus": "2-3", "memory": "64 MiB"}]}
    again = run_module("numa", dict(gathered, xml=xml, state="replaced"))
    assert (again.get("failed"), again["changed"]) == (None, False)
    moved = run_module("numa", {"xml": xml, "cells": [{"id": 1, "cpus": "2-3", "memory": "64M", "discard": True}]})
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
    cells = [dict(cell.attrib) for cell in parse_domain(moved["xml"]).findall("cpu/numa/cell")]
    assert cells == [{"cpus": "0-1", "memory": "65536", "unit": "KiB", "id": "0"},
                     {"cpus": "2-3", "memory": "65536", "unit": "KiB", "id": "1", "discard": "yes"}]


def test_a_cell_without_vcpus_is_valid_and_vcpus_in_no_cell_are_refused():
    from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
    # what libvirt holds: the vCPUs of no cell are in cell 0 (qemuDomainDefNumaCPUsRectify), cell 1 has none
    xml = BASE.replace("</cpu>", "<numa><cell id='0' cpus='0-3' memory='64' unit='MiB'/>"
                                 "<cell id='1' memory='64' unit='MiB'/></numa></cpu>")
    gathered = run_module("numa", {"xml": xml, "state": "gathered"})["gathered"]
    again = run_module("numa", dict(gathered, xml=xml, state="replaced"))
    assert (again.get("failed"), again["changed"]) == (None, False)
    assert parse_domain(again["xml"]).find("cpu/numa/cell[@id='1']").get("cpus") is None
    assert refused("numa", {"xml": xml, "cells": [{"id": 0, "cpus": "0-1", "memory": "64M"}]}) == (
        "cells: vCPUs 2-3 are in no cell: libvirt adds them to cell 0 when it defines the guest "
        "(qemuDomainDefNumaCPUsRectify); give every vCPU of the guest (0-3) a cell")


def test_raising_maximum_beyond_the_cells_is_refused():
    xml = BASE.replace("</cpu>", "<numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/>"
                                 "<cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa></cpu>")
    assert refused("vcpus", {"xml": xml, "enable_cells": [0], "maximum": 5}) == (
        "maximum: 5 leaves vCPUs 4 in no guest NUMA cell: libvirt adds them to cell 0 when it defines the guest "
        "(qemuDomainDefNumaCPUsRectify); give them a cell (numa.cells, in the same virtuned.libvirt.domain_tuning "
        "task)")
    both = run_module("domain_tuning", {"xml": xml, "vcpus": {"maximum": 5},
                                        "numa": {"cells": [{"id": 1, "cpus": "2-4", "memory": "64M"}]}})
    assert both.get("failed") is None


# --- vcpus: src/qemu/qemu_domain.c qemuDomainDefVcpusPostParse, src/qemu/qemu_validate.c
#     qemuValidateDomainVCpuTopology

LISTED = BASE.replace("<iothreads>", "<vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/>"
                                     "<vcpu id='1' enabled='yes' hotpluggable='no'/>"
                                     "<vcpu id='2' enabled='no' hotpluggable='yes'/>"
                                     "<vcpu id='3' enabled='no' hotpluggable='yes'/></vcpus><iothreads>")


def test_raising_maximum_and_current_on_a_guest_with_a_vcpu_list():
    assert refused("vcpus", {"xml": LISTED, "maximum": 6, "current": 5}) == (
        "vcpus: vCPU 4 (enabled, hotpluggable false) after hotpluggable vCPU 3 is not valid: libvirt needs the vCPUs "
        "plugged at boot (hotpluggable false) first; make vCPU 4 hotpluggable, or give the boot vCPUs the lowest ids")
    fixed = run_module("vcpus", {"xml": LISTED, "maximum": 6, "current": 5,
                                 "vcpus": [{"id": 4, "hotpluggable": True}]})
    assert [(v["id"], v["enabled"], v["hotpluggable"]) for v in fixed["after"]["vcpus"]] == [
        (0, True, False), (1, True, False), (2, True, True), (3, True, True), (4, True, True), (5, False, True)]


def test_vcpu_order_on_every_enabled_vcpu_or_none():
    assert refused("vcpus", {"xml": BASE, "vcpus": [{"id": 1, "order": 1}]}) == (
        "vcpus: enabled vCPUs 1 have an order and 0 have none: libvirt needs an order on every enabled vCPU or on none")
    assert refused("vcpus", {"xml": BASE, "vcpus": [{"id": 0, "order": 2}, {"id": 1, "order": 1}]}) == (
        "vcpus: vCPU 0 with order 2 is not valid: vCPU 0 must be enabled first (order 1 or none)")


def test_vcpu_counts_are_bounded_before_any_work():
    import time
    start = time.monotonic()
    assert refused("vcpus", {"xml": BASE, "maximum": 1000000000}) == (
        "maximum: 1000000000 is not valid: must be between 1 and 16384 (libvirt's vCPU id limit, "
        "VIR_DOMAIN_CPUMASK_LEN; the machine type's own maximum is checked when connected)")
    huge = BASE.replace("current='2'>4</vcpu>", ">100000000</vcpu>")
    assert run_module("vcpus", {"xml": huge, "state": "gathered"})["msg"] == (
        "xml: <vcpu>100000000</vcpu> is not valid: this collection reads at most 16384 vCPUs (see its documented "
        "limits)")
    assert time.monotonic() - start < 5


def test_iothread_counts_are_bounded_before_any_work():
    import time
    start = time.monotonic()
    assert refused("iothreads", {"xml": BASE, "count": 1000000}) == (
        "count: 1000000 is not valid: must be between 0 and 16384 (this collection's limit on iothreads: each is a "
        "host thread)")
    huge = BASE.replace("<iothreads>2</iothreads>", "<iothreads>100000000</iothreads>")
    for module in ("iothreads", "cputune"):
        assert run_module(module, {"xml": huge, "state": "gathered"})["msg"] == (
            "xml: <iothreads>100000000</iothreads> is not valid: this collection reads at most 16384 iothreads (see "
            "its documented limits)")
    most = run_module("iothreads", {"xml": BASE, "count": 16384})
    assert most["after"]["count"] == 16384
    assert time.monotonic() - start < 20


def test_thread_pool_min_needs_a_maximum():
    assert refused("iothreads", {"xml": BASE, "defaultiothread": {"thread_pool_min": 0}}) == (
        "defaultiothread.thread_pool_min: 0 is not valid without thread_pool_max: libvirt compares it with the unset "
        "maximum and refuses it (thread_pool_min must be smaller or equal to thread_pool_max)")


def test_maximum_against_the_machine_type():
    assert connected_rules("vcpus", BASE, {"maximum": 256, "current": 2}) == (
        "maximum: 256 is not valid on this host: the machine type pc-i440fx-7.2 takes at most 255 vCPUs (Maximum CPUs "
        "greater than specified machine type limit)")
    assert connected_rules("vcpus", BASE, {"maximum": 255}) == []


# --- cputune: src/conf/schemas/domaincommon.rng (cachetune, memorytune)

def test_memorytune_with_monitors_only_is_kept():
    xml = BASE.replace("<iothreads>", "<cputune><memorytune vcpus='0-1'><monitor vcpus='0-1'/></memorytune>"
                                      "</cputune><iothreads>")
    gathered = run_module("cputune", {"xml": xml, "state": "gathered"})["gathered"]
    again = run_module("cputune", dict(gathered, xml=xml, state="replaced"))
    assert (again.get("failed"), again["changed"]) == (None, False)
    assert "<monitor vcpus=\"0-1\"/>" in again["xml"]


def test_an_empty_cachetune_is_refused():
    assert refused("cputune", {"xml": BASE, "cachetune": [{"vcpus": "0"}]}) == (
        "cachetune[vcpus=0].caches: required: at least one cache {id, level, type, size} or one monitor (libvirt drops "
        "an empty cachetune)")


# --- sizes: src/conf/domain_conf.c virDomainParseMemory (below 2^53 KiB)

def test_memory_sizes_above_libvirts_limit_are_refused():
    assert refused("memtune", {"xml": BASE, "soft_limit": "8E"}) == (
        "soft_limit: '8E' is not valid: it is above libvirt's limit for memory sizes (9007199254740991 KiB, just under "
        "8 EiB)")
    top = run_module("memtune", {"xml": BASE, "soft_limit": "9007199254740991"})
    assert top["after"] == {"soft_limit": "unlimited"}


# --- the offline outputs the differential test found schema-invalid (findings/differential.md): each is
#     now either refused or valid against libvirt's RNG schemas

ONE_CELL = BASE.replace("</cpu>", "<numa><cell id='0' cpus='0-3' memory='128' unit='MiB'/></numa></cpu>")
KERNEL = BASE.replace("</os>", "<kernel>/boot/vmlinuz</kernel><cmdline>console=ttyS0</cmdline></os>")


@pytest.mark.parametrize("module, xml, args", [
    ("boot_firmware", BASE, {"bootmenu": {}}),
    ("boot_firmware", BASE, {"dtb": "", "kernel": "/boot/vmlinuz"}),
    ("boot_firmware", KERNEL, {"dtb": ""}),
    ("boot_firmware", KERNEL, {"dtb": "board.dtb"}),
    ("boot_firmware", KERNEL, {"initrd": ""}),
    ("boot_firmware", KERNEL, {"initrd": "initrd.img"}),
    ("boot_firmware", BASE, {"kernel": ""}),
    ("boot_firmware", BASE, {"kernel": "vmlinuz"}),
    ("boot_firmware", BASE, {"nvram": {"path": "relative_VARS.fd"}}),
    ("boot_firmware", BASE, {"firmware": "efi", "nvram": {"path": "/var/lib/libvirt/qemu/nvram/x_VARS.fd",
                                                          "template": ""}}),
    ("cpu_model", BASE, {"cache": {}}),
    ("cpu_model", ONE_CELL, {"features": [{"name": ""}]}),
    ("cpu_model", BASE, {"features": [{"name": "pcid"}]}),
    ("cpu_model", ONE_CELL, {"maxphysaddr": {}}),
    ("cpu_model", ONE_CELL, {"model": {"vendor_id": "short"}}),
    ("cputune", BASE, {"cachetune": [{"vcpus": "2"}]}),
    ("iothreads", BASE, {"iothreadids": [{"id": 2147483647, "poll": {}}]}),
    ("numa", TWO_CELLS, {"numatune": {"memnodes": [{"cellid": 1, "nodeset": "0"}]}}),
])
def test_offline_output_is_refused_or_schema_valid(module, xml, args):
    result = run_module(module, dict(args, xml=xml))
    if result.get("failed"):
        assert "is not valid" in result["msg"] or "required" in result["msg"], result["msg"]
    else:
        assert schema_valid(result["xml"]), result["xml"]


# --- cachetune monitors: src/conf/domain_conf.c virDomainResctrlMonDefParse, virDomainResctrlValidateMonitor

CACHE = {"id": 0, "level": 3, "type": "both", "size": "3M"}


@pytest.mark.parametrize("tune, message", [
    ({"vcpus": "0", "monitors": [{"level": 2, "vcpus": "0"}]},
     "cachetune[vcpus=0].monitors[vcpus=0].level: 2 is not valid: libvirt monitors the level 3 cache only (set level "
     "3)"),
    ({"vcpus": "2-3", "monitors": [{"vcpus": "2"}]},
     "cachetune[vcpus=2-3].monitors[vcpus=2].level: None is not valid: libvirt monitors the level 3 cache only (set "
     "level 3)"),
    ({"vcpus": "0", "monitors": [{"level": 3, "vcpus": "3"}]},
     "cachetune[vcpus=0].monitors[vcpus=3].vcpus: '3' is not valid: a monitor's vCPUs are some of its cachetune's "
     "(0); vCPUs 3 are not"),
    ({"vcpus": "0-3", "caches": [CACHE], "monitors": [{"level": 3, "vcpus": "0-1"}, {"level": 3, "vcpus": "1-2"}]},
     "cachetune[vcpus=0-3].monitors[vcpus=1-2].vcpus: '1-2' overlaps the monitor of vCPUs 0-1: libvirt refuses "
     "overlapping monitors (vcpus overlaps in resctrl groups), except one of all the cachetune's vCPUs beside its "
     "caches"),
])
def test_cachetune_monitor_rules(tune, message):
    assert refused("cputune", {"xml": BASE, "cachetune": [tune]}) == message


def test_a_monitor_of_all_the_cachetunes_vcpus_beside_its_caches_is_valid():
    tune = {"vcpus": "0-3", "caches": [CACHE], "monitors": [{"level": 3, "vcpus": "0-3"}, {"level": 3, "vcpus": "1"}]}
    result = run_module("cputune", {"xml": BASE, "cachetune": [tune]})
    assert result.get("failed") is None and schema_valid(result["xml"])


# --- CPU feature names: src/conf/schemas/cputypes.rng featureName, src/cpu/cpu_x86.c virCPUx86ValidateFeatures

def test_cpu_feature_names():
    assert refused("cpu_model", {"xml": BASE, "features": [{"name": "a b"}]}) == (
        "features[name=a b].name: 'a b' is not valid: a CPU feature name is letters, digits, '-', '_' and '.' "
        "(libvirt's schema)")
    known = [{"name": "pcid"}, {"name": "sse4.2"}]
    assert connected_rules("cpu_model", BASE, {"check": "none", "features": known}) == []
    from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.cpu_model import X86_FEATURES_9_0
    assert {"pcid", "sse4.2", "x2apic", "vmx", "avx512f", "la57"} <= X86_FEATURES_9_0
    assert len(X86_FEATURES_9_0) == 212
    unknown = [{"name": "pcid"}, {"name": "not-a-feature"}]
    warned = connected_rules("cpu_model", BASE, {"check": "none", "features": unknown})
    assert warned == ["features: not-a-feature not in libvirt 9.0's x86 CPU map (src/cpu_map/x86_features.xml); "
                      "libvirt refuses to start a guest with a CPU feature it does not know (newer libvirt versions "
                      "know more)"]


# --- int-differential findings (findings/int-differential.md)

def test_bootmenu_timeout_with_the_menu_disabled_is_refused():
    assert refused("boot_firmware", {"xml": BASE, "bootmenu": {"enable": False, "timeout": 0}}) == (
        "bootmenu.timeout: 0 is not valid with enable false: libvirt keeps a timeout only for an enabled boot menu "
        "(it drops this one)")


def test_a_request_option_is_not_shown_as_held():
    result = run_module("boot_firmware", {"xml": BASE, "bootmenu": {"enable": True, "timeout": 10},
                                          "reset_nvram": False})
    assert result["after"] == {"boot_order": ["hd"], "bootmenu": {"enable": True, "timeout": 10}}


# --- schedulers: libvirt holds one <vcpusched>/<iothreadsched> per id (seen on libvirt 9.0: vcpus='0-1'
#     is defined, vcpus='0' and vcpus='1' are held)

SPLIT = BASE.replace("<iothreads>2</iothreads>", "<iothreads>2</iothreads><cputune>"
                     "<vcpusched vcpus='0' scheduler='batch'/><vcpusched vcpus='1' scheduler='batch'/>"
                     "<iothreadsched iothreads='1' scheduler='rr' priority='1'/>"
                     "<iothreadsched iothreads='2' scheduler='rr' priority='1'/></cputune>")


def test_a_scheduler_group_equals_what_libvirt_splits_it_into():
    args = {"vcpusched": [{"vcpus": "0-1", "scheduler": "batch"}],
            "iothreadsched": [{"iothreads": "1,2", "scheduler": "rr", "priority": 1}]}
    first = run_module("cputune", dict(args, xml=BASE))
    assert first["after"] == {"vcpusched": [{"vcpus": "0-1", "scheduler": "batch"}],
                              "iothreadsched": [{"iothreads": "1-2", "scheduler": "rr", "priority": 1}]}
    assert first["diff"]["after"] == (
        '<cputune>\n  <vcpusched vcpus="0" scheduler="batch"/>\n  <vcpusched vcpus="1" scheduler="batch"/>\n'
        '  <iothreadsched iothreads="1" scheduler="rr" priority="1"/>\n'
        '  <iothreadsched iothreads="2" scheduler="rr" priority="1"/>\n</cputune>\n')
    for xml in (first["xml"], SPLIT):
        again = run_module("cputune", dict(args, xml=xml))
        assert (again.get("failed"), again["changed"]) == (None, False)
    gathered = run_module("cputune", {"xml": SPLIT, "state": "gathered"})["gathered"]
    assert gathered == first["after"]
    # one vCPU's scheduler changes, the other keeps its own
    moved = run_module("cputune", {"xml": SPLIT, "vcpusched": [{"vcpus": "1", "scheduler": "idle"}]})
    assert moved["after"]["vcpusched"] == [{"vcpus": "0", "scheduler": "batch"}, {"vcpus": "1", "scheduler": "idle"}]
    removed = run_module("cputune", {"xml": SPLIT, "state": "deleted", "iothreadsched": [{"iothreads": "2",
                                                                                          "scheduler": "rr"}]})
    assert removed["after"]["iothreadsched"] == [{"iothreads": "1", "scheduler": "rr", "priority": 1}]


def test_iothread_poll_values_are_bounded_as_libvirt_reads_them():
    assert refused("iothreads", {"xml": BASE, "iothreadids": [{"id": 3, "poll": {"shrink": 4294967296}}]}) == (
        "iothreadids[0].poll.shrink: 4294967296 is not valid: must be between 0 and 4294967295 (an unsigned int)")
    assert refused("iothreads", {"xml": BASE, "iothreadids": [{"id": 1, "poll": {"max": 2 ** 64}}]}) == (
        "iothreadids[0].poll.max: 18446744073709551616 is not valid: must be between 0 and 18446744073709551615 (an "
        "unsigned long long)")
