"""roadtest statistics v2: the decision layer's one-sided bounds, paired comparisons, group statistics,
power and decision families, as pure functions of arrays (numpy / scipy only).

Every rule follows benchmarks/simulations/RESULTS.md (where the spec's rule did not hold, its replacement);
every resampling uses numpy.random.default_rng(seed) with a recorded seed and B. Bad input raises
`StatsInputError` (a ValueError).
"""

from roadtest.stats.rules._result import Bounds, Claim, Verdict
from roadtest.stats.rules._validate import StatsInputError
from roadtest.stats.rules.bounds import (
    MIN_CLUSTERS, SKEWED_MIN_N, SKEWED_UPPER_TABLE, bounded_mean, clustered_bounded_mean, clustered_mean_t, mean_t,
    min_units_for_percentile, one_sample, percentile, proportion, skewed_mean,
)
from roadtest.stats.rules.family import (
    FamilyVerdict, benjamini_hochberg, family_verdict, holm, intersection_union, robust_to_settings,
)
from roadtest.stats.rules.groups import (
    BestSet, FairnessGap, Heterogeneity, PairGap, best_set, fairness_gap, newcombe, scenario_interaction,
    setting_interaction,
)
from roadtest.stats.rules.paired import (
    MIN_PAIRED_N, SKEWED_PAIRED_MIN_N, ClaimResult, PairedBounds, equivalence, hall_t_bounds, mcnemar_exact,
    non_inferiority, paired, paired_binary, paired_continuous, paired_t_bounds, sign_flip_bounds, superiority,
)
from roadtest.stats.rules.power import (
    RequiredN, mde_exact_binomial, mde_mcnemar, mde_mean_t, mde_paired_binary, power_bounded_mean,
    power_exact_binomial, power_mcnemar_exact, power_mean_t, power_paired_binary, power_percentile,
    required_clusters, required_n_bounded_mean, required_n_exact_binomial, required_n_mcnemar, required_n_mean_t,
    required_n_paired_binary, required_n_percentile, required_n_skewed_mean,
)

__all__ = [
    "MIN_CLUSTERS", "MIN_PAIRED_N", "SKEWED_MIN_N", "SKEWED_PAIRED_MIN_N", "SKEWED_UPPER_TABLE",
    "BestSet", "Bounds", "Claim", "ClaimResult", "FairnessGap", "FamilyVerdict", "Heterogeneity", "PairGap",
    "PairedBounds", "RequiredN", "StatsInputError", "Verdict", "benjamini_hochberg", "best_set", "bounded_mean",
    "clustered_bounded_mean", "clustered_mean_t", "equivalence", "fairness_gap", "family_verdict", "hall_t_bounds",
    "holm", "intersection_union", "mcnemar_exact", "mde_exact_binomial", "mde_mcnemar", "mde_mean_t",
    "mde_paired_binary", "mean_t", "min_units_for_percentile", "newcombe", "non_inferiority", "one_sample",
    "paired", "paired_binary", "paired_continuous", "paired_t_bounds", "percentile", "power_bounded_mean",
    "power_exact_binomial", "power_mcnemar_exact", "power_mean_t", "power_paired_binary", "power_percentile",
    "proportion", "required_clusters", "required_n_bounded_mean", "required_n_exact_binomial",
    "required_n_mcnemar", "required_n_mean_t", "required_n_paired_binary", "required_n_percentile",
    "required_n_skewed_mean", "robust_to_settings", "scenario_interaction", "setting_interaction",
    "sign_flip_bounds", "skewed_mean", "superiority",
]
