"""The run archive: the decision record."""

from roadtest.archive.canonical import canonical_json, fingerprint, sha256_text
from roadtest.archive.config import resolve_config
from roadtest.archive.run_dir import MANIFEST, SCHEMA_VERSION, TRIALS, RunArchive, find_run

__all__ = ["MANIFEST", "SCHEMA_VERSION", "TRIALS", "RunArchive", "canonical_json", "find_run",
           "fingerprint", "resolve_config", "sha256_text"]
