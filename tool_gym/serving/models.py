"""Typed OpenEnv models: what crosses the wire for one ToolMaster episode.

An observation carries the env's observation text and every key of the step's ``info``
(``tools`` and ``messages`` after a reset; ``reward_terms``, ``turn``, ``trials`` and
``calls`` after a step; ``success`` only once the episode is over). A field that is
``None`` was not in ``info``. Nothing the hidden checker knows (the golden plan, the
expected answer, the world's state) is ever sent.
"""

from __future__ import annotations

from typing import Any

from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field

from tool_gym.env import ToolEnv

#: Longest message the wire accepts. Longer than the env's own ``max_action_chars`` so a
#: message over the env's limit gets the env's error observation, exactly as in-process.
MAX_MESSAGE_CHARS = 2 * ToolEnv.MAX_ACTION_CHARS

INFO_KEYS = ("task_id", "domain", "split", "task_seed", "mutations", "stale_docs", "tools",
             "messages", "reward_terms", "turn", "trials", "calls", "success")


class ToolAction(Action):
    """One assistant message: ``<trial>``, ``<call>`` and ``<answer>`` tags (any text)."""

    message: str = Field(max_length=MAX_MESSAGE_CHARS,
                         description="the agent's message, as passed to env.step")


class ToolObservation(Observation):
    """The env's answer to a reset or a step, with the step's ``info``."""

    text: str = Field(description="the observation string env.reset/env.step returned")
    truncated: bool = Field(default=False, description="episode cut at the turn limit")
    task_id: str | None = None
    domain: str | None = None
    split: str | None = None
    task_seed: int | None = None
    mutations: list[dict[str, Any]] | None = Field(
        default=None, description="drift applied to the tools (never in the text)")
    stale_docs: bool | None = None
    tools: list[dict[str, Any]] | None = Field(
        default=None, description="the catalogue as OpenAI tools (reset only)")
    messages: list[dict[str, Any]] | None = Field(
        default=None, description="system and user chat messages (reset only)")
    reward_terms: dict[str, float] | None = Field(
        default=None, description="every reward term of the step (step only)")
    turn: int | None = None
    trials: int | None = None
    calls: int | None = None
    success: bool | None = Field(default=None, description="the checker's verdict, at the end only")
    extra_info: dict[str, Any] = Field(
        default_factory=dict, description="info keys of env variants not typed above")

    @classmethod
    def from_step(cls, text: str, info: dict[str, Any], reward: float | None = None,
                  terminated: bool = False, truncated: bool = False) -> ToolObservation:
        return cls(text=text, reward=reward, done=bool(terminated or truncated),
                   truncated=bool(truncated), **{k: info[k] for k in INFO_KEYS if k in info},
                   extra_info={k: v for k, v in info.items() if k not in INFO_KEYS})

    def info(self) -> dict[str, Any]:
        """The ``info`` dict the in-process env returned (absent keys stay absent)."""
        info = {k: getattr(self, k) for k in INFO_KEYS if getattr(self, k) is not None}
        return info | self.extra_info


class ToolState(State):
    """A session's state: which env it plays and where its episode is."""

    env_id: str | None = None
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    task_id: str | None = None
    done: bool = False
