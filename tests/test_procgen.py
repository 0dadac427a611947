"""Procgen: generated tool APIs are real domains (contract, splits, seeds, drift, explorer)."""

from __future__ import annotations

import json
import pickle
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from jsonschema import Draft202012Validator

import tool_gym  # noqa: F401
from tool_gym.envs.procgen import api_split, build_domain, generate_api, make_domain, pool_seed
from tool_gym.oracle import GoldenPlanPolicy, run_episode, unwrap
from tool_gym.registration import domains, get_domain

API_SEEDS = [1, 2, 3, 7, 10, 42, 99, 1234]


def test_generated_apis_are_distinct_typed_and_valid():
    signatures, sizes, names = set(), Counter(), Counter()
    for seed in range(300):
        d = build_domain(seed)
        sizes[len(d.tools)] += 1
        signatures.add(tuple(sorted(t.signature() for t in d.tools)))
        for t in d.tools:
            if seed < 30:  # the meta-schema check costs about a millisecond a spec
                Draft202012Validator.check_schema(t.parameters)
            names[t.name] += 1
    assert len(signatures) == 300
    assert min(sizes) >= 4 and max(sizes) <= 12
    assert max(names.values()) <= 6, names.most_common(3)  # names rarely repeat across APIs


def test_same_api_seed_same_api_and_domain_names_resolve():
    assert generate_api(5) == generate_api(5)
    assert [t.signature() for t in build_domain(5).tools] == \
        [t.signature() for t in build_domain(5).tools]
    assert get_domain("procgen_5") is make_domain(5)
    assert not any(n.startswith("procgen") for n in domains())
    with pytest.raises(KeyError):
        get_domain("procgen_x")


def test_existing_ids_do_not_draw_procgen():
    for env_id in ("ToolMaster/Seen-v0", "ToolMaster/Unseen-v0", "ToolMaster/Drift-v0"):
        env = gym.make(env_id)
        seen = {env.reset(seed=s)[1]["domain"] for s in range(40)}
        assert not any(d.startswith("procgen") for d in seen)


@pytest.mark.parametrize("api_seed", API_SEEDS)
def test_golden_plans_succeed_and_wrong_answers_fail(api_seed):
    env = gym.make("ToolMaster/Procgen-v0", api_seed=api_seed, split="all")
    lengths, world_tasks = Counter(), 0
    for seed in range(60):
        result = run_episode(env, GoldenPlanPolicy(env), seed=seed)
        assert result["success"], (api_seed, result["actions"], result["info"])
        task = unwrap(env).episode.task
        lengths[len(task.plan)] += 1
        world_tasks += task.changes_world
        env.reset(seed=seed)
        _, reward, terminated, _, info = env.step("<answer>I don't know</answer>")
        assert terminated and info["success"] is False
    assert max(lengths) <= 4 and lengths[1] > 0


def test_plans_cover_one_to_four_calls_nonlinear_and_state_changes():
    lengths, world_tasks, nonlinear = Counter(), 0, 0
    for api_seed in range(40):
        d = make_domain(api_seed)
        for seed in range(25):
            world, task = d.generate(seed)
            lengths[len(task.plan)] += 1
            world_tasks += task.changes_world
            refs = {v.step for s in task.plan for v in s.arguments.values()
                    if isinstance(v, tool_gym.Ref)}
            nonlinear += len(refs) >= 2
    assert set(lengths) == {1, 2, 3, 4}
    assert world_tasks >= 100 and nonlinear >= 20


def test_api_seed_and_task_seed_through_make_and_reset_options():
    env = gym.make("ToolMaster/Procgen-v0", api_seed=11)
    _, info = env.reset(seed=0)
    assert info["api_seed"] == 11 and info["domain"] == "procgen_11"
    a = env.reset(options={"api_seed": 12, "task_seed": 3})
    b = gym.make("ToolMaster/Procgen-v0").reset(options={"api_seed": 12, "task_seed": 3})
    assert a[0] == b[0] and a[1]["task_id"] == "procgen_12-3"


def test_api_seeds_split_into_train_and_test():
    train = gym.make("ToolMaster/Procgen-v0")
    test = gym.make("ToolMaster/Procgen-v0", api_split="test")
    train_apis = {train.reset(seed=s)[1]["api_seed"] for s in range(50)}
    test_infos = [test.reset(seed=s)[1] for s in range(50)]
    assert all(api_split(a) == "train" for a in train_apis) and len(train_apis) >= 45
    assert all(api_split(i["api_seed"]) == "test" and i["split"] == "unseen" for i in test_infos)


