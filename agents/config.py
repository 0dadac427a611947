"""The pipeline's configuration, one dataclass per stage, and the named recipes.

A :class:`Preset` is a run's whole configuration: how the teachers make traces
(:class:`TracesConfig`, :class:`TrialConfig`), LoRA SFT (:class:`SFTConfig`), the DAgger
rounds (:class:`DaggerConfig`), GRPO (:class:`~tool_gym.agents.grpo.GRPOSettings`) and the
evaluation (:class:`EvalConfig`), plus the run's task difficulty (``max_plan_steps``) and
seed. :data:`PRESETS` names the recipes that matter: ``tiny`` (seconds on the test model),
``quick`` (the README's main command), ``full`` (evidence grade), ``one_call`` (the claim
at this CPU's scale) and ``one_call_dagger`` (the best student so far, the zoo's).

Each trained stage records what it was made from (:func:`stage_record`): the fields of its
own section and of the sections it builds on, as flat ``section.field`` keys, derived from
the dataclasses; a field marked :data:`NOT_RECORDED` (a batch size, the number of rounds)
changes speed or how many stages there are, not what one stage is. Records written before
this module (flat ``sft_epochs``-style keys) are read through :func:`from_legacy`.

Options that experiments showed did not help were removed with their code (their results
stay in ``docs/experiment-log.md``): ``trial_wrong_tool_prob`` (v6), ``rename_seen`` (v5),
``recovery_rename_seen`` (v13) and ``sft_learn_repeats`` (v10).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from tool_gym.agents.evaluate import DEFAULT_SPLITS, SPLITS
from tool_gym.agents.grpo import GRPOSettings

__all__ = ["EVAL_SPLITS", "GRPO_ENVS", "GRPO_MIX", "METHODS", "PAIRED", "PROCGEN_SOURCES", "TRACE_SOURCES",
           "NOT_RECORDED", "PRESETS", "REMOVED_OPTIONS", "DaggerConfig",
           "EvalConfig", "Preset", "SFTConfig", "TracesConfig", "TrialConfig", "from_legacy",
           "grpo_settings", "parse_override", "preset_name", "recorded_fields", "stage_record",
           "with_overrides"]

# field metadata: the field changes speed or the number of stages, not what a stage is
NOT_RECORDED = {"recorded": False}

# What the teachers play (train seeds): the plain seen domains, drift with fresh docs, drift
# with stale docs. A DAgger round's student plays the same sources.
TRACE_SOURCES: list[tuple[str, dict[str, Any]]] = [
    ("ToolMaster/Seen-v0", {"split": "train"}),
    ("ToolMaster/Drift-v0", {"split": "train", "stale_docs": False, "drift_focus": "plan"}),
    ("ToolMaster/Drift-v0", {"split": "train", "stale_docs": True, "drift_focus": "plan"}),
]
# Generated APIs (``traces.procgen_apis > 0``): train API seeds, plain and drifted with stale
# docs. Drift with fresh docs is left out: a generated API drifted with true docs is just
# another generated API. Trace sources, DAgger rounds and GRPO all play these, each drawing
# from the same pool of the first ``procgen_apis`` train API seeds (``api_pool``).
PROCGEN_SOURCES: list[tuple[str, dict[str, Any]]] = [
    ("ToolMaster/Procgen-v0", {"api_split": "train", "split": "train"}),
    ("ToolMaster/Procgen-Drift-v0", {"api_split": "train", "split": "train", "stale_docs": True,
                                     "drift_focus": "plan"}),
]
EVAL_SPLITS = DEFAULT_SPLITS
# GRPO plays seen domains on train seeds, plain and drifted with stale docs.
GRPO_ENVS: list[tuple[str, dict[str, Any]]] = [
    ("ToolMaster/Seen-v0", {"split": "train"}),
    ("ToolMaster/Drift-v0", {"split": "train", "stale_docs": True, "drift_focus": "plan"}),
]


def grpo_settings(**changes: Any) -> GRPOSettings:
    """GRPO options of a preset: :data:`GRPO_ENVS` plus ``changes``."""
    return GRPOSettings(envs=[(e, dict(k)) for e, k in GRPO_ENVS], **changes)


@dataclass
class TracesConfig:
    """Both teachers' traces: ``per_source`` episodes of each trace source (the plain seen
    domains, drift with fresh docs, drift with stale docs; train seeds).

    ``procgen_apis=k > 0`` adds :data:`PROCGEN_SOURCES` (generated APIs, only the first k
    train API seeds) to the trace sources, the DAgger rounds and the GRPO tasks; each plays
    ``procgen_per_source`` episodes (None: ``per_source``), spread evenly over the k APIs,
    so the number of traces does not depend on k. 0 (the default): no generated APIs."""

    per_source: int = 8
    procgen_apis: int = 0
    procgen_per_source: int | None = None

    def __post_init__(self) -> None:
        if self.procgen_apis < 0:
            raise ValueError(f"traces.procgen_apis is at least 0, got {self.procgen_apis}")


@dataclass
class TrialConfig:
    """The trial teacher (:class:`~tool_gym.agents.teachers.TrialTeacher`): when it trials
    a tool (``when``), its phrasing (``style``), how often a first trial carries a
    deliberate mistake (``mistake_prob``; 0: only the mistakes stale docs lead to) and the
    most changes a ``diff`` fix names (``diff_limit``). Counts only for the trial
    teacher's stages."""

    when: str = "cues"
    style: str = "terse"
    mistake_prob: float = 0.5
    diff_limit: int = 5


