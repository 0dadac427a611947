"""Drift matrix: does drift bite, and is it discoverable?

For every mutation kind and every domain, samples tasks, applies the mutation to the tools
the task's plan uses, and plays each task with fresh and with stale docs under three
policies:

(a) ``replay``: the doc-following plan replayed without trials (what the old docs say);
(b) ``explorer``: :class:`tool_gym.explorer.ScriptedExplorer`, which knows the old-API plan
    but not the mutation and discovers the current API from the env's responses;
(c) ``golden``: the golden plan translated through the mutation (must be 100%).

    python benchmarks/drift_matrix.py --quick
    python benchmarks/drift_matrix.py --tasks 20 --out benchmarks/results/drift_matrix.json

Writes JSON, a markdown table and (when matplotlib imports) a heat-map PNG next to it.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import tool_gym  # noqa: F401  (registers the ids)
from tool_gym.behaviour import (
    OLD_ID,
    TIME_VALUE,
    ZONES,
    ZoneOut,
    shift_time,
    unit_switch,
    zone_minutes,
)
from tool_gym.domain import Domain
from tool_gym.drift import KINDS, format_targets, kind_classes, mutation_kinds
from tool_gym.env import ToolEnv
from tool_gym.explorer import DocReplayPolicy, ScriptedExplorer
from tool_gym.oracle import GoldenPlanPolicy, run_episode
from tool_gym.registration import domains, get_domain
from tool_gym.task import Ref, Task

log = logging.getLogger("drift_matrix")
POLICIES = ("golden", "replay", "explorer")
DOCS = ("fresh", "stale")
# Reported separately: compositions, not single kinds.
COMPOSITIONS = {
    "heavy (drift_level)": None,  # random 3-5 kinds per reset, random targets
    "mixed (drift_level)": None,  # the same, behaviour kinds included
    "terse_errors+rename_tool": [{"kind": "terse_errors"}, {"kind": "rename_tool"}],
    "terse_errors+rename_params": [{"kind": "terse_errors"}, {"kind": "rename_params"}],
}


def _refs(value: Any) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def targeted(kind: str, task: Task, domain: Domain) -> list[dict[str, Any]] | None:
    """The mutation of ``kind`` aimed at the tools the task's plan uses (None: not applicable)."""
    tools = list(dict.fromkeys(s.tool for s in task.plan))
    with_args = list(dict.fromkeys(s.tool for s in task.plan if s.arguments))
    read = {r.step for s in task.plan for r in _refs(s.arguments)} | {
        r.step for r in _refs(task.answer)}
    read_tools = list(dict.fromkeys(task.plan[i].tool for i in sorted(read)))
    if kind in ("rename_tool", "name_noise", "deprecate_tool", "distractor_tools", "drift_docs",
                "add_required_param"):
        return [{"kind": kind, "tools": tools}]
    if kind == "rename_params":
        return [{"kind": kind, "tools": with_args}] if with_args else None
    if kind == "reorder_params":
        many = [t for t in with_args if len(domain.tool_map[t].param_names) >= 2]
        return [{"kind": kind, "tools": many}] if many else None
    if kind == "change_format":
        targets = format_targets(domain)
        used = [(s.tool, p) for s in task.plan for p in s.arguments if p in targets.get(s.tool, {})]
        if not used:
            return None
        return [{"kind": kind, "tools": list(dict.fromkeys(t for t, _ in used)),
                 "params": list(dict.fromkeys(p for _, p in used))}]
    if kind in ("wrap_response", "rename_fields"):
        return [{"kind": kind, "tools": read_tools}] if read_tools else None
    if kind in ("terse_errors", "scramble"):
        return [{"kind": kind}]
    return _targeted_behaviour(kind, task, domain, tools, read)


