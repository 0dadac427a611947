"""Token lengths of teacher traces: what the SFT length and message-token caps must hold.

Plays the golden teacher and the trial teacher (terse and verbose wording) on the
pipeline's trace sources and measures, with the default model's tokenizer, each
assistant message and each whole tokenised episode (the SFT sequence).

    python benchmarks/trace_lengths.py --out benchmarks/results/trace_lengths.json

Prints a table and writes JSON and markdown.
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
from tool_gym.agents.sft import tokenize_conversation
from tool_gym.agents.teachers import GoldenTeacher, TrialTeacher
from tool_gym.agents.traces import generate_traces

TEACHERS = {
    "golden": (GoldenTeacher, {}),
    "trial_terse": (TrialTeacher, {"style": "terse"}),
    "trial_verbose": (TrialTeacher, {"style": "verbose"}),
}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=60, help="per trace source")
    parser.add_argument("--out", default="benchmarks/results/trace_lengths.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    _, tokenizer = load_model("default")
    rows = []
    for name, (teacher, kwargs) in TEACHERS.items():
        records = []
        for i, (env_id, env_kwargs) in enumerate(TRACE_SOURCES):
            records += generate_traces(partial(teacher, **kwargs), env_id, args.episodes,
                                       seed=100_000 * i, env_kwargs=env_kwargs)
        ok = [r for r in records if r["outcome"]["success"]]
        msgs = np.array([len(tokenizer(m["content"], add_special_tokens=False)["input_ids"])
                         for r in ok for m in r["messages"] if m["role"] == "assistant"])
        eps = np.array([len(tokenize_conversation(r["messages"], tokenizer)["input_ids"])
                        for r in ok])
        rows.append({"teacher": name, "episodes": len(ok),
                     "message_p50": float(np.percentile(msgs, 50)),
                     "message_p90": float(np.percentile(msgs, 90)),
                     "message_p99": float(np.percentile(msgs, 99)),
                     "message_frac_over_64": float(np.mean(msgs > 64)),
                     "message_frac_over_96": float(np.mean(msgs > 96)),
                     "episode_p50": float(np.percentile(eps, 50)),
                     "episode_frac_over_768": float(np.mean(eps > 768)),
                     "episode_frac_over_1536": float(np.mean(eps > 1536))})
    header = list(rows[0])
    table = "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n" + "".join(
        "| " + " | ".join(f"{r[h]:.2f}" if isinstance(r[h], float) else str(r[h])
                          for h in header) + " |\n" for r in rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"episodes_per_source": args.episodes, "sources": TRACE_SOURCES, "rows": rows}
    out.write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(
        "# Teacher trace lengths (default tokenizer)\n\n" + table)
    print(table)
    return report


if __name__ == "__main__":
    main()
