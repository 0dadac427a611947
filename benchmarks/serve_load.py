"""Serve load: a bounded load test of ``tool-gym serve`` on loopback (127.0.0.1 only).

Starts the server in a subprocess, then:

1. **One session, no queueing**: the same golden and junk episodes in-process and through
   the server (OpenEnv's async ``EnvClient``); the server's added latency per step is the
   difference of the medians (``p50_added_ms``).
2. **64 concurrent sessions** (client processes of asyncio sessions, ``ToolMasterClient``
   each) play whole golden-plan episodes for a fixed time: steps/s, p50 and p99 step
   latency under that load.
3. The same with one junk episode (malformed, failing and unknown-tool messages until the
   turn limit) after every three golden ones.

Every episode is precomputed in-process (seeded resets), and every answer the server
gives is compared with the in-process one: an answer that differs is a **crossed**
episode, an episode that errors or never ends is **lost** (both must be 0). A 65th
session is opened while 64 play and must be refused (with one server process: the cap is
per process). Each phase ends by itself: sessions finish the episode they are in once the
time is up.

``--workers 1 2`` (the default) runs all of it against a server of one process, then of
two (``tool-gym serve --workers 2``: uvicorn worker processes behind the one port), side
by side in one run; the top-level speed and latency are those of the last, the episode counts (lost and
crossed included) those of all.

    python benchmarks/serve_load.py --quick --workers 1 2 --out benchmarks/results/serve_load.json

Goals: p50 added latency per step <= 1 ms (one session); >= 5,000 golden steps/s with
64 sessions; 0 lost or crossed episodes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym

import tool_gym  # noqa: F401  (registers the ids)
from tool_gym.oracle import GoldenPlanPolicy

log = logging.getLogger("serve_load")
HOST = "127.0.0.1"
JUNK = ["hello", "<call>{bad json</call>", '<call>{"name": "nope", "arguments": {}}</call>',
        "<trial>[]</trial>", "plain text without tags " * 4, "<answer"]


def episode(env_id: str, seed: int, junk: bool) -> dict:
    """One episode played in-process: its messages and every expected answer."""
    env = gym.make(env_id)
    obs, info = env.reset(seed=seed)
    expected = [[obs, info]]
    actions = []
    policy = GoldenPlanPolicy(env)
    done, i = False, 0
    while not done:
        action = JUNK[i % len(JUNK)] if junk else policy.act()
        obs, reward, term, trunc, info = env.step(action)
        actions.append(action)
        expected.append([obs, reward, term, trunc, info])
        done, i = term or trunc, i + 1
    env.close()
    return {"seed": seed, "junk": junk, "actions": actions, "expected": expected}


def pool(env_id: str, n: int, junk_every: int) -> list[dict]:
    return [episode(env_id, seed, junk=bool(junk_every) and seed % junk_every == junk_every - 1)
            for seed in range(n)]


def _answer(result) -> list:
    obs = result.observation
    return [obs.text, float(result.reward or 0.0), bool(obs.done and not obs.truncated),
            bool(obs.truncated), obs.info()]


async def play_session(url: str, env_id: str, episodes: list[dict], first: int, stride: int,
                       deadline: float, stats: dict, connected: mp.Value) -> None:
    from tool_gym.serving.client import ToolMasterClient
    from tool_gym.serving.models import ToolAction

    client = ToolMasterClient(url, message_timeout_s=30.0)
    try:
        await client.connect()
        reply = await client.reset(seed=0, env_id=env_id)  # a refused session fails here
    except Exception as e:  # noqa: BLE001 - counted and reported, never hidden
        stats["refused" if "CAPACITY" in str(e) else "connect_errors"] += 1
        return
    del reply
    with connected.get_lock():
        connected.value += 1
    k = first
    while time.monotonic() < deadline:
        ep = episodes[k % len(episodes)]
        k += stride
        stats["episodes"] += 1
        try:
            got = (await client.reset(seed=ep["seed"], env_id=env_id)).observation
            crossed = [got.text, got.info()] != ep["expected"][0]
            for action, want in zip(ep["actions"], ep["expected"][1:], strict=True):
                t0 = time.perf_counter()
                result = await client.step(ToolAction(message=action))
                stats["latency"].append(time.perf_counter() - t0)
                stats["steps"] += 1
                crossed = crossed or _answer(result) != want
            stats["crossed"] += int(crossed)
        except Exception as e:  # noqa: BLE001
            stats["lost"] += 1
            stats["errors"].append(f"{type(e).__name__}: {e}"[:200])
            break
    await client.close()


def client_process(url: str, env_id: str, episodes: list[dict], sessions: range, total: int,
                   seconds: float, ready: mp.Queue, go: mp.Event, queue: mp.Queue,
                   connected: mp.Value) -> None:
    import tool_gym.serving.client  # noqa: F401  (openenv's import takes seconds: not timed)

    async def run() -> dict:
        stats = {"episodes": 0, "steps": 0, "lost": 0, "crossed": 0, "refused": 0,
                 "connect_errors": 0, "latency": [], "errors": []}
        deadline = time.monotonic() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(*[play_session(url, env_id, episodes, i, total, deadline, stats,
                                            connected)
                               for i in sessions])
        stats["elapsed"] = time.perf_counter() - t0
        return stats

    ready.put(os.getpid())
    go.wait(timeout=300)
    queue.put(asyncio.run(run()))


def probe_over_cap(url: str, connected: mp.Value, sessions: int, timeout: float) -> bool | None:
    """Once every session is in, open one more: it must be refused (None: they never all
    got in before ``timeout``)."""
    deadline = time.monotonic() + timeout
    while connected.value < sessions:
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)

    async def run() -> bool:
        from websockets.asyncio.client import connect

        # a refused session gets CAPACITY_REACHED as its first message, then the close
        async with connect(url.replace("http://", "ws://") + "/ws") as ws:
            try:
                first = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            except TimeoutError:  # nothing said: the session was accepted
                return False
            return first.get("data", {}).get("code") == "CAPACITY_REACHED"

    return asyncio.run(run())


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of a process and its children so far; None without psutil.
    On a loaded machine wall-clock rates measure the machine; the server's CPU per step
    measures the server."""
    try:
        import psutil
    except ImportError:
        return None
    proc = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [proc, *proc.children(recursive=True)])


