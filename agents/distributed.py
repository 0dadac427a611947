"""Evaluation episodes fanned out over Ray actors (``pip install "toolmaster-gym[ray]"``).

Each actor holds its own copy of the policy (the LLM and its tokenizer, shipped once
through Ray's object store) and makes its own envs; the driver hands out the batches
that the single-process path would play, in the same composition, and merges the
records back in the same order. With greedy decoding the report is therefore the one
:func:`~tool_gym.agents.evaluate.evaluate` writes in one process. Actors run torch on one
thread each; a single process on several threads sums in another order, which can move
a near-tied logit, so compare against a one-thread process.

``ray.init()`` starts a local cluster with ``workers`` CPUs unless Ray is already
initialised; ``address="auto"`` or ``"ray://host:10001"`` joins a running one
(``toolmaster eval --workers 8 --ray-address auto``).

Example:
    >>> results = evaluate(policy, episodes=24, workers=2)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

Job = tuple[str, str, dict[str, Any], int, int]  # split, env id, kwargs, task, trial seed


def batches(jobs: list[Job], batch_size: int) -> list[list[Job]]:
    """The batches :func:`~tool_gym.agents.evaluate.play_in_batches` plays, in its order:
    jobs grouped by trial seed (first seen first), then ``batch_size`` at a time."""
    by_seed: dict[int, list[Job]] = {}
    for job in jobs:
        by_seed.setdefault(job[4], []).append(job)
    size = max(1, batch_size)
    return [seed_jobs[i:i + size] for seed_jobs in by_seed.values()
            for i in range(0, len(seed_jobs), size)]


class EvalWorker:
    """A Ray actor: one policy copy, its own envs; plays whole batches."""

    def __init__(self, policy: Any, torch_threads: int = 1) -> None:
        import torch

        torch.set_num_threads(torch_threads)
        self.policy = policy

    def ready(self) -> bool:
        return True

    def play(self, batch: list[Job], batch_size: int,
             max_turns: int | None) -> dict[str, list[dict[str, Any]]]:
        from tool_gym.agents.evaluate import play_in_batches

        return play_in_batches(self.policy, batch, batch_size, max_turns, False)


def init_ray(workers: int, address: str | None = None) -> Any:
    """``ray.init`` once: a local cluster of ``workers`` CPUs, or the cluster at ``address``."""
    try:
        import ray
    except ImportError as e:
        raise ImportError('evaluation over Ray needs the ray extra: '
                          'pip install "toolmaster-gym[ray]"') from e
    if not ray.is_initialized():
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            local_worker_priority()
            ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING)
    return ray


def local_worker_priority() -> None:
    """Run a local cluster's workers at the driver's priority.

    Ray starts worker processes 15 nice levels below their raylet by default; on a busy
    machine that starves the evaluation actors (measured here: 10x slower than one
    process). Set before ``ray.init`` starts the raylet; a user's own setting wins.
    """
    import os

    os.environ.setdefault("RAY_worker_niceness", "0")


def play_batched(policy: Any, jobs: list[Job], batch_size: int, max_turns: int | None, *,
                 workers: int = 2, address: str | None = None,
                 torch_threads: int = 1,
                 timings: dict[str, float] | None = None) -> dict[str, list[dict[str, Any]]]:
    """:func:`~tool_gym.agents.evaluate.play_in_batches` over ``workers`` Ray actors.

    Batches go to whichever actor is free; records come back in batch order, so the
    result equals the single-process one record for record. Each actor holds one CPU and
    runs torch on ``torch_threads`` threads. ``timings`` (if given) gets ``startup_s``
    (until every actor holds its policy) and ``play_s``.
    """
    import time

    ray = init_ray(workers, address)
    from ray.util import ActorPool

    todo = batches(jobs, batch_size)
    n = max(1, min(workers, len(todo)))
    policy_ref = ray.put(policy)
    actor = ray.remote(num_cpus=1)(EvalWorker)
    t0 = time.perf_counter()
    actors = [actor.remote(policy_ref, torch_threads) for _ in range(n)]
    ray.get([a.ready.remote() for a in actors])
    t1 = time.perf_counter()
    logger.info("evaluating %d batches of up to %d episodes on %d Ray actors", len(todo),
                batch_size, n)
    merged: dict[str, list[dict[str, Any]]] = {}
    try:
        pool = ActorPool(actors)
        for records in pool.map(lambda a, b: a.play.remote(b, batch_size, max_turns), todo):
            for split, rows in records.items():
                merged.setdefault(split, []).extend(rows)
    finally:
        for a in actors:
            ray.kill(a)
    if timings is not None:
        timings.update(startup_s=t1 - t0, play_s=time.perf_counter() - t1)
    return merged
