"""An operator's first day (issue 19) on the sandbox: no silent no-op, and connection errors that say what to fix.

- The playbooks run on ``litellm_hosts`` (default: the group ``litellm``). An inventory without that
  group makes rotate_keys.yml fail, naming the variable and the group, before anything is written
  (Ansible itself only warns and exits 0 when a play matches no host); ``-e litellm_hosts=<group>``
  runs the same playbook on the operator's own group.
- A wrong kubeconfig path and a wrong context: the message names the path (not ********) and the
  context, the variable to fix, and "Nothing was written"; the cluster is untouched.
"""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.litellm

NO_HOSTS = "No host of this inventory"


def versions(sandbox) -> dict[str, str]:
    return {
        kind: sandbox.resource_version(kind, name)
        for kind, name in (("configmap", "litellm-config"), ("secret", "litellm-secrets"), ("deployment", "litellm"))
    }


def said(result) -> str:
    return " ".join((result.stdout + result.stderr).split())


def inventory_with_group(tmp_path, group: str):
    """The sandbox inventory with its hosts in the group ``group`` instead of ``litellm``."""
    inventory = tmp_path / f"inventory-{group}"
    shutil.copytree(REPO_ROOT / "inventory" / "sandbox", inventory)
    hosts = yaml.safe_load((inventory / "hosts.yml").read_text())
    (inventory / "hosts.yml").write_text(yaml.safe_dump({group: hosts.pop("litellm")}))
    return inventory


def test_rotate_keys_on_an_inventory_without_the_group_fails_naming_the_variable(sandbox, tmp_path):
    before = versions(sandbox)
    result = sandbox.playbook("rotate_keys.yml", "-i", str(inventory_with_group(tmp_path, "homelab")))
    text = said(result)
    assert result.returncode != 0, text[-3000:]
    assert NO_HOSTS in text
    assert "litellm_hosts=litellm" in text  # the variable and the group it defaults to
    assert "a group named litellm" in text and "-e litellm_hosts=<group or pattern>" in text
    assert "Nothing was written." in text
    assert "Rotate the provider keys" not in text  # the play itself never started
    assert versions(sandbox) == before


def test_litellm_hosts_names_the_operators_own_group(sandbox, tmp_path):
    inventory = inventory_with_group(tmp_path, "homelab")
    result = sandbox.playbook("site.yml", "-i", str(inventory), "-e", "litellm_hosts=homelab")
    assert result.returncode == 0, said(result)[-3000:]
    assert NO_HOSTS not in said(result)
    assert "groq/openai/gpt-oss-120b" in sandbox.config_text()


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (
            {"litellm_kubeconfig": "/nonexistent/litellm/kubeconfig"},
            [
                "Could not connect to Kubernetes with kubeconfig /nonexistent/litellm/kubeconfig "
                "(from litellm_kubeconfig",
                "set litellm_kubeconfig to the path of your kubeconfig",
            ],
        ),
        (
            {"litellm_context": "no-such-context"},
            [
                "Could not connect to Kubernetes with kubeconfig {kubeconfig} (from litellm_kubeconfig",
                "context no-such-context (from litellm_context",
                "That kubeconfig has no context no-such-context; its contexts: sandbox",
                "Set litellm_context to one of them",
            ],
        ),
    ],
    ids=["wrong-path", "wrong-context"],
)
def test_a_wrong_kubeconfig_or_context_says_what_to_fix_and_writes_nothing(sandbox, tmp_path, wrong, expected):
    before = versions(sandbox)
    extra = tmp_path / "wrong.yml"
    extra.write_text(yaml.safe_dump(wrong))
    result = sandbox.playbook("site.yml", "-e", f"@{extra}")
    text = said(result)
    assert result.returncode != 0, text[-3000:]
    for part in expected:
        assert part.format(kubeconfig=sandbox.kubeconfig) in text, text[-3000:]
    assert "Nothing was written." in text
    # Ansible masks a no_log value as ******** (here: the kubeconfig path); banners are lines of asterisks.
    unbannered = [
        line for line in (result.stdout + result.stderr).splitlines() if not line.startswith(("PLAY", "TASK"))
    ]
    assert "********" not in "\n".join(unbannered)
    assert versions(sandbox) == before