def _targeted_behaviour(kind: str, task: Task, domain: Domain, tools: list[str],
                        read: set[int]) -> list[dict[str, Any]] | None:
    """Behaviour kinds, aimed where the changed behaviour meets the plan (None: it cannot)."""
    if kind == "transient_failure":
        return [{"kind": kind, "tools": tools}]
    if kind == "confirm_changes":
        changing = [t for t in tools if domain.tool_map[t].side_effects]
        return [{"kind": kind, "tools": changing}] if changing else None
    refs = [r for s in task.plan for r in _refs(s.arguments)] + _refs(task.answer)
    if kind == "paginate":  # an item read off a list that no longer comes whole
        sizes: dict[str, int] = {}
        for r in refs:
            parts = r.path.split(".")
            index = next((int(p) for p in parts if p.isdigit()), None)
            if index is None or (index == 0 and not parts[0].isdigit()):
                continue  # item 0 of a list field stays on page 1
            # a bare list result becomes a page object; else the item moves to a later page
            size = 3 if parts[0].isdigit() else min(3, index)
            tool = task.plan[r.step].tool
            sizes[tool] = min(sizes.get(tool, size), size)
        if not sizes:
            return None
        return [{"kind": kind, "tools": list(sizes), "size": min(sizes.values())}]
    if kind == "sort_order":  # an item read by position off a list of two or more
        results = _golden_results(task, domain)
        moved = []
        for r in refs:
            parts = r.path.split(".")
            cut = next((i for i, p in enumerate(parts) if p.isdigit()), None)
            if cut is None:
                continue
            listed = Ref(r.step, ".".join(parts[:cut])).resolve(results)
            if cut == 0 or (isinstance(listed, list) and len(listed) >= 2):
                moved.append(task.plan[r.step].tool)
        return [{"kind": kind, "tools": list(dict.fromkeys(moved))}] if moved else None
    if kind == "default_change":  # a choice left to its default, where another value differs
        changes = _default_changes(task, domain)
        return [{"kind": kind, "defaults": changes}] if changes else None
    if kind == "unit_note":  # a numeric field named with a unit is read
        noted = list(dict.fromkeys(task.plan[r.step].tool for r in refs
                                   if r.path and unit_switch(r.path.rsplit(".", 1)[-1])))
        return [{"kind": kind, "tools": noted}] if noted else None
    if kind == "require_session":
        return [{"kind": kind, "tools": tools}]
    if kind == "time_zone":  # a time read off a result, or passed where the zone matters
        return _zone_change(task, domain)
    if kind == "id_format":  # ids the plan takes from the query, in the old form
        literal = [v for s in task.plan for v in s.arguments.values()
                   if isinstance(v, str) and OLD_ID.match(v)]
        return [{"kind": kind}] if literal else None
    raise KeyError(kind)


def _golden_results(task: Task, domain: Domain) -> list[Any]:
    """Backend results of the task's golden plan on its own world (privileged)."""
    world, again = domain.generate(task.seed)
    results: list[Any] = []
    for step in again.plan:
        results.append(domain.tool_map[step.tool].fn(world, **step.bind(results)))
    world.close()
    return results


def _read(result: Any, paths: list[str]) -> list[Any]:
    """What the plan reads of one result (a failed path reads as a marker)."""
    out = []
    for path in paths:
        try:
            out.append(Ref(0, path).resolve([result]))
        except (KeyError, IndexError, TypeError, ValueError):
            out.append("<missing>")
    return out


def _default_changes(task: Task, domain: Domain) -> dict[str, dict[str, Any]]:
    """Per tool of the plan, an omitted enum default and another value that changes what
    the plan reads of the call (or the world it leaves), on the task's world."""
    world, again = domain.generate(task.seed)
    results: list[Any] = []
    out: dict[str, dict[str, Any]] = {}
    refs = [r for s in again.plan for r in _refs(s.arguments)] + _refs(again.answer)
    for i, step in enumerate(again.plan):
        paths = [r.path for r in refs if r.step == i]
        spec = domain.tool_map[step.tool]
        args = step.bind(results)
        for p, v in spec.parameters["properties"].items():
            if step.tool in out or p in args or p in spec.required or "default" not in v \
                    or len(v.get("enum") or []) < 2:
                continue
            for value in v["enum"]:
                if value == v["default"]:
                    continue
                fork, probe = world.fork(), world.fork()
                try:
                    other = spec.fn(fork, **args, **{p: value})
                except Exception:  # noqa: BLE001 - a value the backend refuses also differs
                    other = None
                same = spec.fn(probe, **args)
                differs = _read(other, paths) != _read(same, paths) or (
                    spec.side_effects and fork.fingerprint() != probe.fingerprint())
                fork.close()
                probe.close()
                if differs:
                    out[step.tool] = {"param": p, "value": value}
                    break
        results.append(spec.fn(world, **args))
    world.close()
    return out


