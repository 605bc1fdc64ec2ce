"""--max-cost reads what a server reported as usage: whatever the server sent, a run and a resume go on."""

from __future__ import annotations

import pytest

from roadtest.engine.budget import Budget, usage_tokens
from roadtest.plan.trial import CHAT, Trial
from roadtest.spec import ModelSpec


def _spec() -> ModelSpec:
    return ModelSpec.model_validate({"id": "m", "provider": "openai", "base_url": "http://127.0.0.1:9/v1",
                                     "model": "m", "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}})


def _trial() -> Trial:
    return Trial(id="t", model="m", scenario="s", item="1", repeat=0, variant="base", endpoint=CHAT,
                 body={"messages": [{"role": "user", "content": "hello there"}], "max_tokens": 8}, reference={})


@pytest.mark.parametrize("usage", [None, "lots", [1, 2], {"prompt_tokens": None, "completion_tokens": "7"},
                                   {"prompt_tokens": float("nan")}, {"prompt_tokens": -3}, {"prompt_tokens": True},
                                   {"prompt_tokens": 1e300}, {"prompt_tokens": 2.5}])
def test_a_server_reporting_nonsense_usage_bills_nothing_and_never_raises(usage):
    budget = Budget(1.0)
    record = {"usage": usage, "cache": None}
    assert Budget.billed(record, _spec()) == 0.0
    budget.settle(0.0, _trial(), record, _spec())
    assert budget.spent == 0.0 and "m" not in budget.scale


def test_whole_token_counts_are_billed_at_the_price():
    record = {"usage": {"prompt_tokens": 1000, "completion_tokens": 500.0}, "cache": None}
    assert usage_tokens(record, "completion_tokens") == 500
    assert Budget.billed(record, _spec()) == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)
    assert Budget.billed({**record, "cache": {"hit": True}}, _spec()) == 0.0
    budget = Budget(1.0)
    budget.settle(0.0, _trial(), record, _spec())
    assert budget.scale["m"] > 1.0 and budget.spent == pytest.approx(0.002)


def test_the_bill_the_measured_cost_and_the_price_formula_agree():
    """One formula (Price.cost): the budget's bill and scoring's measured cost of a call are the same number."""
    from roadtest.scoring.scores import _cost

    spec = _spec()
    record = {"usage": {"prompt_tokens": 1234, "completion_tokens": 567}, "cache": None}
    assert Budget.billed(record, spec) == _cost(spec, 1234, 567) == spec.price.cost(1234, 567)
    assert _cost(spec, None, 567) is None   # scoring says "not measured"; the bill counts what was reported


@pytest.mark.parametrize("usage", ["lots", {"prompt_tokens": float("nan"), "completion_tokens": float("inf")},
                                   {"prompt_tokens": -3, "completion_tokens": 2.5}])
def test_scoring_reads_nonsense_usage_as_not_reported(usage):
    """The same reader (plan.tokens.token_count) serves scoring: nonsense is 'not reported', never a crash."""
    from roadtest.scoring.outputs import read_output

    body = {"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}
    out = read_output({"usage": usage, "error": None, "response": {"body": body}})
    assert (out.text, out.tokens_in, out.tokens_out) == ("ok", None, None)
