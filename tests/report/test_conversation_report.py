"""A conversation scenario's section of the decision document: its metrics with their intervals, tool use, how
the conversations ended, the simulated customer's faults and real transcripts, shown as a chat and escaped.

The run is the v2-tiny fixture archive with a conversation scenario (and a second model) added by hand: its
metrics, verdicts and manifest are real, the "conversations" section is written here."""

from __future__ import annotations

import copy
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from roadtest.archive.schema import Manifest
from roadtest.report.conversation_view import METRICS
from roadtest.report.formatting import count, interval, num
from roadtest.report.render import render_html, write_pdf
from roadtest.report.view import build_view
from roadtest.spec import Scenario

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "archives" / "v2-tiny"
SID = "refund-chat"
MODELS = ["smollm2", "acme-7b"]
HOSTILE = "<script>alert(1)</script> {{ 7*7 }}"
LONG_WORD = "A" * 380
"""One unbroken word, wider than the page: it must wrap, not run off it."""
LONG_TURN = f"Full refund guaranteed! {LONG_WORD} " + "and more words " * 30
"""Longer than a transcript shows: clipped at a word."""

CATALOGUE = {
    "resolution_rate": ("proportion", "higher"), "end_state_accuracy": ("proportion", "higher"),
    "policy_violation_rate": ("proportion", "lower"), "turns_mean": ("turns", "lower"),
    "tool_calls_mean": ("calls", "lower"), "invalid_tool_call_rate": ("proportion", "lower"),
    "abandon_rate": ("proportion", "lower"), "conversation_latency_p95_s": ("seconds", "lower"),
    "pass_all_k": ("proportion", "higher"), "simulator_fault_rate": ("proportion", "lower"),
}
ESTIMATES = {
    "smollm2": {"resolution_rate": (0.5, 0.27, 0.73, 12), "end_state_accuracy": (0.583, 0.32, 0.81, 12),
                "policy_violation_rate": (0.25, 0.07, 0.53, 12), "turns_mean": (3.42, 2.9, 4.1, 12),
                "tool_calls_mean": (1.75, 1.2, 2.4, 12), "invalid_tool_call_rate": (0.095, 0.02, 0.27, 21),
                "abandon_rate": (0.083, 0.004, 0.34, 12), "conversation_latency_p95_s": (4.81, 3.2, None, 12),
                "pass_all_k": (0.25, 0.013, 0.75, 4), "simulator_fault_rate": (0.05, 0.01, 0.15, 40)},
    "acme-7b": {"resolution_rate": (0.9, 0.63, 0.99, 10), "end_state_accuracy": (0.9, 0.63, 0.99, 10),
                "policy_violation_rate": (0.0, 0.0, 0.26, 10), "turns_mean": (2.1, 1.8, 2.5, 10),
                "tool_calls_mean": (2.0, 1.7, 2.3, 10), "invalid_tool_call_rate": (0.0, 0.0, 0.14, 20),
                "abandon_rate": (0.0, 0.0, 0.26, 10), "conversation_latency_p95_s": (2.2, 1.5, 3.9, 10),
                "pass_all_k": (None, None, None, 0), "simulator_fault_rate": (0.0, 0.0, 0.07, 35)},
}
NOTE = "too few cases resolved in every repeat to estimate"

SPEC = {
    "id": SID, "kind": "conversation", "success": "The assistant settles a refund request within policy.",
    "dataset": {"path": "refund-chat.jsonl", "id": "id"}, "prompt": {"system": "You are a support agent."},
    "repeats": 3,
    "user": {"simulator": {"model": "acme-7b", "system": "You are {{ persona }}. Goal: {{ goal }}"},
             "max_turns": 6, "stop": ["bye"]},
    "tools": [
        {"name": "lookup_order", "description": "Find an order by id.",
         "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
         "lookup": {"table": "orders.jsonl", "key": "order_id"}},
        {"name": "issue_refund", "description": "Refund an order.",
         "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}}},
         "action": {"result": "Refunded {{ amount }}."}},
        {"name": "hand_over", "description": "Hand the case to a human.", "action": {"ends": True}},
    ],
    "scoring": {"rule": "end_state", "expect": "expect", "forbid": "forbid"},
}

