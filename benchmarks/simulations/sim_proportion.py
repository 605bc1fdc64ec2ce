"""Rule 1: exact one-sided binomial test / Clopper-Pearson bounds. EXACT enumeration over k (no Monte Carlo).
Size at p = t of: false SUPPORTED of 'p >= t' (L > t) and false REFUTED (U < t); exact power at t +/- 2.5 SE;
the v1 Wilson one-sided bounds for comparison."""
import time, math
import numpy as np
from scipy import stats as sps
import rules as R

t0 = time.time()
A = R.ALPHA
TS = [0.02, 0.05, 0.2, 0.5, 0.85, 0.9, 0.95]
NS = [10, 20, 35, 60, 100, 200, 500]
print("t     n    | CP: P(L>t)  P(U<t)  pow+   (truth)  pow-   (truth) | Wilson: P(L>t) P(U<t)")
worst = {"cp_sup": (0, None), "cp_ref": (0, None), "w_sup": (0, None), "w_ref": (0, None)}
rows = []
for t in TS:
    for n in NS:
        k = np.arange(n + 1)
        pmf = sps.binom.pmf(k, n, t)
        lo, hi = R.cp_bounds_v(k, n)
        pg, pl = R.binom_p_v(k, n, t)
        assert np.all((lo > t) == (pg < A)) and np.all((hi < t) == (pl < A)), "test/bound duality broken"
        s_sup, s_ref = pmf[lo > t].sum(), pmf[hi < t].sum()
        se = math.sqrt(t * (1 - t) / n)
        tp = min(t + 2.5 * se, 0.5 * (1 + t) if t + 2.5 * se >= 1 else 1)   # capped inside (0,1)
        tm = max(t - 2.5 * se, 0.5 * t if t - 2.5 * se <= 0 else 0)
        pow_p = sps.binom.pmf(k, n, tp)[lo > t].sum()
        pow_m = sps.binom.pmf(k, n, tm)[hi < t].sum()
        wl, wh = R.wilson_bounds_v(k, n)
        w_sup, w_ref = pmf[wl > t].sum(), pmf[wh < t].sum()
        for key, v in [("cp_sup", s_sup), ("cp_ref", s_ref), ("w_sup", w_sup), ("w_ref", w_ref)]:
            if v > worst[key][0]:
                worst[key] = (v, (t, n))
        rows.append((t, n, s_sup, s_ref, pow_p, tp, pow_m, tm, w_sup, w_ref))
        print(f"{t:<5} {n:<4} |     {s_sup:.4f}  {s_ref:.4f}  {pow_p:.3f} ({tp:.3f})  {pow_m:.3f} ({tm:.3f}) |  "
              f"{w_sup:.4f}{'*' if w_sup > A else ' '} {w_ref:.4f}{'*' if w_ref > A else ' '}")
print("\nworst case (exact, no MC error):")
for key, (v, where) in worst.items():
    print(f"  {key}: {v:.4f} at (t, n) = {where}")
nw = sum(1 for r in rows if r[8] > A or r[9] > A)
print(f"Wilson exceeds alpha on at least one side in {nw} of {len(rows)} (t, n) cells")
print(f"Wilson cells over 0.06: {[(r[0], r[1], round(max(r[8], r[9]), 4)) for r in rows if max(r[8], r[9]) > 0.06]}")
print("smallest n at which 'p >= t' can be SUPPORTED at all (k = n gives L = alpha^(1/n) > t):",
      {t: math.ceil(math.log(A) / math.log(t) + 1e-12) for t in TS})
print("smallest n at which 'p >= t' can be REFUTED at all (k = 0 gives U = 1 - alpha^(1/n) < t):",
      {t: math.ceil(math.log(A) / math.log(1 - t) + 1e-12) for t in TS})
print(f"run time {time.time() - t0:.1f}s")
