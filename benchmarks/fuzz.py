"""Fuzz: does any action make ``reset`` or ``step`` raise, stall or eat memory?

Plays junk actions against every registered id: random text, tag soup (nested, unbalanced,
floods), JSON with extreme numbers, deep nesting, lone surrogates, control characters and
huge strings, and calls of the shown tools with wrong types and extreme values (SQL and
path payloads included). Counts exceptions out of ``reset``/``step`` (goal 0), exceptions
the env caught at its boundary (``internal_errors``, each a logged env bug; goal 0), the
slowest step and the largest memory growth of one step (the larger of tracemalloc's peak,
for Python objects, on every step or every 10th in the full run, and the growth of the
process's peak RSS, for SQLite and the OS, on every step), and sandbox directories left
behind after every env is closed.

    python benchmarks/fuzz.py --quick --out benchmarks/results/fuzz.json
    python benchmarks/fuzz.py --out benchmarks/results/fuzz.json   # >= 1,000,000 actions

Goals (issue 20): 0 exceptions; worst step <= 1 s and <= 100 MB; a 1 MB flood of opening
tags (cap raised) parsed in < 1 s; 0 leaked sandboxes.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import resource
import time
import tracemalloc
from pathlib import Path

import gymnasium as gym
import numpy as np

import tool_gym  # noqa: F401  (registers the ids)
from tool_gym.oracle import unwrap
from tool_gym.registration import env_ids
from tool_gym.world import live_sandboxes

log = logging.getLogger("fuzz")
TAGS = ["<think>", "</think>", "<trial>", "</trial>", "<call>", "</call>", "<answer>",
        "</answer>", "<", ">", "</", "{", "}", "[", "]", '"', ":", ",", "\\", " ", "\n", "x"]
STRINGS = ["", " ", "x" * 300, "../../etc/passwd", "/etc/passwd", "~/x", "C:\\x", "a/" * 40 + "f",
           "'; DROP TABLE employees; --", "\u00e9\u4e2d\U0001f600", "\u202eevil", "\x00\x01\x1f",
           "%s%n{0}{}", "*" * 50 + "a", "NaN", "1e999", "-0", "2026-02-30", "25:61", "NONE",
           "SELECT length(zeroblob(999999999))", "SELECT hex(randomblob(200000000))",
           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c",
           "REINDEX", "DROP TABLE IF EXISTS nope", "PRAGMA writable_schema=1", "VACUUM",
           "SELECT printf('%.*c', 999999999, 'x')", "SELECT 1; SELECT 2", "ATTACH ':memory:' AS m"]
NUMBERS = ["0", "-1", "1e308", "-1e308", "5e-324", "1e400", "-1e400", "NaN", "Infinity",
           "-Infinity", str(2**53 - 1), str(2**53), str(2**63), "-" + str(2**63), "1" * 30,
           "9" * 4301, "9" * 6000, "0.1", "1e-400", "123456789.987654321"]
JSON_STRINGS = ['"\\ud800"', '"\\udfff x"', '"a\\u0000b"', '"\\u202e"', '"\\t\\n\\r"']


def _pick(rng: np.random.Generator, items: list) -> object:
    return items[int(rng.integers(len(items)))]


def _value(rng: np.random.Generator, depth: int = 0) -> str:
    """One JSON value as text: extreme, wrongly typed or odd."""
    k = int(rng.integers(9))
    if k == 0:
        return _pick(rng, NUMBERS)
    if k == 1:
        return _pick(rng, JSON_STRINGS)
    if k == 2 and depth < 3:
        n = int(rng.integers(0, 4))
        return "[" + ", ".join(_value(rng, depth + 1) for _ in range(n)) + "]"
    if k == 3:
        d = int(_pick(rng, [5, 33, 200, 3000]))
        return "[" * d + "1" + "]" * d * int(rng.integers(0, 2))
    if k == 4:
        return _pick(rng, ["true", "false", "null", "{}", "[]"])
    if k == 5:
        return json.dumps("y" * int(_pick(rng, [1000, 5000, 7000])))
    return json.dumps(_pick(rng, STRINGS))


class Actions:
    """A seeded stream of junk actions for one env (needs the catalogue shown at reset)."""

    def __init__(self, rng: np.random.Generator, max_chars: int) -> None:
        self.rng, self.max_chars = rng, max_chars
        self.tools: list[tuple[str, list[str], dict]] = []
        charset = [chr(c) for c in range(32, 127)] + ["\n", "\t", "\x00", "\ud800", "\u00e9"]
        self.charset = np.array(charset)

    def catalogue(self, tools: list[dict]) -> None:
        self.tools = [(t["function"]["name"], list(t["function"]["parameters"].get(
            "properties", {})), t["function"]["parameters"].get("properties", {})) for t in tools]

    def __call__(self) -> str:
        rng = self.rng
        k = int(rng.integers(10))
        if k == 0:  # random characters
            return "".join(self.charset[rng.integers(len(self.charset), size=int(
                rng.integers(0, 300)))])
        if k == 1:  # tag soup
            return "".join(_pick(rng, TAGS) for _ in range(int(rng.integers(1, 60))))
        if k == 2:  # floods up to the cap
            unit = _pick(rng, ["<trial>", "<call>", "<think>", "<call>{", "</call>", "<a"])
            return unit * (self.max_chars // len(unit) - int(rng.integers(0, 2)))
        if k == 3:  # a body of extreme JSON
            mode = _pick(rng, ["trial", "call"])
            return f"<{mode}>{_value(rng)}</{mode}>"
        # schema-shaped: a shown tool (or a wrong name) with extreme, wrongly typed values
        name, params, props = _pick(rng, self.tools) if self.tools else ("x", ["x"], {})
        if rng.random() < 0.1:
            name = name + "_" if rng.random() < 0.5 else name.upper()
        args = []
        for p in params:
            if rng.random() < 0.15:
                continue
            typ = props.get(p, {}).get("type")
            if typ in ("integer", "number") and rng.random() < 0.6:
                args.append(f"{json.dumps(p)}: {_pick(rng, NUMBERS)}")
            elif typ == "string" and rng.random() < 0.6:
                args.append(f"{json.dumps(p)}: {json.dumps(_pick(rng, STRINGS))}")
            else:
                args.append(f"{json.dumps(p)}: {_value(rng)}")
        if rng.random() < 0.1:
            args.append('"extra": 1')
        mode = "trial" if rng.random() < 0.4 else "call"
        call = f'<{mode}>{{"name": {json.dumps(name)}, "arguments": {{{", ".join(args)}}}}}</{mode}>'
        return call * int(_pick(rng, [1, 1, 1, 2, 9]))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fuzz_id(env_id: str, n: int, seed: int, trace_every: int = 1) -> dict:
    env = gym.make(env_id, max_turns=50)
    base = unwrap(env)
    actions = Actions(np.random.default_rng(seed), base.max_action_chars)
    exceptions: list[dict] = []
    worst_s, worst_mb = 0.0, 0.0
    worst_s_action = worst_mb_action = ""
    done, episode = True, 0
    t_all = time.perf_counter()
    for k in range(n):
        if done:
            try:
                _, info = env.reset(seed=seed * 1_000_003 + episode)
                actions.catalogue(info["tools"])
            except Exception as e:  # counted: the goal is none
                exceptions.append({"where": "reset", "error": f"{type(e).__name__}: {e}"[:300]})
            episode += 1
        action = actions()
        rss = _peak_rss_mb()
        traced = k % trace_every == 0
        if traced:  # only this step's allocations are traced: its peak is its growth
            tracemalloc.start()
        t0 = time.perf_counter()
        try:
            _, _, term, trunc, _ = env.step(action)
            done = term or trunc
        except Exception as e:
            exceptions.append({"where": "step", "error": f"{type(e).__name__}: {e}"[:300],
                               "action": action[:300]})
            done = True
        dt = time.perf_counter() - t0
        mb = _peak_rss_mb() - rss
        if traced:
            mb = max(mb, tracemalloc.get_traced_memory()[1] / 2**20)
            tracemalloc.stop()
        if dt > worst_s:
            worst_s, worst_s_action = dt, action
        if mb > worst_mb:
            worst_mb, worst_mb_action = mb, action
    elapsed = time.perf_counter() - t_all
    internal = base.internal_errors
    env.close()
    return {"actions": n, "exceptions": len(exceptions), "internal_errors": internal,
            "actions_per_s": n / elapsed, "worst_step_s": worst_s, "worst_step_mb": worst_mb,
            "worst_step_s_action": worst_s_action[:120], "worst_step_mb_action":
            worst_mb_action[:120], "first_exceptions": exceptions[:5]}


def flood_seconds(chars: int = 1_000_000) -> float:
    """Seconds for one step of a ``chars``-long flood of opening tags, the cap raised."""
    env = gym.make("ToolMaster/Weather-v0", max_action_chars=chars + 1)
    env.reset(seed=0)
    t0 = time.perf_counter()
    env.step("<trial>" * (chars // len("<trial>")))
    dt = time.perf_counter() - t0
    env.close()
    return dt


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 actions per id (minutes)")
    parser.add_argument("--actions", type=int, default=None,
                        help="total actions over all ids (default 1,000,000; --quick 1,000 per id)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trace-every", type=int, default=None,
                        help="trace Python allocations (tracemalloc, ~2x slower) on every "
                             "k-th step; peak RSS is watched on all (default 1; full run 10)")
    parser.add_argument("--out", default="benchmarks/results/fuzz.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # The env logs each exception it catches at its boundary; here they are counted instead.
    logging.getLogger("tool_gym").setLevel(logging.CRITICAL)
    ids = env_ids()
    if args.actions is not None:
        per_id = math.ceil(args.actions / len(ids))
    else:
        per_id = 1000 if args.quick else math.ceil(1_000_000 / len(ids))
    trace_every = args.trace_every or (1 if args.quick or args.actions else 10)
    gc.collect()
    sandboxes_before = len(live_sandboxes())
    rows = {}
    t0 = time.perf_counter()
    for i, env_id in enumerate(ids):
        rows[env_id] = r = fuzz_id(env_id, per_id, args.seed * 1000 + i, trace_every)
        log.info("%-32s %6d actions %8.0f/s  exceptions %d  internal %d  worst %.3f s %.1f MB",
                 env_id, r["actions"], r["actions_per_s"], r["exceptions"], r["internal_errors"],
                 r["worst_step_s"], r["worst_step_mb"])
    elapsed = time.perf_counter() - t0
    flood_s = flood_seconds()
    gc.collect()
    leaked = len(live_sandboxes()) - sandboxes_before
    actions = sum(r["actions"] for r in rows.values())
    summary = {
        "actions": actions,
        "exceptions": sum(r["exceptions"] for r in rows.values()),
        "internal_errors": sum(r["internal_errors"] for r in rows.values()),
        "worst_step_s": max(r["worst_step_s"] for r in rows.values()),
        "worst_step_mb": max(r["worst_step_mb"] for r in rows.values()),
        "leaked_sandboxes": leaked,
        "actions_per_s": actions / elapsed,
        "flood_1mb_s": flood_s,
        "ids": len(rows),
        "tracemalloc_every": trace_every,
        "goals": {"exceptions": 0, "worst_step_s": 1.0, "worst_step_mb": 100,
                  "flood_1mb_s": 1.0, "leaked_sandboxes": 0},
    }
    summary["meets_goals"] = (summary["exceptions"] == 0 and summary["internal_errors"] == 0
                              and summary["worst_step_s"] <= 1.0
                              and summary["worst_step_mb"] <= 100 and flood_s < 1.0
                              and leaked == 0)
    result = {"quick": args.quick, "seed": args.seed, **summary, "per_id": rows,
              "note": "one process; worst_step_mb is the larger of the growth of peak RSS "
                      "(every step) and tracemalloc's peak (every tracemalloc_every-th step, "
                      "which it slows ~2x); step times are wall-clock on a shared 2-core "
                      "machine"}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    lines = [f"{actions} actions over {len(rows)} ids: {summary['exceptions']} exceptions, "
             f"{summary['internal_errors']} internal errors, worst step "
             f"{summary['worst_step_s']:.3f} s / {summary['worst_step_mb']:.1f} MB, "
             f"{leaked} leaked sandboxes, 1 MB tag flood {flood_s:.3f} s.", "",
             "| id | actions | actions/s | exceptions | internal errors | worst step s | "
             "worst step MB |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {k} | {r['actions']} | {r['actions_per_s']:.0f} | {r['exceptions']} | "
              f"{r['internal_errors']} | {r['worst_step_s']:.3f} | {r['worst_step_mb']:.1f} |"
              for k, r in rows.items()]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    log.info(json.dumps({k: v for k, v in summary.items() if k != "goals"}, indent=2))
    return result


if __name__ == "__main__":
    main()
