"""Issue 15, the report's side of the decision record: cost in a named currency and per month at a traffic, page 1's
recommendation per hypothesis, and the Decisions section (each decision with its status against this run, the
log's head hash, the verdicts over time).

The runs are the v2-tiny fixture archive with its models, verdicts and costs edited by hand; the decision record
is a hand-made snapshot of the shape roadtest.decisions writes to decisions.json."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from roadtest.archive.schema import Manifest, ResolvedConfig
from roadtest.report import charts, cost
from roadtest.report.decisions_view import decision_entry, decisions_view, status
from roadtest.report.hypothesis_view import fresh_sample
from roadtest.report.recommendation import recommendation
from roadtest.report.render import render_html, write_pdf
from roadtest.report.view import build_view, model_line
from tests.report.test_conversation_report import find, own, parse, words

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v2-tiny"
HYP = "tiny-claim"
SID = "tiny-math"
GENERATED = "2026-12-02 09:00 UTC"
HEAD = "9f" * 32
HOSTILE_NOTE = ("We chose it for **latency**. <script>alert('note')</script> <img src=x onerror=alert(1)> "
                "[link](javascript:alert(2))")


def _read(name: str) -> dict:
    return json.loads((FIXTURE / name).read_text())


def _criteria(entry: dict, verdict: str, n_needed: int | None) -> None:
    """Set a copied verdict entry's criteria so that they give `verdict`."""
    crits = entry["criteria"]
    if verdict == "SUPPORTED":
        for c in crits:
            c["verdict"] = "SUPPORTED"
    elif verdict == "REFUTED":
        crits[0]["verdict"] = "REFUTED"
    elif verdict == "INCONCLUSIVE":
        crits[1]["n_needed"] = n_needed
    elif verdict == "NOT DECIDED":
        for c in crits:
            c.update(verdict="NOT DECIDED", note="endpoint failing: 3 of 5 calls failed", estimate=None)
        entry["not_decided"] = ["endpoint failing: 3 of 5 calls failed"]


def run_files(cells: dict[str, dict], currency: str | None = None, traffic: dict | None = None):
    """(manifest, metrics, verdicts) of v2-tiny with one model per entry of `cells`: model -> {"verdict", "cost"
    (per item, None: not priced), "n_needed" (an INCONCLUSIVE model's open criterion)}."""
    manifest, metrics, verdicts = _read("manifest.json"), _read("metrics.json"), _read("verdicts.json")
    config = manifest["config"]
    config["models"] = [dict(config["models"][0], id=m) for m in cells]
    config["selection"]["models"] = list(cells)
    report = config["workspace"]["report"]
    if currency:
        report["currency"] = currency
    if traffic:
        report["traffic"] = traffic
    summary, scenario = metrics["models"].pop("smollm2"), metrics["scenarios"][SID].pop("smollm2")
    hyp = verdicts["hypotheses"][0]
    entry = hyp["models"].pop("smollm2")
    for m, cell in cells.items():
        price = cell.get("cost")
        metrics["models"][m] = dict(summary, cost_per_item=price)
        s = copy.deepcopy(scenario)
        e = s["variants"]["base"]["metrics"]["cost_per_item"]
        if price is not None:
            e.update(value=price, lo=price * 0.9, hi=price * 1.1, n=5, note="", method="test")
        metrics["scenarios"][SID][m] = s
        v = copy.deepcopy(entry)
        v["verdict"] = cell["verdict"]
        _criteria(v, cell["verdict"], cell.get("n_needed", 39))
        hyp["models"][m] = v
    return manifest, metrics, verdicts


def view(files, **kw):
    manifest, metrics, verdicts = files
    return build_view(Manifest.model_validate(manifest), metrics, verdicts, GENERATED, **kw)


def page(files, **kw) -> str:
    return render_html(view(files, **kw))


UNITS = {"accuracy": "proportion", "latency_p95_s": "seconds", "cost_per_item": "currency"}


