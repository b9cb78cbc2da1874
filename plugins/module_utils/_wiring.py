# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: how a LiteLLM Deployment is wired, read from its spec.

Pure functions, no ansible import and no I/O. LiteLLM installed by hand, by the official Helm chart
or by GitOps differs in where its config file and its keys come from. Instead of assuming names,
the collection reads them from the Deployment the way the kubelet resolves them:

* the LiteLLM container and the path it gets as ``--config``;
* the volume mounted at that path (a ConfigMap, whole or through ``items``/``subPath``) and the
  ConfigMap key that becomes the file;
* for each environment variable: ``env`` entries win over ``envFrom``; among ``envFrom`` sources a
  later one wins over an earlier one; ``prefix`` is prepended to every key of its source; a
  ``secretKeyRef``/``configMapKeyRef`` names one key of one object. A Secret key that is no valid
  variable name is skipped by the kubelet, so it never reaches LiteLLM.

``resolve_env`` needs the keys of the objects ``envFrom`` loads; the caller reads them (``envfrom_objects``
lists which) and passes ``{(kind, name): [keys]}``.
"""

from __future__ import annotations

import posixpath
import shlex
from collections import namedtuple

from .config.envvars import is_env_var_name

SECRET, CONFIGMAP, LITERAL, FIELD, MISSING = "Secret", "ConfigMap", "value", "field", "missing"

Source = namedtuple("Source", "kind name key optional env_from", defaults=(None,))
Source.__doc__ = """Where one environment variable comes from: ``kind`` Secret, ConfigMap, value (a
literal in the Deployment), field (fieldRef/resourceFieldRef) or missing; ``name``/``key`` of the
object and key for Secret/ConfigMap; ``optional`` as the Deployment says; ``env_from`` the index of the
``envFrom`` entry it comes from (None: an ``env`` entry)."""

ConfigSource = namedtuple("ConfigSource", "configmap key path container mount")
ConfigSource.__doc__ = """The ConfigMap and key that become LiteLLM's config file at ``path``."""

DEFAULT_MASTER_KEY_VAR = "LITELLM_MASTER_KEY"
CONFIG_FLAGS = ("--config", "-c")
SHELLS = ("sh", "bash", "ash", "dash", "zsh")


class WiringError(ValueError):
    """The Deployment does not wire LiteLLM in a way this collection can manage; says what to change."""


def _containers(deployment):
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    return spec.get("containers") or [], spec.get("volumes") or []


def _words(container):
    return [str(word) for word in (container.get("command") or []) + (container.get("args") or [])]


def _flag_value(words):
    for index, word in enumerate(words):
        for flag in CONFIG_FLAGS:
            if word == flag and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(flag + "="):
                return word[len(flag) + 1 :]
    return None


def config_path_of(container):
    """The path LiteLLM reads its config from: the ``CONFIG_FILE_PATH`` environment variable (a literal
    ``env`` entry), else the one given as ``--config``/``-c`` (also ``--config=PATH``), or None.

    LiteLLM 1.108.7's start-up (proxy_server.py ``startup``) reads ``CONFIG_FILE_PATH`` before the
    ``--config`` path the CLI hands over as WORKER_CONFIG, and uses it alone when set: today's chart
    (BerriAI/litellm ``helm/litellm``) passes the path that way, with no arguments. A shell line
    (``command: [/bin/sh, -c, "litellm --config /app/config.yaml"]``) is read as the words of its
    script: the shell's own ``-c`` is not LiteLLM's.
    """
    for entry in container.get("env") or []:
        if entry.get("name") == "CONFIG_FILE_PATH" and "valueFrom" not in entry and entry.get("value"):
            return entry["value"]
    words = _words(container)
    for script in (word for word in words if any(space in word for space in " \t\n")):
        try:
            found = _flag_value(shlex.split(script))
        except ValueError:  # unbalanced quotes: not a script this can read
            continue
        if found:
            return found
    shell = len(words) > 1 and posixpath.basename(words[0]) in SHELLS and words[1] == "-c"
    return _flag_value(words[2:] if shell else words)


def litellm_container(deployment, name=None):
    """The LiteLLM container: the one named ``name``, else the one started with ``--config``, else the
    one named ``litellm``, else the only one. Raises WiringError listing the containers otherwise."""
    containers, _volumes = _containers(deployment)
    names = [c.get("name") for c in containers]
    if name:
        for container in containers:
            if container.get("name") == name:
                return container
        raise WiringError(
            "Deployment %s has no container %r (containers: %s); set litellm_container to one of "
            "them" % (_name(deployment), name, ", ".join(names) or "none")
        )
    with_config = [c for c in containers if config_path_of(c)]
    if len(with_config) == 1:
        return with_config[0]
    named = [c for c in containers if c.get("name") == "litellm"]
    if len(named) == 1:
        return named[0]
    if len(containers) == 1:
        return containers[0]
    raise WiringError(
        "Deployment %s has %d containers (%s) and none is clearly LiteLLM (started with --config, "
        "or named litellm); set litellm_container" % (_name(deployment), len(containers), ", ".join(names))
    )


