"""A workspace someone sends you is safe to open: every hostile input is `path:line: message` + hint, exit 2, fast,
in bounded memory, never a traceback or an "internal error"."""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from roadtest.errors import InputError
from roadtest.load import load_workspace
from roadtest.load import datasets
from tests.conftest import TINY_HYPOTHESIS, TINY_ITEMS, TINY_SCENARIO, write_workspace

runner = CliRunner()

SCEN = "scenarios/tiny-math.yaml"
HYP = "hypotheses/tiny.md"
DATA = "scenarios/tiny-math.jsonl"
CSV = "scenarios/tiny-math.csv"
CONFIG = "roadtest.yaml"
FAST = 5.0
"""Seconds any of these checks may take (each takes well under one on an idle machine)."""


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


def check(ws: Path, seconds: float = FAST):
    start = time.monotonic()
    result = runner.invoke(app, ["check", "-w", str(ws)])
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"check took {elapsed:.1f} s\n{result.output}"
    return result


def assert_located(result, where: str, *words: str) -> None:
    """Exit 2, the problem at `where`, the words, a hint, and nothing of a crash."""
    out = result.output
    assert result.exit_code == 2, out
    assert where in out, out
    for word in words:
        assert word in out, out
    assert "hint:" in out, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


SCEN_LINES = len(TINY_SCENARIO.split("\n"))      # the line a text appended to the scenario starts on
TEMPLATE_LINE = _line_of(TINY_SCENARIO, "template:")
DATASET_LINE = _line_of(TINY_SCENARIO, "dataset:")


# -- YAML: alias bombs, tags, keys, nesting, size -------------------------------------------------------------------

def alias_bomb(levels: int = 9) -> str:
    """The billion laughs: ~700 bytes that expand to 9**levels values."""
    text = 'lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for i in range(1, levels):
        text += f"lol{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n"
    return text


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("path,where", [(SCEN, f"{SCEN}:{SCEN_LINES + 4}:"),
                                        (CONFIG, f"{CONFIG}:"), (HYP, f"{HYP}:")])
def test_an_alias_bomb_is_refused_before_it_expands(tiny_workspace, path, where):
    bomb = alias_bomb()
    assert len(bomb) < 800
    if path == HYP:
        replace_in(tiny_workspace / HYP, "decision: all\n", "decision: all\n" + bomb)
    else:
        append(tiny_workspace / path, bomb)
    before = _max_rss_mb()
    result = check(tiny_workspace, seconds=2.0)
    assert _max_rss_mb() - before < 100, "the bomb was expanded"
    assert_located(result, where, "expands to more than 10,000 values", "aliases")


def test_a_merge_key_bomb_is_refused(tiny_workspace):
    bomb = "b0: &b0 {x: 1}\n" + "".join(f"b{i + 1}: &b{i + 1} {{<<: [*b{i}, *b{i}], k{i}: 1}}\n" for i in range(40))
    append(tiny_workspace / SCEN, bomb)
    assert_located(check(tiny_workspace, seconds=2.0), f"{SCEN}:", "expands to more than 10,000 values")


def test_an_alias_cycle_is_refused(tiny_workspace):
    append(tiny_workspace / SCEN, "loop: &l [1, *l]\n")
    assert_located(check(tiny_workspace), f"{SCEN}:{SCEN_LINES}:", "a cycle")


@pytest.mark.parametrize("value,words", [
    ("!!python/object/apply:os.system ['echo hacked']", ["tag '!!python/object/apply:os.system' is not allowed"]),
    ("!!python/name:builtins.eval ''", ["tag '!!python/name:builtins.eval' is not allowed"]),
    ("!custom value", ["tag '!custom' is not allowed"]),
    ("!!set {a, b}", ["tag '!!set' is not allowed"]),
    ("!!binary aGVsbG8=", ["tag '!!binary' is not allowed"]),
])
def test_a_non_standard_tag_is_a_located_problem(tiny_workspace, value, words):
    replace_in(tiny_workspace / SCEN, "repeats: 1", f"repeats: {value}")
    assert_located(check(tiny_workspace), f"{SCEN}:{_line_of(TINY_SCENARIO, 'repeats:')}:", *words)


@pytest.mark.parametrize("text", ["? [a, b]\n: c\n", "x: {[a, b]: c}\n", "? {a: 1}\n: c\n"])
def test_a_complex_mapping_key_is_a_located_problem(tiny_workspace, text):
    append(tiny_workspace / SCEN, text)
    assert_located(check(tiny_workspace), f"{SCEN}:{SCEN_LINES}:", "used as a mapping key")


