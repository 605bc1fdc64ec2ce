"""roadtest check: every broken input names its file and line, exits 2, and never shows a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from roadtest.errors import InputError
from roadtest.load import load_workspace
from tests.conftest import TINY_HYPOTHESIS, TINY_SCENARIO, model_block

runner = CliRunner()


def check(ws: Path):
    return runner.invoke(app, ["check", "-w", str(ws)])


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1))


def test_valid_workspace_passes(tiny_workspace):
    result = check(tiny_workspace)
    assert result.exit_code == 0, result.output
    assert "ok: 1 scenarios (5 items), 1 hypotheses, 1 models" in result.output


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


SCEN = "scenarios/tiny-math.yaml"
HYP = "hypotheses/tiny.md"
DATA = "scenarios/tiny-math.jsonl"

# (name, file to edit, old, new, expected location, expected words)
CASES = [
    ("bad yaml", SCEN, "limits: {max_new_tokens: 6, stop: [\"\\n\"]}", "limits: {max_new_tokens: 6, stop: [\"\\n\"]",
     f"{SCEN}:", ["YAML syntax error"]),
    ("unknown key", SCEN, "sampling: {temperature: 0.0,", "sampling: {temprature: 0.0,",
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'sampling:')}", ["unknown key 'temprature'", "did you mean 'temperature'"]),
    ("wrong type", SCEN, "repeats: 1", "repeats: three",
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'repeats:')}",
     ["repeats: expected a whole number between 1 and 100, got 'three'", "hint: write `repeats: 1`"]),
    ("wrong type: a bounded number", SCEN, "top_p: 1.0", "top_p: high",
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'top_p:')}",
     ["sampling.top_p: expected a number greater than 0 and at most 1, got 'high'", "hint: write `top_p: 1.0`"]),
    ("wrong type: a mapping", SCEN, "dataset: {path: tiny-math.jsonl, id: id, strata: kind}", "dataset: tiny-math.jsonl",
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'dataset:')}",
     ["dataset: expected a mapping like {path: items.jsonl, id: id}, got 'tiny-math.jsonl'",
      "hint: write `dataset: {path: tiny-math.jsonl}`"]),
    ("wrong type: a list", SCEN, "repeats: 1", "repeats: 1\nmetrics: accuracy",
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'repeats:') + 1}",
     ["metrics: expected a list like [accuracy, latency], got 'accuracy'", "hint: write `metrics: [accuracy, latency]`"]),
    ("wrong type in a list item", HYP, "at_least: 0.5", "at_least: high",
     f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'at_least: 0.5')}",
     ["criteria[0].at_least: expected a number, got 'high'", "hint: write `at_least: 0.85`"]),
    ("wrong choice", HYP, "decision: all", "decision: al",
     f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'decision:')}", ["decision: expected one of all, any, got 'al'", "did you mean 'all'"]),
    ("unknown scenario", HYP, "  - scenario: tiny-math\n    metric: accuracy", "  - scenario: tiny-maths\n    metric: accuracy",
     f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'scenario: tiny-math')}", ["unknown scenario 'tiny-maths'", "did you mean 'tiny-math'"]),
    ("unknown metric", HYP, "metric: accuracy", "metric: acuracy",
     f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'metric: accuracy')}", ["unknown metric 'acuracy'", "did you mean 'accuracy'"]),
    ("undefined template variable", SCEN, "{{ question }}", "{{ questoin }}",
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'template:')}", ["{{ questoin }}", "question"]),
    ("missing dataset", SCEN, "path: tiny-math.jsonl", "path: tiny-maths.jsonl",
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'dataset:')}", ["dataset file not found"]),
    ("unknown rule", SCEN, "rule: numeric", "rule: numerik",
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'rule:')}", ["scoring.rule", "did you mean 'numeric'"]),
    ("no front matter", HYP, "---\nid: tiny-claim", "id: tiny-claim", f"{HYP}:1", ["no YAML front matter"]),
    ("unknown model in versus", HYP, "    metric: accuracy\n    at_least: 0.5",
     "    metric: accuracy\n    versus: {model: smolm2, by_at_least: 0.0}",
     f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'at_least: 0.5')}", ["unknown model 'smolm2'", "did you mean 'smollm2'"]),
    ("versus on a percentile", HYP, "    metric: accuracy\n    at_least: 0.5",
     "    metric: latency_p95_s\n    versus: {model: smollm2, by_at_least: 0.0}",
     f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'metric: accuracy')}", ["`versus` needs a per-item metric"]),
    ("unknown metric with versus", HYP, "    metric: accuracy\n    at_least: 0.5",
     "    metric: acuracy\n    versus: {model: smollm2, by_at_least: 0.0}",
     f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'metric: accuracy')}", ["unknown metric 'acuracy'", "did you mean 'accuracy'"]),
    ("percent instead of proportion", HYP, "at_least: 0.5", "at_least: 85",
     f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'at_least: 0.5')}", ["proportion between 0 and 1", "write 0.85 for 85%"]),
    ("two claims", HYP, "    at_least: 0.5", "    at_least: 0.5\n    at_most: 0.9",
     f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'scenario: tiny-math')}",
     ["exactly one of", "hint: keep one bound, e.g. `{scenario: tiny-math, metric: accuracy, at_least: 0.5}`",
      "write two criteria, one with `at_least: 0.5` and one with `at_most: 0.9`"]),
    ("no claim", HYP, "    at_least: 0.5\n", "",
     f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'scenario: tiny-math')}",
     ["exactly one of", "hint: add a threshold, e.g. `{scenario: tiny-math, metric: accuracy, at_least: 0.85}`"]),
    ("bad policy regex", SCEN, "repeats: 1", 'repeats: 1\npolicy:\n  forbid:\n    - "(?i)refund"\n    - "(unclosed"',
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'repeats:') + 4}:",
     ["policy.forbid[1]: invalid regular expression: missing ): (unclosed",
      "hint: to match the text literally, escape its special characters: '\\(unclosed'"]),
    ("duplicate model id", "roadtest.yaml", "report:",
     "  - id: smollm2\n    provider: local\n    gguf: smollm2-135m-instruct\nreport:",
     f"roadtest.yaml:{3 + len(model_block('http://x/v1').splitlines())}:",
     ["model id 'smollm2' appears twice", "hint: model ids must be unique; rename one (the other is on line 3)"]),
    ("wrong dataset.id", SCEN, "id: id,", "id: idx,",
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'dataset:')}:",
     ["dataset.id: no row of scenarios/tiny-math.jsonl has a field 'idx'", "did you mean 'id'?"]),
    ("duplicate key", SCEN, "repeats: 1", "repeats: 1\nrepeats: 2",
     f"{SCEN}:{_line_of(TINY_SCENARIO, 'repeats:') + 1}", ["'repeats' appears twice"]),
    ("workspace unknown key", "roadtest.yaml", "name: test workspace", "name: test workspace\nrun_dir: out",
     "roadtest.yaml:2", ["unknown key 'run_dir'", "did you mean 'runs_dir'"]),
]


@pytest.mark.parametrize("name,path,old,new,where,words", CASES, ids=[c[0] for c in CASES])
def test_broken_input(tiny_workspace, name, path, old, new, where, words):
    replace_in(tiny_workspace / path, old, new)
    result = check(tiny_workspace)
    assert result.exit_code == 2, result.output
    assert where in result.output, result.output
    for word in words:
        assert word in result.output, result.output
    assert "Traceback" not in result.output
    assert "hint:" in result.output
    for leak in ("Input should", "Value error", "policy: policy", "roadtest.yaml:1:"):  # pydantic's wording, doubled names
        assert leak not in result.output, result.output
    assert result.output.count("\n") <= 6, result.output  # one problem (two lines) plus the summary


@pytest.mark.parametrize("broken,words", [("{{ question }", "Jinja syntax error"), ("{{ question | nofilter }}", "nofilter"),
                                          ("{{ questoin }}", "{{ questoin }}")])
def test_a_broken_template_in_a_scenario_with_counterfactuals(tiny_workspace, broken, words):
    path = tiny_workspace / SCEN
    path.write_text(path.read_text() + "counterfactuals: {field: question, swap: names}\n")
    replace_in(path, 'template: "{{ question }}', 'template: "' + broken)
    result = check(tiny_workspace)
    assert result.exit_code == 2, result.output
    assert f"{SCEN}:{_line_of(TINY_SCENARIO, 'template:')}" in result.output and words in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "counterfactuals" not in result.output  # no follow-on complaint about the swapped field
    assert "1 problem in the workspace" in result.output


def test_empty_dataset(tiny_workspace):
    (tiny_workspace / DATA).write_text("")
    result = check(tiny_workspace)
    assert result.exit_code == 2
    assert f"{DATA}:1: the dataset has no rows" in result.output


def test_bad_json_line_points_at_the_dataset_line(tiny_workspace):
    lines = (tiny_workspace / DATA).read_text().splitlines()
    lines[2] = lines[2][:-1]  # drop the closing brace of line 3
    (tiny_workspace / DATA).write_text("\n".join(lines) + "\n")
    result = check(tiny_workspace)
    assert result.exit_code == 2
    assert f"{DATA}:3: invalid JSON" in result.output


def test_duplicate_item_ids_and_missing_answer(tiny_workspace):
    rows = [json.loads(l) for l in (tiny_workspace / DATA).read_text().splitlines()]
    rows[3]["id"] = rows[0]["id"]
    del rows[4]["answer"]
    (tiny_workspace / DATA).write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = check(tiny_workspace)
    assert result.exit_code == 2
    assert f"{DATA}:4: item id 'a1' repeats line 1" in result.output
    assert f"{DATA}:5: row has no 'answer'" in result.output


def test_every_problem_in_every_file_is_reported_at_once(tiny_workspace):
    replace_in(tiny_workspace / SCEN, "repeats: 1", "repeats: 0")
    replace_in(tiny_workspace / HYP, "metric: accuracy", "metric: acuracy")
    replace_in(tiny_workspace / "roadtest.yaml", "provider: openai", "provider: opneai")
    try:
        load_workspace(tiny_workspace)
    except InputError as exc:
        paths = {p.path for p in exc.problems}
    else:
        pytest.fail("expected problems")
    assert paths == {SCEN, HYP, "roadtest.yaml"}
    result = check(tiny_workspace)
    assert result.exit_code == 2
    assert "3 problems in the workspace" in result.output


def test_missing_workspace_suggests_init(tmp_path):
    result = check(tmp_path)
    assert result.exit_code == 2
    assert "no roadtest.yaml" in result.output
    assert "roadtest init" in result.output


def test_unknown_bundled_model(tiny_workspace):
    (tiny_workspace / "roadtest.yaml").write_text(
        "models:\n  - id: m\n    provider: local\n    gguf: smollm2-135m-instruk\n")
    result = check(tiny_workspace)
    assert result.exit_code == 2
    assert "roadtest.yaml:4: unknown bundled model" in result.output
    assert "did you mean 'smollm2-135m-instruct'" in result.output


def test_check_json_lists_problems(tiny_workspace):
    replace_in(tiny_workspace / HYP, "metric: accuracy", "metric: acuracy")
    result = runner.invoke(app, ["check", "-w", str(tiny_workspace), "--json"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["problems"][0]["path"] == HYP


def test_csv_dataset_loads_with_line_numbers(tiny_workspace):
    (tiny_workspace / DATA).unlink()
    (tiny_workspace / "scenarios" / "tiny-math.csv").write_text(
        "id,question,answer,kind\na1,What is 2 plus 2?,4,add\na2,\"What is 3 plus 5, please?\",8,add\na3,What is 1 plus 1?,,add\n")
    replace_in(tiny_workspace / SCEN, "path: tiny-math.jsonl", "path: tiny-math.csv")
    result = check(tiny_workspace)
    assert result.exit_code == 2
    assert "scenarios/tiny-math.csv:4: the reference answer" not in result.output  # numeric rule: not a number
    assert "scenarios/tiny-math.csv:4: answer '' is not a number" in result.output
    (tiny_workspace / "scenarios" / "tiny-math.csv").write_text(
        "id,question,answer,kind\na1,What is 2 plus 2?,4,add\na2,\"What is 3 plus 5, please?\",8,add\n")
    ws = load_workspace(tiny_workspace)
    rows = ws.scenarios["tiny-math"].items
    assert [r.data["question"] for r in rows][1] == "What is 3 plus 5, please?"
    assert [r.line for r in rows] == [2, 3]


def test_yaml_error_in_front_matter_points_at_the_file_line(tiny_workspace):
    replace_in(tiny_workspace / HYP, "decision: all", "decision: [all")
    result = check(tiny_workspace)
    assert result.exit_code == 2
    assert f"{HYP}:" in result.output and "YAML syntax error" in result.output
    line = int(result.output.split(f"{HYP}:")[1].split(":")[0])
    assert line >= TINY_HYPOTHESIS.splitlines().index("decision: all") + 1


def test_repeated_row_problems_are_collapsed(tiny_workspace):
    rows = [{"id": f"q{i}", "question": "What is 1 plus 1?", "answer": "two" if i % 2 else "deux", "kind": "add"}
            for i in range(60)]
    rows[10]["id"] = "q0"
    (tiny_workspace / DATA).write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = check(tiny_workspace)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith(DATA)]
    assert lines[:3] == [f"{DATA}:1: answer 'deux' is not a number", f"{DATA}:2: answer 'two' is not a number",
                         f"{DATA}:3: answer 'deux' is not a number"]
    assert f"{DATA}:4: ... and 57 more rows with the same problem as line 1 (lines 4–60)" in lines
    assert f"{DATA}:11: item id 'q0' repeats line 1" in lines  # a different problem is still reported
    assert len(lines) == 5, result.output
    assert "5 problems in the workspace" in result.output


def test_one_more_repeat_is_shown_not_summed_up(tiny_workspace):
    rows = [json.loads(l) for l in (tiny_workspace / DATA).read_text().splitlines()]
    for row in rows[:4]:
        row["answer"] = "many"
    (tiny_workspace / DATA).write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = check(tiny_workspace)
    assert all(f"{DATA}:{n}: answer 'many' is not a number" in result.output for n in range(1, 5)), result.output
    assert "more rows" not in result.output


def test_distinct_problems_in_a_config_file_are_never_collapsed(tiny_workspace):
    replace_in(tiny_workspace / SCEN, "sampling: {temperature: 0.0, top_p: 1.0, seed: 7}",
               "sampling: {temprature: 0.0, topp: 1.0, sed: 7, temp: 1}")
    result = check(tiny_workspace)
    for key in ("temprature", "topp", "sed", "temp"):
        assert f"unknown key '{key}'" in result.output, result.output
    assert "more places" not in result.output


CSV = "scenarios/tiny-math.csv"


def _use_csv(ws: Path, text: str) -> None:
    (ws / DATA).unlink()
    (ws / CSV).write_text(text)
    replace_in(ws / SCEN, "path: tiny-math.jsonl", "path: tiny-math.csv")


def test_csv_unclosed_quote_is_reported_where_the_row_starts(tiny_workspace):
    _use_csv(tiny_workspace, "id,question,answer,kind\na1,What is 2 plus 2?,4,add\n"
                             'a2,"What is 3 plus 5?,8,add\na3,What is 1 plus 1?,2,add\na4,What is 1 plus 2?,3,add\n')
    result = check(tiny_workspace)
    assert result.exit_code == 2
    assert f"{CSV}:3: unclosed quote: the quoted value that starts on this line runs on to line 5" in result.output
    assert "different number of columns" not in result.output and f"{CSV}:5:" not in result.output
    assert 'hint: close the quote' in result.output


def test_csv_unclosed_quote_on_the_last_line_and_a_short_row(tiny_workspace):
    _use_csv(tiny_workspace, 'id,question,answer,kind\na1,What is 2 plus 2?,4\n\na2,"What is 3, plus 5?",8,add\n'
                             'a3,What is 1 plus 1?,2,"add\n')
    result = check(tiny_workspace)
    assert result.exit_code == 2
    assert f"{CSV}:2: row has 3 columns but the header has 4" in result.output
    assert f"{CSV}:5: unclosed quote: a quoted value on this line has no closing quote" in result.output
    assert f"{CSV}:4:" not in result.output


def test_csv_quoted_value_across_lines_keeps_its_start_line(tiny_workspace):
    _use_csv(tiny_workspace, 'id,question,answer,kind\na1,"What is\n2 plus 2?",4,add\na2,What is 3 plus 5?,8,add\n')
    ws = load_workspace(tiny_workspace)
    rows = ws.scenarios["tiny-math"].items
    assert [(r.line, r.data["question"]) for r in rows] == [(2, "What is\n2 plus 2?"), (4, "What is 3 plus 5?")]


def test_a_calibration_criterion_for_a_model_without_log_probabilities_is_a_warning(tiny_workspace):
    cfg = tiny_workspace / "roadtest.yaml"
    cfg.write_text(cfg.read_text().replace("    model: smollm2\n", "    model: smollm2\n    logprobs: false\n"))
    replace_in(tiny_workspace / HYP, "metric: accuracy", "metric: ece")
    replace_in(tiny_workspace / HYP, "at_least: 0.5", "at_most: 0.2")
    path = tiny_workspace / SCEN
    path.write_text(path.read_text() + "metrics: [accuracy, calibration]\n")
    result = check(tiny_workspace)
    assert result.exit_code == 0, result.output                       # valid, but it cannot be decided
    assert f"warning: {HYP}:{_line_of(TINY_HYPOTHESIS, 'metric: accuracy')}: ece needs log-probabilities" in result.output
    assert "NOT RUN" in result.output
