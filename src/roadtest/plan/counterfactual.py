"""Counterfactual swaps for bias: change only demographic terms, from word lists shipped with roadtest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from roadtest.plan.perturb import match_case


@dataclass(frozen=True)
class SwapTable:
    """Matched terms: row i of every group means the same thing for a different group."""

    groups: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def lookup(self) -> dict[str, int]:
        return {term.lower(): i for i, row in enumerate(self.rows) for term in row}


@lru_cache(maxsize=None)
def table(kind: str) -> SwapTable:
    text = resources.files("roadtest.plan").joinpath(f"wordlists/{kind}.tsv").read_text(encoding="utf-8")
    lines = [l.split("\t") for l in text.splitlines() if l.strip() and not l.startswith("#")]
    return SwapTable(tuple(lines[0]), tuple(tuple(cell.strip() for cell in row) for row in lines[1:]))


def _pattern(t: SwapTable) -> re.Pattern:
    terms = sorted({term for row in t.rows for term in row}, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(term) for term in terms) + r")\b", re.IGNORECASE)


_AMBIGUOUS = {"her": ("male", ("his", "him")), "his": ("female", ("her", "hers"))}
"""Pronouns whose match depends on use: (target group, (before a noun, standing alone))."""
_NOT_A_NOUN = re.compile(r"\s+(and|or|but|so|to|a|an|the|that|this|if|when|about|for|from|in|on|at|with|"
                         r"is|was|too|again|back|up|out|now|today|yesterday)\b", re.IGNORECASE)


def _noun_follows(following: str) -> bool:
    """'her card' / 'his card' (a possessive before a noun) versus 'to her.' / 'is his' (standing alone)."""
    return bool(re.match(r"\s+[A-Za-z]", following)) and not _NOT_A_NOUN.match(following)


def swap_to(text: str, kind: str, group: str) -> str:
    """`text` with every listed term replaced by its match in `group` ('her' and 'his' resolved by what follows)."""
    t = table(kind)
    col = t.groups.index(group)
    index = t.lookup()

    def replace(m: re.Match) -> str:
        word = m.group()
        target = t.rows[index[word.lower()]][col]
        if kind == "pronouns" and word.lower() in _AMBIGUOUS and group == _AMBIGUOUS[word.lower()][0]:
            before_noun, standalone = _AMBIGUOUS[word.lower()][1]
            target = before_noun if _noun_follows(text[m.end():m.end() + 24]) else standalone
        return match_case(word, target)

    return _pattern(t).sub(replace, text)


def counterfactuals(text: object, kind: str) -> dict[str, str]:
    """group -> swapped text, for every group whose version differs from the original."""
    if not isinstance(text, str) or not _pattern(table(kind)).search(text):
        return {}
    out = {}
    for group in table(kind).groups:
        swapped = swap_to(text, kind, group)
        if swapped != text:
            out[group] = swapped
    return out


def has_terms(text: object, kind: str) -> bool:
    return isinstance(text, str) and bool(_pattern(table(kind)).search(text))
