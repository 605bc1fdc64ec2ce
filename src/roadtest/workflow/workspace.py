"""A workspace: made (init), checked (check), and what a run of it would warn about before any call."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from roadtest.errors import RoadtestError
from roadtest.load import LoadedWorkspace, load_workspace

if TYPE_CHECKING:
    from roadtest.spec.model import ModelSpec


def init(target: Path) -> list[Path]:
    """A new workspace: four scenarios (one a conversation with tools), three hypotheses, the bundled local models,
    commented examples."""
    from importlib import resources

    if (target / "roadtest.yaml").exists():
        raise RoadtestError(f"{target} is already a roadtest workspace (it has roadtest.yaml)",
                            f"check it with `roadtest check -w {target}`, or pick a new folder")
    files: dict[Path, bytes] = {}
    source = resources.files("roadtest").joinpath("init_template")

    def collect(node, rel: Path) -> None:
        for child in node.iterdir():
            if child.name == "__pycache__":
                continue
            out_rel = rel / (".gitignore" if child.name == "gitignore" else child.name)
            if child.is_dir():
                collect(child, out_rel)
            else:
                files[target / out_rel] = child.read_bytes()

    collect(source, Path())
    taken = sorted(p for p in files if p.exists() or p.is_symlink())
    if taken:
        shown = ", ".join(str(p.relative_to(target)) for p in taken[:5]) + (" ..." if len(taken) > 5 else "")
        raise RoadtestError(f"{target} already has files roadtest init would overwrite: {shown}",
                            "pick an empty or new folder; nothing was written")
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (target / "runs").mkdir(exist_ok=True)
    return sorted(files)


def check(root: Path, allow_outside: bool = False) -> LoadedWorkspace:
    """Load and validate every file; raises InputError listing every problem."""
    return load_workspace(root, allow_outside=allow_outside)


def check_warnings(ws: LoadedWorkspace) -> list[str]:
    """What is valid but cannot come out as the author expects: a log-probability metric in a criterion for a
    model whose log-probabilities are switched off (NOT RUN for that model, so its hypothesis cannot be SUPPORTED)."""
    from roadtest.spec.metrics import DESCRIBED_ONLY, METRICS

    off = [m.id for m in ws.spec.models if not m.logprobs]
    out = []
    for hyp in ws.hypotheses.values():
        for i, crit in enumerate(hyp.spec.criteria):
            if off and crit.metric in METRICS and "logprobs" in METRICS.get(crit.metric).needs:
                out.append(f"{hyp.display}:{hyp.line('criteria', i, 'metric')}: {crit.metric} needs log-probabilities, "
                           f"switched off for {', '.join(off)} (logprobs: false): the criterion is NOT RUN "
                           f"there, so the hypothesis cannot be SUPPORTED for {'it' if len(off) == 1 else 'them'}")
            if crit.metric in DESCRIBED_ONLY:
                out.append(f"{hyp.display}:{hyp.line('criteria', i, 'metric')}: {crit.metric} is described, not "
                           f"decided: no decision rule for it was shown by simulation to hold its error rate, so "
                           f"this criterion is always INCONCLUSIVE")
    for scenario in ws.scenarios.values():
        if scenario.spec.dataset.group and not scenario.spec.dataset.strata:
            out.append(f"{scenario.display}:{scenario.src.line(('dataset', 'group'))}: dataset.group "
                       f"'{scenario.spec.dataset.group}' is read as strata (fixed groups for slices and fairness; "
                       f"they never widen an interval), no longer as clusters. Write `strata: "
                       f"{scenario.spec.dataset.group}`, or `cluster: {scenario.spec.dataset.group}` if items "
                       f"sharing a value are not independent (several questions on one document)")
        spec = scenario.spec
        if spec.kind == "conversation":
            empty = [scenario.item_id(r) for r in scenario.items
                     if not (r.data.get(spec.scoring.expect or "") or r.data.get(spec.scoring.forbid or ""))]
            if empty:
                out.append(f"{scenario.display}:{scenario.src.line(('scoring',))}: {len(empty)} of "
                           f"{len(scenario.items)} cases expect no action and forbid none "
                           f"(e.g. {', '.join(empty[:3])}): their end state always holds, so only the policy can "
                           f"fail them. Give each case its expected or forbidden actions")
        user = spec.user
        if spec.kind == "conversation" and user is not None and user.script and user.stop:
            early = [scenario.item_id(r) for r in scenario.items if isinstance(r.data.get(user.script), list)
                     and any(p in str(m) for m in r.data[user.script][:-1] for p in user.stop)]
            if early:
                out.append(f"{scenario.display}:{scenario.src.line(('user', 'stop'))}: in {len(early)} cases a "
                           f"customer message before the last holds a stop phrase (e.g. {', '.join(early[:3])}): "
                           f"the conversation ends there and the later messages are never sent")
        for i, phrase in enumerate(scenario.spec.policy.require if scenario.spec.policy else []):
            if looks_like_a_pattern(phrase):
                out.append(f"{scenario.display}:{scenario.src.line(('policy', 'require', i))}: policy.require[{i}] "
                           f"'{phrase}' looks like a regular expression, but require matches a plain phrase "
                           f"(case-insensitive): every output without this exact text would violate the policy. "
                           f"Write the phrase itself; patterns belong in forbid")
    return out


PATTERN_MARKS = ("(?", ".*", ".+", "\\d", "\\w", "\\s", "\\b", "[", "]", "|", "^", "$")


def looks_like_a_pattern(phrase: str) -> bool:
    """A `require:` phrase written as a regular expression ('(?i)queue: .*')."""
    return any(mark in phrase for mark in PATTERN_MARKS if mark not in ("^", "$")) or phrase.startswith("^") \
        or phrase.endswith("$")


def budget_warnings(specs: Iterable[ModelSpec], max_cost: float | None) -> list[str]:
    """--max-cost counts only priced calls: say which models it cannot count."""
    if max_cost is None:
        return []
    unpriced = [m for m in specs if m.price is None]
    if not unpriced:
        return []
    local = [m.id for m in unpriced if m.provider == "local"]
    remote = [m.id for m in unpriced if m.provider != "local"]
    parts = []
    if remote:
        parts.append(f"{', '.join(remote)} {'has' if len(remote) == 1 else 'have'} no price in roadtest.yaml: "
                     f"{'its' if len(remote) == 1 else 'their'} calls count as free, so --max-cost {max_cost:g} "
                     "cannot stop them (add price: {input_per_mtok: ..., output_per_mtok: ...})")
    if local:
        parts.append(f"{', '.join(local)} {'runs' if len(local) == 1 else 'run'} locally and cost nothing: "
                     f"--max-cost does not limit {'it' if len(local) == 1 else 'them'}")
    return parts


def check_max_cost(max_cost: float | None) -> None:
    """A budget is a positive, finite amount."""
    if max_cost is not None and not (math.isfinite(max_cost) and max_cost > 0):
        raise RoadtestError(f"--max-cost must be a positive amount, got {max_cost:g}", "e.g. --max-cost 2.50")


def metric_rows() -> list[dict[str, Any]]:
    """The metrics a criterion can name, one row each (`roadtest check --metrics`)."""
    from roadtest.spec.metrics import METRICS

    return [{"id": i.id, "family": i.family, "better": i.direction, "unit": i.unit, "description": i.description}
            for _, i in METRICS.items()]
