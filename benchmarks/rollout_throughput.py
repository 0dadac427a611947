"""Rollout throughput: batched multi-turn episodes in the envs vs plain generation.

Generated (model) tokens per second of three ways to produce the same kind of tokens:

* ``rollout``: :func:`tool_gym.agents.rollout.rollout` with ``--batch`` envs at once:
  multi-turn episodes, observations tokenised and appended, envs stepped, log-probs kept;
* ``generate``: one plain ``model.generate`` call on the same first prompts (left padded,
  same batch size), forced to produce the same number of new tokens per row as the rollout's
  mean per episode (``min_new_tokens = max_new_tokens``), with the same sampling;
* ``sequential``: the same rollout code with one env at a time.

    python benchmarks/rollout_throughput.py --quick --out benchmarks/results/rollout_throughput.json

Goals: ``ratio_vs_generate >= 0.85`` and ``ratio_vs_sequential >= 3`` at batch 8.
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
from tool_gym.agents.models import load_model
from tool_gym.agents.rollout import ChatFormat, SamplingConfig, make_envs, model_stop_ids, rollout

log = logging.getLogger("rollout_throughput")
DEFAULT_OUT = Path(__file__).parent / "results" / "rollout_throughput.json"


def run_rollout(model, tok, env_id, env_kwargs, batch, seeds, gen, max_turns):
    envs = make_envs(env_id, batch, **env_kwargs)
    stats: dict = {}
    t0 = time.perf_counter()
    episodes = rollout(model, tok, envs, seeds, gen=gen, max_turns=max_turns, stats=stats)
    wall = time.perf_counter() - t0
    tokens = sum(e.model_tokens for e in episodes)
    for env in envs:
        env.close()
    return episodes, {
        "episodes": len(episodes), "batch": batch, "wall_s": round(wall, 3),
        "model_tokens": tokens, "env_tokens": stats["env_tokens"],
        "tokens_per_s": tokens / wall, "generate_s": round(stats["generate_s"], 3),
        "catchup_s": round(stats["catchup_s"], 3), "env_s": round(stats["env_s"], 4),
        "generate_calls": stats["calls"],
        "mean_turns": sum(e.turns for e in episodes) / len(episodes),
        "mean_prompt_tokens": sum(len(e.prompt_ids) for e in episodes) / len(episodes),
        "cut_messages": sum(e.cut_actions for e in episodes),
    }


def run_generate(model, tok, prompts, new_tokens, gen):
    fmt = ChatFormat(tok, stop_ids=model_stop_ids(model))
    L = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), L), fmt.pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        ids[i, L - len(p):] = torch.tensor(p)
        mask[i, L - len(p):] = 1
    kwargs = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, pad_token_id=fmt.pad_id,
                  eos_token_id=fmt.stop_ids)
    if gen.greedy:
        kwargs.update(do_sample=False)
    else:
        kwargs.update(do_sample=True, temperature=gen.temperature, top_p=gen.top_p,
                      top_k=gen.top_k)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=mask, **kwargs)
    wall = time.perf_counter() - t0
    tokens = (out.shape[1] - L) * len(prompts)
    return {"batch": len(prompts), "new_tokens_per_row": new_tokens, "wall_s": round(wall, 3),
            "model_tokens": tokens, "tokens_per_s": tokens / wall}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="default", help="default, tiny, or a HF id / path")
    p.add_argument("--env", default="ToolMaster/Seen-v0")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--max-turns", type=int, default=None)
    p.add_argument("--sequential-episodes", type=int, default=None,
                   help="episodes played one at a time (default: all in full mode, 3 in quick)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: on a 2-core machine shared with other jobs, "
                        "two OpenMP threads can be 5-10x slower; 0: torch's default)")
    p.add_argument("--group", type=int, default=1,
                   help="play each seed this many times (a GRPO group: the batch shares prompts)")
    p.add_argument("--no-cache-reuse", action="store_true",
                   help="re-encode the conversation every turn")
    p.add_argument("--quick", action="store_true", help="small sizes (< 3 min on 2 CPU cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    max_new = args.max_new_tokens or (32 if args.quick else 96)
    max_turns = args.max_turns or (3 if args.quick else 5)
    n_seq = args.sequential_episodes or (3 if args.quick else args.batch)
    model, tok = load_model(args.model)
    gen = SamplingConfig(temperature=args.temperature, max_new_tokens=max_new, seed=args.seed,
                         reuse_cache=not args.no_cache_reuse)
    env_kwargs = {"max_turns": max_turns}
    n_prompts = max(1, args.batch // args.group)
    seeds = [s for s in range(args.seed, args.seed + n_prompts) for _ in range(args.group)]

    # warm-up (first-call allocations), not timed
    run_rollout(model, tok, args.env, env_kwargs, 1, seeds[:1],
                SamplingConfig(max_new_tokens=2, seed=0), 1)

    log.info("batched rollout: %d envs, %d episodes (%d prompts), <= %d turns x %d tokens",
             args.batch, len(seeds), n_prompts, max_turns, max_new)
    episodes, batched = run_rollout(model, tok, args.env, env_kwargs, args.batch, seeds, gen,
                                    max_turns)
    log.info("  %.1f tokens/s (%d tokens in %.1f s)", batched["tokens_per_s"],
             batched["model_tokens"], batched["wall_s"])

    per_episode = max(1, round(batched["model_tokens"] / len(episodes)))
    log.info("plain generate: batch %d, %d new tokens per row", args.batch, per_episode)
    torch.manual_seed(args.seed)
    plain = run_generate(model, tok, [e.prompt_ids for e in episodes], per_episode, gen)
    log.info("  %.1f tokens/s", plain["tokens_per_s"])

    log.info("sequential rollout: %d episodes, one env", n_seq)
    _, seq = run_rollout(model, tok, args.env, env_kwargs, 1, seeds[:n_seq], gen, max_turns)
    log.info("  %.1f tokens/s", seq["tokens_per_s"])

    result = {
        "model": args.model, "env": args.env, "quick": args.quick, "batch": args.batch,
        "group": args.group,
        "max_new_tokens": max_new, "max_turns": max_turns, "temperature": args.temperature,
        "cache_reuse": not args.no_cache_reuse,
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "device": str(next(model.parameters()).device), "platform": platform.platform(),
        "torch": torch.__version__,
        "rollout": batched, "generate": plain, "sequential": seq,
        "ratio_vs_generate": batched["tokens_per_s"] / plain["tokens_per_s"],
        "ratio_vs_sequential": batched["tokens_per_s"] / seq["tokens_per_s"],
        "goals": {"ratio_vs_generate": 0.85, "ratio_vs_sequential": 3.0},
    }
    print(f"rollout {batched['tokens_per_s']:.1f} tok/s | generate {plain['tokens_per_s']:.1f} "
          f"tok/s | sequential {seq['tokens_per_s']:.1f} tok/s")
    print(f"ratio_vs_generate   {result['ratio_vs_generate']:.3f}  (goal >= 0.85)")
    print(f"ratio_vs_sequential {result['ratio_vs_sequential']:.3f}  (goal >= 3 at batch 8)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
