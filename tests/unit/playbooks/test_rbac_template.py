# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/templates/rbac.yml.j2 against plugins/module_utils/_access.py: the Role grants what a run asks for.

playbooks/rbac.yml feeds the template from litellm_plan's result (check mode, the keys' names, no
provider or access check), so this is the path under test: litellm_plan through main() on a fake
cluster, its ``target`` combined with the run lock, the record and the ServiceAccount as the
playbook combines them, the template rendered with Jinja2 and Ansible's set filters, and the Role's
rules expanded into single rights. They must equal ``_access.rights_needed`` for a run with work on
the same target, built as litellm_plan's access check builds it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from ansible_collections.homelab.litellm.plugins.module_utils import _access as access
from ansible_collections.homelab.litellm.plugins.modules import litellm_plan
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    STORY_CONFIG,
    STORY_SECRETS,
    litellm_deployment,
    secret_object,
    seed_story,
)
from ansible_collections.homelab.litellm.tests.unit.playbooks import rbac_render
from ansible_collections.homelab.litellm.tests.unit.playbooks.rbac_render import render_template

ACCOUNT = "litellm-ansible"  # rbac.yml's litellm_rbac_service_account
VAULT_KEYS = {
    "GROQ_API_KEY": "gsk_" + "Rb4c" * 12,
    "GEMINI_API_KEY": "AIza" + "Rb4c" * 8,
    "MISTRAL_API_KEY": "Rb4c" * 8,
}
# What rbac.yml gives litellm_plan besides namespace and deployment (its module_defaults).
RBAC_PLAN_ARGS = {
    "namespace": "ml",
    "deployment": "litellm",
    "api_keys": VAULT_KEYS,
    "extra_keys": sorted(VAULT_KEYS),
    "provider_check": "off",
    "access_check": False,
}
RUN_WITH_WORK = {"config": True, "secret": True, "rollout": True, "verify": True, "record": True}


def role_of(rendered: str) -> dict:
    return next(doc for doc in yaml.safe_load_all(rendered) if doc["kind"] == "Role")


def granted(role: dict) -> set:
    """Every (verb, group, resource, subresource, name) the Role's rules allow."""
    rights = set()
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                name_of, _slash, subresource = resource.partition("/")
                for verb in rule["verbs"]:
                    for name in rule.get("resourceNames") or [None]:
                        rights.add((verb, group, name_of, subresource or None, name))
    return rights


def plan_for_rbac(run_module, **params) -> dict:
    result = run_module(litellm_plan, dict(RBAC_PLAN_ARGS, **params), check_mode=True)
    if result.rc != 0:  # not an AssertionError: the xfail tests expect only their own assertion to fail
        raise RuntimeError(result.get("msg"))
    return result


def rbac_values(plan: dict) -> dict:
    """``__rbac`` as rbac.yml builds it: the plan's target, the lease, the record and the account."""
    return dict(plan["target"], lease=plan["lock"]["name"], record=plan["known_good"]["name"], account=ACCOUNT)


def rights_of_a_run(plan: dict, service_given: bool) -> set:
    """What litellm_plan's access check asks for in a run with work, on the target rbac.yml planned."""
    target = dict(
        plan["target"],
        record=plan["known_good"]["name"],
        lease=plan["lock"]["name"],
        secrets_written=plan["target"]["secrets"],
        discover_service=not service_given,
    )
    return {tuple(right[:5]) for right in access.rights_needed(target, RUN_WITH_WORK)}


def helm_chart(cluster):
    """As the official chart wires it: the master key from Secret litellm-masterkey (secretKeyRef as
    PROXY_MASTER_KEY), the operator's litellm-secrets through environmentSecrets (envFrom)."""
    deployment = litellm_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "PROXY_MASTER_KEY", "valueFrom": {"secretKeyRef": {"name": "litellm-masterkey", "key": "masterkey"}}}
    ]
    config = STORY_CONFIG.replace("os.environ/LITELLM_MASTER_KEY", "os.environ/PROXY_MASTER_KEY")
    operator_secret = {k: v for k, v in STORY_SECRETS.items() if k != "LITELLM_MASTER_KEY"}
    seed_story(cluster, config, operator_secret, deployment=deployment)
    cluster.add("secrets", secret_object({"masterkey": STORY_SECRETS["LITELLM_MASTER_KEY"]}, name="litellm-masterkey"))