def test_an_api_pool_spreads_consecutive_seeds_evenly_over_its_first_api_seeds():
    assert [pool_seed(i) for i in range(9)] == [1, 2, 3, 4, 6, 7, 8, 9, 11]
    assert [pool_seed(i, "test") for i in range(3)] == [0, 5, 10]
    assert all(api_split(pool_seed(i)) == "train" for i in range(1000))
    assert len({pool_seed(i) for i in range(1000)}) == 1000
    env = gym.make("ToolMaster/Procgen-Drift-v0", api_pool=4, stale_docs=True)
    infos = [env.reset(seed=300_000 + j)[1] for j in range(12)]
    assert Counter(i["api_seed"] for i in infos) == {1: 3, 2: 3, 3: 3, 4: 3}
    # same seed, same API and task; a reset without a seed still draws from the pool
    again = gym.make("ToolMaster/Procgen-Drift-v0", api_pool=4, stale_docs=True)
    assert again.reset(seed=300_005)[0] == env.reset(seed=300_005)[0]
    assert {env.reset()[1]["api_seed"] for _ in range(20)} <= {1, 2, 3, 4}
    test = gym.make("ToolMaster/Procgen-v0", api_split="test", api_pool=2)
    assert {test.reset(seed=s)[1]["api_seed"] for s in range(4)} == {0, 5}
    with pytest.raises(ValueError, match="api_pool"):
        gym.make("ToolMaster/Procgen-v0", api_pool=0)


@pytest.mark.parametrize("api_seed", API_SEEDS[:4])
def test_trials_never_change_the_real_world(api_seed):
    env = gym.make("ToolMaster/Procgen-v0", api_seed=api_seed, split="all", trial_budget=1000,
                   max_turns=1000)
    base = unwrap(env)
    for seed in range(15):
        env.reset(seed=seed)
        ep = base.episode
        before = ep.world.fingerprint()
        results = []
        for step in ep.task.plan:
            args = step.bind(results)
            env.step(f"<trial>{json.dumps({'name': step.tool, 'arguments': args})}</trial>")
            if not ep.records[-1].ok:
                break
            results.append(ep.records[-1].result)
        assert ep.world.fingerprint() == before


def test_errors_say_what_is_wrong_and_how_to_fix_it():
    env = gym.make("ToolMaster/Procgen-v0", api_seed=3)
    env.reset(seed=0)
    d = make_domain(3)
    get = next(t for t in d.tools if "One " in t.description)
    search = next(t for t in d.tools if t.description.startswith("Find"))
    obs, *_ = env.step(f'<call>{json.dumps({"name": get.name, "arguments": {get.param_names[0]: "zz"}})}</call>')
    assert "ids look like" in obs and search.name in obs
    obs, *_ = env.step(f'<call>{json.dumps({"name": search.name, "arguments": {search.param_names[0]: "qqq"}})}</call>')
    assert "e.g." in obs
    obs, *_ = env.step(f'<call>{json.dumps({"name": get.name[:-1], "arguments": {}})}</call>')
    assert "Did you mean" in obs and get.name in obs


def test_domains_pickle():
    d = make_domain(8)
    again = pickle.loads(pickle.dumps(d))
    world, task = again.generate(4)
    assert task.query == d.generate(4)[1].query


def test_drift_and_stale_docs_apply_to_generated_apis():
    env = gym.make("ToolMaster/Procgen-Drift-v0", drift_level="heavy", stale_docs=True,
                   drift_focus="plan")
    for seed in range(30):
        result = run_episode(env, GoldenPlanPolicy(env), seed=seed)
        assert result["success"], result
        assert json.loads(json.dumps(result["info"]["mutations"])) == result["info"]["mutations"]


def test_explorer_solves_generated_apis_with_stale_docs():
    from tool_gym.explorer import ScriptedExplorer

    env = gym.make("ToolMaster/Procgen-Drift-v0", drift_level="heavy", stale_docs=True,
                   drift_focus="plan", max_turns=24, trial_budget=100)
    wins = sum(run_episode(env, ScriptedExplorer(), seed=s)["success"] for s in range(30))
    assert wins >= 24, wins


def test_catalogue_is_short():
    lengths = [sum(len(t.signature()) for t in make_domain(s).tools) for s in range(200)]
    assert float(np.median(lengths)) < 1200  # characters; procgen_stats.py counts tokens


def test_teachers_solve_generated_apis_under_mixed_drift():
    teachers = pytest.importorskip("tool_gym.agents.teachers")
    env = gym.make("ToolMaster/Procgen-Drift-v0", drift_level="mixed", stale_docs=True,
                   max_turns=12)
    for cls in (teachers.GoldenTeacher, teachers.TrialTeacher):
        wins = sum(run_episode(env, cls(env, seed=s), seed=s)["success"] for s in range(10))
        assert wins == 10, cls.__name__


def test_a_generated_api_meets_the_domain_contract():
    report = tool_gym.check_domain(make_domain(3))
    assert report.ok, report
