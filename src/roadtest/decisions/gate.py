"""`roadtest gate RUN` for CI: one case per hypothesis x model of the run.

A case fails when the run contradicts a recorded decision (the decided model is REFUTED) or the model is REFUTED;
it is skipped when INCONCLUSIVE (or NOT APPLICABLE / NOT RUN), an error when NOT DECIDED (the endpoint failed: an
outage is not evidence, for or against), and passes when SUPPORTED. The gate fails (exit 1) only on what should
stop a release: a contradicted decision, or a refuted `gate: true` hypothesis.

Written as JUnit XML (xml.etree: every text escaped) and as a Markdown summary for a CI job page, in which every
piece of text from the workspace is escaped, so a hypothesis title cannot inject markup into the page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from roadtest.decisions.evidence import RunVerdicts
from roadtest.decisions.log import Chain
from roadtest.decisions.status import hypothesis_changed, status_against


@dataclass(frozen=True)
class Case:
    hypothesis: str
    title: str
    model: str
    verdict: str
    outcome: str
    """passed | failure | skipped | error"""
    kind: str
    """contradicted | refuted-gate | refuted | inconclusive | not-decided | supported | not-applicable"""
    message: str
    decision: str | None
    """The recorded decision for this hypothesis that chose this model, if any."""
    gate: bool
    blocks: bool
    """This case makes the gate fail (exit 1)."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def cases(run: RunVerdicts, chain: Chain, stale_after_s: float | None = None) -> list[Case]:
    chosen = {(e.record["hypothesis"], e.record["model"]): e for e in chain.active()}
    out = []
    for (hid, model), cell in sorted(run.cells.items()):
        entry = chosen.get((hid, model))
        gate = run.gates.get(hid, False)
        v = cell.verdict
        moved = status_against(entry.record, [run], None).drift if entry is not None else []
        drift = f"; the endpoint changed under the same name since the decision: {'; '.join(moved)}" if moved else ""
        changed = hypothesis_changed(entry.record, run) if entry is not None else None
        drift += f"; {changed}" if changed else ""
        if entry is not None and v == "REFUTED":
            msg = (f"contradicts the decision {entry.id} ({entry.record['decided_by']}, "
                   f"{entry.record['decided_at'][:10]}: {model} for {hid}): {cell.evidence}{drift}")
            out.append(Case(hid, run.titles[hid], model, v, "failure", "contradicted", msg, entry.id, gate, True))
        elif v == "REFUTED":
            kind = "refuted-gate" if gate else "refuted"
            msg = cell.evidence + (" (a gate hypothesis: the release is blocked)" if gate else "")
            out.append(Case(hid, run.titles[hid], model, v, "failure", kind, msg, None, gate, gate))
        elif v == "NOT DECIDED":
            out.append(Case(hid, run.titles[hid], model, v, "error", "not-decided",
                            f"{cell.evidence} (an endpoint failure is not evidence for or against)",
                            entry.id if entry else None, gate, False))
        elif v == "SUPPORTED":
            said = f"the decision {entry.id} holds: " if entry else ""
            out.append(Case(hid, run.titles[hid], model, v, "passed", "supported", said + cell.evidence + drift,
                            entry.id if entry else None, gate, False))
        else:
            kind = "inconclusive" if v == "INCONCLUSIVE" else "not-applicable"
            said = f"the decision {entry.id} is at risk: " if entry and v == "INCONCLUSIVE" else ""
            out.append(Case(hid, run.titles[hid], model, v, "skipped", kind, said + cell.evidence + drift,
                            entry.id if entry else None, gate, False))
    return out


def junit_xml(run: RunVerdicts, found: list[Case]) -> str:
    counts = {k: sum(c.outcome == k for c in found) for k in ("failure", "skipped", "error")}
    attrs = {"tests": str(len(found)), "failures": str(counts["failure"]), "errors": str(counts["error"]),
             "skipped": str(counts["skipped"]), "time": "0"}
    root = ET.Element("testsuites", {"name": "roadtest gate", **attrs})
    suite = ET.SubElement(root, "testsuite", {"name": f"roadtest gate {run.run_id}", **attrs,
                                              "timestamp": run.finished_at or run.at})
    props = ET.SubElement(suite, "properties")
    for name, value in (("run_id", run.run_id), ("fingerprint", run.fingerprint)):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for c in found:
        case = ET.SubElement(suite, "testcase", {"classname": f"roadtest.{c.hypothesis}",
                                                 "name": f"{c.hypothesis} · {c.model}", "time": "0"})
        if c.outcome in ("failure", "error", "skipped"):
            tag = {"failure": "failure", "error": "error", "skipped": "skipped"}[c.outcome]
            el = ET.SubElement(case, tag, {"message": _xml_safe(c.message), "type": c.kind})
            if tag != "skipped":
                el.text = _xml_safe(f"{c.title}: {c.verdict} for {c.model}. {c.message}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot carry at all, replaced (ElementTree escapes the rest)."""
    return _XML_BAD.sub("\ufffd", text)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md(text: str) -> str:
    """Workspace text safe in GitHub-flavoured Markdown: HTML and Markdown syntax escaped, one line."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


ICONS = {"passed": "✅", "failure": "❌", "skipped": "➖", "error": "⚠️"}


def summary_markdown(run: RunVerdicts, found: list[Case]) -> str:
    blocking = [c for c in found if c.blocks]
    head = (f"## roadtest gate: {'FAILED' if blocking else 'passed'}\n\n"
            f"Run `{run.run_id}` (fingerprint `{run.fingerprint[:12]}`): {len(found)} hypothesis × model cases, "
            f"{sum(c.outcome == 'failure' for c in found)} failed, {sum(c.outcome == 'skipped' for c in found)} "
            f"skipped (inconclusive), {sum(c.outcome == 'error' for c in found)} not decided.\n")
    if blocking:
        head += "\nThe gate fails because:\n\n" + "".join(f"- **{md(c.hypothesis)} · {md(c.model)}**: "
                                                          f"{md(c.message)}\n" for c in blocking)
    rows = "".join(f"| {ICONS[c.outcome]} {c.verdict} | {md(c.hypothesis)} | {md(c.model)} | "
                   f"{md(c.decision or '')} | {md(c.message)} |\n" for c in found)
    return (head + "\n| verdict | hypothesis | model | decision | evidence |\n|---|---|---|---|---|\n" + rows
            + "\nFailed: a recorded decision contradicted, or a model refuted; only contradicted decisions and "
              "refuted `gate: true` hypotheses fail the job.\n")
