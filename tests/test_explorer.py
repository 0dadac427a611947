"""The scripted explorer: discovers drifted APIs from observations alone; the replay does not."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import tool_gym.explorer as explorer_module
from tool_gym.drift import KINDS, mutation_kinds
from tool_gym.env import ToolEnv
from tool_gym.explorer import (
    DocReplayPolicy,
    ScriptedExplorer,
    canonical_intent,
    follow,
)
from tool_gym.oracle import GoldenPlanPolicy, run_episode
from tool_gym.protocol import parse_json_lenient
from tool_gym.registration import domains

DOMAINS = list(domains().values())
BENIGN = [k for k in mutation_kinds() if not KINDS[k].adversarial]
ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("drift_matrix", ROOT / "benchmarks" /
                                                  "drift_matrix.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["drift_matrix"] = module
    spec.loader.exec_module(module)
    return module


def test_the_explorer_reads_no_privileged_state():
    folder = Path(explorer_module.__file__).parent
    sources = sorted(folder.glob("*.py"))
    assert len(sources) > 1  # every module of the package is read, not only its __init__
    tree = ast.Module(body=[node for path in sources
                            for node in ast.parse(path.read_text(encoding="utf-8")).body],
                      type_ignores=[])
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not attrs & {"episode", "_require_episode", "task_view", "surface", "applied", "check", "records",
                        "call_log", "np_random", "unwrapped"}, attrs
    keys = {n.slice.value for n in ast.walk(tree) if isinstance(n, ast.Subscript)
            and isinstance(n.slice, ast.Constant)}
    assert "mutations" not in keys
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"translate_step", "GoldenPlanPolicy", "ToolEnv"}
    assert "env" not in inspect.signature(ScriptedExplorer).parameters


def test_the_explorer_only_needs_domain_task_seed_and_the_shown_tools():
    env = ToolEnv(domains=["weather"], split="all", mutations=[
        {"kind": "rename_tool", "tools": "all", "style": "opaque"}], stale_docs=True)
    obs, info = env.reset(seed=4)
    lean = {"domain": info["domain"], "task_seed": info["task_seed"], "tools": info["tools"]}
    policy = ScriptedExplorer()
    policy.begin(obs, lean)
    done = False
    while not done:
        obs, _, term, trunc, info = env.step(policy.act(obs))
        done = term or trunc
    assert info["success"]


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_explorer_and_replay_solve_undrifted_tasks(domain):
    env = ToolEnv(domains=[domain.name], split="all")
    for seed in range(6):
        assert run_episode(env, ScriptedExplorer(), seed=seed)["success"], (domain.name, seed)
        assert run_episode(env, DocReplayPolicy(), seed=seed)["success"], (domain.name, seed)
    env.close()


@pytest.mark.parametrize("kind", BENIGN)
def test_drift_bites_the_replay_and_the_explorer_discovers_it(kind):
    bench = _bench()
    rng = np.random.default_rng(sum(map(ord, kind)))
    names = sorted(d.name for d in DOMAINS)
    tally = {"replay": 0, "explorer": 0, "golden": 0, "n": 0}
    behaviour = KINDS[kind].drift_class == "behaviour"
    for name in [names[int(i)] for i in rng.choice(len(names), size=len(names) if behaviour
                                                   else 4, replace=False)]:
        domain = domains()[name]
        env = ToolEnv(domains=[name], split="all", stale_docs=True)
        # behaviour kinds meet fewer tasks (a list read past its first page, an id typed in)
        for _ in range(10 if behaviour else 3):
            if tally["n"] >= 12:
                break
            seed = int(rng.integers(10**6))
            _, task = domain.generate(seed)
            env.mutations = bench.targeted(kind, task, domain)
            if env.mutations is None:
                continue
            tally["n"] += 1
            for label, policy in (("replay", DocReplayPolicy()), ("explorer", ScriptedExplorer()),
                                  ("golden", GoldenPlanPolicy(env))):
                result = run_episode(env, policy, seed=seed, options={"task_seed": seed})
                tally[label] += result["success"]
        env.close()
    assert tally["n"] >= 4, tally
    assert tally["golden"] == tally["n"], tally
    assert tally["explorer"] >= 0.8 * tally["n"], tally
    if KINDS[kind].interface and kind != "rename_fields":
        assert tally["replay"] <= 0.1 * tally["n"], tally
    if not KINDS[kind].interface:
        assert tally["replay"] == tally["n"], tally


def test_terse_errors_with_renames_under_stale_docs_defeat_the_explorer():
    """Why terse_errors is adversarial: no error names the tools any more."""
    env = ToolEnv(domains=["weather"], split="all", stale_docs=True, mutations=[
        {"kind": "terse_errors"}, {"kind": "rename_tool", "tools": "all"}])
    wins = sum(run_episode(env, ScriptedExplorer(), seed=s)["success"] for s in range(6))
    assert wins == 0
    env.stale_docs = False  # the fresh catalogue names the tools again
    wins = sum(run_episode(env, ScriptedExplorer(), seed=s)["success"] for s in range(6))
    assert wins == 6


def test_heavy_drift_is_discoverable():
    wins = n = 0
    for name in ("calendar", "messaging", "weather", "sqldb"):
        env = ToolEnv(domains=[name], split="all", stale_docs=True, drift_level="heavy",
                      max_turns=12)
        for seed in range(5):
            wins += run_episode(env, ScriptedExplorer(), seed=seed)["success"]
            n += 1
        env.close()
    assert wins >= 0.85 * n, (wins, n)


def test_probes_are_trials_and_real_calls_are_few():
    env = ToolEnv(domains=["calendar"], split="all", stale_docs=True, max_turns=12, mutations=[
        {"kind": "scramble"}])
    for seed in range(4):
        result = run_episode(env, ScriptedExplorer(), seed=seed)
        assert result["success"]
        calls = sum(a.count("<call>") for a in result["actions"])
        trials = sum(a.count("<trial>") for a in result["actions"])
        plan = len(canonical_intent(result["info"]).plan)
        assert calls <= plan + 1 and trials >= plan, (calls, trials, plan)


def test_follow_looks_through_envelopes_and_recased_keys():
    value = {"status": "ok", "result": {"Items": [{"HighC": 21}]}}
    assert follow(value, "items.0.high_c") == 21
    assert follow({"data": [{"name": "Paris"}]}, "0.name") == "Paris"
    assert follow({"result": {"result": 3, "unit": "pt"}}, "result") == 3
    with pytest.raises(LookupError):
        follow(value, "items.0.high_c", literal=True)


def test_truncated_json_is_read_up_to_the_cut():
    full = json.dumps({"rows": [[i, f"name {i}"] for i in range(50)]})
    cut = full[:300] + "...[truncated 999 chars]"
    value = parse_json_lenient(cut)
    assert value["rows"][0] == [0, "name 0"] and len(value["rows"]) > 5


def test_benchmark_quick_cells_and_report(tmp_path):
    bench = _bench()
    records = []
    for row in ("rename_tool", "terse_errors", "terse_errors+rename_tool"):
        records += bench.run_cell(("weather", row, 2, 0, 8))
    res = bench.aggregate(records, mutation_kinds(), ["weather"])
    res["config"] = {"tasks": 2, "max_turns": 8, "seed": 0, "quick": True, "seconds": 0.0,
                     "episodes": 3 * len(records)}
    for key in ("mutation_kinds", "replay_stale_success", "explorer_stale_success"):
        assert key in res
    assert res["per_kind"]["rename_tool"]["stale"]["replay"] == 0.0
    assert res["per_kind"]["rename_tool"]["stale"]["explorer"] == 1.0
    assert res["compositions"]["terse_errors+rename_tool"]["stale"]["explorer"] == 0.0
    md = bench.markdown(res)
    assert "| rename_tool |" in md and "terse_errors (adversarial)" in md
    json.dumps(res)
