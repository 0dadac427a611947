"""Evaluation: success rate with a 95% Wilson interval and pass^k, per split.

The default splits:

=============  ==============================================  ==========================
split          env                                             what it measures
=============  ==============================================  ==========================
seen_test      ``ToolMaster/Seen-v0`` with ``split="test"``    held-out tasks, seen tools
unseen         ``ToolMaster/Unseen-v0``                        tools never trained on
drift_fresh    ``ToolMaster/Drift-v0``, ``stale_docs=False``   mutated tools, true docs
drift_stale    ``ToolMaster/Drift-v0``, ``stale_docs=True``    mutated tools, old docs
unseen_stale   ``ToolMaster/Unseen-Drift-v0``, stale docs      new tools, drifted, old docs
=============  ==============================================  ==========================

Drift splits use the test task seeds of the seen domains. :data:`SPLITS` names these and
splits a run asks for by name (``EvalConfig.splits``): ``procgen`` (``ToolMaster/Procgen-v0``
on test API seeds: generated APIs no training source draws) and ``procgen_stale`` (the same,
drifted, with the docs from before the drift).

A split whose env id is not registered is skipped with a warning (and listed under
``"skipped"``). Tasks are the env's ``reset(seed=task_offset + j)`` for ``j < episodes``;
every task is played once per trial seed in ``seeds``, so ``len(seeds)`` is the number of
i.i.d. trials ``n`` per task. pass^k (tau-bench) is the chance that ``k`` independent
trials of the same task all succeed, estimated per task as ``C(c, k) / C(n, k)`` from its
``c`` successes in ``n`` trials and averaged over tasks (reported for ``k <= n``). The
Wilson interval is over all episodes of the split; trials of one task are not independent
draws of tasks, so with several seeds it is narrower than an interval over tasks would be.

Episodes of one domain are not independent either: a greedy policy tends to make the same
choice on every task of a domain (the same wrong tool, the same fix), so a split drawn from a
few domains has an effective sample size nearer its number of domains than its number of
episodes. :func:`domain_interval` is a percentile bootstrap of the pooled success rate that
resamples whole domains, widened where needed to contain the Wilson interval
(``ci95_domains``; None with fewer than two domains). With few domains it is still too
narrow (a percentile bootstrap over k clusters ignores the spread it cannot see), but far
less so than the Wilson interval alone.

Example:
    >>> results = evaluate(policy, episodes=50, seeds=[0, 1, 2, 3])  # doctest: +SKIP
    >>> print(to_markdown(results))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tool_gym.agents.progress import bars_enabled
from tool_gym.episode import Agents, Policy, as_policy, play

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_SPLITS", "FINAL_TASKS", "FINAL_TASK_OFFSET", "domain_counts",
           "domain_interval", "evaluate",
           "paired_comparison", "pass_hat_k", "SPLITS",
           "save_report", "split_table", "summarize", "to_markdown", "wilson_interval"]

SplitSpec = tuple[str, dict[str, Any]]

DEFAULT_SPLITS: dict[str, SplitSpec] = {
    "seen_test": ("ToolMaster/Seen-v0", {"split": "test"}),
    "unseen": ("ToolMaster/Unseen-v0", {}),
    # drift on the tools the task needs: with drift_focus="any" a light drift leaves them
    # alone in about half the episodes, which then measure seen_test again
    "drift_fresh": ("ToolMaster/Drift-v0", {"split": "test", "stale_docs": False,
                                            "drift_focus": "plan"}),
    "drift_stale": ("ToolMaster/Drift-v0", {"split": "test", "stale_docs": True,
                                            "drift_focus": "plan"}),
    "unseen_stale": ("ToolMaster/Unseen-Drift-v0", {"stale_docs": True, "drift_focus": "plan"}),
}
# Every named split: the defaults, then held-out generated APIs (test API seeds; the
# training sources draw train API seeds only), plain and drifted with stale docs
SPLITS: dict[str, SplitSpec] = {
    **DEFAULT_SPLITS,
    "procgen": ("ToolMaster/Procgen-v0", {"api_split": "test"}),
    "procgen_stale": ("ToolMaster/Procgen-Drift-v0", {"api_split": "test", "stale_docs": True,
                                                      "drift_focus": "plan"}),
}
Z95 = 1.959963984540054
MAX_K = 4


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% by default); (0, 1) when n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_hat_k(counts: Sequence[tuple[int, int]], k: int) -> float | None:
    """tau-bench pass^k from ``(n, c)`` per task: mean of ``C(c, k) / C(n, k)``.

    Tasks with fewer than ``k`` trials are left out; None when no task has ``k`` trials.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    terms = [math.comb(c, k) / math.comb(n, k) for n, c in counts if n >= k]
    return float(sum(terms) / len(terms)) if terms else None


