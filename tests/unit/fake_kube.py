# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory Kubernetes API server for the unit tests, and the story's objects to seed it with.

``FakeCluster`` answers HTTP requests the way the API server does for what the collection uses:
objects keep a uid, every write gets a new resourceVersion, a PUT with a stale resourceVersion gets
409, a missing object 404, a Deployment's generation goes up when its spec changes. It sits behind a
real ``kubernetes.client.ApiClient`` (only its REST transport is replaced), so ``_k8s.Kube`` runs
unchanged: paths, query strings, the bearer token header, error bodies and all.

It also plays the Deployment controller (``rollout``: a template change rolls at the next read, or
crashes, or never completes), the kubelet's pod logs (``logs``) and the Service proxy (``proxy``: a
callable standing in for LiteLLM). Hooks make it misbehave on purpose: ``interfere`` lets another
writer win a race (the next write then meets 409), ``fail`` answers a request with an error,
``deny`` refuses a right in SelfSubjectAccessReview, ``on_write`` runs any callable before a write.

The unit tests run under ansible-test on the built collection, which does not ship ``sandbox/``: so
this file has its own merge patch and story Deployment rather than importing the sandbox's.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import socket
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ansible_collections.homelab.litellm.plugins.module_utils import _k8s
from ansible_collections.homelab.litellm.plugins.module_utils import _known_good as kg
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.rest import RESTResponse

NAMESPACE = "ml"
TOKEN = "fake-cluster-token"
HOST = "https://kube.test:6443"
LABELS = {"app.kubernetes.io/name": "litellm", "app": "litellm"}

STORY_CONFIG = (Path(__file__).parent / "plugins" / "module_utils" / "fixtures" / "story-config.yaml").read_text()
"""The story's config.yaml: three fallback-chain models, the operator's comments."""
STORY_SECRETS = {
    "LITELLM_MASTER_KEY": "sk-" + "5e1f" * 12,
    "DATABASE_URL": "postgresql://litellm:0b3d9c51aa7e@postgres.ml.svc:5432/litellm",
    "OPENAI_API_KEY": "sk-sandbox-" + "7c2a" * 10,
}
"""What the story's Secret litellm-secrets holds before any provider key is added."""

OTHER_HOLDER = "bob@build-server run=0the5run0token00"
"""Another run's lock holder (a random token, like every holder)."""


def holder_of(token):
    """The lock holder of this process's run with the token ``token`` in the module tests (user alice)."""
    return "alice@%s run=%s" % (socket.gethostname(), token)


KINDS = {
    "configmaps": "ConfigMap",
    "secrets": "Secret",
    "deployments": "Deployment",
    "replicasets": "ReplicaSet",
    "pods": "Pod",
    "services": "Service",
    "leases": "Lease",
    "horizontalpodautoscalers": "HorizontalPodAutoscaler",
}
GROUPS = {
    "deployments": "apps/v1",
    "replicasets": "apps/v1",
    "leases": "coordination.k8s.io/v1",
    "horizontalpodautoscalers": "autoscaling/v2",
}

_NAMESPACED = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+/[^/]+))/namespaces/(?P<namespace>[^/]+)/(?P<resource>[^/]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<sub>.+))?)?$"
)


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def unb64(text):
    return base64.b64decode(text).decode("utf-8")


def status_body(code, reason, message):
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def matches_selector(obj, selector):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, (selector or "").split(",")):
        key, _sep, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


class FakeHTTPResponse:
    """What urllib3 returns: status, reason, data, headers, and ``stream`` for a watch."""

    def __init__(self, status, data=b"", reason=None, chunks=None, content_type="application/json"):
        self.status = status
        self.reason = reason or {200: "OK", 201: "Created"}.get(status, "Error")
        self.data = data
        self.headers = {"Content-Type": content_type}
        self._chunks = chunks

    def stream(self, amt=None, decode_content=True):
        yield from self._chunks if self._chunks is not None else [self.data]


