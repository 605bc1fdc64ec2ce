"""The tokenizer-free token figures have one home (plan/tokens.py), and the budget and `plan` read them there."""

from __future__ import annotations

from roadtest.engine.budget import Budget, estimated_tokens_in
from roadtest.plan.tokens import tokens_bound, tokens_ceiling, tokens_estimate
from roadtest.plan.trial import CHAT, Trial


def _trial(text: str) -> Trial:
    return Trial(id="t", model="m", scenario="s", item="1", repeat=0, variant="base", endpoint=CHAT,
                 body={"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]},
                 reference={})


def test_the_estimate_the_bound_and_the_ceiling_are_ordered():
    for text in ("hi", "Where is my order A101? It has not come yet.", "ß" * 300, "x" * 10_000):
        t = _trial(text)
        assert estimated_tokens_in(t) == tokens_estimate("Be brief." + text)
        assert tokens_estimate("Be brief." + text) <= tokens_bound(t) <= tokens_ceiling(t)
        assert Budget.prompt_bound(t) == tokens_bound(t)


def test_the_bound_counts_the_chat_template_per_message():
    one, two = _trial("same words"), _trial("same words")
    two = Trial(**{**two.__dict__, "body": {"messages": two.body["messages"] + [{"role": "user", "content": ""}]}})
    assert tokens_bound(two) - tokens_bound(one) == 10
