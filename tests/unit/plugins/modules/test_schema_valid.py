"""What the modules write validates against libvirt's own RNG schemas (virt-xml-validate)."""

import shutil
import subprocess

import pytest

from conftest import fixture_text, run_module

BASE = fixture_text("guest-minimal.xml")
NUMA_BASE = BASE.replace("<cpu mode='custom' match='exact' check='none'>\n    <model fallback='forbid'>kvm64</model>\n  </cpu>",
                         "<cpu mode='custom' match='exact' check='none'>\n    <model fallback='forbid'>kvm64</model>\n"
                         "    <numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/>"
                         "<cell id='1' cpus='2-3' memory='64' unit='MiB'/></numa>\n  </cpu>")

CASES = [
    ("cputune", BASE, {"vcpupin": [{"vcpu": 0, "cpuset": "1"}, {"vcpu": 3, "cpuset": "0-1"}], "emulatorpin": "0",
                       "iothreadpin": [{"iothread": 1, "cpuset": "1"}], "shares": 2048, "period": 100000,
                       "quota": 50000, "global_period": 100000, "global_quota": -1, "emulator_period": 100000,
                       "emulator_quota": 20000, "iothread_period": 100000, "iothread_quota": 20000,
                       "vcpusched": [{"vcpus": "0-1", "scheduler": "fifo", "priority": 10}],
                       "iothreadsched": [{"iothreads": "1", "scheduler": "batch"}],
                       "emulatorsched": {"scheduler": "idle"},
                       "cachetune": [{"vcpus": "2-3", "caches": [{"id": 0, "level": 3, "type": "both", "size": "3M"}],
                                      "monitors": [{"level": 3, "vcpus": "2"}]}],
                       "memorytune": [{"vcpus": "0-1", "nodes": [{"id": 0, "bandwidth": 60}]}]}),
    ("vcpus", BASE, {"maximum": 4, "current": 2, "placement": "static", "cpuset": "0-1",
                     "vcpus": [{"id": 0, "enabled": True, "hotpluggable": False}, {"id": 1, "enabled": True, "hotpluggable": True},
                               {"id": 2, "enabled": False, "hotpluggable": True}, {"id": 3, "enabled": False, "hotpluggable": True}]}),
    ("iothreads", BASE, {"count": 2, "iothreadids": [{"id": 1}, {"id": 2, "thread_pool_min": 1, "thread_pool_max": 4}]}),
    ("cpu_model", BASE, {"mode": "custom", "match": "exact", "model": {"name": "kvm64", "fallback": "forbid"},
                         "topology": {"sockets": 1, "dies": 1, "cores": 2, "threads": 2},
                         "features": [{"name": "pcid", "policy": "require"}, {"name": "x2apic", "policy": "disable"}]}),
    ("boot_firmware", BASE, {"firmware": "efi", "boot_order": ["network", "hd"], "bootmenu": {"enable": True, "timeout": 3000}}),
    ("boot_firmware", BASE, {"kernel": "/boot/vmlinuz", "initrd": "/boot/initrd.img", "cmdline": "console=ttyS0"}),
    ("memtune", BASE, {"hard_limit": "1G", "soft_limit": "512M", "swap_hard_limit": "2G"}),
    ("memory_backing", NUMA_BASE, {"hugepages": [{"size": "2M", "nodeset": "0-1"}], "nosharepages": True, "locked": True,
                                   "source": "memfd", "access": "shared", "allocation": {"mode": "immediate", "threads": 2},
                                   "discard": True}),
    ("memory_devices", NUMA_BASE, {"max_memory": {"size": "1G", "slots": 4}, "current_memory": "128M",
                                   "dimms": [{"size": "128M", "node": 1}]}),
    ("numa", NUMA_BASE, {"numatune": {"memory": {"mode": "strict", "nodeset": "0"},
                                      "memnodes": [{"cellid": 0, "mode": "strict", "nodeset": "0"},
                                                   {"cellid": 1, "mode": "preferred", "nodeset": "0"}]},
                         "cells": [{"id": 0, "cpus": "0-1", "memory": "64M", "memAccess": "shared",
                                    "distances": [{"id": 0, "value": 10}, {"id": 1, "value": 21}]},
                                   {"id": 1, "cpus": "2-3", "memory": "64M",
                                    "distances": [{"id": 0, "value": 21}, {"id": 1, "value": 10}]}]}),
]


@pytest.mark.parametrize("module, base, args", CASES, ids=["%s-%d" % (c[0], i) for i, c in enumerate(CASES)])
def test_module_output_is_valid_domain_xml(module, base, args, tmp_path):
    validator = shutil.which("virt-xml-validate")
    assert validator, "virt-xml-validate (libvirt-clients) is installed by make test's host set-up"
    result = run_module(module, dict(args, xml=base))
    assert result.get("failed") is None, result.get("msg")
    assert result["changed"] is True
    path = tmp_path / "domain.xml"
    path.write_text(result["xml"])
    proc = subprocess.run([validator, str(path), "domain"], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stderr.strip()) == (0, "%s validates" % path)


def test_the_validator_refuses_what_libvirt_refuses(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text("<domain type='kvm'><name>x</name><memory>1</memory><os><type>hvm</type></os>"
                    "<cputune><vcpupin cpuset='1'/></cputune></domain>")
    proc = subprocess.run([shutil.which("virt-xml-validate"), str(path), "domain"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode != 0
