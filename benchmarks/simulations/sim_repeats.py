"""Rule 2: proportion with repeats. n items, r repeats scored 0/1, item score y_i = mean of its repeats.
Item success probability p_i ~ Beta(mean mu, concentration kappa) (kappa = inf: p_i = mu for all items).
At the boundary mu = t: false SUPPORTED (L > t) and false REFUTED (U < t) of the claim 'mean item score >= t'.
Power: SUPPORTED rate at mu = t + 2.5 SE and REFUTED rate at mu = t - 2.5 SE (capped inside (0,1))."""
import time, math, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
from scipy import stats as sps
import rules as R

t0 = time.time()
A = R.ALPHA
REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
rng = np.random.default_rng(20240602)
TS, RS, NS, KS = [0.5, 0.9], [1, 2, 3], [10, 20, 50, 100], [0.5, 2.0, 10.0, 50.0, math.inf]
METHODS = ["t", "t_guard", "hall_guard", "cp_real", "kg", "kg0", "kg_e5", "kg_e10", "kg_u5", "hall_t_guard", "bern_rand", "hoeffding", "betting"]


def draw(mu, kappa, n, r, R_):
    if math.isinf(kappa):
        p = np.full((R_, n), mu)
    else:
        p = rng.beta(mu * kappa, (1 - mu) * kappa, size=(R_, n))
    return rng.binomial(r, p) / r


def decide(y, t, r):
    """dict method -> (supported, refuted) boolean arrays for the claim 'mean >= t'."""
    out = {}
    m, se, lo, hi = R.t_bounds_v(y)
    out["t"] = (lo > t, hi < t)
    deg = se == 0
    out["t_guard"] = ((lo > t) & ~deg, (hi < t) & ~deg)        # s = 0 -> INCONCLUSIVE
    lo, hi = R.hall_bounds_v(y)
    out["hall_guard"] = ((lo > t) & ~deg, (hi < t) & ~deg)
    lo, hi, pg, pl = R.kg_bounded_v(y, t, r)
    out["kg"] = (lo > t, hi < t)
    lo, hi, pg, pl = R.kg_bounded_v(y, t, r, df_adjust=False)
    out["kg0"] = (lo > t, hi < t)
    for e in (5, 10):
        lo, hi, pg, pl = R.kg_bounded_v(y, t, r, min_events=e)
        out[f"kg_e{e}"] = (lo > t, hi < t)
    lo, hi, pg, pl = R.kg_bounded_v(y, t, r, min_units=5)
    out["kg_u5"] = (lo > t, hi < t)
    lo, hi = R.hall_bounds_v(y, dist="t")
    out["hall_t_guard"] = ((lo > t) & ~deg, (hi < t) & ~deg)
    lo, hi, pg, pl = R.bounded_cp_v(y, t)
    out["cp_real"] = (lo > t, hi < t)
    lo, hi, pg, pl = R.bernoulli_randomised_v(y, t, rng)
    out["bern_rand"] = (lo > t, hi < t)
    lo, hi, pg, pl = R.hoeffding_v(y, t)
    out["hoeffding"] = (lo > t, hi < t)
    pg, pl = R.betting_p_v(y, t)
    out["betting"] = (pg < A, pl < A)
    return out


def sd_item(mu, kappa, r):
    vp = 0.0 if math.isinf(kappa) else mu * (1 - mu) / (kappa + 1)
    return math.sqrt(vp + (mu * (1 - mu) - vp) / r)


