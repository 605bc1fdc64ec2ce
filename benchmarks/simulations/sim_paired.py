"""Rule 6: paired comparisons.
Part A, 0/1 scores (EXACT enumeration over the trinomial (b, c, rest), no Monte Carlo): p10 = P(A right, B wrong),
p01 = P(A wrong, B right), discordance psi = p10 + p01, Delta = p10 - p01.
  Tango score test at the margin (and the interval that inverts it): claim 'A - B >= d0' SUPPORTED iff Z(d0) > z_.95
  (<=> L > d0), REFUTED iff Z(d0) < -z_.95 (<=> U < d0). Superiority by margin d0 in {0, .05, .1}; non-inferiority
  d0 = -m, m in {.05, .1}; equivalence |Delta| < m by TOST (L > -m and U < m), REFUTED when L >= m or U <= -m.
  Wald test (unrestricted variance) as a baseline; exact McNemar (conditional) for margin 0.
Part B, continuous paired differences (Monte Carlo, R = 10,000): paired t and the sign-flip test at the boundary."""
import time, math, sys, warnings
import numpy as np
from scipy import stats as sps
from scipy.special import gammaln
import rules as R

warnings.filterwarnings("ignore")
t0 = time.time()
A = R.ALPHA
Z = sps.norm.isf(A)
NS, PSIS = [20, 50, 100, 200], [0.1, 0.3, 0.5]


def grid(n):
    b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    ok = b + c <= n
    return b[ok].astype(float), c[ok].astype(float)


def probs(n, b, c, p10, p01):
    q = 1 - p10 - p01
    with np.errstate(divide="ignore"):
        lp = (gammaln(n + 1) - gammaln(b + 1) - gammaln(c + 1) - gammaln(n - b - c + 1)
              + np.where(b > 0, b * np.log(max(p10, 1e-300)), 0) + np.where(c > 0, c * np.log(max(p01, 1e-300)), 0)
              + np.where(n - b - c > 0, (n - b - c) * np.log(max(q, 1e-300)), 0))
    return np.exp(lp)


def wald_z(b, c, n, d0):
    d = (b - c) / n
    v = ((b + c) / n - d ** 2) / n
    with np.errstate(all="ignore"):
        z = (d - d0) / np.sqrt(v)
    return np.where(v > 0, z, np.where(d > d0, np.inf, np.where(d < d0, -np.inf, 0)))


print("PART A (exact). cells: P(false SUPPORTED) / P(false REFUTED) at the boundary; '*' > alpha")
worst = {}
rowsA = []
cache = {n: grid(n) for n in NS}
for n in NS:
    b, c = cache[n]
    tz = {d0: R.tango_z_v(b, c, n, d0) for d0 in (-0.1, -0.05, 0.0, 0.05, 0.1)}
    wz = {d0: wald_z(b, c, n, d0) for d0 in (-0.1, -0.05, 0.0, 0.05, 0.1)}
    ex = {}
    for d0 in (-0.1, -0.05, 0.0, 0.05, 0.1):
        bb, cc, pg_, pl_ = R.tango_exact_pvalues(n, d0, n_psi=300)
        assert np.array_equal(bb, b) and np.array_equal(cc, c)
        ex[d0] = (pg_, pl_)
    d = b + c
    mc_g = np.where(d > 0, sps.binom.sf(b - 1, d, 0.5), 1.0)   # exact McNemar, claim A better
    mc_l = np.where(d > 0, sps.binom.cdf(b, d, 0.5), 1.0)
    for psi in PSIS:
        for d0 in (0.0, 0.05, 0.1, -0.05, -0.1):
            if abs(d0) > psi:
                continue
            p10, p01 = (psi + d0) / 2, (psi - d0) / 2
            P = probs(n, b, c, p10, p01)
            fs, fr = P[tz[d0] > Z].sum(), P[tz[d0] < -Z].sum()
            ws, wr = P[wz[d0] > Z].sum(), P[wz[d0] < -Z].sum()
            es, er = P[ex[d0][0] < A].sum(), P[ex[d0][1] < A].sum()
            worst["exact_tango"] = max(worst.get("exact_tango", 0), es, er)
            se = math.sqrt((psi - d0 ** 2) / n)
            dp = d0 + 2.5 * se
            Pp = probs(n, b, c, (psi + dp) / 2, (psi - dp) / 2) if abs(dp) <= psi else None
            pw = Pp[tz[d0] > Z].sum() if Pp is not None else float("nan")
            pwe = Pp[ex[d0][0] < A].sum() if Pp is not None else float("nan")
            kind = "superiority" if d0 > 0 else ("margin 0" if d0 == 0 else "non-inferiority")
            extra = ""
            if d0 == 0:
                ms, mr = P[mc_g < A].sum(), P[mc_l < A].sum()
                dis = P[(mc_g < A) != (tz[0.0] > Z)].sum()
                extra = f" | exact McNemar {ms:.4f}/{mr:.4f}; P(McNemar and Tango disagree) {dis:.4f}"
                worst["mcnemar"] = max(worst.get("mcnemar", 0), ms, mr)
            worst["tango"] = max(worst.get("tango", 0), fs, fr)
            worst["wald"] = max(worst.get("wald", 0), ws, wr)
            if fs > worst.get("tango_where", (0,))[0]:
                worst["tango_where"] = (fs, n, psi, d0, "SUP")
            if fr > worst.get("tango_where", (0,))[0]:
                worst["tango_where"] = (fr, n, psi, d0, "REF")
            print(f"  n={n:<3} psi={psi} {kind:<15} d0={d0:+.2f} | Tango {fs:.4f}{'*' if fs > A else ' '}/{fr:.4f}{'*' if fr > A else ' '}"
                  f" power(Delta=d0+2.5SE={dp:+.3f}) {pw:.2f} | exact-uncond. {es:.4f}{'*' if es > A else ' '}/{er:.4f}{'*' if er > A else ' '} power {pwe:.2f} | Wald {ws:.4f}{'*' if ws > A else ' '}/{wr:.4f}{'*' if wr > A else ' '}{extra}")
    # equivalence (TOST with Tango): SUPPORTED iff Z(-m) > z and Z(m) < -z; REFUTED iff Z(m) > z or Z(-m) < -z
    for psi in PSIS:
        for m in (0.05, 0.1):
            if m > psi:
                continue
            sup = (tz[-m] > Z) & (tz[m] < -Z)
            ref = (tz[m] > Z) | (tz[-m] < -Z)
            out = []
            for Dl in (m, -m, 0.0):
                P = probs(n, b, c, (psi + Dl) / 2, (psi - Dl) / 2)
                out.append((P[sup].sum(), P[ref].sum()))
            worst["tost"] = max(worst.get("tost", 0), out[0][0], out[1][0], out[0][1], out[1][1])
            print(f"  n={n:<3} psi={psi} equivalence m={m:.2f} | at Delta=+m: SUP {out[0][0]:.4f} REF {out[0][1]:.4f} | "
                  f"at Delta=-m: SUP {out[1][0]:.4f} REF {out[1][1]:.4f} | at Delta=0: power SUP {out[2][0]:.3f}, REF {out[2][1]:.4f}")
