"""Classic RL baseline: PPO (stable-baselines3) on a discretised tool env, then drift.

The wrapper ``tool_gym.wrappers.DiscretizeActions`` turns one domain into a
Discrete-action, Box-observation env (action = which tool to call, arguments from the
plan, as the docs read; or answer). PPO trains on the seen domain and is evaluated on
its test seeds, and on the same domain under drift with fresh and with stale docs.

    python benchmarks/sb3_ppo.py --quick --out benchmarks/results/sb3_ppo.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import tool_gym  # noqa: F401
from tool_gym.wrappers import DiscretizeActions

log = logging.getLogger("sb3_ppo")


def make(domain: str, **kwargs) -> DiscretizeActions:
    return DiscretizeActions(gym.make(f"ToolMaster/{domain}-v0", **kwargs))


def evaluate(model, env: gym.Env, episodes: int, seed: int) -> dict:
    wins, turns = 0, []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        done, info = False, {}
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, term, trunc, info = env.step(action)
            done = term or trunc
        wins += bool(info.get("success"))
        turns.append(info["turn"])
    return {"episodes": episodes, "success": wins / episodes, "mean_turns": float(np.mean(turns))}


def main(argv: list[str] | None = None) -> dict:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_checker import check_env

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--domain", default="Weather")
    parser.add_argument("--timesteps", type=int, default=None)
    parser.add_argument("--episodes", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/sb3_ppo.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    timesteps = args.timesteps or (4000 if args.quick else 30000)
    episodes = args.episodes or (100 if args.quick else 400)

    train_env = make(args.domain, split="train", max_turns=6)
    check_env(train_env)
    t0 = time.perf_counter()
    model = PPO("MlpPolicy", train_env, seed=args.seed, n_steps=256, batch_size=64, verbose=0)
    model.learn(total_timesteps=timesteps)
    train_s = time.perf_counter() - t0
    splits = {
        "train": make(args.domain, split="train", max_turns=6),
        "seen_test": make(args.domain, split="test", max_turns=6),
        "drift_fresh": make(args.domain, split="test", max_turns=6, drift_level="heavy",
                            stale_docs=False),
        "drift_stale": make(args.domain, split="test", max_turns=6, drift_level="heavy",
                            stale_docs=True),
    }
    results = {name: evaluate(model, env, episodes, 10_000 + args.seed) for name, env in
               splits.items()}
    out = {"domain": args.domain, "timesteps": timesteps, "train_seconds": train_s,
           "results": results}
    for name, r in results.items():
        log.info("%-12s success %.3f  turns %.2f", name, r["success"], r["mean_turns"])
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    lines = ["| split | episodes | success | mean turns |", "|---|---|---|---|"]
    lines += [f"| {k} | {r['episodes']} | {r['success']:.3f} | {r['mean_turns']:.2f} |"
              for k, r in results.items()]
    path.with_suffix(".md").write_text(
        f"PPO on {args.domain}, {timesteps} steps ({train_s:.0f} s)\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


if __name__ == "__main__":
    main()