def _name(deployment):
    meta = deployment.get("metadata") or {}
    return "%s/%s" % (meta.get("namespace", "?"), meta.get("name", "?"))


def _file_in_configmap_volume(volume_source, relative):
    """The key of a ConfigMap volume that appears as ``relative`` inside the volume, or None."""
    items = volume_source.get("items")
    if items:
        for item in items:
            if posixpath.normpath(item.get("path") or "") == posixpath.normpath(relative):
                return item.get("key")
        return None
    return relative if "/" not in relative else None


def config_source(deployment, container):
    """Which ConfigMap key LiteLLM reads as its config file. Raises WiringError when it is not a ConfigMap."""
    path = config_path_of(container)
    if not path:
        raise WiringError(
            "container %s of Deployment %s is not started with --config (nor given CONFIG_FILE_PATH), so "
            "LiteLLM reads no config file this collection could manage; add args: [--config, /app/config.yaml] "
            "and mount the ConfigMap there" % (container.get("name"), _name(deployment))
        )
    _containers_, volumes = _containers(deployment)
    path = posixpath.normpath(path)
    best = None
    for mount in container.get("volumeMounts") or []:
        mount_path = posixpath.normpath(mount.get("mountPath") or "/")
        sub_path = mount.get("subPath")
        if mount_path == path:
            relative = sub_path or None
        elif path.startswith(mount_path.rstrip("/") + "/") and not sub_path:
            relative = path[len(mount_path.rstrip("/")) + 1 :]
        elif path.startswith(mount_path.rstrip("/") + "/") and sub_path:
            relative = posixpath.join(sub_path, path[len(mount_path.rstrip("/")) + 1 :])
        else:
            continue
        if best is None or len(mount_path) > len(posixpath.normpath(best[0].get("mountPath") or "/")):
            best = (mount, relative)
    if best is None:
        raise WiringError(
            "nothing is mounted at %s (the config path of container %s in Deployment %s): LiteLLM "
            "would read the file baked into its image, which this collection cannot change; mount "
            "the ConfigMap there" % (path, container.get("name"), _name(deployment))
        )
    mount, relative = best
    volume = next((v for v in volumes if v.get("name") == mount.get("name")), None) or {}
    sources = []
    if volume.get("configMap"):
        sources = [volume["configMap"]]
    elif volume.get("projected"):
        sources = [s["configMap"] for s in volume["projected"].get("sources") or [] if s.get("configMap")]
    if not sources:
        kind = next((k for k in volume if k != "name"), "unknown")
        raise WiringError(
            "the config file %s of Deployment %s comes from a %s volume %r, not from a ConfigMap; "
            "this collection manages the config in a ConfigMap" % (path, _name(deployment), kind, mount.get("name"))
        )
    if relative is None:
        raise WiringError(
            "volume %r is mounted at the config path %s itself without subPath, so it is a "
            "directory, not a file; mount it at the directory and pass --config <dir>/<key>" % (mount.get("name"), path)
        )
    for source in sources:
        key = _file_in_configmap_volume(source, relative)
        if key:
            return ConfigSource(source.get("name"), key, path, container.get("name"), mount.get("name"))
    raise WiringError(
        "no key of the ConfigMap volume %r appears as %s in container %s of Deployment %s; check the "
        "volume's items and the mount's subPath" % (mount.get("name"), path, container.get("name"), _name(deployment))
    )


def envfrom_objects(container):
    """(kind, name) of each object the container loads with ``envFrom``, in order."""
    found = []
    for entry in container.get("envFrom") or []:
        if entry.get("secretRef"):
            found.append((SECRET, entry["secretRef"].get("name")))
        elif entry.get("configMapRef"):
            found.append((CONFIGMAP, entry["configMapRef"].get("name")))
    return found


