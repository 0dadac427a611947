"""The Gymnasium env: one tool-use episode, text in and text out."""

from __future__ import annotations

import difflib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from tool_gym.domain import TEST_EVERY, Domain
from tool_gym.errors import ToolBackendError, ToolError
from tool_gym.protocol import (
    CHARSET,
    RULES,
    ParsedCall,
    ParseError,
    cap,
    format_response,
    parse_call,
    sanitize,
    split_segments,
)
from tool_gym.registration import get_domain, suite_domains
from tool_gym.spaces import ToolText
from tool_gym.spec import ToolSpec
from tool_gym.surface import Surface, unchanged
from tool_gym.task import Task
from tool_gym.world import STEP_DEADLINE, World

logger = logging.getLogger(__name__)


@dataclass
class RewardWeights:
    """Weights of the reward terms. Shaping terms are penalties (negative weights).

    Attributes:
        success: Paid once at the end when the hidden checker passes.
        malformed: Per message or call that cannot be parsed (no tag, bad JSON).
        failed_call: Per real call that errors (unknown tool, schema, backend error).
        excess_trial: Per trial beyond the free trial budget.
        turn_limit: Once, when the episode is truncated at ``max_turns``.
    """

    success: float = 1.0
    malformed: float = -0.05
    failed_call: float = -0.02
    excess_trial: float = -0.02
    turn_limit: float = -0.1


@dataclass
class CallRecord:
    """What happened to one trial or call; kept on the env for teachers and analysis."""

    mode: str
    name: str
    arguments: Any
    target: str | None = None
    backend_arguments: dict[str, Any] | None = None
    result: Any = None
    error: str | None = None
    turn: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Episode:
    task: Task
    world: World
    surface: Surface
    turn: int = 0
    trials: int = 0
    calls: int = 0
    done: bool = False
    success: bool | None = None
    answer: str | None = None
    records: list[CallRecord] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class TaskView:
    """A read-only view of the current episode, for privileged code only: the oracle,
    teachers, wrappers that script actions, the contract checks. Never shown to an agent.

    Attributes:
        task: The hidden task (query, checker, golden plan in backend names).
        surface: The episode's tool surface (drift applied; the true current API).
        turn: Messages sent so far.
        records: Every trial and call so far, in order.
    """

    task: Task
    surface: Surface
    turn: int
    records: tuple[CallRecord, ...]

    @property
    def results(self) -> list[Any]:
        """Backend results of the successful real calls so far, in order (calls the surface
        answers itself, as a session opener, run no backend tool and are left out)."""
        return [r.result for r in self.records
                if r.mode == "call" and r.ok and r.target is not None]


