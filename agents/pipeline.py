"""The whole ToolMaster pipeline and its baselines, trained on one budget, evaluated side by side.

Stages (each resumable: a finished stage is skipped, an interrupted SFT or GRPO run
continues from its last checkpoint):

1. traces: the trial teacher and the golden (trajectory-centric) teacher play the *same*
   tasks of seen domains (train seeds): plain, drifted with fresh docs, drifted with
   stale docs;
2. SFT (LoRA) of the base model on each set of traces;
3. GRPO in the envs (seen domains, train seeds) from each SFT model, same budget;
   Where the preset asks for it (``recovery_episodes``), DAgger rounds from each SFT
   model (``recovery_rounds``): it plays train tasks, its teacher continues its failed
   openings (:func:`~tool_gym.agents.traces.recovery_traces`) and another LoRA learns them;
4. evaluation of ``zero_shot``, ``golden_sft``, ``golden_sft_grpo``, ``trial_sft``,
   ``toolmaster`` (trial SFT + GRPO), ``trial_sft_dagger`` and ``golden_sft_dagger`` on ``seen_test``,
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
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from tool_gym.agents.evaluate import DEFAULT_SPLITS
from tool_gym.agents.grpo import GRPOSettings
from tool_gym.agents.models import load_with_adapters

logger = logging.getLogger(__name__)

__all__ = ["EVAL_SPLITS", "GRPO_ENVS", "METHODS", "PRESETS", "Preset", "Stage", "dagger_mix",
           "grpo_settings", "load_with_adapters", "method_stages", "preset_name",
           "recovery_files", "rollout_part", "results_markdown", "run_pipeline", "table_markdown"]

TRACE_SOURCES: list[tuple[str, dict[str, Any]]] = [
    ("ToolMaster/Seen-v0", {"split": "train"}),
    ("ToolMaster/Drift-v0", {"split": "train", "stale_docs": False, "drift_focus": "plan"}),
    ("ToolMaster/Drift-v0", {"split": "train", "stale_docs": True, "drift_focus": "plan"}),
]
# Preset.rename_seen: the plain seen source, but every tool renamed per episode (synonyms,
# fresh docs), so a tool can only be picked by reading the catalogue
RENAMED_SEEN: tuple[str, dict[str, Any]] = (
    "ToolMaster/Drift-v0", {"split": "train", "drift_level": None, "stale_docs": False,
                            "mutations": [{"kind": "rename_tool", "tools": "all",
                                           "style": "synonym"}]})
EVAL_SPLITS = DEFAULT_SPLITS
# method -> (teacher of its SFT data or None, the stages after SFT: "recovery" (the
# preset's DAgger rounds: the student's own failed openings, fixed by the teacher) and/or
# "grpo")
METHODS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "zero_shot": (None, ()),
    "golden_sft": ("golden", ()),
    "golden_sft_grpo": ("golden", ("grpo",)),
    "trial_sft": ("trial", ()),
    "toolmaster": ("trial", ("grpo",)),
    "trial_sft_dagger": ("trial", ("recovery",)),
    "golden_sft_dagger": ("golden", ("recovery",)),
}
# (method, baseline) pairs compared task by task in the report, where both were run: the
# imitation claim (trial against golden traces), each with and without its later stage,
# and what GRPO adds to trial SFT
PAIRED: tuple[tuple[str, str], ...] = (
    ("trial_sft", "golden_sft"),
    ("toolmaster", "golden_sft_grpo"),
    ("toolmaster", "trial_sft"),
    ("golden_sft_grpo", "golden_sft"),
    ("trial_sft_dagger", "golden_sft_dagger"),
    ("trial_sft_dagger", "trial_sft"),
    ("golden_sft_dagger", "golden_sft"),
)
# reset seeds of the student's rollouts for recovery traces: round k plays
# RECOVERY_TASK_OFFSET + (k - 1) * RECOVERY_ROUND_STRIDE + j (traces use i * 100_000 + j,
# evaluation 900_000 + j)
RECOVERY_TASK_OFFSET = 500_000
RECOVERY_ROUND_STRIDE = 50_000
MAX_RECOVERY_ROUNDS = 8  # the last round's tasks stay below the evaluation's


# GRPO plays seen domains on train seeds, plain and drifted with stale docs.
GRPO_ENVS: list[tuple[str, dict[str, Any]]] = [
    ("ToolMaster/Seen-v0", {"split": "train"}),
    ("ToolMaster/Drift-v0", {"split": "train", "stale_docs": True, "drift_focus": "plan"}),
]


def grpo_settings(**changes: Any) -> GRPOSettings:
    """GRPO options of a preset: :data:`GRPO_ENVS` plus ``changes``."""
    return GRPOSettings(envs=[(e, dict(k)) for e, k in GRPO_ENVS], **changes)


@dataclass
class Preset:
    """Budgets of one run. ``quick`` proves the pipeline; ``full`` is evidence grade.

    ``max_plan_steps=k`` sets the difficulty of the whole run: trace sources, GRPO envs
    and evaluation draw only tasks whose golden plan has at most ``k`` calls.
    ``eval_max_plan_steps=k`` evaluates on such tasks only (results go to
    ``eval-plan<k>/`` and ``results-plan<k>.*``; the trained stages are shared with the
    unfiltered evaluation of the same run folder). ``eval_max_thought_tokens=n`` closes
    every thought of the evaluated students after n tokens (budget forcing, see
    :class:`~tool_gym.agents.rollout.SamplingConfig`; results in ``eval-think<n>/``).
    ``eval_resample_resends=n`` samples again, up to n times, a message of the evaluated
    students that resends a failed trial or call verbatim (a probe; see ``SamplingConfig``'s
    ``resample_resends``; results in ``eval-resample<n>/``).
    ``trial_when`` is the trial teacher's rule, ``trial_style`` its phrasing,
    ``trial_mistake_prob`` how often a first trial carries a deliberate mistake (0: only the mistakes stale docs lead to) and
    ``trial_wrong_tool_prob`` how often its first trial goes to a tool whose error names
    the right one and ``trial_diff_limit`` the most changes a ``diff`` fix names (see
    :class:`~tool_gym.agents.teachers.TrialTeacher`).
    ``sft_learn_mistakes=False`` leaves the trial teacher's deliberate mistakes out of
    the SFT loss (the fixes that follow them are still learned).
    ``sft_learn_repeats=False`` leaves out of the SFT and DAgger loss the trial and call
    bodies that repeat the previous message's verbatim (the real call after a trial that
    worked; see :func:`~tool_gym.agents.sft.repeated_calls`), so the student is not
    trained to copy the call above it.
    ``recovery_episodes=n`` (0: off) adds the ``trial_sft_dagger`` and
    ``golden_sft_dagger`` methods, ``recovery_rounds`` DAgger rounds each: the student
    (the SFT model, then the model of the round before) plays ``n`` fresh train tasks per
    trace source (greedy, ``recovery_turns`` messages: 1, its opening only); its failed
    episodes, continued by its own teacher after each message the env rejected (see
    :func:`~tool_gym.agents.traces.recovery_traces`; the trial teacher reads the error
    and names the fix, the golden teacher just makes the right call), train one more
    LoRA for ``recovery_epochs``, together with the fixes of the earlier rounds (DAgger's
    aggregated data) and as many of the original traces (so it does not forget them); the
    student's own messages stay out of the loss (and so do the deliberate mistakes of the
    replayed trial traces, whatever ``sft_learn_mistakes`` says).
    ``recovery_rename_seen=True`` has each DAgger round's student also play the renamed
    seen source (:data:`RENAMED_SEEN`; already played with ``rename_seen``), so its
    failures include tools it knows under names it does not, fixed by the teacher from
    the catalogue and the env's errors.
    ``recovery_max_records=m`` (None: no cap) caps what one round trains on at ``m``
    records, so later rounds do not grow with the aggregate (see :func:`dagger_mix`).
    ``rename_seen=True`` replaces the plain seen trace source with the same domains whose
    tools are all renamed per episode (synonyms, fresh docs; :data:`RENAMED_SEEN`): the
    students of earlier runs did not map requests onto an unseen catalogue, and renamed
    tools leave reading the catalogue as the only way to pick one.
    ``sft_bf16=None`` trains in bf16 where that is fast (a GPU, or a CPU with bf16
    instructions) and in fp32 elsewhere. ``grpo`` holds every GRPO option; its seed and
    checkpoint cadence are set from the preset's.
    """

    traces_per_source: int = 8
    trial_when: str = "cues"
    trial_style: str = "terse"
    trial_mistake_prob: float = 0.5
    trial_wrong_tool_prob: float = 0.0
    trial_diff_limit: int = 5
    max_plan_steps: int | None = None
    sft_epochs: float = 1.0
    sft_max_steps: int = -1
    sft_max_length: int = 1536
    sft_learning_rate: float = 3e-4
    sft_bf16: bool | None = None
    sft_learn_mistakes: bool = True
    sft_learn_repeats: bool = True
    recovery_episodes: int = 0
    recovery_epochs: float = 1.0
    recovery_rounds: int = 1
    recovery_turns: int = 1
    recovery_max_records: int | None = None
    recovery_rename_seen: bool = False
    rename_seen: bool = False
    grpo: GRPOSettings = field(default_factory=lambda: grpo_settings(
        steps=2, tasks_per_step=1, num_generations=4, max_new_tokens=96, max_turns=3))
    eval_episodes: int = 3
    eval_seeds: list[int] = field(default_factory=lambda: [0])
    eval_max_new_tokens: int = 96
    eval_max_turns: int = 3
    eval_batch_size: int = 16
    eval_max_plan_steps: int | None = None
    eval_max_thought_tokens: int | None = None
    eval_resample_resends: int = 0
    seed: int = 0

    @property
    def suffix(self) -> str:
        """``""``, ``-plan<k>`` for the subset of tasks with short golden plans,
        ``-think<n>`` for thoughts capped at n tokens and/or ``-resample<r>`` for resends
        resampled: names ``eval<suffix>/``, ``results<suffix>.*`` and ``preset<suffix>.json``."""
        k, n, r = self.eval_max_plan_steps, self.eval_max_thought_tokens, self.eval_resample_resends
        return (("" if k is None else f"-plan{k}") + ("" if n is None else f"-think{n}")
                + (f"-resample{r}" if r else ""))

    def eval_splits(self) -> dict[str, tuple[str, dict[str, Any]]]:
        k = self.eval_max_plan_steps
        return {name: (env_id, _limit_plans(kw, self.max_plan_steps if k is None else k))
                for name, (env_id, kw) in EVAL_SPLITS.items()}

    def trace_sources(self) -> list[tuple[str, dict[str, Any]]]:
        sources = [RENAMED_SEEN, *TRACE_SOURCES[1:]] if self.rename_seen else TRACE_SOURCES
        return [(e, _limit_plans(kw, self.max_plan_steps)) for e, kw in sources]

    def recovery_sources(self) -> list[tuple[str, dict[str, Any]]]:
        """The sources a DAgger round's student plays: the trace sources, and with
        ``recovery_rename_seen`` the renamed seen source too."""
        sources = self.trace_sources()
        if self.recovery_rename_seen and not self.rename_seen:
            sources += replace(self, rename_seen=True).trace_sources()[:1]
        return sources

    def methods(self) -> list[str]:
        """The methods a run trains and evaluates when none are named."""
        return [m for m, (_, stages) in METHODS.items()
                if "recovery" not in stages or self.recovery_episodes > 0]

    def grpo_envs(self) -> list[tuple[str, dict[str, Any]]]:
        return [(e, _limit_plans(kw, self.max_plan_steps)) for e, kw in self.grpo.envs]


def _limit_plans(kwargs: dict[str, Any], k: int | None) -> dict[str, Any]:
    return dict(kwargs) if k is None else {**kwargs, "max_plan_steps": k}


PRESETS: dict[str, Preset] = {
    # the README's main command: every stage on the default model in under 20 min of
    # 2-core CPU
    "quick": Preset(),
    # evidence grade for this CPU (about two hours); raise the budgets on a GPU.
    # Trial-teacher messages reach ~95 tokens at p99 and whole episodes ~1.8k tokens:
    # the generation and length caps must not cut them off.
    "full": Preset(traces_per_source=40, sft_epochs=2.0, sft_learning_rate=1e-3,
                   grpo=grpo_settings(steps=6, tasks_per_step=2, num_generations=8,
                                      max_new_tokens=128, max_turns=6, learning_rate=1e-4,
                                      max_completion_length=1536),
                   eval_episodes=16, eval_max_new_tokens=128, eval_max_turns=6,
                   eval_batch_size=40),
    # the claim at the scale this CPU affords in about two hours: one-call tasks only (the
    # student's turns go to trialling and fixing one tool, not to long plans), twice the
    # traces of `full`, and a trial teacher whose rule the student can see (first_use).
    # A GRPO step (16 episodes) takes ~8 min here, so GRPO is 3 steps: a probe, not a cure
    "one_call": Preset(traces_per_source=80, trial_when="first_use", max_plan_steps=1,
                       sft_epochs=1.0, sft_learning_rate=1e-3, sft_max_length=2048,
                       grpo=grpo_settings(steps=3, tasks_per_step=2, num_generations=8,
                                          max_new_tokens=96, max_turns=5, learning_rate=1e-4,
                                          max_completion_length=1024),
                       eval_episodes=24, eval_max_new_tokens=96, eval_max_turns=5,
                       eval_batch_size=40),
    # seconds on the tiny model: proves every stage runs and hands over to the next
    "tiny": Preset(traces_per_source=2, sft_max_steps=1, sft_max_length=1024, sft_bf16=False,
                   recovery_episodes=1,
                   grpo=grpo_settings(steps=1, tasks_per_step=1, num_generations=2,
                                      max_new_tokens=6, max_turns=2),
                   eval_episodes=1, eval_max_new_tokens=6, eval_max_turns=2, eval_batch_size=1),
}
# The best student so far (docs/experiment-log.md, v12): `one_call` with a trial teacher that names the
# one change a failed call needs, and three DAgger rounds whose student plays three turns.
# Its methods: trial_sft_dagger against golden_sft_dagger / golden_sft. The zoo keeps it.
PRESETS["one_call_dagger"] = replace(
    PRESETS["one_call"], trial_style="diff", trial_mistake_prob=0.0, trial_diff_limit=1,
    recovery_episodes=40, recovery_rounds=3, recovery_turns=3)


def preset_name(preset: Preset) -> str:
    """The name of the preset ``preset`` equals, or ``"custom"``."""
    return next((name for name, p in PRESETS.items() if p == preset), "custom")


# The Preset fields each kind of stage is made from, beside those of the stages it builds on
# (traces -> sft -> recovery rounds or grpo). The trial teacher's fields count only for the
# trial teacher's stages; the batch sizes of generation are left out (they change speed).
# A DAgger round's student plays its rollouts with the evaluation's token cap.
STAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "traces": ("traces_per_source", "max_plan_steps", "rename_seen", "seed"),
    "sft": ("sft_epochs", "sft_max_steps", "sft_max_length", "sft_learning_rate", "sft_bf16",
            "sft_learn_mistakes", "sft_learn_repeats"),
    "recovery": ("recovery_episodes", "recovery_epochs", "recovery_turns",
                 "recovery_max_records", "recovery_rename_seen", "eval_max_new_tokens"),
    "grpo": ("grpo",),
}
TRIAL_TEACHER_FIELDS = ("trial_when", "trial_style", "trial_mistake_prob",
                        "trial_wrong_tool_prob", "trial_diff_limit")
_BUILDS_ON = {"traces": (), "sft": ("traces",), "recovery": ("traces", "sft"),
              "grpo": ("traces", "sft")}


class Stage(NamedTuple):
    """One trained stage of a run: its kind (``sft``, ``recovery`` or ``grpo``), the
    teacher of its data and, for ``recovery``, its DAgger round (1-based)."""

    kind: str
    teacher: str
    round: int = 1

    @property
    def name(self) -> str:
        """Its folder in the run: ``sft_trial``, ``recovery_trial``, ``recovery_trial_r2``..."""
        return f"{self.kind}_{self.teacher}" + (f"_r{self.round}" if self.round > 1 else "")

    def settings(self, preset: Preset, model_name: str) -> dict[str, Any]:
        """What it is made from: the model and the preset fields of :data:`STAGE_FIELDS`
        for it and the stages below it (JSON values, as its ``DONE`` file keeps them)."""
        return _settings(self.kind, self.teacher, preset, model_name,
                         {"round": self.round} if self.kind == "recovery" else {})


def _settings(kind: str, teacher: str, preset: Preset, model_name: str | None,
              extra: dict[str, Any]) -> dict[str, Any]:
    values = asdict(preset)
    fields = [f for k in (*_BUILDS_ON[kind], kind) for f in STAGE_FIELDS[k]]
    if teacher == "trial":
        fields += TRIAL_TEACHER_FIELDS
    out = {"model": model_name} if model_name is not None else {}
    out |= {f: values[f] for f in fields} | extra
    return json.loads(json.dumps(out, default=str))


def method_stages(method: str, preset: Preset) -> list[Stage]:
    """The stages whose adapters a method's model merges, in order."""
    teacher, stages = METHODS[method]
    if teacher is None:
        return []
    out = [Stage("sft", teacher)]
    if "recovery" in stages:
        out += [Stage("recovery", teacher, k) for k in range(1, preset.recovery_rounds + 1)]
    if "grpo" in stages:
        out.append(Stage("grpo", teacher))
    return out


