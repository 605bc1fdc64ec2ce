"""The layering, as a contract over the import graph: a module imports only from its own stage and the stages
below it. The order is ../shared/specs/style.md's pipeline with the shared helpers at the bottom and the CLI on
top. A new import against the order fails here; the few that remain are listed, each with the reason it stands,
as the debt the house issue (16) pays off."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "roadtest"

ORDER = [
    # the bottom: anyone may import these
    "roadtest", "errors", "registry", "digest", "stats", "patterns", "sandbox",
    # the pipeline (style.md), in the order data flows
    "spec", "load", "plan", "conversation", "providers", "engine", "archive", "scoring", "verdict", "compare",
    "report", "decisions",
    # the top: the steps each command takes, the façade over them, the command line
    "workflow", "api", "cli", "__main__",
]

KNOWN = {
    ("roadtest.load.scenarios", "roadtest.plan"):
        "check renders a scenario's prompts, perturbations and swaps as a run would, to find every problem early",
    ("roadtest.load.scenarios", "roadtest.plan.counterfactual"): "the same: counterfactual swaps checked at load",
    ("roadtest.load.scenarios", "roadtest.plan.perturb"): "the same: perturbations checked at load",
    ("roadtest.load.scenarios", "roadtest.conversation.tools"): "a tool's JSON Schema is checked where it is read",
    ("roadtest.plan.conversations", "roadtest.conversation.protocol"): "a planned conversation names its protocol",
    ("roadtest.plan.conversations", "roadtest.conversation.tools"): "a planned conversation holds its tools",
    ("roadtest.conversation.dialogue", "roadtest.scoring.outputs"):
        "the state machine reads an answer as scoring does (one reader of a response body)",
}


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "roadtest"


def imports() -> list[tuple[str, str, int]]:
    """(importing module, imported module, line) for every roadtest import in src/, function-local ones included."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "roadtest":
                if node.module == "roadtest":
                    out += [(module, f"roadtest.{a.name}", node.lineno) for a in node.names
                            if (SRC / a.name).exists() or (SRC / f"{a.name}.py").exists()]
                    out += [(module, "roadtest", node.lineno) for a in node.names
                            if not ((SRC / a.name).exists() or (SRC / f"{a.name}.py").exists())]
                else:
                    out.append((module, node.module, node.lineno))
            elif isinstance(node, ast.Import):
                out += [(module, a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "roadtest"]
    return out


def test_every_stage_is_placed_in_the_order():
    stages = {stage(m) for m, _, _ in imports()} | {stage(t) for _, t, _ in imports()}
    assert stages <= set(ORDER), f"place these in ORDER: {sorted(stages - set(ORDER))}"


def test_no_module_imports_from_a_stage_above_its_own():
    rank = {s: i for i, s in enumerate(ORDER)}
    upward = sorted({(m, t, line) for m, t, line in imports() if rank[stage(t)] > rank[stage(m)]})
    new = [f"{m} (line {line}) imports {t}: {stage(m)} sits below {stage(t)}" for m, t, line in upward
           if (m, t) not in KNOWN]
    assert not new, "imports against the layering:\n" + "\n".join(new)
    stale = sorted(set(KNOWN) - {(m, t) for m, t, _ in upward})
    assert not stale, f"these listed exceptions are gone: remove them from KNOWN: {stale}"


def test_the_report_never_imports_the_decision_record():
    """The document shows a snapshot of the record (decisions.json), so replay needs the archive alone."""
    assert not [(m, t) for m, t, _ in imports() if stage(m) == "report" and stage(t) == "decisions"]


def test_the_command_line_goes_through_the_facade():
    """cli/ imports roadtest.api (and errors, the version, its own modules): every step a command takes is one
    the façade offers, so a newcomer reads the façade to know what the tool does."""
    allowed = {"roadtest", "roadtest.api", "roadtest.errors"}
    around = sorted({f"{m} (line {line}) imports {t}" for m, t, line in imports()
                     if stage(m) == "cli" and stage(t) != "cli" and t not in allowed})
    assert not around, "the CLI reaches around roadtest.api:\n" + "\n".join(around)


def test_the_facade_is_thin_and_cheap_to_import():
    """api.py holds no step of its own: each public function is documented, annotated and one call into a step,
    imported inside it (no roadtest import at the top, outside TYPE_CHECKING), so importing the façade is free."""
    tree = ast.parse((SRC / "api.py").read_text(encoding="utf-8"))
    eager = [n.lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
             and any(name.startswith("roadtest") for name in _names(n))]
    assert not eager, f"api.py imports roadtest at the top (lines {eager}): import inside the function instead"
    public = [n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]
    undocumented = [f.name for f in public if not ast.get_docstring(f) or f.returns is None]
    assert not undocumented, f"document and annotate: {undocumented}"
    doing = [f.name for f in public if len([s for s in f.body if not isinstance(s, (ast.Expr, ast.ImportFrom))]) > 2]
    assert not doing, f"these façade functions do more than call a step (move the work to roadtest.workflow): {doing}"


def _names(node: ast.Import | ast.ImportFrom) -> list[str]:
    return [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