def _zone_change(task: Task, domain: Domain) -> list[dict[str, Any]] | None:
    """A ``time_zone`` mutation on the plan's tools where a call written from the old docs
    shows something else than the plan reads (a time, or what a time argument selects; for
    a tool with side effects, the world it leaves): the first zone (from one the task seed
    picks) under which any tool differs. Periodic timetables can hide a whole-hour shift,
    so each task is checked on its own world."""
    world, again = domain.generate(task.seed)
    refs = [r for s in again.plan for r in _refs(s.arguments)] + _refs(again.answer)
    results: list[Any] = []
    steps: list[tuple[int, dict[str, Any], list[str], Any]] = []
    for i, step in enumerate(again.plan):
        spec = domain.tool_map[step.tool]
        args = step.bind(results)
        timed = [p for p, v in args.items() if isinstance(v, str) and TIME_VALUE.match(v)]
        fork = world.fork()
        results.append(spec.fn(world, **args))
        reads_time = any(isinstance(v, str) and TIME_VALUE.match(v)
                         for v in _read(results[-1], [r.path for r in refs if r.step == i]))
        if timed or reads_time:
            steps.append((i, args, timed, fork))
        else:
            fork.close()
    start = task.seed % len(ZONES)
    bites: list[str] = []
    for zone in ZONES[start:] + ZONES[:start]:
        minutes = zone_minutes(zone)
        shown = ZoneOut(zone)
        for i, args, timed, fork in steps:
            spec = domain.tool_map[again.plan[i].tool]
            paths = [r.path for r in refs if r.step == i]
            old, new = fork.fork(), fork.fork()
            try:
                seen = shown(spec.fn(new, **{**args, **{p: shift_time(args[p], -minutes)
                                                        for p in timed}}))
            except Exception:  # noqa: BLE001 - a time the backend refuses also differs
                seen = None
            same = spec.fn(old, **args)
            if _read(seen, paths) != _read(same, paths) or (
                    spec.side_effects and old.fingerprint() != new.fingerprint()):
                bites.append(again.plan[i].tool)
            old.close()
            new.close()
        if bites:
            break
    for *_, fork in steps:
        fork.close()
    world.close()
    return [{"kind": "time_zone", "tools": list(dict.fromkeys(bites)), "zone": zone}] \
        if bites else None


def _composition(name: str, task: Task, domain: Domain) -> list[dict[str, Any]] | None:
    spec = COMPOSITIONS[name]
    if spec is None:
        return None
    tools = list(dict.fromkeys(s.tool for s in task.plan))
    with_args = list(dict.fromkeys(s.tool for s in task.plan if s.arguments))
    out = []
    for m in spec:
        m = dict(m)
        if m["kind"] == "rename_tool":
            m["tools"] = tools
        elif m["kind"] == "rename_params":
            if not with_args:
                return None
            m["tools"] = with_args
        out.append(m)
    return out


def _style(applied: list[dict[str, Any]], kind: str) -> str:
    for m in applied:
        if m["kind"] != kind:
            continue
        if "style" in m:
            return f"{kind}:{m['style']}"
        if "level" in m:
            return f"{kind}:{m['level']}"
        if kind == "change_format":
            return f"{kind}:{m['changes'][0]['format'].split(':')[0]}"
        for key in ("wraps", "styles", "docs"):
            if key in m:
                first = next(iter(m[key].values()))
                return f"{kind}:{first['style'] if isinstance(first, dict) else first}"
    return kind


def run_cell(args: tuple[str, str, int, int, int]) -> list[dict[str, Any]]:
    """All episodes of one (domain, row) cell."""
    domain_name, row, n_tasks, seed, max_turns = args
    domain = get_domain(domain_name)
    env = ToolEnv(domains=[domain_name], split="all", max_turns=max_turns, trial_budget=8)
    rng = np.random.default_rng([seed, sum(map(ord, domain_name)), sum(map(ord, row))])
    out: list[dict[str, Any]] = []
    attempts = 0
    while len(out) < n_tasks * len(DOCS) and attempts < n_tasks * 20:
        attempts += 1
        task_seed = int(rng.integers(0, 10**9))
        world, task = domain.generate(task_seed)
        world.close()
        if row in KINDS:
            mutations, level = targeted(row, task, domain), None
            if mutations is None:
                continue
        else:
            mutations, level = _composition(row, task, domain), row.split(" ")[0]
            if mutations is None and COMPOSITIONS[row] is not None:
                continue
        episode_seed = int(rng.integers(0, 2**31))
        for docs in DOCS:
            env.mutations = mutations
            env.drift_level = level if mutations is None else None
            env.stale_docs = docs == "stale"
            rec: dict[str, Any] = {"domain": domain_name, "row": row, "docs": docs,
                                   "task_seed": task_seed}
            for name in POLICIES:
                policy = {"golden": lambda: GoldenPlanPolicy(env), "replay": DocReplayPolicy,
                          "explorer": ScriptedExplorer}[name]()
                result = run_episode(env, policy, seed=episode_seed,
                                     options={"task_seed": task_seed})
                rec[name] = bool(result["success"])
                if name == "explorer":
                    rec["turns"] = result["turns"]
                    if not result["success"]:
                        rec["explorer_actions"] = [a[:300] for a in result["actions"]][:10]
            rec["mutations"] = env.episode.surface.applied if env.episode else []
            rec["style"] = _style(rec["mutations"], row) if row in KINDS else row
            out.append(rec)
    env.close()
    return out


