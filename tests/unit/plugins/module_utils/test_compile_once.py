"""module_utils/compile_once.py: from a zip (as under AnsiballZ) each module_utils file is compiled once, not twice,
and not at all when its hash-checked bytecode is in the cache directory."""

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
try:
    sizes.parse_size("lots", "size")
except Exception as exc:
    import traceback
    where = traceback.extract_tb(exc.__traceback__)[-1].filename
print(json.dumps({"compiled": compiled, "file": sizes.__file__, "loader": type(sizes.__loader__).__name__,
                  "works": cpuset.format_cpuset({0, 1, 2, 5}), "code_file": sizes.parse_size.__code__.co_filename,
                  "traceback_file": where}))
"""

UTILS = "ansible_collections/virtuned/libvirt/plugins/module_utils/"


def make_zip(path, changed=None):
    """The collection's module_utils in a zip, with empty package inits (as AnsiballZ ships them).

    ``changed``: {file under module_utils: source} replacing that file's source.
    """
    changed = changed or {}
    with zipfile.ZipFile(path, "w") as archive:
        for package in ("ansible_collections/", "ansible_collections/virtuned/", "ansible_collections/virtuned/libvirt/",
                        "ansible_collections/virtuned/libvirt/plugins/", UTILS, UTILS + "engine/"):
            archive.writestr(package + "__init__.py", "")
        for name in ("compile_once.py", "engine/cpuset.py", "engine/sizes.py", "engine/errors.py", "engine/limits.py"):
            if name in changed:
                archive.writestr(UTILS + name, changed[name])
            else:
                archive.write(os.path.join(ROOT, "plugins", "module_utils", name), UTILS + name)


def run(zip_path, install, cache_home, write=False):
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home))
    env.pop("PYTHONPYCACHEPREFIX", None)
    if write:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-c", PROGRAM, zip_path, install], capture_output=True, text=True,
                          env=env, check=True, cwd="/")
    return json.loads(proc.stdout)


def test_from_a_zip_each_module_is_compiled_once_instead_of_twice(tmp_path):
    zip_path = str(tmp_path / "payload.zip")
    make_zip(zip_path)
    plain, once = run(zip_path, "no", tmp_path), run(zip_path, "yes", tmp_path)
    assert sorted(name for name in plain["compiled"] if name in OURS) == sorted(OURS + OURS)
    assert sorted(name for name in once["compiled"] if name in OURS) == OURS
    assert plain["loader"] == "zipimporter"
    assert once["loader"] == "CachingZipImporter"
    for result in (plain, once):
        assert result["works"] == "0-2,5"
        assert result["file"] == zip_path + "/" + UTILS + "engine/sizes.py"
    # PYTHONDONTWRITEBYTECODE: no cache directory was made
    assert not os.path.exists(tmp_path / "virtuned-libvirt")


OURS = ["module_utils/engine/__init__.py", "module_utils/engine/cpuset.py", "module_utils/engine/errors.py",
        "module_utils/engine/limits.py", "module_utils/engine/sizes.py"]
CACHE = ("virtuned-libvirt", "pycache")


def test_the_bytecode_cache_serves_the_next_run_and_only_for_the_same_source(tmp_path):
    first_zip, second_zip = str(tmp_path / "run1.zip"), str(tmp_path / "run2.zip")
    make_zip(first_zip)
    make_zip(second_zip)
    cache = tmp_path.joinpath(*CACHE)
    first = run(first_zip, "yes", tmp_path, write=True)
    assert sorted(name for name in first["compiled"] if name in OURS) == OURS
    assert oct(os.stat(cache).st_mode & 0o777) == "0o700"
    assert sorted(os.listdir(cache)) == sorted(
        "ansible_collections.virtuned.libvirt.plugins.module_utils.%s.%s.pyc" % (name, sys.implementation.cache_tag)
        for name in ("engine", "engine.cpuset", "engine.errors", "engine.limits", "engine.sizes"))
    # the next run (another zip, as each AnsiballZ run has its own) compiles none of them, and its code and
    # tracebacks name the files of its own zip
    second = run(second_zip, "yes", tmp_path, write=True)
    assert [name for name in second["compiled"] if name in OURS] == []
    assert second["works"] == "0-2,5"
    assert second["code_file"] == second_zip + "/" + UTILS + "engine/sizes.py"
    assert second["traceback_file"] == second_zip + "/" + UTILS + "engine/sizes.py"
    # a changed source is compiled again, and its new bytecode replaces the old entry
    with open(os.path.join(ROOT, "plugins", "module_utils", "engine", "cpuset.py")) as handle:
        source = handle.read()
    third_zip = str(tmp_path / "run3.zip")
    make_zip(third_zip, {"engine/cpuset.py": source.replace('"""', '"""Changed. ', 1)})
    changed = run(third_zip, "yes", tmp_path, write=True)
    assert [name for name in changed["compiled"] if name in OURS] == ["module_utils/engine/cpuset.py"]
    assert changed["works"] == "0-2,5"
    assert [name for name in run(third_zip, "yes", tmp_path)["compiled"] if name in OURS] == []


def test_a_cache_directory_others_may_write_is_not_used(tmp_path):
    zip_path = str(tmp_path / "payload.zip")
    make_zip(zip_path)
    cache = tmp_path.joinpath(*CACHE)
    run(zip_path, "yes", tmp_path, write=True)
    os.chmod(cache, 0o777)
    again = run(zip_path, "yes", tmp_path, write=True)
    assert sorted(name for name in again["compiled"] if name in OURS) == OURS
    os.chmod(cache, 0o700)
    assert [name for name in run(zip_path, "yes", tmp_path)["compiled"] if name in OURS] == []


def test_outside_a_zip_it_installs_nothing():
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, "-c", "import sys; from ansible_collections.virtuned.libvirt.plugins."
                           "module_utils import compile_once; print(sum(isinstance(f, compile_once.CompileOnceFinder) "
                           "for f in sys.meta_path))"], capture_output=True, text=True, env=env, check=True)
    assert proc.stdout.strip() == "0"
