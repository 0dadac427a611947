"""Teachers: scripted and LLM players of ToolMaster envs whose episodes become SFT traces.

Every teacher has ``begin(obs, info)`` (called after ``reset``) and ``act(obs) -> str``
(one assistant message), the interface :func:`tool_gym.oracle.run_episode` plays.

- :class:`GoldenTeacher` executes the golden plan directly: the trajectory-centric baseline.
- :class:`TrialTeacher` knows the true current API (privileged, through ``tool_gym.oracle``)
  but writes what a careful expert does: it probes tools it cannot trust with ``<trial>``
  calls, makes realistic first-try mistakes (the documented-but-stale name, a wrong
  parameter name or value format), corrects them from the env's error messages, then
  executes with ``<call>`` and answers.
- :class:`LLMTeacher` asks any OpenAI-compatible chat endpoint (stdlib ``urllib`` only).

Each has its module: the trial teacher in :mod:`~tool_gym.agents.trial_teacher` (what it
says in :mod:`~tool_gym.agents.phrases`), the LLM teacher's HTTP client in
:mod:`~tool_gym.agents.llm_teacher`, and the parsing of a student's messages that
``recover`` goes on from in :mod:`~tool_gym.agents.openings`; this module is the home of
the golden teacher and of :func:`make_teacher`, and every teacher imports from here.

Example:
    >>> import gymnasium as gym, tool_gym
    >>> from tool_gym.oracle import run_episode
    >>> env = gym.make("ToolMaster/Weather-v0")
    >>> run_episode(env, TrialTeacher(env, seed=0), seed=3)["success"]
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import gymnasium as gym

from tool_gym.agents.llm_teacher import LLMTeacher, LLMTeacherError
from tool_gym.agents.openings import parse_opening, student_messages
from tool_gym.agents.phrases import PHRASEBOOKS
from tool_gym.agents.trial_teacher import TRIAL_WHEN, TrialTeacher
from tool_gym.oracle import GoldenPlanPolicy
from tool_gym.protocol import Response, parse_responses

__all__ = [
    "GoldenTeacher", "LLMTeacher", "LLMTeacherError", "PHRASEBOOKS", "Response", "TEACHERS",
    "Teacher", "TRIAL_WHEN", "TrialTeacher", "make_teacher", "parse_opening", "parse_responses",
]


class Teacher(Protocol):
    """What :func:`tool_gym.oracle.run_episode` and the trace generator play."""

    name: str

    def begin(self, obs: str, info: dict[str, Any]) -> None: ...

    def act(self, obs: str) -> str: ...


# -- the golden teacher -----------------------------------------------------------------


class GoldenTeacher:
    """Direct execution of the golden plan, one call per message, no trials.

    Wraps :class:`tool_gym.oracle.GoldenPlanPolicy`; it knows the true current API, so
    it succeeds on every solvable task, and its traces are the trajectory-centric baseline.
    """

    name = "golden"

    def __init__(self, env: gym.Env, seed: int = 0) -> None:
        self.env = env
        self._policy = GoldenPlanPolicy(env)
        self._opening: list[str] = []
        self._pending: list[str] = []
        self.last_is_mistake = False

    def recover(self, messages: str | Sequence[str]) -> GoldenTeacher:
        """Start the next episode from a student's messages (each one tool call, the last
        one rejected), then execute the plan: the golden counterpart of
        :meth:`TrialTeacher.recover`, with no thought about the error."""
        self._opening = [m for m, _, _ in student_messages(messages)]
        return self

    def begin(self, obs: str, info: dict[str, Any]) -> None:
        """Nothing to prepare: the policy reads the episode from the env."""
        self._pending, self._opening = self._opening, []

    def act(self, obs: str) -> str:
        self.last_is_mistake = bool(self._pending)
        if self._pending:
            return self._pending.pop(0)
        return self._policy.act(obs)


# -- registry ---------------------------------------------------------------------------

TEACHERS: dict[str, Callable[..., Any]] = {"golden": GoldenTeacher, "trial": TrialTeacher}


def make_teacher(name: str, env: gym.Env, seed: int = 0, **kwargs: Any) -> Teacher:
    """A scripted teacher by name (``golden`` or ``trial``) for ``env``."""
    if name not in TEACHERS:
        raise KeyError(f"unknown teacher {name!r}; choose from {', '.join(TEACHERS)}")
    return TEACHERS[name](env, seed=seed, **kwargs)
