"""module_utils/compile_once.py: from a zip (as under AnsiballZ) each module_utils file is compiled once, not twice."""

import json
import os
import subprocess
import sys
import zipfile

from conftest import COLLECTIONS, ROOT

PROGRAM = """
import builtins, json, sys
compiled = []
real = builtins.compile
def counting(source, filename, *args, **kwargs):
    compiled.append(filename.rsplit("/plugins/", 1)[-1])
    return real(source, filename, *args, **kwargs)
builtins.compile = counting
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "yes":
    from ansible_collections.virtuned.libvirt.plugins.module_utils import compile_once
from ansible_collections.virtuned.libvirt.plugins.module_utils.engine import cpuset, sizes
print(json.dumps({"compiled": compiled, "file": sizes.__file__, "loader": type(sizes.__loader__).__name__,
                  "works": cpuset.format_cpuset({0, 1, 2, 5})}))
"""

UTILS = "ansible_collections/virtuned/libvirt/plugins/module_utils/"


def make_zip(path):
    """The collection's module_utils in a zip, with empty package inits (as AnsiballZ ships them)."""
    with zipfile.ZipFile(path, "w") as archive:
        for package in ("ansible_collections/", "ansible_collections/virtuned/", "ansible_collections/virtuned/libvirt/",
                        "ansible_collections/virtuned/libvirt/plugins/", UTILS, UTILS + "engine/"):
            archive.writestr(package + "__init__.py", "")
        for name in ("compile_once.py", "engine/cpuset.py", "engine/sizes.py", "engine/errors.py", "engine/limits.py"):
            archive.write(os.path.join(ROOT, "plugins", "module_utils", name), UTILS + name)


def run(zip_path, install):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-c", PROGRAM, zip_path, install], capture_output=True, text=True,
                          env=env, check=True, cwd="/")
    return json.loads(proc.stdout)


def test_from_a_zip_each_module_is_compiled_once_instead_of_twice(tmp_path):
    zip_path = str(tmp_path / "payload.zip")
    make_zip(zip_path)
    plain, once = run(zip_path, "no"), run(zip_path, "yes")
    ours = ["module_utils/engine/__init__.py", "module_utils/engine/cpuset.py", "module_utils/engine/errors.py",
            "module_utils/engine/limits.py",
            "module_utils/engine/sizes.py"]
    assert sorted(name for name in plain["compiled"] if name in ours) == sorted(ours + ours)
    assert sorted(name for name in once["compiled"] if name in ours) == ours
    for result in (plain, once):
        assert result["works"] == "0-2,5"
        assert result["loader"] == "zipimporter"
        assert result["file"] == zip_path + "/" + UTILS + "engine/sizes.py"


def test_outside_a_zip_it_installs_nothing():
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, "-c", "import sys; from ansible_collections.virtuned.libvirt.plugins."
                           "module_utils import compile_once; print(sum(isinstance(f, compile_once.CompileOnceFinder) "
                           "for f in sys.meta_path))"], capture_output=True, text=True, env=env, check=True)
    assert proc.stdout.strip() == "0"
