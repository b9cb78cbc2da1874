"""The API server at the HTTP level: auth, discovery, verbs, watch, subresources, hooks.

Most tests talk to the shared ``apiserver`` fixture over HTTPS; the hook and
failure tests run their own in-process app through aiohttp's test client.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sandbox import store as store_module
from sandbox.apiserver import API_SERVER, build_app
from sandbox.store import Store

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)
TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
DEPLOYMENTS = "/apis/apps/v1/namespaces/ml/deployments"
CONFIGMAPS = "/api/v1/namespaces/ml/configmaps"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def deployment(name: str, replicas: int = 1) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "litellm:1"}]},
            },
        },
    }


def create(apiserver, path: str, body: dict) -> dict:
    response = apiserver.request("POST", path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


# -- authentication -----------------------------------------------------------


def test_health_needs_no_token(apiserver):
    for path in ("/healthz", "/readyz", "/livez"):
        response = apiserver.request("GET", path, token="")
        assert (response.status_code, response.text) == (200, "ok")


@pytest.mark.parametrize("token", ["", "wrong"])
def test_missing_or_wrong_token_is_unauthorized(apiserver, token):
    for path in ("/api", "/version", CONFIGMAPS, "/sandbox/metrics"):
        response = apiserver.request("GET", path, token=token)
        assert response.status_code == 401
        assert response.json() == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }


# -- discovery -----------------------------------------------------------------


def test_discovery_documents(apiserver):
    version = apiserver.request("GET", "/version").json()
    assert (version["major"], version["minor"], version["gitVersion"]) == ("1", "32", "v1.32.0-sandbox")
    # kubectl asks for aggregated discovery first; plain JSON makes it fall back.
    api = apiserver.request("GET", "/api", headers={"Accept": AGGREGATED_ACCEPT})
    assert api.headers["Content-Type"].startswith("application/json")
    assert api.json()["kind"] == "APIVersions" and api.json()["versions"] == ["v1"]
    groups = apiserver.request("GET", "/apis").json()
    assert groups["kind"] == "APIGroupList"
    assert groups["groups"][0]["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}

    core = apiserver.request("GET", "/api/v1").json()
    assert core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["namespaces"]["namespaced"] is False and by_name["namespaces"]["shortNames"] == ["ns"]
    assert by_name["pods/log"]["verbs"] == ["get"] and "shortNames" not in by_name["pods/log"]
    assert by_name["services/proxy"]["kind"] == "ServiceProxyOptions"
    assert {by_name[n]["kind"] for n in ("configmaps", "secrets", "events", "endpoints")} == {
        "ConfigMap",
        "Secret",
        "Event",
        "Endpoints",
    }

    apps = {r["name"]: r for r in apiserver.request("GET", "/apis/apps/v1").json()["resources"]}
    assert apps["deployments"]["shortNames"] == ["deploy"] and apps["deployments"]["singularName"] == "deployment"
    assert apps["deployments/scale"] == {
        "name": "deployments/scale",
        "singularName": "",
        "namespaced": True,
        "kind": "Scale",
        "verbs": ["get", "patch", "update"],
        "group": "autoscaling",
        "version": "v1",
    }
    assert apps["replicasets/status"]["kind"] == "ReplicaSet"


def test_openapi_v3_declares_server_side_field_validation(apiserver):
    root = apiserver.request("GET", "/openapi/v3").json()
    assert set(root["paths"]) == {
        "api/v1",
        "apis/apps/v1",
        "apis/authentication.k8s.io/v1",
        "apis/authorization.k8s.io/v1",
        "apis/autoscaling/v2",
        "apis/batch/v1",
        "apis/coordination.k8s.io/v1",
        "apis/rbac.authorization.k8s.io/v1",
    }
    document = apiserver.request("GET", root["paths"]["apis/apps/v1"]["serverRelativeURL"]).json()
    patch = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}} in patch["parameters"]
    assert apiserver.request("GET", "/openapi/v2").status_code == 404


# -- errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, code, reason",
    [
        ("GET", "/api/v1/namespaces/ml/widgets", 404, "NotFound"),
        ("GET", "/apis/batch/v1/cronjobs", 404, "NotFound"),
        ("GET", "/apis/networking.k8s.io/v1/ingresses", 404, "NotFound"),
        ("GET", "/api/v1/namespaces/ml/configmaps/nope", 404, "NotFound"),
        ("PUT", CONFIGMAPS, 405, "MethodNotAllowed"),
        ("POST", "/api/v1/configmaps", 405, "MethodNotAllowed"),
        ("POST", "/api/v1/namespaces/ml/configmaps/x", 405, "MethodNotAllowed"),
        ("DELETE", "/apis/apps/v1/namespaces/ml/deployments/x/status", 405, "MethodNotAllowed"),
    ],
)
def test_error_statuses(apiserver, method, path, code, reason):
    response = apiserver.request(method, path, json={})
    assert response.status_code == code
    assert response.json()["kind"] == "Status" and response.json()["reason"] == reason


def test_body_must_match_the_url(apiserver):
    name = unique("cm")
    create(apiserver, CONFIGMAPS, {"metadata": {"name": name}})
    wrong_name = apiserver.request("PUT", f"{CONFIGMAPS}/{name}", json={"metadata": {"name": "other"}})
    assert (wrong_name.status_code, wrong_name.json()["reason"]) == (400, "BadRequest")
    wrong_ns = apiserver.request("POST", CONFIGMAPS, json={"metadata": {"name": "x", "namespace": "other"}})
    assert wrong_ns.status_code == 400
    wrong_kind = apiserver.request("POST", CONFIGMAPS, json={"kind": "Secret", "metadata": {"name": "x"}})
    assert wrong_kind.status_code == 400
    exists = apiserver.request("POST", CONFIGMAPS, json={"metadata": {"name": name}})
    assert (exists.status_code, exists.json()["reason"]) == (409, "AlreadyExists")
    no_namespace = apiserver.request("POST", "/api/v1/namespaces/nowhere/configmaps", json={"metadata": {"name": "x"}})
    assert no_namespace.status_code == 404


def test_invalid_deployment_is_422_with_causes(apiserver):
    body = deployment(unique("bad"))
    del body["spec"]["selector"]
    response = apiserver.request("POST", DEPLOYMENTS, json=body)
    assert response.status_code == 422
    status = response.json()
    assert status["reason"] == "Invalid"
    assert {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"} in status["details"][
        "causes"
    ]
    assert apiserver.call(apiserver.store.get, "deployments", "ml", body["metadata"]["name"]) is None


def test_unsupported_patch_type_is_415(apiserver):
    name = unique("cm")
    create(apiserver, CONFIGMAPS, {"metadata": {"name": name}})
    response = apiserver.request(
        "PATCH", f"{CONFIGMAPS}/{name}", data="{}", headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 415


# -- reading -----------------------------------------------------------------------


def test_list_carries_kind_api_version_and_resource_version(apiserver):
    name = unique("listed")
    create(apiserver, DEPLOYMENTS, deployment(name))
    listed = apiserver.request("GET", DEPLOYMENTS).json()
    assert (listed["kind"], listed["apiVersion"]) == ("DeploymentList", "apps/v1")
    assert int(listed["metadata"]["resourceVersion"]) >= 1
    item = next(i for i in listed["items"] if i["metadata"]["name"] == name)
    assert (item["kind"], item["apiVersion"]) == ("Deployment", "apps/v1")
    everywhere = apiserver.request("GET", "/apis/apps/v1/deployments").json()
    assert name in [i["metadata"]["name"] for i in everywhere["items"]]


def test_list_selectors(apiserver):
    tag = unique("t")
    for name, tier in (("a", "web"), ("b", "db"), ("c", None)):
        labels = {"tag": tag, **({"tier": tier} if tier else {})}
        create(apiserver, CONFIGMAPS, {"metadata": {"name": f"{tag}-{name}", "labels": labels}})

    def names(**params) -> list[str]:
        response = apiserver.request("GET", CONFIGMAPS, params=params)
        return sorted(i["metadata"]["name"][len(tag) + 1 :] for i in response.json()["items"])

    assert names(labelSelector=f"tag={tag},tier") == ["a", "b"]
    assert names(labelSelector=f"tag=={tag},!tier") == ["c"]
    assert names(labelSelector=f"tag={tag},tier in (web, cache)") == ["a"]
    assert names(labelSelector=f"tag={tag},tier notin (web)") == ["b", "c"]
    assert names(labelSelector=f"tag={tag},tier!=db") == ["a", "c"]
    assert names(labelSelector=f"tag={tag}", fieldSelector=f"metadata.name={tag}-b") == ["b"]
    assert names(labelSelector=f"tag={tag}", fieldSelector=f"metadata.name!={tag}-b,metadata.namespace=ml") == [
        "a",
        "c",
    ]


def test_table_output_for_kubectl_get(apiserver):
    name = unique("pod")
    pod = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}
    create(apiserver, "/api/v1/namespaces/ml/pods", pod)
    stored = apiserver.call(apiserver.store.get, "pods", "ml", name)
    stored["status"] = {
        "phase": "Running",
        "containerStatuses": [
            {"name": "c", "ready": False, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ],
    }
    apiserver.call(apiserver.store.update, "pods", "ml", stored, subresource="status")
    table = apiserver.request("GET", f"/api/v1/namespaces/ml/pods/{name}", headers={"Accept": TABLE_ACCEPT}).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
    ]
    assert table["rows"][0]["cells"][:4] == [name, "0/1", "CrashLoopBackOff", 3]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


# -- writing -----------------------------------------------------------------------------


def test_dry_run_stores_nothing(apiserver):
    name = unique("dry")
    before = apiserver.call(lambda: apiserver.store.resource_version)
    created = apiserver.request("POST", DEPLOYMENTS, params={"dryRun": "All"}, json=deployment(name))
    assert created.status_code == 201 and created.json()["spec"]["strategy"]["type"] == "RollingUpdate"
    assert apiserver.call(apiserver.store.get, "deployments", "ml", name) is None

    create(apiserver, DEPLOYMENTS, deployment(name))
    rv = apiserver.call(lambda: apiserver.store.resource_version)
    patched = apiserver.request(
        "PATCH",
        f"{DEPLOYMENTS}/{name}",
        params={"dryRun": "All"},
        json={"spec": {"replicas": 5}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.json()["spec"]["replicas"] == 5 and patched.json()["metadata"]["generation"] == 2
    replaced = apiserver.request(
        "PUT", f"{DEPLOYMENTS}/{name}", params={"dryRun": "All"}, json=deployment(name, replicas=7)
    )
    assert replaced.json()["spec"]["replicas"] == 7
    deleted = apiserver.request("DELETE", f"{DEPLOYMENTS}/{name}", params={"dryRun": "All"})
    assert deleted.status_code == 200
    stored = apiserver.call(apiserver.store.get, "deployments", "ml", name)
    assert stored["spec"]["replicas"] == 1 and stored["metadata"]["generation"] == 1
    assert apiserver.call(lambda: apiserver.store.resource_version) == rv > before


def test_secret_string_data_is_folded_and_never_stored(apiserver):
    name = unique("secret")
    created = create(
        apiserver, "/api/v1/namespaces/ml/secrets", {"metadata": {"name": name}, "stringData": {"KEY": "value"}}
    )
    assert created["data"] == {"KEY": "dmFsdWU="} and "stringData" not in created
    assert created["type"] == "Opaque"
    apiserver.request(
        "PATCH",
        f"/api/v1/namespaces/ml/secrets/{name}",
        json={"stringData": {"NEW": "x"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    stored = apiserver.call(apiserver.store.get, "secrets", "ml", name)
    assert stored["data"] == {"KEY": "dmFsdWU=", "NEW": "eA=="} and "stringData" not in stored


def test_configmap_data_must_be_strings(apiserver):
    response = apiserver.request("POST", CONFIGMAPS, json={"metadata": {"name": unique("cm")}, "data": {"port": 4000}})
    assert response.status_code == 422


def test_status_is_kept_apart_from_spec(apiserver):
    name = unique("status")
    created = create(apiserver, DEPLOYMENTS, {**deployment(name), "status": {"replicas": 9}})
    assert created["status"] == {} and created["metadata"]["generation"] == 1
    status = {**created, "status": {"observedGeneration": 1, "replicas": 1}, "spec": {"replicas": 3}}
    after_status = apiserver.request("PUT", f"{DEPLOYMENTS}/{name}/status", json=status).json()
    assert after_status["status"]["replicas"] == 1 and after_status["spec"]["replicas"] == 1
    # A write of the main resource keeps the stored status; a spec change bumps generation.
    body = deployment(name, replicas=2)
    body["status"] = {"replicas": 42}
    replaced = apiserver.request("PUT", f"{DEPLOYMENTS}/{name}", json=body).json()
    assert replaced["status"] == {"observedGeneration": 1, "replicas": 1}
    assert replaced["metadata"]["generation"] == 2
    labelled = apiserver.request(
        "PATCH",
        f"{DEPLOYMENTS}/{name}",
        json={"metadata": {"labels": {"x": "y"}}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    ).json()
    assert labelled["metadata"]["generation"] == 2  # metadata is not spec
    conditions = {"status": {"conditions": [{"type": "Available", "status": "True"}]}}
    patched = apiserver.request(
        "PATCH",
        f"{DEPLOYMENTS}/{name}/status",
        json=conditions,
        headers={"Content-Type": "application/merge-patch+json"},
    ).json()
    assert patched["status"]["conditions"][0]["type"] == "Available" and patched["status"]["replicas"] == 1


def test_stale_resource_version_is_a_conflict(apiserver):
    name = unique("cm")
    created = create(apiserver, CONFIGMAPS, {"metadata": {"name": name}, "data": {"a": "1"}})
    created["data"] = {"a": "2"}
    assert apiserver.request("PUT", f"{CONFIGMAPS}/{name}", json=created).status_code == 200
    created["data"] = {"a": "3"}
    stale = apiserver.request("PUT", f"{CONFIGMAPS}/{name}", json=created)
    assert (stale.status_code, stale.json()["reason"]) == (409, "Conflict")


def test_json_patch_and_strategic_merge_patch(apiserver):
    name = unique("patched")
    create(apiserver, DEPLOYMENTS, deployment(name))
    env = {"spec": {"template": {"spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}]}]}}}}
    smp = apiserver.request(
        "PATCH",
        f"{DEPLOYMENTS}/{name}",
        data=json.dumps(env),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    ).json()
    assert smp["spec"]["template"]["spec"]["containers"][0]["image"] == "litellm:1"
    assert smp["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 4}]
    jp = apiserver.request(
        "PATCH", f"{DEPLOYMENTS}/{name}", data=json.dumps(ops), headers={"Content-Type": "application/json-patch+json"}
    ).json()
    assert jp["spec"]["replicas"] == 4 and jp["metadata"]["generation"] == 3


def test_server_side_apply_creates_then_merges(apiserver):
    name = unique("ssa")
    manifest = f"""
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  labels: {{owner: me}}
data:
  a: "1"
