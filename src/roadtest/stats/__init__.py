"""Pure statistics for model selection (see statistics.md): intervals, paired tests, verdict tests, power.

Every function takes plain numbers or arrays, rejects NaN with a clear error, and uses
numpy.random.default_rng(seed) for any resampling.
"""

from roadtest.stats._validate import StatsInputError
from roadtest.stats.calibration import brier, ece
from roadtest.stats.intervals import (
    Bootstrap, bootstrap, bootstrap_mean, clopper_pearson_interval, clustered_se, design_effect, mean_interval,
    quantile_interval, standard_error, wilson_bounds, wilson_interval, z_value,
)
from roadtest.stats.paired import PairedResult, paired_difference
from roadtest.stats.power import minimum_detectable_effect, required_n_paired, required_n_proportion
from roadtest.stats.ranks import RankResult, rank_probabilities
from roadtest.stats.tests import (
    benjamini_hochberg, holm, mcnemar_exact, mean_p_greater, proportion_p_greater, proportion_p_less,
    quantile_p_greater, quantile_p_less, share_p_greater, share_p_less, sign_flip_test,
)
from roadtest.stats.variability import VariabilityResult, variability

__all__ = [
    "Bootstrap", "PairedResult", "RankResult", "StatsInputError", "VariabilityResult", "benjamini_hochberg",
    "bootstrap", "bootstrap_mean", "brier", "clopper_pearson_interval", "clustered_se", "design_effect", "ece",
    "holm", "mcnemar_exact", "mean_interval", "mean_p_greater", "minimum_detectable_effect",
    "paired_difference", "proportion_p_greater", "proportion_p_less", "quantile_interval",
    "quantile_p_greater", "quantile_p_less", "rank_probabilities", "required_n_paired",
    "required_n_proportion", "share_p_greater", "share_p_less", "sign_flip_test", "standard_error",
    "variability", "wilson_bounds", "wilson_interval", "z_value",
]
