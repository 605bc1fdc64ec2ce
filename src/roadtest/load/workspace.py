"""Load a whole workspace: every file, every problem collected, then fail once."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from roadtest.errors import InputError, Problem
from roadtest.load.files import OUTSIDE_FLAG, Access, not_a_file, read_text, real_path
from roadtest.load.hypotheses import LoadedHypothesis, load_hypothesis
from roadtest.load.loaded import Loaded
from roadtest.load.pydantic_problems import Salvage, validate_or_salvage
from roadtest.load.scenarios import LoadedScenario, load_scenario
from roadtest.load.yamlsrc import Located, parse_yaml
from roadtest.registry import did_you_mean
from roadtest.spec import Workspace
from roadtest.spec.metrics import METRICS, unmet_need
from roadtest.spec.model import BUNDLED_MODELS
from roadtest.spec.scenario import Judge, Simulator

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


def load_workspace(root: Path, *, allow_outside: bool = False) -> LoadedWorkspace:
    """Read and check every file under `root`; raise InputError listing every problem, found in one pass.

    Files the workspace names (datasets, few-shot pools, GGUF models) must lie inside `root`, links followed,
    unless `allow_outside` (the --allow-outside-paths flag): their content is sent to the models.
    """
    root = root.resolve()
    access = Access(root, allow_outside)
    problems: list[Problem] = []
    workspace, ws_src, config_salvage = _load_config(access, problems)
    checked_config = workspace or (config_salvage.obj if config_salvage else None)
    scenario_files = _load_many(access, "scenarios", ("*.yaml", "*.yml"), partial(load_scenario, access=access),
                                problems)
    hypothesis_files = _load_many(access, "hypotheses", ("*.md",), load_hypothesis, problems)
    scenarios = [f.obj for f in scenario_files if f.obj is not None]
    hypotheses = [f.obj for f in hypothesis_files if f.obj is not None]
    if checked_config is not None:
        assert ws_src is not None           # a checked config was read from a source
        found = _check_models(checked_config, ws_src, access) + _check_runs_dir(checked_config, ws_src, root)
        problems += [p for p in found if config_salvage is None or config_salvage.keeps(p)]
    if not hypothesis_files and not any(p.path.startswith("hypotheses") for p in problems):
        problems.append(Problem("hypotheses/", 0, "no hypotheses found",
                                "add a Markdown file with YAML front matter to hypotheses/ (see `roadtest init`)"))
    problems += _check_unique(scenarios, "scenario") + _check_unique(hypotheses, "hypothesis")
    scenario_map = {s.spec.id: s for s in scenarios}
    model_ids = [m.id for m in checked_config.models] if checked_config is not None else None
    failed = {f.declared_id for f in scenario_files if f.obj is None and f.declared_id}
    unnamed = tuple(f.source for f in scenario_files if f.obj is None and not f.declared_id)
    if checked_config is not None:
        assert ws_src is not None
        problems += [p for p in _check_traffic(checked_config, ws_src, list(scenario_map), failed, unnamed)
                     if config_salvage is None or config_salvage.keeps(p)]
    if model_ids is not None:
        for f in scenario_files:
            checked = f.obj or f.salvaged
            if checked is not None:
                problems += [p for p in _check_judges(checked, model_ids) if f.keeps(p)]
    for f in hypothesis_files:
        checked = f.obj or f.salvaged
        if checked is not None:
            problems += [p for p in _check_criteria(checked, scenario_map, model_ids, failed, unnamed) if f.keeps(p)]
            if checked_config is not None:
                problems += [p for p in _check_prices(checked, checked_config) if f.keeps(p)]
    if problems or workspace is None:
        raise InputError([printable(p) for p in collapse_repeats(problems)])
    return LoadedWorkspace(root, workspace, scenario_map, {h.spec.id: h for h in hypotheses})


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""Characters that would act on the terminal (escape sequences, bidi overrides) or break a problem's line."""


def printable_text(text: str) -> str:
    """Control characters written as escapes (\\x1b, \\u202e): printed text can neither drive the terminal nor
    reorder or split its line."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def printable(problem: Problem) -> Problem:
    """The problem with control characters from file names and values written as escapes."""
    return replace(problem, path=printable_text(problem.path), message=printable_text(problem.message),
                   hint=printable_text(problem.hint))


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


def _load_config(access: Access, problems: list[Problem]) -> tuple[Workspace | None, Located | None, Salvage | None]:
    root = access.root
    path = root / CONFIG
    if not_a_file(path) == "not found":
        problems.append(Problem(CONFIG, 0, f"no {CONFIG} in {root}",
                                "run roadtest in a workspace folder, or create one with `roadtest init DIR`"))
        return None, None, None
    text, unread = _read_inside(access, path, CONFIG)
    if text is None:
        problems += unread
        return None, None, None
    src = parse_yaml(text, CONFIG)
    problems += src.problems
    if src.data is None and src.problems:
        return None, src, None
    workspace, more, salvage = validate_or_salvage(Workspace, src.data or {}, src, CONFIG)
    problems += more
    return workspace, src, salvage


def _read_inside(access: Access, path: Path, display: str) -> tuple[str | None, list[Problem]]:
    """A workspace file's text, unless it is a link that leads outside the workspace."""
    real = access.outside(path)
    if real is not None:
        return None, [_outside_file(display, real)]
    return read_text(path, display)