def hyp(files) -> dict:
    return files[2]["hypotheses"][0]


# -- 1. cost in a named currency, and per month at a traffic ------------------------------------------------

def test_every_cost_names_the_currency():
    html = page(run_files({"gemma3-270m": {"verdict": "SUPPORTED", "cost": 0.0000247}}, currency="USD"))
    root = parse(html)
    lines = [words(li) for li in own(root, "ul", "model-lines").iter("li")]
    assert "0.0247 USD per 1,000 items" in lines[0]
    scenario = next(el for el in find(root, "div", "scenario") if el.get("id") == f"s-{SID}")
    row = next(tr for tr in scenario.iter("tr") if words(tr[0]).startswith("cost_per_item"))
    assert words(row[0]).startswith("cost_per_item (USD)")
    assert row[1].text == "0.0000247"                         # the same figure, per item: three significant figures
    assert words(own(row[1], "span", "interval")) == "[0.0000222, 0.0000272]"
    assert "currency not set" not in html
    rec = own(root, "div", "recommendation")
    assert "(0.0247 USD per 1,000 items)" in words(rec)        # the model line's words, again


def test_without_a_currency_the_document_says_so_once():
    html = page(run_files({"gemma3-270m": {"verdict": "SUPPORTED", "cost": 0.0000247}}))
    assert html.count("currency not set: report.currency in roadtest.yaml") == 1
    lines = [words(li) for li in own(parse(html), "ul", "model-lines").iter("li")]
    assert "0.0247 per 1,000 items" in lines[0] and "USD" not in html


def test_unpriced_models_say_not_priced_and_no_currency_note():
    html = page(run_files({"gemma3-270m": {"verdict": "SUPPORTED", "cost": None}}))
    lines = [words(li) for li in own(parse(html), "ul", "model-lines").iter("li")]
    assert "not priced" in lines[0] and "currency not set" not in html


def test_cost_per_month_at_the_traffic():
    files = run_files({"a": {"verdict": "SUPPORTED", "cost": 0.0000247}, "b": {"verdict": "SUPPORTED", "cost": None}},
                      currency="EUR", traffic={"items_per_month": 500_000})
    lines = dict(view(files).model_lines)
    assert "0.0247 EUR per 1,000 items · 12.35 EUR a month at 500,000 items a month" in lines["a"]
    assert "not priced" in lines["b"] and "a month" not in lines["b"]


def _two_scenarios(costs: dict[str, tuple[float | None, float | None]]) -> dict:
    """metrics with scenarios s1 and s2: model -> (cost per item on s1, on s2), and a pooled summary."""
    scen = {"s1": {}, "s2": {}}
    for m, (c1, c2) in costs.items():
        for sid, value in (("s1", c1), ("s2", c2)):
            scen[sid][m] = {"variants": {"base": {"metrics": {"cost_per_item": {"value": value}}}}}
    pooled = {m: (None if None in c else (c[0] + c[1]) / 2) for m, c in costs.items()}
    return {"scenarios": scen, "models": {m: {"cost_per_item": v} for m, v in pooled.items()}}


def _config(workspace: dict, scenarios: list[str]) -> ResolvedConfig:
    """A configuration with only what costing reads: the workspace's report settings and the run's scenarios."""
    return ResolvedConfig.model_validate({"workspace": {"name": "w", **workspace}, "models": [], "scenarios": {},
                                          "hypotheses": {}, "selection": {"hypotheses": [], "models": [],
                                                                          "scenarios": scenarios}})


