"""Discovery documents (/version, /api, /apis, group versions) and the minimal /openapi/v3."""

from __future__ import annotations

import hashlib
import json

from .resources import GROUP_VERSIONS, RESOURCES

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-sandbox",
    "gitCommit": "sandbox",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def discovery_resource_list(group: str, version: str) -> dict:
    """The APIResourceList of one group version, subresources as their own entries.

    Subresources carry no shortNames: kubectl would otherwise warn that a short
    name is ambiguous.
    """
    entries = []
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        entry = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        entries.append(entry)
        for sub in r.subresources:
            sub_entry = {
                "name": f"{r.plural}/{sub.name}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": sub.kind,
                "verbs": list(sub.verbs),
            }
            if sub.group is not None:
                sub_entry.update(group=sub.group, version=sub.version)
            entries.append(sub_entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": entries,
    }


def discovery_groups() -> list[dict]:
    groups = []
    for name in sorted({g for g, _ in GROUP_VERSIONS if g}):
        versions = [{"groupVersion": f"{name}/{v}", "version": v} for g, v in sorted(GROUP_VERSIONS) if g == name]
        groups.append({"name": name, "versions": versions, "preferredVersion": versions[0]})
    return groups


def openapi_v3_root() -> dict:
    """The /openapi/v3 index: one document per group version.

    kubectl caches each document by its URL, so the hash must change whenever
    the document does.
    """
    paths = {}
    for group, version in sorted(GROUP_VERSIONS):
        key = f"apis/{group}/{version}" if group else f"api/{version}"
        digest = (
            hashlib.sha256(json.dumps(openapi_v3_document(group, version), sort_keys=True).encode())
            .hexdigest()[:32]
            .upper()
        )
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def openapi_v3_document(group: str, version: str) -> dict:
    """A deliberately small OpenAPI v3 document for one group version.

    kubectl (``--validate=strict``, its default) decides per kind whether the
    server validates fields itself: it looks for the kind's PATCH operation
    (``x-kubernetes-group-version-kind``) with a ``fieldValidation`` query
    parameter. Finding it, kubectl skips client-side schema validation, which
    would need the full /openapi/v2 schema. The PATCH operations list no
    strategic-merge request body on purpose: kubectl's client-side apply then
    computes its patches from its compiled-in types instead of from schemas
    this document does not carry.
    """
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    params = [
        {"name": name, "in": "query", "schema": {"type": "string"}}
        for name in ("dryRun", "fieldManager", "fieldValidation", "force")
    ]
    paths = {}
    for r in RESOURCES:
        if (r.group, r.version) != (group, version) or "patch" not in r.verbs:
            continue
        scope = f"{prefix}/namespaces/{{namespace}}" if r.namespaced else prefix
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        paths[f"{scope}/{r.plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{r.kind}",
                "parameters": params,
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (sandbox)", "version": "v1.32.0"},
        "paths": paths,
        "components": {},
    }