@dataclass
class SFTConfig:
    """LoRA SFT on the traces. ``bf16=None`` trains in bf16 where that is fast (a GPU, or a
    CPU with bf16 instructions) and in fp32 elsewhere; ``learn_mistakes=False`` leaves the
    trial teacher's deliberate mistakes out of the loss (the fixes after them are still
    learned)."""

    epochs: float = 1.0
    max_steps: int = -1
    max_length: int = 1536
    learning_rate: float = 3e-4
    bf16: bool | None = None
    learn_mistakes: bool = True


@dataclass
class DaggerConfig:
    """DAgger rounds (the ``*_dagger`` methods; ``episodes=0``: off).

    Each of ``rounds`` rounds, the student (the SFT model, then the model of the round
    before) plays ``episodes`` fresh train tasks per trace source, greedy, ``turns``
    messages of at most ``max_new_tokens`` tokens; its own teacher continues each failed
    episode after every message the env rejected
    (:func:`~tool_gym.agents.traces.recovery_traces`), and one more LoRA learns those fixes
    for ``epochs``, with the earlier rounds' fixes (DAgger's aggregate) and as many
    replayed original traces; the student's own messages stay out of the loss.
    ``max_records=m`` caps one round's training records (see
    :func:`~tool_gym.agents.pipeline.dagger_mix`)."""

    episodes: int = 0
    rounds: int = field(default=1, metadata=NOT_RECORDED)
    epochs: float = 1.0
    turns: int = 1
    max_records: int | None = None
    max_new_tokens: int = 96
    batch_size: int = field(default=16, metadata=NOT_RECORDED)


@dataclass
class EvalConfig:
    """Greedy evaluation: ``episodes`` tasks per split and seed, ``max_turns`` messages of
    ``max_new_tokens`` tokens, on ``splits`` (names of
    :data:`~tool_gym.agents.evaluate.SPLITS`, e.g. ``procgen_stale``; None: the five of
    :data:`EVAL_SPLITS`). The tasks are the development block, or with ``final=True`` the
    block reserved for the committed final table
    (:data:`~tool_gym.agents.evaluate.FINAL_TASK_OFFSET`; results in ``eval-final/``):
    play it once per student, never to tune. ``max_plan_steps=k`` evaluates only tasks whose
    golden plan has at most k calls (results in ``eval-plan<k>/``, trained stages shared).
    Probes of a student's behaviour (:mod:`tool_gym.agents.probes`, built by
    :meth:`probes`), each with results of its own: ``max_thought_tokens=n`` closes every
    thought after n tokens (``eval-think<n>/``), ``resample_resends=n`` samples again a
    message that resends a failed trial or call verbatim, up to n times
    (``eval-resample<n>/``)."""

    episodes: int = 3
    seeds: list[int] = field(default_factory=lambda: [0])
    final: bool = False
    max_new_tokens: int = 96
    max_turns: int = 3
    batch_size: int = field(default=16, metadata=NOT_RECORDED)
    max_plan_steps: int | None = None
    max_thought_tokens: int | None = None
    resample_resends: int = 0
    splits: list[str] | None = None

    def probes(self) -> list[Any]:
        """The :class:`~tool_gym.agents.probes.Probe` s these settings ask for."""
        from tool_gym.agents.probes import eval_probes

        return eval_probes(self.max_thought_tokens, self.resample_resends)


