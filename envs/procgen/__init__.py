"""Procgen: a new tool API from every API seed (after RandomWorld, Sullivan et al. 2025).

Each API seed draws a small typed world and the tools over it:

- **types**: entity ids (``BEA-1042``), names, dates, money in the API's currency,
  quantities with units, enums, booleans and lists of records, so tools compose by type
  (a search returns ids that a getter takes, a getter returns a quantity a converter takes);
- **entities**: a main kind (``beacon``) and, in most APIs, a parent kind (``depot``) each
  main entity belongs to, with attributes drawn from typed vocabularies;
- **tools**: 4-12 drawn from families (search by text, filter by attribute, get by id,
  list related, range by quantity, create, update, move, delete, aggregate, convert), their
  names, parameter names and docs generated from vocabularies (about 170 main nouns, 40
  parent nouns, 4-6 verbs a family), so a tool name rarely repeats across APIs;
- **tasks**: seeded, with golden plans of 1-4 calls: lookups, counts, aggregates,
  conversions, chains (search -> get -> convert), non-linear plans (two searches feeding a
  move, two getters compared) and state changes checked on the final world.

The backend is in memory (``ProcgenWorld``: one table per entity kind). Errors say what is
wrong and how to fix it, like the hand-written domains. API seeds are split like task
seeds (one in five is a test API, ``api_split="test"``: an unseen generated API); each
generated API is a :class:`~tool_gym.domain.Domain` named ``procgen_<api_seed>`` that
``get_domain`` resolves, so drift, stale docs, the explorer and the teachers treat it like
any other domain. It is never part of ``Seen-v0``, ``Unseen-v0`` or ``Drift-v0``.

    >>> import gymnasium as gym, tool_gym
    >>> env = gym.make("ToolMaster/Procgen-v0", api_seed=7)
    >>> obs, info = env.reset(seed=0)
    >>> info["domain"], info["api_seed"]
    ('procgen_7', 7)

Modules, one concept each: :mod:`~tool_gym.envs.procgen.vocabulary` (the words drawn from),
:mod:`~tool_gym.envs.procgen.api` (the API description and its generator),
:mod:`~tool_gym.envs.procgen.backend` (the world, the operations and the tool specs),
:mod:`~tool_gym.envs.procgen.tasks` (tasks and their golden plans); this module makes the
domains, the family and the env.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from typing import Any

import gymnasium as gym

from tool_gym import Domain
from tool_gym.domain import TEST_EVERY
from tool_gym.env import ToolEnv
from tool_gym.envs.procgen.api import Api, Kind, ToolDef, generate_api
from tool_gym.envs.procgen.backend import (
    GeneratedSpec,
    Operation,
    ProcgenWorld,
    build_spec,
    make_world,
)
from tool_gym.envs.procgen.tasks import make_task
from tool_gym.envs.procgen.vocabulary import DIMENSION_UNITS, plural
from tool_gym.family import DomainFamily
from tool_gym.units import UNITS

__all__ = [
    "API_SEEDS", "DIMENSION_UNITS", "FAMILY", "PREFIX", "UNITS", "Api", "GeneratedSpec",
    "Kind", "Operation", "ProcgenEnv", "ProcgenWorld", "ToolDef", "api_split", "build_domain",
    "build_spec", "generate_api", "make_domain", "make_task", "make_world", "plural",
    "pool_seed",
]

PREFIX = "procgen"


def api_split(api_seed: int) -> str:
    """``"test"`` for one API seed in five (unseen generated APIs), else ``"train"``."""
    return "test" if api_seed % TEST_EVERY == 0 else "train"


def build_domain(api_seed: int) -> Domain:
    """The domain of one API seed (not cached; :func:`make_domain` caches)."""
    api = generate_api(api_seed)
    tools = [build_spec(api, t) for t in api.tools]
    hints: dict[str, str] = {}
    for t in api.tools:
        for role, pname in t.params:
            if role == "min":
                hints[f"{t.name}.{pname}"] = f"unit:{api.main.qty[1]}"  # type: ignore[index]
            elif role in ("value", "from", "to"):
                hints[f"{t.name}.{pname}"] = "enum"
    what = api.main.plural + (f" in {plural(api.parent.noun)}" if api.parent else "")
    return Domain(name=f"{PREFIX}_{api_seed}", title=f"Procgen{api_seed}",
                  description=f"Generated API {api_seed}: {what}.", tools=tools,
                  make_world=partial(make_world, api), make_task=partial(make_task, api),
                  split="unseen" if api_split(api_seed) == "test" else "seen", hints=hints)


@lru_cache(maxsize=512)
def make_domain(api_seed: int) -> Domain:
    """The (cached) domain of one API seed: ``procgen_<api_seed>``."""
    return build_domain(int(api_seed))


def _resolve(name: str) -> Domain | None:
    m = re.fullmatch(rf"{PREFIX}_(\d{{1,10}})", name)
    return make_domain(int(m[1])) if m else None


API_SEEDS = 2**31 // TEST_EVERY - 1


def pool_seed(index: int, api_split: str = "train") -> int:
    """The ``index``-th API seed of ``api_split`` in increasing order: train seeds 1, 2, 3, 4,
    6, ...; test seeds 0, 5, 10, ...; all seeds 0, 1, 2, ... (``api_pool`` draws from the
    first ones)."""
    index = int(index)
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    if api_split == "train":
        return index + index // (TEST_EVERY - 1) + 1
    return index * TEST_EVERY if api_split == "test" else index


class ProcgenEnv(ToolEnv):
    """A :class:`ToolEnv` whose domain is a generated API, drawn per episode.

    Args:
        api_seed: A fixed API seed; None draws one per reset from ``api_split``.
        api_split: ``"train"`` (four API seeds in five), ``"test"`` (unseen generated APIs)
            or ``"all"``.
        api_pool: Draw only from the first ``api_pool`` API seeds of ``api_split``
            (:func:`pool_seed`): ``reset(seed=s)`` plays API ``s % api_pool``, so consecutive
            reset seeds spread episodes evenly over the pool (a budget of n episodes gives
            each API n / api_pool of them, whatever the pool's size); a reset without a seed
            draws one. None: any API seed of the split.
        **kwargs: Everything :class:`ToolEnv` takes (``split`` picks task seeds of train
            APIs, as for seen domains; ``mutations``, ``drift_level``, ``stale_docs``...).

    ``reset(options={"api_seed": a, "task_seed": t})`` fixes either; same seeds, same episode.
    """

    def __init__(self, api_seed: int | None = None, api_split: str = "train",
                 api_pool: int | None = None, **kwargs: Any) -> None:
        if api_split not in ("train", "test", "all"):
            raise ValueError(f"api_split must be 'train', 'test' or 'all', got {api_split!r}")
        if api_pool is not None and not 1 <= int(api_pool) <= API_SEEDS:
            raise ValueError(f"api_pool must be None or 1 to {API_SEEDS}, got {api_pool!r}")
        kwargs.pop("domains", None)
        super().__init__(domains=None, **kwargs)
        self.api_seed = None if api_seed is None else int(api_seed)
        self.api_split = api_split
        self.api_pool = None if api_pool is None else int(api_pool)
        self._reset_seed: int | None = None
        self.domains = [make_domain(self.api_seed if self.api_seed is not None else 1)]

    def _draw_api_seed(self) -> int:
        if self.api_pool is not None:
            index = (self._reset_seed % self.api_pool if self._reset_seed is not None
                     else int(self.np_random.integers(self.api_pool)))
            return pool_seed(index, self.api_split)
        base = int(self.np_random.integers(0, API_SEEDS))
        if self.api_split == "all":
            return base * TEST_EVERY + int(self.np_random.integers(TEST_EVERY))
        if self.api_split == "test":
            return base * TEST_EVERY
        return base * TEST_EVERY + 1 + int(self.np_random.integers(TEST_EVERY - 1))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        gym.Env.reset(self, seed=seed)
        self._reset_seed = None if seed is None else int(seed)
        options = dict(options or {})
        if "api_seed" in options:
            api_seed = int(options.pop("api_seed"))
        elif self.api_seed is not None:
            api_seed = self.api_seed
        else:
            api_seed = self._draw_api_seed()
        self.domains = [make_domain(api_seed)]
        options.pop("domain", None)
        return super().reset(seed=None, options=options)

    def _base_info(self) -> dict[str, Any]:
        info = super()._base_info()
        info["api_seed"] = int(self.domain.name.rsplit("_", 1)[1])
        return info


FAMILY = DomainFamily(prefix=PREFIX, title="Procgen", resolve=_resolve,
                      entry_point="tool_gym.envs.procgen:ProcgenEnv")
