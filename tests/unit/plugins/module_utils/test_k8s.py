# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_k8s.py: the one thin Kubernetes access layer.

``Kube`` runs against a recording ``ApiClient`` stand-in (``param_serialize``/``call_api``) where the
exact request matters, and against the in-memory API server where the behaviour does.
"""

from __future__ import annotations

import json
import threading
import time

import kubernetes
import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    HOST,
    TOKEN,
    FakeCluster,
    FakeHTTPResponse,
    configmap_object,
    status_body,
)
from kubernetes.client.exceptions import ApiException


class Response:
    """What ``ApiClient.call_api`` returns: status, reason, read(), and the urllib3 response for a watch."""

    def __init__(self, status=200, data=b"{}", reason="OK", chunks=None):
        self.status, self.reason, self._data = status, reason, data
        self.response = FakeHTTPResponse(status, data, chunks=chunks)

    def read(self):
        return self._data


class RecordingApi:
    """Stands in for ``kubernetes.client.ApiClient``: records each request, answers from a queue."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.serialized = []
        self.calls = []

    def param_serialize(self, method, resource_path, header_params=None, body=None, auth_settings=None):
        self.serialized.append(
            {
                "method": method,
                "path": resource_path,
                "headers": dict(header_params or {}),
                "body": body,
                "auth": auth_settings,
            }
        )
        return method, "https://kube.test" + resource_path, dict(header_params or {}), body, None

    def call_api(self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None):
        self.calls.append({"method": method, "url": url, "timeout": _request_timeout})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def status(code, message, reason="Error"):
    return json.dumps(status_body(code, reason, message)).encode()


# -- request / json --------------------------------------------------------------------------------


def test_request_sends_headers_auth_query_and_timeout():
    api = RecordingApi(Response(200, b'{"a": 1}'))
    kube = _k8s.Kube(api)
    assert kube.request("GET", "/api/v1/namespaces/ml/pods", query={"labelSelector": "app=litellm,x=y"}, timeout=7) == (
        200,
        b'{"a": 1}',
    )
    assert api.serialized == [
        {
            "method": "GET",
            "path": "/api/v1/namespaces/ml/pods?labelSelector=app%3Dlitellm%2Cx%3Dy",
            "headers": {"Accept": "application/json"},
            "body": None,
            "auth": ["BearerToken"],
        }
    ]
    assert api.calls[0]["timeout"] == 7
    assert kube.requests == 1


def test_a_body_gets_its_content_type():
    api = RecordingApi(Response(201, b"{}"))
    _k8s.Kube(api).request(
        "POST", "/x", body={"a": 1}, content_type="application/merge-patch+json", accept="text/plain"
    )
    assert api.serialized[0]["headers"] == {"Accept": "text/plain", "Content-Type": "application/merge-patch+json"}
    assert api.serialized[0]["body"] == {"a": 1}


@pytest.mark.parametrize(
    "answer, status_code, reason, message",
    [
        (
            Response(409, status(409, "the object has been modified", "Conflict"), reason="Conflict"),
            409,
            "Conflict",
            "the object has been modified",
        ),
        (
            Response(500, b"<html>oops</html>", reason="Internal Server Error"),
            500,
            "Internal Server Error",
            "<html>oops</html>",
        ),
        (
            ApiException(status=403, reason="Forbidden", body=status(403, 'secrets "x" is forbidden', "Forbidden")),
            403,
            "Forbidden",
            'secrets "x" is forbidden',
        ),
        (ApiException(status=0, reason="Connection refused"), 0, "Connection refused", "Connection refused"),
        (ApiException(status=502, reason=None, body=None), 502, "", "request failed"),
        (ApiException(status=400, reason="Bad Request", body="x" * 800), 400, "Bad Request", "x" * 500),
        (ApiException(status=422, reason="Invalid", body='{"kind": "Status"}'), 422, "Invalid", "Invalid"),
    ],
)
def test_failures_become_kube_errors_with_the_servers_message(answer, status_code, reason, message):
    with pytest.raises(_k8s.KubeError) as caught:
        _k8s.Kube(RecordingApi(answer)).request("GET", "/x")
    assert (caught.value.status, caught.value.reason, caught.value.message) == (status_code, reason, message)
    assert str(caught.value) == message


