"""A memory size without a unit is KiB, as in libvirt; below 1 MiB that is rarely meant, so it warns."""

import json
import os
import subprocess
import sys

import pytest

from conftest import fixture_text

from ansible_collections.virtuned.libvirt.plugins.module_utils.areas.registry import AREAS
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.area import converge
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.domain_xml import parse_domain
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine.sizes import bare_memory_notes, note_bare_memory

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def warning(option, number):
    return ("%s: %s has no unit, so it is %s KiB (a bare number is KiB, as in libvirt); write %sM or '%s MiB' if "
            "MiB is meant" % (option, number, number, number, number))


def area_warnings(xml, requests):
    """The warnings of converging ``requests`` {area: params}, asserted at the engine (a module's warnings go to
    stdout or stderr once other tests have loaded ansible-core's controller code)."""
    results = converge(parse_domain(xml), [(AREAS[name], dict({f.name: None for f in AREAS[name].fields}, **params),
                                            "merged") for name, params in requests.items()])
    return [warning for result in results for warning in result.warnings]


def test_notes_only_bare_numbers_below_one_mib_and_only_when_collected():
    note_bare_memory(512, "memory", 512 * 1024)  # no collector: nothing to note into, no error
    with bare_memory_notes() as notes:
        note_bare_memory(512, "memory", 512 * 1024)
        note_bare_memory(" 64 ", "memtune.hard_limit", 64 * 1024)
        note_bare_memory("512M", "other", 512 * 1024)  # has a unit
        note_bare_memory(1024, "exact", 1024 * 1024)  # 1 MiB: not below
        note_bare_memory(0, "zero", 0)
        note_bare_memory(True, "flag", 1024)
        note_bare_memory(512, "memory", 512 * 1024)  # the same note once
    assert notes == [warning("memory", 512), warning("memtune.hard_limit", 64)]


@pytest.mark.parametrize("requests, expected", [
    ({"memory_devices": {"memory": 512}}, [warning("memory", 512)]),
    ({"memory_devices": {"memory": "512"}}, [warning("memory", 512)]),
    ({"memory_devices": {"current_memory": 1000}}, [warning("current_memory", 1000)]),
    ({"memtune": {"hard_limit": "4G", "soft_limit": 900}}, [warning("soft_limit", 900)]),
    ({"numa": {"cells": [{"id": 0, "cpus": "0-3", "memory": 512}]}, "memory_devices": {"memory": 512}},
     [warning("cells[0].memory", 512), warning("memory", 512)]),
    ({"memory_devices": {"memory": "512M"}}, []),
    ({"memory_devices": {"memory": 1048576}}, []),
    # a hugepage size in KiB is small on purpose: a page size, not an amount of memory
    ({"memory_backing": {"hugepages": [{"size": 2048}]}}, []),
])
def test_converging_warns_of_a_bare_memory_size_below_one_mib(requests, expected):
    assert area_warnings(fixture_text("guest-minimal.xml"), requests) == expected


def test_the_module_result_carries_the_warning():
    """In a module process of its own (no controller code loaded) the warning is in the result."""
    script = (
        "import json, sys\n"
        "sys.path.insert(0, %r)\n"
        "from conftest import run_module, fixture_text\n"
        "result = run_module('domain_tuning', {'xml': fixture_text('guest-minimal.xml'),\n"
        "                                      'memory_devices': {'memory': 768}})\n"
        "print(json.dumps([w['event']['msg'] for w in result.get('warnings', [])]))\n" % TESTS)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == [warning("memory", 768)]