def domain_of(task_id: Any) -> str:
    """The domain of a task id (``"<domain>-<seed>"``, as :meth:`Domain.generate` names it)."""
    return str(task_id).rsplit("-", 1)[0] if task_id else "?"


def domain_counts(per_task: Sequence[Mapping[str, Any]]) -> dict[str, list[int]]:
    """``{domain: [episodes, successes]}`` from the ``per_task`` list of :func:`summarize`."""
    out: dict[str, list[int]] = {}
    for t in per_task:
        c = out.setdefault(domain_of(t.get("task_id")), [0, 0])
        c[0] += int(t["n"])
        c[1] += int(t["successes"])
    return dict(sorted(out.items()))


def domain_interval(counts: Sequence[Sequence[int]], confidence: float = 0.95,
                    n_resamples: int = 4999, seed: int = 0) -> tuple[float, float] | None:
    """Interval of the pooled success rate that resamples whole domains.

    ``counts`` holds ``(episodes, successes)`` per domain. The percentile bootstrap
    (:func:`scipy.stats.bootstrap`, the domains' two counts paired) sees only the spread
    between domains, so with few domains, or domains that all score the same (every one at
    0), it can be narrower than the Wilson interval over episodes, or a single point.
    Grouping episodes can only shrink the effective sample, so the interval returned is
    the hull of the two: never narrower than Wilson's. None with fewer than two domains.
    """
    import numpy as np

    n = np.array([c[0] for c in counts if c[0] > 0], dtype=float)
    s = np.array([c[1] for c in counts if c[0] > 0], dtype=float)
    if len(n) < 2:
        return None
    w_lo, w_hi = wilson_interval(int(s.sum()), int(n.sum()))
    rates = s / n
    if np.allclose(rates, rates[0]):
        return w_lo, w_hi
    from scipy.stats import bootstrap

    def pooled(succ: Any, eps: Any, axis: int = -1) -> Any:
        return succ.sum(axis=axis) / eps.sum(axis=axis)

    res = bootstrap((s, n), pooled, paired=True, vectorized=True, method="percentile",
                    confidence_level=confidence, n_resamples=n_resamples,
                    rng=np.random.default_rng(seed))
    lo, hi = res.confidence_interval
    return min(float(lo), w_lo), max(float(hi), w_hi)


