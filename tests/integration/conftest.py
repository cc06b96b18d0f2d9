"""Real guests on qemu:///system, and ansible-playbook runs read back as data."""

import contextlib
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, fixture_text

libvirt = pytest.importorskip("libvirt")

QEMU_URI = "qemu:///system"
PLAYBOOKS = os.path.join(ROOT, "tests", "integration", "playbooks")


@pytest.fixture(scope="session")
def qemu():
    """A connection to the real libvirt daemon (`make test` starts it; see tests/testbed)."""
    try:
        conn = libvirt.open(QEMU_URI)
    except libvirt.libvirtError as exc:
        pytest.fail("qemu:///system is not reachable (run `make host` first): %s" % exc)
    yield conn
    conn.close()


def guest_xml(name, vcpus=4, current=None, memory_mib=128, extra=""):
    """A small bootable KVM guest (no disk: it idles in the firmware, enough to tune it live)."""
    xml = fixture_text("guest-minimal.xml").replace("<name>vt-probe</name>", "<name>%s</name>" % name)
    xml = xml.replace("<vcpu placement='static' current='2'>4</vcpu>",
                      "<vcpu placement='static'%s>%d</vcpu>" % (" current='%d'" % current if current else "", vcpus))
    xml = xml.replace("<memory unit='MiB'>128</memory>", "<memory unit='MiB'>%d</memory>%s" % (memory_mib, extra))
    return xml


@pytest.fixture
def guests(qemu):
    """Factory: define (and start) uniquely named guests; all are destroyed and undefined afterwards."""
    made = []

    def make(name, start=True, xml=None, **kwargs):
        cleanup(qemu, name)
        dom = qemu.defineXML(xml or guest_xml(name, **kwargs))
        made.append(name)
        if start:
            dom.create()
        return dom
    yield make
    for name in made:
        cleanup(qemu, name)


def cleanup(conn, name):
    with contextlib.suppress(libvirt.libvirtError):
        dom = conn.lookupByName(name)
        if dom.isActive():
            dom.destroy()
        dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)


def run_playbook(playbook, extra_vars=None, check=False, diff=True):
    """Run a playbook against localhost; return (rc, {task name: result}) from the json callback."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_STDOUT_CALLBACK": "results_json",
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(ROOT, "tests", "integration", "callback_plugins"),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".build", "collections"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_CONFIG": os.path.join(ROOT, "tests", "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    })
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(PLAYBOOKS, playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"), check=False)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook printed no JSON (rc %d):\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr))
    tasks = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            tasks[task["task"]["name"]] = task["hosts"].get("localhost", {})
    return proc.returncode, tasks, data["stats"].get("localhost", {})