@pytest.mark.parametrize("code, conflict, not_found", [(409, True, False), (404, False, True), (500, False, False)])
def test_kube_error_properties(code, conflict, not_found):
    error = _k8s.KubeError(code, "r", "m")
    assert (error.conflict, error.not_found) == (conflict, not_found)


def test_json_of_an_empty_answer_is_none():
    assert _k8s.Kube(RecordingApi(Response(200, b""))).json("DELETE", "/x") is None


@pytest.mark.parametrize(
    "kind, namespace, name, subresource, path",
    [
        ("configmaps", "ml", None, None, "/api/v1/namespaces/ml/configmaps"),
        ("secrets", "ml", "litellm-secrets", None, "/api/v1/namespaces/ml/secrets/litellm-secrets"),
        ("deployments", "ml", "litellm", None, "/apis/apps/v1/namespaces/ml/deployments/litellm"),
        ("replicasets", "ml", None, None, "/apis/apps/v1/namespaces/ml/replicasets"),
        (
            "leases",
            "ml",
            "homelab-litellm-x",
            None,
            "/apis/coordination.k8s.io/v1/namespaces/ml/leases/homelab-litellm-x",
        ),
        ("pods", "ml", "p1", "log", "/api/v1/namespaces/ml/pods/p1/log"),
        ("configmaps", "a/b", "c d?", None, "/api/v1/namespaces/a%2Fb/configmaps/c%20d%3F"),
    ],
)
def test_path(kind, namespace, name, subresource, path):
    assert _k8s.Kube.path(kind, namespace, name, subresource) == path


# -- typed helpers against the API server ----------------------------------------------------------


def test_get_of_a_missing_object_is_none_and_other_errors_raise(cluster):
    kube = cluster.kube()
    assert kube.get("configmaps", "ml", "nope") is None
    cluster.fail("GET", "configmaps", 403, "forbidden")
    with pytest.raises(_k8s.KubeError):
        kube.get("configmaps", "ml", "nope")


def test_every_request_carries_the_bearer_token(cluster):
    cluster.kube().get("configmaps", "ml", "x")
    assert cluster.requests[0].headers["authorization"] == "Bearer " + TOKEN