def test_cost_per_month_sums_the_scenarios_and_says_which_it_leaves_out():
    metrics = _two_scenarios({"a": (0.001, 0.01)})
    c = cost.costing(_config({"report": {"traffic": {"scenarios": {"s1": 1000}}}}, ["s1", "s2"]))
    assert cost.monthly(metrics, "a", c) == pytest.approx(1.0)            # s2 has no traffic: left out
    assert cost.notes(c, priced=True)[1] == ("Cost per month leaves out s2: report.traffic in roadtest.yaml gives "
                                             "it no items a month.")
    both = cost.costing(_config({"report": {"traffic": {"items_per_month": 100, "scenarios": {"s1": 1000}}}},
                                ["s1", "s2"]))
    assert cost.monthly(metrics, "a", both) == pytest.approx(0.001 * 1000 + 0.01 * 100)
    assert cost.traffic_phrase(both) == "at 1,100 items a month (s1 1,000; s2 100)"
    assert cost.per_month(2.0, both) == "2.00 a month at 1,100 items a month (s1 1,000; s2 100)"
    assert cost.notes(both, priced=False) == []


def test_an_old_archive_without_the_settings_reads_as_before():
    c = cost.costing(_config({"report": {"title": "x", "formats": ["html"]}}, ["s"]))
    assert c == cost.Costing(run_scenarios=("s",))
    summary = {"accuracy": 0.5, "latency_p95_s": 1.0, "cost_per_item": 0.0000247, "errors": 0, "calls": 215}
    assert "0.0247 per 1,000 items" in model_line(summary)


# -- 2. page 1's recommendation per hypothesis --------------------------------------------------------------

def _rec(cells, currency="USD", traffic=None, metrics_edit=None, snapshot=None):
    files = run_files(cells, currency, traffic)
    if metrics_edit:
        metrics_edit(files[1])
    c = cost.costing(ResolvedConfig.model_validate(files[0]["config"]))
    return recommendation(hyp(files), list(cells), UNITS, files[1], c, snapshot), files


def test_several_supported_the_cheapest_priced_one_is_recommended():
    rec, _ = _rec({"a": {"verdict": "SUPPORTED", "cost": 0.00003}, "b": {"verdict": "SUPPORTED", "cost": 0.0000247},
                   "c": {"verdict": "REFUTED", "cost": 0.000001}})
    assert rec.kind == "supported" and rec.model == "b"
    assert rec.sentence == ("Recommended: b, the cheapest of the 2 models that meet it (a 0.0300 USD per 1,000 items, "
                            "b 0.0247 USD per 1,000 items).")


def test_an_unpriced_supported_model_is_named_and_not_ranked():
    rec, _ = _rec({"a": {"verdict": "SUPPORTED", "cost": None}, "b": {"verdict": "SUPPORTED", "cost": 0.0000247}})
    assert rec.model == "b"
    assert rec.sentence == ("Recommended: b, the cheapest of the priced models that meet it (b 0.0247 USD per 1,000 "
                            "items; not priced: a).")


def test_the_same_cost_cannot_pick_either():
    rec, _ = _rec({"a": {"verdict": "SUPPORTED", "cost": 0.00002}, "b": {"verdict": "SUPPORTED", "cost": 0.00002}})
    assert rec.model is None
    assert rec.sentence == ("a and b meet it; a and b cost the same, so cost cannot pick between them (a 0.0200 USD "
                            "per 1,000 items, b 0.0200 USD per 1,000 items).")


def test_several_supported_none_priced_cost_cannot_pick():
    rec, _ = _rec({"a": {"verdict": "SUPPORTED", "cost": None}, "b": {"verdict": "SUPPORTED", "cost": None}})
    assert rec.model is None
    assert rec.sentence == ("a and b meet it; none of them is priced, so cost cannot pick between them (give the "
                            "models a price in roadtest.yaml).")


def test_exactly_one_supported_is_the_recommendation():
    rec, _ = _rec({"a": {"verdict": "INCONCLUSIVE", "cost": 0.00001}, "b": {"verdict": "SUPPORTED", "cost": None}})
    assert rec.model == "b" and rec.sentence == "Recommended: b, the only model that meets it (not priced)."


