"""A comparison of two runs as a view: for `roadtest diff --html` and for reports that hold several runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any



@dataclass(frozen=True)
class DiffView:
    a: str
    b: str
    same_configuration: bool
    settings: list[tuple[str, str, str, str]]
    drift: list[str]
    moved: list[tuple[str, str, str, str, str, str]]
    verdicts: list[tuple[str, str, str, str, str]]
    responses: str


def _show(value: Any, width: int = 90) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def diff_view(result: dict[str, Any]) -> DiffView:
    r = result["responses"]
    return DiffView(
        a=result["a"], b=result["b"], same_configuration=result["same_configuration"],
        settings=[(c["category"], c["path"], _show(c["a"]), _show(c["b"])) for c in result["settings"]],
        drift=list(result["drift"]),
        moved=[(m["scenario"], m["model"], m["metric"] if m.get("variant", "base") == "base" else f"{m['metric']} ({m['variant']})", f"{m['a']:.4g}", f"{m['b']:.4g}",
                f"{m['difference']:+.4g} [{m['lo']:+.4g}, {m['hi']:+.4g}]") for m in result["moved"]],
        verdicts=[(v["hypothesis"], v["model"], v["criterion"], v["a"], v["b"]) for v in result["verdicts"]],
        responses=f"{r['identical']} of {r['compared']} responses identical",
    )


def render_diff_page(result: dict[str, Any], workspace_templates: Path | None = None) -> str:
    from roadtest.report.render import render_page

    return render_page("diff.html.j2", {"d": diff_view(result)}, workspace_templates)
