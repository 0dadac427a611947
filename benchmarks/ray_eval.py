"""Ray evaluation: the same evaluation episodes in one process and on Ray actors.

Loads the model once, plays the evaluation's batches in-process (``play_in_batches``,
torch on one thread, as each actor runs), then on a local Ray cluster of ``--workers``
CPUs (``distributed.play_batched``: each actor with its own copy of the policy), and
reports both wall times, the speed-up and whether the records are identical (they must
be: greedy decoding, same batches). Actor start-up (a worker process, torch, the model
unpickled) is timed apart; ``toolmaster eval --workers`` pays it once per evaluation.

    python benchmarks/ray_eval.py --quick --out benchmarks/results/ray_eval.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger("ray_eval")
SPLITS = {"seen_test": ("ToolMaster/Seen-v0", {"split": "test"}),
          "unseen": ("ToolMaster/Unseen-v0", {})}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="the tiny model, 4 tasks per split (minutes)")
    parser.add_argument("--model", default=None, help="default: tiny with --quick, else default")
    parser.add_argument("--episodes", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="default 2 (--quick), 4")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--max-turns", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/ray_eval.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import ray
    import torch

    from tool_gym.agents.distributed import local_worker_priority, play_batched
    from tool_gym.agents.evaluate import play_in_batches
    from tool_gym.agents.models import load_model
    from tool_gym.agents.policy import make_policy

    torch.set_num_threads(1)
    model_name = args.model or ("tiny" if args.quick else "default")
    episodes = args.episodes or (4 if args.quick else 16)
    args.batch_size = args.batch_size or (2 if args.quick else 4)
    model, tokenizer = load_model(model_name)
    policy = make_policy(model, tokenizer, max_new_tokens=args.max_new_tokens, temperature=0.0)
    jobs = [(name, env_id, kw, task, 0) for name, (env_id, kw) in SPLITS.items()
            for task in range(episodes)]
    t0 = time.perf_counter()
    single = play_in_batches(policy, jobs, args.batch_size, args.max_turns, False)
    single_s = time.perf_counter() - t0
    log.info("one process: %.1f s", single_s)
    local_worker_priority()
    ray.init(num_cpus=args.workers, include_dashboard=False, logging_level="ERROR",
             object_store_memory=512 * 1024 * 1024)
    timings: dict[str, float] = {}
    spread = play_batched(policy, jobs, args.batch_size, args.max_turns, workers=args.workers,
                          timings=timings)
    ray.shutdown()
    ray_s, startup_s = timings["play_s"], timings["startup_s"]
    log.info("%d Ray workers: %.1f s (+ %.1f s start-up)", args.workers, ray_s, startup_s)
    successes = {name: sum(r["success"] for r in rows) / len(rows)
                 for name, rows in single.items()}
    result = {
        "model": model_name, "splits": list(SPLITS), "episodes_per_split": episodes,
        "batch_size": args.batch_size, "max_new_tokens": args.max_new_tokens,
        "max_turns": args.max_turns, "workers": args.workers, "cpus": os.cpu_count(),
        "single_process_s": round(single_s, 2), "ray_s": round(ray_s, 2),
        "ray_startup_s": round(startup_s, 2), "speedup": round(single_s / ray_s, 3),
        "speedup_with_startup": round(single_s / (ray_s + startup_s), 3),
        "identical": spread == single,
        "success": successes,
        "load_average": os.getloadavg(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    md = (f"# ray_eval ({model_name}, {len(SPLITS)} splits x {episodes} tasks, batch "
          f"{args.batch_size}, {os.cpu_count()} CPUs)\n\n"
          "| path | wall s | speed-up | identical |\n|---|---|---|---|\n"
          f"| one process (torch 1 thread) | {single_s:.1f} | 1.00 | - |\n"
          f"| {args.workers} Ray workers | {ray_s:.1f} (+ {startup_s:.1f} start-up) | "
          f"{result['speedup']:.2f} ({result['speedup_with_startup']:.2f} with start-up) | "
          f"{result['identical']} |\n")
    out.with_suffix(".md").write_text(md)
    print(md)
    return result


if __name__ == "__main__":
    main()
