"""The built collection, installed the way a user installs it, works on its own.

ansible-galaxy collection build -> install into an empty collections path ->
ansible-doc of every module and filter, and the role's argument spec check,
all from the installed copy (not this working tree).
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = REPO_ROOT / ".venv" / "bin"
MODULES = sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("litellm_*.py"))
FILTERS = sorted(p.stem for p in (REPO_ROOT / "plugins" / "filter").glob("*.yml"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("galaxy")
    collections = work / "collections"
    # An environment that cannot see this working tree: no repository ansible.cfg (make exports
    # ANSIBLE_CONFIG, whose collections path holds this tree: the install would be a no-op).
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_CONFIG=str(work / "none.cfg"), PATH=f"{BIN}:{env['PATH']}"
    )
    subprocess.run(
        ["ansible-galaxy", "collection", "build", "--output-path", str(work), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    )
    tarball = next(work.glob("homelab-litellm-*.tar.gz"))
    # --no-deps: kubernetes.core comes with the ansible package here (there is no Galaxy server).
    installed = subprocess.run(
        ["ansible-galaxy", "collection", "install", "--no-deps", "-p", str(collections), str(tarball)],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    )
    assert "installed successfully" in installed.stdout, installed.stdout
    return tarball, collections, env, work


def test_tarball_ships_no_dev_only_files(installed):
    tarball = installed[0]
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    for dev_only in (
        "sandbox/",
        ".venv",
        ".ci/",
        ".collections",
        "tests/integration/",
        "tests/sandbox/",
        "molecule/",
        "Makefile",
        "inventory/sandbox/",
        ".sandbox",
    ):
        assert not [n for n in names if n.startswith(dev_only) or f"/{dev_only}" in n], dev_only
    for shipped in (
        "plugins/modules/litellm_config.py",
        "roles/litellm/meta/argument_specs.yml",
        "playbooks/site.yml",
        "meta/runtime.yml",
        "README.md",
        "CHANGELOG.rst",
        "playbooks/rbac.yml",
        "playbooks/templates/rbac.yml.j2",
        "tests/unit/plugins/module_utils/config/test_config_plan.py",
    ):
        assert shipped in names, shipped


def test_installed_copy_is_the_one_used(installed):
    _, collections, env, work = installed
    listing = subprocess.run(
        ["ansible-galaxy", "collection", "list", "homelab.litellm"],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        check=True,
    ).stdout
    assert str(collections) in listing
    assert str(REPO_ROOT) not in listing


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_every_module(installed, module):
    _, collections, env, work = installed
    result = subprocess.run(
        ["ansible-doc", f"homelab.litellm.{module}"], capture_output=True, text=True, env=env, cwd=work
    )
    assert result.returncode == 0, result.stderr
    assert str(collections) in result.stdout
    for section in ("OPTIONS", "ATTRIBUTES", "EXAMPLES", "RETURN VALUES"):
        assert section in result.stdout, section
    assert "check_mode" in result.stdout and "diff_mode" in result.stdout


@pytest.mark.parametrize("name", FILTERS)
def test_ansible_doc_renders_every_filter(installed, name):
    _, _, env, work = installed
    result = subprocess.run(
        ["ansible-doc", "-t", "filter", f"homelab.litellm.{name}"], capture_output=True, text=True, env=env, cwd=work
    )
    assert result.returncode == 0, result.stderr


def test_role_argument_spec_is_checked_from_the_installed_copy(installed):
    _, collections, env, work = installed
    doc = subprocess.run(
        ["ansible-doc", "-t", "role", "homelab.litellm.litellm"], capture_output=True, text=True, env=env, cwd=work
    )
    assert doc.returncode == 0, doc.stderr
    assert "litellm_api_keys" in doc.stdout
    playbook = work / "bad-vars.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  roles:\n"
        "    - role: homelab.litellm.litellm\n      vars:\n        litellm_rollout_timeout: soon\n"
    )
    result = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
    )
    assert result.returncode != 0
    assert "Validating arguments against arg spec" in result.stdout
    assert "litellm_rollout_timeout" in result.stdout
    # The spec that refused it is the installed copy's, not this working tree's.
    origin = str(collections / "ansible_collections" / "homelab" / "litellm" / "roles" / "litellm")
    assert origin in result.stdout + result.stderr, result.stdout[-2000:]
    assert str(REPO_ROOT / "roles") not in result.stdout + result.stderr
