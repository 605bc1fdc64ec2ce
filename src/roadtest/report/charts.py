"""Charts for the decision document: matplotlib, rendered to inline SVG (no files, no fetches).

Every chart reads in greyscale: models differ by marker and hatch, not only by colour. SVG text stays
text (the document's font renders it) and the output is deterministic (fixed hash salt, no date), so a
replayed report is byte for byte the same.
"""

from __future__ import annotations

import io
import re
from typing import Sequence

from markupsafe import Markup

INK, MUTED, RULE = "#1d2330", "#5b6475", "#d5dae3"
PALETTE = ["#1f4e79", "#b35806", "#2d7f5e", "#7b3294", "#8c510a", "#4d4d4d"]
MARKERS = ["o", "s", "D", "^", "v", "P"]
HATCHES = ["", "///", "...", "xxx", "\\\\\\", "ooo"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.fonttype": "none", "svg.hashsalt": "roadtest", "font.family": "sans-serif",
        "font.sans-serif": ["Source Sans Pro", "DejaVu Sans"], "font.size": 9, "axes.edgecolor": MUTED,
        "axes.labelcolor": INK, "xtick.color": INK, "ytick.color": INK, "axes.spines.top": False,
        "axes.spines.right": False, "figure.dpi": 72,
    })
    return plt


def _svg(fig) -> Markup:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    _plt().close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    # Scale with the column: drop fixed pt sizes, keep the viewBox.
    text = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 class="chart" preserveAspectRatio="xMidYMid meet"',
                  text, count=1)
    return Markup(text)


def interval_chart(title: str, rows: Sequence[tuple[str, float | None, float | None, float | None]],
                   unit_label: str, threshold: float | None = None) -> Markup | None:
    """One horizontal bar per model with its 95% interval; an optional threshold line."""
    rows = [r for r in rows if r[1] is not None]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.2, 0.5 + 0.42 * len(rows)))
    for i, (label, value, lo, hi) in enumerate(rows):
        ax.barh(i, value, color=PALETTE[i % len(PALETTE)], hatch=HATCHES[i % len(HATCHES)], alpha=0.85,
                edgecolor=INK, linewidth=0.5, height=0.6)
        if lo is not None and hi is not None:
            ax.errorbar(value, i, xerr=[[value - lo], [hi - value]], fmt="none", ecolor=INK, capsize=4, linewidth=1.2)
    if threshold is not None:
        ax.axvline(threshold, color=INK, linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel(unit_label)
    ax.set_title(title, loc="left", fontsize=10, color=INK)
    return _svg(fig)


def pareto_front(points: Sequence[tuple[str, float, float]]) -> set[str]:
    """Models no other model beats on both quality (higher) and cost or latency (lower)."""
    front = set()
    for name, q, c in points:
        if not any((q2 >= q and c2 <= c) and (q2 > q or c2 < c) for n2, q2, c2 in points if n2 != name):
            front.add(name)
    return front


def tradeoff_chart(points: Sequence[tuple[str, float, float]], x_label: str, y_label: str) -> Markup | None:
    """Quality against p95 latency (or cost), the Pareto front joined and labelled."""
    points = [p for p in points if p[1] is not None and p[2] is not None]
    if len(points) < 2:
        return None
    plt = _plt()
    front = pareto_front(points)
    fig, ax = plt.subplots(figsize=(6.2, 2.6))
    for i, (name, quality, cost) in enumerate(points):
        on = name in front
        ax.scatter(cost, quality, s=70, marker=MARKERS[i % len(MARKERS)], color=PALETTE[i % len(PALETTE)],
                   edgecolor=INK, linewidth=1.2 if on else 0.5, zorder=3)
        ax.annotate(name + (" (Pareto front)" if on else ""), (cost, quality), textcoords="offset points",
                    xytext=(7, 5), fontsize=8.5, color=INK)
    ordered = sorted((p for p in points if p[0] in front), key=lambda p: p[2])
    if len(ordered) > 1:
        ax.plot([p[2] for p in ordered], [p[1] for p in ordered], color=INK, linestyle="--", linewidth=1, zorder=2)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.margins(x=0.35, y=0.25)
    ax.set_title("Trade-off: better is up and to the left", loc="left", fontsize=10, color=INK)
    return _svg(fig)


def rank_chart(models: Sequence[str], probs: Sequence[Sequence[float]]) -> Markup | None:
    """P(rank = r) per model as stacked bars."""
    if len(models) < 2:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.2, 0.6 + 0.42 * len(models)))
    left = [0.0] * len(models)
    for r in range(len(models)):
        values = [p[r] for p in probs]
        ax.barh(range(len(models)), values, left=left, color=PALETTE[r % len(PALETTE)], hatch=HATCHES[r % len(HATCHES)],
                edgecolor=INK, linewidth=0.5, height=0.6, label=f"rank {r + 1}")
        left = [a + b for a, b in zip(left, values)]
    ax.set_yticks(range(len(models)), list(models))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability")
    ax.legend(ncol=min(len(models), 5), fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    ax.set_title("Probability of each rank (joint item bootstrap)", loc="left", fontsize=10, color=INK)
    return _svg(fig)


def load_chart(rows: Sequence[tuple[str, str, float | None, float | None]]) -> Markup | None:
    """p50 and p95 latency per model and traffic level."""
    rows = [r for r in rows if r[2] is not None and r[3] is not None]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.2, 0.6 + 0.5 * len(rows)))
    labels = [f"{m} · {level}" for m, level, _, _ in rows]
    ys = range(len(rows))
    ax.barh([y + 0.18 for y in ys], [r[2] for r in rows], height=0.34, color=PALETTE[0], edgecolor=INK,
            linewidth=0.5, label="p50")
    ax.barh([y - 0.18 for y in ys], [r[3] for r in rows], height=0.34, color=PALETTE[1], hatch="///",
            edgecolor=INK, linewidth=0.5, label="p95")
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.set_title("Latency at each traffic level", loc="left", fontsize=10, color=INK)
    return _svg(fig)


def sensitivity_chart(scores: dict[str, dict[str, float]], metric: str) -> Markup | None:
    """The metric under each settings variant, one marker per model: how far a setting alone moves it."""
    if not scores:
        return None
    plt = _plt()
    variants = list(scores)
    models = list(next(iter(scores.values())))
    fig, ax = plt.subplots(figsize=(6.2, 0.6 + 0.45 * len(variants)))
    for i, model in enumerate(models):
        xs = [scores[v].get(model) for v in variants]
        ax.plot(xs, range(len(variants)), marker=MARKERS[i % len(MARKERS)], color=PALETTE[i % len(PALETTE)],
                linestyle=":", markersize=7, label=model)
    ax.set_yticks(range(len(variants)), [v.removeprefix("setting:") for v in variants])
    ax.invert_yaxis()
    ax.set_xlabel(metric)
    ax.margins(y=0.3)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=min(len(models), 4))
    ax.set_title("Settings sensitivity", loc="left", fontsize=10, color=INK)
    return _svg(fig)
