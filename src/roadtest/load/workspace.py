"""Load a whole workspace: every file, every problem collected, then fail once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from roadtest.errors import InputError, Problem
from roadtest.load.hypotheses import LoadedHypothesis, load_hypothesis
from roadtest.load.loaded import Loaded
from roadtest.load.pydantic_problems import Salvage, validate_or_salvage
from roadtest.load.scenarios import LoadedScenario, load_scenario
from roadtest.load.yamlsrc import Located, parse_yaml
from roadtest.registry import did_you_mean
from roadtest.spec import Workspace
from roadtest.spec.metrics import METRICS, unmet_need
from roadtest.spec.model import BUNDLED_MODELS

CONFIG = "roadtest.yaml"


@dataclass(frozen=True)
class LoadedWorkspace:
    """Everything a run needs, validated: settings, scenarios with data, hypotheses."""

    root: Path
    spec: Workspace
    scenarios: dict[str, LoadedScenario]
    hypotheses: dict[str, LoadedHypothesis]

    @property
    def runs_dir(self) -> Path:
        return self.root / self.spec.runs_dir


def load_workspace(root: Path) -> LoadedWorkspace:
    """Read and check every file under `root`; raise InputError listing every problem, found in one pass."""
    root = root.resolve()
    problems: list[Problem] = []
    workspace, ws_src, config_salvage = _load_config(root, problems)
    checked_config = workspace or (config_salvage.obj if config_salvage else None)
    scenario_files = _load_many(root, "scenarios", ("*.yaml", "*.yml"), load_scenario, problems)
    hypothesis_files = _load_many(root, "hypotheses", ("*.md",), load_hypothesis, problems)
    scenarios = [f.obj for f in scenario_files if f.obj is not None]
    hypotheses = [f.obj for f in hypothesis_files if f.obj is not None]
    if checked_config is not None:
        problems += [p for p in _check_models(checked_config, ws_src, root)
                     if config_salvage is None or config_salvage.keeps(p)]
    if not hypothesis_files and not any(p.path.startswith("hypotheses") for p in problems):
        problems.append(Problem("hypotheses/", 0, "no hypotheses found",
                                "add a Markdown file with YAML front matter to hypotheses/ (see `roadtest init`)"))
    problems += _check_unique(scenarios, "scenario") + _check_unique(hypotheses, "hypothesis")
    scenario_map = {s.spec.id: s for s in scenarios}
    model_ids = [m.id for m in checked_config.models] if checked_config is not None else None
    failed = {f.declared_id for f in scenario_files if f.obj is None and f.declared_id}
    if model_ids is not None:
        for f in scenario_files:
            checked = f.obj or f.salvaged
            if checked is not None:
                problems += [p for p in _check_judges(checked, model_ids) if f.keeps(p)]
    for f in hypothesis_files:
        checked = f.obj or f.salvaged
        if checked is not None:
            problems += [p for p in _check_criteria(checked, scenario_map, model_ids, failed) if f.keeps(p)]
    if problems or workspace is None:
        raise InputError(collapse_repeats(problems))
    return LoadedWorkspace(root, workspace, scenario_map, {h.spec.id: h for h in hypotheses})


SHOWN_REPEATS = 3
"""How many rows with the same problem are listed before the rest are summed up in one line."""


def collapse_repeats(problems: list[Problem], keep: int = SHOWN_REPEATS) -> list[Problem]:
    """Rows of one file with the same problem: the first `keep`, then one line for the rest.

    In a dataset, problems that differ only in the values they quote (answer 'x' / answer 'y') count as the same.
    Distinct problems are never merged, so every kind of problem in every file is still reported.
    """
    groups: dict[tuple, list[Problem]] = {}
    for p in sorted(set(problems)):
        groups.setdefault((p.path, _kind(p.path, p.message), _kind(p.path, p.hint)), []).append(p)
    out: list[Problem] = []
    for same in groups.values():
        out += same[:keep]
        rest = same[keep:]
        if len(rest) > 1:
            noun = "rows" if _is_dataset(same[0].path) else "places"
            out.append(Problem(rest[0].path, rest[0].line,
                               f"... and {len(rest)} more {noun} with the same problem as line {same[0].line} "
                               f"(lines {rest[0].line}–{rest[-1].line})", field=same[0].field))
        else:
            out += rest
    return out


def _is_dataset(path: str) -> bool:
    return Path(path).suffix.lower() in (".jsonl", ".csv")


def _kind(path: str, text: str) -> str:
    """In a dataset, the text with quoted values and numbers blanked: answer 'x' is not a number -> answer '_' ..."""
    return re.sub(r"\d+", "0", re.sub(r"'[^']*'", "'_'", text)) if _is_dataset(path) else text


def _load_config(root: Path, problems: list[Problem]) -> tuple[Workspace | None, Located | None, Salvage | None]:
    path = root / CONFIG
    if not path.is_file():
        problems.append(Problem(CONFIG, 0, f"no {CONFIG} in {root}",
                                "run roadtest in a workspace folder, or create one with `roadtest init DIR`"))
        return None, None, None
    src = parse_yaml(path.read_text(encoding="utf-8"), CONFIG)
    problems += src.problems
    if src.data is None and src.problems:
        return None, src, None
    workspace, more, salvage = validate_or_salvage(Workspace, src.data or {}, src, CONFIG)
    problems += more
    return workspace, src, salvage


def _load_many(root: Path, folder: str, patterns: tuple[str, ...], loader, problems: list[Problem]) -> list[Loaded]:
    found = sorted({p for pattern in patterns for p in (root / folder).glob(pattern)})
    loaded = []
    for path in found:
        result = loader(path, str(path.relative_to(root)))
        problems += result.problems
        loaded.append(result)
    return loaded


def _check_unique(loaded: list, kind: str) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for obj in loaded:
        if obj.spec.id in seen:
            problems.append(Problem(obj.display, 1, f"{kind} id '{obj.spec.id}' is also used by {seen[obj.spec.id]}",
                                    f"give each {kind} its own id"))
        seen.setdefault(obj.spec.id, obj.display)
    return problems


def _check_models(workspace: Workspace, src: Located, root: Path) -> list[Problem]:
    problems = []
    for i, model in enumerate(workspace.models):
        if model.provider != "local":
            continue
        gguf = model.gguf or ""
        if gguf.endswith(".gguf"):
            if not (root / gguf).is_file():
                problems.append(Problem(CONFIG, src.line(("models", i, "gguf")), f"GGUF file not found: {gguf}",
                                        "paths are relative to the workspace", field=f"models[{i}].gguf"))
        elif gguf not in BUNDLED_MODELS:
            problems.append(Problem(CONFIG, src.line(("models", i, "gguf")), f"unknown bundled model '{gguf}'",
                                    did_you_mean(gguf, list(BUNDLED_MODELS)) + " (or give a path ending in .gguf)",
                                    field=f"models[{i}].gguf"))
    return problems


def _check_judges(scenario: LoadedScenario, model_ids: list[str]) -> list[Problem]:
    spec = scenario.spec
    places = [(("scoring", "judge", "model"), spec.scoring.judge),
              (("policy", "judge", "model"), spec.policy.judge if spec.policy else None)]
    src = scenario.src
    return [Problem(scenario.display, src.line(loc), f"{'.'.join(loc)}: unknown model '{judge.model}'",
                    did_you_mean(judge.model, model_ids) + f" (models are listed in {CONFIG})", field=".".join(loc))
            for loc, judge in places if judge is not None and judge.model not in model_ids]


def _check_criteria(hyp: LoadedHypothesis, scenarios: dict[str, LoadedScenario], model_ids: list[str] | None,
                    scenario_failed: set[str]) -> list[Problem]:
    """Cross-references: scenario, metric, model (when roadtest.yaml loaded) and slice."""
    problems = []
    for i, crit in enumerate(hyp.spec.criteria):
        def problem(key: tuple, message: str, hint: str) -> None:
            loc = ("criteria", i) + key
            problems.append(Problem(hyp.display, hyp.line(*loc), message, hint,
                                    field=f"criteria[{i}]." + ".".join(map(str, key))))

        scenario = scenarios.get(crit.scenario)
        if scenario is None and crit.scenario not in scenario_failed:
            problem(("scenario",), f"criteria[{i}]: unknown scenario '{crit.scenario}'",
                    did_you_mean(crit.scenario, list(scenarios)))
        if crit.metric not in METRICS:
            problem(("metric",), f"criteria[{i}]: unknown metric '{crit.metric}'",
                    did_you_mean(crit.metric, METRICS.names()))
        elif crit.versus is None and METRICS.get(crit.metric).unit == "proportion" and not 0 <= crit.threshold <= 1:
            key = "at_least" if crit.at_least is not None else "at_most"
            problem((key,), f"criteria[{i}]: {crit.metric} is a proportion between 0 and 1, not {crit.threshold:g}",
                    f"write {crit.threshold / 100:g} for {crit.threshold:g}%" if 1 < crit.threshold <= 100 else
                    "use a value between 0 and 1")
        if crit.metric in METRICS and scenario is not None:
            for need in METRICS.get(crit.metric).needs:
                why = unmet_need(need, scenario.spec)
                if why:
                    problem(("metric",), f"criteria[{i}]: {crit.metric} cannot be measured on {crit.scenario}: {why}",
                            "or pick another metric: roadtest check --metrics")
        if crit.versus is not None and crit.metric in METRICS and not METRICS.get(crit.metric).per_item:
            problem(("metric",), f"criteria[{i}]: `versus` needs a per-item metric; {crit.metric} is not one",
                    "compare a per-item metric such as accuracy or latency_mean_s")
        if crit.versus is not None and model_ids is not None and crit.versus.model not in model_ids:
            problem(("versus", "model"), f"criteria[{i}]: unknown model '{crit.versus.model}'",
                    did_you_mean(crit.versus.model, model_ids) + f" (models are listed in {CONFIG})")
        if crit.slice is not None and scenario is not None:
            if not scenario.spec.dataset.group:
                problem(("slice",), f"criteria[{i}]: slice '{crit.slice}' but scenario {crit.scenario} declares no dataset.group",
                        "add `group:` to the scenario's dataset, or remove the slice")
            elif crit.slice not in scenario.groups():
                problem(("slice",), f"criteria[{i}]: no items in group '{crit.slice}'",
                        did_you_mean(crit.slice, sorted(scenario.groups())))
    return problems
