# Shared test fixtures for virtuned.libvirt.
"""Module runner (in-process, like ansible-test units), libvirt test-driver and guest helpers."""

import contextlib
import importlib
import io
import json
import os
import sys

import pytest
from hypothesis import settings

# CI runs every property test on the same examples (derandomized, no example database), so that a
# green main stays green; developers' runs explore new examples and keep what failed in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def fixture_text(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def run_module(module, args, check=False, diff=True):
    """Run plugins/modules/<module>.py in-process with ``args``; return its JSON result.

    The module runs exactly as Ansible runs it (argument spec, check mode, diff,
    no_log masking); only the transport is skipped.
    """
    from ansible.module_utils.common import warnings as ansible_warnings
    from ansible.module_utils.testing import patch_module_args

    # a module process starts with no warnings; in-process runs must not inherit earlier ones
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()

    full = dict(args)
    full["_ansible_check_mode"] = check
    full["_ansible_diff"] = diff
    mod = importlib.import_module("ansible_collections.virtuned.libvirt.plugins.modules.%s" % module)
    out = io.StringIO()
    with patch_module_args(full), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit):
            mod.main()
    result = json.loads(out.getvalue())
    result.pop("invocation", None)
    return result


@pytest.fixture
def testdriver():
    """A fresh libvirt test-driver connection (test:///default is per-process; we undefine what we define)."""
    libvirt = pytest.importorskip("libvirt")
    conn = libvirt.open("test:///default")
    created = []
    yield conn, created
    for name in created:
        with contextlib.suppress(libvirt.libvirtError):
            dom = conn.lookupByName(name)
            if dom.isActive():
                dom.destroy()
            dom.undefine()
    conn.close()
