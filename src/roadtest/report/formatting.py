"""Numbers for people: one place decides how each unit is printed."""

from __future__ import annotations

import math


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
        return f"{value:.{digits if digits is not None else 5}f}"
    if unit == "ratio":
        return f"{value:.{digits if digits is not None else 2}f}"
    if unit == "tokens/s":
        return f"{value:.{digits if digits is not None else 1}f}"
    return f"{value:.{digits if digits is not None else 3}g}"


def interval(lo: float | None, hi: float | None, unit: str = "") -> str:
    if lo is None and hi is None:
        return "no interval"
    return f"[{num(lo, unit)}, {num(hi, unit)}]"


def pvalue(p: float | None) -> str:
    if p is None:
        return "—"
    if p < 0.0001:
        return "<0.0001"
    return f"{p:.4f}"


def count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"
