# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/render.py: the merged config as the files of a GitOps repository."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.homelab.litellm.plugins.module_utils.config import render as rd

STORY = (Path(__file__).parent.parent / "fixtures" / "story-config.yaml").read_text()
GROQ_KEY = "gsk_" + "R3nd" * 12
TARGET = {
    "namespace": "ml",
    "deployment": "litellm",
    "configmap": "litellm-config",
    "config_key": "config.yaml",
    "key_targets": {
        "GROQ_API_KEY": {"secret": "litellm-secrets", "key": "GROQ_API_KEY"},
        "OPENAI_API_KEY": {"secret": "litellm-secrets", "key": "OPENAI_API_KEY"},
        "MISTRAL_API_KEY": {"secret": "llm-keys", "key": "mistral"},
    },
    "master_key": {"secret": "litellm-masterkey", "key": "masterkey"},
    "master_key_var": "PROXY_MASTER_KEY",
}


@pytest.mark.parametrize(
    "fmt, name, path",
    [
        ("helm-old", "litellm-helm-values.yaml", ["proxy_config"]),
        ("helm-new", "litellm-values.yaml", ["gateway", "config", "proxy_config"]),
    ],
)
def test_a_values_fragment_holds_the_whole_config_at_the_charts_path(fmt, name, path):
    files = rd.render_files(fmt, STORY, TARGET, {GROQ_KEY})
    text = files[name]
    value = yaml.safe_load(text)
    for key in path:
        assert list(value) == [key]
        value = value[key]
    assert value == yaml.safe_load(STORY)
    assert text.startswith("# The merged LiteLLM config for the ")
    assert "Tier 1" not in text, "plain data, as Helm's toYaml renders it into the ConfigMap"


@pytest.mark.parametrize("fmt", ["helm-old", "helm-new"])
def test_render_commit_sync_render_is_a_fixed_point(fmt):
    """After the sync the live config is Helm's toYaml of the committed values: rendering it gives the same file."""
    first = rd.render_files(fmt, STORY, TARGET, set())
    committed = yaml.safe_load(first[rd.CONFIG_FILES[fmt]])
    for key in rd.VALUES_PATHS[fmt]:
        committed = committed[key]
    synced = yaml.safe_dump(committed, sort_keys=True, default_flow_style=False)
    assert rd.render_files(fmt, synced, TARGET, set()) == first


def test_the_configmap_format_is_the_config_text_itself():
    files = rd.render_files("configmap", STORY, TARGET, set())
    assert files["config.yaml"] == STORY
    assert sorted(files) == ["config.yaml", "secret-keys.yaml"]


def test_the_keys_file_names_each_secret_and_key_and_the_charts_envfrom_value():
    text = rd.render_files("helm-new", STORY, TARGET, {GROQ_KEY})["secret-keys.yaml"]
    data = yaml.safe_load(text)
    assert data["secrets"] == [
        {
            "name": "litellm-secrets",
            "keys": [
                {"key": "GROQ_API_KEY", "env": "GROQ_API_KEY"},
                {"key": "OPENAI_API_KEY", "env": "OPENAI_API_KEY"},
            ],
        },
        {"name": "llm-keys", "keys": [{"key": "mistral", "env": "MISTRAL_API_KEY"}]},
    ]
    assert data["master_key"] == {"secret": "litellm-masterkey", "key": "masterkey"}
    assert 'gateway.envSecrets: ["litellm-secrets", "llm-keys"]' in text
    assert "environmentSecrets" in rd.render_files("helm-old", STORY, TARGET, set())["secret-keys.yaml"]


def test_rendering_is_stable():
    assert rd.render_files("helm-old", STORY, TARGET, set()) == rd.render_files("helm-old", STORY, TARGET, set())


def test_a_text_holding_a_secret_value_is_never_rendered():
    leaking = STORY.replace("os.environ/OPENAI_API_KEY", GROQ_KEY)
    with pytest.raises(rd.RenderError) as caught:
        rd.render_files("configmap", leaking, TARGET, {GROQ_KEY, "short"[:3]})
    assert "would hold 1 secret value " in str(caught.value)
    assert GROQ_KEY not in str(caught.value)


def test_a_literal_master_key_is_refused():
    with pytest.raises(rd.RenderError, match="master_key is written literally"):
        rd.render_files("configmap", STORY, dict(TARGET, master_key_var=None), set())


def test_a_text_that_does_not_read_back_as_one_mapping_is_refused_and_says_so():
    with pytest.raises(rd.RenderError, match="litellm_render_format: configmap"):
        rd.values_text(["proxy_config"], "model_list: []\n---\nrouter_settings: {}\n")


def test_an_unknown_format_is_refused_naming_the_choices():
    with pytest.raises(rd.RenderError, match="configmap, helm-old, helm-new"):
        rd.config_file("kustomize", STORY, "x")
