"""Exact unconditional test for paired 0/1 scores, ordered by Tango's score statistic (the simulation study rule 6A),
and the interval that inverts it.

Tables are (b, c) = (#items A right and B wrong, #items A wrong and B right) among n items. Under
H0: p10 - p01 = d0 the nuisance is the discordance psi = p10 + p01 in [|d0|, 1]. The p-value of
"A - B > d0" is sup over psi of P(Z_d0 >= Z_d0(observed)) (tables with tied Z count as extreme); the
"<" side is the ">" side of the mirrored table (c, b) at -d0.

Speed: Tango's Z increases in b at a fixed number of discordant items D = b + c (checked for n <= 300
on a grid of margins, and re-checked in the tests), so a tail region is {b >= k_D} for each D and its
probability is sum_D Bin(D; n, psi) P(Bin(D, p10/psi) >= k_D): O(n) per psi instead of O(n^2).

The p-value is NOT monotone in the margin: as d0 moves, tables leave the tail region and p drops by up
to 0.02-0.03 (seen at n = 50-1000), so {d0 : rejected} need not be an interval (the the simulation study prototype's
bisection lands on whichever crossing it meets). The lower bound here is the first margin, from below, at
which a scan in steps of 1/8 of the distance between the asymptotic bounds at alpha/5 and alpha finds the
test not rejecting, closed by Illinois steps and re-checked at two points below: the conservative inversion
(as in StatXact and exact2x2), up to slivers narrower than the scan step. The decision rule is the bound
itself, and its exact size is checked by enumerating every table (tests/test_paired.py).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import betainc, gammaln, ndtri, xlogy

TIE = 1e-9
"""Relative tolerance under which two tables' Z values count as tied (tied tables share a p-value)."""
GRID_POINTS = 41
REFINEMENTS = 3
_EDGE = 1e-12


def tango_z(b, c, n: int, d0):
    """Tango's (1998) score statistic for H0: p10 - p01 = d0; large values favour 'A - B > d0'.

    Z = (b - c - n d0) / sqrt(n (2 p01~ + d0 (1 - d0))), p01~ the restricted MLE
    p01~ = (-B + sqrt(B^2 - 8 n C)) / (4 n), B = -b - c + (2n - b + c) d0, C = -c d0 (1 - d0).
    A zero variance gives +-inf (or 0 when the numerator is 0).
    """
    b = np.asarray(b, dtype=float)
    c = np.asarray(c, dtype=float)
    d0 = np.asarray(d0, dtype=float)
    bq = -b - c + (2 * n - b + c) * d0
    cq = -c * d0 * (1 - d0)
    num = b - c - n * d0
    with np.errstate(all="ignore"):
        p01 = (-bq + np.sqrt(np.maximum(bq ** 2 - 8.0 * n * cq, 0.0))) / (4.0 * n)
        var = n * (2 * p01 + d0 * (1 - d0))
        z = num / np.sqrt(var)
    return np.where(var > 1e-15, z, np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0)))


def _region(b: int, c: int, n: int, d0: float) -> np.ndarray:
    """k_D for D = 0..n: the smallest b' with Z(b', D - b') >= Z(b, c) (ties included), D + 1 if none.
    Vectorised binary search over b' (Z increases in b' at fixed D)."""
    z = float(tango_z(b, c, n, d0))
    thr = z - TIE * max(1.0, abs(z)) if math.isfinite(z) else z
    D = np.arange(n + 1, dtype=float)
    lo, hi = np.zeros(n + 1), D + 1.0
    for _ in range(int(math.log2(n + 2)) + 2):
        mid = np.floor((lo + hi) / 2)
        bb = np.minimum(mid, D)
        ok = (tango_z(bb, D - bb, n, d0) >= thr) & (mid <= D)
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid + 1)
    return hi


@lru_cache(maxsize=64)
def _log_factorials(n: int) -> np.ndarray:
    return gammaln(np.arange(n + 2, dtype=float) + 1)


