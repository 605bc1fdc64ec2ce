"""roadtest.sandbox: the one sandbox every template renders in, and its budgets."""

from __future__ import annotations

import signal
import time

import pytest
from jinja2.exceptions import SecurityError

from roadtest import sandbox
from roadtest.sandbox import TemplateBudgetError, render_text


@pytest.mark.parametrize("source,fields,expected", [
    ("{{ q | upper }} {{ 2 ** 10 }} {{ 'ab' * 3 }} {{ '%05.1f' % 3.14159 }} {{ '{} {}'.format(1, 2) }}",
     {"q": "hi"}, "HI 1024 ababab 003.1 1 2"),
    ("{% for i in range(3) %}{{ i }}{% endfor %}", {}, "012"),
    ("{{ 'x' | center(5) }}|{{ 'a' | indent(2) }}", {}, "  x  |a"),
])
def test_ordinary_templates_render(source, fields, expected):
    assert render_text(source, fields) == expected


@pytest.mark.parametrize("source", [
    "{{ 9**(9**9) }}", "{{ (10**6) ** (10**6) }}", "{{ 'x' * 10**9 }}", "{{ [0] * 10**9 }}", "{{ 'x'.ljust(10**9) }}",
    "{{ 'x'.center(10**9) }}", "{{ 'x' | center(10**9) }}", "{{ '{:>1000000000}'.format(1) }}",
    "{{ '%1000000000d' % 1 }}", "{{ '%1000000000d' | format(1) }}", "{{ '%*d' % (10**9, 1) }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "{{ range(10**9) | list }}",
])
def test_what_would_run_forever_or_fill_memory_is_refused_at_once(source):
    started = time.monotonic()
    with pytest.raises(TemplateBudgetError):
        render_text(source, {})
    assert time.monotonic() - started < 2.5


def test_output_beyond_its_budget_is_refused(monkeypatch):
    monkeypatch.setattr(sandbox, "PROMPT_OUTPUT", 1000)
    with pytest.raises(TemplateBudgetError, match="more than 1,000 characters"):
        render_text("{% for i in range(200) %}{{ q }}{% endfor %}", {"q": "ten chars!"})


def test_a_slow_template_is_stopped_by_the_clock(monkeypatch):
    monkeypatch.setattr(sandbox, "PROMPT_SECONDS", 0.3)
    started = time.monotonic()
    with pytest.raises(TemplateBudgetError, match="took longer than"):
        render_text("{% for c in q %}{% for d in q %}{% for e in q %}{% endfor %}{% endfor %}{% endfor %}",
                    {"q": "x" * 2000})
    assert time.monotonic() - started < 2


def test_the_clock_leaves_the_callers_timer_and_handler_as_they_were():
    fired = []

    def mine(*args):
        fired.append(1)

    previous = signal.signal(signal.SIGALRM, mine)
    signal.setitimer(signal.ITIMER_REAL, 5.0)
    try:
        render_text("{{ 1 }}", {})
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining <= 5.0
        assert signal.getsignal(signal.SIGALRM) is mine and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("source", [
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}", "{{ ''.__class__.__mro__ }}",
    "{% set x = [1] %}{{ x.append(2) }}", "{{ lipsum.__globals__ }}",
])
def test_python_is_out_of_reach(source):
    with pytest.raises(SecurityError):
        render_text(source, {})


def test_a_huge_or_deep_source_is_refused():
    with pytest.raises(TemplateBudgetError, match="characters"):
        render_text("x" * (sandbox.MAX_SOURCE_CHARS + 1), {})
    with pytest.raises(Exception) as raised:
        render_text("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", {})
    assert isinstance(raised.value, (TemplateBudgetError, SecurityError)) or "nest" in str(raised.value) \
        or raised.typename == "TemplateSyntaxError"
