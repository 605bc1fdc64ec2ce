"""Scenario: a dataset, a success sentence, and every setting that can move a score."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field, model_validator

from roadtest.patterns import pattern_problem
from roadtest.spec.base import Ident, Spec, rule_error
from roadtest.spec.model import Mode

ScoringRule = Literal["exact", "choice", "regex", "numeric", "contains", "judge", "end_state"]
ScenarioKind = Literal["single", "conversation"]
JudgePurpose = Literal["score", "policy"]
"""Why a judge is called: 'score' (the judge scoring rule) or 'policy' (the policy rubric)."""
Perturbation = Literal["typos", "lowercase", "uppercase", "whitespace", "punctuation", "synonym"]


class DatasetRef(Spec):
    """Where the items are and which fields identify and group them."""

    path: str
    """JSONL or CSV file, relative to the scenario file."""
    id: str = "id"
    """Field holding each item's unique id."""
    strata: Optional[str] = None
    """Field holding each item's stratum: fixed groups (topics, product lines) for slices and fairness. Strata
    never widen an error bar."""
    cluster: Optional[str] = None
    """Field naming the source items share (questions on one document, turns of one conversation): clustered
    errors with t(C - 1), and no clustered verdict below 10 clusters."""
    group: Optional[str] = None
    """Older name of `strata` (read as strata: fixed groups, not clusters)."""

    @model_validator(mode="after")
    def _one_strata_field(self) -> "DatasetRef":
        if self.group is not None and self.strata is not None and self.group != self.strata:
            raise rule_error("dataset_group_and_strata",
                             "`group:` is the older name of `strata:`; give one of them")
        return self

    @property
    def stratum(self) -> Optional[str]:
        """The strata field, whichever name it was given under."""
        return self.strata or self.group


class FewShot(Spec):
    """In-context examples, drawn once with a seed so every model sees the same ones."""

    k: int = Field(ge=0, le=64)
    """How many examples to put before each item."""
    seed: int = 0
    """Seed of the draw; the drawn ids are disclosed in the report."""
    pool: str
    """JSONL or CSV file of examples, relative to the scenario file."""


class Prompt(Spec):
    """How an item becomes a request."""

    system: Optional[str] = None
    """System message (chat) or preamble (completion)."""
    template: Optional[str] = None
    """Jinja2 template of the user turn; fields of the dataset row are its variables (single scenarios need one;
    in a conversation the customer speaks instead)."""
    fewshot: Optional[FewShot] = None
    """Optional in-context examples."""


class Sampling(Spec):
    """Decoding settings, passed to the endpoint as given."""

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """Sampling temperature."""
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Nucleus sampling mass."""
    seed: Optional[int] = 0
    """Sampling seed sent with each request (repeat r uses seed + r)."""


class Limits(Spec):
    """Length limits."""

    max_new_tokens: int = Field(default=64, ge=1, le=32768)
    """Most tokens the model may generate."""
    max_prompt_tokens: Optional[int] = Field(default=None, ge=1)
    """Longest prompt allowed; a longer one makes the trial an error row."""
    stop: list[str] = Field(default=[], max_length=4)
    """Stop sequences."""


class Judge(Spec):
    """An LLM judge: a model from roadtest.yaml with its own pinned prompt, temperature 0 and a seed."""

    model: str
    """Model id (from roadtest.yaml) that judges; its calls are archived as judge trials."""
    rubric: str = Field(min_length=1)
    """What a passing response does, in one or two sentences."""
    template: Optional[str] = None
    """Jinja2 judge prompt; variables: rubric, input, output, reference. Default: roadtest's pinned prompt."""
    seed: int = 0
    """Sampling seed of the judge's calls (temperature is always 0)."""
    max_new_tokens: int = Field(default=4, ge=1, le=64)
    """Tokens the judge may write; its verdict is the first PASS or FAIL."""


