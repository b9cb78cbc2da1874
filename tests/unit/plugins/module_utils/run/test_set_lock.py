# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests: one run at a time per LiteLLM *set* (every Deployment that reads the config), whichever
member a run names; and the set's record, written for every member, so a run naming the backend
compares with and rolls back to what a run naming the gateway would.

The cluster is test_readers.py's: the story's litellm, plus litellm-backend on the same ConfigMap.
"""

from __future__ import annotations

import json

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _lock, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _pod_sources as pods
from ansible_collections.homelab.litellm.plugins.module_utils.run import transaction as tx
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    NAMESPACE,
    OTHER_HOLDER,
)

from .test_readers import add_backend, patched
from .test_transaction import (  # noqa: F401  # pylint: disable=unused-import
    GPT_OSS,
    GROQ_KEY,
    GROQ_MODEL,
    STORY_CONFIG,
    STORY_MODELS,
    FakeLiteLLM,
    add_groq,
    after_groq_was_added,
    fixture_settled,
)

LEASES = ["homelab-litellm-litellm", "homelab-litellm-litellm-backend"]
LLAMA_MODEL = "groq/llama-3.3-70b-versatile"
LLAMA = {"model_name": LLAMA_MODEL, "litellm_params": {"model": LLAMA_MODEL, "api_key": "os.environ/GROQ_API_KEY"}}


class SetLiteLLM(FakeLiteLLM):
    """FakeLiteLLM that also lists the second model the other run adds."""

    def __call__(self, method, path, headers, body, port):
        if path == "/v1/models":
            return 200, json.dumps({"data": [{"id": n} for n in STORY_MODELS + [GROQ_MODEL, LLAMA_MODEL]]}).encode()
        return super().__call__(method, path, headers, body, port)


@pytest.fixture(name="litellm")
def fixture_litellm(cluster, quick_rollouts):
    cluster.proxy = SetLiteLLM()
    return cluster.proxy


def run_naming(cluster, deployment, request, **settings):
    options = dict(provider_check="off", lock_timeout=0)
    if deployment != "litellm":
        options.update(service="litellm", port=4000)  # verified through the Service that serves inference
    options.update(settings)
    return tx.Transaction(
        cluster.kube(), tx.Settings(namespace=NAMESPACE, deployment=deployment, request=request, **options), set()
    )


def add_llama():
    return pl.Request(models=[LLAMA], api_keys={"GROQ_API_KEY": GROQ_KEY})


def holders(cluster):
    return [((cluster.get("leases", name) or {}).get("spec") or {}).get("holderIdentity") for name in LEASES]


def models_of(cluster):
    text = cluster.get("configmaps", "litellm-config")["data"]["config.yaml"]
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.lstrip().startswith("- model_name:")]


def test_a_run_naming_the_backend_is_kept_out_while_a_run_naming_the_gateway_holds_the_set(settled, litellm):
    add_backend(settled)
    first = run_naming(settled, "litellm", add_groq())
    seen = {}

    def second_run_meanwhile(cluster):
        seen["holders"] = holders(cluster)
        before = len(cluster.writes())
        with pytest.raises(_lock.LockError) as caught:
            run_naming(cluster, "litellm-backend", add_llama()).run()
        seen["error"] = str(caught.value)
        seen["writes"] = [(r.method, r.resource, r.name) for r in cluster.writes()[before:]]

    after_groq_was_added(settled, second_run_meanwhile)
    first.run()
    assert seen["holders"] == [first.lock.holder] * 2, "the first run holds the Lease of every member"
    assert "holds its lock (Lease homelab-litellm-litellm)" in seen["error"]
    assert first.lock.holder in seen["error"]
    assert seen["writes"] == [], "the second run wrote nothing, not even a Lease"
    assert holders(settled) == [None, None]
    # Once the set is free, the run naming the backend plans from what the first left: it keeps GROQ_MODEL.
    result = run_naming(settled, "litellm-backend", add_llama()).run()
    assert result["changed"] is True
    assert GROQ_MODEL in models_of(settled) and LLAMA_MODEL in models_of(settled)
    assert holders(settled) == [None, None]


def test_an_older_run_holding_only_the_backends_lease_keeps_a_run_naming_the_gateway_out(settled, litellm):
    add_backend(settled)
    settled.add(
        "leases",
        {
            "metadata": {"name": LEASES[1], "namespace": NAMESPACE},
            "spec": {"holderIdentity": OTHER_HOLDER, "leaseDurationSeconds": 15, "renewTime": _lock.micro_time(9e9)},
        },
    )
    with pytest.raises(_lock.LockError, match="%s holds its lock \\(Lease %s\\)" % (OTHER_HOLDER, LEASES[1])):
        run_naming(settled, "litellm", add_groq()).run()
    assert [r.resource for r in settled.writes()] == ["leases", "leases"], "its own Lease taken, then given back"
    assert holders(settled) == [None, OTHER_HOLDER]
    assert patched(settled) == []


def test_every_members_record_holds_the_sets_state_and_a_run_naming_the_backend_reads_it(settled, litellm):
    add_backend(settled)
    result = run_naming(settled, "litellm", add_groq()).run()
    assert result["target"]["leases"] == LEASES
    assert result["target"]["records"] == ["litellm-backend-known-good", "litellm-known-good"]
    gateway = kg.read_record(settled.get("secrets", "litellm-known-good"))
    backend = kg.read_record(settled.get("secrets", "litellm-backend-known-good"))
    for field in ("config_text", "configmap", "config_key", "keys", "models", "verified", "run"):
        assert getattr(backend, field) == getattr(gateway, field), field
    assert GROQ_MODEL in backend.models and backend.verified == "true"
    # Each with what its own pod template loads: no drift for a run naming either.
    for name, record in (("litellm", gateway), ("litellm-backend", backend)):
        drift = pods.record_drift(record, settled.get("deployments", name))
        assert not drift["added"] and not drift["removed"], name
    # A run naming the backend with the same request finds nothing to do and nothing unverified.
    again = run_naming(settled, "litellm-backend", add_groq()).run()
    assert again["changed"] is False and again["would_change"] is False
    assert not again["unverified"]["config"] and not again["unverified"]["keys"]
    assert again["known_good"]["recorded_at"] == backend.recorded_at


def test_a_set_of_one_keeps_its_lease_and_record(settled, litellm):
    result = run_naming(settled, "litellm", add_groq()).run()
    assert result["target"]["leases"] == [LEASES[0]]
    assert result["target"]["records"] == ["litellm-known-good"]
    assert settled.get("leases", LEASES[1]) is None and settled.get("secrets", "litellm-backend-known-good") is None
    assert GPT_OSS["model_name"] in models_of(settled)


def test_a_per_step_module_holding_the_backends_lease_keeps_a_run_naming_the_gateway_out(settled, litellm):
    # Per-step modules (and older runs) take the Lease of the one Deployment they name; a set run takes it too.
    add_backend(settled)
    with _run.module_lock(settled.kube(), NAMESPACE, "litellm-backend", timeout=0) as fence:
        fence()
        with pytest.raises(_lock.LockError, match="holds its lock \\(Lease %s\\)" % LEASES[1]):
            run_naming(settled, "litellm", add_groq()).run()
        assert holders(settled)[0] is None
    assert patched(settled) == [] and holders(settled) == [None, None]


def test_verify_mode_records_the_set_in_every_members_record(settled, litellm):
    add_backend(settled)
    synced = pl.Request(models=[], api_keys={})
    result = run_naming(settled, "litellm", synced, mode="verify").run()
    assert result["recorded"] is True, "litellm-backend had no record yet"
    assert [(r.method, r.name) for r in settled.writes("secrets")] == [("POST", None), ("PUT", "litellm-known-good")]
    backend = kg.read_record(settled.get("secrets", "litellm-backend-known-good"))
    gateway = kg.read_record(settled.get("secrets", "litellm-known-good"))
    assert (backend.config_text, backend.models, backend.verified) == (gateway.config_text, gateway.models, "true")
    assert holders(settled) == [None, None]
    for name in ("litellm", "litellm-backend"):
        again = run_naming(settled, name, synced, mode="verify").run()
        assert again["recorded"] is False, name
