"""Perturbations and counterfactual swaps: deterministic for a seed, and they never touch the reference."""

from __future__ import annotations

import json

import pytest

from roadtest.load import load_workspace
from roadtest.plan import build_trials, select
from roadtest.plan.counterfactual import counterfactuals, swap_to
from roadtest.plan.perturb import PERTURBATIONS, perturb, rng_for, synonyms
from tests.conftest import TINY_SCENARIO, write_workspace

TEXT = "I bought a big package, but it arrived broken. Can you help me?"


@pytest.mark.parametrize("kind", PERTURBATIONS.names())
def test_perturbations_are_deterministic_for_a_seed(kind):
    a = PERTURBATIONS.get(kind)(TEXT, rng_for(3, "s", "i1", kind))
    b = PERTURBATIONS.get(kind)(TEXT, rng_for(3, "s", "i1", kind))
    assert a == b and a != TEXT


def test_perturbations_do_what_they_say():
    r = lambda k: rng_for(0, "s", "i", k)  # noqa: E731
    assert PERTURBATIONS.get("lowercase")(TEXT, r("l")) == TEXT.lower()
    assert PERTURBATIONS.get("uppercase")(TEXT, r("u")) == TEXT.upper()
    assert PERTURBATIONS.get("whitespace")(TEXT, r("w")).split() == TEXT.split()
    no_punct = PERTURBATIONS.get("punctuation")(TEXT, r("p"))
    assert no_punct.replace(",", "").replace(".", "").replace("?", "") == TEXT.replace(",", "").replace(".", "").replace("?", "")
    typo = PERTURBATIONS.get("typos")(TEXT, r("t"))
    assert sorted(typo) == sorted(TEXT) and typo != TEXT           # letters swapped, none lost
    syn = PERTURBATIONS.get("synonym")(TEXT, r("s"))
    assert any(alt in syn.lower() for alt in synonyms()["bought"] + synonyms()["package"] + synonyms()["big"])


def test_typos_depend_on_the_seed():
    outs = {PERTURBATIONS.get("typos")(TEXT * 3, rng_for(seed, "s", "i", "typos")) for seed in range(8)}
    assert len(outs) > 1


def test_perturb_changes_only_the_named_fields():
    row = {"id": "i1", "question": "What color is grass?", "answer": "Green"}
    out = perturb("uppercase", row, ["question"], rng_for(0, "s", "i1", "uppercase"))
    assert out == {"id": "i1", "question": "WHAT COLOR IS GRASS?", "answer": "Green"}
    assert row["question"] == "What color is grass?"


def test_counterfactual_swaps():
    assert counterfactuals("Hi, this is Emily. I was charged twice.", "names") == {
        "male": "Hi, this is James. I was charged twice."}
    assert swap_to("She lost her card and her husband called.", "pronouns", "male") == \
        "He lost his card and his husband called."   # every term mapped into the target group
    assert swap_to("I gave it to her.", "pronouns", "male") == "I gave it to him."
    assert swap_to("He lost his password.", "pronouns", "female") == "She lost her password."
    assert swap_to("I gave it to him; the card is his.", "pronouns", "female") == "I gave it to her; the card is hers."
    assert swap_to("I told her that it broke.", "pronouns", "male") == "I told him that it broke."
    assert swap_to("My favorite color is on the package.", "dialect", "uk") == "My favourite colour is on the parcel."
    assert counterfactuals("No names here.", "names") == {}
    assert counterfactuals("EMILY and David", "names") == {"male": "JAMES and David", "female": "EMILY and Sarah"}


def test_variant_trials_keep_the_reference(tmp_path):
    scenario = TINY_SCENARIO.replace('template: "{{ question }}\\nAnswer:"', 'template: "{{ name }}: {{ question }}\\nAnswer:"') + \
        "perturbations: [typos, uppercase]\ncounterfactuals: {field: name, swap: names}\n" \
        "variants:\n  - name: hot\n    sampling: {temperature: 0.9}\n"
    items = [{"id": f"a{i}", "name": "Emily" if i % 2 else "Tom", "question": f"What is {i} plus {i}?",
              "answer": 2 * i, "kind": "add"} for i in range(1, 5)]
    ws = load_workspace(write_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", items=items, scenario=scenario))
    trials = list(build_trials(ws, select(ws)))
    by_variant = {}
    for t in trials:
        by_variant.setdefault(t.variant, []).append(t)
    assert set(by_variant) == {"base", "perturb:typos", "perturb:uppercase", "cf:names:male", "setting:hot"}
    assert len(by_variant["cf:names:male"]) == 2                       # only the items with a listed name
    for t in trials:
        assert t.reference["answer"] == 2 * int(t.item[1:])               # the reference never changes
    upper = next(t for t in by_variant["perturb:uppercase"] if t.item == "a1")
    assert upper.body["messages"][-1]["content"] == "EMILY: WHAT IS 1 PLUS 1?\nAnswer:"
    assert next(t for t in by_variant["setting:hot"]).body["temperature"] == 0.9
    assert {t.body["temperature"] for t in by_variant["base"]} == {0.0}
    again = list(build_trials(ws, select(ws)))
    assert [json.dumps(t.body) for t in again] == [json.dumps(t.body) for t in trials]


def test_typos_always_change_a_word_that_can_change():
    for seed in range(20):
        assert PERTURBATIONS.get("typos")("What is the opposite of up?", rng_for(seed, "s", "i", "typos")) != \
            "What is the opposite of up?"
    assert PERTURBATIONS.get("typos")("I see a bee", rng_for(0, "s", "i", "typos")) == "I see a bee"  # nothing to swap
