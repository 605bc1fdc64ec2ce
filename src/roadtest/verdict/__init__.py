"""Verdicts: criteria x metrics -> SUPPORTED / REFUTED / INCONCLUSIVE, and metric summaries."""

from roadtest.verdict.data import RunData
from roadtest.verdict.decide import (
    CONVENTION, INCONCLUSIVE, NOT_APPLICABLE, NOT_RUN, REFUTED, SUPPORTED, combine, decide,
)
from roadtest.verdict.estimates import Estimate, estimate
from roadtest.verdict.summary import summarise

__all__ = ["RunData", "CONVENTION", "Estimate", "INCONCLUSIVE", "NOT_APPLICABLE", "NOT_RUN", "REFUTED", "SUPPORTED",
           "combine", "decide", "estimate", "summarise"]
