"""Privileged scripted policies that read the hidden task: used by teachers, tests, benchmarks.

They never run inside an agent under evaluation; they prove tasks are solvable and give
the trajectory-centric baseline its data.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from tool_gym.env import ToolEnv
from tool_gym.episode import play
from tool_gym.protocol import format_call


def unwrap(env: gym.Env) -> ToolEnv:
    base = env.unwrapped
    if not isinstance(base, ToolEnv):
        raise TypeError(f"expected a ToolEnv underneath, got {type(base).__name__}")
    return base


def call_results(env: ToolEnv) -> list[Any]:
    """Backend results of the successful real calls so far, in order (calls the surface
    answers itself, as a session opener, run no backend tool and are left out)."""
    return env.task_view().results


def translate_step(env: ToolEnv, tool: str, arguments: dict[str, Any]) -> tuple[str, dict]:
    """A canonical (backend) call as it must be written on the episode's current surface."""
    surface = env.task_view().surface
    name = surface.surface_name(tool)
    if name is None:
        raise KeyError(f"no current tool runs backend tool '{tool}'")
    return name, surface.tools[name].to_surface(dict(arguments))


def prior_calls(env: ToolEnv, name: str) -> list[tuple[str, dict[str, Any]]]:
    """Calls the current surface needs before ``name`` works that the episode has not made
    yet (a session to open): what a translated plan inserts before calling ``name``."""
    ep = env.task_view()
    tool = ep.surface.tools.get(name)
    need = tool.needs if tool is not None else None
    if need is None or any(r.ok and r.name == need for r in ep.records):
        return []
    return [(need, {})]


class GoldenPlanPolicy:
    """Executes the golden plan, one call per message, then answers. No trials.

    Knows the true current API (plans are translated through drift, and a call the surface
    needs first, as opening a session, is inserted), so it succeeds on every solvable task:
    the trajectory-centric teacher.
    """

    def __init__(self, env: gym.Env) -> None:
        self.env = unwrap(env)

    def act(self, observation: str | None = None) -> str:
        ep = self.env.task_view()
        results = call_results(self.env)
        plan = ep.task.plan
        if len(results) < len(plan):
            step = plan[len(results)]
            name, args = translate_step(self.env, step.tool, step.bind(results))
            prior = prior_calls(self.env, name)
            return format_call(*prior[0]) if prior else format_call(name, args)
        return f"<answer>{ep.task.golden_answer(results)}</answer>"


def run_episode(env: gym.Env, policy: Any, seed: int | None = None,
                options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Play one episode of ``env`` with a scripted agent (``begin(obs, info)``, then
    ``act(obs)``) or any :class:`~tool_gym.episode.Policy`, through the one episode loop
    (:func:`~tool_gym.episode.play`); returns return, success, turns, actions and the
    last ``info``."""
    ep, = play([env], policy, [seed], options)
    return {"return": ep.reward, "success": ep.success, "turns": ep.info["turn"],
            "actions": ep.actions, "info": ep.info}
