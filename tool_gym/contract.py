"""The contract every domain meets, built-in or a user's.

:func:`validate_domain` is the cheap part, run by :func:`tool_gym.register_domain`: names,
tool docs and types, JSON Schemas, a few generated tasks whose golden plans pass on their
own world, a world that forks. :func:`check_domain` is the whole contract, the one the
suite's own tests apply to every built-in domain (``tests/test_envs.py``): Gymnasium's
``check_env`` with warnings as errors, same-seed determinism, a fuzz of random and
adversarial messages, golden plans of many tasks succeed and a wrong answer scores 0,
trials never change the world, drift and stale docs work, and the scripted explorer
solves stale-doc drift. ``tool-gym check module:DOMAIN`` prints its report.
"""

from __future__ import annotations

import inspect
import json
import re
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from tool_gym.domain import Domain
from tool_gym.errors import DomainError, ToolError
from tool_gym.spec import ToolSpec
from tool_gym.task import Task
from tool_gym.world import World

NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
TITLE_RE = re.compile(r"[A-Z][A-Za-z0-9]*")
TOOL_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")
_TYPED = ("type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref")
WRONG_ANSWER = "I don't know"

# --------------------------------------------------------------------------------------
# Validation at registration


def validate_domain(domain: Domain, samples: int = 3) -> None:
    """Raise :class:`DomainError` naming the first problem of ``domain`` and its fix.

    Checks names, every tool (docs, typed parameters, a valid JSON Schema, a backend that
    takes the parameters), hints and synonyms, then ``samples`` task seeds: the generator
    runs and is deterministic, the world forks into an independent copy, and each golden
    plan passes the task's own checker on a fork of its own world.
    """
    where = f"domain '{getattr(domain, 'name', domain)}'"
    if not isinstance(domain, Domain):
        raise DomainError(f"expected a tool_gym.Domain, got {type(domain).__name__}")
    if not isinstance(domain.name, str) or not NAME_RE.fullmatch(domain.name):
        raise DomainError(f"{where}: name must be lower case letters, digits and '_' starting "
                          f"with a letter (it appears in task ids), e.g. 'my_shop'")
    if not isinstance(domain.title, str) or not TITLE_RE.fullmatch(domain.title):
        raise DomainError(f"{where}: title {domain.title!r} must be CamelCase letters and digits "
                          "(it makes the id ToolMaster/<title>-v0), e.g. 'MyShop'")
    if domain.split not in ("seen", "unseen"):
        raise DomainError(f"{where}: split must be 'seen' or 'unseen', got {domain.split!r}")
    if not domain.tools:
        raise DomainError(f"{where}: it has no tools; give Domain(tools=[...]) at least one")
    seen: set[str] = set()
    for spec in domain.tools:
        _validate_tool(where, spec)
        if spec.name in seen:
            raise DomainError(f"{where}: two tools are named '{spec.name}'; rename one")
        seen.add(spec.name)
    params = {f"{t.name}.{p}" for t in domain.tools for p in t.param_names}
    for key in domain.hints:
        if key not in params:
            raise DomainError(f"{where}: hint '{key}' names no 'tool.parameter' of the domain; "
                              f"known: {', '.join(sorted(params)) or 'none'}")
    for word, synonyms in domain.synonyms.items():
        if not (isinstance(word, str) and isinstance(synonyms, list)
                and all(isinstance(s, str) and re.fullmatch(r"[a-z][a-z0-9]*", s)
                        for s in synonyms)):
            raise DomainError(f"{where}: synonyms must map a lower-case word to a list of "
                              f"lower-case words, got {word!r}: {synonyms!r}")
    for seed in range(samples):
        _validate_task(where, domain, seed)


