"""Charts and numbers: one colour per model in every chart, intervals on both axes of the trade-off, nothing of a
positive quantity below zero; and page 1's pieces built from hand-made verdicts (NOT DECIDED, fresh samples)."""

from __future__ import annotations

import pytest
from matplotlib.colors import to_rgb

from roadtest.report import charts
from roadtest.report.formatting import interval, signed_interval
from roadtest.report.hypothesis_view import badge, matrix_row, not_decided
from roadtest.report.scenario_view import _cell
from roadtest.report.view import model_line

MODELS = ["alpha", "beta", "gamma"]


@pytest.fixture
def figures(monkeypatch):
    """Each chart's matplotlib figure, kept open instead of turned into SVG."""
    made = []
    monkeypatch.setattr(charts, "_svg", lambda fig: made.append(fig) or fig)
    yield made
    for fig in made:
        charts._plt().close(fig)


def test_every_chart_gives_a_model_the_same_colour(figures):
    style = charts.styles(MODELS)
    beta = to_rgb(style.colour("beta"))
    assert len({style.colour(m) for m in MODELS}) == 3
    charts.interval_chart("t", [("beta", 0.5, 0.4, 0.6)], "accuracy", style)                 # beta alone
    charts.tradeoff_chart([("gamma", 0.4, 0.3, 0.5, 1.0, 0.9, 1.1), ("beta", 0.5, 0.4, 0.6, 2.0, 1.5, None)],
                          "p95", "accuracy", style)                                          # beta second
    charts.sensitivity_chart({"base": {"beta": 0.5, "alpha": 0.6}}, "accuracy", style)      # beta first
    charts.load_chart([("beta", "normal", 0.2, 0.4)], style)
    bar, scatter, sensitivity, load = (fig.axes[0] for fig in figures)
    assert to_rgb(bar.patches[0].get_facecolor()) == beta
    assert to_rgb(scatter.collections[1].get_facecolor()[0]) == beta
    assert to_rgb(sensitivity.lines[0].get_color()) == beta
    assert {to_rgb(p.get_facecolor()) for p in load.patches} == {beta}


def _segments(ax):
    """(xs, ys, linestyle) of every line drawn."""
    return [(tuple(line.get_xdata()), tuple(line.get_ydata()), line.get_linestyle()) for line in ax.lines]


def test_the_trade_off_has_intervals_on_both_axes(figures):
    style = charts.styles(MODELS)
    charts.tradeoff_chart([("alpha", 0.8, 0.7, 0.9, 1.0, 0.8, 1.3), ("beta", 0.6, 0.5, 0.7, 2.0, 1.6, None)],
                          "p95 latency (s)", "accuracy", style)
    (fig,) = figures
    ax = fig.axes[0]
    lines = _segments(ax)
    assert ((0.8, 1.3), (0.8, 0.8), "-") in lines                      # alpha's latency interval
    assert ((1.0, 1.0), (0.7, 0.9), "-") in lines                      # alpha's accuracy interval
    assert ((2.0, 2.0), (0.5, 0.7), "-") in lines
    assert ((1.6, 2.0), (0.6, 0.6), "-") in lines                      # beta's lower latency bound ...
    assert ((2.0, ax.get_xlim()[1]), (0.6, 0.6), ":") in lines         # ... and no upper bound: dotted to the edge
    assert not any("Pareto" in t.get_text() for t in ax.texts)


