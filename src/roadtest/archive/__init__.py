"""The run archive: the decision record."""

from roadtest.archive.canonical import canonical_json, fingerprint, sha256_text
from roadtest.archive.config import resolve_config
from roadtest.archive.lock import LOCK, RunLocked
from roadtest.archive.migrations import SCHEMA_VERSION
from roadtest.archive.run_dir import MANIFEST, PLAN, TRIALS, ArchiveWriteError, RunArchive, find_run
from roadtest.archive.trials_file import served_by

__all__ = ["LOCK", "MANIFEST", "PLAN", "SCHEMA_VERSION", "TRIALS", "ArchiveWriteError", "RunArchive", "RunLocked",
           "canonical_json", "find_run", "fingerprint", "resolve_config", "served_by", "sha256_text"]
