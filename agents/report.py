"""The pipeline's results as tables and a plot: one row per method and split (success,
Wilson interval over episodes, bootstrap interval over domains, pass^k), task-by-task
comparisons of the :data:`~tool_gym.agents.config.PAIRED` methods, markdown and PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tool_gym.agents.config import EVAL_SPLITS, METHODS, PAIRED, EvalConfig, recorded_fields
from tool_gym.agents.evaluate import SPLITS

__all__ = ["paired_markdown", "paired_rows", "plot", "provenance_markdown", "results_markdown",
           "rows_from", "split_columns", "table_markdown", "with_rows_of"]


def split_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The splits the rows hold, in :data:`~tool_gym.agents.evaluate.SPLITS` order (other
    names after them); :data:`EVAL_SPLITS` when there are no rows."""
    held = dict.fromkeys(r["split"] for r in rows)
    if not held:
        return list(EVAL_SPLITS)
    return [s for s in SPLITS if s in held] + [s for s in held if s not in SPLITS]


def rows_from(method: str, results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per split. ``ci_low``/``ci_high`` is the Wilson interval over episodes,
    ``ci_low_domain``/``ci_high_domain`` the bootstrap over domains (see
    :func:`~tool_gym.agents.evaluate.domain_interval`; recomputed from ``per_task`` for
    evaluations saved before it existed)."""
    from tool_gym.agents.evaluate import domain_counts, domain_interval

    rows = []
    for split, s in results["splits"].items():
        by_domain = domain_counts(s.get("per_task", []))
        clustered = domain_interval(list(by_domain.values()))
        rows.append({"method": method, "split": split, "episodes": s["episodes"],
                     "success": s["success_rate"], "ci_low": s["ci95"][0],
                     "ci_high": s["ci95"][1], "domains": by_domain,
                     "ci_low_domain": clustered[0] if clustered else None,
                     "ci_high_domain": clustered[1] if clustered else None,
                     "pass_at_k": s["pass_k"],
                     "mean_turns": s["mean_turns"], "trials_per_episode": s["trials_per_episode"],
                     "calls_per_episode": s["calls_per_episode"],
                     "per_task": _task_outcomes(s.get("per_task", []))})
    return rows


def with_rows_of(report: dict[str, Any], earlier: dict[str, Any],
                 source: str) -> dict[str, Any]:
    """``report`` (a pipeline report) plus the rows of each method it did not evaluate from
    ``earlier``, a report of another run (``source`` names it), and the task-by-task
    comparisons recomputed over both: a student evaluated once on a block of tasks is
    compared with one evaluated later without playing the block again. Refused
    (``ValueError``) unless both evaluated the same tasks the same way: the same model,
    ``max_plan_steps`` and evaluation settings (a batch size aside); tasks are paired on
    seed and id (:func:`~tool_gym.agents.evaluate.paired_comparison`)."""
    recorded = recorded_fields(EvalConfig)

    def how(r: dict[str, Any]) -> dict[str, Any]:
        return {"model": r.get("model"), "max_plan_steps": r["preset"].get("max_plan_steps"),
                **{f"eval.{k}": r["preset"]["eval"].get(k) for k in recorded}}

    ours, theirs = how(report), how(earlier)
    differ = [f"{k}: {theirs[k]!r} there, {v!r} here" for k, v in ours.items() if theirs[k] != v]
    if differ:
        raise ValueError(f"{source} evaluated other tasks or another way: {'; '.join(differ)}")
    have = {r["method"] for r in report["rows"]}
    added = [r for r in earlier["rows"] if r["method"] not in have]
    if not added:
        raise ValueError(f"{source} holds no method this run did not evaluate")
    rows = report["rows"] + added
    methods = dict.fromkeys(r["method"] for r in added)
    return {**report, "rows": rows, "paired": paired_rows(rows),
            "provenance": {**report.get("provenance", {}),
                           **{m: {"results": source} for m in methods}},
            "rows_from": {**report.get("rows_from", {}), **{m: source for m in methods}}}


def _task_outcomes(per_task: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed, id, trials and successes of each task, for :func:`paired_rows`; empty when a
    task has no seed (it could not be paired)."""
    if any(t.get("task_seed") is None for t in per_task):
        return []
    return [{k: t.get(k) for k in ("task_seed", "task_id", "n", "successes")}
            for t in per_task]


def paired_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Task-by-task comparisons (:func:`~tool_gym.agents.evaluate.paired_comparison`) of
    the :data:`PAIRED` methods, per split where both rows hold their tasks: ``method``,
    ``baseline``, ``split``, then the comparison's fields."""
    from tool_gym.agents.evaluate import paired_comparison

    def row(method: str, split: str) -> dict[str, Any] | None:
        return next((r for r in rows if r["method"] == method and r["split"] == split
                     and r.get("per_task")), None)

    out = []
    for method, baseline in PAIRED:
        for split in split_columns(rows):
            a, b = row(method, split), row(baseline, split)
            if a and b:
                out.append({"method": method, "baseline": baseline, "split": split,
                            **paired_comparison(b["per_task"], a["per_task"])})
    return out


def paired_markdown(paired: list[dict[str, Any]]) -> str:
    """Tasks gained / lost (sign-test p) per comparison and split; "" when there is none."""
    if not paired:
        return ""
    splits = split_columns(paired)
    lines = ["| method | baseline | " + " | ".join(splits) + " |",
             "|---|---|" + "---|" * len(splits)]
    for method, baseline in dict.fromkeys((p["method"], p["baseline"]) for p in paired):
        cells = []
        for split in splits:
            p = next((x for x in paired if (x["method"], x["baseline"], x["split"])
                      == (method, baseline, split)), None)
            if p is None:
                cells.append("-")
            else:
                pv = "-" if p["p_value"] is None else f"{p['p_value']:.2f}"
                cells.append(f"+{p['gained']} / -{p['lost']} (p {pv})")
        lines.append(f"| {method} | {baseline} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def table_markdown(rows: list[dict[str, Any]], interval: str = "wilson") -> str:
    """Success [interval] per method and split; ``interval="domain"`` shows the bootstrap
    over domains instead of the Wilson interval over episodes."""
    if interval not in ("wilson", "domain"):
        raise ValueError(f"interval must be 'wilson' or 'domain', not {interval!r}")
    lo_key, hi_key = ("ci_low", "ci_high") if interval == "wilson" else ("ci_low_domain",
                                                                          "ci_high_domain")
    splits = split_columns(rows)
    lines = ["| method | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for method in [m for m in METHODS if any(r["method"] == m for r in rows)]:
        cells = []
        for split in splits:
            r = next((x for x in rows if x["method"] == method and x["split"] == split), None)
            if r is None:
                cells.append("-")
            elif r.get(lo_key) is None:
                cells.append(f"{r['success']:.2f} [-]")
            else:
                cells.append(f"{r['success']:.2f} [{r[lo_key]:.2f}, {r[hi_key]:.2f}]")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def results_markdown(rows: list[dict[str, Any]]) -> str:
    """Both tables: Wilson intervals over episodes, then bootstrap intervals over domains;
    then the task-by-task comparisons of :func:`paired_rows`, where there are any."""
    return ("Success rate [95% Wilson interval over episodes]:\n\n" + table_markdown(rows)
            + "\nSuccess rate [95% bootstrap interval over domains; episodes of one domain "
            "are not independent, see `tool_gym.agents.evaluate.domain_interval`]:\n\n"
            + table_markdown(rows, "domain") + _paired_section(paired_rows(rows)))


def provenance_markdown(provenance: dict[str, dict[str, str]]) -> str:
    """Where each method's stages came from: trained by this invocation, a zoo entry
    (``zoo:NAME``) or the run folder (an earlier invocation)."""
    if not provenance:
        return ""
    rows = "\n".join(f"| {method} | " + ", ".join(f"{stage}: {src}" for stage, src in
                                                  stages.items()) + " |"
                     for method, stages in provenance.items() if stages)
    if not rows:
        return ""
    return ("\nWhere each method's trained stages came from (trained here, a zoo entry, or "
            "the run folder from an earlier invocation):\n\n| method | stages |\n"
            f"|---|---|\n{rows}\n")


def _paired_section(paired: list[dict[str, Any]]) -> str:
    if not paired:
        return ""
    return ("\nTasks gained / lost against the baseline, task by task on the same tasks "
            "(two-sided exact sign test p, one test per cell: among twenty cells with no "
            "real difference, about one shows p < 0.05 by chance):\n\n" + paired_markdown(paired))


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    splits = split_columns(rows)
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    width = 0.8 / max(1, len(methods))
    fig, ax = plt.subplots(figsize=(9, 4))
    for i, m in enumerate(methods):
        vals, lo, hi = [], [], []
        for s in splits:
            r = next((x for x in rows if x["method"] == m and x["split"] == s), None)
            v = r["success"] if r else 0.0
            vals.append(v)
            lo.append(max(0.0, v - (r["ci_low"] if r else 0.0)))  # float noise at 0 and 1
            hi.append(max(0.0, (r["ci_high"] if r else 0.0) - v))
        x = np.arange(len(splits)) + (i - (len(methods) - 1) / 2) * width
        ax.bar(x, vals, width, yerr=[lo, hi], capsize=2, label=m)
    ax.set_xticks(np.arange(len(splits)), splits)
    ax.set_ylabel("success rate (95% CI)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, ncols=3)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
