"""The reproducibility appendix: every setting per scenario, the models and endpoints, the run record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from roadtest.archive.schema import Manifest, ScenarioEntry


@dataclass(frozen=True)
class Settings:
    scenario: str
    items: list[tuple[str, str]]
    template: str
    system: str
    examples: list[tuple[str, str]] = field(default_factory=list)
    """(model, the first original request exactly as sent: chat messages or the completion prompt)."""


def settings(sid: str, entry: ScenarioEntry) -> Settings:
    """Every setting of one scenario as the run archived it, in the order the appendix lists them."""
    s = entry.spec
    fs = s["prompt"].get("fewshot")
    assert entry.dataset_sha256 is not None  # the run archive always records the dataset's hash
    items = [
        ("dataset", f"{s['dataset']['path']} ({entry.items} items, sha256 {entry.dataset_sha256[:12]}…)"),
        ("mode", s["mode"]),
        ("few-shot", f"k = {fs['k']}, seed {fs['seed']}, pool {fs['pool']}, ids: {', '.join(entry.fewshot_ids) or '—'}"
         if fs else "none"),
        ("sampling", ", ".join(f"{k} = {v}" for k, v in s["sampling"].items())),
        ("limits", ", ".join(f"{k} = {v}" for k, v in s["limits"].items())),
        ("scoring", ", ".join(f"{k} = {v}" for k, v in s["scoring"].items() if v not in (None, [], False))
         + (f"; {NORMALISATION}" if s["scoring"]["rule"] in ("exact", "contains", "choice") else "")),
        ("repeats", str(s["repeats"])),
        ("metrics", ", ".join(s["metrics"]) if s.get("metrics") else "every family that applies"),
    ]
    if s.get("perturbations"):
        items.append(("perturbations", f"{', '.join(s['perturbations'])} (seed {s['perturbation_seed']})"))
    if s.get("counterfactuals"):
        items.append(("counterfactuals", f"swap {s['counterfactuals']['swap']} in field {s['counterfactuals']['field']}"))
    if s.get("policy"):
        p = s["policy"]
        parts = [f"forbid {', '.join('/' + x + '/' for x in p['forbid'])}" if p["forbid"] else "",
                 f"require {', '.join(repr(x) for x in p['require'])}" if p["require"] else "",
                 f"must refuse where {p['must_refuse']} is true" if p["must_refuse"] else "",
                 f"judge {p['judge']['model']}: {p['judge']['rubric']}" if p["judge"] else ""]
        items.append(("policy", "; ".join(x for x in parts if x)))
    if s["scoring"].get("judge"):
        j = s["scoring"]["judge"]
        items.append(("judge", f"{j['model']}, temperature 0, seed {j['seed']}, rubric: {j['rubric']}"))
    if s.get("kind") == "conversation":
        items += conversation_settings(s, entry)
    for v in s.get("variants", []):
        changes = {k: val for k, val in v.items() if k != "name" and val}
        items.append((f"variant {v['name']}", ", ".join(f"{k}: {_compact(val)}" for k, val in changes.items())))
    items.append(("source", entry.source))
    return Settings(sid, items, s["prompt"]["template"], s["prompt"].get("system") or "")


def conversation_settings(s: dict[str, Any], entry: ScenarioEntry) -> list[tuple[str, str]]:
    """Who plays the customer, when a conversation ends, the tools (with their tables' hashes), the protocols."""
    user: dict[str, Any] = s.get("user") or {}
    if user.get("script"):
        who = f"scripted: dataset field {user['script']}"
    else:
        sim = user.get("simulator")
        assert sim is not None  # spec validation: a conversation's user is a script or a simulator, exactly one
        who = (f"simulated by {sim['model']}, temperature {sim['temperature']}, seed {sim['seed']}, "
               f"at most {sim['max_new_tokens']} tokens a message; persona: {sim['system']}")
    stops = ", ".join(repr(x) for x in user.get("stop") or []) or "none"
    out = [("customer", who),
           ("ends", f"at {user.get('max_turns')} assistant turns, a stop phrase ({stops}), an ending tool, or the end "
                    f"of the script")]
    for tool in s.get("tools") or []:
        if tool.get("lookup"):
            table = entry.tables.get(tool["name"])
            sha = table.sha256 if table is not None else None
            does = (f"looks up {tool['lookup']['table']} by {tool['lookup']['key']}"
                    + (f" (sha256 {sha[:12]}…)" if sha else ""))
        else:
            does = f"action, answers {tool['action']['result']!r}" + (", ends the conversation"
                                                                       if tool["action"].get("ends") else "")
        props = ", ".join((tool.get("parameters") or {}).get("properties") or {}) or "none"
        out.append((f"tool {tool['name']}", f"{tool['description']} Arguments: {props}; {does}"))
    protocol = entry.text_protocol or {}
    out.append(("protocols", "chat models: OpenAI tools / tool_calls"
                + (f" (a local server with {entry.tools_chat_format})" if entry.tools_chat_format else "")
                + f"; completion models: roadtest's text protocol v{protocol.get('version', 1)}, one JSON action line"))
    return out


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_compact(v)}" for k, v in value.items() if v is not None)
    return str(value)


