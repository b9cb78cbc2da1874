# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: the merged config as the files a GitOps repository holds.

Pure functions, no ansible import and no I/O. When Helm under Argo CD or Flux owns LiteLLM's config,
the collection writes nothing to the cluster (``litellm_apply_mode: render``): it renders what the
operator commits instead, in one of three forms:

* ``configmap``: ``config.yaml``, the text of the ConfigMap's key, the operator's comments kept as the
  merge keeps them (for a ConfigMap the repository holds as a file, or builds with a kustomize
  ``configMapGenerator``);
* ``helm-old``: a values file with ``proxy_config:`` for the retired ``litellm-helm`` chart
  (BerriAI/litellm ``deploy/charts/litellm-helm``: ``templates/configmap-litellm.yaml`` @52f43c8 renders
  ``.Values.proxy_config | toYaml`` into ConfigMap ``<fullname>-config``);
* ``helm-new``: a values file with ``gateway.config.proxy_config`` for today's ``helm/litellm`` chart
  (BerriAI/litellm ``helm/litellm/values.yaml`` @003ba05b01e2da522e7158d8030a759f4f8c1ae7: ``gateway.config``
  holds ``create: true`` and ``proxy_config: {}``; ``templates/gateway/configmap.yaml``
  @101bba02411e592a91198bd24c9929806bfd0610 renders ``.Values.gateway.config.proxy_config | toYaml`` into
  ConfigMap ``<gateway fullname>-config``, which the backend mounts as well:
  ``templates/backend/deployment.yaml`` @03f6ace1f102914308f2655ce91f208cae5c4c4e).

