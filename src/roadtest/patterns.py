"""Regular expressions from workspaces (policy `forbid` rules, `regex` answers) run on model output with RE2.

RE2 (the google-re2 package) matches in time linear in the text, whatever the pattern: a pattern such as
`(a+)+$` that backtracks for minutes in Python's `re` cannot stall a run or a replay. The price is RE2's
syntax: no lookarounds and no backreferences; `check` says so where a pattern uses them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

MAX_PATTERN_CHARS = 10_000
"""A pattern longer than this is refused."""


class PatternError(ValueError):
    """A pattern RE2 cannot compile: the message says why, in RE2's words."""


def _options(ignore_case: bool) -> Any:
    options = re2.Options()
    options.log_errors = False          # RE2 would otherwise print its own error line on stderr
    options.case_sensitive = not ignore_case
    options.max_mem = 64 << 20          # a pattern whose automaton needs more is refused, not run
    return options


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str, ignore_case: bool = False) -> Any:
    """A compiled RE2 pattern (cached); raises PatternError."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"the pattern has {len(pattern):,} characters; at most {MAX_PATTERN_CHARS:,}")
    try:
        return re2.compile(pattern, options=_options(ignore_case))
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(reason) from None


def search(pattern: str, text: str, ignore_case: bool = False):
    """The first match of pattern in text, or None (RE2, linear time)."""
    return compile_pattern(pattern, ignore_case).search(text)


def pattern_problem(pattern: str) -> str | None:
    """Why a workspace pattern cannot be used, for `check` (None when it can)."""
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        hint = (" (roadtest matches patterns with RE2, in linear time: lookarounds such as (?= and (?! and "
                "backreferences such as \\1 are not supported)") if any(
            mark in pattern for mark in ("(?=", "(?!", "(?<=", "(?<!", "\\1", "\\2", "(?P=")) else ""
        return f"{exc}{hint}"
    return None