def _region_prob(n: int, d0: np.ndarray, k: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """P_{d0, psi}(b >= k_D) for each psi (with its own d0), summing D over a window that holds all but
    about 1e-11 of Bin(n, psi)."""
    psi = np.clip(np.asarray(psi, dtype=float), 1e-300, 1.0)
    d0 = np.broadcast_to(np.asarray(d0, dtype=float), psi.shape)
    half = np.ceil(7.0 * np.sqrt(n * psi * (1 - psi)) + 6.0)
    lo_d = np.clip(np.floor(n * psi - half), 0, n)
    width = int(min(n + 1, np.max(2 * half + 1)))
    D = lo_d[:, None] + np.arange(width, dtype=float)[None, :]
    inside = D <= n
    D = np.minimum(D, n)
    Di = D.astype(np.int64)
    lf = _log_factorials(n)
    P = psi[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        pmf = np.where(inside, np.exp(lf[n] - lf[Di] - lf[n - Di] + xlogy(D, P) + xlogy(n - D, 1 - P)), 0.0)
    pi = np.broadcast_to(np.clip((P + d0[:, None]) / (2 * P), 0.0, 1.0), D.shape)
    kd = k[Di]
    # tails more than 9 binomial SDs from k are 0 or 1 to double precision: skip the incomplete beta there
    zk = (kd - 0.5 - D * pi) / np.sqrt(np.maximum(D * pi * (1 - pi), 1e-300))
    tail = np.where((kd <= 0) | (zk < -9.0), 1.0, 0.0)
    mid = (kd > 0) & (kd <= D) & (pmf > 1e-300) & (np.abs(zk) <= 9.0)
    tail[mid] = betainc(kd[mid], D[mid] - kd[mid] + 1, pi[mid])
    return np.sum(pmf * tail, axis=1)


def _sup_over_psi(n: int, k: np.ndarray, psi_min: float, d0_of_psi) -> float:
    """sup over psi in [psi_min, 1] of P_{d0(psi), psi}(b >= k_D): a 41-point Chebyshev grid (dense near both
    ends, where the sup often sits), refined three times around the two best points. Against a 3000-point
    grid the shortfall was <= 2e-7 on 480 random (table, margin) pairs (the prototype's 400-point grid: 4e-6)."""
    grid = psi_min + (1 - psi_min) * (1 - np.cos(np.pi * np.linspace(0.0, 1.0, GRID_POINTS))) / 2
    vals = _region_prob(n, d0_of_psi(grid), k, grid)
    best = float(vals.max())
    for _ in range(REFINEMENTS):
        top = np.argsort(vals)[-2:]
        pts = [np.linspace(grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)], 7) for i in top]
        grid = np.unique(np.concatenate(pts))
        vals = _region_prob(n, d0_of_psi(grid), k, grid)
        best = max(best, float(vals.max()))
    return min(1.0, best)


@lru_cache(maxsize=100_000)
def _p_greater(b: int, c: int, n: int, d0: float) -> float:
    return _sup_over_psi(n, _region(b, c, n, d0), abs(d0), lambda g: np.full(g.shape, d0))


def exact_p(b: int, c: int, n: int, d0: float, side: int) -> float:
    """Exact unconditional p-value of 'A - B > d0' (side +1) or 'A - B < d0' (side -1).

    Margins outside (-1, 1) are decided logically: 'A - B > d0' is certain for d0 < -1, rejected at d0 = -1
    unless every item is (0, 1), and impossible for d0 >= 1.
    """
    if side < 0:
        return exact_p(c, b, n, -d0, +1)
    if d0 < -1:
        return 0.0                       # A - B >= -1 > d0: certain
    if d0 == -1:
        return 1.0 if (b == 0 and c == n) else 0.0
    if d0 >= 1:
        return 1.0
    return _p_greater(int(b), int(c), int(n), float(d0))


def asymptotic_bounds(b: int, c: int, n: int, alpha: float) -> tuple[float, float]:
    """Bounds that invert the asymptotic Tango test (bisection); used only to place the exact search."""
    z = float(-ndtri(alpha))

    def solve(target: float) -> float:
        lo, hi = -1.0, 1.0
        for _ in range(50):
            mid = (lo + hi) / 2
            if float(tango_z(b, c, n, mid)) > target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    return solve(z), solve(-z)


