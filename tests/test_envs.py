"""Every registered id: check_env, determinism, fuzz, golden plans, trials, vectorisation."""

from __future__ import annotations

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tool_gym
from tool_gym.oracle import GoldenPlanPolicy, run_episode, unwrap
from tool_gym.registration import domains, env_ids

ENV_IDS = env_ids()
DOMAINS = list(domains().values())


def test_registry_covers_every_domain():
    assert len(DOMAINS) >= 12
    assert sum(len(d.tools) for d in DOMAINS) >= 60
    assert len([d for d in DOMAINS if d.split == "unseen"]) >= 8
    for d in DOMAINS:
        assert f"ToolMaster/{d.title}-v0" in ENV_IDS
    assert {"ToolMaster/Seen-v0", "ToolMaster/Unseen-v0"} <= set(ENV_IDS)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id):
    env = gym.make(env_id).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=False)
    env.close()


def _actions(rng: np.random.Generator, env) -> list[str]:
    """Random and adversarial messages, plus calls built from the shown catalogue."""
    base = unwrap(env)
    names = [t["function"]["name"] for t in base.reset(seed=int(rng.integers(1 << 30)))[1]["tools"]]
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
    while len(out) < 2000:
        kind = rng.integers(4)
        if kind == 0:
            n = int(rng.integers(0, 200))
            out.append("".join(charset[i] for i in rng.integers(len(charset), size=n)))
        else:
            name = names[int(rng.integers(len(names)))] if kind < 3 else "no_such_tool"
            spec = next((t for t in base._require_episode().surface.catalogue()
                         if t.name == name), None)
            params = spec.param_names if spec else ["x"]
            args = {p: junk_values[int(rng.integers(len(junk_values)))] for p in params
                    if rng.random() < 0.8}
            mode = "trial" if rng.random() < 0.4 else "call"
            out.append(f"<{mode}>{json.dumps({'name': name, 'arguments': args})}</{mode}>")
    return out


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fuzz_never_crashes_and_stays_in_space(env_id):
    env = gym.make(env_id, max_turns=50)
    rng = np.random.default_rng(0)
    actions = _actions(rng, env)
    obs, _ = env.reset(seed=1)
    base = unwrap(env)
    for i, action in enumerate(actions):
        obs, reward, terminated, truncated, info = env.step(action)
        assert base.observation_space.contains(obs), (action, obs)
        assert reward <= 0.0 or terminated
        assert set(info["reward_terms"]) >= {"success", "malformed", "failed_call"}
        if terminated or truncated:
            obs, _ = env.reset(seed=i)
    env.close()


def _rollout(env_id: str, seed: int, actions: list[str]) -> list:
    env = gym.make(env_id)
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


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_episode(env_id):
    env = gym.make(env_id)
    actions = _actions(np.random.default_rng(3), env)[:60]
    env.reset(seed=5)
    policy = GoldenPlanPolicy(env)
    golden = [policy.act() for _ in range(1)]
    env.close()
    assert _rollout(env_id, 5, golden + actions) == _rollout(env_id, 5, golden + actions)


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_golden_plans_succeed_and_wrong_answers_fail(domain):
    env = gym.make(f"ToolMaster/{domain.title}-v0", split="all")
    rng = np.random.default_rng(11)
    chained = 0
    for seed in rng.integers(0, 10**9, size=200):
        result = run_episode(env, GoldenPlanPolicy(env), seed=int(seed))
        assert result["success"], (domain.name, result["actions"], result["info"])
        assert result["info"]["reward_terms"]["success"] == 1.0
        chained += len(unwrap(env).episode.task.plan) >= 2
        env.reset(seed=int(seed))
        _, reward, terminated, _, info = env.step("<answer>I don't know</answer>")
        assert terminated and info["success"] is False and reward == 0.0
    assert chained >= 50, f"{domain.name}: only {chained}/200 tasks chain two or more calls"
    env.close()


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_tasks_are_many_and_some_change_the_world(domain):
    queries, world_tasks = set(), 0
    for seed in range(3000):
        _, task = domain.generate(seed)
        queries.add(task.query)
        world_tasks += task.changes_world
    assert len(queries) >= 1000, f"{domain.name}: {len(queries)} distinct tasks in 3000 seeds"
    assert world_tasks > 0, f"{domain.name}: no task changes the world"


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_trials_never_change_the_real_world(domain):
    """Property: any trial, of any tool, with golden or junk arguments, leaves the world as is."""
    env = gym.make(f"ToolMaster/{domain.title}-v0", split="all", trial_budget=1000, max_turns=1000)
    base = unwrap(env)
    rng = np.random.default_rng(7)
    for seed in range(40):
        env.reset(seed=seed)
        ep = base.episode
        before = ep.world.fingerprint()
        results = []
        for step in ep.task.plan:  # the golden plan, as trials, until a step needs real effects
            args = step.bind(results)
            env.step(f"<trial>{json.dumps({'name': step.tool, 'arguments': args})}</trial>")
            record = ep.records[-1]
            if not record.ok:
                break
            results.append(record.result)
        for spec in domain.tools:  # every tool, with arguments guessed from the schema
            args = {p: _guess(s, rng) for p, s in spec.parameters["properties"].items()}
            env.step(f"<trial>{json.dumps({'name': spec.name, 'arguments': args})}</trial>")
        assert ep.world.fingerprint() == before, domain.name
    env.close()


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_dry_run_answers_like_a_trial_and_leaves_no_trace(domain):
    env = gym.make(f"ToolMaster/{domain.title}-v0", split="all")
    base = unwrap(env)
    rng = np.random.default_rng(3)
    for seed in range(10):
        env.reset(seed=seed)
        ep = base.episode
        before = ep.world.fingerprint()
        step = ep.task.plan[0]
        guessed = [(spec.name, {p: _guess(s, rng) for p, s in spec.parameters["properties"].items()})
                   for spec in domain.tools]
        for name, args in [(step.tool, step.bind([]))] + guessed + [("no_such_tool", {})]:
            error = base.dry_run(name, args)
            assert ep.world.fingerprint() == before and (ep.turn, ep.trials, ep.records) == (0, 0, [])
            obs, *_ = env.step(f"<trial>{json.dumps({'name': name, 'arguments': args})}</trial>")
            # the trial that follows gets the same answer (it runs on a fork as well)
            assert (error is None) == ep.records[-1].ok, (name, args, error, obs)
            if error is not None:
                assert ep.records[-1].error == error
            env.reset(seed=seed)
            ep = base.episode
        assert base.dry_run(step.tool, step.bind([])) is None  # the golden first step works
    env.close()


def _guess(schema: dict, rng: np.random.Generator):
    if "enum" in schema:
        return schema["enum"][int(rng.integers(len(schema["enum"])))]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    return {"integer": 1, "number": 2.5, "boolean": True, "array": []}.get(kind, "a")


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
