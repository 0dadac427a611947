"""The model zoo: a student's adapters leave the run folder, load by name, and resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from safetensors.numpy import load_file  # noqa: E402
from transformers import TrainerCallback  # noqa: E402

from tool_gym.agents import zoo  # noqa: E402
from tool_gym.agents.pipeline import PRESETS, run_pipeline  # noqa: E402


@pytest.fixture
def zoo_dir(tmp_path, monkeypatch):
    root = tmp_path / "zoo"
    monkeypatch.setenv("TOOLMASTER_ZOO", str(root))
    return root


def test_a_pipeline_student_goes_to_the_zoo_loads_by_name_and_is_not_retrained(
        tiny, tmp_path, zoo_dir):
    from tool_gym.agents.evaluate import evaluate
    from tool_gym.agents.models import load_with_adapters
    from tool_gym.agents.policy import make_policy

    run = tmp_path / "run"
    run_pipeline(run, "tiny", model_name="tiny", methods=["trial_sft_dagger"], zoo="s",
                 command="toolmaster run --preset tiny")
    student = zoo.load_student("s")
    assert student.complete and student.card["recipe"]["preset"] == "tiny"
    assert [s["name"] for s in student.card["stages"]] == ["sft_trial", "recovery_trial"]
    assert student.card["command"] == "toolmaster run --preset tiny"
    assert {"traces_trial.jsonl.gz", "traces_trial.settings.json.gz",
            "traces_trial_recovery.jsonl.gz",
            "rollouts_trial.jsonl.gz"} <= set(student.card["data"])
    assert "zoo:s" in (student.path / "README.md").read_text()
    # the round's rollouts were played source by source, then joined into one file
    assert not list(run.glob("rollouts_trial.source*.jsonl"))
    from tool_gym.agents.traces import read_transcripts

    assert {r["split"] for r in read_transcripts(run / "rollouts_trial.jsonl")} == {
        "source0", "source1", "source2"}
    # fp16 in the zoo, the same values as the run's fp32 adapter up to fp16 rounding
    for stage in ("sft_trial", "recovery_trial"):
        ours = load_file(str(student.path / "stages" / stage / "adapter_model.safetensors"))
        theirs = load_file(str(run / stage / "adapter_model.safetensors"))
        assert ours.keys() == theirs.keys()
        for k in ours:
            assert ours[k].dtype == np.float16
            np.testing.assert_allclose(ours[k].astype(np.float32), theirs[k], rtol=1e-3,
                                       atol=1e-4)
    assert zoo.resolve_adapters(["zoo:s"]) == student.adapters()
    assert len(student.adapters()) == 2

    # zoo:NAME loads and evaluates offline
    model, tokenizer = load_with_adapters("tiny", ["zoo:s"])
    policy = make_policy(model, tokenizer, temperature=0.0, max_new_tokens=4)
    results = evaluate(policy, ["ToolMaster/Weather-v0"], episodes=1, batch_size=1, max_turns=1)
    (split,) = results["splits"].values()
    assert split["episodes"] == 1

    # a fresh run folder (a new machine) restores the stages instead of training them
    fresh = tmp_path / "fresh"
    run_pipeline(fresh, "tiny", model_name="tiny", methods=["trial_sft_dagger"], zoo="s")
    for stage in ("sft_trial", "recovery_trial"):
        assert (json.loads((fresh / stage / "DONE").read_text())
                == json.loads((run / stage / "DONE").read_text()))
        assert not list((fresh / stage).glob("checkpoint-*")), "a restored stage was retrained"


def test_one_run_keeps_each_methods_student_in_its_own_entry(tiny, tmp_path, zoo_dir):
    """``--zoo golden_sft=g --zoo trial_sft=t``: each entry holds its method's stages only,
    and a fresh run folder restores both and trains nothing."""
    run = tmp_path / "run"
    run_pipeline(run, "tiny", model_name="tiny", methods=["golden_sft", "trial_sft"],
                 zoo=["golden_sft=g", "trial_sft=t"])
    assert [s["name"] for s in zoo.load_student("g").card["stages"]] == ["sft_golden"]
    assert [s["name"] for s in zoo.load_student("t").card["stages"]] == ["sft_trial"]
    assert zoo.load_student("g").complete and zoo.load_student("t").complete
    fresh = tmp_path / "fresh"
    with pytest.raises(ValueError, match="not training"):  # nothing to evaluate without them
        run_pipeline(tmp_path / "empty", "tiny", model_name="tiny", methods=["trial_sft"],
                     train=False)
    report = run_pipeline(fresh, "tiny", model_name="tiny", methods=["golden_sft", "trial_sft"],
                          zoo={"golden_sft": "g", "trial_sft": "t"}, train=False)
    assert {r["method"] for r in report["rows"]} == {"golden_sft", "trial_sft"}
    assert report["provenance"] == {"golden_sft": {"sft_golden": "zoo:g"},
                                    "trial_sft": {"sft_trial": "zoo:t"}}
    assert "sft_trial: zoo:t" in (fresh / "results.md").read_text()
    first = json.loads((run / "results.json").read_text())["provenance"]
    assert first == {"golden_sft": {"sft_golden": "trained here"},
                     "trial_sft": {"sft_trial": "trained here"}}
    for stage in ("sft_golden", "sft_trial"):
        assert (json.loads((fresh / stage / "DONE").read_text())
                == json.loads((run / stage / "DONE").read_text()))
        assert not list((fresh / stage).glob("checkpoint-*")), "a restored stage was retrained"


def test_toolmaster_continues_a_zoo_student_and_each_checkpoint_reaches_the_zoo(
        tiny, tmp_path, zoo_dir, monkeypatch):
    """GRPO from a committed DAgger student: the new entry references it (``builds_on``)
    instead of copying its adapters, every GRPO checkpoint is in the zoo as soon as it is
    written, and the entry it builds on is not rewritten by runs that only restore it."""
    from tool_gym.agents import pipeline
    from tool_gym.agents.config import with_overrides

    run_pipeline(tmp_path / "base", "tiny", model_name="tiny", methods=["trial_sft_dagger"],
                 zoo="base")
    def base_card():  # the student: what a later run may change is its evaluations' command
        card = json.loads((zoo_dir / "base" / "student.json").read_text())
        return card | {"evaluations": {k: v | {"command": ""}
                                       for k, v in card["evaluations"].items()}}

    first_card = base_card()
    assert first_card["evaluations"]["drift_stale (dev, tasks 900000-900000)"]["episodes"] == 1
    in_zoo: list[int] = []
    after_save = pipeline._after_save

    def watched(fn):  # what the zoo holds right after each checkpoint is written
        def call():
            fn()
            in_zoo.append(zoo.load_student("tm").card["stages"][0]["checkpoint"]["global_step"])
        return after_save(call)

    monkeypatch.setattr(pipeline, "_after_save", watched)
    preset = with_overrides(PRESETS["tiny"], **{"grpo.steps": 2, "grpo.save_steps": 1})
    run = tmp_path / "run"
    report = run_pipeline(run, preset, model_name="tiny",
                          methods=["trial_sft_dagger", "toolmaster"],
                          zoo=["trial_sft_dagger=base", "toolmaster=tm"], command="rl")
    assert in_zoo == [1, 2]
    assert base_card() == first_card
    tm = zoo.load_student("tm")
    assert tm.complete and tm.builds_on == "base" and tm.card["command"] == "rl"
    assert [s["name"] for s in tm.card["stages"]] == ["grpo_trial_dagger"]
    assert tm.card["data"] == []  # the traces are the base entry's
    assert (tm.path / "stages" / "grpo_trial_dagger" / "grpo_log.csv").exists()
    assert "zoo:base" in (tm.path / "README.md").read_text()
    assert [a.name for a in zoo.resolve_adapters(["zoo:tm"])] == [
        "sft_trial", "recovery_trial", "grpo_trial_dagger"]
    assert report["provenance"]["toolmaster"] == {
        "sft_trial": "zoo:base", "recovery_trial": "zoo:base",
        "grpo_trial_dagger": "trained here"}
    assert report["grpo_steps"] == {"trial": 2}
    # each method's evaluation is on its card, with the block of tasks and the command
    row = tm.card["evaluations"]["unseen (dev, tasks 900000-900000)"]
    assert row["command"] == "rl" and row["episodes"] == 1 and row["ci"].startswith("[")
    assert "| unseen (dev, tasks 900000-900000) |" in (tm.path / "README.md").read_text()
    again = zoo.record_evaluations("tm", {"unseen (dev, tasks 900000-900000)": row})
    assert again.card == tm.card
    # a new machine with only the zoo: restoring tm restores base too, and trains nothing
    report = run_pipeline(tmp_path / "fresh", preset, model_name="tiny", methods=["toolmaster"],
                          zoo="tm", train=False)
    assert report["provenance"]["toolmaster"] == {
        "sft_trial": "zoo:base", "recovery_trial": "zoo:base",
        "grpo_trial_dagger": "zoo:tm"}
    assert base_card() == first_card
    with pytest.raises(ValueError, match="do not continue"):
        zoo.save_student(run, "x", "golden_sft_grpo", preset, preset_name="custom",
                         model_name="tiny", builds_on="base")
    # by hand, from the CLI
    import io

    from tool_gym.agents.cli import main

    assert main(["zoo", "save", str(run), "tm2", "--method", "toolmaster", "--preset", "tiny",
                 "--set", "grpo.steps=2", "--set", "grpo.save_steps=1", "--model", "tiny",
                 "--builds-on", "base"], out=io.StringIO()) == 0
    assert zoo.load_student("tm2").builds_on == "base"
    listed = io.StringIO()
    main(["zoo", "list"], out=listed)
    assert "tm2: toolmaster on tiny on zoo:base" in listed.getvalue()


def test_zoo_entries_name_one_student_per_method():
    from tool_gym.agents.pipeline import zoo_entries

    assert zoo_entries(None, ["golden_sft"]) == {}
    assert zoo_entries("s", ["trial_sft"]) == {"trial_sft": "s"}
    assert zoo_entries(["s"], ["trial_sft"]) == {"trial_sft": "s"}
    assert zoo_entries(["golden_sft=g", "trial_sft=t"], ["golden_sft", "trial_sft"]) == {
        "golden_sft": "g", "trial_sft": "t"}
    with pytest.raises(ValueError, match="one method's student"):
        zoo_entries("s", ["golden_sft", "trial_sft"])
    with pytest.raises(ValueError, match="METHOD=NAME"):
        zoo_entries(["golden_sft=g", "t"], ["golden_sft", "trial_sft"])
    with pytest.raises(ValueError, match="does not run"):
        zoo_entries({"toolmaster": "x"}, ["golden_sft"])


def test_unknown_and_unfinished_entries_are_refused(zoo_dir):
    with pytest.raises(ValueError, match="no zoo entry 'nope'"):
        zoo.resolve_adapters(["zoo:nope"])
    assert zoo.resolve_adapters(["some/folder"])[0].name == "folder"


class _Crash(TrainerCallback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            raise KeyboardInterrupt


class _Steps(TrainerCallback):
    def __init__(self) -> None:
        self.seen: list[int] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.seen.append(state.global_step)


def _records() -> list[dict]:
    return [{"messages": [
        {"role": "system", "content": "Tools: get_forecast(city). Reply with tags."},
        {"role": "user", "content": f"High in {city}?"},
        {"role": "assistant", "content": f'<call>{{"name": "get_forecast", "arguments": '
                                         f'{{"city": "{city}"}}}}</call>'}],
        "outcome": {"success": True}, "split": "train"} for city in ("Paris", "Oslo", "Lyon")]


def test_a_committed_checkpoint_resumes_on_a_fresh_machine_and_continues_the_step_count(
        tiny, tmp_path, zoo_dir):
    from tool_gym.agents.models import load_model
    from tool_gym.agents.sft import last_checkpoint, train_sft

    common = dict(max_steps=3, save_steps=1, grad_accum=1, learning_rate=1e-3, logging_steps=1,
                  eval_fraction=0.0, max_length=256, lora_r=4)
    run = tmp_path / "run"
    model, tok = load_model("tiny")
    with pytest.raises(KeyboardInterrupt):  # the session stops during the SFT stage
        train_sft(model, tok, _records(), run / "sft_trial", callbacks=[_Crash(2)], **common)
    student = zoo.save_student(run, "wip", "trial_sft", PRESETS["tiny"], preset_name="tiny",
                               model_name="tiny")
    (stage,) = student.card["stages"]
    assert not student.complete and not stage["done"]
    assert stage["checkpoint"]["global_step"] == 1
    with pytest.raises(ValueError, match="no finished stage"):
        zoo.resolve_adapters(["zoo:wip"])

    fresh = tmp_path / "fresh"  # a new machine: nothing but the zoo
    assert zoo.restore_student("wip", fresh) == ["sft_trial/checkpoint-1"]
    assert last_checkpoint(fresh / "sft_trial").endswith("checkpoint-1")
    # the optimiser's moments travel in bf16 (half the size) and come back in fp32
    def moments(path):
        state = torch.load(path, weights_only=True)["state"]
        return [t for s in state.values() for k, t in sorted(s.items()) if k != "step"]

    made = moments(run / "sft_trial" / "checkpoint-1" / "optimizer.pt")
    kept = moments(student.path / "stages" / "sft_trial" / "checkpoint-1" / "optimizer.pt")
    back = moments(fresh / "sft_trial" / "checkpoint-1" / "optimizer.pt")
    assert made and {t.dtype for t in kept} == {torch.bfloat16}
    assert {t.dtype for t in back} == {torch.float32}
    for a, b in zip(made, back, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-2, atol=1e-12)
    steps = _Steps()
    model, tok = load_model("tiny")
    result = train_sft(model, tok, _records(), fresh / "sft_trial", resume=True,
                       callbacks=[steps], **common)
    assert result.resumed_from.endswith("checkpoint-1")
    assert steps.seen == [2, 3]
    assert result.global_step == 3


def test_the_final_tables_tasks_are_refused_unless_asked_for():
    from tool_gym.agents.evaluate import FINAL_TASK_OFFSET, evaluate
    from tool_gym.oracle import GoldenPlanPolicy

    with pytest.raises(ValueError, match="reserved for the final table"):
        evaluate(GoldenPlanPolicy, ["ToolMaster/Weather-v0"], episodes=3,
                 task_offset=FINAL_TASK_OFFSET - 1, progress=False)
    with pytest.raises(ValueError, match="final table plays tasks"):
        evaluate(GoldenPlanPolicy, ["ToolMaster/Weather-v0"], episodes=1, task_offset=0,
                 final=True, progress=False)
    results = evaluate(GoldenPlanPolicy, ["ToolMaster/Weather-v0"], episodes=2,
                       task_offset=FINAL_TASK_OFFSET, final=True, progress=False)
    assert results["config"]["final"] and results["splits"]["ToolMaster/Weather-v0"][
        "success_rate"] == 1.0


@pytest.mark.parametrize("tag", ["", "_r2", "_r3"])
def test_the_zoo_dagger_fixes_are_what_the_teacher_makes_of_the_committed_rollouts(tag):
    """Each DAgger round's committed fixes are reproduced from its committed student
    rollouts: the rejected messages found by replay in the one episode loop, and the
    teacher's recoveries, record for record."""
    import gzip
    from pathlib import Path

    from tool_gym.agents.pipeline import _teacher_factory
    from tool_gym.agents.traces import recovery_traces

    data = Path(__file__).resolve().parents[1] / "zoo" / "trial-dagger-one-call" / "data"

    def read(name):
        with gzip.open(data / name, "rt") as f:
            return [json.loads(line) for line in f]

    rollouts = read(f"rollouts_trial{tag}.jsonl.gz")
    committed = read(f"traces_trial_recovery{tag}.jsonl.gz")
    preset = PRESETS["one_call_dagger"]
    sources = {f"source{i}": s for i, s in enumerate(preset.trace_sources())}
    fixes = recovery_traces(rollouts, sources, _teacher_factory("trial", preset),
                            seed=preset.seed, progress=False)
    assert len(committed) > 100 and fixes == committed