class Request:
    """One request the fake API server got."""

    def __init__(self, method, path, query, headers, body, timeout):
        self.method, self.path, self.query, self.headers, self.body, self.timeout = (
            method,
            path,
            query,
            headers,
            body,
            timeout,
        )
        found = _NAMESPACED.match(path)
        self.resource = found.group("resource") if found else None
        self.namespace = unquote(found.group("namespace")) if found else None
        self.name = unquote(found.group("name")) if found and found.group("name") else None
        self.sub = found.group("sub") if found else None

    @property
    def is_write(self):
        return self.method in ("POST", "PUT", "PATCH", "DELETE") and self.resource is not None and self.sub is None

    def __repr__(self):
        return "<%s %s%s>" % (
            self.method,
            self.path,
            "?" + "&".join("%s=%s" % i for i in self.query.items()) if self.query else "",
        )


class _Transport:
    """Stands in for ``kubernetes.client.rest.RESTClientObject``."""

    def __init__(self, cluster):
        self.cluster = cluster

    def request(self, method, url, headers=None, body=None, post_params=None, _request_timeout=None):
        return RESTResponse(self.cluster.handle(method, url, headers or {}, body, _request_timeout))


class FakeCluster:
    """The API server's state and behaviour; ``kube()`` gives a ``_k8s.Kube`` talking to it."""

    def __init__(self):
        self.objects = {}
        self.version = 1000
        self.uids = 0
        self.requests = []
        self.reviews = []
        self.denied = {}
        self.access_review_status = None
        self.logs = {}  # (pod name or "*", previous) -> log text
        self.proxy = None
        self.watches = {}
        self._hooks = []
        self._failures = []
        self._pending_rolls = {}
        self.rollout = "complete"

    # -- set-up and inspection -----------------------------------------------------------------
    def kube(self):
        return _k8s.Kube(self.api_client())

    def api_client(self):
        configuration = Configuration(host=HOST)
        configuration.api_key = {"authorization": TOKEN}
        configuration.api_key_prefix = {"authorization": "Bearer"}
        client = ApiClient(configuration)
        client.rest_client = _Transport(self)
        return client

    def _next_version(self):
        self.version += 1
        return str(self.version)

    def add(self, resource, obj, namespace=NAMESPACE):
        """Store an object as if it had been created earlier (no request is logged)."""
        obj = copy.deepcopy(obj)
        metadata = obj.setdefault("metadata", {})
        metadata["namespace"] = namespace
        self.uids += 1
        metadata.setdefault("uid", "uid-%s-%d" % (metadata["name"], self.uids))
        metadata["resourceVersion"] = self._next_version()
        metadata.setdefault("creationTimestamp", "2026-12-01T10:00:00Z")
        if resource == "deployments":
            metadata.setdefault("generation", 1)
        obj.setdefault("apiVersion", GROUPS.get(resource, "v1"))
        obj.setdefault("kind", KINDS.get(resource, resource))
        self.objects[(resource, namespace, metadata["name"])] = obj
        return copy.deepcopy(obj)

    def get(self, resource, name, namespace=NAMESPACE):
        """A copy of a stored object, or None."""
        return copy.deepcopy(self.objects.get((resource, namespace, name)))

    def edit(self, resource, name, change, namespace=NAMESPACE):
        """Change a stored object as another writer would (new resourceVersion, no request logged)."""
        obj = self.objects[(resource, namespace, name)]
        before = copy.deepcopy(obj.get("spec"))
        change(obj)
        obj["metadata"]["resourceVersion"] = self._next_version()
        if resource == "deployments" and obj.get("spec") != before:
            obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
        return copy.deepcopy(obj)

    def delete(self, resource, name, namespace=NAMESPACE):
        self.objects.pop((resource, namespace, name), None)

    def writes(self, resource=None, name=None):
        """The write requests (POST/PUT/PATCH/DELETE of an object), optionally of one resource/object."""
        return [
            r
            for r in self.requests
            if r.is_write and (resource is None or r.resource == resource) and (name is None or r.name == name)
        ]

    # -- hooks ---------------------------------------------------------------------------------
    def on_write(self, hook):
        """``hook(cluster, request)`` runs before every write; a truthy return removes it."""
        self._hooks.append(hook)

    def interfere(self, resource, name, change, times=1):
        """Another writer changes the object right before each of our next ``times`` writes of it."""
        left = [times]

        def hook(cluster, request):
            if request.resource == resource and request.name == name and request.method in ("PUT", "PATCH"):
                cluster.edit(resource, name, change)
                left[0] -= 1
            return left[0] <= 0

        self.on_write(hook)

    def fail(self, method, resource, status, message, name=None, times=1, echo_body=False):
        """Answer the next ``times`` matching requests with an error Status (``echo_body``: quote the body)."""
        self._failures.append(
            {
                "method": method,
                "resource": resource,
                "name": name,
                "status": status,
                "message": message,
                "left": times,
                "echo": echo_body,
            }
        )

    def deny(self, verb, resource, name=None, subresource=None, group=None, reason="RBAC: not allowed"):
        """SelfSubjectAccessReview answers ``allowed: false`` for this right (name None: any name)."""
        self.denied[(verb, resource, name, subresource, group)] = reason

    # -- the API server ------------------------------------------------------------------------
    def handle(self, method, url, headers, body, timeout):
        parts = urlsplit(url)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        request = Request(method, parts.path, query, headers, copy.deepcopy(body), timeout)
        self.requests.append(request)
        if headers.get("authorization") != "Bearer " + TOKEN:
            return self._status(401, "Unauthorized", "Unauthorized")
        for failure in self._failures:
            if (
                failure["left"] > 0
                and failure["method"] == method
                and failure["resource"] == request.resource
                and failure["name"] in (None, request.name)
            ):
                failure["left"] -= 1
                message = failure["message"]
                if failure["echo"]:
                    message += ": " + json.dumps(body)
                return self._status(failure["status"], "Invalid" if failure["status"] == 422 else "Error", message)
        if parts.path == _k8s.SELF_SUBJECT_ACCESS_REVIEWS and method == "POST":
            return self._access_review(body)
        if request.resource is None:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        if request.sub == "log" and request.resource == "pods":
            return self._log(request)
        if request.resource == "services" and request.sub and request.sub.startswith("proxy"):
            return self._proxy(request)
        if request.is_write:
            for hook in list(self._hooks):
                if hook(self, request):
                    self._hooks.remove(hook)
        if method == "GET" and request.query.get("watch") != "true":
            for (name, namespace), crash in list(self._pending_rolls.items()):
                del self._pending_rolls[(name, namespace)]
                self.roll(name, namespace, crash=crash)
        handler = {
            "GET": self._get,
            "POST": self._create,
            "PUT": self._replace,
            "PATCH": self._patch,
            "DELETE": self._delete,
        }[method]
        return handler(request)

    def _json(self, status, obj):
        return FakeHTTPResponse(status, json.dumps(obj).encode("utf-8"))

    def _status(self, code, reason, message):
        return FakeHTTPResponse(code, json.dumps(status_body(code, reason, message)).encode("utf-8"), reason=reason)

    def _not_found(self, request):
        return self._status(404, "NotFound", '%s "%s" not found' % (request.resource, request.name))

    def _get(self, request):
        if request.query.get("watch") == "true":
            pending = self.watches.get(request.resource) or []
            chunks = pending.pop(0) if pending else []
            return FakeHTTPResponse(200, b"", chunks=chunks)
        if request.name is None:
            items = [
                copy.deepcopy(obj)
                for (resource, namespace, _name), obj in sorted(self.objects.items())
                if resource == request.resource
                and namespace == request.namespace
                and matches_selector(obj, request.query.get("labelSelector"))
            ]
            return self._json(
                200,
                {
                    "kind": KINDS.get(request.resource, "") + "List",
                    "items": items,
                    "metadata": {"resourceVersion": str(self.version)},
                },
            )
        obj = self.objects.get((request.resource, request.namespace, request.name))
        if obj is None:
            return self._not_found(request)
        return self._json(200, obj)

    def _create(self, request):
        body = request.body or {}
        name = (body.get("metadata") or {}).get("name")
        if (body.get("metadata") or {}).get("resourceVersion"):
            return self._status(400, "BadRequest", "resourceVersion should not be set on objects to be created")
        if (request.resource, request.namespace, name) in self.objects:
            return self._status(409, "AlreadyExists", '%s "%s" already exists' % (request.resource, name))
        return self._json(201, self.add(request.resource, body, request.namespace))

    def _conflict(self, request):
        return self._status(
            409,
            "Conflict",
            'Operation cannot be fulfilled on %s "%s": the object has been '
            "modified; please apply your changes to the latest version and try "
            "again" % (request.resource, request.name),
        )

    def _store(self, request, new):
        key = (request.resource, request.namespace, request.name)
        old = self.objects[key]
        if old.get("immutable") and (new.get("data") != old.get("data")):
            return self._status(
                422,
                "Invalid",
                '%s "%s" is invalid: data: Forbidden: field is immutable when '
                "`immutable` is set" % (KINDS[request.resource], request.name),
            )
        metadata = new.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "namespace", "name"):
            metadata[field] = old["metadata"][field]
        metadata["resourceVersion"] = self._next_version()
        template_changed = False
        if request.resource == "deployments":
            metadata["generation"] = old["metadata"].get("generation", 1) + (new.get("spec") != old.get("spec"))
            new["status"] = old.get("status")
            template_changed = (new.get("spec") or {}).get("template") != (old.get("spec") or {}).get("template")
        self.objects[key] = new
        if template_changed and self.rollout:
            # The controller acts after the write was answered: the answer still has the old status.
            self._pending_rolls[(request.name, request.namespace)] = self.rollout == "crash"
        return self._json(200, self.objects[key])

    def _replace(self, request):
        old = self.objects.get((request.resource, request.namespace, request.name))
        if old is None:
            return self._not_found(request)
        body = copy.deepcopy(request.body or {})
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != old["metadata"]["resourceVersion"]:
            return self._conflict(request)
        return self._store(request, body)

    def _patch(self, request):
        old = self.objects.get((request.resource, request.namespace, request.name))
        if old is None:
            return self._not_found(request)
        if request.headers.get("Content-Type") != "application/merge-patch+json":
            return self._status(415, "UnsupportedMediaType", "the fake serves merge patches only")
        wanted = ((request.body or {}).get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != old["metadata"]["resourceVersion"]:
            return self._conflict(request)
        return self._store(request, merge_patch(copy.deepcopy(old), request.body or {}))

    def _delete(self, request):
        if self.objects.pop((request.resource, request.namespace, request.name), None) is None:
            return self._not_found(request)
        return self._json(200, status_body(200, "", ""))

    def _access_review(self, body):
        attributes = ((body or {}).get("spec") or {}).get("resourceAttributes") or {}
        self.reviews.append(attributes)
        if self.access_review_status:
            return self._status(
                self.access_review_status, "NotFound", "the server could not find the requested resource"
            )
        reason = None
        for (verb, resource, name, subresource, group), why in self.denied.items():
            if (
                verb == attributes.get("verb")
                and resource == attributes.get("resource")
                and name in (None, attributes.get("name"))
                and subresource == attributes.get("subresource")
                and group in (None, attributes.get("group"))
            ):
                reason = why
        status = {"allowed": reason is None, "reason": reason or "RBAC: allowed by RoleBinding"}
        return self._json(201, dict(body, status=status))

    def _log(self, request):
        previous = request.query.get("previous") == "true"
        text = self.logs.get((request.name, previous), self.logs.get(("*", previous)))
        if text is None:
            return self._status(
                400, "BadRequest", 'previous terminated container "litellm" in pod "%s" not found' % request.name
            )
        return FakeHTTPResponse(200, text.encode("utf-8"), content_type="text/plain")

    def _proxy(self, request):
        service, _sep, port = request.name.partition(":")
        if self.proxy is None or (request.resource, request.namespace, service) not in {
            ("services", ns, name) for (_res, ns, name) in self.objects if _res == "services"
        }:
            return self._status(503, "ServiceUnavailable", 'no endpoints available for service "%s"' % service)
        status, data = self.proxy(
            request.method, "/" + request.sub[len("proxy/") :], request.headers, request.body, int(port)
        )
        return FakeHTTPResponse(status, data)

    # -- a Deployment controller ---------------------------------------------------------------
    def roll(self, name, namespace=NAMESPACE, crash=False):
        """What the Deployment controller and kubelet do after a template change (done at the next read).

        Not crashing: a new ReplicaSet with one Ready pod replaces the old pods and the status is
        complete. Crashing: the new pod is in CrashLoopBackOff, the old one keeps serving.
        """
        deployment = self.objects[("deployments", namespace, name)]
        template = copy.deepcopy(deployment["spec"]["template"])
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        old_sets = [
            obj
            for (resource, ns, _n), obj in self.objects.items()
            if resource == "replicasets" and ns == namespace and _owned(obj, deployment)
        ]
        revision = 1 + max(
            [int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) for rs in old_sets] or [0]
        )
        labels = dict(template["metadata"].get("labels") or {}, **{"pod-template-hash": digest})
        template["metadata"]["labels"] = labels
        replicaset = self.add(
            "replicasets",
            {
                "metadata": {
                    "name": "%s-%s" % (name, digest),
                    "labels": labels,
                    "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                    "ownerReferences": [{"kind": "Deployment", "name": name, "uid": deployment["metadata"]["uid"]}],
                },
                "spec": {"replicas": 1, "template": template},
            },
            namespace,
        )
        if not crash:
            for (resource, ns, pod_name), obj in list(self.objects.items()):
                if resource == "pods" and ns == namespace and any(_owned(obj, rs) for rs in old_sets):
                    del self.objects[(resource, ns, pod_name)]
        self.add("pods", pod_object("%s-%s-x1" % (name, digest), labels, replicaset, crash=crash), namespace)
        replicas = deployment["spec"].get("replicas", 1)
        deployment["status"] = rollout_status(
            deployment["metadata"]["generation"],
            replicas,
            updated=1 if crash else replicas,
            available=replicas,
            total=replicas + 1 if crash else replicas,
        )
        deployment["metadata"]["annotations"] = dict(
            deployment["metadata"].get("annotations") or {}, **{"deployment.kubernetes.io/revision": str(revision)}
        )
        deployment["metadata"]["resourceVersion"] = self._next_version()