def _validate_tool(where: str, spec: Any) -> None:
    if not isinstance(spec, ToolSpec):
        raise DomainError(f"{where}: tools must be ToolSpecs (decorate a typed function with "
                          f"@tool), got {type(spec).__name__}")
    what = f"{where}, tool '{spec.name}'"
    if not isinstance(spec.name, str) or not TOOL_NAME_RE.fullmatch(spec.name):
        raise DomainError(f"{what}: a tool name is letters, digits, '_' or '-' (at most 64), "
                          "starting with a letter or '_'")
    if not (spec.description or "").strip():
        raise DomainError(f"{what}: it has no description; write a docstring (its first "
                          "paragraph is the description) or pass description=")
    try:
        Draft202012Validator.check_schema(spec.parameters)
    except SchemaError as e:
        path = "/".join(str(p) for p in e.absolute_path) or "the root"
        raise DomainError(f"{what}: its parameters are not a valid JSON Schema (at {path}: "
                          f"{e.message}); fix the schema or the annotation it came from") from None
    props = spec.parameters.get("properties", {})
    for pname, pschema in props.items():
        if not isinstance(pschema, dict) or not any(k in pschema for k in _TYPED):
            raise DomainError(f"{what}: parameter '{pname}' has no type; annotate it "
                              f"(`{pname}: str`) or give its schema a \"type\"")
    missing = [r for r in spec.required if r not in props]
    if missing:
        raise DomainError(f"{what}: required parameters {missing} are not in its properties; "
                          "add them or drop them from 'required'")
    if not callable(spec.fn):
        raise DomainError(f"{what}: it has no backend; give ToolSpec(fn=...) a function "
                          "fn(world, **arguments)")
    try:
        inspect.signature(spec.fn).bind(None, **dict.fromkeys(props))
    except TypeError as e:
        raise DomainError(f"{what}: its function cannot take the world and the parameters "
                          f"{list(props)} ({e}); make it fn(world, {', '.join(props)})") from None
    except ValueError:  # builtins without a signature: nothing to check
        pass


def _validate_task(where: str, domain: Domain, seed: int) -> None:
    try:
        world, task = domain.generate(seed)
    except Exception as e:
        raise DomainError(f"{where}: make_world/make_task raised {type(e).__name__} for task seed "
                          f"{seed}: {e}; every seed must give a task") from e
    what = f"{where}, task seed {seed}"
    if not isinstance(world, World):
        raise DomainError(f"{where}: make_world must return a tool_gym.World (a dataclass "
                          f"subclassing World, SQLiteWorld, ...), got {type(world).__name__}")
    if not isinstance(task, Task):
        raise DomainError(f"{where}: make_task must return a tool_gym.Task, got "
                          f"{type(task).__name__}")
    if not isinstance(task.query, str) or not task.query.strip():
        raise DomainError(f"{what}: the task has no query; give Task(query='...')")
    try:
        fork = world.fork()
    except Exception as e:
        raise DomainError(f"{where}: its world ({type(world).__name__}) cannot fork: "
                          f"{type(e).__name__}: {e}; trials run on a fork, so make the state "
                          "deep-copyable or override World.fork") from e
    try:
        before = world.fingerprint()
        if fork.fingerprint() != before:
            raise DomainError(f"{where}: a fork of the world has another fingerprint than the "
                              "world; fingerprint() must digest the state only (no object "
                              "ids or addresses)")
        try:
            again_world, again = domain.generate(seed)
            same = again.query == task.query and again_world.fingerprint() == before
            again_world.close()
        except Exception as e:
            raise DomainError(f"{what}: generating it twice raised {type(e).__name__}: "
                              f"{e}") from e
        if not same:
            raise DomainError(f"{what}: the same seed gave another task or world; draw every "
                              "random choice from the rng make_world/make_task receive")
        results = run_plan(where, domain, task, fork)
        if world.fingerprint() != before:
            raise DomainError(f"{what}: running the golden plan on a fork changed the original "
                              "world; fork() must copy all state (share nothing mutable)")
        if task.answer is None:
            return  # a task without a golden plan: nothing more to check
        answer = task.golden_answer(results)
        if not task.check(answer, fork):
            raise DomainError(f"{what}: the golden plan's answer {answer!r} fails the task's own "
                              "checker; fix the plan, the answer or the checker")
    finally:
        fork.close()
        world.close()


def run_plan(where: str, domain: Domain, task: Task, world: World) -> list[Any]:
    """Run a task's golden plan on ``world`` through the backends; returns the results."""
    results: list[Any] = []
    for i, step in enumerate(task.plan):
        what = f"{where}, task seed {task.seed}, golden plan step {i} ({step.tool})"
        spec = domain.tool_map.get(step.tool)
        if spec is None:
            raise DomainError(f"{what}: no tool '{step.tool}' in the domain; tools: "
                              f"{', '.join(domain.tool_map)}")
        try:
            args = step.bind(results)
        except (LookupError, TypeError, ValueError) as e:
            raise DomainError(f"{what}: a Ref into an earlier result does not resolve "
                              f"({type(e).__name__}: {e}); fix its step or path") from e
        problem = spec.validate(args)
        if problem is not None:
            raise DomainError(f"{what}: its arguments break the tool's schema {problem}")
        try:
            results.append(spec.fn(world, **args))
        except ToolError as e:
            raise DomainError(f"{what}: the tool answered an error on the task's own world: "
                              f"{e}; fix the plan or the world") from e
        except Exception as e:
            raise DomainError(f"{what}: the tool raised {type(e).__name__}: {e}") from e
    return results


