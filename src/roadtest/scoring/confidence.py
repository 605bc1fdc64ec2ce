"""Confidence of the answer given, from token log-probabilities (calibration)."""

from __future__ import annotations

import re

from roadtest.scoring.outputs import Token, probability

CHOICE = "normalised probability of the chosen option"
MEAN_TOKEN = "mean token probability of the answer"


def mean_token_probability(tokens: tuple[Token, ...]) -> float | None:
    """Mean of exp(logprob) over the generated tokens that carry text."""
    probs = [probability(t.logprob) for t in tokens if t.text.strip()]
    return sum(probs) / len(probs) if probs else None


def choice_confidence(tokens: tuple[Token, ...], chosen: str, choices: list[str], case_sensitive: bool = False) -> float | None:
    """P(chosen option) / sum over options of P(option), read at the token where the chosen option starts.

    An option's probability is the summed probability of the listed alternatives at that position that
    begin the option (and no other option); the chosen token itself is always counted for the chosen option.
    """
    fold = (lambda s: s) if case_sensitive else str.casefold
    text = "".join(t.text for t in tokens)
    found = re.search(r"(?<!\w)" + re.escape(fold(chosen)) + r"(?!\w)", fold(text))   # whole word, as the rule matches
    if found is None:
        return None
    start = found.start()
    offset = 0
    for token in tokens:
        if offset + len(token.text) > start:
            break
        offset += len(token.text)
    else:
        return None
    mass = {option: 0.0 for option in choices}
    alternatives = dict(token.top)
    alternatives[token.text] = token.logprob
    for alt, logprob in alternatives.items():
        piece = fold(alt.strip())
        if not piece:
            continue
        owners = [o for o in choices if fold(o).startswith(piece)]
        if len(owners) == 1:
            mass[owners[0]] += probability(logprob)
    total = sum(mass.values())
    owner = next((o for o in choices if fold(o) == fold(chosen)), chosen)
    if total == 0 or mass.get(owner, 0.0) == 0:
        return None
    return mass[owner] / total