def _rate(recs: list[dict[str, Any]], key: str) -> float | None:
    return round(sum(r[key] for r in recs) / len(recs), 4) if recs else None


def _summary(recs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"n": len(recs), **{p: _rate(recs, p) for p in POLICIES}}


def aggregate(records: list[dict[str, Any]], kinds: list[str], domain_names: list[str]
              ) -> dict[str, Any]:
    single = [r for r in records if r["row"] in KINDS]
    benign = [r for r in single if not KINDS[r["row"]].adversarial]
    by: dict[tuple, list] = defaultdict(list)
    for r in records:
        by[("kind", r["row"], r["docs"])].append(r)
        by[("kind_domain", r["row"], r["domain"], r["docs"])].append(r)
        by[("style", r["style"], r["docs"])].append(r)
        if r["row"] in KINDS and not KINDS[r["row"]].adversarial:
            by[("domain", r["domain"], r["docs"])].append(r)
    interface = [k for k in kinds if KINDS[k].interface]
    stale_interface = [r for r in benign if r["docs"] == "stale" and r["row"] in interface]
    classes = {k: v for k, v in kind_classes().items() if k in kinds}
    stale_by_kind = {k: by[("kind", k, "stale")] for k in kinds}
    by_class = {c: [r for r in benign if classes[r["row"]] == c]
                for c in sorted(set(classes.values()))}
    procgen_heavy = [r for r in records if r["domain"].startswith("procgen_")
                     and r["row"].endswith("(drift_level)") and r["docs"] == "stale"]
    result: dict[str, Any] = {
        "mutation_kinds": kinds,
        "kind_classes": classes,
        "replay_stale_by_kind": {k: _rate(v, "replay") for k, v in stale_by_kind.items()},
        "explorer_stale_by_kind": {k: _rate(v, "explorer") for k, v in stale_by_kind.items()},
        "golden_by_kind": {k: _rate(by[("kind", k, "fresh")] + v, "golden")
                           for k, v in stale_by_kind.items()},
        "per_class": {c: {d: _summary([r for r in v if r["docs"] == d]) for d in DOCS}
                      for c, v in by_class.items()},
        "procgen_drift_level_stale": {
            row: _summary([r for r in procgen_heavy if r["row"] == row])
            for row in sorted({r["row"] for r in procgen_heavy})},
        "adversarial_kinds": [k for k in kinds if KINDS[k].adversarial],
        "interface_kinds": interface,
        "domains": domain_names,
        "golden_success": _rate(single, "golden"),
        "replay_stale_success": _rate([r for r in benign if r["docs"] == "stale"], "replay"),
        "explorer_stale_success": _rate([r for r in benign if r["docs"] == "stale"], "explorer"),
        "replay_fresh_success": _rate([r for r in benign if r["docs"] == "fresh"], "replay"),
        "explorer_fresh_success": _rate([r for r in benign if r["docs"] == "fresh"], "explorer"),
        "replay_stale_success_interface_kinds": _rate(stale_interface, "replay"),
        "explorer_stale_success_interface_kinds": _rate(stale_interface, "explorer"),
        "per_kind": {k: {d: _summary(by[("kind", k, d)]) for d in DOCS} for k in kinds},
        "per_domain": {dn: {d: _summary(by[("domain", dn, d)]) for d in DOCS}
                       for dn in domain_names},
        "per_kind_domain": {k: {dn: {d: _summary(by[("kind_domain", k, dn, d)]) for d in DOCS}
                                for dn in domain_names} for k in kinds},
        "per_style": {s: {d: _summary(by[("style", s, d)]) for d in DOCS}
                      for s in sorted({r["style"] for r in single})},
        "compositions": {c: {d: _summary(by[("kind", c, d)]) for d in DOCS}
                         for c in COMPOSITIONS},
    }
    bites = {k: round(1 - (_rate([r for r in by[("kind", k, "stale")]], "replay") or 0), 4)
             for k in interface}
    result["checks"] = {
        "golden_100_percent": all(r["golden"] for r in records),
        "replay_stale_failure_by_interface_kind": bites,
        "replay_fails_90_on_rename_and_param_kinds": all(
            bites[k] >= 0.9 for k in ("rename_tool", "name_noise", "rename_params",
                                      "add_required_param", "change_format", "deprecate_tool",
                                      "scramble") if k in bites),
        "explorer_80_percent_stale": (result["explorer_stale_success"] or 0) >= 0.8,
        "replay_fails_90_on_behaviour_kinds": all(
            (result["replay_stale_by_kind"][k] or 0) <= 0.1 for k in kinds
            if classes[k] == "behaviour"),
        "explorer_80_on_behaviour_kinds": all(
            (result["explorer_stale_by_kind"][k] or 0) >= 0.8 for k in kinds
            if classes[k] == "behaviour"),
        "explorer_80_on_procgen_heavy_stale": (_rate(
            [r for r in procgen_heavy if r["row"].startswith("heavy")], "explorer") or 0) >= 0.8,
    }
    fails = defaultdict(list)
    for r in records:
        if not r["explorer"] and r["docs"] == "stale" and len(fails[r["row"]]) < 3:
            fails[r["row"]].append({k: r[k] for k in ("domain", "task_seed", "mutations",
                                                      "explorer_actions") if k in r})
    result["explorer_failure_examples"] = dict(fails)
    return result


