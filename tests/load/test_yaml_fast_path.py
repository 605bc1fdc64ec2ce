"""The fast reading (libyaml's parser) gives what the reference reading (PyYAML's) gives, or steps aside."""

from __future__ import annotations

import random
from importlib import resources

import pytest

from roadtest.load import yamlsrc

pytestmark = pytest.mark.skipif(yamlsrc.CParser is None, reason="PyYAML without libyaml: no fast reading")

TEMPLATE = resources.files("roadtest").joinpath("init_template")
FILES = [p.read_text("utf-8") for p in (TEMPLATE / "scenarios").iterdir() if p.name.endswith(".yaml")] + \
    [(TEMPLATE / "roadtest.yaml").read_text("utf-8")]
PIECES = list(" \t\n\r:-?[]{},#&*!|>'\"%@`\\.09azé\u0085\u2028\ufeff") + [
    ": ", "- ", "\n  ", "\n- ", "---\n", "...\n", "!!str ", "&a ", "*a", "<<: ", "? ", '"\\u00e9"', "'it''s'",
    "|-\n  x", ">\n  y", "0x1F", "1e3", ".inf", "~", "null", "yes", "2024-01-02", "12:30:00"]


def _mutant(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 30)))
    text = list(rng.choice(FILES))
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(text))
        roll = rng.random()
        if roll < 0.4:
            text.insert(at, rng.choice(PIECES))
        elif roll < 0.7:
            del text[at]
        else:
            text[at] = rng.choice(PIECES)
    return "".join(text)


def test_the_workspace_template_is_read_the_fast_way():
    assert all(yamlsrc._parse_fast(text, "f.yaml", 0) is not None for text in FILES)


def test_what_the_fast_reading_gives_the_reference_gives():
    rng = random.Random(16)
    fast = 0
    for _ in range(700):
        text = _mutant(rng)
        got = yamlsrc._parse_fast(text, "f.yaml", 3)
        if got is None:
            continue
        fast += 1
        want = yamlsrc._parse(text, "f.yaml", 3)
        assert (repr(got.data), got.lines, got.problems) == (repr(want.data), want.lines, want.problems), text
    assert fast > 150


@pytest.mark.parametrize("text", [
    "a:\tb\n", "x: [a?b]\n", "x: {a: b:c}\n", "\ufeffa: 1\n", "a: !!str 1\n", "a: |#\n  x\n", "a:\n", "- \n- x\n",
    "a: 1\na: 2\n", "a: 1\n---\nb: 2\n", "a: [1, 2\n",
])
def test_where_the_parsers_differ_or_a_problem_is_found_the_reference_reads(text):
    assert yamlsrc._parse_fast(text, "f.yaml", 0) is None
    got, expected = yamlsrc.parse_yaml(text, "f.yaml"), yamlsrc._parse(text, "f.yaml", 0)
    assert (repr(got.data), got.lines, got.problems) == (repr(expected.data), expected.lines, expected.problems)
