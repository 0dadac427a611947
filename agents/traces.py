"""Teacher traces: JSONL files with one episode per line, loadable with ``datasets``.

A record holds the chat ``messages`` (system, user, then alternating assistant and
user-observation turns, ending with the last assistant message), the ``tool_calls`` from
the env's call log, the ``outcome``, the ``reward_terms`` summed over the episode, and
the env spec that produced it (``env_id``, ``env_kwargs``, ``seed``, ``task_id``,
``domain``, ``split``, ``mutations``, ``stale_docs``) plus the ``teacher`` name and
``mistakes``: the indices of the assistant messages that show a deliberate mistake (made
to show its fix; SFT can leave them out of the loss), empty for most teachers.

Values whose shape varies between records (call arguments, mutations, env kwargs) are
stored as JSON text, so the file has one Arrow schema and
``datasets.load_dataset("json", data_files=path)`` reads it as is.

Files are written safely: a whole file goes to a temporary file that replaces the target
in one ``os.replace``; appends write each full line with one ``write`` followed by
``fsync``. Readers never skip a bad line: a malformed or truncated line raises
:class:`TraceFormatError` naming ``file:line``.

Example:
    >>> from tool_gym.agents.teachers import TrialTeacher
    >>> records = generate_traces(TrialTeacher, "ToolMaster/Weather-v0", n=2, seed=0,
    ...                           progress=False)
    >>> sorted(records[0]["outcome"])
    ['final_observation', 'return', 'success', 'terminated', 'truncated', 'turns']
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym

from tool_gym.agents.progress import bars_enabled
from tool_gym.episode import Agents, EpisodeRecord, play
from tool_gym.oracle import unwrap

logger = logging.getLogger(__name__)

__all__ = [
    "REQUIRED_KEYS", "TraceFormatError", "TraceWriter", "filter_traces", "generate_traces",
    "TRANSCRIPT_KEYS", "load_traces", "play_episode", "read_traces", "read_transcripts",
    "recovery_traces", "summarize", "trace_record", "write_traces",
]

REQUIRED_KEYS = ("messages", "tool_calls", "outcome", "reward_terms", "env_id", "seed",
                 "task_id", "split", "mutations", "stale_docs", "teacher")
# what an evaluation transcript (one played episode) has at least
TRANSCRIPT_KEYS = ("split", "env_id", "task", "success", "actions")
_ROLES = ("system", "user", "assistant")


class TraceFormatError(ValueError):
    """A trace file has a malformed, truncated or incomplete line (the message says where)."""


# -- playing ----------------------------------------------------------------------------


def play_episode(env: gym.Env, teacher: Any, seed: int | None, env_id: str = "",
                 env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Play one episode with ``teacher`` (through :func:`tool_gym.episode.play`) and
    return its trace record."""
    episode, = play([env], Agents(teacher), [seed])
    return trace_record(episode, env, getattr(teacher, "name", type(teacher).__name__),
                        env_id, env_kwargs)


