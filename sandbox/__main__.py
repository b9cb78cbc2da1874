"""Command line of the sandbox cluster: ``python -m sandbox up|down|status|serve|faults``.

``up`` stops any running sandbox of the same state directory, wipes the state,
starts ``serve`` in the background and waits until every replica of the LiteLLM
Deployment is ready; ``down`` stops every process the sandbox started, by the
PIDs it recorded. ``serve`` is the foreground process: API server, controllers,
the fake providers and the service listeners on one event loop.

``--shape default|helm|componentized|componentized-own-config`` (env SANDBOX_SHAPE) picks how the before
state is installed (sandbox/seed.py); ``--redis`` (env SANDBOX_REDIS=1) adds a real
Redis server and runs LiteLLM at 2 replicas. ``faults --set '<json>'`` /
``--clear`` makes the running API server fail or hold requests
(sandbox/apiserver/faults.py); without either it shows the rules in force.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
UP_TIMEOUT = 240  # seconds: a cold LiteLLM start is 10-15 s, slower under load


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _terminate(pid: int, group: bool, timeout: float) -> None:
    sender = os.killpg if group else os.kill
    try:
        sender(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            sender(pid, signal.SIGKILL)


def down(state_dir: Path) -> int:
    """Stop the serve process, then any pod process it left behind."""
    stopped = 0
    pidfile = state_dir / "serve.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text().strip() or 0)
        if pid and _alive(pid) and "sandbox" in _cmdline(pid):
            _terminate(pid, group=False, timeout=40)
            stopped += 1
        pidfile.unlink(missing_ok=True)
    pid_dir = state_dir / "pids"
    if pid_dir.is_dir():
        for entry in pid_dir.glob("*.pid"):
            pid = int(entry.stem)
            # Only a process that is still one we started (PIDs get reused).
            if _alive(pid) and ("litellm" in _cmdline(pid) or "redis-server" in _cmdline(pid)):
                _terminate(pid, group=True, timeout=10)
                stopped += 1
            entry.unlink(missing_ok=True)
    print(f"sandbox: stopped {stopped} process(es)" if stopped else "sandbox: nothing running")
    return 0


def up(state_dir: Path, shape: str = "default", redis: bool = False) -> int:
    down(state_dir)
    if state_dir.exists():
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True)
    log = (state_dir / "sandbox.log").open("ab")
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--state-dir",
            str(state_dir.resolve()),
            "--shape",
            shape,
            *(["--redis"] if redis else []),
        ],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    (state_dir / "serve.pid").write_text(str(process.pid))
    ready = state_dir / "ready"
    while not ready.exists():
        if process.poll() is not None:
            print(f"sandbox: failed to start (exit {process.returncode}); last log lines:", file=sys.stderr)
            print("".join((state_dir / "sandbox.log").read_text().splitlines(True)[-30:]), file=sys.stderr)
            return 1
        if time.monotonic() - started > UP_TIMEOUT:
            print(
                f"sandbox: LiteLLM not ready after {UP_TIMEOUT}s; see {state_dir}/sandbox.log and {state_dir}/pods/",
                file=sys.stderr,
            )
            down(state_dir)
            return 1
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    info = json.loads((state_dir / "sandbox.json").read_text())
    print(f"sandbox: up in {elapsed:.1f}s (LiteLLM ready: {info['replicas']} replica(s), shape {info['shape']})")
    print(f"  kubeconfig:  {state_dir / 'kubeconfig'}")
    print(f"  LiteLLM URL: {(state_dir / 'litellm-url').read_text().strip()}")
    for other in info.get("deployments", [])[1:]:  # componentized: backend and ui, through their Services
        print(f"  {other}: {(state_dir / f'{other}-url').read_text().strip()}")
    if info.get("redis"):
        redis = json.loads((state_dir / "redis.json").read_text())
        print(
            f"  Redis:       {redis['host']}:{redis['port']} (password in {state_dir / 'redis.json'} "
            f"and in Secret litellm-secrets as {redis['password_env']})"
        )
    print(f"  try: kubectl --kubeconfig {state_dir / 'kubeconfig'} -n ml get deploy,pods,cm,secret")
    print("  stop: make sandbox-down")
    return 0


def status(state_dir: Path) -> int:
    pidfile = state_dir / "serve.pid"
    if not pidfile.exists() or not _alive(int(pidfile.read_text().strip() or 0)):
        print("sandbox: not running")
        return 1
    print(f"sandbox: running (pid {pidfile.read_text().strip()})")
    if (state_dir / "shape").exists():
        print(f"  shape: {(state_dir / 'shape').read_text().strip()}")
    for name in ("kubeconfig", "litellm-url", "providers-url", "redis.json"):
        if not (state_dir / name).exists():
            continue
        path = state_dir / name
        print(f"  {name}: {path if name in ('kubeconfig', 'redis.json') else path.read_text().strip()}")
    return 0


def faults(state_dir: Path, rules_json: str | None, clear: bool) -> int:
    """Set, clear or show the API server's fault rules (the file is re-read on every request)."""
    from .apiserver import faults as api_faults

    if not state_dir.is_dir():
        print(f"sandbox: no state directory {state_dir}", file=sys.stderr)
        return 1
    path = state_dir / api_faults.FAULTS_FILE
    if clear:
        print("sandbox: faults cleared" if api_faults.clear_rules(state_dir) else "sandbox: there were no faults")
        return 0
    if rules_json is None:
        print(path.read_text().rstrip() if path.exists() else "sandbox: no faults")
        return 0
    try:
        rules = json.loads(rules_json)
        api_faults.write_rules(state_dir, rules)
    except ValueError as err:
        print(f"sandbox: faults not set: {err}", file=sys.stderr)
        return 2
    print(f"sandbox: {len(rules)} fault rule(s) in {path}")
    return 0


