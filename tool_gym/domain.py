"""Domains: one tool API with its world, tools and seeded task generator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tool_gym.errors import DomainError
from tool_gym.spec import ToolSpec
from tool_gym.task import Task
from tool_gym.world import World

Split = Literal["seen", "unseen"]

# Task seeds are split by residue so every split holds thousands of distinct tasks.
TEST_EVERY = 5  # one seed in five is held out as test for seen domains


def seed_split(seed: int) -> Literal["train", "test"]:
    return "test" if seed % TEST_EVERY == 0 else "train"


@dataclass
class Domain:
    """A tool API.

    Attributes:
        name: Lower-case identifier (``"weather"``); the env id uses ``title``.
        title: CamelCase name for ids (``ToolMaster/<title>-v0``).
        description: One line for the catalogue header.
        tools: The domain's tools.
        make_world: ``make_world(rng) -> World``; the state a task starts from.
        make_task: ``make_task(rng, world, seed) -> Task``.
        split: ``"seen"`` (training domain) or ``"unseen"`` (held out).
        hints: Facts for drift that no generic code can guess, keyed ``"tool.param"``
            with a kind: ``"date"``, ``"enum"``, ``"unit:km"``, ``"currency"``...
        synonyms: The domain's own drift vocabulary: words of its tool and parameter
            names mapped to synonyms (``{"forecast": ["outlook"]}``), used by synonym
            renames on top of the generic English verbs in ``tool_gym.drift``. A domain's
            words never change another domain's renames.
    """

    name: str
    title: str
    description: str
    tools: Sequence[ToolSpec]
    make_world: Callable[[np.random.Generator], World]
    make_task: Callable[[np.random.Generator, World, int], Task]
    split: Split = "seen"
    hints: dict[str, str] = field(default_factory=dict)
    synonyms: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise DomainError(f"domain '{self.name}': two tools are named {dupes}; rename one")
        self.tool_map = {t.name: t for t in self.tools}

    def generate(self, seed: int) -> tuple[World, Task]:
        """World and task for one task seed: same seed, same world and task."""
        rng = np.random.default_rng([seed, _stable_hash(self.name)])
        world = self.make_world(rng)
        task = self.make_task(rng, world, seed)
        task.task_id = f"{self.name}-{seed}"
        task.domain = self.name
        task.seed = seed
        return world, task


def _stable_hash(text: str) -> int:
    h = 0
    for ch in text.encode():
        h = (h * 131 + ch) % (2**31 - 1)
    return h
