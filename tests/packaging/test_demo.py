# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo` kept honest without a hypervisor: the site playbook parses, its inventory is localhost, it sets
only variables the roles define, its requests fit a host like the demo's (one node, CPUs 0-1), and the guest
XML is valid. The demo itself (demo/run.sh) runs on qemu:///system."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from jinja2.nativetypes import NativeEnvironment

import fakehost
from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import build_host
from ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner import plan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "demo")
BIN = os.path.dirname(sys.executable)


def load(name):
    with open(os.path.join(DEMO, name)) as handle:
        return yaml.safe_load(handle)


def ansible_env():
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
                ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "ansible.cfg"))


def test_site_playbook_passes_syntax_check():
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", "demo/inventory.yml",
                           "demo/site.yml", "-e", "@demo/changed.yml"], cwd=ROOT, env=ansible_env(), capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "playbook: demo/site.yml"


def test_inventory_is_localhost_without_ssh_on_the_playbook_python():
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", "demo/inventory.yml", "--list"],
                          cwd=ROOT, env=ansible_env(), capture_output=True, text=True, check=True)
    inventory = json.loads(proc.stdout)
    assert inventory["hypervisors"]["hosts"] == ["localhost"]
    assert inventory["_meta"]["hostvars"] == {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}


def role_variables(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as handle:
        return set(yaml.safe_load(handle))


def test_site_playbook_sets_only_role_variables_and_nothing_on_the_host_side():
    play, = load("site.yml")
    assert play["serial"] == 1
    assert play["tasks"] == [{
        "name": "Place the guests (numa_pinning, guest side; hugepages through hugepages_host)",
        "ansible.builtin.include_role": {"name": "virtuned.libvirt.numa_pinning", "tasks_from": "guests"}}]
    given = {name: value for name, value in play["vars"].items() if not name.startswith("demo_")}
    # the roles refuse names they do not define; these are the demo's, checked here without libvirt
    assert set(given) - role_variables("numa_pinning") - role_variables("hugepages_host") == set()
    assert {name: given[name] for name in given if name not in ("numa_pinning_guests",)} == {
        "numa_pinning_uri": "qemu:///system",
        "numa_pinning_reserved_cpus": "0",
        "numa_pinning_other_guests": "ignore",
        "numa_pinning_shutdown_timeout": 10,
        "numa_pinning_bootloader": "none",
        "hugepages_host_persist": False,
    }
    assert set(load("changed.yml")) <= {name for name in play["vars"] if name.startswith("demo_")}


def requests(hugepages_usable, changed=False):
    """numa_pinning_guests as the play renders it (the same Jinja expressions, natively typed as Ansible does)."""
    play, = load("site.yml")
    names = dict(play["vars"], demo_hugepages_usable=hugepages_usable, **(load("changed.yml") if changed else {}))
    env = NativeEnvironment()

    def render(value):
        if isinstance(value, str) and "{{" in value:
            return render(env.from_string(value).render(names))
        if isinstance(value, list):
            return [render(item) for item in value]
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        return value
    return render(play["vars"]["numa_pinning_guests"])


def test_requests_render_to_the_documented_guests():
    assert requests(True) == [
        {"name": "virtuned-demo-dedicated", "vcpus": 1, "memory": "128M", "cpu_policy": "dedicated", "page_size": "2M"},
        {"name": "virtuned-demo-shared", "vcpus": 1, "memory": "128M", "page_size": "small", "iothreads": 0}]
    assert requests(True, changed=True)[1] == {
        "name": "virtuned-demo-shared", "vcpus": 1, "memory": "128M", "page_size": "2M", "iothreads": 1}
    # no hugetlbfs or no 2 MiB pool: small pages, the same pins
    assert [r["page_size"] for r in requests(False)] == ["small", "small"]
    assert [r["page_size"] for r in requests(False, changed=True)] == ["small", "small"]


@pytest.fixture(scope="module")
def demo_host():
    """A host like the demo's: one node, CPUs 0-1 (no SMT), an empty 2 MiB pool."""
    spec = fakehost.make_spec("demo", [2], 1, "adjacent", memory_gib=[24], pages={0: {2048: 0}})
    return build_host(fakehost.capabilities_xml(spec))


@pytest.mark.parametrize("changed", [False, True], ids=["site", "changed"])
def test_requests_fit_a_host_like_the_demo(demo_host, changed):
    result = plan(demo_host, requests(True, changed), reserved_cpus="0", reserve_hugepages=True)
    placed = {entry["name"]: (entry["fits"], entry["cputune"], entry["memory_backing"]) for entry in result["plan"]}
    assert placed == {
        "virtuned-demo-dedicated": (True, {"vcpupin": [{"vcpu": 0, "cpuset": "1"}], "emulatorpin": "1"},
                                    {"hugepages": [{"size": "2 MiB", "nodeset": "0"}]}),
        "virtuned-demo-shared": (True, dict({"vcpupin": [{"vcpu": 0, "cpuset": "0"}], "emulatorpin": "0"},
                                            **({"iothreadpin": [{"iothread": 1, "cpuset": "0"}]} if changed else {})),
                                 {"hugepages": [{"size": "2 MiB", "nodeset": "0"}]} if changed else {}),
    }
    assert result["host_requirements"] == {
        "hugepages": [{"node": 0, "size": "2 MiB", "count": 128 if changed else 64}], "isolated_cpus": "1"}


def test_run_script_parses_and_guest_xml_is_valid(tmp_path):
    subprocess.run(["bash", "-n", os.path.join(DEMO, "run.sh")], check=True)
    if not shutil.which("virt-xml-validate"):
        pytest.skip("virt-xml-validate (libxml2-utils) is not installed")
    with open(os.path.join(DEMO, "guest.xml")) as handle:
        template = handle.read()
    for domain_type in ("kvm", "qemu"):
        xml = tmp_path / ("%s.xml" % domain_type)
        xml.write_text(template.replace("DOMAIN_TYPE", domain_type).replace("GUEST_NAME", "virtuned-demo-shared")
                       .replace("GUEST_VCPUS", "1"))
        proc = subprocess.run(["virt-xml-validate", str(xml), "domain"], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
