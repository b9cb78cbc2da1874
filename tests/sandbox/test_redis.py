"""The sandbox with Redis and two LiteLLM replicas (``sandbox up --shape helm --redis``).

What these prove: the Redis server is real and wants its password; both pods
serve and the Service spreads new connections over them (at random, per
connection, like kube-proxy); and LiteLLM's enforce_model_rate_limits counts
across the pods only when router_settings point at Redis. Per-pod counts come
from each pod's log (uvicorn's access line per request): LiteLLM 1.108.7 sends
no response header that names the pod or host.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import json
import os
import socket
import time
import urllib.error
import urllib.request

import pytest
import yaml

pytestmark = pytest.mark.litellm

RPM = 5  # the limited model's requests per minute
BURST = 2 * RPM + 2


@pytest.fixture(scope="module")
def redis_shape():
    saved = {name: os.environ.get(name) for name in ("SANDBOX_SHAPE", "SANDBOX_REDIS")}
    os.environ["SANDBOX_SHAPE"], os.environ["SANDBOX_REDIS"] = "helm", "1"
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def sandbox(redis_shape, sandbox):  # the shared fixture, started with SANDBOX_SHAPE=helm SANDBOX_REDIS=1
    return sandbox


@pytest.fixture(scope="module")
def redis(sandbox) -> dict:
    return json.loads((sandbox.state_dir / "redis.json").read_text())


def resp(host: str, port: int, *commands: list[str]) -> list[bytes]:
    """Send RESP commands on one connection; return one raw reply line per command."""
    with socket.create_connection((host, port), timeout=5) as conn:
        payload = b"".join(
            f"*{len(c)}\r\n".encode() + b"".join(f"${len(part.encode())}\r\n{part}\r\n".encode() for part in c)
            for c in commands
        )
        conn.sendall(payload)
        data = b""
        while data.count(b"\r\n") < len(commands):
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n")[: len(commands)]


def master_key(sandbox) -> str:
    return sandbox.secret_value("masterkey", name="litellm-masterkey")


def chat(url: str, key: str, model: str) -> int:
    """One request on its own TCP connection (urllib does not keep connections alive)."""
    request = urllib.request.Request(
        url + "/v1/chat/completions",
        method="POST",
        data=json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def per_pod(sandbox, marker: str) -> dict[str, dict[str, int]]:
    """Chat completions per pod and status, from each pod's log after ``marker`` requests began."""
    counts = {}
    for pod in sandbox.pods():
        if pod["metadata"].get("deletionTimestamp"):
            continue
        name = pod["metadata"]["name"]
        log = sandbox.kubectl("-n", "ml", "logs", name).stdout
        lines = [line for line in log.splitlines() if '"POST /v1/chat/completions' in line]
        counts[name] = {
            "200": sum(" 200 " in line for line in lines),
            "429": sum(" 429 " in line for line in lines),
            "all": len(lines),
        }
    return counts


def test_redis_answers_with_its_password_only(sandbox, redis):
    host, port = redis["host"], redis["port"]
    assert host == "127.0.0.1"
    assert resp(host, port, ["PING"])[0].startswith(b"-NOAUTH")
    assert resp(host, port, ["AUTH", "wrong-password"])[0].startswith(b"-WRONGPASS")
    assert resp(host, port, ["AUTH", redis["password"]], ["PING"]) == [b"+OK", b"+PONG"]
    # Nothing persisted, and nothing outside the state dir: no snapshots, no AOF.
    conf = (sandbox.state_dir / "redis" / "redis.conf").read_text()
    assert 'save ""' in conf and "appendonly no" in conf and f"dir {sandbox.state_dir / 'redis'}" in conf
    # The pods get the password as REDIS_PASSWORD from the operator's Secret.
    assert sandbox.secret_value("REDIS_PASSWORD") == redis["password"]
    assert (sandbox.state_dir / "redis-url").read_text().strip() == f"redis://:{redis['password']}@{host}:{port}/0"
    # The collection, not the sandbox, writes router_settings.redis_*.
    config = yaml.safe_load(sandbox.get("configmap", "litellm-config")["data"]["config.yaml"])
    assert not any(k.startswith("redis") for k in config["router_settings"])
    assert oct((sandbox.state_dir / "redis.json").stat().st_mode & 0o777) == "0o600"


def test_two_ready_pods_and_the_service_spreads_connections(sandbox):
    deployment = sandbox.get("deployment", "litellm")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["status"]["readyReplicas"] == 2
    pods = [p for p in sandbox.pods() if not p["metadata"].get("deletionTimestamp")]
    assert len(pods) == 2 and all(p["status"]["containerStatuses"][0]["ready"] for p in pods)
    before = per_pod(sandbox, "")
    key = master_key(sandbox)
    statuses = [chat(sandbox.url, key, "vllm-qwen") for _ in range(20)]
    assert statuses == [200] * 20
    after = per_pod(sandbox, "")
    spread = {name: after[name]["all"] - before.get(name, {}).get("all", 0) for name in after}
    print(f"20 requests, one connection each, per pod: {spread}")
    assert sum(spread.values()) == 20
    assert all(n > 0 for n in spread.values()), spread  # 2 * 0.5**20 odds against


