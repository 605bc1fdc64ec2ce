"""Typer commands. Each command: parse options, call roadtest.api, print, exit with the right code."""

from __future__ import annotations

import functools
from dataclasses import replace
import json
import math
import os
import shutil
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from typer.core import TyperGroup
from rich.console import Console

import roadtest.api as api   # costs nothing: the façade imports each step when a command calls it
from roadtest import __version__
from roadtest.cli.tables import print_table
from roadtest.errors import InputError, RoadtestError

def _stats_input_error(exc: BaseException) -> bool:
    """A statistics input error (only possible once roadtest.stats was imported)."""
    module = sys.modules.get("roadtest.stats._validate")
    return module is not None and isinstance(exc, module.StatsInputError)

class JsonErrors(TyperGroup):
    """With --json anywhere on the command line, a usage error (unknown option, bad value, missing argument) is
    also printed as JSON on stdout, like every other error, so a script reading stdout always gets JSON."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _fit_consoles()
        argv = list(sys.argv[1:] if args is None else args)
        if "--json" not in argv:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except typer.Abort:
            code = 1
        except typer.TyperException as exc:      # click's usage errors (typer vendors click)
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            usage = exc.ctx.get_usage() if getattr(exc, "ctx", None) is not None else ""
            hint = (" ".join(usage.split()) + "; see --help") if usage else "see roadtest --help"
            code = getattr(exc, "exit_code", 2)
            _emit_json({"ok": False, "exit_code": code, "error": {"kind": "usage", "message": message, "hint": hint}})
            err.print(f"error: {message}\n  hint: {hint}", markup=False)
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(name="roadtest", cls=JsonErrors, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Road-test language models against your roadmap hypotheses.\n\n"
                       "Typical session: roadtest check → roadtest run → roadtest report latest")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fit_consoles() -> None:
    """Tables fit the terminal this command runs in (COLUMNS when set; 80 when output goes to a file)."""
    width = shutil.get_terminal_size((80, 24)).columns
    out.width = err.width = max(width, 20)

Workspace = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder (has roadtest.yaml).",
                                         file_okay=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def command(fn: Callable) -> Callable:
    """Register a command whose RoadtestErrors become a message and an exit code, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        as_json = bool(kwargs.get("json_out"))
        try:
            return fn(*args, **kwargs)
        except RoadtestError as exc:
            if as_json:
                _emit_json(_error_payload(exc))
            err.print(exc.render(), markup=False)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:   # outside a run's calls (those stop cleanly in api): nothing half-written
            err.print("interrupted; every finished call is in the archive (`roadtest replay` re-derives the rest)",
                      markup=False)
            raise typer.Exit(3) from None
        except Exception as exc:  # a bug: say so briefly, keep the traceback for whoever debugs it
            if _stats_input_error(exc):
                if as_json:
                    _emit_json({"ok": False, "exit_code": 2,
                                "error": {"kind": "input", "message": str(exc), "hint": ""}})
                err.print(f"error: {exc}", markup=False)
                raise typer.Exit(2) from None
            err.print(f"internal error: {type(exc).__name__}: {exc}", markup=False)
            if os.environ.get("ROADTEST_DEBUG"):
                traceback.print_exc()
            else:
                err.print("  hint: set ROADTEST_DEBUG=1 to see the traceback, and please report it", markup=False)
            raise typer.Exit(3) from None

    return app.command()(wrapper)


def _error_payload(exc: RoadtestError) -> dict[str, Any]:
    """An error as JSON: {"ok": false, "exit_code", "error": {kind, message, hint}} (+ "problems" for bad input)."""
    kind = {2: "input", 3: "run", 1: "altered"}.get(exc.exit_code, "error")
    payload = {"ok": False, "exit_code": exc.exit_code, "error": {"kind": kind, "message": exc.message, "hint": exc.hint}}
    if isinstance(exc, InputError):
        payload["problems"] = [p.__dict__ for p in exc.problems]
    return payload


def _emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


