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
                         capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
