"""Evaluation: Wilson intervals, pass^k, per-split reports with scripted and golden policies."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import pytest

import tool_gym  # noqa: F401
from tool_gym.agents.evaluate import (
    DEFAULT_SPLITS,
    domain_counts,
    domain_interval,
    evaluate,
    pass_hat_k,
    split_table,
    to_markdown,
    wilson_interval,
)
from tool_gym.agents.policy import ScriptedPolicy
from tool_gym.oracle import GoldenPlanPolicy

WEATHER = {"weather": "ToolMaster/Weather-v0"}


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson_interval(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    lo, hi = wilson_interval(20, 20)
    assert hi == 1.0 and lo == pytest.approx(0.8389, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_pass_hat_k_combinatorial_estimator():
    # one task with 2 successes in 4 trials: C(2,k)/C(4,k)
    assert pass_hat_k([(4, 2)], 1) == pytest.approx(0.5)
    assert pass_hat_k([(4, 2)], 2) == pytest.approx(1 / 6)
    assert pass_hat_k([(4, 2)], 3) == 0.0
    # averaged over tasks; tasks with fewer trials than k are left out
    counts = [(4, 4), (4, 3), (4, 0), (2, 2)]
    assert pass_hat_k(counts, 2) == pytest.approx((1 + 3 / 6 + 0 + 1) / 4)
    assert pass_hat_k(counts, 3) == pytest.approx((1 + 1 / 4 + 0) / 3)
    assert pass_hat_k([(3, 3)], 4) is None
    assert pass_hat_k([(5, 3)], 3) == pytest.approx(math.comb(3, 3) / math.comb(5, 3))


def test_domain_interval_resamples_whole_domains():
    # 4 domains of 6 episodes: one always succeeds, the others never (pooled 6/24 = 0.25)
    lopsided = [(6, 6), (6, 0), (6, 0), (6, 0)]
    lo, hi = domain_interval(lopsided)
    assert lo == 0.0 and 0.5 <= hi <= 0.75  # 0.75: three draws of the good domain
    # the same 24 episodes spread evenly over the domains: no spread between domains
    assert domain_interval([(6, 2), (6, 1), (6, 2), (6, 1)])[1] < hi
    # far wider than the Wilson interval of 6/24, which treats the episodes as independent
    w_lo, w_hi = wilson_interval(6, 24)
    assert hi - lo > w_hi - w_lo
    # domains that all score the same show no spread: never narrower than Wilson's
    assert domain_interval([(5, 2), (5, 2)]) == wilson_interval(4, 10)
    assert domain_interval([(3, 0), (3, 0)]) == wilson_interval(0, 6)
    lo, hi = domain_interval([(6, 2), (6, 1), (6, 2), (6, 1)])
    assert lo <= w_lo and hi >= w_hi
    assert domain_interval([(9, 3)]) is None and domain_interval([]) is None
    assert domain_interval(lopsided) == domain_interval(lopsided)  # seeded
    tasks = [{"task_id": "jokes-3", "n": 2, "successes": 1},
             {"task_id": "jokes-8", "n": 2, "successes": 2},
             {"task_id": "recipes-1", "n": 2, "successes": 0}]
    assert domain_counts(tasks) == {"jokes": [4, 3], "recipes": [2, 0]}


def test_always_wrong_policy_scores_zero_with_a_wilson_upper_bound(tmp_path):
    wrong = ScriptedPolicy(default="<answer>certainly not the answer</answer>")
    res = evaluate(wrong, WEATHER, episodes=10, seeds=[0, 1], progress=False,
                   out=tmp_path / "r.json", markdown=tmp_path / "r.md")
    s = res["splits"]["weather"]
    assert s["episodes"] == 20 and s["tasks"] == 10 and s["trials_per_task"] == 2
    assert s["success_rate"] == 0.0 and s["ci95"][0] == 0.0
    assert s["ci95"][1] == pytest.approx(wilson_interval(0, 20)[1]) and s["ci95"][1] < 1
    assert s["pass_k"] == {"1": 0.0, "2": 0.0, "3": None, "4": None}
    assert s["domains"] == {"weather": [20, 0]} and s["ci95_domains"] is None
    assert s["mean_turns"] == 1.0 and s["calls_per_episode"] == 0.0
    assert json.loads((tmp_path / "r.json").read_text())["splits"]["weather"]["episodes"] == 20
    assert "| weather |" in (tmp_path / "r.md").read_text()
    assert not (tmp_path / "t.jsonl").exists()
    evaluate(wrong, WEATHER, episodes=3, progress=False, transcripts=tmp_path / "t.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [(r["split"], r["task"], r["success"]) for r in lines] == [
        ("weather", 0, False), ("weather", 1, False), ("weather", 2, False)]
    assert lines[0]["actions"] == ["<answer>certainly not the answer</answer>"]


def test_golden_policy_factory_succeeds_everywhere():
    res = evaluate(GoldenPlanPolicy, WEATHER, episodes=8, seeds=[0, 1, 2, 3], progress=False)
    s = res["splits"]["weather"]
    assert s["success_rate"] == 1.0 and all(v == 1.0 for v in s["pass_k"].values())
    assert s["calls_per_episode"] >= 1 and s["trials_per_episode"] == 0
    assert s["mean_turns"] == pytest.approx(s["calls_per_episode"] + 1)


class HalfLucky:
    """Golden on trial seeds 0 and 1, wrong on the others: c = 2 of n = 4 for every task."""

    seed = 0

    def __init__(self, env):
        self.golden = GoldenPlanPolicy(env)

    def reseed(self, seed):
        HalfLucky.seed = seed

    def act(self, obs):
        return self.golden.act(obs) if HalfLucky.seed < 2 else "<answer>wrong</answer>"


def test_pass_k_from_repeated_trials():
    res = evaluate(HalfLucky, WEATHER, episodes=5, seeds=[0, 1, 2, 3], progress=False)
    s = res["splits"]["weather"]
    assert s["success_rate"] == 0.5
    assert s["pass_k"]["1"] == pytest.approx(0.5)
    assert s["pass_k"]["2"] == pytest.approx(1 / 6)
    assert s["pass_k"]["3"] == 0.0 and s["pass_k"]["4"] == 0.0
    assert all(t["n"] == 4 and t["successes"] == 2 for t in s["per_task"])
    table = to_markdown(res)
    assert "pass^4" in table and "0.167" in table


def test_split_tables_and_missing_ids_are_skipped():
    assert split_table(None) == DEFAULT_SPLITS
    assert split_table(["ToolMaster/Weather-v0"]) == {"ToolMaster/Weather-v0":
                                                      ("ToolMaster/Weather-v0", {})}
    assert split_table(["w=ToolMaster/Weather-v0"]) == {"w": ("ToolMaster/Weather-v0", {})}
    assert split_table({"seen": ("ToolMaster/Seen-v0", {"split": "test"})})["seen"][1] == {
        "split": "test"}
    res = evaluate(ScriptedPolicy(), {"nope": "ToolMaster/DoesNotExist-v0", **WEATHER},
                   episodes=2, progress=False)
    assert "nope" in res["skipped"] and "weather" in res["splits"]


def test_default_splits_run(tmp_path):
    """Every default split that is registered runs; Drift-v0 may not exist yet."""
    res = evaluate(ScriptedPolicy(), None, episodes=2, seeds=[0], progress=False)
    assert set(res["splits"]) | set(res["skipped"]) == set(DEFAULT_SPLITS)
    assert {"seen_test", "unseen"} <= set(res["splits"])
    assert res["splits"]["seen_test"]["env_kwargs"] == {"split": "test"}


def test_llm_policy_is_evaluated_in_batches(tiny, tmp_path):
    from tool_gym.agents.policy import make_policy

    model, tok = tiny
    policy = make_policy(model, tok, max_new_tokens=4)
    res = evaluate(policy, WEATHER, episodes=3, seeds=[0, 1], batch_size=2, max_turns=2,
                   progress=False, transcripts=tmp_path / "t.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert len(lines) == 6 and {r["trial_seed"] for r in lines} == {0, 1}
    assert all(len(r["actions"]) == len(r["observations"]) == r["turns"] for r in lines)
    s = res["splits"]["weather"]
    assert s["episodes"] == 6 and s["tasks"] == 3 and s["pass_k"]["2"] is not None
    assert s["mean_turns"] <= 2
    # 4-token messages from a random model: cut at the cap, counted per split
    assert s["cut_messages"] == sum(r["cut_actions"] for r in lines) > 0
    assert s["forced_thoughts"] == 0
    assert "| cut messages | forced thoughts |" in to_markdown(res)


def _failure_modes():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "failure_modes.py"
    spec = importlib.util.spec_from_file_location("failure_modes", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["failure_modes"] = module
    spec.loader.exec_module(module)
    return module


def test_failure_modes_sort_transcripts(tmp_path):
    fm = _failure_modes()
    call = '<call>{"name": "%s", "arguments": {}}</call>'

    def rec(actions, observations, success=False):
        return {"success": success, "actions": actions, "observations": observations}

    assert fm.failure_mode(rec([call % "a"], ["[call 1] a -> 1"], True), "a") == "success"
    assert fm.failure_mode(rec(["the answer is 4"], ["ERROR: no tags"]), "a") == "no_call"
    assert fm.failure_mode(rec([call % "b"], ["[call 1] b -> 1"]), "a") == "wrong_tool"
    assert fm.failure_mode(rec([call % "a", call % "a"], ["[call 1] a -> ERROR: x"] * 2),
                           "a") == "repeated_failure"
    assert fm.failure_mode(rec([call % "a", "<answer>9</answer>"], ["[call 1] a -> 1", "[done]"]),
                           "a") == "wrong_answer"
    # openings: two candidates, the right one works and is kept; or never named
    trials = ('<trial>{"name": "b", "arguments": {}}</trial>\n'
              '<trial>{"name": "a", "arguments": {}}</trial>')
    answers = "[trial 1] b -> ERROR: no\n[trial 2] a -> {}"
    assert fm.opening_flags(rec([trials, call % "a"], [answers, ""]), "a") == {
        "several", "right_named", "right_worked", "kept"}
    assert fm.opening_flags(rec([trials, call % "b"], [answers, ""]), "a") == {
        "several", "right_named", "right_worked"}
    assert fm.opening_flags(rec([trials], [answers.replace("a -> {}", "a -> ERROR: x")]),
                            "a") == {"several", "right_named"}
    assert fm.opening_flags(rec([call % "b"], ["[call 1] b -> 1"]), "a") == set()
    hint = "[trial 1] b -> ERROR: no id 'x'; ids come from a"
    assert fm.opening_flags(rec([call % "b", call % "a"], [hint, ""]), "a") == {
        "hinted", "followed"}
    assert fm.opening_flags(rec([call % "b", call % "b"], [hint, ""]), "a") == {"hinted"}
    # messages that did no work: a thought cut at the cap, an unclosed call
    looping = "<think>Fix: `a` -> `b`; 2 more. Fix: `b` -> `a`; 2 more. Fix:"
    counted = fm.message_counts([
        {**rec([looping, call % "a"], ["", ""]), "cut_actions": 1, "forced_thoughts": 0},
        {**rec([call % "a", '<call>{"name": "a"'], ["", ""]), "cut_actions": 1,
         "forced_thoughts": 1},
        {**rec([call % "a"], [""]), "cut_actions": 0, "forced_thoughts": 0}])
    assert counted == {"actionless": 2, "cut": 2, "forced": 1}
    assert fm.message_counts([rec([call % "a"], [""])])["cut"] is None
    # after a failed call: sent again verbatim; a named fix made; a named fix not made
    # (the call copied); a no-op "fix" and a fix after a call that worked do not count
    args = '<call>{"name": "%s", "arguments": {"%s": 1}}</call>'
    err, ok = "[call 1] a -> ERROR: use b", "[call 1] b -> 1"
    fix = "<think>Fix: `a` -> `b`; `k` -> `q`.</think>\n"
    assert fm.after_error_counts([
        rec([args % ("a", "k"), args % ("a", "k")], [err, err]),
        rec([args % ("a", "k"), fix + args % ("b", "q")], [err, ok]),
        rec([args % ("a", "k"), fix + args % ("a", "k")], [err, err]),
        rec([args % ("a", "k"), "<think>Fix: `a` -> `a`.</think>" + args % ("a", "j")],
            [err, err]),
        rec([args % ("b", "q"), fix + args % ("b", "q")], [ok, ok]),
    ]) == {"after_error": 4, "repeated": 2, "fix_named": 2, "fix_applied": 1}
    # a name that merely contains the target is no hint
    assert fm.opening_flags(rec([call % "b"], ["[trial 1] b -> ERROR: use ab"]), "a") == set()
    # end to end on a run folder written by evaluate()
    wrong = ScriptedPolicy(default="<answer>certainly not the answer</answer>")
    run = tmp_path / "run"
    evaluate(wrong, WEATHER, episodes=2, progress=False, out=run / "eval" / "m.json",
             transcripts=run / "eval" / "m.transcripts.jsonl")
    report = fm.main(["--run-dir", str(run), "--out", str(tmp_path / "fm.json")])
    assert report["episodes"]["m"]["weather"]["no_call"] == 2
    assert "| m | weather |" in (tmp_path / "fm.md").read_text()
    assert report["openings"]["m"]["weather"] == {f: 0 for f in fm.OPENING}
    # stepwise transcripts record no cut or forced messages: None, not 0
    assert report["messages"]["m"]["weather"] == {"actionless": 0, "cut": None, "forced": None}
    assert report["left_out"] == {}
    # a transcript whose task seed now draws another task is left out, not misread
    path = run / "eval" / "m.transcripts.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    lines[0]["task_id"] = "weather-123456789"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    report = fm.main(["--run-dir", str(run), "--out", str(tmp_path / "fm.json")])
    assert report["episodes"]["m"]["weather"]["no_call"] == 1
    assert report["left_out"] == {"m/weather": 1}
    assert "Left out" in (tmp_path / "fm.md").read_text()
    # so is one whose task is the same but whose recorded drift the seed no longer draws
    assert lines[1]["mutations"] == []
    lines[1]["mutations"] = [{"kind": "rename_tool", "tool": "get_forecast", "style": "opaque"}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    report = fm.main(["--run-dir", str(run), "--out", str(tmp_path / "fm.json")])
    assert report["left_out"] == {"m/weather": 2}


def test_transcripts_record_the_drift_each_episode_met(tiny, tmp_path):
    """Stepwise and batched evaluation both write the episode's mutations, as reset saw them."""
    from tool_gym.agents.policy import make_policy

    drift = {"drift": ("ToolMaster/Weather-Drift-v0", {"stale_docs": True})}
    env = gym.make("ToolMaster/Weather-Drift-v0", stale_docs=True)
    expected = [env.reset(seed=900_000 + j)[1]["mutations"] for j in range(2)]
    env.close()
    assert all(expected)
    for policy, name in ((ScriptedPolicy(default="<answer>x</answer>"), "stepwise"),
                         (make_policy(tiny[0], tiny[1], max_new_tokens=4), "batched")):
        path = tmp_path / f"{name}.jsonl"
        evaluate(policy, drift, episodes=2, max_turns=1, task_offset=900_000, progress=False,
                 transcripts=path)
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        assert [r["mutations"] for r in lines] == expected, name