def exact_lower_bound(b: int, c: int, n: int, alpha: float, xtol: float = 1e-5) -> float:
    """One-sided (1 - alpha) lower bound of p10 - p01: the first margin from below that the exact test does
    not reject (see the module docstring); -1 when even d0 = -1 + 1e-12 is not rejected.

    Every margin below the bound that the scan or the closing steps evaluated was rejected; the value returned
    is the rejected end of the final bracket (width xtol), so it is on the conservative side.
    """
    return _lower_bound_cached(int(b), int(c), int(n), float(alpha), float(xtol))


@lru_cache(maxsize=20_000)
def _lower_bound_cached(b: int, c: int, n: int, alpha: float, xtol: float) -> float:
    floor, ceiling = -1.0 + _EDGE, 1.0 - _EDGE
    zt = float(-ndtri(alpha))

    def g(d: float) -> float:  # < 0 where 'A - B > d' is rejected (probit scale: nearly linear in d)
        return zt + float(ndtri(min(max(exact_p(b, c, n, d, +1), 1e-300), 1.0)))

    target = asymptotic_bounds(b, c, n, alpha)[0]
    x = asymptotic_bounds(b, c, n, alpha / 5)[0]
    step = max((target - x) / 8, 10 * xtol)
    x = max(x, floor)
    gx = g(x)
    while gx >= 0:                       # the start must be rejected; move down until it is
        if x <= floor:
            return -1.0
        x = max(x - 16 * step, floor)
        gx = g(x)
    while True:                          # scan up to the first non-rejected margin
        y = min(x + step, ceiling)
        gy = g(y)
        if gy >= 0:
            break
        if y >= ceiling:
            return ceiling
        x, gx = y, gy
    scan_lo = x - step
    while True:
        x, gx, y, gy = _illinois(g, x, gx, y, gy, xtol)
        later = [x - (x - scan_lo) * f for f in (1 / 3, 2 / 3)]
        missed = [d for d in later if scan_lo < d < x and g(d) >= 0]
        if not missed:
            return float(x)
        y = min(missed)
        gy = g(y)
        x = scan_lo
        gx = g(x)
        if gx >= 0:                      # fall back: the margin below the scan start is not rejected
            return float(max(scan_lo - step, floor)) if scan_lo > floor else -1.0


def _illinois(g, lo: float, glo: float, hi: float, ghi: float, xtol: float):
    """Shrink a bracket with g(lo) < 0 <= g(hi) to width xtol (modified regula falsi)."""
    last = 0
    while hi - lo > xtol:
        x = lo + (hi - lo) * (-glo) / (ghi - glo) if ghi != glo else (lo + hi) / 2
        x = min(max(x, lo + 0.25 * xtol), hi - 0.25 * xtol)
        gx = g(x)
        if gx < 0:
            lo, glo = x, gx
            if last < 0:
                ghi /= 2
            last = -1
        else:
            hi, ghi = x, gx
            if last > 0:
                glo /= 2
            last = 1
    return lo, glo, hi, ghi


def exact_bounds(b: int, c: int, n: int, alpha: float) -> tuple[float, float]:
    """(lower, upper) one-sided (1 - alpha) bounds of p10 - p01; the upper bound is minus the lower bound of
    the mirrored table (c, b), so 'A - B < t' is rejected exactly when t > upper."""
    return exact_lower_bound(b, c, n, alpha), -exact_lower_bound(c, b, n, alpha)


def _region_from_z(n: int, d0: float, z_crit: float) -> np.ndarray:
    """k_D for the region {Z >= z_crit} (ties within TIE included), for power calculations."""
    thr = z_crit - TIE * max(1.0, abs(z_crit)) if math.isfinite(z_crit) else z_crit
    D = np.arange(n + 1, dtype=float)
    lo, hi = np.zeros(n + 1), D + 1.0
    for _ in range(int(math.log2(n + 2)) + 2):
        mid = np.floor((lo + hi) / 2)
        bb = np.minimum(mid, D)
        ok = (tango_z(bb, D - bb, n, d0) >= thr) & (mid <= D)
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid + 1)
    return hi
