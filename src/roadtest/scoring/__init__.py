"""Scoring rules and metric values: archived trials -> numbers per item or per call."""

from roadtest.scoring.metrics import MetricContext, Sample, metric_sample
from roadtest.scoring.outputs import Output, read_output
from roadtest.scoring.rules import RULES, Score, score_output
from roadtest.scoring.scores import SCORE_COLUMNS, Scored, score_record, score_trials

__all__ = ["MetricContext", "Output", "RULES", "SCORE_COLUMNS", "Sample", "Score", "Scored", "metric_sample",
           "read_output", "score_output", "score_record", "score_trials"]
