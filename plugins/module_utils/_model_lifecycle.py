# -*- coding: utf-8 -*-
# Internal to homelab.litellm, not a public API: it may change in any release without notice.
#
# Copyright: (c) 2026, homelab.litellm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lifecycle facts about provider models, kept as data so they can be updated without code changes.

``MODEL_LIFECYCLE`` maps a LiteLLM model string (the value of ``litellm_params.model``, e.g.
``groq/mixtral-8x7b-32768``) to a dict with:

``provider``
    The company that serves the model, as named in warnings (``Groq``, ``Google``).
``status``
    ``shut_down``: the provider has turned the model off, requests fail (Groq answers
    ``model_decommissioned``/404, the Gemini API answers 404).
    ``deprecated``: still served, a shutdown is announced for ``date``.
``date``
    ISO date of the shutdown (past for ``shut_down``, announced for ``deprecated``). When only the
    year is known the value is the year alone (``"2025"``); never invent a day.
``replacement``
    A LiteLLM model string to suggest instead, chosen from the provider's own recommendation and
    present in LiteLLM 1.108.7's model map.
``source``
    Where the fact was read. Provider pages change: re-check them before relying on an entry.

Checked on 2026-11-26. The story asks for ``groq/mixtral-8x7b-32768`` and the Gemini 1.5 models as
choices: they stay selectable, the plan only warns.
"""

from __future__ import annotations

MODEL_LIFECYCLE = {
    "groq/mixtral-8x7b-32768": {
        "provider": "Groq",
        "status": "shut_down",
        "date": "2025-03-20",
        # Groq pointed users to llama-3.3-70b-versatile in March 2025, which Groq itself shut
        # down on 2026-08-16; its recommendation since then is openai/gpt-oss-120b.
        "replacement": "groq/openai/gpt-oss-120b",
        "source": "https://console.groq.com/docs/deprecations (langchain-ai/langchain#30170)",
    },
    "groq/llama-3.3-70b-versatile": {
        "provider": "Groq",
        "status": "shut_down",
        "date": "2026-08-16",
        "replacement": "groq/openai/gpt-oss-120b",
        "source": "https://console.groq.com/docs/deprecations (langchain-ai/langchain#38363)",
    },
    "gemini/gemini-1.5-flash": {
        "provider": "Google",
        "status": "shut_down",
        # The alias pointed to gemini-1.5-flash-002, shut down on 2025-09-24 (-001 on 2025-05-24).
        "date": "2025-09-24",
        "replacement": "gemini/gemini-3.5-flash",
        "source": "https://ai.google.dev/gemini-api/docs/deprecations (Google AI Studio notice to developers)",
    },
    "gemini/gemini-1.5-pro": {
        "provider": "Google",
        "status": "shut_down",
        # The alias pointed to gemini-1.5-pro-002, shut down on 2025-09-24 (-001 on 2025-05-24).
        "date": "2025-09-24",
        "replacement": "gemini/gemini-3.8-flash",
        "source": "https://ai.google.dev/gemini-api/docs/deprecations (Google AI Studio notice to developers)",
    },
    "gemini/gemini-2.0-flash": {
        "provider": "Google",
        "status": "shut_down",
        "date": "2026-06-01",
        "replacement": "gemini/gemini-3.5-flash",
        "source": "https://ai.google.dev/gemini-api/docs/deprecations",
    },
    "gemini/gemini-2.5-flash": {
        "provider": "Google",
        "status": "deprecated",
        "date": "2026-12-01",
        "replacement": "gemini/gemini-3.5-flash-lite",
        "source": "https://ai.google.dev/gemini-api/docs/deprecations (as read on 2026-11-10)",
    },
    "gemini/gemini-2.5-pro": {
        "provider": "Google",
        "status": "deprecated",
        "date": "2026-12-01",
        "replacement": "gemini/gemini-3.8-flash",
        "source": "https://ai.google.dev/gemini-api/docs/deprecations (as read on 2026-11-10)",
    },
}
