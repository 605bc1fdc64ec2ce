"""The decision record end to end on the stub: decide on a run, run again with the model changed under its name,
and see history flag the flip and the drift, gate fail with a JUnit file that says why (read back with a JUnit
parser), and verify --decisions name a tampered entry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from junitparser import Error, Failure, JUnitXml, Skipped
from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import TINY_ITEMS, write_workspace

runner = CliRunner()

HYPOTHESIS = """\
---
id: sums
title: The assistant adds small numbers
decision: all
criteria:
  - scenario: tiny-math
    metric: accuracy
    at_least: 0.5
---
The assistant gets at least half of the sums right.
"""
GATED = HYPOTHESIS.replace("id: sums", "id: sums-gated").replace("decision: all", "decision: all\ngate: true") \
    .replace("The assistant adds small numbers", "Gated, the assistant adds")
ANSWERS = {i["question"]: str(i["answer"]) for i in TINY_ITEMS}


def right(body: dict) -> str:
    text = json.dumps(body)
    return next((a for q, a in ANSWERS.items() if q in text), "0")


def wrong(body: dict) -> str:
    return str(int(right(body)) + 1)


class Models:
    """Two stub endpoints: `assistant` (whose answers and system_fingerprint the test changes: a new model
    under the same name) and `other` (always wrong)."""

    def __init__(self, stub):
        self.answer = right
        self.main, self.main_url = stub(answer=lambda body: self.answer(body), fingerprint="fp_v1")
        _, self.other_url = stub(answer=wrong)

    def swap(self) -> None:
        self.answer = wrong
        self.main.fingerprint = "fp_v2"


def workspace(tmp_path: Path, models: Models, hypotheses=(HYPOTHESIS,)) -> Path:
    ws = write_workspace(tmp_path / "ws", hypothesis=hypotheses[0])
    for i, text in enumerate(hypotheses[1:]):
        (ws / "hypotheses" / f"extra{i}.md").write_text(text, encoding="utf-8")
    (ws / "roadtest.yaml").write_text(
        "name: decisions test\nmodels:\n"
        f"  - {{id: assistant, provider: openai, base_url: '{models.main_url}', model: smollm2, max_retries: 0}}\n"
        f"  - {{id: other, provider: openai, base_url: '{models.other_url}', model: smollm2, max_retries: 0}}\n"
        "report: {title: Decisions test, currency: USD}\n", encoding="utf-8")
    return ws


def run(ws: Path) -> str:
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--no-cache"])
    assert result.exit_code in (0, 1, 3), result.output
    return json.loads(result.stdout)["run_id"]


def cli(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def record(tmp_path, stub):
    models = Models(stub)
    ws = workspace(tmp_path, models)
    first = run(ws)
    decided = cli("decide", "sums", "-m", "assistant", "--run", first, "--by", "Ana Ruiz",
                  "--note", "Meets it; *cheapest*.", "-w", str(ws), "--json")
    assert decided.exit_code == 0, decided.output
    return ws, models, first, json.loads(decided.stdout)


def test_a_decision_file_holds_the_evidence_and_the_commands(record):
    ws, _, first, decided = record
    path = Path(decided["path"])
    assert path.parent == ws / "decisions" and re.fullmatch(r"\d{4}-\d\d-\d\d-sums\.md", path.name)
    text = path.read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["model"] == "assistant" and front["verdict"] == "SUPPORTED" and front["against_evidence"] is None
    assert front["decided_by"] == "Ana Ruiz" and front["hypothesis_title"] == "The assistant adds small numbers"
    assert front["hypothesis_text"].startswith("The assistant gets at least half")
    assert front["criteria"] == ["tiny-math · accuracy ≥ 0.5"]
    assert [a["model"] for a in front["alternatives"]] == ["other"]
    assert front["alternatives"][0]["verdict"] == "REFUTED" and "refuted by" in front["alternatives"][0]["evidence"]
    manifest = json.loads((ws / "runs" / first / "manifest.json").read_text())
    assert front["runs"] == [{"run_id": first, "fingerprint": manifest["fingerprint"],
                              "started_at": manifest["started_at"], "finished_at": manifest["finished_at"],
                              "sha256": {"plan.jsonl": manifest["files"]["plan.jsonl"],
                                         "trials.jsonl": manifest["files"]["trials.jsonl"]}}]
    assert f"roadtest rerun {first}" in front["commands"] and f"roadtest verify {first}" in front["commands"]
    assert text.rstrip().endswith("Meets it; *cheapest*.")
    entry = json.loads((ws / "decisions" / "log.jsonl").read_text())
    assert entry["seq"] == 1 and entry["prev"] == "0" * 64 and entry["id"] == path.stem


def test_a_model_changed_under_its_name_flips_the_verdict_and_the_gate_says_why(record, tmp_path):
    ws, models, first, decided = record
    assert cli("gate", first, "-w", str(ws)).exit_code == 0     # the evidence itself does not contradict it
    models.swap()
    second = run(ws)
    hist = cli("history", "sums", "-w", str(ws), "--json")
    assert hist.exit_code == 0, hist.output
    data = json.loads(hist.stdout)
    cell = next(c for c in data["cells"] if c["model"] == "assistant")
    assert [p["verdict"] for p in cell["points"]] == ["SUPPORTED", "REFUTED"]
    assert [p["flip"] for p in cell["points"]] == [False, True]
    assert [p["drift"] for p in cell["points"]] == [False, True]
    assert "system_fingerprint changed: fp_v1 -> fp_v2" in cell["points"][1]["drift_reasons"][0]
    other = next(c for c in data["cells"] if c["model"] == "other")
    assert other["flips"] == 0 and not other["drift"]
    (status,) = data["decisions"]
    assert status["status"] == "contradicted" and status["status_run"] == second
    assert "fp_v1 -> fp_v2" in status["status_reason"]
    shown = cli("history", "-w", str(ws))
    assert shown.exit_code == 0 and "[FLIP, DRIFT]" in shown.stdout and "CONTRADICTED" in shown.stdout

    junit, summary = tmp_path / "gate.xml", tmp_path / "summary.md"
    gated = cli("gate", second, "-w", str(ws), "--junit", str(junit), "--summary", str(summary))
    assert gated.exit_code == 1, gated.output
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    cases = {c.name: c for c in suite}
    assert set(cases) == {"sums · assistant", "sums · other"}
    (failure,) = cases["sums · assistant"].result
    assert isinstance(failure, Failure) and failure.type == "contradicted"
    assert decided["id"] in failure.message and "refuted by tiny-math · accuracy ≥ 0.5" in failure.message
    assert "the endpoint changed under the same name since the decision" in failure.message
    assert "fp_v1 -> fp_v2" in failure.message
    (refuted,) = cases["sums · other"].result
    assert isinstance(refuted, Failure) and refuted.type == "refuted"
    assert suite.tests == 2 and suite.failures == 2
    md = summary.read_text(encoding="utf-8")
    assert "roadtest gate: FAILED" in md and decided["id"].replace("-", "\\-") in md


def test_gate_fails_on_a_refuted_gate_hypothesis_and_skips_inconclusive(tmp_path, stub, monkeypatch):
    models = Models(stub)
    half = HYPOTHESIS.replace("id: sums", "id: open").replace("at_least: 0.5", "at_least: 0.6")
    ws = workspace(tmp_path, models, hypotheses=(GATED, half))
    summary = tmp_path / "step.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    first = run(ws)
    junit = tmp_path / "g.xml"
    result = cli("gate", first, "-w", str(ws), "--junit", str(junit))
    assert result.exit_code == 1 and "GATE FAILED: sums-gated · other" in result.output
    cases = {c.name: c for c in next(iter(JUnitXml.fromfile(str(junit))))}
    assert cases["sums-gated · assistant"].is_passed
    assert cases["sums-gated · other"].result[0].type == "refuted-gate"
    # 5/5 right: the lower bound 0.549 is below 0.6, so "≥ 0.6" is open: skipped, never a failure
    assert isinstance(cases["open · assistant"].result[0], Skipped)
    assert summary.read_text(encoding="utf-8").startswith("earlier step\n## roadtest gate: FAILED")


def test_an_outage_is_an_error_case_not_a_refutation(tmp_path, stub):
    models = Models(stub)
    ws = workspace(tmp_path, models)
    models.main.script = lambda i, body: "400"   # refused: the run finishes, the model NOT DECIDED
    first = run(ws)
    junit = tmp_path / "g.xml"
    result = cli("gate", first, "-w", str(ws), "--junit", str(junit))
    assert result.exit_code == 0, result.output
    cases = {c.name: c for c in next(iter(JUnitXml.fromfile(str(junit))))}
    (error,) = cases["sums · assistant"].result
    assert isinstance(error, Error) and error.type == "not-decided"


def test_deciding_against_the_evidence_needs_a_reason(record):
    ws, _, first, _ = record
    refused = cli("decide", "sums", "-m", "other", "--run", first, "--by", "Bo", "--note", "n", "-w", str(ws))
    assert refused.exit_code == 2 and "REFUTED" in refused.output and "--against-evidence" in refused.output
    assert len((ws / "decisions" / "log.jsonl").read_text().splitlines()) == 1
    taken = cli("decide", "sums", "-m", "other", "--run", first, "--by", "Bo", "--note", "Contract.",
                "--against-evidence", "the vendor contract is signed", "-w", str(ws), "--json")
    assert taken.exit_code == 0, taken.output
    entry = json.loads(taken.stdout)
    assert entry["supersedes"] == record[3]["id"]
    assert entry["record"]["against_evidence"] == "the vendor contract is signed"
    rows = json.loads(cli("history", "-w", str(ws), "--json").stdout)["decisions"]
    assert [r["superseded_by"] for r in rows] == [entry["id"], None]
    assert rows[1]["status"] == "contradicted"


@pytest.mark.parametrize("args, message", [
    (["sum", "-m", "assistant"], "did you mean 'sums'?"),
    (["nope", "-m", "assistant"], "known: sums"),
    (["sums", "-m", "asistant"], "did you mean 'assistant'?"),
    (["sums", "-m", "assistant", "--by", " "], "--by is empty"),
    (["sums", "-m", "assistant", "--note", "a\x1b[31mred"], "control characters"),
])
def test_bad_input_is_refused_and_nothing_is_written(record, args, message):
    ws, _, first, _ = record
    before = (ws / "decisions" / "log.jsonl").read_bytes()
    full = ["decide", *args, "--run", first, "-w", str(ws)]
    for flag, value in (("--by", "Ana"), ("--note", "n")):
        if flag not in full:
            full += [flag, value]
    result = cli(*full)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert (ws / "decisions" / "log.jsonl").read_bytes() == before
    assert len(list((ws / "decisions").glob("*.md"))) == 1


def test_a_run_that_does_not_verify_cannot_be_evidence(record):
    ws, _, first, _ = record
    trials = ws / "runs" / first / "trials.jsonl"
    trials.write_bytes(trials.read_bytes().replace(b"smollm2", b"smollm3", 1))
    result = cli("decide", "sums", "-m", "assistant", "--run", first, "--by", "A", "--note", "n", "-w", str(ws))
    assert result.exit_code == 2 and "does not verify" in result.output
    checked = cli("verify", "--decisions", "-w", str(ws))
    assert checked.exit_code == 1 and f"runs/{first}: trials.jsonl" in checked.output


def test_verify_decisions_names_a_tampered_entry(record, tmp_path, stub):
    ws, _, first, decided = record
    assert cli("decide", "sums", "-m", "assistant", "--run", first, "--by", "Cy", "--note", "Again.",
               "-w", str(ws)).exit_code == 0
    ok = cli("verify", "--decisions", "-w", str(ws))
    assert ok.exit_code == 0 and "2 entries, the chain is intact" in ok.output
    log = ws / "decisions" / "log.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("Ana Ruiz", "Someone Else")
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = cli("verify", "--decisions", "-w", str(ws))
    assert bad.exit_code == 1
    assert f"decisions/log.jsonl:1: entry 1 ({decided['id']}) was altered after it was written" in bad.output
    for command in (["history", "-w", str(ws)], ["gate", first, "-w", str(ws)]):
        refused = cli(*command)
        assert refused.exit_code == 2 and "the decision log is broken" in refused.output


@pytest.mark.parametrize("damage, expected", [
    (lambda lines: lines[:1] + lines[2:], "does not follow the entry before it"),
    (lambda lines: lines + ["{not json"], "decisions/log.jsonl:4: not a JSON entry"),
    (lambda lines: lines + ['{"seq": 4, "x": NaN}'], "decisions/log.jsonl:4: not a JSON entry"),
    (lambda lines: lines[:2] + [lines[2].replace('"seq":3', '"seq":9')], "was altered"),
])
def test_a_broken_chain_is_located(record, damage, expected):
    ws, _, first, _ = record
    for who in ("B", "C"):
        assert cli("decide", "sums", "-m", "assistant", "--run", first, "--by", who, "--note", "n",
                   "-w", str(ws)).exit_code == 0
    log = ws / "decisions" / "log.jsonl"
    log.write_text("\n".join(damage(log.read_text().splitlines())) + "\n", encoding="utf-8")
    result = cli("verify", "--decisions", "-w", str(ws))
    assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output


def test_an_edited_decision_file_breaks_the_record(record):
    ws, _, _, decided = record
    path = Path(decided["path"])
    path.write_text(path.read_text().replace("Ana Ruiz", "Eve"), encoding="utf-8")
    result = cli("verify", "--decisions", "-w", str(ws))
    assert result.exit_code == 1 and f"{path.name} was edited after it was recorded" in result.output


def test_a_decisions_link_outside_the_workspace_is_refused(record, tmp_path):
    ws, _, first, _ = record
    outside = tmp_path / "elsewhere"
    (ws / "decisions").rename(outside)
    (ws / "decisions").symlink_to(outside)
    result = cli("decide", "sums", "-m", "assistant", "--run", first, "--by", "A", "--note", "n", "-w", str(ws))
    assert result.exit_code == 2 and "symbolic link" in result.output
    assert len(outside.joinpath("log.jsonl").read_text().splitlines()) == 1


def test_a_decision_with_no_recent_run_is_stale(record, monkeypatch):
    from datetime import timedelta

    from roadtest.decisions import status

    ws, _, _, _ = record
    config = ws / "roadtest.yaml"
    config.write_text(config.read_text() + "decisions: {stale_after: 2d}\n", encoding="utf-8")
    assert json.loads(cli("history", "-w", str(ws), "--json").stdout)["decisions"][0]["status"] == "holds"
    later = status.clock() + timedelta(days=3)
    monkeypatch.setattr(status, "clock", lambda: later)
    (row,) = json.loads(cli("history", "-w", str(ws), "--json").stdout)["decisions"]
    assert row["status"] == "stale" and "decisions.stale_after is 2 days" in row["status_reason"]
    config.write_text(config.read_text().replace("2d", "soon"), encoding="utf-8")
    bad = cli("history", "-w", str(ws))
    assert bad.exit_code == 2 and re.search(r"roadtest\.yaml:\d+: decisions\.stale_after", bad.output)


def test_two_decisions_at_once_both_land_on_one_chain(record):
    import threading

    from roadtest.decisions.record import DecideRequest, decide

    ws, _, first, decided = record
    errors: list[BaseException] = []

    def one(who: str) -> None:
        try:
            decide(ws, ws / "runs", DecideRequest("sums", "assistant", [first], who, "at once"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(w,)) for w in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    checked = cli("verify", "--decisions", "-w", str(ws), "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["entries"] == 3
    entries = [json.loads(line) for line in (ws / "decisions" / "log.jsonl").read_text().splitlines()]
    assert [e["supersedes"] for e in entries] == [None, entries[0]["id"], entries[1]["id"]]
    assert len({e["file"] for e in entries}) == 3          # same day, same hypothesis: -2, -3


@pytest.mark.parametrize("content, expected", [
    (b"\xff\xfe\x00binary\n", "decisions/log.jsonl:1: not UTF-8 text"),
    (b"[1, 2]\n", "decisions/log.jsonl:1: not a JSON object"),
    (b'{"seq": 1}\n', "decisions/log.jsonl:1: not a decision entry (missing"),
    (None, "more than the 33,554,432 roadtest reads"),
])
def test_a_hostile_log_is_refused_with_its_line(tmp_path, stub, content, expected):
    ws = workspace(tmp_path, Models(stub))
    (ws / "decisions").mkdir()
    log = ws / "decisions" / "log.jsonl"
    if content is None:
        with open(log, "wb") as f:
            f.truncate((32 << 20) + 1)       # sparse: refused by its size, unread
    else:
        log.write_bytes(content)
    history = cli("history", "-w", str(ws))
    assert history.exit_code == 2 and expected in history.output and "Traceback" not in history.output
    verify = cli("verify", "--decisions", "-w", str(ws))
    assert verify.exit_code == 1 and expected in verify.output


def test_the_document_keeps_its_decisions_so_replay_is_byte_for_byte(record):
    ws, models, first, decided = record
    models.swap()
    second = run(ws)
    assert cli("report", second, "-w", str(ws), "--format", "html").exit_code == 0
    folder = ws / "runs" / second
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="decisions"' in html and decided["id"] in html
    kept = json.loads((folder / "decisions.json").read_text(encoding="utf-8"))
    assert [d["status"] for d in kept["decisions"]] == ["contradicted"]
    assert json.loads((folder / "manifest.json").read_text())["files"]["decisions.json"]
    # a later decision changes the workspace's record; replay still shows what this document showed
    assert cli("decide", "sums", "-m", "other", "--run", second, "--by", "Bo", "--note", "n", "--against-evidence",
               "r", "-w", str(ws)).exit_code == 0
    replayed = cli("replay", second, "-w", str(ws), "--json")
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout)["files"]["report.html"] == "identical"
    assert cli("verify", second, "-w", str(ws)).exit_code == 0
    (folder / "decisions.json").write_text(json.dumps({**kept, "decisions": []}), encoding="utf-8")
    tampered = cli("replay", second, "-w", str(ws))
    assert tampered.exit_code == 1 and "decisions.json" in tampered.output and "Traceback" not in tampered.output
    assert cli("verify", second, "-w", str(ws)).exit_code == 1
    assert cli("report", second, "-w", str(ws), "--format", "html").exit_code == 0   # a fresh one from the workspace
    assert json.loads((folder / "decisions.json").read_text())["log"]["entries"] == 2


def _forge(ws: Path, edit) -> None:
    """Rewrite the log with `edit(record)` applied to entry 1 and every hash recomputed (the chain is unkeyed:
    anyone can): what the typed record and the file's front matter must still catch."""
    from roadtest.decisions.log import GENESIS, entry_hash

    log = ws / "decisions" / "log.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    edit(entries[0]["record"])
    prev = GENESIS
    for e in entries:
        e["prev"] = prev
        e["sha256"] = entry_hash(e)
        prev = e["sha256"]
    log.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")


