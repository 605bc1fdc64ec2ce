"""Files -> spec objects, every problem collected with path:line."""

from roadtest.load.datasets import Row, Table
from roadtest.load.hypotheses import LoadedHypothesis
from roadtest.load.scenarios import LoadedScenario
from roadtest.load.workspace import LoadedWorkspace, load_workspace

__all__ = ["LoadedHypothesis", "LoadedScenario", "LoadedWorkspace", "Row", "Table", "load_workspace"]