# method -> (teacher of its SFT data or None, the stages after SFT: "recovery" (the
# preset's DAgger rounds: the student's own failed openings, fixed by the teacher; the
# method needs dagger.episodes > 0), "recovery_if_any" (those rounds where the preset plays
# any) and/or "grpo"). toolmaster is the whole method: trial SFT, the preset's DAgger
# rounds, then GRPO from that student.
METHODS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "zero_shot": (None, ()),
    "golden_sft": ("golden", ()),
    "golden_sft_grpo": ("golden", ("grpo",)),
    "trial_sft": ("trial", ()),
    "toolmaster": ("trial", ("recovery_if_any", "grpo")),
    "trial_sft_dagger": ("trial", ("recovery",)),
    "golden_sft_dagger": ("golden", ("recovery",)),
}
# (method, baseline) pairs compared task by task in the report, where both were run: the
# imitation claim (trial against golden traces), each with and without its later stage,
# and what GRPO adds to the student it started from
PAIRED: tuple[tuple[str, str], ...] = (
    ("trial_sft", "golden_sft"),
    ("toolmaster", "golden_sft_grpo"),
    ("toolmaster", "golden_sft"),
    ("toolmaster", "trial_sft_dagger"),
    ("toolmaster", "trial_sft"),
    ("golden_sft_grpo", "golden_sft"),
    ("trial_sft_dagger", "golden_sft_dagger"),
    ("trial_sft_dagger", "golden_sft"),
    ("trial_sft_dagger", "trial_sft"),
    ("golden_sft_dagger", "golden_sft"),
)
# the sections each kind of stage is made from, its own last (traces -> sft -> a DAgger
# round or GRPO); "trial" counts only for the trial teacher's stages
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "traces": ("traces", "trial"),
    "sft": ("traces", "trial", "sft"),
    "recovery": ("traces", "trial", "sft", "dagger"),
    "grpo": ("traces", "trial", "sft", "grpo"),
}


