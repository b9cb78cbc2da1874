"""Dated snapshots of what each fake provider serves, kept as data apart from the server code.

Everything here was read from public sources on the date in ``SNAPSHOT_DATE``; PROVIDERS.md
lists each source beside the fact it backs. Values no public source gave are marked
``# not verified`` and PROVIDERS.md says so too: a fake must never be kinder than the real
API, so when sources disagreed the stricter reading was taken.

Per provider:

``MODELS``
    Models a *free-tier* account (a new one, for Gemini) can call today, with the fields the
    provider's model list carries, the published free-tier limits (``limits``, documentation
    only: the fake enforces limits only through the ``rate_limit`` knob) and ``reasoning``:
    how many tokens the fake model "thinks" before it answers (0 for a plain model).
``RETIRED``
    Model names the provider no longer serves to such an account, and how it refuses them
    (``refusal`` selects the provider's error shape in providers/errors.py).
``KEY_FORMAT``
    The shape of keys the provider issues today; any other string is rejected as a bad key.
"""

from __future__ import annotations

import re

SNAPSHOT_DATE = "2026-12-01"

# --- Groq ----------------------------------------------------------------------------------

# GET /openai/v1/models entries carry these fields beyond OpenAI's id/object/created/owned_by
# (shape as posted from Groq's API in anomalyco/models.dev#1276, 2026-03-26). The owned_by
# values of these models were not seen in any posted list (not verified).
GROQ_MODELS = {
    "openai/gpt-oss-120b": {
        "owned_by": "OpenAI",
        "created": 1754408224,  # not verified
        "context_window": 131072,
        "max_completion_tokens": 65536,
        "limits": {"rpm": 30, "rpd": 1000, "tpm": 8000, "tpd": 200000},
        "reasoning": 48,
    },
    "openai/gpt-oss-20b": {
        "owned_by": "OpenAI",
        "created": 1754407957,  # not verified
        "context_window": 131072,
        "max_completion_tokens": 65536,
        "limits": {"rpm": 30, "rpd": 1000},
        "reasoning": 48,
    },
    "qwen/qwen3.8-27b": {
        "owned_by": "Alibaba Cloud",  # not verified
        "created": 1787961600,  # not verified
        "context_window": 131042,
        "max_completion_tokens": 16384,
        "limits": {"rpm": 30, "rpd": 1000, "tpm": 8000, "tpd": 200000},
        "reasoning": 0,
    },
    "groq/compound": {
        "owned_by": "Groq",
        "created": 1756949530,  # not verified
        "context_window": 131072,
        "max_completion_tokens": 8192,
        "limits": {"rpm": 30, "rpd": 250, "tpm": 70000},
        "reasoning": 0,
    },
    "groq/compound-mini": {
        "owned_by": "Groq",
        "created": 1756949707,  # not verified
        "context_window": 131072,
        "max_completion_tokens": 8192,
        "limits": {"rpm": 30, "rpd": 250},
        "reasoning": 0,
    },
}

