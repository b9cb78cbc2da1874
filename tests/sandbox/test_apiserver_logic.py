"""The API server's pure functions: patches, selectors, validation, defaults, request attributes, RBAC rules."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from sandbox.apiserver import (
    ApiError,
    apply_defaults,
    decode_protobuf,
    find_resource,
    fold_string_data,
    human_duration,
    json_patch,
    labels_match,
    merge_patch,
    object_predicate,
    parse_label_selector,
    selector_string,
    strategic_merge,
    validate,
)
from sandbox.apiserver.authn import UserInfo
from sandbox.apiserver.authz import Attributes, forbidden, request_attributes, rule_allows
from sandbox.apiserver.decoding import parse_micro_time
from sandbox.apiserver.resources import RESOURCES
from sandbox.store import API_GROUPS

DEPLOYMENTS = find_resource("apps", "v1", "deployments")
SECRETS = find_resource("", "v1", "secrets")
CONFIGMAPS = find_resource("", "v1", "configmaps")


def deployment(**spec_overrides) -> dict:
    spec = {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "x"}},
        "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}},
    }
    spec.update(spec_overrides)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": spec}


# -- strategic merge patch ----------------------------------------------------

POD_SPEC = {
    "containers": [
        {
            "name": "app",
            "image": "a:1",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 4000, "name": "http"}],
            "volumeMounts": [{"name": "cfg", "mountPath": "/app/config.yaml"}],
            "args": ["--port", "4000"],
        },
        {"name": "sidecar", "image": "s:1"},
    ],
    "tolerations": [{"key": "a"}],
}


@pytest.mark.parametrize(
    "patch, expected",
    [
        pytest.param(
            {"containers": [{"name": "app", "image": "a:2"}]},
            lambda s: (
                s["containers"][0]["image"] == "a:2"
                and s["containers"][1]["name"] == "sidecar"
                and len(s["containers"][0]["env"]) == 2
            ),
            id="containers merge by name",
        ),
        pytest.param(
            {"containers": [{"name": "app", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]},
            lambda s: (
                s["containers"][0]["env"]
                == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
            ),
            id="env merges by name and appends",
        ),
        pytest.param(
            {"containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}]},
            lambda s: [e["name"] for e in s["containers"][0]["env"]] == ["B"],
            id="$patch delete removes a list element",
        ),
        pytest.param(
            {"containers": [{"name": "app", "ports": [{"containerPort": 4000, "protocol": "TCP"}]}]},
            lambda s: s["containers"][0]["ports"] == [{"containerPort": 4000, "name": "http", "protocol": "TCP"}],
            id="container ports merge by containerPort",
        ),
        pytest.param(
            {"containers": [{"name": "app", "volumeMounts": [{"name": "cfg", "mountPath": "/x"}]}]},
            lambda s: [m["mountPath"] for m in s["containers"][0]["volumeMounts"]] == ["/app/config.yaml", "/x"],
            id="volumeMounts merge by mountPath",
        ),
        pytest.param(
            {"containers": [{"name": "app", "args": ["--x"]}]},
            lambda s: s["containers"][0]["args"] == ["--x"],
            id="plain lists are replaced",
        ),
        pytest.param(
            {"tolerations": [{"key": "b"}]}, lambda s: s["tolerations"] == [{"key": "b"}], id="tolerations are replaced"
        ),
        pytest.param(
            {"containers": [{"name": "app", "image": None}]},
            lambda s: "image" not in s["containers"][0],
            id="null deletes a key",
        ),
        pytest.param(
            {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o:1"}]},
            lambda s: [c["name"] for c in s["containers"]] == ["only"],
            id="$patch replace on a list",
        ),
        pytest.param(
            {
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                "containers": [{"name": "app", "image": "a:3"}],
            },
            lambda s: (
                [c["name"] for c in s["containers"]] == ["sidecar", "app"] and s["containers"][1]["image"] == "a:3"
            ),
            id="$setElementOrder orders, is stripped",
        ),
    ],
)
def test_strategic_merge_pod_spec(patch, expected):
    result = strategic_merge(POD_SPEC, patch)
    assert expected(result), result
    assert not any(key.startswith("$") for key in result)


def test_strategic_merge_retain_keys_and_map_replace():
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    assert strategic_merge(strategy, {"type": "Recreate", "$retainKeys": ["type"]}) == {"type": "Recreate"}
    assert strategic_merge({"a": {"x": 1}}, {"a": {"$patch": "replace", "y": 2}}) == {"a": {"y": 2}}
    assert strategic_merge({"a": {"x": 1}, "b": 1}, {"a": {"$patch": "delete"}}) == {"b": 1}


def test_strategic_merge_conditions_by_type_and_finalizers_union():
    status = {"conditions": [{"type": "Available", "status": "False"}, {"type": "Progressing", "status": "True"}]}
    merged = strategic_merge(status, {"conditions": [{"type": "Available", "status": "True"}]})
    assert merged["conditions"] == [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]
    meta = {"finalizers": ["a"]}
    assert strategic_merge(meta, {"finalizers": ["b", "a"]}) == {"finalizers": ["a", "b"]}
    assert strategic_merge(meta, {"$deleteFromPrimitiveList/finalizers": ["a"]}) == {"finalizers": []}


def test_service_ports_merge_by_port():
    spec = {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}
    merged = strategic_merge(spec, {"ports": [{"port": 80, "targetPort": 8080}]})
    assert merged["ports"] == [{"port": 80, "name": "http", "targetPort": 8080}, {"port": 443, "name": "https"}]


def test_strategic_merge_does_not_modify_its_inputs():
    original = {"containers": [{"name": "a", "env": [{"name": "X"}]}]}
    patch = {"containers": [{"name": "a", "env": [{"name": "Y"}]}]}
    strategic_merge(original, patch)
    assert original == {"containers": [{"name": "a", "env": [{"name": "X"}]}]}
    assert patch == {"containers": [{"name": "a", "env": [{"name": "Y"}]}]}


# -- merge patch and JSON patch -------------------------------------------------


def test_merge_patch_replaces_lists_and_deletes_nulls():
    assert merge_patch({"a": [1, 2], "b": {"c": 1, "d": 2}}, {"a": [3], "b": {"c": None}}) == {"a": [3], "b": {"d": 2}}


def test_json_patch_operations():
    doc = {"spec": {"replicas": 1, "list": [1, 2]}, "metadata": {"annotations": {"a/b": "x"}}}
    result = json_patch(
        doc,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/spec/list/-", "value": 9},
            {"op": "add", "path": "/spec/list/0", "value": 0},
            {"op": "remove", "path": "/metadata/annotations/a~1b"},
            {"op": "copy", "from": "/spec/replicas", "path": "/spec/copied"},
            {"op": "move", "from": "/spec/copied", "path": "/spec/moved"},
            {"op": "test", "path": "/spec/moved", "value": 3},
        ],
    )
    assert result == {"spec": {"replicas": 3, "list": [0, 1, 2, 9], "moved": 3}, "metadata": {"annotations": {}}}
    assert doc["spec"]["replicas"] == 1


@pytest.mark.parametrize(
    "operations, code",
    [
        ([{"op": "test", "path": "/a", "value": 2}], 422),
        ([{"op": "remove", "path": "/missing"}], 422),
        ([{"op": "replace", "path": "/missing", "value": 1}], 422),
        ([{"op": "frobnicate", "path": "/a"}], 400),
        ({"op": "add"}, 400),
    ],
)
def test_json_patch_errors(operations, code):
    with pytest.raises(ApiError) as err:
        json_patch({"a": 1}, operations)
    assert err.value.code == code


# -- selectors --------------------------------------------------------------------


@pytest.mark.parametrize(
    "selector, labels, matches",
    [
        ("app=x", {"app": "x"}, True),
        ("app==x", {"app": "y"}, False),
        ("app!=x", {}, True),
        ("app!=x", {"app": "x"}, False),
        ("env in (prod, dev),tier", {"env": "dev", "tier": "1"}, True),
        ("env in (prod,dev)", {"env": "qa"}, False),
        ("env notin (prod)", {}, True),
        ("env notin (prod)", {"env": "prod"}, False),
        ("!canary", {"app": "x"}, True),
        ("!canary", {"canary": "true"}, False),
        ("app.kubernetes.io/name=litellm", {"app.kubernetes.io/name": "litellm"}, True),
        ("", {"anything": "1"}, True),
    ],
)
def test_label_selector(selector, labels, matches):
    assert labels_match(parse_label_selector(selector), labels) is matches


def test_bad_label_selector_is_a_bad_request():
    with pytest.raises(ApiError) as err:
        parse_label_selector("app in x")
    assert err.value.code == 400


def test_field_selector():
    pod = {"metadata": {"name": "p", "namespace": "ml"}, "status": {"phase": "Running"}}
    assert object_predicate({"fieldSelector": "metadata.name=p,status.phase!=Pending"})(pod)
    assert not object_predicate({"fieldSelector": "status.phase==Pending"})(pod)
    assert object_predicate({"fieldSelector": "spec.nodeName="})(pod)


def test_selector_string_of_a_label_selector():
    selector = {
        "matchLabels": {"app": "x"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}],
    }
    assert selector_string(selector) == "app=x,tier in (a,b)"


# -- validation and defaults --------------------------------------------------------


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d["spec"].pop("selector"), "spec.selector"),
        (lambda d: d["spec"]["template"]["metadata"].pop("labels"), "spec.template.metadata.labels"),
        (lambda d: d["spec"]["template"]["metadata"].update(labels={"app": "other"}), "spec.template.metadata.labels"),
        (lambda d: d["spec"]["template"]["spec"].update(containers=[]), "spec.template.spec.containers"),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("image"),
            "spec.template.spec.containers[0].image",
        ),
        (lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("name"), "spec.template.spec.containers[0].name"),
        (lambda d: d["spec"].update(replicas=-1), "spec.replicas"),
        (lambda d: d["metadata"].pop("name"), "metadata.name"),
        (lambda d: d["metadata"].update(name="Bad_Name"), "metadata.name"),
    ],
)
def test_invalid_deployments(mutate, field):
    obj = deployment()
    mutate(obj)
    with pytest.raises(ApiError) as err:
        validate(DEPLOYMENTS, obj)
    assert err.value.code == 422 and err.value.reason == "Invalid"
    assert field in [c["field"] for c in err.value.details["causes"]]
    assert err.value.message.startswith('Deployment.apps "')


def test_deployment_selector_is_immutable():
    current = deployment()
    changed = deployment(selector={"matchLabels": {"app": "x", "v": "2"}})
    changed["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    with pytest.raises(ApiError) as err:
        validate(DEPLOYMENTS, changed, current)
    assert "field is immutable" in err.value.message


def test_valid_deployment_passes():
    validate(DEPLOYMENTS, deployment())


@pytest.mark.parametrize(
    "rtype, obj",
    [
        (CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"port": 4000}}),
        (SECRETS, {"metadata": {"name": "s"}, "data": {"k": "not base64!"}}),
        (SECRETS, {"metadata": {"name": "s"}, "data": {"k": True}}),
    ],
)
def test_data_values_must_be_strings(rtype, obj):
    with pytest.raises(ApiError) as err:
        validate(rtype, obj)
    assert err.value.code == 422


def test_deployment_defaults_like_the_real_server():
    obj = deployment()
    del obj["spec"]["replicas"]
    apply_defaults(DEPLOYMENTS, obj)
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["progressDeadlineSeconds"] == 600 and spec["revisionHistoryLimit"] == 10
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    again = merge_patch(obj, {})
    apply_defaults(DEPLOYMENTS, again)
    assert again == obj  # defaulting twice changes nothing (no spurious generation bump)


def test_recreate_strategy_gets_no_rolling_update():
    obj = deployment(strategy={"type": "Recreate"})
    apply_defaults(DEPLOYMENTS, obj)
    assert obj["spec"]["strategy"] == {"type": "Recreate"}


def test_string_data_is_folded_into_data():
    secret = {"data": {"A": base64.b64encode(b"old").decode(), "B": "Yg=="}, "stringData": {"A": "new"}}
    fold_string_data(secret)
    assert secret == {"data": {"A": base64.b64encode(b"new").decode(), "B": "Yg=="}}


@pytest.mark.parametrize(
    "seconds, shown",
    [
        (5, "5s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (3 * 86400, "3d"),
        (-5, "<invalid>"),
    ],
)
def test_human_duration(seconds, shown):
    assert human_duration(seconds) == shown


# -- protobuf bodies (kubectl create configmap/secret/namespace) ---------------------


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def _entry(key: str, value: bytes) -> bytes:
    return _field(1, key.encode()) + _field(2, value)


def test_decode_protobuf_secret():
    meta = _field(1, b"s1") + _field(11, _entry("team", b"a")) + _field(8, b"")
    raw = _field(1, meta) + _field(2, _entry("KEY", b"v a l")) + _field(3, b"Opaque")
    envelope = _field(1, _field(1, b"v1") + _field(2, b"Secret")) + _field(2, raw)
    assert decode_protobuf(b"k8s\x00" + envelope) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s1", "labels": {"team": "a"}},
        "data": {"KEY": base64.b64encode(b"v a l").decode()},
        "type": "Opaque",
    }


def test_decode_protobuf_refuses_unknown_kinds():
    envelope = _field(1, _field(1, b"apps/v1") + _field(2, b"Deployment")) + _field(2, b"")
    with pytest.raises(ApiError) as err:
        decode_protobuf(b"k8s\x00" + envelope)
    assert err.value.code == 415


def test_decode_protobuf_token_request():
    spec = _field(1, b"vault") + bytes([4 << 3, 0x84, 0x07])  # expirationSeconds = 900, a varint
    raw = _field(1, b"") + _field(2, spec)
    envelope = _field(1, _field(1, b"authentication.k8s.io/v1") + _field(2, b"TokenRequest")) + _field(2, raw)
    assert decode_protobuf(b"k8s\x00" + envelope) == {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "metadata": {},
        "spec": {"audiences": ["vault"], "expirationSeconds": 900},
    }


# -- request attributes and RBAC rules (authz.py) -----------------------------------

SA = UserInfo("system:serviceaccount:ml:ci", groups=("system:serviceaccounts", "system:authenticated"))


@pytest.mark.parametrize(
    "method, url, expected",
    [
        ("GET", "/api/v1/namespaces/ml/pods", ("list", "", "ml", "pods", "", "")),
        ("GET", "/api/v1/namespaces/ml/pods?watch=true", ("watch", "", "ml", "pods", "", "")),
        ("GET", "/api/v1/namespaces/ml/pods?watch=1", ("watch", "", "ml", "pods", "", "")),
        ("GET", "/api/v1/namespaces/ml/pods?watch=yes", ("watch", "", "ml", "pods", "", "")),
        ("GET", "/api/v1/namespaces/ml/pods?watch=false", ("list", "", "ml", "pods", "", "")),
        ("GET", "/api/v1/namespaces/ml/pods?fieldSelector=metadata.name%3Dp1", ("list", "", "ml", "pods", "", "p1")),
        (
            "GET",
            "/api/v1/namespaces/ml/pods?fieldSelector=metadata.name%3D%3Dp1&watch=1",
            ("watch", "", "ml", "pods", "", "p1"),
        ),
        ("GET", "/api/v1/namespaces/ml/pods?fieldSelector=metadata.name!%3Dp1", ("list", "", "ml", "pods", "", "")),
        (
            "GET",
            "/api/v1/namespaces/ml/pods?fieldSelector=metadata.name%3Dp1&limit=x",
            ("list", "", "ml", "pods", "", ""),
        ),
        ("GET", "/api/v1/namespaces/ml/pods/p1", ("get", "", "ml", "pods", "", "p1")),
        ("GET", "/api/v1/namespaces/ml/pods/p1/log", ("get", "", "ml", "pods", "log", "p1")),
        ("HEAD", "/api/v1/namespaces/ml/pods/p1", ("get", "", "ml", "pods", "", "p1")),
        ("POST", "/api/v1/namespaces/ml/pods", ("create", "", "ml", "pods", "", "")),
        (
            "PUT",
            "/apis/apps/v1/namespaces/ml/deployments/d/scale",
            ("update", "apps", "ml", "deployments", "scale", "d"),
        ),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/ml/deployments/d/status",
            ("patch", "apps", "ml", "deployments", "status", "d"),
        ),
        ("DELETE", "/api/v1/namespaces/ml/configmaps/c", ("delete", "", "ml", "configmaps", "", "c")),
        ("DELETE", "/api/v1/namespaces/ml/configmaps", ("deletecollection", "", "ml", "configmaps", "", "")),
        (
            "POST",
            "/api/v1/namespaces/ml/services/http:litellm:4000/proxy/v1/models",
            ("create", "", "ml", "services", "proxy", "http:litellm:4000"),
        ),
        ("GET", "/api/v1/namespaces/ml", ("get", "", "ml", "namespaces", "", "ml")),
        ("PUT", "/api/v1/namespaces/ml/status", ("update", "", "ml", "namespaces", "status", "ml")),
        ("GET", "/api/v1/namespaces", ("list", "", "", "namespaces", "", "")),
        (
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin",
            ("get", "rbac.authorization.k8s.io", "", "clusterroles", "", "admin"),
        ),
        ("GET", "/api/v1/watch/namespaces/ml/pods", ("watch", "", "ml", "pods", "", "")),
    ],
)
def test_request_attributes_like_request_info(method, url, expected):
    path, _, query = url.partition("?")
    attrs = request_attributes(SA, method, path, dict(urllib.parse.parse_qsl(query)))
    assert attrs.resource_request
    assert (attrs.verb, attrs.api_group, attrs.namespace, attrs.resource, attrs.subresource, attrs.name) == expected


@pytest.mark.parametrize(
    "method, path, verb",
    [
        ("GET", "/api", "get"),
        ("GET", "/apis/apps", "get"),
        ("GET", "/apis/apps/v1", "get"),
        ("GET", "/api/v1", "get"),
        ("GET", "/version", "get"),
        ("POST", "/openapi/v3", "post"),
        ("GET", "/healthz/etcd", "get"),
    ],
)
def test_non_resource_requests(method, path, verb):
    attrs = request_attributes(SA, method, path, {})
    assert (attrs.resource_request, attrs.verb, attrs.path) == (False, verb, path)


@pytest.mark.parametrize(
    "rule, allowed",
    [
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, False),  # subresource needs its own
        ({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}, True),
        ({"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]}, True),
        ({"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}, True),
        ({"apiGroups": ["*"], "resources": ["pods/log"], "verbs": ["get"]}, True),
        ({"apiGroups": ["apps"], "resources": ["pods/log"], "verbs": ["get"]}, False),
        ({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["list"]}, False),
        ({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"], "resourceNames": ["p1"]}, True),
        ({"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"], "resourceNames": ["p2"]}, False),
        ({"nonResourceURLs": ["*"], "verbs": ["*"]}, False),
    ],
)
def test_rule_allows_resources(rule, allowed):
    attrs = Attributes(SA, "get", True, api_group="", namespace="ml", resource="pods", subresource="log", name="p1")
    assert rule_allows(attrs, rule) is allowed


def test_resource_names_never_match_a_request_without_a_name():
    rule = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "list"], "resourceNames": ["c"]}
    assert not rule_allows(Attributes(SA, "create", True, namespace="ml", resource="configmaps"), rule)
    assert not rule_allows(Attributes(SA, "list", True, namespace="ml", resource="configmaps"), rule)
    assert rule_allows(Attributes(SA, "list", True, namespace="ml", resource="configmaps", name="c"), rule)


@pytest.mark.parametrize(
    "urls, path, allowed",
    [
        (["/healthz"], "/healthz", True),
        (["/healthz"], "/healthz/etcd", False),
        (["/healthz/*"], "/healthz/etcd", True),
        (["/api/*"], "/api", False),
        (["/api", "/api/*"], "/api/v1", True),
        (["*"], "/anything", True),
    ],
)
def test_rule_allows_non_resource_urls(urls, path, allowed):
    assert rule_allows(Attributes(SA, "get", False, path=path), {"nonResourceURLs": urls, "verbs": ["get"]}) is allowed


def test_forbidden_messages_like_kube_apiserver():
    named = forbidden(
        Attributes(
            SA, "get", True, api_group="apps", namespace="ml", resource="deployments", subresource="scale", name="d"
        )
    )
    assert named.message == (
        'deployments.apps "d" is forbidden: User "system:serviceaccount:ml:ci" cannot get '
        'resource "deployments/scale" in API group "apps" in the namespace "ml"'
    )
    assert named.status()["details"] == {"name": "d", "group": "apps", "kind": "deployments"}
    cluster = forbidden(Attributes(SA, "list", True, resource="nodes"), "RBAC: role.x not found")
    assert cluster.message == (
        'nodes is forbidden: User "system:serviceaccount:ml:ci" cannot list resource "nodes" '
        'in API group "" at the cluster scope: RBAC: role.x not found'
    )
    path = forbidden(Attributes(SA, "get", False, path="/<script>&"))
    assert path.message == 'forbidden: User "system:serviceaccount:ml:ci" cannot get path "/&lt;script&gt;&amp;"'
    assert path.status()["details"] == {}


@pytest.mark.parametrize(
    "text, problem",
    [
        ("2026-01-02T03:04:05.123456Z", None),
        ("2026-01-02T03:04:05.123456+02:00", None),
        ("2026-01-02T3:04:05.123456Z", None),  # Go's "15" takes one or two digits
        ("2026-01-02T03:04:05Z", 'cannot parse "Z" as ".000000"'),
        ("2026-01-02T03:04:05.1234567Z", 'cannot parse "7Z" as "Z07:00"'),
        ("2026-13-02T03:04:05.123456Z", "month out of range"),
        ("2026-02-30T03:04:05.123456Z", "day out of range"),
        ("2026-01-02T03:04:05.123456Zjunk", 'extra text: "junk"'),
    ],
)
def test_micro_time_parses_like_go(text, problem):
    result = parse_micro_time(text)
    assert result is None if problem is None else result.endswith(problem)


def test_store_groups_agree_with_the_registry():
    for rtype in RESOURCES:
        if rtype.stored:
            assert API_GROUPS.get(rtype.plural, "") == rtype.group, rtype.plural