FAILED = {
    "conversation": "refund-chat/c7/smollm2/r1", "item": "c7", "repeat": 1, "variant": "base", "resolved": False,
    "end_state": False, "violation": True, "ended": "max_turns",
    "missing": [{"tool": "issue_refund", "args": {"order_id": "A17", "amount": 25.0}}],
    "forbidden": [{"tool": "hand_over", "args": {}}], "events_left_off": 4,
    "events": [
        {"turn": 0, "role": "user", "text": f"My order A17 arrived broken. {HOSTILE}"},
        {"turn": 1, "role": "tool_call", "text": '{"order_id": "A17"}', "tool": "lookup_order", "valid": True},
        {"turn": 1, "role": "tool_result", "text": '{"order_id": "A17", "total": 25.0}', "tool": "lookup_order",
         "valid": True},
        {"turn": 1, "role": "tool_call", "text": '{"order": 17}', "tool": "issue_refund", "valid": False,
         "error": "invalid_arguments"},
        {"turn": 1, "role": "tool_result", "text": "Error: invalid arguments for issue_refund: 'order' is unexpected.",
         "tool": "issue_refund", "valid": False, "error": "invalid_arguments"},
        {"turn": 1, "role": "assistant", "text": LONG_TURN, "violation": True,
         "reasons": "forbidden pattern /(?i)full refund guaranteed/"},
        {"turn": 2, "role": "user", "text": "So is it refunded?"},
        {"turn": 3, "role": "assistant", "text": "I will hand you over <b>now</b>."},
    ],
}
RESOLVED = {
    "conversation": "refund-chat/c2/smollm2/r0", "item": "c2", "repeat": 0, "variant": "base", "resolved": True,
    "end_state": True, "violation": False, "ended": "stop", "missing": [], "forbidden": [],
    "events": [{"turn": 0, "role": "user", "text": "Refund order B3 please."},
               {"turn": 1, "role": "tool_call", "text": '{"amount": 9.5, "order_id": "B3"}', "tool": "issue_refund",
                "valid": True},
               {"turn": 1, "role": "tool_result", "text": "Refunded 9.5.", "tool": "issue_refund", "valid": True},
               {"turn": 1, "role": "assistant", "text": "Done: 9.50 refunded."}],
}
CONVERSATIONS = {
    "smollm2": {
        "conversations": 14, "errors": 1, "incomplete": 1,
        "ended": {"stop": 7, "max_turns": 3, "tool_end": 2, "error": 1, "incomplete": 1},
        "tools": {"lookup_order": {"calls": 12, "invalid": 0}, "issue_refund": {"calls": 8, "invalid": 2},
                  "delete_account": {"calls": 1, "invalid": 1}},
        "tool_calls": 21, "invalid_tool_calls": 3,
        "simulator": {"turns": 40, "faults": 3, "by_kind": {"as_assistant": 2, "empty": 1},
                      "examples": [{"conversation": "refund-chat/c4/smollm2/r2", "turn": 2, "kinds": ["as_assistant"],
                                    "text": f"How can I help you today? {HOSTILE}"},
                                   {"conversation": "refund-chat/c5/smollm2/r0", "turn": 4, "kinds": ["empty"],
                                    "text": ""},
                                   {"conversation": "refund-chat/c6/smollm2/r0", "turn": 2, "kinds": ["empty"],
                                    "text": "THIRD EXAMPLE NOT SHOWN"}]},
        "pass_all_k": {"k": 3, "cases": 4, "passed": 1},
        "transcripts": [FAILED, RESOLVED],
    },
    "acme-7b": {
        "conversations": 10, "errors": 0, "incomplete": 0, "ended": {"stop": 9, "tool_end": 1},
        "tools": {"lookup_order": {"calls": 10, "invalid": 0}, "issue_refund": {"calls": 10, "invalid": 0}},
        "tool_calls": 20, "invalid_tool_calls": 0,
        "simulator": {"turns": 35, "faults": 0, "by_kind": {}, "examples": []},
        "pass_all_k": None, "transcripts": [],
    },
}


