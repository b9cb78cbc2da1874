"""playbooks/rbac.yml on the default sandbox: a least-privilege identity that site.yml and rotate_keys.yml work with.

The admin runs rbac.yml (the sandbox inventory's kubeconfig); the playbooks then run with the
ServiceAccount's kubeconfig it wrote. Every rule of the Role is needed: without any one of them a
run with a change pending fails before it writes anything, naming the missing right and the rule
to add. Outside the Role kubectl gets 403. rbac.yml run again changes nothing, and no key value
appears in its output, the Role or the kubeconfig.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from types import SimpleNamespace

import pytest

from tests.conftest import KUBECTL, REPO_ROOT, decoded_base64, issued_key, leaked, vault_keys, write_vault

pytestmark = pytest.mark.litellm

ROLE = "homelab-litellm-litellm"
RECORD, KEY_SECRET = "litellm-known-good", "litellm-secrets"
SERVICE_ACCOUNT = "system:serviceaccount:ml:litellm-ansible"
# The Role's rules by their resources, as rbac.yml.j2 writes them for the story's Deployment.
RULES = [
    "deployments",
    "replicasets",
    "pods",
    "pods/log",
    "configmaps",
    "secrets",
    "leases",
    "services",
    "services/proxy",
]


class RightNotNamed(AssertionError):
    """The refusal does not name each missing right and the rule that grants it."""


class ReportedChanged(AssertionError):
    """rbac.yml reported a change on a run with nothing to change."""


class KeyInOutput(AssertionError):
    """A key value (or its base64, or a base64 blob holding it) is in the output."""


@pytest.fixture(scope="module")
def identity(sandbox, tmp_path_factory):
    """rbac.yml run once by the admin; the ServiceAccount's kubeconfig and the run's output."""
    kubeconfig = tmp_path_factory.mktemp("rbac") / "litellm.kubeconfig"
    result = sandbox.playbook("rbac.yml", "-e", f"litellm_rbac_kubeconfig_out={kubeconfig}")
    assert result.returncode == 0, result.stdout[-3000:]
    return SimpleNamespace(kubeconfig=kubeconfig, output=result.stdout + result.stderr)


def said(result) -> str:
    return " ".join((result.stdout + result.stderr).split())


def as_service_account(identity, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(identity.kubeconfig), *args], capture_output=True, text=True, timeout=60
    )


def run_as_service_account(sandbox, identity, name: str, *args: str):
    return sandbox.playbook(name, "-e", f"litellm_kubeconfig={identity.kubeconfig}", *args)


def rbac_again(sandbox, identity, seed: int, *args: str, json_output: bool = True):
    """rbac.yml as the admin, in an ansible-playbook whose string hashing uses ``seed``."""
    env = {"PYTHONHASHSEED": str(seed)}
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    return sandbox.playbook("rbac.yml", "-e", f"litellm_rbac_kubeconfig_out={identity.kubeconfig}", *args, env=env)


def changed_tasks(result) -> list[str]:
    report = json.loads(result.stdout[result.stdout.index("{") :])
    return [
        task["task"]["name"]
        for play in report["plays"]
        for task in play["tasks"]
        if task["hosts"]["localhost"].get("changed")
    ]


def secrets_rule(sandbox) -> dict:
    rules = [rule for rule in sandbox.get("role", ROLE)["rules"] if rule["resources"] == ["secrets"]]
    assert len(rules) == 1, rules
    return rules[0]


def union_order(seed: int) -> list[str]:
    """The order Ansible's union filter gives the template's written Secrets in a process with ``seed``."""
    code = (
        "import json; from ansible.plugins.filter.mathstuff import union; "
        f"print(json.dumps(union(None, [{KEY_SECRET!r}], [{RECORD!r}])))"
    )
    return json.loads(
        subprocess.run(
            [str(REPO_ROOT / ".venv/bin/python"), "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, PYTHONHASHSEED=str(seed)),
        ).stdout
    )


def seed_rendering(order: list[str], same: bool) -> int:
    """A PYTHONHASHSEED under which rbac.yml.j2 lists the written Secrets in ``order`` (or not, ``same=False``)."""
    return next(seed for seed in range(32) if (union_order(seed) == order) is same)


def versions(sandbox) -> dict[str, str]:
    return {
        f"{kind}/{name}": sandbox.resource_version(kind, name)
        for kind, name in (
            ("configmap", "litellm-config"),
            ("secret", KEY_SECRET),
            ("secret", RECORD),
            ("deployment", "litellm"),
            ("lease", "homelab-litellm-litellm"),
        )
    }


def all_secrets(sandbox) -> dict[str, str]:
    return dict(sandbox.secrets(), **{f"vault {name}": value for name, value in vault_keys().items()})


def new_groq_key(sandbox) -> str:
    """A new Groq key the fake provider accepts, next to the vault's."""
    key = issued_key("groq")
    sandbox.accept_keys("groq", [vault_keys()["GROQ_API_KEY"], sandbox.secret_value("GROQ_API_KEY"), key])
    return key


