"""Fake upstream LLM providers for the sandbox (Groq, Gemini, Mistral, OpenAI, vLLM, Ollama).

One aiohttp application answers as each provider's real API would, under a path prefix per
provider that mirrors the real URL layout (``/groq/openai/v1``, ``/gemini/v1beta``,
``/mistral/v1``, ``/openai/v1``, ``/vllm/v1``, ``/ollama``), so a real LiteLLM proxy pointed at
it with :func:`api_base` sends exactly the requests it would send upstream.

The fakes are strict by default, like the real APIs: each serves only the dated snapshot of
its catalogue in :mod:`sandbox.provider_catalog`, refuses retired and unknown model names the
way its provider does, accepts only keys in its provider's current format, and its reasoning
models spend tokens thinking before they answer (so a small ``max_tokens`` gets an empty
answer). PROVIDERS.md cites the source of each behaviour.

Everything a test wants to control lives in files under ``state_dir`` and is re-read on every
request, so tests can change it while the server runs:

``valid-keys.json``
    ``{"groq": [...], "gemini": [...], "mistral": [...], "openai": [...]}``. Those four providers
    accept only these keys; vLLM and Ollama need none. A missing file means no key is valid.
``providers.json`` (optional)
    ``{"latency_ms": {...}, "fail": {...}, "rate_limit": {...}, "retired": [...],
    "strict": {...}}``. The first three map ``"provider"`` or ``"provider/model"`` (the more
    specific wins) to a delay in ms, an HTTP status to fail with, or
    ``{"rpm": N, "tpm": N, "retry_after": S}`` (a sliding one-minute window; ``retry_after``
    overrides the announced wait). ``retired`` lists more ``"provider/model"`` names to refuse
    as decommissioned. ``strict`` maps a provider to ``false`` (or to
    ``{"keys": false}`` / ``{"models": false}``) to stop checking key formats and/or the
    catalogue for that provider, for the rare test that needs it.

Every request is appended as one JSON line to ``provider-requests.jsonl``, with the key only as
a fingerprint and its full sha256, never in clear.

One module per concern:

* ``addresses`` -- the providers, their LiteLLM model prefixes and API roots (:func:`api_base`,
  :func:`litellm_model`);
* ``server`` -- the aiohttp application: routes, the request path every provider shares (knobs,
  gates in the order real APIs check, the request log) and each provider's handlers;
* ``completion`` -- what a fake model answers: the fixed reply, the reasoning it spends first,
  token counts;
* ``shapes`` -- model list entries and pages, chat bodies and stream chunks in each provider's
  shape; ``errors`` -- each provider's own error bodies;
* ``state_files`` -- the file names under ``state_dir`` and the key hashes of the request log.
"""

from .addresses import KEYED_PROVIDERS, LITELLM_PREFIX, PROVIDERS, api_base, litellm_model
from .completion import count_tokens, reasoning_text, reply_text
from .server import CATALOGUE, build_app
from .state_files import KNOBS_FILE, REQUEST_LOG_FILE, VALID_KEYS_FILE, key_fingerprint, key_sha256

__all__ = [
    "CATALOGUE",
    "KEYED_PROVIDERS",
    "KNOBS_FILE",
    "LITELLM_PREFIX",
    "PROVIDERS",
    "REQUEST_LOG_FILE",
    "VALID_KEYS_FILE",
    "api_base",
    "build_app",
    "count_tokens",
    "key_fingerprint",
    "key_sha256",
    "litellm_model",
    "reasoning_text",
    "reply_text",
]
