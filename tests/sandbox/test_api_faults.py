"""Faults on demand: the sandbox API server fails or holds requests as kube-apiserver can.

One sandbox for the module; every test writes to its own Secret and leaves no rule behind.
The clients are the real ones: kubectl and the kubernetes Python client. The rules' checks and
the file's replacement are pure and tested without a sandbox, at the end.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from sandbox.apiserver.faults import FAULTS_FILE, invalid_error, parse_rules, write_rules
from sandbox.apiserver.resources import find_resource
from sandbox.apiserver.routes import ApiRoute

OPTIMISTIC_LOCK = "the object has been modified; please apply your changes to the latest version and try again"


@pytest.fixture(autouse=True)
def no_faults_left(request):
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").clear_api_faults()


@pytest.fixture(scope="module")
def core(sandbox) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(sandbox.kubeconfig)))


@pytest.fixture
def secret(sandbox) -> str:
    """A fresh Secret in ml holding ``value=before``."""
    name = f"faults-{uuid.uuid4().hex[:6]}"
    sandbox.kubectl("-n", "ml", "create", "secret", "generic", name, "--from-literal=value=before")
    return name


def state(core: client.CoreV1Api, name: str) -> tuple[str, str]:
    """(resourceVersion, decoded value) of a Secret."""
    found = core.read_namespaced_secret(name, "ml")
    return found.metadata.resource_version, base64.b64decode(found.data["value"]).decode()


def replace(core: client.CoreV1Api, name: str, value: str, **kwargs) -> client.V1Secret:
    """PUT the Secret with a new value, from the resourceVersion just read."""
    current = core.read_namespaced_secret(name, "ml")
    current.data = {"value": base64.b64encode(value.encode()).decode()}
    return core.replace_namespaced_secret(name, "ml", current, **kwargs)


def put_rule(name: str, **action) -> dict:
    return {"method": "PUT", "resource": "secrets", "namespace": "ml", "name": name, **action}


def in_background(fn) -> tuple[threading.Thread, dict]:
    """Run ``fn`` in a thread; the dict gets its ``result`` or ``error`` and ``seconds``."""
    outcome: dict = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["result"] = fn()
        except Exception as err:  # the test asserts on it
            outcome["error"] = err
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# -- fail -----------------------------------------------------------------------------------------


def test_kubectl_replace_fails_with_the_message_and_the_secret_is_unchanged(sandbox, core, secret):
    before = state(core, secret)
    manifest = sandbox.kubectl("-n", "ml", "get", "secret", secret, "-o", "json").stdout
    changed = json.loads(manifest)
    changed["data"]["value"] = base64.b64encode(b"after").decode()
    with sandbox.api_faults([put_rule(secret, action="fail", status=500, message="etcdserver: leader changed")]):
        result = sandbox.kubectl("-n", "ml", "replace", "-f", "-", input=json.dumps(changed), check=False)
        assert sandbox.api_faults_applied() == [1]  # kubectl does not try again
    assert result.returncode == 1
    assert (
        'Error from server (InternalError): error when replacing "STDIN": '
        "Internal error occurred: etcdserver: leader changed" in result.stderr
    )
    assert state(core, secret) == before


def test_kubectl_patch_fails_and_the_secret_is_unchanged(sandbox, core, secret):
    before = state(core, secret)
    rule = {**put_rule(secret), "method": "PATCH", "action": "fail", "status": 503}
    with sandbox.api_faults([rule]):
        patch = json.dumps({"data": {"value": base64.b64encode(b"after").decode()}})
        result = sandbox.kubectl("-n", "ml", "patch", "secret", secret, "-p", patch, check=False)
        assert sandbox.api_faults_applied() == [1]
    assert result.returncode == 1
    assert "Error from server (ServiceUnavailable): the server is currently unable to handle the request" in (
        result.stderr
    )
    assert state(core, secret) == before


def status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message}
    body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


# (rule fields, the Status expected; NAME stands for the Secret's name)
STATUS_CASES = {
    "500": (
        {"status": 500, "message": "etcdserver: leader changed"},
        status(
            500,
            "InternalError",
            "Internal error occurred: etcdserver: leader changed",
            {"causes": [{"message": "etcdserver: leader changed"}]},
        ),
    ),
    "503": (
        {"status": 503},
        status(503, "ServiceUnavailable", "the server is currently unable to handle the request"),
    ),
    "504": (
        {"status": 504},
        status(
            504, "Timeout", "Timeout: request did not complete within requested timeout - context deadline exceeded", {}
        ),
    ),
    "409": (
        {"status": 409},
        status(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on secrets "NAME": {OPTIMISTIC_LOCK}',
            {"name": "NAME", "kind": "secrets"},
        ),
    ),
    "403 RBAC": (
        {"status": 403},
        status(
            403,
            "Forbidden",
            'secrets "NAME" is forbidden: User "sandbox-admin" cannot update resource "secrets" in API group "" '
            'in the namespace "ml"',
            {"name": "NAME", "kind": "secrets"},
        ),
    ),
    "403 admission": (
        {"status": 403, "message": "exceeded quota: secrets"},
        status(
            403,
            "Forbidden",
            'secrets "NAME" is forbidden: exceeded quota: secrets',
            {"name": "NAME", "kind": "secrets"},
        ),
    ),
    "422": (
        {"status": 422},
        status(
            422,
            "Invalid",
            'Secret "NAME" is invalid: metadata.annotations: Too long: must have at most 262144 bytes',
            {
                "name": "NAME",
                "kind": "Secret",
                "causes": [
                    {
                        "reason": "FieldValueTooLong",
                        "message": "Too long: must have at most 262144 bytes",
                        "field": "metadata.annotations",
                    }
                ],
            },
        ),
    ),
}


@pytest.mark.parametrize("fields, expected", STATUS_CASES.values(), ids=STATUS_CASES.keys())
def test_each_status_is_the_status_kube_apiserver_sends(sandbox, core, secret, fields, expected):
    before = state(core, secret)
    faults = sandbox.api_faults([put_rule(secret, action="fail", **fields)])
    with faults, pytest.raises(ApiException) as failed:
        replace(core, secret, "after")
    assert failed.value.status == expected["code"]
    assert json.loads(failed.value.body) == json.loads(json.dumps(expected).replace("NAME", secret))
    # No Retry-After: client-go would wait and retry on one (retryAfterSeconds stays 0, as in these errors).
    assert "Retry-After" not in failed.value.headers
    assert state(core, secret) == before


def test_a_conflict_on_a_deployment_names_its_group(sandbox):
    deployment = sandbox.get("deployment", "litellm")
    rule = {"method": "PATCH", "resource": "deployments", "name": "litellm", "action": "fail", "status": 409}
    with sandbox.api_faults([rule]):
        result = sandbox.kubectl(
            "-n", "ml", "patch", "deployment", "litellm", "-p", '{"metadata":{"annotations":{"x":"y"}}}', check=False
        )
    assert (
        f'Error from server (Conflict): Operation cannot be fulfilled on deployments.apps "litellm": {OPTIMISTIC_LOCK}'
        in result.stderr
    )
    assert sandbox.get("deployment", "litellm")["metadata"] == deployment["metadata"]


def test_a_conflict_on_a_create_is_already_exists_and_creates_nothing(sandbox):
    """The name of a create is in its body (kubectl sends this one as protobuf)."""
    name = f"faults-{uuid.uuid4().hex[:6]}"
    rule = {"method": "POST", "resource": "secrets", "name": name, "action": "fail", "status": 409}
    with sandbox.api_faults([rule]):
        result = sandbox.kubectl("-n", "ml", "create", "secret", "generic", name, "--from-literal=a=b", check=False)
    assert f'secrets "{name}" already exists' in result.stderr
    assert sandbox.kubectl("-n", "ml", "get", "secret", name, check=False).returncode == 1


def test_times_1_fails_only_the_first_write(sandbox, core, secret):
    with sandbox.api_faults([put_rule(secret, action="fail", status=500, times=1)]):
        with pytest.raises(ApiException) as first:
            replace(core, secret, "first")
        written = replace(core, secret, "second")
        assert sandbox.api_faults_applied() == [1]
    assert first.value.status == 500
    assert state(core, secret) == (written.metadata.resource_version, "second")


def test_times_holds_for_concurrent_requests(sandbox, core, secret):
    """Six writes at once against times: 2: exactly two fail, whichever they are."""
    current = core.read_namespaced_secret(secret, "ml")
    current.metadata.resource_version = None  # unconditional, so that the others do not conflict
    with sandbox.api_faults([put_rule(secret, action="fail", status=503, times=2)]):
        runs = [in_background(lambda: core.replace_namespaced_secret(secret, "ml", current)) for _ in range(6)]
        for thread, _ in runs:
            thread.join(timeout=30)
        assert sandbox.api_faults_applied() == [2]
    errors = [outcome["error"] for _, outcome in runs if "error" in outcome]
    assert [err.status for err in errors] == [503, 503]


def test_fail_after_applies_the_write_and_answers_504(sandbox, core, secret):
    """A write's deadline passing while etcd still commits it: the client is told Timeout, the write is there."""
    rv, _ = state(core, secret)
    faults = sandbox.api_faults([put_rule(secret, action="fail", status=504, when="after")])
    with faults, pytest.raises(ApiException) as failed:
        replace(core, secret, "after")
    assert failed.value.status == 504 and json.loads(failed.value.body)["reason"] == "Timeout"
    new_rv, value = state(core, secret)
    assert value == "after" and int(new_rv) > int(rv)