# --------------------------------------------------------------------------------------
# The whole contract


@dataclass
class CheckResult:
    """One check of :func:`check_domain`."""

    name: str
    ok: bool
    detail: str
    seconds: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class DomainReport:
    """What :func:`check_domain` found; ``str(report)`` is the short report."""

    domain: str
    results: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    def __getitem__(self, name: str) -> CheckResult:
        return next(r for r in self.results if r.name == name)

    def __str__(self) -> str:
        lines = [f"domain '{self.domain}': " + ("passes the contract" if self.ok else
                                                 f"{len(self.failures)} check(s) failed")]
        for r in self.results:
            mark = "ok  " if r.ok else "FAIL"
            lines.append(f"  {mark} {r.name:<12} {r.seconds:6.1f}s  {r.detail}")
        return "\n".join(lines)


def _env(domain: Domain, **kwargs: Any):
    from tool_gym.env import ToolEnv

    kwargs.setdefault("split", "all" if domain.split == "unseen" else "train")
    return ToolEnv(domains=[domain], **kwargs)


VARIANTS: tuple[dict[str, Any], ...] = ({}, {"drift_level": "light"})


def _check_validate(domain: Domain, **_: Any) -> str:
    validate_domain(domain, samples=5)
    return "names, tools, schemas, 5 tasks and their golden plans"


def _check_env(domain: Domain, **_: Any) -> str:
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    from tool_gym.registration import ENTRY_POINT, domain_ids

    split = "all" if domain.split == "unseen" else "train"
    for env_id, variant in zip(domain_ids(domain), VARIANTS, strict=True):
        # made from a spec, as gym.make(id) does, so check_env can remake it (render modes)
        spec = gym.envs.registration.EnvSpec(env_id, ENTRY_POINT, kwargs={
            "domains": [domain.name], "split": split, **variant})
        env = gym.make(spec).unwrapped
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env, skip_render_check=False)
        env.close()
    return "plain and drift envs, warnings as errors"


def fuzz_actions(rng: np.random.Generator, env: Any, n: int = 2000) -> list[str]:
    """Random and adversarial messages, plus calls built from the shown catalogue."""
    from tool_gym.oracle import unwrap

    base = unwrap(env)
    names = [t["function"]["name"]
             for t in base.reset(seed=int(rng.integers(1 << 30)))[1]["tools"]]
    junk_values = [None, 0, -1, 1e308, "", "x" * 300, "../../etc/passwd", "/etc/passwd",
                   [], {}, True, "2026-06-01", "'; DROP TABLE x; --", "\u00e9\u4e2d", 3.5]
    fixed = [
        "", " ", "<call>", "</call>", "<call></call>", "<call>{</call>", "<answer>",
        "<trial>[]</trial>", "<call>null</call>", '<call>{"name": 3}</call>',
        '<call>{"name": "x", "arguments": [1]}</call>', '<call>{"name": "x", "extra": 1}</call>',
        "<call><call>{}</call></call>", "<think>only thinking</think>", "\x00\x01\x02\xff",
        "<call>" + "[" * 5000 + "</call>", "a" * 9000, "<call>" + "{" * 100 + "</call>",
        '<call>{"name": "' + "n" * 500 + '", "arguments": {}}</call>',
        "<trial>" * 50, '<call>{"name": "x", "arguments": "not json"}</call>',
        "\u202e<answer>rtl</answer>",
    ]
    out = list(fixed)
    charset = base.action_space.characters
    while len(out) < n:
        kind = rng.integers(4)
        if kind == 0:
            k = int(rng.integers(0, 200))
            out.append("".join(charset[i] for i in rng.integers(len(charset), size=k)))
        else:
            name = names[int(rng.integers(len(names)))] if kind < 3 else "no_such_tool"
            spec = next((t for t in base.task_view().surface.catalogue()
                         if t.name == name), None)
            params = spec.param_names if spec else ["x"]
            args = {p: junk_values[int(rng.integers(len(junk_values)))] for p in params
                    if rng.random() < 0.8}
            mode = "trial" if rng.random() < 0.4 else "call"
            out.append(f"<{mode}>{json.dumps({'name': name, 'arguments': args})}</{mode}>")
    return out[:n] if n < len(fixed) else out


