"""Wrappers around the text env (verb + noun, as in Gymnasium)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tool_gym.env import ToolEnv
from tool_gym.oracle import call_results
from tool_gym.protocol import format_call


class DiscretizeActions(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A tool env as a classic RL env: discrete actions, a fixed-size vector observation.

    Action ``i < T`` calls the domain's ``i``-th tool (canonical order) the way its
    documentation reads: under the name the catalogue shows for it and, where the
    catalogue is stale, the old name and arguments. Arguments come from the task's golden
    plan (bound to the results so far), so the agent learns *which* tool to call *when*,
    not how to write arguments. Action ``T`` answers with the golden answer computed from
    the real results so far (wrong if the needed calls did not succeed).

    The observation is ``[turn / max_turns, last action failed, plan progress,
    called-ok flag per tool, error flag per tool, plan-uses-tool flag per tool]``.

    This makes the fixed action set explicit: a classic agent that memorises "tool 3
    then answer" is exactly what breaks when tools drift and the docs do not follow.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        base = env.unwrapped
        if not isinstance(base, ToolEnv) or len(base.domains) != 1:
            raise ValueError("DiscretizeActions needs a single-domain ToolEnv")
        self.tool_names = [t.name for t in base.domains[0].tools]
        self.n_tools = len(self.tool_names)
        self.action_space = spaces.Discrete(self.n_tools + 1)
        size = 3 + 3 * self.n_tools
        self.observation_space = spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)
        self._called = np.zeros(self.n_tools, dtype=np.float32)
        self._failed = np.zeros(self.n_tools, dtype=np.float32)
        self._last_failed = 0.0

    @property
    def base(self) -> ToolEnv:
        return self.env.unwrapped  # type: ignore[return-value]

    def _vector(self) -> np.ndarray:
        ep = self.base.task_view()
        plan = ep.task.plan
        uses = np.array([any(s.tool == n for s in plan) for n in self.tool_names],
                        dtype=np.float32)
        progress = min(len(call_results(self.base)), len(plan)) / max(1, len(plan))
        head = [ep.turn / self.base.max_turns, self._last_failed, progress]
        return np.concatenate([head, self._called, self._failed, uses]).astype(np.float32)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        _, info = self.env.reset(**kwargs)
        self._called[:] = 0
        self._failed[:] = 0
        self._last_failed = 0.0
        return self._vector(), info

    def action_text(self, action: int) -> str:
        """The message that action ``action`` sends."""
        ep = self.base.task_view()
        results = call_results(self.base)
        if action >= self.n_tools:
            try:
                return f"<answer>{ep.task.golden_answer(results)}</answer>"
            except (IndexError, KeyError, TypeError, ValueError):
                return "<answer>unknown</answer>"
        tool = self.tool_names[action]
        step = next((s for s in ep.task.plan[len(results):] if s.tool == tool), None)
        step = step or next((s for s in ep.task.plan if s.tool == tool), None)
        try:
            args = step.bind(results) if step else {}
        except (IndexError, KeyError, TypeError, ValueError):
            args = {}
        shown = {t.name for t in ep.surface.catalogue()}
        current = ep.surface.surface_name(tool)
        if current is not None and current in shown:
            return format_call(current, ep.surface.tools[current].to_surface(dict(args)))
        return format_call(tool, args)  # the docs still describe the old API

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = int(action)
        text = self.action_text(a)
        before = len(self.base.task_view().records)
        _, reward, terminated, truncated, info = self.env.step(text)
        records = self.base.task_view().records[before:]
        failed = any(not r.ok for r in records)
        self._last_failed = float(failed)
        if a < self.n_tools:
            (self._failed if failed else self._called)[a] = 1.0
        info["action_text"] = text
        return self._vector(), float(reward), terminated, truncated, info
