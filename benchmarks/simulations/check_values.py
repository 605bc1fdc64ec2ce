"""Check values from the spec and cross-checks of the prototypes (run: venv/bin/python check_values.py)."""
import math
import numpy as np
from scipy import stats as sps, optimize
from statsmodels.stats.weightstats import ttost_paired
import rules as R

out = []
def chk(name, got, want, tol=5e-5):
    ok = abs(got - want) <= tol
    out.append(ok)
    print(f"{'OK ' if ok else 'BAD'} {name}: got {got:.5f} want {want:.5f}")

b = R.proportion_exact(17, 20, 0.6)
chk("CP lower 17/20", b.lower, 0.6563); chk("CP upper 17/20", b.upper, 0.9578)
chk("exact p(p>=0.6) 17/20", b.p_at_least, 0.01596, 5e-6)
lo2, hi2 = R.cp_bounds_v(17, 20, 0.025); chk("CP two-sided lo", float(lo2), 0.6211); chk("CP two-sided hi", float(hi2), 0.9679)
for k, v in [(182, "SUPPORTED"), (178, "INCONCLUSIVE"), (160, "REFUTED")]:
    bb = R.proportion_exact(k, 200, 0.85)
    print(k, bb.verdict(0.85), round(bb.lower, 4), round(bb.upper, 4)); out.append(bb.verdict(0.85) == v)
chk("L 182/200", R.proportion_exact(182, 200, .85).lower, 0.8695)
chk("L 178/200", R.proportion_exact(178, 200, .85).lower, 0.8467); chk("U 178/200", R.proportion_exact(178, 200, .85).upper, 0.9243)
chk("U 160/200", R.proportion_exact(160, 200, .85).upper, 0.8454)
chk("McNemar 12/3 two-sided", R.mcnemar_exact_p(12, 3)[2], 0.0352)
s = np.array([1,1,0,1,0,1,1,1,0,1.]); chk("mean", s.mean(), .7); chk("SE", s.std(ddof=1)/math.sqrt(10), .1528)
m, se, lo, hi = R.t_bounds_v(np.array([0.2,0.5,0.9,0.4,0.7]), 0.025); chk("t lo", float(lo), .2045); chk("t hi", float(hi), .8755)
a = [0.9,0.8,0.85,0.7,0.95,0.6,0.75,0.8,0.9,0.65]; bq = [0.85,0.82,0.8,0.72,0.9,0.62,0.7,0.78,0.88,0.66]
chk("TOST paired (ours)", R.tost_paired_t(a, bq, 0.05)[1], 0.00490)
chk("TOST paired (statsmodels)", ttost_paired(np.array(a), np.array(bq), -0.05, 0.05)[0], 0.00490)
# sign-flip TOST (n = 10, exact) for comparison
d = np.array(a) - np.array(bq)
sf_lo = R.paired_sign_flip(d, -0.05); sf_hi = R.paired_sign_flip(d, 0.05)
print(f"    exact sign-flip TOST p = {max(sf_lo.p_at_least, sf_hi.p_at_most):.5f}; bounds [{sf_lo.lower:.4f}, {sf_lo.upper:.4f}]")
# sign-flip bounds invert the test
bb = R.paired_sign_flip(d, 0.0)
p_at_L = R.sign_flip_p_v(d, bb.lower + 1e-6, R._all_signs(10))[0][0]; p_below = R.sign_flip_p_v(d, bb.lower - 1e-6, R._all_signs(10))[0][0]
print(f"    sign-flip inversion: p just above L {p_at_L:.4f}, just below {p_below:.4f}"); out.append(p_below < .05 <= p_at_L)

# Tango: restricted MLE check by direct maximisation of the multinomial likelihood
def tango_direct(b, c, n, d0):
    a_ = n - b - c
    def nll(p01):
        p10 = p01 + d0; p11 = 1 - p10 - p01
        if p01 <= 0 or p10 <= 0 or p11 <= 0: return 1e10
        return -(b*np.log(p10) + c*np.log(p01) + a_*np.log(p11))
    lo = max(1e-9, -d0 + 1e-9); hi = (1 - d0) / 2 - 1e-9
    p01 = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol":1e-12}).x
    return (b - c - n*d0) / math.sqrt(n*(2*p01 + d0*(1-d0)))
for (b_, c_, n_, d0) in [(12, 3, 50, 0.1), (5, 9, 40, -0.1), (20, 4, 100, 0.05), (3, 0, 20, 0.0)]:
    chk(f"Tango Z b={b_} c={c_} n={n_} d0={d0}", float(R.tango_z_v(b_, c_, n_, d0)), tango_direct(b_, c_, n_, d0), 1e-4)
lo, hi = R.tango_bounds_v(12, 3, 50)
print(f"    Tango 95% one-sided bounds b=12 c=3 n=50: [{float(lo):.4f}, {float(hi):.4f}], z at L = {float(R.tango_z_v(12,3,50,lo)):.4f}")

# order-statistic bounds agree with scipy.stats.quantile_test
rng = np.random.default_rng(1)
for n in (59, 60, 100, 300):
    x = rng.lognormal(size=n)
    ours = R.quantile_orderstat(x, 1.0, 0.95)
    ci = sps.quantile_test(x, q=np.quantile(x, .95), p=.95).confidence_interval(0.90)
    print(f"    n={n}: ours [{ours.lower:.4f}, {ours.upper:.4f}]  scipy 90% two-sided [{ci.low:.4f}, {ci.high:.4f}]")
    out.append(abs(ours.upper - ci.high) < 1e-12 if np.isfinite(ci.high) else True)
