"""Generalization: trial-and-execution (ToolMaster) versus trajectory imitation.

Runs the whole pipeline (``tool_gym.agents.pipeline``): trial-teacher and golden-teacher
traces of the same seen-domain tasks, LoRA SFT on each, DAgger rounds where the preset
plays them, the same GRPO budget from each (``toolmaster``: from the trial student after
its DAgger rounds), then evaluation of ``zero_shot``, ``golden_sft``, ``golden_sft_grpo``, ``trial_sft`` and
``toolmaster`` on ``seen_test``, ``unseen``, ``drift_fresh``, ``drift_stale`` and
``unseen_stale``. Resumable: rerun the same command after an interruption.

    python benchmarks/generalization.py --quick            # ~15 min on a 2-core CPU
    python benchmarks/generalization.py                    # full preset (~2 h here)
    python benchmarks/generalization.py --max-plan-steps 1 # same models, one-call tasks
    python benchmarks/generalization.py --preset one_call  # trained and tested on one-call
                                                           # tasks (~1.5 h here)

Writes ``benchmarks/results/generalization[-<preset>].{json,md,png}``; the JSON has one row per
method and split: method, split, episodes, success, ci_low, ci_high (95% Wilson interval
over episodes), domains (episodes and successes per domain), ci_low_domain, ci_high_domain
(95% bootstrap interval over domains: episodes of one domain are not independent), pass_at_k.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from pathlib import Path

from tool_gym.agents.pipeline import (
    PRESETS,
    parse_override,
    provenance_markdown,
    results_markdown,
    run_pipeline,
    with_overrides,
)
from tool_gym.agents.progress import quiet_libraries
from tool_gym.agents.report import plot, with_rows_of


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the quick preset")
    parser.add_argument("--preset", default="full", choices=sorted(PRESETS),
                        help="default full (--quick means quick)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--run-dir", default=None, help="default runs/generalization-<preset>")
    parser.add_argument("--out", default=None,
                        help="default benchmarks/results/generalization[-<preset>][-plan<k>]"
                             ".json, or generalization-<run folder name>[-plan<k>].json "
                             "with --run-dir (so a variant run does not overwrite its preset's "
                             "committed results)")
    parser.add_argument("--max-plan-steps", type=int, default=None,
                        help="evaluate on tasks whose golden plan has at most this many calls")
    parser.add_argument("--method", action="append", default=None,
                        help="only these methods, in this order (repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override SECTION.FIELD of the preset (sections traces, trial, sft, "
                             "dagger, grpo, eval; VALUE read as JSON, else a string), e.g. "
                             "--set sft.learn_mistakes=false --set grpo.temperature=0.7 "
                             "(repeatable)")
    parser.add_argument("--zoo", action="append", default=None, metavar="[METHOD=]NAME",
                        help="restore METHOD's zoo entry NAME first (its finished stages are "
                             "not retrained) and save each stage finished into it "
                             "(repeatable; a bare NAME with one --method)")
    parser.add_argument("--no-train", action="store_true",
                        help="only evaluate: refuse before anything runs if a stage is neither "
                             "in the run folder nor in the --zoo entries")
    parser.add_argument("--with-results", action="append", default=[], metavar="FILE",
                        help="add the rows of methods this run does not evaluate from an "
                             "earlier results JSON of the same tasks (same model and "
                             "evaluation settings, or refused) and compare task by task "
                             "against them, e.g. the committed final table (repeatable)")
    parser.add_argument("--reuse-stages", action="store_true",
                        help="reuse finished stages of the run folder made with other "
                             "settings (refused otherwise); the report lists what differs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    quiet_libraries()
    preset = "quick" if args.quick else args.preset
    run_dir = Path(args.run_dir or f"runs/generalization-{preset}")
    p = with_overrides(PRESETS[preset], **{"eval.max_plan_steps": args.max_plan_steps},
                       **dict(_field(item) for item in args.set))
    suffix = p.suffix
    limit = p.eval.max_plan_steps or p.max_plan_steps
    earlier = {f: json.loads(Path(f).read_text()) for f in args.with_results}
    t0 = time.perf_counter()
    report = run_pipeline(run_dir, p, model_name=args.model, methods=args.method,
                          reuse_stages=args.reuse_stages, zoo=args.zoo,
                          train=not args.no_train,
                          command=shlex.join(["python", "benchmarks/generalization.py",
                                              *(argv if argv is not None else sys.argv[1:])]))
    report["wall_s_this_invocation"] = time.perf_counter() - t0
    report["preset_name"] = preset
    for source, other in earlier.items():
        report = with_rows_of(report, other, source)
    out = Path(args.out or default_out(preset, args.run_dir, suffix))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    table = results_markdown(report["rows"]) + provenance_markdown(report["provenance"])
    timings = ", ".join(f"{k} {v / 60:.1f} min" for k, v in report["timings_s"].items())
    out.with_suffix(".md").write_text(
        f"# Generalization ({preset} preset, model {args.model}"
        f"{f', tasks of at most {limit} calls' if limit else ''})\n\n"
        f"{report['preset']['eval']['episodes']} tasks per split.\n\n{table}\nStage times of this invocation (finished stages are skipped on a "
        f"rerun): {timings}.\n")
    plot(report["rows"], out.with_suffix(".png"))
    print(table)
    return report


def default_out(preset: str, run_dir: str | None, suffix: str = "") -> Path:
    """Where results go without ``--out``: named after the preset, or after the run folder
    when one is given, so a variant's run does not overwrite its preset's results."""
    named = "" if preset in ("full", "quick") else f"-{preset}"
    if run_dir:
        named = f"-{Path(run_dir).name}"
    return Path(f"benchmarks/results/generalization{named}{suffix}.json")


def _field(item: str) -> tuple[str, object]:
    try:
        return parse_override(item)
    except ValueError as e:
        raise SystemExit(f"--set: {e}") from None


if __name__ == "__main__":
    main()