def test_fail_with_seconds_answers_late(sandbox, core, secret):
    with sandbox.api_faults([put_rule(secret, action="fail", status=504, seconds=1.5)]):
        started = time.monotonic()
        with pytest.raises(ApiException):
            replace(core, secret, "after")
        assert time.monotonic() - started >= 1.5
    assert state(core, secret)[1] == "before"


# -- hold -----------------------------------------------------------------------------------------


def test_hold_before_delays_the_write_then_applies_it(sandbox, core, secret):
    with sandbox.api_faults([put_rule(secret, action="hold", seconds=2)]):
        thread, outcome = in_background(lambda: replace(core, secret, "after"))
        time.sleep(1)
        assert state(core, secret)[1] == "before"  # a GET is not held, and the write has not landed
        thread.join(timeout=30)
    assert "error" not in outcome and outcome["seconds"] >= 2
    assert state(core, secret) == (outcome["result"].metadata.resource_version, "after")


def test_hold_after_applies_at_once_and_delays_the_answer(sandbox, core, secret):
    with sandbox.api_faults([put_rule(secret, action="hold", seconds=3, when="after")]):
        thread, outcome = in_background(lambda: replace(core, secret, "after"))
        deadline = time.monotonic() + 2
        while state(core, secret)[1] != "after" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state(core, secret)[1] == "after"
        assert thread.is_alive()  # the writer is still waiting for its answer
        thread.join(timeout=30)
    assert "error" not in outcome and outcome["seconds"] >= 3