def _estimate(value, lo, hi, n, note=""):
    return {"value": value, "lo": lo, "hi": hi, "n": n, "note": note, "design": "", "method": "test"}


def run_files(conversations=CONVERSATIONS):
    """(manifest, metrics, verdicts) of v2-tiny with the conversation scenario and a second model added."""
    read = lambda name: json.loads((FIXTURE / name).read_text())  # noqa: E731
    manifest, metrics, verdicts = read("manifest.json"), read("metrics.json"), read("verdicts.json")
    config = manifest["config"]
    config["models"].append(dict(config["models"][0], id="acme-7b", provider="openai",
                                 base_url="http://127.0.0.1:9/v1", model="acme-7b"))
    config["selection"]["models"] = MODELS
    config["selection"]["scenarios"].append(SID)
    spec = Scenario.model_validate(SPEC).model_dump(mode="json")
    config["scenarios"][SID] = dict(copy.deepcopy(config["scenarios"]["tiny-math"]), spec=spec,
                                    source="scenarios/refund-chat.yaml", items=4)
    for metric, (unit, direction) in CATALOGUE.items():
        metrics["metrics"].setdefault(metric, {"description": metric, "direction": direction, "family": "conversation",
                                               "kind": "proportion", "unit": unit})
    base = metrics["scenarios"]["tiny-math"]["smollm2"]["variants"]["base"]["metrics"]
    metrics["scenarios"][SID] = {}
    for model in MODELS:
        estimates = {k: v for k, v in base.items() if metrics["metrics"][k]["family"] in ("efficiency",)}
        estimates.update({k: _estimate(*v, note=NOTE if v[0] is None else "") for k, v in ESTIMATES[model].items()})
        metrics["scenarios"][SID][model] = {
            "variants": {"base": {"items": CONVERSATIONS[model]["conversations"], "trials": 60, "metrics": estimates}},
            "failures": {}, "groups": [], "counterfactual_groups": []}
    metrics["conversations"] = {SID: conversations}
    for h in verdicts["hypotheses"]:
        h["models"]["acme-7b"] = copy.deepcopy(h["models"]["smollm2"])
    return manifest, metrics, verdicts


def render(files=None) -> str:
    manifest, metrics, verdicts = files or run_files()
    return render_html(build_view(Manifest.model_validate(manifest), metrics, verdicts, "2025-01-01 00:00 UTC"))


# -- a small HTML tree (the stdlib parser) ----------------------------------------------------------------

VOID = {"br", "col", "meta", "img", "hr", "input", "link", "wbr"}


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = ET.Element("root")
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        el = ET.SubElement(self.stack[-1], tag, {k: v or "" for k, v in attrs})
        if tag not in VOID:
            self.stack.append(el)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data):
        parent = self.stack[-1]
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + data
        else:
            parent.text = (parent.text or "") + data


def parse(page: str) -> ET.Element:
    tree = _Tree()
    tree.feed(page)
    tree.close()
    return tree.root


def classes(el: ET.Element) -> set[str]:
    return set(el.get("class", "").split())


def find(root: ET.Element, tag: str, cls: str = "") -> list[ET.Element]:
    return [el for el in root.iter(tag) if not cls or cls in classes(el)]


def words(el: ET.Element) -> str:
    return " ".join("".join(el.itertext()).split())


def own(el: ET.Element, tag: str, cls: str) -> ET.Element:
    found = find(el, tag, cls)
    assert len(found) == 1, (tag, cls, len(found))
    return found[0]


