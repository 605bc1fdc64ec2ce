"""Verdicts: criteria x metrics -> SUPPORTED / REFUTED / INCONCLUSIVE, and metric summaries.

`judge` is the one door every verdict goes through (a pure function of raw per-call values).
"""

from roadtest.verdict.data import RunData
from roadtest.verdict.decide import (
    CONVENTION, INCONCLUSIVE, NOT_APPLICABLE, NOT_DECIDED, NOT_RUN, REFUTED, SUPPORTED, combine, decide, not_decided,
)
from roadtest.verdict.estimates import Estimate, estimate
from roadtest.verdict.judge import Judgement, JudgeInputError, interval, judge
from roadtest.verdict.summary import summarise

__all__ = ["RunData", "CONVENTION", "Estimate", "INCONCLUSIVE", "Judgement", "JudgeInputError", "NOT_APPLICABLE",
           "NOT_DECIDED", "NOT_RUN", "REFUTED", "SUPPORTED", "combine", "decide", "estimate", "interval", "judge",
           "not_decided", "summarise"]
