"""The task as the old docs describe it, and the paths its later steps and answer
follow through observed results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tool_gym.explorer.names import norm
from tool_gym.registration import get_domain
from tool_gym.spec import ToolSpec
from tool_gym.task import Ref, Step, format_value


@dataclass
class Intent:
    """The task as the old docs describe it.

    Attributes:
        catalogue: The old (pre-drift) tool docs.
        plan: Calls in the old API; arguments may be :class:`Ref` into earlier results.
        answer: The final answer: a literal, or a :class:`Ref` into the plan's results. Both
            policies here give a literal answer only once every planned call has succeeded
            (for tasks that change the world, "done" only counts if the calls happened).
    """

    catalogue: list[ToolSpec]
    plan: list[Step]
    answer: str | Ref


def canonical_intent(info: dict[str, Any]) -> Intent:
    """The old-API intent of the episode named by ``info`` (domain and task seed).

    Regenerates the task from the domain's canonical generator: the same plan a user who
    read the old docs would follow. Nothing comes from the env's episode or surface.
    """
    domain = get_domain(info["domain"])
    world, task = domain.generate(int(info["task_seed"]))
    world.close()
    return Intent(list(domain.tools), list(task.plan), task.answer)


IntentFn = Callable[[dict[str, Any]], Intent]

class RefError(LookupError):
    """A path could not be followed in an observed result."""


def follow(value: Any, path: str, literal: bool = False) -> Any:
    """Follow a canonical dotted path through an observed result.

    With ``literal`` the path must match exactly (the doc-following replay). Otherwise keys
    match case- and separator-insensitively, and envelopes (a dict whose wanted key lives
    one or two levels down, or a single list inside a dict) are looked through.
    """
    for key in filter(None, path.split(".")):
        value = _step(value, key, literal, depth=0)
    return value


def _step(value: Any, key: str, literal: bool, depth: int) -> Any:
    if isinstance(value, list):
        if key.lstrip("-").isdigit() and -len(value) <= int(key) < len(value):
            return value[int(key)]
        raise RefError(key)
    if not isinstance(value, dict):
        raise RefError(key)
    if key in value:
        inner = value[key]
        if not literal and depth == 0 and isinstance(inner, dict) and key in inner and len(
                value) <= 3:
            return inner[key]  # an envelope named like the field: {"result": {"result": 3}}
        return inner
    if literal:
        raise RefError(key)
    nk = norm(key)
    for k, v in value.items():
        if isinstance(k, str) and norm(k) == nk:
            return v
    if depth >= 2:
        raise RefError(key)
    children = [v for v in value.values() if isinstance(v, (dict, list))]
    if key.isdigit():
        lists = [v for v in children if isinstance(v, list)]
        if len(lists) == 1:
            return _step(lists[0], key, literal, depth + 1)
    for child in children:
        try:
            return _step(child, key, literal, depth + 1)
        except RefError:
            continue
    raise RefError(key)


def has_ref(value: Any) -> bool:
    if isinstance(value, Ref):
        return True
    if isinstance(value, dict):
        return any(has_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(has_ref(v) for v in value)
    return False


def bind(value: Any, results: Sequence[Any], literal: bool) -> Any:
    if isinstance(value, Ref):
        if value.step >= len(results):
            raise RefError(f"step {value.step}")
        return follow(results[value.step], value.path, literal)
    if isinstance(value, dict):
        return {k: bind(v, results, literal) for k, v in value.items()}
    if isinstance(value, list):
        return [bind(v, results, literal) for v in value]
    return value


def final_answer(answer: str | Ref, results: Sequence[Any], literal: bool) -> str:
    if isinstance(answer, Ref):
        try:
            return format_value(bind(answer, results, literal))
        except (RefError, KeyError, TypeError, IndexError):
            return "I could not find the answer."
    return answer
