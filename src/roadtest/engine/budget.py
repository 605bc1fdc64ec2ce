"""--max-cost: what a call may cost before it is sent, and what it cost once answered."""

from __future__ import annotations

from typing import Any

from roadtest.plan.tokens import prompt_text, token_count, tokens_bound, tokens_ceiling, tokens_estimate
from roadtest.plan.trial import Trial
from roadtest.spec import ModelSpec

class Budget:
    """--max-cost: refuses a trial whose estimated cost would take the run's spending past the limit.

    The limit is for the whole run: a resumed run starts from what its archive already spent.

    The estimate is meant to be an upper bound: prompt tokens from a generous characters-per-token
    rule plus a per-message allowance for chat templates, scaled up by the worst under-estimate seen
    so far for the model; the answer at its max_tokens.
    """

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.spent = 0.0
        self.reserved = 0.0
        self.scale: dict[str, float] = {}

    @staticmethod
    def prompt_bound(trial: Trial) -> int:
        return tokens_bound(trial)

    def estimate(self, trial: Trial, spec: ModelSpec) -> float:
        if spec.price is None:
            return 0.0
        if spec.id in self.scale:
            tokens_in = self.prompt_bound(trial) * self.scale[spec.id]
        else:   # nothing measured yet: a byte-level tokenizer never makes more tokens than UTF-8 bytes
            tokens_in = tokens_ceiling(trial)
        return spec.price.cost(tokens_in, trial.body.get("max_tokens", 0))

    def reserve(self, cost: float) -> bool:
        if self.spent + self.reserved + cost > self.limit:
            return False
        self.reserved += cost
        return True

    def settle(self, reserved: float, trial: Trial, record: dict[str, Any], spec: ModelSpec) -> None:
        self.reserved -= reserved
        prompt_tokens = usage_tokens(record, "prompt_tokens")
        if prompt_tokens:
            ratio = prompt_tokens / self.prompt_bound(trial)
            self.scale[spec.id] = max(self.scale.get(spec.id, 1.0), ratio)
        self.spent += self.billed(record, spec)

    @staticmethod
    def billed(record: dict[str, Any], spec: ModelSpec | None) -> float:
        """What one archived call cost (nothing when unpriced or answered from the cache)."""
        if spec is None or spec.price is None or record.get("cache") is not None:
            return 0.0
        return spec.price.cost(usage_tokens(record, "prompt_tokens"), usage_tokens(record, "completion_tokens"))


def usage_tokens(record: dict[str, Any], key: str) -> int:
    """A token count from an archived call's `usage`, as the server sent it: 0 unless it is a whole,
    non-negative number (a server may send null, a string, a float or no usage object at all; none of
    those may stop a run or a resume)."""
    usage = record.get("usage")
    return token_count(usage.get(key) if isinstance(usage, dict) else None) or 0


def estimated_tokens_in(trial: Trial) -> int:
    """A rough count of the tokens a trial sends, for the tokens-per-minute limit."""
    return tokens_estimate(prompt_text(trial))
