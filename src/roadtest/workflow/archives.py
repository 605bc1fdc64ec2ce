"""A workspace's run archives: where they are kept, one found by reference, the list, one verified."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roadtest.archive import RunArchive
    from roadtest.archive.verify import Verification


def runs_folder(root: Path) -> Path:
    """The workspace's runs folder (roadtest.yaml's runs_dir when it parses and stays inside, else ./runs)."""
    from roadtest.load.files import read_text
    from roadtest.load.workspace import runs_dir_problem
    from roadtest.load.yamlsrc import parse_yaml

    text, _ = read_text(root / "roadtest.yaml", "roadtest.yaml")
    data = parse_yaml(text, "roadtest.yaml").data if text is not None else None
    value = data.get("runs_dir", "runs") if isinstance(data, dict) else "runs"
    if not isinstance(value, str) or runs_dir_problem(value, root):
        value = "runs"
    return root / value


def find_run(root: Path, ref: str) -> RunArchive:
    """A run of the workspace at `root` by id, by folder path, or 'latest'."""
    from roadtest.archive.run_dir import find_run as find

    return find(runs_folder(root), ref)


def list_runs(root: Path) -> list[dict[str, Any]]:
    """The workspace's runs in run order: id, times, status, selection, fingerprint, verdict counts."""
    from roadtest.archive.listing import list_runs as listing

    return listing(runs_folder(root))


def verify_run(archive: RunArchive, root: Path) -> Verification:
    """Every file of the archive against its recorded sha256; its datasets against the workspace when `root` is
    one (a changed dataset only warns)."""
    from roadtest.archive.verify import verify

    return verify(archive, root if (root / "roadtest.yaml").is_file() else None)