print("worst exact rates: Tango %.4f %s; exact-unconditional Tango-ordered %.4f; Wald %.4f; exact McNemar %.4f; Tango-TOST %.4f" % (
    worst["tango"], worst["tango_where"], worst["exact_tango"], worst["wald"], worst["mcnemar"], worst["tost"]))

# ---------------- Part B: continuous paired differences ----------------
print("\nPART B (Monte Carlo, R = 10000; pass <= %.4f). Claim mean(d) >= m at the boundary mean(d) = m." % (A + 2 * R.mc_se(A, 10000)))
rng = np.random.default_rng(20240606)
RR = 10000
SHAPES = {
    "normal": lambda size: rng.normal(0, 1, size),
    "skewed gamma(2)": lambda size: (rng.gamma(2.0, 1.0, size) - 2.0) / math.sqrt(2),
    "discrete {-1,0,1,2}/4": lambda size: (rng.choice([-1, 0, 1, 2], p=[0.2, 0.5, 0.2, 0.1], size=size) - 0.2) / math.sqrt(0.76),
}
for name, draw in SHAPES.items():
    for n in [10, 15, 20, 30, 50, 100]:
        d = 0.05 + 0.1 * draw((RR, n))      # mean 0.05 = the margin, SD 0.1
        m_, se, lo, hi = R.t_bounds_v(d)
        ts, tr = np.mean(lo > 0.05), np.mean(hi < 0.05)
        pow_t = np.mean(R.t_bounds_v(d + 2.5 * 0.1 / math.sqrt(n))[2] > 0.05)
        hl, hh = R.hall_bounds_v(d - 0.05 + 10.0, dist="t")   # shift to keep the (unused) clip at 0 inactive
        hs, hr = np.mean(hl - 10.0 > 0), np.mean(hh - 10.0 < 0)
        line = f"  {name:<22} n={n:<3} paired t {ts:.4f}/{tr:.4f} (power {pow_t:.2f}) | Hall t {hs:.4f}/{hr:.4f}"
        if n <= 20:
            S = R._all_signs(n) if n <= 12 else np.where(rng.random((4000, n)) < 0.5, -1.0, 1.0)
            pg, pl = R.sign_flip_p_v(d, 0.05, S)
            pg2, _ = R.sign_flip_p_v(d + 2.5 * 0.1 / math.sqrt(n), 0.05, S)
            line += (f" | sign-flip ({'exact' if n <= 12 else '4000 random flips'}) {np.mean(pg < A):.4f}/{np.mean(pl < A):.4f}"
                     f" (power {np.mean(pg2 < A):.2f})")
        print(line, flush=True)
print(f"run time {time.time() - t0:.1f}s")