@pytest.mark.parametrize("text", ["deep: " + "[" * 5000 + "]" * 5000 + "\n",
                                  "deep: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
                                  "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "x: 1\n"])
def test_deep_nesting_is_a_located_problem(tiny_workspace, text):
    append(tiny_workspace / SCEN, text)
    assert_located(check(tiny_workspace), f"{SCEN}:", "nested more than 32 levels deep")


def test_a_yaml_file_too_large_is_refused_unread(tiny_workspace):
    append(tiny_workspace / SCEN, "# " + "x" * 1_100_000 + "\n")
    assert_located(check(tiny_workspace), f"{SCEN}: the file has", "roadtest reads at most 1,000,000")


@pytest.mark.parametrize("value,words", [("2024-13-45", ["cannot read the value '2024-13-45'", "month"]),
                                         ("9" * 5000, ["a whole number of 5,000 digits"])])
def test_a_value_yaml_cannot_build_is_a_located_problem(tiny_workspace, value, words):
    replace_in(tiny_workspace / HYP, "title: The model can add small numbers", f"title: {value}")
    assert_located(check(tiny_workspace), f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'title:')}:", *words)


@pytest.mark.parametrize("escape,words", [("\\ud800", ["lone surrogate (\\ud800)"]), ("\\0", ["NUL character"])])
def test_unsendable_text_in_a_yaml_string_is_a_located_problem(tiny_workspace, escape, words):
    replace_in(tiny_workspace / SCEN, 'system: "Answer with the number only."', f'system: "Answer{escape}"')
    assert_located(check(tiny_workspace), f"{SCEN}:{_line_of(TINY_SCENARIO, 'system:')}:", *words)


def test_yaml_lines_are_counted_at_newlines_only(tiny_workspace):
    replace_in(tiny_workspace / SCEN, 'system: "Answer with the number only."', 'system: "Answer\u2028 with\u0085 it."')
    replace_in(tiny_workspace / SCEN, "repeats: 1", "repeats: 0")
    assert_located(check(tiny_workspace), f"{SCEN}:{_line_of(TINY_SCENARIO, 'repeats:')}:", "repeats")


def test_a_key_with_a_bracket_is_an_unknown_key_not_a_crash(tiny_workspace):
    replace_in(tiny_workspace / CONFIG, "models:", "m[odels:")
    assert_located(check(tiny_workspace), f"{CONFIG}:2: unknown key 'm[odels'", "did you mean 'models'")


# -- files that are not text, or not files ---------------------------------------------------------------------------

@pytest.mark.parametrize("path,where", [(SCEN, SCEN), (HYP, HYP), (CONFIG, CONFIG)])
def test_a_file_that_is_not_utf8_is_a_located_problem(tiny_workspace, path, where):
    target = tiny_workspace / path
    lines = target.read_bytes().split(b"\n")
    lines[1] += " caf\xe9".encode("latin-1")
    target.write_bytes(b"\n".join(lines))
    assert_located(check(tiny_workspace), f"{where}:2: not UTF-8 text: byte 0xe9", "save the file as UTF-8")


@pytest.mark.parametrize("path", [SCEN, HYP, CONFIG])
def test_a_binary_file_is_a_located_problem(tiny_workspace, path):
    target = tiny_workspace / path
    target.write_bytes(target.read_bytes() + b"junk: \x00\x01\x02\xff\n")
    lines = target.read_bytes().count(b"\n")
    assert_located(check(tiny_workspace), f"{path}:{lines}: a NUL byte", "plain UTF-8 text")


def test_criteria_on_an_unreadable_scenario_point_at_it(tiny_workspace):
    target = tiny_workspace / SCEN
    target.write_bytes(b"\xff" + target.read_bytes())
    result = check(tiny_workspace)
    assert_located(result, f"{SCEN}:1: not UTF-8 text")
    assert f"{HYP}:{_line_of(TINY_HYPOTHESIS, 'scenario: tiny-math')}: criteria[0]: unknown scenario 'tiny-math'" \
        in result.output
    assert f"or it is the one in {SCEN}, which could not be read: fix that file first" in result.output


def test_a_control_character_in_yaml_is_a_located_problem(tiny_workspace):
    replace_in(tiny_workspace / SCEN, "repeats: 1", "repeats: 1\x1b")
    assert_located(check(tiny_workspace), f"{SCEN}:{_line_of(TINY_SCENARIO, 'repeats:')}:", "control character")


def _make_folder(path: Path) -> None:
    if path.exists():
        path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("x")


def test_roadtest_yaml_as_a_folder_is_a_located_problem(tiny_workspace):
    _make_folder(tiny_workspace / CONFIG)
    assert_located(check(tiny_workspace), f"{CONFIG}: roadtest.yaml is a folder, not a file")


def test_a_scenario_file_as_a_folder_is_a_located_problem(tiny_workspace):
    _make_folder(tiny_workspace / "scenarios" / "extra.yaml")
    _make_folder(tiny_workspace / "hypotheses" / "extra.md")
    result = check(tiny_workspace)
    assert_located(result, "scenarios/extra.yaml: scenarios/extra.yaml is a folder, not a file")
    assert "hypotheses/extra.md: hypotheses/extra.md is a folder, not a file" in result.output


def test_a_dataset_path_that_is_a_folder_is_a_located_problem(tiny_workspace):
    _make_folder(tiny_workspace / DATA)
    assert_located(check(tiny_workspace), f"{SCEN}:{DATASET_LINE}: dataset file {DATA} is a folder, not a file")


def test_a_fewshot_pool_that_is_a_folder_is_a_located_problem(tiny_workspace):
    replace_in(tiny_workspace / SCEN, '  template: "', '  fewshot: {k: 1, pool: pool}\n  template: "')
    _make_folder(tiny_workspace / "scenarios" / "pool")
    assert_located(check(tiny_workspace), f"{SCEN}:{TEMPLATE_LINE}: dataset file scenarios/pool is a folder")


def test_a_gguf_path_that_is_a_folder_is_a_located_problem(tmp_path):
    ws = write_workspace(tmp_path / "ws", url=None)
    replace_in(ws / CONFIG, "gguf: smollm2-135m-instruct", "gguf: models/model.gguf")
    (ws / "models" / "model.gguf").mkdir(parents=True)
    assert_located(check(ws), f"{CONFIG}:5: GGUF file models/model.gguf is a folder, not a file")


def test_a_dataset_that_is_a_pipe_is_not_read(tiny_workspace):
    (tiny_workspace / DATA).unlink()
    os.mkfifo(tiny_workspace / DATA)            # reading it would block forever
    assert_located(check(tiny_workspace), f"{SCEN}:{DATASET_LINE}: dataset file {DATA} is not a regular file")


@pytest.mark.parametrize("path", [HYP, SCEN, CONFIG, DATA])
def test_a_byte_order_mark_is_accepted(tiny_workspace, path):
    target = tiny_workspace / path
    target.write_bytes(b"\xef\xbb\xbf" + target.read_bytes())
    result = check(tiny_workspace)
    assert result.exit_code == 0, result.output


# -- datasets ------------------------------------------------------------------------------------------------------

LINE_BREAKS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
"""Characters str.splitlines breaks at, which are not line ends in JSONL or CSV."""


def _rows(n: int = 5) -> list[dict]:
    return [dict(TINY_ITEMS[i % len(TINY_ITEMS)], id=f"q{i}") for i in range(n)]


def test_line_break_characters_inside_jsonl_values_keep_line_numbers(tiny_workspace):
    rows = _rows(len(LINE_BREAKS) + 2)
    for row, char in zip(rows, LINE_BREAKS):
        row["question"] = f"What is 2{char}plus 2?"
    rows[-1]["answer"] = "many"                                    # a problem on the last line
    (tiny_workspace / DATA).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                       encoding="utf-8")
    result = check(tiny_workspace)
    assert_located(result, f"{DATA}:{len(rows)}: answer 'many' is not a number")
    assert "invalid JSON" not in result.output and result.output.count(f"{DATA}:") == 1, result.output


