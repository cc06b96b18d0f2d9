# virtuned.libvirt: `make demo` and `make test` do all the set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
BUILD := $(ROOT)/.build
COLL_PATH := $(BUILD)/collections
COLL_LINK := $(COLL_PATH)/ansible_collections/virtuned/libvirt
PYTHON ?= python3

export ANSIBLE_COLLECTIONS_PATH := $(COLL_PATH)
export ANSIBLE_PYTHON_INTERPRETER := $(VENV)/bin/python
export ANSIBLE_CONFIG := $(ROOT)/tests/ansible.cfg
export PATH := $(VENV)/bin:$(PATH)
export PYTHONPATH := $(COLL_PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: all host packages venv collection demo test test-unit test-integration sanity lint molecule docs bench bench-guest soak clean

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
