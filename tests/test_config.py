"""The pipeline's configuration: sections by stage, records derived from them, legacy records."""

import gzip
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tool_gym.agents.config import (
    PRESETS,
    Preset,
    from_legacy,
    parse_override,
    preset_name,
    stage_record,
    with_overrides,
)

ZOO = Path(__file__).resolve().parents[1] / "zoo" / "trial-dagger-one-call"


def test_stage_records_hold_their_sections_and_the_ones_below():
    p = PRESETS["one_call_dagger"]
    sft = stage_record("sft", "trial", p, "default")
    assert sft["model"] == "default" and sft["sft.learning_rate"] == 1e-3
    assert sft["traces.per_source"] == 80 and sft["trial.style"] == "diff"
    assert sft["max_plan_steps"] == 1 and sft["seed"] == 0
    assert not any(k.startswith(("dagger.", "grpo.", "eval.")) for k in sft)
    # the golden teacher's stages do not depend on the trial teacher's settings
    assert not any(k.startswith("trial.") for k in stage_record("sft", "golden", p))
    dagger = stage_record("recovery", "trial", p)
    assert dagger["dagger.turns"] == 3 and dagger["dagger.max_new_tokens"] == 96
    # how many rounds and the batch size are not what one round is made of
    assert "dagger.rounds" not in dagger and "dagger.batch_size" not in dagger
    grpo = stage_record("grpo", "trial", p)
    assert grpo["grpo.steps"] == 40 and not any(k.startswith("dagger.") for k in grpo)
    # a change of speed only leaves every record as it was
    faster = with_overrides(p, **{"dagger.batch_size": 8, "eval.batch_size": 8})
    for kind in ("traces", "sft", "recovery", "grpo"):
        assert stage_record(kind, "trial", faster) == stage_record(kind, "trial", p)
    assert preset_name(p) == "one_call_dagger" and preset_name(faster) == "custom"


def test_records_written_before_the_sections_check_clean_against_their_preset(tmp_path):
    """The zoo student's stages were recorded with flat names; they are the same recipe."""
    from tool_gym.agents.pipeline import check_stages

    run = tmp_path / "run"
    for stage in ("sft_trial", "recovery_trial"):
        (run / stage).mkdir(parents=True)
        shutil.copy(ZOO / "stages" / stage / "DONE", run / stage / "DONE")
    with gzip.open(ZOO / "data" / "traces_trial.settings.json.gz") as f:
        (run / "traces_trial.settings.json").write_bytes(f.read())
    assert "sft_epochs" in json.loads((run / "sft_trial" / "DONE").read_text())["settings"]
    p = PRESETS["one_call_dagger"]
    assert check_stages(run, ["trial_sft_dagger"], p, "default") == {}
    # make run's preset evaluates these very stages (it differs in evaluation only)
    assert check_stages(run, ["trial_sft_dagger"], PRESETS["zoo_demo"], "default") == {}
    # ... and a real difference in a flat record is still found, under today's name
    with pytest.raises(ValueError, match=r"sft_trial \(sft.learning_rate: 0.001 there"):
        check_stages(run, ["trial_sft_dagger"], with_overrides(p, **{"sft.learning_rate": 3e-4}),
                     "default")
    with pytest.raises(ValueError, match=r"recovery_trial \(dagger.turns: 3 there, 1 asked"):
        check_stages(run, ["trial_sft_dagger"], with_overrides(p, **{"dagger.turns": 1}),
                     "default")


def test_a_record_made_with_a_removed_option_is_not_taken_for_todays_recipe(tmp_path):
    from tool_gym.agents.pipeline import check_stages

    old = json.loads((ZOO / "stages" / "sft_trial" / "DONE").read_text())["settings"]
    assert from_legacy(old)[1] == []
    translated, removed = from_legacy({**old, "rename_seen": True})
    assert removed == ["rename_seen=true"] and "rename_seen" not in translated
    run = tmp_path / "run"
    (run / "sft_trial").mkdir(parents=True)
    (run / "sft_trial" / "DONE").write_text(json.dumps(
        {"settings": {**old, "trial_wrong_tool_prob": 1.0}}))
    with pytest.raises(ValueError, match="trial_wrong_tool_prob=1.0 there, an option since"):
        check_stages(run, ["trial_sft"], PRESETS["one_call_dagger"], "default")
    # today's records come back unchanged
    today = stage_record("sft", "trial", PRESETS["one_call_dagger"], "default")
    assert from_legacy(today) == (today, [])


