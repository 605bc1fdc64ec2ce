"""Rank stability: a joint item bootstrap of every model's score, and headline ranks from paired tests."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats as sps

from roadtest.stats._validate import StatsInputError
from roadtest.stats.intervals import DEFAULT_B, row_chunks
from roadtest.stats.tests import holm, mcnemar_exact, sign_flip_test


@dataclass(frozen=True)
class RankResult:
    """How stable a ranking is, for models scored on the same items.

    `rank_probs[i, r]` is P(model i has rank r + 1); a tie of k models spreads 1/k over their places.
    `pairwise[i, j]` is P(model i strictly better than model j) across replicates.
    `headline` is 1 + the number of models significantly better (Holm-adjusted paired tests);
    models sharing a headline rank are statistically tied.
    """

    names: tuple[str, ...]
    estimates: np.ndarray
    rank_probs: np.ndarray
    rank_interval: tuple[tuple[float, float], ...]
    pairwise: np.ndarray
    p_adjusted: np.ndarray
    headline: tuple[int, ...]
    tied_groups: tuple[tuple[str, ...], ...]
    seed: int
    B: int


def _as_matrix(m, names):
    if hasattr(m, "to_numpy") and hasattr(m, "index"):
        return np.asarray(m.to_numpy(dtype=float)), tuple(str(i) for i in m.index)
    arr = np.asarray(m, dtype=float)
    return arr, names


def _strata(scores, names):
    blocks = list(scores.values()) if isinstance(scores, dict) else [scores]
    if not blocks:
        raise StatsInputError("rank_probabilities needs at least one score matrix")
    mats = []
    for block in blocks:
        mat, found = _as_matrix(block, names)
        names = names or found
        if mat.ndim != 2 or mat.shape[1] < 2:
            raise StatsInputError(f"scores must be models x items with at least 2 items, got shape {mat.shape}")
        if not np.all(np.isfinite(mat)):
            raise StatsInputError("scores contain NaN or infinite values; every model needs a score on every item")
        mats.append(mat)
    m = mats[0].shape[0]
    if m < 2 or any(x.shape[0] != m for x in mats):
        raise StatsInputError("every score matrix needs the same models (at least 2) in the same order")
    if names and len(names) != m:
        raise StatsInputError(f"{len(names)} names for {m} models; give one name per row of scores")
    return mats, tuple(names) if names else tuple(f"model {i + 1}" for i in range(m))


def _pair_p(mats: list[np.ndarray], i: int, j: int) -> float:
    """Two-sided p-value of 'models i and j score the same' (paired, on the same items)."""
    if len(mats) == 1:
        a, b = mats[0][i], mats[0][j]
        d = a - b
        if np.all(d == 0):
            return 1.0
        if np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all():
            return mcnemar_exact(int(np.sum((a == 1) & (b == 0))), int(np.sum((a == 0) & (b == 1))))
        if d.size <= 20:
            return sign_flip_test(d)
        return float(sps.ttest_rel(a, b).pvalue)
    # Several scenarios: the aggregate is the plain mean of scenario means, so is its difference.
    diffs = [m[i] - m[j] for m in mats]
    mean = np.mean([d.mean() for d in diffs])
    var = sum(d.var(ddof=1) / d.size for d in diffs) / len(diffs) ** 2
    if var == 0:
        return 1.0 if mean == 0 else 0.0
    return float(2 * sps.norm.sf(abs(mean) / np.sqrt(var)))


def rank_probabilities(scores, seed: int = 0, B: int = DEFAULT_B, names: tuple[str, ...] | None = None,
                       higher_is_better: bool = True, alpha: float = 0.05) -> RankResult:
    """P(rank) per model from a joint item bootstrap (stratified by scenario when `scores` is a dict).

    `scores` is a models x items matrix (array or DataFrame indexed by model), or a dict of such
    matrices, one per scenario; several scenarios aggregate by the plain mean of scenario scores.
    """
    mats, names = _strata(scores, names)
    m = len(names)
    sign = 1.0 if higher_is_better else -1.0
    estimates = np.mean([x.mean(axis=1) for x in mats], axis=0)
    rng = np.random.default_rng(seed)
    agg = np.zeros((B, m))
    for x in mats:
        n = x.shape[1]
        for start, stop in row_chunks(B, n * x.shape[0]):
            idx = rng.integers(0, n, size=(stop - start, n))
            agg[start:stop] += x[:, idx].mean(axis=2).T / len(mats)
    signed = sign * agg
    avg_rank = sps.rankdata(-signed, axis=1, method="average")
    lo_rank = sps.rankdata(-signed, axis=1, method="min")
    hi_rank = sps.rankdata(-signed, axis=1, method="max")
    probs = np.zeros((m, m))
    for r in range(1, m + 1):
        covers = (lo_rank <= r) & (r <= hi_rank)
        probs[:, r - 1] = np.mean(covers / (hi_rank - lo_rank + 1), axis=0)
    interval = tuple((float(np.percentile(avg_rank[:, i], 2.5, method="lower")),
                      float(np.percentile(avg_rank[:, i], 97.5, method="higher"))) for i in range(m))
    pairwise = np.array([[np.mean(signed[:, i] > signed[:, j]) if i != j else 0.0 for j in range(m)]
                         for i in range(m)])
    pairs = list(combinations(range(m), 2))
    adjusted = holm([_pair_p(mats, i, j) for i, j in pairs])
    p_adj = np.ones((m, m))
    better = np.zeros(m, dtype=int)
    for (i, j), p in zip(pairs, adjusted):
        p_adj[i, j] = p_adj[j, i] = p
        if p < alpha and estimates[i] != estimates[j]:
            loser = j if sign * estimates[i] > sign * estimates[j] else i
            better[loser] += 1
    headline = tuple(int(1 + b) for b in better)
    groups: dict[int, list[str]] = {}
    for name, h in sorted(zip(names, headline), key=lambda t: (t[1], -sign * estimates[names.index(t[0])])):
        groups.setdefault(h, []).append(name)
    return RankResult(names, estimates, probs, interval, pairwise, p_adj, headline,
                      tuple(tuple(g) for g in groups.values()), seed, B)
