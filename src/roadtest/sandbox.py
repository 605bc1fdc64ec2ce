"""One sandbox for every template roadtest renders (prompt, judge, report, diff page), with budgets.

Workspaces and archives come from other people, so every template is untrusted:

- Jinja2's immutable sandbox: no attribute starting with `_`, no function internals, no mutation of lists or
  dicts, so `{{ cycler.__init__.__globals__.os }}` is refused.
- Budgets: the source is at most MAX_SOURCE_CHARS; `**` and `*` are evaluated by us, never constant-folded while
  compiling (`{{ 9**(9**9) }}` used to hang compilation), and refuse results beyond SIZE_LIMIT; `range` shares
  one budget of RANGE_ITEMS per render (nested loops over `range(100000)` used to run for hours); string methods
  asked to pad to a huge width are refused; the output is at most `max_output` characters; compiling and rendering
  stop after `seconds` of wall time (a timer signal, in the main thread).

A template that breaks a budget raises TemplateBudgetError, a jinja2.TemplateError, so every caller that already
turns template errors into `path:line` problems reports it the same way.
"""

from __future__ import annotations

import contextvars
import math
import re
import signal
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

from jinja2 import BaseLoader, StrictUndefined, Template, TemplateError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_SOURCE_CHARS = 200_000
"""A template longer than this is refused before it is parsed."""
SIZE_LIMIT = 1_000_000
"""The largest string, list or number of digits a `*`, `**` or padding may produce inside a template."""
RANGE_ITEMS = 1_000_000
"""Items all `range()` calls of one render may produce together."""
PROMPT_OUTPUT = 1_000_000
"""Characters a prompt or judge template may render to."""
PROMPT_SECONDS = 2.0
"""Wall time a prompt or judge template may take to compile or render."""
REPORT_OUTPUT = 200_000_000
"""Characters the decision document may render to."""
REPORT_SECONDS = 600.0
"""Wall time the decision document's templates may take."""

PADDING_METHODS = {"ljust", "rjust", "center", "zfill", "expandtabs"}
FORMAT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*?(\d{7,})")
PERCENT_WIDTH = re.compile(r"%[-+ #0]*(\d{7,}|\*)")


class TemplateBudgetError(TemplateError):
    """A template went beyond one of the sandbox's budgets."""


_range_left: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("range_left", default=None)


def _budgeted_range(*args: int) -> range:
    items = range(*args)
    left = _range_left.get()
    if len(items) > SIZE_LIMIT:
        raise TemplateBudgetError(f"range() of {len(items):,} items: a template may loop over at most "
                                  f"{SIZE_LIMIT:,} at once")
    if left is not None:
        left[0] -= len(items)
        if left[0] < 0:
            raise TemplateBudgetError(f"loops over range() went beyond {RANGE_ITEMS:,} items in one render")
    return items


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


class Sandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment with size limits on `*`, `**`, `range` and padding."""

    intercepted_binops = frozenset({"**", "*", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _budgeted_range
        for name in ("center", "indent", "format"):
            self.filters[name] = _guarded_filter(self.filters[name], name)

    def wrap_str_format(self, value: Any):
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            _check_format(owner)
        return super().wrap_str_format(value)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _too_big_power(left, right):
            raise TemplateBudgetError(f"{left!r} ** {right!r} is too large to compute in a template")
        if operator == "%" and isinstance(left, str):
            _check_format(left)
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if _size(seq) and isinstance(times, int) and _size(seq) * times > SIZE_LIMIT:
                    raise TemplateBudgetError(f"repeating a value {times:,} times makes more than {SIZE_LIMIT:,} "
                                              "items: too large for a template")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - jinja2's signature
        name = getattr(__obj, "__name__", "")
        if isinstance(getattr(__obj, "__self__", None), str) and name in PADDING_METHODS:
            _check_widths(f"str.{name}()", args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def _check_widths(what: str, args: tuple, kwargs: dict) -> None:
    if any(isinstance(a, int) and not isinstance(a, bool) and a > SIZE_LIMIT for a in (*args, *kwargs.values())):
        raise TemplateBudgetError(f"{what} to a width over {SIZE_LIMIT:,}: too large for a template")


def _check_format(text: str) -> None:
    if FORMAT_WIDTH.search(text) or PERCENT_WIDTH.search(text):
        raise TemplateBudgetError("a format width over 999,999: too large for a template")


def _guarded_filter(original, name: str):
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if name == "format" and args and isinstance(args[0], str):
            _check_format(args[0])
        else:
            _check_widths(f"the {name} filter", args[1:], kwargs)
        return original(*args, **kwargs)

    for attr in ("jinja_pass_arg",):          # keep what Jinja reads off a filter (context/eval-context passing)
        if hasattr(original, attr):
            setattr(guarded, attr, getattr(original, attr))
    return guarded


def _too_big_power(base: Any, exponent: Any) -> bool:
    if not isinstance(base, (int, float)) or not isinstance(exponent, (int, float)):
        return False
    if isinstance(base, bool) or isinstance(exponent, bool) or abs(base) <= 1:
        return False
    return exponent > 0 and exponent * math.log10(abs(base)) > min(SIZE_LIMIT, 10_000)


@contextmanager
def time_budget(seconds: float, what: str) -> Iterator[None]:
    """Stop the code inside after `seconds` of wall time (main thread only; elsewhere the other budgets hold)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum, frame):
        raise TemplateBudgetError(f"{what} took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_delay:
            signal.setitimer(signal.ITIMER_REAL, old_delay, old_interval)


def check_source(source: str) -> None:
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateBudgetError(f"the template has {len(source):,} characters; at most {MAX_SOURCE_CHARS:,}")


def sandbox(loader: BaseLoader | None = None, *, autoescape: bool = False, **options: Any) -> Sandbox:
    """A sandbox environment: StrictUndefined, the given loader and escaping."""
    return Sandbox(loader=loader, autoescape=autoescape, undefined=StrictUndefined, **options)


def render_stream(template: Template, context: dict[str, Any], *, max_output: int, seconds: float,
                  what: str) -> str:
    """Render with every budget: time, output size, range items."""
    token = _range_left.set([RANGE_ITEMS])
    parts: list[str] = []
    size = 0
    try:
        with time_budget(seconds, what):
            for piece in template.generate(**context):
                size += len(piece)
                if size > max_output:
                    raise TemplateBudgetError(f"{what} renders to more than {max_output:,} characters")
                parts.append(piece)
    except RecursionError:
        raise TemplateBudgetError(f"{what} nests too deeply") from None
    except MemoryError:
        raise TemplateBudgetError(f"{what} needs too much memory") from None
    finally:
        _range_left.reset(token)
    return "".join(parts)


# -- prompt and judge templates (plain text) ---------------------------------------------------------------------

@lru_cache(maxsize=1)
def text_environment() -> Sandbox:
    return sandbox(autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=256)
def compile_text(source: str) -> Template:
    """Compile a prompt or judge template (cached); raises TemplateError, budgets included."""
    check_source(source)
    try:
        with time_budget(PROMPT_SECONDS, "compiling the template"):
            return text_environment().from_string(source)
    except RecursionError:
        raise TemplateBudgetError("the template nests too deeply") from None


@lru_cache(maxsize=256)
def text_variables(source: str) -> frozenset[str]:
    """Names a text template reads from its context (cached; raises TemplateError)."""
    check_source(source)
    try:
        with time_budget(PROMPT_SECONDS, "reading the template"):
            return frozenset(meta.find_undeclared_variables(text_environment().parse(source)))
    except RecursionError:
        raise TemplateBudgetError("the template nests too deeply") from None


def render_text(source: str, fields: dict[str, Any]) -> str:
    """A prompt or judge template rendered with the dataset row's fields."""
    return render_stream(compile_text(source), fields, max_output=PROMPT_OUTPUT, seconds=PROMPT_SECONDS,
                         what="the template")


__all__ = ["SecurityError", "Sandbox", "TemplateBudgetError", "compile_text", "render_stream", "render_text",
           "sandbox", "text_variables", "time_budget"]
