"""The sandbox's demo vault password reaches only the sandbox (issue 19).

The README's vault commands for a new inventory, run from the repository root as the README implies
(so with the repository's ansible.cfg), must ask for the operator's own password, or use the
operator's own password file, and never encrypt or open a vault with the public demo password
(inventory/sandbox/vault-password.txt). ``--ask-vault-pass`` with a wrong password must fail, also for
a file the demo password would open. The commands run in a pseudo-terminal, as typed; no cluster is
needed: everything here happens before a connection.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, VAULT_PASSWORD, write_vault

BIN = REPO_ROOT / ".venv" / "bin"
DEMO_PASSWORD = VAULT_PASSWORD.read_text().strip()
OWN_PASSWORD = "the-operators-own-vault-password"
CONTENT = "vault_litellm_api_keys:\n  GROQ_API_KEY: gsk_a-real-key-of-the-operator\n"


def readme_commands() -> list[str]:
    """The README's two commands that set up a new inventory and its vault (Use it on your cluster)."""
    text = (REPO_ROOT / "README.md").read_text()
    copy = re.search(r"^cp -r inventory/example inventory/homelab\b.*$", text, re.M)
    create = re.search(r"^ansible-vault create inventory/homelab/group_vars/all/vault\.yml\b.*$", text, re.M)
    assert copy and create, "README.md no longer shows the commands this test runs"
    return [line.group(0).split("#")[0].strip() for line in (copy, create)]


def in_terminal(command: str, env: dict, answers: list[tuple[str, str]], timeout: float = 120) -> tuple[int, str]:
    """Run ``command`` (bash) in a pseudo-terminal from the repository root; answer each prompt in turn.

    ``answers``: (regex of the prompt, what to type). Returns (exit status, everything the terminal showed).
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty, where getpass() asks
        os.chdir(REPO_ROOT)
        os.execve("/bin/bash", ["/bin/bash", "-c", command], env)
    shown, pending, deadline = "", list(answers), time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096).decode(errors="replace")
            except OSError:  # the child closed the terminal: it ended
                break
            if not chunk:
                break
            shown += chunk
        if pending and re.search(pending[0][0], shown.split("\x00")[-1]):
            os.write(fd, (pending.pop(0)[1] + "\n").encode())
            shown += "\x00"  # answered: the next prompt must come after this point
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise AssertionError("no end after %ss; the terminal showed:\n%s" % (timeout, shown[-3000:]))
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.replace("\x00", "")


@pytest.fixture
def new_inventory(tmp_path):
    """A name for the operator's inventory under inventory/, removed afterwards; and the environment."""
    name = f"test-vault-{uuid.uuid4().hex[:8]}"
    editor = tmp_path / "editor.sh"
    editor.write_text(f"#!/bin/sh\nprintf '%s' '{CONTENT}' > \"$1\"\n")
    editor.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(PATH=f"{BIN}:{env['PATH']}", EDITOR=str(editor), ANSIBLE_NOCOLOR="1", TERM="dumb")
    yield name, env
    shutil.rmtree(REPO_ROOT / "inventory" / name, ignore_errors=True)


def opens_with(path: Path, password: str, env: dict) -> bool:
    secret = path.parent / f".pw-{uuid.uuid4().hex}"
    secret.write_text(password + "\n")
    try:
        viewed = subprocess.run(
            [str(BIN / "ansible-vault"), "view", "--vault-password-file", str(secret), str(path)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
    finally:
        secret.unlink()
    return viewed.returncode == 0 and "gsk_a-real-key-of-the-operator" in viewed.stdout


def test_readme_vault_create_asks_for_a_password_and_never_uses_the_demo_one(new_inventory):
    name, env = new_inventory
    copy, create = (command.replace("inventory/homelab", f"inventory/{name}") for command in readme_commands())
    subprocess.run(["/bin/bash", "-c", copy], check=True, cwd=REPO_ROOT, env=env)
    rc, shown = in_terminal(
        create, env, [(r"New Vault password: ?$", OWN_PASSWORD), (r"Confirm New Vault password: ?$", OWN_PASSWORD)]
    )
    assert rc == 0, shown
    assert "New Vault password" in shown
    vault = REPO_ROOT / "inventory" / name / "group_vars" / "all" / "vault.yml"
    assert vault.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256\n")  # no vault id label: the default id
    assert opens_with(vault, OWN_PASSWORD, env)
    assert not opens_with(vault, DEMO_PASSWORD, env)


def test_the_operators_own_password_file_is_the_one_used(new_inventory, tmp_path):
    """Before, the repository's vault_password_file came on top: 'The vault-ids default,default are available'."""
    name, env = new_inventory
    copy, create = (command.replace("inventory/homelab", f"inventory/{name}") for command in readme_commands())
    subprocess.run(["/bin/bash", "-c", copy], check=True, cwd=REPO_ROOT, env=env)
    own = tmp_path / "own-password.txt"
    own.write_text(OWN_PASSWORD + "\n")
    rc, shown = in_terminal(f"{create} --vault-password-file {own}", env, [])
    assert rc == 0, shown
    assert "vault-ids" not in shown and "password:" not in shown.lower()
    vault = REPO_ROOT / "inventory" / name / "group_vars" / "all" / "vault.yml"
    assert opens_with(vault, OWN_PASSWORD, env)
    assert not opens_with(vault, DEMO_PASSWORD, env)


def test_ask_vault_pass_with_a_wrong_password_fails_even_for_a_demo_encrypted_vault(new_inventory):
    """A vault the demo password opens (as the old ansible.cfg made them) is not opened with a wrong password."""
    name, env = new_inventory
    copy, _create = (command.replace("inventory/homelab", f"inventory/{name}") for command in readme_commands())
    subprocess.run(["/bin/bash", "-c", copy], check=True, cwd=REPO_ROOT, env=env)
    vault = REPO_ROOT / "inventory" / name / "group_vars" / "all" / "vault.yml"
    write_vault(vault, {"GROQ_API_KEY": "gsk_a-real-key-of-the-operator"})
    rc, shown = in_terminal(
        f"ansible-playbook -i inventory/{name} playbooks/site.yml --ask-vault-pass --check",
        env,
        [(r"Vault password: ?$", "a-wrong-password")],
    )
    assert rc != 0, shown
    assert "Decryption failed" in shown, shown[-3000:]
    assert "Merge the models" not in shown  # the role never ran