def _done(path: Path) -> bool:
    return (path / "adapter_model.safetensors").exists() and (path / "DONE").exists()


def _mark_done(path: Path, payload: dict[str, Any]) -> None:
    _write_atomic(path / "DONE", json.dumps(payload, indent=2, default=str))


def _with_defaults(recorded: dict[str, Any], asked: dict[str, Any]) -> dict[str, Any]:
    """``recorded`` settings plus the Preset default of each field asked that they lack: a
    field added to :data:`STAGE_FIELDS` after a stage was made counts as its default (a
    new field's default keeps the old behaviour). Records of no settings stay empty."""
    if not recorded:
        return recorded
    defaults = json.loads(json.dumps(asdict(Preset()), default=str))
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
               _settings("traces", t, preset, None, {})) for t in teachers]
    checks += [(s.name, run_dir / s.name / "DONE", s.settings(preset, model_name))
               for s in stages]
    differ: dict[str, list[str]] = {}
    for name, path, asked in checks:
        if path.exists():
            recorded = json.loads(path.read_text())
            recorded = recorded.get("settings") if path.name == "DONE" else recorded
            if found := _differences(_with_defaults(recorded or {}, asked), asked):
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
    sources = {name: [(_teacher_factory(name, preset), env_id, preset.traces_per_source,
                       preset.seed + 100_000 * i, kwargs)
                      for i, (env_id, kwargs) in enumerate(preset.trace_sources())]
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
                      json.dumps(_settings("traces", name, preset, None, {}), indent=2))
    return out


