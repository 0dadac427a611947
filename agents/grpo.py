"""On-policy RL in the envs: TRL's ``GRPOTrainer`` with a ``rollout_func`` that plays episodes.

Each training prompt is a *task key*, ``{"env_id": ..., "seed": ..., "env_kwargs": {...}}``
as JSON. TRL's sampler repeats each prompt ``num_generations`` times in a row (trl 1.16:
the prompts reach ``rollout_func`` already repeated), so one group is ``num_generations``
episodes of the same task. All the groups of a step, whatever env their tasks come from,
are played in one batch by :func:`tool_gym.agents.rollout.rollout` with exact token ids:
``completion_ids`` hold the model's tokens and the env's tokens in order, ``env_mask`` is
0 on env tokens (TRL multiplies it into the loss mask), ``logprobs`` are the sampling
log-probs. The reward is the env's own (success plus shaping terms); the
success rate is logged as a second reward function with weight 0.

The policy is trained as a LoRA adapter. When starting from an SFT adapter, that adapter is
merged into the base weights first, so GRPO's KL reference is the SFT policy.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tool_gym.agents.progress import bars_enabled

logger = logging.getLogger(__name__)

__all__ = ["EnvPool", "GRPOResult", "GRPOSettings", "TaskKey", "env_name",
           "frozen_linears_in_bf16", "make_rollout_func", "task_dataset", "train_grpo"]


@dataclass
class GRPOSettings:
    """Options of a GRPO run (the ones a researcher tunes; the rest are TRL defaults).

    Attributes:
        envs: ``(env_id, gym.make kwargs)`` pairs the tasks come from, in turn.
        steps: Optimizer steps.
        tasks_per_step: Distinct tasks (groups) per step.
        num_generations: Group size: episodes per task.
        beta: KL weight against the reference policy. 0 (the default, as Dr. GRPO and
            DAPO train) skips the reference model's forward pass over every episode;
            a positive value keeps the KL term (TRL's old default was 0.04).
        learning_rate, lora_r, lora_alpha: The LoRA adapter and its optimiser.
        temperature, top_p, max_new_tokens: Sampling of each message.
        max_turns: Messages per episode (the env's own limit also applies).
        max_completion_length: Cap of model + env tokens per episode.
        save_steps: Checkpoint cadence (resume picks the last complete one).
        seed: Seeds the task keys and torch.
        micro_batch_size: Episodes per forward/backward pass. A step still plays and
            scores all ``tasks_per_step * num_generations`` episodes at once (one
            generation batch, so groups stay whole) and accumulates gradients over
            micro-batches: memory grows with this, not with the group size (16
            episodes of ~2k tokens in one pass need ~20 GB for the logits alone).
        bf16: bf16 autocast in the rollouts and the update: faster on a GPU or a CPU
            with bf16 instructions, at bf16's precision. The LoRA weights and their
            optimiser stay fp32; the frozen base weights of the linear layers are kept in
            bf16 while training (:func:`frozen_linears_in_bf16`: autocast computes them in
            bf16 anyway, so only the casts are saved).
        gradient_checkpointing: Recompute activations in the backward pass (TRL's
            default): one more forward pass per micro-batch, but activations of whole
            episodes need not fit (``benchmarks/grpo_rollout.py --train-steps`` measures
            both).
        shared_prompt: In the update, run each distinct prompt of a micro-batch through
            the model once, not once per episode (:mod:`tool_gym.agents.shared_prompt`;
            the same log-probabilities and gradients; needs no gradient checkpointing).
    """

    envs: list[tuple[str, dict[str, Any]]] = field(
        default_factory=lambda: [("ToolMaster/Seen-v0", {"split": "train"})])
    steps: int = 20
    tasks_per_step: int = 2
    num_generations: int = 4
    beta: float = 0.0
    learning_rate: float = 5e-5
    lora_r: int = 16
    lora_alpha: int = 32
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 160
    max_turns: int = 4
    max_completion_length: int = 1024
    save_steps: int = 5
    seed: int = 0
    micro_batch_size: int = 4
    # speed, not what the stage is: not in its record (config.NOT_RECORDED; config imports
    # this module)
    gradient_checkpointing: bool = field(default=True, metadata={"recorded": False})
    shared_prompt: bool = field(default=True, metadata={"recorded": False})
    bf16: bool = False


@dataclass
class TaskKey:
    env_id: str
    seed: int
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def loads(cls, text: Any) -> TaskKey:
        if isinstance(text, list):  # a conversational prompt: the key is the last message
            text = text[-1]["content"]
        return cls(**json.loads(text))


def task_dataset(settings: GRPOSettings, n_tasks: int) -> Any:
    """A ``datasets.Dataset`` of task keys (reset seeds drawn from ``settings.seed``)."""
    import numpy as np
    from datasets import Dataset

    rng = np.random.default_rng(settings.seed)
    seeds = rng.choice(2**31 - 1, size=n_tasks, replace=False)
    envs = settings.envs
    keys = [TaskKey(envs[i % len(envs)][0], int(s), dict(envs[i % len(envs)][1])).dumps()
            for i, s in enumerate(seeds)]
    return Dataset.from_dict({"prompt": keys})


class EnvPool:
    """Envs kept between steps, one list per (env_id, kwargs)."""

    def __init__(self) -> None:
        self.pools: dict[str, list[Any]] = {}

    def get(self, key: TaskKey, n: int) -> list[Any]:
        import gymnasium as gym

        import tool_gym  # noqa: F401

        pool = self.pools.setdefault(env_name(key), [])
        while len(pool) < n:
            pool.append(gym.make(key.env_id, **key.env_kwargs))
        return pool[:n]

    def for_keys(self, keys: Sequence[TaskKey]) -> list[Any]:
        """One distinct env per key, made from that key's id and kwargs, in the order of
        ``keys`` (so one generation batch can hold tasks of several envs)."""
        by_name: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            by_name.setdefault(env_name(k), []).append(i)
        envs: list[Any] = [None] * len(keys)
        for idxs in by_name.values():
            for i, env in zip(idxs, self.get(keys[idxs[0]], len(idxs)), strict=True):
                envs[i] = env
        return envs


def env_name(key: TaskKey) -> str:
    """The env a task is played in, as a key: its id and kwargs."""
    return json.dumps([key.env_id, key.env_kwargs], sort_keys=True)


def make_rollout_func(tokenizer: Any, settings: GRPOSettings) -> Any:
    """The ``rollout_func(prompts, trainer)`` TRL calls: one full episode per prompt."""
    import torch

    from tool_gym.agents.rollout import (
        ChatFormat,
        SamplingConfig,
        episodes_to_trl,
        model_stop_ids,
        rollout,
    )

    pool = EnvPool()
    fmt_cache: dict[str, ChatFormat] = {}
    last: dict[str, Any] = {}

    def rollout_func(prompts: Sequence[Any], trainer: Any) -> dict[str, list[Any]]:
        keys = [TaskKey.loads(p) for p in prompts]
        model = trainer.accelerator.unwrap_model(trainer.model)
        gen = SamplingConfig(temperature=settings.temperature, top_p=settings.top_p,
                             max_new_tokens=settings.max_new_tokens)
        if "fmt" not in fmt_cache:  # the same stop tokens as evaluation's rollouts
            fmt_cache["fmt"] = ChatFormat(tokenizer, stop_ids=model_stop_ids(model))
        # the whole step in one generation batch, whatever env each task comes from: a
        # batch per env would play the step's groups one after another
        t0 = time.perf_counter()
        device = next(model.parameters()).device.type
        with torch.autocast(device, dtype=torch.bfloat16, enabled=settings.bf16):
            played = rollout(model, tokenizer, pool.for_keys(keys), [k.seed for k in keys],
                             gen=gen, max_turns=settings.max_turns,
                             chat_format=fmt_cache["fmt"])
        episodes = [_clip(ep, settings.max_completion_length) for ep in played]
        last["episodes"] = episodes
        last["rollout_s"] = time.perf_counter() - t0
        return episodes_to_trl(episodes)

    rollout_func.last = last  # type: ignore[attr-defined]
    return rollout_func


def _clip(ep: Any, limit: int) -> Any:
    """Cut an episode's completion to ``limit`` tokens (TRL pads, it does not cut)."""
    if len(ep.completion_ids) > limit:
        ep.completion_ids = ep.completion_ids[:limit]
        ep.env_mask = ep.env_mask[:limit]
        ep.logprobs = ep.logprobs[:limit]
    return ep


def env_reward(prompts: Any, completions: Any, env_reward: Sequence[float], **_: Any) -> list:
    """The env's reward, forwarded from the rollout."""
    return [float(r) for r in env_reward]


def success(prompts: Any, completions: Any, success: Sequence[float], **_: Any) -> list:
    """Success of the hidden checker (logged with weight 0)."""
    return [float(s) for s in success]


@dataclass
class GRPOResult:
    output_dir: str
    global_step: int
    resumed_from: str | None
    log: list[dict[str, Any]]
    model: Any = None


def _log_callback(path: Path, rollout_stats: dict[str, Any]) -> Any:
    from transformers import TrainerCallback

    class CSVLog(TrainerCallback):
        """Appends reward, success and timing per logged step to a CSV (one whole line per
        write). ``rollout_s``: the step's episodes played; ``step_s``: TRL's ``step_time``,
        the whole step (rollouts and update)."""

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any):
            if not logs or "reward" not in logs:
                return
            row = {"step": state.global_step, "reward": logs.get("reward"),
                   "success": logs.get("rewards/success/mean"),
                   "loss": logs.get("loss"), "kl": logs.get("kl"),
                   "frac_reward_zero_std": logs.get("frac_reward_zero_std"),
                   "completion_length": logs.get("completions/mean_length"),
                   "rollout_s": _rounded(rollout_stats.get("rollout_s")),
                   "step_s": _rounded(logs.get("step_time"))}
            fields = list(row)
            new = not path.exists() or path.stat().st_size == 0
            if not new:  # a log begun by an older version keeps its columns
                with open(path, newline="") as f:
                    fields = next(csv.reader(f))
            with open(path, "a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
                if new:
                    writer.writeheader()
                writer.writerow(row)
                f.flush()
                os.fsync(f.fileno())

    return CSVLog()


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 2)


def read_log(output_dir: str | os.PathLike[str],
             max_step: int | None = None) -> list[dict[str, Any]]:
    """Rows of ``grpo_log.csv``, one per step (the last line logged for it), up to
    ``max_step``: lines past the step a run ended at come from an interrupted run whose
    weights were never saved (it resumed from an earlier checkpoint with fewer steps)."""
    path = Path(output_dir) / "grpo_log.csv"
    if not path.exists():
        return []
    with open(path) as f:
        rows = list(csv.DictReader(f))
    last: dict[int, dict[str, Any]] = {}
    for r in rows:  # a resumed run may log a step again: keep the last line of each step
        last[int(r["step"])] = {k: (float(v) if v not in ("", None) else None)
                                for k, v in r.items()}
    return [last[k] for k in sorted(last) if max_step is None or k <= max_step]


def plot_log(output_dir: str | os.PathLike[str], max_step: int | None = None) -> Path | None:
    """``grpo_curve.png``: reward and success over steps (up to ``max_step``)."""
    rows = read_log(output_dir, max_step)
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, [r["reward"] for r in rows], label="reward", marker="o")
    ax.plot(steps, [r["success"] for r in rows], label="success", marker="s")
    ax.set_xlabel("GRPO step")
    ax.set_ylim(-0.3, 1.05)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(output_dir) / "grpo_curve.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def frozen_linears_in_bf16(model: Any) -> dict[str, tuple[Any, Any]]:
    """Store the weights of ``model``'s linear layers in bf16, in place, for training a LoRA
    adapter on it under bf16 autocast; returns ``{name: (weight, fp32 data)}`` to put back.

    Autocast runs every linear layer in bf16, casting an fp32 weight on every call: each
    decoding step of the rollouts cast the whole model and read it twice. The base weights
    are frozen (only the adapter trains), so a bf16 copy made once gives the same results.
    A weight tied to the input embeddings stays fp32: the embedding lookup is not
    autocast, and a bf16 table would change what it returns.
    """
    import torch

    embeddings = model.get_input_embeddings()
    tied = {id(p) for p in embeddings.parameters()} if embeddings is not None else set()
    kept = {}
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if (isinstance(module, torch.nn.Linear) and id(weight) not in tied
                and weight.dtype == torch.float32):
            kept[name] = (weight, weight.data)
            weight.data = weight.data.to(torch.bfloat16)
    return kept


