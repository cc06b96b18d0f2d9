# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lets `ansible-test units` import what the unit tests import by plain name.

`make test-unit` runs pytest with pytest.ini (pythonpath = tests tests/unit): the tests import
tests/conftest.py as ``conftest``, tests/unit/fakehost.py as ``fakehost`` and one test module from
another (``test_memtune``). ansible-test imports every file under tests/ as a package of the
collection (ansible_collections.virtuned.libvirt.tests...), so here, and only under ansible-test,
the same modules are made importable by those plain names, and .build/collections (which
`make collection` makes and the tests that run a module file put on PYTHONPATH) is made from
ansible-test's collection tree and ansible package. Under `make test-unit` this file is ``unit.conftest`` and does nothing.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__.startswith("ansible_collections."):
    from ansible_collections.virtuned.libvirt.tests import conftest as shared_conftest

    sys.modules.setdefault("conftest", shared_conftest)
    for path in (HERE, os.path.join(HERE, "plugins", "modules")):
        if path not in sys.path:
            sys.path.append(path)

    # The tests that run a module file as a script give it PYTHONPATH=.build/collections: a directory
    # with ansible-test's collection tree and the ansible package it runs with (--venv has no other).
    collections = os.path.join(shared_conftest.ROOT, ".build", "collections")
    tree = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0]
    if tree:
        import ansible

        os.makedirs(collections, exist_ok=True)
        for name, target in (("ansible_collections", os.path.join(tree, "ansible_collections")),
                             ("ansible", os.path.dirname(ansible.__file__))):
            if not os.path.exists(os.path.join(collections, name)):
                try:
                    os.symlink(target, os.path.join(collections, name))
                except FileExistsError:  # another pytest-xdist worker made it
                    pass