def _teacher_factory(name: str, preset: Preset) -> Any:
    """``factory(env, seed=...)`` of the named teacher, configured by the preset."""
    from tool_gym.agents.teachers import GoldenTeacher, TrialTeacher

    if name == "trial":
        return partial(TrialTeacher, trial_when=preset.trial_when, style=preset.trial_style,
                       mistake_prob=preset.trial_mistake_prob,
                       wrong_tool_prob=preset.trial_wrong_tool_prob,
                       diff_limit=preset.trial_diff_limit)
    return GoldenTeacher


def train_stage(run_dir: Path, model_name: str, stage: Stage, below: list[Path],
                traces: Path, preset: Preset, workers: int = 1,
                ray_address: str | None = None) -> Path:
    """Train ``stage`` on top of the adapters ``below`` it (skipped when done); its
    ``DONE`` file records its summary and :meth:`Stage.settings`. A DAgger round plays
    its rollouts on ``workers`` Ray actors (or the cluster at ``ray_address``); SFT and
    GRPO train in this process."""
    out = run_dir / stage.name
    if _done(out):
        return out
    train = {"sft": _train_sft, "recovery": partial(_train_recovery, workers=workers,
                                                    ray_address=ray_address),
             "grpo": _train_grpo}[stage.kind]
    t0 = time.perf_counter()
    summary = train(run_dir, model_name, stage, below, traces, preset, out)
    # wall_s: this invocation's time (a resumed stage counts only what was left)
    _mark_done(out, {**summary, "wall_s": round(time.perf_counter() - t0, 1),
                     "settings": stage.settings(preset, model_name)})
    return out