def test_with_traffic_the_cheapest_is_by_cost_per_month():
    def per_scenario(metrics):                          # b is cheaper per item pooled, a on the scenario with traffic
        metrics["models"]["a"]["cost_per_item"], metrics["models"]["b"]["cost_per_item"] = 0.00005, 0.00001
        metrics["scenarios"][SID]["a"]["variants"]["base"]["metrics"]["cost_per_item"]["value"] = 0.00001
        metrics["scenarios"][SID]["b"]["variants"]["base"]["metrics"]["cost_per_item"]["value"] = 0.00002

    rec, _ = _rec({"a": {"verdict": "SUPPORTED", "cost": 0.1}, "b": {"verdict": "SUPPORTED", "cost": 0.1}},
                  traffic={"items_per_month": 1_000_000}, metrics_edit=per_scenario)
    assert rec.model == "a"
    assert rec.sentence == ("Recommended: a, the cheapest of the 2 models that meet it (at 1,000,000 items a month: "
                            "a 10.00 USD a month, b 20.00 USD a month).")
    single, _ = _rec({"a": {"verdict": "SUPPORTED", "cost": 0.00001}}, traffic={"items_per_month": 1_000_000})
    assert single.sentence == "Recommended: a, the only model that meets it (at 1,000,000 items a month: 10.00 USD a month)."
    unpriced, _ = _rec({"a": {"verdict": "SUPPORTED", "cost": None}}, traffic={"items_per_month": 1_000_000})
    assert unpriced.sentence == "Recommended: a, the only model that meets it (not priced)."


def test_none_supported_some_inconclusive_gives_the_smallest_fresh_sample():
    def best(metrics):
        metrics["ranks"]["scenarios"][SID] = {"sentence": "The best on accuracy is in {a, b} with 95% confidence."}

    rec, files = _rec({"a": {"verdict": "INCONCLUSIVE", "cost": None, "n_needed": 300},
                       "b": {"verdict": "INCONCLUSIVE", "cost": None, "n_needed": 120},
                       "c": {"verdict": "REFUTED", "cost": None}}, metrics_edit=best)
    key = hyp(files)["models"]["b"]["criteria"][1]
    assert rec.kind == "open" and rec.model is None
    assert rec.sentence.startswith("No model meets it yet. Nearest to a decision: b on tiny-math · latency_p95_s ")
    assert rec.sentence.endswith(f"; {fresh_sample(key)}.")
    assert "120 items gives an 80% chance of a decision" in rec.sentence
    assert not re.search(r"would (decide|settle)|settle", rec.sentence)
    assert rec.notes == [f"{SID}: The best on accuracy is in {{a, b}} with 95% confidence."]


def test_every_model_refuted_says_so_once():
    """The matrix sentence above the recommendation already names each model's refuting evidence: the
    recommendation does not repeat it."""
    rec, files = _rec({"a": {"verdict": "REFUTED", "cost": 0.00001}, "b": {"verdict": "REFUTED", "cost": None}})
    assert rec.kind == "refuted" and rec.sentence == "No model meets it: every model run is refuted."
    assert rec.notes == [] and rec.model is None


def test_not_decided_cells_are_neither_for_nor_against():
    rec, _ = _rec({"a": {"verdict": "NOT DECIDED", "cost": 0.000001}, "b": {"verdict": "SUPPORTED", "cost": 0.00009},
                   "c": {"verdict": "SUPPORTED", "cost": 0.0001}})
    assert rec.model == "b" and "a" not in rec.sentence.replace("that", "").split()   # a is cheaper but not decided
    assert rec.notes == ["Not decided, so counted neither for nor against: a (the endpoint failed; an outage is not "
                         "evidence about a model)."]
    refuted, _ = _rec({"a": {"verdict": "NOT DECIDED"}, "b": {"verdict": "REFUTED"}})
    assert refuted.sentence == "No model meets it: every model decided is refuted."
    nothing, _ = _rec({"a": {"verdict": "NOT DECIDED"}})
    assert nothing.kind == "undecided" and nothing.sentence.startswith("No recommendation")
    assert nothing.notes[0].startswith("Not decided, so counted neither for nor against: a")


