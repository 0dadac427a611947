"""Name generators: synonyms, opaque names, typos, reversed and misleading names for tools
and parameters, drawn with the surface's rng."""

from __future__ import annotations

import re
from functools import lru_cache

from tool_gym.drift.build import SurfaceBuild, free_name
from tool_gym.drift.vocabulary import MISLEADING_VERBS, SYNONYMS


def shuffled(b: SurfaceBuild, items: list[str]) -> list[str]:
    order = b.rng.permutation(len(items))
    return [items[int(i)] for i in order]


def synonyms_of(b: SurfaceBuild, word: str) -> list[str]:
    """Synonyms of one word: the domain's own vocabulary, the generic one, then the words of
    the built-in domains (a typo or an earlier rename can land on another domain's word, as
    ``from`` -> ``form``; this keeps every rename the built-in domains had when their words
    still lived in ``SYNONYMS``). A registered domain's words reach no other domain."""
    own = b.domain.synonyms.get(word)
    if own is not None:
        return own
    found = SYNONYMS.get(word)
    return found if found is not None else _built_in_vocabulary().get(word, [])


@lru_cache(maxsize=1)
def _built_in_vocabulary() -> dict[str, list[str]]:
    from tool_gym.registration import built_in_domains

    words: dict[str, list[str]] = {}
    for domain in built_in_domains().values():
        for word, synonyms in domain.synonyms.items():
            words.setdefault(word, synonyms)
    return words


def synonym_name(b: SurfaceBuild, name: str, taken: set[str]) -> str:
    toks = name.split("_")
    options = []
    for i, t in enumerate(toks):
        for syn in synonyms_of(b, t.lower()):
            options.append("_".join(toks[:i] + [syn] + toks[i + 1:]))
    if len(toks) > 1:  # two synonyms at once reads as a genuinely different API
        for a in synonyms_of(b, toks[0].lower()):
            for c in synonyms_of(b, toks[-1].lower()):
                options.append("_".join([a, *toks[1:-1], c]))
    options = shuffled(b, options)
    fallback = [f"{name}_v2", f"{name}_new", f"new_{name}", f"{name}_2"]
    got = free_name([*options, *fallback], taken)
    assert got is not None
    return got


def opaque_name(b: SurfaceBuild, prefix: str, taken: set[str]) -> str:
    n = len(b.surface.tools) + 10
    for i in shuffled(b, [str(k) for k in range(n)]):
        if f"{prefix}_{i}" not in taken:
            return f"{prefix}_{i}"
    return free_name((f"{prefix}_{k}" for k in range(n, 10 * n)), taken) or f"{prefix}_x"


def typo_name(b: SurfaceBuild, name: str, taken: set[str]) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(20):
        s = list(name)
        idx = [i for i, ch in enumerate(s) if ch.isalpha() and i > 0]
        if not idx:
            break
        i = b.choice(idx)
        op = int(b.rng.integers(4))
        if op == 0 and i + 1 < len(s) and s[i + 1].isalpha() and s[i + 1] != s[i]:
            s[i], s[i + 1] = s[i + 1], s[i]
        elif op == 1:
            del s[i]
        elif op == 2:
            s.insert(i, s[i])
        else:
            s[i] = b.choice([c for c in letters if c != s[i].lower()])
        cand = "".join(s)
        if cand != name and cand not in taken and re.fullmatch(r"[A-Za-z_][\w\-]*", cand):
            return cand
    return free_name([name + "x", name + "_"], taken) or name + "_x"


def reversed_name(name: str, taken: set[str]) -> str:
    return free_name([name[::-1], name[::-1] + "_", "_" + name[::-1] + "_r"], taken) or name + "_r"


def misleading_name(b: SurfaceBuild, backend: str, name: str, taken: set[str]) -> str:
    toks = name.split("_")
    options = []
    verb = MISLEADING_VERBS.get(toks[0].lower())
    if verb and len(toks) > 1:
        options.append("_".join([verb, *toks[1:]]))
    others = [t for t in b.domain.tools if t.name != backend]
    for other in shuffled(b, [t.name for t in others]):
        options.append(f"{other}_{b.choice(['v2', 'info', 'ex', 'plus'])}")
    return free_name(options, taken) or opaque_name(b, "fn", taken)


def param_name(b: SurfaceBuild, backend: str, pname: str, style: str, position: int,
                taken: set[str]) -> str:
    if style == "opaque":
        return free_name([f"arg_{position}", f"arg_{position}_", f"param_{position}"], taken) or \
            f"arg_{position}_x"
    if style == "case":
        parts = [p for p in pname.split("_") if p]
        cand = "".join(p[:1].upper() + p[1:] for p in parts)
        return free_name([cand, cand + "Value", "P" + cand], taken) or cand + "_"
    if style == "typo":
        return typo_name(b, pname, taken)
    if style == "reversed":
        return reversed_name(pname, taken)
    toks = pname.split("_")
    options = []
    for i, t in enumerate(toks):
        for syn in synonyms_of(b, t.lower()):
            options.append("_".join(toks[:i] + [syn] + toks[i + 1:]))
    options = shuffled(b, options) + [f"{pname}_value", f"{pname}_input", f"req_{pname}"]
    return free_name(options, taken) or f"{pname}_{position}"