def resolve_env(container, object_keys):
    """``{variable: Source}`` of every variable the container gets, resolved as the kubelet does.

    ``object_keys`` maps (kind, name) of each ``envFrom`` object to its keys (None when the object
    does not exist: an optional one adds nothing, a required one keeps the pod from starting).
    """
    env = {}
    for index, entry in enumerate(container.get("envFrom") or []):
        ref = entry.get("secretRef") or entry.get("configMapRef")
        if not ref:
            continue
        kind = SECRET if entry.get("secretRef") else CONFIGMAP
        prefix = entry.get("prefix") or ""
        for key in object_keys.get((kind, ref.get("name"))) or []:
            if is_env_var_name(prefix + key):
                env[prefix + key] = Source(kind, ref.get("name"), key, bool(ref.get("optional")), index)
    for entry in container.get("env") or []:
        name = entry.get("name")
        value_from = entry.get("valueFrom") or {}
        if value_from.get("secretKeyRef"):
            ref = value_from["secretKeyRef"]
            env[name] = Source(SECRET, ref.get("name"), ref.get("key"), bool(ref.get("optional")))
        elif value_from.get("configMapKeyRef"):
            ref = value_from["configMapKeyRef"]
            env[name] = Source(CONFIGMAP, ref.get("name"), ref.get("key"), bool(ref.get("optional")))
        elif value_from:
            env[name] = Source(FIELD, None, None, False)
        else:
            env[name] = Source(LITERAL, None, None, False)
    return env


def master_key_var(config):
    """The variable LiteLLM takes its master key from: ``general_settings.master_key: os.environ/NAME``,
    else LITELLM_MASTER_KEY. None when the config holds the key literally."""
    general = config.get("general_settings") if isinstance(config, dict) else None
    value = general.get("master_key") if isinstance(general, dict) else None
    if value is None:
        return DEFAULT_MASTER_KEY_VAR
    if isinstance(value, str) and value.startswith("os.environ/"):
        return value[len("os.environ/") :]
    return None


def where_keys_go(names, env, container, preferred_secret=None):
    """``{variable: (secret, key)}``: where to write each provider key so that it reaches LiteLLM.

    A variable the pod already gets from a Secret key is written there. One it does not get yet is
    added to a Secret the container loads whole with ``envFrom`` (with that source's prefix taken
    off): ``preferred_secret`` (the operator's explicit choice) when given, else the last such
    Secret (a later envFrom source wins over an earlier one). Raises WiringError naming the variable
    and the Deployment field to add when a write could not reach the pod, or when the explicit
    Secret is not where the pod reads the variable from.
    """
    loaded = [
        (entry["secretRef"].get("name"), entry.get("prefix") or "", index)
        for index, entry in enumerate(container.get("envFrom") or [])
        if entry.get("secretRef")
    ]
    where = "container %s" % container.get("name")
    errors, targets, nowhere = [], {}, []
    for name in names:
        source = env.get(name)
        # A Secret loaded with envFrom after the object the variable comes from now wins over it.
        after = -1 if not source or source.env_from is None else source.env_from
        if source and source.kind == SECRET:
            if preferred_secret and source.name != preferred_secret:
                errors.append(
                    "%s reaches LiteLLM from Secret %s (key %s), not from the secret option (litellm_secret) %s: "
                    "a key written there would never be used; set it to %s or leave it empty"
                    % (name, source.name, source.key, preferred_secret, source.name)
                )
            else:
                targets[name] = (source.name, source.key)
            continue
        if source and source.env_from is None:
            errors.append(
                "%s is set in %s from a %s (spec.template.spec.containers[].env), which wins over any "
                "Secret loaded with envFrom; remove that env entry or make it a secretKeyRef"
                % (
                    name,
                    where,
                    {CONFIGMAP: "ConfigMap key", LITERAL: "literal value"}.get(source.kind, "field reference"),
                )
            )
            continue
        usable = [
            (secret, prefix)
            for secret, prefix, index in loaded
            if index > after
            and name.startswith(prefix)
            and is_env_var_name(name[len(prefix) :])
            and (not preferred_secret or secret == preferred_secret)
        ]
        if usable:
            secret, prefix = usable[-1]
            targets[name] = (secret, name[len(prefix) :])
        elif source:
            errors.append(
                "%s comes from ConfigMap %s (key %s), which %s loads with envFrom after every Secret "
                "the key could be written to, so that ConfigMap wins; take %s out of it, or load %s "
                "after it in envFrom (spec.template.spec.containers[].envFrom)"
                % (
                    name,
                    source.name,
                    source.key,
                    where,
                    source.key,
                    "Secret %s" % preferred_secret if preferred_secret else "the Secret for the keys",
                )
            )
        else:
            nowhere.append(name)
    if nowhere:
        wanted = preferred_secret or "litellm-secrets"
        errors.append(
            "%s would not reach LiteLLM: %s loads no Secret%s with envFrom that %s could come from; add "
            "{secretRef: {name: %s}} to its envFrom (spec.template.spec.containers[].envFrom; with the Helm "
            "chart: environmentSecrets: [%s])"
            % (
                ", ".join(nowhere),
                where,
                " %s" % preferred_secret if preferred_secret else "",
                "it" if len(nowhere) == 1 else "they",
                wanted,
                wanted,
            )
        )
    if errors:
        raise WiringError("; ".join(errors))
    return targets