class ToolEnv(gym.Env[str, str]):
    """A tool-use episode over one or more domains.

    Args:
        domains: Domains to draw tasks from: registered names or :class:`Domain` objects
            (default: the built-in seen domains of ``Seen-v0``).
        split: ``"train"`` or ``"test"`` task seeds of seen domains, or ``"all"``.
        max_turns: Agent messages before truncation.
        trial_budget: Free trials per episode; each one beyond costs ``excess_trial``.
        reward_weights: :class:`RewardWeights` or a dict of its fields.
        catalogue: ``"compact"`` (one signature line per tool) or ``"json"`` (OpenAI tools).
        max_calls_per_turn: Trials plus calls run from one message; the rest are refused.
        max_response_chars: Cap of one tool response in the observation.
        max_action_chars: Longer messages are refused with an error.
        mutations, stale_docs, drift_level: Tool drift (see ``tool_gym.drift``).
        drift_focus: ``"any"``: drawn mutations pick any tool of the domain, so a light
            drift often misses the tools a task needs; ``"plan"``: they pick the tools of
            the task's golden plan whenever the mutation kind applies to one.
        max_plan_steps: Only tasks whose golden plan has at most this many calls (a
            difficulty filter for small models and curricula; drawn by rejection from the
            same seeded stream, so the split and determinism hold). An explicit
            ``options["task_seed"]`` is never filtered.
        render_mode: ``"ansi"`` or None.

    Example:
        >>> import gymnasium as gym, tool_gym
        >>> env = gym.make("ToolMaster/Weather-v0")
        >>> obs, info = env.reset(seed=0)
        >>> "<call>" in obs and info["domain"] == "weather"
        True
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    MAX_OBS_CHARS = 16384
    MAX_ACTION_CHARS = 8192
    # Wall-clock budget of one step: SQLite stops at it, and trials or calls left when it
    # is spent are not run (each backend call is bounded on its own, far below it).
    MAX_STEP_S = 0.5

    def __init__(
        self,
        domains: list[str | Domain] | None = None,
        split: str = "train",
        max_turns: int = 8,
        trial_budget: int = 4,
        reward_weights: RewardWeights | dict[str, float] | None = None,
        catalogue: str = "compact",
        max_calls_per_turn: int = 8,
        max_response_chars: int = 1500,
        max_action_chars: int = MAX_ACTION_CHARS,
        mutations: list[dict[str, Any]] | None = None,
        stale_docs: bool = False,
        drift_level: str | None = None,
        drift_focus: str = "any",
        max_plan_steps: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if split not in ("train", "test", "all"):
            raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
        if catalogue not in ("compact", "json"):
            raise ValueError(f"catalogue must be 'compact' or 'json', got {catalogue!r}")
        if drift_focus not in ("any", "plan"):
            raise ValueError(f"drift_focus must be 'any' or 'plan', got {drift_focus!r}")
        if max_plan_steps is not None and int(max_plan_steps) < 1:
            raise ValueError(f"max_plan_steps must be None or >= 1, got {max_plan_steps!r}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be 'ansi' or None, got {render_mode!r}")
        names = domains or suite_domains("Seen-v0")
        self.domains: list[Domain] = [d if isinstance(d, Domain) else get_domain(d)
                                      for d in names]
        self.split = split
        self.max_turns = int(max_turns)
        self.trial_budget = int(trial_budget)
        if isinstance(reward_weights, dict):
            reward_weights = RewardWeights(**reward_weights)
        self.weights = reward_weights or RewardWeights()
        self.catalogue_style = catalogue
        self.max_calls_per_turn = int(max_calls_per_turn)
        self.max_response_chars = int(max_response_chars)
        self.max_action_chars = int(max_action_chars)
        if mutations is not None or drift_level is not None:
            from tool_gym.drift import check_config  # fail at make time, not at reset

            check_config(mutations, drift_level)
        self.mutations = mutations
        self.stale_docs = bool(stale_docs)
        self.drift_level = drift_level
        self.drift_focus = drift_focus
        self._plan_tools: list[str] = []
        self.max_plan_steps = None if max_plan_steps is None else int(max_plan_steps)
        self.render_mode = render_mode
        self.observation_space = ToolText(self.MAX_OBS_CHARS, min_length=1, charset=CHARSET)
        self.action_space = ToolText(self.max_action_chars, min_length=0, charset=CHARSET)
        self.episode: Episode | None = None
        # Exceptions caught at the env boundary (each logged): bugs, never the agent's fault.
        self.internal_errors = 0
        self._step_internal_errors = 0

    # -- episode setup -------------------------------------------------------------------

    def _draw_task_seed(self, domain: Domain) -> int:
        base = int(self.np_random.integers(0, 2**31 // TEST_EVERY - 1))
        if domain.split == "unseen" or self.split == "all":
            return base * TEST_EVERY + int(self.np_random.integers(TEST_EVERY))
        if self.split == "test":
            return base * TEST_EVERY
        return base * TEST_EVERY + 1 + int(self.np_random.integers(TEST_EVERY - 1))

    MAX_TASK_DRAWS = 1000

    def _draw_task(self, domain: Domain) -> tuple[World, Task]:
        for _ in range(self.MAX_TASK_DRAWS):
            world, task = domain.generate(self._draw_task_seed(domain))
            if self.max_plan_steps is None or len(task.plan) <= self.max_plan_steps:
                return world, task
            world.close()
        raise ValueError(f"domain {domain.name!r} produced no task with at most "
                         f"{self.max_plan_steps} plan steps in {self.MAX_TASK_DRAWS} draws")

    def make_surface(self, domain: Domain, rng: np.random.Generator) -> Surface:
        """The tool surface of a new episode. Drift overrides this through ``tool_gym.drift``."""
        surface = Surface.identity(domain.tools)
        if self.mutations is None and self.drift_level is None:
            return surface
        from tool_gym.drift import build_surface  # drift is optional machinery

        focus = self._plan_tools if self.drift_focus == "plan" else ()
        return build_surface(domain, surface, rng, mutations=self.mutations,
                             drift_level=self.drift_level, stale_docs=self.stale_docs,
                             focus=focus)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        if self.episode is not None:
            self.episode.world.close()
        if "domain" in options:
            mine = {d.name: d for d in self.domains}
            domain = mine.get(options["domain"]) or get_domain(options["domain"])
        else:
            domain = self.domains[int(self.np_random.integers(len(self.domains)))]
        if "task_seed" in options:
            world, task = domain.generate(int(options["task_seed"]))
        else:
            world, task = self._draw_task(domain)
        self._plan_tools = [step.tool for step in task.plan]
        surface = self.make_surface(domain, self.np_random)
        self.episode = Episode(task=task, world=world, surface=surface)
        self.domain = domain
        system = self.system_prompt()
        obs = self._observe(f"{system}\n\nUser: {task.query}")
        self.episode.transcript.append(("env", obs))
        info = self._base_info()
        info["tools"] = [t.to_openai() for t in surface.catalogue()]
        info["messages"] = [{"role": "system", "content": system},
                            {"role": "user", "content": task.query}]
        return obs, info

    def system_prompt(self) -> str:
        ep = self._require_episode()
        docs = ep.surface.catalogue()
        if self.catalogue_style == "json":
            listing = json.dumps([t.to_openai() for t in docs], ensure_ascii=True)
        else:
            listing = "\n".join(f"- {t.signature()}" for t in docs)
        return sanitize(f"{RULES}\n\nTools ({self.domain.description}):\n{listing}")

    def _base_info(self) -> dict[str, Any]:
        ep = self._require_episode()
        task = ep.task
        split = "unseen" if self.domain.split == "unseen" else ("test" if task.seed %
                                                                 TEST_EVERY == 0 else "train")
        return {"task_id": task.task_id, "domain": task.domain, "split": split,
                "task_seed": task.seed, "mutations": list(ep.surface.applied),
                "stale_docs": ep.surface.stale_doc is not None}

    def task_view(self) -> TaskView:
        """The current episode, read-only, for privileged code (see :class:`TaskView`)."""
        ep = self._require_episode()
        return TaskView(ep.task, ep.surface, ep.turn, tuple(ep.records))

    def _require_episode(self) -> Episode:
        if self.episode is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        return self.episode

    # -- stepping ------------------------------------------------------------------------

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        ep = self._require_episode()
        self._step_internal_errors = 0
        self._deadline = time.monotonic() + self.MAX_STEP_S
        token = STEP_DEADLINE.set(self._deadline)
        try:
            return self._step(ep, action)
        except Exception as e:  # the env's own bug: any action still gets an observation
            error = self._internal_error(e, "step")
        finally:
            STEP_DEADLINE.reset(token)
        terms = dict.fromkeys(("success", "malformed", "failed_call", "excess_trial",
                               "turn_limit"), 0.0)
        terms["malformed"] = self.weights.malformed
        truncated = not ep.done and ep.turn >= self.max_turns
        if truncated:
            ep.done, ep.success = True, False
            terms["turn_limit"] = self.weights.turn_limit
        obs = self._observe(f"[error] {error}")
        ep.transcript.append(("env", obs))
        info = self._base_info()
        info.update(reward_terms=terms, turn=ep.turn, trials=ep.trials, calls=ep.calls,
                    internal_errors=self._step_internal_errors)
        if ep.done:
            info["success"] = ep.success
        return obs, float(sum(terms.values())), ep.done and not truncated, truncated, info

    def _internal_error(self, error: Exception, where: str) -> str:
        """Log an exception the env did not expect and word it for the agent."""
        self.internal_errors += 1
        self._step_internal_errors += 1
        logger.error("internal error in %s (%s, task %s): %s", where, self.domain.name,
                     self._require_episode().task.task_id, error, exc_info=error)
        kind = type(error.__cause__ or error).__name__  # a ToolBackendError's own cause
        return (f"the environment failed on this ({kind}); this is a bug in the "
                "environment, logged. Try other values or another tool.")

    def _step(self, ep: Episode, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        terms = {"success": 0.0, "malformed": 0.0, "failed_call": 0.0, "excess_trial": 0.0,
                 "turn_limit": 0.0}
        if ep.done:
            info = self._base_info() | {"reward_terms": terms, "success": ep.success,
                                        "turn": ep.turn}
            return "[error] the episode is over; call reset()", 0.0, True, False, info
        ep.turn += 1
        text = action if isinstance(action, str) else str(action)
        ep.transcript.append(("agent", text))
        lines: list[str] = []
        if len(text) > self.max_action_chars:
            lines.append(f"[error] message is {len(text)} characters; the limit is "
                         f"{self.max_action_chars}. Send shorter messages.")
            terms["malformed"] += self.weights.malformed
            segments: list = []
        else:
            segments, problems = split_segments(text)
            for p in problems:
                lines.append(f"[error] {p}")
                terms["malformed"] += self.weights.malformed
            if not segments and not problems:
                lines.append("[error] no <trial>, <call> or <answer> tag found. Call a tool with "
                             "<call>{\"name\": \"TOOL\", \"arguments\": {...}}</call> or finish "
                             "with <answer>...</answer>.")
                terms["malformed"] += self.weights.malformed
        n_run = 0
        for seg in segments:
            if seg.kind == "answer":
                ep.answer = seg.body.strip()
                ep.done = True
                break
            n_run += 1
            if n_run > self.max_calls_per_turn:
                lines.append(f"[error] at most {self.max_calls_per_turn} trials and calls per "
                             "message; the rest were not run")
                terms["malformed"] += self.weights.malformed
                break
            if time.monotonic() > self._deadline:
                lines.append(f"[error] this message used up its time budget of "
                             f"{self.MAX_STEP_S} s; the rest of its trials and calls were not run")
                terms["malformed"] += self.weights.malformed
                break
            lines.append(self._run_segment(ep, seg.kind, seg.body, n_run, terms))
        terminated = ep.done
        truncated = False
        if terminated:
            try:
                ep.success = bool(ep.task.check(ep.answer, ep.world))
            except Exception as e:  # a checker bug on this answer: logged, scored a failure
                self._internal_error(e, "the checker")
                ep.success = False
            terms["success"] = self.weights.success * ep.success
            lines.append("[done] answer received.")
        elif ep.turn >= self.max_turns:
            truncated = True
            ep.done = True
            ep.success = False
            terms["turn_limit"] = self.weights.turn_limit
            lines.append(f"[done] turn limit of {self.max_turns} reached.")
        else:
            lines.append(f"[turn {ep.turn}/{self.max_turns}]")
        obs = self._observe("\n".join(lines))
        ep.transcript.append(("env", obs))
        info = self._base_info()
        info.update(reward_terms=terms, turn=ep.turn, trials=ep.trials, calls=ep.calls)
        if self._step_internal_errors:
            info["internal_errors"] = self._step_internal_errors
        if ep.done:
            info["success"] = ep.success
        return obs, float(sum(terms.values())), terminated, truncated, info

    def _run_segment(self, ep: Episode, mode: str, body: str, index: int,
                     terms: dict[str, float]) -> str:
        try:
            call = parse_call(body)
        except ParseError as e:
            terms["malformed"] += self.weights.malformed
            ep.records.append(CallRecord(mode, "", body[:200], error=str(e), turn=ep.turn))
            return format_response(mode, index, None, str(e))
        if mode == "trial":
            ep.trials += 1
            if ep.trials > self.trial_budget:
                terms["excess_trial"] += self.weights.excess_trial
        else:
            ep.calls += 1
        record = CallRecord(mode, call.name, call.arguments, turn=ep.turn)
        ep.records.append(record)
        try:
            result = self._execute(ep, mode, call, record)
        except ToolError as e:
            record.error = str(e)
            if mode == "call":
                terms["failed_call"] += self.weights.failed_call
            return format_response(mode, index, call.name, str(e), ok=False)
        except Exception as e:  # backend, adapter or fork bug: logged; the episode goes on
            record.error = self._internal_error(e, f"{mode} of {call.name}")
            if mode == "call":
                terms["failed_call"] += self.weights.failed_call
            return format_response(mode, index, call.name, record.error, ok=False)
        rendered = json.dumps(result, ensure_ascii=True, default=str, separators=(", ", ": "))
        return format_response(mode, index, call.name, cap(rendered, self.max_response_chars))

    def _execute(self, ep: Episode, mode: str, call: Any, record: CallRecord) -> Any:
        surface = ep.surface
        tool = surface.tools.get(call.name)
        if tool is None:
            if surface.terse_errors:
                raise ToolError("unknown tool")
            close = difflib.get_close_matches(call.name, list(surface.tools), n=3, cutoff=0.4)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ToolError(f"unknown tool '{cap(call.name, 60)}'.{hint} Available tools: "
                            f"{', '.join(surface.tools)}")
        if tool.deprecated_for is not None:
            raise ToolError("deprecated" if surface.terse_errors else
                            f"'{call.name}' is deprecated; use '{tool.deprecated_for}' instead")
        problem = tool.spec.validate(call.arguments)
        if problem is not None:
            if surface.terse_errors:
                raise ToolError("invalid arguments")
            raise ToolError(f"invalid arguments for {call.name} {problem}")
        if tool.error is not None:
            raise ToolError(tool.error)
        if tool.handler is not None:  # answered by the surface itself (no backend call)
            record.result = tool.handler(dict(call.arguments))
            return record.result
        backend = self.domain.tool_map[tool.target] if tool.target else None
        if backend is None:
            raise ToolError("this tool is not available")
        args = tool.to_backend(dict(call.arguments))
        record.target = backend.name
        record.backend_arguments = args
        world = ep.world.fork() if (mode == "trial" and backend.side_effects) else ep.world
        try:
            result = _invoke(backend, world, args)
        except ToolError as e:
            if tool.from_error is unchanged:
                raise
            raise ToolError(tool.from_error(str(e))) from e
        finally:
            if world is not ep.world:
                world.close()
        record.result = result
        return tool.from_backend(result)

    def _observe(self, text: str) -> str:
        return cap(sanitize(text), self.MAX_OBS_CHARS)

    # -- rendering and introspection -----------------------------------------------------

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.episode is None:
            return None
        return "\n\n".join(f"{'>>> ' if who == 'agent' else ''}{text}"
                           for who, text in self.episode.transcript)

    def dry_run(self, name: str, arguments: dict[str, Any]) -> str | None:
        """The error a trial of ``name(arguments)`` would get now, or ``None`` if it works.

        Runs on a fork of the world and leaves no trace: no turn, trial, record or reward.
        Privileged (the agent cannot do this); for teachers that plan which mistakes they
        can show being corrected from the env's own error text.
        """
        ep = self._require_episode()
        world = ep.world.fork()
        try:
            self._execute(Episode(task=ep.task, world=world, surface=ep.surface), "call",
                          ParsedCall(name, dict(arguments)), CallRecord("trial", name, arguments))
        except ToolError as e:
            return str(e)
        finally:
            world.close()
        return None

    def call_log(self) -> list[dict[str, Any]]:
        """Every trial and call of the episode so far, with backend names and results."""
        return [asdict(r) for r in self._require_episode().records]

    def close(self) -> None:
        if self.episode is not None:
            self.episode.world.close()
            self.episode = None


def _invoke(backend: ToolSpec, world: World, args: dict[str, Any]) -> Any:
    assert backend.fn is not None
    try:
        return backend.fn(world, **args)
    except ToolError:
        raise
    except Exception as e:  # a domain bug: fail loudly instead of scoring 0
        raise ToolBackendError(f"{backend.name}({args!r}) raised {type(e).__name__}: {e}") from e
