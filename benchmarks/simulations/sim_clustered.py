"""Rule 5: clustered proportions. C clusters x m items; cluster rate p_c ~ Beta(mean mu, ICC rho)
(a + b = 1/rho - 1); items Bernoulli(p_c). Claim 'p >= t' at mu = t: false SUPPORTED (L > t), false REFUTED (U < t).
Rules: CR2 (Bell-McCaffrey) t(C-1) - for equal sizes identical to a t-test on cluster means (checked in check_values.py);
CR2 with zero SE -> INCONCLUSIVE ('cr2_guard'); real-k Clopper-Pearson on cluster means ('cm_cp', C units);
effective-n CP on cluster means (kg with m 'repeats', 5-event guard, 'cm_kg'; or >= 5 informative clusters,
'cm_kg_u5'); Hall's skewness-corrected t on cluster means with t(C-1) quantiles ('cr2_hall_t', zero SE -> INCONCLUSIVE); naive exact binomial on all C m items.
Power: SUPPORTED at mu = t + 2.5 SE, REFUTED at mu = t - 2.5 SE (true clustered SE; capped inside (0,1))."""
import time, math, sys, warnings
import numpy as np
import rules as R

warnings.filterwarnings("ignore")
t0 = time.time()
A, RR = R.ALPHA, 20000
rng = np.random.default_rng(20240605)
CS, MS, ICCS, TS = [5, 10, 15, 20, 40], [5, 12], [0.05, 0.1, 0.2, 0.3], [0.5, 0.85]
METHODS = ["cr2", "cr2_guard", "cr2_hall_t", "cm_cp", "cm_kg", "cm_kg_u5", "naive_binom"]


def draw(mu, rho, C, m):
    k = 1 / rho - 1
    p = rng.beta(mu * k, (1 - mu) * k, size=(RR, C))
    return rng.binomial(m, p) / m          # cluster means (equal sizes)


def decide(cm, t, m):
    C = cm.shape[1]
    out = {}
    mean, se, lo, hi = R.cr2_equal_v(cm)
    out["cr2"] = (lo > t, hi < t)
    deg = se == 0
    out["cr2_guard"] = ((lo > t) & ~deg, (hi < t) & ~deg)
    lo, hi = R.hall_bounds_v(cm, dist="t")
    out["cr2_hall_t"] = ((lo > t) & ~deg, (hi < t) & ~deg)
    lo, hi, _, _ = R.kg_bounded_v(cm, t, m, min_units=5)
    out["cm_kg_u5"] = (lo > t, hi < t)
    lo, hi, _, _ = R.bounded_cp_v(cm, t)
    out["cm_cp"] = (lo > t, hi < t)
    lo, hi, _, _ = R.kg_bounded_v(cm, t, m, min_events=5)
    out["cm_kg"] = (lo > t, hi < t)
    k = np.rint(cm * m).sum(1)
    lo, hi = R.cp_bounds_v(k, C * m)
    out["naive_binom"] = (lo > t, hi < t)
    return out


thr = A + 2 * R.mc_se(A, RR)
print(f"R = {RR}; pass <= {thr:.4f}. cells: falseSUP/falseREF (power SUP/REF)")
res = {}
for t in TS:
    for m in MS:
        for rho in ICCS:
            for C in CS:
                se = math.sqrt(t * (1 - t) * (1 + (m - 1) * rho) / (C * m))
                mup = t + 2.5 * se if t + 2.5 * se < 1 else (1 + t) / 2
                mum = t - 2.5 * se
                d0, dp, dm = decide(draw(t, rho, C, m), t, m), decide(draw(mup, rho, C, m), t, m), decide(draw(mum, rho, C, m), t, m)
                for k in METHODS:
                    res[(k, t, m, rho, C)] = (d0[k][0].mean(), d0[k][1].mean(), dp[k][0].mean(), dm[k][1].mean())
for k in METHODS:
    print(f"\n{k}")
    for t in TS:
        for m in MS:
            for rho in ICCS:
                line = f"  t={t} m={m:<2} icc={rho:<4} |"
                for C in CS:
                    v = res[(k, t, m, rho, C)]
                    flag = "*" if max(v[:2]) > thr else " "
                    line += f" C={C:<2} {v[0]:.3f}/{v[1]:.3f}{flag}({v[2]:.2f}/{v[3]:.2f}) |"
                print(line)
print("\nworst rates by number of clusters (over t, m, icc):")
for k in METHODS:
    line = f"  {k:<12}"
    for C in CS:
        ws = max(res[(k, t, m, r, C)][0] for t in TS for m in MS for r in ICCS)
        wr = max(res[(k, t, m, r, C)][1] for t in TS for m in MS for r in ICCS)
        pw = np.mean([res[(k, t, m, r, C)][2] for t in TS for m in MS for r in ICCS])
        line += f" C={C}: {ws:.3f}/{wr:.3f}{'*' if max(ws, wr) > thr else ' '} pow {pw:.2f} |"
    print(line)
    where = max(((res[key][0], key[1:]) for key in res if key[0] == k), key=lambda z: z[0])
    print(f"      worst false SUPPORTED {where[0]:.4f} at (t, m, icc, C) = {where[1]}")
print(f"run time {time.time() - t0:.1f}s")
