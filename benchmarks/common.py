"""Shared helpers for the benchmarks: a stub server in its own process, timing, peak memory."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def stub(delay: float = 0.0):
    """An OpenAI-compatible stub in a separate process (so client and server do not share an event loop)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "stub_server.py"), str(port), str(delay)])
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(100):
            try:
                if httpx.get(url + "/models", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait()


def workspace(root: Path, url: str, items: int, concurrency: int) -> Path:
    """A workspace with one scenario of `items` items against the stub."""
    import json

    (root / "scenarios").mkdir(parents=True, exist_ok=True)
    (root / "hypotheses").mkdir(exist_ok=True)
    (root / "roadtest.yaml").write_text(
        f"models:\n  - id: stub\n    provider: openai\n    base_url: {url}\n    max_concurrency: {concurrency}\n")
    with (root / "scenarios" / "bench.jsonl").open("w") as f:
        for i in range(items):
            f.write(json.dumps({"id": f"i{i}", "question": f"What is {i} plus 1?", "answer": i + 1}) + "\n")
    (root / "scenarios" / "bench.yaml").write_text(
        'id: bench\nsuccess: "It answers."\ndataset: {path: bench.jsonl}\nprompt: {template: "{{ question }}"}\n'
        "limits: {max_new_tokens: 4}\nscoring: {rule: numeric, answer: answer}\n")
    (root / "hypotheses" / "h.md").write_text(
        "---\nid: h\ntitle: Bench\ncriteria:\n  - scenario: bench\n    metric: accuracy\n    at_least: 0.5\n---\nx\n")
    return root