def test_page_one_shows_the_recommendation_under_the_matrix():
    html = page(run_files({"a": {"verdict": "SUPPORTED", "cost": 0.00003}, "b": {"verdict": "SUPPORTED",
                                                                              "cost": 0.0000247}}, "USD"))
    decision = next(el for el in find(parse(html), "section") if el.get("id") == "decision")
    block = own(decision, "div", "recommendations")
    assert words(block).startswith("What the evidence supports")
    rec = own(block, "div", "supported")
    assert words(rec).startswith("The model can add small numbers: Recommended: b, the cheapest of the 2 models")
    assert [s.text for s in find(rec, "span", "id")][:1] == ["b"]            # model ids are kept whole


def test_the_fixture_run_says_no_model_meets_it_yet_with_the_fresh_sample():
    files = (_read("manifest.json"), _read("metrics.json"), _read("verdicts.json"))
    rec = view(files).recommendations[0]
    assert rec.kind == "open"
    assert rec.sentence.endswith("a fresh sample of 39 items gives an 80% chance of a decision if the true value is "
                                 "the one observed (adding items to this sample and testing again is not valid).")


# -- 3. the Decisions section ------------------------------------------------------------------------------

def _decision(id_, model, status_, **kw):
    return {"id": id_, "hypothesis": HYP, "hypothesis_title": "The model can add small numbers", "model": model,
            "decided_at": "2026-11-01T09:00:00+00:00", "decided_by": "Ana Ruiz", "note": "", "against_evidence": None,
            "verdict": "SUPPORTED", "alternatives": [], "runs": ["20261101-090000-aaa111"], "supersedes": None,
            "superseded_by": None, "status": status_, "status_reason": f"reason for {status_}", "verdict_now": None,
            **kw}


RUNS = [("20261101-090000-aaa111", "2026-11-01T09:00:00+00:00"), ("20261115-090000-bbb222", "2026-11-15T09:00:00+00:00"),
        ("20261202-090000-ccc333", "2026-12-02T09:00:00+00:00")]


def snapshot() -> dict:
    points = lambda verdicts, drift=(): [  # noqa: E731
        {"run_id": r, "at": at, "verdict": v, "flip": i > 0 and v != verdicts[i - 1], "drift": i in drift}
        for i, ((r, at), v) in enumerate(zip(RUNS, verdicts))]
    return {
        "version": 1, "log": {"entries": 3, "head": HEAD},
        "decisions": [
            _decision("2026-11-01-tiny", "smollm2", "holds", superseded_by="2026-12-01-tiny"),
            _decision("2026-12-01-tiny", "gemma3-270m", "at risk", decided_at="2026-12-01T10:00:00+00:00",
                      decided_by="<b>Eve</b> & co", note=HOSTILE_NOTE, verdict="INCONCLUSIVE",
                      against_evidence="We accept the risk.\n<script>alert('why')</script>",
                      alternatives=[{"model": "smollm2", "verdict": "REFUTED",
                                     "evidence": "smollm2 is refuted by tiny-math · accuracy at least 0.5"}],
                      runs=["20261115-090000-bbb222", "20261202-090000-ccc333"], supersedes="2026-11-01-tiny",
                      status_reason="gemma3-270m is undecided on tiny-math · latency_p95_s at most 5",
                      verdict_now="INCONCLUSIVE"),
            dict(_decision("2026-10-01-gone", "old-model", "not run"), hypothesis="retired",
                 hypothesis_title="A retired claim"),
        ],
        "timeline": {
            "runs": [{"run_id": r, "at": at, "this": r == RUNS[-1][0]} for r, at in RUNS],
            "cells": [{"hypothesis": HYP, "model": "smollm2", "points": points(["SUPPORTED", "REFUTED", "REFUTED"])},
                      {"hypothesis": HYP, "model": "gemma3-270m",
                       "points": points(["INCONCLUSIVE", "SUPPORTED", "INCONCLUSIVE"], drift=(2,))}],
            "decisions": [{"id": "2026-11-01-tiny", "hypothesis": HYP, "model": "smollm2", "at": RUNS[0][1]},
                          {"id": "2026-12-01-tiny", "hypothesis": HYP, "model": "gemma3-270m",
                           "at": "2026-12-01T10:00:00+00:00"},
                          {"id": "2026-10-01-gone", "hypothesis": "retired", "model": "old-model",
                           "at": "2026-10-01T09:00:00+00:00"}],
        },
    }