# refusal: "decommissioned" -> 400 model_decommissioned; "not_found" -> 404 model_not_found
# (what Groq answered for llama-3.3-70b-versatile after its 2026-08-16 shutdown on the free
# and developer tiers: enterprise access may remain, so it reads as "no access").
GROQ_RETIRED = {
    "mixtral-8x7b-32768": {"date": "2025-03-20", "refusal": "decommissioned", "replacement": "openai/gpt-oss-120b"},
    "llama3-70b-8192": {"date": "2025-08-30", "refusal": "decommissioned", "replacement": "openai/gpt-oss-120b"},
    "llama3-8b-8192": {"date": "2025-08-30", "refusal": "decommissioned", "replacement": "openai/gpt-oss-20b"},
    "qwen-qwq-32b": {"date": "2025-07-14", "refusal": "decommissioned", "replacement": "qwen/qwen3.8-27b"},
    "deepseek-r1-distill-llama-70b": {
        "date": "2025-10-02",
        "refusal": "decommissioned",
        "replacement": "openai/gpt-oss-120b",
    },
    "gemma2-9b-it": {"date": "2025-10-08", "refusal": "decommissioned", "replacement": "openai/gpt-oss-20b"},
    "meta-llama/llama-4-maverick-17b-128e-instruct": {
        "date": "2026-03-09",
        "refusal": "decommissioned",
        "replacement": "openai/gpt-oss-120b",
    },
    "moonshotai/kimi-k2-instruct-0905": {
        "date": "2026-04-15",
        "refusal": "decommissioned",
        "replacement": "openai/gpt-oss-120b",
    },
    "qwen/qwen3-32b": {"date": "2026-07-17", "refusal": "decommissioned", "replacement": "openai/gpt-oss-120b"},
    # Same shutdown date as qwen3-32b; its answer is assumed to be the same (not verified).
    "meta-llama/llama-4-scout-17b-16e-instruct": {
        "date": "2026-07-17",
        "refusal": "decommissioned",
        "replacement": "openai/gpt-oss-120b",
    },
    "llama-3.3-70b-versatile": {"date": "2026-08-16", "refusal": "not_found", "replacement": "openai/gpt-oss-120b"},
    "llama-3.1-8b-instant": {"date": "2026-08-16", "refusal": "not_found", "replacement": "openai/gpt-oss-20b"},
}

# gsk_ and 52 letters/digits (trufflesecurity/trufflehog pkg/detectors/groq, mongodb/kingfisher
# data/rules/groq.yml).
GROQ_KEY_FORMAT = re.compile(r"gsk_[A-Za-z0-9]{52}")

# --- Gemini (Google AI Studio) -------------------------------------------------------------

# GET /v1beta/models entries, shaped like the gemini-3.8-flash entry posted from the live list
# in iBUHub/AIStudioToAPI#257 (2026-09-03). Only that entry's values were seen; the other
# models' version/description/topK are written the same way (not verified).
_GEMINI_FLASH_METHODS = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]


def _gemini(
    display: str,
    version: str,
    rpm: int | None,
    rpd: int | None,
    reasoning: int,
    output_limit: int = 65536,
    input_limit: int = 1048576,
    thinking: bool = True,
    methods: list[str] | None = None,
) -> dict:
    model = {
        "version": version,
        "displayName": display,
        "description": display,
        "inputTokenLimit": input_limit,
        "outputTokenLimit": output_limit,
        "supportedGenerationMethods": list(methods or _GEMINI_FLASH_METHODS),
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "limits": {name: value for name, value in (("rpm", rpm), ("rpd", rpd)) if value},
        "reasoning": reasoning,
    }
    if thinking:
        model["thinking"] = True
    return model


GEMINI_MODELS = {
    "gemini-3.8-flash": _gemini("Gemini 3.8 Flash", "3.0", None, 20, 64),
    "gemini-3.7-flash": _gemini("Gemini 3.7 Flash", "3.0", None, 20, 64),
    "gemini-3.6-flash": _gemini("Gemini 3.6 Flash", "3.0", None, 20, 64),
    "gemini-3.5-flash": _gemini("Gemini 3.5 Flash", "3.0", None, 20, 64),
    "gemini-3.5-flash-lite": _gemini("Gemini 3.5 Flash-Lite", "3.0", 15, 500, 16),
    "gemini-3.1-flash-lite": _gemini("Gemini 3.1 Flash-Lite", "3.0", None, 500, 16),
    # The alias resolved to gemini-3.7-flash on 2026-08-22 (live capture in a public test file).
    "gemini-flash-latest": _gemini("Gemini Flash Latest", "3.0", None, 20, 64),
    # Gemma: limits unpublished; version not verified.
    "gemma-4-31b-it": _gemini(
        "Gemma 4 31B",
        "001",
        None,
        None,
        0,
        output_limit=32768,
        input_limit=262144,
        thinking=False,
        methods=["generateContent", "countTokens"],
    ),
    "gemma-4-26b-a4b-it": _gemini(
        "Gemma 4 26B A4B",
        "001",
        None,
        None,
        0,
        output_limit=32768,
        input_limit=262144,
        thinking=False,
        methods=["generateContent", "countTokens"],
    ),
}
# What modelVersion a response names for an alias.
GEMINI_ALIASES = {"gemini-flash-latest": "gemini-3.7-flash"}

