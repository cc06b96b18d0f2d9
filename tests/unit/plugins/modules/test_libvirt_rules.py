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
        done = subprocess.run(["virt-xml-validate", handle.name, "domain"], capture_output=True, text=True)
    return done.returncode == 0


TWO_CELLS = BASE.replace("</cpu>", "<numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/>"
                                   "<cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa></cpu>")


def test_memnode_mode_is_written_as_libvirt_writes_it():
    result = run_module("numa", {"xml": TWO_CELLS, "numatune": {"memory": {"nodeset": "0"},
                                                                 "memnodes": [{"cellid": 1, "nodeset": "0"}]}})
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
