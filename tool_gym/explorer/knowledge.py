"""What the explorer has learned: about one callable name, and about the current form of
one old tool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tool_gym.spec import ToolSpec


@dataclass
class Candidate:
    """What the explorer has learned about one callable name."""

    name: str
    params: list[str] | None = None  # all parameters, in order, when known
    required: list[str] | None = None
    enums: dict[str, list[Any]] = field(default_factory=dict)
    patterns: dict[str, tuple[str, str]] = field(default_factory=dict)  # regex, description
    types: dict[str, str] = field(default_factory=dict)
    descs: dict[str, str] = field(default_factory=dict)
    description: str | None = None  # from the catalogue as shown
    rejected: bool = False  # unknown, deprecated or a refusing distractor
    validated: bool = False  # passed validation at least once
    ok_results: list[Any] = field(default_factory=list)
    tries: dict[str, int] = field(default_factory=dict)  # per old tool it was tried for
    perm: dict[str, int] = field(default_factory=dict)  # per old tool: next guessed pairing

    @property
    def known_params(self) -> list[str] | None:
        return self.params if self.params is not None else self.required


@dataclass
class Belief:
    """What the explorer believes about the current form of one old tool."""

    old: ToolSpec
    name: str | None = None  # current name, when known for sure
    verified: bool = False  # a call of the current form succeeded
    tried_old: bool = False
