"""Rule 7: fairness gap = max_ij |p_i - p_j| over G groups of n_g items (0/1 scores).
Claim 'gap <= g' at true gap = g: false SUPPORTED = P(U_gap < g), false REFUTED = P(L_gap > g); coverage of
[L_gap, U_gap] (nominal 90%). Configurations: 'spread' (groups evenly spaced between c - g/2 and c + g/2) and
'split' (half the groups at each end: the most pairs at the gap).  Methods:
  newc_bonf      Newcombe hybrid-score pair intervals, Bonferroni alpha/K in each tail, both bounds
  newc_bonfL     Bonferroni for the lower bound of the gap, alpha per tail for its upper bound (the true gap is one pair)
  newc_naive     alpha per tail for every pair, both bounds (no multiplicity)
  maxt_boot      max-|t| stratified bootstrap (B = 999), Agresti-Caffo SEs, simultaneous for both bounds
  bca_maxmin     BCa bootstrap of max - min (baseline, B = 999)
Power: SUPPORTED rate at gap = max(0, g - 2.5 SE) and REFUTED rate at gap = g + 2.5 SE (spread configuration),
SE = sqrt(2 c (1 - c) / n_g) (the REFUTED truth capped so every group stays inside (0,1)).  R = 4000 per cell."""
import time, math, sys, warnings
from itertools import combinations
import numpy as np
from scipy import stats as sps
import rules as R

warnings.filterwarnings("ignore")
t0 = time.time()
A, RR, B = R.ALPHA, 4000, 999
rng = np.random.default_rng(20240607)
GS, NGS, GAPS, CENTRES = [2, 3, 5], [20, 50, 100], [0.1, 0.2], [0.5, 0.8]
METHODS = ["newc_bonf", "newc_bonfL", "newc_naive", "maxt_boot", "bca_maxmin"]


def config(G, c, g, kind):
    if kind == "spread":
        return np.linspace(c - g / 2, c + g / 2, G)
    h = G // 2
    return np.array([c - g / 2] * h + [c + g / 2] * (G - h))


def bounds_all(k, n, G):
    """k: (R, G) successes, n per group -> dict method -> (L_gap, U_gap)."""
    pairs = list(combinations(range(G), 2))
    K = len(pairs)
    i, j = np.array(pairs).T
    ki, kj = k[:, i], k[:, j]
    out = {}
    L, U = R.newcombe_v(ki, n, kj, n, A / K)
    La, Ua = R.newcombe_v(ki, n, kj, n, A)
    out["newc_bonf"] = R.gap_from_pairs(L, U)
    out["newc_bonfL"] = R.gap_from_pairs(L, U, La, Ua)
    out["newc_naive"] = R.gap_from_pairs(La, Ua)
    # bootstrap (stratified: within a group, resampling 0/1 items = Binomial(n, p_hat))
    Rr = k.shape[0]
    p = k / n
    kb = rng.binomial(n, np.broadcast_to(p[:, None, :], (Rr, B, G)))
    pb = kb / n
    def adj_se(kk):
        pt = (kk + 1) / (n + 2)
        return pt * (1 - pt) / (n + 2)
    se_obs = np.sqrt(adj_se(k)[:, i] + adj_se(k)[:, j])
    se_b = np.sqrt(adj_se(kb)[..., i] + adj_se(kb)[..., j])
    Dh = p[:, i] - p[:, j]
    Db = pb[..., i] - pb[..., j]
    T = np.abs(Db - Dh[:, None, :]) / se_b
    cval = np.quantile(T.max(-1), 1 - A, axis=1)
    Lm, Um = Dh - cval[:, None] * se_obs, Dh + cval[:, None] * se_obs
    out["maxt_boot"] = R.gap_from_pairs(Lm, Um)
    # BCa of max - min
    gap_hat = p.max(1) - p.min(1)
    gb = pb.max(-1) - pb.min(-1)
    below = (gb < gap_hat[:, None]).mean(1) + 0.5 * (gb == gap_hat[:, None]).mean(1)
    z0 = sps.norm.ppf(np.clip(below, 0.5 / B, 1 - 0.5 / B))
    # jackknife: leave one item out of group g (a 1 or a 0), weights = multiplicities
    jv, jw = [], []
    for gi in range(G):
        for val, mult in ((1, k[:, gi]), (0, n - k[:, gi])):
            pj = p.copy()
            pj[:, gi] = (k[:, gi] - val) / (n - 1)
            jv.append(pj.max(1) - pj.min(1))
            jw.append(mult)
    jv, jw = np.array(jv), np.array(jw, float)
    jm = (jv * jw).sum(0) / jw.sum(0)
    d = jm - jv
    den = 6 * ((jw * d ** 2).sum(0)) ** 1.5
    acc = np.where(den > 0, (jw * d ** 3).sum(0) / np.where(den > 0, den, 1), 0.0)
    srt = np.sort(gb, 1)
    def q(level):
        zz = sps.norm.ppf(level)
        lev = sps.norm.cdf(z0 + (z0 + zz) / (1 - acc * (z0 + zz)))
        pos = np.clip(lev * (B - 1), 0, B - 1)
        i0 = np.floor(pos).astype(int)
        i1 = np.minimum(i0 + 1, B - 1)
        r = np.arange(Rr)
        return srt[r, i0] + (pos - i0) * (srt[r, i1] - srt[r, i0])
    out["bca_maxmin"] = (q(A), q(1 - A))
    return out