def test_a_valid_dataset_with_u2028_and_u0085_loads_with_its_lines(tiny_workspace):
    rows = _rows(3)
    rows[0]["question"] = "What is 2\u2028plus 2?"
    rows[1]["question"] = "What is 3\x85plus 5?"
    (tiny_workspace / DATA).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                       encoding="utf-8")
    items = load_workspace(tiny_workspace).scenarios["tiny-math"].items
    assert [(r.line, r.data["question"]) for r in items][:2] == [(1, "What is 2\u2028plus 2?"),
                                                                  (2, "What is 3\x85plus 5?")]
    assert [r.line for r in items] == [1, 2, 3]


def _use_csv(ws: Path, text: str) -> None:
    (ws / DATA).unlink()
    (ws / CSV).write_text(text, encoding="utf-8", newline="")
    replace_in(ws / SCEN, "path: tiny-math.jsonl", "path: tiny-math.csv")


def test_line_break_characters_inside_csv_values_keep_line_numbers(tiny_workspace):
    body = "".join(f"q{i},What is 2{c}plus 2?,4,add\r\n" for i, c in enumerate(LINE_BREAKS))
    _use_csv(tiny_workspace, "id,question,answer,kind\r\n" + body + "qx,What is 1 plus 1?,many,add\r\n")
    result = check(tiny_workspace)
    assert_located(result, f"{CSV}:{len(LINE_BREAKS) + 2}: answer 'many' is not a number")
    assert result.output.count(f"{CSV}:") == 1, result.output


