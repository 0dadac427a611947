"""DiscretizeActions: a tool env as a classic RL env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import tool_gym  # noqa: F401
from tool_gym.wrappers import DiscretizeActions


def test_passes_sb3_check_env():
    sb3 = pytest.importorskip("stable_baselines3.common.env_checker")
    sb3.check_env(DiscretizeActions(gym.make("ToolMaster/Weather-v0")))


def test_plan_order_then_answer_succeeds_and_random_actions_never_crash():
    env = DiscretizeActions(gym.make("ToolMaster/Banking-v0"))
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        plan = env.base.episode.task.plan
        for step in plan:
            obs, *_ = env.step(env.tool_names.index(step.tool))
        _, _, terminated, _, info = env.step(env.n_tools)
        assert terminated and info["success"], seed
        assert env.observation_space.contains(obs)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    for _ in range(300):
        obs, _, term, trunc, _ = env.step(int(rng.integers(env.action_space.n)))
        assert env.observation_space.contains(obs)
        if term or trunc:
            env.reset(seed=int(rng.integers(1000)))


def test_stale_docs_break_the_fixed_action_set():
    env = DiscretizeActions(gym.make(
        "ToolMaster/Weather-Drift-v0", stale_docs=True,
        mutations=[{"kind": "rename_tool", "tool": "get_forecast", "style": "opaque"}]))
    env.reset(seed=0)
    text = env.action_text(env.tool_names.index("get_forecast"))
    assert '"get_forecast"' in text  # the docs still name the old tool
