"""Scaling: students trained on more generated APIs, at an equal number of traces.

For each number K of generated training APIs (``--apis``) and each teacher (``--teachers``),
the pipeline (``tool_gym.agents.pipeline``: traces -> LoRA SFT -> evaluation) trains one
student from the same base model and evaluates it on unseen hand-written domains
(``unseen``, ``unseen_stale``) and on held-out generated APIs with stale docs
(``procgen_stale``: test API seeds, which no training source draws). Point K uses the
preset's hand-written trace sources plus ``traces.procgen_apis=K``: the Procgen sources
(``tool_gym.agents.config.PROCGEN_SOURCES``) play ``--procgen-per-source`` episodes each,
spread evenly over the first K train API seeds, so every K > 0 plays the same number of
episodes. K = 0 plays that generated budget on the hand-written sources instead (their
``per_source`` raised by the budget over their number), so it too trains on as many
traces; the JSON lists what each point played and kept. Every point evaluates the same
tasks (paired across points). Resumable: each point is a run folder of its own
(``<run-dir>/k<K>``) and the results are rewritten after each point. Results accumulate
across invocations and machines: the points of an existing ``--out`` made with the same
setup (base preset, model, Procgen budget, splits) are kept beside this invocation's, so a
committed result can be extended one K (or one teacher) at a time (``--fresh``: replace it).

    python benchmarks/scaling.py --quick            # quick preset, K = 0 3 30
    python benchmarks/scaling.py                    # one_call preset, K = 0 30 300 3000,
                                                    # 1,500 episodes per Procgen source
    python benchmarks/scaling.py --preset tiny --model tiny --apis 0 2 --procgen-per-source 3

Writes ``benchmarks/results/scaling.{json,md,png}`` (``--out``): ``rows`` has one row per
K, teacher and split (``apis``, ``teacher``, ``method``, ``split``, ``episodes``,
``success``, ``ci_low``/``ci_high``: 95% Wilson interval over episodes,
``ci_low_domain``/``ci_high_domain``: bootstrap over domains); ``points`` what each point
trained on (episodes played, traces kept, distinct generated APIs in them).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from tool_gym.agents.config import PROCGEN_SOURCES, TRACE_SOURCES
from tool_gym.agents.pipeline import (
    PRESETS,
    Preset,
    parse_override,
    run_pipeline,
    with_overrides,
)
from tool_gym.agents.progress import quiet_libraries

logger = logging.getLogger("scaling")
TEACHERS = ("trial", "golden")
SPLITS = ["unseen", "unseen_stale", "procgen_stale"]
ROW_KEYS = ("split", "episodes", "success", "ci_low", "ci_high", "ci_low_domain",
            "ci_high_domain", "pass_at_k", "domains", "per_task")


def point_preset(base: Preset, apis: int, procgen_per_source: int,
                 splits: list[str] | None = None) -> Preset:
    """The preset of point K = ``apis``: ``base`` with the Procgen sources on ``apis``
    train APIs, or, for 0, their episodes spread over the hand-written sources."""
    budget = len(PROCGEN_SOURCES) * procgen_per_source
    changes: dict[str, Any] = {"traces.procgen_apis": apis,
                               "traces.procgen_per_source": procgen_per_source,
                               "eval.splits": list(splits or SPLITS)}
    if apis == 0:
        changes["traces.per_source"] = (base.traces.per_source
                                        + math.ceil(budget / len(TRACE_SOURCES)))
    return with_overrides(base, **changes)


def trace_counts(run_dir: Path, preset: Preset, teacher: str) -> dict[str, int]:
    """What a point's teacher played and kept: episodes, traces, those on generated APIs
    and their distinct APIs."""
    from tool_gym.agents.traces import read_traces

    kept = read_traces(run_dir / f"traces_{teacher}.jsonl")
    generated = [r for r in kept if r["domain"].startswith("procgen_")]
    return {"episodes_played": sum(n for _, _, n in preset.trace_budget()),
            "traces": len(kept), "procgen_traces": len(generated),
            "procgen_apis_seen": len({r["domain"] for r in generated})}


SETUP_KEYS = ("benchmark", "preset_name", "base_preset", "model", "procgen_per_source",
              "splits", "eval_episodes")


def setup_differences(report: dict[str, Any], earlier: dict[str, Any]) -> list[str]:
    """The setup keys on which two results differ (none: their points can be merged)."""
    return [k for k in SETUP_KEYS if earlier.get(k) != report.get(k)]


def merge_earlier(report: dict[str, Any], earlier: dict[str, Any] | None) -> list[str]:
    """Add to ``report`` the (K, teacher) points of ``earlier`` (an earlier result) that
    ``report`` has not finished, when both were made with the same setup; the report's
    ``apis`` and ``teachers`` become the union. Returns why nothing was merged, if so."""
    if not earlier:
        return []
    differ = setup_differences(report, earlier)
    if differ:
        return differ
    ours = {(int(k), t) for k in report["points"] for t in report["teachers"]}
    keep = [r for r in earlier.get("rows", []) if (r["apis"], r["teacher"]) not in ours]
    report["rows"] = keep + report["rows"]
    for k, point in earlier.get("points", {}).items():
        mine = report["points"].setdefault(k, {})
        for key, value in point.items():
            if key in TEACHERS and (int(k), key) in ours:
                continue
            mine.setdefault(key, value)
    for k, seconds in earlier.get("timings_s", {}).items():
        report["timings_s"].setdefault(k, seconds)
    report["apis"] = sorted(set(report["apis"]) | set(earlier["apis"]))
    report["teachers"] = [t for t in TEACHERS if t in report["teachers"] or
                          t in earlier["teachers"]]
    report["commands"] = list(dict.fromkeys(earlier.get("commands", [earlier["command"]])
                                            + [report["command"]]))
    return []


def markdown(report: dict[str, Any]) -> str:
    """Success [95% Wilson interval] per K (rows) and teacher x split (columns)."""
    rows, splits = report["rows"], report["splits"]
    cols = [(t, s) for t in report["teachers"] for s in splits]
    lines = [f"# Scaling with generated training APIs ({report['preset_name']} preset, "
             f"model {report['model']})", "",
             f"{report['eval_episodes']} tasks per split, the same tasks at every K; "
             "success [95% Wilson interval over episodes].", "",
             "| K | " + " | ".join(f"{t} {s}" for t, s in cols) + " | traces (trial / golden) |",
             "|---|" + "---|" * (len(cols) + 1)]
    for k in report["apis"]:
        cells = []
        for t, s in cols:
            r = next((x for x in rows if (x["apis"], x["teacher"], x["split"]) == (k, t, s)),
                     None)
            cells.append("-" if r is None else
                         f"{r['success']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]")
        point = report["points"].get(str(k), {})
        kept = " / ".join(str(point[t]["traces"]) if t in point else "-" for t in TEACHERS)
        lines.append(f"| {k} | " + " | ".join(cells) + f" | {kept} |")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Success (95% Wilson interval) against K, one panel per split, a line per teacher."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    splits = report["splits"]
    fig, axes = plt.subplots(1, len(splits), figsize=(4 * len(splits), 3.4), squeeze=False)
    for ax, split in zip(axes[0], splits, strict=True):
        for teacher in report["teachers"]:
            pts = sorted(((r["apis"], r) for r in report["rows"]
                          if r["teacher"] == teacher and r["split"] == split),
                         key=lambda kr: kr[0])
            if not pts:
                continue
            xs = [k for k, _ in pts]
            ys = [r["success"] for _, r in pts]
            err = [[max(0.0, r["success"] - r["ci_low"]) for _, r in pts],
                   [max(0.0, r["ci_high"] - r["success"]) for _, r in pts]]
            ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=teacher)
        ax.set_xscale("symlog", linthresh=1)  # log x that still shows K = 0
        ax.set_xticks(report["apis"], [str(k) for k in report["apis"]])
        ax.set_title(split)
        ax.set_xlabel("generated training APIs (K)")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("success rate (95% CI)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="quick preset, K = 0 3 30, 15 episodes per Procgen source")
    parser.add_argument("--preset", default=None, choices=sorted(PRESETS),
                        help="the base recipe (default one_call; quick with --quick)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--apis", type=int, nargs="+", default=None,
                        help="numbers of generated training APIs (default 0 30 300 3000)")
    parser.add_argument("--teachers", nargs="+", default=list(TEACHERS), choices=TEACHERS)
    parser.add_argument("--procgen-per-source", type=int, default=None,
                        help="episodes of each Procgen source at every K > 0 (default 1500, "
                             "so K = 3000 APIs are each played once; 15 with --quick)")
    parser.add_argument("--splits", nargs="+", default=SPLITS,
                        help=f"evaluation splits (default {' '.join(SPLITS)})")
    parser.add_argument("--run-dir", default=None, help="default runs/scaling-<preset>")
    parser.add_argument("--out", default="benchmarks/results/scaling.json")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override SECTION.FIELD of the base preset (repeatable)")
    parser.add_argument("--fresh", action="store_true",
                        help="replace --out instead of keeping its points of the same setup")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    quiet_libraries()
    preset_name = args.preset or ("quick" if args.quick else "one_call")
    apis = sorted(set(args.apis or ([0, 3, 30] if args.quick else [0, 30, 300, 3000])))
    per_source = args.procgen_per_source or (15 if args.quick else 1500)
    if min(apis) < 0 or per_source < 1:
        raise SystemExit("--apis are at least 0 and --procgen-per-source at least 1")
    try:
        base = with_overrides(PRESETS[preset_name], **dict(parse_override(s) for s in args.set))
    except ValueError as e:
        raise SystemExit(f"--set: {e}") from None
    run_root = Path(args.run_dir or f"runs/scaling-{preset_name}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    methods = [f"{t}_sft" for t in args.teachers]
    report: dict[str, Any] = {
        "benchmark": "scaling", "preset_name": preset_name, "model": args.model,
        "apis": apis, "teachers": args.teachers, "splits": args.splits,
        "procgen_per_source": per_source, "eval_episodes": base.eval.episodes,
        "base_preset": base.to_json(),
        "command": shlex.join(["python", "benchmarks/scaling.py",
                               *(argv if argv is not None else sys.argv[1:])]),
        "rows": [], "points": {}, "timings_s": {}}
    earlier = None if args.fresh or not out.exists() else json.loads(out.read_text())
    if earlier is not None and (differ := setup_differences(report, earlier)):
        logger.warning("%s was made with another setup (%s): replacing it", out,
                       ", ".join(differ))
        earlier = None
    t0 = time.perf_counter()
    for k in apis:
        p = point_preset(base, k, per_source, args.splits)
        run_dir = run_root / f"k{k}"
        t1 = time.perf_counter()
        result = run_pipeline(run_dir, p, model_name=args.model, methods=methods,
                              command=report["command"])
        report["timings_s"][str(k)] = time.perf_counter() - t1
        report["points"][str(k)] = {
            "run_dir": str(run_dir), "traces_settings": p.to_json()["traces"],
            **{t: trace_counts(run_dir, p, t) for t in args.teachers}}
        for row in result["rows"]:
            teacher = row["method"].removesuffix("_sft")
            report["rows"].append({"apis": k, "teacher": teacher, "method": row["method"],
                                   **{key: row.get(key) for key in ROW_KEYS}})
        report["wall_s_this_invocation"] = time.perf_counter() - t0
        # after every point, so an interrupted run keeps the points it finished
        write(report, earlier, out)
    whole = merged(report, earlier)
    print(markdown(whole))
    return whole


def merged(report: dict[str, Any], earlier: dict[str, Any] | None) -> dict[str, Any]:
    """``report`` with ``earlier``'s other points (:func:`merge_earlier`), as a copy;
    ``points_run_now`` lists the (K, teacher) points this invocation finished."""
    whole = json.loads(json.dumps(report, default=str))
    whole["points_run_now"] = [[int(k), t] for k in report["points"] for t in report["teachers"]]
    merge_earlier(whole, earlier)
    return whole


def write(report: dict[str, Any], earlier: dict[str, Any] | None, out: Path) -> None:
    """Write the result (JSON, markdown, plot), each file whole (written beside, then
    renamed)."""
    whole = merged(report, earlier)
    for path, text in ((out, json.dumps(whole, indent=2, default=str)),
                       (out.with_suffix(".md"), markdown(whole))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    tmp = out.with_name(out.stem + ".tmp.png")
    plot(whole, tmp)
    tmp.replace(out.with_suffix(".png"))


if __name__ == "__main__":
    main()
