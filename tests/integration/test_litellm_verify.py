"""homelab.litellm.litellm_verify against the sandbox's real LiteLLM pod.

Each run goes through ansible-playbook, both through the API server's service
proxy and straight to the LiteLLM URL. The fake providers log every upstream
request, which proves what each smoke request reached (and that nothing else,
such as LiteLLM's quota-spending /health, was called).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

import pytest
import yaml

pytestmark = pytest.mark.litellm

CHAIN = ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]
CHAIN_PROVIDER = {"vllm-qwen": "vllm", "ollama-qwen": "ollama", "openai-gpt4o": "openai"}
GROQ_MODEL = "groq/llama-3.3-70b-versatile"
# A second Groq entry whose key is valid: AC5 (routes to Groq, answers within 5 s).
GROQ_VALID_MODEL = "groq/llama-3.1-8b-instant"
GROQ_VALID_ENV = "GROQ_TEST_VALID_KEY"
# Never configured: LiteLLM must answer "not routed", distinct from a rejected key.
UNKNOWN_MODEL = "groq/mixtral-8x7b-32768"


def verify_task(name, **options):
    return {"name": name, "homelab.litellm.litellm_verify": {"namespace": "ml", **options},
            "ignore_errors": True}


def new_provider_requests(sandbox, before):
    return sandbox.provider_requests()[before:]


def upstream_summary(entries):
    """(provider, model) of each upstream request, sorted; models list calls have model None."""
    return sorted((entry["provider"], entry["model"]) for entry in entries)


def secret_forms(value):
    return [value, base64.b64encode(value.encode()).decode()]


@pytest.fixture(scope="module")
def wrong_groq_key(sandbox):
    """Add Groq models to the served config, one with a wrong key, and roll LiteLLM."""
    from sandbox.providers import api_base

    wrong_key = "gsk_" + secrets.token_urlsafe(36)
    valid_keys = json.loads((sandbox.state_dir / "valid-keys.json").read_text())
    assert wrong_key not in valid_keys["groq"]
    config = yaml.safe_load(sandbox.get("configmap", "litellm-config")["data"]["config.yaml"])
    groq_base = api_base(sandbox.providers_url, "groq")
    config["model_list"] += [
        {"model_name": GROQ_MODEL, "litellm_params": {"model": GROQ_MODEL, "api_key": "os.environ/GROQ_API_KEY",
                                                      "api_base": groq_base}},
        {"model_name": GROQ_VALID_MODEL, "litellm_params": {"model": GROQ_VALID_MODEL,
                                                            "api_key": "os.environ/" + GROQ_VALID_ENV,
                                                            "api_base": groq_base}},
    ]
    sandbox.kubectl("-n", "ml", "patch", "configmap", "litellm-config", "--type", "merge", "-p",
                    json.dumps({"data": {"config.yaml": yaml.safe_dump(config, sort_keys=False)}}))
    sandbox.kubectl("-n", "ml", "patch", "secret", "litellm-secrets", "--type", "merge", "-p",
                    json.dumps({"stringData": {"GROQ_API_KEY": wrong_key, GROQ_VALID_ENV: valid_keys["groq"][0]}}))
    sandbox.kubectl("-n", "ml", "rollout", "restart", "deployment/litellm")
    sandbox.rollout_status()
    return wrong_key


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
        (CHAIN_PROVIDER[model], model_upstream) for model, model_upstream in
        (("vllm-qwen", "Qwen/Qwen2.5-7B-Instruct"), ("ollama-qwen", "qwen2.5:7b"), ("openai-gpt4o", "gpt-4o")))


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
    run = run_playbook([
        verify_task("Verify", expected_models=expected),
        verify_task("Report only", expected_models=expected, url=sandbox.url, fail_on_error=False),
    ])
    failed, reported = run["Verify"], run["Report only"]
    assert failed["failed"] is True
    assert failed["msg"] == ("LiteLLM verification failed: missing models: %s, mistral/mistral-small-latest"
                             % GROQ_MODEL)
    assert failed["missing_models"] == [GROQ_MODEL, "mistral/mistral-small-latest"]
    assert failed["passed"] is False and failed["ready"] is True
    assert not reported.get("failed") and reported["passed"] is False
    assert reported["missing_models"] == failed["missing_models"]
    assert reported["summary"] == failed["msg"].replace("LiteLLM verification failed: ", "")


def test_master_key_option_without_kubernetes(sandbox, run_playbook):
    """With url and master_key the module needs no cluster access; a wrong key is LiteLLM's, not a provider's."""
    wrong_master = "sk-" + secrets.token_hex(24)
    task = verify_task("Verify", url=sandbox.url, master_key=wrong_master, expected_models=CHAIN,
                       smoke_models=["vllm-qwen"])
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


def test_wrong_provider_key_routes_but_is_rejected(sandbox, run_playbook, wrong_groq_key):
    smoke = [GROQ_MODEL, GROQ_VALID_MODEL, UNKNOWN_MODEL, "vllm-qwen"]
    expected = CHAIN + [GROQ_MODEL, GROQ_VALID_MODEL]
    before = len(sandbox.provider_requests())
    run = run_playbook([verify_task("Verify", expected_models=expected, smoke_models=smoke),
                        verify_task("Verify url", expected_models=expected, smoke_models=smoke, url=sandbox.url)])
    for task in ("Verify", "Verify url"):
        result = run[task]
        assert result["failed"] is True and result["missing_models"] == []
        by_model = {s["model"]: s for s in result["smoke"]}
        rejected = by_model[GROQ_MODEL]
        assert rejected["status"] == "key_rejected" and rejected["http_status"] == 401
        # The second run comes within LiteLLM's 5 s cooldown after the first 401: the module waits it
        # out and asks again rather than reporting the cooldown's 429.
        cooldown_note = " (asked again after waiting 5s for LiteLLM's cooldown)"
        assert rejected["message"] in ('routes, key rejected: Groq says "Invalid API Key"',
                                       'routes, key rejected: Groq says "Invalid API Key"' + cooldown_note)
        print("%s: %s in %.3fs" % (task, rejected["message"], rejected["latency"]))
        assert by_model[UNKNOWN_MODEL]["status"] == "not_routed"
        assert by_model[UNKNOWN_MODEL]["http_status"] == 400
        assert "Invalid model name" in by_model[UNKNOWN_MODEL]["message"]
        # AC5: a Groq model with a valid key routes to Groq and answers within 5 s.
        assert by_model[GROQ_VALID_MODEL]["status"] == "ok"
        assert by_model[GROQ_VALID_MODEL]["latency"] < 5.0
        assert by_model[GROQ_VALID_MODEL]["answer"] == "Hello from fake groq (llama-3.1-8b-instant)"
        assert by_model["vllm-qwen"]["status"] == "ok"
        assert result["msg"] == ("LiteLLM verification failed: %s: key_rejected (%s); %s: not_routed (%s)"
                                 % (GROQ_MODEL, rejected["message"], UNKNOWN_MODEL,
                                    by_model[UNKNOWN_MODEL]["message"]))
    upstream = new_provider_requests(sandbox, before)
    # Per run: one request per routed smoke model, none for the unknown one, nothing else.
    assert upstream_summary(upstream) == sorted(
        [("groq", "llama-3.3-70b-versatile"), ("groq", "llama-3.1-8b-instant"),
         ("vllm", "Qwen/Qwen2.5-7B-Instruct")] * 2)
    rejected_upstream = [e for e in upstream if e["model"] == "llama-3.3-70b-versatile"]
    # It reached Groq with the wrong key (the log keeps only its hash) and Groq said 401.
    assert {(e["status"], e["key_sha256"]) for e in rejected_upstream} == {
        (401, hashlib.sha256(wrong_groq_key.encode()).hexdigest())}


def test_no_key_in_verbose_output(sandbox, run_playbook, wrong_groq_key):
    run = run_playbook([verify_task("Verify", expected_models=CHAIN + [GROQ_MODEL], smoke_models=[GROQ_MODEL]),
                        verify_task("Verify url", smoke_models=[GROQ_MODEL], url=sandbox.url)],
                       verbosity=4, json_output=False)
    assert "routes, key rejected: Groq says" in run.output
    assert run.output.count("key_rejected") >= 2
    valid_groq = json.loads((sandbox.state_dir / "valid-keys.json").read_text())["groq"][0]
    for value in (sandbox.master_key, wrong_groq_key, valid_groq):
        for form in secret_forms(value):
            assert form not in run.output
