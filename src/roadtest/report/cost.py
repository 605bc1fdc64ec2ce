"""What a model costs, in one wording everywhere: per 1,000 items in the workspace's currency
(`report.currency`), and per month at the traffic `report.traffic` states."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from roadtest.report.formatting import count, num

if TYPE_CHECKING:
    from roadtest.archive.schema import ResolvedConfig

CURRENCY_NOT_SET = "(currency not set: report.currency in roadtest.yaml)"


@dataclass(frozen=True)
class Costing:
    """The resolved report settings that cost figures need, read from an archive's configuration."""

    currency: str | None = None
    items_per_month: int | None = None
    """Items a month for a scenario with no figure of its own."""
    scenarios: dict[str, int] = field(default_factory=dict)
    """Items a month per scenario id."""
    run_scenarios: tuple[str, ...] = ()
    """The scenarios of the run, in its order."""
    traffic: bool = False
    """Whether report.traffic is set."""

    def items(self, sid: str) -> int | None:
        """Items a month of one scenario, or None when the traffic gives it none."""
        return self.scenarios.get(sid, self.items_per_month)

    @property
    def included(self) -> list[tuple[str, int]]:
        return [(sid, n) for sid in self.run_scenarios if (n := self.items(sid)) is not None]

    @property
    def left_out(self) -> list[str]:
        return [sid for sid in self.run_scenarios if self.items(sid) is None]


NO_COSTING = Costing()


def costing(config: ResolvedConfig) -> Costing:
    """From the run's configuration: report.currency and report.traffic are there only when set (older archives
    lack them)."""
    report = config.workspace.report if config.workspace is not None else {}
    traffic = report.get("traffic") or None
    return Costing(currency=report.get("currency"),
                   items_per_month=(traffic or {}).get("items_per_month"),
                   scenarios=dict((traffic or {}).get("scenarios") or {}),
                   run_scenarios=tuple(config.selection.scenarios),
                   traffic=traffic is not None)


def amount(value: float, c: Costing) -> str:
    """An amount of money, named in the currency when it is known."""
    return num(value, "currency") + (f" {c.currency}" if c.currency else "")


def per_thousand(cost_per_item: float | None, c: Costing) -> str:
    """A model's mean cost per item as page 1 states it: '0.0247 USD per 1,000 items' (or 'not priced')."""
    return "not priced" if cost_per_item is None else f"{amount(cost_per_item * 1000, c)} per 1,000 items"


def scenario_cost(metrics: dict[str, Any], sid: str, model: str) -> float | None:
    """The scenario table's cost per item of one model (None when not priced or not run)."""
    entry = metrics.get("scenarios", {}).get(sid, {}).get(model)
    if not entry:
        return None
    e = entry["variants"]["base"]["metrics"].get("cost_per_item")
    return None if not e else e.get("value")


def monthly(metrics: dict[str, Any], model: str, c: Costing) -> float | None:
    """Sum over the run's scenarios with traffic of (cost per item x items a month); None when a scenario the
    traffic counts has no cost for the model, or when no scenario has traffic."""
    included = c.included
    if not c.traffic or not included:
        return None
    costs = [(scenario_cost(metrics, sid, model), n) for sid, n in included]
    known = [(cost, n) for cost, n in costs if cost is not None]
    if len(known) < len(costs):
        return None
    return sum(cost * n for cost, n in known)


def traffic_phrase(c: Costing) -> str:
    """'at 500,000 items a month', with each scenario's share when they differ."""
    included = c.included
    total = sum(n for _, n in included)
    if len(included) > 1 and len({n for _, n in included}) > 1:
        return (f"at {count(total)} items a month ("
                + "; ".join(f"{sid} {count(n)}" for sid, n in included) + ")")
    if len(included) > 1:
        return f"at {count(included[0][1])} items a month in each of {', '.join(sid for sid, _ in included)}"
    return f"at {count(total)} items a month"


def month_figure(value: float | None, c: Costing) -> str:
    """A cost per month without the traffic it assumes: '12.40 USD a month' (or 'not priced')."""
    if value is None:
        return "not priced"
    text = f"{value:,.2f}" if value >= 1 else num(value, "currency")
    return f"{text}{f' {c.currency}' if c.currency else ''} a month"


def per_month(value: float | None, c: Costing) -> str:
    """A model's cost per month at the stated traffic: '12.40 USD a month at 500,000 items a month'."""
    return "not priced" if value is None else f"{month_figure(value, c)} {traffic_phrase(c)}"


def by_month(c: Costing) -> bool:
    """Whether models are compared on cost per month (traffic set for some scenario of the run)."""
    return c.traffic and bool(c.included)


def cost_of(metrics: dict[str, Any], model: str, c: Costing) -> tuple[float | None, str]:
    """The figure models are compared on, and its words as the model line prints them: per month (without the
    traffic, see `traffic_phrase`) when traffic is set, else per 1,000 items."""
    if by_month(c):
        value = monthly(metrics, model, c)
        return value, month_figure(value, c)
    value = (metrics.get("models", {}).get(model) or {}).get("cost_per_item")
    return value, per_thousand(value, c)


def notes(c: Costing, priced: bool) -> list[str]:
    """Said once on page 1: that the currency is not set (only when some cost is shown), and which scenarios
    the cost per month leaves out."""
    out = []
    if priced and not c.currency:
        out.append(f"Costs are in the models' price units {CURRENCY_NOT_SET}.")
    if c.traffic and c.left_out and c.included:
        left = ", ".join(c.left_out)
        out.append(f"Cost per month leaves out {left}: report.traffic in roadtest.yaml gives "
                   f"{'it' if len(c.left_out) == 1 else 'them'} no items a month.")
    if c.traffic and not c.included:
        out.append("No cost per month: report.traffic in roadtest.yaml gives none of this run's scenarios items "
                   "a month.")
    return out