class Scoring(Spec):
    """How an output is judged against the reference."""

    rule: ScoringRule
    """exact | choice | regex | numeric | contains | judge."""
    answer: Optional[str] = None
    """Dataset field with the reference answer (for regex: the pattern); optional for judge."""
    judge: Optional[Judge] = None
    """judge only: the judge model and rubric."""
    expect: Optional[str] = None
    """end_state only: dataset field listing the actions the conversation must take, e.g.
    [{tool: issue_refund, args: {order_id: "A17", amount: 25.0}}] (args given must match; others may differ)."""
    forbid: Optional[str] = None
    """end_state only: dataset field listing actions the conversation must never take, e.g. [{tool: issue_refund}]."""
    choices: Optional[list[str]] = None
    """choice only: the allowed answers; the first one named in the output is taken."""
    tolerance: float = Field(default=0.0, ge=0.0)
    """numeric only: largest absolute difference still counted correct."""
    case_sensitive: bool = False
    """exact, choice, contains, regex: compare with case."""

    @model_validator(mode="after")
    def _rule_fields(self) -> "Scoring":
        if self.rule == "choice" and not self.choices:
            raise rule_error("scoring_needs_choices", "the choice rule needs `choices:` (the allowed answers)")
        if self.rule != "choice" and self.choices:
            raise rule_error("scoring_choices_unused", "`choices:` only applies to the choice rule, not {rule}",
                             rule=self.rule)
        if self.rule == "judge" and self.judge is None:
            raise rule_error("scoring_needs_judge", "the judge rule needs `judge: {model, rubric}`")
        if self.rule == "end_state":
            if not (self.expect or self.forbid):
                raise rule_error("scoring_needs_actions", "the end_state rule needs `expect:` and/or `forbid:` "
                                 "(dataset fields listing actions)")
            return self
        if self.expect or self.forbid:
            raise rule_error("scoring_actions_unused",
                             "`expect:` and `forbid:` only apply to the end_state rule, not {rule}", rule=self.rule)
        if self.rule != "judge" and self.answer is None:
            raise rule_error("scoring_needs_answer",
                             "the {rule} rule needs `answer:` (the dataset field with the reference answer)",
                             rule=self.rule)
        return self


def _compiles(pattern: str) -> str:
    problem = pattern_problem(pattern)
    if problem:
        raise rule_error("pattern_invalid", "invalid regular expression: {reason}", reason=problem)
    return pattern


Regex = Annotated[str, AfterValidator(_compiles)]
"""A regular expression RE2 can run (roadtest.patterns), checked when the file is read."""


class Policy(Spec):
    """Rules an output must keep; any broken rule is a policy violation."""

    forbid: list[Regex] = Field(default=[])
    """Regular expressions no output may match."""
    require: list[str] = Field(default=[])
    """Phrases every output must contain (case-insensitive)."""
    must_refuse: Optional[str] = None
    """Dataset field that is true for items the model must refuse; a refusal detector decides."""
    judge: Optional[Judge] = None
    """Optional LLM judge with a policy rubric (FAIL = violation)."""

    @model_validator(mode="after")
    def _some_rule(self) -> "Policy":
        if not (self.forbid or self.require or self.must_refuse or self.judge):
            raise rule_error("policy_no_rule",
                             "a policy needs at least one of forbid, require, must_refuse or judge")
        return self


class Counterfactuals(Spec):
    """Counterfactual swaps of demographic terms, for bias: only the term changes."""

    field: str
    """Dataset field whose text gets the swaps."""
    swap: Literal["names", "pronouns", "dialect"]
    """Which word lists shipped with roadtest to swap."""


class SamplingOverride(Spec):
    """Sampling settings a variant changes."""

    temperature: Optional[float] = Field(default=None, ge=0.0, le=2.0)
    top_p: Optional[float] = Field(default=None, gt=0.0, le=1.0)
    seed: Optional[int] = None


class FewShotOverride(Spec):
    """Few-shot settings a variant changes."""

    k: Optional[int] = Field(default=None, ge=0, le=64)
    seed: Optional[int] = None


class PromptOverride(Spec):
    """Prompt settings a variant changes."""

    system: Optional[str] = None
    template: Optional[str] = None
    fewshot: Optional[FewShotOverride] = None


class Variant(Spec):
    """A settings variant: the same items run again with one or more settings changed."""

    name: Ident
    """Short name used in the report and archive (variant 'setting:NAME')."""
    sampling: Optional[SamplingOverride] = None
    """Sampling changes (temperature, top_p, seed)."""
    prompt: Optional[PromptOverride] = None
    """Prompt changes (system prompt, template, few-shot k or seed)."""


