"""The whole ToolMaster pipeline and its baselines, trained on one budget, evaluated side by side.

Stages (each resumable: a finished stage is skipped, an interrupted SFT or GRPO run
continues from its last checkpoint):

1. traces: the trial teacher and the golden (trajectory-centric) teacher play the *same*
   tasks of seen domains (train seeds): plain, drifted with fresh docs, drifted with
   stale docs;
2. SFT (LoRA) of the base model on each set of traces;
3. where the preset asks for it (``dagger.episodes``), DAgger rounds from each SFT
   model (``dagger.rounds``): it plays train tasks, its teacher continues its failed
   openings (:func:`~tool_gym.agents.traces.recovery_traces`) and another LoRA learns
   them; GRPO in the envs (``grpo.envs``, train seeds) from the trial student (after its
   DAgger rounds, where there are any) and from golden SFT, same budget;
4. evaluation of ``zero_shot``, ``golden_sft``, ``golden_sft_grpo``, ``trial_sft``,
   ``toolmaster`` (the whole method: trial SFT, DAgger rounds, GRPO), ``trial_sft_dagger``
   and ``golden_sft_dagger`` on ``seen_test``,
   ``unseen``, ``drift_fresh``, ``drift_stale`` and ``unseen_stale``, with 95% intervals
   and pass^k;
5. ``results.json`` (one row per method and split), ``results.md`` and ``results.png``.

Every finished stage records the preset settings it was made with (:class:`Stage`); a
rerun with other settings refuses to reuse it (``reuse_stages=True`` reuses it anyway,
with a warning and a note in the report), and an evaluation records the stages it
evaluated, so a saved evaluation of other stages is refused too.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from tool_gym.agents.config import (
    EVAL_SPLITS,
    GRPO_ENVS,
    METHODS,
    PAIRED,
    PRESETS,
    TRACE_SOURCES,
    Preset,
    from_legacy,
    grpo_settings,
    parse_override,
    preset_name,
    stage_record,
    with_overrides,
)
from tool_gym.agents.models import load_with_adapters
from tool_gym.agents.report import (
    paired_markdown,
    paired_rows,
    plot,
    provenance_markdown,
    results_markdown,
    rows_from,
    table_markdown,
)

logger = logging.getLogger(__name__)

# the configuration lives in tool_gym.agents.config and the tables in
# tool_gym.agents.report; their names are re-exported here
__all__ = ["EVAL_SPLITS", "GRPO_ENVS", "METHODS", "PAIRED", "PRESETS", "TRACE_SOURCES", "Preset",
           "Stage", "dagger_mix", "default_methods", "grpo_settings", "load_with_adapters",
           "card_rows", "method_stages", "paired_markdown", "paired_rows", "parse_override", "plot",
           "preset_name", "provenance_markdown", "recovery_files", "rollout_part",
           "results_markdown", "rows_from",
           "run_pipeline", "table_markdown", "with_overrides", "zoo_entries"]

# reset seeds of the student's rollouts for recovery traces: round k plays
# RECOVERY_TASK_OFFSET + (k - 1) * RECOVERY_ROUND_STRIDE + j (traces use i * 100_000 + j,
# evaluation 900_000 + j)
TRACE_SOURCE_STRIDE = 100_000
RECOVERY_TASK_OFFSET = 500_000
RECOVERY_ROUND_STRIDE = 50_000
MAX_RECOVERY_ROUNDS = 8  # the last round's tasks stay below the evaluation's


class Stage(NamedTuple):
    """One trained stage of a run: its kind (``sft``, ``recovery`` or ``grpo``), the
    teacher of its data, for ``recovery`` its DAgger round (1-based) and, for ``grpo``,
    the number of DAgger rounds below it (0: GRPO starts from the SFT model)."""

    kind: str
    teacher: str
    round: int = 1
    on_rounds: int = 0

    @property
    def name(self) -> str:
        """Its folder in the run: ``sft_trial``, ``recovery_trial``, ``recovery_trial_r2``...,
        ``grpo_trial`` (from SFT), ``grpo_trial_dagger`` (from the last DAgger round)."""
        return (f"{self.kind}_{self.teacher}" + (f"_r{self.round}" if self.round > 1 else "")
                + ("_dagger" if self.on_rounds else ""))

    def settings(self, preset: Preset, model_name: str) -> dict[str, Any]:
        """What it is made from (:func:`~tool_gym.agents.config.stage_record`, plus its
        DAgger round, or for GRPO on DAgger rounds their settings and number), as its
        ``DONE`` file keeps it."""
        extra: dict[str, Any] = {"round": self.round} if self.kind == "recovery" else {}
        if self.on_rounds:
            extra = stage_record("recovery", self.teacher, preset) | {
                "dagger.rounds": self.on_rounds}
        return stage_record(self.kind, self.teacher, preset, model_name) | extra


def default_methods(preset: Preset) -> list[str]:
    """The methods a run trains and evaluates when none are named: the DAgger ones only
    where the preset plays DAgger rounds."""
    return [m for m, (_, stages) in METHODS.items()
            if "recovery" not in stages or preset.dagger.episodes > 0]


def method_stages(method: str, preset: Preset) -> list[Stage]:
    """The stages whose adapters a method's model merges, in order."""
    teacher, stages = METHODS[method]
    if teacher is None:
        return []
    out = [Stage("sft", teacher)]
    rounds = 0
    if "recovery" in stages or ("recovery_if_any" in stages and preset.dagger.episodes > 0):
        rounds = preset.dagger.rounds
        out += [Stage("recovery", teacher, k) for k in range(1, rounds + 1)]
    if "grpo" in stages:
        out.append(Stage("grpo", teacher, on_rounds=rounds))
    return out