def test_rbac_writes_a_private_kubeconfig_and_no_key(sandbox, identity):
    assert identity.kubeconfig.stat().st_mode & 0o777 == 0o600
    whoami = as_service_account(identity, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    assert whoami.stdout == SERVICE_ACCOUNT, whoami.stderr
    secrets = all_secrets(sandbox)
    for text in (identity.output, json.dumps(sandbox.get("role", ROLE)), identity.kubeconfig.read_text()):
        assert leaked(text, secrets) == [] and leaked(decoded_base64(text), secrets) == []
    # The rules the removal test below covers, one by one, are all the Role has (Deployments have two:
    # get, patch and watch by name; list, which cannot be limited to names), and the optional HPA listing.
    assert sorted(r for rule in sandbox.get("role", ROLE)["rules"] for r in rule["resources"]) == sorted(
        RULES + ["deployments", "horizontalpodautoscalers"]
    )


def test_rbac_again_before_the_first_run_changes_nothing(sandbox, identity):
    result = rbac_again(sandbox, identity, seed_rendering(secrets_rule(sandbox)["resourceNames"], same=True))
    assert result.returncode == 0, result.stdout[-3000:]
    changed = changed_tasks(result)
    if changed:
        raise ReportedChanged(changed)


def test_site_yml_as_the_service_account(sandbox, identity):
    first = run_as_service_account(sandbox, identity, "site.yml")
    assert first.returncode == 0, first.stdout[-3000:]
    assert re.search(r"changed=[1-9]", first.stdout)
    for name, value in vault_keys().items():
        assert sandbox.secret_value(name) == value
    second = run_as_service_account(sandbox, identity, "site.yml")
    assert second.returncode == 0, second.stdout[-3000:]
    assert "changed=0" in second.stdout
    assert leaked(said(first) + said(second), all_secrets(sandbox)) == []


def test_rbac_again_changes_nothing(sandbox, identity):
    """Run in a process that renders the Role's Secret names in the order they have now."""
    result = rbac_again(sandbox, identity, seed_rendering(secrets_rule(sandbox)["resourceNames"], same=True))
    assert result.returncode == 0, result.stdout[-3000:]
    assert changed_tasks(result) == []


def test_rbac_again_from_another_process_changes_nothing(sandbox, identity):
    rule_before = secrets_rule(sandbox)
    result = rbac_again(sandbox, identity, seed_rendering(rule_before["resourceNames"], same=False))
    assert result.returncode == 0, result.stdout[-3000:]
    rule_after = secrets_rule(sandbox)
    assert sorted(rule_after["resourceNames"]) == sorted(rule_before["resourceNames"])
    assert rule_after["verbs"] == rule_before["verbs"]
    changed = changed_tasks(result)
    if changed:
        raise ReportedChanged(changed, rule_before["resourceNames"], rule_after["resourceNames"])


def test_rbac_again_verbose_prints_no_key(sandbox, identity):
    result = rbac_again(
        sandbox, identity, seed_rendering(secrets_rule(sandbox)["resourceNames"], same=True), "-v", json_output=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
    text = result.stdout + result.stderr
    secrets = all_secrets(sandbox)
    found = leaked(text, secrets) + leaked(decoded_base64(text), secrets)
    if found:
        raise KeyInOutput(sorted(set(found)))


def test_rotation_as_the_service_account(sandbox, identity, tmp_path):
    new_key = new_groq_key(sandbox)
    generation = sandbox.generation()
    vault = write_vault(tmp_path / "new.yml", dict(vault_keys(), GROQ_API_KEY=new_key))
    result = run_as_service_account(sandbox, identity, "rotate_keys.yml", "-e", f"@{vault}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert sandbox.secret_value("GROQ_API_KEY") == new_key
    assert sandbox.generation() > generation
    assert leaked(said(result), dict(all_secrets(sandbox), new=new_key)) == []


def expected_naming(rule: dict) -> list[str]:
    """For each right the rule grants: how the refusal names it, and the rule it says to add."""
    texts = []
    for group in rule["apiGroups"]:
        for resource in rule["resources"]:
            for verb in rule["verbs"]:
                for name in rule.get("resourceNames") or [None]:
                    right = f"{verb} {resource}" + (f" ({group})" if group else "") + (f' "{name}"' if name else "")
                    names = f", resourceNames: [{name}]" if name else ""
                    texts.append(f"{right} - needed to")
                    texts.append(f'rule: {{apiGroups: ["{group}"], resources: [{resource}]{names}, verbs: [{verb}]}}')
    return texts


def role_manifest(role: dict, without: str | None = None) -> dict:
    """The Role to ``kubectl replace`` with, less the rule on ``without``."""
    metadata = {
        key: value
        for key, value in role["metadata"].items()
        if key not in ("resourceVersion", "uid", "creationTimestamp")
    }
    rules = [rule for rule in role["rules"] if rule["resources"] != [without]]
    return dict(role, metadata=metadata, rules=rules)


@pytest.mark.parametrize("resource", RULES)
def test_without_one_rule_a_run_is_refused_before_writing_naming_it(sandbox, identity, tmp_path, resource):
    role = sandbox.get("role", ROLE)
    rule = next(rule for rule in role["rules"] if rule["resources"] == [resource])
    vault = write_vault(tmp_path / "pending.yml", dict(vault_keys(), GROQ_API_KEY=new_groq_key(sandbox)))
    before, generation = versions(sandbox), sandbox.generation()
    sandbox.kubectl("replace", "-f", "-", input=json.dumps(role_manifest(role, without=resource)))
    try:
        result = run_as_service_account(sandbox, identity, "site.yml", "-e", f"@{vault}")
    finally:
        sandbox.kubectl("replace", "-f", "-", input=json.dumps(role_manifest(role)))
    text = said(result)
    assert result.returncode != 0
    assert versions(sandbox) == before
    assert sandbox.generation() == generation
    missing = [expected for expected in ["Nothing was written."] + expected_naming(rule) if expected not in text]
    if missing:
        raise RightNotNamed(missing, re.findall(r"(?:Module failed|msg): (.{0,400})", text)[:1])


def test_without_the_hpa_rule_a_run_goes_on_and_says_so(sandbox, identity, tmp_path):
    """Listing HPAs is the one optional right: without it a rollout waits for spec.replicas, said as a warning."""
    role = sandbox.get("role", ROLE)
    sandbox.kubectl("replace", "-f", "-", input=json.dumps(role_manifest(role, without="horizontalpodautoscalers")))
    try:
        result = run_as_service_account(sandbox, identity, "site.yml", "-e", "litellm_rollout_force=true")
    finally:
        sandbox.kubectl("replace", "-f", "-", input=json.dumps(role_manifest(role)))
    assert result.returncode == 0, said(result)[-3000:]
    assert "list horizontalpodautoscalers (autoscaling)" in said(result)


@pytest.fixture(scope="module")
def unrelated_secret(sandbox):
    sandbox.kubectl("-n", "ml", "create", "secret", "generic", "unrelated", "--from-literal=token=not-for-litellm")
    return "unrelated"


FORBIDDEN = {
    "get secrets -n kube-system": 'cannot list resource "secrets" in API group "" in the namespace "kube-system"',
    "get secrets -n ml": 'cannot list resource "secrets" in API group "" in the namespace "ml"',
    "get secret unrelated -n ml -o yaml": 'cannot get resource "secrets"',
    "get configmaps -n default": 'cannot list resource "configmaps"',
    # The Role grants update (PUT) on the ConfigMap, which is what the run uses; not patch.
    """patch configmap litellm-config -n ml -p '{"metadata": {"labels": {"x": "y"}}}'""": "cannot patch resource",
    "create rolebinding more --clusterrole edit --serviceaccount ml:default": 'cannot create resource "rolebindings"',
    "delete deployment litellm -n ml": 'cannot delete resource "deployments"',
}


@pytest.mark.parametrize("command", list(FORBIDDEN))
def test_kubectl_outside_the_role_is_forbidden(sandbox, identity, unrelated_secret, command):
    result = as_service_account(identity, *shlex.split(command))
    assert result.returncode != 0
    assert f'is forbidden: User "{SERVICE_ACCOUNT}" {FORBIDDEN[command]}' in result.stderr, result.stderr
    assert sandbox.get("deployment", "litellm")["metadata"]["name"] == "litellm"


def test_kubectl_within_the_role_reads_what_a_run_reads(sandbox, identity):
    """The Role grants get on the Secret the keys go to (the run reads it for the restart digest and the
    master key), so the ServiceAccount can read that whole Secret, DATABASE_URL included."""
    assert {"get", "update"} <= set(secrets_rule(sandbox)["verbs"])
    secret = as_service_account(identity, "-n", "ml", "get", "secret", KEY_SECRET, "-o", "json")
    assert secret.returncode == 0, secret.stderr
    assert "DATABASE_URL" in json.loads(secret.stdout)["data"]
    assert as_service_account(identity, "-n", "ml", "get", "configmap", "litellm-config").returncode == 0