def test_a_write_held_past_kubectls_timeout_still_lands(sandbox, core, secret):
    """The interrupted client: kubectl gives up, the slow commit completes all the same."""
    manifest = json.loads(sandbox.kubectl("-n", "ml", "get", "secret", secret, "-o", "json").stdout)
    manifest["data"]["value"] = base64.b64encode(b"after").decode()
    with sandbox.api_faults([put_rule(secret, action="hold", seconds=3)]):
        started = time.monotonic()
        result = sandbox.kubectl(
            "-n", "ml", "replace", "--request-timeout=1s", "-f", "-", input=json.dumps(manifest), check=False
        )
        assert result.returncode == 1 and time.monotonic() - started < 2.5
        assert state(core, secret)[1] == "before"
        time.sleep(3)
        assert sandbox.api_faults_applied() == [1]  # kubectl does not send it again
    assert state(core, secret)[1] == "after"


def test_the_python_client_sends_a_timed_out_put_again(sandbox, core, secret):
    """urllib3's default Retry re-sends an idempotent method after a read timeout, 3 times: the
    server gets 4 PUTs for one call. Here the first lands; the others carry the resourceVersion
    it replaced, so the store refuses them (409s nobody reads)."""
    with sandbox.api_faults([put_rule(secret, action="hold", seconds=2)]):
        with pytest.raises(Exception, match="Read timed out"):
            replace(core, secret, "after", _request_timeout=0.5)
        time.sleep(2.5)
        assert sandbox.api_faults_applied() == [4]
    assert state(core, secret)[1] == "after"


