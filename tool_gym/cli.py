"""``tool-gym``: list the registered envs, play one by hand, or check a domain."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import gymnasium as gym

from tool_gym.registration import domains, env_ids, families


def _describe(env_id: str) -> tuple[str, str, int | str]:
    spec = gym.spec(env_id)
    drift = " drift" if spec.kwargs.get("drift_level") or spec.kwargs.get("mutations") else ""
    for family in families():  # generated domains: a new one per API seed
        if spec.entry_point == family.entry_point:
            return f"{family.prefix}_*", "generated" + drift, "4-12"
    names = spec.kwargs.get("domains") or list(domains("seen"))
    table = domains()
    split = {table[n].split for n in names}
    label = ",".join(sorted(split)) + drift
    dom = names[0] if len(names) == 1 else f"{len(names)} domains"
    return dom, label, sum(len(table[n].tools) for n in names)


def cmd_list(args: argparse.Namespace, out=sys.stdout) -> int:
    rows = [(i, *_describe(i)) for i in env_ids()]
    width = max(len(r[0]) for r in rows)
    out.write(f"{'id':<{width}}  {'domain':<14} {'split':<14} tools\n")
    for env_id, dom, split, n in rows:
        out.write(f"{env_id:<{width}}  {dom:<14} {split:<14} {n}\n")
    return 0


def cmd_play(args: argparse.Namespace, read: Callable[[str], str] = input, out=sys.stdout) -> int:
    # Steps the env itself, not through tool_gym.episode.play: the player is a person, not
    # a recording, who may quit mid-episode (an empty line), and the loop has no way for a
    # policy to stop an episode the env has not ended other than "context".
    env = gym.make(args.env_id, max_turns=args.max_turns)
    obs, info = env.reset(seed=args.seed)
    out.write(f"{obs}\n\n(type a message with <trial>, <call> or <answer> tags; "
              "an empty line or Ctrl-D quits)\n")
    total = 0.0
    while True:
        try:
            action = read("> ")
        except EOFError:
            break
        if not action.strip():
            break
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        out.write(f"{obs}\n(reward {reward:+.2f}, terms {info['reward_terms']})\n")
        if terminated or truncated:
            out.write(f"episode over: success={info.get('success')} return={total:+.2f}\n")
            break
    env.close()
    return 0


def cmd_golden(args: argparse.Namespace, out=sys.stdout) -> int:
    """The scripted golden-plan teacher over every registered env: a success table."""
    from tool_gym.oracle import GoldenPlanPolicy, run_episode

    out.write(f"{'id':<34} {'episodes':>8} {'success':>8} {'turns':>6}\n")
    for env_id in env_ids():
        env = gym.make(env_id)
        results = [run_episode(env, GoldenPlanPolicy(env), seed=args.seed + i)
                   for i in range(args.episodes)]
        env.close()
        rate = sum(r["success"] for r in results) / len(results)
        turns = sum(r["turns"] for r in results) / len(results)
        out.write(f"{env_id:<34} {len(results):>8} {rate:>8.2f} {turns:>6.2f}\n")
    return 0


def _parse_kwargs(pairs: Sequence[str]) -> dict:
    import json

    kwargs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env-arg expects KEY=VALUE, got {pair!r}")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return kwargs


def cmd_serve(args: argparse.Namespace, out=sys.stdout) -> int:
    """Serve an id through OpenEnv (needs ``pip install "toolmaster-gym[serve]"``)."""
    try:
        from tool_gym.serving.server import ServeConfig, serve
    except ImportError as e:
        raise SystemExit(f"tool-gym serve needs the serve extra: pip install "
                         f"\"toolmaster-gym[serve]\" ({e})") from e
    config = ServeConfig(args.env_id, _parse_kwargs(args.env_arg), env_ids=args.also,
                         client_kwargs=not args.locked)
    per = (f"{args.workers} processes, max {args.max_sessions} sessions each"
           if args.workers > 1 else f"max {args.max_sessions} sessions")
    out.write(f"serving {args.env_id} on ws://{args.host}:{args.port}/ws ({per})\n")
    out.flush()
    serve(config, host=args.host, port=args.port, max_sessions=args.max_sessions,
          session_timeout_s=args.session_timeout, max_body_bytes=args.max_body_bytes,
          log_level=args.log_level, workers=args.workers,
          ws_per_message_deflate=args.ws_per_message_deflate, loop=args.loop)
    return 0


def load_domain(target: str):
    """A domain from ``module:ATTR`` (a Domain, a list of one, or a function returning one) or
    from the name of a registered domain."""
    import importlib

    from tool_gym.domain import Domain
    from tool_gym.registration import as_domains, get_domain

    if ":" not in target:
        return get_domain(target)
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    if not hasattr(module, attr):
        raise SystemExit(f"tool-gym check: module {module_name!r} has no {attr!r}")
    value = getattr(module, attr)
    found = [value] if isinstance(value, Domain) else as_domains(value)
    if len(found) != 1:
        raise SystemExit(f"tool-gym check: {target} holds {len(found)} domains; name one")
    return found[0]


def cmd_check(args: argparse.Namespace, out=sys.stdout) -> int:
    """The contract of the built-in domains on one domain: a report, non-zero on failure."""
    import os

    from tool_gym.contract import check_domain

    sys.path.insert(0, os.getcwd())  # module:ATTR in the current folder, as python -m does
    report = check_domain(load_domain(args.target), checks=args.only or None,
                          episodes=args.episodes, fuzz=args.fuzz)
    out.write(f"{report}\n")
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tool-gym", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered ids with domain, split and tool count")
    play = sub.add_parser("play", help="play an env by hand")
    play.add_argument("env_id")
    play.add_argument("--seed", type=int, default=0)
    play.add_argument("--max-turns", type=int, default=8)
    golden = sub.add_parser("golden", help="run the scripted golden-plan teacher on every env")
    golden.add_argument("--episodes", type=int, default=20)
    golden.add_argument("--seed", type=int, default=0)
    check = sub.add_parser("check", help="check a domain against the contract of the built-in "
                                         "domains (exit status 1 on failure)")
    check.add_argument("target", help="module:ATTR naming a Domain (or a registered name)")
    check.add_argument("--episodes", type=int, default=200, help="golden-plan episodes")
    check.add_argument("--fuzz", type=int, default=2000, help="fuzz messages per env")
    check.add_argument("--only", action="append", default=[], metavar="CHECK",
                       help="run only this check (repeatable): validate, check_env, "
                            "determinism, fuzz, golden, trials, dry_run, drift, explorer")
    srv = sub.add_parser("serve", help="serve an id over HTTP/WebSocket through OpenEnv")
    srv.add_argument("env_id")
    srv.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE",
                     help="gym.make keyword of the served id (VALUE is JSON if it parses); "
                          "repeatable")
    srv.add_argument("--also", action="append", default=[], metavar="ID",
                     help="another id a client may ask for in its reset ('*': any); repeatable")
    srv.add_argument("--locked", action="store_true",
                     help="refuse env_kwargs sent by clients (sessions play --env-arg only)")
    srv.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--max-sessions", type=int, default=64,
                     help="concurrent sessions (per worker process); one more is refused")
    srv.add_argument("--workers", type=int, default=1,
                     help="server processes behind the one port (uvicorn workers); a "
                          "session stays in the process that accepted it")
    srv.add_argument("--session-timeout", type=float, default=300.0,
                     help="seconds before an idle session is reaped")
    srv.add_argument("--max-body-bytes", type=int, default=256 * 1024,
                     help="largest HTTP body or WebSocket message")
    srv.add_argument("--ws-per-message-deflate", action="store_true",
                     help="offer WebSocket per-message deflate (off by default: it costs "
                          "more CPU per step than it saves on these small messages)")
    srv.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"],
                     help="uvicorn's event loop (auto: uvloop when installed)")
    srv.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    return {"list": cmd_list, "play": cmd_play, "golden": cmd_golden,
            "serve": cmd_serve, "check": cmd_check}[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
