"""Answers in each provider's shape: model list entries and pages, chat bodies and stream chunks."""

from __future__ import annotations

import base64
import datetime
import time
import uuid
from collections.abc import Iterator
from typing import Any

from .. import provider_catalog as catalog
from .completion import _Completion, _pieces, _reasoning_tokens

# --- model lists -----------------------------------------------------------------------------


def _openai_list_entry(provider: str, model: str) -> dict[str, Any]:
    """One entry of ``GET .../models`` for an OpenAI-shaped provider."""
    info = catalog.MODELS[provider].get(model, {})
    entry: dict[str, Any] = {"id": model, "object": "model", "created": info.get("created", 1700000000)}
    if provider == "groq":
        entry.update(
            owned_by=info.get("owned_by", "Groq"),
            active=True,
            context_window=info.get("context_window"),
            public_apps=None,
            max_completion_tokens=info.get("max_completion_tokens"),
        )
    elif provider == "mistral":
        entry["owned_by"] = "mistralai"
        entry.update({name: value for name, value in info.items() if name not in ("created", "limits", "reasoning")})
    else:
        entry["owned_by"] = info.get("owned_by", "system")
    return entry


def _gemini_model_entry(model: str) -> dict[str, Any]:
    info = catalog.GEMINI_MODELS.get(model, {})
    entry: dict[str, Any] = {"name": f"models/{model}"}
    entry.update({name: value for name, value in info.items() if name not in ("limits", "reasoning")})
    return entry


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _page_offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "offset" and number.isdigit() else None


# --- response bodies -----------------------------------------------------------------------


def _openai_usage(provider: str, prompt_tokens: int, done: _Completion, reasoning_model: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": done.completion_tokens,
        "total_tokens": prompt_tokens + done.completion_tokens,
    }
    if reasoning_model:
        # groq-python 1.0.0 (2025-12-17): usage.completion_tokens_details.reasoning_tokens.
        usage["completion_tokens_details"] = {"reasoning_tokens": done.reasoning_tokens}
    if provider == "groq":
        # Groq reports its (famously short) timings alongside the counts.
        usage.update(queue_time=0.0002, prompt_time=0.001, completion_time=0.002, total_time=0.003)
    return usage


