"""Students on generated APIs: Procgen train APIs in the traces and DAgger rounds, and the
scaling benchmark end to end on the tiny model."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

from tool_gym.agents.config import PRESETS, PROCGEN_SOURCES, TRACE_SOURCES, with_overrides
from tool_gym.agents.pipeline import make_traces
from tool_gym.agents.teachers import TrialTeacher
from tool_gym.agents.traces import read_traces, recovery_traces
from tool_gym.envs.procgen import api_split, pool_seed


def _generated(records):
    return [r for r in records if r["domain"].startswith("procgen_")]


def test_traces_hold_the_requested_number_of_train_apis_with_an_equal_budget(tmp_path):
    counts = {}
    for k in (1, 3, 12):
        p = with_overrides(PRESETS["tiny"], **{"traces.procgen_apis": k,
                                               "traces.procgen_per_source": 6})
        paths = make_traces(tmp_path / f"k{k}", p)
        for teacher, path in paths.items():
            records = read_traces(path)
            generated = _generated(records)
            seeds = {int(r["domain"].rsplit("_", 1)[1]) for r in generated}
            # only the first k train API seeds; with 6 episodes a source >= k, all of them
            assert seeds <= {pool_seed(i) for i in range(k)}, (teacher, k)
            assert all(api_split(s) == "train" for s in seeds)
            if k <= 6:
                assert len(seeds) == k
            for env_id, _ in PROCGEN_SOURCES:
                # evenly: each source plays min(k, 6) APIs, none two traces more than another
                per_api = Counter(r["domain"] for r in generated if r["env_id"] == env_id)
                assert len(per_api) == min(k, 6), (teacher, k)
                assert max(per_api.values()) - min(per_api.values()) <= 1, (teacher, k)
            assert {json.loads(r["env_kwargs"])["api_pool"] for r in generated} == {k}
            counts[teacher, k] = (len(records), len(generated))
    # the same number of traces whatever k is (the teachers solve every generated task)
    for teacher in ("trial", "golden"):
        assert {counts[teacher, k] for k in (1, 3, 12)} == {
            (2 * len(TRACE_SOURCES) + 6 * len(PROCGEN_SOURCES), 6 * len(PROCGEN_SOURCES))}


def test_dagger_fixes_replay_a_students_episode_on_the_same_generated_api():
    p = with_overrides(PRESETS["tiny"], **{"traces.procgen_apis": 5})
    sources = {f"source{i}": src for i, src in enumerate(p.trace_sources())}
    name = f"source{len(TRACE_SOURCES) + 1}"  # generated APIs, drifted, stale docs
    assert sources[name][1]["api_pool"] == 5 and sources[name][1]["stale_docs"]
    wrong = '<call>{"name": "no_such_tool", "arguments": {}}</call>'
    episodes = [{"split": name, "task": 500_000 + j, "success": False, "actions": [wrong]}
                for j in range(5)]
    fixes = recovery_traces(episodes, sources, TrialTeacher, progress=False)
    assert fixes and all(r["outcome"]["success"] for r in fixes)
    assert {r["domain"] for r in fixes} <= {f"procgen_{pool_seed(i)}" for i in range(5)}
    assert len({r["domain"] for r in fixes}) == len(fixes)  # 5 seeds, 5 APIs


def _scaling_module():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "scaling.py"
    spec = importlib.util.spec_from_file_location("scaling_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_scaling_benchmark_runs_end_to_end_on_the_tiny_model(tiny, tmp_path):
    bench = _scaling_module()
    out = tmp_path / "scaling.json"
    argv = ["--preset", "tiny", "--model", "tiny", "--apis", "0", "2", "--teachers", "trial",
            "--procgen-per-source", "3", "--set", "sft.max_length=512",
            "--run-dir", str(tmp_path / "runs"), "--out", str(out)]
    report = bench.main(argv)
    saved = json.loads(out.read_text())
    assert saved["apis"] == [0, 2] and saved["teachers"] == ["trial"]
    assert saved["splits"] == ["unseen", "unseen_stale", "procgen_stale"]
    assert {(r["apis"], r["split"]) for r in saved["rows"]} == {
        (k, s) for k in (0, 2) for s in saved["splits"]}
    for r in saved["rows"]:
        assert r["teacher"] == "trial" and r["method"] == "trial_sft" and r["episodes"] == 1
        assert 0.0 <= r["ci_low"] <= r["success"] <= r["ci_high"] <= 1.0
    # an equal number of episodes at every K; K = 0 plays the generated budget by hand
    zero, two = saved["points"]["0"]["trial"], saved["points"]["2"]["trial"]
    assert zero["episodes_played"] == two["episodes_played"] == 12
    assert (zero["procgen_traces"], zero["procgen_apis_seen"]) == (0, 0)
    assert (two["procgen_traces"], two["procgen_apis_seen"]) == (6, 2)
    # the held-out generated APIs are test API seeds only
    task_ids = [t["task_id"] for r in saved["rows"] if r["split"] == "procgen_stale"
                for t in r["per_task"]]
    assert task_ids and all(api_split(int(t.split("-")[0].rsplit("_", 1)[1])) == "test"
                            for t in task_ids)
    assert out.with_suffix(".png").stat().st_size > 0
    assert "| 2 |" in out.with_suffix(".md").read_text()
    assert report["rows"] == saved["rows"]
    # resumable: a rerun trains nothing and reports the same rows
    done = [tmp_path / "runs" / f"k{k}" / "sft_trial" / "DONE" for k in (0, 2)]
    made = [d.stat().st_mtime_ns for d in done]
    again = bench.main(argv)
    assert again["rows"] == saved["rows"]
    assert [d.stat().st_mtime_ns for d in done] == made


def test_grpo_tasks_draw_generated_train_apis_from_the_pool():
    from dataclasses import replace

    from tool_gym.agents.grpo import EnvPool, TaskKey, task_dataset

    p = with_overrides(PRESETS["tiny"], **{"traces.procgen_apis": 7})
    keys = [TaskKey.loads(k) for k in task_dataset(replace(p.grpo, envs=p.grpo_envs()),
                                                   40)["prompt"]]
    generated = [k for k in keys if k.env_id.startswith("ToolMaster/Procgen")]
    assert {k.env_id for k in generated} == {e for e, _ in PROCGEN_SOURCES}
    pool = EnvPool()
    apis = {env.reset(seed=k.seed)[1]["api_seed"]
            for k in generated for env in pool.get(k, 1)}
    assert apis <= {pool_seed(i) for i in range(7)} and len(apis) > 1


def test_scaling_results_accumulate_over_invocations_of_the_same_setup():
    bench = _scaling_module()
    setup = {"benchmark": "scaling", "preset_name": "one_call", "base_preset": {"seed": 0},
             "model": "default", "procgen_per_source": 60, "splits": ["unseen"],
             "eval_episodes": 48}

    def report(apis, teachers, success):
        rows = [{"apis": k, "teacher": t, "split": "unseen", "success": success,
                 "ci_low": 0.0, "ci_high": 1.0} for k in apis for t in teachers]
        points = {str(k): {"run_dir": f"k{k}", **{t: {"traces": 10} for t in teachers}}
                  for k in apis}
        return {**setup, "apis": apis, "teachers": teachers, "rows": rows, "points": points,
                "timings_s": {str(k): 1.0 for k in apis}, "command": f"run {apis} {teachers}"}

    earlier = report([0, 120], ["trial", "golden"], 0.5)
    now = report([12, 120], ["trial"], 0.25)
    whole = bench.merged(now, earlier)
    assert whole["apis"] == [0, 12, 120] and whole["teachers"] == ["trial", "golden"]
    cells = {(r["apis"], r["teacher"]): r["success"] for r in whole["rows"]}
    # this invocation's points replace the earlier ones; the others are kept
    assert cells == {(0, "trial"): 0.5, (0, "golden"): 0.5, (120, "golden"): 0.5,
                     (12, "trial"): 0.25, (120, "trial"): 0.25}
    assert set(whole["points"]["120"]) == {"run_dir", "trial", "golden"}
    assert whole["commands"] == ["run [0, 120] ['trial', 'golden']", "run [12, 120] ['trial']"]
    assert "| 12 | 0.25 [0.00, 1.00] | - |" in bench.markdown(whole)
    assert now["rows"] == report([12, 120], ["trial"], 0.25)["rows"], "merged in place"
    # interrupted after K = 12: the earlier K = 120 trial point stays until it is rerun
    cut = report([12, 120], ["trial"], 0.25)
    cut["rows"] = [r for r in cut["rows"] if r["apis"] == 12]
    del cut["points"]["120"]
    cells = {(r["apis"], r["teacher"]): r["success"] for r in bench.merged(cut, earlier)["rows"]}
    assert cells[(120, "trial")] == 0.5 and cells[(12, "trial")] == 0.25
    # another setup: nothing is merged
    other = {**earlier, "procgen_per_source": 1500}
    assert bench.merge_earlier(report([12], ["trial"], 0.25), other) == ["procgen_per_source"]
    assert bench.merged(report([12], ["trial"], 0.25), other)["apis"] == [12]