def _outside_file(display: str, real: Path) -> Problem:
    return Problem(display, 0, f"{display} is a link that leads outside the workspace (to {real})",
                   f"copy the file into the workspace; if you trust this workspace, run with {OUTSIDE_FLAG}")


def _load_many(access: Access, folder: str, patterns: tuple[str, ...], loader,
               problems: list[Problem]) -> list[Loaded]:
    root = access.root
    found = sorted({p for pattern in patterns for p in (root / folder).glob(pattern)})
    loaded = []
    for path in found:
        display = str(path.relative_to(root))
        real = access.outside(path)
        result = loader(path, display) if real is None else Loaded(None, [_outside_file(display, real)])
        result = replace(result, source=display)
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


def _check_models(workspace: Workspace, src: Located, access: Access) -> list[Problem]:
    problems = []
    for i, model in enumerate(workspace.models):
        if model.provider != "local":
            continue
        gguf = model.gguf or ""
        line, name = src.line(("models", i, "gguf")), f"models[{i}].gguf"
        if gguf.endswith(".gguf"):
            refused = access.refuse(access.root / gguf, name, gguf, CONFIG, line)
            why = not_a_file(access.root / gguf) if refused is None else None
            if refused is not None:
                problems.append(refused)
            elif why:
                what = f"GGUF file not found: {gguf}" if why == "not found" else f"GGUF file {gguf} is {why}"
                problems.append(Problem(CONFIG, line, what,
                                        "paths are relative to the workspace; name a .gguf file", field=name))
        elif gguf not in BUNDLED_MODELS:
            problems.append(Problem(CONFIG, src.line(("models", i, "gguf")), f"unknown bundled model '{gguf}'",
                                    did_you_mean(gguf, list(BUNDLED_MODELS)) + " (or give a path ending in .gguf)",
                                    field=f"models[{i}].gguf"))
    return problems


def _check_judges(scenario: LoadedScenario, model_ids: list[str]) -> list[Problem]:
    """Every model a scenario calls besides the models under test (judges, a simulated customer) is in
    roadtest.yaml."""
    spec = scenario.spec
    places: list[tuple[tuple[str, ...], Judge | Simulator | None]] = [(loc + ("model",), judge) for _, loc, judge in spec.judges_by_purpose()]
    places.append((("user", "simulator", "model"), spec.simulator()))
    src = scenario.src
    return [Problem(scenario.display, src.line(loc), f"{'.'.join(loc)}: unknown model '{judge.model}'",
                    did_you_mean(judge.model, model_ids) + f" (models are listed in {CONFIG})", field=".".join(loc))
            for loc, judge in places if judge is not None and judge.model not in model_ids]


NEVER_NEGATIVE = ("seconds", "tokens", "currency", "tokens/s")
"""Units of metrics that cannot be below 0 (see spec.metrics): a negative threshold on them is a mistake."""


def _check_prices(hyp: LoadedHypothesis, workspace: Workspace) -> list[Problem]:
    """A cost criterion needs every remote model's token prices (a local model costs nothing)."""
    unpriced = [m.id for m in workspace.models if m.provider != "local" and m.price is None]
    problems = []
    for i, crit in enumerate(hyp.spec.criteria if unpriced else []):
        info = METRICS.get(crit.metric) if crit.metric in METRICS else None
        if info is None or not ("price" in info.needs or info.unit == "currency"):
            continue
        models = ", ".join(unpriced)
        problems.append(Problem(
            hyp.display, hyp.line("criteria", i, "metric"),
            f"criteria[{i}]: {crit.metric} needs token prices, but {models} "
            f"{'has' if len(unpriced) == 1 else 'have'} no `price:` in {CONFIG}",
            f"add `price: {{input_per_mtok: 0.15, output_per_mtok: 0.60}}` (your invoice's prices) to {models} in "
            f"{CONFIG}; a local model needs none", field=f"criteria[{i}].metric"))
    return problems


def _check_runs_dir(workspace: Workspace, src: Located, root: Path) -> list[Problem]:
    """runs_dir is a folder inside the workspace: run archives are written there."""
    why = runs_dir_problem(workspace.runs_dir, root)
    if why is None:
        return []
    return [Problem(CONFIG, src.line(("runs_dir",)), f"runs_dir '{workspace.runs_dir}' {why}", RUNS_DIR_HINT,
                    field="runs_dir")]


RUNS_DIR_HINT = "write a folder inside the workspace, relative to it, e.g. `runs_dir: runs`"