def paired_comparison(base: Sequence[Mapping[str, Any]],
                       other: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Task-by-task comparison of two evaluations of the same tasks.

    ``base`` and ``other`` are ``per_task`` lists of :func:`summarize`. Tasks are paired on
    their seed; a seed in only one list, or a pair whose ``task_id`` differs (the env's task
    pool changed between the two runs), is left out and counted under ``left_out``. A task
    is ``gained`` when ``other`` succeeds on a larger share of its trials than ``base``,
    ``lost`` when on a smaller one. ``base_ci`` / ``other_ci`` are the Wilson intervals of
    the pooled success rates over the paired tasks. ``p_value`` is the two-sided exact
    sign test (:func:`scipy.stats.binomtest`) of gained against lost, which is McNemar's
    exact test with one trial per task; None when no task differs. Pairing removes the spread between
    tasks that both runs share, so it detects a difference that two overlapping Wilson
    intervals cannot.
    """
    b = {t["task_seed"]: t for t in base}
    o = {t["task_seed"]: t for t in other}
    common = [s for s in b if s in o and b[s].get("task_id") == o[s].get("task_id")]

    def rate(t: Mapping[str, Any]) -> float:
        return int(t["successes"]) / int(t["n"]) if int(t["n"]) else 0.0

    gained = sum(rate(o[s]) > rate(b[s]) for s in common)
    lost = sum(rate(o[s]) < rate(b[s]) for s in common)

    def pooled(side: Mapping[Any, Mapping[str, Any]]) -> tuple[float | None, list[float] | None]:
        n = sum(int(side[s]["n"]) for s in common)
        k = sum(int(side[s]["successes"]) for s in common)
        return (k / n, list(wilson_interval(k, n))) if n else (None, None)

    p_value = None
    if gained + lost:
        from scipy.stats import binomtest

        p_value = float(binomtest(gained, gained + lost, 0.5).pvalue)
    (base_success, base_ci), (other_success, other_ci) = pooled(b), pooled(o)
    return {"tasks": len(common), "left_out": len(set(b) | set(o)) - len(common),
            "base_success": base_success, "other_success": other_success,
            "base_ci": base_ci, "other_ci": other_ci,
            "gained": gained, "lost": lost, "p_value": p_value}


def split_table(env_ids: Any = None) -> dict[str, SplitSpec]:
    """Normalise a split table.

    ``None``: :data:`DEFAULT_SPLITS`. A string or a list of strings: env ids, each its own
    split named after the id (``"name=EnvId"`` names it). A mapping: name to an env id or
    to ``(env_id, env_kwargs)``.
    """
    if env_ids is None:
        return dict(DEFAULT_SPLITS)
    if isinstance(env_ids, str):
        env_ids = [env_ids]
    if isinstance(env_ids, Mapping):
        out = {}
        for name, spec in env_ids.items():
            if isinstance(spec, str):
                out[str(name)] = (spec, {})
            else:
                env_id, kwargs = spec
                out[str(name)] = (env_id, dict(kwargs or {}))
        return out
    out = {}
    for item in env_ids:
        name, sep, env_id = str(item).partition("=")
        out[name if sep else str(item)] = (env_id if sep else str(item), {})
    return out


def summarize(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Metrics of one split from per-episode records (task, success, turns, trials, calls;
    with ``cut_actions`` / ``forced_thoughts`` / ``resends`` / ``resampled`` in every
    record, their totals as ``cut_messages`` / ``forced_thoughts`` / ``resends`` /
    ``resampled``)."""
    n_ep = len(records)
    succ = sum(bool(r["success"]) for r in records)
    per_task: dict[Any, dict[str, Any]] = {}
    for r in records:
        t = per_task.setdefault(r["task"], {"task_seed": r["task"], "task_id": r.get("task_id"),
                                            "n": 0, "successes": 0})
        t["n"] += 1
        t["successes"] += int(bool(r["success"]))
    counts = [(t["n"], t["successes"]) for t in per_task.values()]
    lo, hi = wilson_interval(succ, n_ep)
    by_domain = domain_counts(list(per_task.values()))
    clustered = domain_interval(list(by_domain.values()))

    def avg(key: str) -> float | None:
        return float(sum(r[key] for r in records) / n_ep) if n_ep else None

    # batched LLM policies only: messages cut at the token cap, thoughts closed by force,
    # failed calls resent verbatim, and such messages resampled
    messages = {name: sum(int(r[key]) for r in records)
                for key, name in (("cut_actions", "cut_messages"),
                                  ("forced_thoughts", "forced_thoughts"),
                                  ("resends", "resends"), ("resampled", "resampled"))
                if records and all(key in r for r in records)}
    return {
        "tasks": len(per_task),
        "trials_per_task": min((n for n, _ in counts), default=0),
        "episodes": n_ep,
        "successes": succ,
        "success_rate": succ / n_ep if n_ep else None,
        "ci95": [lo, hi],
        "domains": by_domain,
        "ci95_domains": list(clustered) if clustered else None,
        "pass_k": {str(k): pass_hat_k(counts, k) for k in range(1, MAX_K + 1)},
        "mean_turns": avg("turns"),
        "trials_per_episode": avg("trials"),
        "calls_per_episode": avg("calls"),
        "mean_reward": avg("reward"),
        **messages,
        "per_task": list(per_task.values()),
    }


# -- playing ------------------------------------------------------------------------------


def play_in_batches(policy: Policy, jobs: list[tuple[str, str, dict[str, Any], int, int]],
                    batch_size: int, max_turns: int | None,
                    progress: bool) -> dict[str, list[dict[str, Any]]]:
    """Play every (split, env_id, kwargs, task, trial seed) job, ``batch_size`` at a time,
    in the one episode loop (:func:`tool_gym.episode.play`).

    Jobs of different splits share a batch, so a small eval keeps the batch full; within
    one batch there is one env per episode, so episode i runs on env i.
    """
    import gymnasium as gym
    from tqdm.auto import tqdm

    records: dict[str, list[dict[str, Any]]] = {}
    envs: dict[tuple[str, str], list[Any]] = {}
    by_seed: dict[int, list[tuple[str, str, dict[str, Any], int, int]]] = {}
    for job in jobs:
        by_seed.setdefault(job[4], []).append(job)
    bar = tqdm(total=len(jobs), desc="evaluate", unit="ep",
               disable=not (progress and bars_enabled()), leave=False)
    try:
        for seed, seed_jobs in by_seed.items():
            for start in range(0, len(seed_jobs), max(1, batch_size)):
                chunk = seed_jobs[start:start + max(1, batch_size)]
                used: dict[tuple[str, str], int] = {}
                batch = []
                for split, env_id, kwargs, _, _ in chunk:
                    key = (split, env_id)
                    pool = envs.setdefault(key, [])
                    i = used.get(key, 0)
                    if i == len(pool):
                        pool.append(gym.make(env_id, **kwargs))
                    used[key] = i + 1
                    batch.append(pool[i])
                episodes = play(batch, policy, [j[3] for j in chunk], max_turns=max_turns,
                                seed=seed, on_done=lambda _: bar.update(1))
                for (split, _, _, task, _), ep in zip(chunk, episodes, strict=True):
                    records.setdefault(split, []).append(ep.transcript(task, seed))
    finally:
        bar.close()
        for pool in envs.values():
            for env in pool:
                env.close()
    return records


# The block of tasks reserved for the committed final table (issue 25): reset seeds
# FINAL_TASK_OFFSET + j, j < FINAL_TASKS. No development decision may look at them, so
# evaluate() refuses them unless asked for the final table (``final=True``, ``toolmaster
# eval --final``), once per student. Traces use i * 100_000 + j, DAgger rounds 500_000+,
# the pipeline's evaluation 900_000 + j and the larger development blocks 950_000 + j.
FINAL_TASK_OFFSET = 2_000_000
FINAL_TASKS = 100


def evaluate(policy: Any, env_ids: Any = None, episodes: int = 20,
             seeds: int | Sequence[int] = (0,), *, env_kwargs: Mapping[str, Any] | None = None,
             batch_size: int = 8, max_turns: int | None = None, task_offset: int = 0,
             progress: bool = True, out: str | os.PathLike[str] | None = None,
             markdown: str | os.PathLike[str] | None = None,
             transcripts: str | os.PathLike[str] | None = None,
             final: bool = False,
             workers: int = 1, ray_address: str | None = None) -> dict[str, Any]:
    """Evaluate ``policy`` on each split; returns a JSON-ready dict.

    Args:
        policy: A :class:`~tool_gym.episode.Policy` (the
            :class:`~tool_gym.agents.policy.LLMPolicy`), a scripted agent with ``act(obs)``
            (and optionally ``begin(obs, info)``, ``reseed(seed)``), or a factory ``env ->
            such an agent`` (e.g. ``GoldenPlanPolicy``), made one by
            :func:`~tool_gym.episode.as_policy`. Every policy plays in the one episode loop,
            ``batch_size`` envs at once.
        env_ids: The split table (see :func:`split_table`; default :data:`DEFAULT_SPLITS`).
        episodes: Tasks per split.
        seeds: Trial seeds (one int: a single trial); each task is played once per seed,
            and the seed seeds the LLM's sampling for that trial.
        env_kwargs: Passed to every ``gym.make`` (after the split's own kwargs).
        batch_size: Envs played at once.
        max_turns: Stop episodes after this many messages (default: the env's limit).
        task_offset: Task j of every split is ``reset(seed=task_offset + j)``.
        progress: tqdm bars.
        out, markdown: Also write the JSON / markdown report there.
        transcripts: Also write every episode there as JSONL (split, env id and kwargs,
            task, success, the policy's messages and the env's answers), for reading why
            episodes failed (``toolmaster view`` shows them).
        final: Play the reserved block of the final table (:data:`FINAL_TASK_OFFSET`);
            without it, tasks inside that block are refused.
        workers: Play an LLM policy's batches on this many Ray actors, each with its
            own copy of the policy and its own envs (:mod:`tool_gym.agents.distributed`);
            the records are the same as in one process.
        ray_address: A running Ray cluster (``"auto"``, ``"ray://host:10001"``) for
            ``workers``; by default Ray starts a local one.
    """
    import gymnasium as gym

    import tool_gym  # noqa: F401  (registers the ids)

    seed_list = [int(seeds)] if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("need at least one trial seed")
    table = split_table(env_ids)
    tasks = [task_offset + j for j in range(int(episodes))]
    reserved = range(FINAL_TASK_OFFSET, FINAL_TASK_OFFSET + FINAL_TASKS)
    if final and not (tasks and tasks[0] in reserved and tasks[-1] in reserved):
        raise ValueError(f"the final table plays tasks {reserved.start}..{reserved.stop - 1} "
                         f"only; got {task_offset}..{task_offset + int(episodes) - 1}")
    if not final and tasks and tasks[0] < reserved.stop and tasks[-1] >= reserved.start:
        raise ValueError(f"tasks {reserved.start}..{reserved.stop - 1} are reserved for the "
                         "final table (toolmaster eval --final): pick another --task-offset")
    policy_name = policy.__name__ if isinstance(policy, type) else type(policy).__name__
    policy = as_policy(policy)
    if (workers > 1 or ray_address) and isinstance(policy, Agents):
        raise ValueError("workers > 1 (Ray) plays batched LLM policies (an LLMPolicy); a "
                         f"scripted {policy_name} plays in one process: use workers=1")
    results: dict[str, Any] = {
        "config": {"episodes": int(episodes), "seeds": seed_list, "task_offset": task_offset,
                   "final": final,
                   "max_turns": max_turns, "env_kwargs": dict(env_kwargs or {}),
                   "policy": policy_name},
        "splits": {}, "skipped": {},
    }
    live: dict[str, tuple[str, dict[str, Any]]] = {}
    played_records: list[dict[str, Any]] = []
    for name, (env_id, kwargs) in table.items():
        if env_id not in gym.registry:
            logger.warning("split %s: %s is not registered; skipped", name, env_id)
            results["skipped"][name] = f"{env_id} is not registered"
            continue
        live[name] = (env_id, {**kwargs, **dict(env_kwargs or {})})
    jobs = [(name, env_id, merged, task, seed) for seed in seed_list
            for name, (env_id, merged) in live.items() for task in tasks]
    logger.info("evaluating %d splits x %d tasks x %d trials in batches of %d", len(live),
                len(tasks), len(seed_list), batch_size)
    if workers > 1 or ray_address:
        from tool_gym.agents.distributed import play_batched

        played = play_batched(policy, jobs, batch_size, max_turns, workers=workers,
                              address=ray_address)
    else:
        played = play_in_batches(policy, jobs, batch_size, max_turns, progress)
    for name, (env_id, merged) in live.items():
        records = played[name]
        played_records += [{"split": name, "env_id": env_id, "env_kwargs": merged, **r}
                           for r in records]
        summary = summarize(records)
        results["splits"][name] = {"env_id": env_id, "env_kwargs": merged, **summary}
        logger.info("split %s: success %.3f [%.3f, %.3f]", name, summary["success_rate"] or 0.0,
                    *summary["ci95"])
    if out is not None or markdown is not None:
        save_report(results, out, markdown)
    if transcripts is not None:
        from tool_gym.agents.traces import write_traces  # atomic JSONL, any records

        write_traces(transcripts, played_records)
    return results


# -- reports ------------------------------------------------------------------------------


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def to_markdown(results: Mapping[str, Any]) -> str:
    """A markdown table of the splits (success, 95% CI over episodes and over domains,
    pass^1..4, turns, trials, calls; messages cut at the cap, thoughts closed by the
    budget, failed calls resent verbatim and resampled messages where counted)."""
    ks = [str(k) for k in range(1, MAX_K + 1)]
    counted = [k for k in ("cut_messages", "forced_thoughts", "resends", "resampled")
               if any(k in s for s in results.get("splits", {}).values())]
    head = (["split", "env", "tasks", "episodes", "success", "95% CI", "domains",
             "95% CI (domains)"]
            + [f"pass^{k}" for k in ks] + ["turns", "trials/ep", "calls/ep", "reward"]
            + [k.replace("_", " ") for k in counted])
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for name, s in results.get("splits", {}).items():
        kw = ", ".join(f"{k}={v}" for k, v in s.get("env_kwargs", {}).items())
        env = f"{s['env_id']}" + (f" ({kw})" if kw else "")
        row = [name, env, _fmt(s["tasks"]), _fmt(s["episodes"]), _fmt(s["success_rate"]),
               f"[{_fmt(s['ci95'][0])}, {_fmt(s['ci95'][1])}]"]
        clustered = s.get("ci95_domains")
        row += [_fmt(len(s.get("domains") or {})),
                f"[{_fmt(clustered[0])}, {_fmt(clustered[1])}]" if clustered else "-"]
        row += [_fmt(s["pass_k"].get(k)) for k in ks]
        row += [_fmt(s["mean_turns"], 2), _fmt(s["trials_per_episode"], 2),
                _fmt(s["calls_per_episode"], 2), _fmt(s["mean_reward"], 3)]
        row += [_fmt(s.get(k)) for k in counted]
        lines.append("| " + " | ".join(row) + " |")
    for name, why in results.get("skipped", {}).items():
        lines.append(f"\nSkipped {name}: {why}.")
    return "\n".join(lines) + "\n"


def save_report(results: Mapping[str, Any], out: str | os.PathLike[str] | None = None,
                markdown: str | os.PathLike[str] | None = None) -> None:
    """Write the JSON report to ``out`` and the markdown table to ``markdown`` (if given)."""
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    if markdown is not None:
        Path(markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(markdown).write_text(to_markdown(results))