@pytest.mark.parametrize("edit, expected", [
    (lambda r: r.pop("hypothesis"), "its record is not one roadtest writes: hypothesis: Field required"),
    (lambda r: r.update(runs="abc"), "its record is not one roadtest writes: runs"),
    (lambda r: r.update(endpoints=[]), "its record is not one roadtest writes: endpoints"),
    (lambda r: r.update(decided_at=None), "its record is not one roadtest writes: decided_at"),
    (lambda r: r.update(hypothesis=["a"]), "its record is not one roadtest writes: hypothesis"),
    (lambda r: r.update(model="other"), "does not say what the entry records: model differs"),
])
def test_a_forged_log_with_fresh_hashes_is_still_caught(record, edit, expected):
    ws, _, first, _ = record
    _forge(ws, edit)
    verify = cli("verify", "--decisions", "-w", str(ws))
    assert verify.exit_code == 1 and expected in verify.output and "Traceback" not in verify.output
    for command in (["history", "-w", str(ws)], ["gate", first, "-w", str(ws)],
                    ["report", first, "-w", str(ws), "--format", "html"]):
        refused = cli(*command)
        assert refused.exit_code == 2 and "the decision log is broken" in refused.output, refused.output


def test_a_forged_verdicts_file_is_refused_not_a_crash(record):
    import hashlib

    ws, _, first, _ = record
    folder = ws / "runs" / first
    verdicts = json.loads((folder / "verdicts.json").read_text())
    verdicts["hypotheses"][0]["models"]["assistant"]["verdict"] = "MAYBE"
    raw = json.dumps(verdicts).encode()
    (folder / "verdicts.json").write_bytes(raw)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["verdicts.json"] = hashlib.sha256(raw).hexdigest()     # so the run still verifies
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for command in (["gate", first, "-w", str(ws)],
                    ["decide", "sums", "-m", "assistant", "--run", first, "--by", "A", "--note", "n", "-w", str(ws)]):
        refused = cli(*command)
        assert refused.exit_code == 2 and "is not what roadtest writes" in refused.output, refused.output
    history = cli("history", "-w", str(ws))
    assert history.exit_code == 0 and f"run left out: {first}" in history.output


