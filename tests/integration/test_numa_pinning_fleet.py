# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""numa_pinning fleet mode (issue 12 item 2) in real ansible-playbook runs: a simulated fleet of 21 inventory hosts
(ansible_connection local, each with its own host facts from the fixture hosts: capabilities XML and a fake sysfs
tree; planned only) plus this real host on qemu:///system, which gets a new guest defined from partial XML, tuned
from the fleet plan and booted. As docs/fleet.md's site playbook, the fleet is planned once and applied in batches
(serial). Each run goes --check first, then for real, then again (changed=0 everywhere).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml
from lxml import etree

from conftest import ROOT  # noqa: E402  pylint: disable=wrong-import-position
from integration.conftest import QEMU_URI, cleanup, libvirt  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, os.path.join(ROOT, "tests", "unit"))

import fakehost  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host  # noqa: E402
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.fleet import plan_fleet  # noqa: E402

NAME = "vt-it-fleet"
KINDS = ["two-socket-interleaved", "adjacent", "four-nodes-unequal", "offline-cpus", "no-smt"]
PARTIAL = """<domain type='kvm'>
  <name>vt-it-fleet</name>
  <memory unit='MiB'>128</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <console type='pty'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>
"""
# The simulated hosts carry the label sim and only sim guests go there; the new guest must go to the real host.
GUESTS = (
    [{"name": "db%02d" % i, "vcpus": 4, "memory": "8G", "cpu_policy": "dedicated", "page_size": "2M",
      "anti_affinity": "db", "labels": ["sim"]} for i in range(25)]
    + [{"name": "rt%02d" % i, "vcpus": 4, "memory": "4G", "profile": "realtime", "labels": ["sim", "rt"]}
       for i in range(6)]
    + [{"name": "web%02d" % i, "vcpus": 2 + i % 3, "memory": "%dG" % (2 + i % 4), "labels": ["sim"]} for i in range(40)]
    + [{"name": "pinned", "vcpus": 2, "memory": "2G", "cpu_policy": "dedicated", "host": "hv07"}]
    + [{"name": NAME, "vcpus": 2, "memory": "128M", "host": "realhost", "xml": PARTIAL, "start": True}]
)


def _inventory(tmp_path, count=21, real=True):
    hosts = {}
    for i in range(1, count + 1):
        name = "hv%02d" % i
        kind = KINDS[i % len(KINDS)]
        sysfs = fakehost.write_sysfs(fakehost.HOSTS[kind], str(tmp_path / name / "sys"))
        hosts[name] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                       "fleet_capabilities": fakehost.fixture_path(kind), "fleet_sysfs": sysfs, "fleet_kind": kind,
                       "numa_pinning_fleet_labels": ["sim", "rt"] if i % 4 == 0 else ["sim"],
                       # planned only: a simulated host has no libvirt of its own to apply to
                       "numa_pinning_fleet_apply": False, "numa_pinning_fleet_existing": []}
    children = {"sim": {"hosts": hosts}}
    if real:
        children["real"] = {"hosts": {"realhost": {"ansible_connection": "local",
                                                   "ansible_python_interpreter": sys.executable,
                                                   "numa_pinning_uri": QEMU_URI}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"fleet": {"children": children}}))
    return path, hosts


def _run(inventory, check=False, guests=GUESTS, rc=0):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_STDOUT_CALLBACK": "results_json",
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(ROOT, "tests", "integration", "callback_plugins"),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".build", "collections"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_CONFIG": os.path.join(ROOT, "tests", "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    })
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory), "-f", "10",
           "--diff", os.path.join(ROOT, "tests", "integration", "playbooks", "numa_pinning_fleet.yml"),
           "-e", json.dumps({"site_guests": guests})] + (["--check"] if check else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"),
                          check=False, timeout=1200)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook printed no JSON (rc %d):\n%s\n%s"
                             % (proc.returncode, proc.stdout, proc.stderr))
    assert proc.returncode == rc, json.dumps(data, indent=1)[-6000:]
    return data


