"""Token counts: every tokenizer-free estimate and bound made before a call, and the one reader of the count a
server reports after it (`token_count`).

Three figures, each for its own use, all from a trial's prompt text:
- `tokens_estimate`: a rough count (4 characters a token) for the tokens-per-minute limiter and `plan`'s
  judge and simulated-customer rows;
- `tokens_bound`: a generous bound (3 characters a token plus a per-message allowance for chat templates) that
  `plan` prints as "at most" and the budget scales by the worst under-estimate it has seen;
- `tokens_ceiling`: the budget's bound before any call has been measured (a byte-level tokenizer never makes
  more tokens than UTF-8 bytes).
"""

from __future__ import annotations

from typing import Any

from roadtest.plan.trial import Trial

CHARS_PER_TOKEN = 4
"""The rough estimate's characters per token."""
BOUND_CHARS_PER_TOKEN = 3
"""The bound's characters per token."""
MESSAGE_OVERHEAD = 10
"""Tokens a chat template may add per message (and once more for the reply's header)."""


def prompt_text(trial: Trial) -> str:
    """All the text a trial sends: the completion prompt, or every chat message's content."""
    return trial.body.get("prompt") or "".join(str(m.get("content") or "") for m in trial.body.get("messages") or [])


def _overhead(trial: Trial) -> int:
    return MESSAGE_OVERHEAD * len(trial.body.get("messages") or []) + MESSAGE_OVERHEAD


def tokens_estimate(text: str) -> int:
    """A rough count of the tokens in `text` (at least 1)."""
    return max(1, len(text) // CHARS_PER_TOKEN)


def tokens_bound(trial: Trial) -> int:
    """A generous bound on the prompt tokens a trial sends."""
    return len(prompt_text(trial)) // BOUND_CHARS_PER_TOKEN + _overhead(trial)


def tokens_ceiling(trial: Trial) -> int:
    """The prompt tokens a trial can send at most with any byte-level tokenizer."""
    return len(prompt_text(trial).encode("utf-8")) + _overhead(trial)


def token_count(value: Any) -> int | None:
    """A token count as a server reported it (`usage.prompt_tokens`, say): None unless it is a whole,
    non-negative, finite number — a server may send null, a string, a float, NaN or a negative."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if value == value and 0 <= value < 1e15 and value == int(value) else None
