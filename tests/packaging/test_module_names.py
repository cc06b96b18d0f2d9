# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module names and attributes: the old name routed in meta/runtime.yml still runs the module and warns, and
every module documents the platform and action_group attributes.

Run: .venv/bin/python -m pytest -q tests/packaging/test_module_names.py   (after `make collection`;
the libvirt test driver, no daemon)
"""

from __future__ import annotations

import json
import os
import sys
import subprocess

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

# guest_placements -> guest_placements_info (a read-only module is named *_info), removed in 2.0.0
WARNING_TEXT = ("Use virtuned.libvirt.guest_placements_info, the same module under the name Ansible gives "
                "read-only modules.")
DEPRECATION_LINE = ("[DEPRECATION WARNING]: virtuned.libvirt.guest_placements has been deprecated. " + WARNING_TEXT
                    + " This feature will be removed from collection 'virtuned.libvirt' version 2.0.0.")
# what the libvirt test driver's one guest holds
TEST_DRIVER_EXISTING = [{"name": "test", "cpus": "", "memory": [], "active": True}]


def ansible_env(tmp_path):
    """Only the checkout on the collections path (.build/collections, `make collection`), no ansible.cfg."""
    collections = os.path.join(ROOT, ".build", "collections")
    assert os.path.isdir(os.path.join(collections, "ansible_collections", "virtuned", "libvirt", "plugins")), \
        "run `make collection` first"
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\ndeprecation_warnings = True\n")
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_CONFIG=str(config),
                ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                PYTHONPATH="")


def test_runtime_routes_the_old_name():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        runtime = yaml.safe_load(handle)
    assert runtime["plugin_routing"]["modules"]["guest_placements"] == {
        "redirect": "virtuned.libvirt.guest_placements_info",
        "deprecation": {"removal_version": "2.0.0", "warning_text": WARNING_TEXT},
    }
    assert "guest_placements_info" in runtime["action_groups"]["libvirt"]
    assert "guest_placements" not in runtime["action_groups"]["libvirt"]
    assert not os.path.exists(os.path.join(ROOT, "plugins", "modules", "guest_placements.py"))


def test_old_name_runs_the_module_and_warns(tmp_path):
    out = tmp_path / "results.json"
    playbook = tmp_path / "play.yml"
    # module_defaults through the action group reach the old name too
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/virtuned.libvirt.libvirt:
      uri: test:///default
  tasks:
    - name: Old name
      virtuned.libvirt.guest_placements:
      register: old
    - name: New name
      virtuned.libvirt.guest_placements_info:
      register: new
    - name: Save both
      ansible.builtin.copy:
        content: "{{ {'old': old, 'new': new} | to_json }}"
        dest: %s
        mode: "0600"
""" % out)
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                         capture_output=True, text=True, env=ansible_env(tmp_path), cwd=str(tmp_path), check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads(out.read_text())
    assert results["old"]["existing"] == results["new"]["existing"] == TEST_DRIVER_EXISTING
    assert results["old"]["changed"] is results["new"]["changed"] is False
    assert [(d["msg"], d["version"], d["collection_name"]) for d in results["old"]["deprecations"]] == [
        ("virtuned.libvirt.guest_placements has been deprecated. " + WARNING_TEXT, "2.0.0", "virtuned.libvirt")]
    assert "deprecations" not in results["new"]
    # the warning is shown once, whole, on the old name's task only
    shown = [line for line in (run.stdout + run.stderr).splitlines() if "DEPRECATION WARNING" in line]
    assert shown == [DEPRECATION_LINE]


def test_old_name_documents_the_new_module(tmp_path):
    run = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "-t", "module", "virtuned.libvirt.guest_placements"],
                         capture_output=True, text=True, env=ansible_env(tmp_path), cwd=str(tmp_path), check=True)
    doc = json.loads(run.stdout)["virtuned.libvirt.guest_placements"]["doc"]
    assert doc["module"] == "guest_placements_info"
    assert os.path.basename(doc["filename"]) == "guest_placements_info.py"
    assert DEPRECATION_LINE in run.stderr.splitlines()


def test_every_module_documents_platform_and_action_group(tmp_path):
    """Each module's docs carry the platform and action_group attributes; a module in the libvirt action group
    (meta/runtime.yml) says so, the others say none."""
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        group = set(yaml.safe_load(handle)["action_groups"]["libvirt"])
    names = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py"))
    run = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "-t", "module"]
                         + ["virtuned.libvirt." + name for name in names],
                         capture_output=True, text=True, env=ansible_env(tmp_path), cwd=str(tmp_path), check=True)
    docs = json.loads(run.stdout)
    seen = {}
    for name in names:
        attributes = docs["virtuned.libvirt." + name]["doc"]["attributes"]
        assert attributes["platform"]["support"] == "full", name
        action_group = attributes["action_group"]
        seen[name] = (action_group["support"], action_group["membership"])
    assert seen == {name: ("full", ["virtuned.libvirt.libvirt"]) if name in group else ("none", []) for name in names}