def test_a_duplicate_csv_header_column_is_a_problem(tiny_workspace):
    _use_csv(tiny_workspace, "id,question,answer,kind,answer\na1,What is 2 plus 2?,4,add,5\n")
    assert_located(check(tiny_workspace), f"{CSV}:1: column 'answer' appears twice in the header (columns 3 and 5)")


@pytest.mark.parametrize("line,words", [
    ('{"id": "q9", "question": "Hi?", "answer": 1, "kind": "add", "answer": 2}', ["key 'answer' appears twice"]),
    ('{"id": "q9", "question": {"a": 1, "a": 2}, "answer": 1, "kind": "add"}', ["key 'a' appears twice"]),
    ('{"id": "q9", "question": "\\ud800", "answer": 1, "kind": "add"}',
     ["field 'question' holds a lone surrogate (\\ud800)"]),
    ('{"id": "q9", "question": ["ok", "\\udfff x"], "answer": 1, "kind": "add"}', ["lone surrogate (\\udfff)"]),
    ('{"id": "q9", "question": "a\\u0000b", "answer": 1, "kind": "add"}', ["field 'question' holds a NUL character"]),
    ('{"id": "q9", "question": "Hi?", "answer": NaN, "kind": "add"}', ["NaN is not a JSON value"]),
    ('{"id": "q9", "question": "Hi?", "answer": Infinity, "kind": "add"}', ["Infinity is not a JSON value"]),
    ('{"id": "q9", "question": "Hi?", "answer": -Infinity, "kind": "add"}', ["-Infinity is not a JSON value"]),
    ('{"id": "q9", "question": "Hi?", "answer": 1e999, "kind": "add"}', ["1e999 is too large"]),
    ('{"id": "q9", "question": "Hi?", "answer": ' + "9" * 5000 + ', "kind": "add"}', ["unreadable JSON value"]),
    ('{"id": "q9", "question": ' + "[" * 100_000 + "]" * 100_000 + "}", ["nested too deeply"]),
    ('{"id": "q9", "question": ' + "[" * 40 + "]" * 40 + ', "answer": 1, "kind": "add"}', ["nested more than 32"]),
])
def test_a_bad_jsonl_row_is_a_problem_at_its_line(tiny_workspace, line, words):
    path = tiny_workspace / DATA
    path.write_text(path.read_text() + line + "\n" + json.dumps(dict(TINY_ITEMS[0], id="q10", answer="x")) + "\n")
    n = len(TINY_ITEMS) + 1
    result = check(tiny_workspace)
    assert_located(result, f"{DATA}:{n}: ", *words)
    assert f"{DATA}:{n + 1}: answer 'x' is not a number" in result.output      # later lines keep their numbers


def test_a_surrogate_pair_is_a_character(tiny_workspace):
    path = tiny_workspace / DATA
    path.write_text(path.read_text() + '{"id": "q9", "question": "\\ud83d\\ude00?", "answer": 1, "kind": "add"}\n')
    assert check(tiny_workspace).exit_code == 0


@pytest.mark.parametrize("raw,words", [(b'{"id": "q9", "question": "a\x00b", "answer": 1, "kind": "add"}', ["NUL byte"]),
                                       (b'{"id": "q9", "question": "caf\xe9", "answer": 1, "kind": "add"}',
                                        ["not UTF-8 text: byte 0xe9 at column 30"])])
def test_binary_bytes_in_a_dataset_are_a_problem_at_their_line(tiny_workspace, raw, words):
    path = tiny_workspace / DATA
    path.write_bytes(path.read_bytes() + raw + b"\n" + b'{"id": "q10", "question": "x", "answer": "y", "kind": "add"}\n')
    n = len(TINY_ITEMS) + 1
    result = check(tiny_workspace)
    assert_located(result, f"{DATA}:{n}: ", *words)
    assert f"{DATA}:{n + 1}: answer 'y' is not a number" in result.output


def test_a_nul_byte_in_a_csv_is_a_problem_at_its_line(tiny_workspace):
    _use_csv(tiny_workspace, "id,question,answer,kind\na1,What is 2 plus 2?,4,add\na2,What\x00,8,add\n")
    assert_located(check(tiny_workspace), f"{CSV}:3: a NUL byte")


