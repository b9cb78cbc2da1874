"""The collection's lifecycle data against LiteLLM 1.108.7's bundled model map.

Where the map has a ``deprecation_date`` for a model the collection names (a lifecycle entry, a
replacement it recommends, a preset), the two must agree; the test prints every model of ours
with what each source says, so a LiteLLM upgrade shows at once where they part. The map is no
source for "shut down": the story's retired models are simply absent from it (they are listed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MAP = REPO_ROOT / ".venv-litellm/lib/python3.11/site-packages/litellm/model_prices_and_context_window_backup.json"
sys.path.insert(0, str(REPO_ROOT / ".collections"))

from ansible_collections.homelab.litellm.plugins.module_utils.config.lifecycle import MODEL_LIFECYCLE  # noqa: E402


def named_models() -> set[str]:
    """Every LiteLLM model string the collection names: lifecycle entries, replacements, presets."""
    names = set(MODEL_LIFECYCLE) | {fact["replacement"] for fact in MODEL_LIFECYCLE.values()}
    defaults = yaml.safe_load((REPO_ROOT / "roles/litellm/defaults/main.yml").read_text())
    for preset_set in defaults["litellm_preset_sets"].values():
        for preset in preset_set.values():
            names |= {preset["prefix"] + model["id"] for model in preset["models"]}
    return names


def test_where_the_map_dates_a_model_we_name_the_dates_agree():
    model_map = json.loads(MAP.read_text())
    rows, disagreements = [], []
    for name in sorted(named_models()):
        ours = MODEL_LIFECYCLE.get(name)
        mapped = model_map.get(name)
        theirs = (mapped or {}).get("deprecation_date")
        rows.append(
            f"{name:48} ours: {ours['status'] + ' ' + ours['date'] if ours else '-':24} "
            f"LiteLLM map: {theirs or ('in map, no date' if mapped else 'absent')}"
        )
        if theirs and (not ours or ours["date"] != theirs):
            disagreements.append(f"{name}: LiteLLM's map says {theirs}, ours {ours['date'] if ours else 'nothing'}")
    print("\n".join(rows))
    assert disagreements == [], disagreements


def test_the_current_presets_are_in_the_map_and_not_retired():
    model_map = json.loads(MAP.read_text())
    defaults = yaml.safe_load((REPO_ROOT / "roles/litellm/defaults/main.yml").read_text())
    for preset in defaults["litellm_preset_sets"]["current"].values():
        for model in preset["models"]:
            name = preset["prefix"] + model["id"]
            assert MODEL_LIFECYCLE.get(name, {}).get("status") not in ("shut_down", "restricted"), name
            if name not in model_map:
                print(f"{name}: not in LiteLLM 1.108.7's map (LiteLLM still routes it; no price, no context size)")