def section(page: str) -> ET.Element:
    scenario = next(el for el in find(parse(page), "div", "scenario") if el.get("id") == f"s-{SID}")
    return own(scenario, "div", "conversations")


@pytest.fixture(scope="module")
def page():
    return render()


# -- tests ------------------------------------------------------------------------------------------------

def test_without_conversations_the_report_is_the_checked_in_one(tmp_path):
    """A run without a conversation scenario gets the document it got before conversations existed, byte for byte."""
    from typer.testing import CliRunner

    from roadtest.cli import app

    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    (run_dir / "report.html").unlink()
    (tmp_path / "ws").mkdir()
    result = CliRunner().invoke(app, ["report", str(run_dir), "-w", str(tmp_path / "ws"), "--format", "html"])
    assert result.exit_code == 0, result.output
    assert (run_dir / "report.html").read_bytes() == (FIXTURE / "report.html").read_bytes()


def test_a_single_scenario_has_no_conversation_section(page):
    single = next(el for el in find(parse(page), "div", "scenario") if el.get("id") == "s-tiny-math")
    assert not find(single, "div", "conversations")


def test_every_conversation_metric_with_its_interval_per_model(page):
    conv = section(page)
    table = own(conv, "table", "conversation")
    header = [words(th) for th in table.iter("th")]
    assert header[1].startswith("smollm2") and "14 conversations" in header[1]
    assert header[2].startswith("acme-7b") and "10 conversations" in header[2]
    rows = {words(tr[0]).split()[0]: tr for tr in own(table, "tbody", "").iter("tr")}
    assert list(rows) == list(METRICS) and set(METRICS) == set(CATALOGUE)
    assert list(rows)[:2] == ["resolution_rate", "policy_violation_rate"]       # the headline first
    assert "resolved without a policy violation" in words(rows["resolution_rate"][0])
    for metric, (unit, direction) in CATALOGUE.items():
        assert ("↑" if direction == "higher" else "↓") in words(rows[metric][0])
        for cell, model in zip(rows[metric][1:], MODELS):
            value, lo, hi, _ = ESTIMATES[model][metric]
            shown = own(cell, "span", "interval")
            if value is None:
                assert cell.text == "n/a" and words(shown) == ""
            else:
                assert cell.text == num(value, unit)
                assert words(shown) == interval(lo, hi, unit)
    assert [words(li) for li in own(conv, "ul", "notes").iter("li")] == ["pass_all_k: " + NOTE]


def test_the_scenario_table_leaves_the_conversation_metrics_to_the_conversation_table(page):
    scenario = next(el for el in find(parse(page), "div", "scenario") if el.get("id") == f"s-{SID}")
    main = find(scenario, "table", "comparison")[0]
    assert "conversation" not in classes(main)
    metrics = [words(tr[0]).split()[0] for tr in main.iter("tr") if tr[0].tag == "td" and len(tr) > 1]
    assert "latency_p50_s" in metrics and "tokens_out" in metrics
    assert not set(metrics) & set(CATALOGUE)                    # policy_violation_rate included: shown once
    notes = [words(li) for ul in find(scenario, "ul", "notes")[:1] for li in ul.iter("li")]
    assert notes and not [n for n in notes if n.startswith("pass_all_k")]


def test_the_charts_put_resolution_first(page):
    scenario = next(el for el in find(parse(page), "div", "scenario") if el.get("id") == f"s-{SID}")
    figures = [" ".join("".join(f.itertext()).split()) for f in find(scenario, "figure", "chart-box")]
    assert any("Resolution rate by model, with its 90% interval" in f for f in figures)
    assert any("Trade-off" in f and "p95 time of a conversation (s)" in f and "resolution_rate" in f for f in figures)
    assert "Not in the trade-off chart" not in words(scenario)


