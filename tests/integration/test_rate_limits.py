"""Per-model rate limits enforced the LiteLLM way, by the real LiteLLM 1.108.7 on the sandbox.

site.yml runs with small limits on two parallel models (the fake providers themselves do not
rate-limit here, so whatever holds or refuses a request is LiteLLM): groq/openai/gpt-oss-20b
3 requests a minute, mistral/mistral-small-latest 60 tokens a minute. LiteLLM's own
enforce_model_rate_limits check counts per fixed UTC minute; in the default throttle mode a
request over a limit waits into the next minute and is answered (none fails); in reject mode it
gets 429 at once. What 0.1.0 wrote (usage-based-routing-v2, rpm + 1, invented prices, daily
budgets) is migrated away. A provider's daily quota is the provider's: its 429 reaches the client
with the provider's words. The spend LiteLLM records is what its own price map says.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import urllib.request

import pytest
import yaml

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.litellm

RPM_MODEL, TPM_MODEL = "groq/openai/gpt-oss-20b", "mistral/mistral-small-latest"
OTHER_MODELS = ("groq/openai/gpt-oss-120b", "gemini/gemini-3.5-flash-lite", "vllm-qwen")
RPM, TPM = 3, 60
# The fake counts about 4 characters a token: this prompt is 60 tokens, so once one request is counted
# (after its answer) the minute's 60 tokens are spent and LiteLLM refuses or holds the next.
LONG_PROMPT = "x" * 240
LIMITS = {RPM_MODEL: {"rpm": RPM, "tpm": None, "rpd": None}, TPM_MODEL: {"tpm": TPM, "rpm": None}}
HELD = 55  # seconds: LiteLLM holds an over-limit request for its retry-after of 60 s
QUICK = 10


def site(sandbox, **extra_vars):
    # No smoke requests: they would spend the small limits before the test does.
    extra = dict({"litellm_limits": LIMITS, "litellm_verify_smoke": False}, **extra_vars)
    return sandbox.playbook("site.yml", "-e", json.dumps(extra))


def config_of(sandbox) -> dict:
    return yaml.safe_load(sandbox.config_text())


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
    status, body = sandbox.http(
        "POST",
        "/v1/chat/completions",
        {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 200},
        key=sandbox.master_key,
        timeout=timeout,
    )
    return {"model": model, "status": status, "seconds": time.monotonic() - started, "done": utc_now(), "body": body}


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
    for model in OTHER_MODELS:
        result = timed_chat(sandbox, model, timeout=30)
        assert result["status"] == 200, result
        assert result["seconds"] < 5, result


@pytest.fixture(scope="module")
def throttled(sandbox):
    """site.yml in the default mode (throttle) with the small limits, after a 0.1.0-shaped config."""
    cm = sandbox.get("configmap", "litellm-config")
    legacy = yaml.safe_load(cm["data"]["config.yaml"])
    # What homelab.litellm 0.1.0 left: v2 routing, rpm + 1, invented prices, a daily budget.
    legacy["model_list"].append(
        {
            "model_name": RPM_MODEL,
            "litellm_params": {
                "model": RPM_MODEL,
                "api_key": "os.environ/GROQ_API_KEY",
                "rpm": RPM + 1,
                "max_budget": 0.9995,
                "budget_duration": "1d",
                "input_cost_per_token": 1e-06,
                "output_cost_per_token": 1e-06,
            },
            "model_info": {"id": "homelab-litellm-legacy", "managed_by": "homelab.litellm", "free_tier_rpd": 1000},
        }
    )
    legacy["router_settings"].update(
        routing_strategy="usage-based-routing-v2", model_group_retry_policy={RPM_MODEL: {"RateLimitErrorRetries": 2}}
    )
    cm["data"]["config.yaml"] = yaml.safe_dump(legacy, sort_keys=False)
    sandbox.kubectl("replace", "-f", "-", input=json.dumps(cm))
    result = site(sandbox)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def test_native_check_written_legacy_migrated_chain_untouched(sandbox, throttled):
    said = " ".join((throttled.stdout + throttled.stderr).split())  # warnings go to stderr, wrapped
    assert "which homelab.litellm 0.1.0 wrote" in said, said[-3000:]
    config = config_of(sandbox)
    router = config["router_settings"]
    assert "routing_strategy" not in router
    assert router["optional_pre_call_checks"] == ["enforce_model_rate_limits"]
    limited = sorted(router["model_group_retry_policy"])
    assert RPM_MODEL in limited and TPM_MODEL in limited
    assert all(policy == {"RateLimitErrorRetries": 2} for policy in router["model_group_retry_policy"].values())
    assert router["fallbacks"] == [{"vllm-qwen": ["ollama-qwen"]}, {"ollama-qwen": ["openai-gpt4o"]}]
    assert router["num_retries"] == 0  # the operator's, untouched
    rpm_params = params_of(config, RPM_MODEL)
    assert rpm_params["rpm"] == RPM  # exactly, no + 1
    assert not {"max_budget", "budget_duration", "input_cost_per_token", "output_cost_per_token"} & set(rpm_params)
    assert params_of(config, TPM_MODEL)["tpm"] == TPM
    for chain_model in config["model_list"][:3]:
        assert not {"rpm", "tpm", "max_budget"} & set(chain_model["litellm_params"]), chain_model
    pods = sandbox.serving_pods()
    again = site(sandbox)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]
    assert sandbox.serving_pods() == pods


def test_throttle_admits_exactly_rpm_per_minute_and_holds_the_rest(sandbox, throttled):
    wait_for_room_in_the_minute()
    sent_before = len(sandbox.provider_requests())
    started = utc_now()

    def tpm_pair():
        first = timed_chat(sandbox, TPM_MODEL, LONG_PROMPT)
        time.sleep(1)  # LiteLLM counts a request's tokens once it has answered
        return [first, timed_chat(sandbox, TPM_MODEL, LONG_PROMPT)]

    def rpm_waves():
        # RPM at once, then two more at once: never more than RPM in flight, since LiteLLM 1.108.7 also
        # answers 429 at once to a request beyond a deployment's max_parallel_requests (which defaults
        # to its rpm), and that would be another limit than the one under test.
        first = in_parallel([lambda: timed_chat(sandbox, RPM_MODEL) for _ in range(RPM)])
        return first + in_parallel([lambda: timed_chat(sandbox, RPM_MODEL) for _ in range(2)])

    done: list = []
    burst = threading.Thread(target=lambda: done.append(in_parallel([rpm_waves, tpm_pair])))
    burst.start()
    time.sleep(5)
    assert_others_answer_quickly(sandbox)  # while LiteLLM holds the burst's extra requests
    burst.join(timeout=300)
    rpm_results, (tpm_first, tpm_second) = done[0]

    for result in rpm_results + [tpm_first, tpm_second]:
        # Held, never failed.
        assert result["status"] == 200, (
            result["model"],
            result["status"],
            round(result["seconds"], 1),
            message(result),
        )
    quick = sorted(r["seconds"] for r in rpm_results)
    assert all(seconds < QUICK for seconds in quick[:RPM]), quick
    assert all(seconds >= HELD for seconds in quick[RPM:]), quick
    assert tpm_first["seconds"] < QUICK and tpm_second["seconds"] >= HELD, (tpm_first, tpm_second)

    # The provider saw exactly RPM in the first minute, the held ones only in the next, and no 429.
    minute = started.replace(second=0, microsecond=0)
    seen = upstream(sandbox, RPM_MODEL.split("/", 1)[1], sent_before)
    assert [r["status"] for r in seen] == [200] * (RPM + 2), seen
    by_minute = {}
    for request in seen:
        at = datetime.datetime.fromisoformat(request["time"]).replace(second=0, microsecond=0)
        by_minute[at] = by_minute.get(at, 0) + 1
    assert by_minute[minute] == RPM, by_minute
    assert all(count <= RPM for count in by_minute.values()), by_minute
    print(
        f"throttle: {RPM} of {RPM + 2} answered in {[round(s, 1) for s in quick[:RPM]]} s, the others held "
        f"{[round(s, 1) for s in quick[RPM:]]} s; per UTC minute at the provider: "
        f"{sorted((k.strftime('%H:%M'), v) for k, v in by_minute.items())}; tpm: second request held "
        f"{tpm_second['seconds']:.1f} s"
    )


def test_reject_mode_answers_429_at_once(sandbox, throttled):
    result = site(sandbox, litellm_rate_limit_mode="reject")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    router = config_of(sandbox)["router_settings"]
    assert all(policy == {"RateLimitErrorRetries": 0} for policy in router["model_group_retry_policy"].values())

    wait_for_room_in_the_minute()
    sent_before = len(sandbox.provider_requests())
    # One after the other: LiteLLM also caps a deployment's requests in flight at its rpm
    # (max_parallel_requests), which would refuse a concurrent burst for that reason instead.
    rpm_results = [timed_chat(sandbox, RPM_MODEL, timeout=30) for _ in range(RPM + 1)]
    assert [r["status"] for r in rpm_results] == [200] * RPM + [429], rpm_results
    rejected = rpm_results[-1]
    assert rejected["seconds"] < QUICK, rejected
    assert "Model rate limit exceeded. RPM limit=3" in message(rejected), rejected
    assert len(upstream(sandbox, RPM_MODEL.split("/", 1)[1], sent_before)) == RPM

    first = timed_chat(sandbox, TPM_MODEL, LONG_PROMPT, timeout=30)
    time.sleep(1)
    second = timed_chat(sandbox, TPM_MODEL, LONG_PROMPT, timeout=30)
    assert (first["status"], second["status"]) == (200, 429), (first, second)
    assert second["seconds"] < QUICK and "TPM limit=60" in message(second), second
    assert_others_answer_quickly(sandbox)


def test_a_providers_daily_quota_reaches_the_client_in_its_words(sandbox, throttled):
    """LiteLLM cannot count requests per day: the provider does, and says so."""
    knobs = sandbox.state_dir / "providers.json"
    knobs.write_text(json.dumps({"rate_limit": {"groq/openai/gpt-oss-120b": {"rpd": 2}}}))
    try:
        answers = [timed_chat(sandbox, "groq/openai/gpt-oss-120b", timeout=60) for _ in range(3)]
    finally:
        knobs.write_text("{}")
    assert [a["status"] for a in answers] == [200, 200, 429], answers
    refused = answers[-1]
    assert "requests per day (RPD)" in message(refused), refused
    # The provider announces hours: LiteLLM's retry does not wait for that (it waits only up to 60 s).
    assert refused["seconds"] < 30, refused
    print(f"a spent daily quota: 429 with the provider's message after {refused['seconds']:.1f} s")


def test_spend_is_what_litellms_price_map_says(sandbox, throttled):
    """No invented price: LiteLLM's own map prices the free model (at the paid list price)."""
    prices = json.loads(
        (
            REPO_ROOT / ".venv-litellm/lib/python3.11/site-packages/litellm/model_prices_and_context_window_backup.json"
        ).read_text()
    )["groq/openai/gpt-oss-120b"]
    request = {
        "model": "groq/openai/gpt-oss-120b",
        "messages": [{"role": "user", "content": "Say hello"}],
        "max_tokens": 200,
    }
    call = urllib.request.Request(
        sandbox.url + "/v1/chat/completions",
        data=json.dumps(request).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + sandbox.master_key},
    )
    with urllib.request.urlopen(call, timeout=30) as response:
        cost = float(response.headers["x-litellm-response-cost"])
        usage = json.loads(response.read())["usage"]
    expected = (
        usage["prompt_tokens"] * prices["input_cost_per_token"]
        + usage["completion_tokens"] * prices["output_cost_per_token"]
    )
    assert cost == pytest.approx(expected), (cost, usage, prices)
    print(f"spend recorded for one request: {cost:.3g} USD = LiteLLM's map price for {usage}")