def test_create_get_replace_write_and_list(cluster):
    kube = cluster.kube()
    created = kube.create("configmaps", "ml", configmap_object("a: 1\n"))
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    assert kube.get("configmaps", "ml", "litellm-config") == created
    changed = dict(created, data={"config.yaml": "a: 2\n"})
    replaced = kube.replace("configmaps", "ml", changed)
    assert int(replaced["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    with pytest.raises(_k8s.KubeError) as caught:
        kube.write("configmaps", "ml", changed)  # still at the version read before the replace
    assert caught.value.conflict and "has been modified" in caught.value.message
    kube.write("configmaps", "ml", configmap_object("b: 1\n", name="second"))
    assert [r.method for r in cluster.writes()] == ["POST", "PUT", "PUT", "POST"]
    assert {r.query.get("fieldManager") for r in cluster.writes()} == {"homelab.litellm"}
    assert [item["metadata"]["name"] for item in kube.list("configmaps", "ml")] == ["litellm-config", "second"]
    items, version = kube.list_with_version("configmaps", "ml", label_selector="app=litellm")
    assert len(items) == 2 and version == str(cluster.version)
    assert kube.list("configmaps", "ml", label_selector="app=other") == []
    assert kube.list("configmaps", "other-namespace") == []


@pytest.mark.parametrize(
    "patch_type, content_type",
    [
        ("merge", "application/merge-patch+json"),
        ("strategic", "application/strategic-merge-patch+json"),
        ("json", "application/json-patch+json"),
    ],
)
def test_patch_content_types(patch_type, content_type):
    api = RecordingApi(Response(200, b"{}"))
    _k8s.Kube(api).patch("deployments", "ml", "litellm", {"spec": {}}, patch_type=patch_type)
    assert api.serialized[0]["headers"]["Content-Type"] == content_type
    assert api.serialized[0]["method"] == "PATCH"
    assert api.serialized[0]["path"] == "/apis/apps/v1/namespaces/ml/deployments/litellm?fieldManager=homelab.litellm"


def test_merge_patch_against_the_api_server(cluster):
    cluster.add("configmaps", configmap_object("a: 1\n"))
    patched = cluster.kube().patch("configmaps", "ml", "litellm-config", {"data": {"extra": "x"}})
    assert patched["data"] == {"config.yaml": "a: 1\n", "extra": "x"}


# -- guarded_update --------------------------------------------------------------------------------


def editor(text):
    """plan(current) that writes ``text`` unless it is there already; records what it saw."""
    seen = []

    def plan(current):
        seen.append(None if current is None else current["data"]["config.yaml"])
        if current is None:
            return configmap_object(text), "created"
        if current["data"]["config.yaml"] == text:
            return None, "unchanged"
        return dict(current, data={"config.yaml": text}), "written"

    return plan, seen


def test_guarded_update_writes_with_the_version_read(cluster):
    cluster.add("configmaps", configmap_object("a: 1\n"))
    plan, seen = editor("a: 2\n")
    result, written = cluster.kube().guarded_update("configmaps", "ml", "litellm-config", plan)
    assert (result, written["data"]["config.yaml"], seen) == ("written", "a: 2\n", ["a: 1\n"])
    assert cluster.writes()[0].body["metadata"]["resourceVersion"] is not None


def test_guarded_update_without_a_change_writes_nothing(cluster):
    cluster.add("configmaps", configmap_object("a: 1\n"))
    plan, _seen = editor("a: 1\n")
    fenced = []
    result, current = cluster.kube().guarded_update(
        "configmaps", "ml", "litellm-config", plan, fence=lambda: fenced.append(1)
    )
    assert result == "unchanged" and current["data"]["config.yaml"] == "a: 1\n"
    assert cluster.writes() == [] and fenced == []


def test_guarded_update_plans_again_on_the_fresh_object_after_a_conflict(cluster):
    cluster.add("configmaps", configmap_object("a: 1\n"))
    cluster.interfere("configmaps", "litellm-config", lambda obj: obj["data"].update({"config.yaml": "b: 1\n"}))
    plan, seen = editor("a: 2\n")
    fenced = []
    result, written = cluster.kube().guarded_update(
        "configmaps", "ml", "litellm-config", plan, fence=lambda: fenced.append(1)
    )
    assert seen == ["a: 1\n", "b: 1\n"] and fenced == [1, 1]
    assert result == "written" and written["data"]["config.yaml"] == "a: 2\n"


def test_guarded_update_creates_and_retries_when_another_writer_created_first(cluster):
    def other_creates(cluster_, request):
        cluster_.add("configmaps", configmap_object("theirs: 1\n"))
        return True

    cluster.on_write(other_creates)
    plan, seen = editor("ours: 1\n")
    result, written = cluster.kube().guarded_update("configmaps", "ml", "litellm-config", plan)
    assert seen == [None, "theirs: 1\n"]
    assert result == "written" and written["data"]["config.yaml"] == "ours: 1\n"


def test_guarded_update_gives_up_after_every_attempt_conflicted(cluster):
    cluster.add("configmaps", configmap_object("a: 1\n"))
    cluster.interfere("configmaps", "litellm-config", lambda obj: obj["data"].update({"n": "x"}), times=99)
    plan, seen = editor("a: 2\n")
    with pytest.raises(_k8s.ConflictError) as caught:
        cluster.kube().guarded_update("configmaps", "ml", "litellm-config", plan, retries=3)
    assert len(seen) == 3
    assert str(caught.value) == (
        "configmaps ml/litellm-config kept changing under us (3 conflicts in a row); nothing "
        "was written. Retry when no other tool is writing it."
    )
    assert cluster.get("configmaps", "litellm-config")["data"]["config.yaml"] == "a: 1\n"


def test_guarded_update_raises_other_errors_and_the_fence(cluster):
    cluster.add("configmaps", configmap_object("a: 1\n"))
    cluster.fail("PUT", "configmaps", 422, "invalid")
    plan, _seen = editor("a: 2\n")
    with pytest.raises(_k8s.KubeError) as caught:
        cluster.kube().guarded_update("configmaps", "ml", "litellm-config", plan)
    assert caught.value.status == 422

    def lost():
        raise RuntimeError("lock lost")

    with pytest.raises(RuntimeError, match="lock lost"):
        cluster.kube().guarded_update("configmaps", "ml", "litellm-config", plan, fence=lost)
    assert [r.method for r in cluster.writes()] == ["PUT"], "the refused write only; the fence stopped the second"


# -- access reviews, logs, the service proxy -------------------------------------------------------


def test_can_i_asks_a_self_subject_access_review(cluster):
    cluster.deny("update", "configmaps", name="litellm-config", reason="no RBAC rule")
    kube = cluster.kube()
    assert kube.can_i("update", "configmaps", "ml", "litellm-config") == (False, "no RBAC rule")
    assert kube.can_i("update", "configmaps", "ml", "other")[0] is True
    assert kube.can_i("get", "pods", "ml", subresource="log")[0] is True
    assert kube.can_i("create", "leases", "ml", group="coordination.k8s.io")[0] is True
    assert cluster.reviews == [
        {"verb": "update", "group": "", "resource": "configmaps", "namespace": "ml", "name": "litellm-config"},
        {"verb": "update", "group": "", "resource": "configmaps", "namespace": "ml", "name": "other"},
        {"verb": "get", "group": "", "resource": "pods", "namespace": "ml", "subresource": "log"},
        {"verb": "create", "group": "coordination.k8s.io", "resource": "leases", "namespace": "ml"},
    ]
    assert cluster.requests[0].path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def test_can_i_of_an_answer_without_status():
    assert _k8s.Kube(RecordingApi(Response(201, b'{"kind": "SelfSubjectAccessReview"}'))).can_i("get", "pods") == (
        False,
        "",
    )


def test_pod_log(cluster):
    cluster.logs[("p1", True)] = "crashed: bad config\n"
    cluster.logs[("p1", False)] = "starting\n"
    kube = cluster.kube()
    assert kube.pod_log("ml", "p1", tail_lines=5, previous=True) == "crashed: bad config\n"
    assert kube.pod_log("ml", "p1") == "starting\n"
    assert kube.pod_log("ml", "p2") == ""
    first = cluster.requests[0]
    assert (first.path, first.query, first.headers["Accept"]) == (
        "/api/v1/namespaces/ml/pods/p1/log",
        {"tailLines": "5", "previous": "true"},
        "text/plain",
    )
    assert cluster.requests[1].query == {"tailLines": "20"}


def test_service_proxy_path_headers_and_answers(cluster):
    cluster.add("services", {"metadata": {"name": "litellm"}, "spec": {}})
    seen = []

    def litellm(method, path, headers, body, port):
        seen.append((method, path, headers.get("x-litellm-api-key"), headers.get("Content-Type"), body, port))
        return (401, b'{"error": {"message": "Authentication Error"}}') if path == "/v1/models" else (200, b"ok")

    cluster.proxy = litellm
    kube = cluster.kube()
    assert kube.service_proxy("ml", "litellm", 4000, "/health/readiness")[:2] == (200, b"ok")
    answer = kube.service_proxy("ml", "litellm", 4000, "v1/models", headers={"x-litellm-api-key": "Bearer k"})
    assert answer[0] == 401 and b"Authentication Error" in answer[1] and answer[2] >= 0
    kube.service_proxy("ml", "litellm", 4000, "/v1/chat/completions", method="POST", body={"model": "m"})
    assert seen == [
        ("GET", "/health/readiness", None, None, None, 4000),
        ("GET", "/v1/models", "Bearer k", None, None, 4000),
        ("POST", "/v1/chat/completions", None, "application/json", {"model": "m"}, 4000),
    ]
    assert cluster.requests[0].path == "/api/v1/namespaces/ml/services/litellm:4000/proxy/health/readiness"
    assert cluster.requests[0].headers["authorization"] == "Bearer " + TOKEN, "the Kubernetes credential"


def test_service_proxy_returns_a_refused_request_instead_of_raising():
    api = RecordingApi(
        ApiException(
            status=503, reason="Service Unavailable", body=status(503, 'no endpoints available for service "litellm"')
        ),
        ApiException(status=0, reason="timeout", body=None),
    )
    kube = _k8s.Kube(api)
    code, data, seconds = kube.service_proxy("ml", "litellm", 4000, "/x", timeout=3)
    assert code == 503 and b"no endpoints available" in data and seconds >= 0
    assert kube.service_proxy("ml", "litellm", 4000, "/x")[:2] == (0, b"")
    assert api.calls[0]["timeout"] == 3


# -- watches ---------------------------------------------------------------------------------------


def events(*objects):
    return [json.dumps(obj).encode() for obj in objects]


@pytest.mark.parametrize(
    "chunks, expected",
    [
        ([b'{"type": "ADDED", "object": {}}\n{"type": "MOD', b'IFIED", "object": {}}\n'], ["ADDED", "MODIFIED"]),
        ([b'{"type": "A"}\n\n  \n{"type": "B"}'], ["A", "B"]),
        ([b'{"type"', b': "A"}', b"\n"], ["A"]),
        ([b""], []),
        ([], []),
    ],
)
def test_watch_events_split_lines_across_chunks(chunks, expected):
    raw = FakeHTTPResponse(200, chunks=chunks)
    assert [event["type"] for event in _k8s._watch_events(raw)] == expected


def test_watch_request():
    api = RecordingApi(Response(200, b"", chunks=[b'{"type": "ADDED", "object": {"metadata": {}}}\n']))
    events_ = list(
        _k8s.Kube(api).watch(
            "pods",
            "ml",
            resource_version="17",
            label_selector="app=litellm",
            field_selector="metadata.name=x",
            timeout_seconds=0.2,
        )
    )
    assert events_ == [{"type": "ADDED", "object": {"metadata": {}}}]
    assert api.serialized[0]["path"] == (
        "/api/v1/namespaces/ml/pods?watch=true&timeoutSeconds=1&resourceVersion=17"
        "&labelSelector=app%3Dlitellm&fieldSelector=metadata.name%3Dx"
    )
    assert api.calls[0]["timeout"] == (30, 31)


@pytest.mark.parametrize(
    "answer",
    [
        Response(403, status(403, "watch is forbidden"), reason="Forbidden"),
        ApiException(status=403, reason="Forbidden", body=status(403, "watch is forbidden")),
    ],
)
def test_a_refused_watch_raises(answer):
    with pytest.raises(_k8s.KubeError, match="watch is forbidden"):
        _k8s.Kube(RecordingApi(answer)).watch("pods", "ml")


class WatchingKube:
    """A kube whose watches yield the given rounds of events (a list per watch call), then end at once."""

    def __init__(self, rounds, gate=None, refusals=0):
        self.rounds = list(rounds)
        self.refusals = refusals
        self.calls = []
        self.gate = gate

    def watch(self, kind, namespace, resource_version=None, timeout_seconds=300, **selectors):
        self.calls.append((kind, resource_version, selectors))
        if self.gate is not None:
            self.gate.wait(2)
        if self.refusals:
            self.refusals -= 1
            raise _k8s.KubeError(403, "Forbidden", "watch is forbidden")
        return iter(self.rounds.pop(0) if self.rounds else [])


def event(kind, version):
    return {"type": kind, "object": {"metadata": {"resourceVersion": version}}}


def test_changes_wake_the_loop_with_the_label_that_changed():
    gate = threading.Event()
    changes = _k8s.Changes(WatchingKube([[event("MODIFIED", "2")]], gate))
    changes.watch("deployment", "deployments", "ml", "1", field_selector="metadata.name=litellm")
    assert changes.wait(0.05) == set(), "nothing happened yet"
    gate.set()
    started = time.monotonic()
    assert changes.wait(2) == {"deployment"}
    assert time.monotonic() - started < 1.5
    changes.stop()


def test_a_bookmark_does_not_wake_the_loop_but_moves_the_version():
    kube = WatchingKube([[event("BOOKMARK", "5")], [event("ADDED", "6")]])
    changes = _k8s.Changes(kube)
    changes.watch("pods", "pods", "ml", "1", label_selector="app=litellm")
    assert changes.wait(2) == {"pods"}
    assert [call[1] for call in kube.calls[:2]] == ["1", "5"]
    assert kube.calls[0][2] == {"label_selector": "app=litellm"}
    changes.stop()


def test_an_error_event_wakes_the_loop_and_watches_again_from_now():
    kube = WatchingKube([[event("ERROR", "9")], [event("ADDED", "10")]])
    changes = _k8s.Changes(kube)
    changes.watch("pods", "pods", "ml", "3")
    assert changes.wait(2) == {"pods"}
    assert wait_for(lambda: len(kube.calls) >= 2)
    assert kube.calls[1][1] is None
    changes.stop()


def test_a_refused_watch_only_costs_the_early_wake_up():
    kube = WatchingKube([], refusals=5)
    changes = _k8s.Changes(kube)
    changes.watch("pods", "pods", "ml", "3")
    assert changes.wait(0.1) == set()
    assert wait_for(lambda: len(kube.calls) == _k8s.Changes.MAX_FAILURES)
    time.sleep(0.3)
    assert len(kube.calls) == _k8s.Changes.MAX_FAILURES, "it gives up after a few refusals"
    changes.stop()


def test_stop_ends_the_watching():
    gate = threading.Event()
    kube = WatchingKube([[event("ADDED", "2")], [event("ADDED", "3")]], gate)
    changes = _k8s.Changes(kube)
    changes.watch("pods", "pods", "ml")
    changes.stop()
    gate.set()
    time.sleep(0.1)
    assert changes.wait(0) == set() and len(kube.calls) == 1


def wait_for(condition, seconds=2.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


# -- the module's common ending --------------------------------------------------------------------


class Exited(Exception):
    pass


class Module:
    def __init__(self, params=None):
        self.params = params or {}
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise Exited("exit", result)

    def fail_json(self, **result):
        raise Exited("fail", result)


class Refusal(Exception):
    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


@pytest.fixture(name="module")
def fixture_module(monkeypatch, cluster):
    monkeypatch.setattr(_k8s.Kube, "from_module", classmethod(lambda cls, module: cluster.kube()))
    return Module()


def run_with(module, run, expected=()):
    with pytest.raises(Exited) as exited:
        _k8s.run_with_kube(module, run, expected)
    return exited.value.args


def test_run_with_kube_exits_with_the_result_and_its_warnings(module):
    assert run_with(module, lambda m, kube: ({"changed": True}, ["w1", "w2"])) == ("exit", {"changed": True})
    assert module.warnings == ["w1", "w2"]
    assert run_with(module, lambda m, kube: {"changed": False}) == ("exit", {"changed": False})


def test_run_with_kube_gives_run_a_kube(module, cluster):
    def run(_module, kube):
        return {"found": kube.get("configmaps", "ml", "x")}

    assert run_with(module, run) == ("exit", {"found": None})
    assert len(cluster.requests) == 1


def test_an_api_error_fails_with_status_and_message(module):
    def run(_module, _kube):
        raise _k8s.KubeError(403, "Forbidden", 'configmaps "litellm-config" is forbidden')

    kind, result = run_with(module, run)
    assert kind == "fail"
    assert result["msg"] == 'Kubernetes API error 403 Forbidden: configmaps "litellm-config" is forbidden'
    assert "Traceback" in result["exception"]


def test_a_conflict_and_an_expected_refusal_fail_with_their_own_message(module):
    def conflict(_module, _kube):
        raise _k8s.ConflictError("configmaps", "ml", "c", 5)

    assert run_with(module, conflict)[1] == {"msg": str(_k8s.ConflictError("configmaps", "ml", "c", 5))}

    def refuse(_module, _kube):
        raise Refusal("not like this", {"errors": ["a", "b"]})

    assert run_with(module, refuse, expected=(Refusal,)) == ("fail", {"msg": "not like this", "errors": ["a", "b"]})

    def refuse_plainly(_module, _kube):
        raise Refusal("no")

    assert run_with(module, refuse_plainly, expected=(Refusal,)) == ("fail", {"msg": "no"})


def test_an_unexpected_exception_is_not_swallowed(module):
    def bug(_module, _kube):
        raise KeyError("deployment")

    with pytest.raises(KeyError):
        _k8s.run_with_kube(module, bug)


@pytest.mark.parametrize(
    "flag, library", [("HAS_KUBERNETES", "kubernetes"), ("HAS_KUBERNETES_CORE", "kubernetes.core collection")]
)
def test_check_libraries_names_the_missing_one(monkeypatch, flag, library):
    monkeypatch.setattr(_k8s, flag, False)
    with pytest.raises(Exited) as exited:
        _k8s.check_libraries(Module())
    assert library in exited.value.args[1]["msg"]


def test_auth_argument_spec_is_kubernetes_cores_own_and_a_copy():
    spec = _k8s.k8s_auth_argument_spec()
    assert {"kubeconfig", "context", "host", "api_key", "validate_certs"} <= set(spec)
    assert spec["api_key"]["no_log"] is True
    spec["host"]["default"] = "changed"
    assert "default" not in _k8s.AUTH_ARG_SPEC["host"] or _k8s.AUTH_ARG_SPEC["host"]["default"] != "changed"


def test_from_module_fails_clearly_when_no_client_can_be_made(monkeypatch):
    def broken(**_auth):
        raise kubernetes.config.ConfigException("Invalid kube-config file. No configuration found.")

    monkeypatch.setattr(_k8s, "api_client", broken)
    with pytest.raises(Exited) as exited:
        _k8s.Kube.from_module(Module(dict.fromkeys(_k8s.AUTH_ARG_SPEC)))
    assert exited.value.args[1]["msg"].startswith("Could not connect to Kubernetes with kubeconfig ")
    assert "Invalid kube-config file. No configuration found" in exited.value.args[1]["msg"]
    assert exited.value.args[1]["msg"].endswith("Nothing was written.")


def test_api_client_from_the_auth_options_without_discovery(monkeypatch):
    for name in _k8s.AUTH_ARG_SPEC:
        monkeypatch.delenv("K8S_AUTH_" + name.upper(), raising=False)
    client = _k8s.api_client(host=HOST + "/", api_key=TOKEN, validate_certs=False, impersonate_user="alice")
    assert isinstance(client, kubernetes.client.ApiClient)
    assert client.configuration.host == HOST and client.configuration.verify_ssl is False
    assert client.default_headers["Impersonate-User"] == "alice"
    cluster = FakeCluster()
    client.rest_client = cluster.api_client().rest_client
    assert _k8s.Kube(client).get("configmaps", "ml", "x") is None
    assert cluster.requests[0].headers["authorization"] == "Bearer " + TOKEN


def test_api_client_from_a_kubeconfig(monkeypatch, tmp_path):
    for name in _k8s.AUTH_ARG_SPEC:
        monkeypatch.delenv("K8S_AUTH_" + name.upper(), raising=False)
    monkeypatch.setattr(kubernetes.client.Configuration, "_default", None)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "test",
                "clusters": [{"name": "c", "cluster": {"server": HOST, "insecure-skip-tls-verify": True}}],
                "users": [{"name": "u", "user": {"token": TOKEN}}],
                "contexts": [{"name": "test", "context": {"cluster": "c", "user": "u", "namespace": "ml"}}],
            }
        )
    )
    client = _k8s.api_client(kubeconfig=str(kubeconfig))
    cluster = FakeCluster()
    client.rest_client = cluster.api_client().rest_client
    _k8s.Kube(client).get("configmaps", "ml", "x")
    assert cluster.requests[0].headers["authorization"] == "Bearer " + TOKEN