CELLS = {"smollm2": {"verdict": "REFUTED", "cost": None}, "gemma3-270m": {"verdict": "INCONCLUSIVE", "cost": None}}


@pytest.fixture(scope="module")
def decided_page() -> str:
    return page(run_files(CELLS, "USD"), decisions=snapshot())


def _section(html: str):
    found = [el for el in find(parse(html), "section") if el.get("id") == "decisions"]
    assert len(found) == 1
    return found[0]


def test_without_a_record_there_is_no_decisions_section():
    files = run_files(CELLS, "USD")
    html = page(files)
    assert 'id="decisions"' not in html and ".status.holds" not in html and "Decision recorded" not in html
    assert html == page(files, decisions=None)
    assert ("decisions", "Decisions", 1) not in view(files).toc


def test_with_a_record_the_section_follows_the_hypotheses_and_is_in_the_contents(decided_page):
    assert decided_page.index('id="hypotheses"') < decided_page.index('id="decisions"') \
        < decided_page.index('id="scenarios"')
    toc = [words(a) for a in own(parse(decided_page), "nav", "toc").iter("a")]
    assert toc.index("Decisions") == toc.index("Hypotheses and evidence") + 2          # after its one hypothesis
    assert ".status.holds" in decided_page                                          # decisions.css is in the page


def test_each_decision_with_its_status_flag_alternatives_and_runs(decided_page):
    sec = _section(decided_page)
    blocks = {b.get("id"): b for b in find(sec, "div", "decision")}
    assert list(blocks) == ["d-2026-11-01-tiny", "d-2026-12-01-tiny", "d-2026-10-01-gone"]
    old, new, gone = blocks.values()
    assert "superseded" in old.get("class") and "superseded" not in new.get("class")
    assert words(own(old, "span", "status")) == "» superseded"
    assert "replaced by 2026-12-01-tiny" in words(old)
    assert words(own(new, "span", "status")) == "? at risk" and "atrisk" in own(new, "span", "status").get("class")
    assert "gemma3-270m is undecided on tiny-math" in words(own(new, "p", "decision-status"))
    assert words(own(gone, "span", "status")) == "– not run"
    assert "Decided by <b>Eve</b> & co, 2026-12-01 10:00 UTC" in words(new)
    flag = own(new, "p", "against-evidence")
    assert words(flag).startswith("Decided against the evidence (the chosen model was not SUPPORTED): We accept")
    assert own(flag, "span", "reason").text == "We accept the risk.\n<script>alert('why')</script>"
    badges = [words(b) for b in find(new, "span", "badge")]
    assert badges[:2] == ["? INCONCLUSIVE", "? INCONCLUSIVE"]                      # when decided, and in this run
    alt = own(new, "table", "alternatives")
    assert [words(td) for td in list(alt.iter("tr"))[1]] == [
        "smollm2", "× REFUTED", "smollm2 is refuted by tiny-math · accuracy at least 0.5"]
    assert "Evidence runs: 20261115-090000-bbb222, 20261202-090000-ccc333" in words(new)
    assert "not in this run" in words(gone)


def test_a_hostile_note_is_markdown_without_html(decided_page):
    note = own(_section(decided_page), "div", "decision-note")
    assert [words(s) for s in note.iter("strong")] == ["latency"]                   # Markdown is rendered
    assert not find(note, "script") and not find(note, "img") and not find(note, "a")
    assert "<script>alert('note')</script>" in words(note)                          # shown as text
    assert "<script>alert(" not in decided_page and "<b>Eve</b>" not in decided_page


