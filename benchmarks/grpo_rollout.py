"""GRPO step rollouts: one generation batch for the whole step vs one batch per env.

A GRPO step of the presets plays ``tasks_per_step`` groups of ``num_generations`` episodes,
its tasks drawn from :data:`~tool_gym.agents.pipeline.GRPO_ENVS` in turn (a seen task and
a drift task with stale docs). Up to this release the ``rollout_func`` played the tasks of
each env in a batch of their own, one env after the other; it now plays the step's
episodes in one batch (``one_batch``). This script plays the same episodes both ways,
alternating which goes first, and reports wall time, generated tokens per second and the
ratio ``per_env / one_batch`` of wall times. Sampling is seeded the same way in both, but
batch composition changes the random draws, so the episodes (and their token counts)
differ between the two: compare tokens/s as well as wall time.

    python benchmarks/grpo_rollout.py --quick --out benchmarks/results/grpo_rollout.json

``--train-steps N`` then runs N real GRPO steps per cost variant (``--variants``, the first
is the baseline): TRL's old default (``beta=0.04``, gradient checkpointing), ``beta=0`` (no
reference-model pass), ``beta=0`` without gradient checkpointing, bf16 autocast and the
update that runs each distinct prompt once (``shared_prompt``), each from a fresh copy
of the model with the same seed, and reports from ``grpo_log.csv`` how much of each step the
rollouts and the update took, the ratio to the baseline, the loss (equal across variants at
step 1, where the policy is the reference policy) and the process's peak memory so far.

    python benchmarks/grpo_rollout.py --repeats 0 --train-steps 1 \
        --out benchmarks/results/grpo_cost.json

Defaults follow the ``one_call`` preset's GRPO settings (2 tasks x 8 episodes, up to 5
turns of 96 tokens, temperature 1, one-call tasks). The model is the base model unless
``--adapter`` names an SFT adapter: the base model rarely ends an episode early, so it is
the longest (costliest) case.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path

import torch

import tool_gym  # noqa: F401  (registers the ids)
from tool_gym.agents.grpo import EnvPool, GRPOSettings, TaskKey, env_name, task_dataset
from tool_gym.agents.pipeline import PRESETS, load_with_adapters
from tool_gym.agents.rollout import ChatFormat, SamplingConfig, model_stop_ids, rollout

log = logging.getLogger("grpo_rollout")
DEFAULT_OUT = Path(__file__).parent / "results" / "grpo_rollout.json"


def step_keys(settings: GRPOSettings, step: int) -> list[TaskKey]:
    """The task keys of one GRPO step, each repeated ``num_generations`` times, as TRL
    hands them to ``rollout_func``."""
    data = task_dataset(settings, (step + 1) * settings.tasks_per_step)
    prompts = data["prompt"][step * settings.tasks_per_step:]
    return [TaskKey.loads(p) for p in prompts for _ in range(settings.num_generations)]


def play(mode: str, model, tok, fmt, pool: EnvPool, keys: list[TaskKey],
         settings: GRPOSettings, seed: int) -> dict:
    gen = SamplingConfig(temperature=settings.temperature, top_p=settings.top_p,
                         max_new_tokens=settings.max_new_tokens, seed=seed)
    if mode == "one_batch":
        batches = [list(range(len(keys)))]
    else:  # the old rollout_func: the tasks of each env in a batch of their own
        by_env: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            by_env.setdefault(env_name(k), []).append(i)
        batches = list(by_env.values())
    t0 = time.perf_counter()
    episodes = []
    for idxs in batches:
        batch_keys = [keys[i] for i in idxs]
        episodes += rollout(model, tok, pool.for_keys(batch_keys), [k.seed for k in batch_keys],
                            gen=gen, max_turns=settings.max_turns, chat_format=fmt)
    wall = time.perf_counter() - t0
    tokens = sum(e.model_tokens for e in episodes)
    return {"mode": mode, "batches": [len(b) for b in batches], "wall_s": round(wall, 2),
            "model_tokens": tokens, "env_tokens": sum(len(e.env_mask) for e in episodes) - tokens,
            "tokens_per_s": round(tokens / wall, 2),
            "mean_turns": round(sum(e.turns for e in episodes) / len(episodes), 2),
            "successes": sum(e.success for e in episodes)}


#: GRPO cost options compared by ``--train-steps``: TRL's old default (KL against the
#: reference model, recomputed activations) against the defaults now (``beta=0``: no
#: reference pass), without gradient checkpointing (no recomputation in the backward pass),
#: with bf16 autocast in rollouts and update, and with each distinct prompt of a
#: micro-batch run once in the update (``shared_prompt``; also with micro-batches of 8).
VARIANTS: dict[str, dict[str, object]] = {
    "kl_checkpointing": {"beta": 0.04, "gradient_checkpointing": True, "shared_prompt": False},
    "beta0_checkpointing": {"beta": 0.0, "gradient_checkpointing": True,
                            "shared_prompt": False},
    "beta0": {"beta": 0.0, "gradient_checkpointing": False, "shared_prompt": False},
    "beta0_bf16": {"beta": 0.0, "gradient_checkpointing": False, "bf16": True,
                   "shared_prompt": False},
    "beta0_bf16_shared": {"beta": 0.0, "gradient_checkpointing": False, "bf16": True,
                          "shared_prompt": True},
    "beta0_bf16_shared_mb8": {"beta": 0.0, "gradient_checkpointing": False, "bf16": True,
                              "shared_prompt": True, "micro_batch_size": 8},
}


def train_variants(args: argparse.Namespace, settings: GRPOSettings, tok) -> list[dict]:
    """``args.train_steps`` real GRPO steps per variant, each from a fresh copy of the model
    with the same seed, so step 1 plays the same episodes in every variant (its policy
    equals the reference policy: the KL term and its gradient are zero there, and the
    step's loss must be equal across variants)."""
    import resource
    import tempfile

    from tool_gym.agents.grpo import train_grpo

    rows = []
    for name in args.variants:
        steps = GRPOSettings(**{**settings.__dict__, **VARIANTS[name],
                                "steps": args.train_steps, "save_steps": args.train_steps})
        base, _ = load_with_adapters(args.model, [Path(a) for a in args.adapter])
        with tempfile.TemporaryDirectory() as tmp:
            done = train_grpo(base, tok, tmp, steps)
        del base
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        for r in done.log:
            row = {k: r.get(k) for k in ("step", "rollout_s", "step_s", "reward", "success",
                                         "loss", "kl", "completion_length")}
            row |= {"variant": name, "bf16": False, "shared_prompt": False,
                    "micro_batch_size": settings.micro_batch_size, **VARIANTS[name],
                    "update_s": round(r["step_s"] - r["rollout_s"], 2),
                    "peak_rss_gib_so_far": round(peak, 2)}
            rows.append(row)
            log.info("GRPO step %d, %s: %.1f s, rollouts %.1f s, update %.1f s, loss %s; "
                     "peak RSS so far %.1f GiB", r["step"], name, r["step_s"], r["rollout_s"],
                     row["update_s"], r.get("loss"), peak)
    base_rows = {r["step"]: r for r in rows if r["variant"] == args.variants[0]}
    for r in rows:
        b = base_rows.get(r["step"])
        r["step_ratio"] = round(r["step_s"] / b["step_s"], 3) if b else None
        r["update_ratio"] = round(r["update_s"] / b["update_s"], 3) if b else None
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="default", help="default, tiny, or a HF id / path")
    p.add_argument("--adapter", action="append", default=[],
                   help="LoRA adapter(s) to merge first (e.g. a run's sft_trial)")
    p.add_argument("--preset", default="one_call", help="GRPO settings of this preset")
    p.add_argument("--repeats", type=int, default=None,
                   help="steps played each way (default 2; 1 with --quick; 0: only "
                        "--train-steps)")
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--max-turns", type=int, default=None)
    p.add_argument("--threads", type=int, default=0,
                   help="torch threads (0: torch's default, as training uses)")
    p.add_argument("--quick", action="store_true",
                   help="one step each way, 3 turns of 48 tokens")
    p.add_argument("--train-steps", type=int, default=0,
                   help="then run this many real GRPO steps (rollouts + update, in one batch) "
                        "and report the share of each step spent on rollouts")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                   help="GRPO cost options of --train-steps, the first as the baseline")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    preset = PRESETS[args.preset]
    settings = GRPOSettings(**{**preset.grpo.__dict__, "envs": preset.grpo_envs()})
    if args.quick:
        settings.max_new_tokens, settings.max_turns = 48, 3
    settings.max_new_tokens = args.max_new_tokens or settings.max_new_tokens
    settings.max_turns = args.max_turns or settings.max_turns
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 2)
    model, tok = load_with_adapters(args.model, [Path(a) for a in args.adapter])
    fmt = ChatFormat(tok, stop_ids=model_stop_ids(model))
    pool = EnvPool()
    # warm-up (first-call allocations and env construction), not timed
    warm = step_keys(settings, 0)
    play("one_batch", model, tok, fmt, pool, warm[:1],
         GRPOSettings(**{**settings.__dict__, "max_new_tokens": 2, "max_turns": 1}), 0)
    runs = []
    for r in range(repeats):
        keys = step_keys(settings, r)
        order = ["per_env", "one_batch"] if r % 2 == 0 else ["one_batch", "per_env"]
        for mode in order:
            res = play(mode, model, tok, fmt, pool, keys, settings, seed=r)
            res["step"] = r
            runs.append(res)
            log.info("step %d %-9s batches %s: %.1f s, %d tokens, %.1f tok/s", r, mode,
                     res["batches"], res["wall_s"], res["model_tokens"], res["tokens_per_s"])

    training = None
    if args.train_steps:
        training = train_variants(args, settings, tok)

    def total(mode: str, key: str) -> float:
        return sum(x[key] for x in runs if x["mode"] == mode)

    compared = bool(runs)
    wall_ratio = total("per_env", "wall_s") / total("one_batch", "wall_s") if compared else None
    tps = ({m: total(m, "model_tokens") / total(m, "wall_s") for m in ("per_env", "one_batch")}
           if compared else {})
    result = {
        "model": args.model, "adapters": args.adapter, "preset": args.preset,
        "quick": args.quick, "settings": {k: settings.__dict__[k] for k in (
            "tasks_per_step", "num_generations", "max_new_tokens", "max_turns",
            "temperature", "micro_batch_size", "max_completion_length")},
        "envs": settings.envs, "repeats": repeats, "runs": runs,
        "wall_ratio_per_env_over_one_batch": None if wall_ratio is None else round(wall_ratio, 3),
        "tokens_per_s": {m: round(v, 2) for m, v in tps.items()},
        "tokens_per_s_ratio": round(tps["one_batch"] / tps["per_env"], 3) if compared else None,
        "grpo_steps": training,
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "device": str(next(model.parameters()).device), "platform": platform.platform(),
        "torch": torch.__version__,
    }
    parts = [f"# GRPO step cost ({args.preset} preset's GRPO settings, model {args.model})\n"]
    if compared:
        print(f"per_env {total('per_env', 'wall_s'):.1f} s ({tps['per_env']:.1f} tok/s) | "
              f"one_batch {total('one_batch', 'wall_s'):.1f} s ({tps['one_batch']:.1f} tok/s)")
        print(f"wall per_env / one_batch {wall_ratio:.2f}x; tokens/s one_batch / per_env "
              f"{result['tokens_per_s_ratio']:.2f}x")
        rows = "\n".join(f"| {x['step']} | {x['mode']} | {x['batches']} | {x['wall_s']} | "
                         f"{x['model_tokens']} | {x['tokens_per_s']} | {x['mean_turns']} |"
                         for x in runs)
        parts.append(
            "Rollouts of a step in one generation batch against one batch per env:\n\n"
            "| step | mode | batches | wall s | model tokens | tokens/s | mean turns |\n"
            f"|---|---|---|---|---|---|---|\n{rows}\n\n"
            f"Wall time per_env / one_batch: **{wall_ratio:.2f}x**; tokens/s one_batch / "
            f"per_env: **{result['tokens_per_s_ratio']:.2f}x** ({torch.get_num_threads()} "
            f"torch threads, {os.cpu_count()} cores).\n")
    if training:
        for r in training:
            print(f"{r['variant']:>20} step {r['step']:.0f}: {r['step_s']} s "
                  f"(x{r['step_ratio']} of {args.variants[0]}), update {r['update_s']} s "
                  f"(x{r['update_ratio']}), loss {r['loss']}")
        parts.append(
            f"Real GRPO steps of {settings.tasks_per_step * settings.num_generations} episodes "
            "(one generation batch, then the update in micro-batches), each variant from a "
            "fresh copy of the model with the same seed; ratios against the first row's "
            "variant:\n\n"
            "| variant | beta | checkpointing | bf16 | shared prompt | micro-batch | step | wall s "
            "| x | rollouts s | update s | x | loss | completion length | reward "
            "| peak RSS so far, GiB |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(
                f"| {r['variant']} | {r['beta']} | {r['gradient_checkpointing']} | {r['bf16']} | "
                f"{r['shared_prompt']} | {r['micro_batch_size']} | {r['step']:.0f} | {r['step_s']} | {r['step_ratio']} | {r['rollout_s']} | "
                f"{r['update_s']} | {r['update_ratio']} | {r['loss']} | "
                f"{r['completion_length']} | {r['reward']:.3f} | {r['peak_rss_gib_so_far']} |"
                for r in training) + "\n")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    md = out.with_suffix(".md")
    md.write_text("\n".join(parts))
    print(f"wrote {out} and {md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
