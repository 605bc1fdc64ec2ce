"""The resolved configuration of a run: everything that can move a score, without secrets."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from roadtest.load import LoadedWorkspace
from roadtest.plan import Selection, fewshot_ids
from roadtest.spec import Hypothesis, ModelSpec


def resolve_config(ws: LoadedWorkspace, sel: Selection) -> dict[str, Any]:
    """The configuration as the run sees it; its canonical hash is the run's fingerprint.

    Each scenario keeps its spec exactly as validated under "spec", with what the loader resolved
    (dataset hash and size, the drawn few-shot ids) beside it.
    """
    scenarios = {}
    for sid in sel.scenarios:
        s = ws.scenarios[sid]
        scenarios[sid] = {
            "spec": s.spec.model_dump(mode="json"), "source": s.display,
            "dataset_sha256": s.dataset.sha256, "items": len(s.items), "group_counts": _group_counts(s),
            "fewshot_ids": fewshot_ids(s), "pool_sha256": s.pool.sha256 if s.pool is not None else None,
            "variant_fewshot_ids": {v.name: fewshot_ids(s, s.spec.with_variant(v)) for v in s.spec.variants},
            **({"cluster_counts": _counts(s, s.spec.dataset.cluster)} if s.spec.dataset.cluster else {}),
            **(_conversation(s) if s.spec.kind == "conversation" else {}),
        }
    hypotheses = {hid: {"spec": ws.hypotheses[hid].spec.model_dump(mode="json"),
                        "source": ws.hypotheses[hid].display} for hid in sel.hypotheses}
    models = [ws.spec.model(mid).model_dump(mode="json") for mid in sel.models]  # api_key_env is a name only
    helpers = {j.model for sid in sel.scenarios for j in ws.scenarios[sid].spec.judges()}
    helpers |= {sim.model for sid in sel.scenarios if (sim := ws.scenarios[sid].spec.simulator()) is not None}
    judge_ids = sorted(helpers - set(sel.models))   # judges and simulated customers: called, never judged
    judges = [ws.spec.model(mid).model_dump(mode="json") for mid in judge_ids]
    return {
        "workspace": {"name": ws.spec.name, "report": ws.spec.report.model_dump(mode="json", exclude_none=True),
                      "max_error_rate": ws.spec.max_error_rate},
        "models": models,
        "judge_models": judges,
        "scenarios": scenarios,
        "hypotheses": hypotheses,
        "selection": {"hypotheses": list(sel.hypotheses), "models": list(sel.models),
                      "scenarios": list(sel.scenarios),
                      "loads": [{"scenario": sid, **load.model_dump(exclude_none=True), "label": load.label}
                                for sid, load in sel.loads]},
    }


def _conversation(s) -> dict[str, Any]:
    """What else determines a conversation: the lookup tables (whole: a rerun reads only the archive), the chat
    format a local server answers tools with, and the text protocol completion models get."""
    from roadtest.conversation.protocol import PROTOCOL_VERSION, TEXT_PROTOCOL
    from roadtest.conversation.tools import table_index
    from roadtest.plan.conversations import TOOLS_CHAT_FORMAT

    tables = {}
    for tool in s.spec.tools:
        table = s.tables.get(tool.name)
        if tool.lookup is not None and table is not None:
            tables[tool.name] = {"path": tool.lookup.table, "key": tool.lookup.key, "sha256": table.sha256,
                                 "rows": table_index((r.data for r in table.rows), tool.lookup.key)}
    return {"tables": tables, "tools_chat_format": TOOLS_CHAT_FORMAT if s.spec.tools else None,
            "text_protocol": {"version": PROTOCOL_VERSION, "text": TEXT_PROTOCOL}}


def _group_counts(s) -> dict[str, int]:
    return _counts(s, s.spec.dataset.stratum)


def _counts(s, field: str | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in s.items if field else ():
        counts[str(row.data[field])] = counts.get(str(row.data[field]), 0) + 1
    return counts


def model_specs(config: dict[str, Any]) -> dict[str, ModelSpec]:
    return {m["id"]: ModelSpec.model_validate(m) for m in config["models"] + config.get("judge_models", [])}


def hypothesis_specs(config: dict[str, Any]) -> list[Hypothesis]:
    return [Hypothesis.model_validate(config["hypotheses"][h]["spec"]) for h in config["selection"]["hypotheses"]]


def dataset_hashes(config: dict[str, Any]) -> dict[str, str]:
    """Workspace-relative dataset path -> sha256, for `verify` and the manifest."""
    out = {}
    for entry in config["scenarios"].values():
        folder = PurePosixPath(entry["source"]).parent
        spec = entry["spec"]
        out[str(folder / spec["dataset"]["path"])] = entry["dataset_sha256"]
        if entry.get("pool_sha256"):
            out[str(folder / spec["prompt"]["fewshot"]["pool"])] = entry["pool_sha256"]
        for table in (entry.get("tables") or {}).values():
            out[str(folder / table["path"])] = table["sha256"]
    return out