def fuzz_env(env: Any, actions: Sequence[str]) -> None:
    """Play ``actions`` (resetting when an episode ends): no exception, observations in the
    space, no positive reward before the end, every reward term present."""
    from tool_gym.oracle import unwrap

    base = unwrap(env)
    env.reset(seed=1)
    for i, action in enumerate(actions):
        obs, reward, terminated, truncated, info = env.step(action)
        assert base.observation_space.contains(obs), (action[:200], obs[:200])
        assert reward <= 0.0 or terminated, (action[:200], reward)
        assert set(info["reward_terms"]) >= {"success", "malformed", "failed_call"}, info
        assert not info.get("internal_errors"), (
            "the env caught an exception of the domain's own (a bug, logged with its "
            "traceback) on this message", action[:200], obs[-300:])
        if terminated or truncated:
            env.reset(seed=i)


def _check_fuzz(domain: Domain, *, fuzz: int = 2000, **_: Any) -> str:
    for variant in VARIANTS:
        env = _env(domain, max_turns=50, **variant)
        fuzz_env(env, fuzz_actions(np.random.default_rng(0), env, fuzz))
        env.close()
    return f"{fuzz} messages each on the plain and the drift env"


def rollout(make: Callable[[], Any], seed: int, actions: Sequence[str]) -> list:
    """Everything observable of one run of ``actions`` from ``reset(seed)``."""
    env = make()
    trace = []
    obs, info = env.reset(seed=seed)
    trace.append((obs, json.dumps(info, sort_keys=True, default=str)))
    for a in actions:
        obs, r, te, tr, info = env.step(a)
        trace.append((obs, r, te, tr, json.dumps(info, sort_keys=True, default=str)))
        if te or tr:
            obs, info = env.reset()
            trace.append((obs, json.dumps(info, sort_keys=True, default=str)))
    env.close()
    return trace


def same_seed_same_episode(make: Callable[[], Any]) -> None:
    """Two runs of the golden first message and 60 fuzz messages from one seed are equal."""
    from tool_gym.oracle import GoldenPlanPolicy

    env = make()
    actions = fuzz_actions(np.random.default_rng(3), env)[:60]
    env.reset(seed=5)
    golden = [GoldenPlanPolicy(env).act()]
    env.close()
    first, second = rollout(make, 5, golden + actions), rollout(make, 5, golden + actions)
    assert first == second, "the same seed and actions gave another episode"


def _check_determinism(domain: Domain, **_: Any) -> str:
    for variant in VARIANTS:
        same_seed_same_episode(lambda variant=variant: _env(domain, **variant))
    return "plain and drift envs, golden message + 60 fuzz messages, twice"


def _check_golden(domain: Domain, *, episodes: int = 200, seed: int = 0, **_: Any) -> CheckResult:
    from tool_gym.oracle import GoldenPlanPolicy

    env = _env(domain, split="all")
    rng = np.random.default_rng(11 + seed)
    chained = played = skipped = 0
    for task_seed in rng.integers(0, 10**9, size=episodes):
        env.reset(seed=int(task_seed))
        if env.episode.task.answer is None:  # no golden plan (an imported task may have none)
            skipped += 1
            continue
        policy, actions, done = GoldenPlanPolicy(env), [], False
        while not done:
            actions.append(policy.act())
            _, _, terminated, truncated, info = env.step(actions[-1])
            done = terminated or truncated
        assert info["success"], ("golden plan failed", info["task_id"], actions, info)
        assert info["reward_terms"]["success"] == 1.0, info
        played += 1
        chained += len(env.episode.task.plan) >= 2
        env.reset(seed=int(task_seed))
        _, reward, terminated, _, info = env.step(f"<answer>{WRONG_ANSWER}</answer>")
        assert terminated and info["success"] is False and reward == 0.0, (
            "a wrong answer scored", info["task_id"], reward)
    _no_internal_errors(env, "golden plans")
    env.close()
    assert played, "no task has a golden plan: give some tasks a plan to check them"
    detail = f"{played} golden plans succeed ({chained} chain 2+ calls), wrong answers score 0"
    if skipped:
        detail += f"; {skipped} tasks without a golden plan"
    return CheckResult("golden", True, detail, 0.0, {"played": played, "chained": chained,
                                                       "skipped": skipped})


