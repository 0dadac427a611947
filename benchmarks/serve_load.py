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
by side in one run. ``--variants`` measures each count once per server variant, in
alternating order: ``deflate`` is the server and client with WebSocket per-message
deflate on asyncio's loop (as before: OpenEnv's ``EnvClient`` asks for deflate and uvicorn
offers it by default), ``plain`` the defaults of ``tool-gym serve`` and
``ToolMasterClient`` (no deflate) on asyncio's loop, ``uvloop`` the same on uvloop (what
``tool-gym serve`` picks when uvloop is installed; skipped when it is not). The top-level
speed and latency are those of the last run of the default variant (``uvloop`` when
measured, else ``plain``), the episode counts (lost and crossed included) those of all.

**Floor**: the same client code (``ToolMasterClient`` sessions in the same client
processes) against a bare ``websockets`` server in one process that answers every
message with a recorded reply of the real server (the same JSON, so the same sizes) and
does nothing else: the one-session round trip (``floor_p50_ms``, and
``floor_p50_added_ms`` over the in-process step) and the 64-session rate
(``floor_steps_per_s``) that Python WebSockets reach on this machine at all. Also
reported: the seconds (wall and CPU) a fresh process takes to import ``openenv.core`` as
OpenEnv ships it (with its Gradio web UI) and to import ``tool_gym.serving.server``, and
the env alone: the same golden episodes replayed in-process on one thread (``in_process``:
golden steps per second and per CPU-second, resets included), the most one core can step.

    python benchmarks/serve_load.py --quick --out benchmarks/results/serve_load.json

Goals: p50 added latency per step <= 1 ms (one session); >= 5,000 golden steps/s with
64 sessions; 0 lost or crossed episodes.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
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


def make_client(url: str, compression: str | None, **kwargs):
    from tool_gym.serving.client import ToolMasterClient

    client = ToolMasterClient(url, **kwargs)
    client.ws_compression = compression
    return client


async def play_session(url: str, env_id: str, episodes: list[dict], first: int, stride: int,
                       deadline: float, stats: dict, connected: mp.Value,
                       compression: str | None = None, check: bool = True) -> None:
    from tool_gym.serving.models import ToolAction

    client = make_client(url, compression, message_timeout_s=30.0)
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
            crossed = check and [got.text, got.info()] != ep["expected"][0]
            for action, want in zip(ep["actions"], ep["expected"][1:], strict=True):
                t0 = time.perf_counter()
                result = await client.step(ToolAction(message=action))
                stats["latency"].append(time.perf_counter() - t0)
                stats["steps"] += 1
                crossed = crossed or (check and _answer(result) != want)
            stats["crossed"] += int(crossed)
        except Exception as e:  # noqa: BLE001
            stats["lost"] += 1
            stats["errors"].append(f"{type(e).__name__}: {e}"[:200])
            break
    await client.close()


