# homelab.litellm developer entry points. `make demo` and `make test` are the two
# commands a new user runs; everything else is a step of theirs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
LITELLM_VENV := .venv-litellm
SANDBOX_DIR ?= $(CURDIR)/.sandbox
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export SANDBOX_DIR

.PHONY: help demo setup sandbox-up sandbox-down sandbox-status test test-unit test-sandbox clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

demo: sandbox-up ## set up, start the sandbox, run site.yml, show what it did
	$(VENV)/bin/ansible-playbook playbooks/site.yml
	$(VENV)/bin/python -m sandbox.demo_summary --state-dir $(SANDBOX_DIR)

setup: $(VENV)/.installed $(LITELLM_VENV)/.installed ## create both virtual environments (idempotent)

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(LITELLM_VENV)/.installed: requirements-litellm.txt
	$(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-litellm.txt
	touch $@

sandbox-up: setup ## start the sandbox cluster from the story's before state
	$(VENV)/bin/python -m sandbox up --state-dir $(SANDBOX_DIR)

sandbox-down: ## stop every sandbox process
	@if [ -x $(VENV)/bin/python ]; then $(VENV)/bin/python -m sandbox down --state-dir $(SANDBOX_DIR); \
	else $(PYTHON) -m sandbox down --state-dir $(SANDBOX_DIR); fi

sandbox-status: ## show whether the sandbox runs, and where
	$(VENV)/bin/python -m sandbox status --state-dir $(SANDBOX_DIR)

test-unit: setup ## pure-logic unit tests
	$(VENV)/bin/python -m pytest tests/unit

test-sandbox: setup ## the sandbox proven against real clients
	$(VENV)/bin/python -m pytest tests/sandbox

test: setup ## the whole test suite (CI runs exactly this)
	$(VENV)/bin/python -m pytest tests/unit tests/sandbox tests/integration

clean: sandbox-down ## remove virtual environments and sandbox state
	rm -rf $(VENV) $(LITELLM_VENV) $(SANDBOX_DIR) .pytest_cache
