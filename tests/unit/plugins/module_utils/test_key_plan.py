# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_key_plan.py through ``_plan.plan_run``: a key nothing reads is
refused, and litellm_remove_keys removes only what this collection wrote."""

from __future__ import annotations

from ansible_collections.homelab.litellm.plugins.module_utils import _key_plan as key_plan
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _rollout as rt
from ansible_collections.homelab.litellm.tests.unit.fake_kube import STORY_SECRETS
from ansible_collections.homelab.litellm.tests.unit.plugins.module_utils.test_plan import (
    GPT_OSS,
    GROQ_KEY,
    NOTHING,
    plan,
    plan_errors,
    settled,
)

GROQ_PLAIN = {"model_name": "groq-plain", "litellm_params": {"model": "groq/openai/gpt-oss-20b"}}


def with_groq_written(value=GROQ_KEY):
    """The state after a verified run that added GPT_OSS and wrote GROQ_API_KEY."""
    secrets = dict(STORY_SECRETS, GROQ_API_KEY=value)
    earlier = settled(secrets=secrets)
    config = pl.plan_run("ml", earlier, pl.Request(models=[GPT_OSS])).config_text
    state = settled(config=config, secrets=secrets)
    state.record = state.record._replace(
        keys=dict(state.record.keys, GROQ_API_KEY=("litellm-secrets", "GROQ_API_KEY", GROQ_KEY)),
        models=["vllm-qwen", GPT_OSS["model_name"]],
    )
    return state


def test_a_key_no_model_reads_is_refused_naming_the_one_meant():
    errors = plan_errors(models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY, "GROK_API_KEY": GROQ_KEY})
    assert len(errors) == 1, errors
    assert errors[0].startswith("GROK_API_KEY: no model reads it; did you mean GROQ_API_KEY?")
    assert "litellm_extra_keys" in errors[0] and GROQ_KEY not in errors[0]


def test_a_key_nothing_is_close_to_is_refused_too():
    errors = plan_errors(models=[GPT_OSS], api_keys={"GROQ_API_KEY": GROQ_KEY, "SPARE_TOKEN": GROQ_KEY})
    assert errors[0].startswith("SPARE_TOKEN: no model reads it; no fallback or setting references it")


def test_an_allowed_extra_key_is_written():
    result = plan(
        models=[GPT_OSS],
        api_keys={"GROQ_API_KEY": GROQ_KEY, "OPENROUTER_API_KEY": GROQ_KEY},
        extra_keys=["OPENROUTER_API_KEY"],
    )
    assert result.secrets["litellm-secrets"]["added"] == ["GROQ_API_KEY", "OPENROUTER_API_KEY"]


def test_keys_litellm_reads_without_a_reference_are_not_refused():
    # The provider default of an entry without api_key, and a variable the proxy reads by itself.
    result = plan(models=[GROQ_PLAIN], api_keys={"GROQ_API_KEY": GROQ_KEY, "DATABASE_URL": "postgres://x"})
    assert result.work["secret"]


def test_read_variables_names_who_reads_each():
    doc = {
        "model_list": [GPT_OSS, GROQ_PLAIN, {"model_name": "g", "litellm_params": {"model": "gemini/x"}}],
        "router_settings": {"redis_password": "os.environ/REDIS_PW"},
    }
    read = key_plan.read_variables(doc, "LITELLM_MASTER_KEY")
    assert read["GROQ_API_KEY"] == [
        "model groq/openai/gpt-oss-120b",
        "model groq-plain (no api_key: LiteLLM's default)",
    ]
    assert set(read) == {"GROQ_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "REDIS_PW", "LITELLM_MASTER_KEY"}
    assert read["REDIS_PW"] == ["the config's settings"]


# -- litellm_remove_keys -------------------------------------------------------------------------------


def test_removing_a_key_this_collection_wrote_is_a_change_with_restart_verify_and_record():
    state = with_groq_written()
    result = plan(state, remove=[GPT_OSS["model_name"]], remove_keys=["GROQ_API_KEY"])
    assert result.secrets["litellm-secrets"]["removed"] == ["GROQ_API_KEY"]
    assert result.work == dict(NOTHING, config=True, secret=True, rollout=True, verify=True, record=True, any=True)
    assert "GROQ_API_KEY" not in result.managed_keys  # the record forgets it
    assert result.target["secrets"] == ["litellm-secrets"]  # the access check asks to update it


def test_a_removal_alone_restarts_though_the_digest_stays():
    state = with_groq_written()
    state.record = state.record._replace(models=["vllm-qwen"])
    removed_model = pl.plan_run("ml", state, pl.Request(remove=[GPT_OSS["model_name"]]))
    state.configmap["data"]["config.yaml"] = removed_model.config_text
    state.record = state.record._replace(config_text=removed_model.config_text)
    state.deployment["spec"]["template"]["metadata"]["annotations"][rt.DIGEST_ANNOTATION] = removed_model.rollout[
        "digest_after"
    ]
    result = plan(state, remove_keys=["GROQ_API_KEY"])
    assert result.work == dict(NOTHING, secret=True, rollout=True, verify=True, record=True, any=True)
    assert result.rollout["digest_after"] == result.rollout["digest_now"]
    assert result.rollout["reason"] == "a key was removed from the Secret"


def test_the_removal_diff_shows_names_only():
    state = with_groq_written()
    result = plan(state, remove=[GPT_OSS["model_name"]], remove_keys=["GROQ_API_KEY"])
    secret_diff = next(d for d in result.diffs if d["before_header"].startswith("Secret"))
    assert "GROQ_API_KEY: <previous value>" in secret_diff["before"]
    assert "GROQ_API_KEY" not in secret_diff["after"]
    assert GROQ_KEY not in str(result.diffs)


def test_removing_a_key_still_read_is_refused():
    errors = plan_errors(with_groq_written(), remove_keys=["GROQ_API_KEY"])
    assert errors == [
        "GROQ_API_KEY is still read by model groq/openai/gpt-oss-120b: removing it would leave LiteLLM calling "
        "without a key; remove those models first (litellm_remove_models, or leave the provider out), in this run "
        "or an earlier one"
    ]


def test_the_master_key_is_never_removed():
    errors = plan_errors(with_groq_written(), remove_keys=["LITELLM_MASTER_KEY"])
    assert errors[0].startswith("LITELLM_MASTER_KEY is LiteLLM's master key: homelab.litellm never removes it")


def test_a_key_this_collection_did_not_write_is_not_removed():
    errors = plan_errors(with_groq_written(), remove_keys=["DATABASE_URL"])
    assert errors[0].startswith("DATABASE_URL was not written by homelab.litellm (the record of the last verified")
    assert "ml/litellm-known-good" in errors[0]
    errors = plan_errors(settled(record=False), remove_keys=["OPENAI_API_KEY"])
    assert "was not written by homelab.litellm" in errors[0]


def test_a_key_changed_by_someone_else_is_not_removed():
    state = with_groq_written(value="gsk_" + "zz" * 24)
    errors = plan_errors(state, remove=[GPT_OSS["model_name"]], remove_keys=["GROQ_API_KEY"])
    assert "was changed after the last verified run, not by homelab.litellm" in errors[0]
    assert "zz" not in errors[0]


def test_a_key_to_write_and_to_remove_is_refused():
    errors = plan_errors(with_groq_written(), api_keys={"GROQ_API_KEY": GROQ_KEY}, remove_keys=["GROQ_API_KEY"])
    assert errors[0].startswith("GROQ_API_KEY is in litellm_api_keys and in litellm_remove_keys")


def test_a_key_already_gone_is_dropped_from_the_record_with_a_warning():
    state = with_groq_written()
    del state.objects[("Secret", "litellm-secrets")]["data"]["GROQ_API_KEY"]
    result = plan(state, remove=[GPT_OSS["model_name"]], remove_keys=["GROQ_API_KEY"])
    assert "GROQ_API_KEY is not in Secret litellm-secrets any more: nothing to remove" in result.warnings
    assert result.secrets.get("litellm-secrets", {}).get("removed", []) == []
    assert "GROQ_API_KEY" not in result.managed_keys


def test_a_removal_left_in_the_inventory_after_its_run_only_warns():
    state = with_groq_written()
    result = plan(state, remove=[GPT_OSS["model_name"]], remove_keys=["GROQ_API_KEY"])
    assert result.secrets["litellm-secrets"]["removed"] == ["GROQ_API_KEY"]
    # After that run: the key is gone from the Secret and from the record.
    del state.objects[("Secret", "litellm-secrets")]["data"]["GROQ_API_KEY"]
    state.record = state.record._replace(keys={k: v for k, v in state.record.keys.items() if k != "GROQ_API_KEY"})
    again = plan(state, remove=[GPT_OSS["model_name"]], remove_keys=["GROQ_API_KEY"])
    assert (
        "GROQ_API_KEY is in no Secret LiteLLM loads: nothing to remove (removed already?); drop it from "
        "litellm_remove_keys" in again.warnings
    )
    assert again.secrets == {}