@command
def init(directory: Annotated[Path, typer.Argument(help="Folder for the new workspace (created if needed).", file_okay=False)],
         json_out: JsonFlag = False) -> None:
    """Create a workspace: three scenarios with one-sentence success criteria, two hypotheses, the bundled
    local models and commented examples of an OpenAI-compatible endpoint. It runs as it is.

    Example: roadtest init my-eval && cd my-eval && roadtest check
    """
    written = api.init(directory)
    if json_out:
        _emit_json({"workspace": str(directory.resolve()), "files": [str(p) for p in written]})
        return
    for path in written:
        out.print(f"  {path.relative_to(directory)}")
    out.print(f"created a workspace in {directory.resolve()}\n"
              f"next: cd {directory} && roadtest check && roadtest plan && roadtest run && roadtest report latest")


AllowOutside = Annotated[bool, typer.Option("--allow-outside-paths", help="Let the workspace name files outside "
                                             "its folder (datasets, few-shot pools, GGUFs): their content is sent "
                                             "to the models.")]
MaxCost = Annotated[Optional[float], typer.Option("--max-cost", help="A budget for the run: stop before spending more "
                                                 "than this (from the models' prices).")]


@command
def check(workspace: Workspace = Path("."), json_out: JsonFlag = False,
          metrics: Annotated[bool, typer.Option("--metrics", help="List the metrics criteria can name.")] = False,
          max_cost: Annotated[Optional[float], typer.Option("--max-cost", help="Also say whether this budget can count "
                                                            "every model's calls (models without a price cannot be).")] = None,
          allow_outside: AllowOutside = False) -> None:
    """Validate every file of the workspace; print every problem as path:line. Exit 2 on any.

    Example: roadtest check -w my-workspace
    """
    if metrics:
        _list_metrics(json_out)
        return
    ws = api.check(workspace, allow_outside, max_cost)
    warnings = api.check_warnings(ws, max_cost)
    summary: dict[str, Any] = {"ok": True, "scenarios": {s: len(x.items) for s, x in ws.scenarios.items()},
                               "hypotheses": list(ws.hypotheses), "models": [m.id for m in ws.spec.models],
                               "warnings": warnings}
    if json_out:
        _emit_json(summary)
        return
    for w in warnings:
        err.print(f"warning: {api.printable_text(w)}", markup=False)
    items = sum(summary["scenarios"].values())
    out.print(f"ok: {len(ws.scenarios)} scenarios ({items} items), {len(ws.hypotheses)} hypotheses, "
              f"{len(ws.spec.models)} models — next: roadtest run")


def _list_metrics(json_out: bool) -> None:
    rows = api.metric_rows()
    if json_out:
        _emit_json(rows)
        return
    print_table(out, ["metric", "family", "better", "unit: description"],
                [[r["id"], r["family"], r["better"], f"{r['unit']}: {r['description']}"] for r in rows])