def test_the_tool_table_counts_calls_and_invalid_calls(page):
    table = own(section(page), "table", "tools")
    rows = [[words(tr[0]), words(tr[1])] + [(td.text, "".join(sub.text for sub in td)) for td in tr[2:]]
            for tr in own(table, "tbody", "").iter("tr")]
    by_name = {r[0]: r[1:] for r in rows}
    assert [r[0] for r in rows] == ["lookup_order", "issue_refund", "hand_over", "delete_account", "all tools"]
    assert by_name["lookup_order"] == ["lookup", ("12", "0 invalid"), ("10", "0 invalid")]
    assert by_name["issue_refund"] == ["action", ("8", "2 invalid"), ("10", "0 invalid")]
    assert by_name["hand_over"] == ["action, ends the conversation", ("0", ""), ("0", "")]   # never called: listed
    assert by_name["delete_account"] == ["not a tool of this scenario", ("1", "1 invalid"), ("0", "")]
    assert by_name["all tools"][1:] == [("21", "3 invalid"), ("20", "0 invalid")]


def test_endings_pass_k_and_what_is_not_evidence(page):
    blocks = find(section(page), "div", "conversation-model")
    assert [words(own(b, "strong", "id")) for b in blocks] == MODELS
    small = words(blocks[0])
    assert ("14 conversations. How they ended: stop phrase 7 · ending tool 2 · turn limit 3 · failed call 1 · "
            "incomplete 1." in small)
    assert ("1 conversation ended in a failed call and 1 was not finished: not evidence about the model (a failed "
            "call is never a wrong answer); the rates count the other 12." in small)
    assert "Resolved in every one of 3 repeats: 1 of 4 cases." in small
    other = words(blocks[1])
    assert "not evidence" not in other and "Resolved in every one" not in other      # no pass^k given: no sentence


def test_simulator_faults_are_a_warning_with_examples(page):
    first, second = find(section(page), "div", "conversation-model")
    warning = own(first, "div", "simulator")
    assert "warning" in classes(warning)
    said = words(warning)
    assert "faulty in 3 of its 40 turns (2 written as the assistant, 1 empty)" in said
    assert "can make a conversation look resolved or failed" in said
    examples = find(warning, "p", "fault")
    assert len(examples) == 2 and "THIRD EXAMPLE" not in said
    assert words(examples[0]).startswith("conversation refund-chat/c4/smollm2/r2, turn 2 (written as the assistant):")
    assert words(own(examples[0], "code", "")) == " ".join(f"How can I help you today? {HOSTILE}".split())
    calm = own(second, "div", "simulator")
    assert "warning" not in classes(calm) and "no faulty message in its 35 turns" in words(calm)


def test_a_transcript_is_a_chat_in_order_with_the_violation_marked(page):
    first = find(section(page), "div", "conversation-model")[0]
    failed, resolved = find(first, "div", "transcript")
    assert "failed" in classes(failed) and "resolved" in classes(resolved)
    head = words(own(failed, "p", "transcript-head"))
    assert head.startswith("not resolved, policy violation, end state not as expected")
    assert "item c7 · repeat 1 · ended: turn limit" in head
    turns = find(own(failed, "ol", "chat"), "li")
    assert [t.get("class").split()[1] for t in turns] == [e["role"] for e in FAILED["events"]]
    labels = [words(own(t, "span", "who")) for t in turns]
    assert labels[0] == "Customer · turn 0"
    assert labels[1] == "Tool call lookup_order · turn 1"
    assert labels[3] == "Tool call issue_refund · turn 1 · refused: arguments against its schema"
    assert labels[5] == "Assistant · turn 1"
    said = [own(t, "span", "said").text for t in turns]
    assert said[1] == '{"order_id": "A17"}' and said[2] == '{"order_id": "A17", "total": 25.0}'
    marked = [t for t in turns if "violation" in classes(t)]
    assert marked == [turns[5]]
    assert words(own(turns[5], "span", "flag")) == "Policy violation: forbidden pattern /(?i)full refund guaranteed/"
    actions = [words(p) for p in find(failed, "p", "actions")]
    assert actions == ['Missing actions: issue_refund {"amount": 25.0, "order_id": "A17"}',
                       "Forbidden actions taken: hand_over"]
    assert "… and 4 later events, not shown." in words(failed)
    assert not find(resolved, "p", "actions") and not [t for t in find(resolved, "li") if "violation" in classes(t)]


