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
    # --no-cache: the twin sends the same requests as smollm2, and latency is only timed live (a cached answer never
    # enters it): the trade-off chart needs both models' latencies.
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--no-cache"])
    assert result.exit_code == 0, result.output
    run_dir = next(p for p in (ws / "runs").iterdir() if (p / "manifest.json").exists())
    result = runner.invoke(app, ["report", str(run_dir), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    yield ws, run_dir
    proxy.stop()


# A run made without a model server: three models behind canned endpoints, two scenarios, each model better at a
# different one (a model x scenario interaction), a settings variant, every kind of comparison criterion, a model
# prompted in another mode (a confounded comparison) and an endpoint failing on one scenario (NOT DECIDED).
SKILL = {"alpha": {"add": 0.9, "sub": 0.55}, "beta": {"add": 0.6, "sub": 0.9}, "gamma": {"add": 0.5, "sub": 0.5}}
STUB_SCENARIO = """\
id: math-{kind}
success: "The model answers a one-step sum."
dataset: {{path: math-{kind}.jsonl, id: id}}
mode: chat
prompt:
  system: "Answer with the number only."
  template: "{{{{ question }}}}\\nAnswer:"
sampling: {{temperature: 0.0, top_p: 1.0, seed: 7}}
limits: {{max_new_tokens: 6, stop: ["\\n"]}}
repeats: 1
scoring: {{rule: numeric, answer: answer}}
variants:
  - name: warm
    sampling: {{temperature: 0.9}}
"""
STUB_HYPOTHESES = {"adds.md": """\
---
id: adds
title: The model adds well and beats beta
criteria:
  - scenario: math-add
    metric: accuracy
    at_least: 0.7
  - scenario: math-add
    metric: accuracy
    versus: {model: beta, by_at_least: 0.0}
    robust_to_settings: true
  - scenario: math-add
    metric: latency_p95_s
    at_most: 5.0
---
Adding.
""", "subs.md": """\
---
id: subs
title: The model subtracts no worse than beta
criteria:
  - scenario: math-sub
    metric: accuracy
    no_worse_than: {model: beta, margin: 0.05}
  - scenario: math-sub
    metric: accuracy
    at_least: 0.5
---
Subtracting.
"""}


def _stub_answer(model: str):
    import hashlib
    import re

    def answer(body):
        found = re.search(r"Q(\d+)-(add|sub): What is (\d+) (plus|minus) (\d+)", json.dumps(body))
        if not found:
            return None
        n, kind, a, op, b = found.groups()
        true = int(a) + int(b) if op == "plus" else int(a) - int(b)
        warm = (body.get("temperature") or 0) > 0
        skill = SKILL[model][kind] - (0.2 if warm and model == "alpha" else 0)
        draw = int(hashlib.sha256(f"{model}:{kind}{n}{warm}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        return str(true if draw < skill else true + 1)

    return answer


def _gamma_fails(index, body):
    """gamma's endpoint fails one call in three on math-add only: that scenario is NOT DECIDED, the other is not."""
    return "500" if "-add:" in json.dumps(body) and index % 3 == 0 else "pass"


@pytest.fixture(scope="session")
def stub_run(tmp_path_factory):
    """(workspace, run folder) of the canned three-model run, its report written (HTML only)."""
    from tests.support.proxy import FaultProxy

    root = tmp_path_factory.mktemp("stub") / "ws"
    (root / "scenarios").mkdir(parents=True)
    (root / "hypotheses").mkdir()
    proxies, blocks = [], []
    for model, delay in (("alpha", 0.02), ("beta", 0.005), ("gamma", 0.01)):
        proxy = FaultProxy(None, script=_gamma_fails if model == "gamma" else (lambda i, body: "pass"),
                           answer=_stub_answer(model), delay_s=delay)
        proxies.append(proxy)
        mode = "    mode: completion\n" if model == "beta" else ""
        blocks.append(f"  - id: {model}\n    provider: openai\n    base_url: {proxy.start()}\n    model: stub\n"
                      f"    max_retries: 0\n{mode}")
    (root / "roadtest.yaml").write_text("name: stub\nmodels:\n" + "".join(blocks) + "report:\n  title: Stub decision\n")
    for kind, op in (("add", "plus"), ("sub", "minus")):
        items = [{"id": f"{kind}{n}", "question": f"Q{n}-{kind}: What is {n + 3} {op} {n % 7}?",
                  "answer": (n + 3) + (n % 7) if op == "plus" else (n + 3) - (n % 7)} for n in range(60)]
        (root / "scenarios" / f"math-{kind}.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
        (root / "scenarios" / f"math-{kind}.yaml").write_text(STUB_SCENARIO.format(kind=kind))
    for name, text in STUB_HYPOTHESES.items():
        (root / "hypotheses" / name).write_text(text)
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["run", "-w", str(root), "-q"])
    finally:
        for proxy in proxies:
            proxy.stop()
    run_dir = next(p for p in (root / "runs").iterdir() if (p / "manifest.json").exists())
    assert (run_dir / "verdicts.json").is_file(), result.output
    result = runner.invoke(app, ["report", str(run_dir), "-w", str(root), "--format", "html"])
    assert result.exit_code == 0, result.output
    return root, run_dir
