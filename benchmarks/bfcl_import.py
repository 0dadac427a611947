"""BFCL import agreement: do our BFCL episodes score as BFCL's own checkers do?

For every entry of every category the bfcl-eval wheel ships that runs offline, plays
through :class:`tool_gym.importers.bfcl.BFCLEnv` (1) the ground-truth answer, which must
score success, and (2) corrupted answers, each of which must score failure: a wrong
function, a wrong value, a missing required argument (irrelevance entries: a spurious
call; relevance entries: no call). Each answer is also judged by BFCL's checker run
directly, without the env, so a disagreement says whether the env or BFCL's own rules
make the difference. Categories that need the web, or that BFCL runs on a model's own
earlier conversation, are counted and named, not run.

    python benchmarks/bfcl_import.py                # benchmarks/results/bfcl_import.{json,md}
    python benchmarks/bfcl_import.py --quick        # 10 entries per category (_quick files)

Goal: 100% agreement on ground truth; every corruption fails; every disagreement and
every entry that cannot be expressed is listed with its id.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import pickle
import sys
import time
from pathlib import Path
from typing import Any

from tool_gym.errors import ToolError
from tool_gym.importers import bfcl
from tool_gym.protocol import format_call

log = logging.getLogger("bfcl_import")
Calls = list[list[tuple[str, dict[str, Any]]]]


def play(env: bfcl.BFCLEnv, entry: bfcl.Entry, turns: Calls) -> bool:
    """Replay one answer, one user turn at a time: its calls, then ``<answer>``."""
    env.reset(options={"entry": entry.id})
    info: dict[str, Any] = {}
    for t, calls in enumerate(turns):
        chunks = [calls[i:i + env.max_calls_per_turn]
                  for i in range(0, len(calls), env.max_calls_per_turn)] or [[]]
        for i, chunk in enumerate(chunks):
            message = "".join(format_call(name, args) for name, args in chunk)
            if i == len(chunks) - 1:
                message += "<answer>Done.</answer>"
            _, _, terminated, truncated, info = env.step(message)
            if truncated or (terminated and t < len(turns) - 1):
                return bool(info.get("success"))
    return bool(info.get("success"))


def _wrong_value(entry: bfcl.Entry, golden: Calls
                 ) -> tuple[tuple[int, int], tuple[str, dict[str, Any]]] | None:
    """The first argument that can be given a value BFCL's answer does not allow.

    Strings first (a wrong name or id changes what a backend does; a flipped flag such as
    ``ls(a=False)`` often changes nothing), then numbers, lists, booleans. Java and
    JavaScript collections are source text that BFCL parses leniently, so they are left
    alone. Multi-turn: the first change that BFCL's backends notice (another result or
    another final state), so that the corrupted answer is wrong by BFCL's own backends and
    not only different in text.
    """
    raw = {bfcl.tool_name(f["name"]): f["parameters"].get("properties", {})
           for f in entry.functions}
    allowed_by_call = [{}] * len(golden[0])
    if not entry.multi_turn:
        allowed_by_call = [next(iter(a.values())) for a in entry.ground_truth]
    candidates = []
    for t, calls in enumerate(golden):
        for c, (name, args) in enumerate(calls):
            allowed = allowed_by_call[c] if not entry.multi_turn else {}
            for pname, value in args.items():
                kind = raw.get(name, {}).get(pname, {}).get("type", "any")
                if isinstance(value, bool):
                    rank, new = 3, None if (not value) in allowed.get(pname, []) else not value
                elif isinstance(value, (int, float)):
                    new = value + (1 if isinstance(value, int) else 1.5)
                    while new in allowed.get(pname, []):
                        new += 7
                    rank = 1
                elif isinstance(value, str) and kind not in _SOURCE_COLLECTIONS:
                    rank, new = 0, value + "zq"
                elif isinstance(value, list) and value:
                    rank, new = 2, value[:-1]
                else:
                    continue
                if new is not None:
                    candidates.append((rank, t, c, (name, {**args, pname: new})))
    for _rank, t, c, call in sorted(candidates, key=lambda x: x[:3]):
        if not entry.multi_turn or _backend_notices(entry, golden, (t, c), call):
            return (t, c), call
    return None


def _backend_notices(entry: bfcl.Entry, golden: Calls, at: tuple[int, int],
                     call: tuple[str, dict[str, Any]]) -> bool:
    """Multi-turn: whether BFCL's backends answer the changed call differently, or end in
    another state, after the golden calls before it (judged without BFCL's checker)."""
    domain = bfcl.entry_domain(entry)
    world = domain.make_world(None)
    flat = [(t, c, n, a) for t, calls in enumerate(golden) for c, (n, a) in enumerate(calls)]
    for t, c, name, args in flat:
        if (t, c) == at:
            break
        _run(domain, world, name, args)
    outcomes = []
    for name, args in (golden[at[0]][at[1]], call):
        trial = copy.deepcopy(world)
        result = _run(domain, trial, name, args)
        outcomes.append((repr(result), [pickle.dumps(vars(i)) for i in trial.instances.values()]))
    return outcomes[0] != outcomes[1]


def _run(domain: Any, world: Any, name: str, args: dict[str, Any]) -> Any:
    try:
        return domain.tool_map[name].fn(world, **args)
    except ToolError as e:
        return f"error: {e}"


_SOURCE_COLLECTIONS = ("Array", "ArrayList", "HashMap", "array", "dict")


def corruptions(entry: bfcl.Entry, golden: Calls) -> dict[str, Calls]:
    """Answers that must fail, by kind (a kind that does not apply is left out)."""
    out: dict[str, Calls] = {}
    functions = {bfcl.tool_name(f["name"]): f for f in entry.shown}
    if "irrelevance" in entry.category:
        call = bfcl.placeholder_call(entry.shown[0]) if entry.shown else ("lookup", {})
        return {"spurious_call": [[call]]}
    if entry.ground_truth is None:
        return {"no_call": [[] for _ in golden]}
    turn = next(i for i, calls in enumerate(golden) if calls)
    name, args = golden[turn][0]

    def replace(at: tuple[int, int], new_call: tuple[str, dict[str, Any]]) -> Calls:
        answer = copy.deepcopy(golden)
        answer[at[0]][at[1]] = new_call
        return answer

    used = {n for n, _ in golden[turn]}
    others = [n for n in functions if n not in used]
    out["wrong_function"] = replace((turn, 0), (others[0] if others else f"{name}_v2", args))
    value = _wrong_value(entry, golden)
    if value is not None:
        out["wrong_value"] = replace(*value)
    schema = bfcl.json_schema(functions[name]["parameters"])
    required = [p for p in schema.get("required", []) if p in args]
    if required:
        out["missing_required"] = replace(
            (turn, 0), (name, {k: v for k, v in args.items() if k != required[0]}))
    return out


def direct(entry: bfcl.Entry, answer: Calls) -> bool:
    """BFCL's own checker on the same answer, without the env (each turn one message)."""
    names = {bfcl.tool_name(f["name"]): f["name"] for f in entry.functions}
    calls = [(t, 0, names.get(name, name), args)
             for t, turn in enumerate(answer) for name, args in turn]
    return bool(bfcl.check_calls(entry, calls)["valid"])


def run_category(category: str, limit: int | None) -> dict[str, Any]:
    ids = bfcl.entry_ids(category)[:limit]
    env = bfcl.BFCLEnv(category=category, entries=ids)
    entries, skipped = env.entries, env.skipped
    result: dict[str, Any] = {
        "entries": len(entries) + len(skipped), "played": len(entries),
        "ground_truth_success": 0, "corrupted_failure": 0, "agreement_entries": 0,
        "env_matches_bfcl": 0,
        "bfcl_direct": {"ground_truth_success": 0, "corrupted_failure": 0},
        "corruptions": {}, "skipped": {"count": len(skipped), "reasons": skipped},
        "disagreements": [],
    }
    for entry in entries:
        golden = bfcl.golden_calls(entry)
        gt_ok, gt_direct = play(env, entry, golden), direct(entry, golden)
        result["ground_truth_success"] += gt_ok
        result["bfcl_direct"]["ground_truth_success"] += gt_direct
        matches = gt_ok == gt_direct
        if not gt_ok:
            verdict = bfcl.check_calls(entry, env.episode.world.calls)
            result["disagreements"].append({
                "id": entry.id, "answer": "ground_truth", "bfcl_direct": gt_direct,
                "detail": _short(verdict)})
        all_fail = all_fail_direct = True
        for kind, answer in corruptions(entry, golden).items():
            stats = result["corruptions"].setdefault(kind, {"tried": 0, "failed": 0})
            stats["tried"] += 1
            ok, ok_direct = play(env, entry, answer), direct(entry, answer)
            stats["failed"] += not ok
            matches &= ok == ok_direct
            all_fail_direct &= not ok_direct
            if ok:
                all_fail = False
                result["disagreements"].append({
                    "id": entry.id, "answer": kind, "bfcl_direct": ok_direct,
                    "detail": _short(answer)})
        result["corrupted_failure"] += all_fail
        result["bfcl_direct"]["corrupted_failure"] += all_fail_direct
        result["agreement_entries"] += gt_ok and all_fail
        result["env_matches_bfcl"] += matches
    env.close()
    return result


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 400 else text[:400] + "..."


def not_run() -> dict[str, dict[str, Any]]:
    """Data files of the wheel that are counted and named, not run."""
    out = {}
    for name, path in bfcl.data_files().items():
        reason = next((r for k, r in bfcl.NOT_RUN.items() if name.startswith(k)), None)
        if reason is None:
            continue
        if name == "format_sensitivity":
            entries = sum(len(v) for v in json.loads(path.read_text()).values())
        else:
            entries = len(bfcl.entry_ids(name))
        out[name] = {"entries": entries, "reason": reason}
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# BFCL import agreement",
        "",
        f"`{report['command']}` ({report['seconds']:.0f} s). Agreement (ground truth "
        f"succeeds and every corruption fails): **{report['agreement']:.4f}** of "
        f"{report['played'] + report['skipped']} entries ({report['skipped']} could not be "
        "expressed and count as disagreements). The env's verdict equals BFCL's own "
        "checker run on the same answers without the env (ground truth and every "
        f"corruption) for **{report['env_matches_bfcl']:.4f}** of played entries.",
        "",
        "| category | entries | skipped | ground truth success | corrupted failure | "
        "BFCL direct: gt / corrupted | env = BFCL | wrong function | wrong value | "
        "missing required | other |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cat, r in report["categories"].items():
        c = r["corruptions"]

        def cell(kind: str, c: dict = c) -> str:
            return f"{c[kind]['failed']}/{c[kind]['tried']}" if kind in c else "-"

        other = ", ".join(f"{k} {v['failed']}/{v['tried']}" for k, v in c.items()
                          if k not in ("wrong_function", "wrong_value", "missing_required"))
        lines.append(f"| {cat} | {r['entries']} | {r['skipped']['count']} | "
                     f"{r['ground_truth_success']}/{r['played']} | "
                     f"{r['corrupted_failure']}/{r['played']} | "
                     f"{r['bfcl_direct']['ground_truth_success']} / "
                     f"{r['bfcl_direct']['corrupted_failure']} | "
                     f"{r['env_matches_bfcl']}/{r['played']} | {cell('wrong_function')} | "
                     f"{cell('wrong_value')} | {cell('missing_required')} | {other or '-'} |")
    lines += ["", "## Not run", ""]
    for name, r in report["not_run"].items():
        lines.append(f"- `{name}` ({r['entries']} entries): {r['reason']}")
    lines += ["", "## Disagreements", ""]
    found = False
    for cat, r in report["categories"].items():
        for d in r["disagreements"]:
            found = True
            same = ("BFCL's own checker, run without the env, gives the same verdict"
                    if d["bfcl_direct"] != (d["answer"] == "ground_truth") else
                    "**the env differs from BFCL's own checker**")
            lines.append(f"- {cat} `{d['id']}` ({d['answer']}; {same}): {d['detail']}")
    if not found:
        lines.append("None.")
    lines += ["", "## Skipped (cannot be expressed)", ""]
    skipped = [(cat, i, why) for cat, r in report["categories"].items()
               for i, why in r["skipped"]["reasons"].items()]
    lines += [f"- {cat} `{i}`: {why.removeprefix(f'{i}: ')}" for cat, i, why in skipped] \
        or ["None."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 entries per category")
    parser.add_argument("--category", action="append", help="only these categories")
    parser.add_argument("--out", type=Path, help="JSON path (markdown beside it); default "
                        "benchmarks/results/bfcl_import.json, or bfcl_import_quick.json")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = Path("benchmarks/results") / (
            "bfcl_import_quick.json" if args.quick else "bfcl_import.json")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.perf_counter()
    report: dict[str, Any] = {"command": " ".join(["python benchmarks/bfcl_import.py",
                                                   *(argv if argv is not None else sys.argv[1:])]),
                              "categories": {}}
    for category in args.category or bfcl.CATEGORIES:
        t = time.perf_counter()
        r = run_category(category, 10 if args.quick else None)
        report["categories"][category] = r
        log.info("%-24s %4d entries  gt %4d/%-4d  corrupted fail %4d/%-4d  skipped %d  "
                 "(%.1f s)", category, r["entries"], r["ground_truth_success"], r["played"],
                 r["corrupted_failure"], r["played"], r["skipped"]["count"],
                 time.perf_counter() - t)
    cats = report["categories"].values()
    played = sum(r["played"] for r in cats)
    report.update(
        played=played, skipped=sum(r["skipped"]["count"] for r in cats),
        ground_truth_success=sum(r["ground_truth_success"] for r in cats),
        corrupted_failure=sum(r["corrupted_failure"] for r in cats),
        # An entry that cannot be expressed counts against agreement.
        agreement=sum(r["agreement_entries"] for r in cats)
        / max(sum(r["entries"] for r in cats), 1),
        # The env's verdict equals BFCL's own checker run on the same answers, for the
        # ground truth and every corruption (over played entries).
        env_matches_bfcl=sum(r["env_matches_bfcl"] for r in cats) / max(played, 1),
        not_run=not_run(), seconds=time.perf_counter() - t0,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    log.info("agreement %.4f over %d entries (%d skipped); wrote %s", report["agreement"],
             played, report["skipped"], args.out)
    return report


if __name__ == "__main__":
    main()