"""
    path = f"{CONFIGMAPS}/{name}"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    missing_manager = apiserver.request("PATCH", path, data=manifest, headers=headers)
    assert missing_manager.status_code == 422  # PatchOptions: fieldManager is required for apply patch
    created = apiserver.request("PATCH", path, params={"fieldManager": "me"}, data=manifest, headers=headers)
    assert created.status_code == 201 and created.json()["data"] == {"a": "1"}
    kept = apiserver.request(
        "PATCH",
        path,
        params={"fieldManager": "kubectl-label"},
        data='{"metadata":{"labels":{"kept":"x"}}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert kept.status_code == 200
    update = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"b": "2"}}
    updated = apiserver.request(
        "PATCH", path, params={"fieldManager": "me", "force": "true"}, data=json.dumps(update), headers=headers
    ).json()
    # The applier's config is the whole of what it wants: what it applied before and no longer
    # applies goes (a, its label); what another manager set stays.
    assert updated["data"] == {"b": "2"} and updated["metadata"]["labels"] == {"kept": "x"}
    other = {**update, "data": {"c": "3"}}
    merged = apiserver.request(
        "PATCH", path, params={"fieldManager": "other"}, data=json.dumps(other), headers=headers
    ).json()
    assert merged["data"] == {"b": "2", "c": "3"}  # a second applier adds to the first's fields


def test_scale_subresource(apiserver):
    name = unique("scaled")
    create(apiserver, DEPLOYMENTS, deployment(name))
    scale = apiserver.request("GET", f"{DEPLOYMENTS}/{name}/scale").json()
    assert (scale["kind"], scale["apiVersion"], scale["spec"]["replicas"]) == ("Scale", "autoscaling/v1", 1)
    assert scale["status"]["selector"] == f"app={name}"
    scale["spec"]["replicas"] = 3
    assert apiserver.request("PUT", f"{DEPLOYMENTS}/{name}/scale", json=scale).json()["spec"]["replicas"] == 3
    patched = apiserver.request(
        "PATCH",
        f"{DEPLOYMENTS}/{name}/scale",
        json={"spec": {"replicas": 0}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.json()["spec"]["replicas"] == 0
    negative = apiserver.request(
        "PATCH",
        f"{DEPLOYMENTS}/{name}/scale",
        json={"spec": {"replicas": -1}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert negative.status_code == 422
    stale = apiserver.request("PUT", f"{DEPLOYMENTS}/{name}/scale", json=scale)  # scale's old resourceVersion
    assert stale.status_code == 409
    stored = apiserver.call(apiserver.store.get, "deployments", "ml", name)
    assert stored["spec"]["replicas"] == 0 and stored["metadata"]["generation"] == 3


def _owned(owner: dict, kind: str, name: str, extra: dict) -> dict:
    return {
        "metadata": {
            "name": name,
            "labels": {"app": owner["metadata"]["name"]},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": kind,
                    "controller": True,
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                }
            ],
        },
        **extra,
    }


def _replicaset_and_pod(apiserver, name: str) -> None:
    """What the deployment controller would create: a ReplicaSet owning a pod."""
    owner = apiserver.call(apiserver.store.get, "deployments", "ml", name)
    rs_body = _owned(owner, "Deployment", f"{name}-rs", {"spec": deployment(name)["spec"]})
    rs = apiserver.call(apiserver.store.create, "replicasets", "ml", rs_body)
    pod_body = _owned(rs, "ReplicaSet", f"{name}-rs-pod", {"spec": {"containers": [{"name": "a", "image": "b"}]}})
    apiserver.call(apiserver.store.create, "pods", "ml", pod_body)


def test_deleting_a_deployment_deletes_its_replicasets_and_pods(apiserver):
    name = unique("cascade")
    create(apiserver, DEPLOYMENTS, deployment(name))
    _replicaset_and_pod(apiserver, name)
    response = apiserver.request(
        "DELETE", f"{DEPLOYMENTS}/{name}", json={"kind": "DeleteOptions", "propagationPolicy": "Background"}
    )
    assert response.json()["status"] == "Success"
    assert apiserver.call(apiserver.store.get, "replicasets", "ml", f"{name}-rs") is None
    assert apiserver.call(apiserver.store.get, "pods", "ml", f"{name}-rs-pod") is None


def test_orphan_deletion_keeps_dependents(apiserver):
    name = unique("orphan")
    create(apiserver, DEPLOYMENTS, deployment(name))
    _replicaset_and_pod(apiserver, name)
    apiserver.request("DELETE", f"{DEPLOYMENTS}/{name}", params={"propagationPolicy": "Orphan"})
    rs = apiserver.call(apiserver.store.get, "replicasets", "ml", f"{name}-rs")
    assert rs is not None and rs["metadata"]["ownerReferences"] == []
    assert apiserver.call(apiserver.store.get, "pods", "ml", f"{name}-rs-pod") is not None


def test_delete_collection_by_label(apiserver):
    tag = unique("gone")
    for i in range(3):
        create(apiserver, CONFIGMAPS, {"metadata": {"name": f"{tag}-{i}", "labels": {"tag": tag}}})
    deleted = apiserver.request("DELETE", CONFIGMAPS, params={"labelSelector": f"tag={tag}"}).json()
    assert deleted["kind"] == "ConfigMapList" and len(deleted["items"]) == 3
    remaining = apiserver.request("GET", CONFIGMAPS, params={"labelSelector": f"tag={tag}"}).json()
    assert remaining["items"] == []


# -- watch --------------------------------------------------------------------------------


def _watch_events(apiserver, path: str, **params) -> list[dict]:
    response = apiserver.request("GET", path, params={"watch": "1", **params}, stream=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers.get("Transfer-Encoding") == "chunked"
    return [json.loads(line) for line in response.iter_lines() if line]


def test_watch_from_a_list_resource_version_gets_later_events(apiserver):
    tag = unique("w")
    create(apiserver, CONFIGMAPS, {"metadata": {"name": f"{tag}-before", "labels": {"tag": tag}}})
    listed = apiserver.request("GET", CONFIGMAPS, params={"labelSelector": f"tag={tag}"}).json()
    create(apiserver, CONFIGMAPS, {"metadata": {"name": f"{tag}-after", "labels": {"tag": tag}}})
    create(apiserver, CONFIGMAPS, {"metadata": {"name": f"{tag}-other"}})
    apiserver.request("DELETE", f"{CONFIGMAPS}/{tag}-before")
    events = _watch_events(
        apiserver,
        CONFIGMAPS,
        labelSelector=f"tag={tag}",
        timeoutSeconds="1",
        resourceVersion=listed["metadata"]["resourceVersion"],
        allowWatchBookmarks="true",
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", f"{tag}-after"),
        ("DELETED", f"{tag}-before"),
    ]
    assert events[0]["object"]["kind"] == "ConfigMap" and events[0]["object"]["apiVersion"] == "v1"


def test_watch_without_resource_version_starts_with_the_current_objects(apiserver):
    name = unique("w0")
    create(apiserver, CONFIGMAPS, {"metadata": {"name": name}})
    events = _watch_events(apiserver, CONFIGMAPS, fieldSelector=f"metadata.name={name}", timeoutSeconds="1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", name)]


def test_watch_list_ends_initial_events_with_a_bookmark(apiserver):
    name = unique("wl")
    create(apiserver, CONFIGMAPS, {"metadata": {"name": name}})
    events = _watch_events(
        apiserver,
        CONFIGMAPS,
        fieldSelector=f"metadata.name={name}",
        timeoutSeconds="1",
        sendInitialEvents="true",
        resourceVersionMatch="NotOlderThan",
        allowWatchBookmarks="true",
    )
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watch_sees_changes_while_open(apiserver):
    name = unique("live")
    apiserver.call(
        apiserver.loop.call_later, 0.3, apiserver.store.create, "configmaps", "ml", {"metadata": {"name": name}}
    )
    rv = apiserver.call(lambda: apiserver.store.resource_version)
    events = _watch_events(
        apiserver, CONFIGMAPS, resourceVersion=str(rv), timeoutSeconds="2", fieldSelector=f"metadata.name={name}"
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", name)]


def test_metrics_count_requests_per_verb(apiserver):
    before = apiserver.request("GET", "/sandbox/metrics").json()["requests"]
    apiserver.request("GET", CONFIGMAPS)
    apiserver.request("GET", CONFIGMAPS)
    apiserver.request("POST", CONFIGMAPS, json={"metadata": {"name": unique("m")}})
    after = apiserver.request("GET", "/sandbox/metrics").json()
    assert after["requests"]["list"] == before.get("list", 0) + 2
    assert after["requests"]["create"] == before.get("create", 0) + 1
    assert after["total"] == sum(after["requests"].values())


# -- hooks, failures, expiry: an in-process server of their own ------------------------------


class FakeHooks:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    async def service_proxy(self, request, namespace, service, port, path):
        self.calls.append((request.method, namespace, service, port, path, request.query_string))
        return web.Response(text=f"proxied {path}", status=200)

    def pod_log(self, namespace, pod, container, tail_lines):
        if pod == "explodes":
            raise RuntimeError("a controller bug")
        return None if pod == "silent" else f"{namespace}/{pod}/{container}/{tail_lines}\n"


def run_with_client(hooks, scenario, store: Store | None = None) -> web.Application:
    store = store or Store()
    store.create("namespaces", "", {"metadata": {"name": "ml"}})
    for kind, body in (
        ("services", {"metadata": {"name": "litellm"}, "spec": {"ports": [{"port": 4000}]}}),
        ("pods", {"metadata": {"name": "p"}, "spec": {}}),
        ("pods", {"metadata": {"name": "silent"}, "spec": {}}),
        ("pods", {"metadata": {"name": "explodes"}, "spec": {}}),
    ):
        store.create(kind, "ml", body)

    app = build_app(store, "t", hooks)

    async def main() -> None:
        async with TestClient(TestServer(app)) as client:
            await scenario(client, {"Authorization": "Bearer t"})

    asyncio.run(main())
    return app


def test_service_proxy_and_pod_logs_go_to_the_hooks():
    hooks = FakeHooks()

    async def scenario(client, auth):
        base = "/api/v1/namespaces/ml/services"
        response = await client.post(f"{base}/http:litellm:4000/proxy/v1/models?x=1", headers=auth, data="{}")
        assert (response.status, await response.text()) == (200, "proxied v1/models")
        await client.get(f"{base}/litellm/proxy/", headers=auth)
        await client.get(f"{base}/litellm:http/proxy/health/readiness", headers=auth)
        assert (await client.get(f"{base}/nope:4000/proxy/", headers=auth)).status == 404
        log = await client.get("/api/v1/namespaces/ml/pods/p/log?container=c&tailLines=5", headers=auth)
        assert log.content_type == "text/plain" and await log.text() == "ml/p/c/5\n"
        assert (await client.get("/api/v1/namespaces/ml/pods/silent/log", headers=auth)).status == 404
        assert (await client.get("/api/v1/namespaces/ml/pods/none/log", headers=auth)).status == 404

    app = run_with_client(hooks, scenario)
    assert app[API_SERVER].request_counts["proxy"] == 4
    assert hooks.calls == [
        ("POST", "ml", "litellm", "4000", "v1/models", "x=1"),
        ("GET", "ml", "litellm", "", "", ""),
        ("GET", "ml", "litellm", "http", "health/readiness", ""),
    ]


def test_without_hooks_proxy_is_unavailable_and_logs_are_not_found():
    async def scenario(client, auth):
        proxy = await client.get("/api/v1/namespaces/ml/services/litellm:4000/proxy/", headers=auth)
        assert proxy.status == 503 and (await proxy.json())["reason"] == "ServiceUnavailable"
        assert (await client.get("/api/v1/namespaces/ml/pods/p/log", headers=auth)).status == 404

    run_with_client(None, scenario)


def test_a_failing_handler_answers_500_and_the_server_goes_on():
    async def scenario(client, auth):
        broken = await client.get("/api/v1/namespaces/ml/pods/explodes/log", headers=auth)
        assert broken.status == 500 and (await broken.json())["reason"] == "InternalError"
        assert (await client.get("/api/v1/namespaces/ml/pods/p", headers=auth)).status == 200

    run_with_client(FakeHooks(), scenario)


def test_watch_from_an_expired_resource_version_reports_410(monkeypatch):
    monkeypatch.setattr(store_module, "EVENT_LOG_SIZE", 3)
    store = Store()

    async def scenario(client, auth):
        for i in range(5):
            store.create("configmaps", "ml", {"metadata": {"name": f"c{i}"}})
        response = await client.get("/api/v1/namespaces/ml/configmaps?watch=1&resourceVersion=1", headers=auth)
        event = json.loads((await response.text()).splitlines()[0])
        assert event["type"] == "ERROR" and event["object"]["code"] == 410

    run_with_client(None, scenario, store)
