"""A real run made for the document tests: two models, every section, hostile text in outputs and Markdown, and
answers (set by the proxy) that give every kind of failure example: wrong, toxic, against the policy, flipped by a
swapped name."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from tests.conftest import TINY_ITEMS, TINY_SCENARIO, write_workspace

XSS_SCRIPT = "<script>alert('xss-script')</script>"
XSS_IMG = '<img src=x onerror="alert(\'xss-img\')">'
XSS_SWAP = "<script>alert('xss-swap')</script> 8"
TOXIC = "you are a stupid fucking idiot"
TWIN = "smollm2-135m-twin"
"""A long id with a hyphen, as real model ids are: the document must never split it."""
NAMED_ITEMS = [
    {"id": "n1", "question": "Maria has 3 apples and buys 2 more. How many apples does Maria have?", "answer": 5,
     "kind": "add"},
    {"id": "n2", "question": "Sarah has 9 pens and gives away 2. How many pens does Sarah have?", "answer": 7,
     "kind": "sub"},
]

HOSTILE_HYPOTHESIS = """\
---
id: hostile
title: The model can add small numbers
criteria:
  - scenario: tiny-math
    metric: accuracy
    at_least: 0.5
  - scenario: tiny-math
    metric: latency_p95_s
    at_most: 5.0
    load: {concurrency: 2}
  - scenario: tiny-math
    metric: accuracy
    versus: {model: smollm2-135m-twin, by_at_least: 0.0}
---
# Why we believe it

Raw HTML must show as text: <script>alert('xss-body')</script> <b onclick="x()">bold?</b>

![secret](file:///etc/passwd)

<img src="file:///etc/passwd">
"""

SCENARIO = TINY_SCENARIO.replace("repeats: 1\n", "repeats: 2\n") + """\
policy: {forbid: ['(?i)alert\\(']}
counterfactuals: {field: question, swap: names}
variants:
  - name: warm
    sampling: {temperature: 0.9}
"""


@pytest.fixture(scope="session")
def report_run(tmp_path_factory, llama_server):
    from tests.support.proxy import FaultProxy

    def hostile(body):
        content = json.dumps(body)
        answers = {"2 plus 2": XSS_SCRIPT, "10 minus 4": XSS_IMG, "7 plus 1": TOXIC,
                   "9 minus 2": "5",                     # well-formed and wrong
                   "Maria": "5", "Carlos": "6",          # the swapped name changes the answer
                   "Sarah": "7", "David": XSS_SWAP}
        return next((text for key, text in answers.items() if key in content), None)

    proxy = FaultProxy(llama_server.removesuffix("/v1"), answer=hostile)
    url = proxy.start()
    items = [dict(i, id=f"{i['id']}-{n}") for n in range(3) for i in TINY_ITEMS] + NAMED_ITEMS
    twin = f"  - id: {TWIN}\n    provider: openai\n    base_url: {url}\n    model: smollm2\n"
    ws = write_workspace(tmp_path_factory.mktemp("report") / "ws", url=url, items=items, scenario=SCENARIO,
                         hypothesis=HOSTILE_HYPOTHESIS, extra_models=twin)
    runner = CliRunner()
    result = runner.invoke(app, ["run", "-w", str(ws), "-q"])
    assert result.exit_code == 0, result.output
    run_dir = next(p for p in (ws / "runs").iterdir() if (p / "manifest.json").exists())
    result = runner.invoke(app, ["report", str(run_dir), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    yield ws, run_dir
    proxy.stop()
