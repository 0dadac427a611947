"""Task-by-task comparison of evaluations of the same tasks: gained, lost, changed.

Two evaluations of the same tasks (the same model with and without a decoding change, two
students, a 72-task run against its first 24) are compared split by split on the tasks
both played (:func:`tool_gym.agents.evaluate.paired_comparison`): tasks ``gained`` and
``lost`` by the other run, and the two-sided exact sign test of one against the other.
Where both evaluations kept their transcripts (``<eval>.transcripts.jsonl`` beside the
JSON), ``changed`` counts the paired episodes whose messages differ, and ``changed_ok``
those of them whose outcome stayed the same.

    python benchmarks/compare_evals.py runs/one_call_v7/eval/trial_sft.json \\
        think40=runs/one_call_v7/eval-think40/trial_sft.json \\
        --out benchmarks/results/compare-one_call_v7redo-think40.json

The first evaluation is the baseline; every later one is compared against it. A
``LABEL=PATH`` names an evaluation (default: its folder and file name); ``PATH+PATH``
pools evaluations of disjoint blocks of tasks (e.g. ``toolmaster eval --task-offset
900000`` and ``--task-offset 950000``) into one, and evaluations of different splits into
one table. Each row carries the Wilson intervals of both pooled success rates and whether
they overlap. Prints the table and writes JSON and markdown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tool_gym.agents.evaluate import paired_comparison
from tool_gym.agents.traces import read_transcripts


def load(item: str) -> tuple[str, dict[str, Any], dict[tuple, dict[str, Any]] | None]:
    """``(label, evaluation, {(split, task, trial_seed): transcript record} or None)`` of
    one ``[LABEL=]PATH[+PATH...]`` argument (several paths: see :func:`pool`)."""
    label, sep, paths = item.partition("=")
    if not sep:
        label, paths = "", item
    parts = [Path(p) for p in paths.split("+")]
    loaded = []
    for p in parts:
        transcripts = p.with_suffix(".transcripts.jsonl")
        episodes = None
        if transcripts.exists():
            episodes = {(r["split"], r["task"], r.get("trial_seed")): r
                        for r in read_transcripts(transcripts)}
        loaded.append((json.loads(p.read_text()), episodes))
    results, episodes = pool(loaded) if len(loaded) > 1 else loaded[0]
    return label or "+".join(f"{p.parent.name}/{p.stem}" for p in parts), results, episodes


def pool(loaded: list[tuple[dict[str, Any], dict[tuple, dict[str, Any]] | None]]
         ) -> tuple[dict[str, Any], dict[tuple, dict[str, Any]] | None]:
    """Evaluations of disjoint tasks as one: each split's ``per_task`` lists joined over the
    parts that hold it (so one evaluation per split also pools into a table of them all);
    transcripts only where every part kept them. A task seed in two parts of one split is
    refused: the blocks would be counted twice."""
    splits = dict.fromkeys(split for r, _ in loaded for split in r["splits"])
    pooled: dict[str, Any] = {"splits": {}}
    for split in splits:
        per_task = [t for r, _ in loaded if split in r["splits"]
                    for t in r["splits"][split].get("per_task", [])]
        seeds = [t["task_seed"] for t in per_task]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{split}: the evaluations pooled share task seeds; pool "
                             "evaluations of disjoint blocks (--task-offset)")
        pooled["splits"][split] = {"per_task": per_task}
    episodes = None
    if all(e is not None for _, e in loaded):
        episodes = {k: v for _, e in loaded for k, v in e.items()}  # type: ignore[union-attr]
    return pooled, episodes


def changed(split: str, base: dict[tuple, dict[str, Any]],
            other: dict[tuple, dict[str, Any]]) -> dict[str, int]:
    """Paired episodes of ``split`` (same task and trial seed, same task id) whose messages
    differ, and how many of those kept their outcome."""
    keys = [k for k in base if k[0] == split and k in other
            and base[k].get("task_id") == other[k].get("task_id")]
    diff = [k for k in keys if base[k]["actions"] != other[k]["actions"]]
    return {"episodes_paired": len(keys), "changed": len(diff),
            "changed_ok": sum(bool(base[k]["success"]) == bool(other[k]["success"])
                              for k in diff)}


def compare(base: tuple, other: tuple) -> list[dict[str, Any]]:
    """One row per split both evaluations hold."""
    (b_label, b_eval, b_episodes), (o_label, o_eval, o_episodes) = base, other
    rows = []
    for split, bs in b_eval["splits"].items():
        os_ = o_eval["splits"].get(split)
        if os_ is None:
            continue
        row = {"baseline": b_label, "other": o_label, "split": split,
               **paired_comparison(bs.get("per_task", []), os_.get("per_task", []))}
        if b_episodes is not None and o_episodes is not None:
            row.update(changed(split, b_episodes, o_episodes))
        rows.append(row)
    return rows


def to_markdown(rows: list[dict[str, Any]]) -> str:
    has_changed = all("changed" in r for r in rows)
    head = "| other | baseline | split | tasks | baseline success | other success | " \
           "intervals overlap | gained | lost | sign test p |" \
           + (" changed | changed, same outcome |" if has_changed else "")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        pv = "-" if r["p_value"] is None else f"{r['p_value']:.3f}"
        rate = [_rate(r["base_success"], r.get("base_ci")),
                _rate(r["other_success"], r.get("other_ci"))]
        cells = [r["other"], r["baseline"], r["split"], str(r["tasks"]), *rate,
                 _overlap(r.get("base_ci"), r.get("other_ci")), str(r["gained"]),
                 str(r["lost"]), pv]
        if has_changed:
            cells += [f"{r['changed']} / {r['episodes_paired']}", str(r["changed_ok"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _rate(success: float | None, ci: list[float] | None) -> str:
    if success is None:
        return "-"
    return f"{success:.2f}" + ("" if ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]")


def _overlap(a: list[float] | None, b: list[float] | None) -> str:
    if a is None or b is None:
        return "-"
    return "yes" if a[0] <= b[1] and b[0] <= a[1] else "no"


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("evaluations", nargs="+", metavar="[LABEL=]PATH",
                        help="evaluation JSONs (toolmaster eval, or <run>/eval*/<method>.json);"
                             " the first is the baseline")
    parser.add_argument("--out", default=None, help="JSON path (markdown beside it)")
    args = parser.parse_args(argv)
    if len(args.evaluations) < 2:
        parser.error("give a baseline and at least one evaluation to compare with it")
    base, *others = (load(item) for item in args.evaluations)
    rows = [row for other in others for row in compare(base, other)]
    table = to_markdown(rows)
    print(table)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"evaluations": args.evaluations, "rows": rows}, indent=2))
        out.with_suffix(".md").write_text(
            "# Task-by-task comparison\n\n"
            f"Baseline: `{args.evaluations[0]}`.\n\n{table}\n"
            "gained / lost: tasks the other run succeeds on more / less often than the "
            "baseline; sign test: two-sided exact binomial test of gained against lost; "
            "success: pooled over the paired tasks, with its 95% Wilson interval. "
            "changed: paired episodes whose messages differ.\n")
    return rows


if __name__ == "__main__":
    main()