@dataclass
class Preset:
    """A run's configuration, one section per stage (see the module docstring).

    ``max_plan_steps=k`` sets the difficulty of the whole run: trace sources, DAgger
    rollouts, GRPO envs and evaluation draw only tasks whose golden plan has at most k
    calls. ``seed`` seeds the traces, the training runs and the draws of DAgger's data.
    """

    traces: TracesConfig = field(default_factory=TracesConfig)
    trial: TrialConfig = field(default_factory=TrialConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    dagger: DaggerConfig = field(default_factory=DaggerConfig)
    grpo: GRPOSettings = field(default_factory=lambda: grpo_settings(
        steps=2, tasks_per_step=1, num_generations=4, max_new_tokens=96, max_turns=3))
    eval: EvalConfig = field(default_factory=EvalConfig)
    max_plan_steps: int | None = None
    seed: int = 0

    @property
    def suffix(self) -> str:
        """``""``, ``-plan<k>`` for the subset of tasks with short golden plans,
        ``-think<n>`` for thoughts capped at n tokens and/or ``-resample<r>`` for resends
        resampled, ``-final`` on the reserved block: names ``eval<suffix>/``,
        ``results<suffix>.*`` and ``preset<suffix>.json``."""
        k = self.eval.max_plan_steps
        return ("" if k is None else f"-plan{k}") + "".join(
            f"-{probe.name}" for probe in self.eval.probes()) + ("-final" if self.eval.final
                                                                  else "")

    def procgen_sources(self) -> list[tuple[str, dict[str, Any]]]:
        """:data:`PROCGEN_SOURCES` on the pool of ``traces.procgen_apis`` train APIs; none
        when that is 0."""
        k = self.traces.procgen_apis
        return [(e, {**kw, "api_pool": k}) for e, kw in PROCGEN_SOURCES] if k > 0 else []

    def trace_budget(self) -> list[tuple[str, dict[str, Any], int]]:
        """``(env_id, env_kwargs, episodes)`` of every trace source at the run's difficulty:
        :data:`TRACE_SOURCES` with ``per_source`` episodes, then :meth:`procgen_sources`
        with ``procgen_per_source``."""
        t = self.traces
        n_gen = t.per_source if t.procgen_per_source is None else t.procgen_per_source
        return [(e, _limit_plans(kw, self.max_plan_steps), n) for sources, n in
                ((TRACE_SOURCES, t.per_source), (self.procgen_sources(), n_gen))
                for e, kw in sources]

    def trace_sources(self) -> list[tuple[str, dict[str, Any]]]:
        """The trace sources at the run's difficulty (also what DAgger rounds play):
        :data:`TRACE_SOURCES`, plus the generated APIs where ``traces.procgen_apis > 0``."""
        return [(e, kw) for e, kw, _ in self.trace_budget()]

    def grpo_envs(self) -> list[tuple[str, dict[str, Any]]]:
        """``grpo.envs``, plus the generated APIs where ``traces.procgen_apis > 0``."""
        return [(e, _limit_plans(kw, self.max_plan_steps))
                for e, kw in [*self.grpo.envs, *self.procgen_sources()]]

    def eval_splits(self) -> dict[str, tuple[str, dict[str, Any]]]:
        k = self.eval.max_plan_steps
        splits = self.eval.splits
        # --set eval.splits=procgen_stale reads as a string: one split
        names = (list(EVAL_SPLITS) if splits is None
                 else [splits] if isinstance(splits, str) else list(splits))
        unknown = [n for n in names if n not in SPLITS]
        if unknown:
            raise ValueError(f"unknown eval.splits {unknown}; choose from {list(SPLITS)}")
        return {name: (SPLITS[name][0],
                       _limit_plans(SPLITS[name][1], self.max_plan_steps if k is None else k))
                for name in names}

    def to_json(self) -> dict[str, Any]:
        """The whole configuration as JSON values (what ``preset.json`` keeps)."""
        return json.loads(json.dumps(asdict(self), default=str))


def _limit_plans(kwargs: dict[str, Any], k: int | None) -> dict[str, Any]:
    return dict(kwargs) if k is None else {**kwargs, "max_plan_steps": k}


PRESETS: dict[str, Preset] = {
    # the README's main command: every stage on the default model in under 20 min of
    # 2-core CPU
    "quick": Preset(),
    # evidence grade for this CPU (about two hours); raise the budgets on a GPU.
    # Trial-teacher messages reach ~95 tokens at p99 and whole episodes ~1.8k tokens:
    # the generation and length caps must not cut them off.
    "full": Preset(traces=TracesConfig(per_source=40),
                   sft=SFTConfig(epochs=2.0, learning_rate=1e-3),
                   dagger=DaggerConfig(max_new_tokens=128, batch_size=40),
                   grpo=grpo_settings(steps=6, tasks_per_step=2, num_generations=8,
                                      max_new_tokens=128, max_turns=6, learning_rate=1e-4,
                                      max_completion_length=1536),
                   eval=EvalConfig(episodes=16, max_new_tokens=128, max_turns=6,
                                   batch_size=40)),
    # the claim at the scale this CPU affords in about two hours: one-call tasks only (the
    # student's turns go to trialling and fixing one tool, not to long plans), twice the
    # traces of `full`, and a trial teacher whose rule the student can see (first_use).
    # A GRPO step (16 episodes) takes ~8 min here, so GRPO is 3 steps: a probe, not a cure
    "one_call": Preset(traces=TracesConfig(per_source=80), trial=TrialConfig(when="first_use"),
                       max_plan_steps=1,
                       sft=SFTConfig(epochs=1.0, learning_rate=1e-3, max_length=2048),
                       dagger=DaggerConfig(batch_size=40),
                       grpo=grpo_settings(steps=3, tasks_per_step=2, num_generations=8,
                                          max_new_tokens=96, max_turns=5, learning_rate=1e-4,
                                          max_completion_length=1024),
                       eval=EvalConfig(episodes=24, max_new_tokens=96, max_turns=5,
                                       batch_size=40)),
    # seconds on the tiny model: proves every stage runs and hands over to the next
    "tiny": Preset(traces=TracesConfig(per_source=2),
                   sft=SFTConfig(max_steps=1, max_length=1024, bf16=False),
                   dagger=DaggerConfig(episodes=1, max_new_tokens=6, batch_size=1),
                   grpo=grpo_settings(steps=1, tasks_per_step=1, num_generations=2,
                                      max_new_tokens=6, max_turns=2),
                   eval=EvalConfig(episodes=1, max_new_tokens=6, max_turns=2, batch_size=1)),
}
# The best student so far (docs/experiment-log.md, v12): `one_call` with a trial teacher that
# names the one change a failed call needs, and three DAgger rounds whose student plays
# three turns. Its methods: trial_sft_dagger against golden_sft_dagger / golden_sft, and
# toolmaster: GRPO from that student, 40 steps of 16 episodes (2 tasks x 8; beta=0, bf16
# autocast, no gradient checkpointing, each prompt once in the update: 0.44x of TRL's old
# default, benchmarks/results/grpo_cost.md), against golden_sft_grpo (the same GRPO from
# golden SFT). The zoo keeps them. GRPO_MIX: a step
# plays two tasks, the first a generated train API with stale docs or the seen drift with
# stale docs, the second a generated train API with true docs or a seen domain, so each
# step holds a generated API's group: in first tries on train tasks, three of the DAgger
# student's four groups on seen domains and drift (fresh or stale docs) solved all 8
# episodes, and a group with one reward teaches nothing.
GRPO_MIX: list[tuple[str, dict[str, Any]]] = [
    PROCGEN_SOURCES[1], GRPO_ENVS[1], PROCGEN_SOURCES[0], GRPO_ENVS[0]]
PRESETS["one_call_dagger"] = replace(
    PRESETS["one_call"], trial=TrialConfig(when="first_use", style="diff", mistake_prob=0.0,
                                           diff_limit=1),
    dagger=DaggerConfig(episodes=40, rounds=3, turns=3, batch_size=40),
    grpo=replace(PRESETS["one_call"].grpo, envs=[(e, dict(k)) for e, k in GRPO_MIX],
                 steps=40, bf16=True, save_steps=2, gradient_checkpointing=False))
# The README's main command (`make run`): the committed zoo students of `one_call_dagger`
# (golden SFT and trial SFT + 3 DAgger rounds), restored and evaluated on drift with stale
# docs, where the claim shows; run with --no-train and one --zoo per method (Makefile).
PRESETS["zoo_demo"] = replace(
    PRESETS["one_call_dagger"],
    eval=replace(PRESETS["one_call_dagger"].eval, episodes=48, splits=["drift_stale"]))


def preset_name(preset: Preset) -> str:
    """The name of the preset ``preset`` equals, or ``"custom"``."""
    return next((name for name, p in PRESETS.items() if p == preset), "custom")


def recorded_fields(section: Any) -> list[str]:
    """The fields of a section's dataclass (or an instance) that a record keeps: all but
    those marked :data:`NOT_RECORDED` (speed, not what a stage or evaluation is)."""
    return [f.name for f in fields(section) if f.metadata.get("recorded", True)]


def _flat(section: str, value: Any) -> dict[str, Any]:
    """``{"section.field": value}`` of the recorded fields of a section's dataclass."""
    return {f"{section}.{name}": getattr(value, name) for name in recorded_fields(value)}


def stage_record(kind: str, teacher: str, preset: Preset,
                 model_name: str | None = None) -> dict[str, Any]:
    """What a stage of ``kind`` (``traces``, ``sft``, ``recovery`` or ``grpo``) of
    ``teacher`` is made from: the model, the run's ``max_plan_steps`` and ``seed``, and the
    recorded fields of its sections (:data:`STAGE_SECTIONS`), as JSON values."""
    out: dict[str, Any] = {} if model_name is None else {"model": model_name}
    out |= {"max_plan_steps": preset.max_plan_steps, "seed": preset.seed}
    for section in STAGE_SECTIONS[kind]:
        if section != "trial" or teacher == "trial":
            out |= _flat(section, getattr(preset, section))
    return json.loads(json.dumps(out, default=str))


# Records written before the sections (flat Preset fields) -> today's keys. A DAgger round's
# rollouts used the evaluation's token cap (eval_max_new_tokens); only recovery stages
# recorded it.
_LEGACY_KEYS = {
    "traces_per_source": "traces.per_source",
    "trial_when": "trial.when", "trial_style": "trial.style",
    "trial_mistake_prob": "trial.mistake_prob", "trial_diff_limit": "trial.diff_limit",
    **{f"sft_{f}": f"sft.{f}" for f in ("epochs", "max_steps", "max_length", "learning_rate",
                                        "bf16", "learn_mistakes")},
    **{f"recovery_{f}": f"dagger.{f}" for f in ("episodes", "epochs", "turns", "max_records")},
    "eval_max_new_tokens": "dagger.max_new_tokens",
}
# Options removed with their code, and the value every record made without them has: a
# record holding another value was made by a recipe that no longer exists.
REMOVED_OPTIONS: dict[str, Any] = {"trial_wrong_tool_prob": 0.0, "rename_seen": False,
                                   "recovery_rename_seen": False, "sft_learn_repeats": True}


def from_legacy(record: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A stage record in today's keys, and the removed options it used (``"NAME=VALUE"``).

    Today's records come back as they are; a flat one (written before the sections) is
    translated key by key, its GRPO settings flattened to ``grpo.FIELD``."""
    out: dict[str, Any] = {}
    removed = []
    for key, value in record.items():
        if key in REMOVED_OPTIONS:
            if value != REMOVED_OPTIONS[key]:
                removed.append(f"{key}={json.dumps(value)}")
        elif key == "grpo" and isinstance(value, dict):
            out |= {f"grpo.{k}": v for k, v in value.items()}
        else:
            out[_LEGACY_KEYS.get(key, key)] = value
    return out, removed


def parse_override(item: str) -> tuple[str, Any]:
    """``SECTION.FIELD=VALUE`` (e.g. ``sft.learning_rate=1e-3``, ``grpo.temperature=0.7``)
    or ``FIELD=VALUE`` for ``max_plan_steps`` / ``seed``; VALUE is read as JSON, else as a
    string. A name of the flat form used before the sections (``sft_learning_rate``) is
    refused with today's name."""
    name, sep, text = item.partition("=")
    if not sep or not _known(name):
        hint = _LEGACY_KEYS.get(name)
        if hint is None and name in REMOVED_OPTIONS:
            raise ValueError(f"{name} was removed (it did not help; docs/experiment-log.md)")
        raise ValueError(
            f"expected SECTION.FIELD=VALUE (sections: {', '.join(_SECTIONS)}) or "
            f"max_plan_steps=VALUE / seed=VALUE, "
            f"got {item!r}" + (f"; it is now {hint}" if hint else ""))
    try:
        return name, json.loads(text)
    except json.JSONDecodeError:
        return name, text


_SECTIONS = ("traces", "trial", "sft", "dagger", "grpo", "eval")


def _known(name: str) -> bool:
    head, dot, sub = name.partition(".")
    if not dot:
        return name in ("max_plan_steps", "seed")
    return head in _SECTIONS and sub in {f.name for f in fields(getattr(Preset(), head))}


def with_overrides(preset: Preset, **changes: Any) -> Preset:
    """``preset`` with ``changes`` (``"section.field"`` or top-level names; None values
    ignored)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    bad = [k for k in changes if not _known(k)]
    if bad:
        raise ValueError(f"unknown settings {bad}; use SECTION.FIELD (sections: "
                         f"{', '.join(_SECTIONS)}) or max_plan_steps / seed")
    by_section: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in changes.items():
        head, dot, sub = key.partition(".")
        if dot:
            by_section.setdefault(head, {})[sub] = value
        else:
            top[key] = value
    for section, values in by_section.items():
        top[section] = replace(getattr(preset, section), **values)
    return replace(preset, **top)
