"""Rule 3: mean of a skewed positive metric. Lognormal(0, sigma) data, true mean exp(sigma^2/2).
Both one-sided error rates at t = true mean: P(L > mu) (false SUPPORTED of 'mean >= t') and
P(U < mu) (false SUPPORTED of 'mean <= t').  Power: P(L > mu - 2.5 SE) and P(U < mu + 2.5 SE),
SE = true sd / sqrt(n).  Analytic rules: R = 20,000 (in chunks).  Bootstrap-t and BCa (B = 999):
R = 4,000 for n <= 200, R = 2,000 for n >= 300 (those only for sigma >= 0.75).
'combo' = lower bound of bootstrap-t, upper bound = max(bootstrap-t upper, Johnson upper)."""
import time, math, sys, warnings
import numpy as np
import rules as R

warnings.filterwarnings("ignore")
t0 = time.time()
A = R.ALPHA
R_AN, CH = 20000, 4000
B = 999
SIG = [0.25, 0.5, 0.75, 1.0]
NS = [5, 10, 15, 20, 30, 50, 100, 200, 300, 500, 1000]
rng = np.random.default_rng(20240603)
AN = ["t", "johnson", "hall_z", "hall_t"]
BOOT = ["boot_t", "bca", "combo"]
res = {}   # (method, sigma, n) -> [count L>mu, count U<mu, pow>=, pow<=, R]


def add(key, L, U, mu, se):
    v = np.array([np.sum(L > mu), np.sum(U < mu), np.sum(L > mu - 2.5 * se), np.sum(U < mu + 2.5 * se), L.size], float)
    res[key] = res.get(key, 0) + v


for sig in SIG:
    mu = math.exp(sig ** 2 / 2)
    sd = math.sqrt((math.exp(sig ** 2) - 1) * math.exp(sig ** 2))
    for n in NS:
        se = sd / math.sqrt(n)
        r_boot = 4000 if n <= 200 else (2000 if sig >= 0.75 else 0)
        for c in range(0, R_AN, CH):
            x = rng.lognormal(0.0, sig, size=(CH, n))
            m, s_, lo, hi = R.t_bounds_v(x)
            bounds = {"t": (np.maximum(lo, 0), hi), "johnson": R.johnson_bounds_v(x),
                      "hall_z": R.hall_bounds_v(x, dist="z"), "hall_t": R.hall_bounds_v(x, dist="t")}
            if c < r_boot:
                xb = x[: min(CH, r_boot - c)]
                bb = R.boot_t_and_bca_v(xb, B, rng)
                bounds.update(bb)
                bounds["combo"] = (bb["boot_t"][0], np.maximum(bb["boot_t"][1], bounds["johnson"][1][: xb.shape[0]]))
            for mth, (L, U) in bounds.items():
                assert np.all(L >= 0)
                add((mth, sig, n), L, U, mu, se)
        print(f"  done sigma={sig} n={n} ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)


def rates(mth, s, n):
    v = res.get((mth, s, n))
    return None if v is None else (v[:4] / v[4], int(v[4]))


def thr_of(Rm):
    return A + 2 * R.mc_se(A, Rm)


for mth in AN + BOOT:
    print(f"\n{mth}   cells: P(L>mu) P(U<mu) | power >=, <=   [* = fails alpha + 2 MC SE; R per cell in brackets]")
    print("  n    | " + " | ".join(f"sigma={s:<4}" + " " * 24 for s in SIG))
    for n in NS:
        cells = []
        for s in SIG:
            rr = rates(mth, s, n)
            if rr is None:
                cells.append(" " * 35)
                continue
            (fs, fr, pg, pl), Rm = rr
            flag = "*" if max(fs, fr) > thr_of(Rm) else " "
            cells.append(f"{fs:.4f} {fr:.4f}{flag}| {pg:.2f} {pl:.2f} [{Rm}]")
        print(f"  {n:<4} | " + " | ".join(cells))

print("\nSMALLEST grid n from which both rates <= alpha + 2 MC SE (MC SE 0.0015 at R=20000, 0.0034 at 4000, "
      "0.0049 at 2000) for that sigma and every larger grid n evaluated:")
for mth in AN + BOOT:
    per = {}
    for s in SIG:
        ns = [n for n in NS if rates(mth, s, n) is not None]
        ok = [max(rates(mth, s, n)[0][:2]) <= thr_of(rates(mth, s, n)[1]) for n in ns]
        per[s] = next((ns[i] for i in range(len(ns)) if all(ok[i:])), None)
        if per[s] is not None and ns and per[s] == ns[0] and False:
            pass
    overall = None if any(v is None for v in per.values()) else max(per.values())
    print(f"  {mth:<8} all sigma <= 1: n_min = {overall};  per sigma: {per}")
print("\nworst P(U<mu) at sigma=1 by n:", {n: round(rates(m, 1.0, n)[0][1], 4) for m in ["boot_t"] for n in NS if rates(m, 1.0, n)})
print(f"run time {time.time() - t0:.1f}s")
