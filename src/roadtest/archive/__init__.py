"""The run archive: the decision record."""

from roadtest.archive.canonical import canonical_json, fingerprint, sha256_text
from roadtest.archive.config import resolve_config
from roadtest.archive.migrations import SCHEMA_VERSION
from roadtest.archive.run_dir import MANIFEST, PLAN, TRIALS, RunArchive, find_run, served_by

__all__ = ["MANIFEST", "PLAN", "SCHEMA_VERSION", "TRIALS", "served_by", "RunArchive", "canonical_json", "find_run",
           "fingerprint", "resolve_config", "sha256_text"]
