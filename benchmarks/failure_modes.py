"""Why evaluation episodes fail: each episode of a pipeline run sorted into one failure mode.

Reads the evaluation transcripts the pipeline keeps (``<run>/eval[-plan<k>]/<method>
.transcripts.jsonl``), rebuilds each episode's task from its split's env and task seed,
and sorts it into the first mode that fits:

- ``success``;
- ``no_call``: no tagged trial or call at all (prose, or broken tags);
- ``wrong_tool``: never trialled or called the tool of the golden plan's first step
  (its live name, so a drifted tool called by its old name counts here);
- ``repeated_failure``: sent the same message twice after it had failed;
- ``wrong_answer``: a real call of the right tool worked, then a wrong answer;
- ``other`` (e.g. ran out of turns while still fixing).

    python benchmarks/failure_modes.py --run-dir runs/one_call

A second table reads only the opening (the first message and the env's answer to it):
``several`` (it tried two or more different tools), ``right_named`` (the target tool is
among them), ``right_worked`` (its response was not an error) and ``kept`` (the next
message's first trial or call uses it again); ``hinted`` (the error of another tool it
tried names the target, e.g. ``use a recipe_id from search_recipes``) and ``followed``
(the next message's first trial or call uses the tool so named). With
``trial_when="candidates"`` this tells a student that cannot pick between candidates from
one that never names the right tool.

A third table counts messages that did no work: ``actionless`` episodes hold a message
with no complete trial, call or answer (a thought that ran to the token cap, broken
tags); where the transcripts record them, ``cut`` counts messages cut at the token cap
and ``forced`` thoughts closed by the thought budget
(the ``ThoughtBudget`` probe, :mod:`tool_gym.agents.probes`).

A fourth table reads the messages sent after a failed trial or call: how many send the
failed body again verbatim (``repeated``), name a fix of the failed call's tool or
parameters in their thought (``fix_named``) and make that fix (``fix_applied``).

Prints the tables (episodes per mode and per opening flag, per method and split) and
writes JSON and markdown. An episode whose task seed no longer draws the transcript's task
(the env's task pool changed since, e.g. unseen splits before the last four unseen domains
were added), or, where the transcript records them, the same drift, is left out and
counted under ``left_out``.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import gymnasium as gym

import tool_gym  # noqa: F401  (registers the ids)
from tool_gym.agents.probes import failed_action
from tool_gym.agents.teachers import parse_responses
from tool_gym.agents.traces import read_transcripts
from tool_gym.oracle import unwrap
from tool_gym.protocol import first_action, split_segments, thoughts

MODES = ("success", "no_call", "wrong_tool", "repeated_failure", "wrong_answer", "other")
_NAME = re.compile(r'<(?:trial|call)>\s*\{\s*"name"\s*:\s*"([^"]+)"')
_CALL_OK = re.compile(r"\[call \d+\] (\S+) -> (?!ERROR)")


def failure_mode(record: dict, target: str) -> str:
    """The mode of one transcript record; ``target`` is the live name of the first tool."""
    if record["success"]:
        return "success"
    actions, observations = record["actions"], record.get("observations", [])
    names = [m.group(1) for a in actions for m in _NAME.finditer(a)]
    if not names:
        return "no_call"
    if target not in names:
        return "wrong_tool"
    failed: set[str] = set()
    for action, obs in zip(actions, observations, strict=False):
        if action in failed:
            return "repeated_failure"
        if "ERROR" in obs:
            failed.add(action)
    if any(m.group(1) == target for o in observations for m in _CALL_OK.finditer(o)):
        return "wrong_answer"
    return "other"


OPENING = ("several", "right_named", "right_worked", "kept", "hinted", "followed")


def opening_flags(record: dict, target: str) -> set[str]:
    """Which of :data:`OPENING` hold for the first message of one transcript record."""
    actions, observations = record["actions"], record.get("observations", [])
    if not actions:
        return set()
    names = [m.group(1) for m in _NAME.finditer(actions[0])]
    after = [m.group(1) for m in _NAME.finditer(actions[1])] if len(actions) > 1 else []
    goes_on_with_target = after[:1] == [target]  # the next message's first tool
    flags = set()
    if len(set(names)) >= 2:
        flags.add("several")
    if target in names:
        flags.add("right_named")
    answers = parse_responses(observations[0]) if observations else []
    if any(r.name == target and r.ok for r in answers):
        flags.add("right_worked")
        if goes_on_with_target:
            flags.add("kept")
    named = re.compile(rf"\b{re.escape(target)}\b")
    if any(not r.ok and r.name != target and named.search(r.text) for r in answers):
        flags.add("hinted")  # another tool's error names the target
        if goes_on_with_target:
            flags.add("followed")
    return flags


MESSAGES = ("actionless", "cut", "forced")


def message_counts(records: list[dict]) -> dict[str, int | None]:
    """:data:`MESSAGES` over transcript records (None: the transcripts do not record it)."""
    def total(key: str) -> int | None:
        return sum(int(r[key]) for r in records) if all(key in r for r in records) else None

    return {"actionless": sum(any(not split_segments(a)[0] for a in r["actions"])
                              for r in records),
            "cut": total("cut_actions"), "forced": total("forced_thoughts")}


AFTER_ERROR = ("after_error", "repeated", "fix_named", "fix_applied")
_RENAME = re.compile(r"`([^`]+)` -> `([^`]+)`")


def after_error_counts(records: list[dict]) -> dict[str, int]:
    """:data:`AFTER_ERROR` over transcript records: messages whose previous message's first
    trial or call got an error (``after_error``); of those, the ones that send the same
    body again verbatim (``repeated``), the ones whose thought names a change of the failed
    call's tool or of one of its parameters, ``Fix: `old` -> `new``` (``fix_named``), and
    of those the ones whose first trial or call makes every such change (``fix_applied``:
    the tool or parameter named ``new`` is used and ``old`` is gone)."""
    c = dict.fromkeys(AFTER_ERROR, 0)
    for r in records:
        actions, observations = r["actions"], r.get("observations", [])
        for i in range(1, min(len(actions), len(observations) + 1)):
            failed = failed_action(actions[i - 1], observations[i - 1])
            if failed is None:
                continue
            c["after_error"] += 1
            now = first_action(actions[i])
            c["repeated"] += now is not None and now[0] == failed[0]
            thought = next(iter(thoughts(actions[i])), "")
            renames = [(a, b) for a, b in _RENAME.findall(thought)
                       if a != b and (a == failed[1] or a in failed[2])]
            if not renames:
                continue
            c["fix_named"] += 1
            c["fix_applied"] += now is not None and all(
                now[1] == b if a == failed[1] else (b in now[2] and a not in now[2])
                for a, b in renames)
    return c


def target_tool(env_id: str, kwargs: dict, task_seed: int, cache: dict,
                task_id: str | None = None, mutations: list | None = None) -> str | None:
    """The live name of the first tool of the task the env draws for ``task_seed``; None
    when that is no longer the transcript's task (``task_id``) or the drift it met
    (``mutations``, in transcripts written since they were recorded): the env's task pool
    or drift sampler changed since the evaluation (e.g. a domain was added to a split)."""
    key = (env_id, json.dumps(kwargs, sort_keys=True))
    if key not in cache:
        cache[key] = gym.make(env_id, **kwargs)
    env = cache[key]
    _, info = env.reset(seed=task_seed)
    ep = unwrap(env).episode
    if task_id is not None and ep.task.task_id != task_id:
        return None
    if mutations is not None and _canonical(info["mutations"]) != _canonical(mutations):
        return None
    return ep.surface.surface_name(ep.task.plan[0].tool) or ep.task.plan[0].tool


def _canonical(mutations: list) -> str:
    return json.dumps(mutations, sort_keys=True, default=str)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", default="runs/one_call")
    parser.add_argument("--eval-dir", default="eval", help="eval or eval-plan<k>")
    parser.add_argument("--out", default=None,
                        help="default benchmarks/results/failure_modes-<run name>.json")
    args = parser.parse_args(argv)
    run = Path(args.run_dir)
    cache: dict = {}
    table: dict[str, dict[str, dict[str, int]]] = {}
    openings: dict[str, dict[str, dict[str, int]]] = {}
    messages: dict[str, dict[str, dict[str, int | None]]] = {}
    after_error: dict[str, dict[str, dict[str, int]]] = {}
    stale: Counter = Counter()  # (method, split) -> episodes whose task is no longer drawn
    for transcripts in sorted((run / args.eval_dir).glob("*.transcripts.jsonl")):
        method = transcripts.name.split(".")[0]
        splits = json.loads((transcripts.parent / f"{method}.json").read_text())["splits"]
        counts: dict[str, Counter] = {}
        flags: dict[str, Counter] = {}
        kept: dict[str, list[dict]] = {}
        for r in read_transcripts(transcripts):
            split = splits[r["split"]]
            target = target_tool(split["env_id"], split["env_kwargs"], r["task"], cache,
                                 r.get("task_id"), r.get("mutations"))
            if target is None:
                stale[(method, r["split"])] += 1
                continue
            counts.setdefault(r["split"], Counter())[failure_mode(r, target)] += 1
            flags.setdefault(r["split"], Counter()).update(opening_flags(r, target))
            kept.setdefault(r["split"], []).append(r)
        table[method] = {s: {m: c[m] for m in MODES} for s, c in counts.items()}
        openings[method] = {s: {f: c[f] for f in OPENING} for s, c in flags.items()}
        messages[method] = {s: message_counts(rs) for s, rs in kept.items()}
        after_error[method] = {s: after_error_counts(rs) for s, rs in kept.items()}
    for env in cache.values():
        env.close()
    lines = ["| method | split | " + " | ".join(MODES) + " |",
             "|---|---|" + "---|" * len(MODES)]
    for method, per_split in table.items():
        for split, c in per_split.items():
            lines.append(f"| {method} | {split} | " + " | ".join(str(c[m]) for m in MODES) + " |")
    lines += ["", "Openings (episodes with each flag, see the module docstring):", "",
              "| method | split | episodes | " + " | ".join(OPENING) + " |",
              "|---|---|---|" + "---|" * len(OPENING)]
    for method, per_split in openings.items():
        for split, c in per_split.items():
            n = sum(table[method][split].values())
            lines.append(f"| {method} | {split} | {n} | "
                         + " | ".join(str(c[f]) for f in OPENING) + " |")
    lines += ["", "Messages that did no work (see the module docstring; -: not recorded):",
              "", "| method | split | episodes | " + " | ".join(MESSAGES) + " |",
              "|---|---|---|" + "---|" * len(MESSAGES)]
    for method, per_split in messages.items():
        for split, c in per_split.items():
            n = sum(table[method][split].values())
            lines.append(f"| {method} | {split} | {n} | " + " | ".join(
                "-" if c[k] is None else str(c[k]) for k in MESSAGES) + " |")
    lines += ["", "Messages after a failed trial or call (see `after_error_counts`):", "",
              "| method | split | " + " | ".join(AFTER_ERROR) + " |",
              "|---|---|" + "---|" * len(AFTER_ERROR)]
    for method, per_split in after_error.items():
        for split, c in per_split.items():
            lines.append(f"| {method} | {split} | "
                         + " | ".join(str(c[k]) for k in AFTER_ERROR) + " |")
    if stale:
        lines += ["", "Left out: episodes whose task seed now draws another task (the env's "
                  "task pool changed after this evaluation): "
                  + ", ".join(f"{m} {s} {n}" for (m, s), n in sorted(stale.items())) + "."]
    md = "\n".join(lines) + "\n"
    out = Path(args.out or f"benchmarks/results/failure_modes-{run.name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"run_dir": str(run), "eval_dir": args.eval_dir, "modes": list(MODES),
              "episodes": table, "opening_flags": list(OPENING), "openings": openings, "messages": messages,
              "after_error": after_error,
              "left_out": {f"{m}/{s}": n for (m, s), n in sorted(stale.items())}}
    out.write_text(json.dumps(report, indent=2))
    out.with_suffix(".md").write_text(
        f"# Failure modes of `{run}/{args.eval_dir}` (episodes per mode)\n\n"
        f"Modes, first that fits: {', '.join(MODES)} (see `benchmarks/failure_modes.py`).\n\n"
        + md)
    print(md)
    return report


if __name__ == "__main__":
    main()
