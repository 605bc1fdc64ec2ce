"""Rank stability: probabilities, intervals, headline ranks and tied groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from roadtest import stats


def test_a_clear_winner_ranks_first_with_certainty():
    rng = np.random.default_rng(0)
    scores = np.vstack([rng.random(300) < 0.9, rng.random(300) < 0.5]).astype(float)
    r = stats.rank_probabilities(scores, names=("strong", "weak"), B=2000)
    assert r.rank_probs[0, 0] > 0.999 and r.pairwise[0, 1] > 0.999
    assert r.headline == (1, 2)
    assert r.tied_groups == (("strong",), ("weak",))
    assert r.rank_interval == ((1.0, 1.0), (2.0, 2.0))


def test_identical_models_are_tied_and_share_ranks():
    row = (np.arange(50) % 3 == 0).astype(float)
    r = stats.rank_probabilities(np.vstack([row, row]), names=("a", "b"), B=500)
    assert r.rank_probs == pytest.approx(np.full((2, 2), 0.5))   # every replicate is a tie
    assert r.pairwise[0, 1] == 0.0 and r.headline == (1, 1)
    assert r.tied_groups == (("a", "b"),)


def test_rank_probabilities_sum_to_one_and_are_reproducible():
    rng = np.random.default_rng(1)
    scores = pd.DataFrame((rng.random((4, 40)) < [[0.5], [0.55], [0.6], [0.3]]).astype(float),
                          index=["m1", "m2", "m3", "m4"])
    a = stats.rank_probabilities(scores, seed=9, B=1000)
    b = stats.rank_probabilities(scores, seed=9, B=1000)
    assert a.names == ("m1", "m2", "m3", "m4")
    assert np.allclose(a.rank_probs.sum(axis=1), 1) and np.allclose(a.rank_probs.sum(axis=0), 1)
    assert np.array_equal(a.rank_probs, b.rank_probs)          # same seed, same digits
    assert not np.array_equal(a.rank_probs, stats.rank_probabilities(scores, seed=10, B=1000).rank_probs)


def test_stratified_aggregate_is_the_mean_of_scenario_means():
    easy = np.array([[1, 1, 1, 1, 0, 1] * 5, [1, 1, 0, 1, 0, 1] * 5], dtype=float)
    hard = np.array([[0, 1, 0, 0] * 20, [0, 1, 1, 0] * 20], dtype=float)
    r = stats.rank_probabilities({"easy": easy, "hard": hard}, names=("a", "b"), B=500)
    assert r.estimates == pytest.approx([(easy[0].mean() + hard[0].mean()) / 2, (easy[1].mean() + hard[1].mean()) / 2])


def test_lower_is_better_flips_the_order():
    latency = np.array([[0.1] * 30, [0.5] * 30]) + np.random.default_rng(3).random((2, 30)) * 0.05
    r = stats.rank_probabilities(latency, names=("fast", "slow"), higher_is_better=False, B=500)
    assert r.headline == (1, 2) and r.rank_probs[0, 0] == 1.0


def test_bad_inputs():
    with pytest.raises(stats.StatsInputError):
        stats.rank_probabilities(np.ones((1, 5)))
    with pytest.raises(stats.StatsInputError, match="NaN"):
        stats.rank_probabilities([[1, np.nan], [0, 1]])
