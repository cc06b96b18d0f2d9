# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_plan in a real ansible-playbook run over a simulated fleet of 21 inventory hosts (ansible_connection
local), each with its own host facts from the fixture hosts (capabilities XML and a fake sysfs tree).

No libvirt: host_info reads the files, fleet_plan runs once on the controller, and each host reads its share
in batches of five (serial). The result must equal fleet_plan's for the same host facts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from conftest import ROOT  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, os.path.join(ROOT, "tests", "unit"))

import fakehost  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host  # noqa: E402
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.fleet import plan_fleet  # noqa: E402

KINDS = ["two-socket-interleaved", "adjacent", "four-nodes-unequal", "offline-cpus", "no-smt"]
GUESTS = (
    [{"name": "db%02d" % i, "vcpus": 4, "memory": "8G", "cpu_policy": "dedicated", "page_size": "2M",
      "anti_affinity": "db"} for i in range(25)]
    + [{"name": "rt%02d" % i, "vcpus": 4, "memory": "4G", "profile": "realtime", "labels": ["rt"]} for i in range(6)]
    + [{"name": "web%02d" % i, "vcpus": 2 + i % 3, "memory": "%dG" % (2 + i % 4)} for i in range(40)]
    + [{"name": "pinned", "vcpus": 2, "memory": "2G", "cpu_policy": "dedicated", "host": "hv07"}]
)


def _inventory(tmp_path, count=21):
    hosts = {}
    for i in range(1, count + 1):
        name = "hv%02d" % i
        kind = KINDS[i % len(KINDS)]
        spec = fakehost.HOSTS[kind]
        sysfs = fakehost.write_sysfs(spec, str(tmp_path / name / "sys"))
        hosts[name] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                       "fleet_capabilities": fakehost.fixture_path(kind), "fleet_sysfs": sysfs,
                       "fleet_labels": ["rt"] if i % 4 == 0 else [], "fleet_kind": kind}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"fleet": {"hosts": hosts}}))
    return path, hosts


def _run(inventory, extra_vars):
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
           os.path.join(ROOT, "tests", "integration", "playbooks", "fleet_plan.yml"), "-e", json.dumps(extra_vars)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"),
                          check=False, timeout=900)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook printed no JSON (rc %d):\n%s\n%s"
                             % (proc.returncode, proc.stdout, proc.stderr))


def _task(data, play, name):
    for task in data["plays"][play]["tasks"]:
        if task["task"]["name"] == name:
            return task["hosts"]
    raise AssertionError("no task %r in play %d" % (name, play))


def test_a_simulated_fleet_of_21_hosts_is_planned_once_and_read_per_host(tmp_path):
    inventory, hosts = _inventory(tmp_path)
    rc, data = _run(inventory, {"site_guests": GUESTS})
    assert rc == 0, json.dumps(data["stats"])
    facts = _task(data, 0, "Read each hypervisor (in parallel, over the forks)")
    assert sorted(facts) == sorted(hosts)
    # the plan ran once, on the controller, over every host's own facts
    planned = _task(data, 0, "Place every guest, once")
    assert list(planned) == ["hv01"]  # run_once: reported under the first host, delegated to localhost
    fleet = planned["hv01"]
    assert fleet["changed"] is False
    fleet_hosts = dict((name, {"host": facts[name]["host"], "existing": [], "reserved_cpus": "0",
                               "labels": hosts[name]["fleet_labels"]}) for name in hosts)
    expected = plan_fleet(fleet_hosts, GUESTS, strategy="spread", reserve_hugepages=True)
    for key in ("placements", "plans", "host_requirements", "unplaced", "map"):
        assert fleet[key] == expected[key], key
    # each host's facts are its own fixture host's
    for name, entry in hosts.items():
        assert facts[name]["host"]["nodes"] == build_host(fakehost.load_capabilities(entry["fleet_kind"]),
                                                          sysfs_root=entry["fleet_sysfs"])["nodes"]
    # constraints, across the fleet
    placed = dict((guest, host) for host, names in fleet["placements"].items() for guest in names)
    assert placed["pinned"] == "hv07"
    assert all(hosts[placed[g["name"]]]["fleet_labels"] == ["rt"] for g in GUESTS
               if g.get("labels") and g["name"] in placed)
    db_hosts = [placed[g["name"]] for g in GUESTS if g.get("anti_affinity") and g["name"] in placed]
    assert len(db_hosts) == len(set(db_hosts))
    assert len(db_hosts) <= 21 and len([u for u in fleet["unplaced"] if u["name"].startswith("db")]) == 25 - len(
        db_hosts)
    for item in fleet["unplaced"]:
        assert sorted(item["reasons"]) == sorted(hosts)
    # the second play ran in batches of five, and each host read exactly its own share
    shares = {}
    for play in data["plays"][1:]:
        batch = _task({"plays": [play]}, 0, "This host's share")
        assert len(batch) <= 5
        for name, result in batch.items():
            shares[name] = result["ansible_facts"]["share"]
    assert len(data["plays"]) - 1 == 5  # 21 hosts, five at a time
    assert dict((n, [e["name"] for e in s]) for n, s in shares.items()) == fleet["placements"]