def _train_sft(run_dir: Path, model_name: str, stage: Stage, below: list[Path], traces: Path,
               preset: Preset, out: Path) -> dict[str, Any]:
    from tool_gym.agents.traces import read_traces

    model, tokenizer = load_with_adapters(model_name, below)
    result = _train_lora(model, tokenizer, read_traces(traces), out, preset, model_name,
                         epochs=preset.sft_epochs, data_source=str(traces),
                         learn_mistakes=preset.sft_learn_mistakes)
    return _sft_summary(result)


def _train_lora(model: Any, tokenizer: Any, records: list[dict[str, Any]], out: Path,
                preset: Preset, model_name: str, epochs: float, data_source: str,
                learn_mistakes: bool) -> Any:
    """LoRA SFT with the preset's budgets (the SFT and recovery stages)."""
    from tool_gym.agents.sft import bf16_is_fast, train_sft

    return train_sft(model, tokenizer, records, out, epochs=epochs,
                     max_steps=preset.sft_max_steps, learning_rate=preset.sft_learning_rate,
                     max_length=preset.sft_max_length, resume=True, seed=preset.seed,
                     base_model=model_name,
                     bf16=bf16_is_fast() if preset.sft_bf16 is None else preset.sft_bf16,
                     data_source=data_source, save_steps=20, learn_mistakes=learn_mistakes,
                     learn_repeats=preset.sft_learn_repeats)