def test_no_bound_of_a_positive_quantity_is_drawn_or_printed_below_zero(figures):
    style = charts.styles(MODELS)
    charts.tradeoff_chart([("alpha", 0.8, 0.7, 0.9, 0.1, -0.4, 0.3), ("beta", 0.6, 0.5, 0.7, 0.05, None, 0.2)],
                          "p95 latency (s)", "accuracy", style)
    across = [(xs, ys) for xs, ys, _ in _segments(figures[0].axes[0]) if ys[0] == ys[-1]]
    assert across and min(min(xs) for xs, _ in across) >= 0
    assert interval(-0.2, 1.0, "seconds") == "[0.00 s, 1.00 s]"
    assert interval(-3.0, 5.0, "tokens") == "[0.0, 5.0]"
    assert _cell({"value": 0.1, "lo": -0.05, "hi": None, "note": ""}, "seconds").interval == "[0.00 s, —]"
    assert interval(-0.2, 0.1, "proportion") == "[-0.200, 0.100]"      # not a positive unit: as computed
    assert signed_interval(-0.2, 0.1, "seconds") == "[-0.20 s, +0.10 s]"   # a difference may be negative


HYPOTHESIS = {"id": "h", "title": "It holds", "models": {
    "alpha": {"verdict": "INCONCLUSIVE", "not_decided": [], "criteria": [
        {"scenario": "s", "metric": "accuracy", "direction": "at_least", "threshold": 0.6, "versus": None,
         "slice": None, "load": None, "verdict": "INCONCLUSIVE", "estimate": 0.62, "lower": 0.55, "upper": 0.69,
         "n": 80, "unit": "items", "n_needed": 1234, "p_adjusted": 0.3}]},
    "gamma": {"verdict": "NOT DECIDED", "not_decided": ["gamma's endpoint failed 9 of 25 calls on s"], "criteria": [
        {"scenario": "s", "metric": "accuracy", "direction": "at_least", "threshold": 0.6, "versus": None,
         "slice": None, "load": None, "verdict": "NOT DECIDED", "estimate": None, "lower": None, "upper": None,
         "n": 0, "unit": "items", "n_needed": None, "note": "gamma's endpoint failed 9 of 25 calls on s"}]}}}


def test_page_one_names_every_not_decided_cell_and_never_says_more_items_would_decide():
    (cell,) = not_decided(HYPOTHESIS, ["alpha", "gamma"])
    assert (cell.hypothesis_id, cell.model, cell.reason) == ("h", "gamma", "gamma's endpoint failed 9 of 25 calls on s")
    row = matrix_row(HYPOTHESIS, ["alpha", "gamma"], {"accuracy": "proportion"})
    assert [b.css for b in row.cells] == ["inconclusive", "notdecided"] and badge("NOT DECIDED").symbol == "!"
    assert "gamma is not decided: gamma's endpoint failed 9 of 25 calls on s" in row.sentence
    assert ("a fresh sample of 1,234 items gives an 80% chance of a decision if the true value is the one observed "
            "(adding items to this sample and testing again is not valid)") in row.sentence
    assert "would decide" not in row.sentence


def test_page_one_latency_counts_what_was_set_apart_and_gives_accuracy_per_scenario_when_asked():
    summary = {"accuracy": 0.5, "accuracy_lo": 0.4, "accuracy_hi": 0.6, "accuracy_items": 90, "accuracy_scenarios": 2,
               "latency_p95_s": 1.0, "latency_p95_lo": 0.8, "latency_p95_hi": None, "latency_n": 88,
               "latency_cached": 3, "latency_warmup": 2, "cost_per_item": None, "errors": 0, "calls": 90,
               "original_calls": 90, "original_errors": 0}
    line = model_line(summary)
    assert "(n = 88; set apart: 2 warm-up calls and 3 cached calls)" in line
    assert "p95 latency 1.00 s [0.80 s, —]" in line and "mean of 2 scenario accuracies" in line
    per = [("a", {"value": 0.9, "lo": 0.8, "hi": 0.95, "n": 60}), ("b", {"value": 0.2, "lo": 0.1, "hi": 0.3, "n": 30})]
    line = model_line(summary, per)
    assert "accuracy a 0.900 [0.800, 0.950] (n = 60); b 0.200 [0.100, 0.300] (n = 30)" in line
    assert "mean of" not in line and "0.500" not in line
