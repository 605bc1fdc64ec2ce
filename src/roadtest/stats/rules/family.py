"""The family of a decision: one (hypothesis, model) cell, its error controlled on its own (the simulation study rule 9).

`decision: all`: SUPPORTED when every criterion is SUPPORTED at alpha (intersection-union test: no adjustment);
REFUTED when any criterion is REFUTED after Holm's correction over the hypothesis's criteria.
`decision: any`: the mirror (SUPPORTED through Holm, REFUTED when every criterion is REFUTED at alpha).
Worst error over independent, equicorrelated (rho = .5) and binomial criteria, m = 3 and 5: 0.0509
(R = 100,000); without Holm, 'any criterion refuted' reached 0.143 (m = 3) and 0.227 (m = 5).
Exploratory scans use Benjamini-Hochberg q-values and never decide a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from roadtest.stats.rules._result import Verdict
from roadtest.stats.rules._validate import StatsInputError, as_vector, check_alpha

Decision = Literal["all", "any"]


def _pvalues(p: Any, name: str) -> np.ndarray:
    arr = as_vector(p, name, min_n=0)
    if np.any((arr < 0) | (arr > 1)):
        raise StatsInputError(f"{name} must lie between 0 and 1, got e.g. {arr[(arr < 0) | (arr > 1)][:3].tolist()}")
    return arr


def holm(p: Any) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error), in the input order; ties get equal values."""
    arr = _pvalues(p, "p-values")
    m = arr.size
    if m == 0:
        return arr
    order = np.argsort(arr, kind="stable")
    adjusted = np.minimum(np.maximum.accumulate((m - np.arange(m)) * arr[order]), 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return _tie_equal(arr, out, np.max)


def benjamini_hochberg(p: Any) -> np.ndarray:
    """Benjamini-Hochberg q-values (false discovery rate) for exploratory scans, in the input order."""
    arr = _pvalues(p, "p-values")
    m = arr.size
    if m == 0:
        return arr
    order = np.argsort(arr, kind="stable")
    scaled = arr[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return _tie_equal(arr, out, np.min)


def _tie_equal(p: np.ndarray, adj: np.ndarray, pick) -> np.ndarray:
    """Equal raw p-values get the same adjusted value (the step-down order among ties is arbitrary)."""
    srt = np.sort(p)
    if p.size < 2 or not np.any(srt[1:] == srt[:-1]):
        return adj
    out = adj.copy()
    for value in np.unique(srt[1:][srt[1:] == srt[:-1]]):
        mask = p == value
        out[mask] = pick(adj[mask])
    return out


def intersection_union(p: Any) -> float:
    """p-value of 'every claim holds' from the claims' one-sided p-values: the largest one (no adjustment)."""
    arr = _pvalues(p, "p-values")
    if arr.size == 0:
        raise StatsInputError("intersection_union needs at least one p-value")
    return float(arr.max())


@dataclass(frozen=True)
class FamilyVerdict:
    """The cell's verdict, each criterion's adjusted p-values, and the family in one sentence.

    p_supported_adjusted / p_refuted_adjusted: for `all`, supported p-values are unadjusted (intersection-union)
    and refuted ones Holm-adjusted; for `any`, the reverse. The cell is SUPPORTED when max(p_supported_adjusted)
    < alpha (`all`) or min(...) < alpha (`any`), and REFUTED likewise."""

    verdict: Verdict
    decision: Decision
    p_supported_adjusted: tuple[float, ...]
    p_refuted_adjusted: tuple[float, ...]
    p_cell_supported: float
    p_cell_refuted: float
    alpha: float
    sentence: str


def family_verdict(p_supported: Any, p_refuted: Any, decision: Decision = "all",
                   alpha: float = 0.05) -> FamilyVerdict:
    """Verdict of one (hypothesis, model) cell from its criteria's one-sided p-values.

    p_supported[i]: p-value of criterion i's claim (SUPPORTED when < alpha); p_refuted[i]: of its negation.
    A criterion that is INCONCLUSIVE by construction passes p = 1 on both sides.
    """
    ps = _pvalues(p_supported, "p_supported")
    pr = _pvalues(p_refuted, "p_refuted")
    alpha = check_alpha(alpha)
    if ps.size == 0 or ps.size != pr.size:
        raise StatsInputError(f"need one p_supported and one p_refuted per criterion, got {ps.size} and {pr.size}")
    if np.any((ps < alpha) & (pr < alpha)):
        raise StatsInputError("a criterion cannot be both SUPPORTED and REFUTED (p_supported and p_refuted both "
                              "below alpha): its bounds are inconsistent")
    m = ps.size
    if decision == "all":
        sup_adj, ref_adj = ps, holm(pr)
        p_sup, p_ref = float(ps.max()), float(ref_adj.min())
        text = (f"The hypothesis is SUPPORTED when all {m} criteria are, each at alpha = {alpha:g} "
                f"(intersection-union), and REFUTED when any is, after Holm's correction over the {m}.")
    elif decision == "any":
        sup_adj, ref_adj = holm(ps), pr
        p_sup, p_ref = float(sup_adj.min()), float(pr.max())
        text = (f"The hypothesis is SUPPORTED when any of its {m} criteria is, after Holm's correction over the "
                f"{m}, and REFUTED when all are, each at alpha = {alpha:g} (intersection-union).")
    else:
        raise StatsInputError(f"decision must be 'all' or 'any', got {decision!r}")
    verdict: Verdict = "SUPPORTED" if p_sup < alpha else ("REFUTED" if p_ref < alpha else "INCONCLUSIVE")
    return FamilyVerdict(verdict, decision, tuple(float(x) for x in sup_adj), tuple(float(x) for x in ref_adj),
                         p_sup, p_ref, alpha, text)


def robust_to_settings(p_supported: Any, p_refuted: Any, alpha: float = 0.05) -> FamilyVerdict:
    """`robust_to_settings: true`: a comparative criterion holds only when it holds under every variant
    (intersection-union); it fails when it fails under some variant after Holm over the variants (`all`)."""
    return family_verdict(p_supported, p_refuted, "all", alpha)