def kubeconfig(api_url: str, token: str, ca_pem: str) -> dict:
    import base64

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "sandbox",
        "clusters": [
            {
                "name": "sandbox",
                "cluster": {
                    "server": api_url,
                    "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
                },
            }
        ],
        "users": [{"name": "sandbox-admin", "user": {"token": token}}],
        "contexts": [
            {"name": "sandbox", "context": {"cluster": "sandbox", "user": "sandbox-admin", "namespace": "ml"}}
        ],
    }


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


async def serve(state_dir: Path, litellm_bin: str, shape: str = "default", with_redis: bool = False) -> None:
    import secrets

    import yaml
    from aiohttp import web

    from . import apiserver, providers, redis_server, seed, tls
    from .apiserver import faults
    from .cluster import Cluster
    from .store import Store

    async def start(app: web.Application, ssl_context=None) -> tuple[web.AppRunner, str]:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        scheme = "https" if ssl_context else "http"
        return runner, f"{scheme}://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    token = secrets.token_urlsafe(32)
    store = Store()
    cluster = Cluster(store, state_dir, litellm_bin)
    provider_runner, providers_url = await start(providers.build_app(state_dir))
    ssl_context, ca_pem = tls.make_server_tls(state_dir / "pki")
    api_runner, api_url = await start(
        apiserver.build_app(store, token, cluster, faults_file=state_dir / faults.FAULTS_FILE), ssl_context
    )
    redis = await redis_server.start(state_dir, cluster.kubelet.pid_dir) if with_redis else None
    replicas = 2 if redis else 1
    generated = seed.seed(
        store, providers_url, shape=shape, replicas=replicas, redis_password=redis.password if redis else None
    )
    (state_dir / "shape").write_text(shape + "\n")
    (state_dir / "sandbox.json").write_text(
        json.dumps(
            {
                "shape": shape,
                "redis": bool(redis),
                "replicas": replicas,
                "namespace": seed.NAMESPACE,
                "deployment": seed.SERVING[shape][0][0],
                "service": seed.SERVING[shape][0][1],
                "deployments": [name for name, _, _ in seed.SERVING[shape]],
                "configmap": seed.CONFIGMAP[shape],
                "master_key": dict(zip(("secret", "key"), seed.MASTER_KEY_LOCATION[shape])),
            },
            indent=2,
        )
        + "\n"
    )
    if redis:
        # Where the Redis server is: for the inventory (litellm_redis_*) and the tests.
        # The password is also in the Secret litellm-secrets, for os.environ/REDIS_PASSWORD.
        _write_private(
            state_dir / "redis.json",
            json.dumps(
                {
                    "host": redis.host,
                    "port": redis.port,
                    "password": redis.password,
                    "password_env": seed.REDIS_PASSWORD_ENV,
                    "secret": "litellm-secrets",
                },
                indent=2,
            )
            + "\n",
        )
        _write_private(state_dir / "redis-url", redis.url + "\n")
    valid_keys = {provider: [key] for provider, key in seed.DEMO_PROVIDER_KEYS.items()}
    valid_keys["openai"] = [generated["OPENAI_API_KEY"]]
    (state_dir / "valid-keys.json").write_text(json.dumps(valid_keys, indent=2) + "\n")
    (state_dir / "providers-url").write_text(providers_url + "\n")
    # What an inventory needs to point provider models at the fakes (api_base per provider).
    (state_dir / "provider-api-bases.json").write_text(
        json.dumps({name: providers.api_base(providers_url, name) for name in ("groq", "gemini", "mistral")}, indent=2)
    )
    _write_private(state_dir / "kubeconfig", yaml.safe_dump(kubeconfig(api_url, token, ca_pem), sort_keys=False))
    (state_dir / "api-url").write_text(api_url + "\n")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    controller = loop.create_task(cluster.run())
    started = time.monotonic()
    logging.info("sandbox API server %s, providers %s", api_url, providers_url)

    def ready_url(name: str, service: str, port: int) -> str | None:
        deployment = store.get("deployments", seed.NAMESPACE, name) or {}
        want = (deployment.get("spec") or {}).get("replicas", 1)
        status = deployment.get("status") or {}
        url = cluster.services.service_url(seed.NAMESPACE, service, port)
        ready = status.get("readyReplicas", 0) >= want and status.get("availableReplicas", 0) >= want
        return url if ready else None

    async def announce_ready() -> None:
        while True:
            urls = [ready_url(*serving) for serving in seed.SERVING[shape]]
            if all(urls):
                # The first serves inference; the others (componentized: backend, ui) by Service name.
                for (_, service, _), url in zip(seed.SERVING[shape][1:], urls[1:]):
                    (state_dir / f"{service}-url").write_text(url + "\n")
                url = urls[0]
                (state_dir / "litellm-url").write_text(url + "\n")
                (state_dir / "ready").write_text(f"{time.monotonic() - started:.1f}\n")
                logging.info("LiteLLM ready after %.1fs at %s", time.monotonic() - started, url)
                return
            await asyncio.sleep(0.2)

    loop.create_task(announce_ready())
    await stop.wait()
    logging.info("stopping")
    await cluster.shutdown()
    if redis:
        await redis.stop()
    controller.cancel()
    await api_runner.cleanup()
    await provider_runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status", "serve", "faults"])
    parser.add_argument("--state-dir", type=Path, default=Path(os.environ.get("SANDBOX_DIR", ".sandbox")))
    parser.add_argument(
        "--litellm-bin",
        default=os.environ.get("SANDBOX_LITELLM_BIN", str(REPO_ROOT / ".venv-litellm" / "bin" / "litellm")),
    )
    parser.add_argument(
        "--shape",
        choices=["default", "helm", "componentized", "componentized-own-config"],  # seed.SHAPES
        default=os.environ.get("SANDBOX_SHAPE") or "default",
        help="how the before state is installed (env SANDBOX_SHAPE)",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        default=os.environ.get("SANDBOX_REDIS", "").lower() in ("1", "true", "yes"),
        help="run a Redis server and 2 LiteLLM replicas (env SANDBOX_REDIS=1)",
    )
    rules = parser.add_mutually_exclusive_group()
    rules.add_argument("--set", metavar="JSON", help="faults: the rules to put in force (a JSON list)")
    rules.add_argument("--clear", action="store_true", help="faults: remove every rule")
    args = parser.parse_args(argv)
    state_dir = args.state_dir
    if args.command != "faults" and (args.set is not None or args.clear):
        parser.error("--set and --clear belong to the faults command")
    if args.command == "faults":
        return faults(state_dir, args.set, args.clear)
    if args.command == "up":
        return up(state_dir, args.shape, args.redis)
    if args.command == "down":
        return down(state_dir)
    if args.command == "status":
        return status(state_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(state_dir.resolve(), args.litellm_bin, args.shape, args.redis))
    return 0


if __name__ == "__main__":
    sys.exit(main())
