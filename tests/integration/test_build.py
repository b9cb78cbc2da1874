"""The built collection, installed the way a user installs it, works on its own.

ansible-galaxy collection build (of a copy of this working tree with an untracked sandbox state
directory and stray files in it) -> only galaxy.yml's manifest allow-list in the tarball -> the
README's install commands into an empty home -> ansible-doc of every module and filter, and the
role's argument spec check, all from the installed copy (not this working tree).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = REPO_ROOT / ".venv" / "bin"
MODULES = sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("litellm_*.py"))
FILTERS = sorted(p.stem for p in (REPO_ROOT / "plugins" / "filter").glob("*.yml"))

# What galaxy.yml's manifest lets into the tarball (plus the MANIFEST.json and FILES.json the build writes).
SHIPPED_FILES = {"README.md", "LICENSE", "CHANGELOG.rst", "requirements.txt", "MANIFEST.json", "FILES.json"}
SHIPPED_DIRS = (
    "plugins/",
    "roles/",
    "playbooks/",
    "meta/",
    "docs/",
    "inventory/example/",
    "inventory/example-two-instances/",
)
SHIPPED_CHANGELOG = "changelogs/changelog.yaml"

# An operator's tree on a working day: a sandbox started with SANDBOX_DIR inside the checkout, a
# second one in the default place, notes, an editor's swap file, a built tarball.
STRAYS = {
    "my-sandbox/pki/ca.key": "-----BEGIN EC PRIVATE KEY-----\nstray\n-----END EC PRIVATE KEY-----\n",
    "my-sandbox/kubeconfig": "users: [{name: admin, user: {token: a-sandbox-admin-token}}]\n",
    "my-sandbox/valid-keys.json": '{"groq": ["gsk_aStrayProviderKey"]}\n',
    "my-sandbox/pods/litellm-abc/log": "LiteLLM: Proxy initialized\n",
    ".sandbox/kubeconfig": "users: [{name: admin, user: {token: another-token}}]\n",
    "notes.md": "GROQ_API_KEY=gsk_myRealKeyInANote\n",
    "todo.txt": "rotate keys\n",
    "roles/litellm/tasks/.main.yml.swp": "swap\n",
    "homelab-litellm-0.1.0.tar.gz": "an old build\n",
}


def shipped(name: str) -> bool:
    return (
        name in SHIPPED_FILES
        or name == SHIPPED_CHANGELOG
        or name.startswith(SHIPPED_DIRS)
        or name.rstrip("/") in {d.rstrip("/") for d in SHIPPED_DIRS} | {"changelogs", "inventory"}
    )


def clean_env(work: Path) -> dict:
    """An environment that cannot see this working tree: no repository ansible.cfg, an empty home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "K8S_AUTH_"))}
    home = work / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), ANSIBLE_CONFIG=str(work / "none.cfg"), PATH=f"{BIN}:{env['PATH']}")
    return env


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of this working tree, as it is (tracked or not), with the strays added."""
    tree = tmp_path_factory.mktemp("checkout") / "homelab.litellm"
    shutil.copytree(
        REPO_ROOT,
        tree,
        symlinks=True,
        ignore=shutil.ignore_patterns(".git", "build", ".pytest_cache", "__pycache__", ".sandbox"),
    )
    for name, text in STRAYS.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    return tree


@pytest.fixture(scope="module")
def built(tree, tmp_path_factory):
    """The tarball `make build` makes of that tree (into its build/), and its member names."""
    work = tmp_path_factory.mktemp("galaxy")
    (tree / "build").mkdir()
    subprocess.run(
        ["ansible-galaxy", "collection", "build", "--force", "--output-path", "build", "."],
        check=True,
        capture_output=True,
        text=True,
        cwd=tree,
        env=dict(clean_env(work), ANSIBLE_CONFIG=str(tree / "ansible.cfg")),
    )
    tarball = next((tree / "build").glob("homelab-litellm-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        return tarball, archive.getnames()


def readme_install_commands() -> list[str]:
    """The README's commands that install the built tarball (Use it on your cluster), without make and pip."""
    text = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"```sh\nmake build\b.*?\n(.*?)```", text, re.S)
    assert block, "README.md no longer shows `make build` and the install commands"
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith(("pip ", "make "))]


@pytest.fixture(scope="module")
def installed(tree, built, tmp_path_factory):
    """The README's install commands, run from the root of the (copied) repository, into an empty home."""
    work = tmp_path_factory.mktemp("install")
    env = clean_env(work)
    env.pop("ANSIBLE_CONFIG")  # the repository's own ansible.cfg applies, as for the operator
    commands = readme_install_commands()
    assert any(command.startswith("ansible-galaxy collection install") for command in commands), commands
    result = subprocess.run(
        ["/bin/bash", "-euc", "\n".join(commands)], capture_output=True, text=True, cwd=tree, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installed successfully" in result.stdout, result.stdout + result.stderr
    collections = Path(env["HOME"]) / ".ansible" / "collections"
    assert (collections / "ansible_collections" / "homelab" / "litellm" / "MANIFEST.json").is_file()
    # From here on: an environment that sees only that installed copy.
    env = clean_env(work)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    return built[0], collections, env, work


def test_tarball_ships_only_the_allow_list(built):
    _, names = built
    assert [name for name in names if not shipped(name)] == []
    for stray in STRAYS:
        assert stray not in names, stray
    for dev_only in ("ansible.cfg", "requirements-dev.txt", "requirements-redis.txt", ".ansible-lint", "tests/"):
        assert not [name for name in names if name.startswith(dev_only)], dev_only
    for expected in (
        "plugins/modules/litellm_config.py",
        "roles/litellm/meta/argument_specs.yml",
        "playbooks/site.yml",
        "playbooks/hosts_check.yml",
        "meta/runtime.yml",
        "README.md",
        "CHANGELOG.rst",
        "changelogs/changelog.yaml",
        "requirements.txt",
        "inventory/example/hosts.yml",
        "inventory/example-two-instances/hosts.yml",
        "playbooks/status.yml",
        "playbooks/rbac.yml",
        "playbooks/templates/rbac.yml.j2",
    ):
        assert expected in names, expected


def test_readme_install_runs_again_with_force(installed, tree):
    """`--force` over an installed copy replaces it (from the repository root it crashed on the symlink)."""
    tarball, collections, env, work = installed
    result = subprocess.run(
        ["ansible-galaxy", "collection", "install", "--force", str(tarball)],
        capture_output=True,
        text=True,
        cwd=Path(env["HOME"]),
        env={k: v for k, v in env.items() if k != "ANSIBLE_COLLECTIONS_PATH"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installed successfully" in result.stdout


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
