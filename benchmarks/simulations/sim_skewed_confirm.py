"""Rule 3, confirmation at the binding case: lognormal sigma = 1 (and 0.5) at the candidate minimum n,
more replications for the bootstrap rules (B = 999). Reports the rates with their MC SE."""
import time, math, sys, warnings
import numpy as np
import rules as R

warnings.filterwarnings("ignore")
t0 = time.time()
rng = np.random.default_rng(777)
CASES = [(1.0, 300, 8000), (1.0, 500, 6000), (0.5, 100, 12000), (0.75, 200, 8000)]
for sig, n, Rr in CASES:
    mu = math.exp(sig ** 2 / 2)
    cnt = {}
    for c in range(0, Rr, 1000):
        x = rng.lognormal(0, sig, size=(1000, n))
        bb = R.boot_t_and_bca_v(x, 999, rng)
        jl, ju = R.johnson_bounds_v(x)
        bounds = {"boot_t": bb["boot_t"], "combo": (bb["boot_t"][0], np.maximum(bb["boot_t"][1], ju)),
                  "johnson": (jl, ju), "bca": bb["bca"]}
        for k, (L, U) in bounds.items():
            cnt[k] = cnt.get(k, 0) + np.array([np.sum(L > mu), np.sum(U < mu)])
    print(f"sigma={sig} n={n} R={Rr} (MC SE {R.mc_se(0.05, Rr):.4f}, pass <= {0.05 + 2 * R.mc_se(0.05, Rr):.4f}):")
    for k, v in cnt.items():
        a, b = v / Rr
        print(f"   {k:<8} P(L>mu) = {a:.4f} +/- {R.mc_se(a, Rr):.4f}   P(U<mu) = {b:.4f} +/- {R.mc_se(b, Rr):.4f}")
    print(f"   ({time.time() - t0:.0f}s)", flush=True)
print(f"run time {time.time() - t0:.1f}s")
