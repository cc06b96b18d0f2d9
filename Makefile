# virtuned.libvirt: `make demo` and `make test` do all the set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
BUILD := $(ROOT)/.build
COLL_PATH := $(BUILD)/collections
COLL_LINK := $(COLL_PATH)/ansible_collections/virtuned/libvirt
PYTHON ?= python3
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(BUILD)/dist/virtuned-libvirt-$(VERSION).tar.gz

export ANSIBLE_COLLECTIONS_PATH := $(COLL_PATH)
export ANSIBLE_PYTHON_INTERPRETER := $(VENV)/bin/python
export ANSIBLE_CONFIG := $(ROOT)/tests/ansible.cfg
export PATH := $(VENV)/bin:$(PATH)
export PYTHONPATH := $(COLL_PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: all host packages venv collection demo test test-unit test-integration sanity lint molecule docs docs-site \
	build import-check release bench bench-guest soak clean

all: test

# System packages and a running libvirt daemon (see tests/testbed/setup-host.sh for what it changes).
host:
	@bash tests/testbed/setup-host.sh

# System packages only (libvirt-dev for the libvirt-python build, libxml2-utils): no daemon, no qemu.conf.
packages:
	@bash tests/testbed/setup-host.sh --packages-only

$(VENV)/.installed: requirements-dev.txt constraints.txt | packages
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --upgrade pip
	@$(VENV)/bin/pip install -q -r requirements-dev.txt -c constraints.txt
	@touch $@

venv: host $(VENV)/.installed

collection:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(ROOT) $(COLL_LINK)

# The site job on this host (demo/run.sh): two demo guests placed by numa_pinning (demo/site.yml), --check --diff,
# a changed request, a restart, changed=0; the guests and the 2 MiB pool are given back (DEMO_KEEP=1 keeps them).
demo: venv collection
	@bash demo/run.sh

test: venv collection
	@bash tests/run-all.sh

test-unit: $(VENV)/.installed collection
	@$(PY) -m pytest -q tests/unit

test-integration: venv collection
	@$(PY) -m pytest -q tests/integration

sanity: venv
	@bash tests/sanity.sh

lint: venv collection
	@cd $(ROOT) && $(VENV)/bin/ansible-lint --profile production --offline

molecule: venv collection
	@bash tests/molecule/run.sh

docs: venv collection
	@bash docs/build.sh

# The HTML docs site (antsibull-docs sphinx-init + sphinx-build) in .build/docs-site/build/html.
docs-site: venv collection
	@bash docs/build.sh --site

# The release tarball, .build/dist/virtuned-libvirt-<version>.tar.gz: the collection only (galaxy.yml build_ignore;
# tests/packaging checks what it holds).
build: venv collection
	$(build-tarball)

define build-tarball
@rm -f $(BUILD)/dist/virtuned-libvirt-*.tar.gz
@$(VENV)/bin/ansible-galaxy collection build $(ROOT) --output-path $(BUILD)/dist --force >/dev/null
@$(PY) -c 'import json, os, sys, tarfile; t = tarfile.open(sys.argv[1]); m = t.getmembers(); \
	f = json.load(t.extractfile("FILES.json"))["files"]; \
	print("%s: %d bytes, %d members, %d files (FILES.json: %d files, %d directories)" % (sys.argv[1], \
	os.path.getsize(sys.argv[1]), len(m), sum(x.isfile() for x in m), sum(e["ftype"] == "file" for e in f), \
	sum(e["ftype"] == "dir" for e in f)))' $(TARBALL)
endef

# galaxy-importer on the tarball (its own venv, no container; fails on any warning).
import-check: build
	@bash tests/packaging/galaxy_importer.sh $(TARBALL)

# Release $(VERSION) (galaxy.yml) after the bump and the release_summary fragment (docs/releasing.md):
# the changelog, the docs reference, the tarball and its checks. Publishing stays a manual step.
release: venv collection
	@$(VENV)/bin/antsibull-changelog lint
	@$(VENV)/bin/antsibull-changelog release --reload-plugins
	@$(VENV)/bin/antsibull-changelog lint
	@bash docs/build.sh
	@$(PY) docs/check_examples.py
	$(build-tarball)
	@$(PY) -m pytest -q -p no:randomly tests/packaging   # the tarball's files, EE, changelog, galaxy-importer
	@echo "release $(VERSION): review CHANGELOG.rst, commit, tag $(VERSION), then" \
		"ansible-galaxy collection publish $(TARBALL) --token ... (docs/releasing.md)"

bench: venv collection
	@bash tests/bench/run.sh

# An untuned and a tuned guest booting a Debian kernel, interleaved (tests/bench/bench_guest/run.py); the
# guest's pieces are built from Debian's packages into .build/bench-guest. Runs nice'd: it is CPU-bound.
bench-guest: venv collection
	@bash tests/bench/bench_guest/build.sh
	@nice -n 19 $(PY) tests/bench/bench_guest/run.py

# Longer generated runs on real guests: 3,000 state-machine steps, 9,000 differential cases, 600 fuzz examples
# per module (make test runs 300, 3,600 and 150).
soak: venv collection
	@VIRTUNED_SM_STEPS=3000 VIRTUNED_DIFF_CASES=1000 VIRTUNED_FUZZ_EXAMPLES=600 $(PY) -m pytest -q -p no:randomly \
		tests/integration/test_state_machine.py tests/integration/test_differential.py \
		tests/unit/plugins/modules/test_fuzz.py

clean:
	rm -rf $(BUILD) tests/output
