"""Domains from what users already have: typed Python functions, or OpenAI tool specs.

Both routes build an ordinary :class:`~tool_gym.domain.Domain`, so ``register_domain``,
``check_domain``, drift and stale docs apply as to a built-in domain.

**State.** A function that takes a first parameter named ``state`` gets the episode's
state: ``state=`` of the importer is its starting value (deep-copied for every episode) or
a factory ``state()`` / ``state(rng)``. Such a function is a tool with side effects unless
named in ``read_only``, so its trials run on a deep copy of the state and never change the
real one. Functions without ``state`` are pure. Keep all mutable data in the state: a
global a function changes is invisible to forks and to the checker.

**Errors.** An exception of a type in ``errors`` (default ``ValueError`` and
``LookupError``) becomes the tool's error message, which the agent reads; anything else
is a bug in the function and the env reports it as one.

**Tasks.** A list of dicts (or :class:`~tool_gym.task.Task` objects); task seed ``s``
plays ``tasks[s % len(tasks)]``. Or a generator ``tasks(rng, state) -> dict`` for
many tasks. A dict holds:

- ``query``: what the user asks;
- ``answer``: the expected value (the final answer must contain it), or ``check``: a
  function ``check(answer, state) -> bool`` over the final answer and the final state;
- ``plan`` (optional): the golden plan, a list of ``(tool, arguments)`` where an argument
  may be :class:`~tool_gym.task.Ref` ``(i, "path")`` into an earlier step's result;
- ``golden_answer`` (optional): what a golden run answers, a string or a ``Ref`` into
  the plan's results (default: the last step's result, so a plan that finds the wrong
  thing fails validation; give it when the answer is not the last result as it is).

A task without a plan still plays and scores, but teachers and the golden checks of
``check_domain`` skip it.

Example:
    >>> def get_temp(city: str) -> float:
    ...     '''Current temperature of a city in Celsius.
    ...
    ...     Args:
    ...         city: City name, e.g. "Paris".
    ...     '''
    ...     return {"Paris": 21.5, "Oslo": 8.0}[city]
    >>> domain = domain_from_functions([get_temp], name="temps", tasks=[
    ...     {"query": "How warm is Oslo?", "answer": 8.0, "plan": [("get_temp", {"city": "Oslo"})]}])
    >>> tool_gym.register_domain(domain)  # doctest: +SKIP
    ['ToolMaster/Temps-v0', 'ToolMaster/Temps-Drift-v0']
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tool_gym.domain import Domain, Split
from tool_gym.errors import DomainError, SpecError, ToolError
from tool_gym.spec import ToolSpec, tool
from tool_gym.task import Checker, Ref, Step, Task, answer_is
from tool_gym.world import World

STATE = "state"
TaskSpec = Task | Mapping[str, Any]
Tasks = Sequence[TaskSpec] | Callable[[np.random.Generator, Any], TaskSpec]


class StateWorld(World):
    """The world of an imported domain: one user object, forked by deep copy."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def fork(self) -> StateWorld:
        return StateWorld(copy.deepcopy(self.state))

    def fingerprint(self) -> str:
        blob = json.dumps(_plain(self.state), sort_keys=True, default=repr)
        return hashlib.sha256(blob.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """The state as JSON-able data, so equal states have equal digests (no addresses)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "__dict__"):
        return {"__type__": type(value).__name__, **_plain(vars(value))}
    return repr(value)


def domain_from_functions(
    functions: Sequence[Callable[..., Any]] | Mapping[str, Callable[..., Any]],
    tasks: Tasks,
    *,
    name: str,
    title: str | None = None,
    description: str | None = None,
    state: Any = None,
    read_only: Sequence[str] = (),
    errors: tuple[type[BaseException], ...] = (ValueError, LookupError),
    split: Split = "seen",
    synonyms: Mapping[str, list[str]] | None = None,
    hints: Mapping[str, str] | None = None,
    validate: bool = True,
) -> Domain:
    """A domain from typed, documented Python functions and a list of tasks.

    Each function becomes a tool: its name, its docstring's first paragraph (the
    description) and ``Args:`` section (parameter docs), and its type hints (the JSON
    Schema: ``str``, ``int``, ``float``, ``bool``, ``list[...]``, ``Literal[...]``,
    ``Optional``, ``Annotated[..., {"pattern": ...}]``).

    Args:
        functions: The functions, or a mapping from tool name to function.
        tasks: Task dicts, :class:`Task` objects, or a generator (see the module doc).
        name: Lower-case domain name (task ids are ``<name>-<seed>``).
        title: CamelCase id title (default: from ``name``): ``ToolMaster/<title>-v0``.
        description: One line for the catalogue header.
        state: Starting state, or a factory ``state()`` / ``state(rng)``.
        read_only: Tools that take the state but never change it (trials skip the fork).
        errors: Exception types that are the tool's answer, not a bug.
        split: ``"seen"`` or ``"unseen"``.
        synonyms: The domain's drift vocabulary (``{"temp": ["temperature"]}``).
        hints: Drift hints, as :class:`Domain`.
        validate: Check the domain now (:func:`tool_gym.contract.validate_domain`).

    Raises:
        DomainError: Naming the problem and the fix.
    """
    items = _named(functions)
    specs = [_function_spec(tool_name, fn, read_only, errors) for tool_name, fn in items]
    return _domain(specs, tasks, name=name, title=title, description=description, state=state,
                   split=split, synonyms=synonyms, hints=hints, validate=validate)


def domain_from_openai(
    tools: Sequence[Mapping[str, Any]],
    functions: Sequence[Callable[..., Any]] | Mapping[str, Callable[..., Any]],
    tasks: Tasks,
    *,
    name: str,
    title: str | None = None,
    description: str | None = None,
    state: Any = None,
    read_only: Sequence[str] = (),
    errors: tuple[type[BaseException], ...] = (ValueError, LookupError),
    split: Split = "seen",
    synonyms: Mapping[str, list[str]] | None = None,
    hints: Mapping[str, str] | None = None,
    validate: bool = True,
) -> Domain:
    """A domain from OpenAI function-format specs (a chat request's ``tools``) and callables.

    Args:
        tools: ``[{"type": "function", "function": {"name", "description", "parameters"}}]``
            (the outer wrapper is optional). The schemas are used as they are.
        functions: One callable per tool (a mapping by tool name, or functions whose
            ``__name__`` is the tool name), called with the arguments as keywords (and the
            state first, if its first parameter is ``state``).
        tasks, name, title, description, state, read_only, errors, split, synonyms, hints,
        validate: As :func:`domain_from_functions`.

    Raises:
        DomainError: Naming the problem and the fix.
    """
    table = dict(_named(functions))
    specs, seen = [], []
    for i, entry in enumerate(tools):
        function = entry.get("function", entry) if isinstance(entry, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise DomainError(f"tools[{i}] is not an OpenAI tool: expected {{'type': 'function', "
                              "'function': {'name': ..., 'description': ..., 'parameters': "
                              f"{{...}}}}}}, got {str(entry)[:120]}")
        tool_name = function["name"]
        seen.append(tool_name)
        if tool_name not in table:
            raise DomainError(f"no function for tool '{tool_name}'; pass one in functions= "
                              f"(given: {', '.join(table) or 'none'})")
        try:
            spec = ToolSpec.from_openai(entry)
        except (SpecError, Exception) as e:
            raise DomainError(f"tool '{tool_name}': its parameters are not a valid JSON Schema "
                              f"object ({e}); fix the spec") from None
        fn = table[tool_name]
        takes_state = _takes_state(fn)
        _check_parameters(tool_name, fn, spec.param_names, takes_state)
        specs.append(spec.replace(side_effects=takes_state and tool_name not in read_only,
                                  fn=_backend(fn, takes_state, errors)))
    extra = sorted(set(table) - set(seen))
    if extra:
        raise DomainError(f"functions {extra} have no spec in tools=; add their specs or drop "
                          "them")
    return _domain(specs, tasks, name=name, title=title, description=description, state=state,
                   split=split, synonyms=synonyms, hints=hints, validate=validate)


# -- tools --------------------------------------------------------------------------------


def _named(functions: Any) -> list[tuple[str, Callable[..., Any]]]:
    if isinstance(functions, Mapping):
        items = list(functions.items())
    else:
        items = [(getattr(f, "__name__", ""), f) for f in functions]
    for tool_name, fn in items:
        if not callable(fn):
            raise DomainError(f"tool '{tool_name}': expected a function, got {type(fn).__name__}")
        if not tool_name or tool_name == "<lambda>":
            raise DomainError("a function has no usable name (a lambda?); pass a mapping "
                              "{'tool_name': fn} or use def")
    return items


def _takes_state(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] == STATE


def _check_parameters(tool_name: str, fn: Callable[..., Any], params: list[str],
                      takes_state: bool) -> None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        sig.bind(*([None] if takes_state else []), **dict.fromkeys(params))
    except TypeError as e:
        raise DomainError(f"tool '{tool_name}': its function does not take the spec's parameters "
                          f"{params} ({e}); make the names match") from None


def _function_spec(tool_name: str, fn: Callable[..., Any], read_only: Sequence[str],
                   errors: tuple[type[BaseException], ...]) -> ToolSpec:
    takes_state = _takes_state(fn)
    try:
        if takes_state:  # the state is the first parameter, as the world is for @tool
            spec = tool(fn, name=tool_name)
        else:
            spec = tool(_with_world(fn), name=tool_name)
    except SpecError as e:
        raise DomainError(f"tool '{tool_name}': {e}; annotate every parameter with a supported "
                          "type (str, int, float, bool, list[str], Literal['a', 'b'], "
                          "Optional[int], Annotated[str, {'pattern': ...}])") from None
    if not spec.description:
        raise DomainError(f"tool '{tool_name}' has no description; give its function a "
                          "docstring (first paragraph: what it does; an Args: section for the "
                          "parameters)")
    return spec.replace(side_effects=takes_state and tool_name not in read_only,
                        fn=_backend(fn, takes_state, errors))


def _with_world(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with a leading ``world`` parameter, so ``@tool`` reads the rest of its signature."""

    @functools.wraps(fn)
    def shim(world: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    sig = inspect.signature(fn)
    world = inspect.Parameter("world", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    shim.__signature__ = sig.replace(parameters=[world, *sig.parameters.values()])
    return shim


def _backend(fn: Callable[..., Any], takes_state: bool,
             errors: tuple[type[BaseException], ...]) -> Callable[..., Any]:
    def run(world: StateWorld, **arguments: Any) -> Any:
        try:
            if takes_state:
                return fn(world.state, **arguments)
            return fn(**arguments)
        except ToolError:
            raise
        except errors as e:
            message = e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else str(e)
            raise ToolError(message or type(e).__name__) from e

    run.__name__ = getattr(fn, "__name__", "tool")
    run.function = fn  # type: ignore[attr-defined]
    return run


# -- tasks and the domain -----------------------------------------------------------------


def task_from_spec(spec: TaskSpec, where: str) -> Task:
    """A Task from a task dict (or a copy of a Task); ``where`` names it in errors."""
    if isinstance(spec, Task):
        return copy.copy(spec)
    if not isinstance(spec, Mapping):
        raise DomainError(f"{where}: a task is a dict {{'query', 'answer' or 'check', 'plan'}} or "
                          f"a Task, got {type(spec).__name__}")
    if not isinstance(spec.get("query"), str) or not spec["query"].strip():
        raise DomainError(f"{where}: needs a 'query' (what the user asks), got keys "
                          f"{sorted(spec)}")
    if "check" not in spec and "answer" not in spec:
        raise DomainError(f"{where}: needs 'answer' (the expected value) or 'check' "
                          "(check(answer, state) -> bool)")
    unknown = set(spec) - {"query", "answer", "check", "plan", "golden_answer"}
    if unknown:
        raise DomainError(f"{where}: unknown keys {sorted(unknown)}; a task has query, answer, "
                          "check, plan, golden_answer")
    plan = None
    if "plan" in spec:
        plan = []
        for i, step in enumerate(spec["plan"]):
            if isinstance(step, Step):
                plan.append(step)
            elif (isinstance(step, Sequence) and len(step) == 2 and isinstance(step[0], str)
                  and isinstance(step[1], Mapping)):
                plan.append(Step(step[0], dict(step[1])))
            else:
                raise DomainError(f"{where}: plan step {i} must be (tool_name, {{arguments}}), "
                                  f"got {step!r}")
    check = _checker(spec["check"]) if "check" in spec else answer_is(spec["answer"])
    if plan is None:
        golden: Any = None  # no golden plan: the contract's golden checks skip this task
    elif "golden_answer" in spec:
        golden = spec["golden_answer"]
    elif plan:  # what the plan found, so a plan that finds the wrong thing fails
        golden = Ref(len(plan) - 1)
    else:
        golden = spec.get("answer", "")
    if golden is not None and not isinstance(golden, (str, Ref)):
        golden = str(golden)
    return Task("", "", spec["query"], plan or [], golden, check)


def _checker(check: Callable[..., Any]) -> Checker:
    if not callable(check):
        raise DomainError(f"'check' must be a function check(answer, state) -> bool, got "
                          f"{type(check).__name__}")
    try:
        n = len(inspect.signature(check).parameters)
    except (TypeError, ValueError):
        n = 2

    def run(answer: str | None, world: World) -> bool:
        if answer is None:
            return False
        return bool(check(answer, world.state) if n >= 2 else check(answer))

    run.uses_world = n >= 2  # type: ignore[attr-defined]
    return run


def _state_factory(state: Any) -> Callable[[np.random.Generator], Any]:
    if not callable(state):
        return lambda rng: copy.deepcopy(state)
    try:
        n = len(inspect.signature(state).parameters)
    except (TypeError, ValueError):
        n = 0
    return (lambda rng: state(rng)) if n >= 1 else (lambda rng: state())


def _domain(specs: list[ToolSpec], tasks: Tasks, *, name: str, title: str | None,
            description: str | None, state: Any, split: Split,
            synonyms: Mapping[str, list[str]] | None, hints: Mapping[str, str] | None,
            validate: bool) -> Domain:
    if callable(tasks):
        generate = tasks

        def make_task(rng: np.random.Generator, world: World, seed: int) -> Task:
            return task_from_spec(generate(rng, world.state), f"task seed {seed}")
    else:
        task_list = [task_from_spec(t, f"tasks[{i}]") for i, t in enumerate(tasks)]
        if not task_list:
            raise DomainError(f"domain '{name}' has no tasks; give at least one task dict "
                              "{'query': ..., 'answer': ..., 'plan': [...]}")
        known = {s.name for s in specs}
        for i, task in enumerate(task_list):
            missing = [s.tool for s in task.plan if s.tool not in known]
            if missing:
                raise DomainError(f"tasks[{i}]: its plan calls '{missing[0]}', which is not a "
                                  f"tool; tools: {', '.join(sorted(known))}")

        def make_task(rng: np.random.Generator, world: World, seed: int) -> Task:
            return copy.copy(task_list[seed % len(task_list)])

    fresh_state = _state_factory(state)

    def make_world(rng: np.random.Generator) -> StateWorld:
        return StateWorld(fresh_state(rng))

    if not isinstance(name, str) or not name:
        raise DomainError("give the domain a name=, lower case (e.g. name='my_shop')")
    stateful = [s.name for s in specs if s.side_effects or _takes_state(s.fn.function)]
    if stateful and state is None:
        raise DomainError(f"tools {stateful} take a 'state' but no state= was given; pass the "
                          "starting state (or a factory) to the importer")
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DomainError(f"domain '{name}': several tools are named {dupes}; rename them")
    domain = Domain(name=name, title=title or _title(name),
                    description=description or f"{name.replace('_', ' ')} tools",
                    tools=specs, make_world=make_world, make_task=make_task, split=split,
                    hints=dict(hints or {}), synonyms={k: list(v) for k, v in
                                                       (synonyms or {}).items()})
    if validate:
        from tool_gym.contract import validate_domain

        samples = 3 if callable(tasks) else min(len(task_list), 20)
        validate_domain(domain, samples=samples)
    return domain


def _title(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)