def test_the_log_head_is_shown_whole(decided_page):
    head = own(_section(decided_page), "p", "log-head")
    assert "Decision log: 3 entries." in words(head) and own(head, "code", "hash").text == HEAD


def test_the_chart_has_one_row_per_cell(decided_page):
    svg = own(_section(decided_page), "svg", "chart")
    labels = [words(t) for t in svg.iter("text")]
    rows = [f"{HYP} · smollm2", f"{HYP} · gemma3-270m", "retired · old-model"]
    assert [lab for lab in labels if "·" in lab] == rows                  # a decided cell no run had gets a row too
    assert {"SUPPORTED", "INCONCLUSIVE", "REFUTED", "NOT DECIDED", "flip", "endpoint drift", "decision recorded",
            "this document's run"} <= set(labels)
    caption = words(own(_section(decided_page), "figcaption", ""))
    assert "hollow square INCONCLUSIVE" in caption and "(20261202-090000-ccc333)" in caption


def test_page_one_shows_the_decision_in_force_and_its_status(decided_page):
    decision = next(el for el in find(parse(decided_page), "section") if el.get("id") == "decision")
    current = find(decision, "p", "current-decision")
    assert len(current) == 1                                                          # the superseded one is not
    said = words(current[0])
    assert said.startswith("Decision recorded: gemma3-270m, by <b>Eve</b> & co, 2026-12-01 10:00 UTC (2026-12-01-tiny)")
    assert "against this run: ? at risk gemma3-270m is undecided" in said
    assert own(current[0], "a", "").get("href") == "#d-2026-12-01-tiny"


@pytest.mark.parametrize("label, css, symbol", [("holds", "holds", "✓"), ("at risk", "atrisk", "?"),
                                                ("contradicted", "contradicted", "×"), ("stale", "stale", "~"),
                                                ("not run", "notrun", "–"), ("not decided", "notdecided", "!")])
def test_every_status_has_its_own_class_and_symbol(label, css, symbol):
    entry = decision_entry(_decision("d", "m", label))
    assert (entry.status.label, entry.status.css, entry.status.symbol) == (label, css, symbol)
    assert entry.status_reason == f"reason for {label}" and not entry.superseded
    assert status("no such status").css == "notrun"


def test_the_chart_is_deterministic_and_legible_with_one_run_and_with_ten():
    one = snapshot()
    one["timeline"]["runs"] = one["timeline"]["runs"][-1:]
    for cell in one["timeline"]["cells"]:
        cell["points"] = cell["points"][-1:]
    one["timeline"]["decisions"] = []
    first = decisions_view(one).chart
    assert first is not None and first == decisions_view(one).chart
    assert "this document's run" in first
    ten = snapshot()
    ten["timeline"]["runs"] = [{"run_id": f"r{i}", "at": f"2026-{1 + i:02d}-03T08:00:00+00:00", "this": i == 9}
                               for i in range(10)]
    verdicts = ["SUPPORTED", "INCONCLUSIVE", "REFUTED", "NOT DECIDED"]
    for cell in ten["timeline"]["cells"]:
        cell["points"] = [{"run_id": f"r{i}", "at": f"2026-{1 + i:02d}-03T08:00:00+00:00",
                           "verdict": verdicts[i % 4], "flip": i % 3 == 0, "drift": i == 4} for i in range(10)]
    chart = decisions_view(ten).chart
    assert chart == decisions_view(ten).chart and chart != first
    assert [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", chart) if "·" in t] == \
        [f"{HYP} · smollm2", f"{HYP} · gemma3-270m", "retired · old-model"]


def test_the_timeline_rows_carry_points_and_decision_marks():
    rows = decisions_view(snapshot()).rows
    assert rows == [f"{HYP} · smollm2", f"{HYP} · gemma3-270m", "retired · old-model"]
    from roadtest.report.decisions_view import timeline_rows

    built = timeline_rows(snapshot()["timeline"])
    assert [len(r.points) for r in built] == [3, 3, 0] and [len(r.decisions) for r in built] == [1, 1, 1]
    assert [p.flip for p in built[0].points] == [False, True, False]
    assert [p.drift for p in built[1].points] == [False, False, True]
    assert charts.verdict_timeline([], []) is None


def test_an_empty_record_says_no_decision_yet():
    empty = {"version": 1, "log": {"entries": 0, "head": ""}, "decisions": [],
             "timeline": {"runs": [], "cells": [], "decisions": []}}
    sec = _section(page(run_files(CELLS), decisions=empty))
    assert "No decision is recorded yet" in words(sec) and not find(sec, "svg")


@pytest.mark.pdf
def test_the_decisions_section_is_in_the_pdf(tmp_path):
    from pypdf import PdfReader

    write_pdf(page(run_files(CELLS, "USD"), decisions=snapshot()), tmp_path, tmp_path / "report.pdf")
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(str(tmp_path / "report.pdf")).pages).split())
    assert "Decisions" in text and "Decision log: 3 entries." in text
    assert "Decided against the evidence" in text and "at risk" in text and "superseded" in text
    assert "We accept the risk." in text and "<script>alert('note')</script>" in text
    assert "What the evidence supports" in text and "Decision recorded: gemma3-270m" in text
    assert "Verdicts over time, one row per hypothesis × model" in text
    assert HEAD[:16] in text.replace(" ", "")