def test_paired_comparison_counts_gained_and_lost_tasks():
    from tool_gym.agents.evaluate import paired_comparison

    def tasks(outcomes, ids=None):
        return [{"task_seed": i, "task_id": (ids or {}).get(i, f"jokes-{i}"), "n": n,
                 "successes": c} for i, (n, c) in enumerate(outcomes)]

    base = tasks([(1, 0)] * 10 + [(1, 1)] * 2)
    other = tasks([(1, 1)] * 9 + [(1, 0)] + [(1, 1), (1, 0)])
    res = paired_comparison(base, other)
    assert (res["tasks"], res["left_out"], res["gained"], res["lost"]) == (12, 0, 9, 1)
    assert res["base_success"] == pytest.approx(2 / 12)
    assert res["base_ci"] == pytest.approx(list(wilson_interval(2, 12)))
    assert res["other_ci"][0] > res["base_ci"][1]  # these two do not overlap
    assert res["other_success"] == pytest.approx(10 / 12)
    # exact two-sided sign test: P(X <= 1 or X >= 9), X ~ Bin(10, 1/2)
    assert res["p_value"] == pytest.approx(22 / 1024)
    # the same success rates with the same tasks swapped between the runs show no signal
    same = paired_comparison(base, base)
    assert (same["gained"], same["lost"], same["p_value"]) == (0, 0, None)
    # several trials per task: compared as rates; a task whose id changed is left out,
    # as is a seed only one run played
    res = paired_comparison(tasks([(4, 1), (4, 3), (2, 1)]),
                            tasks([(4, 2), (4, 3), (2, 1), (1, 1)], ids={2: "recipes-2"}))
    assert (res["tasks"], res["left_out"], res["gained"], res["lost"]) == (2, 2, 1, 0)
    assert res["base_success"] == pytest.approx(4 / 8)


