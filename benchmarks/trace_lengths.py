"""Token lengths of teacher traces: what the SFT length, message-token and thought caps
must hold.

Plays the golden teacher and the trial teacher (terse, verbose and diff wording) on the
pipeline's trace sources and measures, with the default model's tokenizer, each
assistant message, each ``<think>`` thought in them (what a thought budget,
the ``ThoughtBudget`` probe, must leave whole) and each whole tokenised episode
(the SFT sequence), and counts the trial and call bodies that repeat the previous
message's verbatim, with their share of the trained tokens (leaving them out of the loss,
v10 in docs/experiment-log.md, did not help).

    python benchmarks/trace_lengths.py --out benchmarks/results/trace_lengths.json
    python benchmarks/trace_lengths.py --traces v7=runs/one_call_v7/traces_trial.jsonl \
        --thought-budget 40 --out benchmarks/results/trace_lengths-one_call_v7.json

``--traces [LABEL=]PATH`` (repeatable) measures the successful episodes of trace files a
pipeline run wrote instead of playing the teachers. Prints a table and writes JSON and
markdown.
"""

from __future__ import annotations

import argparse
import json
import logging
from functools import partial
from pathlib import Path

import numpy as np

from tool_gym.agents.models import load_model
from tool_gym.agents.pipeline import TRACE_SOURCES
from tool_gym.agents.sft import IGNORE_INDEX, repeated_calls, tokenize_conversation
from tool_gym.agents.teachers import GoldenTeacher, TrialTeacher
from tool_gym.agents.traces import generate_traces, read_traces
from tool_gym.protocol import thoughts

TEACHERS = {
    "golden": (GoldenTeacher, {}),
    "trial_terse": (TrialTeacher, {"style": "terse"}),
    "trial_verbose": (TrialTeacher, {"style": "verbose"}),
    "trial_diff": (TrialTeacher, {"style": "diff"}),
}


def length_row(name: str, records: list[dict], tokenizer, budget: int) -> dict:
    """Token lengths of the successful episodes of ``records`` (trace records)."""
    def tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    ok = [r for r in records if r["outcome"]["success"]]
    said = [m["content"] for r in ok for m in r["messages"] if m["role"] == "assistant"]
    msgs = np.array([tokens(m) for m in said])
    thought_lengths = np.array([tokens(t) for m in said for t in thoughts(m)])
    rows = [tokenize_conversation(r["messages"], tokenizer) for r in ok]
    eps = np.array([len(row["input_ids"]) for row in rows])
    repeats = [repeated_calls(r["messages"]) for r in ok]

    def learned(labels: list[int]) -> int:
        return sum(x != IGNORE_INDEX for x in labels)

    trained = sum(learned(row["labels"]) for row in rows)
    copied = sum(learned(row["labels"]) - learned(
        tokenize_conversation(r["messages"], tokenizer, (), spans)["labels"])
        for r, row, spans in zip(ok, rows, repeats, strict=True) if spans)

    def pct(a: np.ndarray, q: float) -> float | None:
        return float(np.percentile(a, q)) if len(a) else None

    return {"teacher": name, "episodes": len(ok),
            "message_p50": pct(msgs, 50), "message_p90": pct(msgs, 90),
            "message_p99": pct(msgs, 99),
            "message_frac_over_64": float(np.mean(msgs > 64)),
            "message_frac_over_96": float(np.mean(msgs > 96)),
            "thoughts": len(thought_lengths), "thought_p50": pct(thought_lengths, 50),
            "thought_p99": pct(thought_lengths, 99),
            "thought_max": int(thought_lengths.max()) if len(thought_lengths) else None,
            "thoughts_over_budget": int(np.sum(thought_lengths > budget)),
            # bodies that repeat the previous message's (sft.repeated_calls): mostly the
            # real call after a trial that worked
            "repeated_calls": sum(len(spans) for spans in repeats),
            "repeated_token_frac": copied / trained if trained else None,
            "episode_p50": pct(eps, 50),
            "episode_frac_over_768": float(np.mean(eps > 768)),
            "episode_frac_over_1536": float(np.mean(eps > 1536))}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=60, help="per trace source")
    parser.add_argument("--traces", action="append", default=[], metavar="[LABEL=]PATH",
                        help="measure these trace files instead of playing the teachers")
    parser.add_argument("--thought-budget", type=int, default=40,
                        help="count the thoughts longer than this many tokens")
    parser.add_argument("--out", default="benchmarks/results/trace_lengths.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    _, tokenizer = load_model("default")
    rows = []
    if args.traces:
        for item in args.traces:
            label, sep, path = item.partition("=")
            label, path = (label, path) if sep else (Path(item).stem, item)
            rows.append(length_row(label, read_traces(path), tokenizer, args.thought_budget))
    else:
        for name, (teacher, kwargs) in TEACHERS.items():
            records = []
            for i, (env_id, env_kwargs) in enumerate(TRACE_SOURCES):
                records += generate_traces(partial(teacher, **kwargs), env_id, args.episodes,
                                           seed=100_000 * i, env_kwargs=env_kwargs)
            rows.append(length_row(name, records, tokenizer, args.thought_budget))
    header = list(rows[0])

    def cell(v: object) -> str:
        return f"{v:.2f}" if isinstance(v, float) else "-" if v is None else str(v)

    table = "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n" + "".join(
        "| " + " | ".join(cell(r[h]) for h in header) + " |\n" for r in rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"traces": args.traces} if args.traces else {
        "episodes_per_source": args.episodes, "sources": TRACE_SOURCES}
    report.update(thought_budget=args.thought_budget, rows=rows)
    out.write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(
        "# Teacher trace lengths (default tokenizer)\n\n" + table)
    print(table)
    return report


if __name__ == "__main__":
    main()