def test_a_cost_criterion_and_the_prices_name_the_currency():
    from roadtest.report.hypothesis_view import claim
    from roadtest.report.appendix import endpoint_line

    c = {"scenario": SID, "metric": "cost_per_item", "direction": "at_most", "threshold": 0.0001, "versus": None}
    assert claim(c, "USD").startswith(f"{SID} · cost_per_item (USD) ") and "(USD)" not in claim(c)
    files = run_files({"a": {"verdict": "SUPPORTED", "cost": 0.0000247}}, currency="USD")
    files[0]["config"]["models"][0]["price"] = {"input_per_mtok": 0.15, "output_per_mtok": 0.6}
    details = dict(view(files).model_details)
    assert "price 0.15 in / 0.6 out USD per million tokens" in details["a"]
    assert "price 0.15 in / 0.6 out per million tokens" in endpoint_line(files[0]["config"]["models"][0], {})


def test_a_malformed_record_is_shown_as_far_as_it_goes():
    broken = {"version": 1, "log": "not a mapping", "decisions": ["x", _decision("ok", "m", "holds")],
              "timeline": {"runs": [{"run_id": "r", "at": "not a time"}], "cells": "x", "decisions": [3]}}
    record = decisions_view(broken)
    assert [e.id for e in record.entries] == ["ok"] and record.log_entries == "—" and record.chart is None


@pytest.mark.browser
def test_the_decisions_section_fits_a_phone_and_runs_no_script(tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.report.test_browser import ARGS
    from tests.support.tools import require_command

    chromium = require_command("chromium", "chromium-browser")
    (tmp_path / "report.html").write_text(page(run_files(CELLS, "USD"), decisions=snapshot()))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            for width in (1366, 390):
                tab = browser.new_page(viewport={"width": width, "height": 900})
                dialogs, errors = [], []
                tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                tab.on("pageerror", lambda e: errors.append(str(e)))
                tab.goto((tmp_path / "report.html").as_uri())
                found = tab.evaluate("""() => ({
                  page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
                  wide: [...document.querySelectorAll('#decisions p, #decisions h3, .decision-note')]
                          .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.slice(0, 40)),
                  statuses: [...document.querySelectorAll('#decisions .status')].map(e => e.textContent.trim()),
                })""")
                assert found["page"] <= 0 and found["wide"] == [], (width, found)
                assert found["statuses"] == ["» superseded", "? at risk", "– not run"]
                assert dialogs == [] and errors == []
                tab.close()
        finally:
            browser.close()