def _trials(row: dict) -> str:
    """Planned calls; for conversations, how many conversations they are (their calls are an estimate)."""
    if "conversations" in row:
        return f"≈ {row['trials']:,} calls in {row['conversations']:,} conversations"
    return str(row["trials"])


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _duration(text: str | None) -> float | None:
    """'90', '90s', '15m', '2h' -> seconds."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    value = text.strip().lower()
    scale = units.get(value[-1:], None)
    try:
        seconds = float(value[:-1] if scale else value) * (scale or 1)
    except ValueError:
        raise RoadtestError(f"--deadline: '{text}' is not a duration", "write seconds or e.g. 15m, 2h") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise RoadtestError(f"--deadline must be a positive duration, got '{text}'", "e.g. --deadline 30m")
    return seconds


@command
def run(workspace: Workspace = Path("."),
        hypothesis: Annotated[Optional[list[str]], typer.Option("--hypothesis", "-H", help="Only this hypothesis (repeatable).")] = None,
        model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Only this model (repeatable).")] = None,
        resume: Annotated[Optional[str], typer.Option("--resume", help="Finish an interrupted run (id, folder or 'latest'); finished calls are not sent again.")] = None,
        retry_errors: Annotated[bool, typer.Option("--retry-errors", help="With --resume: also send again the calls that failed (after the last retry); the new answer supersedes the error row.")] = False,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Send every request, even ones answered before.")] = False,
        max_cost: MaxCost = None,
        allow_outside: AllowOutside = False,
        deadline: Annotated[Optional[str], typer.Option("--deadline", help="Stop starting calls after this long, e.g. 30m; resume later.")] = None,
        retry_base: Annotated[float, typer.Option("--retry-base", hidden=True, help="First retry backoff in seconds.")] = 0.5,
        runs_dir: Annotated[Optional[Path], typer.Option("--runs-dir", file_okay=False, help="Write the run folder here instead of the workspace's runs folder (e.g. one folder per scheduler job, shared by its shards).")] = None,
        shard: Annotated[Optional[str], typer.Option("--shard", metavar="K/N", help="Send only shard K of N of the plan (by trial id), into its own run folder; join the shards with `roadtest merge`.")] = None,
        ray: Annotated[Optional[str], typer.Option("--ray", metavar="[ADDRESS]", help="Run the plan as --shards Ray tasks and merge them (a local Ray cluster when no address is given; needs roadtest[ray]).")] = None,
        shards: Annotated[Optional[int], typer.Option("--shards", min=1, max=1000, help="With --ray: how many shards.")] = None,
        json_out: JsonFlag = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False) -> None:
    """Run the evaluations linked to the hypotheses and archive every request and response.

    Example: roadtest run -H support-traffic-3x -m smollm2-135m --max-cost 2.50
    Example: roadtest run --resume latest --retry-errors   (send a finished run's failed calls again)
    Example: roadtest run --shard 2/3   (one job of three; then: roadtest merge runs/*-s*of3)
    Example: roadtest run --ray --shards 4   (four Ray tasks on a local cluster, merged)
    Exit codes: 0 done; 1 a gate hypothesis was refuted; 2 bad input; 3 the run could not finish, or a model's
    calls failed beyond max_error_rate (its verdicts are NOT DECIDED).
    """
    from roadtest.cli.progress import ProgressEvents

    api.check_run_options(resume, retry_errors, retry_base)
    _check_distribution(resume, shard, ray, shards, runs_dir)
    options = api.RunOptions(cache=not no_cache, max_cost=max_cost, deadline_s=_duration(deadline),
                             retry_base_s=retry_base, retry_errors=retry_errors, allow_outside=allow_outside)
    command_line = ["roadtest", *sys.argv[1:]]

    def warn(message: str) -> None:
        err.print(f"warning: {api.printable_text(message)}", markup=False)

    shard_dirs: list[Path] = []
    with ProgressEvents(err, quiet=quiet or json_out) as events:
        if ray is not None:
            result, shard_dirs = api.run_on_ray(workspace, hypothesis, model, events, command_line, options, warn,
                                                None if ray == LOCAL_RAY else ray, shards or 0)
        else:
            result = api.run(workspace, hypothesis, model, events, command_line, options, warn=warn, resume=resume,
                             shard=shard, runs_dir=runs_dir)
    _finish_run(result, events, json_out, [str(p) for p in shard_dirs])


LOCAL_RAY = "local"
"""What a bare `--ray` means: a local Ray cluster (Ray's own word for it)."""


def _check_distribution(resume: str | None, shard: str | None, ray: str | None, shards: int | None,
                        runs_dir: Path | None) -> None:
    """--shard, --ray, --shards and --runs-dir: which go together."""
    if runs_dir is not None and resume is not None:
        raise RoadtestError("--runs-dir is for a new run; --resume writes into the run's own folder",
                            "run `roadtest run --resume RUN` alone")
    if shards is not None and ray is None:
        raise RoadtestError("--shards works with --ray", "with a scheduler (Slurm, Kubernetes), give each job "
                            "--shard K/N and join them with `roadtest merge`; on Ray: roadtest run --ray --shards N")
    if ray is not None and shards is None:
        raise RoadtestError("--ray needs --shards N (how many Ray tasks the plan is split into)",
                            "e.g. roadtest run --ray --shards 4")
    if ray is not None and runs_dir is not None:
        raise RoadtestError("--runs-dir does not apply to --ray: the shards come back into the workspace's runs "
                            "folder", "run `roadtest run --ray --shards N` without --runs-dir")
    if ray is not None and (shard is not None or resume is not None):
        raise RoadtestError("--ray runs and merges every shard itself; --shard and --resume do not apply",
                            "finish a shard of a Ray run with `roadtest run --resume <shard>`, then `roadtest merge`")


def _finish_run(result: api.RunResult, events, json_out: bool, shard_dirs: list[str]) -> None:
    """The run's summary (or JSON), then its exit code: 3 not decided, 1 a gate refuted (a shard's verdicts are
    of its slice alone: its gate is decided by the merged run)."""
    shard = result.archive.manifest_record().shard
    gate_failed = [h["id"] for h in result.verdicts["hypotheses"] if h["gate"]
                   and any(m["verdict"] == "REFUTED" for m in h["models"].values())] if shard is None else []
    if json_out:
        _emit_json({"run_id": result.archive.run_id, "path": str(result.archive.path), "trials": result.trials,
                    "errors": result.errors, "cached": result.cached, "verdicts": _matrix(result.verdicts),
                    "gate_failed": gate_failed, "not_decided": api.not_decided(result.verdicts),
                    "warnings": list(result.warnings), **({"shards": shard_dirs} if shard_dirs else {})})
    elif shard is not None:
        _print_shard_summary(result, events, f"{shard.index}/{shard.count}")
    else:
        _print_run_summary(result, events)
    undecided = api.not_decided(result.verdicts)
    if undecided:
        for line in undecided:
            err.print(f"error: NOT DECIDED: {api.printable_text(line)}", markup=False)
        err.print("  hint: fix or replace the endpoint, then `roadtest run --resume latest --retry-errors`",
                  markup=False)
        raise typer.Exit(3)
    if gate_failed:
        raise typer.Exit(1)


def _print_shard_summary(result: api.RunResult, events, label: str) -> None:
    count = label.split("/")[1]
    out.print(f"shard {label}: {plural_of(result.trials, 'trial')}, {plural_of(result.errors, 'error')} — its "
              "verdicts are of this slice alone; the run's are the merged run's")
    out.print(f"archive: {result.archive.path}")
    out.print(f"next: once every shard has finished: roadtest merge {result.archive.path.parent}/*-s*of{count}")


def _matrix(verdicts: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {h["id"]: {m: v["verdict"] for m, v in h["models"].items()} for h in verdicts["hypotheses"]}


def _print_run_summary(result: api.RunResult, events) -> None:
    rows = []
    for model_id, t in (events.tally.items() if events is not None else ()):
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(t.error_kinds.items()))
        rows.append([model_id, str(t.trials), f"{t.errors}" + (f" ({kinds})" if kinds else ""),
                     f"{t.latency / t.trials:.2f} s" if t.trials else "—"])
    if rows:
        print_table(out, ["model", "trials", "errors", "mean latency"], rows, title="Run summary")
    matrix = _matrix(result.verdicts)
    models = list(next(iter(matrix.values()), {}))
    print_table(out, ["hypothesis", *models], [[hid, *(row.get(m, "") for m in models)] for hid, row in matrix.items()],
                title="Verdicts")
    if result.cached:
        out.print(f"{result.cached} of {result.trials} calls came from the response cache (--no-cache sends them again)")
    out.print(f"archive: {result.archive.path}")
    merged = bool(result.archive.manifest_record().merged_from)   # merged anywhere (--into): named by its folder
    out.print(f"next: roadtest report {result.archive.path if merged else result.archive.run_id}")


@command
def merge(run_refs: Annotated[list[str], typer.Argument(help="The shards' run ids or folders (every K of one --shard K/N split, once each).")],
          workspace: Workspace = Path("."),
          into: Annotated[Optional[Path], typer.Option("--into", help="Folder for the merged run (default: beside the first shard).", file_okay=False)] = None,
          json_out: JsonFlag = False) -> None:
    """Join the shards of one plan (`roadtest run --shard K/N`, run anywhere) into one run archive, after checking
    that they share one fingerprint and one plan, cover it exactly once, and each verifies.

    Example: roadtest merge runs/*-s*of3
    Example: roadtest merge /shared/runs/*-s*of8 --into runs/nightly
    Exit codes: 0 merged; 1 a gate hypothesis was refuted, or a shard's file changed while it was merged; 2 a
    shard missing, duplicated, foreign, unfinished or not verifying; 3 a model's calls failed beyond max_error_rate.
    """
    result, warnings, folders = api.merge(workspace, run_refs, into)
    for message in warnings:
        err.print(f"warning: {api.printable_text(message)}", markup=False)
    shards = result.archive.manifest_record().merged_from
    if json_out:
        _finish_run(replace(result, warnings=tuple(warnings)), None, True, [str(p) for p in folders])
        return
    out.print(f"merged {plural_of(len(shards), 'shard')} ({plural_of(result.trials, 'trial')}, "
              f"{plural_of(result.errors, 'error')}) into {result.archive.path}")
    _finish_run(result, None, False, [])


@command
def plan(workspace: Workspace = Path("."),
         hypothesis: Annotated[Optional[list[str]], typer.Option("--hypothesis", "-H", help="Only this hypothesis (repeatable).")] = None,
         model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Only this model (repeatable).")] = None,
         max_cost: MaxCost = None, allow_outside: AllowOutside = False, json_out: JsonFlag = False) -> None:
    """Show what a run would do, before any model call: trials, tokens, cost, and which criteria n can decide.

    Example: roadtest plan -H support-traffic-3x --max-cost 2.50
    """
    result = api.plan(workspace, hypothesis, model, max_cost, allow_outside)
    if json_out:
        _emit_json(result)
        return
    for w in result["warnings"]:
        err.print(f"warning: {api.printable_text(w)}", markup=False)
    print_table(out, ["model", "scenario", "trials", "prompt tokens (at most ≈)", "output tokens (max)", "cost (max)",
                      "time (≈)"],
                [[r["model"], r["scenario"], _trials(r), f"{r['tokens_in_est']:,}", f"{r['tokens_out_max']:,}",
                  "not priced" if r["cost_max"] is None else f"{r['cost_max']:.4f}", _clock(r["time_s_est"])]
                 for r in result["trials"]], title="Planned trials")
    sources = sorted({r["latency_source"] for r in result["trials"]})
    out.print(f"about {_clock(result['time_s_est'])} in all (call times from {', '.join(sources)}), "
              "plus a few seconds to start each local model")
    if max_cost is not None and result["cost_max"] is not None:
        fits = "within" if result["cost_max"] <= max_cost else "MORE than"
        out.print(f"priced calls cost at most {result['cost_max']:.4f}: {fits} --max-cost {max_cost:g}"
                  + ("" if fits == "within" else " (the run would stop early; resume it with a larger budget)"))
    f = result["feasibility"]
    for w in f.get("warnings", []):
        err.print(f"warning: {api.printable_text(w)}", markup=False)
    rows = []
    for r in f["criteria"]:
        claim = f"{r['scenario']} · {r['metric']} " + api.claim_text(r["direction"], r["threshold"], r["versus"])
        answer = ("yes, " if r["decidable"] == "yes" else "NO: ") + r["why"]
        rows.append([r["hypothesis"], claim, f"{r['n']} {r['n_unit']}", answer])
    print_table(out, ["hypothesis", "criterion", "n", "can n decide it?"], rows,
                title="Can the planned n decide each criterion?",
                caption=f"Each hypothesis is decided per model: {f['family']}; detectable effects at "
                        f"{f['power']:.0%} power.")
    out.print("next: roadtest run" + "".join(f" -H {h}" for h in (hypothesis or [])))


RunRef = Annotated[str, typer.Argument(help="Run id, run folder, or 'latest'.")]


@command
def report(run_refs: Annotated[Optional[list[str]], typer.Argument(help="Run ids, folders or 'latest' (default: latest). Several runs make one document.")] = None,
           workspace: Workspace = Path("."),
           format: Annotated[str, typer.Option("--format", "-f", help="Comma-separated: html, pdf.")] = "html,pdf",
           out_dir: Annotated[Optional[Path], typer.Option("--out", help="Folder for a report over several runs (default: runs/reports/A+B).", file_okay=False)] = None,
           json_out: JsonFlag = False) -> None:
    """Write the decision document (HTML and PDF) into the run folder; several runs make one document.

    Example: roadtest report latest --format html,pdf
    Example: roadtest report 20261129-065641-22d165 20261201-101500-9c01aa
    """
    formats = [f.strip().lower() for f in format.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("html", "pdf")]
    if bad or not formats:
        raise RoadtestError(f"unknown format {', '.join(bad) or '(none)'}", "use --format html,pdf, html or pdf")
    archives = [api.find_run(workspace, ref) for ref in (run_refs or ["latest"])]
    paths = api.report(workspace, archives, formats, out_dir)
    if "pdf" in formats:
        _warn_about_the_pdf()
    if json_out:
        _emit_json({"run_ids": [a.run_id for a in archives], "written": [str(p) for p in paths]})
        return
    for p in paths:
        out.print(f"{p.suffix[1:]}: {p.resolve()}")


def _warn_about_the_pdf() -> None:
    for w in api.pdf_warnings():
        err.print(f"warning: {w}", markup=False)


@command
def replay(run_ref: RunRef = "latest", workspace: Workspace = Path("."), json_out: JsonFlag = False) -> None:
    """Recompute scores, metrics, verdicts and the report from the archived responses alone (no model calls,
    no network). The files come out byte for byte as the run wrote them.

    Example: roadtest replay runs/20261129-061336-e7a2e3
    """
    archive = api.find_run(workspace, run_ref)
    verdicts, outcome = api.replay(archive, workspace / "report_templates")
    if json_out:
        _emit_json({"run_id": archive.run_id, "verdicts": _matrix(verdicts), "files": outcome})
        return
    by = {kind: [n for n, o in outcome.items() if o == kind] for kind in ("identical", "differs", "new")}
    out.print(f"replayed {archive.run_id} from trials.jsonl")
    if by["identical"]:
        out.print(f"  identical to the run's own files: {', '.join(by['identical'])}")
    if by["new"]:
        out.print(f"  written (nothing recorded to compare with): {', '.join(by['new'])}")
    if "report.pdf" in outcome:
        _warn_about_the_pdf()
    if by["differs"]:
        err.print(f"  differs from the run's own files: {', '.join(by['differs'])}\n  hint: a different roadtest "
                  "version or a changed report template override derives them differently", markup=False)
    out.print(f"next: roadtest verify {archive.run_id}")


@command
def rerun(run_ref: RunRef = "latest", workspace: Workspace = Path("."),
          into: Annotated[Optional[Path], typer.Option("--into", help="Folder for the new run (default: beside the original).", file_okay=False)] = None,
          json_out: JsonFlag = False,
          quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False) -> None:
    """Run again from the archive's own configuration and requests (not the workspace), then say in one line
    whether the results reproduced. Exit 1 when a verdict changed.

    Example: roadtest rerun runs/20261129-061336-e7a2e3 --into /tmp/rerun
    """
    from roadtest.cli.progress import ProgressEvents

    original = api.find_run(workspace, run_ref)
    with ProgressEvents(err, quiet=quiet or json_out) as events:
        result, comparison = api.rerun(workspace, original, into, events, ["roadtest", *sys.argv[1:]])
    line = api.reproduction_line(comparison)
    if json_out:
        _emit_json({"run_id": result.archive.run_id, "path": str(result.archive.path), "summary": line, **comparison})
    else:
        out.print(line)
        for m in comparison["moved"]:
            out.print(f"  moved: {m['scenario']} · {m['model']} · {_metric_label(m)}: {m['a']:.4g} -> {m['b']:.4g} "
                      f"({m['difference']:+.4g} [{m['lo']:+.4g}, {m['hi']:+.4g}])")
        for v in comparison["verdicts"]:
            out.print(f"  verdict changed: {v['hypothesis']} · {v['model']} · {v['criterion']}: {v['a']} -> {v['b']}")
        out.print(f"rerun archive: {result.archive.path}")
    if comparison["verdicts"]:
        raise typer.Exit(1)


def _metric_label(change: dict) -> str:
    variant = change.get("variant", "base")
    return change["metric"] if variant == "base" else f"{change['metric']} ({variant})"


@command
def diff(run_a: Annotated[str, typer.Argument(help="First run (id or folder).")],
         run_b: Annotated[str, typer.Argument(help="Second run (id or folder).")],
         workspace: Workspace = Path("."), json_out: JsonFlag = False,
         html: Annotated[Optional[Path], typer.Option("--html", help="Also write the comparison as an HTML page.", dir_okay=False)] = None) -> None:
    """What differs between two runs: settings, endpoints, metrics that moved beyond their noise, verdicts.

    Example: roadtest diff 20261129-061336-e7a2e3 20261130-090000-e7a2e3
    """
    result = api.diff(api.find_run(workspace, run_a), api.find_run(workspace, run_b))
    if html is not None:
        html.write_text(api.diff_page(result, workspace / "report_templates"), encoding="utf-8")
    if json_out:
        _emit_json(result)
        return
    _print_diff(result)
    if html is not None:
        out.print(f"html: {html.resolve()}")


def _print_diff(result: dict[str, Any]) -> None:
    same = "same configuration" if result["same_configuration"] else "different configurations"
    out.print(f"{result['a']} -> {result['b']}: {same} (fingerprints {result['fingerprints'][0][:12]}, "
              f"{result['fingerprints'][1][:12]})", markup=False)
    if result["settings"]:
        short = [c for c in result["settings"] if _is_short(c["a"]) and _is_short(c["b"])]
        if short:
            print_table(out, ["what", "setting", result["a"], result["b"]],
                        [[c["category"], c["path"], _shown(c["a"]), _shown(c["b"])] for c in short],
                        title="Settings that differ")
        for c in result["settings"]:
            if c not in short:
                out.print(f"{c['category']} · {c['path']} differs:", markup=False)
                out.print(_unified(c["a"], c["b"], result["a"], result["b"]), markup=False)
    else:
        out.print("settings: identical")
    for d in result["drift"]:
        out.print(f"DRIFT: {d}", markup=False)
    if result["moved"]:
        print_table(out, ["scenario", "model", "metric", result["a"], result["b"], "difference [95%]"],
                    [[m["scenario"], m["model"], _metric_label(m), f"{m['a']:.4g}", f"{m['b']:.4g}",
                      f"{m['difference']:+.4g} [{m['lo']:+.4g}, {m['hi']:+.4g}]"] for m in result["moved"]],
                    title="Metrics that moved beyond their noise")
    else:
        out.print("metrics: none moved beyond their noise")
    for v in result["verdicts"]:
        out.print(f"verdict changed: {v['hypothesis']} · {v['model']} · {v['criterion']}: {v['a']} -> {v['b']}",
                  markup=False)
    r = result["responses"]
    out.print(f"responses: {r['identical']} of {r['compared']} identical")


SHORT_SETTING = 40
"""A setting longer than this (or on several lines) is shown whole, as a diff, below the table."""


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _is_short(value: Any) -> bool:
    text = _shown(value)
    return len(text) <= SHORT_SETTING and "\n" not in text


def _unified(a: Any, b: Any, name_a: str, name_b: str) -> str:
    """The whole of both values as a unified diff (every line, so nothing is cut)."""
    import difflib

    def lines(value: Any) -> list[str]:
        if value is None:
            return []
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
        return text.splitlines() or [""]

    a_lines, b_lines = lines(a), lines(b)
    diff = difflib.unified_diff(a_lines, b_lines, fromfile=name_a, tofile=name_b, lineterm="",
                                n=max(len(a_lines), len(b_lines)))
    return "\n".join("    " + line for line in diff)


@command
def verify(run_ref: Annotated[Optional[str], typer.Argument(help="Run id, run folder, or 'latest' (default: latest; with --decisions, only when given).")] = None,
           workspace: Workspace = Path("."), json_out: JsonFlag = False,
           decisions: Annotated[bool, typer.Option("--decisions", help="Check the decision record: the hash chain of decisions/log.jsonl, each decision file, and that every run a decision rests on exists and verifies.")] = False) -> None:
    """Check every file of an archive against the sha256 in its manifest, and its datasets against the
    workspace (changed datasets only warn). Exit 1 on any mismatch.

    Example: roadtest verify runs/20261129-061336-e7a2e3
    Example: roadtest verify --decisions   (the decision record and the runs it rests on)
    """
    record = _verify_decisions(workspace, json_out) if decisions else None
    ok = record is None or record["ok"]
    if record is not None and run_ref is None:
        if json_out:
            _emit_json(record)
        if not ok:
            raise typer.Exit(1)
        return
    archive = api.find_run(workspace, run_ref or "latest")
    result = api.verify_run(archive, workspace)
    if json_out:
        run = {"run_id": archive.run_id, "ok": result.ok, "checked": result.checked,
               "mismatches": result.mismatches, "warnings": result.warnings}
        _emit_json(run if record is None else {"ok": result.ok and ok, "run": run, "decisions": record})
    else:
        for w in result.warnings:
            err.print(f"warning: {w}", markup=False)
        for m in result.mismatches:
            err.print(f"MISMATCH: {m}", markup=False)
        if result.ok:
            out.print(f"ok: {archive.run_id}: {len(result.checked)} files match their recorded sha256")
        else:
            err.print(f"error: {archive.run_id} does not match its manifest\n  hint: the files named above changed "
                      f"after the run. trials.jsonl, plan.jsonl and the manifest are the record: restore them from "
                      f"a copy. Only derived files (scores, metrics, verdicts, reports) can be rebuilt: "
                      f"`roadtest replay {archive.run_id}`", markup=False)
    if not result.ok or not ok:
        raise typer.Exit(1)


def _verify_decisions(workspace: Path, json_out: bool) -> dict[str, Any]:
    """The decision record checked (printed unless `json_out`); its JSON form."""
    result = api.verify_decisions(workspace)
    payload = {"ok": result.ok, "entries": result.entries, "head": result.head, "runs": result.runs,
               "mismatches": result.mismatches}
    if json_out:
        return payload
    for m in result.mismatches:
        err.print(f"MISMATCH: {api.printable_text(m)}", markup=False)
    if result.ok:
        out.print(f"ok: decisions/log.jsonl: {plural_of(result.entries, 'entry', 'entries')}, the chain is intact "
                  f"(head {result.head}); {plural_of(len(result.runs), 'run')} the decisions rest on, each verifies")
    else:
        err.print("error: the decision record does not prove itself\n  hint: the lines above name each entry, "
                  "file or run; restore decisions/ (and the runs) from a copy — git keeps one", markup=False)
    return payload


def plural_of(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@command
def runs(workspace: Workspace = Path("."), json_out: JsonFlag = False) -> None:
    """List the run archives: id, date, hypotheses, models, fingerprint, verdict counts.

    Example: roadtest runs -w my-workspace
    """
    rows = api.list_runs(workspace)
    if json_out:
        _emit_json(rows)
        return
    if not rows:
        out.print("no runs yet — next: roadtest run")
        return
    table = []
    for r in rows:
        counts = ", ".join(f"{n} {v.lower()}" for v, n in sorted(r.get("verdicts", {}).items()))
        status = r.get("status") or ""
        if r.get("shard"):
            status += f" (shard {r['shard']})"
        elif r.get("merged_from"):
            status += f" (merged, {plural_of(len(r['merged_from']), 'shard')})"
        table.append([r["run_id"], r.get("started_at") or "", status, ", ".join(r.get("hypotheses", [])),
                      ", ".join(r.get("models", [])), (r.get("fingerprint") or "")[:12], counts])
    print_table(out, ["run", "started", "status", "hypotheses", "models", "fingerprint", "verdicts"], table)


def _version(value: bool) -> None:
    if value:
        out.print(f"roadtest {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    """Road-test language models against your roadmap hypotheses."""


from roadtest.cli import record as _record  # noqa: E402,F401  (registers decide, history, gate)


def main() -> None:
    app(args=optional_values(sys.argv[1:]))


def optional_values(argv: list[str]) -> list[str]:
    """`--ray` may stand alone (a local cluster) or take an address: typer options always take their value, so a
    bare `--ray` (last, or before another option) is given the value `local` here."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--":
            break
        if arg == "--ray" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out[i] = f"--ray={LOCAL_RAY}"
    return out
