"""Rule 3, a data-adaptive minimum n for the UPPER bound of a skewed mean (the side that fails).
Gate: s = SD of log(x); the upper bound (combo = max(bootstrap-t, Johnson)) is given only if
n >= n_min(s): s <= 0.25 -> 20, s <= 0.5 -> 100, s <= 0.75 -> 200, else no upper bound (INCONCLUSIVE).
Two gates: 'point' uses s itself, 'ucb' a one-sided 80% upper confidence bound s sqrt((n-1)/chi2_{0.2,n-1}).
Lower bound: bootstrap-t for n >= 10. Lognormal(0, sigma) data; R = 3000, B = 999."""
import time, math, sys, warnings
import numpy as np
from scipy import stats as sps
import rules as R

warnings.filterwarnings("ignore")
t0 = time.time()
A, RR, B = R.ALPHA, 3000, 999
rng = np.random.default_rng(4242)
TABLE = [(0.25, 20), (0.5, 100), (0.75, 200)]


def n_min(s):
    out = np.full(s.shape, 10 ** 9)
    for lim, nm in reversed(TABLE):
        out = np.where(s <= lim, nm, out)
    return out


print(f"R = {RR} per cell (MC SE at 0.05: {R.mc_se(A, RR):.4f}, pass <= {A + 2 * R.mc_se(A, RR):.4f})")
print("sigma n    | gate  P(U<mu)  share with U  power<=(mu+2.5SE) | P(L>mu) power>=")
worst = {"point": 0, "ucb": 0}
for sig in [0.25, 0.5, 0.75, 1.0]:
    mu = math.exp(sig ** 2 / 2)
    sd = math.sqrt((math.exp(sig ** 2) - 1) * math.exp(sig ** 2))
    for n in [20, 50, 100, 200, 300]:
        x = rng.lognormal(0, sig, size=(RR, n))
        s = np.log(x).std(1, ddof=1)
        ucb = s * math.sqrt((n - 1) / sps.chi2.ppf(0.2, n - 1))
        gate = {"point": n >= n_min(s), "ucb": n >= n_min(ucb)}
        U = np.full(RR, np.inf)
        L = np.zeros(RR)
        need = gate["point"] | gate["ucb"]
        bt_all = R.boot_t_and_bca_v(x, B, rng)["boot_t"] if need.all() else None
        if bt_all is None:
            idx = np.flatnonzero(need)
            # lower bounds need the bootstrap for every sample; do it in one pass
            bt_all = R.boot_t_and_bca_v(x, B, rng)["boot_t"]
        ju = R.johnson_bounds_v(x)[1]
        combo_u = np.maximum(bt_all[1], ju)
        L = bt_all[0]
        se = sd / math.sqrt(n)
        for g, ok in gate.items():
            Ug = np.where(ok, combo_u, np.inf)
            fr = np.mean(Ug < mu)
            worst[g] = max(worst[g], fr)
            flag = "*" if fr > A + 2 * R.mc_se(A, RR) else " "
            print(f"{sig:<5} {n:<4} | {g:<5} {fr:.4f}{flag}  {ok.mean():.3f}         {np.mean(Ug < mu + 2.5 * se):.3f}"
                  f"             | {np.mean(L > mu):.4f}  {np.mean(L > mu - 2.5 * se):.3f}")
        print(f"   ({time.time() - t0:.0f}s)", file=sys.stderr, flush=True)
print("worst P(U<mu):", {k: round(v, 4) for k, v in worst.items()})
print(f"run time {time.time() - t0:.1f}s")