def _sft_summary(result: Any) -> dict[str, Any]:
    return {"global_step": result.global_step, "train_loss": result.train_loss,
            "eval_loss_before": result.initial_eval_loss, "eval_loss": result.eval_loss}


def _train_grpo(run_dir: Path, model_name: str, stage: Stage, below: list[Path], traces: Path,
                preset: Preset, out: Path) -> dict[str, Any]:
    from tool_gym.agents.grpo import train_grpo

    model, tokenizer = load_with_adapters(model_name, below)
    settings = replace(preset.grpo, seed=preset.seed, envs=preset.grpo_envs(),
                       save_steps=max(1, preset.grpo.steps // 4))
    result = train_grpo(model, tokenizer, out, settings, resume=True)
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
                    traces: Path, preset: Preset, out: Path, workers: int = 1,
                    ray_address: str | None = None) -> dict[str, Any]:
    """DAgger round ``stage.round`` on top of ``below`` (the SFT adapter and the earlier
    rounds'; see :class:`Preset`'s ``recovery_episodes``); its rollouts are played on
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

    if preset.recovery_episodes <= 0:
        raise ValueError("the DAgger methods need Preset.recovery_episodes > 0 "
                         "(e.g. --set recovery_episodes=40)")
    if preset.recovery_episodes > RECOVERY_ROUND_STRIDE:
        raise ValueError(f"recovery_episodes is at most {RECOVERY_ROUND_STRIDE} (the tasks of "
                         "one round would reach the next round's)")
    teacher, k = stage.teacher, stage.round
    model, tokenizer = load_with_adapters(model_name, below)
    sources = {f"source{i}": src for i, src in enumerate(preset.recovery_sources())}
    rollouts_path, fixes_path = recovery_files(run_dir, teacher, k)
    if not rollouts_path.exists():
        policy = make_policy(model, tokenizer, temperature=0.0,
                             max_new_tokens=preset.eval_max_new_tokens)
        # One source at a time, each written atomically once its episodes are played, so
        # a run stopped mid-round (or restored from the zoo) replays only the sources
        # left; greedy decoding makes the parts what one call over every source plays.
        parts = []
        for name, source in sources.items():
            part = rollout_part(rollouts_path, name)
            if not part.exists():
                evaluate(policy, {name: source}, episodes=preset.recovery_episodes,
                         seeds=[preset.seed], batch_size=preset.eval_batch_size,
                         max_turns=preset.recovery_turns,
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
                     cap=preset.recovery_max_records)
    sources_used = " + ".join(str(path) for path in [*earlier_files, fixes_path])
    result = _train_lora(model, tokenizer, [r for part in mix for r in part], out, preset,
                         model_name, epochs=preset.recovery_epochs,
                         data_source=f"{sources_used} + {traces}", learn_mistakes=False)
    # the fixes and earlier fixes trained on: all of them unless recovery_max_records
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
        raise ValueError(f"recovery_max_records is at least 1, got {cap}")
    if len(fixes) > cap:
        fixes = draw(fixes, cap)
    room = cap - len(fixes)
    if len(earlier) > room // 2:
        earlier = draw(earlier, room // 2)
    return fixes, earlier, draw(original, min(room - len(earlier),
                                              len(fixes) + len(earlier)))


def evaluate_method(run_dir: Path, method: str, model_name: str, adapters: list[Path],
                    preset: Preset, workers: int = 1,
                    ray_address: str | None = None) -> dict[str, Any]:
    """Evaluate the base model with ``adapters`` merged on the preset's splits (skipped
    when saved), on ``workers`` Ray actors when asked; the saved evaluation names the
    stages evaluated and what each was made with (its ``DONE`` settings)."""
    from tool_gym.agents.evaluate import evaluate
    from tool_gym.agents.policy import make_policy

    path = run_dir / f"eval{preset.suffix}" / f"{method}.json"
    if path.exists():  # made with the same settings: run_pipeline checked before training
        return json.loads(path.read_text())
    model, tokenizer = load_with_adapters(model_name, adapters)
    policy = make_policy(model, tokenizer, temperature=0.0,
                         max_new_tokens=preset.eval_max_new_tokens,
                         max_thought_tokens=preset.eval_max_thought_tokens,
                         resample_resends=preset.eval_resample_resends)
    t0 = time.perf_counter()
    results = evaluate(policy, preset.eval_splits(), episodes=preset.eval_episodes,
                       seeds=preset.eval_seeds, batch_size=preset.eval_batch_size,
                       max_turns=preset.eval_max_turns, task_offset=900_000, progress=True,
                       transcripts=path.with_suffix(".transcripts.jsonl"), workers=workers,
                       ray_address=ray_address)
    results["wall_s"] = time.perf_counter() - t0
    results["max_new_tokens"] = preset.eval_max_new_tokens
    results["stages"] = {a.name: json.loads((a / "DONE").read_text()).get("settings")
                         for a in adapters}
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps(results, indent=2, default=str))
    return results


def _check_same_evaluation(path: Path, cached: dict[str, Any], preset: Preset,
                           stages: list[Stage]) -> None:
    """Refuse to reuse an evaluation made with other settings than ``preset`` asks for
    (e.g. ``--set eval_episodes=72`` on a run evaluated on 24 tasks): reusing it would
    report the old evaluation under the new settings. So is one of other stages (e.g. one
    DAgger round where ``recovery_rounds=2`` asks for two) or of a stage remade since (its
    ``DONE`` settings differ). Settings an older evaluation did not record are not checked."""
    config = cached.get("config", {})
    asked = {"episodes": preset.eval_episodes, "seeds": list(preset.eval_seeds),
             "max_turns": preset.eval_max_turns, "max_new_tokens": preset.eval_max_new_tokens,
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


def rows_from(method: str, results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per split. ``ci_low``/``ci_high`` is the Wilson interval over episodes,
    ``ci_low_domain``/``ci_high_domain`` the bootstrap over domains (see
    :func:`~tool_gym.agents.evaluate.domain_interval`; recomputed from ``per_task`` for
    evaluations saved before it existed)."""
    from tool_gym.agents.evaluate import domain_counts, domain_interval

    rows = []
    for split, s in results["splits"].items():
        by_domain = domain_counts(s.get("per_task", []))
        clustered = domain_interval(list(by_domain.values()))
        rows.append({"method": method, "split": split, "episodes": s["episodes"],
                     "success": s["success_rate"], "ci_low": s["ci95"][0],
                     "ci_high": s["ci95"][1], "domains": by_domain,
                     "ci_low_domain": clustered[0] if clustered else None,
                     "ci_high_domain": clustered[1] if clustered else None,
                     "pass_at_k": s["pass_k"],
                     "mean_turns": s["mean_turns"], "trials_per_episode": s["trials_per_episode"],
                     "calls_per_episode": s["calls_per_episode"],
                     "per_task": _task_outcomes(s.get("per_task", []))})
    return rows