def run(ps, n):
    res = {m: np.zeros(0) for m in METHODS}
    acc = {m: [] for m in METHODS}
    for c in range(0, RR, 1000):
        k = rng.binomial(n, np.broadcast_to(ps, (1000, ps.size)))
        b = bounds_all(k, n, ps.size)
        for m in METHODS:
            acc[m].append(b[m])
    return {m: (np.concatenate([x[0] for x in acc[m]]), np.concatenate([x[1] for x in acc[m]])) for m in METHODS}


thr = A + 2 * R.mc_se(A, RR)
print(f"R = {RR}, pass <= {thr:.4f}. cells: falseSUP / falseREF / coverage | power SUP, REF")
worst = {m: [0, None, 0, None, 1, None] for m in METHODS}
powers = {m: [] for m in METHODS}
for G in GS:
    for n in NGS:
        for g in GAPS:
            for c in CENTRES:
                for kind in (["spread"] if G == 2 else ["spread", "split"]):
                    ps = config(G, c, g, kind)
                    out = run(ps, n)
                    line = f"G={G} n={n:<3} gap={g} c={c} {kind:<6} |"
                    if kind == "spread":
                        se = math.sqrt(2 * c * (1 - c) / n)
                        o_lo = run(config(G, c, max(0.0, g - 2.5 * se), "spread"), n)
                        o_hi = run(config(G, c, min(g + 2.5 * se, 1.9 * min(c, 1 - c)), "spread"), n)
                    for m in METHODS:
                        L, U = out[m]
                        fs, fr, cov = np.mean(U < g), np.mean(L > g), np.mean((L <= g) & (g <= U))
                        w = worst[m]
                        if fs > w[0]: w[0:2] = fs, (G, n, g, c, kind)
                        if fr > w[2]: w[2:4] = fr, (G, n, g, c, kind)
                        if cov < w[4]: w[4:6] = cov, (G, n, g, c, kind)
                        flag = "*" if max(fs, fr) > thr else " "
                        pw = ""
                        if kind == "spread":
                            ps_, pr_ = np.mean(o_lo[m][1] < g), np.mean(o_hi[m][0] > g)
                            powers[m].append((ps_, pr_))
                            pw = f" {ps_:.2f},{pr_:.2f}"
                        line += f" {m} {fs:.3f}/{fr:.3f}/{cov:.3f}{flag}{pw} |"
                    print(line, flush=True)
print("\nWORST per method: false SUPPORTED, false REFUTED, lowest coverage (where); mean power SUP/REF")
for m in METHODS:
    w = worst[m]
    P = np.array(powers[m])
    print(f"  {m:<11} falseSUP {w[0]:.4f} at {w[1]}; falseREF {w[2]:.4f} at {w[3]}; coverage min {w[4]:.3f} at {w[5]}; "
          f"power {P[:, 0].mean():.2f}/{P[:, 1].mean():.2f}")
print(f"run time {time.time() - t0:.1f}s")