# -- matching and clearing ------------------------------------------------------------------------


def test_rules_for_other_requests_do_not_match(sandbox, core, secret):
    fail = {"action": "fail", "status": 500}
    rules = [
        put_rule("another-secret", **fail),
        {**put_rule(secret, **fail), "namespace": "kube-system"},
        {**put_rule(secret, **fail), "method": "PATCH"},
        {**put_rule(secret, **fail), "resource": "configmaps"},
        {**put_rule(secret, **fail), "resource": "secrets/status"},
    ]
    with sandbox.api_faults(rules):
        written = replace(core, secret, "after")
        assert sandbox.api_faults_applied() == [0] * len(rules)
    assert state(core, secret) == (written.metadata.resource_version, "after")


def test_clearing_ends_the_faults(sandbox, core, secret):
    sandbox.api_faults([put_rule(secret, action="fail", status=500)])
    with pytest.raises(ApiException):
        replace(core, secret, "first")
    sandbox.clear_api_faults()
    assert state(core, secret)[1] == "before"
    replace(core, secret, "second")
    assert state(core, secret)[1] == "second"


def test_leaving_the_with_block_clears_the_faults(sandbox, core, secret):
    with sandbox.api_faults([put_rule(secret, action="fail", status=500)]), pytest.raises(ApiException):
        replace(core, secret, "first")
    assert not (sandbox.state_dir / FAULTS_FILE).exists()
    replace(core, secret, "second")


def test_the_command_line_sets_shows_and_clears(sandbox, sandbox_cli, core, secret):
    sandbox_command = sandbox_cli
    rules = json.dumps([put_rule(secret, action="fail", status=409)])
    assert sandbox_command("faults", sandbox.state_dir, "--set", rules).returncode == 0
    shown = sandbox_command("faults", sandbox.state_dir)
    assert json.loads(shown.stdout) == json.loads(rules)
    with pytest.raises(ApiException) as failed:
        replace(core, secret, "after")
    assert failed.value.status == 409

    refused = sandbox_command("faults", sandbox.state_dir, "--set", '[{"method": "PUT", "action": "explode"}]')
    assert refused.returncode == 2 and "rule 0: resource is required" in refused.stderr
    assert json.loads((sandbox.state_dir / FAULTS_FILE).read_text()) == json.loads(rules)  # left as it was

    assert sandbox_command("faults", sandbox.state_dir, "--clear").returncode == 0
    replace(core, secret, "after")
    assert state(core, secret)[1] == "after"


def test_a_broken_faults_file_is_a_loud_500(sandbox, core, secret):
    (sandbox.state_dir / FAULTS_FILE).write_text("[{")
    with pytest.raises(ApiException) as failed:
        core.read_namespaced_secret(secret, "ml")
    assert failed.value.status == 500 and "api-faults.json" in json.loads(failed.value.body)["message"]


