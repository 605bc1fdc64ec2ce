"""API keys: read from the environment, refused when too short to redact safely, redacted as a token.

The key is removed from anything roadtest may cache, archive or print. It is matched as a token (never inside
a longer run of letters, digits, `_` or `-`), in its plain form and in the forms JSON text writes it in (a key
holding `"` or `\\` appears escaped there), and replaced by `$ENV_NAME`.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterable

from roadtest.errors import RoadtestError
from roadtest.spec import ModelSpec

MIN_KEY_CHARS = 8
"""A shorter key ('x', 'test') is too likely to occur in the data: redacting it would rewrite the responses."""

_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_-]")


def api_key(spec: ModelSpec) -> str | None:
    """The model's key from its environment variable (None when the model has none); refuses unusable keys."""
    if not spec.api_key_env:
        return None
    key = os.environ.get(spec.api_key_env)
    if not key:
        raise RoadtestError(
            f"model {spec.id}: environment variable {spec.api_key_env} is not set",
            f"export {spec.api_key_env}=... before `roadtest run`, or run without this model: -m OTHER_MODEL",
        )
    check_key(spec, key)
    return key


def check_key(spec: ModelSpec, key: str) -> None:
    if len(key) < MIN_KEY_CHARS:
        raise RoadtestError(
            f"model {spec.id}: the key in ${spec.api_key_env} is {len(key)} characters long; roadtest refuses keys "
            f"shorter than {MIN_KEY_CHARS} because redacting it would rewrite the data: use a longer dummy key",
            f"for a server that checks no key, any {MIN_KEY_CHARS} or more characters will do: "
            f"export {spec.api_key_env}=dummy-key-0000",
        )


def check_keys(specs: Iterable[ModelSpec]) -> None:
    """Refuse, before any call, a key that is set but too short to redact (an unset key is refused when its
    model's endpoint is opened)."""
    for spec in specs:
        key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
        if key:
            check_key(spec, key)


class Redactor:
    """Replaces one key, as a token, by `$ENV_NAME` in text and in parsed JSON (keys and values)."""

    def __init__(self, key: str, env: str) -> None:
        self.placeholder = f"${env}"
        forms = {key, json.dumps(key)[1:-1], json.dumps(key, ensure_ascii=False)[1:-1]}
        forms |= {f.replace("/", "\\/") for f in forms if "/" in f}   # some encoders write / as \/
        # the longest first, so an escaped form is replaced whole rather than by a plain form inside it
        self._pattern = re.compile("|".join(_token(f) for f in sorted(forms, key=len, reverse=True)))
        self._needles = tuple(forms)

    def text(self, text: str) -> str:
        if not text or not any(n in text for n in self._needles):   # the common case: no regex pass
            return text
        return self._pattern.sub(lambda _: self.placeholder, text)

    __call__ = text

    def json(self, value: Any) -> Any:
        """A parsed JSON value with the key removed from every string in it, dictionary keys included."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value


def _token(form: str) -> str:
    """A pattern matching `form` only where it is not part of a longer run of letters, digits, `_` or `-`."""
    before = r"(?<![A-Za-z0-9_-])" if _TOKEN_CHAR.match(form[0]) else ""
    after = r"(?![A-Za-z0-9_-])" if _TOKEN_CHAR.match(form[-1]) else ""
    return before + re.escape(form) + after


def redactor(spec: ModelSpec) -> Redactor | None:
    """The redactor for the model's key, or None when the model has no key set."""
    env = spec.api_key_env
    key = os.environ.get(env) if env else None
    return Redactor(key, env) if key and env else None


def redact(text: str, spec: ModelSpec) -> str:
    """Remove the model's API key from any text that may be shown or archived."""
    r = redactor(spec)
    return r.text(text) if r is not None else text
