"""What the kubelet reads out of a pod spec before it starts a container: pure functions.

Each follows the kubelet of Kubernetes 1.32 (pkg/kubelet/kubelet_pods.go and the
packages it uses), so that a Deployment written for a real cluster (the official
LiteLLM Helm chart's, say) means the same thing here:

* ``expand`` -- ``$(VAR)`` references, as third_party/forked/golang/expansion:
  ``$$`` is a literal ``$``, a reference to an unknown variable stays as written;
* ``container_env`` -- envFrom first, then ``env`` in order; a plain ``value`` may
  refer to what came before it (``makeEnvironmentVariables``); ``valueFrom`` values
  (secretKeyRef, configMapKeyRef, fieldRef) are taken as they are;
* ``volume_files`` -- a configMap or secret volume: every key, or only ``items``
  (each key at its ``path``); a missing key fails the mount unless ``optional``;
* ``mount`` -- a ``subPath`` names a file inside the volume (after ``items``), not
  a key of the ConfigMap;
* ``probe_port`` -- a probe's ``port`` is a number or the name of a container port.
"""

from __future__ import annotations

import base64
from typing import Callable

from ..store import Store


class ConfigError(Exception):
    """The container cannot start yet; ``reason`` is what its waiting state shows."""

    def __init__(self, message: str, reason: str = "CreateContainerConfigError", event: str = "Failed") -> None:
        super().__init__(message)
        self.reason = reason
        self.event = event


def expand(text: str, mapping: Callable[[str], str | None]) -> str:
    """Expand ``$(NAME)`` in ``text`` the way the kubelet does (expansion.Expand)."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            rest = text[cursor + 1 :]
            if rest[0] == "$":  # escaped operator
                out.append("$")
                advance = 1
            elif rest[0] == "(":
                close = rest.find(")", 1)
                if close == -1:  # incomplete reference: kept as written
                    out.append("$(")
                    advance = 1
                else:
                    name = rest[1:close]
                    value = mapping(name)
                    out.append(value if value is not None else f"$({name})")
                    advance = close + 1
            else:  # "$" that does not start a reference
                out.append("$" + rest[0])
                advance = 1
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _secret_data(obj: dict) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


def _field_value(pod: dict, path: str) -> str:
    """``valueFrom.fieldRef`` (the downward API's env fields)."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": status.get("hostIP", ""),
        "status.podIP": status.get("podIP", ""),
        "status.podIPs": ",".join(ip["ip"] for ip in status.get("podIPs") or []),
    }
    if path in simple:
        return simple[path]
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return (meta.get(source) or {}).get(path[len(prefix) + 2 : -2], "")
    raise ConfigError(f'unsupported fieldPath "{path}"')


def container_env(store: Store, pod: dict, container: dict) -> dict[str, str]:
    """The environment the kubelet gives ``container`` (without the runtime's own)."""
    ns = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "secretRef" in source:
            ref, kind, resource = source["secretRef"], "secret", "secrets"
        elif "configMapRef" in source:
            ref, kind, resource = source["configMapRef"], "configmap", "configmaps"
        else:
            continue
        obj = store.get(resource, ns, ref["name"])
        if obj is None:
            if ref.get("optional"):
                continue
            raise ConfigError(f'{kind} "{ref["name"]}" not found')
        data = _secret_data(obj) if kind == "secret" else dict(obj.get("data") or {})
        env.update({prefix + k: v for k, v in data.items()})
    for item in container.get("env") or []:
        name = item["name"]
        source = item.get("valueFrom")
        if not source:
            # Only plain values are expanded, against what is defined so far.
            env[name] = expand(item.get("value", ""), env.get)
            continue
        if "fieldRef" in source:
            env[name] = _field_value(pod, source["fieldRef"]["fieldPath"])
            continue
        is_secret = "secretKeyRef" in source
        ref = source.get("secretKeyRef") or source.get("configMapKeyRef")
        if ref is None:
            raise ConfigError(f'unsupported valueFrom for env "{name}"')
        obj = store.get("secrets" if is_secret else "configmaps", ns, ref["name"])
        kind = "secret" if is_secret else "configmap"
        if obj is None:
            if ref.get("optional"):
                continue
            raise ConfigError(f'{kind} "{ref["name"]}" not found')
        data = _secret_data(obj) if is_secret else dict(obj.get("data") or {})
        if ref["key"] not in data:
            if ref.get("optional"):
                continue
            raise ConfigError(
                f"couldn't find key {ref['key']} in {'Secret' if is_secret else 'ConfigMap'} {ns}/{ref['name']}"
            )
        env[name] = data[ref["key"]]
    return env


def command_and_args(container: dict, env: dict[str, str]) -> tuple[list[str], list[str]]:
    """``command`` and ``args`` with ``$(VAR)`` expanded from the container's env."""
    return (
        [expand(arg, env.get) for arg in container.get("command") or []],
        [expand(arg, env.get) for arg in container.get("args") or []],
    )


def volume_files(store: Store, namespace: str, volume: dict) -> dict[str, str] | None:
    """The files a configMap or secret volume holds (path -> content); None for other kinds."""
    if "configMap" in volume:
        source, resource, kind = volume["configMap"], "configmaps", "configmap"
        name = source.get("name", "")
    elif "secret" in volume:
        source, resource, kind = volume["secret"], "secrets", "secret"
        name = source.get("secretName", "")
    else:
        return None
    obj = store.get(resource, namespace, name)
    if obj is None:
        if source.get("optional"):
            return {}
        raise ConfigError(
            f'MountVolume.SetUp failed for volume "{volume["name"]}" : {kind} "{name}" not found',
            reason="ContainerCreating",
            event="FailedMount",
        )
    data = _secret_data(obj) if kind == "secret" else dict(obj.get("data") or {})
    items = source.get("items")
    if not items:
        return data
    files = {}
    for item in items:
        if item["key"] not in data:
            if source.get("optional"):
                continue
            raise ConfigError(
                f'MountVolume.SetUp failed for volume "{volume["name"]}" : {kind} references '
                f"non-existent config key: {item['key']}",
                reason="ContainerCreating",
                event="FailedMount",
            )
        files[item["path"]] = data[item["key"]]
    return files


def mount(files: dict[str, str], volume_mount: dict) -> dict[str, str]:
    """What appears at ``mountPath``: the volume's files, or the one file ``subPath`` names.

    A subPath that is not in a (read-only) configMap/secret volume cannot be
    created there: the kubelet fails the container with CreateContainerConfigError.
    Returns ``{relative path: content}``, with ``""`` for a file mounted on mountPath itself.
    """
    sub_path = volume_mount.get("subPath")
    if not sub_path:
        return dict(files)
    if sub_path in files:
        return {"": files[sub_path]}
    under = {
        path[len(sub_path) + 1 :]: content
        for path, content in files.items()
        if path.startswith(sub_path.rstrip("/") + "/")
    }
    if under:
        return under
    raise ConfigError(f'failed to prepare subPath for volumeMount "{volume_mount["name"]}" of container')


def probe_port(container: dict, port) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ValueError(f'port "{port}" is not a named port of container "{container.get("name")}"')