NORMALISATION = "answers compared after Unicode NFKC, punctuation removed, whitespace collapsed, case folded " \
                "(unless case_sensitive)"


def _servers(m: dict[str, Any]) -> str:
    """'local llama.cpp server', or how many serve the model as replicas."""
    count = m.get("replicas") or 1
    return "local llama.cpp server" if count == 1 else f"{count} local llama.cpp servers (replicas)"


def _endpoints(m: dict[str, Any]) -> str:
    """'OpenAI-compatible endpoint URL', or every replica's URL."""
    urls = m.get("base_url")
    if isinstance(urls, list) and len(urls) > 1:
        return f"{len(urls)} OpenAI-compatible endpoints (replicas) {', '.join(urls)}"
    return f"OpenAI-compatible endpoint {urls[0] if isinstance(urls, list) else urls}"


def identity_line(m: dict[str, Any], endpoint: dict[str, Any]) -> str:
    """What the model is, in a few words (the title block)."""
    if m["provider"] == "local":
        sha = endpoint.get("gguf_sha256", "")
        mode = f", {m['mode']} mode" if m.get("mode") else ""
        return f"{_servers(m)}, {m['gguf']}{mode}" + (f" (GGUF sha256 {sha[:12]}…)" if sha else "")
    return f"{_endpoints(m)}, model {m.get('model') or m['id']}"


def endpoint_line(m: dict[str, Any], endpoint: dict[str, Any], currency: str | None = None) -> str:
    """Everything that identifies a model and how it was called, in one line; `currency` names the prices'."""
    if m["provider"] == "local":
        sha = endpoint.get("gguf_sha256", "")
        mode = f", {m['mode']} mode" if m.get("mode") else ""
        text = f"{_servers(m)} (llama-cpp-python {endpoint.get('llama_cpp_version', '?')}), " \
               f"{endpoint.get('gguf_file') or m['gguf']}{mode}" + (f", GGUF sha256 {sha}" if sha else "")
        text += f"; context {m.get('n_ctx')} tokens"
    else:
        text = f"{_endpoints(m)}, model {m.get('model') or m['id']}"
        if m.get("api_key_env"):
            text += f", key from ${m['api_key_env']}"
    each = " on each replica" if len(endpoint.get("replicas") or []) > 1 else ""
    limits = [f"{m.get('max_concurrency')} in flight{each}", f"timeout {m.get('timeout_s')} s",
              f"{m.get('max_retries')} retries", "log-probabilities " + ("asked for" if m.get("logprobs") else "off")]
    limits += [f"{k} {m[k]}" for k in ("rpm", "tpm") if m.get(k)]
    price = m.get("price")
    limits.append(f"price {price['input_per_mtok']} in / {price['output_per_mtok']} out"
                  f"{f' {currency}' if currency else ''} per million tokens" if price else "not priced")
    text += "; " + ", ".join(limits)
    served = endpoint.get("served") or {}
    if served.get("model"):
        text += f"; responses named the model {', '.join(served['model'])}"
    text += "; system_fingerprint " + (", ".join(served["system_fingerprint"]) if served.get("system_fingerprint")
                                       else "none reported")
    return text


def run_record(manifest: Manifest, run_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """The run's record as the appendix lists it: ids (`run_ids`: every run of a combined document), command,
    times, status, revision, platform, resumes and executions."""
    rows = [("run", ", ".join(run_ids or [manifest.run_id])),
            ("command", " ".join(manifest.command)),
            ("started", manifest.started_at or ""), ("finished", manifest.finished_at or ""),
            ("status", manifest.status)]
    revision = manifest.workspace.git_revision if manifest.workspace is not None else None
    rows.append(("workspace revision", revision or "not a git checkout"))
    rows.append(("platform", manifest.platform or ""))
    if manifest.shard is not None:
        rows.append(("shard", f"{manifest.shard.index} of {manifest.shard.count}: this run sent only its slice of "
                              "the plan"))
    for shard in manifest.merged_from:
        rows.append((f"shard {shard.index} of {shard.count}",
                     f"run {shard.run_id}, {shard.trials.records:,} records (trials.jsonl sha256 "
                     f"{shard.trials.sha256[:12]}…), {shard.started_at or ''} to {shard.finished_at or ''}"
                     + (f" on {shard.platform}" if shard.platform and shard.platform != manifest.platform else "")))
    for i, resumed in enumerate(manifest.resumes, 1):
        rows.append((f"resumed ({i})", f"{resumed.at or ''}: {' '.join(resumed.command)}"))
    for i, ex in enumerate(manifest.execution, 1):
        cache = ex.cache
        rows.append((f"execution {i}", f"finished {ex.finished_at or ''}; " + (
            f"response cache: {cache['hits']} answered from it, {cache['stored']} stored" if cache else "no cache")))
    return [(k, v) for k, v in rows if v]


def request_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        return "\n\n".join(f"[{m.get('role')}]\n{m.get('content', '')}" for m in body["messages"])
    return str(body.get("prompt", ""))
