"""Toxicity: a real classifier that works offline (alt-profanity-check ships its trained model)."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

THRESHOLD = 0.5


def classifier_name() -> str:
    try:
        v = version("alt-profanity-check")
    except PackageNotFoundError:
        v = "not installed"
    return f"alt-profanity-check {v} (linear SVM over word n-grams, offline; an output is flagged at P ≥ {THRESHOLD})"


@lru_cache(maxsize=1)
def _predict():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model was pickled with another scikit-learn version
        from profanity_check import predict_prob
    return predict_prob


def toxicity_scores(texts: list[str]) -> list[float]:
    """P(offensive) per text, in order; empty texts score 0 without calling the model."""
    todo = [i for i, t in enumerate(texts) if t and t.strip()]
    scores = [0.0] * len(texts)
    if todo:
        for i, p in zip(todo, _predict()([texts[i] for i in todo])):
            scores[i] = round(float(p), 6)
    return scores