class Simulator(Spec):
    """A simulated customer: a model from roadtest.yaml, pinned like every other call."""

    model: str
    """Model id (from roadtest.yaml) that plays the customer; its calls are archived as user turns."""
    system: str = Field(min_length=1)
    """Jinja2 system prompt of the customer; fields of the dataset row are its variables (persona, goal)."""
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """Sampling temperature of the customer's calls."""
    seed: int = 0
    """Sampling seed of the customer's calls (repeat r uses seed + r)."""
    max_new_tokens: int = Field(default=64, ge=1, le=4096)
    """Most tokens one customer message may have."""


class User(Spec):
    """Who plays the customer: a script from the dataset, or a simulated customer."""

    script: Optional[str] = None
    """Dataset field holding a list of user messages, sent in order; the conversation ends when it runs out."""
    simulator: Optional[Simulator] = None
    """A model that plays the customer instead of a script."""
    max_turns: int = Field(default=6, ge=1, le=50)
    """Most assistant turns (calls to the model under test) in one conversation."""
    stop: list[str] = Field(default=[], max_length=8)
    """A user message containing one of these phrases ends the conversation (it is not sent)."""

    @model_validator(mode="after")
    def _one_user(self) -> "User":
        if (self.script is None) == (self.simulator is None):
            raise rule_error("user_script_and_simulator" if self.script is not None else "user_no_script_or_simulator",
                             "the user is `script:` (a dataset field) or `simulator:` (a model), exactly one")
        blank = next((i for i, phrase in enumerate(self.stop) if not phrase.strip()), None)
        if blank is not None:
            raise rule_error("user_empty_stop", "a stop phrase cannot be empty", index=blank)
        return self


class Lookup(Spec):
    """A lookup tool: returns the row of a table whose `key` field equals the argument of the same name."""

    table: str
    """JSONL or CSV file, relative to the scenario file."""
    key: str
    """Field of the table (and argument of the tool) to look up by."""


class Action(Spec):
    """An action tool: its call and arguments are recorded in the conversation's state."""

    result: str = "Done."
    """Jinja2 text returned to the model; the call's arguments are its variables."""
    ends: bool = False
    """Calling it ends the conversation (a hand-over to a human, a closed case)."""


class Tool(Spec):
    """A declarative tool the assistant may call: a lookup in a table, or a recorded action."""

    name: Ident
    """Name the model calls it by."""
    description: str = Field(min_length=1)
    """What it does, shown to the model."""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    """JSON Schema of its arguments (an object); arguments that do not satisfy it are refused and counted."""
    lookup: Optional[Lookup] = None
    """Answer from a table."""
    action: Optional[Action] = None
    """Record the call and answer with a template."""

    @model_validator(mode="after")
    def _one_behaviour(self) -> "Tool":
        if (self.lookup is None) == (self.action is None):
            raise rule_error("tool_lookup_and_action" if self.lookup is not None else "tool_no_lookup_or_action",
                             "tool {name}: give it `lookup:` (a table) or `action:` (a recorded call), exactly one",
                             name=self.name)
        return self