def train_grpo(model: Any, tokenizer: Any, output_dir: str | os.PathLike[str],
               settings: GRPOSettings | None = None, *, resume: bool = False,
               callbacks: list[Any] | None = None,
               extra_rewards: Sequence[tuple[Any, float]] = ()) -> GRPOResult:
    """Run GRPO in the envs and save the LoRA adapter, its log (CSV) and curve (PNG).

    Args:
        model: A causal LM. A ``PeftModel`` (e.g. an SFT adapter) is merged first, so the
            reference policy of the KL term is that model.
        tokenizer: Its tokenizer (chat template, pad token).
        output_dir: Checkpoints, adapter, ``grpo_log.csv`` and ``grpo_curve.png``.
        settings: :class:`GRPOSettings`.
        resume: Continue from the newest complete checkpoint in ``output_dir``.
        extra_rewards: ``(reward_func, weight)`` pairs added to the env reward (TRL's
            reward-function signature; e.g. a format bonus).
    """
    import torch
    from peft import LoraConfig, PeftModel
    from trl import GRPOConfig, GRPOTrainer

    from tool_gym.agents.sft import last_checkpoint

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    settings = settings or GRPOSettings()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(settings.seed)
    if isinstance(model, PeftModel):
        model = model.merge_and_unload()
    batch = settings.tasks_per_step * settings.num_generations
    micro = math.gcd(batch, max(1, settings.micro_batch_size))  # a divisor of the batch
    n_tasks = settings.steps * settings.tasks_per_step
    config = GRPOConfig(
        output_dir=str(output_dir),
        max_steps=settings.steps,
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=batch // micro,
        steps_per_generation=batch // micro,  # one generation batch per optimizer step
        num_generations=settings.num_generations,
        max_completion_length=settings.max_completion_length,
        learning_rate=settings.learning_rate,
        beta=settings.beta,
        temperature=settings.temperature,
        top_p=settings.top_p,
        logging_steps=1,
        save_strategy="steps",
        save_steps=settings.save_steps,
        report_to="none",
        seed=settings.seed,
        bf16=settings.bf16,
        fp16=False,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        shuffle_dataset=False,
        reward_weights=[1.0, 0.0, *(w for _, w in extra_rewards)],
        disable_tqdm=not bars_enabled(),
        gradient_checkpointing=settings.gradient_checkpointing,
    )
    lora = LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=0.0,
                      target_modules="all-linear", task_type="CAUSAL_LM")
    rollout_func = make_rollout_func(tokenizer, settings)
    fp32_weights = frozen_linears_in_bf16(model) if settings.bf16 else {}
    trainer_class = GRPOTrainer
    if settings.shared_prompt:
        from tool_gym.agents.shared_prompt import SharedPromptGRPOTrainer as trainer_class
    trainer = trainer_class(
        model=model,
        reward_funcs=[env_reward, success, *(f for f, _ in extra_rewards)],
        args=config,
        train_dataset=task_dataset(settings, n_tasks),
        processing_class=tokenizer,
        peft_config=lora,
        rollout_func=rollout_func,
        callbacks=[_log_callback(output_dir / "grpo_log.csv",
                                 getattr(rollout_func, "last", {})),
                   *(callbacks or [])],
    )
    resume_from = last_checkpoint(output_dir) if resume else None
    if resume_from:
        logger.info("resuming GRPO from %s", resume_from)
    try:
        trainer.train(resume_from_checkpoint=resume_from)
    finally:
        for weight, fp32 in fp32_weights.values():
            weight.data = fp32
    trainer.save_model(str(output_dir))
    (output_dir / "grpo_settings.json").write_text(json.dumps(asdict(settings), indent=2))
    step = int(trainer.state.global_step)
    plot_log(output_dir, step)
    return GRPOResult(str(output_dir), step, resume_from, read_log(output_dir, step),
                      trainer.model)