def _task_outcomes(per_task: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed, id, trials and successes of each task, for :func:`paired_rows`; empty when a
    task has no seed (it could not be paired)."""
    if any(t.get("task_seed") is None for t in per_task):
        return []
    return [{k: t.get(k) for k in ("task_seed", "task_id", "n", "successes")}
            for t in per_task]


def paired_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Task-by-task comparisons (:func:`~tool_gym.agents.evaluate.paired_comparison`) of
    the :data:`PAIRED` methods, per split where both rows hold their tasks: ``method``,
    ``baseline``, ``split``, then the comparison's fields."""
    from tool_gym.agents.evaluate import paired_comparison

    def row(method: str, split: str) -> dict[str, Any] | None:
        return next((r for r in rows if r["method"] == method and r["split"] == split
                     and r.get("per_task")), None)

    out = []
    for method, baseline in PAIRED:
        for split in EVAL_SPLITS:
            a, b = row(method, split), row(baseline, split)
            if a and b:
                out.append({"method": method, "baseline": baseline, "split": split,
                            **paired_comparison(b["per_task"], a["per_task"])})
    return out


def paired_markdown(paired: list[dict[str, Any]]) -> str:
    """Tasks gained / lost (sign-test p) per comparison and split; "" when there is none."""
    if not paired:
        return ""
    splits = [s for s in EVAL_SPLITS if any(p["split"] == s for p in paired)]
    lines = ["| method | baseline | " + " | ".join(splits) + " |",
             "|---|---|" + "---|" * len(splits)]
    for method, baseline in dict.fromkeys((p["method"], p["baseline"]) for p in paired):
        cells = []
        for split in splits:
            p = next((x for x in paired if (x["method"], x["baseline"], x["split"])
                      == (method, baseline, split)), None)
            if p is None:
                cells.append("-")
            else:
                pv = "-" if p["p_value"] is None else f"{p['p_value']:.2f}"
                cells.append(f"+{p['gained']} / -{p['lost']} (p {pv})")
        lines.append(f"| {method} | {baseline} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def table_markdown(rows: list[dict[str, Any]], interval: str = "wilson") -> str:
    """Success [interval] per method and split; ``interval="domain"`` shows the bootstrap
    over domains instead of the Wilson interval over episodes."""
    if interval not in ("wilson", "domain"):
        raise ValueError(f"interval must be 'wilson' or 'domain', not {interval!r}")
    lo_key, hi_key = ("ci_low", "ci_high") if interval == "wilson" else ("ci_low_domain",
                                                                          "ci_high_domain")
    splits = list(EVAL_SPLITS)
    lines = ["| method | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for method in [m for m in METHODS if any(r["method"] == m for r in rows)]:
        cells = []
        for split in splits:
            r = next((x for x in rows if x["method"] == method and x["split"] == split), None)
            if r is None:
                cells.append("-")
            elif r.get(lo_key) is None:
                cells.append(f"{r['success']:.2f} [-]")
            else:
                cells.append(f"{r['success']:.2f} [{r[lo_key]:.2f}, {r[hi_key]:.2f}]")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def results_markdown(rows: list[dict[str, Any]]) -> str:
    """Both tables: Wilson intervals over episodes, then bootstrap intervals over domains;
    then the task-by-task comparisons of :func:`paired_rows`, where there are any."""
    return ("Success rate [95% Wilson interval over episodes]:\n\n" + table_markdown(rows)
            + "\nSuccess rate [95% bootstrap interval over domains; episodes of one domain "
            "are not independent, see `tool_gym.agents.evaluate.domain_interval`]:\n\n"
            + table_markdown(rows, "domain") + _paired_section(paired_rows(rows)))


def _paired_section(paired: list[dict[str, Any]]) -> str:
    if not paired:
        return ""
    return ("\nTasks gained / lost against the baseline, task by task on the same tasks "
            "(two-sided exact sign test p, one test per cell: among twenty cells with no "
            "real difference, about one shows p < 0.05 by chance):\n\n" + paired_markdown(paired))


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    splits = list(EVAL_SPLITS)
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    width = 0.8 / max(1, len(methods))
    fig, ax = plt.subplots(figsize=(9, 4))
    for i, m in enumerate(methods):
        vals, lo, hi = [], [], []
        for s in splits:
            r = next((x for x in rows if x["method"] == m and x["split"] == s), None)
            v = r["success"] if r else 0.0
            vals.append(v)
            lo.append(max(0.0, v - (r["ci_low"] if r else 0.0)))  # float noise at 0 and 1
            hi.append(max(0.0, (r["ci_high"] if r else 0.0) - v))
        x = np.arange(len(splits)) + (i - (len(methods) - 1) / 2) * width
        ax.bar(x, vals, width, yerr=[lo, hi], capsize=2, label=m)
    ax.set_xticks(np.arange(len(splits)), splits)
    ax.set_ylabel("success rate (95% CI)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, ncols=3)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_pipeline(run_dir: str | os.PathLike[str], preset: str | Preset = "quick",
                 model_name: str = "default", methods: list[str] | None = None,
                 reuse_stages: bool = False, zoo: str | None = None,
                 command: str = "", workers: int = 1,
                 ray_address: str | None = None) -> dict[str, Any]:
    """Run (or resume) every stage; returns ``{"rows": [...], "timings": {...}, ...}``.

    ``workers > 1`` (or a ``ray_address``) plays the teacher traces, the DAgger rounds'
    rollouts and the evaluations on Ray actors (:mod:`tool_gym.agents.distributed`):
    the same files as one process, so it is no setting of the stages. SFT and GRPO
    train in this process (GRPO's rollouts need the trainer's live weights).

    A finished stage (or trace file) made with other settings than ``preset`` is refused
    before anything runs, unless ``reuse_stages``: then it is reused as it is, and the
    report's ``reused_stages`` lists what differs.

    ``zoo=NAME`` (one method only): first restore zoo entry NAME into the run folder, if it
    exists (its finished stages are not retrained, a stage it was training resumes from its
    checkpoint), then save every stage finished back into it
    (:mod:`tool_gym.agents.zoo`), recording ``command``."""
    p = PRESETS[preset] if isinstance(preset, str) else preset
    unknown = [m for m in methods or [] if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    if not 1 <= p.recovery_rounds <= MAX_RECOVERY_ROUNDS:
        raise ValueError(f"recovery_rounds is 1 to {MAX_RECOVERY_ROUNDS}, got {p.recovery_rounds}")
    if p.recovery_turns < 1:
        raise ValueError(f"recovery_turns is at least 1, got {p.recovery_turns}")
    if p.recovery_max_records is not None and p.recovery_max_records < 1:
        raise ValueError(f"recovery_max_records is at least 1, got {p.recovery_max_records}")
    run = Path(run_dir)
    methods = methods or p.methods()
    if zoo is not None:
        from tool_gym.agents import zoo as model_zoo

        if len(methods) != 1:
            raise ValueError(f"a zoo entry holds one method's student; got methods {methods}")
        if (model_zoo.zoo_root() / zoo / "student.json").exists():
            model_zoo.restore_student(zoo, run)
    # before anything is trained or the folder's preset rewritten
    reused = check_stages(run, methods, p, model_name, reuse=reuse_stages)
    for method in methods:
        path = run / f"eval{p.suffix}" / f"{method}.json"
        if path.exists():
            _check_same_evaluation(path, json.loads(path.read_text()), p,
                                   method_stages(method, p))
    run.mkdir(parents=True, exist_ok=True)
    (run / f"preset{p.suffix}.json").write_text(json.dumps(asdict(p), indent=2))
    timings: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        return out

    traces = timed("traces", make_traces, run, p, workers, ray_address)
    trained: dict[Stage, Path] = {}
    rows: list[dict[str, Any]] = []
    report: dict[str, Any] = {}
    # Method by method, in the order asked: train what it needs (reusing stages other
    # methods already trained), evaluate it, then rewrite the report, so an interrupted
    # run leaves a table of every method finished so far.
    for method in methods:
        adapters: list[Path] = []
        for stage in method_stages(method, p):
            if stage not in trained:
                trained[stage] = timed(stage.name, train_stage, run, model_name, stage,
                                       list(adapters), traces[stage.teacher], p, workers,
                                       ray_address)
                if zoo is not None:
                    model_zoo.save_student(run, zoo, method, p, preset_name=preset_name(p),
                                           model_name=model_name, command=command)
            adapters.append(trained[stage])
        results = timed(f"eval_{method}", evaluate_method, run, method, model_name, adapters, p,
                        workers, ray_address)
        rows += rows_from(method, results)
        done = {s: json.loads((d / "DONE").read_text()) for s, d in trained.items()}
        report = {"preset": asdict(p), "model": model_name, "rows": rows,
                  "paired": paired_rows(rows), "timings_s": timings,
                  "sft": {s.teacher: d for s, d in done.items() if s.kind == "sft"},
                  "recovery": {t: [d for s, d in sorted(done.items()) if s.kind == "recovery"
                                   and s.teacher == t]
                               for t in sorted({s.teacher for s in done if s.kind == "recovery"})},
                  "grpo_steps": {s.teacher: d["global_step"] for s, d in done.items()
                                 if s.kind == "grpo"},
                  "reused_stages": reused}
        stem = f"results{p.suffix}"
        _write_atomic(run / f"{stem}.json", json.dumps(report, indent=2, default=str))
        _write_atomic(run / f"{stem}.md", results_markdown(rows))
        plot(rows, run / f"{stem}.png")
    return report


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def parse_override(item: str) -> tuple[str, Any]:
    """``FIELD=VALUE`` for a :class:`Preset` field, or ``grpo.FIELD=VALUE`` for one of its
    :class:`~tool_gym.agents.grpo.GRPOSettings`; VALUE is read as JSON, else a string."""
    name, sep, text = item.partition("=")
    head, dot, sub = name.partition(".")
    known = (sub in GRPOSettings.__dataclass_fields__ if dot and head == "grpo"
             else not dot and name in Preset.__dataclass_fields__ and name != "grpo")
    if not sep or not known:
        raise ValueError(f"expected FIELD=VALUE with a Preset field or grpo.FIELD=VALUE "
                         f"with a GRPOSettings field, got {item!r}")
    try:
        return name, json.loads(text)
    except json.JSONDecodeError:
        return name, text


def with_overrides(preset: Preset, **changes: Any) -> Preset:
    """``preset`` with ``changes`` (None values ignored); ``grpo.FIELD`` keys change its
    GRPO settings."""
    changes = {k: v for k, v in changes.items() if v is not None}
    grpo = {k.partition(".")[2]: v for k, v in changes.items() if k.startswith("grpo.")}
    top = {k: v for k, v in changes.items() if not k.startswith("grpo.")}
    if grpo:
        top["grpo"] = replace(top.get("grpo", preset.grpo), **grpo)
    return replace(preset, **top)