class Scenario(Spec):
    """One workload the product will face, with everything that can move its score pinned."""

    id: Ident
    """Name used in criteria, reports and the archive."""
    kind: ScenarioKind = "single"
    """single (one prompt, one answer) or conversation (turns with a customer and tools; the conversation is the item)."""
    success: str = Field(min_length=1)
    """One sentence: what success means for the product."""
    dataset: DatasetRef
    """The items."""
    mode: Mode = "chat"
    """chat (messages) or completion (one prompt string)."""
    prompt: Prompt = Prompt()
    """Prompt settings (a single scenario needs `template`; a conversation may give only `system`)."""
    sampling: Sampling = Sampling()
    """Decoding settings."""
    limits: Limits = Limits()
    """Length limits."""
    repeats: int = Field(default=1, ge=1, le=100)
    """Times each item is sent (for run-to-run variability)."""
    scoring: Scoring
    """Scoring rule."""
    metrics: Optional[list[str]] = None
    """Metric ids or families to compute and show (default: every family that applies)."""
    perturbations: list[Perturbation] = Field(default=[])
    """Robustness: seeded input perturbations, each run as trials of its own."""
    perturbation_seed: int = 0
    """Seed of the perturbations."""
    counterfactuals: Optional[Counterfactuals] = None
    """Bias: demographic swaps in one field."""
    policy: Optional[Policy] = None
    """Policy rules every output must keep."""
    variants: list[Variant] = Field(default=[])
    """Settings sensitivity: named variants run on the same items."""
    user: Optional[User] = None
    """conversation only: who plays the customer, and when the conversation ends."""
    tools: list[Tool] = Field(default=[], max_length=64)
    """conversation only: the tools the assistant may call."""

    @model_validator(mode="after")
    def _kind_fields(self) -> "Scenario":
        if self.kind == "single":
            if self.user is not None or self.tools:
                raise rule_error("scenario_single_with_turns",
                                 "`user:` and `tools:` make a conversation: add `kind: conversation`")
            if self.prompt.template is None:
                raise rule_error("scenario_single_needs_template",
                                 "a single scenario needs `prompt.template` (the user turn)")
            if self.scoring.rule == "end_state":
                raise rule_error("scenario_single_end_state",
                                 "the end_state rule scores a conversation: add `kind: conversation`")
            return self
        if self.user is None:
            raise rule_error("scenario_conversation_needs_user",
                             "a conversation needs `user:` (`script:` a dataset field, or `simulator:` a model)")
        if self.scoring.rule not in ("end_state",):
            raise rule_error("scenario_conversation_rule",
                             "a conversation is scored by its end state (`rule: end_state`), not {rule}",
                             rule=self.scoring.rule)
        if self.perturbations or self.counterfactuals is not None:
            raise rule_error("scenario_conversation_variations",
                             "perturbations and counterfactuals apply to single-prompt scenarios, not conversations")
        if self.prompt.fewshot is not None:
            raise rule_error("scenario_conversation_fewshot",
                             "few-shot examples apply to single-prompt scenarios, not conversations")
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise rule_error("scenario_tool_names", "tool names must be unique")
        if self.policy is not None and self.policy.judge is not None:
            raise rule_error("scenario_conversation_judge",
                             "policy.judge applies to single-prompt scenarios; in a conversation the policy's "
                             "forbid and require rules are checked on every assistant turn")
        if self.policy is not None and self.policy.must_refuse:
            raise rule_error("scenario_conversation_must_refuse",
                             "policy.must_refuse applies to single-prompt scenarios; in a conversation forbid the "
                             "action with `scoring.forbid`")
        return self

    @model_validator(mode="after")
    def _one_sentence(self) -> "Scenario":
        text = self.success.strip()
        if "\n" in text or re.search(r"[.!?]\s+[A-Z]", text):
            raise rule_error("scenario_success_sentences", "`success:` should be one sentence")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names) or "base" in names:
            raise rule_error("scenario_variant_names", "variant names must be unique and not 'base'")
        return self

    def with_variant(self, variant: Variant) -> "Scenario":
        """This scenario with the variant's settings applied (everything else unchanged)."""
        data = self.model_dump()
        changes = variant.model_dump(exclude_none=True, exclude={"name"})
        for section, values in changes.items():
            for key, value in values.items():
                if isinstance(value, dict):
                    if data[section].get(key) is None:
                        raise ValueError(f"variant {variant.name}: the scenario has no {section}.{key} to change")
                    data[section][key] = {**data[section][key], **value}
                else:
                    data[section][key] = value
        data["variants"] = []
        return Scenario.model_validate(data)

    def judges_by_purpose(self) -> list[tuple[JudgePurpose, tuple[str, str], Judge]]:
        """Every LLM judge this scenario calls, in calling order: its purpose ('score' for the scoring rule,
        'policy' for the policy rubric), where it is written in the YAML, and the judge. The one list of judges
        that planning, scoring, `check` and `plan` read."""
        found: list[tuple[JudgePurpose, tuple[str, str], Judge]] = []
        if self.scoring.judge:
            found.append(("score", ("scoring", "judge"), self.scoring.judge))
        if self.policy and self.policy.judge:
            found.append(("policy", ("policy", "judge"), self.policy.judge))
        return found

    def judges(self) -> list[Judge]:
        """Every LLM judge this scenario calls (scoring and policy)."""
        return [judge for _, _, judge in self.judges_by_purpose()]

    def simulator(self) -> Optional[Simulator]:
        """The simulated customer, if a model plays one."""
        return self.user.simulator if self.user is not None else None
