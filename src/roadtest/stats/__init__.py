"""Pure statistics for model selection: every function takes plain numbers or arrays, rejects NaN with a clear
error, and uses numpy.random.default_rng(seed) for any resampling.

`roadtest.stats.rules` holds the decision rules (each shown by simulation to hold its error rate at the
boundary: benchmarks/simulations/RESULTS.md); the rest describes (calibration, run-to-run variability, a BCa
bootstrap for statistics no rule decides).
"""

from roadtest.stats._validate import StatsInputError
from roadtest.stats.bootstrap import DEFAULT_B, Bootstrap, bootstrap, bootstrap_mean
from roadtest.stats.calibration import brier, ece
from roadtest.stats.variability import VariabilityResult, variability

__all__ = ["DEFAULT_B", "Bootstrap", "StatsInputError", "VariabilityResult", "bootstrap", "bootstrap_mean", "brier",
           "ece", "variability"]
