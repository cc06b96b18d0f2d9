"""Two tasks tuning different areas of one running guest at the same time lose nothing (real processes)."""

import json
import os
import subprocess
import sys

import libvirt

from conftest import COLLECTIONS, ROOT

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain

NAME = "vt-it-concurrent"


def start_module(module, args, tmp_path, tag):
    path = tmp_path / ("%s.json" % tag)
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "plugins", "modules", module + ".py"), str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_parallel_tasks_on_different_areas(guests, tmp_path):
    dom = guests(NAME, vcpus=2)
    base = {"uri": "qemu:///system", "name": NAME}
    for round_ in range(4):
        shares = 1000 + round_
        soft = "%dM" % (64 + round_)
        procs = [start_module("cputune", dict(base, shares=shares, emulatorpin=str(round_ % 2)), tmp_path, "a%d" % round_),
                 start_module("memtune", dict(base, soft_limit=soft), tmp_path, "b%d" % round_),
                 start_module("iothreads", dict(base, count=round_ + 1), tmp_path, "c%d" % round_)]
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        assert [r["changed"] for r in results] == [True, True, True], results
        persistent = parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        assert AREAS["cputune"].to_options(AREAS["cputune"].read(persistent)) == {
            "shares": shares, "emulatorpin": str(round_ % 2)}
        assert AREAS["memtune"].to_options(AREAS["memtune"].read(persistent)) == {"soft_limit": "%d MiB" % (64 + round_)}
        assert AREAS["iothreads"].to_options(AREAS["iothreads"].read(persistent))["count"] == round_ + 1
        # and the running guest got all three
        assert dom.schedulerParametersFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE)["cpu_shares"] == shares
        assert dom.memoryParameters(libvirt.VIR_DOMAIN_AFFECT_LIVE)["soft_limit"] == (64 + round_) * 1024
        assert len(dom.ioThreadInfo(libvirt.VIR_DOMAIN_AFFECT_LIVE)) == round_ + 1
