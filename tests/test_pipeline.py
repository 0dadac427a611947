"""The whole pipeline end to end on the tiny model, and the CLI around it."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from tool_gym.agents.pipeline import EVAL_SPLITS, METHODS, run_pipeline  # noqa: E402


def test_pipeline_runs_every_stage_and_resumes(tiny, tmp_path):
    run = tmp_path / "run"
    report = run_pipeline(run, "tiny", model_name="tiny")
    rows = report["rows"]
    assert {(r["method"], r["split"]) for r in rows} == {(m, s) for m in METHODS
                                                         for s in EVAL_SPLITS}
    for r in rows:
        assert 0.0 <= r["ci_low"] <= r["success"] <= r["ci_high"] <= 1.0
        assert set(r["pass_at_k"]) == {"1", "2", "3", "4"}
        assert sum(n for n, _ in r["domains"].values()) == r["episodes"]
        if len(r["domains"]) < 2:  # one task per split here: no interval over domains
            assert r["ci_low_domain"] is None and r["ci_high_domain"] is None
    # toolmaster is the whole method: GRPO from the trial student's DAgger round
    for stage in ("sft_trial", "sft_golden", "grpo_trial_dagger", "grpo_golden",
                  "recovery_trial", "recovery_golden"):
        assert (run / stage / "adapter_model.safetensors").exists(), stage
    assert report["grpo_steps"] == {"golden": 1, "trial": 1}
    # the DAgger round played the train sources from the trial SFT model
    assert {t: [r["rollouts"] for r in rounds] for t, rounds in report["recovery"].items()} == {
        "trial": [3], "golden": [3]}
    assert (run / "traces_trial_recovery.jsonl").exists()
    # every stage and trace file records what it was made from, the trial teacher's
    # settings only where that teacher made the data
    done = json.loads((run / "grpo_trial_dagger" / "DONE").read_text())["settings"]
    assert done["model"] == "tiny" and done["trial.style"] == "terse" and "grpo.steps" in done
    assert done["dagger.rounds"] == 1 and "dagger.turns" in done
    assert "dagger.turns" not in json.loads((run / "grpo_golden" / "DONE").read_text())[
        "settings"]
    assert "trial.style" not in json.loads((run / "sft_golden" / "DONE").read_text())["settings"]
    assert json.loads((run / "traces_golden.settings.json").read_text())["traces.per_source"] == 2
    assert report["reused_stages"] == {}
    assert (run / "results.png").stat().st_size > 0
    assert "toolmaster" in (run / "results.md").read_text()
    # every comparison of PAIRED, on every split, pairs the split's one task
    from tool_gym.agents.pipeline import PAIRED

    assert {(p["method"], p["baseline"], p["split"]) for p in report["paired"]} == {
        (m, b, s) for m, b in PAIRED for s in EVAL_SPLITS}
    assert all(p["tasks"] == 1 and p["gained"] + p["lost"] <= 1 for p in report["paired"])
    assert "| trial_sft | golden_sft |" in (run / "results.md").read_text()
    trial = [json.loads(line) for line in (run / "traces_trial.jsonl").read_text().splitlines()]
    assert any("<trial>" in m["content"] for t in trial for m in t["messages"]
               if m["role"] == "assistant")
    # a second call finds every stage done and only rebuilds the report
    again = run_pipeline(run, "tiny", model_name="tiny")
    assert again["rows"] == rows
    assert sum(again["timings_s"].values()) < sum(report["timings_s"].values())
    # the one-call-task evaluation reuses the trained stages and writes beside the rest
    from tool_gym.agents.pipeline import PRESETS, with_overrides

    short = with_overrides(PRESETS["tiny"], **{"eval.max_plan_steps": 1})
    assert all(kw["max_plan_steps"] == 1 for _, kw in short.eval_splits().values())
    mtimes = {p: p.stat().st_mtime for p in run.glob("*/adapter_model.safetensors")}
    subset = run_pipeline(run, short, model_name="tiny", methods=["trial_sft"])
    assert {r["method"] for r in subset["rows"]} == {"trial_sft"}
    assert (run / "eval-plan1" / "trial_sft.json").exists()
    assert (run / "results-plan1.md").exists() and (run / "results.md").exists()
    assert {p: p.stat().st_mtime for p in run.glob("*/adapter_model.safetensors")} == mtimes
    # a thought budget at evaluation gets its own folder too
    assert with_overrides(short, **{"eval.max_thought_tokens": 40}).suffix == "-plan1-think40"
    assert with_overrides(PRESETS["tiny"], **{"eval.max_thought_tokens": 40}).suffix == "-think40"
    assert with_overrides(short, **{"eval.resample_resends": 2}).suffix == "-plan1-resample2"
    # a larger evaluation is refused, not answered with the cached smaller one
    for change in ({"eval.episodes": 2}, {"eval.max_turns": 4}, {"eval.max_new_tokens": 7},
                   {"eval.seeds": [0, 1]}, {"max_plan_steps": 1}):  # the last: split kwargs
        with pytest.raises(ValueError, match="other settings"):
            run_pipeline(run, with_overrides(PRESETS["tiny"], **change), model_name="tiny",
                         methods=["trial_sft"])


def test_dagger_rounds_build_on_each_other_and_stages_refuse_other_settings(tiny, tmp_path):
    from tool_gym.agents.pipeline import (
        PRESETS,
        RECOVERY_ROUND_STRIDE,
        RECOVERY_TASK_OFFSET,
        check_stages,
        with_overrides,
    )
    from tool_gym.agents.traces import read_traces, read_transcripts

    run = tmp_path / "run"
    # two rounds whose students play two turns each (DAgger on later turns)
    one = with_overrides(PRESETS["tiny"], **{"dagger.turns": 2})
    two = with_overrides(one, **{"dagger.rounds": 2})
    report = run_pipeline(run, two, model_name="tiny", methods=["trial_sft_dagger"])
    first, second = report["recovery"]["trial"]
    assert (first["round"], second["round"]) == (1, 2)
    # round 2 plays fresh tasks from the round-1 model and learns both rounds' fixes
    rollouts = read_transcripts(run / "rollouts_trial_r2.jsonl")
    seeds = {e["task"] for e in rollouts}
    assert seeds and min(seeds) >= RECOVERY_TASK_OFFSET + RECOVERY_ROUND_STRIDE
    assert max(len(e["actions"]) for e in rollouts) == 2
    fixes_1 = read_traces(run / "traces_trial_recovery.jsonl")
    assert second["earlier_recovery_traces"] == len(fixes_1) == first["recovery_traces"]
    # no dagger.max_records: every fix is trained on
    assert second["earlier_recovery_traces_trained"] == second["earlier_recovery_traces"]
    assert second["recovery_traces_trained"] == second["recovery_traces"]
    assert (run / "recovery_trial_r2" / "adapter_model.safetensors").exists()
    saved = json.loads((run / "eval" / "trial_sft_dagger.json").read_text())
    assert list(saved["stages"]) == ["sft_trial", "recovery_trial", "recovery_trial_r2"]
    assert saved["stages"]["recovery_trial_r2"]["round"] == 2
    # the evaluation of two rounds is not reported as the evaluation of one
    with pytest.raises(ValueError, match="stages: .*recovery_trial_r2"):
        run_pipeline(run, one, model_name="tiny", methods=["trial_sft_dagger"])
    # a trained stage made with other settings is refused before anything runs
    kept = (run / "preset.json").read_text()
    faster = with_overrides(two, **{"sft.learning_rate": 1e-2})
    with pytest.raises(ValueError,
                       match=r"other settings: sft_trial \(sft.learning_rate.*recovery_trial_r2"):
        run_pipeline(run, faster, model_name="tiny", methods=["trial_sft_dagger"])
    assert (run / "preset.json").read_text() == kept
    # ... and reused as it is on request, the report saying what differs
    again = run_pipeline(run, faster, model_name="tiny", methods=["trial_sft_dagger"],
                         reuse_stages=True)
    assert again["rows"] == report["rows"]
    assert set(again["reused_stages"]) == {"sft_trial", "recovery_trial", "recovery_trial_r2"}
    assert "sft.learning_rate: 0.0003 there, 0.01 asked" in again["reused_stages"]["sft_trial"]
    # the trial teacher's settings count for its traces, not for the golden teacher's
    diff = with_overrides(two, **{"trial.style": "diff"})
    with pytest.raises(ValueError,
                       match=r"traces_trial.jsonl \(trial.style: 'terse' there, 'diff' asked"):
        check_stages(run, ["trial_sft"], diff, "tiny")
    assert check_stages(run, ["golden_sft", "zero_shot"], diff, "tiny") == {}
    # a stage remade since the evaluation: its saved evaluation is refused even when the
    # stage itself is reused
    done = run / "recovery_trial_r2" / "DONE"
    record = json.loads(done.read_text())
    record["settings"]["dagger.epochs"] = 2.0
    done.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="evaluated with other settings.*recovery_trial_r2"):
        run_pipeline(run, two, model_name="tiny", methods=["trial_sft_dagger"],
                     reuse_stages=True)
    with pytest.raises(ValueError, match="dagger.rounds is 1 to"):
        run_pipeline(run, with_overrides(two, **{"dagger.rounds": 0}), model_name="tiny")
    with pytest.raises(ValueError, match="dagger.turns is at least 1"):
        run_pipeline(run, with_overrides(two, **{"dagger.turns": 0}), model_name="tiny")
    with pytest.raises(ValueError, match="dagger.max_records is at least 1"):
        run_pipeline(run, with_overrides(two, **{"dagger.max_records": 0}), model_name="tiny")
    # a stage that did not record a field added since counts as made with its default
    # (a new field's default keeps the old behaviour)
    first_done = run / "recovery_trial" / "DONE"
    record = json.loads(first_done.read_text())
    assert record["settings"].pop("dagger.turns") == 2
    first_done.write_text(json.dumps(record))
    differ = check_stages(run, ["trial_sft_dagger"], two, "tiny", reuse=True)
    assert differ["recovery_trial"] == ["dagger.turns: 1 there, 2 asked"]
    differ = check_stages(run, ["trial_sft_dagger"], with_overrides(two, **{"dagger.turns": 1}),
                          "tiny", reuse=True)
    assert "recovery_trial" not in differ
    assert "dagger.turns: 2 there, 1 asked" in differ["recovery_trial_r2"]


def test_dagger_mix_caps_a_rounds_records_and_keeps_its_own_fixes_first():
    import numpy as np

    from tool_gym.agents.pipeline import dagger_mix

    fixes = [f"fix{i}" for i in range(10)]
    earlier = [f"earlier{i}" for i in range(30)]
    original = [f"orig{i}" for i in range(100)]

    def mix(cap, fixes=fixes):
        return dagger_mix(fixes, earlier, original, np.random.default_rng(3), cap=cap)

    # no cap: everything aggregated, as many originals replayed (the draw of earlier runs)
    f, e, r = mix(None)
    assert (f, e) == (fixes, earlier)
    old = np.random.default_rng(3).choice(100, size=40, replace=False)
    assert r == [original[int(i)] for i in sorted(old)]
    # a cap that does not bind changes nothing
    assert mix(100) == (f, e, r)
    # a binding cap keeps this round's fixes, then earlier fixes and originals share the rest
    f, e, r = mix(30)
    assert f == fixes and len(e) == 10 and len(r) == 10
    assert set(e) <= set(earlier) and len(set(e)) == 10
    assert set(r) <= set(original) and len(set(r)) == 10
    # more fixes than the cap are drawn down to it, leaving no room for the rest
    f, e, r = mix(8)
    assert len(f) == 8 and set(f) <= set(fixes) and (e, r) == ([], [])
    with pytest.raises(ValueError, match="at least 1"):
        mix(0)


def test_cli_run_and_rl(tiny, tmp_path):
    import io

    from tool_gym.agents.cli import main

    out = io.StringIO()
    assert main(["run", "--preset", "tiny", "--model", "tiny", "--out", str(tmp_path / "r"),
                 "--method", "zero_shot"], out=out) == 0
    assert "zero_shot" in out.getvalue()
    # --set reaches the preset (the run folder keeps it); bad fields and methods are refused,
    # and so is a larger evaluation in a folder evaluated on fewer tasks
    kept = (tmp_path / "r" / "preset.json").read_text()
    with pytest.raises(ValueError, match="episodes: 1 there, 2 asked"):
        main(["run", "--preset", "tiny", "--model", "tiny", "--out", str(tmp_path / "r"),
              "--method", "zero_shot", "--set", "eval.episodes=2"], out=io.StringIO())
    assert (tmp_path / "r" / "preset.json").read_text() == kept
    assert main(["run", "--preset", "tiny", "--model", "tiny", "--out", str(tmp_path / "r2"),
                 "--method", "zero_shot", "--set", "eval.episodes=2",
                 "--set", "trial.style=diff"], out=io.StringIO()) == 0
    saved = json.loads((tmp_path / "r2" / "preset.json").read_text())
    assert (saved["eval"]["episodes"], saved["trial"]["style"]) == (2, "diff")
    evaluated = json.loads((tmp_path / "r2" / "eval" / "zero_shot.json").read_text())
    assert evaluated["config"]["episodes"] == 2 and evaluated["max_new_tokens"] == 6
    with pytest.raises(SystemExit, match="SECTION.FIELD=VALUE"):
        main(["run", "--preset", "tiny", "--set", "no_such_field=1"], out=io.StringIO())
    with pytest.raises(ValueError, match="unknown methods"):
        main(["run", "--preset", "tiny", "--model", "tiny", "--out", str(tmp_path / "r"),
              "--method", "no_such_method"], out=io.StringIO())
    out = io.StringIO()
    assert main(["rl", "--model", "tiny", "--env", "ToolMaster/Weather-v0", "--out",
                 str(tmp_path / "g"), "--steps", "1", "--tasks-per-step", "1", "--group-size",
                 "2", "--max-new-tokens", "4", "--turns", "1"], out=out) == 0
    assert "GRPO: 1 steps" in out.getvalue()
    assert (tmp_path / "g" / "grpo_log.csv").exists()


def test_final_evaluation_plays_the_reserved_block_in_a_folder_of_its_own(tiny, tmp_path):
    import io

    from tool_gym.agents.cli import main
    from tool_gym.agents.evaluate import FINAL_TASK_OFFSET
    from tool_gym.agents.pipeline import DEV_TASK_OFFSET

    run = tmp_path / "r"
    args = ["run", "--preset", "tiny", "--model", "tiny", "--out", str(run), "--method",
            "zero_shot", "--set", 'eval.splits=["seen_test"]']
    assert main(args, out=io.StringIO()) == 0
    assert main([*args, "--set", "eval.final=true"], out=io.StringIO()) == 0
    dev = json.loads((run / "eval" / "zero_shot.json").read_text())
    final = json.loads((run / "eval-final" / "zero_shot.json").read_text())
    assert dev["config"]["task_offset"] == DEV_TASK_OFFSET and not dev["config"]["final"]
    assert final["config"]["task_offset"] == FINAL_TASK_OFFSET and final["config"]["final"]
    assert list(final["splits"]) == ["seen_test"]
    assert (run / "results-final.md").exists() and (run / "results.md").exists()


def test_preset_max_plan_steps_limits_every_stage_and_trial_when_reaches_the_teacher(tmp_path):
    from tool_gym.agents.pipeline import PRESETS, make_traces, with_overrides
    from tool_gym.agents.traces import read_traces

    p = with_overrides(PRESETS["tiny"], max_plan_steps=1,
                       **{"trial.when": "first_use", "traces.per_source": 6})
    assert all(kw["max_plan_steps"] == 1 for _, kw in p.eval_splits().values())
    assert all(kw["max_plan_steps"] == 1 for _, kw in p.grpo_envs())
    assert "max_plan_steps" not in p.grpo.envs[0][1]  # the preset's settings are not changed
    # an evaluation-only limit overrides the run's
    assert all(kw["max_plan_steps"] == 2 for _, kw in
               with_overrides(p, **{"eval.max_plan_steps": 2}).eval_splits().values())
    paths = make_traces(tmp_path, p)
    for name, path in paths.items():
        records = read_traces(path)
        assert len(records) == 18
        for r in records:
            assert json.loads(r["env_kwargs"])["max_plan_steps"] == 1
            assert sum(c["mode"] == "call" for c in r["tool_calls"]) == 1
            trials = sum(c["mode"] == "trial" for c in r["tool_calls"])
            # first_use: the trial teacher trials before its one real call, every time
            assert (trials >= 1) if name == "trial" else (trials == 0)


def test_generalization_benchmark_names_results_after_the_run_folder():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "generalization.py"
    spec = importlib.util.spec_from_file_location("generalization_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = Path("benchmarks/results")
    assert bench.default_out("full", None) == results / "generalization.json"
    assert bench.default_out("one_call", None, "-plan1") == (
        results / "generalization-one_call-plan1.json")
    # a variant's run folder names its results: the preset's committed table stays
    assert bench.default_out("one_call", "runs/one_call_v6") == (
        results / "generalization-one_call_v6.json")


def test_overrides_reach_preset_and_grpo_fields():
    from tool_gym.agents.pipeline import PRESETS, parse_override, with_overrides

    base = PRESETS["one_call"]
    changes = dict(parse_override(i) for i in ["grpo.temperature=0.7", "grpo.steps=5",
                                               "trial.style=diff"])
    p = with_overrides(base, **changes)
    assert (p.grpo.temperature, p.grpo.steps, p.trial.style) == (0.7, 5, "diff")
    # the rest of the GRPO settings, and the preset it came from, are untouched
    assert p.grpo.num_generations == base.grpo.num_generations
    assert (base.grpo.temperature, base.grpo.steps) == (1.0, 3)
    for bad in ["grpo.no_such=1", "grpo=1", "no_such.temperature=1", "trial.style"]:
        with pytest.raises(ValueError, match="FIELD=VALUE"):
            parse_override(bad)
    # the flat names used before the sections are refused with today's name
    with pytest.raises(ValueError, match="it is now trial.style"):
        parse_override("trial_style=diff")
    with pytest.raises(ValueError, match="rename_seen was removed"):
        parse_override("rename_seen=true")


def test_tables_show_either_interval_and_old_evaluations_get_domain_rows():
    from tool_gym.agents.pipeline import results_markdown, rows_from, table_markdown

    per_task = [{"task_id": f"{d}-{i}", "n": 1, "successes": int(d == "jokes")}
                for d in ("jokes", "recipes", "library") for i in range(4)]
    # an evaluation saved before the domain interval existed: only per_task and ci95
    old = {"splits": {"unseen": {"episodes": 12, "success_rate": 4 / 12, "ci95": [0.14, 0.61],
                                 "pass_k": {"1": 4 / 12}, "mean_turns": 2.0,
                                 "trials_per_episode": 1.0, "calls_per_episode": 1.0,
                                 "per_task": per_task}}}
    (row,) = rows_from("golden_sft", old)
    assert row["domains"] == {"jokes": [4, 4], "library": [4, 0], "recipes": [4, 0]}
    assert row["ci_low_domain"] == 0.0 and row["ci_high_domain"] > row["ci_high"]
    wilson = table_markdown([row])
    clustered = table_markdown([row], interval="domain")
    assert "0.33 [0.14, 0.61]" in wilson
    assert f"0.33 [0.00, {row['ci_high_domain']:.2f}]" in clustered
    both = results_markdown([row])
    assert wilson in both and clustered in both
    with pytest.raises(ValueError, match="interval"):
        table_markdown([row], interval="bayes")


def test_paired_table_compares_methods_task_by_task():
    from tool_gym.agents.pipeline import paired_markdown, paired_rows, results_markdown, rows_from

    def evaluation(successes):
        per_task = [{"task_seed": 900_000 + i, "task_id": f"jokes-{i}", "n": 1,
                     "successes": c} for i, c in enumerate(successes)]
        rate = sum(successes) / len(successes)
        return {"splits": {"unseen": {"episodes": len(successes), "success_rate": rate,
                                      "ci95": [0.0, 1.0], "pass_k": {"1": rate},
                                      "mean_turns": 1.0, "trials_per_episode": 1.0,
                                      "calls_per_episode": 1.0, "per_task": per_task}}}

    rows = (rows_from("golden_sft", evaluation([0] * 8 + [1, 1]))
            + rows_from("trial_sft", evaluation([1] * 8 + [1, 0]))
            + rows_from("zero_shot", evaluation([0] * 10)))
    (p,) = paired_rows(rows)  # zero_shot is in no comparison
    assert (p["method"], p["baseline"], p["split"]) == ("trial_sft", "golden_sft", "unseen")
    assert (p["tasks"], p["gained"], p["lost"]) == (10, 8, 1)
    assert p["p_value"] == pytest.approx(20 / 512)
    table = paired_markdown([p])
    assert "| trial_sft | golden_sft | +8 / -1 (p 0.04) |" in table
    assert table in results_markdown(rows)
    # rows without task seeds (results saved before tasks were kept) are not paired
    for r in rows:
        r["per_task"] = []
    assert paired_rows(rows) == [] and paired_markdown([]) == ""
    assert "gained" not in results_markdown(rows)


def test_rows_of_an_earlier_run_join_the_comparison_only_on_the_same_tasks():
    """generalization.py --with-results: a student evaluated later on the reserved block is
    compared task by task with the committed final table without replaying its students."""
    import copy
    from pathlib import Path

    from tool_gym.agents.report import with_rows_of

    committed = json.loads((Path(__file__).resolve().parents[1] / "benchmarks" / "results"
                            / "generalization-final.json").read_text())
    ours = copy.deepcopy(committed)
    ours["rows"] = [r for r in ours["rows"] if r["method"] == "trial_sft_dagger"]
    ours["paired"], ours["provenance"] = [], {"trial_sft_dagger": {}}
    ours.pop("rows_from", None)  # a run that evaluated trial_sft_dagger itself
    merged = with_rows_of(ours, committed, "final.json")
    methods = {r["method"] for r in committed["rows"]}
    assert {"golden_sft", "trial_sft_dagger"} <= methods
    assert {r["method"] for r in merged["rows"]} == methods
    assert merged["paired"] == committed["paired"] and merged["paired"]
    assert merged["rows_from"] == {m: "final.json" for m in methods - {"trial_sft_dagger"}}
    assert merged["provenance"]["golden_sft"] == {"results": "final.json"}
    with pytest.raises(ValueError, match="no method this run did not evaluate"):
        with_rows_of(committed, committed, "final.json")
    other = copy.deepcopy(ours)
    other["preset"]["eval"]["episodes"] = 24  # another block of tasks
    other["preset"]["eval"]["batch_size"] = 1  # speed only: not checked
    with pytest.raises(ValueError, match=r"eval.episodes: 72 there, 24 here"):
        with_rows_of(other, committed, "final.json")
