"""Procgen statistics: how many distinct APIs, how big, how long their plans, how fast.

For ``--seeds`` API seeds: distinct APIs (distinct sets of tool signatures), tools per API,
how often a tool name repeats across APIs, the time to generate an API, and the catalogue
(the compact tool listing an agent is shown) in tokens of the default tokenizer (SmolLM2's;
``approx`` = characters / 4 when the agents extras are not installed). On a sample of APIs:
the plan-length distribution of their tasks and the env-side time of a golden tool step.

    python benchmarks/procgen_stats.py --quick
    python benchmarks/procgen_stats.py --out benchmarks/results/procgen_stats.json

Goals (issue 23): >= 9,900 distinct APIs in 10,000 seeds; generation <= 5 ms median;
tool step <= 100 us median; catalogue <= 400 tokens median.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import tool_gym  # noqa: F401  (registers the ids)
from tool_gym.envs.procgen import build_domain
from tool_gym.oracle import GoldenPlanPolicy

log = logging.getLogger("procgen_stats")


def catalogue(domain: Any) -> str:
    """The tool listing of the system prompt (compact style), as the agent sees it."""
    listing = "\n".join(f"- {t.signature()}" for t in domain.tools)
    return f"Tools ({domain.description}):\n{listing}"


def token_counter() -> tuple[str, Any]:
    try:
        from tool_gym.agents.models import load_tokenizer

        tok = load_tokenizer("default")
        return "default", lambda text: len(tok(text, add_special_tokens=False)["input_ids"])
    except Exception as e:  # no agents extras, or no cached tokenizer
        log.info("default tokenizer unavailable (%s); counting characters / 4", e)
        return "approx", lambda text: round(len(text) / 4)


def step_times(api_seeds: list[int], episodes: int) -> list[float]:
    """Env-side microseconds of golden-plan tool steps (as benchmarks/env_throughput.py)."""
    out: list[float] = []
    for api_seed in api_seeds:
        env = gym.make("ToolMaster/Procgen-v0", api_seed=api_seed, split="all")
        for seed in range(episodes):
            env.reset(seed=seed)
            policy = GoldenPlanPolicy(env)
            done = False
            while not done:
                action = policy.act()
                t0 = time.perf_counter()
                _, _, term, trunc, _ = env.step(action)
                if not action.startswith("<answer>"):
                    out.append((time.perf_counter() - t0) * 1e6)
                done = term or trunc
        env.close()
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 API seeds (seconds)")
    parser.add_argument("--seeds", type=int, default=None, help="API seeds (default 10,000)")
    parser.add_argument("--out", default="benchmarks/results/procgen_stats.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    n = args.seeds or (1000 if args.quick else 10_000)
    tokenizer, count = token_counter()
    signatures: set[tuple[str, ...]] = set()
    names: Counter[str] = Counter()
    tools, gen_ms, tokens = [], [], []
    for seed in range(n):
        t0 = time.perf_counter()
        domain = build_domain(seed)
        gen_ms.append((time.perf_counter() - t0) * 1e3)
        signatures.add(tuple(sorted(t.signature() for t in domain.tools)))
        names.update(t.name for t in domain.tools)
        tools.append(len(domain.tools))
        tokens.append(count(catalogue(domain)))
    sample = list(range(0, n, max(1, n // 200)))[:200]
    plans: Counter[int] = Counter()
    world_tasks = 0
    for api_seed in sample:
        domain = build_domain(api_seed)
        for task_seed in range(10):
            world, task = domain.generate(task_seed)
            plans[len(task.plan)] += 1
            world_tasks += task.changes_world
    steps = step_times(sample[:20], 20 if args.quick else 50)
    total_tasks = sum(plans.values())
    res: dict[str, Any] = {
        "seeds": n,
        "distinct_apis": len(signatures),
        "tools_per_api": {"median": statistics.median(tools), "min": min(tools),
                          "max": max(tools), "histogram": dict(sorted(Counter(tools).items()))},
        "distinct_tool_names": len(names),
        "tool_name_max_apis": names.most_common(1)[0][1],
        "tool_name_share_in_one_api": round(sum(1 for c in names.values() if c == 1) / len(names), 4),
        "gen_ms_median": round(statistics.median(gen_ms), 3),
        "gen_ms_p90": round(float(np.percentile(gen_ms, 90)), 3),
        "tokenizer": tokenizer,
        "catalogue_tokens_median": statistics.median(tokens),
        "catalogue_tokens_p90": float(np.percentile(tokens, 90)),
        "plan_length_share": {k: round(v / total_tasks, 4) for k, v in sorted(plans.items())},
        "world_changing_task_share": round(world_tasks / total_tasks, 4),
        "tasks_sampled": total_tasks,
        "tool_step_us_median": round(statistics.median(steps), 1),
        "tool_step_us_p90": round(float(np.percentile(steps, 90)), 1),
        "tool_steps": len(steps),
    }
    res["goals"] = {
        "distinct_apis_per_10k_ge_9900": res["distinct_apis"] / n >= 0.99,
        "gen_ms_median_le_5": res["gen_ms_median"] <= 5,
        "tool_step_us_median_le_100": res["tool_step_us_median"] <= 100,
        "catalogue_tokens_median_le_400": res["catalogue_tokens_median"] <= 400,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    log.info("%s", json.dumps(res, indent=1))
    log.info("wrote %s", out)
    return res


if __name__ == "__main__":
    main()
