"""What a fake model answers: the fixed reply, the reasoning it spends first, token counts."""

from __future__ import annotations

import dataclasses
import math
import re

from .. import provider_catalog as catalog


def reply_text(provider: str, model: str) -> str:
    """The deterministic answer of every chat request, naming who answered."""
    return f"Hello from fake {provider} ({model})"


def reasoning_text(model: str, tokens: int) -> str:
    """The fake reasoning of ``model``: ``tokens`` tokens (4 characters each) of thinking."""
    if tokens <= 0:
        return ""
    sentence = f"The user greets the sandbox; {model} should answer with one short greeting. "
    return (sentence * (tokens * 4 // len(sentence) + 1))[: tokens * 4]


def count_tokens(text: str) -> int:
    """A rough token count (about 4 characters a token), enough for tpm limits to count."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _pieces(text: str) -> list[str]:
    """``text`` split into word-sized stream deltas that concatenate back to it."""
    return re.findall(r"\s*\S+", text)


@dataclasses.dataclass(frozen=True)
class _Completion:
    """What a fake model produces for one request: reasoning first, then the visible answer.

    Reasoning tokens count toward the request's output budget, as on the real reasoning
    models: with a budget smaller than the reasoning, nothing visible is produced.
    """

    reasoning: str
    text: str
    reasoning_tokens: int
    text_tokens: int
    truncated: bool

    @classmethod
    def plan(cls, provider: str, model: str, budget: int | None) -> _Completion:
        full = reply_text(provider, model)
        thinking = _reasoning_tokens(provider, model)
        wanted = thinking + count_tokens(full)
        if budget is None or budget >= wanted:
            return cls(reasoning_text(model, thinking), full, thinking, count_tokens(full), False)
        spent = min(budget, thinking)
        visible = full[: (budget - spent) * 4]
        return cls(reasoning_text(model, spent), visible, spent, count_tokens(visible), True)

    @property
    def completion_tokens(self) -> int:
        return self.reasoning_tokens + self.text_tokens


def _reasoning_tokens(provider: str, model: str) -> int:
    entry = catalog.MODELS.get(provider, {}).get(model) or {}
    return int(entry.get("reasoning", 0))