print("    min n for p95 bounds (lower, upper):", R.min_n_orderstat(0.95))
# item-fraction rule with r = 1 equals order statistics
x = rng.lognormal(size=(100, 1)); a1 = R.quantile_item_fraction(x, 3.0); a2 = R.quantile_orderstat(x[:, 0], 3.0)
print(f"    item-fraction r=1 [{a1.lower:.4f}, {a1.upper:.4f}] p={a1.p_at_most:.5f} vs order stat [{a2.lower:.4f}, {a2.upper:.4f}] p={a2.p_at_most:.5f}")
out.append(abs(a1.upper - a2.upper) < 1e-12 and abs(a1.lower - a2.lower) < 1e-12 and abs(a1.p_at_most - a2.p_at_most) < 1e-9)
# weighted quantile equals np.quantile of the resampled sample
X = rng.lognormal(size=(30, 3)); idx = rng.integers(0, 30, 30)
flat = X.ravel(); order = np.argsort(flat); item_of = np.repeat(np.arange(30), 3)[order]
w = np.bincount(idx, minlength=30).astype(float)
chk("weighted linear quantile", float(R.weighted_linear_quantile_v(flat[order], w[None, item_of], .95)[0]), float(np.quantile(X[idx].ravel(), .95)), 1e-12)
# CR2: equal sizes -> C/(C-1) and df = C-1 ; unequal sizes df
y = rng.integers(0, 2, 60).astype(float); cl = np.repeat(np.arange(12), 5)
b = R.cr2_mean(y, cl, 0.5); cm = y.reshape(12, 5).mean(1)
chk("CR2 equal-size SE = t on cluster means", b.extra["se"], cm.std(ddof=1)/math.sqrt(12), 1e-12); chk("BM df equal sizes", b.extra["df"], 11, 1e-9)
cl2 = np.repeat(np.arange(12), [1,2,3,4,5,6,7,8,9,3,6,6])[:60]; print("    BM df unequal sizes (12 clusters):", round(R.cr2_mean(y, cl2, .5).extra["df"], 2))
# Johnson / Hall inversions agree with their tests
x = rng.lognormal(sigma=1.0, size=(1, 25))
for name, (lo, hi), st in [("hall", R.hall_bounds_v(x), lambda mu: R.hall_stat_v(x, mu)), ("johnson", R.johnson_bounds_v(x), lambda mu: R.johnson_stat_v(x, mu))]:
    q = sps.norm.isf(.05) if name == "hall" else sps.t.isf(.05, 24)
    print(f"    {name}: bounds [{float(lo[0]):.4f}, {float(hi[0]):.4f}], stat at L {float(st(lo)[0]):.4f} (q={q:.4f}), at U {float(st(hi)[0]) if np.isfinite(hi[0]) else float('nan'):.4f}")
print("    betting bounds on 30 item means:", R.mean_betting(rng.integers(0, 3, 30)/2, 0.5))
print("ALL OK" if all(out) else f"FAILURES: {out.count(False)}")

# ---- later additions: exact unconditional paired test, effective-n CP, MCB, power ----
ok2 = []
bx = R.paired_binary_exact([1]*12 + [0]*3 + [1]*20 + [0]*15, [0]*12 + [1]*3 + [1]*20 + [0]*15, 0.05)
bt = R.paired_binary_margin([1]*12 + [0]*3 + [1]*20 + [0]*15, [0]*12 + [1]*3 + [1]*20 + [0]*15, 0.05)
print(f"    paired 0/1 b=12 c=3 n=50, claim A-B >= 0.05: exact-unconditional p={bx.p_at_least:.4f} bounds [{bx.lower:.4f}, {bx.upper:.4f}];"
      f" asymptotic Tango p={bt.p_at_least:.4f} bounds [{bt.lower:.4f}, {bt.upper:.4f}]")
ok2.append((bx.p_at_least < .05) == (bx.lower > .05))
y = np.repeat([1, 2/3, 1/3, 0], [40, 6, 3, 1]); kgb = R.mean_kg(y, 0.85, 3, min_events=5)
cpb = R.mean_bounded_cp(y, 0.85)
print(f"    item means (50 items, 3 repeats): mean {y.mean():.4f}; effective-n CP [{kgb.lower:.4f}, {kgb.upper:.4f}] p(>=.85)={kgb.p_at_least:.4f};"
      f" real-k CP [{cpb.lower:.4f}, {cpb.upper:.4f}]; t [{R.mean_t(y, .85).lower:.4f}, {R.mean_t(y, .85).upper:.4f}]")
Xm = np.vstack([(rng.random(60) < p).astype(float) for p in (0.8, 0.75, 0.6)])
o = R.mcb_bootstrap(Xm, B=999, seed=3)
print(f"    MCB example: means {o['means'].round(3)}, c={o['c']:.3f}, in set {o['in_set']}, upper {o['upper'].round(3)}, lower {o['lower'].round(3)}")
print(f"    exact binomial power n=200 t=.85 p=.9: {R.power_exact_binomial(200, .85, .9):.4f}; McNemar power n=134 (.15,.05): {R.power_mcnemar_exact(134, .15, .05):.4f}")
xx = rng.lognormal(0, 1, (20000, 5)); print(f"    P(plain t lower bound < 0), lognormal sigma=1, n=5: {np.mean(R.t_bounds_v(xx)[2] < 0):.3f}")
print("ALL OK (additions)" if all(ok2) else "FAILURES in additions")
