"""Evaluation and rollout collection fanned out over Ray actors (``pip install "toolmaster-gym[ray]"``).

One mechanism, :func:`fan_out`: ``workers`` actors, each made once with its own copy of
what it needs (the policy, or nothing for scripted teachers; shipped once through Ray's
object store) and making its own envs, play the items the single-process path would
play, one item per call, and the driver gets the results back in item order. So the
output is the single-process output, merged into the same files:

- evaluation and DAgger rollouts (:func:`play_batched`): the batches
  :func:`~tool_gym.agents.evaluate.play_in_batches` would play, in the same composition,
  on actors holding a copy of the LLM policy. With greedy decoding the records are
  those of one process. Actors run torch on one thread each; a single process on several
  threads sums in another order, which can move a near-tied logit, so compare against a
  one-thread process.
- teacher traces (:func:`generate_traces`, :func:`generate_many`): chunks of a source's
  episodes, each played by :func:`~tool_gym.agents.traces.generate_traces` on the actor
  with the teacher seeded as the whole source's would be (a teacher draws each episode's
  choices from its seed and the task, not from earlier episodes).

``ray.init()`` starts a local cluster with ``workers`` CPUs unless Ray is already
initialised; ``address="auto"`` or ``"ray://host:10001"`` joins a running one
(``toolmaster eval --workers 8 --ray-address auto``, the same flags on ``toolmaster
traces`` and ``toolmaster run``).

Example:
    >>> results = evaluate(policy, episodes=24, workers=2)  # doctest: +SKIP
    >>> records = generate_traces(TrialTeacher, "ToolMaster/Seen-v0", 400, workers=2)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

logger = logging.getLogger(__name__)

Job = tuple[str, str, dict[str, Any], int, int]  # split, env id, kwargs, task, trial seed
# the arguments of traces.generate_traces: teacher factory, env id, episodes, first seed, kwargs
TraceSource = tuple[Callable[..., Any], str, int, int, dict[str, Any]]


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


class TraceWorker:
    """A Ray actor that plays chunks of teacher episodes, with its own envs and teachers."""

    def ready(self) -> bool:
        return True

    def play(self, chunk: tuple[TraceSource, int, int]) -> list[dict[str, Any]]:
        from tool_gym.agents.traces import generate_traces

        (factory, env_id, _, seed, env_kwargs), first, count = chunk
        return generate_traces(SeededTeacher(factory, seed), env_id, count, seed=first,
                               env_kwargs=env_kwargs, progress=False)


class SeededTeacher:
    """A teacher factory whose teachers get ``seed`` whatever reset seed a chunk starts at,
    as the teacher of the whole source does."""

    def __init__(self, factory: Callable[..., Any], seed: int) -> None:
        self.factory, self.seed = factory, seed

    def __call__(self, env: Any, seed: int = 0) -> Any:
        return self.factory(env, seed=self.seed)


def init_ray(workers: int, address: str | None = None) -> Any:
    """``ray.init`` once: a local cluster of ``workers`` CPUs, or the cluster at ``address``."""
    try:
        import ray
    except ImportError as e:
        raise ImportError('running on Ray workers needs the ray extra: '
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
    os.environ.setdefault("RAY_worker_niceness", "0")


def fan_out(worker: type, init_args: Sequence[Any], items: Sequence[Any],
            call: Callable[[Any, Any], Any], *, workers: int = 2, address: str | None = None,
            timings: dict[str, float] | None = None) -> Iterator[Any]:
    """``call(actor, item)`` for every item on ``workers`` Ray actors of ``worker``, results
    yielded in item order.

    Each actor is ``worker(*init_args)`` with the arguments shipped once through Ray's
    object store, holds one CPU, and takes the next item when it is free. The actors are
    killed when the results are all in (or the consumer stops). ``timings`` (if given)
    gets ``startup_s`` (until every actor is made) and ``play_s``.
    """
    ray = init_ray(workers, address)
    from ray.util import ActorPool

    n = max(1, min(workers, len(items)))
    refs = [ray.put(a) for a in init_args]
    actor = ray.remote(num_cpus=1)(worker)
    t0 = time.perf_counter()
    actors = [actor.remote(*refs) for _ in range(n)]
    try:
        ray.get([a.ready.remote() for a in actors])
        t1 = time.perf_counter()
        logger.info("%d items on %d Ray actors (%s)", len(items), n, worker.__name__)
        yield from ActorPool(actors).map(call, list(items))
        if timings is not None:
            timings.update(startup_s=t1 - t0, play_s=time.perf_counter() - t1)
    finally:
        for a in actors:
            ray.kill(a)


def play_batched(policy: Any, jobs: list[Job], batch_size: int, max_turns: int | None, *,
                 workers: int = 2, address: str | None = None,
                 torch_threads: int = 1,
                 timings: dict[str, float] | None = None) -> dict[str, list[dict[str, Any]]]:
    """:func:`~tool_gym.agents.evaluate.play_in_batches` over ``workers`` Ray actors.

    Batches go to whichever actor is free; records come back in batch order, so the
    result equals the single-process one record for record. Each actor holds its own
    policy copy, one CPU, and runs torch on ``torch_threads`` threads. ``timings`` (if
    given) gets ``startup_s`` (until every actor holds its policy) and ``play_s``.
    """
    todo = batches(jobs, batch_size)
    logger.info("playing %d batches of up to %d episodes on Ray", len(todo), batch_size)
    merged: dict[str, list[dict[str, Any]]] = {}
    played = fan_out(EvalWorker, (policy, torch_threads), todo,
                     lambda a, b: a.play.remote(b, batch_size, max_turns),
                     workers=workers, address=address, timings=timings)
    for records in played:
        for split, rows in records.items():
            merged.setdefault(split, []).extend(rows)
    return merged


def trace_chunks(sources: Sequence[TraceSource],
                 workers: int) -> list[tuple[TraceSource, int, int]]:
    """Each source's episodes in chunks of consecutive reset seeds, about four per worker
    per source (so a slow chunk does not hold the others up): ``(source, first, count)``."""
    out = []
    for source in sources:
        n, seed = source[2], source[3]
        size = max(1, math.ceil(n / (4 * max(1, workers))))
        out += [(source, seed + i, min(size, n - i)) for i in range(0, n, size)]
    return out


def generate_many(sources: Sequence[TraceSource], *, workers: int = 2,
                  address: str | None = None) -> list[list[dict[str, Any]]]:
    """The records :func:`~tool_gym.agents.traces.generate_traces` plays for each source
    (``(teacher_factory, env_id, n, seed, env_kwargs)``), all sources' chunks spread over
    one set of ``workers`` Ray actors; one list of records per source, in order."""
    chunks = trace_chunks(sources, workers)
    owners = [i for i, source in enumerate(sources) for _ in trace_chunks([source], workers)]
    out: list[list[dict[str, Any]]] = [[] for _ in sources]
    played = fan_out(TraceWorker, (), chunks, lambda a, c: a.play.remote(c),
                     workers=workers, address=address)
    for i, records in zip(owners, played, strict=True):
        out[i].extend(records)
    return out


def generate_traces(teacher_factory: Callable[..., Any], env_id: str, n: int, seed: int = 0,
                    env_kwargs: dict[str, Any] | None = None, out: Any = None,
                    append: bool = False, *, workers: int = 2,
                    address: str | None = None) -> list[dict[str, Any]]:
    """:func:`~tool_gym.agents.traces.generate_traces` on ``workers`` Ray actors: the same
    records, written to ``out`` the same way (appended in order as chunks come back, or
    the whole file replaced atomically)."""
    from tool_gym.agents.traces import TraceWriter, write_traces

    source = (teacher_factory, env_id, n, seed, dict(env_kwargs or {}))
    chunks = trace_chunks([source], workers)
    records: list[dict[str, Any]] = []
    writer = TraceWriter(out, append=True) if (out is not None and append) else None
    try:
        for part in fan_out(TraceWorker, (), chunks, lambda a, c: a.play.remote(c),
                            workers=workers, address=address):
            records += part
            for record in part if writer is not None else ():
                writer.write(record)
    finally:
        if writer is not None:
            writer.close()
    if out is not None and not append:
        write_traces(out, records)
    logger.info("%d traces on %s from %d Ray actors: success rate %.3f", n, env_id,
                min(workers, len(chunks)),
                sum(r["outcome"]["success"] for r in records) / max(1, n))
    return records
