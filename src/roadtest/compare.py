"""Two archives side by side: the settings that differ, endpoint drift, metrics that moved beyond their
noise, verdicts that changed, and how many responses are identical (for `diff` and `rerun`)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

from roadtest.archive import RunArchive
from roadtest.scoring.outputs import read_output
from roadtest.archive.records import record_kind
from roadtest.engine import served
from roadtest.engine.served import served_entry as _served_entry

Z = 1.959963984540054
"""The 95% normal quantile of a run-to-run change's interval."""


@dataclass(frozen=True)
class SettingChange:
    category: str
    path: str
    a: Any
    b: Any


@dataclass(frozen=True)
class MetricChange:
    scenario: str
    model: str
    variant: str
    """'base' (the original inputs), a settings variant, or 'load:<level>' (latency under a traffic level)."""
    metric: str
    a: float
    b: float
    difference: float
    lo: float | None
    hi: float | None
    moved: bool
    """The 95% interval of the difference excludes 0 (from the two runs' own intervals)."""


@dataclass(frozen=True)
class VerdictChange:
    hypothesis: str
    model: str
    criterion: str
    a: str
    b: str


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaves: {'sampling.temperature': 0.0, 'limits.stop[0]': '\\n', ...}."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, (dict, list)) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


SCENARIO_CATEGORIES = [("prompt.fewshot", "few-shot"), ("prompt", "prompt"), ("sampling", "sampling"),
                       ("limits", "limits"), ("scoring", "scoring"), ("dataset", "dataset"), ("", "scenario")]
MODEL_ENTRY_KEYS = served.MODEL_ENTRY_KEYS
"""The parts of a /v1/models entry that name what is served (roadtest.engine.served; the decision record reads
them here)."""
IDENTITY_KEYS = ("gguf_sha256", "gguf_file", "llama_cpp_version", "base_url", "model", "models_entry", "served")


def _category(path: str) -> str:
    return next(name for prefix, name in SCENARIO_CATEGORIES if path.startswith(prefix))


def _changes(category_of, a: dict[str, Any], b: dict[str, Any], prefix: str) -> list[SettingChange]:
    out = []
    for path in sorted(set(a) | set(b)):
        if a.get(path) != b.get(path):
            out.append(SettingChange(category_of(path), f"{prefix}{path}", a.get(path), b.get(path)))
    return out


def setting_changes(ma: dict[str, Any], mb: dict[str, Any]) -> list[SettingChange]:
    """The resolved configurations, compared leaf by leaf and named by what they are."""
    ca, cb = ma["config"], mb["config"]
    out: list[SettingChange] = []
    for sid in sorted(set(ca["scenarios"]) | set(cb["scenarios"])):
        ea, eb = ca["scenarios"].get(sid), cb["scenarios"].get(sid)
        if ea is None or eb is None:
            out.append(SettingChange("scenario", f"scenarios.{sid}", "present" if ea else None, "present" if eb else None))
            continue
        out += _changes(_category, flatten(ea["spec"]), flatten(eb["spec"]), f"scenarios.{sid}.")
        for key, category in (("fewshot_ids", "few-shot"), ("dataset_sha256", "dataset"), ("items", "dataset")):
            if ea.get(key) != eb.get(key):
                out.append(SettingChange(category, f"scenarios.{sid}.{key}", ea.get(key), eb.get(key)))
    models_a = {m["id"]: m for m in ca["models"] + ca.get("judge_models", [])}
    models_b = {m["id"]: m for m in cb["models"] + cb.get("judge_models", [])}
    for mid in sorted(set(models_a) | set(models_b)):
        out += _changes(lambda p: "model", flatten(models_a.get(mid, {})), flatten(models_b.get(mid, {})), f"models.{mid}.")
    for mid in sorted(set(ma.get("endpoints", {})) & set(mb.get("endpoints", {}))):
        ia, ib = endpoint_identity(ma["endpoints"][mid]), endpoint_identity(mb["endpoints"][mid])
        out += _changes(lambda p: "endpoint", flatten(ia), flatten(ib), f"endpoints.{mid}.")
    for hid in sorted(set(ca["hypotheses"]) | set(cb["hypotheses"])):
        ha = flatten(ca["hypotheses"].get(hid, {}).get("spec", {}))
        hb = flatten(cb["hypotheses"].get(hid, {}).get("spec", {}))
        out += _changes(lambda p: "hypothesis", ha, hb, f"hypotheses.{hid}.")
    return out


def endpoint_identity(entry: dict[str, Any]) -> dict[str, Any]:
    """An endpoint entry's identity keys, without what a server changes from call to call (each replica's too)."""
    out = {k: _served_entry(v) if k == "models_entry" else v for k, v in entry.items() if k in IDENTITY_KEYS}
    if entry.get("replicas"):
        out["replicas"] = [endpoint_identity(r) for r in entry["replicas"] if isinstance(r, dict)]
    return out


