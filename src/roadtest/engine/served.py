"""What a model's endpoints said about themselves, for the manifest's `endpoints[model]`: with several replicas,
each replica's identity, /models entry and served model names, and whether one of them serves a different model
under the same name (`replica_drift`). Plain data: the report, `diff` and the decision record read it without the
engine or an HTTP stack."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Sequence

MODEL_ENTRY_KEYS = ("id", "root", "owned_by", "max_model_len", "parent")
"""The parts of a /v1/models entry that name what is served (servers fill `created` with the current time)."""


def combined_identity(identities: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The model's identity over its replicas: the first replica's, with every base URL listed (a local
    server's identity has none: its loopback port is not what it is)."""
    first = dict(identities[0])
    if "base_url" in first:
        first["base_url"] = [i.get("base_url") for i in identities]
    return first


def endpoint_entry(identities: Sequence[dict[str, Any]], models_entries: Sequence[Any]) -> dict[str, Any]:
    """The manifest's `endpoints[model]` for a model with several replicas: the combined identity, the first
    /models entry any replica gave, and under `replicas` each replica's identity and /models entry."""
    replicas = [{"replica": i + 1, **identity, "models_entry": entry}
                for i, (identity, entry) in enumerate(zip(identities, models_entries))]
    first = next((e for e in models_entries if e is not None), None)
    return {**combined_identity(identities), "models_entry": first, "replicas": replicas}


def served_entry(entry: Any) -> Any:
    """A /models entry without what changes from call to call (`created`)."""
    return {k: v for k, v in entry.items() if k in MODEL_ENTRY_KEYS} if isinstance(entry, dict) else entry


EMPTY_SERVED: dict[str, list[str]] = {"model": [], "system_fingerprint": []}


def record_served(entry: dict[str, Any], served: dict[int, dict[str, list[str]]]) -> None:
    """Put each replica's served model names and system fingerprints (`served`: replica number -> them) into the
    manifest entry, and flag a replica serving a different model under the same name (`replica_drift`)."""
    for replica in entry.get("replicas") or []:
        replica["served"] = served.get(replica.get("replica"), {k: list(v) for k, v in EMPTY_SERVED.items()})
    sentences = replica_drift(entry.get("replicas") or [])
    if sentences:
        entry["replica_drift"] = sentences
    else:
        entry.pop("replica_drift", None)


DRIFT_FIELDS = (("models_entry", "lists a different /models entry"),
                ("model", "answers under a different model name"),
                ("system_fingerprint", "reports a different system_fingerprint"))


def replica_drift(replicas: Sequence[dict[str, Any]]) -> list[str]:
    """One sentence per replica that differs from the others (the most common value; on a tie, the lowest
    replica's) in its /models entry, the model names its answers carried or their system fingerprints. A replica
    that said nothing (no listing, no answer) is not compared on that."""
    out = []
    for key, words in DRIFT_FIELDS:
        values = {r.get("replica", i + 1): v for i, r in enumerate(replicas) if (v := _evidence(r, key)) is not None}
        if len(set(values.values())) < 2:
            continue
        counts = Counter(values.values())
        usual = max(counts, key=lambda v: (counts[v], -min(n for n, x in values.items() if x == v)))
        like = min(n for n, v in values.items() if v == usual)
        for number, value in values.items():
            if value != usual:
                r = next(x for i, x in enumerate(replicas) if x.get("replica", i + 1) == number)
                where = f" ({r['base_url']})" if isinstance(r.get("base_url"), str) else ""
                out.append(f"replica {number}{where} {words} than replica {like}: "
                           f"{_show(key, value)} against {_show(key, usual)}; it may serve a different model under "
                           f"the same name")
    return out


def _evidence(replica: dict[str, Any], key: str) -> str | None:
    if key == "models_entry":
        entry = served_entry(replica.get("models_entry"))
        return json.dumps(entry, sort_keys=True, ensure_ascii=False) if entry else None
    values = (replica.get("served") or {}).get(key) or []
    return json.dumps(sorted(values), ensure_ascii=False) if values else None


def _show(key: str, value: str) -> str:
    parsed = json.loads(value)
    if key == "models_entry":
        return json.dumps(parsed, sort_keys=True, ensure_ascii=False)
    return ", ".join(parsed)


def replica_count(endpoint: dict[str, Any]) -> int:
    """How many replicas a manifest endpoint entry records (1 when it has no `replicas` list)."""
    return len(endpoint.get("replicas") or []) or 1
