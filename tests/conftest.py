"""Fixtures shared by the sandbox and integration tests.

``sandbox`` starts a fresh sandbox cluster (the story's before state, a real
LiteLLM pod) per test module in its own state directory, so that tests never
touch a sandbox the developer has running in .sandbox/, and stops it afterwards;
``helm_sandbox`` does the same with LiteLLM installed as the official Helm chart installs it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import ssl
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from sandbox.apiserver.faults import clear_rules, write_rules

REPO_ROOT = Path(__file__).resolve().parent.parent
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
LITELLM_BIN = REPO_ROOT / ".venv-litellm" / "bin" / "litellm"
VAULT_PASSWORD = REPO_ROOT / "inventory" / "sandbox" / "vault-password.txt"
SANDBOX_VAULT = REPO_ROOT / "inventory" / "sandbox" / "group_vars" / "all" / "vault.yml"
# The sandbox inventory's demo password reaches only the runs that ask for it by this vault id (no
# project-wide vault_password_file: a user's own vault must never be opened with it).
VAULT_ARGS = ("--vault-id", f"sandbox@{VAULT_PASSWORD}")


class Sandbox:
    """A running sandbox and the real clients to talk to it."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.kubeconfig = state_dir / "kubeconfig"
        self.url = (state_dir / "litellm-url").read_text().strip()
        self.api_url = (state_dir / "api-url").read_text().strip()
        self.providers_url = (state_dir / "providers-url").read_text().strip()
        self.token = yaml.safe_load(self.kubeconfig.read_text())["users"][0]["user"]["token"]
        # The API server speaks TLS with the sandbox's own CA (kubectl sends no token over HTTP).
        self.api_ssl = ssl.create_default_context(cafile=str(state_dir / "pki" / "ca.crt"))

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [KUBECTL, "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def get(self, kind: str, name: str, namespace: str = "ml") -> dict:
        return json.loads(self.kubectl("-n", namespace, "get", kind, name, "-o", "json").stdout)

    def secret_value(self, key: str, name: str = "litellm-secrets") -> str:
        return base64.b64decode(self.get("secret", name)["data"][key]).decode()

    @property
    def master_key(self) -> str:
        """LiteLLM's master key, from where this sandbox's shape keeps it (sandbox.json)."""
        where = json.loads((self.state_dir / "sandbox.json").read_text())["master_key"]
        return self.secret_value(where["key"], name=where["secret"])

    def http(
        self, method: str, path: str, body: dict | None = None, key: str | None = None, timeout: float = 30
    ) -> tuple[int, dict | str]:
        """One request to LiteLLM through the service endpoint."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as err:
            raw, status = err.read().decode(), err.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def chat(self, model: str, key: str | None = None, timeout: float = 30) -> tuple[int, dict | str]:
        return self.http(
            "POST",
            "/v1/chat/completions",
            {"model": model, "messages": [{"role": "user", "content": "Say hello"}]},
            key=key or self.master_key,
            timeout=timeout,
        )

    def provider_requests(self) -> list[dict]:
        path = self.state_dir / "provider-requests.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def pods(self) -> list[dict]:
        return json.loads(self.kubectl("-n", "ml", "get", "pods", "-o", "json").stdout)["items"]

    def serving_pods(self) -> list[str]:
        """Names of the pods not on their way out: an old pod still terminating after a rollout (which is
        complete once old pods terminate, as kubectl says) is gone a moment later, with no restart."""
        return sorted(p["metadata"]["name"] for p in self.pods() if not p["metadata"].get("deletionTimestamp"))

    def rollout_status(self, timeout: str = "120s", check: bool = True) -> subprocess.CompletedProcess:
        return self.kubectl(
            "-n", "ml", "rollout", "status", "deployment/litellm", f"--timeout={timeout}", check=check, timeout=300
        )

    def resource_version(self, kind: str, name: str) -> str:
        return self.get(kind, name)["metadata"]["resourceVersion"]

    def generation(self, name: str = "litellm") -> int:
        return self.get("deployment", name)["metadata"]["generation"]

    def config_text(self, name: str = "litellm-config", key: str = "config.yaml") -> str:
        return self.get("configmap", name)["data"][key]

    def secrets(self) -> dict[str, str]:
        """Every secret value the sandbox holds: provider keys it accepts, and each Secret's values."""
        found = {}
        for provider, keys in json.loads((self.state_dir / "valid-keys.json").read_text()).items():
            for index, key in enumerate(keys):
                found[f"{provider} key {index}"] = key
        listed = json.loads(self.kubectl("get", "secrets", "-A", "-o", "json").stdout)["items"]
        for secret in listed:
            if (secret["metadata"].get("labels") or {}).get("homelab.litellm/known-good-of"):
                continue  # the record holds copies of the same values
            for key, value in (secret.get("data") or {}).items():
                plain = base64.b64decode(value).decode(errors="replace")
                if len(plain) >= 8:
                    found[f"{secret['metadata']['name']}/{key}"] = plain
        return found

    def playbook(
        self,
        name: str,
        *args: str,
        env: dict | None = None,
        timeout: float = 900,
        new_session: bool = False,
        vault: bool = True,
    ) -> subprocess.CompletedProcess:
        """ansible-playbook playbooks/NAME against this sandbox, as a user runs it (sandbox inventory).

        ``vault`` passes the sandbox vault's id and demo password (``--vault-id sandbox@...``).
        """
        environment = dict(
            os.environ,
            SANDBOX_DIR=str(self.state_dir),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
            **(env or {}),
        )
        return subprocess.run(
            [str(REPO_ROOT / ".venv/bin/ansible-playbook"), f"playbooks/{name}", *(VAULT_ARGS if vault else ()), *args],
            capture_output=True,
            text=True,
            env=environment,
            cwd=REPO_ROOT,
            timeout=timeout,
            start_new_session=new_session,
        )

    def api_faults(self, rules: list[dict]) -> contextlib.ExitStack:
        """Have the API server fail or hold the requests ``rules`` match (sandbox/README.md, Faults on demand).

        In force at once, until cleared; ``with sandbox.api_faults([...]):`` clears them on leaving the block.
        """
        write_rules(self.state_dir, rules)
        cleared = contextlib.ExitStack()
        cleared.callback(self.clear_api_faults)
        return cleared

    def clear_api_faults(self) -> None:
        clear_rules(self.state_dir)

    def api_faults_applied(self) -> list[int]:
        """How many requests each rule in force has failed or held so far (the API server's metrics)."""
        request = urllib.request.Request(self.api_url + "/sandbox/metrics")
        request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=10, context=self.api_ssl) as response:
            return json.loads(response.read())["faults_applied"]

    def accept_keys(self, provider: str, keys: list[str]) -> None:
        """What the provider's console does: decide which keys are valid."""
        path = self.state_dir / "valid-keys.json"
        valid = json.loads(path.read_text())
        valid[provider] = keys
        path.write_text(json.dumps(valid))

    def crashlooping_replicasets(self) -> list[str]:
        """ReplicaSets that still want pods while one of their pods crash-loops (the next outage)."""
        pods = self.pods()
        found = []
        for rs in json.loads(self.kubectl("-n", "ml", "get", "rs", "-o", "json").stdout)["items"]:
            if not rs["spec"].get("replicas"):
                continue
            uid = rs["metadata"]["uid"]
            for pod in pods:
                if not any(ref.get("uid") == uid for ref in pod["metadata"].get("ownerReferences") or []):
                    continue
                for status in pod.get("status", {}).get("containerStatuses") or []:
                    if (status.get("state", {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff" or status.get(
                        "restartCount", 0
                    ) > 0:
                        found.append(rs["metadata"]["name"])
        return sorted(set(found))


# The story's fallback chain, and the parallel models the default presets add (litellm_preset_set: current).
STORY_CHAIN = ["vllm-qwen", "ollama-qwen", "openai-gpt4o"]
CURRENT_MODELS = [
    "groq/openai/gpt-oss-120b",
    "groq/openai/gpt-oss-20b",
    "gemini/gemini-3.5-flash-lite",
    "gemini/gemini-3.8-flash",
    "mistral/mistral-small-latest",
]


# The shape of the keys each provider issues today (sandbox/provider_catalog.py KEY_FORMAT): prefix, length.
ISSUED_KEY_SHAPE = {"groq": ("gsk_", 52), "gemini": ("AQ.", 50), "mistral": ("", 32)}


def issued_key(provider: str) -> str:
    """A fresh random key in the format ``provider`` issues; the strict fakes refuse any other shape."""
    prefix, length = ISSUED_KEY_SHAPE[provider]
    return prefix + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def sandbox_command(command: str, state_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", command, "--state-dir", str(state_dir), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def sandbox_cli():
    """``python -m sandbox COMMAND --state-dir DIR`` as a function."""
    return sandbox_command


def running_sandbox(tmp_path_factory, *up_args: str):
    """A fresh sandbox (``sandbox up --state-dir <tmp> *up_args``) while the generator is suspended."""
    if not LITELLM_BIN.exists():
        pytest.fail(f"{LITELLM_BIN} is missing: run `make setup`")
    state_dir = tmp_path_factory.mktemp("sandbox")
    started = time.monotonic()
    result = sandbox_command("up", state_dir, *up_args)
    if result.returncode != 0:
        pytest.fail(f"sandbox did not start:\n{result.stdout}\n{result.stderr}")
    box = Sandbox(state_dir)
    box.start_seconds = time.monotonic() - started
    yield box
    sandbox_command("down", state_dir)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    yield from running_sandbox(tmp_path_factory)


@pytest.fixture(scope="module")
def helm_sandbox(tmp_path_factory):
    """A sandbox in which LiteLLM is installed as the official Helm chart installs it (``--shape helm``)."""
    yield from running_sandbox(tmp_path_factory, "--shape", "helm")


class PlaybookRun:
    """The outcome of one ansible-playbook run, with every task's result by name."""

    def __init__(self, completed: subprocess.CompletedProcess, json_output: bool) -> None:
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.results: dict[str, dict] = {}
        if json_output:
            report = json.loads(self.stdout[self.stdout.index("{") :])
            for play in report["plays"]:
                for task in play["tasks"]:
                    self.results[task["task"]["name"]] = task["hosts"].get("localhost", {})

    def __getitem__(self, task_name: str) -> dict:
        return self.results[task_name]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def run_playbook(sandbox):
    """Run tasks (a list of dicts) on localhost against the sandbox through ansible-playbook.

    ``json_output=True`` (the default) uses the ansible.posix.json callback so
    every task's registered result can be asserted on; pass ``False`` with a
    verbosity to read what a user would see.
    """

    def run(
        tasks: list[dict],
        *,
        check: bool = False,
        diff: bool = False,
        verbosity: int = 0,
        json_output: bool = True,
        extra_args: tuple[str, ...] = (),
    ) -> PlaybookRun:
        playbook = sandbox.state_dir / f"play-{time.monotonic_ns()}.yml"
        playbook.write_text(
            yaml.safe_dump(
                [{"name": "Test", "hosts": "localhost", "gather_facts": False, "tasks": tasks}], sort_keys=False
            )
        )
        env = dict(
            os.environ,
            K8S_AUTH_KUBECONFIG=str(sandbox.kubeconfig),
            ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_PYTHON_INTERPRETER=str(REPO_ROOT / ".venv" / "bin" / "python"),
            # As a user giving a module a key must: the modules refuse a secret argument otherwise.
            ANSIBLE_PIPELINING="1",
        )
        if json_output:
            env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        args = [
            str(REPO_ROOT / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
            *extra_args,
        ]
        if check:
            args.append("--check")
        if diff:
            args.append("--diff")
        if verbosity:
            args.append("-" + "v" * verbosity)
        completed = subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=600)
        return PlaybookRun(completed, json_output)

    return run


class Trickle:
    """A steady request load on LiteLLM, round robin over ``models``; counts every answer that is not a 200."""

    def __init__(self, sandbox: Sandbox, interval: float = 0.1, models: tuple[str, ...] = ("vllm-qwen",)) -> None:
        self.sandbox = sandbox
        self.interval = interval
        self.models = models
        self.ok = 0
        self.answered: dict[str, int] = dict.fromkeys(models, 0)
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        key = self.sandbox.master_key
        turn = 0
        while not self._stop.is_set():
            model = self.models[turn % len(self.models)]
            turn += 1
            try:
                status, body = self.sandbox.chat(model, key=key, timeout=20)
            except (urllib.error.URLError, OSError) as err:
                status, body = 0, str(err)
            if status == 200:
                self.ok += 1
                self.answered[model] += 1
            else:
                self.failures.append(f"{model}: {status}: {str(body)[:200]}")
            time.sleep(self.interval)

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.fixture
def trickle(sandbox):
    """``with trickle(models=(...)) as load:`` keeps a steady request load on LiteLLM."""
    return lambda interval=0.1, models=("vllm-qwen",): Trickle(sandbox, interval, tuple(models))


class Keys(dict):
    """Provider keys that show by name only: pytest prints a fixture's value in a failure's traceback."""

    def __repr__(self) -> str:
        return f"Keys({sorted(self)})"


yaml.SafeDumper.add_representer(Keys, yaml.representer.SafeRepresenter.represent_dict)


def vault_keys(path: Path = SANDBOX_VAULT, password_file: Path = VAULT_PASSWORD) -> dict[str, str]:
    """The keys in a vault file, decrypted the way a user would."""
    plain = subprocess.run(
        [str(REPO_ROOT / ".venv/bin/ansible-vault"), "view", "--vault-id", f"sandbox@{password_file}", str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    ).stdout
    return yaml.safe_load(plain)["vault_litellm_api_keys"]


def write_vault(path: Path, keys: dict[str, str], password_file: Path = VAULT_PASSWORD) -> Path:
    """An encrypted vault file holding ``keys`` as vault_litellm_api_keys."""
    path.write_text(yaml.safe_dump({"vault_litellm_api_keys": keys}))
    subprocess.run(
        [
            str(REPO_ROOT / ".venv/bin/ansible-vault"),
            "encrypt",
            "--vault-id",
            f"sandbox@{password_file}",
            "--encrypt-vault-id",
            "sandbox",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    return path


def leaked(text: str, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets whose value (or base64 of it) appears in ``text``."""
    found = []
    for name, value in secrets.items():
        if value in text or base64.b64encode(value.encode()).decode() in text:
            found.append(name)
    return found


def decoded_base64(text: str) -> str:
    """Every base64 token of ``text``, decoded: a key inside an encoded blob (a Secret's JSON value, say) is no
    better hidden than in plain text, and ``leaked`` finds it only after this."""
    decoded = []
    for token in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        try:
            decoded.append(base64.b64decode(token + "=" * (-len(token) % 4)).decode(errors="replace"))
        except ValueError:
            continue
    return "\n".join(decoded)


def ansible_tmp_leaks(secrets: dict[str, str]) -> list[str]:
    """Files under ~/.ansible/tmp (where Ansible writes modules and their arguments) holding a secret.

    Other runs on the machine create and delete their directories there meanwhile: os.walk skips a
    directory that vanishes (Path.rglob raises), and a file that vanishes before it is read is skipped.
    """
    found = []
    for directory, _subdirectories, files in os.walk(Path.home() / ".ansible" / "tmp"):
        for file in files:
            path = Path(directory) / file
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            found += [f"{path}: {name}" for name in leaked(text, secrets)]
    return found
