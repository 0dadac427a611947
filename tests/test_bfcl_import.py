"""BFCL data as envs: episodes checked by BFCL's own checkers, from the bfcl-eval wheel."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

pytest.importorskip("bfcl_eval")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from tool_gym.importers import bfcl  # noqa: E402
from tool_gym.oracle import GoldenPlanPolicy, run_episode  # noqa: E402
from tool_gym.protocol import format_call  # noqa: E402

SAMPLED = ("simple_python", "simple_java", "simple_javascript", "parallel_multiple",
           "irrelevance", "live_relevance", "multi_turn_base", "multi_turn_miss_func")


def play(env: bfcl.BFCLEnv, entry: bfcl.Entry, turns: list) -> bool:
    env.reset(options={"entry": entry.id})
    info: dict = {}
    for calls in turns:
        message = "".join(format_call(name, args) for name, args in calls)
        *_, info = env.step(message + "<answer>Done.</answer>")
    return bool(info.get("success"))


@pytest.fixture(scope="module", params=SAMPLED)
def sample(request: pytest.FixtureRequest) -> bfcl.BFCLEnv:
    ids = bfcl.entry_ids(request.param)[:3]
    return bfcl.BFCLEnv(category=request.param, entries=ids)


def test_ground_truth_succeeds_and_a_wrong_answer_fails(sample: bfcl.BFCLEnv) -> None:
    assert not sample.skipped
    for entry in sample.entries:
        golden = bfcl.golden_calls(entry)
        assert play(sample, entry, golden), sample.render()
        if "irrelevance" in entry.category:
            wrong = [[bfcl.placeholder_call(entry.shown[0])]]
        elif entry.ground_truth is None:
            wrong = [[] for _ in golden]
        else:  # the first string (else number) argument gets a value no answer allows
            turn, index, name, args, key = min(
                (not isinstance(v, str), t, i, n, a, k)
                for t, calls in enumerate(golden) for i, (n, a) in enumerate(calls)
                for k, v in a.items() if isinstance(v, (str, int, float))
                and not isinstance(v, bool))[1:]
            wrong = [list(t) for t in golden]
            wrong[turn][index] = (name, {**args, key: args[key] + ("zq" if isinstance(
                args[key], str) else 1000)})
        assert not play(sample, entry, wrong), (entry.id, wrong)


def test_bfcl_env_passes_gymnasium_check_env() -> None:
    env = bfcl.BFCLEnv(category="multi_turn_base", entries=["multi_turn_base_0"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)


def test_an_answer_ends_a_user_turn_and_the_next_one_follows() -> None:
    entry_id = "multi_turn_miss_func_0"
    env = bfcl.BFCLEnv(category="multi_turn_miss_func", entries=[entry_id])
    entry = env.entries[0]
    turns = bfcl.golden_calls(entry)
    obs, _ = env.reset(options={"entry": entry_id})
    held = entry.missed_function[3]
    assert f"- {held[0]}(" not in obs  # withheld until its turn
    for t, calls in enumerate(turns):
        obs, reward, terminated, truncated, info = env.step(
            "".join(format_call(n, a) for n, a in calls) + "<answer>Done.</answer>")
        if t < len(turns) - 1:
            assert not terminated and "User:" in obs and env.user_turn == t + 1
        if t == 2:
            assert "New tools are available" in obs and held[0] in obs
    assert terminated and info["success"]


def test_trials_never_reach_the_real_backends() -> None:
    env = bfcl.BFCLEnv(category="multi_turn_base", entries=["multi_turn_base_0"])
    env.reset(options={"entry": "multi_turn_base_0"})
    world = env.episode.world
    before = world.fingerprint()
    obs, *_ = env.step(format_call("mkdir", {"dir_name": "scratch"}, mode="trial"))
    assert "scratch" not in obs or "ERROR" not in obs
    assert world.fingerprint() == before and not world.calls


def test_drift_and_stale_docs_apply_to_bfcl_tools() -> None:
    env = bfcl.BFCLEnv(category="simple_python", entries=bfcl.entry_ids("simple_python")[:12],
                       drift_level="heavy", stale_docs=True, drift_focus="plan")
    renamed = 0
    for seed in range(12):
        result = run_episode(env, GoldenPlanPolicy(env), seed=seed)
        assert result["success"], (env.entry.id, result["info"]["mutations"])
        renamed += any(t != n for n, t in ((n, s.target) for n, s in
                                           env.episode.surface.tools.items()) if t)
    assert renamed  # some episodes called BFCL functions under other names


def test_irrelevance_counts_a_rejected_call_as_a_call() -> None:
    env = bfcl.BFCLEnv(category="irrelevance", entries=["irrelevance_0"])
    env.reset(options={"entry": "irrelevance_0"})
    env.step(format_call("no_such_tool", {}))
    *_, info = env.step("<answer>I cannot help.</answer>")
    assert info["success"] is False


def test_a_file_or_folder_in_bfcl_layout_loads(tmp_path: Path) -> None:
    source = bfcl.data_dir()
    lines = (source / "BFCL_v4_simple_python.json").read_text().splitlines()[:2]
    answers = (source / "possible_answer" / "BFCL_v4_simple_python.json").read_text()
    (tmp_path / "possible_answer").mkdir()
    (tmp_path / "BFCL_v4_simple_python.json").write_text("\n".join(lines) + "\n")
    (tmp_path / "possible_answer" / "BFCL_v4_simple_python.json").write_text(
        "\n".join(answers.splitlines()[:2]) + "\n")
    for path in (tmp_path, tmp_path / "BFCL_v4_simple_python.json"):
        env = bfcl.BFCLEnv(category="simple_python", path=path)
        assert [e.id for e in env.entries] == [json.loads(x)["id"] for x in lines]
        assert play(env, env.entries[1], bfcl.golden_calls(env.entries[1]))


@pytest.mark.parametrize("category", ["web_search", "memory_kv", "format_sensitivity"])
def test_categories_that_need_the_web_or_a_model_are_refused_with_the_reason(
        category: str) -> None:
    with pytest.raises(KeyError, match="not run here"):
        bfcl.load(category)


def test_arguments_that_would_never_finish_are_refused() -> None:
    env = bfcl.BFCLEnv(category="multi_turn_base", entries=["multi_turn_base_15"])
    env.reset(options={"entry": "multi_turn_base_15"})
    assert "power" in env.episode.surface.tools  # this entry uses BFCL's MathAPI
    obs, *_ = env.step(format_call("power", {"base": 10, "exponent": 10**12}))
    assert "refused here" in obs
    obs, *_ = env.step(format_call("power", {"base": 2, "exponent": 10}))
    assert "1024" in obs