def _done(path: Path) -> bool:
    return (path / "adapter_model.safetensors").exists() and (path / "DONE").exists()


def _mark_done(path: Path, payload: dict[str, Any]) -> None:
    _write_atomic(path / "DONE", json.dumps(payload, indent=2, default=str))


def _with_defaults(recorded: dict[str, Any], asked: dict[str, Any]) -> dict[str, Any]:
    """``recorded`` settings plus the default of each setting asked that they lack: a field
    added to a section after a stage was made counts as its default (a new field's default
    keeps the old behaviour). Records of no settings stay empty."""
    if not recorded:
        return recorded
    defaults = {k: v for kind in ("recovery", "grpo")
                for k, v in stage_record(kind, "trial", Preset()).items()}
    return {**{k: defaults[k] for k in asked if k in defaults and k not in recorded},
            **recorded}


def _differences(recorded: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    """Settings recorded and asked that differ (a setting not recorded is not checked)."""
    return [f"{key}: {recorded[key]!r} there, {value!r} asked" for key, value in asked.items()
            if key in recorded and recorded[key] != value]


def check_stages(run_dir: Path, methods: list[str], preset: Preset, model_name: str,
                 reuse: bool = False) -> dict[str, list[str]]:
    """Check every finished stage (and trace file) the methods need against ``preset``
    before anything is trained. One made with other settings is refused (all such are
    named in one error) or, with ``reuse``, reused with a warning; returns
    ``{stage: differences}`` of those reused. A stage finished before stages recorded
    their settings is not checked."""
    teachers = dict.fromkeys(METHODS[m][0] for m in methods if METHODS[m][0])
    stages = dict.fromkeys(s for m in methods for s in method_stages(m, preset))
    checks = [(f"traces_{t}.jsonl", run_dir / f"traces_{t}.settings.json",
               stage_record("traces", t, preset)) for t in teachers]
    checks += [(s.name, run_dir / s.name / "DONE", s.settings(preset, model_name))
               for s in stages]
    differ: dict[str, list[str]] = {}
    for name, path, asked in checks:
        if path.exists():
            recorded = json.loads(path.read_text())
            recorded = recorded.get("settings") if path.name == "DONE" else recorded
            # records made before the configuration had sections use the old flat names
            recorded, removed = from_legacy(recorded or {})
            found = [f"{option} there, an option since removed" for option in removed]
            found += _differences(_with_defaults(recorded, asked), asked)
            if found:
                differ[name] = found
    if differ and not reuse:
        listed = "; ".join(f"{name} ({', '.join(d)})" for name, d in differ.items())
        raise ValueError(
            f"{run_dir} holds stages made with other settings: {listed}. Use another run "
            "folder, remove them to remake them, or reuse them as they are with "
            "reuse_stages=True (--reuse-stages).")
    for name, found in differ.items():
        logger.warning("reusing %s, made with other settings: %s", name, "; ".join(found))
    return differ


def make_traces(run_dir: Path, preset: Preset, workers: int = 1,
                ray_address: str | None = None) -> dict[str, Path]:
    """Trial and golden traces of the same tasks (skipped when the files exist); with
    ``workers > 1`` or a ``ray_address``, every source of both teachers is played on one
    set of Ray actors (:func:`~tool_gym.agents.distributed.generate_many`): the same files."""
    from tool_gym.agents.traces import generate_traces, read_traces, write_traces

    out, todo = {}, []
    for name in ("trial", "golden"):
        path = run_dir / f"traces_{name}.jsonl"
        out[name] = path
        if path.exists():
            read_traces(path)  # raises on a damaged file instead of training on it
        else:
            todo.append(name)
    sources = {name: [(_teacher_factory(name, preset), env_id, n,
                       preset.seed + TRACE_SOURCE_STRIDE * i, kwargs)
                      for i, (env_id, kwargs, n) in enumerate(preset.trace_budget())]
               for name in todo}
    on_ray: dict[str, list[list[dict[str, Any]]]] = {}
    if todo and (workers > 1 or ray_address):
        from tool_gym.agents.distributed import generate_many

        played = iter(generate_many([s for name in todo for s in sources[name]],
                                    workers=workers, address=ray_address))
        on_ray = {name: [next(played) for _ in sources[name]] for name in todo}
    for name in todo:
        path = out[name]
        parts = on_ray[name] if name in on_ray else [
            generate_traces(f, env_id, n, seed=seed, env_kwargs=kwargs, progress=True)
            for f, env_id, n, seed, kwargs in sources[name]]
        records = [r for part in parts for r in part]
        ok = [r for r in records if r["outcome"]["success"]]
        logger.info("%s traces: %d/%d successful", name, len(ok), len(records))
        write_traces(path, ok)
        _write_atomic(run_dir / f"traces_{name}.settings.json",
                      json.dumps(stage_record("traces", name, preset), indent=2))
    return out


def _teacher_factory(name: str, preset: Preset) -> Any:
    """``factory(env, seed=...)`` of the named teacher, configured by the preset."""
    from tool_gym.agents.teachers import GoldenTeacher, TrialTeacher

    if name == "trial":
        return partial(TrialTeacher, trial_when=preset.trial.when, style=preset.trial.style,
                       mistake_prob=preset.trial.mistake_prob,
                       diff_limit=preset.trial.diff_limit)
    return GoldenTeacher


def train_stage(run_dir: Path, model_name: str, stage: Stage, below: list[Path],
                traces: Path, preset: Preset, workers: int = 1,
                ray_address: str | None = None,
                on_checkpoint: Callable[[], None] | None = None) -> Path:
    """Train ``stage`` on top of the adapters ``below`` it (skipped when done); its
    ``DONE`` file records its summary and :meth:`Stage.settings`. A DAgger round plays
    its rollouts on ``workers`` Ray actors (or the cluster at ``ray_address``); SFT and
    GRPO train in this process. ``on_checkpoint()`` is called after each checkpoint the
    trainer writes (the pipeline saves it to the zoo)."""
    out = run_dir / stage.name
    if _done(out):
        return out
    train = {"sft": _train_sft, "recovery": partial(_train_recovery, workers=workers,
                                                    ray_address=ray_address),
             "grpo": _train_grpo}[stage.kind]
    callbacks = [] if on_checkpoint is None else [_after_save(on_checkpoint)]
    t0 = time.perf_counter()
    summary = train(run_dir, model_name, stage, below, traces, preset, out, callbacks)
    # wall_s: this invocation's time (a resumed stage counts only what was left)
    _mark_done(out, {**summary, "wall_s": round(time.perf_counter() - t0, 1),
                     "settings": stage.settings(preset, model_name)})
    return out


def _after_save(fn: Callable[[], None]) -> Any:
    """A ``TrainerCallback`` that calls ``fn()`` once the trainer has written a checkpoint."""
    from transformers import TrainerCallback

    class AfterSave(TrainerCallback):
        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            fn()

    return AfterSave()


def _train_sft(run_dir: Path, model_name: str, stage: Stage, below: list[Path], traces: Path,
               preset: Preset, out: Path, callbacks: list[Any]) -> dict[str, Any]:
    from tool_gym.agents.traces import read_traces

    model, tokenizer = load_with_adapters(model_name, below)
    result = _train_lora(model, tokenizer, read_traces(traces), out, preset, model_name,
                         epochs=preset.sft.epochs, data_source=str(traces),
                         learn_mistakes=preset.sft.learn_mistakes, callbacks=callbacks)
    return _sft_summary(result)


def _train_lora(model: Any, tokenizer: Any, records: list[dict[str, Any]], out: Path,
                preset: Preset, model_name: str, epochs: float, data_source: str,
                learn_mistakes: bool, callbacks: list[Any]) -> Any:
    """LoRA SFT with the preset's budgets (the SFT and recovery stages)."""
    from tool_gym.agents.sft import bf16_is_fast, train_sft

    return train_sft(model, tokenizer, records, out, epochs=epochs,
                     max_steps=preset.sft.max_steps, learning_rate=preset.sft.learning_rate,
                     max_length=preset.sft.max_length, resume=True, seed=preset.seed,
                     base_model=model_name,
                     bf16=bf16_is_fast() if preset.sft.bf16 is None else preset.sft.bf16,
                     data_source=data_source, save_steps=20, learn_mistakes=learn_mistakes,
                     callbacks=callbacks)


def _sft_summary(result: Any) -> dict[str, Any]:
    return {"global_step": result.global_step, "train_loss": result.train_loss,
            "eval_loss_before": result.initial_eval_loss, "eval_loss": result.eval_loss}


def _train_grpo(run_dir: Path, model_name: str, stage: Stage, below: list[Path], traces: Path,
                preset: Preset, out: Path, callbacks: list[Any]) -> dict[str, Any]:
    from tool_gym.agents.grpo import train_grpo

    model, tokenizer = load_with_adapters(model_name, below)
    # a checkpoint at least every quarter of the run (each can go to the zoo)
    settings = replace(preset.grpo, seed=preset.seed, envs=preset.grpo_envs(),
                       save_steps=min(preset.grpo.save_steps, max(1, preset.grpo.steps // 4)))
    result = train_grpo(model, tokenizer, out, settings, resume=True, callbacks=callbacks)
    return {"global_step": result.global_step, "log": result.log}


def rollout_part(rollouts: Path, source: str) -> Path:
    """The rollouts of one source of a DAgger round, kept until the round's file is whole."""
    return rollouts.with_name(f"{rollouts.stem}.{source}.jsonl")


def recovery_files(run_dir: Path, teacher: str, k: int) -> tuple[Path, Path]:
    """Round k's student rollouts and the teacher's fixes of them."""
    tag = "" if k == 1 else f"_r{k}"
    return (run_dir / f"rollouts_{teacher}{tag}.jsonl",
            run_dir / f"traces_{teacher}_recovery{tag}.jsonl")


def _train_recovery(run_dir: Path, model_name: str, stage: Stage, below: list[Path],
                    traces: Path, preset: Preset, out: Path, callbacks: list[Any],
                    workers: int = 1, ray_address: str | None = None) -> dict[str, Any]:
    """DAgger round ``stage.round`` on top of ``below`` (the SFT adapter and the earlier
    rounds'; see :class:`~tool_gym.agents.config.DaggerConfig`); its rollouts are played on
    ``workers`` Ray actors, each with a copy of the student, when asked."""
    import numpy as np

    from tool_gym.agents.evaluate import evaluate
    from tool_gym.agents.policy import make_policy
    from tool_gym.agents.traces import (
        read_traces,
        read_transcripts,
        recovery_traces,
        write_traces,
    )

    if preset.dagger.episodes <= 0:
        raise ValueError("the DAgger methods need dagger.episodes > 0 "
                         "(e.g. --set dagger.episodes=40)")
    if preset.dagger.episodes > RECOVERY_ROUND_STRIDE:
        raise ValueError(f"dagger.episodes is at most {RECOVERY_ROUND_STRIDE} (the tasks of "
                         "one round would reach the next round's)")
    teacher, k = stage.teacher, stage.round
    model, tokenizer = load_with_adapters(model_name, below)
    sources = {f"source{i}": src for i, src in enumerate(preset.trace_sources())}
    rollouts_path, fixes_path = recovery_files(run_dir, teacher, k)
    if not rollouts_path.exists():
        policy = make_policy(model, tokenizer, temperature=0.0,
                             max_new_tokens=preset.dagger.max_new_tokens)
        # One source at a time, each written atomically once its episodes are played, so
        # a run stopped mid-round (or restored from the zoo) replays only the sources
        # left; greedy decoding makes the parts what one call over every source plays.
        parts = []
        for name, source in sources.items():
            part = rollout_part(rollouts_path, name)
            if not part.exists():
                evaluate(policy, {name: source}, episodes=preset.dagger.episodes,
                         seeds=[preset.seed], batch_size=preset.dagger.batch_size,
                         max_turns=preset.dagger.turns,
                         task_offset=RECOVERY_TASK_OFFSET + (k - 1) * RECOVERY_ROUND_STRIDE,
                         progress=True, transcripts=part, workers=workers,
                         ray_address=ray_address)
            parts.append(part)
        write_traces(rollouts_path, [r for part in parts for r in read_transcripts(part)])
        for part in parts:
            part.unlink()
    rollouts = read_transcripts(rollouts_path)
    if fixes_path.exists():
        fixes = read_traces(fixes_path)
    else:
        fixes = recovery_traces(rollouts, sources, _teacher_factory(teacher, preset),
                                seed=preset.seed)
        write_traces(fixes_path, fixes)
    earlier_files = [recovery_files(run_dir, teacher, j)[1] for j in range(1, k)]
    earlier = [r for path in earlier_files for r in read_traces(path)]
    rng = np.random.default_rng(preset.seed + k - 1)
    mix = dagger_mix(fixes, earlier, read_traces(traces), rng,
                     cap=preset.dagger.max_records)
    sources_used = " + ".join(str(path) for path in [*earlier_files, fixes_path])
    result = _train_lora(model, tokenizer, [r for part in mix for r in part], out, preset,
                         model_name, epochs=preset.dagger.epochs,
                         data_source=f"{sources_used} + {traces}", learn_mistakes=False,
                         callbacks=callbacks)
    # the fixes and earlier fixes trained on: all of them unless dagger.max_records
    kept = {"recovery_traces_trained": len(mix[0]),
            "earlier_recovery_traces_trained": len(mix[1])}
    return {**_sft_summary(result), "round": k, "recovery_traces": len(fixes),
            "earlier_recovery_traces": len(earlier), **kept, "replayed_traces": len(mix[2]),
            "rollouts": len(rollouts)}


def dagger_mix(fixes: list[Any], earlier: list[Any], original: list[Any], rng: Any,
               cap: int | None = None) -> tuple[list[Any], list[Any], list[Any]]:
    """The records one DAgger round trains on: ``(fixes, earlier, replay)``.

    Without a cap: all of this round's ``fixes`` and the ``earlier`` rounds' (DAgger's
    aggregate), and as many ``original`` traces, drawn without replacement by ``rng`` (at
    least one), so the student does not forget them. With ``cap``: at most ``cap`` records
    in all. This round's fixes come first (a draw of ``cap`` if there are more); the earlier
    fixes take up to half of the room left and the originals the rest, at most as many as
    the fixes kept, each a draw without replacement."""
    def draw(items: list[Any], size: int) -> list[Any]:
        size = min(len(items), size)
        return [items[int(i)] for i in sorted(rng.choice(len(items), size=size,
                                                         replace=False))]

    if cap is None:
        return fixes, earlier, draw(original, max(1, len(earlier) + len(fixes)))
    if cap < 1:
        raise ValueError(f"dagger.max_records is at least 1, got {cap}")
    if len(fixes) > cap:
        fixes = draw(fixes, cap)
    room = cap - len(fixes)
    if len(earlier) > room // 2:
        earlier = draw(earlier, room // 2)
    return fixes, earlier, draw(original, min(room - len(earlier),
                                              len(fixes) + len(earlier)))


# the pipeline's evaluation tasks: reset seeds DEV_TASK_OFFSET + j (the development block)
DEV_TASK_OFFSET = 900_000


def evaluate_method(run_dir: Path, method: str, model_name: str, adapters: list[Path],
                    preset: Preset, workers: int = 1,
                    ray_address: str | None = None) -> dict[str, Any]:
    """Evaluate the base model with ``adapters`` merged on the preset's splits (skipped
    when saved), on ``workers`` Ray actors when asked; the saved evaluation names the
    stages evaluated and what each was made with (its ``DONE`` settings)."""
    from tool_gym.agents.evaluate import FINAL_TASK_OFFSET, evaluate
    from tool_gym.agents.policy import make_policy

    path = run_dir / f"eval{preset.suffix}" / f"{method}.json"
    if path.exists():  # made with the same settings: run_pipeline checked before training
        return json.loads(path.read_text())
    model, tokenizer = load_with_adapters(model_name, adapters)
    policy = make_policy(model, tokenizer, temperature=0.0,
                         max_new_tokens=preset.eval.max_new_tokens, probes=preset.eval.probes())
    t0 = time.perf_counter()
    results = evaluate(policy, preset.eval_splits(), episodes=preset.eval.episodes,
                       seeds=preset.eval.seeds, batch_size=preset.eval.batch_size,
                       max_turns=preset.eval.max_turns,
                       task_offset=FINAL_TASK_OFFSET if preset.eval.final else DEV_TASK_OFFSET,
                       final=preset.eval.final, progress=True,
                       transcripts=path.with_suffix(".transcripts.jsonl"), workers=workers,
                       ray_address=ray_address)
    results["wall_s"] = time.perf_counter() - t0
    results["max_new_tokens"] = preset.eval.max_new_tokens
    results["stages"] = {a.name: json.loads((a / "DONE").read_text()).get("settings")
                         for a in adapters}
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps(results, indent=2, default=str))
    return results


def _check_same_evaluation(path: Path, cached: dict[str, Any], preset: Preset,
                           stages: list[Stage]) -> None:
    """Refuse to reuse an evaluation made with other settings than ``preset`` asks for
    (e.g. ``--set eval.episodes=72`` on a run evaluated on 24 tasks): reusing it would
    report the old evaluation under the new settings. So is one of other stages (e.g. one
    DAgger round where ``dagger.rounds=2`` asks for two) or of a stage remade since (its
    ``DONE`` settings differ). Settings an older evaluation did not record are not checked."""
    config = cached.get("config", {})
    asked = {"episodes": preset.eval.episodes, "seeds": list(preset.eval.seeds),
             "max_turns": preset.eval.max_turns, "max_new_tokens": preset.eval.max_new_tokens,
             "splits": {name: kw for name, (_, kw) in preset.eval_splits().items()}}
    found = {"episodes": config.get("episodes"), "seeds": config.get("seeds"),
             "max_turns": config.get("max_turns"), "max_new_tokens": cached.get("max_new_tokens"),
             "splits": {name: s.get("env_kwargs") for name, s in cached.get("splits", {}).items()}}
    if "stages" in cached:
        run_dir = path.parent.parent
        asked["stages"] = [s.name for s in stages]
        found["stages"] = list(cached["stages"])
        for s in stages:
            done = run_dir / s.name / "DONE"
            made = json.loads(done.read_text()).get("settings") if done.exists() else None
            if s.name in cached["stages"] and made is not None:
                asked[s.name] = made
                found[s.name] = cached["stages"][s.name]
    differ = _differences({k: v for k, v in found.items() if v is not None}, asked)
    if differ:
        raise ValueError(
            f"{path} was evaluated with other settings ({'; '.join(differ)}). Evaluate "
            "into another run folder (copy the trained stages there) or remove that file.")


def run_pipeline(run_dir: str | os.PathLike[str], preset: str | Preset = "quick",
                 model_name: str = "default", methods: list[str] | None = None,
                 reuse_stages: bool = False, zoo: str | Mapping[str, str] | None = None,
                 command: str = "", workers: int = 1,
                 ray_address: str | None = None, train: bool = True) -> dict[str, Any]:
    """Run (or resume) every stage; returns ``{"rows": [...], "timings": {...}, ...}``.

    ``train=False`` only evaluates: a stage that is neither in the run folder nor in the
    zoo entries is refused before anything runs (so a command that promises minutes never
    starts hours of training). The report's ``provenance`` says, per method and stage,
    whether it was trained by this invocation, taken from a zoo entry or found in the run
    folder.

    ``workers > 1`` (or a ``ray_address``) plays the teacher traces, the DAgger rounds'
    rollouts and the evaluations on Ray actors (:mod:`tool_gym.agents.distributed`):
    the same files as one process, so it is no setting of the stages. SFT and GRPO
    train in this process (GRPO's rollouts need the trainer's live weights).

    A finished stage (or trace file) made with other settings than ``preset`` is refused
    before anything runs, unless ``reuse_stages``: then it is reused as it is, and the
    report's ``reused_stages`` lists what differs.

    ``zoo={METHOD: NAME}``: first restore each method's zoo entry into the run folder, if
    it exists (its finished stages are not retrained, a stage it was training resumes from
    its checkpoint), then save every stage finished back into the entry of each method
    that builds on it (:mod:`tool_gym.agents.zoo`), recording ``command``. ``zoo=NAME`` is
    that entry for the only method asked."""
    p = PRESETS[preset] if isinstance(preset, str) else preset
    unknown = [m for m in methods or [] if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    d = p.dagger
    if not 1 <= d.rounds <= MAX_RECOVERY_ROUNDS:
        raise ValueError(f"dagger.rounds is 1 to {MAX_RECOVERY_ROUNDS}, got {d.rounds}")
    if d.turns < 1:
        raise ValueError(f"dagger.turns is at least 1, got {d.turns}")
    if d.max_records is not None and d.max_records < 1:
        raise ValueError(f"dagger.max_records is at least 1, got {d.max_records}")
    if max(n for _, _, n in p.trace_budget()) > TRACE_SOURCE_STRIDE:
        raise ValueError(f"a trace source plays at most {TRACE_SOURCE_STRIDE} episodes (its "
                         "tasks would reach the next source's)")
    run = Path(run_dir)
    methods = methods or default_methods(p)
    entries = zoo_entries(zoo, methods)
    from_zoo: dict[str, str] = {}  # stage name -> "zoo:ENTRY" of the finished stages restored
    if entries:
        from tool_gym.agents import zoo as model_zoo

        for name in entries.values():
            if (model_zoo.zoo_root() / name / "student.json").exists():
                model_zoo.restore_student(name, run)
                for entry, stage in model_zoo.stage_chain(name):
                    if stage.get("done"):
                        from_zoo.setdefault(stage["name"], f"zoo:{entry}")
    if not train:
        missing = sorted({s.name for m in methods for s in method_stages(m, p)
                          if not _done(run / s.name)})
        if missing:
            raise ValueError(f"not training (train=False, --no-train), but stages {missing} "
                             f"are neither in {run} nor in the zoo entries {entries or {}}; "
                             "train them first (toolmaster run --zoo METHOD=NAME ...)")
    # before anything is trained or the folder's preset rewritten
    reused = check_stages(run, methods, p, model_name, reuse=reuse_stages)
    for method in methods:
        path = run / f"eval{p.suffix}" / f"{method}.json"
        if path.exists():
            _check_same_evaluation(path, json.loads(path.read_text()), p,
                                   method_stages(method, p))
    run.mkdir(parents=True, exist_ok=True)
    _write_atomic(run / f"preset{p.suffix}.json", json.dumps(p.to_json(), indent=2))
    timings: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        return out

    traces = timed("traces", make_traces, run, p, workers, ray_address)

    def export(stage: Stage) -> None:
        """Save the zoo entry of every method that builds on ``stage`` (as it stands: a
        finished stage, or the checkpoint it just wrote)."""
        for owner, name in entries.items():
            if stage in method_stages(owner, p):
                model_zoo.save_student(run, name, owner, p, preset_name=preset_name(p),
                                       model_name=model_name, command=command,
                                       builds_on=_builds_on(method_stages(owner, p), from_zoo,
                                                            name))

    trained: dict[Stage, Path] = {}
    trained_here: set[str] = set()
    rows: list[dict[str, Any]] = []
    report: dict[str, Any] = {}
    # Method by method, in the order asked: train what it needs (reusing stages other
    # methods already trained), evaluate it, then rewrite the report, so an interrupted
    # run leaves a table of every method finished so far.
    for method in methods:
        adapters: list[Path] = []
        for stage in method_stages(method, p):
            if stage not in trained:
                fresh = not _done(run / stage.name)
                if fresh:
                    trained_here.add(stage.name)
                # every checkpoint of a stage trained here goes to the zoo as it is written,
                # so a run stopped anywhere resumes elsewhere; restored stages stay as they are
                trained[stage] = timed(stage.name, train_stage, run, model_name, stage,
                                       list(adapters), traces[stage.teacher], p, workers,
                                       ray_address, partial(export, stage) if entries else None)
                if fresh:
                    export(stage)
            adapters.append(trained[stage])
        results = timed(f"eval_{method}", evaluate_method, run, method, model_name, adapters, p,
                        workers, ray_address)
        method_rows = rows_from(method, results)
        rows += method_rows
        if method in entries and (model_zoo.zoo_root() / entries[method]).is_dir():
            model_zoo.record_evaluations(entries[method],
                                         card_rows(method_rows, results, command))
        done = {s: json.loads((d / "DONE").read_text()) for s, d in trained.items()}
        report = {"preset": p.to_json(), "model": model_name, "rows": rows,
                  "paired": paired_rows(rows), "timings_s": timings,
                  "sft": {s.teacher: d for s, d in done.items() if s.kind == "sft"},
                  "recovery": {t: [d for s, d in sorted(done.items()) if s.kind == "recovery"
                                   and s.teacher == t]
                               for t in sorted({s.teacher for s in done if s.kind == "recovery"})},
                  "grpo_steps": {s.teacher: d["global_step"] for s, d in done.items()
                                 if s.kind == "grpo"},
                  "reused_stages": reused,
                  "provenance": {m: {s.name: ("trained here" if s.name in trained_here
                                              else from_zoo.get(s.name, "run folder"))
                                     for s in method_stages(m, p)}
                                 for m in dict.fromkeys(r["method"] for r in rows)}}
        stem = f"results{p.suffix}"
        _write_atomic(run / f"{stem}.json", json.dumps(report, indent=2, default=str))
        _write_atomic(run / f"{stem}.md", results_markdown(rows)
                      + provenance_markdown(report["provenance"]))
        plot(rows, run / f"{stem}.png")
    return report


def card_rows(rows: list[dict[str, Any]], results: dict[str, Any],
              command: str) -> dict[str, dict[str, Any]]:
    """A method's evaluation rows as a zoo card keeps them, labelled with the block of tasks
    (development or the reserved final block) and the command that made them."""
    config = results.get("config", {})
    first = config.get("task_offset", 0)
    block = (f"{'final' if config.get('final') else 'dev'}, tasks {first}-"
             f"{first + config.get('episodes', 0) - 1}")
    return {f"{r['split']} ({block})": {
        "success": round(r["success"], 3), "episodes": r["episodes"],
        "ci": f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]", "command": command or "(library)"}
        for r in rows}


def _builds_on(stages: list[Stage], from_zoo: Mapping[str, str], name: str) -> str | None:
    """The zoo entry, other than ``name``, whose student is the first of ``stages`` (all
    restored from it): a new student that continues it references it instead of copying
    its adapters."""
    first = from_zoo.get(stages[0].name) if stages else None
    if first is None or first == f"zoo:{name}":
        return None
    from tool_gym.agents import zoo as model_zoo

    entry = first.removeprefix("zoo:")
    if model_zoo.continuation_problem(entry, [s.name for s in stages]):
        return None
    return entry if all(from_zoo.get(stage["name"])
                        for _, stage in model_zoo.stage_chain(entry)) else None


def zoo_entries(zoo: str | Mapping[str, str] | Sequence[str] | None,
                methods: list[str]) -> dict[str, str]:
    """``{method: zoo entry}`` of a run, from a mapping, from ``METHOD=NAME`` items (the
    CLI's repeatable ``--zoo``), or from one bare name for the only method run. Every
    method named must be run."""
    if not zoo:
        return {}
    if isinstance(zoo, str):
        zoo = [zoo]
    if not isinstance(zoo, Mapping):
        items = list(zoo)
        if len(items) == 1 and "=" not in items[0]:
            if len(methods) != 1:
                raise ValueError(f"a zoo entry holds one method's student; got methods "
                                 f"{methods} (name one entry per method: METHOD=NAME)")
            return {methods[0]: items[0]}
        pairs = [item.partition("=") for item in items]
        bad = [item for item, (m, eq, name) in zip(items, pairs, strict=True)
               if not (m and eq and name)]
        if bad:
            raise ValueError(f"give METHOD=NAME for each zoo entry, got {bad}")
        zoo = {m: name for m, _, name in pairs}
    missing = [m for m in zoo if m not in methods]
    if missing:
        raise ValueError(f"zoo entries for methods {missing} that this run does not run "
                         f"({methods})")
    return dict(zoo)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