def test_an_outage_never_replaces_the_evidence_before_it(record):
    ws, models, first, _ = record
    models.main.script = lambda i, body: "400"
    outage = run(ws)
    assert json.loads((ws / "runs" / outage / "verdicts.json").read_text())["hypotheses"][0]["models"][
        "assistant"]["verdict"] == "NOT DECIDED"
    taken = cli("decide", "sums", "-m", "assistant", "--run", first, "--run", outage, "--by", "A", "--note", "n",
                "-w", str(ws), "--json")
    assert taken.exit_code == 0, taken.output
    front = json.loads(taken.stdout)["record"]
    assert front["verdict"] == "SUPPORTED" and front["evidence_run"] == first
    (row,) = [d for d in json.loads(cli("history", "-w", str(ws), "--json").stdout)["decisions"]
              if d["id"] == json.loads(taken.stdout)["id"]]
    assert row["status"] == "holds" and row["status_run"] == first and "did not decide it" in row["status_reason"]


def test_a_run_outside_the_runs_folder_or_in_a_subfolder_is_not_evidence(record):
    ws, _, first, _ = record
    (ws / "runs" / "kept").mkdir()
    (ws / "runs" / first).rename(ws / "runs" / "kept" / first)
    result = cli("decide", "sums", "-m", "assistant", "--run", str(ws / "runs" / "kept" / first), "--by", "A",
                 "--note", "n", "-w", str(ws))
    assert result.exit_code == 2 and "is not one of this workspace's runs" in result.output