def runs_dir_problem(value: str, root: Path) -> str | None:
    """Why `runs_dir: value` is not a folder inside the workspace `root` (links followed), or None when it is."""
    if not value.strip():
        return "is empty"
    if Path(value).is_absolute():
        return "is an absolute path"
    if os.path.normpath(value).split(os.sep)[0] == "..":
        return "goes up out of the workspace ('..')"
    root = real_path(root) or root
    real = real_path(root / value)
    if real is None:
        return "is not a valid folder name"
    if real == root:
        return "is the workspace folder itself"
    if root not in real.parents:
        return f"leads outside the workspace through a link (to {real})"
    return None


def _unknown_scenario_hint(name: str, known: list[str], unnamed: tuple[str, ...]) -> str:
    hint = did_you_mean(name, known) if known else "no scenario loaded: add one to scenarios/"
    if unnamed:
        hint += f" (or it is the one in {', '.join(unnamed)}, which could not be read: fix that file first)"
    return hint


def _check_traffic(workspace: Workspace, src: Located, known: list[str], failed: set[str],
                   unnamed: tuple[str, ...]) -> list[Problem]:
    """Every scenario named under report.traffic.scenarios is a scenario of the workspace."""
    traffic = workspace.report.traffic
    loc = ("report", "traffic", "scenarios")
    return [Problem(CONFIG, src.line(loc + (sid,)), f"report.traffic.scenarios: unknown scenario '{sid}'",
                    _unknown_scenario_hint(sid, known, unnamed), field=".".join(loc) + f".{sid}")
            for sid in (traffic.scenarios if traffic is not None else {}) if sid not in known and sid not in failed]


def _check_criteria(hyp: LoadedHypothesis, scenarios: dict[str, LoadedScenario], model_ids: list[str] | None,
                    scenario_failed: set[str], unnamed: tuple[str, ...] = ()) -> list[Problem]:
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
                    _unknown_scenario_hint(crit.scenario, list(scenarios), unnamed))
        if crit.metric not in METRICS:
            problem(("metric",), f"criteria[{i}]: unknown metric '{crit.metric}'",
                    did_you_mean(crit.metric, METRICS.names()))
        elif crit.baseline is None and METRICS.get(crit.metric).unit == "proportion" and not 0 <= crit.threshold <= 1:
            key = "at_least" if crit.at_least is not None else "at_most"
            problem((key,), f"criteria[{i}]: {crit.metric} is a proportion between 0 and 1, not {crit.threshold:g}",
                    f"write {crit.threshold / 100:g} for {crit.threshold:g}%" if 1 < crit.threshold <= 100 else
                    "use a value between 0 and 1")
        elif crit.baseline is None and METRICS.get(crit.metric).unit in NEVER_NEGATIVE and crit.threshold < 0:
            key = "at_least" if crit.at_least is not None else "at_most"
            unit = METRICS.get(crit.metric).unit
            problem((key,), f"criteria[{i}]: {crit.metric} is never negative (it is in {unit}), so "
                            f"`{key}: {crit.threshold:g}` is {'always' if key == 'at_least' else 'never'} true",
                    f"use a threshold of 0 or more, in {unit}")
        if crit.metric in METRICS and scenario is not None:
            for need in METRICS.get(crit.metric).needs:
                why = unmet_need(need, scenario.spec)
                if why:
                    problem(("metric",), f"criteria[{i}]: {crit.metric} cannot be measured on {crit.scenario}: {why}",
                            "or pick another metric: roadtest check --metrics")
        if crit.baseline is not None and crit.metric in METRICS and not METRICS.get(crit.metric).per_item:
            problem(("metric",), f"criteria[{i}]: `{crit.direction}` needs a per-item metric; {crit.metric} is not one",
                    "compare a per-item metric such as accuracy or latency_mean_s")
        if crit.baseline is not None and model_ids is not None and crit.baseline not in model_ids:
            problem((crit.direction, "model"), f"criteria[{i}]: unknown model '{crit.baseline}'",
                    did_you_mean(crit.baseline, model_ids) + f" (models are listed in {CONFIG})")
        if crit.baseline is not None and crit.metric in METRICS and crit.direction != "versus" \
                and METRICS.get(crit.metric).unit == "proportion" and not 0 < crit.threshold < 1:
            problem((crit.direction, "margin"), f"criteria[{i}]: a margin on {crit.metric} is a share between 0 and "
                    f"1, not {crit.threshold:g}", "e.g. `margin: 0.02` for two points")
        if crit.slice is not None and scenario is not None:
            if not scenario.spec.dataset.stratum:
                problem(("slice",), f"criteria[{i}]: slice '{crit.slice}' but scenario {crit.scenario} declares no dataset strata",
                        "add `strata: FIELD` to the scenario's dataset, or remove the slice")
            elif crit.slice not in scenario.groups():
                problem(("slice",), f"criteria[{i}]: no items in stratum '{crit.slice}'",
                        did_you_mean(crit.slice, sorted(scenario.groups())))
    return problems
