"""Seeded input perturbations for robustness. Only input fields change; the reference answer never does."""

from __future__ import annotations

import random
import re
import string
from functools import lru_cache
from importlib import resources
from typing import Callable

from roadtest.registry import Registry

Perturb = Callable[[str, random.Random], str]
PERTURBATIONS: Registry[Perturb] = Registry("perturbation")
_WORD = re.compile(r"[A-Za-z]+")


def rng_for(seed: int, scenario: str, item: str, kind: str) -> random.Random:
    """One generator per (seed, scenario, item, perturbation): stable across runs, machines and Python versions."""
    return random.Random(f"{seed}/{scenario}/{item}/{kind}")


@PERTURBATIONS.register("lowercase")
def lowercase(text: str, rng: random.Random) -> str:
    return text.lower()


@PERTURBATIONS.register("uppercase")
def uppercase(text: str, rng: random.Random) -> str:
    return text.upper()


@PERTURBATIONS.register("typos")
def typos(text: str, rng: random.Random) -> str:
    """Swap two different neighbouring inner letters in about one word in five (at least one word changes
    when any word of 4+ letters can)."""
    def swappable(w: str) -> list[int]:
        return [i for i in range(1, len(w) - 2) if w[i] != w[i + 1]]

    words = [m for m in _WORD.finditer(text) if len(m.group()) >= 4 and swappable(m.group())]
    if not words:
        return text
    chosen = {m.start() for m in words if rng.random() < 0.2} or {rng.choice(words).start()}
    out, last = [], 0
    for m in words:
        if m.start() not in chosen:
            continue
        w = m.group()
        i = rng.choice(swappable(w))
        out.append(text[last:m.start()] + w[:i] + w[i + 1] + w[i] + w[i + 2:])
        last = m.end()
    return "".join(out) + text[last:]


@PERTURBATIONS.register("whitespace")
def whitespace(text: str, rng: random.Random) -> str:
    """Extra spaces between some words, and around the text."""
    parts = text.split(" ")
    glued = parts[0]
    for part in parts[1:]:
        glued += (" " * rng.randint(2, 3) if rng.random() < 0.3 else " ") + part
    return " " + glued + "  "


@PERTURBATIONS.register("punctuation")
def punctuation(text: str, rng: random.Random) -> str:
    """Drop most punctuation marks (apostrophes inside words stay)."""
    out = []
    for i, ch in enumerate(text):
        inner_apostrophe = ch == "'" and 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha()
        if ch in string.punctuation and not inner_apostrophe and rng.random() < 0.8:
            continue
        out.append(ch)
    return "".join(out)


@lru_cache(maxsize=1)
def synonyms() -> dict[str, list[str]]:
    table = {}
    text = resources.files("roadtest.plan").joinpath("wordlists/synonyms.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            word, alts = line.split(":", 1)
            table[word.strip().lower()] = [a.strip() for a in alts.split(",") if a.strip()]
    return table


def match_case(original: str, new: str) -> str:
    """`new` written in the case of `original` (ALL CAPS, Capitalised or lower)."""
    if original.isupper() and len(original) > 1:
        return new.upper()
    if original[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


@PERTURBATIONS.register("synonym")
def synonym(text: str, rng: random.Random) -> str:
    """Replace words from roadtest's small synonym list with a seeded choice of synonym."""
    table = synonyms()

    def swap(m: re.Match) -> str:
        alts = table.get(m.group().lower())
        return match_case(m.group(), rng.choice(alts)) if alts else m.group()

    return _WORD.sub(swap, text)


def perturb(kind: str, fields: dict, names: list[str], rng: random.Random) -> dict:
    """A copy of `fields` with the named text fields perturbed."""
    fn = PERTURBATIONS.get(kind)
    out = dict(fields)
    for name in names:
        if isinstance(out.get(name), str):
            out[name] = fn(out[name], rng)
    return out