def markdown(res: dict[str, Any]) -> str:
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%".replace(".0%", "%")

    lines = ["# Drift matrix", "",
             f"Tasks per (kind, domain, docs): {res['config']['tasks']}; domains: "
             f"{len(res['domains'])}; max_turns {res['config']['max_turns']}; "
             f"{res['config']['seconds']:.0f} s.", "",
             "Success rates. replay = old-docs plan without trials; explorer = scripted "
             "trial-and-error (knows the old plan, not the mutation); golden = plan translated "
             "through the mutation.", "",
             "| kind | class | replay fresh | replay stale | explorer fresh | explorer stale | "
             "golden | n |",
             "|---|---|---|---|---|---|---|---|"]
    for k in res["mutation_kinds"]:
        f, s = res["per_kind"][k]["fresh"], res["per_kind"][k]["stale"]
        tag = " (adversarial)" if k in res["adversarial_kinds"] else ""
        lines.append(f"| {k}{tag} | {res['kind_classes'][k]} | {pct(f['replay'])} | "
                     f"{pct(s['replay'])} | "
                     f"{pct(f['explorer'])} | {pct(s['explorer'])} | "
                     f"{pct(min(x for x in (f['golden'], s['golden']) if x is not None) if s['n'] else None)} "
                     f"| {f['n'] + s['n']} |")
    lines += ["", "Per class (non-adversarial kinds):", "",
              "| class | replay fresh | replay stale | explorer fresh | explorer stale | golden "
              "| n |", "|---|---|---|---|---|---|---|"]
    for c, v in res["per_class"].items():
        f, s = v["fresh"], v["stale"]
        lines.append(f"| {c} | {pct(f['replay'])} | {pct(s['replay'])} | {pct(f['explorer'])} "
                     f"| {pct(s['explorer'])} | {pct(s['golden'])} | {f['n'] + s['n']} |")
    lines += ["", "Procgen (generated APIs) under drawn drift, stale docs:", "",
              "| drift_level | replay | explorer | golden | n |", "|---|---|---|---|---|"]
    for row, v in res["procgen_drift_level_stale"].items():
        lines.append(f"| {row} | {pct(v['replay'])} | {pct(v['explorer'])} | "
                     f"{pct(v['golden'])} | {v['n']} |")
    lines += ["", "Compositions (reported separately):", "",
              "| composition | replay fresh | replay stale | explorer fresh | explorer stale | "
              "golden | n |", "|---|---|---|---|---|---|---|"]
    for c, v in res["compositions"].items():
        f, s = v["fresh"], v["stale"]
        lines.append(f"| {c} | {pct(f['replay'])} | {pct(s['replay'])} | {pct(f['explorer'])} "
                     f"| {pct(s['explorer'])} | {pct(s['golden'])} | {f['n'] + s['n']} |")
    lines += ["", "Per domain (non-adversarial kinds):", "",
              "| domain | replay stale | explorer fresh | explorer stale | golden |",
              "|---|---|---|---|---|"]
    for d, v in res["per_domain"].items():
        lines.append(f"| {d} | {pct(v['stale']['replay'])} | {pct(v['fresh']['explorer'])} | "
                     f"{pct(v['stale']['explorer'])} | {pct(v['stale']['golden'])} |")
    lines += ["", f"Overall (non-adversarial kinds, stale docs): replay "
              f"{pct(res['replay_stale_success'])}, explorer {pct(res['explorer_stale_success'])}"
              f"; golden {pct(res['golden_success'])}.", "",
              f"Checks: {json.dumps(res['checks'])}", ""]
    return "\n".join(lines)


