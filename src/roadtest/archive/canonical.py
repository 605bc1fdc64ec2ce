"""Canonical JSON: sorted keys, fixed float formatting, so derived files are byte-stable."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

FLOAT_DIGITS = 12


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        rounded = float(f"{value:.{FLOAT_DIGITS}g}")
        return 0.0 if rounded == 0 else rounded
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _normalise(value.item())
    raise TypeError(f"cannot write {type(value).__name__} to canonical JSON")


def canonical_json(value: Any, indent: int | None = None, ascii: bool = False) -> str:
    """JSON with sorted keys and floats rounded to 12 significant digits; NaN/inf become null.

    With `ascii`, every non-ASCII character is escaped (for text holding a lone surrogate, which UTF-8 cannot
    encode but JSON can carry as an escape)."""
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(_normalise(value), sort_keys=True, ensure_ascii=ascii, separators=separators, indent=indent)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(config: Any) -> str:
    """sha256 of the canonical resolved configuration."""
    return sha256_text(canonical_json(config))
