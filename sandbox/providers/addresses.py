"""The providers the fakes stand for, and how a LiteLLM model entry reaches each on this server."""

from __future__ import annotations

PROVIDERS = ("groq", "gemini", "mistral", "openai", "vllm", "ollama")

# Providers whose fake checks the key against valid-keys.json.
KEYED_PROVIDERS = ("groq", "gemini", "mistral", "openai")

# LiteLLM model prefix per provider. hosted_vllm/ rather than openai/ for vLLM: with openai/ and
# no api_key LiteLLM falls back to OPENAI_API_KEY and sends that key to the vLLM host (measured).
LITELLM_PREFIX = {
    "groq": "groq/",
    "gemini": "gemini/",
    "mistral": "mistral/",
    "openai": "openai/",
    "vllm": "hosted_vllm/",
    "ollama": "ollama_chat/",
}

# Path of each provider's API root on this server: the real API root's path under a provider
# prefix. LiteLLM 1.108.7 appends /chat/completions (groq, openai, hosted_vllm),
# /models/MODEL:generateContent (gemini), /api/chat (ollama_chat) to api_base, and /v1 for
# mistral unless api_base already ends with it.
_API_ROOT = {
    "groq": "/groq/openai/v1",
    "gemini": "/gemini/v1beta",
    "mistral": "/mistral/v1",
    "openai": "/openai/v1",
    "vllm": "/vllm/v1",
    "ollama": "/ollama",
}


def api_base(base_url: str, provider: str) -> str:
    """The ``api_base`` for a LiteLLM model entry that reaches ``provider`` on this server.

    ``base_url`` is the server's root, e.g. ``http://127.0.0.1:8080``.
    """
    return base_url.rstrip("/") + _API_ROOT[provider]


def litellm_model(provider: str, model: str) -> str:
    """The ``litellm_params.model`` value for ``model`` served by ``provider``."""
    return LITELLM_PREFIX[provider] + model
