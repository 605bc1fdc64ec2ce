"""The `init` starter is the demo workspace made small and annotated, never a second copy that drifts: the same
scenario settings (comments aside), and every row of its datasets is a row of the demo's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "scenarios"
STARTER = REPO / "src" / "roadtest" / "init_template" / "scenarios"

LIGHTER = {
    "ticket-triage": {"repeats", "metrics", "counterfactuals"},
}
"""Settings the starter leaves lighter on purpose, so a first run is one call per item (the demo repeats
ticket-triage and measures bias and variability on top)."""


@pytest.mark.parametrize("path", sorted(STARTER.glob("*.yaml")), ids=lambda p: p.stem)
def test_a_starter_scenario_has_the_demo_settings(path):
    demo, starter = yaml.safe_load((DEMO / path.name).read_text()), yaml.safe_load(path.read_text())
    allowed = LIGHTER.get(path.stem, set())
    differ = {k for k in demo.keys() | starter.keys() if demo.get(k) != starter.get(k)}
    assert differ <= allowed, f"{path.name} drifted from the demo's in {sorted(differ - allowed)}"


@pytest.mark.parametrize("path", sorted(STARTER.glob("*.jsonl")), ids=lambda p: p.stem)
def test_every_starter_row_is_a_demo_row(path):
    demo = set((DEMO / path.name).read_text(encoding="utf-8").splitlines())
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert rows, f"{path.name} is empty"
    strays = [line[:80] for line in rows if line not in demo]
    assert not strays, f"{path.name}: rows the demo does not have: {strays}"


def test_the_checker_notices_a_drifted_setting(tmp_path):
    """The comparison above can fail: a changed limit in a copy of the starter is found."""
    starter = yaml.safe_load((STARTER / "quick-facts.yaml").read_text())
    starter["limits"]["max_new_tokens"] += 1
    demo = yaml.safe_load((DEMO / "quick-facts.yaml").read_text())
    assert {k for k in demo.keys() | starter.keys() if demo.get(k) != starter.get(k)} == {"limits"}