Helm coalesces a values file into the chart's defaults map by map, lists replaced whole, so the
whole merged config goes into the fragment (its model_list replaces the chart's example list). The
fragment is plain data with sorted keys, as Helm's ``toYaml`` puts it into the ConfigMap: comments
in a chart-rendered ConfigMap do not exist, and the ``configmap`` format keeps the operator's.

Next to it, ``secret-keys.yaml``: which Secret and key each provider key must be in for the pods
to load it -- names only, the values stay in the vault. ``leaked_values`` is the last gate: a
rendered text holding any secret value the run knows is never written.
"""

from __future__ import annotations

import json

from .document import HAS_PYYAML, read_back

if HAS_PYYAML:  # kubernetes needs PyYAML, so it is there wherever the modules can run
    import yaml as pyyaml

FORMATS = ("configmap", "helm-old", "helm-new")
CONFIG_FILES = {
    "configmap": "config.yaml",
    "helm-old": "litellm-helm-values.yaml",
    "helm-new": "litellm-values.yaml",
}
KEYS_FILE = "secret-keys.yaml"
VALUES_PATHS = {"helm-old": ("proxy_config",), "helm-new": ("gateway", "config", "proxy_config")}
ENV_SECRETS_VALUE = {"helm-old": "environmentSecrets", "helm-new": "gateway.envSecrets"}
MIN_SECRET_LENGTH = 4


class RenderError(Exception):
    """The merged config cannot be rendered into a file for a repository; nothing was written."""


def values_text(path, config_text):
    """The config ``config_text`` as the value of the nested key ``path``, as plain sorted YAML.

    Helm renders the ConfigMap from the values with ``toYaml`` (keys sorted, no comments), so after a
    sync the live config is that text: rendering the data the same way makes render, commit, sync,
    render a fixed point (no change the second time) instead of a cosmetic diff on every cycle.
    """
    if not HAS_PYYAML:
        raise RenderError("the chart formats need PyYAML (pip install PyYAML) on the host the module runs on")
    value = read_back(config_text)
    if not isinstance(value, dict):
        raise RenderError(
            "the merged config.yaml does not read back as a mapping; render it with litellm_render_format: configmap"
        )
    for key in reversed(path):
        value = {key: value}
    return pyyaml.safe_dump(value, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1 << 16)


def config_file(fmt, config_text, source):
    """``(file name, text)`` of the merged config in format ``fmt``; ``source`` names the ConfigMap."""
    if fmt not in FORMATS:
        raise RenderError("litellm_render_format must be one of %s, not %r" % (", ".join(FORMATS), fmt))
    if fmt == "configmap":
        return CONFIG_FILES[fmt], config_text
    header = (
        "# The merged LiteLLM config for the %s chart, rendered by homelab.litellm (litellm_apply_mode: render)\n"
        "# from %s. Commit it as (or merge it into) the values file your GitOps application uses.\n"
        % ("litellm-helm (retired)" if fmt == "helm-old" else "helm/litellm", source)
    )
    return CONFIG_FILES[fmt], header + values_text(VALUES_PATHS[fmt], config_text)


def keys_file(fmt, namespace, deployment, key_targets, master_key):
    """The text of ``secret-keys.yaml``: for each Secret, the keys the pods must load (names only).

    ``key_targets``: {variable: {secret, key}}; ``master_key``: {secret, key} or None.
    """
    by_secret = {}
    for name, where in sorted(key_targets.items()):
        by_secret.setdefault(where["secret"], []).append((where["key"], name))
    lines = [
        "# The Secret keys LiteLLM's pods must load, rendered by homelab.litellm (litellm_apply_mode: render).",
        "# Names only: the values are in your vault. Put them into these Secrets with your secret tooling",
        "# (SOPS, Sealed Secrets, External Secrets...), sync, then run litellm_apply_mode: verify.",
        "namespace: %s" % json.dumps(namespace),
        "deployment: %s" % json.dumps(deployment),
        "secrets:",
    ]
    if not by_secret:
        lines[-1] = "secrets: []"
    for secret in sorted(by_secret):
        lines.append("  - name: %s" % json.dumps(secret))
        lines.append("    keys:")
        for key, variable in by_secret[secret]:
            lines.append("      - {key: %s, env: %s}" % (json.dumps(key), json.dumps(variable)))
    if master_key:
        lines.append(
            "master_key: {secret: %s, key: %s}" % (json.dumps(master_key["secret"]), json.dumps(master_key["key"]))
        )
    if fmt in ENV_SECRETS_VALUE and by_secret:
        lines.append(
            "# The chart loads them with envFrom when its values say %s: %s"
            % (ENV_SECRETS_VALUE[fmt], json.dumps(sorted(by_secret)))
        )
    return "\n".join(lines) + "\n"


def leaked_values(texts, secrets):
    """The number of secret values (``secrets``, each at least MIN_SECRET_LENGTH long) found in ``texts``."""
    found = 0
    for value in {str(value) for value in secrets if value and len(str(value)) >= MIN_SECRET_LENGTH}:
        if any(value in text for text in texts):
            found += 1
    return found


def render_files(fmt, config_text, target, secrets):
    """``{file name: text}`` for the repository; RenderError when a text would hold a secret value.

    ``target`` is the plan's target (namespace, deployment, configmap, config_key, key_targets,
    master_key, master_key_var).
    """
    if target.get("master_key_var") is None:
        raise RenderError(
            "general_settings.master_key is written literally in config.yaml: rendering it would put LiteLLM's "
            "master key into your repository; move it to a Secret (master_key: os.environ/LITELLM_MASTER_KEY)"
        )
    source = "ConfigMap %s/%s key %s" % (target["namespace"], target["configmap"], target["config_key"])
    name, text = config_file(fmt, config_text, source)
    files = {
        name: text,
        KEYS_FILE: keys_file(
            fmt, target["namespace"], target["deployment"], target["key_targets"], target["master_key"]
        ),
    }
    leaks = leaked_values(files.values(), secrets)
    if leaks:
        raise RenderError(
            "the rendered files would hold %d secret value%s (a key written literally in config.yaml?): "
            "write every credential as os.environ/NAME and keep the value in a Secret"
            % (leaks, "" if leaks == 1 else "s")
        )
    return files