def guess_value(schema: dict, rng: np.random.Generator) -> Any:
    """A plausible value for a parameter schema (an enum value, else one per type)."""
    if "enum" in schema:
        return schema["enum"][int(rng.integers(len(schema["enum"])))]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return {"integer": 1, "number": 2.5, "boolean": True, "array": [], "object": {}}.get(kind, "a")


def _guessed_calls(domain: Domain, rng: np.random.Generator) -> list[tuple[str, dict]]:
    return [(spec.name, {p: guess_value(s, rng) for p, s in spec.parameters.get(
        "properties", {}).items()}) for spec in domain.tools]


def _check_trials(domain: Domain, **_: Any) -> str:
    env = _env(domain, split="all", trial_budget=1000, max_turns=1000)
    rng = np.random.default_rng(7)
    for seed in range(40):
        env.reset(seed=seed)
        ep = env.episode
        before = ep.world.fingerprint()
        results: list[Any] = []
        for step in ep.task.plan:  # the golden plan, as trials, until a step needs real effects
            args = step.bind(results)
            env.step(f"<trial>{json.dumps({'name': step.tool, 'arguments': args})}</trial>")
            record = ep.records[-1]
            if not record.ok:
                break
            results.append(record.result)
        for name, args in _guessed_calls(domain, rng):
            env.step(f"<trial>{json.dumps({'name': name, 'arguments': args})}</trial>")
        assert ep.world.fingerprint() == before, (
            f"a trial changed the real world (task {ep.task.task_id}); mark tools that change "
            "state side_effects=True so trials run on a fork")
        _no_internal_errors(env, f"trials of task {ep.task.task_id}")
    env.close()
    return "40 tasks: golden plans and every tool as trials leave the world unchanged"


def _no_internal_errors(env: Any, what: str) -> None:
    count = getattr(env, "internal_errors", 0)
    assert not count, (f"the env caught {count} exception(s) of the domain's own during {what} "
                       "(bugs, logged with their tracebacks): a tool should raise ToolError "
                       "with a message for the agent")


def _check_dry_run(domain: Domain, **_: Any) -> str:
    env = _env(domain, split="all")
    rng = np.random.default_rng(3)
    for seed in range(10):
        env.reset(seed=seed)
        ep = env.episode
        before = ep.world.fingerprint()
        step = ep.task.plan[0] if ep.task.plan else None
        first = [(step.tool, step.bind([]))] if step else []
        for name, args in first + _guessed_calls(domain, rng) + [("no_such_tool", {})]:
            error = env.dry_run(name, args)
            assert ep.world.fingerprint() == before and (ep.turn, ep.trials, ep.records) == (
                0, 0, []), f"dry_run({name}) left a trace"
            obs, *_ = env.step(f"<trial>{json.dumps({'name': name, 'arguments': args})}</trial>")
            assert (error is None) == ep.records[-1].ok, (name, args, error, obs)
            if error is not None:
                assert ep.records[-1].error == error, (name, error, ep.records[-1].error)
            env.reset(seed=seed)
            ep = env.episode
        if step is not None:
            assert env.dry_run(step.tool, step.bind([])) is None, "the golden first step fails"
    env.close()
    return "10 tasks: dry_run answers like a trial and leaves no trace"


def _check_drift(domain: Domain, **_: Any) -> str:
    from tool_gym.drift import KINDS, mutation_kinds
    from tool_gym.oracle import GoldenPlanPolicy, run_episode

    env = _env(domain, split="all", stale_docs=True)
    shown = [t.to_openai() for t in domain.tools]
    seeds = _golden_seeds(domain, 2 * len(KINDS))
    for i, kind in enumerate(mutation_kinds()):
        spec = {"kind": kind} if kind in ("terse_errors", "scramble", "change_format") else {
            "kind": kind, "tools": "all"}
        env.mutations = [spec]
        result = run_episode(env, GoldenPlanPolicy(env), seed=seeds[i],
                             options={"task_seed": seeds[i]})
        assert result["success"], ("the translated golden plan failed", kind,
                                   result["info"]["mutations"], result["actions"])
        _, info = env.reset(seed=seeds[i], options={"task_seed": seeds[i]})
        assert info["stale_docs"] and info["tools"] == shown, (
            "stale docs must show the catalogue from before the mutation", kind)
    env.mutations, env.stale_docs, env.drift_level = None, False, "heavy"
    for seed in seeds[len(KINDS):len(KINDS) + 4]:
        result = run_episode(env, GoldenPlanPolicy(env), seed=seed, options={"task_seed": seed})
        assert result["success"], ("heavy drift", result["info"]["mutations"], result["actions"])
    env.close()
    return f"{len(KINDS)} mutation kinds under stale docs and 4 heavy drifts: golden plans succeed"


