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
