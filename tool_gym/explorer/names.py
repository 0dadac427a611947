"""Names compared as the explorer reads them: tokens, similarity of names and of
descriptions, and the words a response is about."""

from __future__ import annotations

import difflib
import re
from typing import Any


def norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]

def similarity(a: str, b: str) -> float:
    na, nb = norm(a), norm(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    if na[::-1] == nb:
        return 0.95
    r = difflib.SequenceMatcher(None, na, nb).ratio()
    ta, tb = set(tokens(a)), set(tokens(b))
    jac = len(ta & tb) / len(ta | tb) if ta | tb else 0.0
    return max(r * 0.9, jac * 0.8)


def word_set(text: str) -> set[str]:
    return {t for t in tokens(text) if len(t) > 2}


def stem_overlap(words: set[str], other: set[str]) -> int:
    """Words of ``words`` that some word of ``other`` shares a stem with (cancel~cancelled)."""
    n = 0
    for w in words:
        if any(w == o or (min(len(w), len(o)) >= 4 and (o.startswith(w) or w.startswith(o)))
               for o in other):
            n += 1
    return n


def surface_words(value: Any, out: set[str] | None = None, depth: int = 0) -> set[str]:
    """Keys and short string values of a response: what it is about."""
    out = set() if out is None else out
    if depth > 4 or len(out) > 200:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out |= word_set(str(k))
            surface_words(v, out, depth + 1)
    elif isinstance(value, list):
        for v in value[:3]:
            surface_words(v, out, depth + 1)
    elif isinstance(value, str) and len(value) <= 24:
        out |= word_set(value)
    return out


def description_similarity(a: str, b: str) -> float:
    wa, wb = word_set(a), word_set(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)
