"""Domain discovery and Gymnasium registration (Gymnasium 1.x reads no entry points).

Three sources of domains: the built-in modules of ``tool_gym.envs`` (discovered), the
entry-point group ``tool_gym.domains`` of installed packages (read once by ``import
tool_gym``) and :func:`register_domain` calls. Each domain gets ``ToolMaster/<Title>-v0``
and ``ToolMaster/<Title>-Drift-v0``; the suite ids (``Seen-v0``, ``Unseen-v0``,
``Drift-v0``, ``Unseen-Drift-v0``) name their built-in domains explicitly
(``tool_gym.envs.SUITES``), so no other domain ever changes what they draw.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import gymnasium as gym

from tool_gym.domain import Domain
from tool_gym.family import DomainFamily

ENTRY_POINT = "tool_gym.env:ToolEnv"
NAMESPACE = "ToolMaster"
ENTRY_POINT_GROUP = "tool_gym.domains"
# Suite ids with their drift twins: (id, suite, split, drift level).
SUITE_IDS = (("Seen-v0", "Seen-v0", "train", None), ("Unseen-v0", "Unseen-v0", "all", None),
             ("Drift-v0", "Seen-v0", "train", "light"),
             ("Unseen-Drift-v0", "Unseen-v0", "all", "light"))
RESERVED_TITLES = frozenset(i.rsplit("-", 1)[0].lower() for i, *_ in SUITE_IDS)

log = logging.getLogger(__name__)
# Domains from entry points and register_domain, in registration order.
_REGISTERED: dict[str, Domain] = {}


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


@lru_cache(maxsize=1)
def families() -> tuple[DomainFamily, ...]:
    """Domain families (``FAMILY`` of a module of ``tool_gym.envs``): generated domains."""
    import tool_gym.envs as pkg

    found = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        family = getattr(importlib.import_module(f"{pkg.__name__}.{info.name}"), "FAMILY", None)
        if isinstance(family, DomainFamily):
            found.append(family)
    return tuple(found)


def domains(split: str | None = None) -> dict[str, Domain]:
    """Every domain by name (built-in, then registered), optionally only one split."""
    table = {d.name: d for d in _discover()}
    table.update(_REGISTERED)
    return {n: d for n, d in table.items() if split is None or d.split == split}


@contextmanager
def findable(domain: Domain) -> Iterator[None]:
    """Let ``get_domain(domain.name)`` find an unregistered domain while checks run (the
    explorer regenerates a task from its domain's name, as a user who read the docs would)."""
    known = domains().get(domain.name)
    if known is domain:
        yield
        return
    if known is not None:
        from tool_gym.errors import DomainError

        raise DomainError(f"domain name '{domain.name}' is taken by another domain; rename yours "
                          "before checking it")
    _REGISTERED[domain.name] = domain
    try:
        yield
    finally:
        _REGISTERED.pop(domain.name, None)


def built_in_domains() -> dict[str, Domain]:
    """The domains shipped in ``tool_gym.envs``."""
    return {d.name: d for d in _discover()}


def suite_domains(suite: str) -> list[str]:
    """The domains a suite id draws from, in order: ``suite_domains("Seen-v0")``."""
    import tool_gym.envs as pkg

    if suite not in pkg.SUITES:
        raise KeyError(f"unknown suite {suite!r}; suites: {', '.join(pkg.SUITES)}")
    return list(pkg.SUITES[suite])


def get_domain(name: str) -> Domain:
    table = domains()
    if name not in table:
        for family in families():
            if name.startswith(f"{family.prefix}_"):
                made = family.resolve(name)
                if made is not None:
                    return made
        import difflib

        close = difflib.get_close_matches(name, list(table), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown domain '{name}'.{hint} Known: {', '.join(table)}")
    return table[name]


#: A client of a ToolMaster server (``tool_gym.remote``), not an env of its own:
#: ``env_ids()`` leaves it out.
REMOTE_ID = f"{NAMESPACE}/Remote-v0"


def env_ids() -> list[str]:
    return sorted(i for i in gym.registry if i.startswith(f"{NAMESPACE}/") and i != REMOTE_ID)


def _register(env_id: str, **kwargs: object) -> None:
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point=ENTRY_POINT, kwargs=kwargs,
                     disable_env_checker=False)


def domain_ids(domain: Domain) -> list[str]:
    """The ids of one domain: ``ToolMaster/<Title>-v0`` and ``ToolMaster/<Title>-Drift-v0``."""
    return [f"{NAMESPACE}/{domain.title}-v0", f"{NAMESPACE}/{domain.title}-Drift-v0"]


def _register_domain_ids(d: Domain) -> list[str]:
    split = "all" if d.split == "unseen" else "train"
    plain, drift = domain_ids(d)
    _register(plain, domains=[d.name], split=split)
    # Drift (tool_gym.drift): fresh mutations each reset; override with mutations=[...],
    # stale_docs=True or drift_level="heavy" through gym.make.
    _register(drift, domains=[d.name], split=split, drift_level="light")
    return [plain, drift]


def register_domain(domain: Domain, *, replace: bool = False, validate: bool = True,
                    samples: int = 3) -> list[str]:
    """Register a user's domain: its ids work with ``gym.make`` from now on.

    The domain joins no suite id (``Seen-v0``, ``Unseen-v0``, ...): it gets its own
    ``ToolMaster/<Title>-v0`` and ``ToolMaster/<Title>-Drift-v0``, and any env accepts it
    by name (``gym.make("ToolMaster/Seen-v0", domains=["mine", "weather"])``).

    Args:
        domain: The domain (``Domain(...)`` or an importer such as
            :func:`tool_gym.domain_from_functions`).
        replace: Replace a registered domain of the same name (never a built-in one).
        validate: Refuse a broken domain (:func:`tool_gym.contract.validate_domain`: names,
            tool docs and types, schemas, ``samples`` generated tasks whose golden plans
            pass on their own world, a world that forks). ``check_domain`` checks more.
        samples: Task seeds the validation generates.

    Returns:
        The two registered ids.

    Raises:
        DomainError: Naming the problem and the fix.

    Example:
        >>> import tool_gym
        >>> ids = tool_gym.register_domain(my_domain)  # doctest: +SKIP
        >>> env = gym.make(ids[0])  # doctest: +SKIP
    """
    from tool_gym.contract import validate_domain
    from tool_gym.errors import DomainError

    if not isinstance(domain, Domain):
        raise DomainError(f"expected a tool_gym.Domain, got {type(domain).__name__}; build one "
                          "with Domain(...), tool_gym.domain_from_functions(...) or "
                          "tool_gym.domain_from_openai(...)")
    if _REGISTERED.get(domain.name) is domain:
        return domain_ids(domain)
    if domain.name in built_in_domains():
        raise DomainError(f"domain name '{domain.name}' is taken by a built-in domain; choose "
                          "another name")
    if domain.name in _REGISTERED and not replace:
        raise DomainError(f"a domain named '{domain.name}' is already registered; choose "
                          f"another name, pass replace=True or call "
                          f"unregister_domain('{domain.name}') first")
    if domain.title.lower() in RESERVED_TITLES:
        raise DomainError(f"title '{domain.title}' would clash with ToolMaster/"
                          f"{domain.title}-v0, a suite id; choose another title")
    clash = [d.name for d in domains().values()
             if d.title.lower() == domain.title.lower() and d.name != domain.name]
    taken = [i for i in domain_ids(domain) if i in gym.registry]
    if clash or (taken and domain.name not in _REGISTERED):
        owner = f"domain '{clash[0]}'" if clash else "another env"
        raise DomainError(f"title '{domain.title}' clashes with {owner} (id "
                          f"{domain_ids(domain)[0]}); choose another title")
    if validate:
        validate_domain(domain, samples=samples)
    if domain.name in _REGISTERED:
        unregister_domain(domain.name)
    _REGISTERED[domain.name] = domain
    return _register_domain_ids(domain)


def unregister_domain(name: str) -> None:
    """Remove a domain registered with :func:`register_domain` (or an entry point) and its ids."""
    from tool_gym.errors import DomainError

    if name not in _REGISTERED:
        if name in built_in_domains():
            raise DomainError(f"'{name}' is a built-in domain; only registered domains can be "
                              "unregistered")
        raise DomainError(f"no registered domain '{name}'; registered: "
                          f"{', '.join(_REGISTERED) or 'none'}")
    domain = _REGISTERED.pop(name)
    for env_id in domain_ids(domain):
        gym.registry.pop(env_id, None)


def as_domains(value: Any) -> list[Domain]:
    """The domains an entry point or a ``module:NAME`` names: a Domain, a list of them, or
    a function returning either; TypeError otherwise."""
    if callable(value) and not isinstance(value, Domain):
        value = value()
    if isinstance(value, Domain):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes, dict)):
        found = list(value)
        if found and all(isinstance(d, Domain) for d in found):
            return found
    raise TypeError(f"an entry point of group '{ENTRY_POINT_GROUP}' must name a Domain, a "
                    f"list of Domains or a function returning one, got {type(value).__name__}")


