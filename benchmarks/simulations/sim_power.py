"""Rule 10: exact power, required n and minimum detectable effect for the exact binomial test and exact McNemar
(exact summation, not the normal approximation), with Monte Carlo checks (R = 20,000) of a few values and the
normal-approximation n of the current code (roadtest.stats.power.required_n_proportion formula) for contrast."""
import time, math
import numpy as np
from scipy import stats as sps
import rules as R

t0 = time.time()
A = R.ALPHA
rng = np.random.default_rng(20240610)
RR = 20000


def normal_n(t, p, alpha=A, power=0.8):
    za, zb = sps.norm.isf(alpha), sps.norm.ppf(power)
    return math.ceil(((za * math.sqrt(t * (1 - t)) + zb * math.sqrt(p * (1 - p))) / (p - t)) ** 2 - 1e-9)


print("EXACT BINOMIAL: claim p >= t (or <= t when the truth is below), alpha = 0.05 one-sided, 80% power")
print("  t     truth | n first  n stable | exact power at first | MC power at first (R=20000) | normal-approx n (exact power there)")
for t, p in [(0.85, 0.90), (0.85, 0.92), (0.85, 0.95), (0.9, 0.95), (0.5, 0.6), (0.8, 0.7), (0.95, 0.98)]:
    r = R.required_n_exact_binomial(t, p)
    side = "at_least" if p > t else "at_most"
    n1 = r["first"]
    pw = R.power_exact_binomial(n1, t, p, A, side)
    k = rng.binomial(n1, p, RR)
    lo, hi = R.cp_bounds_v(k, n1)
    mc = np.mean(lo > t) if side == "at_least" else np.mean(hi < t)
    nn = normal_n(t, p)
    print(f"  {t:<5} {p:<5} | {n1:<8} {r['stable']:<8} | {pw:.4f}               | {mc:.4f} +/- {R.mc_se(mc, RR):.4f}        | "
          f"{nn} ({R.power_exact_binomial(nn, t, p, A, side):.3f})")
print("\n  minimum detectable effect (truth - t) with 80% exact power, claim p >= t:")
for t in (0.5, 0.85, 0.9):
    print("   t=%-4s " % t + "  ".join(f"n={n}: {R.mde_exact_binomial(n, t):.4f}" for n in (20, 50, 100, 200, 500, 1000)))
print("   (NaN: no truth below 1 gives 80% power; the claim needs n >= log(0.05)/log(t) just to be decidable: "
      + ", ".join(f"t={t}: {math.ceil(math.log(0.05) / math.log(t))}" for t in (0.85, 0.9, 0.95)) + ")")
# MDE check by simulation
for n, t in [(100, 0.85), (200, 0.9)]:
    d = R.mde_exact_binomial(n, t)
    k = rng.binomial(n, t + d, RR)
    print(f"   MC check: n={n}, t={t}, truth t+MDE={t + d:.4f}: SUPPORTED rate {np.mean(R.cp_bounds_v(k, n)[0] > t):.4f} "
          f"(exact {R.power_exact_binomial(n, t, t + d):.4f})")

print("\nEXACT McNEMAR (one-sided, A better), 80% power; psi = p10 + p01 (discordance), Delta = p10 - p01")
print("  p10   p01  | n first  n stable | exact power | MC power (R=20000)        | normal approx n (discordant-pairs formula)")
for p10, p01 in [(0.15, 0.05), (0.10, 0.05), (0.20, 0.10), (0.25, 0.15), (0.06, 0.02)]:
    r = R.required_n_mcnemar(p10, p01)
    n1 = r["first"]
    pw = R.power_mcnemar_exact(n1, p10, p01)
    cells = rng.multinomial(n1, [p10, p01, 1 - p10 - p01], size=RR)
    b, c = cells[:, 0], cells[:, 1]
    d = b + c
    pg = np.where(d > 0, sps.binom.sf(b - 1, np.maximum(d, 1), 0.5), 1.0)
    mc = np.mean(pg < A)
    psi, dl = p10 + p01, p10 - p01
    za, zb = sps.norm.isf(A), sps.norm.ppf(0.8)
    nn = math.ceil((za * math.sqrt(psi) + zb * math.sqrt(psi - dl ** 2)) ** 2 / dl ** 2)
    print(f"  {p10:<5} {p01:<5} | {n1:<8} {r['stable']:<8} | {pw:.4f}      | {mc:.4f} +/- {R.mc_se(mc, RR):.4f}       | "
          f"{nn} (exact power {R.power_mcnemar_exact(nn, p10, p01):.3f})")
print("\n  minimum detectable Delta = p10 - p01 with 80% exact McNemar power:")
for psi in (0.1, 0.3, 0.5):
    print(f"   psi={psi}: " + "  ".join(f"n={n}: {R.mde_mcnemar(n, psi):.4f}" for n in (50, 100, 200, 500)))
print(f"run time {time.time() - t0:.1f}s")