def _benchmark(name):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_compare_evals_pairs_two_evaluations_with_transcripts(tmp_path):
    """Two real evaluations of a scripted policy: one answers right, one answers wrong on
    every task; the comparison counts the tasks and the changed transcripts."""
    ce = _benchmark("compare_evals")
    wrong = ScriptedPolicy(["<answer>surely not this</answer>"])
    paths = []
    for name, policy in (("golden", GoldenPlanPolicy), ("wrong", wrong)):
        path = tmp_path / f"{name}.json"
        res = evaluate(policy, WEATHER, episodes=4, progress=False,
                       transcripts=path.with_suffix(".transcripts.jsonl"))
        path.write_text(json.dumps(res))
        paths.append(path)
    rows = ce.main([f"wrong={paths[1]}", f"golden={paths[0]}",
                    "--out", str(tmp_path / "cmp.json")])
    (row,) = rows
    assert (row["baseline"], row["other"], row["split"]) == ("wrong", "golden", "weather")
    assert (row["tasks"], row["gained"], row["lost"]) == (4, 4, 0)
    assert row["p_value"] == pytest.approx(2 / 16)
    assert (row["episodes_paired"], row["changed"], row["changed_ok"]) == (4, 4, 0)
    assert ("| golden | wrong | weather | 4 | 0.00 [0.00, 0.49] | 1.00 [0.51, 1.00] | no | "
            "4 | 0 | 0.125 | 4 / 4 | 0 |") in (tmp_path / "cmp.md").read_text()
    assert json.loads((tmp_path / "cmp.json").read_text())["rows"] == rows
    # without transcripts the changed columns are left out
    (paths[0].with_suffix(".transcripts.jsonl")).unlink()
    (row,) = ce.main([str(paths[1]), str(paths[0])])
    assert "changed" not in row and row["gained"] == 4
    with pytest.raises(SystemExit):
        ce.main([str(paths[0])])
    # evaluations of disjoint task blocks pool into one; shared seeds are refused
    more = []
    for name, policy in (("golden", GoldenPlanPolicy), ("wrong", wrong)):
        path = tmp_path / f"{name}_next.json"
        res = evaluate(policy, WEATHER, episodes=3, task_offset=100, progress=False,
                       transcripts=path.with_suffix(".transcripts.jsonl"))
        path.write_text(json.dumps(res))
        more.append(path)
    (row,) = ce.main([f"wrong={paths[1]}+{more[1]}", f"golden={paths[0]}+{more[0]}"])
    assert (row["tasks"], row["gained"], row["lost"]) == (7, 7, 0)
    assert row["other_ci"] == pytest.approx(list(wilson_interval(7, 7)))
    assert "changed" not in row  # one part of the golden side kept no transcripts
    (row,) = ce.main([f"{paths[1]}+{more[1]}", f"{more[1]}+{paths[1]}"])
    assert (row["tasks"], row["gained"], row["lost"], row["changed"]) == (7, 0, 0, 0)
    with pytest.raises(ValueError, match="share task seeds"):
        ce.main([f"{paths[1]}+{paths[1]}", str(paths[0])])
    # evaluations of other splits join the table, in the order the parts name them
    renamed = []
    for path in more:
        res = json.loads(path.read_text())
        res["splits"] = {"weather_next": res["splits"].pop("weather")}
        renamed.append(tmp_path / f"{path.stem}_renamed.json")
        renamed[-1].write_text(json.dumps(res))
    rows = ce.main([f"{paths[1]}+{renamed[1]}", f"{paths[0]}+{renamed[0]}"])
    assert [(r["split"], r["tasks"], r["gained"]) for r in rows] == [
        ("weather", 4, 4), ("weather_next", 3, 3)]