def test_an_unusable_step_summary_warns_and_the_gate_still_answers(record, tmp_path, monkeypatch):
    ws, _, first, _ = record
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))          # a folder
    junit = tmp_path / "g.xml"
    result = cli("gate", first, "-w", str(ws), "--junit", str(junit))
    assert result.exit_code == 0 and "no job summary written" in result.output and junit.is_file()
    bad = cli("gate", first, "-w", str(ws), "--junit", str(tmp_path / "j.xml"), "--summary", str(tmp_path / "no" / "s"))
    assert bad.exit_code == 2 and not (tmp_path / "j.xml").exists()     # every output checked before any is written


def test_verify_of_a_run_and_the_decisions_is_one_json_answer(record):
    ws, _, first, _ = record
    result = cli("verify", first, "--decisions", "-w", str(ws), "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["ok"] and data["run"]["run_id"] == first and data["decisions"]["entries"] == 1


def test_a_log_cut_short_is_a_broken_chain_everywhere(record):
    ws, _, first, _ = record
    log = ws / "decisions" / "log.jsonl"
    log.write_bytes(log.read_bytes()[:-1])
    verify = cli("verify", "--decisions", "-w", str(ws))
    assert verify.exit_code == 1 and "decisions/log.jsonl:1: the last line has no newline" in verify.output
    assert cli("history", "-w", str(ws)).exit_code == 2


def test_history_leaves_out_a_run_whose_records_changed(record):
    ws, _, first, _ = record
    with open(ws / "runs" / first / "trials.jsonl", "a", encoding="utf-8") as f:
        f.write("x\n")
    result = cli("history", "-w", str(ws), "--json")
    data = json.loads(result.stdout)
    assert data["cells"] == [] and any(first in s and "does not verify" in s for s in data["skipped_runs"])


def test_a_changed_hypothesis_makes_the_decision_stale(record):
    ws, _, _, _ = record
    hypothesis = ws / "hypotheses" / "tiny.md"
    hypothesis.write_text(hypothesis.read_text().replace("at_least: 0.5", "at_least: 0.4"), encoding="utf-8")
    run(ws)
    (row,) = json.loads(cli("history", "-w", str(ws), "--json").stdout)["decisions"]
    assert row["status"] == "stale" and "the hypothesis changed since the decision" in row["status_reason"]


def test_deciding_leaves_no_lock_file_and_warns_of_newer_evidence(record):
    ws, models, first, _ = record
    assert sorted(p.name for p in (ws / "decisions").iterdir()) == [Path(record[3]["path"]).name, "log.jsonl"]
    models.swap()
    run(ws)
    result = cli("decide", "sums", "-m", "assistant", "--run", first, "--by", "A", "--note", "n", "-w", str(ws))
    assert result.exit_code == 0 and "newer than the evidence, has assistant REFUTED" in result.output


def test_a_number_beyond_a_float_in_a_log_is_refused(tmp_path, stub):
    ws = workspace(tmp_path, Models(stub))
    (ws / "decisions").mkdir()
    (ws / "decisions" / "log.jsonl").write_text('{"seq": 1e999}\n', encoding="utf-8")
    result = cli("verify", "--decisions", "-w", str(ws))
    assert result.exit_code == 1 and "decisions/log.jsonl:1: not a JSON entry: the number 1e999 reads as infinity" \
        in result.output
