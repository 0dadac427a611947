"""Tasks: a user query, a hidden checker, and a golden plan of tool calls."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tool_gym.world import World

Checker = Callable[[str | None, World], bool]


@dataclass(frozen=True)
class Ref:
    """A value taken from the result of an earlier plan step.

    ``path`` is a dotted path into that step's result, e.g. ``"0.id"`` for the ``id`` of
    the first item of a list result, or ``"total"``. An empty path means the whole result.

    Example:
        >>> Ref(0, "items.1.name").resolve([{"items": [{"name": "a"}, {"name": "b"}]}])
        'b'
    """

    step: int
    path: str = ""

    def resolve(self, results: Sequence[Any]) -> Any:
        value = results[self.step]
        for key in filter(None, self.path.split(".")):
            value = value[int(key)] if isinstance(value, list) else value[key]
        return value


@dataclass(frozen=True)
class Step:
    """One call of a golden plan, in the canonical (un-mutated) API."""

    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def bind(self, results: Sequence[Any]) -> dict[str, Any]:
        """Arguments with every :class:`Ref` replaced by its value."""
        return {k: _bind(v, results) for k, v in self.arguments.items()}


def _bind(value: Any, results: Sequence[Any]) -> Any:
    if isinstance(value, Ref):
        return value.resolve(results)
    if isinstance(value, dict):
        return {k: _bind(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_bind(v, results) for v in value]
    return value


@dataclass
class Task:
    """A generated task. Everything but ``query`` is hidden from the agent.

    Attributes:
        task_id: ``"<domain>-<seed>"``.
        domain: Domain name.
        query: What the user asks, in words.
        plan: Golden plan; later steps may refer to earlier results with :class:`Ref`.
        answer: The golden final answer: a string, or a Ref into the plan's results.
        check: Hidden checker ``check(answer, world) -> bool`` over the agent's final
            answer and the final world.
        seed: The task seed that generated the world and the task.
    """

    task_id: str
    domain: str
    query: str
    plan: list[Step]
    answer: str | Ref
    check: Checker = field(repr=False)
    seed: int = 0

    @property
    def changes_world(self) -> bool:
        return getattr(self.check, "uses_world", False)

    def golden_answer(self, results: Sequence[Any]) -> str:
        value = self.answer.resolve(results) if isinstance(self.answer, Ref) else self.answer
        return format_value(value)


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


_NUM = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


_PUNCT = re.compile(r"[^\w\s.:-]|(?<!\d)[.:]|[.:](?!\d)")


def normalize(text: str) -> str:
    """Lower case, punctuation dropped (a dot or colon stays only inside numbers and times)."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


# Checkers. Small composable predicates; each names whether it reads the world.


def answer_is(expected: Any) -> Checker:
    """The answer contains the expected value (case- and punctuation-insensitive).

    Numbers compare numerically (to 0.01) against any number in the answer.
    """
    exp = format_value(expected)

    def check(answer: str | None, world: World) -> bool:
        if answer is None:
            return False
        if isinstance(expected, (int, float)) and not isinstance(expected, bool):
            for m in _NUM.findall(answer):
                if abs(float(m.replace(",", "")) - float(expected)) <= 0.01 + 1e-9:
                    return True
            return False
        a, e = normalize(answer), normalize(exp)
        return bool(e) and (a == e or f" {e} " in f" {a} ")

    return check


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def answer_mentions(*phrases: str) -> Checker:
    """The answer mentions one of the phrases as whole words (case and punctuation ignored).

    Stricter than :func:`answer_is` about word boundaries ("sci-fi" must not match "sci"),
    looser about separators ("09:30" matches "09 30").
    """
    keys = [k for k in (_words(p) for p in phrases) if k]

    def check(answer: str | None, world: World) -> bool:
        text = f" {_words(answer or '')} "
        return any(f" {k} " in text for k in keys)

    return check


def answer_in_all(expected: Sequence[Any]) -> Checker:
    """The answer mentions every expected value."""
    parts = [answer_is(e) for e in expected]

    def check(answer: str | None, world: World) -> bool:
        return all(p(answer, world) for p in parts)

    return check


def world_has(predicate: Callable[[World], bool]) -> Checker:
    """The final world satisfies ``predicate`` (answer ignored, but must be given)."""

    def check(answer: str | None, world: World) -> bool:
        return answer is not None and bool(predicate(world))

    check.uses_world = True  # type: ignore[attr-defined]
    return check


def all_of(*checkers: Checker) -> Checker:
    def check(answer: str | None, world: World) -> bool:
        return all(c(answer, world) for c in checkers)

    check.uses_world = any(getattr(c, "uses_world", False) for c in checkers)  # type: ignore[attr-defined]
    return check