def test_hostile_text_comes_out_as_text(page):
    assert "<script>alert(1)</script>" not in page and "<b>now</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}" in page          # escaped, and never evaluated
    assert "49" not in words(section(page))
    turns = find(section(page), "li", "turn")
    assert own(turns[0], "span", "said").text == f"My order A17 arrived broken. {HOSTILE}"
    assert own(turns[7], "span", "said").text == "I will hand you over <b>now</b>."
    assert not find(section(page), "script") and not find(section(page), "b")


def test_long_turns_are_clipped_and_break_anywhere(page):
    long = own(find(section(page), "li", "violation")[0], "span", "said").text
    assert long.startswith("Full refund guaranteed! AAAA") and long.endswith(" …") and len(long) <= 600
    css = (Path(__file__).resolve().parents[2] / "report_templates" / "conversation.css").read_text()
    assert "overflow-wrap: anywhere" in css and "word-break: break-word" in css
    assert ".conversation-model" in page                       # the section's stylesheet is in the page


def test_the_appendix_shows_no_prompt_template_for_a_conversation(page):
    assert "<pre>None</pre>" not in page


def test_a_run_without_failed_calls_or_simulator_says_neither():
    conversations = copy.deepcopy(CONVERSATIONS)
    for entry in conversations.values():
        entry.update(errors=0, incomplete=0, simulator=None, transcripts=[])
        entry["ended"].pop("error", None)
        entry["ended"].pop("incomplete", None)
    conv = section(render(run_files(conversations)))
    said = words(conv)
    assert "not evidence" not in said and "Simulat" not in said
    assert not find(conv, "div", "simulator") and not find(conv, "div", "transcript")
    assert "Transcripts" not in said


@pytest.mark.pdf
def test_the_pdf_shows_the_transcript(tmp_path):
    from pypdf import PdfReader

    write_pdf(render(), tmp_path, tmp_path / "report.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(str(tmp_path / "report.pdf")).pages)
    flat = " ".join(text.split())
    assert "Conversations" in flat and "Tool use" in flat and "Transcripts" in flat
    assert "My order A17 arrived broken. <script>alert(1)</script> {{ 7*7 }}" in flat
    assert "Policy violation: forbidden pattern" in flat and "Missing actions:" in flat
    assert "AAAAAAAAAAAAAAAAAAAA" in text and count(21) in flat


@pytest.mark.browser
def test_a_long_transcript_line_does_not_overflow_in_a_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.report.test_browser import ARGS
    from tests.support.tools import require_command

    chromium = require_command("chromium", "chromium-browser")
    (tmp_path / "report.html").write_text(render())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            for width in (1366, 390):
                tab = browser.new_page(viewport={"width": width, "height": 900})
                tab.goto((tmp_path / "report.html").as_uri())
                found = tab.evaluate("""() => ({
                  page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
                  wide: [...document.querySelectorAll('ol.chat li, .transcript-head, .simulator')]
                          .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.slice(0, 40)),
                  chat: [...document.querySelectorAll('ol.chat li')].map(e => e.getBoundingClientRect().right),
                  body: document.body.getBoundingClientRect().right,
                })""")
                assert found["page"] <= 0, (width, found)
                assert found["wide"] == [], (width, found["wide"])
                assert found["chat"] and max(found["chat"]) <= found["body"] + 1, width
                tab.close()
        finally:
            browser.close()
