"""The one file digest: the sha256 of a file's bytes, read in blocks (datasets, GGUF files, archived records)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file at `path`, read 64 KiB at a time so a multi-gigabyte model file is never held whole."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()
