"""Every registered id and domain: the domain contract (``tool_gym.check_domain``: check_env,
determinism, fuzz, golden plans, trials, dry runs, drift, the explorer) on every built-in
domain, the same env checks on the ids that are not one domain's, vectorisation."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tool_gym
from tool_gym.contract import CHECKS, check_domain, fuzz_actions, fuzz_env, same_seed_same_episode
from tool_gym.registration import built_in_domains, domain_ids, env_ids

ENV_IDS = env_ids()
DOMAINS = list(built_in_domains().values())
# Ids that are not one domain's (the suites, generated families): env checks of their own.
OTHER_IDS = sorted(set(ENV_IDS) - {i for d in DOMAINS for i in domain_ids(d)})


def test_registry_covers_every_domain():
    assert len(DOMAINS) >= 12
    assert sum(len(d.tools) for d in DOMAINS) >= 60
    assert len([d for d in DOMAINS if d.split == "unseen"]) >= 8
    for d in DOMAINS:
        assert f"ToolMaster/{d.title}-v0" in ENV_IDS
    assert {"ToolMaster/Seen-v0", "ToolMaster/Unseen-v0"} <= set(ENV_IDS)


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_every_built_in_domain_meets_the_contract(domain, check):
    """The contract users' domains are held to (``tool-gym check``), one check per test."""
    report = check_domain(domain, checks=[check])
    assert report.ok, str(report)
    if check == "golden":  # the built-in suite also wants chained tasks
        chained = report["golden"].data["chained"]
        assert chained >= 50, f"{domain.name}: only {chained}/200 tasks chain two or more calls"


@pytest.mark.parametrize("env_id", OTHER_IDS)
def test_check_env(env_id):
    env = gym.make(env_id).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=False)
    env.close()


@pytest.mark.parametrize("env_id", OTHER_IDS)
def test_fuzz_never_crashes_and_stays_in_space(env_id):
    env = gym.make(env_id, max_turns=50)
    fuzz_env(env, fuzz_actions(np.random.default_rng(0), env))
    env.close()


@pytest.mark.parametrize("env_id", OTHER_IDS)
def test_same_seed_same_episode(env_id):
    same_seed_same_episode(lambda: gym.make(env_id))


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_tasks_are_many_and_some_change_the_world(domain):
    queries, world_tasks = set(), 0
    for seed in range(3000):
        _, task = domain.generate(seed)
        queries.add(task.query)
        world_tasks += task.changes_world
    assert len(queries) >= 1000, f"{domain.name}: {len(queries)} distinct tasks in 3000 seeds"
    assert world_tasks > 0, f"{domain.name}: no task changes the world"


def test_async_vector_env_returns_the_right_strings():
    n = 8
    seeds = list(range(100, 100 + n))
    envs = gym.make_vec("ToolMaster/Seen-v0", num_envs=n, vectorization_mode="async")
    obs, info = envs.reset(seed=seeds)
    singles = [gym.make("ToolMaster/Seen-v0") for _ in range(n)]
    expected = [e.reset(seed=s)[0] for e, s in zip(singles, seeds, strict=True)]
    assert list(obs) == expected
    actions = ["<answer>x</answer>", "hello", "<call>{}</call>", "<trial>{\"name\": 1}</trial>"] * 2
    obs, rewards, term, trunc, info = envs.step(actions)
    for i, (e, a) in enumerate(zip(singles, actions, strict=True)):
        o, r, t, _, _ = e.step(a)
        assert obs[i] == o and rewards[i] == pytest.approx(r) and term[i] == t
    envs.close()


