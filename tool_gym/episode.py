"""One episode loop and one episode record, for every player: scripted or LLM.

:func:`play` plays one episode per seed on a batch of envs: every turn it asks the
policy for the next message of every running episode at once, steps each env on its
message and records what happened in an :class:`EpisodeRecord`. When an episode ends its
env starts the next pending seed, so there may be more seeds than envs (a turn-level
continuous batch). Batching is the loop's job; a policy only answers a batch.

A policy is one interface (:class:`Policy`). A scripted agent, an object with
``begin(observation, info)`` and ``act(observation) -> str`` playing one env (the oracle,
the teachers, the explorer), becomes one through :class:`Agents`; the LLM policy
(:class:`tool_gym.agents.policy.LLMPolicy`) implements it directly, keeping exact token
ids in its own record type. :class:`Replay` sends recorded messages again
(:func:`replay`: one recorded episode, in a fresh reset of its env).

Example:
    >>> import gymnasium as gym, tool_gym
    >>> from tool_gym.oracle import GoldenPlanPolicy
    >>> envs = [gym.make("ToolMaster/Weather-v0") for _ in range(2)]
    >>> [e.success for e in play(envs, Agents(factory=GoldenPlanPolicy), seeds=[0, 1, 2])]
    [True, True, True]
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import gymnasium as gym

__all__ = ["Agents", "EpisodeRecord", "Policy", "Replay", "as_env_list", "as_policy", "play",
           "replay"]


@dataclass
class EpisodeRecord:
    """One played episode.

    Attributes:
        seed, options: The ``reset`` arguments.
        messages: The env's first chat messages (``info["messages"]``: system and user).
        reward: Sum of the env rewards (success plus shaping terms).
        reward_terms: Each reward term summed over the episode.
        success: The env's hidden checker passed.
        stop_reason: ``"answer"``, ``"env_limit"`` (the env's turn limit), ``"max_turns"``
            (the loop's), or ``"context"`` (the policy could not go on).
        turns: Messages sent.
        actions: Each message.
        observations: The env's answer to each message (same length as ``actions``).
        mistakes: Turns (0-based) whose message the policy marked as a deliberate mistake.
        observation: The first observation (rules, catalogue and query).
        mutations: The drift applied to the episode's tools (``info["mutations"]``).
        info: The last ``info`` the env returned.
    """

    seed: int | None
    options: dict[str, Any] | None
    messages: list[dict[str, str]]
    reward: float = 0.0
    reward_terms: dict[str, float] = field(default_factory=dict)
    success: bool = False
    terminated: bool = False
    truncated: bool = False
    stop_reason: str = ""
    turns: int = 0
    trials: int = 0
    calls: int = 0
    actions: list[str] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    mistakes: list[int] = field(default_factory=list)
    observation: str = ""
    task_id: str = ""
    domain: str = ""
    split: str = ""
    stale_docs: bool = False
    mutations: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    #: Keys of :meth:`transcript` besides the task and trial seed.
    TRANSCRIPT: ClassVar[tuple[str, ...]] = (
        "task_id", "domain", "mutations", "trial_seed", "success", "turns", "trials",
        "calls", "reward", "actions", "observations")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def transcript(self, task: int | None, trial_seed: int | None) -> dict[str, Any]:
        """What an evaluation writes about the episode (JSON-ready)."""
        values = {"task": task, "task_id": self.task_id, "domain": self.domain,
                  "mutations": list(self.mutations), "trial_seed": trial_seed,
                  "success": bool(self.success), "turns": self.turns, "trials": self.trials,
                  "calls": self.calls, "reward": float(self.reward),
                  "actions": list(self.actions), "observations": list(self.observations)}
        values.update((k, getattr(self, k)) for k in self.TRANSCRIPT if k not in values)
        return {k: values[k] for k in ("task", *self.TRANSCRIPT)}


@runtime_checkable
class Policy(Protocol):
    """What :func:`play` plays: a scripted or an LLM policy.

    The loop owns the envs and the batch; ``slot`` names an env of the batch (the same
    slot is the same env for a whole episode).
    """

    #: The record the loop fills for this policy (a subclass may add fields).
    record_type: type[EpisodeRecord]

    def reset(self, seed: int | None) -> None:
        """Called before the first episode of a :func:`play`: seeds the policy's own
        randomness (the trial seed; None: the policy's default) and drops what earlier
        plays left behind."""

    def start(self, slot: int, env: gym.Env, episode: EpisodeRecord) -> bool:
        """A new episode in ``slot`` (after ``reset``; ``episode.observation`` and
        ``episode.messages`` are set). False: it cannot be played (``"context"``)."""

    def act(self, slots: Sequence[int], episodes: Sequence[EpisodeRecord]) -> list[str]:
        """The next message of each running episode, in order."""

    def observe(self, slot: int, episode: EpisodeRecord) -> bool:
        """The env answered (``episode.observations[-1]``) and the episode goes on.
        False: the policy cannot go on (``"context"``)."""


class Agents:
    """Scripted agents as a :class:`Policy`: one agent per env of the batch.

    An agent plays one env: ``begin(observation, info)`` after each reset (optional),
    then ``act(observation) -> str`` per message; ``last_is_mistake`` (optional) marks
    the message it just sent as a deliberate mistake; ``reseed(seed)`` (optional) gets
    the trial seed.

    Args:
        agent: One agent; each env of the batch plays a shallow copy of it (so a batch
            of one plays the agent itself).
        factory: ``factory(env)`` makes a fresh agent for every episode (e.g.
            ``GoldenPlanPolicy`` or a teacher class).
    """

    record_type = EpisodeRecord

    def __init__(self, agent: Any = None, *, factory: Callable[[gym.Env], Any] | None = None
                 ) -> None:
        if (agent is None) == (factory is None):
            raise ValueError("give one agent or a factory")
        self.agent = agent
        self.factory = factory
        self.name = getattr(factory or agent, "name", None) or (
            factory.__name__ if isinstance(factory, type) else type(agent).__name__)
        self._seed: int | None = None
        self._slots: dict[int, Any] = {}

    def reset(self, seed: int | None) -> None:
        self._seed = seed
        self._slots = {}

    def start(self, slot: int, env: gym.Env, episode: EpisodeRecord) -> bool:
        if self.factory is not None:
            agent = self.factory(env)
        elif slot == 0:
            agent = self.agent
        else:
            agent = self._slots.get(slot) or copy.copy(self.agent)
        if self._seed is not None and hasattr(agent, "reseed"):
            agent.reseed(self._seed)
        if hasattr(agent, "begin"):
            agent.begin(episode.observation, episode.info)
        self._slots[slot] = agent
        return True

    def act(self, slots: Sequence[int], episodes: Sequence[EpisodeRecord]) -> list[str]:
        out = []
        for slot, ep in zip(slots, episodes, strict=True):
            agent = self._slots[slot]
            out.append(agent.act(ep.observations[-1] if ep.observations else ep.observation))
            if getattr(agent, "last_is_mistake", False):
                ep.mistakes.append(ep.turns)
        return out

    def observe(self, slot: int, episode: EpisodeRecord) -> bool:
        return True


class Replay:
    """Recorded messages as a :class:`Policy`: the k-th episode a play starts (episodes
    start in the order of their seeds) sends ``actions[k]``, in order. Play it with
    ``max_turns`` at most the shortest list (or use :func:`replay`).

    Args:
        actions: One list of messages per episode.
        on_step: Called as ``on_step(env, episode)`` before each message after the first,
            when the env has answered the previous one (:func:`replay` calls it once more
            after the last).
    """

    record_type = EpisodeRecord

    def __init__(self, actions: Sequence[Sequence[str]],
                 on_step: Callable[[gym.Env, EpisodeRecord], None] | None = None) -> None:
        self.actions = [list(a) for a in actions]
        self.on_step = on_step
        self._started = 0
        self._slots: dict[int, tuple[gym.Env, list[str]]] = {}

    def reset(self, seed: int | None) -> None:
        self._started, self._slots = 0, {}

    def start(self, slot: int, env: gym.Env, episode: EpisodeRecord) -> bool:
        self._slots[slot] = (env, self.actions[self._started])
        self._started += 1
        return True

    def act(self, slots: Sequence[int], episodes: Sequence[EpisodeRecord]) -> list[str]:
        out = []
        for slot, ep in zip(slots, episodes, strict=True):
            env, actions = self._slots[slot]
            if ep.turns and self.on_step is not None:
                self.on_step(env, ep)
            out.append(actions[ep.turns])
        return out

    def observe(self, slot: int, episode: EpisodeRecord) -> bool:
        return True


def replay(env: gym.Env, seed: int | None, actions: Sequence[str],
           options: Mapping[str, Any] | None = None,
           on_step: Callable[[gym.Env, EpisodeRecord], None] | None = None) -> EpisodeRecord:
    """Reset ``env`` with ``seed`` and ``options`` and send ``actions`` in the one loop,
    until they run out or the env ends the episode; ``on_step(env, episode)`` after each
    message the env answered."""
    (ep,) = play([env], Replay([actions], on_step), [seed], options, max_turns=len(actions))
    if on_step is not None and ep.turns:
        on_step(env, ep)
    return ep


def as_policy(policy: Any) -> Policy:
    """``policy`` if it is a :class:`Policy`; a scripted agent, or a factory ``env ->
    agent`` (a class or a function), as :class:`Agents`."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, type) or (callable(policy) and not hasattr(policy, "act")):
        return Agents(factory=policy)
    return Agents(policy)


def as_env_list(envs: Any) -> list[Any]:
    """A list of single envs from a list, one env, or a vector env that exposes ``.envs``."""
    if isinstance(envs, (list, tuple)):
        return list(envs)
    sub = getattr(envs, "envs", None)
    if sub is not None:
        return list(sub)
    if hasattr(envs, "num_envs"):
        raise TypeError("vector envs must expose their sub-envs as `.envs` (SyncVectorEnv); "
                        "pass a list of envs instead")
    return [envs]


def _options_for(options: Any, n: int) -> list[dict[str, Any] | None]:
    if options is None or isinstance(options, Mapping):
        return [options] * n
    options = list(options)
    if len(options) != n:
        raise ValueError(f"got {len(options)} options for {n} seeds")
    return options


def play(envs: Any, policy: Any, seeds: Sequence[int | None],
         options: Mapping[str, Any] | Sequence[Mapping[str, Any] | None] | None = None,
         max_turns: int | None = None, *, seed: int | None = None,
         on_done: Callable[[EpisodeRecord], None] | None = None,
         stats: dict[str, Any] | None = None) -> list[Any]:
    """Play one episode per seed with ``policy``, many envs at once.

    Args:
        envs: A list of envs (or a ``SyncVectorEnv``, or one env): the batch. Each plays
            one episode at a time; when one ends it starts the next pending seed.
        policy: A :class:`Policy` (anything else goes through :func:`as_policy`).
        seeds: One ``reset`` seed per episode.
        options: ``reset`` options for all episodes (a dict) or one per seed.
        max_turns: Stop an episode after this many messages even if its env goes on
            (default: only the env's own turn limit; 0: reset only, no message).
        seed: Passed to ``policy.reset`` before the first episode.
        on_done: Called with each finished episode.
        stats: If given, ``env_s`` (seconds spent in ``reset`` and ``step``) is added.

    Returns:
        The records (``policy.record_type``), in the order of ``seeds``.
    """
    policy = as_policy(policy)
    env_list = as_env_list(envs)
    if not env_list:
        raise ValueError("no envs to play")
    seeds = list(seeds)
    opts = _options_for(options, len(seeds))
    policy.reset(seed)
    done: list[EpisodeRecord | None] = [None] * len(seeds)
    pending = list(range(len(seeds)))[::-1]
    slots: list[tuple[int, EpisodeRecord] | None] = [None] * min(len(env_list), len(seeds))
    env_s = 0.0

    def finish(slot: int, reason: str) -> None:
        idx, ep = slots[slot]
        ep.stop_reason = reason
        done[idx] = ep
        slots[slot] = None
        if on_done is not None:
            on_done(ep)

    while pending or any(s is not None for s in slots):
        for s in range(len(slots)):
            while slots[s] is None and pending:
                idx = pending.pop()
                t0 = time.perf_counter()
                obs, info = env_list[s].reset(seed=seeds[idx], options=opts[idx])
                env_s += time.perf_counter() - t0
                ep = policy.record_type(
                    seed=seeds[idx], options=opts[idx], messages=info["messages"],
                    observation=obs, task_id=str(info.get("task_id", "")),
                    domain=str(info.get("domain", "")), split=str(info.get("split", "")),
                    stale_docs=bool(info.get("stale_docs", False)),
                    mutations=list(info.get("mutations", [])), info=info)
                slots[s] = (idx, ep)
                if not policy.start(s, env_list[s], ep):
                    ep.truncated = True
                    finish(s, "context")
                elif max_turns is not None and max_turns <= 0:
                    ep.truncated = True
                    finish(s, "max_turns")
        live = [s for s in range(len(slots)) if slots[s] is not None]
        if not live:
            continue
        actions = policy.act(live, [slots[s][1] for s in live])
        for s, action in zip(live, actions, strict=True):
            _, ep = slots[s]
            ep.actions.append(action)
            t0 = time.perf_counter()
            obs, reward, terminated, truncated, info = env_list[s].step(action)
            env_s += time.perf_counter() - t0
            ep.observations.append(obs)
            ep.reward += float(reward)
            for k, v in (info.get("reward_terms") or {}).items():
                ep.reward_terms[k] = ep.reward_terms.get(k, 0.0) + float(v)
            ep.turns += 1
            ep.trials = int(info.get("trials", ep.trials))
            ep.calls = int(info.get("calls", ep.calls))
            ep.terminated, ep.truncated = bool(terminated), bool(truncated)
            ep.info = info
            if terminated or truncated:
                ep.success = bool(info.get("success"))
                finish(s, "answer" if terminated else "env_limit")
            elif max_turns is not None and ep.turns >= max_turns:
                ep.truncated = True
                finish(s, "max_turns")
            elif not policy.observe(s, ep):
                ep.truncated = True
                finish(s, "context")
    if stats is not None:
        stats["env_s"] = stats.get("env_s", 0.0) + env_s
    return [e for e in done if e is not None]
