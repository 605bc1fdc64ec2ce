"""Charts for the decision document: matplotlib, rendered to inline SVG (no files, no fetches).

Every chart gives a model the same colour, marker and hatch (`Styles`, made once per document from its model
list), so it reads in greyscale too: models differ by marker and hatch, not only by colour. SVG text stays
text (the document's font renders it) and the output is deterministic (fixed hash salt, no date), so a
replayed report is byte for byte the same.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from markupsafe import Markup

INK, MUTED, RULE = "#1d2330", "#5b6475", "#d5dae3"
PALETTE = ["#1f4e79", "#b35806", "#2d7f5e", "#7b3294", "#8c510a", "#4d4d4d"]
MARKERS = ["o", "s", "D", "^", "v", "P"]
HATCHES = ["", "///", "...", "xxx", "\\\\\\", "ooo"]


@dataclass(frozen=True)
class Styles:
    """One colour, marker and hatch per model, the same in every chart of the document."""

    models: tuple[str, ...]

    def _index(self, model: str) -> int:
        return self.models.index(model) if model in self.models else len(self.models)

    def colour(self, model: str) -> str:
        return PALETTE[self._index(model) % len(PALETTE)]

    def marker(self, model: str) -> str:
        return MARKERS[self._index(model) % len(MARKERS)]

    def hatch(self, model: str) -> str:
        return HATCHES[self._index(model) % len(HATCHES)]


def styles(models: Sequence[str]) -> Styles:
    return Styles(tuple(models))


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


Span = tuple[float, float, float | None, float | None]
"""(position on the other axis, estimate, lower bound or None, upper bound or None)."""


def _spans(ax, spans: Sequence[Span], vertical: bool, positive: bool) -> list[tuple[float, float, str]]:
    """Each interval as a line with caps at the bounds that exist; returns the open sides (position, estimate,
    'lo' or 'hi') to be drawn dotted to the edge once the axes have their final limits."""
    open_ = []
    for pos, value, lo, hi in spans:
        lo = max(lo, 0.0) if positive and lo is not None else lo
        hi = max(hi, 0.0) if positive and hi is not None else hi
        a, b = (lo if lo is not None else value), (hi if hi is not None else value)
        ax.plot(*(([pos, pos], [a, b]) if vertical else ([a, b], [pos, pos])), color=INK, linewidth=1.2, zorder=2)
        for end in (e for e in (lo, hi) if e is not None):
            ax.plot(*(([pos], [end]) if vertical else ([end], [pos])), marker="_" if vertical else "|", color=INK,
                    markersize=8, zorder=2)
        open_ += [(pos, value, side) for side, end in (("lo", lo), ("hi", hi)) if end is None]
    return open_


def _open_ends(ax, open_: Sequence[tuple[float, float, str]], vertical: bool, positive: bool) -> None:
    """A side with no bound runs dotted to the edge of the axes (never below zero for a positive quantity)."""
    limits = ax.get_ylim() if vertical else ax.get_xlim()
    for pos, value, side in open_:
        edge = (max(limits[0], 0.0) if positive else limits[0]) if side == "lo" else limits[1]
        ax.plot(*(([pos, pos], [value, edge]) if vertical else ([value, edge], [pos, pos])), color=INK,
                linestyle=":", linewidth=1.2, zorder=2)
    (ax.set_ylim if vertical else ax.set_xlim)(*limits)


def interval_chart(title: str, rows: Sequence[tuple[str, float | None, float | None, float | None]],
                   unit_label: str, style: Styles, threshold: float | None = None) -> Markup | None:
    """One horizontal bar per model with its 90% interval; an optional threshold line."""
    shown = [(model, value, lo, hi) for model, value, lo, hi in rows if value is not None]
    if not shown:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.2, 0.5 + 0.42 * len(shown)))
    for i, (model, value, _, _) in enumerate(shown):
        ax.barh(i, value, color=style.colour(model), hatch=style.hatch(model), alpha=0.85, edgecolor=INK,
                linewidth=0.5, height=0.6)
    open_ = _spans(ax, [(i, value, lo, hi) for i, (_, value, lo, hi) in enumerate(shown)], False, False)
    _open_ends(ax, open_, False, False)
    if threshold is not None:
        ax.axvline(threshold, color=INK, linestyle="--", linewidth=1)
    ax.set_yticks(range(len(shown)), [r[0] for r in shown])
    ax.invert_yaxis()
    ax.set_xlabel(unit_label)
    ax.set_title(title, loc="left", fontsize=10, color=INK)
    return _svg(fig)


Point = tuple[str, float | None, float | None, float | None, float | None, float | None, float | None]
"""(model, quality, its lower and upper bound, cost or latency, its lower and upper bound)."""


def tradeoff_chart(points: Sequence[Point], x_label: str, y_label: str, style: Styles) -> Markup | None:
    """Quality against p95 latency (or cost), each point with its interval on both axes. No front is drawn:
    which model is better on either axis is for the tests, not for the points."""
    shown = [(name, q, q_lo, q_hi, c, c_lo, c_hi) for name, q, q_lo, q_hi, c, c_lo, c_hi in points
             if q is not None and c is not None]
    if len(shown) < 2:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.2, 2.8))
    for name, quality, _, _, cost, _, _ in shown:
        ax.scatter(cost, quality, s=70, marker=style.marker(name), color=style.colour(name), edgecolor=INK,
                   linewidth=0.6, zorder=3)
        ax.annotate(name, (cost, quality), textcoords="offset points", xytext=(7, 5), fontsize=8.5, color=INK)
    across = _spans(ax, [(q, c, c_lo, c_hi) for _, q, _, _, c, c_lo, c_hi in shown], False, True)
    up = _spans(ax, [(c, q, q_lo, q_hi) for _, q, q_lo, q_hi, c, _, _ in shown], True, False)
    ax.margins(x=0.3, y=0.2)
    _open_ends(ax, across, False, True)
    _open_ends(ax, up, True, False)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title("Trade-off: better is up and to the left", loc="left", fontsize=10, color=INK)
    return _svg(fig)


def load_chart(rows: Sequence[tuple[str, str, float | None, float | None]], style: Styles) -> Markup | None:
    """p50 (light) and p95 (hatched) latency per model and traffic level, in the model's colour."""
    from matplotlib.patches import Patch

    rows = [r for r in rows if r[2] is not None and r[3] is not None]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.2, 0.6 + 0.5 * len(rows)))
    ys = range(len(rows))
    colours = [style.colour(m) for m, _, _, _ in rows]
    ax.barh([y + 0.18 for y in ys], [r[2] for r in rows], height=0.34, color=colours, alpha=0.45, edgecolor=INK,
            linewidth=0.5)
    ax.barh([y - 0.18 for y in ys], [r[3] for r in rows], height=0.34, color=colours, hatch="///", edgecolor=INK,
            linewidth=0.5)
    ax.set_yticks(list(ys), [f"{m} · {level}" for m, level, _, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.legend(handles=[Patch(facecolor="white", edgecolor=INK, label="p50"),
                       Patch(facecolor="white", edgecolor=INK, hatch="///", label="p95")],
              fontsize=8, frameon=False, loc="lower right")
    ax.set_title("Latency at each traffic level", loc="left", fontsize=10, color=INK)
    return _svg(fig)


def sensitivity_chart(scores: dict[str, dict[str, float]], metric: str, style: Styles) -> Markup | None:
    """The metric under each settings variant, one marker per model: how far a setting alone moves it."""
    if not scores:
        return None
    plt = _plt()
    variants = list(scores)
    models = list(next(iter(scores.values())))
    fig, ax = plt.subplots(figsize=(6.2, 0.6 + 0.45 * len(variants)))
    for model in models:
        xs = [scores[v].get(model) for v in variants]
        ax.plot(xs, range(len(variants)), marker=style.marker(model), color=style.colour(model), linestyle=":",
                markersize=7, label=model)
    ax.set_yticks(range(len(variants)), [v.removeprefix("setting:") for v in variants])
    ax.invert_yaxis()
    ax.set_xlabel(metric)
    ax.margins(y=0.3)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=min(len(models), 4))
    ax.set_title("Settings sensitivity", loc="left", fontsize=10, color=INK)
    return _svg(fig)


@dataclass(frozen=True)
class TimelinePoint:
    """One run's verdict on one (hypothesis, model) cell."""

    at: datetime
    verdict: str
    flip: bool = False
    """The verdict differs from the cell's previous deciding verdict."""
    drift: bool = False
    """The endpoint changed under the same name since the previous run."""


@dataclass(frozen=True)
class TimelineRow:
    label: str
    points: Sequence[TimelinePoint]
    decisions: Sequence[datetime] = ()
    """When a decision on this cell was recorded."""


VERDICT_MARKS = {
    "SUPPORTED": ("o", "#1f6f43", True), "INCONCLUSIVE": ("s", "#8a6100", False),
    "REFUTED": ("X", "#a12a2a", True), "NOT DECIDED": ("D", "#a12a2a", False),
    "NOT APPLICABLE": ("P", "#6b7280", True), "NOT RUN": ("P", "#6b7280", True),
}
"""verdict -> (marker, colour, filled): the shape and the fill tell the verdicts apart without colour."""
THIS_RUN = "#dfe4ec"


def verdict_timeline(rows: Sequence[TimelineRow], runs: Sequence[datetime],
                     this: Sequence[datetime] = ()) -> Markup | None:
    """Each (hypothesis, model) cell's verdict run after run: a row per cell, the runs in time order along x (one
    column per run, labelled with its UTC time, so runs an hour apart and runs a month apart both stay legible),
    a marker per run shaped and coloured by its verdict; a ring marks a flip, a small triangle a drifted endpoint,
    a dashed tick where a decision was recorded (between the runs before and after it); the run of this document
    stands on a shaded band."""
    import bisect

    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    order = sorted({*runs, *(p.at for r in rows for p in r.points)})
    if not rows or not order:
        return None
    column = {at: i for i, at in enumerate(order)}

    def between(at: datetime) -> float:
        return bisect.bisect_left(order, at) - 0.5   # a decision in the second a run started came before it

    plt = _plt()
    height = 1.5 + 0.34 * len(rows)
    fig, ax = plt.subplots(figsize=(6.2, height))
    fig.subplots_adjust(left=0.3, right=0.97, bottom=1.1 / height, top=1 - 0.3 / height)
    ax.set_xlim(-0.7, len(order) - 0.3)
    for at in this:
        if at in column:
            ax.axvspan(column[at] - 0.32, column[at] + 0.32, color=THIS_RUN, linewidth=0, zorder=0)
    for y, row in enumerate(rows):
        ax.axhline(y, color=RULE, linewidth=0.6, zorder=1)
        for verdict, (marker, colour, filled) in VERDICT_MARKS.items():
            xs = [column[p.at] for p in row.points if p.verdict == verdict]
            if xs:
                ax.scatter(xs, [y] * len(xs), marker=marker, s=48, facecolor=colour if filled else "white",
                           edgecolor=colour, linewidth=1.4, zorder=4)
        flips = [column[p.at] for p in row.points if p.flip]
        if flips:
            ax.scatter(flips, [y] * len(flips), marker="o", s=170, facecolor="none", edgecolor=INK, linewidth=0.9,
                       zorder=3)
        drift = [column[p.at] for p in row.points if p.drift]
        if drift:
            ax.scatter(drift, [y - 0.3] * len(drift), marker="v", s=22, color=INK, zorder=4)
        for at in row.decisions:
            x = between(at)
            ax.plot([x, x], [y - 0.42, y + 0.42], color=INK, linewidth=1.4, linestyle="--", zorder=2)
    step = max(1, -(-len(order) // 10))
    ticks = list(range(0, len(order), step))
    ax.set_xticks(ticks, [order[i].strftime("%Y-%m-%d\n%H:%M") for i in ticks], fontsize=7)
    ax.set_xlabel("runs in time order (UTC)")
    ax.set_yticks(range(len(rows)), [r.label for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    handles: list[Artist] = [
        Line2D([], [], linestyle="", marker=marker, markersize=6.5, markerfacecolor=colour if filled else "white",
               markeredgecolor=colour, markeredgewidth=1.4, label=verdict)
        for verdict, (marker, colour, filled) in list(VERDICT_MARKS.items())[:4]]
    handles += [Line2D([], [], linestyle="", marker="o", markersize=11, markerfacecolor="none", markeredgecolor=INK,
                       label="flip"),
                Line2D([], [], linestyle="", marker="v", markersize=5, color=INK, label="endpoint drift"),
                Line2D([], [], color=INK, linestyle="--", linewidth=1.4, label="decision recorded"),
                Patch(facecolor=THIS_RUN, edgecolor="none", label="this document's run")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7.5, frameon=False, bbox_to_anchor=(0.5, 0.0),
               handletextpad=0.4, columnspacing=1.0)
    ax.set_title("Verdicts over time, one row per hypothesis × model", loc="left", fontsize=10, color=INK)
    return _svg(fig)