thr = A + 2 * R.mc_se(A, REPS)
print(f"R = {REPS} per cell; MC SE at 0.05 = {R.mc_se(A, REPS):.4f}; pass if <= {thr:.4f}")
print("columns per method: falseSUP falseREF | power SUP (mu+) power REF (mu-)")
worst = {m: [0.0, None, 0.0, None] for m in METHODS}
fail_cells = {m: [] for m in METHODS}
powers = {m: [] for m in METHODS}
for t in TS:
    for r in RS:
        for n in NS:
            for kappa in KS:
                if r == 1 and kappa != math.inf:
                    continue            # with one repeat kappa does not matter (y is Bernoulli(p_i): Bernoulli(mu))
                y = draw(t, kappa, n, r, REPS)
                res = decide(y, t, r)
                se = sd_item(t, kappa, r) / math.sqrt(n)
                mup = t + 2.5 * se if t + 2.5 * se < 1 else (1 + t) / 2
                mum = t - 2.5 * se if t - 2.5 * se > 0 else t / 2
                resp = decide(draw(mup, kappa, n, r, REPS), t, r)
                resm = decide(draw(mum, kappa, n, r, REPS), t, r)
                line = f"t={t} r={r} n={n:<3} k={kappa:<4} |"
                for mth in METHODS:
                    fs, fr = res[mth][0].mean(), res[mth][1].mean()
                    ps, pr = resp[mth][0].mean(), resm[mth][1].mean()
                    powers[mth].append((t, r, n, kappa, ps, pr))
                    if fs > worst[mth][0]:
                        worst[mth][:2] = fs, (t, r, n, kappa)
                    if fr > worst[mth][2]:
                        worst[mth][2:] = fr, (t, r, n, kappa)
                    if fs > thr or fr > thr:
                        fail_cells[mth].append((t, r, n, kappa, round(fs, 4), round(fr, 4)))
                    flag = "*" if (fs > thr or fr > thr) else " "
                    line += f" {mth}:{fs:.3f}/{fr:.3f}{flag}|{ps:.2f}/{pr:.2f}"
                print(line, f" mu+={mup:.3f} mu-={mum:.3f}", flush=True)

print("\nSUMMARY (worst false SUPPORTED, worst false REFUTED, cells failing, mean power SUP/REF):")
for mth in METHODS:
    w = worst[mth]
    P = np.array([p[4:] for p in powers[mth]])
    print(f"  {mth:<10} falseSUP max {w[0]:.4f} at {w[1]}; falseREF max {w[2]:.4f} at {w[3]}; "
          f"failing cells {len(fail_cells[mth])}; mean power {P[:, 0].mean():.3f}/{P[:, 1].mean():.3f}")
    if fail_cells[mth]:
        print("      fails (t, r, n, kappa, fS, fR):", fail_cells[mth][:14], "..." if len(fail_cells[mth]) > 14 else "")
print("\nPower by n (averaged over t, r>=2, kappa), SUPPORTED at mu+ / REFUTED at mu-:")
for n in NS:
    s = "  n=%-4d" % n
    for mth in METHODS:
        P = np.array([p[4:] for p in powers[mth] if p[2] == n and p[1] >= 2])
        s += f" {mth}:{P[:, 0].mean():.2f}/{P[:, 1].mean():.2f}"
    print(s)
print(f"run time {time.time() - t0:.1f}s")

# ---- stress test of the recommended rule beyond the brief's grid: t = 0.75, 0.97 and r = 5 ----
print("\nSTRESS (kg variants, cp_real, t): t in {0.75, 0.97}, r in {3, 5}, n in {20, 50, 100, 300}, kappa in {0.5, 2, 10, inf}")
t1 = time.time()
sw = {m: (0.0, None, 0.0, None) for m in ["kg", "kg0", "kg_e5", "kg_e10", "kg_u5", "hall_t_guard", "cp_real", "t"]}
for t in [0.75, 0.97]:
    for r in [3, 5]:
        for n in [20, 50, 100, 300]:
            for kappa in [0.5, 2.0, 10.0, math.inf]:
                res = decide(draw(t, kappa, n, r, REPS), t, r)
                for mth in sw:
                    fs, fr = res[mth][0].mean(), res[mth][1].mean()
                    w = list(sw[mth])
                    if fs > w[0]: w[0:2] = fs, (t, r, n, kappa)
                    if fr > w[2]: w[2:4] = fr, (t, r, n, kappa)
                    sw[mth] = tuple(w)
for mth, w in sw.items():
    print(f"  {mth:<8} worst falseSUP {w[0]:.4f} at {w[1]}; worst falseREF {w[2]:.4f} at {w[3]}  (pass <= {thr:.4f})")
print(f"stress run time {time.time() - t1:.1f}s; total {time.time() - t0:.1f}s")
