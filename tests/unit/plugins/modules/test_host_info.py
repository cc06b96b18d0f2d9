# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_info run as Ansible runs it: the module file with an args file, JSON out."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import fakehost

from conftest import ROOT  # noqa: E402  (the repository root)
MODULE = os.path.join(ROOT, "plugins", "modules", "host_info.py")


def run_module(tmp_path, args, env=None):
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    full_env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".build", "collections"))
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, MODULE, str(args_file)], capture_output=True, text=True,
                          env=full_env, timeout=120, check=False)
    return json.loads(proc.stdout)


def test_offline_with_sysfs_and_proc(tmp_path):
    spec = fakehost.HOSTS["four-nodes-unequal"]
    sysfs = fakehost.write_sysfs(spec, str(tmp_path / "sys"))
    proc = fakehost.write_proc(spec, str(tmp_path / "proc"))
    result = run_module(tmp_path, {"capabilities_xml": fakehost.load_capabilities("four-nodes-unequal"),
                                   "sysfs_root": sysfs, "proc_root": proc, "_ansible_check_mode": True})
    assert result["changed"] is False
    host = result["host"]
    assert [(n["id"], n["cpus"], n["memory_kib"], n["free_kib"]) for n in host["nodes"]] == [
        (0, "0-7", 16777216, 8388608), (1, "8-11", 8388608, 4194304),
        (2, "12-17", 12582912, 6291456), (3, "18-19", 4194304, 2097152)]
    assert host["nodes"][3]["distances"] == [{"id": 0, "value": 22}, {"id": 1, "value": 16},
                                             {"id": 2, "value": 16}, {"id": 3, "value": 10}]
    assert host["nodes"][2]["hugepages"] == [{"size_kib": 2048, "total": 2048, "free": 2048, "surplus": 0},
                                             {"size_kib": 1048576, "total": 0, "free": 0, "surplus": 0}]
    assert host["cpus"][19] == {"id": 19, "online": True, "node": 3, "socket": 3, "die": 0, "core": 0,
                                "siblings": "18-19", "l3": "18-19", "isolated": False, "nohz_full": False}
    assert (host["isolated"], host["nohz_full"], host["cmdline"], host["smt"], host["domain_capabilities"]) == \
        ("", "", "", True, None)


def test_bad_xml_fails_cleanly(tmp_path):
    result = run_module(tmp_path, {"capabilities_xml": "<capabilities><host>"})
    assert result["failed"] is True
    # the tail is lxml's (libxml2's) own parser message, which changes between versions
    assert result["msg"].startswith("capabilities_xml: not well-formed XML: ")


def test_bad_sysfs_root_fails_cleanly(tmp_path):
    result = run_module(tmp_path, {"capabilities_xml": fakehost.load_capabilities("no-smt"),
                                   "sysfs_root": str(tmp_path / "missing")})
    assert result["failed"] is True
    assert result["msg"] == "sysfs_root: %r is not valid: not a directory" % str(tmp_path / "missing")


def test_credentials_in_the_uri_never_show(tmp_path):
    uri = "test+unix://alice:s3cret@/default?socket=/nonexistent/sock"
    result = run_module(tmp_path, {"uri": uri})
    assert result["failed"] is True
    assert "s3cret" not in json.dumps(result)
    # the tail is libvirt's own connection error, which depends on the libvirt version and the host
    assert result["msg"].startswith("uri: cannot connect to test+unix://***@/default?socket=/nonexistent/sock: ")
    assert result["invocation"]["module_args"]["uri"] == "test+unix://alice:********@/default?socket=/nonexistent/sock"


def _virsh(*args):
    try:
        return subprocess.run(["virsh", "-c", "qemu:///system"] + list(args), capture_output=True,
                              text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None


@pytest.mark.skipif(_virsh("uri") is None, reason="no libvirt daemon at qemu:///system")
def test_this_host(tmp_path):
    from ansible_collections.virtuned.libvirt.plugins.module_utils.host.topology import (
        build_host, summarise_domain_capabilities)
    result = run_module(tmp_path, {}, env={"LIBVIRT_DEFAULT_URI": "qemu:///system"})
    assert result["changed"] is False
    host = result["host"]
    expected = build_host(_virsh("capabilities"), sysfs_root="/sys", proc_root="/proc")
    # free memory moves between two reads; everything else is the same host
    for node in host["nodes"] + expected["nodes"]:
        node["free_kib"] = None if node["free_kib"] is None else "some"
    for pool in [p for n in host["nodes"] + expected["nodes"] for p in n["hugepages"]]:
        pool["free"] = None
    assert host["cpus"] == expected["cpus"]
    assert host["nodes"] == expected["nodes"]
    assert host["cmdline"] == expected["cmdline"]
    assert host["domain_capabilities"] == summarise_domain_capabilities(_virsh("domcapabilities"))
    assert host["domain_capabilities"]["max_vcpus"] >= 1
