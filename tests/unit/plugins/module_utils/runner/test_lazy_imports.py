"""A module run imports only what its path needs (issue 13: a cheaper single call).

Each case runs in a fresh interpreter, as AnsiballZ does, and lists which of the costly imports it made.
"""

import json
import os
import subprocess
import sys

from conftest import COLLECTIONS, fixture_text

COSTLY = ("libvirt", "lxml.etree",
          "ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection",
          "ansible_collections.virtuned.libvirt.plugins.module_utils.runner.backup",
          "ansible_collections.virtuned.libvirt.plugins.module_utils.runner.batch",
          "ansible_collections.virtuned.libvirt.plugins.module_utils.planner.planner")

PROGRAM = """
import json, sys, io, contextlib
from ansible.module_utils.testing import patch_module_args
module, args = sys.argv[1], json.loads(sys.argv[2])
mod = __import__("ansible_collections.virtuned.libvirt.plugins.modules." + module, fromlist=["main"])
out = io.StringIO()
if args is not None:
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            mod.main()
        except SystemExit:
            pass
costly = %r
print(json.dumps({"imported": [name for name in costly if name in sys.modules],
                  "result": json.loads(out.getvalue()) if out.getvalue() else None}))
""" % (COSTLY,)


def imported(module, args=None):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, "-c", PROGRAM, module, json.dumps(args)], capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_a_tuning_module_loads_neither_libvirt_nor_the_connection_code():
    assert imported("cputune")["imported"] == ["lxml.etree"]


def test_an_offline_run_needs_no_libvirt():
    found = imported("cputune", {"xml": fixture_text("guest-minimal.xml"), "emulatorpin": "0"})
    assert found["result"]["changed"] is True
    assert found["imported"] == ["lxml.etree"]


def test_a_connected_run_loads_libvirt_but_no_backup_or_batch_code():
    found = imported("cputune", {"uri": "test:///default", "name": "test", "emulatorpin": "0"})
    assert found["result"]["changed"] is True
    assert found["imported"] == ["libvirt", "lxml.etree",
                                 "ansible_collections.virtuned.libvirt.plugins.module_utils.edge.connection"]


def test_host_modules_load_no_xml_or_libvirt_code_to_mask_a_uri():
    assert imported("kernel_cmdline")["imported"] == []
    assert imported("hugepage_pools")["imported"] == []