def set_router_settings(sandbox, redis: dict | None, model_id: str) -> None:
    """The limited model and router_settings, written into the ConfigMap, then a rollout."""
    configmap = sandbox.get("configmap", "litellm-config")
    config = yaml.safe_load(configmap["data"]["config.yaml"])
    config["model_list"] = [m for m in config["model_list"] if m["model_name"] != "limited"]
    vllm = next(m for m in config["model_list"] if m["model_name"] == "vllm-qwen")
    config["model_list"].append(
        {
            "model_name": "limited",
            "model_info": {"id": model_id},
            "litellm_params": {**vllm["litellm_params"], "rpm": RPM},
        }
    )
    router = config["router_settings"]
    router["optional_pre_call_checks"] = ["enforce_model_rate_limits"]
    for key in ("redis_host", "redis_port", "redis_password"):
        router.pop(key, None)
    if redis:
        router.update(redis_host=redis["host"], redis_port=redis["port"], redis_password="os.environ/REDIS_PASSWORD")
    patch = {"data": {"config.yaml": yaml.safe_dump(config, sort_keys=True)}}
    sandbox.kubectl("-n", "ml", "patch", "configmap/litellm-config", "--type=merge", "-p", json.dumps(patch))
    # A subPath mount never sees ConfigMap changes, and the chart's checksum/config
    # only changes on `helm upgrade`: restart the pods.
    sandbox.kubectl("-n", "ml", "rollout", "restart", "deployment/litellm")
    sandbox.rollout_status(timeout="240s")
    # The old pods may still be terminating: wait until only the two new ones are left.
    deadline = time.monotonic() + 120
    while len(sandbox.pods()) != 2 and time.monotonic() < deadline:
        time.sleep(1)


def burst(sandbox) -> tuple[list[int], dict[str, dict[str, int]]]:
    """BURST requests at once, each on its own connection, inside one UTC minute."""
    key = master_key(sandbox)
    for _ in range(3):
        now = datetime.datetime.now(datetime.timezone.utc)
        if now.second > 45:  # LiteLLM's windows are UTC calendar minutes: stay inside one
            time.sleep(61 - now.second)
            now = datetime.datetime.now(datetime.timezone.utc)
        minute = now.strftime("%H:%M")
        before = per_pod(sandbox, "")
        with concurrent.futures.ThreadPoolExecutor(max_workers=BURST) as pool:
            statuses = list(pool.map(lambda _: chat(sandbox.url, key, "limited"), range(BURST)))
        after = per_pod(sandbox, "")
        pods = {name: {k: after[name][k] - before.get(name, {}).get(k, 0) for k in after[name]} for name in after}
        in_one_minute = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M") == minute
        if in_one_minute and all(p["all"] > 0 for p in pods.values()):
            return statuses, pods
        # Random balancing sent every connection to one pod (odds 2 * 0.5**BURST), or the
        # minute turned: try again in the next minute, with fresh counters.
        time.sleep(61 - datetime.datetime.now(datetime.timezone.utc).second)
    raise AssertionError("could not fit a burst over both pods into one UTC minute")


def test_rate_limits_are_shared_through_redis_and_per_pod_without(sandbox, redis):
    run = f"{time.time_ns():x}"
    # With Redis: at most RPM admitted per UTC minute across both pods.
    set_router_settings(sandbox, redis, model_id=f"limited-{run}-redis")
    statuses, pods = burst(sandbox)
    admitted = statuses.count(200)
    print(
        f"\nwith Redis:    {BURST} requests, {admitted} admitted, {statuses.count(429)} refused (429); per pod {pods}"
    )
    assert set(statuses) <= {200, 429}
    assert sum(p["all"] for p in pods.values()) == BURST
    assert all(p["all"] > 0 for p in pods.values()), f"one pod got no request: {pods}"
    assert admitted <= RPM
    assert admitted == RPM, "every request was answered, so exactly RPM should pass"

    # Without Redis (the same model, a new id): each pod counts alone, up to 2 * RPM pass.
    set_router_settings(sandbox, None, model_id=f"limited-{run}-local")
    statuses, pods = burst(sandbox)
    admitted = statuses.count(200)
    print(f"without Redis: {BURST} requests, {admitted} admitted, {statuses.count(429)} refused (429); per pod {pods}")
    assert set(statuses) <= {200, 429}
    expected = sum(min(p["all"], RPM) for p in pods.values())
    assert admitted == expected, (admitted, pods)
    assert all(p["200"] == min(p["all"], RPM) for p in pods.values()), pods
    assert RPM < admitted <= 2 * RPM, "both pods admit up to RPM each"
