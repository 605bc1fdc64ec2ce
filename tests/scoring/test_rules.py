"""Scoring rules on hand-made cases."""

from __future__ import annotations

import pytest

from roadtest.scoring.rules import normalise, score_output
from roadtest.spec import Scoring

CHOICES = ["billing", "shipping", "account", "technical"]


def rule(name: str, **kw) -> Scoring:
    return Scoring(rule=name, answer="answer", **kw)


@pytest.mark.parametrize("output,reference,expected", [
    ("Paris", "Paris", 1.0),
    ("  paris. ", "Paris", 1.0),           # case, whitespace and punctuation do not matter
    ("Paris, France", "Paris", 0.0),       # but extra words do
    ("", "Paris", 0.0),
    ("Rome", ["Paris", "Rome"], 1.0),      # a list of acceptable answers
])
def test_exact(output, reference, expected):
    assert score_output(output, reference, rule("exact")).value == expected


def test_exact_case_sensitive():
    assert score_output("paris", "Paris", rule("exact", case_sensitive=True)).value == 0.0


@pytest.mark.parametrize("output,reference,expected,extracted", [
    ("Billing", "billing", 1.0, "billing"),
    ("The queue is shipping.", "shipping", 1.0, "shipping"),
    ("shipping, not billing", "billing", 0.0, "shipping"),   # the first choice named is the answer
    ("accounts payable", "account", 0.0, None),             # whole words only
    ("I don't know", "billing", 0.0, None),
])
def test_choice(output, reference, expected, extracted):
    s = score_output(output, reference, rule("choice", choices=CHOICES))
    assert s.value == expected
    assert (s.extracted.lower() if s.extracted else None) == extracted
    assert s.format_ok == (extracted is not None)


def test_choice_prefers_the_longer_option_at_the_same_place():
    s = score_output("account closure please", "account closure",
                     rule("choice", choices=["account", "account closure"]))
    assert s.extracted == "account closure" and s.value == 1.0


@pytest.mark.parametrize("output,reference,tol,expected", [
    ("42", 42, 0, 1.0),
    ("The answer is 1,234.", "1234", 0, 1.0),
    ("-3", -3, 0, 1.0),
    ("3.14", 3.14159, 0.01, 1.0),
    ("3.2", 3.14159, 0.01, 0.0),
    ("7 apples and 8 pears", 8, 0, 0.0),   # the first number counts
    ("no idea", 3, 0, 0.0),
])
def test_numeric(output, reference, tol, expected):
    assert score_output(output, reference, rule("numeric", tolerance=tol)).value == expected


def test_numeric_without_a_number_is_a_format_violation():
    assert score_output("no idea", 3, rule("numeric")).format_ok is False


@pytest.mark.parametrize("output,reference,expected", [
    ("You have 30 days to return it.", r"\b(30|thirty)\b", 1.0),
    ("You have thirty days.", r"\b(30|thirty)\b", 1.0),
    ("You have 300 days.", r"\b(30|thirty)\b", 0.0),
    ("NO, sorry.", r"\bno\b", 1.0),
])
def test_regex(output, reference, expected):
    assert score_output(output, reference, rule("regex")).value == expected


@pytest.mark.parametrize("output,reference,expected", [
    ("Refunds take 5 business days.", "5 business days", 1.0),
    ("Refunds take five days.", "5 business days", 0.0),
    ("It is BLUE!", ["blue", "azure"], 1.0),
])
def test_contains(output, reference, expected):
    assert score_output(output, reference, rule("contains")).value == expected


def test_normalise():
    assert normalise("  Ｐaris!!  ") == "paris"   # NFKC folds the full-width letter


def test_unknown_rule_is_rejected_by_the_spec():
    with pytest.raises(ValueError):
        Scoring(rule="fuzzy", answer="a")
