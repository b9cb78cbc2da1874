"""homelab.litellm.litellm_verify against the sandbox's real LiteLLM pod.

Each run goes through ansible-playbook, both through the API server's service
proxy and straight to the LiteLLM URL. The fake providers log every upstream
request, which proves what each smoke request reached (and that nothing else,
such as LiteLLM's quota-spending /health, was called).

The Groq models are ones Groq serves today (sandbox/provider_catalog.py), the
keys are in the format Groq issues, so the strict fake refuses a key only because
it is not the accepted one. One entry names a model Groq has shut down, with the
valid key: the provider's "gone" answer is told apart from a rejected key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets

import pytest
import yaml

from tests.conftest import STORY_CHAIN, issued_key

pytestmark = pytest.mark.litellm

CHAIN = STORY_CHAIN
CHAIN_PROVIDER = {"vllm-qwen": "vllm", "ollama-qwen": "ollama", "openai-gpt4o": "openai"}
# Its key (GROQ_API_KEY) has Groq's format but Groq never issued it.
GROQ_MODEL = "groq/openai/gpt-oss-120b"
# A second Groq entry whose key is valid: AC5 (routes to Groq, answers within 5 s).
GROQ_VALID_MODEL = "groq/openai/gpt-oss-20b"
GROQ_VALID_ENV = "GROQ_TEST_VALID_KEY"
# With the valid key too, but Groq shut it down on 2026-08-16 for the free tier: it answers 404.
GROQ_RETIRED_MODEL = "groq/llama-3.1-8b-instant"
GROQ_RETIRED_SAYS = 'Groq says "The model `llama-3.1-8b-instant` does not exist or you do not have access to it."'
# Never configured (though Groq serves it): LiteLLM must answer "not routed", distinct from a rejected key.
UNKNOWN_MODEL = "groq/qwen/qwen3.8-27b"


def verify_task(name, **options):
    return {"name": name, "homelab.litellm.litellm_verify": {"namespace": "ml", **options}, "ignore_errors": True}


def new_provider_requests(sandbox, before):
    return sandbox.provider_requests()[before:]


def upstream_summary(entries):
    """(provider, model) of each upstream request, sorted; models list calls have model None."""
    return sorted((entry["provider"], entry["model"]) for entry in entries)


def secret_forms(value):
    return [value, base64.b64encode(value.encode()).decode()]


@pytest.fixture(scope="module")
def groq_keys(sandbox):
    """Add Groq models to the served config, one with a wrong key, and roll LiteLLM: {"wrong": ..., "valid": ...}."""
    from sandbox.providers import api_base

    keys = {"wrong": issued_key("groq"), "valid": issued_key("groq")}
    accepted = json.loads((sandbox.state_dir / "valid-keys.json").read_text()).get("groq", [])
    sandbox.accept_keys("groq", accepted + [keys["valid"]])
    config = yaml.safe_load(sandbox.get("configmap", "litellm-config")["data"]["config.yaml"])
    groq_base = api_base(sandbox.providers_url, "groq")
    config["model_list"] += [
        {"model_name": model, "litellm_params": {"model": model, "api_key": "os.environ/" + env, "api_base": groq_base}}
        for model, env in (
            (GROQ_MODEL, "GROQ_API_KEY"),
            (GROQ_VALID_MODEL, GROQ_VALID_ENV),
            (GROQ_RETIRED_MODEL, GROQ_VALID_ENV),
        )
    ]
    sandbox.kubectl(
        "-n",
        "ml",
        "patch",
        "configmap",
        "litellm-config",
        "--type",
        "merge",
        "-p",
        json.dumps({"data": {"config.yaml": yaml.safe_dump(config, sort_keys=False)}}),
    )
    sandbox.kubectl(
        "-n",
        "ml",
        "patch",
        "secret",
        "litellm-secrets",
        "--type",
        "merge",
        "-p",
        json.dumps({"stringData": {"GROQ_API_KEY": keys["wrong"], GROQ_VALID_ENV: keys["valid"]}}),
    )
    sandbox.kubectl("-n", "ml", "rollout", "restart", "deployment/litellm")
    sandbox.rollout_status()
    return keys


@pytest.mark.parametrize("via", ["service_proxy", "url"])
def test_chain_models_ready_present_and_fast(sandbox, run_playbook, via):
    options = {"url": sandbox.url} if via == "url" else {}
    before = len(sandbox.provider_requests())
    run = run_playbook([verify_task("Verify", expected_models=CHAIN, smoke_models=CHAIN, **options)])
    result = run["Verify"]
    assert run.rc == 0 and result["passed"] is True, run.output
    assert result["changed"] is False and result["via"] == via
    assert result["ready"] is True and result["readiness_seconds"] < 5
    assert set(CHAIN) <= set(result["models"])
    assert result["missing_models"] == []
    assert [s["model"] for s in result["smoke"]] == CHAIN
    for smoke in result["smoke"]:
        assert smoke["status"] == "ok" and smoke["http_status"] == 200, smoke
        assert smoke["latency"] < 5.0
        assert smoke["answer"].startswith("Hello from fake " + CHAIN_PROVIDER[smoke["model"]])
        assert smoke["served_by"] == smoke["model"]
    print("%s latencies: %s" % (via, {s["model"]: s["latency"] for s in result["smoke"]}))
    # One upstream request per smoke model and nothing else: no /health (it would call every model).
    assert upstream_summary(new_provider_requests(sandbox, before)) == sorted(
        (CHAIN_PROVIDER[model], model_upstream)
        for model, model_upstream in (
            ("vllm-qwen", "Qwen/Qwen2.5-7B-Instruct"),
            ("ollama-qwen", "qwen2.5:7b"),
            ("openai-gpt4o", "gpt-4o"),
        )
    )


def test_check_mode_runs_fully_and_changes_nothing(sandbox, run_playbook):
    before = len(sandbox.provider_requests())
    run = run_playbook([verify_task("Verify", expected_models=CHAIN, smoke_models=["vllm-qwen"])], check=True)
    result = run["Verify"]
    assert run.rc == 0 and result["passed"] is True, run.output
    assert result["changed"] is False
    assert result["smoke"][0]["status"] == "ok"
    assert len(new_provider_requests(sandbox, before)) == 1


def test_missing_expected_model_fails_naming_it(sandbox, run_playbook):
    expected = CHAIN + [GROQ_MODEL, "mistral/mistral-small-latest"]
    run = run_playbook(
        [
            verify_task("Verify", expected_models=expected),
            verify_task("Report only", expected_models=expected, url=sandbox.url, fail_on_error=False),
        ]
    )
    failed, reported = run["Verify"], run["Report only"]
    assert failed["failed"] is True
    assert failed["msg"] == (
        "LiteLLM verification failed: missing models: %s, mistral/mistral-small-latest" % GROQ_MODEL
    )
    assert failed["missing_models"] == [GROQ_MODEL, "mistral/mistral-small-latest"]
    assert failed["passed"] is False and failed["ready"] is True
    assert not reported.get("failed") and reported["passed"] is False
    assert reported["missing_models"] == failed["missing_models"]
    assert reported["summary"] == failed["msg"].replace("LiteLLM verification failed: ", "")


def test_master_key_option_without_kubernetes(sandbox, run_playbook):
    """With url and master_key the module needs no cluster access; a wrong key is LiteLLM's, not a provider's."""
    wrong_master = "sk-" + secrets.token_hex(24)
    task = verify_task(
        "Verify", url=sandbox.url, master_key=wrong_master, expected_models=CHAIN, smoke_models=["vllm-qwen"]
    )
    task["environment"] = {"K8S_AUTH_KUBECONFIG": str(sandbox.state_dir / "no-such-kubeconfig")}
    before = len(sandbox.provider_requests())
    run = run_playbook([task])
    result = run["Verify"]
    assert result["failed"] is True and result["ready"] is True
    # The sandbox's LiteLLM has a DATABASE_URL but no database: a wrong key is "No connected db." (400).
    assert result["models_error"].startswith("LiteLLM rejected the master key"), result["models_error"]
    assert result["smoke"][0]["status"] == "unreachable"
    assert result["smoke"][0]["message"].startswith("LiteLLM rejected the master key")
    assert new_provider_requests(sandbox, before) == []
    assert wrong_master not in run.output


def test_wrong_provider_key_routes_but_is_rejected(sandbox, run_playbook, groq_keys):
    smoke = [GROQ_MODEL, GROQ_VALID_MODEL, GROQ_RETIRED_MODEL, UNKNOWN_MODEL, "vllm-qwen"]
    expected = CHAIN + [GROQ_MODEL, GROQ_VALID_MODEL, GROQ_RETIRED_MODEL]
    before = len(sandbox.provider_requests())
    run = run_playbook(
        [
            verify_task("Verify", expected_models=expected, smoke_models=smoke),
            verify_task("Verify url", expected_models=expected, smoke_models=smoke, url=sandbox.url),
        ]
    )
    for task in ("Verify", "Verify url"):
        result = run[task]
        assert result["failed"] is True and result["missing_models"] == []
        by_model = {s["model"]: s for s in result["smoke"]}
        rejected = by_model[GROQ_MODEL]
        assert rejected["status"] == "key_rejected" and rejected["http_status"] == 401
        # The second run comes within LiteLLM's 5 s cooldown after the first 401: the module waits it
        # out and asks again rather than reporting the cooldown's 429.
        cooldown_note = " (asked again after waiting 5s for LiteLLM's cooldown)"
        assert rejected["message"] in (
            'routes, key rejected: Groq says "Invalid API Key"',
            'routes, key rejected: Groq says "Invalid API Key"' + cooldown_note,
        )
        print("%s: %s in %.3fs" % (task, rejected["message"], rejected["latency"]))
        assert by_model[UNKNOWN_MODEL]["status"] == "not_routed"
        assert by_model[UNKNOWN_MODEL]["http_status"] == 400
        assert "Invalid model name" in by_model[UNKNOWN_MODEL]["message"]
        # AC5: a Groq model with a valid key routes to Groq and answers within 5 s. gpt-oss is a
        # reasoning model: it spends the smoke request's 16 tokens thinking and answers 200 with
        # empty content, which counts as served.
        valid = by_model[GROQ_VALID_MODEL]
        assert (valid["status"], valid["http_status"], valid["answer"]) == ("ok", 200, ""), valid
        assert valid["latency"] < 5.0
        assert re.fullmatch(
            r"answered in \d+\.\d\ds with empty content \(a reasoning model spends a small max_tokens on reasoning\)",
            valid["message"],
        ), valid["message"]
        # The same valid key for a model Groq shut down: Groq's own 404, not a key problem.
        retired = by_model[GROQ_RETIRED_MODEL]
        assert (retired["status"], retired["http_status"]) == ("provider_error", 404), retired
        assert retired["message"] in (
            "provider error (HTTP 404): " + GROQ_RETIRED_SAYS,
            "provider error (HTTP 404): " + GROQ_RETIRED_SAYS + cooldown_note,
        )
        assert by_model["vllm-qwen"]["status"] == "ok"
        assert result["msg"] == (
            "LiteLLM verification failed: %s: key_rejected (%s); %s: provider_error (%s); "
            "%s: not_routed (%s)"
            % (
                GROQ_MODEL,
                rejected["message"],
                GROQ_RETIRED_MODEL,
                retired["message"],
                UNKNOWN_MODEL,
                by_model[UNKNOWN_MODEL]["message"],
            )
        )
    upstream = new_provider_requests(sandbox, before)
    # Per run: one request per routed smoke model, none for the unknown one, nothing else.
    assert upstream_summary(upstream) == sorted(
        [
            ("groq", "openai/gpt-oss-120b"),
            ("groq", "openai/gpt-oss-20b"),
            ("groq", "llama-3.1-8b-instant"),
            ("vllm", "Qwen/Qwen2.5-7B-Instruct"),
        ]
        * 2
    )
    # Each reached Groq with its key (the log keeps only the hash): 401 for the wrong key, 200 for the
    # valid one with all 16 tokens spent (on reasoning), 404 for the retired model.
    sha = {name: hashlib.sha256(key.encode()).hexdigest() for name, key in groq_keys.items()}
    by_upstream = {
        model: {(e["status"], e["key_sha256"]) for e in upstream if e["model"] == model}
        for model in ("openai/gpt-oss-120b", "openai/gpt-oss-20b", "llama-3.1-8b-instant")
    }
    assert by_upstream == {
        "openai/gpt-oss-120b": {(401, sha["wrong"])},
        "openai/gpt-oss-20b": {(200, sha["valid"])},
        "llama-3.1-8b-instant": {(404, sha["valid"])},
    }
    assert {e["completion_tokens"] for e in upstream if e["model"] == "openai/gpt-oss-20b"} == {16}


def test_no_key_in_verbose_output(sandbox, run_playbook, groq_keys):
    run = run_playbook(
        [
            verify_task("Verify", expected_models=CHAIN + [GROQ_MODEL], smoke_models=[GROQ_MODEL]),
            verify_task("Verify url", smoke_models=[GROQ_MODEL], url=sandbox.url),
        ],
        verbosity=4,
        json_output=False,
    )
    assert "routes, key rejected: Groq says" in run.output
    assert run.output.count("key_rejected") >= 2
    for value in (sandbox.master_key, groq_keys["wrong"], groq_keys["valid"]):
        for form in secret_forms(value):
            assert form not in run.output
