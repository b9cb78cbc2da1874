"""Per-model rate limits enforced by the real LiteLLM 1.108.7 on the sandbox.

site.yml runs with small limits on three parallel models (the fake providers
themselves never rate-limit here, so whatever holds or refuses a request is
LiteLLM): groq/llama-3.3-70b-versatile 3 requests/minute, mistral/mistral-small-latest
60 tokens/minute, gemini/gemini-1.5-flash 3 requests/day (a daily budget of three
requests' worth of tokens). In the default throttle mode a burst over rpm or tpm is
held until the next minute and then answered, none fails; in reject mode it gets 429
at once; a spent daily budget answers 429; the other models and the fallback chain
answer as before. The held request costs one minute, once.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from sandbox import providers

pytestmark = pytest.mark.litellm

REPO_ROOT = Path(__file__).resolve().parents[2]
PARALLEL = ["groq/llama-3.3-70b-versatile", "groq/mixtral-8x7b-32768", "gemini/gemini-1.5-flash",
            "gemini/gemini-1.5-pro", "mistral/mistral-small-latest"]
RPM_MODEL, TPM_MODEL, RPD_MODEL = PARALLEL[0], PARALLEL[4], PARALLEL[2]
RPM, TPM, RPD = 3, 60, 3
# The fake counts about 4 characters a token: this prompt is 40 tokens, its answer 12, so one
# request fits in 60 tokens a minute and a second does not.
LONG_PROMPT = "x" * 160
# Tokens of one "Say hello" request to the Gemini fake (prompt and answer): the daily budget is
# RPD requests of this size.
SAY_HELLO_TOKENS = providers.count_tokens("Say hello") + providers.count_tokens(
    providers.reply_text("gemini", "gemini-1.5-flash"))
LIMITS = {RPM_MODEL: {"rpm": RPM}, TPM_MODEL: {"tpm": TPM}, RPD_MODEL: {"rpd": RPD}}
HELD = 55  # seconds: LiteLLM holds an over-limit request 60 s (its retry-after) before trying again
QUICK = 10


def site(sandbox, **extra_vars) -> subprocess.CompletedProcess:
    # No smoke requests: they would spend the small limits before the test does.
    extra = dict({"litellm_limits": LIMITS, "litellm_daily_budget_tokens_per_request": SAY_HELLO_TOKENS,
                  "litellm_verify_smoke": False}, **extra_vars)
    env = dict(os.environ, SANDBOX_DIR=str(sandbox.state_dir), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"))
    return subprocess.run([str(REPO_ROOT / ".venv/bin/ansible-playbook"), "playbooks/site.yml",
                           "-e", json.dumps(extra)],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=900)


def config_of(sandbox) -> dict:
    return yaml.safe_load(sandbox.get("configmap", "litellm-config")["data"]["config.yaml"])


def params_of(config: dict, model: str) -> dict:
    return next(m["litellm_params"] for m in config["model_list"] if m["model_name"] == model)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def wait_for_room_in_the_minute(seconds_needed: int = 12) -> None:
    """LiteLLM counts per fixed UTC minute: start a burst where it fits in the current one."""
    second = utc_now().second
    if second > 60 - seconds_needed:
        time.sleep(61 - second)


def timed_chat(sandbox, model: str, content: str = "Say hello", timeout: float = 200) -> dict:
    started = time.monotonic()
    status, body = sandbox.http("POST", "/v1/chat/completions",
                                {"model": model, "messages": [{"role": "user", "content": content}]},
                                key=sandbox.master_key, timeout=timeout)
    return {"model": model, "status": status, "seconds": time.monotonic() - started, "done": utc_now(),
            "body": body}


def in_parallel(calls) -> list[dict]:
    """Run the ``calls`` (no-argument functions) at once; their results in order."""
    results: list = [None] * len(calls)

    def run(index, call):
        results[index] = call()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def message(result: dict) -> str:
    body = result["body"]
    return body.get("error", {}).get("message", "") if isinstance(body, dict) else str(body)


def upstream(sandbox, model_id: str, since: int) -> list[dict]:
    return [r for r in sandbox.provider_requests()[since:] if r.get("model") == model_id]


def assert_others_answer_quickly(sandbox) -> None:
    """Models without a spent limit, and the fallback chain, answer as before."""
    for model in ("groq/mixtral-8x7b-32768", "gemini/gemini-1.5-pro", "vllm-qwen"):
        result = timed_chat(sandbox, model, timeout=30)
        assert result["status"] == 200, result
        assert result["seconds"] < 5, result


@pytest.fixture(scope="module")
def throttled(sandbox):
    """site.yml in the default mode (throttle) with the small limits."""
    result = site(sandbox)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def test_throttle_writes_the_router_settings_and_keeps_the_chain(sandbox, throttled):
    config = config_of(sandbox)
    router = config["router_settings"]
    assert router["routing_strategy"] == "usage-based-routing-v2"
    assert router["model_group_retry_policy"] == {name: {"RateLimitErrorRetries": 2} for name in PARALLEL}
    assert router["fallbacks"] == [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o"]}]
    assert router["num_retries"] == 0  # the operator's, untouched
    assert params_of(config, RPM_MODEL)["rpm"] == RPM + 1  # LiteLLM admits rpm - 1 a minute
    assert params_of(config, TPM_MODEL)["tpm"] == TPM
    budget = params_of(config, RPD_MODEL)
    assert budget["budget_duration"] == "1d"
    # float(): the YAML has 1e-06, a string to YAML 1.1 readers (PyYAML here); LiteLLM's pydantic
    # models turn it into the float.
    assert float(budget["max_budget"]) == pytest.approx((RPD - 0.5) * SAY_HELLO_TOKENS * 1e-6)
    assert float(budget["input_cost_per_token"]) == float(budget["output_cost_per_token"]) == 1e-6
    for chain_model in config["model_list"][:3]:
        assert not {"rpm", "tpm", "max_budget"} & set(chain_model["litellm_params"]), chain_model
    pods = sorted(p["metadata"]["name"] for p in sandbox.pods())
    again = site(sandbox)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]
    assert sorted(p["metadata"]["name"] for p in sandbox.pods()) == pods


def test_throttle_holds_a_burst_over_rpm_and_tpm_until_the_next_minute(sandbox, throttled):
    wait_for_room_in_the_minute()
    sent_before = len(sandbox.provider_requests())
    started = utc_now()

    def tpm_pair():
        first = timed_chat(sandbox, TPM_MODEL, LONG_PROMPT)
        time.sleep(1)  # LiteLLM counts a request's tokens once it has answered
        return [first, timed_chat(sandbox, TPM_MODEL, LONG_PROMPT)]

    calls = [lambda: timed_chat(sandbox, RPM_MODEL) for _ in range(RPM + 1)] + [tpm_pair]
    threads_done: list = []
    burst = threading.Thread(target=lambda: threads_done.append(in_parallel(calls)))
    burst.start()
    time.sleep(3)
    assert_others_answer_quickly(sandbox)  # while LiteLLM holds the burst's extra requests
    burst.join(timeout=200)
    results = threads_done[0]
    rpm_results, (tpm_first, tpm_second) = results[:RPM + 1], results[RPM + 1]

    for result in rpm_results + [tpm_first, tpm_second]:
        assert result["status"] == 200, result  # held, never failed
    quick = sorted(r["seconds"] for r in rpm_results)
    assert all(seconds < QUICK for seconds in quick[:RPM]), quick
    held = max(rpm_results, key=lambda r: r["seconds"])
    assert held["seconds"] >= HELD, quick
    assert held["done"].replace(second=0, microsecond=0) > started.replace(second=0, microsecond=0)
    assert tpm_first["seconds"] < QUICK and tpm_second["seconds"] >= HELD, (tpm_first, tpm_second)

    # LiteLLM held them: the provider saw the extra requests only in the next minute, and no 429.
    next_minute = started.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    for model_id, count, late in (("llama-3.3-70b-versatile", RPM + 1, 1), ("mistral-small-latest", 2, 1)):
        seen = upstream(sandbox, model_id, sent_before)
        assert [r["status"] for r in seen] == [200] * count, seen
        assert sum(datetime.datetime.fromisoformat(r["time"]) >= next_minute for r in seen) == late, seen
    print(f"throttle: {RPM} of {RPM + 1} answered in {quick[:RPM]} s, the extra one held {held['seconds']:.1f} s; "
          f"tpm: second request held {tpm_second['seconds']:.1f} s")


def test_a_spent_daily_budget_answers_429(sandbox, throttled):
    sent_before = len(sandbox.provider_requests())
    answers = [timed_chat(sandbox, RPD_MODEL, timeout=30) for _ in range(RPD + 1)]
    assert [a["status"] for a in answers] == [200] * RPD + [429], answers
    refused = answers[-1]
    assert "crossed budget" in message(refused), refused
    assert refused["seconds"] < 5, refused  # a budget is not held, not even in throttle mode
    assert len(upstream(sandbox, "gemini-1.5-flash", sent_before)) == RPD
    assert_others_answer_quickly(sandbox)  # gemini-1.5-pro too: the budget is per model


def test_reject_mode_answers_429_at_once(sandbox, throttled):
    result = site(sandbox, litellm_rate_limit_mode="reject")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    router = config_of(sandbox)["router_settings"]
    assert router["routing_strategy"] == "usage-based-routing-v2"
    assert router["model_group_retry_policy"] == {name: {"RateLimitErrorRetries": 0} for name in PARALLEL}

    wait_for_room_in_the_minute()
    sent_before = len(sandbox.provider_requests())
    rpm_results = in_parallel([lambda: timed_chat(sandbox, RPM_MODEL, timeout=30) for _ in range(RPM + 1)])
    assert sorted(r["status"] for r in rpm_results) == [200] * RPM + [429], rpm_results
    rejected = next(r for r in rpm_results if r["status"] == 429)
    assert rejected["seconds"] < QUICK, rejected
    assert "No deployments available" in message(rejected) and "rpm_limit" in message(rejected), rejected
    assert len(upstream(sandbox, "llama-3.3-70b-versatile", sent_before)) == RPM

    first = timed_chat(sandbox, TPM_MODEL, LONG_PROMPT, timeout=30)
    time.sleep(1)
    second = timed_chat(sandbox, TPM_MODEL, LONG_PROMPT, timeout=30)
    assert (first["status"], second["status"]) == (200, 429), (first, second)
    assert second["seconds"] < QUICK and "tpm_limit" in message(second), second
    assert_others_answer_quickly(sandbox)
