"""Report sections built from metrics.json: rank stability, the pairwise scan, run-to-run variability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from roadtest.report.formatting import count, interval, num, pvalue


@dataclass(frozen=True)
class RankTable:
    title: str
    ranks: list[int]
    """Rank positions 1..m for the header."""
    rows: list[tuple[str, str, list[str], str, str]]
    """(model, estimate, P(rank = r) for each r, 95% rank interval, headline rank)"""
    tied: list[str]
    sentence: str


@dataclass(frozen=True)
class Comparison:
    scenario: str
    pair: str
    difference: str
    interval: str
    se: str
    correlation: str
    test: str
    p: str
    q: str
    a: str = ""
    b: str = ""
    se_paired: str = ""
    se_unpaired: str = ""


@dataclass(frozen=True)
class VariabilityRow:
    scenario: str
    model: str
    repeats: str
    runs: str
    run_sd: str
    flip_rate: str
    icc: str
    item_se: str


def _names(models: list[str]) -> str:
    return models[0] if len(models) == 1 else ", ".join(models[:-1]) + " and " + models[-1]


def meeting_sentence(entry: dict[str, Any], metric: str, where: str) -> str:
    """The sentence a model-selection meeting needs about the top of a ranking."""
    sep = entry["separation"]
    per = " per scenario" if sep.get("per") == "scenario" else ""
    leader = sep["leader"]
    if sep["tied"]:
        group = next(g for g in entry["tied_groups"] if leader in g)
        if sep["n_to_separate"] is None:
            return (f"{_names(group)} are statistically tied on {metric}{where}; they score the same on these "
                    f"items, so no number of items would tell them apart at this gap.")
        return (f"{_names(group)} are statistically tied on {metric}{where}; the {abs(sep['gap']):.3f} gap is within "
                f"noise: it would take about {count(sep['n_to_separate'])} items{per} to tell "
                f"{leader} and {sep['runner_up']} apart (80% power, alpha 0.05).")
    i = entry["models"].index(leader)
    j = entry["models"].index(sep["runner_up"])
    return (f"{leader} ranks first on {metric}{where} (P(rank 1) = {entry['rank_probs'][i][0]:.2f}); its "
            f"{abs(sep['gap']):.3f} lead over {sep['runner_up']} is beyond noise "
            f"(Holm-adjusted paired p = {pvalue(entry['pairwise_p_holm'][i][j])}).")


def rank_table(title: str, entry: dict[str, Any], metric: str, unit: str, where: str) -> RankTable:
    m = len(entry["models"])
    expected = [sum((r + 1) * p for r, p in enumerate(probs)) for probs in entry["rank_probs"]]
    order = sorted(range(m), key=lambda i: (entry["headline"][i], expected[i]))
    rows = []
    for i in order:
        lo, hi = entry["rank_interval"][i]
        rows.append((entry["models"][i], num(entry["estimates"][i], unit),
                     [f"{p:.2f}" for p in entry["rank_probs"][i]], f"{lo:g}–{hi:g}", str(entry["headline"][i])))
    tied = [_names(g) for g in entry["tied_groups"] if len(g) > 1]
    return RankTable(title, list(range(1, m + 1)), rows, tied, meeting_sentence(entry, metric, where))


def rank_tables(ranks: dict[str, Any], units: dict[str, str]) -> list[RankTable]:
    metric = ranks["metric"]
    unit = units.get(metric, "")
    tables = [rank_table(sid, entry, metric, unit, f" in {sid}") for sid, entry in ranks["scenarios"].items()]
    if ranks.get("overall"):
        tables.append(rank_table("Overall (plain mean of scenario scores, stratified bootstrap)", ranks["overall"],
                                 metric, unit, " across scenarios"))
    return tables


def comparisons(rows: list[dict[str, Any]], unit: str) -> list[Comparison]:
    return [Comparison(
        scenario=r["scenario"], pair=f"{r['a']} − {r['b']}", difference=num(r["difference"], unit),
        interval=interval(r["lo"], r["hi"], unit), se=f"{r['se']:.3f} (unpaired {r['se_unpaired']:.3f})",
        correlation="—" if r["correlation"] is None else f"{r['correlation']:.2f}", test=r["test"],
        p=pvalue(r["p"]), q=pvalue(r.get("q_bh")), a=r["a"], b=r["b"], se_paired=f"{r['se']:.3f}",
        se_unpaired=f"{r['se_unpaired']:.3f}") for r in rows]


def variability_rows(variability: dict[str, Any], units: dict[str, str] | None = None) -> list[VariabilityRow]:
    """Formatted in each metric's unit, as the scenario tables print the same metrics."""
    unit = {"run_sd": "proportion", "flip_rate": "proportion", "icc": "ratio", **(units or {})}
    rows = []
    for sid, per_model in variability.items():
        for model, v in per_model.items():
            rows.append(VariabilityRow(
                sid, model, str(v["repeats"]), ", ".join(num(x, "proportion") for x in v["run_scores"]),
                num(v["run_sd"], unit["run_sd"]), num(v["flip_rate"], unit["flip_rate"]), num(v["icc"], unit["icc"]),
                num(v["item_se"], "proportion")))
    return rows
