"""Numbers for people: one place decides how each unit is printed."""

from __future__ import annotations

import math
import re
from typing import Sequence

from markupsafe import Markup, escape

POSITIVE = {"seconds", "tokens", "currency", "tokens/s"}
"""Units of quantities that cannot be negative: their bounds are never printed (or drawn) below zero."""


def num(value: float | None, unit: str = "", digits: int | None = None) -> str:
    """A metric value in its unit ('—' when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "proportion":
        return f"{value:.{digits if digits is not None else 3}f}"
    if unit == "seconds":
        return f"{value:.{digits if digits is not None else 2}f} s"
    if unit == "tokens":
        return f"{value:.{digits if digits is not None else 1}f}"
    if unit == "currency":
        return f"{value:.{digits if digits is not None else money_decimals(value)}f}"
    if unit == "ratio":
        return f"{value:.{digits if digits is not None else 2}f}"
    if unit == "tokens/s":
        return f"{value:.{digits if digits is not None else 1}f}"
    return f"{value:.{digits if digits is not None else 3}g}"


MONEY_FIGURES = 3
"""Significant figures of an amount of money: a cost per item is tiny (0.0000247), and rounding it to a fixed
number of decimals would print a different figure than the same cost per 1,000 items (0.0247)."""


def money_decimals(value: float) -> int:
    """Decimals that show `value` to MONEY_FIGURES significant figures (at least 2, at most 12)."""
    if value == 0 or not math.isfinite(value):
        return 2
    return min(12, max(2, MONEY_FIGURES - 1 - math.floor(math.log10(abs(value)))))


def floor(value: float | None, unit: str) -> float | None:
    """A bound of a positive quantity is never below zero."""
    return max(value, 0.0) if value is not None and unit in POSITIVE else value


def interval(lo: float | None, hi: float | None, unit: str = "") -> str:
    """The bounds of an estimate ('—' for a bound the data cannot give)."""
    if lo is None and hi is None:
        return "no interval"
    return f"[{num(floor(lo, unit), unit)}, {num(floor(hi, unit), unit)}]"


def signed(value: float | None, unit: str = "") -> str:
    """A difference between two models, with its sign."""
    text = num(value, unit)
    return text if value is None or text.startswith("-") else "+" + text


def signed_interval(lo: float | None, hi: float | None, unit: str = "") -> str:
    """The bounds of a difference (a difference may be negative: no floor)."""
    if lo is None and hi is None:
        return "no interval"
    return f"[{signed(lo, unit)}, {signed(hi, unit)}]"


def pvalue(p: float | None) -> str:
    if p is None:
        return "—"
    if p < 0.0001:
        return "<0.0001"
    return f"{p:.4f}"


def count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def plural(n: int, noun: str) -> str:
    return f"{count(n)} {noun}" + ("" if n == 1 else "s")


def with_ids(text: str, ids: Sequence[str]) -> Markup:
    """Prose that names models, escaped, each model id in a span that keeps it whole on one line (a line never
    breaks at an id's hyphens). The templates' `ids` filter."""
    escaped = str(escape(text))
    if not ids:
        return Markup(escaped)
    names = "|".join(re.escape(str(escape(i))) for i in sorted(ids, key=len, reverse=True))
    return Markup(re.sub(rf"(?<![\w-])({names})(?![\w-])", r'<span class="id">\1</span>', escaped))
