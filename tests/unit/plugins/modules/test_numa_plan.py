# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""numa_plan run as Ansible runs it: the module file with an args file, JSON out."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import fakehost
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host

from conftest import ROOT  # noqa: E402  (the repository root)
MODULE = os.path.join(ROOT, "plugins", "modules", "numa_plan.py")


def run_module(tmp_path, args):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".build", "collections"))
    proc = subprocess.run([sys.executable, MODULE, str(args_file)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    return json.loads(proc.stdout)


def test_plan_from_a_described_host(tmp_path):
    host = build_host(fakehost.load_capabilities("adjacent"))
    result = run_module(tmp_path, {"host": host, "reserved_cpus": "0-1", "_ansible_check_mode": True, "guests": [
        {"name": "web", "vcpus": 5, "memory": "5G", "cpu_policy": "dedicated", "numa_nodes": 2,
         "emulator_threads": "isolate", "page_size": "2M"}]})
    assert result["changed"] is False
    assert result["plan"] == [{
        "name": "web", "fits": True, "reason": "", "host_nodes": [0, 1],
        "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "4"}, {"vcpu": 1, "cpuset": "5"}, {"vcpu": 2, "cpuset": "6"},
                                {"vcpu": 3, "cpuset": "16"}, {"vcpu": 4, "cpuset": "17"}],
                    "emulatorpin": "2"},
        "numa": {"numatune": {"memory": {"mode": "strict", "nodeset": "0-1"},
                              "memnodes": [{"cellid": 0, "mode": "strict", "nodeset": "0"},
                                           {"cellid": 1, "mode": "strict", "nodeset": "1"}]},
                 "cells": [{"id": 0, "cpus": "0-2", "memory": "3 GiB"}, {"id": 1, "cpus": "3-4", "memory": "2 GiB"}]},
        "memory_backing": {"hugepages": [{"size": "2 MiB", "nodeset": "0-1"}]},
        "vcpus": {"maximum": 5, "placement": "static"},
        "cpu_model": {"topology": {"sockets": 5, "dies": 1, "cores": 1, "threads": 1}},
    }]
    assert result["host_requirements"] == {
        "hugepages": [{"node": 0, "size": "2 MiB", "count": 1536}, {"node": 1, "size": "2 MiB", "count": 1024}],
        "isolated_cpus": "2,4-6,16-17"}
    assert result["map"].splitlines()[:4] == [
        "node 0: 32 GiB memory, pages 2 MiB 1536/2048 used",
        "  core 0,1: 0=housekeeping 1=housekeeping",
        "  core 2,3: 2=web/emulator 3=.",
        "  core 4,5: 4=web/v0 5=web/v1",
    ]


@pytest.mark.parametrize("args, message", [
    ({"guests": [{"name": "x", "vcpus": 2, "memory": "1G", "cpu_policy": "pinned"}]},
     "value of cpu_policy must be one of: shared, dedicated, mixed, got: pinned found in guests"),
    ({"guests": [{"name": "x", "vcpus": 2, "memory": "lots"}]},
     "guests[x].memory: 'lots' is not valid: expected a number with an optional unit, such as 8G or '512 MiB'"),
    ({"guests": [], "reserved_cpus": "0-x"},
     "reserved_cpus: '0-x' is not valid: '0-x' is not a CPU number, a range 'a-b' or an exclusion '^n'"),
    ({"guests": [{"name": "x", "vcpus": 2, "memory": "1G"}], "existing": [{"name": "y", "cpus": "99"}]},
     "existing[y].cpus: '99' is not valid: CPU 99 is not an online host CPU"),
])
def test_bad_input_fails_with_the_rule(tmp_path, args, message):
    args = dict(args, host=build_host(fakehost.load_capabilities("adjacent")))
    result = run_module(tmp_path, args)
    assert result["failed"] is True
    assert result["msg"] == message


def test_plan_on_this_host(tmp_path):
    try:
        subprocess.run(["virsh", "-c", "qemu:///system", "uri"], capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("no libvirt daemon at qemu:///system")
    result = run_module(tmp_path, {"uri": "qemu:///system", "existing": [], "guests": [
        {"name": "small", "vcpus": 1, "memory": "128M", "cpu_policy": "dedicated"}]})
    entry = result["plan"][0]
    assert (entry["fits"], entry["host_nodes"], entry["vcpus"]) == (True, [0], {"maximum": 1, "placement": "static"})
    assert entry["numa"]["cells"] == [{"id": 0, "cpus": "0", "memory": "128 MiB"}]


def test_planner_v2_options_through_the_module(tmp_path):
    """profiles, allocation, host CPU sets, reserved pages, topology and PCI devices as Ansible passes them."""
    host = build_host(fakehost.load_capabilities("two-node-nic"), nodedev_xml=fakehost.load_nodedevs("two-node-nic"))
    result = run_module(tmp_path, {"host": host, "allocation": {"cpu_ratio": 4}, "shared_cpus": "0-1,8-9",
                                   "reserved_hugepages": [{"node": 1, "size": "2M", "count": 24}],
                                   "profiles": {"vnf": {"version": 3, "extends": "nfv-hugepages@2", "vcpus": 4,
                                                        "memory": "4G"}},
                                   "guests": [
        {"name": "vnf1", "profile": "vnf", "pci_devices": ["pci_0000_3b_02_0"]},
        {"name": "win", "vcpus": 4, "memory": "2G", "topology": {"max_sockets": 2, "sockets": 2}},
    ]})
    plan = dict((g["name"], g) for g in result["plan"])
    assert (plan["vnf1"]["host_nodes"], plan["vnf1"]["cputune"], plan["vnf1"]["metadata"],
            plan["vnf1"]["pci_devices"]) == (
        [1], {"vcpupin": [{"vcpu": 0, "cpuset": "12"}, {"vcpu": 1, "cpuset": "13"}, {"vcpu": 2, "cpuset": "14"},
                          {"vcpu": 3, "cpuset": "15"}], "emulatorpin": "10"},
        {"profile": "vnf@3"}, [{"address": "0000:3b:02.0", "numa_node": 1}])
    assert (plan["win"]["cpu_model"], plan["win"]["topology_reason"], plan["win"]["cputune"]["vcpupin"][0]) == (
        {"topology": {"sockets": 2, "dies": 1, "cores": 2, "threads": 1}}, "", {"vcpu": 0, "cpuset": "0-1"})
    assert result["host_requirements"]["hugepages"] == [{"node": 1, "size": "2 MiB", "count": 24},
                                                        {"node": 1, "size": "1 GiB", "count": 4}]
    # 2 shared CPUs per node: the 4 shared vCPUs of win take two cells of 2, one socket each
    assert plan["win"]["host_nodes"] == [0, 1]
    assert result["map"].splitlines()[0] == "node 0: 16 GiB memory, pages 2 MiB 0/1024 used, 1 GiB 0/4 used, " \
                                            "shared vCPUs 2/8"