def test_a_line_too_long_is_a_problem_and_not_held_in_memory(tiny_workspace, monkeypatch):
    monkeypatch.setattr(datasets, "MAX_LINE_BYTES", 1000)
    path = tiny_workspace / DATA
    long_row = json.dumps(dict(TINY_ITEMS[0], id="q9", question="x" * 5000))
    path.write_text(path.read_text() + long_row + "\n" + json.dumps(dict(TINY_ITEMS[0], id="q10", answer="x")) + "\n")
    n = len(TINY_ITEMS) + 1
    result = check(tiny_workspace)
    assert_located(result, f"{DATA}:{n}: the line has {len(long_row):,} bytes; a line may have at most 1,000")
    assert f"{DATA}:{n + 1}: answer 'x' is not a number" in result.output


def test_a_real_line_over_10_mb_is_a_problem(tiny_workspace):
    path = tiny_workspace / DATA
    with path.open("a") as f:
        f.write('{"id": "q9", "question": "' + "x" * (11 * 1024 * 1024) + '"}\n')
    assert_located(check(tiny_workspace), f"{DATA}:{len(TINY_ITEMS) + 1}: the line has", "at most 10,485,760")


def test_a_dataset_over_2_gb_is_refused_unread(tiny_workspace):
    path = tiny_workspace / DATA
    with path.open("r+b") as f:
        f.truncate(3 * 1024 ** 3)                # sparse: nothing is written, nothing may be read
    assert_located(check(tiny_workspace), f"{DATA}: the dataset has 3,221,225,472 bytes", "at most 2,147,483,648")


def test_control_characters_in_values_and_names_are_printed_as_escapes(tiny_workspace):
    rows = [dict(r) for r in TINY_ITEMS]
    rows[1]["answer"] = "\x1b[2J\u202egnp.exe"
    (tiny_workspace / DATA).write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tiny_workspace / "hypotheses" / "evil\x1b[31m.md").write_text("no front matter")
    result = check(tiny_workspace)
    assert_located(result, f"{DATA}:2: answer '\\x1b[2J\\u202egnp.exe' is not a number",
                   "hypotheses/evil\\x1b[31m.md:1: no YAML front matter")
    assert "\x1b" not in result.output and "\u202e" not in result.output


# -- numbers -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,old,new,words", [
    (HYP, "at_least: 0.5", "at_least: .nan", ["criteria[0].at_least: expected a finite number, got .nan"]),
    (HYP, "at_most: 5.0", "at_most: .inf", ["criteria[1].at_most: expected a finite number, got .inf"]),
    (SCEN, "temperature: 0.0", "temperature: -.inf",
     ["sampling.temperature: expected a finite number between 0 and 2, got -.inf"]),
    (CONFIG, "    model: smollm2\n", "    model: smollm2\n    timeout_s: .inf\n",
     ["models[0].timeout_s: expected a finite number greater than 0, got .inf"]),
    (CONFIG, "    model: smollm2\n", "    model: smollm2\n    price: {input_per_mtok: .nan, output_per_mtok: 1}\n",
     ["models[0].price.input_per_mtok: expected a finite number at least 0, got .nan"]),
])
def test_non_finite_numbers_are_refused_everywhere(tiny_workspace, path, old, new, words):
    replace_in(tiny_workspace / path, old, new)
    text = (tiny_workspace / path).read_text()
    needle = new.strip().split("\n")[-1].split(":")[0].strip().split("{")[0]
    assert_located(check(tiny_workspace), f"{path}:{_line_of(text, needle)}:", *words)


@pytest.mark.parametrize("metric,claim", [("latency_p95_s", "at_most: -1.0"), ("tokens_out", "at_least: -5"),
                                          ("tokens_per_s", "at_most: -0.5"), ("cost_per_item", "at_most: -0.01")])
def test_a_negative_threshold_on_a_metric_that_cannot_be_negative(tiny_workspace, metric, claim):
    replace_in(tiny_workspace / CONFIG, "    model: smollm2\n",
               "    model: smollm2\n    price: {input_per_mtok: 1, output_per_mtok: 2}\n")
    replace_in(tiny_workspace / HYP, "metric: latency_p95_s\n    at_most: 5.0", f"metric: {metric}\n    {claim}")
    truth = "always true" if claim.startswith("at_least") else "never true"
    line = _line_of(TINY_HYPOTHESIS, "at_most: 5.0")
    assert_located(check(tiny_workspace), f"{HYP}:{line}: criteria[1]: {metric} is never negative", truth, "0 or more")