def heatmap(res: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.info("matplotlib is not importable; skipping the heat map %s", path)
        return False
    kinds, doms = res["mutation_kinds"], res["domains"]
    fig, axes = plt.subplots(1, 2, figsize=(2 + 0.6 * len(doms) * 2, 1.5 + 0.4 * len(kinds)),
                             sharey=True)
    for ax, policy in zip(axes, ("replay", "explorer"), strict=True):
        grid = np.full((len(kinds), len(doms)), np.nan)
        for i, k in enumerate(kinds):
            for j, d in enumerate(doms):
                v = res["per_kind_domain"][k][d]["stale"][policy]
                if v is not None:
                    grid[i, j] = v
        im = ax.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
        ax.set_xticks(range(len(doms)), doms, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(kinds)), kinds, fontsize=8)
        ax.set_title(f"{policy}, stale docs")
        for i in range(len(kinds)):
            for j in range(len(doms)):
                if not np.isnan(grid[i, j]):
                    ax.text(j, i, f"{100 * grid[i, j]:.0f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=axes, shrink=0.8, label="success")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few tasks per cell (< 2 min)")
    parser.add_argument("--tasks", type=int, default=None, help="tasks per (kind, domain)")
    parser.add_argument("--max-turns", type=int, default=8, help="env default: 8")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=min(2, mp.cpu_count()))
    parser.add_argument("--procgen", type=int, default=4,
                        help="generated APIs (procgen_1 ... procgen_N) added as domains")
    parser.add_argument("--kinds", default=None,
                        help="comma-separated mutation kinds (default: all; compositions run "
                             "only with all kinds)")
    parser.add_argument("--domains", default=None,
                        help="comma-separated domains (default: every registered one plus the "
                             "--procgen APIs)")
    parser.add_argument("--out", default="benchmarks/results/drift_matrix.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    n = args.tasks or (3 if args.quick else 20)
    kinds = mutation_kinds()
    domain_names = sorted(domains()) + [f"procgen_{i}" for i in range(1, args.procgen + 1)]
    rows = [*kinds, *COMPOSITIONS]
    if args.kinds:
        kinds = [k for k in args.kinds.split(",") if k]
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            parser.error(f"unknown kinds {unknown}; kinds: {', '.join(KINDS)}")
        rows = list(kinds)
    if args.domains:
        domain_names = [d for d in args.domains.split(",") if d]
    cells = [(d, row, n, args.seed, args.max_turns) for row in rows for d in domain_names]
    t0 = time.perf_counter()
    if args.workers > 1:
        with mp.get_context("spawn").Pool(args.workers) as pool:
            chunks = pool.map(run_cell, cells, chunksize=4)
    else:
        chunks = [run_cell(c) for c in cells]
    records = [r for chunk in chunks for r in chunk]
    res = aggregate(records, kinds, domain_names)
    res["config"] = {"tasks": n, "max_turns": args.max_turns, "seed": args.seed,
                     "quick": args.quick, "episodes": 3 * len(records),
                     "kinds": args.kinds or "all", "domains": args.domains or "all",
                     "seconds": round(time.perf_counter() - t0, 1)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    md = markdown(res)
    out.with_suffix(".md").write_text(md)
    png = heatmap(res, out.with_suffix(".png"))
    log.info("%s", md)
    log.info("wrote %s, %s%s", out, out.with_suffix(".md"),
             f", {out.with_suffix('.png')}" if png else "")
    return res


if __name__ == "__main__":
    main()