def _golden_seeds(domain: Domain, n: int) -> list[int]:
    """The first ``n`` task seeds whose tasks have a golden plan."""
    out, seed = [], 0
    while len(out) < n and seed < 50 * n:
        world, task = domain.generate(seed)
        world.close()
        if task.answer is not None:
            out.append(seed)
        seed += 1
    assert out, "no task has a golden plan"
    return (out * n)[:n]


EXPLORER_EPISODES = 12
EXPLORER_MIN_SUCCESS = 0.75


def _check_explorer(domain: Domain, **_: Any) -> str:
    from tool_gym.explorer import ScriptedExplorer
    from tool_gym.oracle import run_episode

    seeds = _golden_seeds(domain, EXPLORER_EPISODES)
    plain = _env(domain, split="all")
    for seed in seeds[:4]:
        result = run_episode(plain, ScriptedExplorer(), seed=seed, options={"task_seed": seed})
        assert result["success"], ("the explorer failed an undrifted task", seed,
                                   result["actions"])
    plain.close()
    env = _env(domain, split="all", stale_docs=True, drift_level="light", drift_focus="plan",
               max_turns=12)
    wins = sum(run_episode(env, ScriptedExplorer(), seed=s, options={"task_seed": s})["success"]
               for s in seeds)
    env.close()
    assert wins >= EXPLORER_MIN_SUCCESS * len(seeds), (
        f"the scripted explorer solved {wins}/{len(seeds)} stale-doc drift episodes (needs "
        f"{EXPLORER_MIN_SUCCESS:.0%}); errors should name what is expected (the closest tool "
        "names, the parameters, the format)")
    return f"4/4 undrifted, {wins}/{len(seeds)} light drift with stale docs"


CHECKS: dict[str, Callable[..., Any]] = {
    "validate": _check_validate,
    "check_env": _check_env,
    "determinism": _check_determinism,
    "fuzz": _check_fuzz,
    "golden": _check_golden,
    "trials": _check_trials,
    "dry_run": _check_dry_run,
    "drift": _check_drift,
    "explorer": _check_explorer,
}


def check_domain(domain: Domain, checks: Sequence[str] | None = None, *, episodes: int = 200,
                 fuzz: int = 2000, seed: int = 0) -> DomainReport:
    """Apply the contract of the built-in domains to ``domain``; registration not needed.

    Args:
        domain: The domain to check.
        checks: Names from :data:`CHECKS` (default: all, in order).
        episodes: Golden-plan episodes (each also answered wrongly once).
        fuzz: Fuzz messages per env (plain and drift).
        seed: Shifts the golden plans' task seeds.

    Returns:
        A :class:`DomainReport`: ``report.ok``, ``print(report)``.

    Example:
        >>> report = tool_gym.check_domain(my_domain)  # doctest: +SKIP
        >>> assert report.ok, report  # doctest: +SKIP
    """
    names = list(checks) if checks is not None else list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; checks: {', '.join(CHECKS)}")
    results = []
    from tool_gym.registration import findable

    with findable(domain):
        for name in names:
            start = time.perf_counter()
            try:
                out = CHECKS[name](domain, episodes=episodes, fuzz=fuzz, seed=seed)
                result = out if isinstance(out, CheckResult) else CheckResult(name, True, out, 0.0)
            except Exception as e:
                result = CheckResult(name, False, _describe(e), 0.0)
            result.seconds = time.perf_counter() - start
            results.append(result)
    return DomainReport(domain.name, results)


def _describe(error: BaseException) -> str:
    if isinstance(error, AssertionError):
        frame = traceback.extract_tb(error.__traceback__)[-1]
        text = str(error) or frame.line or "assertion failed"
        return f"{text[:600]} ({frame.name}, line {frame.lineno})"
    return f"{type(error).__name__}: {str(error)[:600]}"
