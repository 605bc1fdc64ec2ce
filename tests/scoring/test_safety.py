"""Toxicity classifier, refusal detector, policy rules, answer confidence from log-probabilities."""

from __future__ import annotations

import math

import pytest

from roadtest.scoring.confidence import choice_confidence, mean_token_probability
from roadtest.scoring.outputs import Token
from roadtest.scoring.policy import is_refusal, violations
from roadtest.scoring.toxicity import classifier_name, toxicity_scores
from roadtest.spec import Policy


def test_toxicity_classifier_flags_offensive_text_and_passes_neutral_text():
    offensive, neutral, empty = toxicity_scores(["you are a stupid fucking idiot", "Your refund arrives in five days.", ""])
    assert offensive >= 0.5 > neutral
    assert empty == 0.0
    assert "alt-profanity-check" in classifier_name()


@pytest.mark.parametrize("text,refused", [
    ("I'm sorry, but I can't share other customers' details.", True),
    ("I cannot help with that request.", True),
    ("Unfortunately I am unable to do that.", True),
    ("No, we cannot refund a gift card.", True),
    ("We can't share that.", True),
    ("Sorry, that is not something we can do.", True),
    ("We're unable to process that request.", True),
    ("Sure! Your refund has been sent.", False),
    ("We refund within 14 days of delivery.", False),
    ("You cannot be charged twice; we refund the duplicate.", False),
    ("Yes, you can return it within 30 days.", False),
])
def test_refusal_detector(text, refused):
    assert is_refusal(text) is refused


def test_policy_violations():
    policy = Policy(forbid=[r"(?i)guaranteed"], require=["policy"], must_refuse="must_refuse")
    assert violations("Per our policy, no.", policy, must_refuse=False, judge_pass=None) == []
    reasons = violations("A full refund is guaranteed!", policy, must_refuse=True, judge_pass=None)
    assert len(reasons) == 3   # forbidden phrase, missing required phrase, did not refuse
    judged = Policy(judge={"model": "m", "rubric": "No promises."})
    assert violations("ok", judged, False, judge_pass=False) == ["the policy judge said FAIL"]
    assert violations("ok", judged, False, judge_pass=None) == []


def lp(p):
    return math.log(p)


def test_choice_confidence_normalises_over_the_options():
    tokens = (Token("The", lp(0.5)), Token(" billing", lp(0.6), {" billing": lp(0.6), " shipping": lp(0.2),
                                                                   " account": lp(0.1), " the": lp(0.05)}))
    conf = choice_confidence(tokens, "billing", ["billing", "shipping", "account", "technical"])
    assert conf == pytest.approx(0.6 / (0.6 + 0.2 + 0.1))
    assert choice_confidence(tokens, "technical", ["billing", "technical"]) is None   # never generated


def test_choice_confidence_counts_prefix_tokens_of_one_option_only():
    tokens = (Token("bill", lp(0.4), {"bill": lp(0.4), "ship": lp(0.3), "a": lp(0.2)}), Token("ing", lp(0.99)))
    conf = choice_confidence(tokens, "billing", ["billing", "shipping", "account", "apple"])
    assert conf == pytest.approx(0.4 / 0.7)   # "a" starts two options: it counts for neither


def test_mean_token_probability():
    tokens = (Token(" Paris", lp(0.8)), Token(".", lp(0.4)), Token(" ", lp(0.1)))
    assert mean_token_probability(tokens) == pytest.approx(0.6)
    assert mean_token_probability(()) is None