def test_a_cost_criterion_needs_a_price_for_every_remote_model(tiny_workspace):
    replace_in(tiny_workspace / HYP, "metric: latency_p95_s\n    at_most: 5.0", "metric: cost_per_item\n    at_most: 0.01")
    line = _line_of(TINY_HYPOTHESIS, "metric: latency_p95_s")
    assert_located(check(tiny_workspace), f"{HYP}:{line}: criteria[1]: cost_per_item needs token prices, but smollm2 "
                                          "has no `price:` in roadtest.yaml", "add `price: {input_per_mtok:")
    replace_in(tiny_workspace / CONFIG, "    model: smollm2\n",
               "    model: smollm2\n    price: {input_per_mtok: 1, output_per_mtok: 2}\n")
    assert check(tiny_workspace).exit_code == 0


def test_a_cost_criterion_for_a_local_model_needs_no_price(tmp_path):
    ws = write_workspace(tmp_path / "ws", url=None)
    replace_in(ws / HYP, "metric: latency_p95_s\n    at_most: 5.0", "metric: cost_per_item\n    at_most: 0.01")
    result = check(ws)
    assert result.exit_code == 0, result.output


# -- paths that lead outside the workspace -------------------------------------------------------------------------

def _outside(tmp_path: Path, name: str, text: str) -> Path:
    target = tmp_path / "elsewhere" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    return target


ROWS_TEXT = "".join(json.dumps(r) + "\n" for r in TINY_ITEMS)


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_a_dataset_outside_the_workspace_is_refused(tmp_path, how):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1")
    secret = _outside(tmp_path, "secret.jsonl", ROWS_TEXT)
    name = {"dotdot": "../../elsewhere/secret.jsonl", "absolute": str(secret), "symlink": "link.jsonl"}[how]
    if how == "symlink":
        (ws / "scenarios" / "link.jsonl").symlink_to(secret)
    replace_in(ws / SCEN, "path: tiny-math.jsonl", f"path: {name}")
    result = check(ws)
    assert_located(result, f"{SCEN}:{DATASET_LINE}: dataset.path '{name}' leads outside the workspace",
                   "--allow-outside-paths")
    assert load_workspace(ws, allow_outside=True).scenarios["tiny-math"].dataset.path.resolve() == secret


def test_a_fewshot_pool_outside_the_workspace_is_refused(tmp_path):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1")
    _outside(tmp_path, "pool.jsonl", ROWS_TEXT)
    replace_in(ws / SCEN, '  template: "', '  fewshot: {k: 1, pool: ../../elsewhere/pool.jsonl}\n  template: "')
    assert_located(check(ws), f"{SCEN}:{TEMPLATE_LINE}: prompt.fewshot.pool '../../elsewhere/pool.jsonl' leads "
                              "outside the workspace", "--allow-outside-paths")
    load_workspace(ws, allow_outside=True)


@pytest.mark.parametrize("how", ["absolute", "symlink"])
def test_a_gguf_outside_the_workspace_is_refused(tmp_path, how):
    ws = write_workspace(tmp_path / "ws", url=None)
    model = _outside(tmp_path, "model.gguf", "GGUF")
    name = str(model) if how == "absolute" else "model.gguf"
    if how == "symlink":
        (ws / "model.gguf").symlink_to(model)
    replace_in(ws / CONFIG, "gguf: smollm2-135m-instruct", f"gguf: {name}")
    assert_located(check(ws), f"{CONFIG}:5: models[0].gguf '{name}' leads outside the workspace",
                   "--allow-outside-paths")
    load_workspace(ws, allow_outside=True)


def test_a_scenario_file_linked_from_outside_is_refused(tmp_path):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1")
    outside = _outside(tmp_path, "other.yaml", TINY_SCENARIO.replace("id: tiny-math", "id: other"))
    (ws / "scenarios" / "other.yaml").symlink_to(outside)
    assert_located(check(ws), "scenarios/other.yaml: scenarios/other.yaml is a link that leads outside",
                   "--allow-outside-paths")


@pytest.mark.parametrize("value,words", [("/tmp/runs", ["is an absolute path"]), ("../runs", ["goes up out"]),
                                         ("runs/../../x", ["goes up out"]), ("link", ["through a link"]),
                                         (".", ["the workspace folder itself"])])
def test_runs_dir_must_be_a_folder_inside_the_workspace(tmp_path, value, words):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1")
    (ws / "link").symlink_to(tmp_path, target_is_directory=True)
    replace_in(ws / CONFIG, "report:", f"runs_dir: {value}\nreport:")
    line = _line_of((ws / CONFIG).read_text(), "runs_dir:")
    assert_located(check(ws), f"{CONFIG}:{line}: runs_dir '{value}'", *words, "runs_dir: runs")