def load_phase(url: str, env_id: str, episodes: list[dict], sessions: int, procs: int,
               seconds: float, probe: bool, server_pid: int) -> dict:
    ctx = mp.get_context("spawn")
    queue, ready, go, connected = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Value("i", 0)
    workers = [ctx.Process(target=client_process, args=(
        url, env_id, episodes, range(p, sessions, procs), sessions, seconds, ready, go, queue,
        connected))
        for p in range(procs)]
    for w in workers:
        w.start()
    for _ in workers:  # every process has imported its client: start them together
        ready.get(timeout=300)
    cpu0 = cpu_seconds(server_pid)
    go.set()
    over_cap_refused = probe_over_cap(url, connected, sessions, seconds / 2) if probe else None
    parts = [queue.get(timeout=seconds + 120) for _ in workers]
    cpu1 = cpu_seconds(server_pid)
    for w in workers:
        w.join(timeout=30)
    latency = sorted(x for p in parts for x in p["latency"])
    elapsed = max(p["elapsed"] for p in parts)
    steps = sum(p["steps"] for p in parts)
    return {
        "sessions": sessions, "client_processes": procs, "seconds": round(elapsed, 2),
        "episodes": sum(p["episodes"] for p in parts), "steps": steps,
        "steps_per_s": round(steps / elapsed, 1),
        "server_cpu_s": None if cpu0 is None else round(cpu1 - cpu0, 2),
        "steps_per_server_cpu_s": None if cpu0 is None or cpu1 == cpu0
        else round(steps / (cpu1 - cpu0), 1),
        "p50_ms": round(1e3 * latency[len(latency) // 2], 3) if latency else None,
        "p99_ms": round(1e3 * latency[int(len(latency) * 0.99)], 3) if latency else None,
        "lost_episodes": sum(p["lost"] for p in parts),
        "crossed_episodes": sum(p["crossed"] for p in parts),
        "refused": sum(p["refused"] for p in parts),
        "connect_errors": sum(p["connect_errors"] for p in parts),
        "over_cap_refused": over_cap_refused,
        "errors": [e for p in parts for e in p["errors"]][:5],
    }


def single_session(url: str, env_id: str, episodes: list[dict], rounds: int) -> dict:
    """Median step latency in-process and through the server, same episodes, interleaved."""
    from tool_gym.serving.client import ToolMasterClient
    from tool_gym.serving.models import ToolAction

    env = gym.make(env_id)
    local: list[float] = []
    remote: list[float] = []
    mismatches = 0

    async def run() -> None:
        nonlocal mismatches
        client = ToolMasterClient(url)
        await client.connect()
        for _ in range(rounds):
            for ep in episodes:
                env.reset(seed=ep["seed"])
                await client.reset(seed=ep["seed"], env_id=env_id)
                for action, want in zip(ep["actions"], ep["expected"][1:], strict=True):
                    t0 = time.perf_counter()
                    env.step(action)
                    local.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    result = await client.step(ToolAction(message=action))
                    remote.append(time.perf_counter() - t0)
                    mismatches += int(_answer(result) != want)
        await client.close()

    asyncio.run(run())
    env.close()
    p50_local, p50_remote = statistics.median(local), statistics.median(remote)
    return {"steps": len(remote), "p50_local_ms": round(1e3 * p50_local, 4),
            "p50_remote_ms": round(1e3 * p50_remote, 4),
            "p50_added_ms": round(1e3 * (p50_remote - p50_local), 4),
            "p99_remote_ms": round(1e3 * sorted(remote)[int(len(remote) * 0.99)], 4),
            "mismatches": mismatches}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(env_id: str, port: int, sessions: int, workers: int,
                 log_file) -> subprocess.Popen:
    """The server, once each of its ``workers`` processes has started its app (uvicorn
    logs that at info level; WebSocket sessions log only when they open and close)."""
    import httpx

    cmd = [sys.executable, "-m", "tool_gym.cli", "serve", env_id, "--host", HOST, "--port",
           str(port), "--max-sessions", str(sessions), "--workers", str(workers),
           "--log-level", "info"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log_file)
    deadline = time.monotonic() + 300  # importing openenv (gradio) takes seconds
    while time.monotonic() < deadline:
        log_file.seek(0)
        started = log_file.read().count("Application startup complete")
        try:
            if (started >= workers and httpx.get(f"http://{HOST}:{port}/health",
                                                 timeout=1).status_code == 200):
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start in 300 s")


def to_markdown(r: dict) -> str:
    runs = r["runs"]

    def row(measure: str, cell, goal: str) -> str:
        return f"| {measure} | " + " | ".join(cell(x) for x in runs) + f" | {goal} |"

    lines = [
        f"# serve_load ({r['env_id']}, {r['cpus']} CPUs, {r['machine']}, load average "
        f"{r['load_average'][0]:.1f} at the end)", "",
        f"`{r['command']}`", "",
        "| measure | " + " | ".join(f"{x['workers']} server process(es)" for x in runs)
        + " | goal |", "|---|" + "---|" * len(runs) + "---|",
        row("added latency per step, p50, 1 session",
            lambda x: f"{x['p50_added_ms']:.3f} ms ({x['single_session']['p50_remote_ms']:.3f} "
                      f"through the server, {x['single_session']['p50_local_ms']:.4f} "
                      "in-process)", "<= 1 ms"),
        row(f"golden steps/s, {r['sessions']} sessions",
            lambda x: f"{x['steps_per_s']:,.0f}", ">= 5,000"),
        row("golden steps per CPU-second of the server (all its processes)",
            lambda x: f"{x['load_golden']['steps_per_server_cpu_s'] or 0:,.0f} "
                      f"({x['load_golden']['server_cpu_s']} CPU-s)", "reported"),
        row("step latency p50 / p99 under that load",
            lambda x: f"{x['p50_ms']:.2f} / {x['p99_ms']:.2f} ms", "reported"),
        row("steps/s with junk episodes (1 in 4)",
            lambda x: f"{x['load_mixed']['steps_per_s']:,.0f} (p50 "
                      f"{x['load_mixed']['p50_ms']:.2f}, p99 {x['load_mixed']['p99_ms']:.2f} ms)",
            "reported"),
        row("episodes / lost / crossed",
            lambda x: f"{x['episodes']} / {x['lost_episodes']} / {x['crossed_episodes']}",
            "lost = crossed = 0"),
        row(f"sessions refused (of {r['sessions']}) / session over the cap refused",
            lambda x: f"{x['refused_sessions']} / {x['load_golden']['over_cap_refused']}",
            "0 / True (1 process; the cap is per process)"),
    ]
    if len(runs) > 1:
        lines += ["", f"Golden steps/s, {runs[-1]['workers']} processes over 1: "
                      f"{r['steps_per_s_ratio']:.2f}x."]
    return "\n".join(lines) + "\n"


def measure(args: argparse.Namespace, workers: int, golden: list[dict], mixed: list[dict],
            seconds: float) -> dict:
    """Every phase against a server of ``workers`` processes."""
    port = free_port()
    server_log = tempfile.TemporaryFile(mode="w+")
    server = start_server(args.env, port, args.sessions, workers, server_log)
    url = f"http://{HOST}:{port}"
    try:
        log.info("%d server process(es); one session: in-process vs server", workers)
        one = single_session(url, args.env, golden[:32] + mixed[3:32:4], 2 if args.quick else 6)
        log.info("p50 added %.3f ms", one["p50_added_ms"])
        log.info("%d sessions, golden episodes, %.0f s", args.sessions, seconds)
        gold = load_phase(url, args.env, golden, args.sessions, args.client_processes, seconds,
                          probe=workers == 1, server_pid=server.pid)
        log.info("%s steps/s, p50 %s ms, p99 %s ms", gold["steps_per_s"], gold["p50_ms"],
                 gold["p99_ms"])
        log.info("%d sessions, one junk episode in four, %.0f s", args.sessions, seconds)
        mix = load_phase(url, args.env, mixed, args.sessions, args.client_processes, seconds,
                         probe=False, server_pid=server.pid)
        log.info("%s steps/s, p50 %s ms, p99 %s ms", mix["steps_per_s"], mix["p50_ms"],
                 mix["p99_ms"])
    finally:
        server.terminate()
        server.wait(timeout=60)
        server_log.seek(0)
        server_errors = [line for line in server_log.read().splitlines() if "ERROR" in line]
    return {
        "workers": workers,
        "episodes": gold["episodes"] + mix["episodes"],
        "lost_episodes": gold["lost_episodes"] + mix["lost_episodes"],
        "crossed_episodes": gold["crossed_episodes"] + mix["crossed_episodes"]
        + one["mismatches"],
        "refused_sessions": gold["refused"] + mix["refused"],
        "steps_per_s": gold["steps_per_s"], "p50_ms": gold["p50_ms"], "p99_ms": gold["p99_ms"],
        "p50_added_ms": one["p50_added_ms"],
        "single_session": one, "load_golden": gold, "load_mixed": mix,
        "server_error_lines": len(server_errors), "server_errors": server_errors[:5],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="8 s per load phase")
    parser.add_argument("--seconds", type=float, default=None, help="per load phase")
    parser.add_argument("--env", default="ToolMaster/Seen-v0")
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="server processes (tool-gym serve --workers); each count is "
                             "measured in turn, side by side")
    parser.add_argument("--out", default="benchmarks/results/serve_load.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    seconds = args.seconds or (8.0 if args.quick else 30.0)
    golden = pool(args.env, 128, junk_every=0)
    mixed = pool(args.env, 128, junk_every=4)
    runs = [measure(args, workers, golden, mixed, seconds) for workers in args.workers]
    last = runs[-1]
    result = {
        "command": "python benchmarks/serve_load.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "env_id": args.env, "cpus": os.cpu_count(), "machine": platform.machine(),
        "python": platform.python_version(), "seconds_per_phase": seconds,
        "sessions": args.sessions, "client_processes": args.client_processes,
        # episodes and failures of every run; speed and latency of the last
        **{k: sum(x[k] for x in runs) for k in ("episodes", "lost_episodes",
                                                 "crossed_episodes", "refused_sessions")},
        **{k: last[k] for k in ("workers", "steps_per_s", "p50_ms", "p99_ms", "p50_added_ms")},
        "steps_per_s_ratio": round(last["steps_per_s"] / max(runs[0]["steps_per_s"], 1e-9), 3),
        "runs": runs,
        "load_average": os.getloadavg(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(to_markdown(result))
    print(to_markdown(result))
    return result


if __name__ == "__main__":
    main()
