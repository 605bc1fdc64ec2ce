"""One-sided exact tests (what paired verdicts use) and input checks, against independent computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps

from roadtest import stats
from roadtest.stats import StatsInputError


def test_one_sided_mcnemar_is_the_binomial_tail():
    for b, c in [(7, 2), (2, 7), (0, 5), (5, 0), (10, 10)]:
        assert stats.mcnemar_exact(b, c, alternative="greater") == pytest.approx(
            sps.binomtest(b, b + c, 0.5, alternative="greater").pvalue)
        assert stats.mcnemar_exact(b, c, alternative="less") == pytest.approx(
            sps.binomtest(b, b + c, 0.5, alternative="less").pvalue)
    assert stats.mcnemar_exact(0, 0, alternative="greater") == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_sided_sign_flip_matches_brute_force(seed):
    d = np.round(np.random.default_rng(seed).normal(0.2, 1.0, 9), 3)
    means = np.array([np.mean(np.array(s) * d) for s in itertools.product((1, -1), repeat=d.size)])
    assert stats.sign_flip_test(d, alternative="greater") == pytest.approx(np.mean(means >= d.mean() - 1e-12))
    assert stats.sign_flip_test(d, alternative="less") == pytest.approx(np.mean(means <= d.mean() + 1e-12))
    assert stats.sign_flip_test(d) == pytest.approx(np.mean(np.abs(means) >= abs(d.mean()) - 1e-12))


@pytest.mark.parametrize("n", [14, pytest.param(20, marks=pytest.mark.slow)])   # scipy takes 12 s at 20
def test_sign_flip_agrees_with_scipy_permutation_test(n):
    d = np.random.default_rng(4).normal(0.3, 1.0, n)
    ours = stats.sign_flip_test(d, alternative="greater")
    theirs = sps.permutation_test((d,), np.mean, permutation_type="samples", alternative="greater",
                                  n_resamples=np.inf).pvalue
    assert ours == pytest.approx(theirs)


@pytest.mark.parametrize("call,words", [
    (lambda: stats.holm([-0.1, 0.5]), "between 0 and 1"),
    (lambda: stats.benjamini_hochberg([0.2, 1.5]), "between 0 and 1"),
    (lambda: stats.clustered_se([0.1, 0.2, 0.3], ["a", None, "b"]), "missing labels"),
    (lambda: stats.rank_probabilities(np.ones((2, 5)), names=("a", "b", "c")), "3 names for 2 models"),
    (lambda: stats.required_n_paired(float("nan"), 0.1), "finite"),
    (lambda: stats.ece([0.2, 0.8], [0, 1], bins=0), "bins"),
    (lambda: stats.mean_interval([1.0, 1.0], method="bootstrap"), "unknown method"),
    (lambda: stats.mean_interval([1.0], confidence=1.5), "confidence"),
    (lambda: stats.sign_flip_test([1.0, 2.0], alternative="bigger"), "unknown alternative"),
])
def test_bad_input_is_a_clear_error(call, words):
    with pytest.raises(StatsInputError, match=words):
        call()