# refusal: "not_found" -> 404 "models/X is not found for API version v1beta, or is not
# supported for generateContent..."; "new_users" -> 404 "This model models/X is no longer
# available to new users..." (what a project that never used the model gets).
GEMINI_RETIRED = {
    "gemini-1.5-flash": {"date": "2025-09-24", "refusal": "not_found", "replacement": "gemini-3.5-flash"},
    "gemini-1.5-pro": {"date": "2025-09-24", "refusal": "not_found", "replacement": "gemini-3.8-flash"},
    "gemini-pro": {"date": "2025", "refusal": "not_found", "replacement": "gemini-3.5-flash"},
    "gemini-2.0-flash": {"date": "2026-06-01", "refusal": "not_found", "replacement": "gemini-3.1-flash-lite"},
    "gemini-2.0-flash-lite": {"date": "2026-06-01", "refusal": "not_found", "replacement": "gemini-3.1-flash-lite"},
    "gemini-2.5-flash": {"date": "2026-12-01", "refusal": "new_users", "replacement": "gemini-3.5-flash-lite"},
    "gemini-2.5-pro": {"date": "2026-12-01", "refusal": "new_users", "replacement": "gemini-3.8-flash"},
    "gemini-2.5-flash-lite": {"date": "2026", "refusal": "new_users", "replacement": "gemini-3.1-flash-lite"},
}

# AI Studio issues only "Auth keys" since 2026: "AQ." and 50 URL-safe characters, 53 in all
# (NikolaiRadke/AI.duino#24, d4rkmen/M5Gemini#15, JeffOtano/roni#417). Legacy "Standard"
# keys (AIza + 35, google/osv-scalibr veles/secrets/gcpapikey) are rejected since the
# September 2026 cutoff with 400 API_KEY_INVALID (NousResearch/hermes-agent#114233).
GEMINI_KEY_FORMAT = re.compile(r"AQ\.[A-Za-z0-9_-]{50}")
GEMINI_LEGACY_KEY_FORMAT = re.compile(r"AIza[A-Za-z0-9_-]{35}")

# --- Mistral -------------------------------------------------------------------------------

# GET /v1/models entries, shaped like the mistral-small-2603 entry posted in
# tontinton/maki#397 (2026-06-28).
_MISTRAL_CAPABILITY_NAMES = (
    "completion_chat",
    "function_calling",
    "reasoning",
    "completion_fim",
    "fine_tuning",
    "vision",
    "ocr",
    "classification",
    "moderation",
    "audio",
    "audio_transcription",
    "audio_transcription_realtime",
    "audio_speech",
)


def _mistral(
    name: str, description: str, context: int, aliases: list[str], temperature: float, **capabilities: bool
) -> dict:
    caps = dict.fromkeys(_MISTRAL_CAPABILITY_NAMES, False)
    caps.update(completion_chat=True, function_calling=True)
    caps.update(capabilities)
    return {
        "created": 1782677754,  # not verified (the one value seen, for mistral-small-2603)
        "capabilities": caps,
        "name": name,
        "description": description,
        "max_context_length": context,
        "aliases": aliases,
        "deprecation": None,
        "default_model_temperature": temperature,
        "type": "base",
        # Free mode: a global ~1 request/second per key and per-pool token budgets; Mistral no
        # longer publishes numbers (mnfst/awesome-free-llm-apis README, read 2026-12-01).
        "limits": {"rps": 1},
        "reasoning": 0,
    }


