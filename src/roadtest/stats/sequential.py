"""Anytime-valid (sequential) bounds and verdicts for bounded means, paired differences and percentiles.

Construction (Waudby-Smith & Ramdas 2023, "Estimating means of bounded random variables by betting", JRSS-B,
hedged capital with predictable plug-in bets). For observations x_1, x_2, ... in [0, 1] with common
conditional mean mu and every candidate mean m on a grid, two capital processes

    K+_t(m) = prod_i (1 + lam+_i(m) (x_i - m)),      K-_t(m) = prod_i (1 - lam-_i(m) (x_i - m)),

with the predictable plug-in bet lam_i = sqrt(2 log(1/alpha) / (s2_{i-1} i log(1 + i))), truncated:
lam+_i(m) = min(lam_i, c/m), lam-_i(m) = min(lam_i, c/(1 - m)), c = 1/2 (the paper's default). Here
mu_hat_i = (1/2 + sum_{j<=i} x_j) / (i + 1) and s2_i = (1/4 + sum_{j<=i} (x_j - mu_hat_j)^2) / (i + 1).
Under mu <= m, K+(m) is a nonnegative supermartingale with K+_0 = 1, so by Ville's inequality
P(sup_t K+_t(m) >= 1/alpha) <= alpha: once the running maximum of K+(m) reaches 1/alpha, "mu <= m" is rejected
for good (mu > m), whatever the stopping rule, the batching or the number of looks. K-(m) mirrors it
("mu >= m" rejected: mu < m).

Bounds (one-sided, each at alpha). The bets do not depend on m except through the truncation, so every factor
of K+(m) is nonincreasing in m (K-(m): nondecreasing) and the rejected candidates form a prefix (a suffix) of
the grid. The lower bound L_t is the largest grid point g such that g and every grid point below it are
rejected by K+; the claim is mu > L_t (strict). It is the continuous confidence sequence's lower end rounded
DOWN to the grid (never up), and it holds uniformly in time: P(exists t: L_t >= mu) <= alpha, because
L_t >= mu means the first grid point at or above mu was rejected, a single Ville event. The upper bound U_t
mirrors it (rounded UP; mu < U_t). The default grid is {0, 0.001, ..., 1} (GRID_SIZE = 1000 cells, resolution
0.001), plus any `points` given exactly (thresholds), so a decision at a threshold tests that threshold itself.
Nothing is rounded at a threshold; elsewhere a bound is at most 0.001 wider than the continuous one.

Decision (`SequentialDecision`, criterion "mean >= t" or "mean <= t"). SUPPORTED once the running lower bound
excludes t (K+(t) has reached 1/alpha, i.e. mu > t), REFUTED once the upper bound does (mu < t); INCONCLUSIVE
otherwise. Alpha split: each side at the full alpha (one-sided (1 - alpha) bounds, together a 1 - 2 alpha
sequence), as the fixed-n rules of the statistics spec do ("one-sided (1 - alpha) lower and upper bounds ...
together a 90% interval"). A wrong SUPPORTED is possible only when mu <= t and a wrong REFUTED only when
mu >= t, so for every true mean the chance of ever reaching the wrong decisive verdict is <= alpha; only at
mu = t exactly, where both count as wrong, can the two add up (to at most 2 alpha). A caller who wants the
sum bounded by alpha at the boundary too passes alpha / 2 (that is the paper's two-sided, theta = 1/2 hedge).
Once decided, a cell is fixed: later items (calls in flight) are counted but change nothing, and the bounds
shown are the ones that decided it. With a plan cap n_max, `can_change` says whether any continuation could
still decide: every future factor of K+(t) is at most 1 + lam_max (1 - t) (x <= 1, lam <= lam_max), of K-(t)
at most 1 + lam_max t, so when even that many best-case items cannot lift the capital to 1/alpha the verdict
is INCONCLUSIVE for good and the cell stops (stopping for futility never adds an error).

Percentiles. "p_q <= X" (e.g. p95 latency <= 2 s) is "F(X) >= q" for F(x) = P(latency <= x) and the
generalised inverse p_q = inf{x : F(x) >= q}: the indicator 1{latency <= X} is a 0/1 observation with mean
F(X), decided with the same sequence at threshold q: SUPPORTED when F(X) > q is shown (then p_q <= X), REFUTED
when F(X) < q is shown (then p_q > X). "p_q >= X" uses the strict indicator 1{latency < X} (mean F(X-)):
SUPPORTED when F(X-) < q (then F(x) < q for every x < X, so p_q >= X), REFUTED when F(X-) > q (p_q < X).
Distribution-free and exact under continuous monitoring with one call per item; with several calls per item
feed each item's share of calls below X (a [0, 1] item score whose mean is the per-call F(X) when items have
equal numbers of calls): the item is the unit.

Paired differences d = a - b of [0, 1] scores lie in [-1, 1]; `low`/`high` rescale them to (d + 1) / 2 and
the margin with them; bounds are reported back in the original units (the rescaling is increasing, so the
rounding directions are kept).

All state has a leading replication axis (`replications=R` runs R independent sequences at once, for
simulation); O(grid) work per observation and replication. numpy only; bad input raises StatsInputError
(a ValueError).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from roadtest.stats._validate import StatsInputError
from roadtest.stats.rules._validate import check_alpha, check_threshold

Direction = Literal["at_least", "at_most"]
Verdict = Literal["SUPPORTED", "REFUTED", "INCONCLUSIVE"]

GRID_SIZE = 1000
"""Grid cells on [0, 1] (resolution 0.001); thresholds are added to the grid exactly."""
TRUNCATION = 0.5
"""c in lam+(m) <= c/m, lam-(m) <= c/(1 - m): every factor stays >= 1 - c = 1/2 (Waudby-Smith & Ramdas' default)."""
METHOD = "betting confidence sequence (hedged capital, predictable plug-in, Waudby-Smith & Ramdas 2023)"

SUPPORTED, REFUTED, INCONCLUSIVE = 1, -1, 0
"""Verdict codes of the replication arrays (`codes`)."""
_NAMES: dict[int, Verdict] = {SUPPORTED: "SUPPORTED", REFUTED: "REFUTED", INCONCLUSIVE: "INCONCLUSIVE"}


# ---------------------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------------------

def _check_count(value: Any, name: str, minimum: int) -> int:
    """A whole number >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise StatsInputError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _as_batch(x: Any, replications: int | None, name: str = "observations") -> np.ndarray:
    """Observations as a finite float array of shape (R, k): 1-D input for a single sequence (R = 1), 2-D
    (R, k) input with replications=R."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"{name} must be numbers, got {type(x).__name__}: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    want = 1 if replications is None else 2
    if arr.ndim != want or (replications is not None and arr.shape[0] != replications):
        shape = "(k,)" if replications is None else f"({replications}, k)"
        raise StatsInputError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise StatsInputError(f"{name} has {bad} NaN or infinite value{'s' if bad > 1 else ''}; a failed call "
                              "is not an answer: drop it (count it as an error) before feeding the sequence")
    return arr.reshape(1, -1) if replications is None else arr


def _check_range(arr: np.ndarray, low: float, high: float, name: str = "observations") -> None:
    """Every observation must lie in [low, high] (the sequence is valid only for bounded data)."""
    out = (arr < low) | (arr > high)
    if np.any(out):
        bad = arr[out][:3].tolist()
        raise StatsInputError(f"{name} must lie in [{low:g}, {high:g}] for a betting confidence sequence, "
                              f"got e.g. {bad}")


def _direction(direction: str) -> Direction:
    if direction not in ("at_least", "at_most"):
        raise StatsInputError(f"direction must be 'at_least' or 'at_most', got {direction!r}")
    return cast(Direction, direction)


# ---------------------------------------------------------------------------------------------------------
# The confidence sequence
# ---------------------------------------------------------------------------------------------------------

def make_grid(grid_size: int = GRID_SIZE, points: Any = ()) -> np.ndarray:
    """The candidate means: {0, 1/G, ..., 1} plus the given points in [0, 1], sorted and deduplicated."""
    grid_size = _check_count(grid_size, "grid_size", 1)
    extra = np.asarray(points, dtype=float).ravel()
    if extra.size and (not np.all(np.isfinite(extra)) or np.any((extra < 0) | (extra > 1))):
        raise StatsInputError(f"grid points must be finite numbers in [0, 1], got {extra.tolist()[:3]}")
    return np.unique(np.concatenate((np.linspace(0.0, 1.0, grid_size + 1), extra)))


def plug_in_bet(var_prev: np.ndarray, t: np.ndarray, alpha: float) -> np.ndarray:
    """Predictable plug-in bet for observation t (1-based): sqrt(2 log(1/alpha) / (s2_{t-1} t log(1 + t)))."""
    return np.sqrt(2.0 * math.log(1.0 / alpha) / (var_prev * t * np.log1p(t)))


def max_bet(t: np.ndarray, alpha: float) -> np.ndarray:
    """An upper bound of the plug-in bet at observation t: s2_{t-1} >= 1/(4t), so lam_t <= sqrt(8 log(1/alpha) /
    log(1 + t))."""
    return np.sqrt(8.0 * math.log(1.0 / alpha) / np.log1p(t))


@dataclass(frozen=True)
class SequenceBounds:
    """The current one-sided bounds of one sequence: mu > lower and mu < upper, each holding at every n
    simultaneously with probability >= 1 - alpha (grid-rounded outward, `resolution` wide cells)."""

    lower: float
    upper: float
    estimate: float
    n: int
    alpha: float
    resolution: float
    method: str = METHOD


class BettingCS:
    """Time-uniform one-sided confidence bounds for the mean of [0, 1] observations, updated incrementally.

    Feed items with `update` in any batches; `lower` / `upper` are the running bounds (the running
    intersection: they only tighten). Each observation costs O(len(grid)) per replication.
    With replications=R every array has a leading axis of R independent sequences; `update(x, active)`
    then takes x of shape (R, k) and an optional mask of the sequences that take these items.
    """

    def __init__(self, alpha: float = 0.05, grid_size: int = GRID_SIZE, points: Any = (),
                 replications: int | None = None, truncation: float = TRUNCATION) -> None:
        self.alpha = check_alpha(alpha)
        if not 0.0 < truncation < 1.0:
            raise StatsInputError(f"truncation must lie in (0, 1), got {truncation!r}")
        self.replications = None if replications is None else _check_count(replications, "replications", 1)
        self.grid = make_grid(grid_size, points)
        self.resolution = 1.0 / grid_size
        self.threshold_log = math.log(1.0 / self.alpha)
        R, G = self.replications or 1, self.grid.size
        with np.errstate(divide="ignore"):
            self._cap_plus = truncation / self.grid              # inf at m = 0
            self._cap_minus = truncation / (1.0 - self.grid)     # inf at m = 1
        self.n = np.zeros(R, dtype=np.int64)
        self._sum = np.zeros(R)
        self._sq = np.zeros(R)
        self._var = np.full(R, 0.25)                        # s2_0 = 1/4
        self.log_plus = np.zeros((R, G))                    # log K+_t(m), current
        self.log_minus = np.zeros((R, G))
        self.max_plus = np.zeros((R, G))                    # running maxima (log K_0 = 0)
        self.max_minus = np.zeros((R, G))

    # -- feeding ---------------------------------------------------------------------------------------
    def update(self, x: Any, active: Any = None) -> BettingCS:
        """Take observations in [0, 1]: shape (k,) for one sequence, (R, k) with replications=R. `active`
        (R booleans) restricts the update to some sequences; the others keep their state."""
        arr = _as_batch(x, self.replications)
        _check_range(arr, 0.0, 1.0)
        mask = self._mask(active)
        for j in range(arr.shape[1]):
            self.step(arr[:, j], mask)
        return self

    def _mask(self, active: Any) -> np.ndarray:
        R = self.replications or 1
        if active is None:
            return np.ones(R, dtype=bool)
        mask = np.asarray(active, dtype=bool).reshape(-1)
        if mask.size != R:
            raise StatsInputError(f"active needs one flag per replication ({R}), got {mask.size}")
        return mask

    def step(self, x: np.ndarray, active: np.ndarray) -> None:
        """One observation per replication (x of shape (R,), already checked), where `active`."""
        t = self.n + 1
        lam = plug_in_bet(self._var, t, self.alpha)[:, None]
        dev = x[:, None] - self.grid[None, :]
        gain_plus = np.log1p(np.minimum(lam, self._cap_plus) * dev)
        gain_minus = np.log1p(-np.minimum(lam, self._cap_minus) * dev)
        on = active[:, None]
        self.log_plus = np.where(on, self.log_plus + gain_plus, self.log_plus)
        self.log_minus = np.where(on, self.log_minus + gain_minus, self.log_minus)
        np.maximum(self.max_plus, self.log_plus, out=self.max_plus)
        np.maximum(self.max_minus, self.log_minus, out=self.max_minus)
        self._plug_in_update(x, active, t)

    def _plug_in_update(self, x: np.ndarray, active: np.ndarray, t: np.ndarray) -> None:
        """mu_hat_t = (1/2 + sum x) / (t + 1); s2_t = (1/4 + sum (x_i - mu_hat_i)^2) / (t + 1)."""
        s = self._sum + x
        mu = (0.5 + s) / (t + 1)
        sq = self._sq + (x - mu) ** 2
        self._sum = np.where(active, s, self._sum)
        self._sq = np.where(active, sq, self._sq)
        self._var = np.where(active, (0.25 + sq) / (t + 1), self._var)
        self.n = np.where(active, t, self.n)

    # -- reading ---------------------------------------------------------------------------------------
    def rejected_below(self) -> np.ndarray:
        """(R, G): grid points m with 'mu <= m' rejected, kept only as a prefix from 0 (the lower bound's set)."""
        return np.logical_and.accumulate(self.max_plus >= self.threshold_log, axis=1)

    def rejected_above(self) -> np.ndarray:
        """(R, G): grid points m with 'mu >= m' rejected, kept only as a suffix up to 1."""
        rej = self.max_minus >= self.threshold_log
        return np.logical_and.accumulate(rej[:, ::-1], axis=1)[:, ::-1]

    def lower_bounds(self) -> np.ndarray:
        """(R,) lower bounds: the largest grid point rejected together with all below it; 0 if none."""
        k = self.rejected_below().sum(axis=1)
        return np.where(k > 0, self.grid[np.maximum(k - 1, 0)], 0.0)

    def upper_bounds(self) -> np.ndarray:
        """(R,) upper bounds: the smallest grid point rejected together with all above it; 1 if none."""
        k = self.rejected_above().sum(axis=1)
        return np.where(k > 0, self.grid[self.grid.size - np.maximum(k, 1)], 1.0)

    def means(self) -> np.ndarray:
        """(R,) sample means (NaN before the first observation)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > 0, self._sum / np.maximum(self.n, 1), np.nan)

    @property
    def lower(self) -> float:
        """The lower bound of a single sequence."""
        return float(self._single(self.lower_bounds()))

    @property
    def upper(self) -> float:
        """The upper bound of a single sequence."""
        return float(self._single(self.upper_bounds()))

    def bounds(self) -> SequenceBounds:
        """Bounds, estimate and n of a single sequence."""
        n = int(self._single(self.n))
        return SequenceBounds(self.lower, self.upper, float(self._single(self.means())), n, self.alpha,
                              self.resolution)

    def _single(self, arr: np.ndarray) -> Any:
        if self.replications is not None:
            raise StatsInputError("this sequence runs replications: use lower_bounds() / upper_bounds()")
        return arr[0]

    def index_of(self, m: float) -> int:
        """Index of a grid point (thresholds are on the grid exactly)."""
        hits = np.flatnonzero(self.grid == m)
        if not hits.size:
            raise StatsInputError(f"{m!r} is not on the grid; pass it in `points`")
        return int(hits[0])


# ---------------------------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SequentialVerdict:
    """A cell's state: the verdict, whether it is fixed (decided, or no remaining item can decide it), the n it
    was settled at (None while open), the bounds that decided it (original units), items seen in all."""

    verdict: Verdict
    fixed: bool
    n_settled: int | None
    lower: float
    upper: float
    n_seen: int
    alpha: float
    reason: str


class SequentialDecision:
    """Sequential verdict on 'mean >= threshold' (direction 'at_least') or 'mean <= threshold' ('at_most') for
    observations in [low, high] (default [0, 1]; [-1, 1] for a paired difference of [0, 1] scores, with the
    margin as threshold). Checked after every item; once decided (or, with n_max, once no remaining item can
    decide it) the verdict is fixed and later items are only counted."""

    def __init__(self, threshold: float, direction: str = "at_least", alpha: float = 0.05,
                 n_max: int | None = None, low: float = 0.0, high: float = 1.0, grid_size: int = GRID_SIZE,
                 replications: int | None = None) -> None:
        self.low, self.high = check_threshold(low, "low"), check_threshold(high, "high")
        if not self.low < self.high:
            raise StatsInputError(f"need low < high, got low={low!r}, high={high!r}")
        self.threshold = check_threshold(threshold, "threshold")
        if not self.low <= self.threshold <= self.high:
            raise StatsInputError(f"threshold {threshold!r} lies outside [{self.low:g}, {self.high:g}]")
        self.direction = _direction(direction)
        self.n_max = None if n_max is None else _check_count(n_max, "n_max", 1)
        self.unit_threshold = self._to_unit(self.threshold)
        self.cs = BettingCS(alpha, grid_size, (self.unit_threshold,), replications)
        self.alpha = self.cs.alpha
        self._at = self.cs.index_of(self.unit_threshold)
        R = replications or 1
        self.codes = np.zeros(R, dtype=np.int8)             # SUPPORTED / REFUTED / INCONCLUSIVE
        self.fixed = np.zeros(R, dtype=bool)
        self.n_settled = np.zeros(R, dtype=np.int64)        # 0 while open
        self.n_seen = np.zeros(R, dtype=np.int64)
        self._lower = np.zeros(R)
        self._upper = np.ones(R)
        self._reach_plus, self._reach_minus = self._best_case_gains()

    # -- units -----------------------------------------------------------------------------------------
    def _to_unit(self, v: float) -> float:
        return (v - self.low) / (self.high - self.low)

    def _from_unit(self, u: np.ndarray) -> np.ndarray:
        return self.low + u * (self.high - self.low)

    # -- feeding ---------------------------------------------------------------------------------------
    def update(self, x: Any) -> SequentialDecision:
        """Take observations in [low, high] (shape (k,), or (R, k) with replications), one at a time."""
        arr = _as_batch(x, self.cs.replications)
        _check_range(arr, self.low, self.high)
        unit = (arr - self.low) / (self.high - self.low)
        for j in range(unit.shape[1]):
            self.n_seen += 1
            open_ = ~self.fixed
            if self.n_max is not None:
                open_ &= self.cs.n < self.n_max
            if not open_.any():
                continue
            self.cs.step(unit[:, j], open_)
            self._settle(open_)
        return self

    def _settle(self, open_: np.ndarray) -> None:
        """Fix the sequences that just decided (or can no longer decide)."""
        sup = self.cs.rejected_below()[:, self._at]
        ref = self.cs.rejected_above()[:, self._at]
        if self.direction == "at_most":
            sup, ref = ref, sup
        new_sup, new_ref = open_ & sup, open_ & ref & ~sup
        self.codes[new_sup], self.codes[new_ref] = SUPPORTED, REFUTED
        futile = open_ & ~(new_sup | new_ref) & ~self._can_change(self.cs.n)
        done = new_sup | new_ref | futile
        if done.any():
            self.fixed |= done
            self.n_settled[done] = self.cs.n[done]
            self._lower[done] = self.cs.lower_bounds()[done]
            self._upper[done] = self.cs.upper_bounds()[done]

    # -- can it still change? --------------------------------------------------------------------------
    def _best_case_gains(self) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative best-case log gains at the threshold for items 1..n_max: log(1 + lam_max (1 - t)) for
        K+(t) (x = 1), log(1 + lam_max t) for K-(t) (x = 0), lam_max = min(max_bet, c/t or c/(1 - t))."""
        if self.n_max is None:
            return np.zeros(1), np.zeros(1)
        m = self.unit_threshold
        s = np.arange(1, self.n_max + 1, dtype=float)
        lam = max_bet(s, self.alpha)
        lam_p = np.minimum(lam, TRUNCATION / m) if m > 0 else lam
        lam_m = np.minimum(lam, TRUNCATION / (1 - m)) if m < 1 else lam
        return (np.concatenate(([0.0], np.cumsum(np.log1p(lam_p * (1 - m))))),
                np.concatenate(([0.0], np.cumsum(np.log1p(lam_m * m)))))

    def _can_change(self, n: np.ndarray) -> np.ndarray:
        """(R,) whether some continuation of the remaining n_max - n items could still reach a verdict."""
        if self.n_max is None:
            return np.ones(n.shape, dtype=bool)
        n = np.minimum(n, self.n_max)
        gain_p = self._reach_plus[self.n_max] - self._reach_plus[n]
        gain_m = self._reach_minus[self.n_max] - self._reach_minus[n]
        plus = self.cs.log_plus[:, self._at] + gain_p >= self.cs.threshold_log
        minus = self.cs.log_minus[:, self._at] + gain_m >= self.cs.threshold_log
        return (plus | minus) & (n < self.n_max)

    def can_change(self) -> bool:
        """Whether the verdict of a single sequence can still change within the plan (False once decided, or
        when even the remaining items at the extreme, bet on at the largest possible stake, cannot reach
        1/alpha; always True while open without n_max)."""
        if self.cs.replications is not None:
            raise StatsInputError("this decision runs replications: read `fixed`")
        return bool(not self.fixed[0] and self._can_change(self.cs.n)[0])

    # -- reading ---------------------------------------------------------------------------------------
    def verdicts(self) -> np.ndarray:
        """(R,) verdict codes: SUPPORTED = 1, REFUTED = -1, INCONCLUSIVE = 0."""
        return self.codes.copy()

    def stopping_n(self) -> np.ndarray:
        """(R,) items used: the n it was settled at, else the items taken so far."""
        return np.where(self.fixed, self.n_settled, self.cs.n)

    def state(self) -> SequentialVerdict:
        """The state of a single sequence, bounds in the original units."""
        if self.cs.replications is not None:
            raise StatsInputError("this decision runs replications: use verdicts() / stopping_n()")
        fixed = bool(self.fixed[0])
        lo = self._lower[0] if fixed else self.cs.lower_bounds()[0]
        hi = self._upper[0] if fixed else self.cs.upper_bounds()[0]
        lo, hi = self._from_unit(np.array([lo, hi]))
        code = int(self.codes[0])
        return SequentialVerdict(_NAMES[code], fixed, int(self.n_settled[0]) if fixed else None, float(lo),
                                 float(hi), int(self.n_seen[0]), self.alpha, self._reason(code, fixed))

    def _reason(self, code: int, fixed: bool) -> str:
        n = int(self.n_settled[0]) if fixed else int(self.cs.n[0])
        if code != INCONCLUSIVE:
            return f"settled at n = {n} (anytime-valid bound at alpha {self.alpha:g})"
        if fixed:
            return (f"no verdict is reachable within the plan's {self.n_max} items (stopped at n = {n}): "
                    "INCONCLUSIVE for good")
        return f"open at n = {n}: the anytime-valid bounds still contain the threshold"


# ---------------------------------------------------------------------------------------------------------
# Percentiles
# ---------------------------------------------------------------------------------------------------------

def percentile_indicators(values: Any, limit: float, claim: str = "at_most") -> np.ndarray:
    """0/1 observations for a percentile claim about `limit` X: 1{value <= X} for 'p_q <= X' (mean F(X)),
    1{value < X} for 'p_q >= X' (mean F(X-)). Values must be finite (a failed call has no latency)."""
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise StatsInputError("latency values must be finite; a failed call has no latency (count it as an error)")
    X = check_threshold(limit, "limit")
    return (arr <= X if _direction(claim) == "at_most" else arr < X).astype(float)


class PercentileDecision:
    """Sequential verdict on 'p_q <= X' (claim 'at_most', e.g. p95 latency <= 2 s) or 'p_q >= X' ('at_least'),
    through the indicator mean: 'p_q <= X' is 'P(value <= X) >= q' and 'p_q >= X' is 'P(value < X) <= q'.
    Feed raw values (one call per item); the verdict refers to the percentile claim."""

    def __init__(self, q: float, limit: float, claim: str = "at_most", alpha: float = 0.05,
                 n_max: int | None = None, grid_size: int = GRID_SIZE, replications: int | None = None) -> None:
        q = check_threshold(q, "q")
        if not 0.0 < q < 1.0:
            raise StatsInputError(f"q must lie strictly between 0 and 1, got {q!r}")
        self.q, self.limit, self.claim = q, check_threshold(limit, "limit"), _direction(claim)
        share_side = "at_least" if self.claim == "at_most" else "at_most"
        self.decision = SequentialDecision(q, share_side, alpha, n_max, grid_size=grid_size,
                                           replications=replications)

    def update(self, values: Any) -> PercentileDecision:
        """Take raw values (latencies): shape (k,), or (R, k) with replications."""
        self.decision.update(percentile_indicators(values, self.limit, self.claim))
        return self

    def state(self) -> SequentialVerdict:
        """The percentile claim's state; lower/upper bound the share of values at (or below) the limit."""
        return self.decision.state()

    def verdicts(self) -> np.ndarray:
        """(R,) verdict codes of the percentile claim."""
        return self.decision.verdicts()
