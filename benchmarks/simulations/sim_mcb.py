"""Rule 8: the best-model set (Hsu's constrained MCB, bootstrap critical value from a joint item bootstrap of the
studentized maximum, B = 999). K models on the same n items.
0/1 data: Y_ki = 1{a_k + u_i + e_ki > 0}, u ~ N(0, .5), e ~ N(0, .5) (item difficulty shared by the models), so
P(Y = 1) = Phi(a_k). Continuous: X_ki = mu_k + u_i + e_ki, u, e ~ N(0, 1).
Configurations: 'equal' (LFC: all means equal; 'true best' = model 0, and we also report P(any excluded));
'one_best' (model 0 better by +0.10 in accuracy / +0.5 in mean, others equal); 'graded' (model 0 best, the last model
clearly worse: accuracies .80, .75, (.75,) .60; means 0.5, 0.25, (0.25,) -0.5) for power.
Reported: P(true best excluded), simultaneous coverage of [L_i, max(U_i,0)] for theta_i = mu_i - max_{j!=i} mu_j,
P(the clearly worst model excluded) and mean set size.  R = 2000 per cell."""
import time, math, sys, warnings
import numpy as np
from scipy import stats as sps
import rules as R

warnings.filterwarnings("ignore")
t0 = time.time()
A, RR, B, BATCH = R.ALPHA, 2000, 999, 40
rng = np.random.default_rng(20240608)


def means_for(kind, K, binary):
    if binary:
        base = {"equal": [0.7] * K, "one_best": [0.8] + [0.7] * (K - 1),
                "graded": ([0.8, 0.75, 0.6] if K == 3 else [0.8, 0.75, 0.75, 0.6])}[kind]
    else:
        base = {"equal": [0.0] * K, "one_best": [0.5] + [0.0] * (K - 1),
                "graded": ([0.5, 0.25, -0.5] if K == 3 else [0.5, 0.25, 0.25, -0.5])}[kind]
    return np.array(base)


def draw(mu, n, Rr, binary):
    K = mu.size
    if binary:
        a = sps.norm.ppf(mu)
        u = rng.normal(0, math.sqrt(0.5), (Rr, 1, n))
        e = rng.normal(0, math.sqrt(0.5), (Rr, K, n))
        return (a[None, :, None] + u + e > 0).astype(float)
    return mu[None, :, None] + rng.normal(0, 1, (Rr, 1, n)) + rng.normal(0, 1, (Rr, K, n))


thr = A + 2 * R.mc_se(A, RR)
print(f"R = {RR}, B = {B}; pass if P(best excluded) <= {thr:.4f}")
print("data       K n    config   | P(best excl)  P(any excl)  sim.coverage | P(worst excl)  mean set size  mean c")
worst = 0.0
for binary in (True, False):
    for K in (3, 4):
        for n in (20, 50, 100):
            for kind in ("equal", "one_best", "graded"):
                mu = means_for(kind, K, binary)
                th = mu - np.array([np.max(np.delete(mu, i)) for i in range(K)])
                best_excl = any_excl = cover = worst_excl = size = cs = 0.0
                for s in range(0, RR, BATCH):
                    X = draw(mu, n, BATCH, binary)
                    W = R.bootstrap_weights(rng, n, B, (BATCH,))
                    out = R.mcb_from_weights(X, W, A)
                    best_excl += np.sum(~out["in_set"][:, 0])
                    any_excl += np.sum(~out["in_set"].all(1))
                    cover += np.sum(np.all((out["lower"] <= th + 1e-12) & (th <= out["upper"] + 1e-12), 1))
                    worst_excl += np.sum(~out["in_set"][:, -1])
                    size += out["in_set"].sum()
                    cs += out["c"].sum()
                be = best_excl / RR
                worst = max(worst, be)
                flag = "*" if be > thr else " "
                print(f"{'0/1' if binary else 'continuous':<10} {K} {n:<4} {kind:<8} | {be:.4f}{flag}       {any_excl / RR:.4f}       "
                      f"{cover / RR:.4f}       | {worst_excl / RR:.4f}         {size / RR:.2f}           {cs / RR:.3f}", flush=True)
print(f"worst P(true best excluded) = {worst:.4f}  (MC SE {R.mc_se(A, RR):.4f})")
print(f"run time {time.time() - t0:.1f}s")
