"""Env throughput: is the env ever the bottleneck of LLM training?

Measures, per domain, env-side microseconds per step for golden-plan episodes (real tool
calls) and for junk actions (parse errors), plus steps per second, on one core.

    python benchmarks/env_throughput.py --quick --out benchmarks/results/env_throughput.json

Goal: median env-side cost of a tool step <= 100 us; >= 20,000 junk steps/s.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import tool_gym  # noqa: F401  (registers the ids)
from tool_gym.oracle import GoldenPlanPolicy
from tool_gym.registration import domains

log = logging.getLogger("env_throughput")
JUNK = ["hello", "<call>{bad json</call>", "<answer", "<call>{\"name\": \"nope\"}</call>",
        "plain text without tags " * 4, "<trial>[]</trial>"]


def bench_domain(title: str, episodes: int, junk_steps: int) -> dict:
    env = gym.make(f"ToolMaster/{title}-v0", split="all")
    tool_us, reset_us, answer_us = [], [], []
    steps = 0
    t_all = time.perf_counter()
    for seed in range(episodes):
        t0 = time.perf_counter()
        env.reset(seed=seed)
        reset_us.append((time.perf_counter() - t0) * 1e6)
        policy = GoldenPlanPolicy(env)
        done = False
        while not done:
            action = policy.act()
            t0 = time.perf_counter()
            _, _, term, trunc, _ = env.step(action)
            dt = (time.perf_counter() - t0) * 1e6
            (answer_us if action.startswith("<answer>") else tool_us).append(dt)
            steps += 1
            done = term or trunc
    golden_elapsed = time.perf_counter() - t_all
    env.reset(seed=0)
    env.unwrapped.max_turns = junk_steps + 1
    t0 = time.perf_counter()
    for i in range(junk_steps):
        env.step(JUNK[i % len(JUNK)])
    junk_elapsed = time.perf_counter() - t0
    env.close()
    return {
        "tool_step_us_median": statistics.median(tool_us),
        "tool_step_us_p90": float(np.percentile(tool_us, 90)),
        "answer_step_us_median": statistics.median(answer_us),
        "reset_us_median": statistics.median(reset_us),
        "golden_steps_per_s": steps / golden_elapsed,
        "junk_steps_per_s": junk_steps / junk_elapsed,
        "junk_step_us_mean": junk_elapsed / junk_steps * 1e6,
        "episodes": episodes,
        "tool_steps": len(tool_us),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer episodes (seconds)")
    parser.add_argument("--out", default="benchmarks/results/env_throughput.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    episodes, junk = (100, 5000) if args.quick else (500, 30000)
    rows = {}
    for d in domains().values():
        rows[d.name] = bench_domain(d.title, episodes, junk)
        r = rows[d.name]
        log.info("%-13s tool step %6.1f us (p90 %6.1f)  reset %6.1f us  junk %8.0f steps/s",
                 d.name, r["tool_step_us_median"], r["tool_step_us_p90"], r["reset_us_median"],
                 r["junk_steps_per_s"])
    tool_medians = [r["tool_step_us_median"] for r in rows.values()]
    summary = {
        "median_tool_step_us": statistics.median(tool_medians),
        "worst_domain_tool_step_us": max(tool_medians),
        "min_junk_steps_per_s": min(r["junk_steps_per_s"] for r in rows.values()),
        "median_junk_steps_per_s": statistics.median(r["junk_steps_per_s"] for r in rows.values()),
        "goal_tool_step_us": 100, "goal_junk_steps_per_s": 20000,
    }
    summary["meets_tool_step_goal"] = summary["median_tool_step_us"] <= 100
    summary["meets_junk_goal"] = summary["min_junk_steps_per_s"] >= 20000
    result = {"quick": args.quick, "summary": summary, "domains": rows,
              "note": "env-side time of env.step through gym.make wrappers, one process"}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    lines = ["| domain | tool step us (median) | p90 | reset us | junk steps/s |",
             "|---|---|---|---|---|"]
    lines += [f"| {k} | {r['tool_step_us_median']:.1f} | {r['tool_step_us_p90']:.1f} | "
              f"{r['reset_us_median']:.1f} | {r['junk_steps_per_s']:.0f} |" for k, r in rows.items()]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(json.dumps(summary, indent=2))
    return result


if __name__ == "__main__":
    main()