def test_importing_tool_gym_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, tool_gym, gymnasium as gym; gym.make('ToolMaster/Seen-v0'); " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_make_with_module_prefix_in_fresh_interpreter():
    import subprocess
    import sys

    code = ("import gymnasium as gym; e = gym.make('tool_gym:ToolMaster/Seen-v0', split='test', "
            "max_turns=3, trial_budget=1, reward_weights={'malformed': -1.0}); "
            "o, i = e.reset(seed=0); _, r, *_ = e.step('nothing'); "
            "u = e.unwrapped; print(i['split'], u.max_turns, u.trial_budget, r)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["test", "3", "1", "-1.0"]


def test_turn_limit_truncates_with_penalty():
    env = gym.make("ToolMaster/Weather-v0", max_turns=2)
    env.reset(seed=0)
    _, _, term, trunc, _ = env.step("<think>hm</think>")
    assert not (term or trunc)
    _, r, term, trunc, info = env.step("<think>hm</think>")
    assert trunc and not term and info["success"] is False
    assert info["reward_terms"]["turn_limit"] < 0


def test_observations_are_capped_with_marker():
    env = gym.make("ToolMaster/Weather-v0", max_response_chars=80)
    env.reset(seed=0)
    obs, *_ = env.step('<call>{"name": "list_cities", "arguments": {}}</call>')
    assert "...[truncated" in obs


def test_info_has_chat_messages_and_tools():
    env = gym.make("ToolMaster/Seen-v0", catalogue="json")
    obs, info = env.reset(seed=0)
    assert [m["role"] for m in info["messages"]] == ["system", "user"]
    assert info["messages"][1]["content"] in obs
    assert all(t["type"] == "function" for t in info["tools"])
    assert '"parameters"' in info["messages"][0]["content"]


def test_version():
    assert tool_gym.__version__


@pytest.mark.parametrize("env_id,kwargs", [("ToolMaster/Seen-v0", {"split": "test"}),
                                           ("ToolMaster/Unseen-Drift-v0", {"stale_docs": True})])
def test_max_plan_steps_filters_tasks_and_keeps_split_and_determinism(env_id, kwargs):
    env = gym.make(env_id, max_plan_steps=1, **kwargs)
    plans, splits, tasks = [], set(), []
    for seed in range(30):
        _, info = env.reset(seed=seed)
        plans.append(len(env.unwrapped.episode.task.plan))
        splits.add(info["split"])
        tasks.append(info["task_id"])
    assert max(plans) == 1 and len(set(tasks)) >= 20
    assert splits == ({"test"} if kwargs.get("split") == "test" else {"unseen"})
    again = gym.make(env_id, max_plan_steps=1, **kwargs)
    assert [again.reset(seed=s)[1]["task_id"] for s in range(30)] == tasks
    # unfiltered, the same stream has longer plans; an explicit task seed is never filtered
    plain = gym.make(env_id, **kwargs)
    assert max(len(plain.reset(seed=s) and plain.unwrapped.episode.task.plan)
               for s in range(30)) > 1
    long_seed = next(s for s in range(0, 10_000, 5)
                     if len(plain.reset(options={"task_seed": s}) and
                            plain.unwrapped.episode.task.plan) > 1)
    env.reset(options={"task_seed": long_seed})
    assert len(env.unwrapped.episode.task.plan) > 1
    with pytest.raises(ValueError, match="max_plan_steps"):
        gym.make(env_id, max_plan_steps=0, **kwargs)


def test_privileged_code_reads_the_episode_through_a_read_only_task_view():
    import dataclasses
    from pathlib import Path

    from tool_gym.oracle import GoldenPlanPolicy

    env = gym.make("ToolMaster/Weather-v0")
    env.reset(seed=3)
    base = env.unwrapped
    view = base.task_view()
    assert view.task.task_id == base.episode.task.task_id and view.surface is base.episode.surface
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.turn = 5
    env.step(GoldenPlanPolicy(env).act())
    after = base.task_view()
    assert (view.turn, view.records) == (0, ())  # a snapshot: stepping does not change it
    assert after.turn == 1 and len(after.records) == 1 and after.results == [
        after.records[0].result]
    # outside the env (and its subclasses), nobody reaches for the private accessor
    root = Path(__file__).resolve().parents[1]
    users = [str(p.relative_to(root)) for folder in ("tool_gym", "envs", "agents", "benchmarks")
             for p in (root / folder).rglob("*.py")
             if p.name != "env.py" and "_require_episode" in p.read_text()]
    assert users == ["tool_gym/importers/bfcl.py"]  # a ToolEnv subclass
