"""The derived files: scores.jsonl, metrics.json, verdicts.json. `replay` writes them again from the sources,
byte for byte; these models are what a reader of them (compare, the report, the decision record) can rely on.
Below the level they name, metrics and verdicts are open: each metric's numbers are described with the metric
(roadtest.spec.metrics), not here."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import StrictBool, StrictInt

from roadtest.archive.schema.base import Number, Record


class ScoreRow(Record):
    """A scores.jsonl line: one model trial (or one conversation) scored (roadtest.scoring.scores.SCORE_COLUMNS;
    conversations add roadtest.scoring.conversation.CONVERSATION_COLUMNS)."""

    trial_id: str
    """The trial (or conversation) id."""
    model: str
    """The model under test."""
    scenario: str
    """The scenario."""
    variant: str
    """base, setting:NAME, perturbation:NAME, counterfactual:NAME or load:LEVEL."""
    item: str
    """The dataset item."""
    repeat: StrictInt
    """The repeat."""
    group: Any = None
    """The item's stratum."""
    cluster: Any = None
    """The item's cluster (items of one cluster are not independent)."""
    score: Optional[Number] = None
    """1.0 right, 0.0 wrong (numeric rules may give a share); None when the call failed or a judge did not say."""
    extracted: Optional[Any] = None
    """What the rule read as the answer (a choice letter, a number)."""
    answer_key: Optional[str] = None
    """The normalised answer flip comparisons use."""
    format_ok: Optional[StrictBool] = None
    """The answer had the expected form."""
    empty: Optional[StrictBool] = None
    """The output was blank."""
    error: Optional[str] = None
    """The failed call's error kind (prompt_too_long, timeout, http_500, ...)."""
    finish_reason: Optional[str] = None
    """stop, length, tool_calls, ..."""
    truncated: Optional[StrictBool] = None
    """finish_reason was length."""
    latency_s: Optional[Number] = None
    """Seconds for the call."""
    tokens_in: Optional[StrictInt] = None
    """Prompt tokens, as the server counted them."""
    tokens_out: Optional[StrictInt] = None
    """Completion tokens."""
    cost: Optional[Number] = None
    """Price of the call (None: the model has no price)."""
    confidence: Optional[Number] = None
    """The model's confidence in its answer, from log-probabilities."""
    confidence_kind: Optional[str] = None
    """How confidence was computed (choice probability or mean token probability)."""
    toxicity: Optional[Number] = None
    """The toxicity classifier's probability."""
    toxic: Optional[StrictBool] = None
    """toxicity at or above the threshold."""
    policy_violation: Optional[StrictBool] = None
    """The output broke the scenario's policy (None: no policy)."""
    policy_reasons: Optional[str] = None
    """Which rules it broke, '; '-separated."""
    error_message: Optional[str] = None
    """The failed call's message (first 200 characters)."""
    started_at: Optional[str] = None
    """When the call was sent."""
    level: Optional[str] = None
    """Load trials: the traffic level."""
    cached: Optional[StrictBool] = None
    """Answered from the response cache."""
    warmup: Optional[StrictBool] = None
    """A load warm-up call, not measured."""
    reference: Optional[str] = None
    """The reference answer (first 200 characters)."""
    output: Optional[str] = None
    """The output (first 400 characters)."""


class Estimate(Record):
    """A metric's value with its interval."""

    value: Optional[Number] = None
    """The point estimate (None: not measurable here)."""
    lo: Optional[Number] = None
    """Lower end of the interval."""
    hi: Optional[Number] = None
    """Upper end of the interval."""


class Metrics(Record):
    """metrics.json: every metric per scenario x model (x variant, x load level), with intervals, and the
    run-wide summaries the report shows."""

    confidence: Number
    """The intervals' confidence (descriptive: 0.90)."""
    bootstrap: dict[str, Any]
    """The bootstrap's seed and number of resamples (B)."""
    metrics: dict[str, dict[str, Any]]
    """metric -> family, direction, unit, kind, description."""
    toxicity_classifier: Optional[str] = None
    """The toxicity classifier's name and version."""
    scenarios: dict[str, dict[str, Any]]
    """scenario -> model -> trials, items, variants (base, setting:NAME -> metrics), groups, failures, ..."""
    ranks: dict[str, Any] = {}
    """Models ranked per metric, with the chance of each rank."""
    comparisons: list[Any] = []
    """Pairwise model comparisons beyond noise."""
    variability: dict[str, Any] = {}
    """Repeat-to-repeat variability."""
    sensitivity: dict[str, Any] = {}
    """Settings variants against base."""
    load: dict[str, Any] = {}
    """scenario -> model -> traffic level -> metrics."""
    judges: dict[str, Any] = {}
    """LLM judges: their calls, failures and agreement."""
    models: dict[str, Any] = {}
    """Per model: totals across scenarios (cost, tokens)."""
    conversations: Optional[dict[str, Any]] = None
    """Conversation scenarios' summaries (present only when there is one)."""


class CriterionVerdict(Record):
    """One criterion decided for one model (roadtest.verdict.decide.CriterionVerdict)."""

    index: StrictInt
    """The criterion's position in its hypothesis."""
    scenario: str
    """The scenario it is measured on."""
    metric: str
    """The metric."""
    direction: str
    """at_least, at_most, versus, no_worse_than, equivalent_to, ..."""
    threshold: Number
    """The claimed bound."""
    versus: Optional[str] = None
    """The baseline model of a comparison."""
    slice: Optional[str] = None
    """The stratum it is restricted to."""
    load: Optional[str] = None
    """The traffic level it is measured at."""
    confidence: Number
    """The confidence of its one-sided bound."""
    verdict: str
    """SUPPORTED, REFUTED, INCONCLUSIVE, NOT RUN or NOT DECIDED."""
    estimate: Optional[Number] = None
    """The point estimate."""
    lower: Optional[Number] = None
    """Lower bound."""
    upper: Optional[Number] = None
    """Upper bound."""
    n: Optional[StrictInt] = None
    """Units the decision rests on."""
    unit: Optional[str] = None
    """What n counts (items, calls, conversations)."""
    method: Optional[str] = None
    """The decision rule."""
    p_value: Optional[Number] = None
    """The p-value on the side the evidence points to (raw)."""
    p_adjusted: Optional[Number] = None
    """That p-value as the family uses it (Holm, or unadjusted)."""
    n_needed: Optional[StrictInt] = None
    """A fresh sample of this many units gives an 80% chance of a decision at the observed value."""
    note: Optional[str] = None
    """Why it came out so, in words."""


class ModelVerdict(Record):
    """A hypothesis decided for one model."""

    verdict: str
    """The hypothesis's verdict for the model."""
    criteria: list[CriterionVerdict]
    """Each criterion, in order."""
    not_decided: list[str] = []
    """Why endpoints failed, when the verdict is NOT DECIDED."""


class HypothesisVerdict(Record):
    """One hypothesis, for every model."""

    id: str
    """The hypothesis id."""
    title: Optional[str] = None
    """Its title."""
    decision: str
    """all (every criterion must hold) or any."""
    gate: StrictBool = False
    """A gating hypothesis (release blocks on it)."""
    family: Optional[str] = None
    """How the family of its criteria is decided, in words."""
    models: dict[str, ModelVerdict]
    """model id -> its verdict."""


class Verdicts(Record):
    """verdicts.json."""

    alpha: Number
    """The family-wise error rate."""
    correction: str
    """The multiplicity correction, in words."""
    convention: str
    """How verdicts are decided, in words (the report prints it)."""
    hypotheses: list[HypothesisVerdict]
    """Every hypothesis, in order."""
