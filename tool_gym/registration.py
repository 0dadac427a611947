"""Domain discovery and Gymnasium registration (Gymnasium 1.x reads no entry points)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

import gymnasium as gym

from tool_gym.domain import Domain

ENTRY_POINT = "tool_gym.env:ToolEnv"
NAMESPACE = "ToolMaster"


@lru_cache(maxsize=1)
def _discover() -> tuple[Domain, ...]:
    import tool_gym.envs as pkg

    found = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        domain = getattr(module, "DOMAIN", None)
        if isinstance(domain, Domain):
            found.append(domain)
    return tuple(found)


def domains(split: str | None = None) -> dict[str, Domain]:
    """All discovered domains by name, optionally only the ``"seen"`` or ``"unseen"`` ones."""
    return {d.name: d for d in _discover() if split is None or d.split == split}


def get_domain(name: str) -> Domain:
    table = domains()
    if name not in table:
        import difflib

        close = difflib.get_close_matches(name, list(table), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown domain '{name}'.{hint} Known: {', '.join(table)}")
    return table[name]


def env_ids() -> list[str]:
    return sorted(i for i in gym.registry if i.startswith(f"{NAMESPACE}/"))


def _register(env_id: str, **kwargs: object) -> None:
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point=ENTRY_POINT, kwargs=kwargs,
                     disable_env_checker=False)


def register_envs() -> None:
    """Register every ``ToolMaster/...`` id. Safe to call more than once."""
    all_domains = domains()
    for d in all_domains.values():
        split = "all" if d.split == "unseen" else "train"
        _register(f"{NAMESPACE}/{d.title}-v0", domains=[d.name], split=split)
    seen = [d.name for d in all_domains.values() if d.split == "seen"]
    unseen = [d.name for d in all_domains.values() if d.split == "unseen"]
    _register(f"{NAMESPACE}/Seen-v0", domains=seen, split="train")
    _register(f"{NAMESPACE}/Unseen-v0", domains=unseen, split="all")
    # Drift (tool_gym.drift): fresh mutations each reset; override with mutations=[...],
    # stale_docs=True or drift_level="heavy" through gym.make.
    for d in all_domains.values():
        split = "all" if d.split == "unseen" else "train"
        _register(f"{NAMESPACE}/{d.title}-Drift-v0", domains=[d.name], split=split,
                  drift_level="light")
    _register(f"{NAMESPACE}/Drift-v0", domains=seen, split="train", drift_level="light")
    _register(f"{NAMESPACE}/Unseen-Drift-v0", domains=unseen, split="all", drift_level="light")