def test_overrides_name_sections_and_refuse_unknown_names():
    p = with_overrides(PRESETS["quick"], **{"sft.epochs": 2.0, "seed": 3})
    assert (p.sft.epochs, p.seed, PRESETS["quick"].sft.epochs) == (2.0, 3, 1.0)
    assert parse_override("eval.seeds=[0, 1]") == ("eval.seeds", [0, 1])
    with pytest.raises(ValueError, match="unknown settings"):
        with_overrides(p, sft_epochs=2.0)
    with pytest.raises(ValueError, match="it is now dagger.episodes"):
        parse_override("recovery_episodes=40")
    # the whole configuration is plain JSON, section by section
    saved = p.to_json()
    assert saved["sft"]["epochs"] == 2.0 and saved["grpo"]["envs"][0][0] == "ToolMaster/Seen-v0"
    assert set(saved) == {f for f in Preset.__dataclass_fields__}


def test_no_generated_apis_leaves_every_presets_sources_as_they_were():
    from tool_gym.agents.config import EVAL_SPLITS, TRACE_SOURCES

    for name, p in PRESETS.items():
        assert p.traces.procgen_apis == 0, name
        k = p.max_plan_steps

        def limit(kw, k=k):
            return dict(kw) if k is None else {**kw, "max_plan_steps": k}

        assert p.trace_budget() == [(e, limit(kw), p.traces.per_source)
                                    for e, kw in TRACE_SOURCES], name
        assert p.grpo_envs() == [(e, limit(kw)) for e, kw in p.grpo.envs], name
        assert list(p.eval_splits()) == (list(EVAL_SPLITS) if p.eval.splits is None
                                         else ["drift_stale"]), name
    assert [n for n, p in PRESETS.items() if p.eval.splits is not None] == ["zoo_demo"]


def test_generated_apis_join_traces_dagger_and_grpo_on_a_pool_of_train_apis():
    from tool_gym.agents.config import PROCGEN_SOURCES, TRACE_SOURCES

    p = with_overrides(PRESETS["one_call"], **{"traces.procgen_apis": 30,
                                               "traces.procgen_per_source": 500})
    budget = p.trace_budget()
    assert budget[:len(TRACE_SOURCES)] == [(e, {**kw, "max_plan_steps": 1}, 80)
                                           for e, kw in TRACE_SOURCES]
    generated = budget[len(TRACE_SOURCES):]
    assert [(e, n) for e, _, n in generated] == [(e, 500) for e, _ in PROCGEN_SOURCES]
    for _, kw, _ in generated:
        assert kw["api_pool"] == 30 and kw["api_split"] == "train" and kw["max_plan_steps"] == 1
    # DAgger rounds play the trace sources; GRPO its own envs, then the same generated ones
    assert p.trace_sources() == [(e, kw) for e, kw, _ in budget]
    assert p.grpo_envs()[-len(PROCGEN_SOURCES):] == [(e, kw) for e, kw, _ in generated]
    # None: as many episodes as a hand-written source
    same = replace(p, traces=replace(p.traces, procgen_per_source=None))
    assert {n for _, _, n in same.trace_budget()} == {80}
    # the number of APIs is part of what every trained stage is made from
    for kind in ("traces", "sft", "recovery", "grpo"):
        assert stage_record(kind, "golden", p)["traces.procgen_apis"] == 30
        assert stage_record(kind, "golden", PRESETS["one_call"])["traces.procgen_apis"] == 0
    with pytest.raises(ValueError, match="procgen_apis"):
        with_overrides(p, **{"traces.procgen_apis": -1})


def test_eval_splits_are_named_and_include_held_out_generated_apis():
    p = with_overrides(PRESETS["tiny"], **{"eval.splits": ["unseen", "procgen_stale"]})
    splits = p.eval_splits()
    assert list(splits) == ["unseen", "procgen_stale"]
    env_id, kw = splits["procgen_stale"]
    assert env_id == "ToolMaster/Procgen-Drift-v0"
    assert kw["api_split"] == "test" and kw["stale_docs"] is True and "api_pool" not in kw
    assert parse_override('eval.splits=["procgen"]') == ("eval.splits", ["procgen"])
    one = with_overrides(p, **dict([parse_override("eval.splits=procgen_stale")]))
    assert list(one.eval_splits()) == ["procgen_stale"]
    with pytest.raises(ValueError, match="unknown eval.splits"):
        with_overrides(p, **{"eval.splits": ["procgen_fresh"]}).eval_splits()


def test_eval_splits_can_be_a_subset_in_the_order_given():
    from tool_gym.agents.config import EVAL_SPLITS, PRESETS, with_overrides

    p = with_overrides(PRESETS["one_call_dagger"],
                       **{"eval.splits": ["drift_stale", "seen_test"]})
    assert list(p.eval_splits()) == ["drift_stale", "seen_test"]
    assert p.eval_splits()["drift_stale"][1]["max_plan_steps"] == 1
    assert list(PRESETS["one_call_dagger"].eval_splits()) == list(EVAL_SPLITS)
    bad = with_overrides(PRESETS["quick"], **{"eval.splits": ["drift_stael"]})
    with pytest.raises(ValueError, match="unknown eval.splits"):
        bad.eval_splits()