def test_trace_lengths_count_thoughts_over_the_budget(tiny):
    tl = _benchmark("trace_lengths")
    _, tokenizer = tiny

    def n_tokens(text):
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    long_thought = "Fix: `a` -> `b`. " * 12
    assert n_tokens(long_thought) > 40 > n_tokens("Trying it safely.")
    said = [f"<think>{long_thought}</think>\n<trial>{{}}</trial>",
            "<think>Trying it safely.</think>\n<call>{}</call>", "<answer>4</answer>"]
    trace = {"outcome": {"success": True},
             "messages": [{"role": "system", "content": "rules"},
                          *({"role": r, "content": c} for m in said
                            for r, c in (("assistant", m), ("user", "ok")))]}
    failed = {**trace, "outcome": {"success": False}}  # left out
    row = tl.length_row("t", [trace, failed], tokenizer, budget=40)
    assert (row["episodes"], row["thoughts"], row["thoughts_over_budget"]) == (1, 2, 1)
    assert row["thought_max"] == n_tokens(long_thought)
    assert row["message_p50"] == n_tokens(said[1])
    # the call repeats the trial's body: one repeat, its tokens a share of those trained
    assert row["repeated_calls"] == 1 and 0 < row["repeated_token_frac"] < 0.1
    none = tl.length_row("g", [{**trace, "messages": trace["messages"][:1] + [
        {"role": "assistant", "content": "<answer>4</answer>"}]}], tokenizer, budget=40)
    assert (none["thoughts"], none["thought_p50"], none["thoughts_over_budget"]) == (0, None, 0)
