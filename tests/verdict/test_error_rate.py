"""Simulation: at the boundary (true value = threshold) a verdict is wrongly decided at most alpha of the time.

2,000 simulated runs each; allowance = 3 Monte-Carlo standard errors (about 0.015). The Wilson bound's
exact size oscillates with n around alpha (e.g. 0.0415 at t = 0.85, n = 200), which these runs check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from roadtest.scoring.metrics import Sample
from roadtest.spec import Criterion
from roadtest.spec.metrics import METRICS
from roadtest.verdict import SUPPORTED
from roadtest.verdict.decide import _provisional
from roadtest.verdict.estimates import evidence, paired_evidence

RUNS = 2000
ALPHA = 0.05
SLACK = 3 * math.sqrt(ALPHA * (1 - ALPHA) / RUNS)


@pytest.mark.parametrize("t,n", [(0.85, 200), (0.5, 60), (0.7, 100)])
def test_proportion_claim_at_the_boundary(t, n):
    rng = np.random.default_rng(123)
    crit = Criterion(scenario="s", metric="accuracy", at_least=t)
    wrong = 0
    for _ in range(RUNS):
        values = (rng.random(n) < t).astype(float)
        sample = Sample(METRICS.get("accuracy"), values, None, None)
        wrong += _provisional(crit, evidence(sample, t))[0] == SUPPORTED
    assert wrong / RUNS <= ALPHA + SLACK


def test_mean_claim_at_the_boundary():
    rng = np.random.default_rng(5)
    crit = Criterion(scenario="s", metric="tokens_out", at_most=10.0)
    info = METRICS.get("tokens_out")
    wrong = 0
    for _ in range(RUNS // 4):   # BCa resampling is slower; 500 runs
        values = rng.normal(10.0, 3.0, size=40)
        wrong += _provisional(crit, evidence(Sample(info, values, None, None), 10.0))[0] == SUPPORTED
    assert wrong / (RUNS // 4) <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / (RUNS // 4))


def test_paired_margin_at_the_boundary():
    rng = np.random.default_rng(9)
    crit = Criterion.model_validate({"scenario": "s", "metric": "accuracy", "versus": {"model": "b", "by_at_least": 0.0}})
    wrong = 0
    for _ in range(RUNS):
        a = (rng.random(150) < 0.6).astype(float)
        b = (rng.random(150) < 0.6).astype(float)
        ev, _ = paired_evidence(a, b, True, 0.0)
        wrong += _provisional(crit, ev)[0] == SUPPORTED
    assert wrong / RUNS <= ALPHA + SLACK


def _supported(crit, ev) -> bool:
    """The whole rule for one criterion: the bound decides and its p-value is below alpha (a family of one)."""
    verdict, p = _provisional(crit, ev)
    return verdict == SUPPORTED and p < ALPHA


@pytest.mark.parametrize("n", [5, 10, 20])
def test_small_sample_mean_claim_at_the_boundary(n):
    rng = np.random.default_rng(n)
    crit = Criterion(scenario="s", metric="tokens_out", at_most=10.0)
    info = METRICS.get("tokens_out")
    runs = 600
    wrong = sum(_supported(crit, evidence(Sample(info, rng.normal(10.0, 3.0, size=n), None, None), 10.0))
                for _ in range(runs))
    assert wrong / runs <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / runs)


@pytest.mark.parametrize("n,binary", [(8, True), (10, True), (3, False), (5, False), (12, False)])
def test_small_sample_paired_claim_at_the_boundary(n, binary):
    rng = np.random.default_rng(100 + n)
    crit = Criterion.model_validate({"scenario": "s", "metric": "accuracy", "versus": {"model": "b", "by_at_least": 0.0}})
    runs = 2000
    wrong = 0
    for _ in range(runs):
        if binary:
            a, b = (rng.random(n) < 0.5).astype(float), (rng.random(n) < 0.5).astype(float)
        else:
            a, b = rng.normal(0.5, 0.1, n), rng.normal(0.5, 0.1, n)
        wrong += _supported(crit, paired_evidence(a, b, True, 0.0)[0])
    assert wrong / runs <= ALPHA + SLACK


def test_a_perfect_split_on_two_items_decides_nothing():
    crit = Criterion.model_validate({"scenario": "s", "metric": "accuracy", "versus": {"model": "b", "by_at_least": 0.0}})
    ev, _ = paired_evidence(np.array([1.0, 1.0]), np.array([0.0, 0.0]), True, 0.0)
    assert ev.p_greater == pytest.approx(0.25) and not _supported(crit, ev)     # exact McNemar, one-sided
    constant = evidence(Sample(METRICS.get("brier"), np.array([0.1, 0.1]), None, None), 0.2)
    assert constant.p_less == pytest.approx(0.25)