class _OpenAIShape:
    """Chat completion bodies and stream chunks of one OpenAI-compatible provider."""

    def __init__(self, provider: str, model: str, prompt_tokens: int, done: _Completion, show_reasoning: bool) -> None:
        self.provider = provider
        self.model = model
        self.done = done
        reasoning_model = _reasoning_tokens(provider, model) > 0
        self.show_reasoning = show_reasoning and reasoning_model
        self.usage = _openai_usage(provider, prompt_tokens, done, reasoning_model)
        self.finish = "length" if done.truncated else "stop"
        # Mistral ids are bare hex; the others use OpenAI's chatcmpl- prefix.
        hex_id = uuid.uuid4().hex
        self.id = hex_id if provider == "mistral" else f"chatcmpl-{hex_id}"
        self.request_id = f"req_{uuid.uuid4().hex[:26]}"
        self.created = int(time.time())

    def _envelope(self, obj: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
        }
        if self.provider in ("groq", "openai"):
            body["system_fingerprint"] = "fp_sandbox"
        return body

    def completion(self) -> dict[str, Any]:
        body = self._envelope("chat.completion")
        message: dict[str, Any] = {"role": "assistant", "content": self.done.text}
        if self.show_reasoning:
            # Groq's gpt-oss models return their reasoning in message.reasoning (groq-python
            # ChatCompletionMessage); content stays "" when the budget ran out first.
            message["reasoning"] = self.done.reasoning
        body["choices"] = [{"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish}]
        body["usage"] = self.usage
        if self.provider == "groq":
            # LiteLLM's Groq transformation reads service_tier without a default (and maps
            # Groq's "on_demand" to "auto" for its client).
            body["x_groq"] = {"id": self.request_id}
            body["service_tier"] = "on_demand"
        elif self.provider == "openai":
            body["service_tier"] = "default"
        return body

    def chunks(self, include_usage: bool) -> Iterator[dict[str, Any]]:
        """Stream chunks: role, reasoning, one per word, finish; then usage if asked for.

        Groq carries the usage in ``x_groq`` of the finishing chunk and Mistral in the
        finishing chunk itself, whatever ``stream_options`` says.
        """
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if self.show_reasoning:
            deltas += [{"reasoning": piece} for piece in _pieces(self.done.reasoning)]
        deltas += [{"content": piece} for piece in _pieces(self.done.text)]
        for number, delta in enumerate(deltas):
            chunk = self._chunk([{"index": 0, "delta": delta, "finish_reason": None}])
            if number == 0 and self.provider == "groq":
                chunk["x_groq"] = {"id": self.request_id}
            yield chunk
        final = self._chunk([{"index": 0, "delta": {}, "finish_reason": self.finish}])
        if self.provider == "groq":
            final["x_groq"] = {"id": self.request_id, "usage": self.usage}
        elif self.provider == "mistral":
            final["usage"] = self.usage
        yield final
        if include_usage and self.provider != "mistral":
            usage_chunk = self._chunk([])
            usage_chunk["usage"] = self.usage
            yield usage_chunk

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        chunk = self._envelope("chat.completion.chunk")
        chunk["choices"] = choices
        return chunk


def _gemini_chunks(model: str, prompt_tokens: int, done: _Completion, stream: bool) -> list[dict[str, Any]]:
    """``generateContent`` responses (one, or one per word when streaming).

    The last one finishes and counts. A thinking model reports ``thoughtsTokenCount``; when
    its budget ran out before any text, the candidate has ``content: {"role": "model"}`` and no
    parts, and ``candidatesTokenCount`` is absent (live captures of gemini-2.5-pro, 2026-04-18,
    and gemini-3.7-flash, 2026-08-22).
    """
    pieces = _pieces(done.text) if stream else ([done.text] if done.text else [])
    response_id = uuid.uuid4().hex[:22]
    version = catalog.GEMINI_ALIASES.get(model, model)
    out: list[dict[str, Any]] = []
    for number in range(max(1, len(pieces))):
        last = number >= len(pieces) - 1
        content: dict[str, Any] = {"role": "model"}
        if pieces:
            content = {"parts": [{"text": pieces[number]}], "role": "model"}
        candidate: dict[str, Any] = {"content": content, "index": 0}
        usage: dict[str, Any] = {"promptTokenCount": prompt_tokens}
        if last:
            candidate["finishReason"] = "MAX_TOKENS" if done.truncated else "STOP"
            if done.text_tokens:
                usage["candidatesTokenCount"] = done.text_tokens
            usage["totalTokenCount"] = prompt_tokens + done.completion_tokens
            usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt_tokens}]
            if done.reasoning_tokens:
                usage["thoughtsTokenCount"] = done.reasoning_tokens
        else:
            usage["totalTokenCount"] = prompt_tokens
        out.append(
            {"candidates": [candidate], "usageMetadata": usage, "modelVersion": version, "responseId": response_id}
        )
    return out


def _ollama_message(model: str, content: str) -> dict[str, Any]:
    created_at = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
    return {
        "model": model,
        "created_at": created_at,
        "message": {"role": "assistant", "content": content},
        "done": False,
    }


def _ollama_done(model: str, content: str, prompt_tokens: int, eval_tokens: int, truncated: bool) -> dict[str, Any]:
    body = _ollama_message(model, content)
    # Ollama reports durations in nanoseconds.
    body.update(
        done=True,
        done_reason="length" if truncated else "stop",
        total_duration=3_000_000,
        load_duration=1_000_000,
        prompt_eval_count=prompt_tokens,
        prompt_eval_duration=1_000_000,
        eval_count=eval_tokens,
        eval_duration=1_000_000,
    )
    return body
