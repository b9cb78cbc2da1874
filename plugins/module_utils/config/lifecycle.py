# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: which provider models are gone, as dated, sourced data.

``MODEL_LIFECYCLE`` maps a LiteLLM model string (``litellm_params.model``, e.g.
``groq/mixtral-8x7b-32768``) to:

``provider``
    The company that serves it, as named in messages (``Groq``, ``Google``, ``Mistral``).
``status``
    ``shut_down``: the provider answers requests for it with an error (for a free-tier account, or
    for a new project where ``scope`` says so). ``deprecated``: still served, a shutdown is
    announced for ``date``. ``restricted``: refused on the free tier (``scope``).
``date``
    ISO date of the shutdown (or of the report, for ``restricted``); a year alone when only the
    year is known, never an invented day.
``scope``
    Who it is gone for, when not for everybody.
``replacement``
    The LiteLLM model string to use instead: the provider's own recommendation where it gave one.
``answer``
    How the provider refuses it (what the sandbox's strict fakes answer too).
``source`` / ``read``
    Where the fact was read, and on which day. Provider pages change: read them again before
    relying on an entry.

The provider check (``_provider_check``) asks the provider itself before anything is written and
names the replacement from here; ``lifecycle_warnings`` warns about these models in every plan.
``tests/sandbox/test_lifecycle.py`` compares the dates with the ``deprecation_date`` of LiteLLM's
bundled model map and lists where they disagree.
"""

from __future__ import annotations

from collections.abc import Mapping

from .schema import is_managed

GROQ_DEPRECATIONS = "https://console.groq.com/docs/deprecations"
GEMINI_DEPRECATIONS = "https://ai.google.dev/gemini-api/docs/deprecations"
MISTRAL_MODELS = "https://docs.mistral.ai/getting-started/models/"

MODEL_LIFECYCLE = {
    # --- Groq ---------------------------------------------------------------------------
    "groq/mixtral-8x7b-32768": {
        "provider": "Groq",
        "status": "shut_down",
        "date": "2025-03-20",
        "replacement": "groq/openai/gpt-oss-120b",
        "answer": "400 model_decommissioned",
        "source": GROQ_DEPRECATIONS + " (Groq's recommendation was llama-3.3-70b-versatile, itself shut down "
        "since; langchain-ai/langchain#30170)",
        "read": "2026-12-01",
    },
    "groq/llama-3.3-70b-versatile": {
        "provider": "Groq",
        "status": "shut_down",
        "date": "2026-08-16",
        "scope": "free and developer tiers",
        "replacement": "groq/openai/gpt-oss-120b",
        "answer": "404 model_not_found",
        "source": GROQ_DEPRECATIONS + " (Groq's notice; the 404 body: ITSpecialist111/ai_automation_suggester#187, "
        "2026-08-18)",
        "read": "2026-12-01",
    },
    "groq/llama-3.1-8b-instant": {
        "provider": "Groq",
        "status": "shut_down",
        "date": "2026-08-16",
        "scope": "free and developer tiers",
        "replacement": "groq/openai/gpt-oss-20b",
        "answer": "404 model_not_found",
        "source": GROQ_DEPRECATIONS + " (mnfst/awesome-free-llm-apis, checks of 2026-08-19..21)",
        "read": "2026-12-01",
    },
    "groq/qwen/qwen3-32b": {
        "provider": "Groq",
        "status": "shut_down",
        "date": "2026-07-17",
        "replacement": "groq/qwen/qwen3.8-27b",
        "answer": "400 model_decommissioned",
        "source": GROQ_DEPRECATIONS + " (promptfoo/promptfoo#9933)",
        "read": "2026-12-01",
    },
    "groq/meta-llama/llama-4-scout-17b-16e-instruct": {
        "provider": "Groq",
        "status": "shut_down",
        "date": "2026-07-17",
        "replacement": "groq/openai/gpt-oss-120b",
        "answer": "400 model_decommissioned",
        "source": GROQ_DEPRECATIONS + " (promptfoo/promptfoo#9933)",
        "read": "2026-12-01",
    },
    "groq/meta-llama/llama-4-maverick-17b-128e-instruct": {
        "provider": "Groq",
        "status": "shut_down",
        "date": "2026-03-09",
        "replacement": "groq/openai/gpt-oss-120b",
        "answer": "400 model_decommissioned",
        "source": GROQ_DEPRECATIONS + " (gsd-build/gsd-2#4273)",
        "read": "2026-12-01",
    },
    # --- Google AI Studio (Gemini API) -----------------------------------------------------
    "gemini/gemini-1.5-flash": {
        "provider": "Google",
        "status": "shut_down",
        "date": "2025-09-24",
        "replacement": "gemini/gemini-3.5-flash-lite",
        "answer": "404 NOT_FOUND (models/gemini-1.5-flash is not found for API version v1beta)",
        "source": GEMINI_DEPRECATIONS + " (the alias pointed to -002, shut down 2025-09-24; Google routes "
        "gemini-2.5-flash users to gemini-3.5-flash-lite)",
        "read": "2026-12-01",
    },
    "gemini/gemini-1.5-pro": {
        "provider": "Google",
        "status": "shut_down",
        "date": "2025-09-24",
        "replacement": "gemini/gemini-3.8-flash",
        "answer": "404 NOT_FOUND",
        "source": GEMINI_DEPRECATIONS + " (the alias pointed to -002, shut down 2025-09-24; Google routes "
        "gemini-2.5-pro users to gemini-3.8-flash)",
        "read": "2026-12-01",
    },
    "gemini/gemini-2.0-flash": {
        "provider": "Google",
        "status": "shut_down",
        "date": "2026-06-01",
        "replacement": "gemini/gemini-3.5-flash-lite",
        "answer": "404 NOT_FOUND",
        "source": GEMINI_DEPRECATIONS + " (Firebase AI Logic notice)",
        "read": "2026-12-01",
    },
    "gemini/gemini-2.0-flash-lite": {
        "provider": "Google",
        "status": "shut_down",
        "date": "2026-06-01",
        "replacement": "gemini/gemini-3.5-flash-lite",
        "answer": "404 NOT_FOUND",
        "source": GEMINI_DEPRECATIONS,
        "read": "2026-12-01",
    },
    "gemini/gemini-3.1-flash-lite": {
        "provider": "Google",
        "status": "deprecated",
        "date": "2027-05-07",
        "replacement": "gemini/gemini-3.5-flash-lite",
        "answer": "served until then",
        "source": GEMINI_DEPRECATIONS + " (released 2026-05-07, shutdown 2027-05-07; LiteLLM's model map agrees)",
        "read": "2026-12-01",
    },
    "gemini/gemini-2.5-flash": {
        "provider": "Google",
        "status": "shut_down",
        "date": "2026-12-01",
        "scope": "new projects since 2026-07; existing users are moved to gemini-3.5-flash-lite on the date",
        "replacement": "gemini/gemini-3.5-flash-lite",
        "answer": "404 NOT_FOUND (no longer available to new users)",
        "source": GEMINI_DEPRECATIONS + " (as read 2026-11-10; sohzm/cheating-daddy#476, 2026-08-15)",
        "read": "2026-12-01",
    },
    "gemini/gemini-2.5-pro": {
        "provider": "Google",
        "status": "shut_down",
        "date": "2026-12-01",
        "scope": "new projects since 2026-07; existing users are moved to gemini-3.8-flash on the date",
        "replacement": "gemini/gemini-3.8-flash",
        "answer": "404 NOT_FOUND (no longer available to new users)",
        "source": GEMINI_DEPRECATIONS + " (as read 2026-11-10; thedotmack/claude-mem#3278, 2026-07-16)",
        "read": "2026-12-01",
    },
    "gemini/gemini-2.5-flash-lite": {
        "provider": "Google",
        "status": "shut_down",
        "date": "2026",
        "scope": "accounts not already using it",
        "replacement": "gemini/gemini-3.5-flash-lite",
        "answer": "404 NOT_FOUND (no longer available to new users)",
        "source": GEMINI_DEPRECATIONS + " (goruck/home-generative-agent#575)",
        "read": "2026-12-01",
    },
    # --- Mistral ------------------------------------------------------------------------
    "mistral/open-mistral-nemo": {
        "provider": "Mistral",
        "status": "shut_down",
        "date": "2026-07-31",
        "replacement": "mistral/mistral-small-latest",
        "answer": "400 invalid_model",
        "source": MISTRAL_MODELS + " (spring-projects/spring-ai#6772)",
        "read": "2026-12-01",
    },
    "mistral/magistral-small-latest": {
        "provider": "Mistral",
        "status": "shut_down",
        "date": "2026-07-31",
        "replacement": "mistral/mistral-small-latest",
        "answer": "400 invalid_model",
        "source": MISTRAL_MODELS + " (spring-projects/spring-ai#6772)",
        "read": "2026-12-01",
    },
    "mistral/magistral-medium-latest": {
        "provider": "Mistral",
        "status": "shut_down",
        "date": "2026-07-31",
        "replacement": "mistral/mistral-medium-latest",
        "answer": "400 invalid_model",
        "source": MISTRAL_MODELS + " (spring-projects/spring-ai#6772)",
        "read": "2026-12-01",
    },
    "mistral/devstral-latest": {
        "provider": "Mistral",
        "status": "shut_down",
        "date": "2026-07-31",
        "replacement": "mistral/mistral-medium-latest",
        "answer": "400 invalid_model",
        "source": MISTRAL_MODELS + " (spring-projects/spring-ai#6772)",
        "read": "2026-12-01",
    },
    "mistral/mistral-large-latest": {
        "provider": "Mistral",
        "status": "restricted",
        "date": "2026-08-30",
        "scope": "the free tier",
        "replacement": "mistral/mistral-medium-latest",
        "answer": "403 tier_not_allowed",
        "source": MISTRAL_MODELS + " (jordymeow/ai-engine#11, 2026-08-30)",
        "read": "2026-12-01",
    },
}


def lifecycle_message(model_string, fact):
    """What to tell about a model the lifecycle data knows, with the replacement."""
    date = fact["date"]
    when = ("on " if len(date) == 10 else "in ") + date
    scope = " for %s" % fact["scope"] if fact.get("scope") else ""
    if fact["status"] == "shut_down":
        return "%s was shut down by %s %s%s (it answers %s); use %s instead" % (
            model_string,
            fact["provider"],
            when,
            scope,
            fact["answer"],
            fact["replacement"],
        )
    if fact["status"] == "restricted":
        return "%s refuses %s on %s (%s, reported %s); use %s instead" % (
            fact["provider"],
            model_string,
            fact.get("scope", "some plans"),
            fact["answer"],
            date,
            fact["replacement"],
        )
    return "%s is deprecated by %s and shuts down %s; use %s instead" % (
        model_string,
        fact["provider"],
        when,
        fact["replacement"],
    )


def lifecycle_warnings(models, lifecycle=None):
    """Warnings for requested models whose ``litellm_params.model`` is shut down, restricted or deprecated
    (by ``lifecycle``, ``MODEL_LIFECYCLE`` unless given)."""
    lifecycle = MODEL_LIFECYCLE if lifecycle is None else lifecycle
    warnings = []
    seen = set()
    for model in models:
        if not isinstance(model, Mapping) or not isinstance(model.get("litellm_params"), Mapping):
            continue
        model_string = model["litellm_params"].get("model")
        fact = lifecycle.get(model_string) if isinstance(model_string, str) else None
        if fact is None or model_string in seen:
            continue
        seen.add(model_string)
        name = model.get("model_name")
        prefix = "model %r: " % name if name != model_string else ""
        warnings.append(prefix + lifecycle_message(model_string, fact))
    return warnings


def left_over_warnings(entries, models, lifecycle=None):
    """Warnings for entries this collection added earlier that are no longer requested and whose model
    the lifecycle data (``lifecycle``, ``MODEL_LIFECYCLE`` unless given) knows (e.g. the story's models
    after an upgrade): they stay until removed."""
    lifecycle = MODEL_LIFECYCLE if lifecycle is None else lifecycle
    requested = {model.get("model_name") for model in models if isinstance(model, Mapping)}
    warnings = []
    for entry in entries:
        params = entry.get("litellm_params")
        model_string = params.get("model") if isinstance(params, Mapping) else None
        fact = lifecycle.get(model_string) if isinstance(model_string, str) else None
        name = entry.get("model_name")
        if fact is None or name in requested or not is_managed(entry):
            continue
        warnings.append(
            "%s, added by an earlier run and no longer listed, is still in the config: %s. Remove it with "
            "litellm_remove_models: [%s] (or litellm_purge: true)" % (name, lifecycle_message(model_string, fact), name)
        )
    return warnings


def left_behind_warnings(entries, models, lifecycle=None):
    """One warning naming the entries this collection added earlier that are no longer requested (a
    provider dropped from ``litellm_providers``, a model from a list), grouped by provider, and how to
    remove them; those ``left_over_warnings`` names already (retired models) are left out."""
    lifecycle = MODEL_LIFECYCLE if lifecycle is None else lifecycle
    requested = {model.get("model_name") for model in models if isinstance(model, Mapping)}
    by_provider = {}
    for entry in entries:
        params = entry.get("litellm_params")
        model_string = params.get("model") if isinstance(params, Mapping) else None
        name = entry.get("model_name")
        if name in requested or not is_managed(entry) or lifecycle.get(model_string) is not None:
            continue
        provider = model_string.split("/", 1)[0] if isinstance(model_string, str) and "/" in model_string else "?"
        names = by_provider.setdefault(provider, [])
        if name not in names:
            names.append(name)
    if not by_provider:
        return []
    names = [name for provider in sorted(by_provider) for name in by_provider[provider]]
    groups = "; ".join("%s: %s" % (provider, ", ".join(by_provider[provider])) for provider in sorted(by_provider))
    return [
        "Models added by an earlier run are no longer requested (a provider left litellm_providers, or a model "
        "left litellm_parallel_models) and stay in the config, served as before (%s). Remove them with "
        "litellm_remove_models: [%s] (or litellm_purge: true), or list them again" % (groups, ", ".join(names))
    ]
