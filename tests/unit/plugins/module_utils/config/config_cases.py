# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the config tests share: the story's configs and requested model entries as the role asks for them."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures"
STORY = (FIXTURES / "story-config.yaml").read_text()
MIXED = (FIXTURES / "mixed-config.yaml").read_text()
GROQ = "groq/llama-3.3-70b-versatile"

STORY_MODELS = [
    ("groq/llama-3.3-70b-versatile", "GROQ_API_KEY"),
    ("groq/mixtral-8x7b-32768", "GROQ_API_KEY"),
    ("gemini/gemini-1.5-flash", "GEMINI_API_KEY"),
    ("gemini/gemini-1.5-pro", "GEMINI_API_KEY"),
    ("mistral/mistral-small-latest", "MISTRAL_API_KEY"),
]
STORY_NAMES = [name for name, _env in STORY_MODELS]


def model(name, env="GROQ_API_KEY", **params):
    """A requested entry whose model_name is its LiteLLM model string, as in the story."""
    return {"model_name": name, "litellm_params": dict({"model": name, "api_key": "os.environ/" + env}, **params)}


def story_models():
    return [model(name, env) for name, env in STORY_MODELS]


def assert_fragments(messages, fragments):
    text = "\n".join(messages)
    for fragment in fragments:
        assert fragment in text, "%r not in %r" % (fragment, text)