def drift(ma: dict[str, Any], mb: dict[str, Any]) -> list[str]:
    """Same model id, different serving model: what changed under the name."""
    out = []
    for mid in sorted(set(ma.get("endpoints", {})) & set(mb.get("endpoints", {}))):
        a, b = ma["endpoints"][mid], mb["endpoints"][mid]
        a = {**a, "models_entry": _served_entry(a.get("models_entry"))}
        b = {**b, "models_entry": _served_entry(b.get("models_entry"))}
        for key, what in (("gguf_sha256", "GGUF file (sha256)"), ("models_entry", "/models entry")):
            if a.get(key) and b.get(key) and a[key] != b[key]:
                out.append(f"{mid}: the {what} changed under the same name")
        for key, what in (("model", "responses' model name"), ("system_fingerprint", "system_fingerprint")):
            sa, sb = set((a.get("served") or {}).get(key, [])), set((b.get("served") or {}).get(key, []))
            if sa and sb and sa != sb:
                out.append(f"{mid}: the {what} changed: {', '.join(sorted(sa))} -> {', '.join(sorted(sb))}")
        out += _replica_drift(mid, ma, a, mb, b)
    return out


def _replica_drift(mid: str, ma: dict[str, Any], a: dict[str, Any], mb: dict[str, Any],
                   b: dict[str, Any]) -> list[str]:
    """A replica serving another model under the name, in a run where the other run had no such replica (the same
    finding in both runs is not a change between them)."""
    da, db = a.get("replica_drift") or [], b.get("replica_drift") or []
    if da == db:
        return []
    return [f"{mid}: in {m.get('run_id', 'one run')}, {sentence}" for m, found in ((ma, da), (mb, db))
            for sentence in found]


def table_confidence(metrics: dict[str, Any]) -> float:
    """The two-sided confidence of a metrics.json's intervals (90% since statistics v2, 95% before)."""
    if metrics.get("confidence") is not None:
        return float(metrics["confidence"])
    # imported here, not at the top: the verdict stage loads pandas, and decisions/ imports this module
    from roadtest.verdict.choice import TABLE_CONFIDENCE
    return TABLE_CONFIDENCE


def _se(e: dict[str, Any], confidence: float) -> float | None:
    """The SE a table interval at `confidence` implies (its half-width over the normal quantile)."""
    if e.get("lo") is None or e.get("hi") is None:
        return None
    return (e["hi"] - e["lo"]) / (2 * NormalDist().inv_cdf((1 + confidence) / 2))


def metric_changes(metrics_a: dict[str, Any], metrics_b: dict[str, Any]) -> list[MetricChange]:
    """Every metric in both runs: the difference b - a with a 95% interval from the two runs' intervals
    (each read at its own run's table confidence)."""
    out = []
    blocks_a, blocks_b = _metric_blocks(metrics_a), _metric_blocks(metrics_b)
    conf_a, conf_b = table_confidence(metrics_a), table_confidence(metrics_b)
    for sid, model, variant in sorted(set(blocks_a) & set(blocks_b)):
        ea, eb = blocks_a[sid, model, variant], blocks_b[sid, model, variant]
        for metric in sorted(set(ea) & set(eb)):
            a, b = ea[metric], eb[metric]
            if a["value"] is None or b["value"] is None:
                continue
            diff = b["value"] - a["value"]
            sa, sb = _se(a, conf_a), _se(b, conf_b)
            lo = hi = None
            if sa is not None and sb is not None:
                half = Z * math.sqrt(sa * sa + sb * sb)
                lo, hi = diff - half, diff + half
            moved = lo is not None and hi is not None and (lo > 0 or hi < 0)
            out.append(MetricChange(sid, model, variant, metric, a["value"], b["value"], diff, lo, hi, moved))
    return out