def _owned(obj, owner):
    uid = owner["metadata"].get("uid")
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


def rollout_status(generation, replicas, updated=None, available=None, total=None):
    updated = replicas if updated is None else updated
    available = replicas if available is None else available
    return {
        "observedGeneration": generation,
        "replicas": replicas if total is None else total,
        "updatedReplicas": updated,
        "availableReplicas": available,
        "readyReplicas": available,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    }


def pod_object(name, labels, replicaset, crash=False):
    state = (
        {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"}}
        if crash
        else {"running": {"startedAt": "2026-12-01T10:00:30Z"}}
    )
    status = {"name": "litellm", "ready": not crash, "restartCount": 3 if crash else 0, "state": state}
    if crash:
        status["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
    return {
        "metadata": {
            "name": name,
            "labels": dict(labels),
            "ownerReferences": [
                {"kind": "ReplicaSet", "name": replicaset["metadata"]["name"], "uid": replicaset["metadata"]["uid"]}
            ],
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [status],
            "conditions": [
                {"type": "Ready", "status": "False" if crash else "True", "lastTransitionTime": "2026-12-01T10:00:40Z"}
            ],
        },
    }


# -- the story's objects ---------------------------------------------------------------------------
def litellm_deployment(name="litellm", annotations=None):
    """The LiteLLM Deployment as the sandbox seeds it (sandbox/seed.py ``deployment()``): one container
    started with ``--config /app/config.yaml``, the ConfigMap key mounted there with subPath, the whole
    Secret litellm-secrets loaded with envFrom."""
    template_metadata = {"labels": dict(LABELS)}
    if annotations:
        template_metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(LABELS), "generation": 1},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "litellm"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": template_metadata,
                "spec": {
                    "containers": [
                        {
                            "name": "litellm",
                            "image": "ghcr.io/berriai/litellm:main-v1.108.7",
                            "args": ["--config", "/app/config.yaml", "--port", "4000", "--num_workers", "1"],
                            "ports": [{"name": "http", "containerPort": 4000, "protocol": "TCP"}],
                            "envFrom": [{"secretRef": {"name": "litellm-secrets"}}],
                            "volumeMounts": [
                                {
                                    "name": "config",
                                    "mountPath": "/app/config.yaml",
                                    "subPath": "config.yaml",
                                    "readOnly": True,
                                }
                            ],
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": "litellm-config"}}],
                },
            },
        },
        "status": rollout_status(1, 1),
    }