_SMALL = _mistral(
    "mistral-small-2603", "Mistral Small 4", 262144, ["mistral-small-latest"], 0.3, reasoning=True, vision=True
)
_MEDIUM = _mistral(
    "mistral-medium-3-5", "Mistral Medium 3.5", 262144, ["mistral-medium-latest"], 0.3, vision=True
)  # temperature not verified
_CODESTRAL = _mistral(
    "codestral-latest", "Codestral", 262144, [], 0.3, completion_fim=True
)  # id/values not verified beyond the alias
MISTRAL_MODELS = {
    # The list carries every id and alias as its own entry (simonw/llm-mistral#23).
    "mistral-small-2603": _SMALL,
    "mistral-small-latest": _SMALL,
    "mistral-medium-3-5": _MEDIUM,
    "mistral-medium-latest": _MEDIUM,
    "codestral-latest": _CODESTRAL,
}

# refusal: "invalid_model" -> 400 "Invalid model: X" (what Mistral answers for a name it does
# not serve; whether a retired name gets the same answer was not found, so assumed);
# "tier" -> 403 tier_not_allowed.
MISTRAL_RETIRED = {
    "open-mistral-nemo": {"date": "2026-07-31", "refusal": "invalid_model", "replacement": "mistral-small-latest"},
    "magistral-small-latest": {"date": "2026-07-31", "refusal": "invalid_model", "replacement": "mistral-small-latest"},
    "magistral-medium-latest": {
        "date": "2026-07-31",
        "refusal": "invalid_model",
        "replacement": "mistral-medium-latest",
    },
    "devstral-latest": {"date": "2026-07-31", "refusal": "invalid_model", "replacement": "mistral-medium-latest"},
    "open-mixtral-8x7b": {"date": "2025", "refusal": "invalid_model", "replacement": "mistral-small-latest"},
    # Reported refused with 403 tier_not_allowed for a key whose plan lacks it
    # (jordymeow/ai-engine#11, 2026-08-30), while a free-tier list of 2026-08 still shows
    # Large 3: the stricter answer is kept.
    "mistral-large-latest": {"date": "2026-08-30", "refusal": "tier", "replacement": "mistral-medium-latest"},
}

# 32 mixed-case letters and digits, no prefix (trufflesecurity/trufflehog pkg/detectors/mistral).
MISTRAL_KEY_FORMAT = re.compile(r"[A-Za-z0-9]{32}")

# --- the story's self-hosted and paid chain (not free tier: served as the story has them) ---

OPENAI_MODELS = {
    "gpt-4o": {"owned_by": "system", "created": 1715367049},
    "gpt-4o-mini": {"owned_by": "system", "created": 1721172741},
}
VLLM_MODELS = {"Qwen/Qwen2.5-7B-Instruct": {"owned_by": "vllm", "created": 1700000000}}
OLLAMA_MODELS = {"qwen2.5:7b": {}}

# --- indexes used by providers/ --------------------------------------------------------------

MODELS = {
    "groq": GROQ_MODELS,
    "gemini": GEMINI_MODELS,
    "mistral": MISTRAL_MODELS,
    "openai": OPENAI_MODELS,
    "vllm": VLLM_MODELS,
    "ollama": OLLAMA_MODELS,
}
RETIRED = {"groq": GROQ_RETIRED, "gemini": GEMINI_RETIRED, "mistral": MISTRAL_RETIRED}
KEY_FORMAT = {"groq": GROQ_KEY_FORMAT, "gemini": GEMINI_KEY_FORMAT, "mistral": MISTRAL_KEY_FORMAT}


def key_has_provider_format(provider: str, key: str) -> bool:
    """True when ``provider`` could have issued ``key`` today (always, for other providers)."""
    pattern = KEY_FORMAT.get(provider)
    return pattern is None or pattern.fullmatch(key) is not None