# -- the rules, without a sandbox -----------------------------------------------------------------

FAIL_500 = {"method": "PUT", "resource": "secrets", "action": "fail", "status": 500}


@pytest.mark.parametrize(
    "rule, problem",
    [
        ({**FAIL_500, "method": "GETS"}, "method must be one of GET, PUT, PATCH, POST, DELETE, *"),
        (
            {k: v for k, v in FAIL_500.items() if k != "resource"},
            "resource is required (a plural such as secrets, or *)",
        ),
        ({**FAIL_500, "name": ""}, "name must be a non-empty string"),
        ({**FAIL_500, "action": "explode"}, 'action must be "fail" or "hold"'),
        ({**FAIL_500, "status": 418}, "a fail needs a status among 403, 409, 422, 500, 503, 504"),
        (
            {**FAIL_500, "status": 422, "message": "too long"},
            'the message of a 422 is a field error, "<field>: <type>: <detail>"',
        ),
        ({**FAIL_500, "action": "hold", "status": None}, "a hold needs seconds"),
        ({**FAIL_500, "action": "hold", "seconds": 1}, "a hold answers normally: status and message belong to a fail"),
        ({**FAIL_500, "times": 0}, "times must be a whole number of at least 1"),
        ({**FAIL_500, "times": True}, "times must be a whole number of at least 1"),
        ({**FAIL_500, "seconds": -1}, "seconds must be a number of at least 0"),
        ({**FAIL_500, "when": "during"}, "when must be one of before, after"),
        ({**FAIL_500, "time": 1}, "unknown field(s) time"),
    ],
)
def test_a_wrong_rule_is_refused_by_name(rule, problem):
    with pytest.raises(ValueError) as refused:
        parse_rules([FAIL_500, rule])
    assert str(refused.value) == f"rule 1: {problem}"


def test_rules_are_a_list_and_take_defaults():
    with pytest.raises(ValueError, match="a JSON list of rules"):
        parse_rules(FAIL_500)
    (rule,) = parse_rules([{**FAIL_500, "method": "put"}])
    assert (rule.method, rule.when, rule.seconds, rule.times, rule.namespace, rule.name) == (
        "PUT",
        "before",
        0.0,
        None,
        None,
        None,
    )


def test_each_write_is_seen_as_a_change(tmp_path):
    """Two writes of the same size in one tick of the file system's clock still differ in mtime."""
    first = write_rules(tmp_path, [{**FAIL_500, "status": 503}]).stat()
    second = write_rules(tmp_path, [{**FAIL_500, "status": 504}]).stat()
    assert first.st_size == second.st_size and second.st_mtime_ns > first.st_mtime_ns
    with pytest.raises(ValueError):
        write_rules(tmp_path, [{"action": "fail"}])
    assert parse_rules(json.loads((tmp_path / FAULTS_FILE).read_text()))[0].status == 504
    assert [path.name for path in tmp_path.iterdir()] == [FAULTS_FILE]


@pytest.mark.parametrize(
    "field_error, field, reason",
    [
        ("spec.replicas: Invalid value: -1: must be greater than or equal to 0", "spec.replicas", "FieldValueInvalid"),
        ("spec.selector: Required value", "spec.selector", "FieldValueRequired"),
        ('spec.strategy.type: Unsupported value: "Fast"', "spec.strategy.type", "FieldValueNotSupported"),
        ("metadata.annotations: Too long: must have at most 262144 bytes", "metadata.annotations", "FieldValueTooLong"),
    ],
)
def test_a_422_has_the_cause_the_real_server_would_give(field_error, field, reason):
    route = ApiRoute(find_resource("apps", "v1", "deployments"), "ml", "litellm")
    error = invalid_error(route, "litellm", field_error)
    assert error.message == f'Deployment.apps "litellm" is invalid: {field_error}'
    assert error.details["causes"] == [{"reason": reason, "message": field_error.partition(": ")[2], "field": field}]