def test_runs_dir_inside_the_workspace_is_fine(tiny_workspace):
    replace_in(tiny_workspace / CONFIG, "report:", "runs_dir: out/runs\nreport:")
    assert check(tiny_workspace).exit_code == 0


# -- judge templates -----------------------------------------------------------------------------------------------

JUDGE = """scoring:
  rule: judge
  answer: answer
  judge:
    model: smollm2
    rubric: "The reply gives the right number."
    template: {template}
"""


def _judged(ws: Path, template: str) -> int:
    text = TINY_SCENARIO[:TINY_SCENARIO.index("scoring:")] + JUDGE.format(template=json.dumps(template))
    (ws / SCEN).write_text(text)
    return _line_of(text, "    template:")


@pytest.mark.parametrize("template,words", [
    ("Rubric: {{ rubric }} {% if output %}", ["scoring.judge.template: Jinja syntax error"]),
    ("{{ rubric }} {{ answer }} {{ output }}", ["scoring.judge.template uses {{ answer }}, which a judge prompt",
                                                "{{ reference }}"]),
    ("{{ rubric }} {{ outptu }}", ["did you mean 'output'?"]),
    ("{{ output }} {{ 1 / 0 }}", ["fails on a trial render: ZeroDivisionError"]),
    ("{{ output | int + 'x' }}", ["fails on a trial render"]),
    ("{{ 9 ** (9 ** 9) }}", ["fails on a trial render", "too large"]),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{{ output }}{% endfor %}{% endfor %}",
     ["fails on a trial render"]),
])
def test_a_broken_judge_template_is_found_before_any_call(tiny_workspace, template, words):
    line = _judged(tiny_workspace, template)
    assert_located(check(tiny_workspace), f"{SCEN}:{line}:", *words)


def test_a_policy_judge_template_is_checked_too(tiny_workspace):
    append(tiny_workspace / SCEN, 'policy:\n  judge:\n    model: smollm2\n    rubric: "Polite."\n'
                                  '    template: "{{ rubric }} {{ outptu }}"\n')
    assert_located(check(tiny_workspace), f"{SCEN}:{SCEN_LINES + 4}: policy.judge.template uses {{{{ outptu }}}}")


def test_a_good_judge_template_passes(tiny_workspace):
    _judged(tiny_workspace, "Rubric: {{ rubric }}\nInput: {{ input }}\n{% if reference %}Ref: {{ reference }}\n"
                            "{% endif %}Output: {{ output | upper }}\nVerdict:")
    result = check(tiny_workspace)
    assert result.exit_code == 0, result.output


# -- patterns RE2 cannot run ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern,words", [("(?=refund)", ["invalid perl operator", "lookarounds"]),
                                           ("(a)\\\\1", ["backreferences"]), ("a{2000}", ["repetition size"])])
def test_a_forbid_pattern_re2_cannot_run(tiny_workspace, pattern, words):
    append(tiny_workspace / SCEN, f'policy:\n  forbid:\n    - "ok"\n    - "{pattern}"\n')
    assert_located(check(tiny_workspace), f"{SCEN}:{SCEN_LINES + 3}: policy.forbid[1]: invalid regular expression",
                   *words)


def test_a_regex_answer_re2_cannot_run(tiny_workspace):
    replace_in(tiny_workspace / SCEN, "rule: numeric", "rule: regex")
    rows = [dict(r, answer=str(r["answer"])) for r in TINY_ITEMS]
    rows[2]["answer"] = "(?<=is )6"
    (tiny_workspace / DATA).write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert_located(check(tiny_workspace), f"{DATA}:3: answer is not a regular expression roadtest can run",
                   "lookarounds")


# -- prompt templates that break the sandbox's budgets -------------------------------------------------------------

NESTED_RANGES = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ question }}"
NESTED_OUTPUT = "{% for i in range(100000) %}{% for j in range(100000) %}{{ question }}{% endfor %}{% endfor %}"


@pytest.mark.parametrize("template,words", [
    ("{{ 9**(9**9) }} {{ question }}", ["too large to compute"]),
    (NESTED_RANGES, ["range()"]),
    (NESTED_OUTPUT, ["renders to more than 1,000,000 characters"]),
    ("{{ question }}" + "x" * 300_000, ["300,014 characters"]),
    ("{{ question }}{{ 'ab' * 100000000 }}", ["too large for a template"]),
    ("{{ '%099999999d' % 1 }}{{ question }}", ["format width"]),
])
def test_a_template_beyond_the_budgets_is_a_problem_at_the_template(tiny_workspace, template, words):
    replace_in(tiny_workspace / SCEN, 'template: "{{ question }}\\nAnswer:"', f"template: {json.dumps(template)}")
    assert_located(check(tiny_workspace), f"{SCEN}:{TEMPLATE_LINE}: prompt.template", *words, "sandbox")


