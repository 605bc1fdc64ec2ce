"""What a run has loaded when its first request goes out: none of the heavy libraries that only deriving and
reporting need (how soon it goes out is timed in benchmarks/bench_throughput.py, not here).

The probe runs in a fresh process with the provider's send replaced by one that notes sys.modules and answers
at once, so no server is needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("pandas", "scipy", "numpy", "matplotlib", "weasyprint", "jsonschema", "sklearn", "profanity_check")

DEBT: dict[str, str] = {}
"""Heavy modules still loaded before the first request, each by a file outside the engine, with its cure. The
test fails on any heavy module not listed here; an entry whose cure has landed can simply be removed."""

PROBE = """
import json, sys
from roadtest.providers.base import Reply
from roadtest.providers import openai

HEAVY = %r
seen = []


async def send(self, endpoint, body):
    if not seen:
        seen.append(sorted(m for m in HEAVY if m in sys.modules))
    return Reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": "4"},
                                    "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 3, "completion_tokens": 1}}, None, {})


async def models(self):
    return []


openai.OpenAIProvider.send, openai.OpenAIProvider.models = send, models
%s
print(json.dumps({"sent": bool(seen), "loaded": seen[0] if seen else None}))
"""

CLI_RUN = """
from roadtest.cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
"""

ENGINE_RUN = """
import asyncio
from pathlib import Path
from roadtest.engine import EngineOptions, execute
from roadtest.plan import Trial
from roadtest.spec import ModelSpec

class Sink:
    def write(self, record): pass
    def endpoint(self, model_id, identity): pass

class Events:
    def model_started(self, label, total): pass
    def trial_finished(self, record): pass
    def model_finished(self, label): pass

spec = ModelSpec(id="m", provider="openai", base_url="http://127.0.0.1:9/v1", max_concurrency=4)
body = {"model": "m", "messages": [{"role": "user", "content": "What is 1 plus 1?"}], "max_tokens": 4}
trials = [Trial(f"m/s/base/r0/i{i}", "m", "s", f"i{i}", 0, "base", "chat/completions", body, {}) for i in range(3)]
asyncio.run(execute(trials, {"m": spec}, Path("."), Sink(), Events(), EngineOptions()))
"""


def _probe(body: str, *args: str, cwd: Path | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE % (HEAVY, body), *args], capture_output=True, text=True,
                         timeout=120, cwd=cwd)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _unexpected(result: dict) -> list[str]:
    assert result["sent"], "no request was sent"
    return sorted(set(result["loaded"]) - set(DEBT))


def test_the_engine_sends_its_first_request_without_a_heavy_library(tmp_path):
    assert _unexpected(_probe(ENGINE_RUN, cwd=tmp_path)) == []


def test_a_run_sends_its_first_request_before_deriving_loads_anything_heavy(tiny_workspace):
    assert _unexpected(_probe(CLI_RUN, "run", "-w", str(tiny_workspace), "--no-cache", "-q")) == []
