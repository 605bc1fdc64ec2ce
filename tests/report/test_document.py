"""The decision document as a statistician reads it (issue 13): one answer per question, the best-model set as the
headline, the family said once, NOT DECIDED in red on page 1, power in words that are true, the settings gap with
its interval. On a real run against canned endpoints (conftest.stub_run): no model server needed."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from roadtest.report.formatting import count, num, plural, signed_interval
from roadtest.report.hypothesis_view import fresh_sample
from roadtest.report.render import default_templates
from roadtest.verdict.feasibility import warnings as design_warnings

BANNED = re.compile(r"\btied\b|within (the )?noise|beyond (the |its |their )?noise|pareto|would decide", re.I)
"""Words that make a difference look decided (or undecided) by something other than its test."""


def text(fragment: str) -> str:
    fragment = re.sub(r"<(svg|style)\b.*?</\1>", " ", fragment, flags=re.S)
    fragment = re.sub(r"</?(span|strong|em|a|code)\b[^>]*>", "", fragment)         # inline: no space
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())
    return re.sub(r" ([:;,.])", r"\1", words)                  # '<b>gamma</b>: x' reads 'gamma: x'


def part(page: str, tag: str, anchor: str) -> str:
    """The HTML of one section (or the header), by its id."""
    found = re.search(rf'<{tag}[^>]*\bid="{re.escape(anchor)}".*?</{tag}>', page, re.S)
    assert found, anchor
    return found.group(0)


def hypothesis(page: str, hid: str) -> str:
    found = re.search(rf'<div class="hypothesis" id="h-{re.escape(hid)}">.*?(?=<div class="hypothesis"|</section>)',
                      page, re.S)
    assert found, hid
    return found.group(0)


def scenario(page: str, sid: str) -> str:
    found = re.search(rf'<div class="scenario" id="s-{re.escape(sid)}">.*?(?=<div class="scenario"|<h3>LLM judges|</section>)',
                      page, re.S)
    assert found, sid
    return found.group(0)


@pytest.fixture(scope="module")
def doc(stub_run):
    _, run_dir = stub_run
    read = lambda name: json.loads((run_dir / name).read_text())  # noqa: E731
    return {"html": (run_dir / "report.html").read_text(), "metrics": read("metrics.json"),
            "verdicts": read("verdicts.json"), "config": read("manifest.json")["config"]}


def oriented(row: dict, model: str) -> str:
    """The scan's interval as `model` minus the other (a criterion's orientation)."""
    lo, hi = (row["lo"], row["hi"]) if row["a"] == model else (-row["hi"], -row["lo"])
    return signed_interval(lo, hi, "proportion")


def test_no_word_that_decides_a_difference_without_its_test(doc):
    assert BANNED.search(text(doc["html"])) is None, BANNED.search(text(doc["html"]))
    sources = [*Path(default_templates()).glob("*.j2"), *Path(__file__).parents[2].glob("src/roadtest/report/*.py")]
    assert sources
    for path in sources:
        assert BANNED.search(path.read_text(encoding="utf-8")) is None, path


def test_one_answer_per_pair_in_the_scan_the_hypotheses_and_the_settings(doc):
    page, ranks = doc["html"], text(part(doc["html"], "section", "ranks"))
    rows = doc["metrics"]["comparisons"]
    # 3 pairs on 2 scenarios, less gamma's 2 on math-add: a failing endpoint enters no comparison
    assert len(rows) == 4 and any(r["shown"] for r in rows) and any(not r["shown"] for r in rows)
    assert not any("gamma" in (r["a"], r["b"]) and r["scenario"] == "math-add" for r in rows)
    verdicts = {h["id"]: h for h in doc["verdicts"]["hypotheses"]}
    pointed = 0
    for row in rows:
        assert row["wording"] in ranks
        for ref in row["criteria"]:
            for model, entry in verdicts[ref["hypothesis"]]["models"].items():
                c = entry["criteria"][ref["criterion"]]
                if model not in (row["a"], row["b"]) or c["verdict"] in ("NOT DECIDED", "NOT APPLICABLE"):
                    continue
                where = text(hypothesis(page, ref["hypothesis"]))
                assert f"the same pair in the scan: {row['wording']}" in where
                assert signed_interval(c["lower"], c["upper"], "proportion") == oriented(row, model)
                assert oriented(row, model) in where
                assert c["method"] == row["test"]
                pointed += 1
    assert pointed >= 2
    for sid, entry in doc["metrics"]["sensitivity"].items():
        (row,) = [r for r in rows if r["scenario"] == sid and {r["a"], r["b"]} == {entry["a"], entry["b"]}]
        base = next(g for g in entry["gaps"] if g["variant"] == "base")
        assert signed_interval(base["lower"], base["upper"], "proportion") == oriented(row, entry["a"])


def test_the_best_model_set_is_the_headline_and_ranks_are_described(doc):
    ranks = part(doc["html"], "section", "ranks")
    headlines = [text(p) for p in re.findall(r'<p class="sentence">(.*?)</p>', ranks, re.S)]
    assert headlines == [e["sentence"] for e in doc["metrics"]["ranks"]["scenarios"].values()]
    for entry in doc["metrics"]["ranks"]["scenarios"].values():
        assert entry["rank_probs_note"] in text(ranks)
    assert "Headline rank" not in ranks and "rank interval" not in ranks


def test_page_one_says_the_better_model_depends_on_the_scenario_instead_of_a_mean(doc):
    interaction = [e for e in doc["metrics"]["ranks"]["interaction"] if e["significant"]]
    assert interaction
    page_one = text(part(doc["html"], "section", "decision"))
    for e in interaction:
        assert e["sentence"] in page_one
    assert "Which model is better depends on the scenario" in page_one
    assert "scenario accuracies, n =" not in page_one           # no grand mean of accuracy
    for model, per in doc["metrics"]["scenarios"]["math-add"].items():
        accuracy = per["variants"]["base"]["metrics"]["accuracy"]
        assert f"math-add {num(accuracy['value'], 'proportion')}" in page_one, model
    assert "Trade-off" not in part(doc["html"], "section", "decision")      # charted per scenario instead
    for sid in doc["config"]["selection"]["scenarios"]:
        assert "Trade-off: better is up and to the left" in scenario(doc["html"], sid)


def test_each_hypothesis_states_its_family_once(doc):
    page = text(doc["html"])
    for h in doc["verdicts"]["hypotheses"]:
        assert h["family"] and page.count(h["family"]) == 1


def test_not_decided_is_red_with_its_reason_at_the_top_of_page_one(doc):
    page = doc["html"]
    cells = [(h, m, e) for h in doc["verdicts"]["hypotheses"] for m, e in h["models"].items()
             if e["verdict"] == "NOT DECIDED"]
    assert cells
    header = part(page, "header", "top")
    assert 'class="alert not-decided"' in header and page.index(header) < page.index('id="decision"')
    box = text(header)
    for h, model, entry in cells:
        for reason in entry["not_decided"]:
            assert f"{h['title']} · {model}: {reason}" in box
            assert f"Not decided for {model}: {reason}" in text(hypothesis(page, h["id"]))
    assert '<span class="badge notdecided">! NOT DECIDED</span>' in part(page, "section", "decision")
    css = (default_templates() / "report.css").read_text()
    assert re.search(r"\.badge\.notdecided \{[^}]*color: var\(--bad\)", css)


def test_open_criteria_say_what_a_fresh_sample_gives_and_nothing_more(doc):
    page = text(doc["html"])
    open_ = [c for h in doc["verdicts"]["hypotheses"] for e in h["models"].values() for c in e["criteria"]
             if c["verdict"] == "INCONCLUSIVE" and c["n_needed"]]
    assert open_
    for c in open_:
        sentence = (f"a fresh sample of {count(c['n_needed'])} items gives an 80% chance of a decision if the true "
                    "value is the one observed (adding items to this sample and testing again is not valid)")
        assert fresh_sample(c) == sentence and sentence in page


def test_a_comparison_robust_to_settings_shows_every_setting(doc):
    robust = [(h["id"], c) for h in doc["verdicts"]["hypotheses"] for e in h["models"].values()
              for c in e["criteria"] if c["robust_to_settings"] and c["variants"]]
    assert robust
    for hid, c in robust:
        where = hypothesis(doc["html"], hid)
        table = re.search(r'<table class="variants small">.*?</table>', where, re.S).group(0)
        for v in c["variants"]:
            assert f'<td class="id">{v["variant"]}</td>' in table
            assert signed_interval(v["lower"], v["upper"], "proportion") in text(table)


def test_the_settings_section_gives_the_gap_and_the_interaction_with_intervals(doc):
    sensitivity = doc["metrics"]["sensitivity"]
    assert sensitivity
    for sid, entry in sensitivity.items():
        where = text(scenario(doc["html"], sid))
        assert f"{entry['a']} − {entry['b']}" in where
        for g in entry["gaps"]:
            assert signed_interval(g["lower"], g["upper"], "proportion") in where
        assert entry["interactions"]
        for i in entry["interactions"]:
            assert f"Model × setting interaction: {i['sentence']}." in where


def test_a_confounded_comparison_is_flagged_wherever_it_is_shown(doc):
    every = [w for w in design_warnings(doc["config"]) if "confounded" in w]
    warned = [w for w in every if " criteria[" in w]
    assert warned
    page = doc["html"]
    for w in every:
        if " criteria[" in w:
            continue
        sid, words = w.split(": ", 1)                                  # a scenario's: where its scan rows are
        assert f"Design warning: {words}" in text(part(page, "section", "ranks"))
        assert words in text(scenario(page, sid))
    for w in warned:
        hid, words = w.split(" criteria[", 1)[0], w.split("]: ", 1)[1]
        assert w in text(part(page, "section", "decision"))
        assert f"Design warning: {words}" in text(hypothesis(page, hid))
        assert f"Design warning: {words}" in text(part(page, "section", "ranks"))
    shown = 0
    for sid, entry in doc["metrics"]["sensitivity"].items():          # and where the settings gap of the pair is
        for row in doc["metrics"]["comparisons"]:
            if row["scenario"] != sid or {row["a"], row["b"]} != {entry["a"], entry["b"]}:
                continue
            for ref in row["criteria"]:
                for w in warned:
                    if w.startswith(f"{ref['hypothesis']} criteria[{ref['criterion']}]: "):
                        assert f"Design warning: {w.split(']: ', 1)[1]}" in text(scenario(page, sid))
                        shown += 1
    assert shown


def test_page_one_latency_says_what_was_set_apart(doc):
    page_one = text(part(doc["html"], "section", "decision"))
    for model, m in doc["metrics"]["models"].items():
        assert (f"(n = {count(m['latency_n'])}; set apart: {plural(m['latency_warmup'], 'warm-up call')} and "
                f"{plural(m['latency_cached'], 'cached call')})") in page_one, model
