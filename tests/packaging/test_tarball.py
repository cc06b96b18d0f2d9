# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release tarball: nothing but the collection, and a collection installed from it works.

Run: .venv/bin/python -m pytest -q tests/packaging   (builds the tarball, about 15 s; no libvirt needed)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

# What a release ships at the top level; FILES.json must hold these and nothing else.
TOP_FILES = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst", "requirements.txt", "bindep.txt"}
TOP_DIRS = {"plugins", "roles", "docs", "meta", "changelogs"}
DEV_NAMES = {"tests", ".hypothesis", ".pytest_cache", ".ci", "Makefile", "constraints.txt", "pytest.ini",
             "requirements-dev.txt", "demo", ".ansible-lint", ".gitignore", "ansible.cfg", ".build", ".venv",
             "build.sh", "check_examples.py", "fragments", ".plugin-cache.yaml", "__pycache__"}


def galaxy():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), ROOT],
                   check=True, capture_output=True, text=True)
    meta = galaxy()
    path = out / ("%s-%s-%s.tar.gz" % (meta["namespace"], meta["name"], meta["version"]))
    assert path.is_file()
    return path


def members(tarball):
    with tarfile.open(tarball) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_files_json_lists_only_the_collection(tarball):
    with tarfile.open(tarball) as tar:
        files = json.load(tar.extractfile("FILES.json"))["files"]
    names = [entry["name"] for entry in files if entry["name"] != "."]
    top = {name.split("/")[0] for name in names}
    assert top <= TOP_FILES | TOP_DIRS, sorted(top - TOP_FILES - TOP_DIRS)
    assert {"plugins", "roles", "docs", "meta", "LICENSE", "README.md", "requirements.txt", "bindep.txt"} <= top
    dev = sorted(name for name in names if set(name.split("/")) & DEV_NAMES)
    assert dev == []
    # every tarball member is in FILES.json, and the other way round
    assert set(members(tarball)) == set(names) | {"MANIFEST.json", "FILES.json"}


def test_every_plugin_and_role_ships(tarball):
    names = set(members(tarball))
    for kind in ("modules", "filter", "doc_fragments"):
        for name in os.listdir(os.path.join(ROOT, "plugins", kind)):
            if name.endswith(".py"):
                assert "plugins/%s/%s" % (kind, name) in names
    for role in os.listdir(os.path.join(ROOT, "roles")):
        assert "roles/%s/meta/argument_specs.yml" % role in names
    assert {"meta/runtime.yml", "meta/execution-environment.yml", "changelogs/changelog.yaml"} <= names


def test_manifest_matches_galaxy_yml(tarball):
    with tarfile.open(tarball) as tar:
        info = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    meta = galaxy()
    for key in ("namespace", "name", "version", "license", "repository", "documentation", "homepage", "issues"):
        assert info[key] == meta[key]
    assert not any("example.invalid" in str(value) for value in info.values())


def test_installed_collection_works(tarball, tmp_path):
    dest = tmp_path / "collections"
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n")
    # only the installed copy: no checkout on the collections path, no ansible.cfg of the checkout
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(dest), ANSIBLE_CONFIG=str(config),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1", PYTHONPATH="")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-p", str(dest), str(tarball)],
                   check=True, capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert (dest / "ansible_collections" / "virtuned" / "libvirt" / "MANIFEST.json").is_file()
    doc = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "-t", "module", "virtuned.libvirt.cputune"],
                         check=True, capture_output=True, text=True, env=env, cwd=str(tmp_path))
    module_doc = json.loads(doc.stdout)
    assert list(module_doc) == ["virtuned.libvirt.cputune"], doc.stderr
    module_doc = module_doc["virtuned.libvirt.cputune"]["doc"]
    assert module_doc["collection"] == "virtuned.libvirt"
    assert os.path.realpath(module_doc["filename"]).startswith(os.path.realpath(str(dest)))
    playbook = tmp_path / "play.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - virtuned.libvirt.cputune:
        xml: "<domain type='kvm'><name>vt-pkg</name><memory unit='MiB'>128</memory><vcpu>2</vcpu></domain>"
        emulatorpin: 0-1
      register: tuned
    - ansible.builtin.assert:
        that:
          - tuned is changed
          - "tuned.after == {'emulatorpin': '0-1'}"
          - "'<emulatorpin cpuset=\\"0-1\\"/>' in tuned.xml"
