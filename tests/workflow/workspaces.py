"""A workspace worth splitting: 40 items, two repeats, a load level, and a stub that answers some items right and
some wrong (deterministically, by the question), so shards and the whole run can be compared verdict by verdict."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import TINY_SCENARIO

ITEMS = [{"id": f"q{i:02d}", "question": f"What is {i} plus 2?", "answer": i + 2, "kind": "add" if i % 3 else "odd"}
         for i in range(40)]

SCENARIO = TINY_SCENARIO.replace("tiny-math", "sums").replace("repeats: 1", "repeats: 2")

HYPOTHESIS = """\
---
id: sums-hold
title: Sums hold, also under traffic
criteria:
  - scenario: sums
    metric: accuracy
    at_least: 0.6
  - scenario: sums
    metric: latency_p95_s
    at_most: 5.0
    load: {concurrency: 3}
---
Split three ways, decided once.
"""


def answer(body: dict) -> str:
    """The stub's answer: right unless the number is a multiple of 4 (deterministic: the same for any shard)."""
    text = json.dumps(body.get("messages") or body.get("prompt"))
    match = re.search(r"What is (\d+) plus 2", text)
    if match is None:
        return "0"
    n = int(match.group(1))
    return str(n + 2 if n % 4 else n + 3)


def write(root: Path, urls: list[str], concurrency: int = 2) -> Path:
    """The workspace at `root` against `urls` (one model; several URLs are its replicas)."""
    (root / "scenarios").mkdir(parents=True, exist_ok=True)
    (root / "hypotheses").mkdir(exist_ok=True)
    base = urls[0] if len(urls) == 1 else "[" + ", ".join(urls) + "]"
    (root / "roadtest.yaml").write_text(
        f"name: shards\nmodels:\n  - id: stub\n    provider: openai\n    base_url: {base}\n"
        f"    max_concurrency: {concurrency}\n    warmup: 0\n", encoding="utf-8")
    (root / "scenarios" / "sums.yaml").write_text(SCENARIO, encoding="utf-8")
    (root / "scenarios" / "sums.jsonl").write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    (root / "hypotheses" / "sums.md").write_text(HYPOTHESIS, encoding="utf-8")
    return root
