"""diff / rerun: 'moved beyond its noise' reads each run's table intervals at the confidence they were made at."""

from __future__ import annotations

import pytest

from roadtest.compare import metric_changes, table_confidence


def metrics(value: float, lo: float, hi: float, confidence: float | None) -> dict:
    out = {"scenarios": {"s": {"m": {"variants": {"base": {"metrics": {
        "accuracy": {"value": value, "lo": lo, "hi": hi}}}}}}}}
    return out if confidence is None else {**out, "confidence": confidence}


def change(a: dict, b: dict):
    (c,) = metric_changes(a, b)
    return c


def test_a_90_percent_table_interval_is_not_read_as_a_95_percent_one():
    # two runs with 90% intervals of half-width 0.1: SE = 0.1 / 1.645 = 0.0608 each, so the change's 95% half-width
    # is 1.96 x sqrt(2) x 0.0608 = 0.168; read as 95% intervals (SE 0.051) it would be 0.141 and 0.15 would 'move'
    c = change(metrics(0.50, 0.40, 0.60, 0.90), metrics(0.65, 0.55, 0.75, 0.90))
    assert not c.moved
    assert c.hi - c.difference == pytest.approx(1.959964 * 2 ** 0.5 * 0.1 / 1.644854, rel=1e-5)


def test_a_95_percent_table_interval_keeps_its_own_reading():
    c = change(metrics(0.50, 0.40, 0.60, 0.95), metrics(0.65, 0.55, 0.75, 0.95))   # v1 archives: 95% tables
    assert c.moved
    assert c.hi - c.difference == pytest.approx(2 ** 0.5 * 0.1, rel=1e-6)


def test_a_metrics_file_without_its_confidence_is_read_at_the_table_confidence():
    from roadtest.verdict.choice import TABLE_CONFIDENCE

    assert table_confidence({}) == TABLE_CONFIDENCE == 0.90
    assert table_confidence({"confidence": 0.95}) == 0.95
    assert not change(metrics(0.50, 0.40, 0.60, None), metrics(0.65, 0.55, 0.75, None)).moved