def _task(data, name):
    for play in data["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].split(" : ")[-1] == name:
                return task["hosts"]
    raise AssertionError("no task %r" % name)


def _summary(fleet):
    """The fleet part of numa_pinning_fleet_summary, as roles/numa_pinning/templates/fleet_summary.j2 writes it."""
    lines = ["Fleet placements (%d hosts, strategy spread):" % len(fleet["placements"])]
    lines += ["  %s: %s" % (host, ", ".join(names) or "-") for host, names in fleet["placements"].items()]
    lines.append("Refused (%d guests placed nowhere):" % len(fleet["unplaced"]))
    for guest in fleet["unplaced"]:
        lines.append("  %s:" % guest["name"])
        lines += ["    %s: %s" % (host, reason) for host, reason in guest["reasons"].items()]
    return "\n".join(lines + ["Map:", fleet["map"]])  # the map ends with its newline


def _part(xml, path):
    root = etree.fromstring(xml.encode())
    return [etree.tostring(elem).decode().strip() for elem in root.iterfind(path)]


def _check_plan(data, hosts):
    """The plan: once, on the controller, over every host's own facts; the new guest on the real host."""
    entries = _task(data, "Describe this hypervisor for the fleet")
    assert sorted(entries) == sorted(list(hosts) + ["realhost"])
    fleet_hosts = dict((name, result["ansible_facts"]["__numa_pinning_fleet_entry"]) for name, result in entries.items())
    for name, entry in hosts.items():
        assert fleet_hosts[name]["host"]["nodes"] == build_host(fakehost.load_capabilities(entry["fleet_kind"]),
                                                                sysfs_root=entry["fleet_sysfs"])["nodes"]
        assert fleet_hosts[name]["existing"] == [] and fleet_hosts[name]["labels"] == entry["numa_pinning_fleet_labels"]
    assert fleet_hosts["realhost"]["labels"] == []
    planned = _task(data, "Place the guests across the fleet, once (on the controller)")
    assert list(planned) == ["realhost"]  # run_once: reported under the play's first host, delegated to localhost
    requests = [dict((k, v) for k, v in guest.items() if k not in ("xml", "start")) for guest in GUESTS]
    expected = plan_fleet(fleet_hosts, requests, strategy="spread", reserve_hugepages=True)
    keys = ("placements", "plans", "host_requirements", "unplaced", "map")
    fleet = dict((key, planned["realhost"][key]) for key in keys)
    assert fleet == dict((key, expected[key]) for key in fleet)
    assert fleet["placements"]["realhost"] == [NAME]
    placed = dict((guest, host) for host, names in fleet["placements"].items() for guest in names)
    assert placed["pinned"] == "hv07"
    assert all("rt" in hosts[placed[g["name"]]]["numa_pinning_fleet_labels"] for g in GUESTS
               if "rt" in g.get("labels", []) and g["name"] in placed)
    db_hosts = [placed[g["name"]] for g in GUESTS if g.get("anti_affinity") and g["name"] in placed]
    assert len(db_hosts) == len(set(db_hosts)) == 21
    assert sorted(u["name"] for u in fleet["unplaced"]) == ["db21", "db22", "db23", "db24"]
    for item in fleet["unplaced"]:
        assert sorted(item["reasons"]) == sorted(list(hosts) + ["realhost"])
        assert item["reasons"]["realhost"] == "the host lacks the label sim"
    # every host holds the same fleet result, and the summary says who got what and why the others were refused
    summaries = _task(data, "Say which host got which guest, and why the others were refused")
    assert sorted(summaries) == sorted(entries)
    for result in summaries.values():
        assert result["ansible_facts"]["numa_pinning_fleet_summary"] == _summary(fleet)
    return fleet


def _simulated(fleet):
    """The fleet result without the real host's map line: its free memory and pages move between runs."""
    return dict(fleet, map="".join(line for line in fleet["map"].splitlines(True) if not line.startswith("realhost ")))


def _check_batches(data, hosts):
    """The fleet is planned once (plays 0-1), then applied in batches of eight (serial), each from that plan."""
    applied = data["plays"][2:]
    assert len(applied) == 3  # 22 hosts, eight at a time
    batches = []
    for play in applied:
        planned = _task({"plays": [play]}, "Place the guests across the fleet, once (on the controller)")
        assert all(result.get("skipped") for result in planned.values())
        batches.append(sorted(_task({"plays": [play]}, "Report the fleet's plan")))
    assert [len(batch) for batch in batches] == [8, 8, 6]
    assert sorted(sum(batches, [])) == sorted(list(hosts) + ["realhost"])


def _stats_changed(data):
    return dict((host, stats["changed"]) for host, stats in data["stats"].items())


def test_fleet_mode_defines_tunes_and_boots_a_new_guest_on_the_real_host(tmp_path, qemu):
    inventory, hosts = _inventory(tmp_path)
    cleanup(qemu, NAME)
    try:
        # --check: the plan, and on the real host the define and the start it would do; nothing is defined
        data = _run(inventory, check=True)
        fleet = _check_plan(data, hosts)
        _check_batches(data, hosts)
        assert _stats_changed(data) == dict([(name, 0) for name in hosts] + [("realhost", 2)])
        assert NAME not in [dom.name() for dom in qemu.listAllDomains()]
        checked = _task(data, "Place each guest of this host's share (one domain_tuning call per guest; define from "
                              "xml where not defined)")["realhost"]["results"][0]
        assert checked["changed"] is True and checked["defined"] is True
        assert checked["diff"][0]["before"] == "" and checked["diff"][0]["before_header"] == NAME + " (not defined)"
        would = checked["xml"]

        # for real: defined from the partial XML completed with its plan, the user's devices kept, and started
        data = _run(inventory)
        assert _simulated(_check_plan(data, hosts)) == _simulated(fleet)
        assert _stats_changed(data) == dict([(name, 0) for name in hosts] + [("realhost", 2)])
        placed = _task(data, "Place each guest of this host's share (one domain_tuning call per guest; define from "
                             "xml where not defined)")["realhost"]["results"][0]
        assert placed["changed"] is True and placed["defined"] is True
        assert placed["diff"][0]["after"] == would  # check mode showed the definition the real run made
        dom = qemu.lookupByName(NAME)
        assert dom.isActive()
        persistent = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        assert _part(persistent, "vcpu") == ['<vcpu placement="static">2</vcpu>']
        assert _part(persistent, "cputune") == [
            '<cputune>\n    <vcpupin vcpu="0" cpuset="0-1"/>\n    <vcpupin vcpu="1" cpuset="0-1"/>\n'
            '    <emulatorpin cpuset="0-1"/>\n  </cputune>']
        assert _part(persistent, "numatune") == [
            '<numatune>\n    <memory mode="strict" nodeset="0"/>\n    <memnode cellid="0" mode="strict" nodeset="0"/>\n'
            '  </numatune>']
        assert _part(persistent, "cpu/numa") == [
            '<numa>\n      <cell id="0" cpus="0-1" memory="131072" unit="KiB"/>\n    </numa>']
        assert _part(persistent, "devices/rng/backend") == ['<backend model="random">/dev/urandom</backend>']
        assert len(_part(persistent, "devices/console")) == 1
        live = dom.XMLDesc(0)
        assert _part(live, "cputune") == _part(persistent, "cputune")
        own = _task(data, "Summarise this host's share")["realhost"]["ansible_facts"]["__numa_pinning_fleet_own"]
        assert own.splitlines()[:2] == ["realhost's share:", "  %s: defined from its xml, started" % NAME]
        print(own)

        # again: nothing changes anywhere (the guest is converged as a name call would, and it runs)
        data = _run(inventory, check=True)
        assert _stats_changed(data) == dict((name, 0) for name in list(hosts) + ["realhost"])
        data = _run(inventory)
        assert _simulated(_check_plan(data, hosts)) == _simulated(fleet)
        assert _stats_changed(data) == dict((name, 0) for name in list(hosts) + ["realhost"])
        own = _task(data, "Summarise this host's share")["realhost"]["ansible_facts"]["__numa_pinning_fleet_own"]
        assert own.splitlines()[:2] == ["realhost's share:", "  %s: unchanged" % NAME]
        assert dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == persistent
    finally:
        cleanup(qemu, NAME)


def test_fleet_mode_refuses_entries_it_does_not_take_before_anything(tmp_path):
    """No libvirt: two simulated hosts; the refusal names each entry, its key and the rule."""
    inventory, _hosts = _inventory(tmp_path, count=2, real=False)
    guests = [{"name": "a", "vcpus": 1, "memory": "1G", "start": "yes"},
              {"name": "b", "vcpus": 1, "memory": "1G", "xml": {"domain": None}},
              {"name": "c", "state": "absent"}]
    data = _run(inventory, guests=guests, rc=2)
    refused = _task(data, "Refuse guest entries fleet mode does not take")
    assert sorted(refused) == ["hv01", "hv02"]
    assert refused["hv01"]["msg"] == (
        "numa_pinning_guests: c.state: only present is taken in fleet mode; a.start: expected true or false; "
        "b.xml: expected the domain XML as a string. Nothing was changed.")
