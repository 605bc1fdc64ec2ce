"""Planning: stable trial ids, seeded few-shot draws, rendered requests."""

from __future__ import annotations

import json

from roadtest.load import load_workspace
from roadtest.plan import build_trials, fewshot_ids, select
from tests.conftest import TINY_SCENARIO, write_workspace

FEWSHOT = TINY_SCENARIO.replace(
    '  template: "{{ question }}\\nAnswer:"\n',
    '  template: "{{ question }}\\nAnswer:"\n  fewshot: {k: 2, seed: 5, pool: pool.jsonl}\n')


def workspace(tmp_path, scenario=FEWSHOT, extra=""):
    ws = write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", scenario=scenario, extra_models=extra)
    pool = [{"id": f"p{i}", "question": f"What is {i} plus 1?", "answer": i + 1} for i in range(6)]
    (ws / "scenarios" / "pool.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pool))
    return load_workspace(ws)


def test_trials_are_stable_and_seeded(tmp_path):
    ws = workspace(tmp_path)
    first = list(build_trials(ws, select(ws)))
    again = list(build_trials(workspace(tmp_path / "again"), select(ws)))
    assert [t.id for t in first] == [t.id for t in again]
    assert [t.body for t in first] == [t.body for t in again]
    assert first[0].id == "smollm2/tiny-math/base/r0/a1"
    ids = fewshot_ids(ws.scenarios["tiny-math"])
    assert len(ids) == 2 and ids == fewshot_ids(ws.scenarios["tiny-math"])
    messages = first[0].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert messages[-1]["content"] == "What is 2 plus 2?\nAnswer:"


def test_completion_mode_for_a_model_and_repeat_seeds(tmp_path):
    scenario = FEWSHOT.replace("repeats: 1", "repeats: 2")
    extra = "  - id: base\n    provider: openai\n    base_url: http://127.0.0.1:9/v1\n    mode: completion\n"
    ws = workspace(tmp_path, scenario, extra)
    trials = [t for t in build_trials(ws, select(ws, models=["base"]))]
    assert len(trials) == 10
    assert trials[0].endpoint == "completions"
    prompt = trials[0].body["prompt"]
    assert prompt.startswith("Answer with the number only.\n\n")
    assert prompt.endswith("What is 2 plus 2?\nAnswer:")
    assert prompt.count("Answer:") == 3        # two examples with answers, then the item
    assert [t.body["seed"] for t in trials[:2]] == [7, 8]
    assert trials[0].reference == {"answer": 4, "group": "add"}