def test_a_template_error_of_the_templates_own_code_is_located(tiny_workspace):
    replace_in(tiny_workspace / SCEN, '"{{ question }}\\nAnswer:"', '"{{ question }} {{ answer / (answer - 6) }}"')
    assert_located(check(tiny_workspace), f"{DATA}:3: prompt.template fails on this row: ZeroDivisionError")


def test_a_budget_broken_by_one_row_points_at_the_row(tiny_workspace):
    replace_in(tiny_workspace / SCEN, '"{{ question }}\\nAnswer:"', '"{{ question * answer }}"')
    rows = [dict(r) for r in TINY_ITEMS]
    rows[3]["answer"] = 10 ** 9
    (tiny_workspace / DATA).write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert_located(check(tiny_workspace), f"{DATA}:4: prompt.template fails on this row", "too large")


def test_a_budget_broken_on_a_fewshot_pool_row(tiny_workspace):
    replace_in(tiny_workspace / SCEN, '  template: "{{ question }}\\nAnswer:"',
               '  fewshot: {k: 1, pool: pool.jsonl}\n  template: "{{ question * times }}"')
    rows = [dict(r, times=1) for r in TINY_ITEMS]
    (tiny_workspace / DATA).write_text("".join(json.dumps(r) + "\n" for r in rows))
    pool = [dict(r, id=f"p{i}", times=1) for i, r in enumerate(TINY_ITEMS)]
    pool[1]["times"] = 10 ** 8
    (tiny_workspace / "scenarios" / "pool.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pool))
    assert_located(check(tiny_workspace), "scenarios/pool.jsonl:2: prompt.template fails on this row", "too large")


def test_a_budget_broken_by_a_variant_template(tiny_workspace):
    append(tiny_workspace / SCEN, 'variants:\n  - name: big\n    prompt:\n      template: "{{ 9**(9**9) }}"\n')
    assert_located(check(tiny_workspace), f"{SCEN}:{SCEN_LINES + 2}: variants[0] (big): prompt.template",
                   "too large to compute")


def test_a_budget_broken_only_by_a_counterfactual_swap(tiny_workspace):
    append(tiny_workspace / SCEN, "counterfactuals: {field: question, swap: pronouns}\n")
    replace_in(tiny_workspace / SCEN, '"{{ question }}\\nAnswer:"',
               '"{{ question }}{% if \'she\' in question %}{{ 9**(9**9) }}{% endif %}"')
    rows = [dict(r) for r in TINY_ITEMS]
    rows[1]["question"] = "What did he add to 3?"
    (tiny_workspace / DATA).write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert_located(check(tiny_workspace), f"{DATA}:2: prompt.template fails on this row (with question swapped to "
                                          "female pronouns)", "too large")


def test_a_budget_broken_only_by_a_perturbation(tiny_workspace):
    append(tiny_workspace / SCEN, "perturbations: [uppercase]\n")
    replace_in(tiny_workspace / SCEN, '"{{ question }}\\nAnswer:"',
               '"{{ question }}{% if question.isupper() %}{{ 9**(9**9) }}{% endif %}"')
    assert_located(check(tiny_workspace), f"{DATA}:1: prompt.template fails on this row (perturbed: uppercase)",
                   "too large")


def test_a_slow_template_stops_the_check_quickly(tiny_workspace, monkeypatch):
    from roadtest.load import scenarios

    monkeypatch.setattr(scenarios, "CHECK_SECONDS", 0.3)        # (and well over 1 ms per rendering)
    replace_in(tiny_workspace / SCEN, '"{{ question }}\\nAnswer:"',
               '"{% for i in range(900) %}{% for j in range(900) %}{% endfor %}{% endfor %}{{ question }}"')
    rows = [dict(TINY_ITEMS[0], id=f"q{i}") for i in range(200)]
    (tiny_workspace / DATA).write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert_located(check(tiny_workspace), f"{SCEN}:{TEMPLATE_LINE}: prompt.template is too slow")


# -- the same problems through the API ----------------------------------------------------------------------------

def test_the_loader_raises_input_error_only(tiny_workspace):
    append(tiny_workspace / SCEN, alias_bomb())
    with pytest.raises(InputError) as info:
        load_workspace(tiny_workspace)
    assert all(p.hint for p in info.value.problems)