def client_process(url: str, env_id: str, episodes: list[dict], sessions: range, total: int,
                   seconds: float, ready: mp.Queue, go: mp.Event, queue: mp.Queue,
                   connected: mp.Value, compression: str | None, check: bool) -> None:
    import tool_gym.serving.client  # noqa: F401  (openenv's import takes seconds: not timed)

    async def run() -> dict:
        stats = {"episodes": 0, "steps": 0, "lost": 0, "crossed": 0, "refused": 0,
                 "connect_errors": 0, "latency": [], "errors": []}
        deadline = time.monotonic() + seconds
        t0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*[play_session(url, env_id, episodes, i, total, deadline, stats,
                                            connected, compression, check)
                               for i in sessions])
        stats["elapsed"] = time.perf_counter() - t0
        stats["cpu_s"] = time.process_time() - cpu0
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
               seconds: float, probe: bool, server_pid: int, compression: str | None = None,
               check: bool = True) -> dict:
    ctx = mp.get_context("spawn")
    queue, ready, go, connected = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Value("i", 0)
    workers = [ctx.Process(target=client_process, args=(
        url, env_id, episodes, range(p, sessions, procs), sessions, seconds, ready, go, queue,
        connected, compression, check))
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
        "client_cpu_s": round(sum(p["cpu_s"] for p in parts), 2),
        "steps_per_client_cpu_s": round(steps / max(sum(p["cpu_s"] for p in parts), 1e-9), 1),
        "p50_ms": round(1e3 * latency[len(latency) // 2], 3) if latency else None,
        "p99_ms": round(1e3 * latency[int(len(latency) * 0.99)], 3) if latency else None,
        "lost_episodes": sum(p["lost"] for p in parts),
        "crossed_episodes": sum(p["crossed"] for p in parts),
        "refused": sum(p["refused"] for p in parts),
        "connect_errors": sum(p["connect_errors"] for p in parts),
        "over_cap_refused": over_cap_refused,
        "errors": [e for p in parts for e in p["errors"]][:5],
    }


def single_session(url: str, env_id: str, episodes: list[dict], rounds: int,
                   compression: str | None = None, check: bool = True) -> dict:
    """Median step latency in-process and through the server, same episodes, interleaved."""
    from tool_gym.serving.models import ToolAction

    env = gym.make(env_id)
    local: list[float] = []
    remote: list[float] = []
    mismatches = 0

    async def run() -> None:
        nonlocal mismatches
        client = make_client(url, compression)
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
                    mismatches += int(check and _answer(result) != want)
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


def wait_ready(proc: subprocess.Popen, port: int, log_file, started: int) -> float:
    """Seconds until the server answers ``/health`` once ``started`` processes have logged
    uvicorn's startup line (0: do not wait for the line)."""
    import httpx

    t0 = time.monotonic()
    while time.monotonic() < t0 + 300:  # imports take seconds on a busy machine
        log_file.seek(0)
        if log_file.read().count("Application startup complete") >= started:
            try:
                if httpx.get(f"http://{HOST}:{port}/health", timeout=1).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    log_file.seek(0)
    raise RuntimeError(f"the server did not start: {log_file.read()[-2000:]}")


#: ``tool-gym serve`` options of each variant (``deflate``: as OpenEnv's defaults were).
VARIANTS = {"deflate": ["--ws-per-message-deflate", "--loop", "asyncio"],
            "plain": ["--loop", "asyncio"],
            "uvloop": ["--loop", "uvloop"]}


def start_server(env_id: str, port: int, sessions: int, workers: int, variant: str,
                 log_file) -> tuple[subprocess.Popen, float]:
    """The server, once each of its ``workers`` processes has started its app (uvicorn
    logs that at info level; WebSocket sessions log only when they open and close), and
    the seconds that took."""
    cmd = [sys.executable, "-m", "tool_gym.cli", "serve", env_id, "--host", HOST, "--port",
           str(port), "--max-sessions", str(sessions), "--workers", str(workers),
           "--log-level", "info", *VARIANTS[variant]]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log_file)
    return proc, wait_ready(proc, port, log_file, workers)


# ---------------------------------------------------------------------------- the floor
def recorded_replies(episodes: list[dict]) -> dict[str, list[str]]:
    """The JSON the real server sends for each reset and step of these episodes."""
    from openenv.core.env_server.serialization import serialize_observation
    from openenv.core.env_server.types import WSObservationResponse

    from tool_gym.serving.models import ToolObservation

    def wire(obs: ToolObservation) -> str:
        return WSObservationResponse(data=serialize_observation(obs)).model_dump_json()

    out: dict[str, list[str]] = {"reset": [], "step": []}
    for ep in episodes:
        text, info = ep["expected"][0]
        out["reset"].append(wire(ToolObservation.from_step(text, info)))
        for text, reward, term, trunc, info in ep["expected"][1:]:
            out["step"].append(wire(ToolObservation.from_step(text, info, reward, term, trunc)))
    return out


def floor_server(port: int, replies_path: str) -> None:
    """A bare ``websockets`` server (one process, no deflate): each message is parsed as
    JSON and answered with the next recorded reply of its type. No app, no env."""
    from websockets.asyncio.server import serve as ws_serve

    replies = json.loads(Path(replies_path).read_text())

    async def handler(ws) -> None:
        k = {"reset": 0, "step": 0}
        async for message in ws:
            kind = "reset" if json.loads(message).get("type") == "reset" else "step"
            await ws.send(replies[kind][k[kind] % len(replies[kind])])
            k[kind] += 1

    async def run() -> None:
        async with ws_serve(handler, HOST, port, compression=None, max_size=2 ** 20):
            await asyncio.Future()

    asyncio.run(run())


def measure_floor(args: argparse.Namespace, golden: list[dict], seconds: float) -> dict:
    """The same client code against the bare server: one session, then 64 (golden)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        replies = Path(tmp, "replies.json")
        replies.write_text(json.dumps(recorded_replies(golden)))
        server_log = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen([sys.executable, __file__, "--floor-server", str(port),
                                 str(replies)], stdout=subprocess.DEVNULL, stderr=server_log)
        # only the /ws path exists: readiness is the port accepting a connection
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise RuntimeError("the floor server did not start") from None
                time.sleep(0.1)
        url = f"http://{HOST}:{port}"
        load0 = os.getloadavg()[0]
        try:
            one = single_session(url, args.env, golden[:32], 2 if args.quick else 6,
                                 check=False)
            gold = load_phase(url, args.env, golden, args.sessions, args.client_processes,
                              seconds, probe=False, server_pid=proc.pid, check=False)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    log.info("floor: p50 %.3f ms one session, %s steps/s with %d sessions",
             one["p50_remote_ms"], gold["steps_per_s"], args.sessions)
    return {"variant": "floor", "workers": 1, "load_average_at_start": load0,
            "steps_per_s": gold["steps_per_s"], "p50_ms": gold["p50_ms"],
            "p99_ms": gold["p99_ms"], "p50_added_ms": one["p50_added_ms"],
            "single_session": one, "load_golden": gold}


def in_process_rate(env_id: str, episodes: list[dict], seconds: float) -> dict:
    """The env alone: the same golden episodes (reset, then the recorded actions) replayed
    in this process on one thread, as fast as it goes. No server can step faster per core
    than this."""
    env = gym.make(env_id)
    steps = episodes_played = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        ep = episodes[episodes_played % len(episodes)]
        env.reset(seed=ep["seed"])
        for action in ep["actions"]:
            env.step(action)
        steps += len(ep["actions"])
        episodes_played += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    env.close()
    return {"steps": steps, "episodes": episodes_played, "steps_per_s": round(steps / wall, 1),
            "steps_per_cpu_s": round(steps / cpu, 1)}


def import_seconds(rounds: int = 2) -> dict:
    """Wall and CPU seconds of a fresh interpreter importing ``openenv.core`` as shipped
    (which imports gradio) and ``tool_gym.serving.server`` (which does not), alternating."""
    import resource

    codes = {"openenv_core": "import openenv.core",
             "tool_gym_serving": "import tool_gym.serving.server"}
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in codes}
    for _ in range(rounds):
        for name, code in codes.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code + "; import sys; "
                            "assert ('gradio' in sys.modules) == " + str(name == "openenv_core")],
                           check=True)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            times[name].append((wall, cpu))
    return {name: {"wall_s": round(statistics.median(w for w, _ in t), 2),
                   "cpu_s": round(statistics.median(c for _, c in t), 2)}
            for name, t in times.items()}


# ---------------------------------------------------------------------------- the report
def label(x: dict) -> str:
    if x["variant"] == "floor":
        return "floor: bare websockets server, 1 process"
    what = {"deflate": "deflate, asyncio (as before)", "plain": "no deflate, asyncio",
            "uvloop": "no deflate, uvloop"}[x["variant"]]
    return f"{x['workers']} process{'es' if x['workers'] > 1 else ''}, {what}"


def to_markdown(r: dict) -> str:
    runs = r["runs"]
    served = [x for x in runs if x["variant"] != "floor"]

    def row(measure: str, cell, goal: str, among=runs) -> str:
        return f"| {measure} | " + " | ".join(
            cell(x) if x in among else "n/a" for x in runs) + f" | {goal} |"

    lines = [
        f"# serve_load ({r['env_id']}, {r['cpus']} CPUs, {r['machine']}, load average "
        f"{r['load_average'][0]:.1f} at the end)", "",
        f"`{r['command']}`", "",
        "| measure | " + " | ".join(label(x) for x in runs) + " | goal |",
        "|---|" + "---|" * len(runs) + "---|",
        row("load average (1 min) when the run started",
            lambda x: f"{x['load_average_at_start']:.1f}", "reported"),
        row("added latency per step, p50, 1 session",
            lambda x: f"{x['p50_added_ms']:.3f} ms ({x['single_session']['p50_remote_ms']:.3f} "
                      f"round trip, {x['single_session']['p50_local_ms']:.4f} "
                      "in-process)", "<= 1 ms"),
        row(f"golden steps/s, {r['sessions']} sessions",
            lambda x: f"{x['steps_per_s']:,.0f}", ">= 5,000"),
        row("golden steps per CPU-second of the server (all its processes)",
            lambda x: f"{x['load_golden']['steps_per_server_cpu_s'] or 0:,.0f} "
                      f"({x['load_golden']['server_cpu_s']} CPU-s)", "reported"),
        row("golden steps per CPU-second of the client processes (load generator)",
            lambda x: f"{x['load_golden']['steps_per_client_cpu_s']:,.0f} "
                      f"({x['load_golden']['client_cpu_s']} CPU-s)", "reported"),
        row("step latency p50 / p99 under that load",
            lambda x: f"{x['p50_ms']:.2f} / {x['p99_ms']:.2f} ms", "reported"),
        row("steps/s with junk episodes (1 in 4)",
            lambda x: f"{x['load_mixed']['steps_per_s']:,.0f} (p50 "
                      f"{x['load_mixed']['p50_ms']:.2f}, p99 {x['load_mixed']['p99_ms']:.2f} ms)",
            "reported", served),
        row("server start (until /health answers)", lambda x: f"{x['startup_s']:.1f} s",
            "reported", served),
        row("episodes / lost / crossed",
            lambda x: f"{x['episodes']} / {x['lost_episodes']} / {x['crossed_episodes']}",
            "lost = crossed = 0", served),
        row(f"sessions refused (of {r['sessions']}) / session over the cap refused",
            lambda x: f"{x['refused_sessions']} / {x['load_golden']['over_cap_refused']}",
            "0 / True (1 process; the cap is per process)", served),
    ]
    imp, env = r["import_s"], r["in_process"]
    lines += ["", f"The env alone (in-process, one thread, the same golden episodes replayed: "
              f"reset and steps): {env['steps_per_s']:,.0f} golden steps/s, "
              f"{env['steps_per_cpu_s']:,.0f} per CPU-second.", "", "Import in a fresh process (median of 2, wall / CPU): `import openenv.core` "
              f"(with gradio) {imp['openenv_core']['wall_s']:.2f} / "
              f"{imp['openenv_core']['cpu_s']:.2f} s; `import tool_gym.serving.server` "
              f"{imp['tool_gym_serving']['wall_s']:.2f} / {imp['tool_gym_serving']['cpu_s']:.2f} s."]
    return "\n".join(lines) + "\n"


def measure(args: argparse.Namespace, workers: int, variant: str, golden: list[dict],
            mixed: list[dict], seconds: float) -> dict:
    """Every phase against a server of ``workers`` processes (``variant`` ``deflate``:
    per-message deflate offered by the server and asked for by the clients)."""
    compression = "deflate" if variant == "deflate" else None
    port = free_port()
    server_log = tempfile.TemporaryFile(mode="w+")
    load0 = os.getloadavg()[0]
    server, startup = start_server(args.env, port, args.sessions, workers, variant,
                                   server_log)
    url = f"http://{HOST}:{port}"
    try:
        log.info("%d server process(es), %s; one session: in-process vs server", workers,
                 variant)
        one = single_session(url, args.env, golden[:32] + mixed[3:32:4], 2 if args.quick else 6,
                             compression)
        log.info("p50 added %.3f ms", one["p50_added_ms"])
        log.info("%d sessions, golden episodes, %.0f s", args.sessions, seconds)
        gold = load_phase(url, args.env, golden, args.sessions, args.client_processes, seconds,
                          probe=workers == 1, server_pid=server.pid, compression=compression)
        log.info("%s steps/s, p50 %s ms, p99 %s ms", gold["steps_per_s"], gold["p50_ms"],
                 gold["p99_ms"])
        log.info("%d sessions, one junk episode in four, %.0f s", args.sessions, seconds)
        mix = load_phase(url, args.env, mixed, args.sessions, args.client_processes, seconds,
                         probe=False, server_pid=server.pid, compression=compression)
        log.info("%s steps/s, p50 %s ms, p99 %s ms", mix["steps_per_s"], mix["p50_ms"],
                 mix["p99_ms"])
    finally:
        server.terminate()
        server.wait(timeout=60)
        server_log.seek(0)
        server_errors = [line for line in server_log.read().splitlines() if "ERROR" in line]
    return {
        "variant": variant, "workers": workers, "load_average_at_start": load0,
        "startup_s": round(startup, 2),
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
    parser.add_argument("--variants", nargs="+", default=["deflate", "plain", "uvloop"],
                        choices=list(VARIANTS),
                        help="per worker count, in alternating order: per-message deflate "
                             "and asyncio's loop (as before), no deflate, no deflate and "
                             "uvloop (skipped when uvloop is not installed)")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the bare websockets server reference")
    parser.add_argument("--floor-server", nargs=2, metavar=("PORT", "REPLIES"),
                        help=argparse.SUPPRESS)  # the floor's server process
    parser.add_argument("--out", default="benchmarks/results/serve_load.json")
    args = parser.parse_args(argv)
    if args.floor_server:
        floor_server(int(args.floor_server[0]), args.floor_server[1])
        return {}
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    seconds = args.seconds or (8.0 if args.quick else 30.0)
    golden = pool(args.env, 128, junk_every=0)
    mixed = pool(args.env, 128, junk_every=4)
    if "uvloop" in args.variants and importlib.util.find_spec("uvloop") is None:
        log.warning("uvloop is not installed: its variant is skipped")
        args.variants = [v for v in args.variants if v != "uvloop"]
    imports = import_seconds()
    log.info("imports: %s", imports)
    in_process = in_process_rate(args.env, golden, min(seconds, 5.0))
    log.info("in-process: %s", in_process)
    runs = []
    for i, workers in enumerate(args.workers):
        variants = args.variants if i % 2 == 0 else args.variants[::-1]  # alternate order
        runs += [measure(args, workers, v, golden, mixed, seconds) for v in variants]
    served = list(runs)
    floor = None if args.no_floor else measure_floor(args, golden, seconds)
    if floor is not None:
        runs.append(floor)
    default = "uvloop" if "uvloop" in args.variants else "plain"  # tool-gym serve's
    main_run = [x for x in served if x["variant"] == default] or served
    last = main_run[-1]
    result = {
        "command": "python benchmarks/serve_load.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "env_id": args.env, "cpus": os.cpu_count(), "machine": platform.machine(),
        "python": platform.python_version(), "seconds_per_phase": seconds,
        "sessions": args.sessions, "client_processes": args.client_processes,
        # episodes and failures of every served run; speed and latency of the last plain one
        **{k: sum(x[k] for x in served) for k in ("episodes", "lost_episodes",
                                                   "crossed_episodes", "refused_sessions")},
        **{k: last[k] for k in ("workers", "variant", "steps_per_s", "p50_ms", "p99_ms",
                                "p50_added_ms")},
        "floor_p50_ms": floor and floor["single_session"]["p50_remote_ms"],
        "floor_p50_added_ms": floor and floor["p50_added_ms"],
        "floor_steps_per_s": floor and floor["steps_per_s"],
        "floor_steps_per_server_cpu_s": floor and floor["load_golden"]["steps_per_server_cpu_s"],
        "in_process": in_process,
        "import_s": imports,
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
