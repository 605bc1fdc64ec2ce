"""Scoring rules: an output and a reference answer -> a score in [0, 1]."""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

from roadtest import patterns
from roadtest.registry import Registry
from roadtest.spec import Scoring


@dataclass(frozen=True)
class Score:
    """One scored output: the score, what was extracted, and whether the output had the expected form."""

    value: float | None
    """None only for a judged output whose judge gave no verdict (unscored, not wrong)."""
    extracted: str | None
    format_ok: bool = True


Rule = Callable[[str, Any, Scoring], Score]
RULES: Registry[Rule] = Registry("scoring rule")

_PUNCT = str.maketrans("", "", string.punctuation)


def normalise(text: str, case_sensitive: bool = False) -> str:
    """Unicode NFKC, punctuation removed, whitespace collapsed, case folded unless asked not to."""
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT)
    text = " ".join(text.split())
    return text if case_sensitive else text.casefold()


def _answers(reference: Any) -> list[str]:
    return [str(a) for a in reference] if isinstance(reference, list) else [str(reference)]


@RULES.register("exact")
def exact(output: str, reference: Any, rule: Scoring) -> Score:
    """Correct when the normalised output equals a normalised reference answer."""
    got = normalise(output, rule.case_sensitive)
    ok = any(got == normalise(a, rule.case_sensitive) for a in _answers(reference))
    return Score(float(ok), got, bool(got))


@RULES.register("contains")
def contains(output: str, reference: Any, rule: Scoring) -> Score:
    """Correct when the normalised output contains a normalised reference answer."""
    got = normalise(output, rule.case_sensitive)
    hit = next((a for a in _answers(reference) if normalise(a, rule.case_sensitive) in got), None)
    return Score(float(hit is not None), hit, bool(got))


@RULES.register("regex")
def regex(output: str, reference: Any, rule: Scoring) -> Score:
    """Correct when a reference pattern matches anywhere in the output (RE2: linear time, see roadtest.patterns)."""
    for pattern in _answers(reference):
        m = patterns.search(pattern, output, ignore_case=not rule.case_sensitive)
        if m:
            return Score(1.0, m.group(0))
    return Score(0.0, None, bool(output.strip()))


@RULES.register("choice")
def choice(output: str, reference: Any, rule: Scoring) -> Score:
    """The first allowed choice named in the output (as a whole word) is the answer."""
    flags = 0 if rule.case_sensitive else re.IGNORECASE
    best: tuple[int, int, str] | None = None
    for option in rule.choices or []:
        m = re.search(rf"(?<!\w){re.escape(option)}(?!\w)", output, flags)
        if m and (best is None or (m.start(), -len(option)) < (best[0], best[1])):
            best = (m.start(), -len(option), option)
    if best is None:
        return Score(0.0, None, format_ok=False)
    picked = best[2]
    fold = (lambda s: s) if rule.case_sensitive else str.casefold
    return Score(float(any(fold(picked) == fold(a) for a in _answers(reference))), picked)


_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")


@RULES.register("numeric")
def numeric(output: str, reference: Any, rule: Scoring) -> Score:
    """The first number in the output, compared with the reference within the tolerance."""
    m = _NUMBER.search(output)
    if m is None:
        return Score(0.0, None, format_ok=False)
    got = float(m.group(0).replace(",", ""))
    ok = any(abs(got - float(a.replace(",", ""))) <= rule.tolerance + 1e-12 for a in _answers(reference))
    return Score(float(ok), m.group(0))


def score_output(output: str, reference: Any, rule: Scoring) -> Score:
    return RULES.get(rule.rule)(output, reference, rule)