def _metric_blocks(metrics: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(scenario, model, variant) -> its metric estimates: every settings variant and every load level."""
    out = {}
    for sid, per_model in metrics["scenarios"].items():
        for model, entry in per_model.items():
            for variant, block in entry.get("variants", {}).items():
                out[sid, model, variant] = block["metrics"]
    for sid, per_model in (metrics.get("load") or {}).items():
        for model, levels in per_model.items():
            for label, level in levels.items():
                if label != "base" and level.get("metrics"):
                    out[sid, model, f"load:{label}"] = level["metrics"]
    return out


def verdict_changes(va: dict[str, Any], vb: dict[str, Any]) -> list[VerdictChange]:
    out = []
    hyps_b = {h["id"]: h for h in vb["hypotheses"]}
    for ha in va["hypotheses"]:
        hb = hyps_b.get(ha["id"])
        if hb is None:
            continue
        for model in sorted(set(ha["models"]) & set(hb["models"])):
            a, b = ha["models"][model], hb["models"][model]
            if a["verdict"] != b["verdict"]:
                out.append(VerdictChange(ha["id"], model, "hypothesis", a["verdict"], b["verdict"]))
            for ca, cb in zip(a["criteria"], b["criteria"]):
                if ca["verdict"] != cb["verdict"]:
                    name = f"{ca['scenario']} · {ca['metric']} {ca['direction']} {ca['threshold']:g}"
                    out.append(VerdictChange(ha["id"], model, name, ca["verdict"], cb["verdict"]))
    return out


def _outputs(archive: RunArchive) -> dict[str, str | None]:
    return {r["trial_id"]: read_output(r).text for r in archive.trials() if record_kind(r) == "model"}


def response_agreement(a: RunArchive, b: RunArchive) -> tuple[int, int]:
    """(identical responses, trials in both runs)."""
    oa, ob = _outputs(a), _outputs(b)
    shared = set(oa) & set(ob)
    return sum(1 for t in shared if oa[t] is not None and oa[t] == ob[t]), len(shared)


def transcripts(archive: RunArchive) -> dict[str, list[tuple]]:
    """conversation id -> its calls in order, each (turn, role, text, tool calls): what a transcript says."""
    turns: dict[str, dict[str, dict[str, Any]]] = {}
    for r in archive.trials():
        if r.get("kind") == "turn":
            turns.setdefault(r["conversation"], {})[r["trial_id"]] = r   # a retried turn: its last record
    out = {}
    for conv, records in turns.items():
        out[conv] = sorted((r.get("turn") or 0, r.get("role"), read_output(r).text, json.dumps(_calls(r), sort_keys=True))
                           for r in records.values())
    return out


def _calls(record: dict[str, Any]) -> Any:
    body: Any = (record.get("response") or {}).get("body")  # None or not a chat answer: the except below
    try:
        message = body["choices"][0].get("message") or {}
        return [(c.get("function") or {}) for c in message.get("tool_calls") or []]
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def transcript_agreement(a: RunArchive, b: RunArchive) -> dict[str, Any] | None:
    """How many conversations came out word for word the same (None when neither run has conversations)."""
    ta, tb = transcripts(a), transcripts(b)
    if not ta and not tb:
        return None
    every = sorted(set(ta) | set(tb))   # a conversation one run lacks differs too
    differ = [c for c in every if ta.get(c) != tb.get(c)]
    return {"identical": len(every) - len(differ), "compared": len(every), "differ": differ[:10]}


def _json(archive: RunArchive, name: str) -> dict[str, Any]:
    return json.loads((archive.path / name).read_text(encoding="utf-8"))


def compare_runs(a: RunArchive, b: RunArchive) -> dict[str, Any]:
    ma, mb = a.manifest(), b.manifest()
    identical, shared = response_agreement(a, b)
    metrics = metric_changes(_json(a, "metrics.json"), _json(b, "metrics.json"))
    talks = transcript_agreement(a, b)
    return {**({"transcripts": talks} if talks is not None else {}),
        "a": a.run_id, "b": b.run_id, "fingerprints": [ma["fingerprint"], mb["fingerprint"]],
        "same_configuration": ma["fingerprint"] == mb["fingerprint"],
        "settings": [asdict(c) for c in setting_changes(ma, mb)],
        "drift": drift(ma, mb),
        "responses": {"identical": identical, "compared": shared},
        "metrics": [asdict(m) for m in metrics],
        "moved": [asdict(m) for m in metrics if m.moved],
        "verdicts": [asdict(v) for v in verdict_changes(_json(a, "verdicts.json"), _json(b, "verdicts.json"))],
    }


def reproduction_line(result: dict[str, Any]) -> str:
    """One line: did the rerun reproduce the run?"""
    r = result["responses"]
    share = f"{r['identical']}/{r['compared']} responses identical"
    if result.get("transcripts"):
        t = result["transcripts"]
        share += f", {t['identical']}/{t['compared']} conversation transcripts identical"
    verdicts = [v for v in result["verdicts"] if v["criterion"] == "hypothesis"]
    parts = [share, f"{len(result['moved'])} metrics moved beyond their noise",
             f"{len(verdicts)} hypothesis verdicts changed" if verdicts else "no verdict changed"]
    if result["drift"]:
        parts.append("ENDPOINT DRIFT: " + "; ".join(result["drift"]))
    ok = not result["verdicts"] and not result["drift"]
    return ("REPRODUCED: " if ok else "NOT REPRODUCED: ") + ", ".join(parts)