def keys_in_a_second_secret(cluster):
    """envFrom litellm-secrets, then provider-keys: new keys go to the later one, the first is only read."""
    deployment = litellm_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"].append({"secretRef": {"name": "provider-keys"}})
    seed_story(cluster, STORY_CONFIG, STORY_SECRETS, deployment=deployment)
    cluster.add("secrets", secret_object({}, name="provider-keys"))


def story(cluster):
    seed_story(cluster, STORY_CONFIG, STORY_SECRETS)


@pytest.mark.parametrize(
    "install, written, read_only",
    [
        (story, ["litellm-secrets"], []),
        (helm_chart, ["litellm-secrets"], ["litellm-masterkey"]),
        (keys_in_a_second_secret, ["provider-keys"], ["litellm-secrets"]),
    ],
    ids=["story", "helm-chart", "keys-in-a-second-secret"],
)
def test_the_role_grants_exactly_the_rights_a_run_asks_for(cluster, run_module, install, written, read_only):
    install(cluster)
    plan = plan_for_rbac(run_module)
    assert plan["work"]["any"] and plan["target"]["secrets"] == written
    role = role_of(render_template(rbac_values(plan)))
    assert granted(role) == rights_of_a_run(plan, service_given=False)
    # The Secrets the keys go to are writable, the others the pod loads only readable.
    updatable = {name for verb, _g, resource, _s, name in granted(role) if resource == "secrets" and verb == "update"}
    assert updatable == set(written) | {plan["known_good"]["name"]}
    readable = {name for verb, _g, resource, _s, name in granted(role) if resource == "secrets" and verb == "get"}
    assert readable - updatable == set(read_only)


def test_with_the_service_given_the_role_grants_no_service_listing(cluster, run_module):
    story(cluster)
    plan = plan_for_rbac(run_module, service="litellm", port=4000)
    assert granted(role_of(render_template(rbac_values(plan)))) == rights_of_a_run(plan, service_given=True)


def test_the_role_renders_the_same_in_every_process(cluster, run_module):
    story(cluster)
    rbac = json.dumps(rbac_values(plan_for_rbac(run_module)))
    renderings = set()
    for seed in range(6):
        env = dict(os.environ, PYTHONHASHSEED=str(seed))
        renderings.add(
            subprocess.run(
                [sys.executable, rbac_render.__file__, rbac], capture_output=True, text=True, check=True, env=env
            ).stdout
        )
        if len(renderings) > 1:
            break
    assert len(renderings) == 1, "the Role differs between processes"


def test_a_set_of_two_deployments_gets_every_members_lease_and_record(cluster, run_module):
    """litellm-backend mounts the same ConfigMap: the run takes both Leases and writes both records, so
    rbac.yml creates and grants both, and the Role is still exactly what the run asks for."""
    story(cluster)
    backend = litellm_deployment("litellm-backend")
    backend["spec"]["selector"] = {"matchLabels": {"app": "backend"}}
    backend["spec"]["template"]["metadata"]["labels"] = {"app": "backend"}
    cluster.add("deployments", backend)
    plan = plan_for_rbac(run_module)
    assert plan["target"]["leases"] == ["homelab-litellm-litellm", "homelab-litellm-litellm-backend"]
    rendered = render_template(rbac_values(plan))
    created = sorted((doc["kind"], doc["metadata"]["name"]) for doc in yaml.safe_load_all(rendered) if doc)
    assert [entry for entry in created if entry[0] in ("Lease", "Secret")] == [
        ("Lease", "homelab-litellm-litellm"),
        ("Lease", "homelab-litellm-litellm-backend"),
        ("Secret", "litellm-backend-known-good"),
        ("Secret", "litellm-known-good"),
    ]
    records = [doc for doc in yaml.safe_load_all(rendered) if doc and doc["kind"] == "Secret"]
    assert {doc["metadata"]["labels"]["homelab.litellm/known-good-of"] for doc in records} == {
        "litellm",
        "litellm-backend",
    }
    role = role_of(rendered)
    target = dict(
        plan["target"],
        record=plan["known_good"]["name"],
        lease=plan["lock"]["name"],
        secrets_written=plan["target"]["secrets"],
        discover_service=True,
    )
    assert granted(role) == {tuple(right[:5]) for right in access.rights_needed(target, RUN_WITH_WORK)}
    held = {name for verb, _g, resource, _s, name in granted(role) if resource == "leases" and verb == "update"}
    assert held == set(plan["target"]["leases"])
