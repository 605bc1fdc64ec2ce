"""Invariance: a model's verdicts never depend on which other models or runs are in the document."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from roadtest.api import combine_runs, derive
from roadtest.archive.run_dir import RunArchive
from roadtest.verdict import RunData, decide

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v2-tiny"


def _copy(tmp_path: Path, name: str) -> RunArchive:
    target = tmp_path / name
    shutil.copytree(FIXTURE, target)
    return RunArchive(target)


def test_adding_a_run_leaves_the_first_runs_verdicts_alone(tmp_path):
    first, second = _copy(tmp_path, "a"), _copy(tmp_path, "b")
    alone = derive(first)["hypotheses"][0]["models"]["smollm2"]
    combined = combine_runs([first, second])
    data = RunData.build(combined.config, combined.scored)
    models = decide(data)["hypotheses"][0]["models"]
    assert len(models) == 2                                    # the second run's model joined under its own name
    assert models["smollm2"] == alone


def test_adding_a_model_leaves_every_other_models_verdicts_alone():
    """Three models with different strengths; the first two get the same verdicts with or without the third."""
    import pandas as pd

    from roadtest.scoring import SCORE_COLUMNS
    from roadtest.spec import Hypothesis, Scenario

    scenario = Scenario.model_validate({"id": "s", "success": "It works.", "dataset": {"path": "d.jsonl"},
                                        "prompt": {"template": "{{ q }}"}, "scoring": {"rule": "exact", "answer": "a"}})
    hyp = Hypothesis.model_validate({"id": "h", "title": "t", "criteria": [
        {"scenario": "s", "metric": "accuracy", "at_least": 0.55},
        {"scenario": "s", "metric": "accuracy", "versus": {"model": "b", "by_at_least": 0.0}},
        {"scenario": "s", "metric": "error_rate", "at_most": 0.1},
        {"scenario": "s", "metric": "latency_mean_s", "at_least": 0.05}]})
    rng = np.random.default_rng(11)

    def rows(model, p):
        return [(f"{model}/{i}", model, "s", "base", f"i{i}", 0, None, float(rng.random() < p), None,
                 float(rng.lognormal(-1, 0.4)), 3) for i in range(80)]

    def data(models):
        f = pd.DataFrame([r for m, p in models for r in rows(m, p)],
                         columns=["trial_id", "model", "scenario", "variant", "item", "repeat", "group", "score",
                                  "error", "latency_s", "tokens_out"])
        for col in SCORE_COLUMNS:
            if col not in f:
                f[col] = None
        config = {"selection": {"models": [m for m, _ in models], "scenarios": ["s"], "hypotheses": ["h"]},
                  "workspace": {"max_error_rate": 0.2}, "hypotheses": {"h": {"spec": hyp.model_dump(mode="json")}}}
        return RunData(config, f[SCORE_COLUMNS], pd.DataFrame(), {"s": scenario}, {})

    rng = np.random.default_rng(11)
    two = decide(data([("a", 0.75), ("b", 0.55)]))["hypotheses"][0]["models"]
    rng = np.random.default_rng(11)
    three = decide(data([("a", 0.75), ("b", 0.55), ("c", 0.95)]))["hypotheses"][0]["models"]
    assert json.dumps(two["a"], sort_keys=True) == json.dumps(three["a"], sort_keys=True)
    assert json.dumps(two["b"], sort_keys=True) == json.dumps(three["b"], sort_keys=True)
    assert two["a"]["criteria"][1]["verdict"] == "SUPPORTED"      # the comparison decided something
