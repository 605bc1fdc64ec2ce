"""Rule 9: the family of a decision with m criteria.
decision 'all': SUPPORTED iff every criterion SUPPORTED at alpha (intersection-union); REFUTED iff some criterion is
REFUTED after Holm over the m criteria.  decision 'any': SUPPORTED iff some criterion SUPPORTED after Holm; REFUTED iff
every criterion REFUTED at alpha.
Criteria: (a) z-tests, z_j ~ N(theta_j, 1) (theta = 0 at the boundary, +-4 'clearly' true/false), independent or
equicorrelated (rho = 0.5); (b) exact binomial criteria (n = 100, claim p >= 0.8; boundary p = 0.8, clearly true 0.92,
clearly false 0.68). R = 100,000 per scenario."""
import time, math
import numpy as np
from scipy import stats as sps
import rules as R

t0 = time.time()
A, RR = R.ALPHA, 100000
rng = np.random.default_rng(20240609)


def pvals_z(theta, rho):
    m = len(theta)
    common = rng.normal(size=(RR, 1))
    z = np.asarray(theta) + math.sqrt(rho) * common + math.sqrt(1 - rho) * rng.normal(size=(RR, m))
    return sps.norm.sf(z), sps.norm.cdf(z)


def pvals_binom(ps, n=100, t=0.8):
    k = rng.binomial(n, np.broadcast_to(np.asarray(ps), (RR, len(ps))))
    pg, pl = R.binom_p_v(k, n, t)
    return pg, pl


thr = A + 2 * R.mc_se(A, RR)
print(f"R = {RR}; pass <= {thr:.4f}")
rows = []
for m in (3, 5):
    for label, gen in [("z indep", lambda th: pvals_z(th, 0.0)), ("z rho=.5", lambda th: pvals_z(th, 0.5)),
                       ("binomial", None)]:
        def P(kind):  # parameter vectors per scenario
            if label == "binomial":
                val = {"bound": 0.8, "true": 0.92, "false": 0.68}
                mk = lambda lst: pvals_binom([val[x] for x in lst])
            else:
                val = {"bound": 0.0, "true": 4.0, "false": -4.0}
                mk = lambda lst: gen([val[x] for x in lst])
            return mk(kind)
        sc = {
            "all: false SUP, 1 at boundary, rest clearly true": ("all", ["bound"] + ["true"] * (m - 1), "sup"),
            "all: false SUP, all at boundary": ("all", ["bound"] * m, "sup"),
            "all: false REF, all at boundary": ("all", ["bound"] * m, "ref"),
            "all: false REF, 1 at boundary, rest true": ("all", ["bound"] + ["true"] * (m - 1), "ref"),
            "any: false SUP, all at boundary": ("any", ["bound"] * m, "sup"),
            "any: false SUP, 1 at boundary, rest false": ("any", ["bound"] + ["false"] * (m - 1), "sup"),
            "any: false REF, 1 at boundary, rest clearly false": ("any", ["bound"] + ["false"] * (m - 1), "ref"),
            "any: false REF, all at boundary": ("any", ["bound"] * m, "ref"),
            "all: power SUP, all clearly true": ("all", ["true"] * m, "sup"),
            "any: power SUP, 1 clearly true, rest boundary": ("any", ["true"] + ["bound"] * (m - 1), "sup"),
        }
        for name, (dec, kinds, what) in sc.items():
            pg, pl = P(kinds)
            sup, ref = R.family_v(pg, pl, dec)
            rate = (sup if what == "sup" else ref).mean()
            is_err = "power" not in name
            flag = "*" if (is_err and rate > thr) else " "
            rows.append((m, label, name, rate, is_err))
            print(f"  m={m} {label:<9} {name:<52} {rate:.4f}{flag}")
worst = max(r[3] for r in rows if r[4])
print(f"worst error rate over all scenarios: {worst:.4f}")
# Holm vs the naive 'any criterion refuted at alpha' for decision all (what Holm buys)
for m in (3, 5):
    pg, pl = pvals_z([0.0] * m, 0.0)
    print(f"  m={m}: P(some criterion refuted at unadjusted alpha | all at boundary) = {np.mean(np.any(pl < A, 1)):.4f} (no Holm)")
print(f"run time {time.time() - t0:.1f}s")
