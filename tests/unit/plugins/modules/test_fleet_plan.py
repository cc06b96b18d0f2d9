# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_plan run as Ansible runs it: the module file with an args file, JSON out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import fakehost
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.fleet import plan_fleet

from conftest import ROOT  # noqa: E402  (the repository root)
MODULE = os.path.join(ROOT, "plugins", "modules", "fleet_plan.py")


def run_module(tmp_path, args):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".build", "collections"))
    proc = subprocess.run([sys.executable, MODULE, str(args_file)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    return json.loads(proc.stdout)


def fleet():
    hosts = {
        "hv1": {"host": build_host(fakehost.load_capabilities("adjacent")), "reserved_cpus": "0-1",
                "labels": ["ssd"]},
        "hv2": {"host": build_host(fakehost.load_capabilities("no-smt")), "reserved_cpus": "0",
                "existing": [{"name": "db2", "cpus": "2-3", "memory": [{"node": 0, "size": "4G"}]}]},
    }
    guests = [
        {"name": "db1", "vcpus": 4, "memory": "4G", "cpu_policy": "dedicated", "labels": ["ssd"],
         "anti_affinity": "db"},
        {"name": "db2", "vcpus": 2, "memory": "4G", "cpu_policy": "dedicated", "anti_affinity": "db"},
        {"name": "db3", "vcpus": 2, "memory": "4G", "cpu_policy": "dedicated", "anti_affinity": "db"},
        {"name": "web", "vcpus": 2, "memory": "2G", "profile": "shared-balanced"},
    ]
    return hosts, guests


def test_the_module_returns_the_fleet_plan(tmp_path):
    hosts, guests = fleet()
    result = run_module(tmp_path, {"hosts": hosts, "guests": guests, "strategy": "spread",
                                   "_ansible_check_mode": True})
    expected = plan_fleet(hosts, guests, strategy="spread")
    assert result["changed"] is False
    for key in ("placements", "plans", "host_requirements", "unplaced", "map"):
        assert result[key] == expected[key]
    assert result["placements"] == {"hv1": ["db1", "web"], "hv2": ["db2"]}
    assert result["unplaced"] == [{"name": "db3", "reasons": {
        "hv1": "anti_affinity db: db1 already there", "hv2": "anti_affinity db: db2 already there"}}]
    # the echo of the arguments names the hosts and guests rather than repeating every host's facts
    assert result["invocation"] == {"module_args": {"hosts": ["hv1", "hv2"], "guests": ["db1", "db2", "db3", "web"],
                                                    "strategy": "spread", "reserve_hugepages": False,
                                                    "profiles": None}}


def test_bad_input_fails_with_the_rule(tmp_path):
    hosts, guests = fleet()
    guests[0]["host"] = "hv9"
    result = run_module(tmp_path, {"hosts": hosts, "guests": guests})
    assert result["failed"] is True
    assert result["msg"] == "guests[db1].host: 'hv9' is not valid: not one of the hosts: hv1, hv2"


PARTIAL = """<domain type='kvm'>
  <name>vt-new</name>
  <memory unit='MiB'>256</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <console type='pty'/>
    <interface type='network'><source network='default'/><model type='virtio'/></interface>
  </devices>
</domain>
"""


def test_a_partial_domain_xml_completed_offline_from_the_fleet_plan_is_schema_valid(tmp_path):
    """Issue 12 item 3: fleet_plan's entry -> placement_options -> domain_tuning with xml, no libvirt at all."""
    from conftest import run_module as run_in_process
    from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.placements import placement_options  # what the filter returns

    validator = shutil.which("virt-xml-validate")
    assert validator, "virt-xml-validate (libvirt-clients) is installed by make test's host set-up"
    hosts = {"hv1": {"host": build_host(fakehost.load_capabilities("adjacent")), "reserved_cpus": "0-1"}}
    guests = [{"name": "vt-new", "vcpus": 4, "memory": "256M", "cpu_policy": "dedicated", "numa_nodes": 2,
               "page_size": "2M", "iothreads": 1}]
    entry = plan_fleet(hosts, guests)["plans"]["hv1"][0]
    result = run_in_process("domain_tuning", dict(placement_options(entry), xml=PARTIAL))
    assert result.get("failed") is None, result.get("msg")
    assert result["xml"] == """<domain type="kvm">
  <name>vt-new</name>
  <memory unit="MiB">256</memory>
  <memoryBacking>
    <hugepages>
      <page size="2048" unit="KiB" nodeset="0-1"/>
    </hugepages>
  </memoryBacking>
  <vcpu>4</vcpu>
  <iothreads>1</iothreads>
  <cputune>
    <vcpupin vcpu="0" cpuset="2"/>
    <vcpupin vcpu="1" cpuset="3"/>
    <vcpupin vcpu="2" cpuset="16"/>
    <vcpupin vcpu="3" cpuset="17"/>
    <emulatorpin cpuset="2-3,16-17"/>
    <iothreadpin iothread="1" cpuset="2-3,16-17"/>
  </cputune>
  <numatune>
    <memory mode="strict" nodeset="0-1"/>
    <memnode cellid="0" mode="strict" nodeset="0"/>
    <memnode cellid="1" mode="strict" nodeset="1"/>
  </numatune>
  <os>
    <type arch="x86_64">hvm</type>
  </os>
  <cpu mode="custom" match="exact" check="none">
    <model fallback="forbid">qemu64</model>
    <topology sockets="2" dies="1" cores="1" threads="2"/>
    <numa>
      <cell id="0" cpus="0-1" memory="131072" unit="KiB"/>
      <cell id="1" cpus="2-3" memory="131072" unit="KiB"/>
    </numa>
  </cpu>
  <devices>
    <console type="pty"/>
    <interface type="network">
      <source network="default"/>
      <model type="virtio"/>
    </interface>
  </devices>
</domain>
"""
    path = tmp_path / "domain.xml"
    path.write_text(result["xml"])
    proc = subprocess.run([validator, str(path), "domain"], capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stderr.strip()) == (0, "%s validates" % path)


def test_without_ansible_cores_result_hook_the_plan_still_reaches_the_result(monkeypatch):
    """FleetModule skips the no-op no_log copy through ansible-core's _record_module_result; an ansible-core
    without that hook must still get the whole plan (plain exit_json), never a result without it."""
    import importlib

    from ansible.module_utils.basic import AnsibleModule

    fleet_plan = importlib.import_module("ansible_collections.virtuned.libvirt.plugins.modules.fleet_plan")
    seen = []
    monkeypatch.setattr(fleet_plan.FleetModule, "exit_json", lambda self, **kwargs: seen.append(kwargs))
    module = fleet_plan.FleetModule.__new__(fleet_plan.FleetModule)
    module.exit_plan({"plans": {"hv1": []}, "map": "m\n"}, changed=False)
    assert (seen, module._bulk) == ([{"changed": False}], {"plans": {"hv1": []}, "map": "m\n"})

    seen.clear()
    monkeypatch.delattr(AnsibleModule, "_record_module_result")
    module = fleet_plan.FleetModule.__new__(fleet_plan.FleetModule)
    module.exit_plan({"plans": {"hv1": []}, "map": "m\n"}, changed=False)
    assert (seen, module._bulk) == ([{"changed": False, "plans": {"hv1": []}, "map": "m\n"}], None)