def trace_record(episode: EpisodeRecord, env: gym.Env, teacher: str, env_id: str = "",
                 env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The trace record of an episode just played in ``env`` (its call log is read)."""
    messages = [dict(m) for m in episode.messages]
    mistakes: list[int] = []
    for turn, action in enumerate(episode.actions):
        if turn:
            messages.append({"role": "user", "content": episode.observations[turn - 1]})
        messages.append({"role": "assistant", "content": action})
        if turn in episode.mistakes:
            mistakes.append(len(messages) - 1)
    log = unwrap(env).call_log()
    final = episode.observations[-1] if episode.observations else episode.observation
    return {
        "messages": messages,
        "tool_calls": [{"mode": c["mode"], "name": c["name"],
                        "arguments": json.dumps(c["arguments"], ensure_ascii=True, default=str),
                        "ok": c["error"] is None, "error": c["error"], "turn": c["turn"]}
                       for c in log],
        "outcome": {"success": bool(episode.success), "return": float(episode.reward),
                    "turns": int(episode.info["turn"]), "terminated": bool(episode.terminated),
                    "truncated": bool(episode.truncated), "final_observation": final},
        "reward_terms": dict(episode.reward_terms),
        "env_id": env_id,
        "env_kwargs": json.dumps(env_kwargs or {}, sort_keys=True, default=str),
        "seed": episode.seed,
        "task_id": episode.task_id,
        "domain": episode.domain,
        "split": episode.split,
        "mutations": [json.dumps(m, sort_keys=True, default=str) for m in episode.mutations],
        "stale_docs": bool(episode.stale_docs),
        "mistakes": mistakes,
        "teacher": teacher,
    }


def generate_traces(
    teacher_factory: Callable[..., Any],
    env_id: str,
    n: int,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    out: str | os.PathLike[str] | None = None,
    append: bool = False,
    progress: bool = True,
    workers: int = 1,
    ray_address: str | None = None,
) -> list[dict[str, Any]]:
    """Play ``n`` episodes of ``env_id`` with one teacher and return their records.

    Args:
        teacher_factory: ``teacher_factory(env, seed=seed)`` returns a teacher (a teacher
            class such as ``TrialTeacher`` works as is).
        env_id: A registered ``ToolMaster/...`` id.
        n: Episodes; episode ``i`` resets with ``seed + i``.
        seed: First reset seed; also seeds the teacher.
        env_kwargs: Passed to ``gym.make`` (split, mutations, stale_docs, max_turns...).
        out: When given, the records are written there as JSONL.
        append: Append each record as soon as it is played (a crash keeps what was done)
            instead of replacing ``out`` atomically at the end.
        progress: Show a tqdm bar.
        workers: Play the episodes on this many Ray actors, each with its own envs and
            teacher (:mod:`tool_gym.agents.distributed`): the same records and file.
        ray_address: A running Ray cluster (``"auto"``, ``"ray://host:10001"``) for
            ``workers``; by default Ray starts a local one.
    """
    from tqdm.auto import tqdm

    if workers > 1 or ray_address:
        from tool_gym.agents import distributed

        return distributed.generate_traces(teacher_factory, env_id, n, seed, env_kwargs, out,
                                           append, workers=workers, address=ray_address)
    env_kwargs = dict(env_kwargs or {})
    env = gym.make(env_id, **env_kwargs)
    teacher = teacher_factory(env, seed=seed)
    records: list[dict[str, Any]] = []
    writer = TraceWriter(out, append=True) if (out is not None and append) else None
    successes = 0
    try:
        bar = tqdm(range(n), desc=f"traces {env_id}", unit="ep",
                   disable=not (progress and bars_enabled()))
        for i in bar:
            record = play_episode(env, teacher, seed + i, env_id, env_kwargs)
            records.append(record)
            successes += record["outcome"]["success"]
            bar.set_postfix(success=f"{successes / (i + 1):.2f}")
            if writer is not None:
                writer.write(record)
    finally:
        env.close()
        if writer is not None:
            writer.close()
    if out is not None and not append:
        write_traces(out, records)
    logger.info("%d %s traces on %s: success rate %.3f", n, getattr(teacher, "name", "?"),
                env_id, successes / max(1, n))
    return records


def recovery_traces(
    episodes: Iterable[dict[str, Any]],
    sources: dict[str, tuple[str, dict[str, Any]]],
    teacher_factory: Callable[..., Any],
    seed: int = 0,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """A student's failed episodes, relabelled by the teacher (one round of DAgger).

    Each failed episode is relabelled at every message the env rejected, as long as
    every message up to it made one tool call and no real call before it worked (see
    :func:`rejected_prefixes`): the teacher replays the task from the student's messages
    up to that one (its ``recover`` method), reads the error, fixes the call and finishes
    the task. With one-turn rollouts that is the failed opening; longer rollouts add the
    states after the student's own failed fixes (a resend, a wrong rename). The student's
    messages are listed in the record's ``mistakes``, so SFT with ``learn_mistakes=False``
    learns the fix of the student's own error, not the error. Unlike the teacher's made-up
    mistakes, these are the states the student actually reaches.

    Args:
        episodes: Evaluation transcripts (:func:`~tool_gym.agents.evaluate.evaluate`'s
            ``transcripts``): ``split``, ``task`` (the reset seed), ``success``, ``actions``.
        sources: Split name to ``(env_id, env_kwargs)``, as the episodes were played.
        teacher_factory: ``teacher_factory(env, seed=seed)`` returns a teacher with
            ``recover(messages)`` (:class:`~tool_gym.agents.teachers.TrialTeacher` reads
            the error and names the fix; :class:`~tool_gym.agents.teachers.GoldenTeacher`
            just makes the right call).
        seed: Seeds the teacher.
        progress: Show a tqdm bar.

    Returns:
        The successful relabelled records (``teacher`` is ``"<name>_recovery"``), episode
        by episode, shortest prefix first.
    """
    from tqdm.auto import tqdm

    envs: dict[str, tuple[gym.Env, Any]] = {}
    out: list[dict[str, Any]] = []
    failed = [e for e in episodes if not e["success"] and e["actions"]]
    tried = 0
    try:
        for ep in tqdm(failed, desc="recovery traces", unit="ep",
                       disable=not (progress and bars_enabled())):
            env_id, kwargs = sources[ep["split"]]
            if ep["split"] not in envs:
                env = gym.make(env_id, **kwargs)
                envs[ep["split"]] = (env, teacher_factory(env, seed=seed))
            env, teacher = envs[ep["split"]]
            for n in rejected_prefixes(env, int(ep["task"]), ep["actions"]):
                tried += 1
                teacher.recover(ep["actions"][:n])
                record = play_episode(env, teacher, int(ep["task"]), env_id, kwargs)
                calls = record["tool_calls"]
                if len(calls) < n or calls[n - 1]["ok"] or not record["outcome"]["success"]:
                    continue  # no fix was found
                record["teacher"] = f"{record['teacher']}_recovery"
                out.append(record)
    finally:
        for env, _ in envs.values():
            env.close()
    logger.info("recovery traces: %d of %d failed messages of %d failed episodes", len(out),
                tried, len(failed))
    return out


def rejected_prefixes(env: gym.Env, seed: int, actions: Sequence[str]) -> list[int]:
    """The lengths ``n`` of the prefixes of a student's ``actions`` that DAgger relabels:
    the n-th message's tool call was rejected, every message up to it made exactly one
    tool call, and no real call before it worked (so the task's first step is still to
    do). Replays the messages in ``env`` from ``reset(seed=seed)`` in the one episode loop
    (:func:`tool_gym.episode.replay`)."""
    from tool_gym.agents.openings import parse_opening
    from tool_gym.episode import replay

    logged = [0]  # calls the env had logged after each message (none after the reset)
    played = replay(env, seed, actions,
                    on_step=lambda e, _: logged.append(len(unwrap(e).call_log())))
    log = unwrap(env).call_log()
    out: list[int] = []
    for n, action in enumerate(played.actions, start=1):
        try:
            _, _, mode = parse_opening(action)
        except ValueError:
            break  # not one tool call: nothing for an error message to fix
        if logged[n] == logged[n - 1]:
            break  # the env did not run it (no call recorded)
        if log[logged[n] - 1]["error"] is not None:
            out.append(n)
        elif mode == "call":
            break  # a real call worked: the failure came later
    return out


# -- writing ----------------------------------------------------------------------------


def _line(record: dict[str, Any]) -> bytes:
    text = json.dumps(record, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return (text + "\n").encode()


def write_traces(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> Path:
    """Write a whole trace file atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            for record in records:
                f.write(_line(record))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class TraceWriter:
    """Appends records to a JSONL file, one ``write`` + ``fsync`` per full line.

    A crash can lose the line being written but never leaves half of one behind from
    this writer. Appending to a file whose last line is already cut off is refused,
    since the new line would be glued onto the broken one.
    """

    def __init__(self, path: str | os.PathLike[str], append: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if append and self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    raise TraceFormatError(
                        f"{self.path}: the last line is incomplete (no newline at the end); "
                        "check it with read_traces() and repair the file before appending")
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        self._fd: int | None = os.open(self.path, flags, 0o644)

    def write(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path}: writer is closed")
        data = _line(record)
        written = os.write(self._fd, data)
        if written != len(data):
            raise OSError(f"{self.path}: short write ({written} of {len(data)} bytes)")
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- reading ----------------------------------------------------------------------------


def _check_record(record: Any, where: str) -> None:
    _check_keys(record, where, REQUIRED_KEYS)
    messages = record["messages"]
    if not isinstance(messages, list) or not messages:
        raise TraceFormatError(f"{where}: 'messages' must be a non-empty list")
    for j, m in enumerate(messages):
        if not (isinstance(m, dict) and m.get("role") in _ROLES
                and isinstance(m.get("content"), str)):
            raise TraceFormatError(f"{where}: messages[{j}] must be {{'role': one of "
                                   f"{list(_ROLES)}, 'content': str}}, got {m!r:.120}")


def _check_keys(record: Any, where: str, keys: Sequence[str]) -> None:
    if not isinstance(record, dict):
        raise TraceFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [k for k in keys if k not in record]
    if missing:
        raise TraceFormatError(f"{where}: missing keys {missing}")


def _check_transcript(record: Any, where: str) -> None:
    _check_keys(record, where, TRANSCRIPT_KEYS)


def read_transcripts(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Evaluation transcripts (``evaluate(transcripts=...)``), checked line by line like
    trace files but for :data:`TRANSCRIPT_KEYS`."""
    return list(iter_traces(path, check=_check_transcript))


def iter_traces(path: str | os.PathLike[str],
                check: Callable[[Any, str], None] = _check_record) -> Iterator[dict[str, Any]]:
    """Records of a JSONL trace file, validated; raises TraceFormatError at the first bad line."""
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    ends_cleanly = data.endswith(b"\n") or not data
    if ends_cleanly:
        lines = lines[:-1]
    for lineno, raw in enumerate(lines, start=1):
        where = f"{path}:{lineno}"
        if not raw.strip():
            raise TraceFormatError(f"{where}: empty line")
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            last = lineno == len(lines) and not ends_cleanly
            kind = "truncated last line (no newline at the end)" if last else "malformed JSON"
            raise TraceFormatError(f"{where}: {kind}: {e}") from None
        check(record, where)
        yield record


def read_traces(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All records of a trace file (see :func:`iter_traces`)."""
    return list(iter_traces(path))


def load_traces(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> Any:
    """Trace files as a ``datasets.Dataset`` (validated line by line first)."""
    import datasets

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    records = [r for p in paths for r in iter_traces(p)]
    if not records:
        raise TraceFormatError(f"no records in {', '.join(map(str, paths))}")
    return datasets.Dataset.from_list(records)


# -- filters and statistics -------------------------------------------------------------


def filter_traces(records: Any, success: bool | None = None,
                  split: str | Sequence[str] | None = None) -> Any:
    """Keep records by outcome and split; works on a list of records or a Dataset."""
    splits = {split} if isinstance(split, str) else set(split) if split is not None else None

    def keep(r: dict[str, Any]) -> bool:
        if success is not None and bool(r["outcome"]["success"]) != success:
            return False
        return splits is None or r["split"] in splits

    if hasattr(records, "filter") and not isinstance(records, list):
        return records.filter(keep)
    return [r for r in records if keep(r)]


def _stats(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    n = len(records)

    def mean(xs: list[float]) -> float:
        return float(statistics.fmean(xs)) if xs else 0.0

    modes = [[c["mode"] for c in r["tool_calls"]] for r in records]
    return {
        "episodes": n,
        "success_rate": mean([float(r["outcome"]["success"]) for r in records]),
        "mean_turns": mean([float(r["outcome"]["turns"]) for r in records]),
        "mean_return": mean([float(r["outcome"]["return"]) for r in records]),
        "trials_per_episode": mean([float(m.count("trial")) for m in modes]),
        "calls_per_episode": mean([float(m.count("call")) for m in modes]),
        "failed_per_episode": mean([float(sum(not c["ok"] for c in r["tool_calls"]))
                                    for r in records]),
        "with_trials": mean([float("trial" in m) for m in modes]),
    }


def summarize(records: Any) -> dict[str, Any]:
    """Success rate, mean turns, trials and calls per episode: overall and per domain."""
    records = list(records)
    by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_domain[r.get("domain") or r["task_id"].rsplit("-", 1)[0]].append(r)
    out: dict[str, Any] = _stats(records)
    out["per_domain"] = {d: _stats(rs) for d, rs in sorted(by_domain.items())}
    return out
