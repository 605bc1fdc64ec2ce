"""The API key never touches disk: not in the cache, the trials, the manifest, a diff or a message; it is redacted
as a token (the data around it intact), and a key too short to redact safely is refused before any call."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from roadtest.engine import EngineOptions, execute
from roadtest.errors import RoadtestError
from roadtest.providers import MIN_KEY_CHARS, Redactor, redact
from roadtest.spec import ModelSpec
from tests.conftest import write_workspace

runner = CliRunner()
ENV = "ROADTEST_SECRET_KEY"


# -- redaction as a token ----------------------------------------------------------------------------------------

def test_a_key_is_redacted_as_a_token_never_inside_a_longer_word():
    r = Redactor("answer12", ENV)
    text = "answer: 4. answer12 answer123 the_answer12 x-answer12 answer12-x (answer12) answer12."
    assert r.text(text) == (f"answer: 4. ${ENV} answer123 the_answer12 x-answer12 answer12-x (${ENV}) ${ENV}.")
    body = {"answer": "answer", "answer12x": "the answer", "choices": [{"text": "Bearer answer12"}]}
    assert r.json(body) == {"answer": "answer", "answer12x": "the answer", "choices": [{"text": f"Bearer ${ENV}"}]}


def test_a_key_echoed_as_a_field_name_is_redacted_too():
    r = Redactor("sk-abc-12345678", ENV)
    assert r.json({"echo": {"sk-abc-12345678": ["sk-abc-12345678", 1, None, True]}}) == \
        {"echo": {f"${ENV}": [f"${ENV}", 1, None, True]}}


KEYS = ['sk-"quoted"-12', "sk-back\\slash-12", 'a"b\\c/d\u00e9-long', "\u00e9t\u00e9-secret-key"]


@pytest.mark.parametrize("key", KEYS)
def test_a_key_with_quotes_backslashes_or_non_ascii_is_redacted_in_json_text_too(key):
    r = Redactor(key, ENV)
    for text in (f"plain {key} end", json.dumps({"k": f"plain {key} end"}),
                 json.dumps({"k": f"plain {key} end"}, ensure_ascii=False),
                 json.dumps({"k": f"plain {key} end"}).replace("/", "\\/")):
        clean = r.text(text)
        assert key not in clean and json.dumps(key)[1:-1] not in clean and \
            json.dumps(key, ensure_ascii=False)[1:-1] not in clean, clean
        assert f"${ENV}" in clean
    assert r.json({"k": [f"x {key}"]}) == {"k": [f"x ${ENV}"]}


def test_redact_reads_the_key_from_the_environment(monkeypatch):
    spec = ModelSpec(id="m", provider="openai", base_url="http://127.0.0.1:9/v1", api_key_env=ENV)
    monkeypatch.setenv(ENV, "sk-live-0000000")
    assert redact("Incorrect API key provided: sk-live-0000000.", spec) == f"Incorrect API key provided: ${ENV}."
    monkeypatch.delenv(ENV)
    assert redact("nothing to hide", spec) == "nothing to hide"


# -- refusing a key too short to redact --------------------------------------------------------------------------

def keyed_workspace(tmp_path: Path, url: str) -> Path:
    ws = write_workspace(tmp_path / "ws", url=url)
    cfg = ws / "roadtest.yaml"
    cfg.write_text(cfg.read_text().replace("    model: smollm2\n", f"    model: smollm2\n    api_key_env: {ENV}\n"))
    return ws


def test_a_short_key_is_refused_before_any_request(tmp_path, stub, monkeypatch):
    p, url = stub()
    monkeypatch.setenv(ENV, "test")
    result = runner.invoke(app, ["run", "-w", str(keyed_workspace(tmp_path, url)), "-q", "--no-cache"])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert f"the key in ${ENV} is 4 characters long" in message
    assert f"refuses keys shorter than {MIN_KEY_CHARS}" in message and "use a longer dummy key" in message
    assert "Traceback" not in result.output
    assert p.seen == [] and p.gets == []                           # not one request, not even /models


def test_the_engine_refuses_a_short_key_before_opening_any_endpoint(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "x")
    specs = {"m": ModelSpec(id="m", provider="openai", base_url="http://127.0.0.1:9/v1", api_key_env=ENV)}
    with pytest.raises(RoadtestError, match="is 1 characters long"):
        asyncio.run(execute(iter([]), specs, tmp_path, None, None, EngineOptions()))


# -- nothing written holds the key --------------------------------------------------------------------------------

def forms(key: str) -> list[bytes]:
    """The key as bytes in every way a file may hold it: plain, JSON-escaped, \\u-escaped."""
    out = {key.encode(), json.dumps(key)[1:-1].encode(), json.dumps(key, ensure_ascii=False)[1:-1].encode()}
    return sorted(out)


def assert_nowhere(key: str, ws: Path, *outputs: str) -> None:
    written = [Path(root) / f for root, _, files in os.walk(ws) for f in files]
    assert any(f.name == "cache.sqlite" for f in written) and any(f.name == "trials.jsonl" for f in written)
    for path in written:
        data = path.read_bytes()
        for form in forms(key):
            assert form not in data, f"{path.relative_to(ws)} holds the key"
    for text in outputs:
        for form in forms(key):
            assert form.decode() not in text


def check_redacted_run(ws: Path, key: str) -> None:
    """Two runs (the second from the cache), a diff: the key is in none of the files or outputs."""
    first = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["cached"] == 5
    a, b = sorted((ws / "runs").iterdir())
    diff = runner.invoke(app, ["diff", a.name, b.name, "-w", str(ws), "--json"])
    assert diff.exit_code == 0, diff.output
    assert_nowhere(key, ws, first.output, second.output, diff.output)

    rows = [json.loads(line) for line in (a / "trials.jsonl").read_text().splitlines()]
    for row in rows:
        body = row["response"]["body"]
        assert body["system_fingerprint"] == f"${ENV}"
        assert body["echo"] == {"authorization": f"Bearer ${ENV}", f"${ENV}": "as a field name"}
        assert body["choices"][0]["message"]["content"].endswith(f" ${ENV}")
    endpoint = json.loads((a / "manifest.json").read_text())["endpoints"]["smollm2"]
    assert endpoint["api_key_env"] == ENV                                   # the name, never the value
    assert endpoint["models_entry"]["owned_by"] == f"org of ${ENV}"
    assert endpoint["models_entry"]["meta"] == {"authorization": f"Bearer ${ENV}", f"${ENV}": True}


@pytest.mark.parametrize("key", ["sk-echo-secret-0042", 'sk-"quoted"\\back\\slash-77'])
def test_a_key_echoed_by_the_endpoint_reaches_no_file_and_no_output(tmp_path, stub, monkeypatch, key):
    p, url = stub(lambda i, body: "echo_key", models_echo_key=True)
    monkeypatch.setenv(ENV, key)
    check_redacted_run(keyed_workspace(tmp_path, url), key)


def test_a_key_echoed_by_the_real_server_path_reaches_no_file(tmp_path, fault_proxy, monkeypatch):
    """The same, in front of the real llama.cpp server: real answers, real /models listing."""
    key = 'sk-live-"do-not-leak"-42'
    p, url = fault_proxy(lambda i, body: "echo_key", models_echo_key=True)
    monkeypatch.setenv(ENV, key)
    check_redacted_run(keyed_workspace(tmp_path, url), key)


def test_a_common_word_key_leaves_the_responses_intact_but_for_the_token(tmp_path, stub, monkeypatch):
    text = "The answer is 4. answer12 answer123 the_answer12 answers"
    p, url = stub(lambda i, body: "pass", answer=lambda body: text)
    monkeypatch.setenv(ENV, "answer12")
    ws = keyed_workspace(tmp_path, url)
    assert runner.invoke(app, ["run", "-w", str(ws), "-q", "--no-cache"]).exit_code == 0
    run_dir = next((ws / "runs").iterdir())
    rows = [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    assert len(rows) == 5
    for row in rows:
        body = row["response"]["body"]
        assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
        assert body["choices"][0] == {"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": f"The answer is 4. ${ENV} answer123 the_answer12 answers"}}