""")
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
                         capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert run.returncode == 0, run.stdout + run.stderr


# What ansible-builder finds in the installed collection (meta/execution-environment.yml -> requirements.txt,
# bindep.txt), line for line: the requirement and the comment introspection adds to it.
EE_PYTHON = ["lxml>=4.6", "libvirt-python>=6.10.0"]
EE_SYSTEM = [
    "gcc [compile platform:dpkg platform:rpm]",
    "pkg-config [compile platform:dpkg]",
    "pkgconf-pkg-config [compile platform:rpm]",
    "python3-dev [compile platform:dpkg]",
    "python3-devel [compile platform:rpm]",
    "libvirt-dev [compile platform:dpkg]",
    "libvirt-devel [compile platform:rpm]",
    "libvirt0 [platform:dpkg]",
    "libvirt-libs [platform:rpm]",
]
FROM = "  # from collection virtuned.libvirt"
# the packages bindep selects from them per family: with [compile] to build libvirt-python, else to run it
EE_PACKAGES = {
    ("platform:dpkg", "compile"): ["gcc", "pkg-config", "python3-dev", "libvirt-dev", "libvirt0"],
    ("platform:rpm", "compile"): ["gcc", "pkgconf-pkg-config", "python3-devel", "libvirt-devel", "libvirt-libs"],
    ("platform:dpkg",): ["libvirt0"],
    ("platform:rpm",): ["libvirt-libs"],
}


def builder():
    """ansible-builder next to this Python (requirements-dev.txt installs it)."""
    tool = os.path.join(BIN, "ansible-builder")
    assert os.path.exists(tool), "ansible-builder is not installed: make venv (requirements-dev.txt) installs it"
    return tool


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory):
    """The tarball installed into a collections directory of its own."""
    top = tmp_path_factory.mktemp("installed")
    dest = top / "collections"
    config = top / "ansible.cfg"
    config.write_text("[defaults]\n")
    # only this copy: no checkout on the collections path or PYTHONPATH (make's .build/collections), else
    # ansible-galaxy finds the collection installed and skips it
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(dest), ANSIBLE_CONFIG=str(config), PYTHONPATH="")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-p", str(dest), str(tarball)],
                   check=True, capture_output=True, text=True, env=env, cwd=str(top))
    assert (dest / "ansible_collections" / "virtuned" / "libvirt" / "meta" / "execution-environment.yml").is_file()
    return dest


def test_execution_environment_introspection(installed):
    found = subprocess.run([builder(), "introspect", "--sanitize", str(installed)],
                           check=True, capture_output=True, text=True)
    data = yaml.safe_load(found.stdout)
    assert data == {"python": [line + FROM for line in EE_PYTHON], "system": [line + FROM for line in EE_SYSTEM]}
    # the files beside meta/execution-environment.yml are the ones introspected
    with open(os.path.join(ROOT, "meta", "execution-environment.yml")) as handle:
        assert yaml.safe_load(handle) == {"version": 1,
                                          "dependencies": {"python": "requirements.txt", "system": "bindep.txt"}}


def test_bindep_packages_per_family():
    from bindep.depends import Depends  # ansible-builder's dependency

    with open(os.path.join(ROOT, "bindep.txt")) as handle:
        depends = Depends(handle.read())
    assert {profiles: [rule[0] for rule in depends.active_rules(list(profiles))] for profiles in EE_PACKAGES} == \
        EE_PACKAGES


def test_execution_environment_build_context(installed, tmp_path):
    """`ansible-builder create` writes the build context (no container engine needed); the context's own
    introspection script, which the image build runs on the installed collections, writes the same files."""
    definition = tmp_path / "execution-environment.yml"
    definition.write_text(yaml.safe_dump({
        "version": 3,
        "images": {"base_image": {"name": "registry.fedoraproject.org/fedora:41"}},
        "dependencies": {
            "python_interpreter": {"package_system": "python3", "python_path": "/usr/bin/python3"},
            "ansible_core": {"package_pip": "ansible-core>=2.19,<2.20"},
            "ansible_runner": {"package_pip": "ansible-runner"},
            "galaxy": {"collections": [{"name": "virtuned.libvirt", "version": ">=1.0.0"}]},
        },
    }))
    context = tmp_path / "context"
    subprocess.run([builder(), "create", "-f", str(definition), "-c", str(context)],
                   check=True, capture_output=True, text=True, cwd=str(tmp_path))
    with open(context / "_build" / "requirements.yml") as handle:
        assert yaml.safe_load(handle) == {"collections": [{"name": "virtuned.libvirt", "version": ">=1.0.0"}]}
    with open(context / "Dockerfile") as handle:
        steps = [line.strip() for line in handle]
    introspect_step = ("RUN $PYCMD /output/scripts/introspect.py introspect --write-bindep=/tmp/src/bindep.txt "
                       "--write-pip=/tmp/src/requirements.txt")
    assert introspect_step in steps
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner"' in steps
    pip_file, bindep_file = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    subprocess.run([sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect",
                    "--write-bindep=%s" % bindep_file, "--write-pip=%s" % pip_file, str(installed)],
                   check=True, capture_output=True, text=True)
    assert pip_file.read_text().splitlines() == [line + FROM for line in EE_PYTHON]
    assert bindep_file.read_text().splitlines() == [line + FROM for line in EE_SYSTEM]


def test_unit_requirements_pinned_as_the_dev_venv():
    """ansible-test units --venv installs tests/unit/requirements.txt with tests/unit/constraints.txt: the same
    versions as the development venv (constraints.txt)."""
    def pins(path):
        with open(os.path.join(ROOT, path)) as handle:
            return dict(line.strip().split("==") for line in handle if "==" in line and not line.startswith("#"))

    def names(path):
        with open(os.path.join(ROOT, path)) as handle:
            return [line.strip() for line in handle if line.strip() and not line.startswith("#")]

    unit = pins("tests/unit/constraints.txt")
    assert sorted(unit) == sorted(names("tests/unit/requirements.txt")) == ["hypothesis", "libvirt-python", "lxml"]
    dev = pins("constraints.txt")
    assert unit == {name: dev[name] for name in unit}


def test_galaxy_importer_imports_without_warnings(tarball):
    """galaxy-importer (its own venv: tests/packaging/galaxy_importer.sh) imports the tarball: ansible-doc,
    ansible-lint's production profile and flake8 on every plugin, no WARNING or ERROR line (ansible-test off)."""
    run = subprocess.run(["bash", os.path.join(ROOT, "tests", "packaging", "galaxy_importer.sh"), str(tarball)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith(
        "galaxy-importer: %s imported with no warnings (" % os.path.basename(str(tarball)))


def plugin_version_added(path):
    """version_added of a plugin's DOCUMENTATION (modules and filters), as ansible-doc reads it."""
    from ansible.parsing.plugin_docs import read_docstring

    return read_docstring(path)["doc"]["version_added"]


def test_changelog_lists_every_plugin_and_role_of_the_release_once():
    """changelogs/changelog.yaml's release for galaxy.yml's version names each module, filter and role whose
    version_added is that version, once; no plugin or role says a later (unreleased) version."""
    version = galaxy()["version"]
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml")) as handle:
        release = yaml.safe_load(handle)["releases"][version]
    listed = {"module": [entry["name"] for entry in release["modules"]],
              "filter": [entry["name"] for entry in release["plugins"]["filter"]],
              "role": [entry["name"] for entry in release["objects"]["role"]]}
    added = {"module": {}, "filter": {}, "role": {}}
    for kind, folder in (("module", "modules"), ("filter", "filter")):
        for name in sorted(os.listdir(os.path.join(ROOT, "plugins", folder))):
            if name.endswith(".py") and name != "__init__.py":
                added[kind][name[:-3]] = plugin_version_added(os.path.join(ROOT, "plugins", folder, name))
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
            added["role"][role] = yaml.safe_load(handle)["argument_specs"]["main"]["version_added"]
    for kind in listed:
        assert {name: str(v) for name, v in added[kind].items() if str(v) != version} == {}, kind
        assert listed[kind] == sorted(added[kind]), kind  # each once, alphabetically
    # a redirect is no module of its own: the deprecated name is not listed as new
    assert "guest_placements" not in listed["module"]
