# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/run/transaction.py (and the rollback it ends in): one run, as one
transaction, against the in-memory API server and a fake LiteLLM behind its Service.

The cluster starts settled: LiteLLM runs the story's config and Secret, and the record of that state
holds OPENAI_API_KEY. A run adds Groq (its model and key). Every failure must put back exactly what this
run wrote, and say the original cause first.
"""

from __future__ import annotations

import json
import re
import signal

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _lock, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from ansible_collections.homelab.litellm.plugins.module_utils.run import transaction as tx
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    NAMESPACE,
    OTHER_HOLDER,
    STORY_CONFIG,
    STORY_SECRETS,
    b64,
    litellm_deployment,
    running_digest,
    secret_object,
    seed_story,
    settled_story,
    unb64,
)

GROQ_KEY = "gsk_" + "Tr4n" * 12
OPENAI_NEW = "sk-rotated-" + "9d1e" * 10
GROQ_MODEL = "groq/openai/gpt-oss-120b"
GPT_OSS = {"model_name": GROQ_MODEL, "litellm_params": {"model": GROQ_MODEL, "api_key": "os.environ/GROQ_API_KEY"}}
STORY_MODELS = ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]
LEASE = "homelab-litellm-litellm"
RECORDED = "Put back the last verified state (recorded 2026-12-01T10:00:00Z)"
PUT_BACK_ALL = (
    RECORDED + ": ConfigMap ml/litellm-config, Secret ml/litellm-secrets (the verified values of GROQ_API_KEY). "
    "LiteLLM runs it again and serves 4 models."
)
"""The end of the message when the config and the added key were put back (the record has no GROQ_API_KEY)."""
KEY_REJECTED = json.dumps(
    {"error": {"message": "litellm.AuthenticationError: GroqException - Invalid API Key", "code": "401"}}
).encode()


class FakeLiteLLM:
    """LiteLLM behind its Service: ready, lists every model, answers a chat unless the model is rejected."""

    def __init__(self):
        self.rejected = set()
        self.chats = []

    def __call__(self, method, path, headers, body, port):
        if path == "/v1/models":
            return 200, json.dumps({"data": [{"id": name} for name in STORY_MODELS + [GROQ_MODEL]]}).encode()
        if path == "/v1/chat/completions":
            self.chats.append(body["model"])
            if body["model"] in self.rejected:
                return 401, KEY_REJECTED
            return 200, json.dumps({"model": body["model"], "choices": [{"message": {"content": "Hi"}}]}).encode()
        return 200, b'{"status": "healthy"}'


@pytest.fixture(name="litellm")
def fixture_litellm(cluster, quick_rollouts):
    cluster.proxy = FakeLiteLLM()
    return cluster.proxy


@pytest.fixture(name="settled")
def fixture_settled(cluster, litellm):
    settled_story(cluster, record=False)
    keys = {"OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY", STORY_SECRETS["OPENAI_API_KEY"])}
    record = kg.KnownGood(
        STORY_CONFIG, "litellm-config", "config.yaml", keys, STORY_MODELS, "true", "2026-12-01T10:00:00Z", "r0"
    )
    cluster.add("secrets", kg.record_body(NAMESPACE, "litellm", record))
    return cluster


def add_groq(**request):
    return pl.Request(**dict(dict(models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY}), **request))


def transaction(cluster, request=None, **settings):
    options = dict(provider_check="off", lock_timeout=0)
    options.update(settings)
    return tx.Transaction(
        cluster.kube(),
        tx.Settings(namespace=NAMESPACE, deployment="litellm", request=request or add_groq(), **options),
        set(),
    )


def failure_of(run):
    with pytest.raises(_run.RunFailure) as caught:
        run.run()
    return caught.value


def own_writes(cluster):
    """This run's writes apart from the Lease's: (method, resource, name)."""
    return [(r.method, r.resource, r.name) for r in cluster.writes() if r.resource != "leases"]


def live_config(cluster):
    return cluster.get("configmaps", "litellm-config")["data"]["config.yaml"]


def live_key(cluster, key, secret="litellm-secrets"):
    value = cluster.get("secrets", secret)["data"].get(key)
    return None if value is None else unb64(value)


def released(cluster):
    return cluster.get("leases", LEASE)["spec"]["holderIdentity"] is None


def after_groq_was_added(cluster, hook):
    """``hook(cluster)`` once, right before this run restarts LiteLLM (config and key written)."""

    done = []

    def before_the_patch(cluster_, request):
        if request.resource == "deployments" and request.method == "PATCH" and not done:
            done.append(request)
            hook(cluster_)
        return bool(done)

    cluster.on_write(before_the_patch)


CONFIG_AND_KEY = [
    ("PUT", "configmaps", "litellm-config"),
    ("PUT", "secrets", "litellm-secrets"),
    ("PATCH", "deployments", "litellm"),
]


# -- a run with work, a run without, check mode ----------------------------------------------------


def test_a_run_with_work_writes_restarts_verifies_records_and_releases(settled, litellm):
    run = transaction(settled)
    result = run.run()
    assert own_writes(settled) == CONFIG_AND_KEY + [("PUT", "secrets", "litellm-known-good")]
    writes = settled.writes()
    assert (writes[0].method, writes[0].resource) == ("POST", "leases")
    for index, request in enumerate(writes):
        if request.resource != "leases":
            assert writes[index - 1].resource == "leases", "every write is fenced by a renewal: %r" % request
    assert released(settled) and writes[-1].resource == "leases"
    assert GROQ_MODEL in live_config(settled) and live_key(settled, "GROQ_API_KEY") == GROQ_KEY
    assert rt.template_annotations(settled.get("deployments", "litellm"))[rt.DIGEST_ANNOTATION] == (
        running_digest(live_config(settled), dict(STORY_SECRETS, GROQ_API_KEY=GROQ_KEY))
    )
    assert litellm.chats == [GROQ_MODEL]
    record = kg.read_record(settled.get("secrets", "litellm-known-good"))
    assert (record.verified, record.config_text, record.models) == (
        "true",
        live_config(settled),
        STORY_MODELS + [GROQ_MODEL],
    )
    assert record.keys["GROQ_API_KEY"] == ("litellm-secrets", "GROQ_API_KEY", GROQ_KEY)
    assert record.run == run.run_token and run.lock.holder.endswith("run=" + run.run_token)
    assert (result["changed"], result["recorded"], result["restarted"]) == (True, True, True)
    assert [step["step"] for step in result["steps"]] == [
        "plan", "preflight", "lock", "observe", "config", "keys", "rollout", "verify", "record"
    ]  # fmt: skip
    assert re.fullmatch(
        r"added 1 model, added GROQ_API_KEY, restarted in \d+\.\d s, verified 1 model in \d+\.\d s", result["summary"]
    )
    assert [write.kind for write in run.journal] == ["configmaps", "secrets", "deployments"]
    assert run.journal[1].keys == {"GROQ_API_KEY": GROQ_KEY}
    assert {GROQ_KEY, STORY_SECRETS["LITELLM_MASTER_KEY"]} <= run.secrets, "every value found is masked"


def test_a_run_without_work_takes_no_lock(settled, litellm):
    result = transaction(settled, pl.Request()).run()
    assert settled.writes() == [] and [r.method for r in settled.requests if r.resource == "leases"] == ["GET"]
    assert (result["changed"], result["would_change"]) == (False, False)
    assert result["summary"] == "no change: 3 models, 1 key as recorded"
    assert [step["step"] for step in result["steps"]] == ["plan", "preflight"] and litellm.chats == []


def test_check_mode_writes_nothing(settled, litellm):
    result = transaction(settled, check_mode=True, diff=True).run()
    assert settled.writes() == [] and litellm.chats == []
    assert (result["changed"], result["would_change"]) == (True, True)
    assert result["summary"] == "check mode: would add %s, write GROQ_API_KEY, restart LiteLLM" % GROQ_MODEL
    assert len(result["diff"]) == 3


def test_the_first_run_records_the_state_litellm_runs_as_the_baseline_before_writing(cluster, litellm):
    settled_story(cluster, record=False)
    result = transaction(cluster).run()
    assert own_writes(cluster) == [("POST", "secrets", None)] + CONFIG_AND_KEY + [
        ("PUT", "secrets", "litellm-known-good")
    ]
    assert any(warning.startswith("There was no record of a verified state yet") for warning in result["warnings_list"])


def test_an_expired_lock_is_taken_over_and_said(settled, litellm):
    settled.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {"holderIdentity": OTHER_HOLDER, "leaseDurationSeconds": 15, "renewTime": _lock.micro_time(1e9)},
        },
    )
    result = transaction(settled).run()
    assert any(warning.startswith("Took over the run lock from " + OTHER_HOLDER) for warning in result["warnings_list"])
    assert [step["summary"] for step in result["steps"] if step["step"] == "lock"] == ["took over an expired lock"]


def test_a_lock_another_run_holds_stops_the_run_before_any_write(settled, litellm):
    settled.add(
        "leases",
        {
            "metadata": {"name": LEASE},
            "spec": {"holderIdentity": OTHER_HOLDER, "leaseDurationSeconds": 15, "renewTime": _lock.micro_time(9e9)},
        },
    )
    with pytest.raises(_lock.LockError, match="%s holds its lock" % OTHER_HOLDER):
        transaction(settled).run()
    assert settled.writes() == []


# -- a failure at each step rolls back exactly what this run wrote ---------------------------------


def test_a_failed_config_write_has_nothing_to_roll_back(settled, litellm):
    settled.fail("PUT", "configmaps", 500, "etcdserver: request timed out")
    failure = failure_of(transaction(settled))
    assert str(failure) == (
        "Kubernetes API error 500 Error: writing ConfigMap ml/litellm-config: etcdserver: request timed out "
        "(after: plan, preflight, lock, observe). "
        "This run had written nothing and restarted nothing, so nothing was rolled back. LiteLLM was not "
        "restarted: it still runs what it ran before."
    )
    assert own_writes(settled) == [("PUT", "configmaps", "litellm-config")]
    assert live_config(settled) == STORY_CONFIG and released(settled)
    assert failure.result["rollback"]["restored"] == [] and litellm.chats == []


def two_secrets(cluster):
    """LiteLLM gets GROQ_API_KEY from Secret provider-keys (secretKeyRef), the rest from litellm-secrets; the
    record holds both keys."""
    deployment = litellm_deployment(annotations={rt.DIGEST_ANNOTATION: running_digest(STORY_CONFIG, STORY_SECRETS)})
    deployment["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "GROQ_API_KEY", "valueFrom": {"secretKeyRef": {"name": "provider-keys", "key": "GROQ_API_KEY"}}}
    ]
    seed_story(cluster, STORY_CONFIG, STORY_SECRETS, deployment)
    cluster.add("secrets", secret_object({"GROQ_API_KEY": "gsk_old_" + "0" * 40}, name="provider-keys"))
    keys = {
        "OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY", STORY_SECRETS["OPENAI_API_KEY"]),
        "GROQ_API_KEY": ("provider-keys", "GROQ_API_KEY", "gsk_old_" + "0" * 40),
    }
    record = kg.KnownGood(
        STORY_CONFIG, "litellm-config", "config.yaml", keys, STORY_MODELS, "true", "2026-12-01T10:00:00Z", "r0"
    )
    cluster.add("secrets", kg.record_body(NAMESPACE, "litellm", record))
    return cluster


def test_a_failed_second_secret_write_puts_back_the_config_and_the_first_secret(cluster, litellm):
    two_secrets(cluster)
    cluster.fail("PUT", "secrets", 500, "etcdserver: leader changed", name="provider-keys")
    run = transaction(cluster, add_groq(api_keys={"GROQ_API_KEY": GROQ_KEY, "OPENAI_API_KEY": OPENAI_NEW}))
    failure = failure_of(run)
    assert str(failure) == (
        "Kubernetes API error 500 Error: writing Secret ml/provider-keys: etcdserver: leader changed "
        "(after: plan, preflight, lock, observe, config). "
        + RECORDED
        + ": ConfigMap ml/litellm-config, Secret ml/litellm-secrets (the verified values of OPENAI_API_KEY). "
        "LiteLLM was not restarted: it still runs what it ran before; a request to openai-gpt4o was answered."
    ), "names the Secret whose write failed; the pods never ran the half change, so no restart"
    assert own_writes(cluster) == [
        ("PUT", "configmaps", "litellm-config"),
        ("PUT", "secrets", "litellm-secrets"),
        ("PUT", "secrets", "provider-keys"),  # refused
        ("PUT", "configmaps", "litellm-config"),
        ("PUT", "secrets", "litellm-secrets"),
    ]  # no restart: LiteLLM was never restarted onto what this run wrote, its pods run the restored state
    assert failure.result["rollback"]["restarted"] is False
    assert live_config(cluster) == STORY_CONFIG
    assert live_key(cluster, "OPENAI_API_KEY") == STORY_SECRETS["OPENAI_API_KEY"]
    assert live_key(cluster, "GROQ_API_KEY", "provider-keys") == "gsk_old_" + "0" * 40
    assert [write.name for write in run.journal] == ["litellm-config", "litellm-secrets"]
    assert litellm.chats == ["openai-gpt4o"], "the model whose key came back is asked"
    assert released(cluster)


def test_a_crash_looping_rollout_is_rolled_back(settled, litellm):
    settled.rollout = "crash"
    settled.logs[("*", True)] = "ValueError: bad model\n"
    patches = []

    def the_rollback_rolls_healthy(cluster_, request):
        if request.resource == "deployments" and request.method == "PATCH":
            patches.append(request)
            if len(patches) == 2:
                cluster_.rollout = "complete"
                return True
        return False

    settled.on_write(the_rollback_rolls_healthy)
    failure = failure_of(transaction(settled))
    message = str(failure)
    assert message.startswith("Rollout of deployment ml/litellm failed: pod litellm-")
    assert "CrashLoopBackOff" in message and "ValueError: bad model" in message
    assert message.endswith(PUT_BACK_ALL)
    assert own_writes(settled) == CONFIG_AND_KEY + [
        ("PUT", "configmaps", "litellm-config"),
        ("PUT", "secrets", "litellm-secrets"),
        ("PATCH", "deployments", "litellm"),
    ]
    assert live_config(settled) == STORY_CONFIG and live_key(settled, "GROQ_API_KEY") is None
    assert failure.result["rollback"]["restarted"] is True and released(settled)


def test_a_failed_verification_is_rolled_back_and_what_came_back_is_verified(settled, litellm):
    litellm.rejected.add(GROQ_MODEL)
    failure = failure_of(transaction(settled))
    assert str(failure).startswith("LiteLLM verification failed: %s: key_rejected" % GROQ_MODEL)
    assert str(failure).endswith(PUT_BACK_ALL)
    assert own_writes(settled) == CONFIG_AND_KEY * 2
    assert live_config(settled) == STORY_CONFIG and live_key(settled, "GROQ_API_KEY") is None
    assert kg.read_record(settled.get("secrets", "litellm-known-good")).config_text == STORY_CONFIG, "not recorded"
    assert [step["step"] for step in failure.result["steps"]][-1] == "rollback"


def test_a_rotated_key_that_fails_comes_back_and_its_model_is_asked(settled, litellm):
    litellm.rejected.add("openai-gpt4o")
    failure = failure_of(transaction(settled, pl.Request(api_keys={"OPENAI_API_KEY": OPENAI_NEW})))
    assert str(failure).endswith(
        RECORDED + ": Secret ml/litellm-secrets (the verified values of OPENAI_API_KEY). LiteLLM was rolled back, but "
        'does not serve as before: openai-gpt4o: key_rejected (routes, key rejected: Groq says "Invalid API Key").'
    )
    assert live_key(settled, "OPENAI_API_KEY") == STORY_SECRETS["OPENAI_API_KEY"]
    assert litellm.chats == ["openai-gpt4o", "openai-gpt4o"]


def test_rollback_off_leaves_the_cluster_as_it_is(settled, litellm):
    litellm.rejected.add(GROQ_MODEL)
    failure = failure_of(transaction(settled, rollback=False))
    assert str(failure).endswith(". Rollback is off (litellm_rollback: false): the cluster is left as it is.")
    assert own_writes(settled) == CONFIG_AND_KEY and GROQ_MODEL in live_config(settled) and released(settled)


# -- concurrency: others' writes, a stop, a lost lock ----------------------------------------------

OPERATOR_COMMENT = "# edited by the operator\n"


def comment_the_config(obj):
    obj["data"]["config.yaml"] = OPERATOR_COMMENT + obj["data"]["config.yaml"]


def test_a_conflict_before_the_first_write_plans_again(settled, litellm):
    settled.interfere("configmaps", "litellm-config", comment_the_config)
    result = transaction(settled).run()
    assert live_config(settled).startswith(OPERATOR_COMMENT) and GROQ_MODEL in live_config(settled)
    assert [r for r in own_writes(settled) if r[1] == "configmaps"] == [("PUT", "configmaps", "litellm-config")] * 2
    assert [step["step"] for step in result["steps"]].count("observe") == 2
    assert result["changed"] is True


def test_what_someone_else_changed_after_this_run_wrote_it_is_left_alone(settled, litellm):
    litellm.rejected.add(GROQ_MODEL)
    after_groq_was_added(settled, lambda cluster: cluster.edit("configmaps", "litellm-config", comment_the_config))
    failure = failure_of(transaction(settled))
    assert re.search(
        r"\. Nothing was put back\. Left alone: ConfigMap ml/litellm-config was changed by someone else after this run "
        r"wrote it \(resourceVersion \d+, this run left \d+\): what is live there now stays\. Left alone: Secret "
        r"ml/litellm-secrets key GROQ_API_KEY stays: the live config still uses GROQ_API_KEY\. LiteLLM serves 4 "
        r"models\.$",
        str(failure),
    )
    assert live_config(settled).startswith(OPERATOR_COMMENT) and GROQ_MODEL in live_config(settled)
    assert live_key(settled, "GROQ_API_KEY") == GROQ_KEY, "the config someone else kept still uses it"
    assert own_writes(settled)[3:] == [("PATCH", "deployments", "litellm")]


def test_a_key_someone_else_changed_after_this_run_wrote_it_is_left_alone(settled, litellm):
    litellm.rejected.add(GROQ_MODEL)
    after_groq_was_added(
        settled,
        lambda cluster: cluster.edit(
            "secrets", "litellm-secrets", lambda obj: obj["data"].update(GROQ_API_KEY=b64("gsk_theirs_" + "1" * 40))
        ),
    )
    failure = failure_of(transaction(settled))
    assert (
        "Left alone: Secret ml/litellm-secrets key GROQ_API_KEY was changed by someone else after this run began: "
        "what is live there now stays."
    ) in str(failure)
    assert live_key(settled, "GROQ_API_KEY") == "gsk_theirs_" + "1" * 40 and live_config(settled) == STORY_CONFIG


@pytest.mark.parametrize("how", ["raised", "signal"])
def test_a_stop_mid_run_ends_in_the_rollback(settled, litellm, how):
    run = transaction(settled)

    def stop(cluster):
        if how == "raised":
            raise tx.Stopped("it got SIGINT")
        run._on_signal(signal.SIGINT, None)

    after_groq_was_added(settled, stop)
    failure = failure_of(run)
    assert str(failure).startswith(
        "The run was stopped: it got SIGINT (after: plan, preflight, lock, observe, config, keys). "
    )
    assert str(failure).endswith(PUT_BACK_ALL)
    assert live_config(settled) == STORY_CONFIG and live_key(settled, "GROQ_API_KEY") is None
    assert released(settled)
    assert signal.getsignal(signal.SIGINT) is not run._on_signal, "the handlers are given back"


def test_a_stop_before_the_lock_writes_nothing_and_says_so(settled, litellm):
    run = transaction(settled)

    def stopped_while_taking_the_lock(cluster_, request):
        if request.resource == "leases":
            run._on_signal(signal.SIGTERM, None)
        return True

    settled.on_write(stopped_while_taking_the_lock)
    failure = failure_of(run)
    assert str(failure) == (
        "The run was stopped: it got SIGTERM (after: plan, preflight). This run had written nothing and restarted "
        "nothing, so nothing was rolled back. LiteLLM was not restarted: it still runs what it ran before."
    )
    assert own_writes(settled) == [] and settled.get("leases", LEASE) is None, "the lock was never taken"
    assert failure.result["rollback"]["restored"] == []


def test_a_lost_lock_writes_nothing_more_and_restores_nothing(settled, litellm):
    def taken_by_another_run(cluster_, request):
        if request.resource == "configmaps":
            cluster_.edit("leases", LEASE, lambda obj: obj["spec"].update(holderIdentity=OTHER_HOLDER))
            return True
        return False

    settled.on_write(taken_by_another_run)
    run = transaction(settled)
    failure = failure_of(run)
    assert str(failure).startswith(
        "This run (%s) no longer holds the lock of LiteLLM: %s holds it now." % (run.lock.holder, OTHER_HOLDER)
    )
    assert str(failure).endswith(
        "This run lost its lock, so it wrote nothing more and restored nothing: another run may be changing LiteLLM."
    )
    assert own_writes(settled) == [("PUT", "configmaps", "litellm-config")]
    assert settled.get("leases", LEASE)["spec"]["holderIdentity"] == OTHER_HOLDER, "never released"
    assert failure.result["rollback"] == {"lock_lost": run.lock.lost}


# -- a Secret another LiteLLM loads too --------------------------------------------------------------


def canary_with_record(cluster, openai_value):
    """Deployment litellm-canary, another LiteLLM (its own config, litellm-canary-config), loads litellm-secrets
    too; its own record holds ``openai_value`` (None: no record)."""
    canary = litellm_deployment("litellm-canary")
    canary["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] = "litellm-canary-config"
    cluster.add("deployments", canary)
    if openai_value is not None:
        keys = {"OPENAI_API_KEY": ("litellm-secrets", "OPENAI_API_KEY", openai_value)}
        record = kg.KnownGood(STORY_CONFIG, "litellm-config", "config.yaml", keys, STORY_MODELS, "true", None, "c0")
        cluster.add("secrets", kg.record_body(NAMESPACE, "litellm-canary", record))


@pytest.mark.parametrize("canary_holds", ["another-value-of-the-canary", None])
def test_a_shared_key_the_neighbours_record_does_not_hold_is_left_alone(settled, litellm, canary_holds):
    canary_with_record(settled, canary_holds)
    litellm.rejected.add("openai-gpt4o")
    failure = failure_of(transaction(settled, pl.Request(api_keys={"OPENAI_API_KEY": OPENAI_NEW})))
    assert str(failure).endswith(
        "). Nothing was put back. Left alone: Secret ml/litellm-secrets key OPENAI_API_KEY is also loaded by "
        "Deployment litellm-canary, whose last verified state does not hold the value this rollback would write back: "
        "what is live there stays. LiteLLM serves 4 models."
    )
    assert live_key(settled, "OPENAI_API_KEY") == OPENAI_NEW
    assert ("PUT", "secrets", "litellm-secrets") not in own_writes(settled)[2:]


def test_a_shared_key_the_neighbours_record_holds_is_put_back(settled, litellm):
    canary_with_record(settled, STORY_SECRETS["OPENAI_API_KEY"])
    litellm.rejected.add("openai-gpt4o")
    failure = failure_of(transaction(settled, pl.Request(api_keys={"OPENAI_API_KEY": OPENAI_NEW})))
    assert "(the verified values of OPENAI_API_KEY)" in str(failure) and "Left alone" not in str(failure)
    assert live_key(settled, "OPENAI_API_KEY") == STORY_SECRETS["OPENAI_API_KEY"]


def test_a_conflict_after_the_first_write_is_a_failure_and_rolled_back(settled, litellm):
    """Once this run wrote, a 409 is not planned around: what it wrote might not fit what the other wrote."""
    settled.fail("PATCH", "deployments", 409, "the object has been modified")
    failure = failure_of(transaction(settled))
    assert str(failure).startswith(
        "Kubernetes API error 409 Error: the object has been modified (after: plan, preflight, lock, observe, config, "
        "keys). " + RECORDED + ": ConfigMap ml/litellm-config, Secret ml/litellm-secrets"
    )
    assert live_config(settled) == STORY_CONFIG and live_key(settled, "GROQ_API_KEY") is None
    assert [step["step"] for step in failure.result["steps"]].count("observe") == 1


# -- the record is input like any other ------------------------------------------------------------


@pytest.mark.parametrize(
    "config_text, keys, error",
    [
        (
            "model_list: [}\n",
            {},
            "the last verified config cannot be used: ",
        ),
        (
            STORY_CONFIG,
            {"OPENAI_API_KEY": ("", "OPENAI_API_KEY", STORY_SECRETS["OPENAI_API_KEY"])},
            "OPENAI_API_KEY",
        ),
    ],
    ids=["config-does-not-parse", "key-without-a-secret"],
)
def test_an_invalid_record_is_never_written_back(cluster, litellm, config_text, keys, error):
    settled_story(cluster, record=False)
    record = kg.KnownGood(
        config_text, "litellm-config", "config.yaml", keys, STORY_MODELS, "true", "2026-12-01T10:00:00Z", "r0"
    )
    cluster.add("secrets", kg.record_body(NAMESPACE, "litellm", record))
    litellm.rejected.add(GROQ_MODEL)
    failure = failure_of(transaction(cluster))
    message = str(failure)
    assert message.startswith("LiteLLM verification failed: %s: key_rejected" % GROQ_MODEL)
    assert ". The record of the last verified state (Secret ml/litellm-known-good) cannot be used: " in message
    assert error in message.split("cannot be used: ", 1)[1]
    assert message.endswith(
        "Nothing was restored from it and LiteLLM was not restarted onto it; fix or delete that Secret."
    )
    assert own_writes(cluster) == CONFIG_AND_KEY, "nothing restored, no restart onto it"
    assert failure.result["rollback"]["restored"] == [] and released(cluster)
    assert STORY_SECRETS["OPENAI_API_KEY"] not in message