def configmap_object(text, name="litellm-config", key="config.yaml"):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": dict(LABELS)},
        "data": {key: text},
    }


def secret_object(values, name="litellm-secrets", labels=None):
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "labels": dict(labels if labels is not None else LABELS)},
        "data": {key: b64(value) for key, value in values.items()},
    }


def service_object(name="litellm"):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": dict(LABELS)},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": "litellm"},
            "ports": [{"name": "http", "port": 4000, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def seed_story(cluster, config_text, secret_values, deployment=None):
    """The story's before state: ConfigMap, Secret, Service, the Deployment and its running pod."""
    cluster.add("configmaps", configmap_object(config_text))
    cluster.add("secrets", secret_object(secret_values))
    cluster.add("services", service_object())
    stored = cluster.add("deployments", deployment or litellm_deployment())
    template = copy.deepcopy(stored["spec"]["template"])
    labels = dict(template["metadata"]["labels"], **{"pod-template-hash": "first"})
    template["metadata"]["labels"] = labels
    replicaset = cluster.add(
        "replicasets",
        {
            "metadata": {
                "name": "litellm-first",
                "labels": labels,
                "annotations": {"deployment.kubernetes.io/revision": "1"},
                "ownerReferences": [{"kind": "Deployment", "name": "litellm", "uid": stored["metadata"]["uid"]}],
            },
            "spec": {"replicas": 1, "template": template},
        },
    )
    cluster.add("pods", pod_object("litellm-first-a1", labels, replicaset))
    return cluster


def running_digest(config_text, secret_values):
    """The digest litellm_rollout puts on the pod template for this config and Secret."""
    return rt.rollout_digest(
        config_text, {key: b64(value) for key, value in secret_values.items()}, rt.config_env_vars(config_text)
    )


def settled_story(cluster, config_text=STORY_CONFIG, secret_values=None, managed=(), record=True):
    """The state after a verified run: LiteLLM rolled onto the live config and Secret (its digest on the
    pod template), and, with ``record``, the record of it holding the ``managed`` keys."""
    secret_values = dict(STORY_SECRETS if secret_values is None else secret_values)
    deployment = litellm_deployment(annotations={rt.DIGEST_ANNOTATION: running_digest(config_text, secret_values)})
    seed_story(cluster, config_text, secret_values, deployment)
    if record:
        keys = {name: ("litellm-secrets", name, secret_values.get(name)) for name in managed}
        known = kg.KnownGood(
            config_text, "litellm-config", "config.yaml", keys, ["vllm-qwen"], "true", "2026-12-01T10:00:00Z", "r0"
        )
        cluster.add("secrets", kg.record_body(NAMESPACE, "litellm", known))
    return cluster