def load_entry_points() -> list[str]:
    """Register the domains of the ``tool_gym.domains`` entry points; returns their ids.

    A broken entry point (import error, not a domain, refused by validation) is skipped
    with a logged warning naming it: it never breaks ``import tool_gym``.
    """
    from importlib.metadata import entry_points

    ids: list[str] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            for domain in as_domains(ep.load()):
                ids += register_domain(domain)
        except Exception as e:  # a user's package must not break import tool_gym
            log.warning("tool_gym: entry point '%s = %s' (group %s) was not registered: %s: %s",
                        ep.name, ep.value, ENTRY_POINT_GROUP, type(e).__name__, e)
    return ids


def register_envs() -> None:
    """Register every ``ToolMaster/...`` id, then the entry points' domains. Safe to call
    more than once."""
    for d in built_in_domains().values():
        _register_domain_ids(d)
    for env_id, suite, split, level in SUITE_IDS:
        extra = {"drift_level": level} if level else {}
        _register(f"{NAMESPACE}/{env_id}", domains=suite_domains(suite), split=split, **extra)
    # Families (generated domains) have their own ids and entry points, outside the splits above.
    for family in families():
        for suffix, extra in (("", {}), ("-Drift", {"drift_level": "light"})):
            env_id = f"{NAMESPACE}/{family.title}{suffix}-v0"
            if env_id not in gym.registry:
                gym.register(id=env_id, entry_point=family.entry_point, kwargs=extra,
                             disable_env_checker=False)
    if REMOTE_ID not in gym.registry:
        gym.register(id=REMOTE_ID, entry_point="tool_gym.remote:RemoteToolEnv",
                     disable_env_checker=False)
    load_entry_points()
