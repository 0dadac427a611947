"""The episode viewer: one self-contained HTML page of played episodes.

``toolmaster view PATH`` reads a run folder (every JSONL in it), an evaluation's
transcripts (``evaluate(transcripts=...)``) or a trace file (``toolmaster traces``) and
writes one page: a filterable list of episodes (split, domain, method, success, drift)
and, for each, the query, the catalogue the agent was shown, every message with its
trials, calls and answers marked, the env's answers and errors, the reward terms and the
drift applied. Two methods that played the same task can be read side by side.

What a record does not hold is recovered by replaying its messages in the env it was
played in (the envs are deterministic): an evaluation transcript keeps the messages but
not the prompt, and no record keeps the reward terms turn by turn. A replay is used only
when it reproduces the record (same task, same drift, and the recorded answers where
there are some); otherwise the page shows what was recorded and says so.

Drift and success are shown here, to the reader, and never to the agent.

Example:
    >>> from tool_gym.agents.viewer import load_episodes, render_page
    >>> episodes = load_episodes(["runs/quick"])          # doctest: +SKIP
    >>> html = render_page(episodes, title="runs/quick")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tool_gym.protocol import (
    TURN_RE,
    ParseError,
    parse_call,
    parse_responses,
    split_segments,
    thoughts,
)

logger = logging.getLogger(__name__)

__all__ = ["EpisodeView", "StepView", "load_episodes", "render_page", "write_page"]

TEMPLATE = "viewer.html.j2"
TRANSCRIPT_SUFFIX = ".transcripts"


@dataclass
class StepView:
    """One agent message and the env's answer to it, ready to display."""

    message: str
    thoughts: list[str]
    segments: list[dict[str, Any]]
    problems: list[str]
    observation: str | None
    lines: list[dict[str, Any]]
    reward_terms: dict[str, float] | None = None


@dataclass
class EpisodeView:
    """One played episode, from a trace or a transcript, ready to display."""

    key: str
    method: str
    source: str
    split: str
    domain: str
    task_id: str
    task: Any
    env_id: str
    env_kwargs: dict[str, Any]
    mutations: list[dict[str, Any]]
    stale_docs: bool
    success: bool
    reward: float | None
    reward_terms: dict[str, float]
    rules: str
    catalogue_title: str
    catalogue: list[str]
    query: str
    steps: list[StepView]
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def task_key(self) -> str:
        """Episodes with the same key played the same task under the same drift."""
        return json.dumps([self.split, self.task_id, self.mutations], sort_keys=True)

    @property
    def drift_kinds(self) -> list[str]:
        return sorted({str(m.get("kind", "?")) for m in self.mutations})


# -- reading records ----------------------------------------------------------------------


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.jsonl") if p.is_file())
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    return [path]


def _read_jsonl(path: Path) -> Iterable[tuple[int, Any]]:
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: malformed JSON: {e}") from None


def _kind(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    if "messages" in record and "outcome" in record:
        return "trace"
    if all(k in record for k in ("split", "env_id", "task", "success", "actions")):
        return "transcript"
    return None


def _method_name(path: Path) -> str:
    stem = path.stem
    return stem[:-len(TRANSCRIPT_SUFFIX)] if stem.endswith(TRANSCRIPT_SUFFIX) else stem


def _evaluation_beside(path: Path) -> dict[str, Any]:
    """The evaluation report written beside a transcripts file, if any."""
    if not path.stem.endswith(TRANSCRIPT_SUFFIX):
        return {}
    report = path.with_name(_method_name(path) + ".json")
    try:
        return json.loads(report.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _mutations(raw: Any) -> list[dict[str, Any]]:
    out = []
    for m in raw or []:
        if isinstance(m, str):
            try:
                m = json.loads(m)
            except json.JSONDecodeError:
                m = {"kind": m}
        out.append(m if isinstance(m, dict) else {"kind": str(m)})
    return out


# -- replaying ----------------------------------------------------------------------------


class _Replayer:
    """Replays recorded messages in the one episode loop (:func:`tool_gym.episode.replay`),
    one env per (id, kwargs), made lazily."""

    def __init__(self) -> None:
        self.envs: dict[str, Any] = {}

    def play(self, env_id: str, kwargs: Mapping[str, Any], seed: Any,
             actions: Sequence[str]) -> dict[str, Any] | None:
        import gymnasium as gym

        import tool_gym  # noqa: F401  (registers the ids)
        from tool_gym.episode import replay

        key = json.dumps([env_id, kwargs], sort_keys=True, default=str)
        terms: list[dict[str, float]] = []  # the reward terms of each answered message
        try:
            if key not in self.envs:
                self.envs[key] = gym.make(env_id, **kwargs)
            ep = replay(self.envs[key], None if seed is None else int(seed), actions,
                        on_step=lambda _, e: terms.append(dict(e.info.get("reward_terms", {}))))
        except Exception as e:  # an id or kwargs this install does not know: show the record
            logger.debug("replay of %s %s seed %s failed: %s", env_id, kwargs, seed, e)
            return None
        info = {"task_id": ep.task_id, "mutations": ep.mutations, "messages": ep.messages,
                "stale_docs": ep.stale_docs}
        return {"info": info, "observations": ep.observations, "terms": terms,
                "success": ep.success, "reward": ep.reward}

    def close(self) -> None:
        for env in self.envs.values():
            env.close()
        self.envs.clear()


def _fits(replay: dict[str, Any] | None, task_id: str, mutations: list[dict[str, Any]],
          observations: Sequence[str] | None, n_actions: int) -> bool:
    if replay is None:
        return False
    info = replay["info"]
    if info.get("task_id") != task_id or _mutations(info.get("mutations")) != mutations:
        return False
    if observations is not None:
        return list(observations) == replay["observations"][:len(observations)]
    return len(replay["observations"]) == n_actions


def _prompt_parts(system: str) -> tuple[str, str, list[str]]:
    """(rules, catalogue heading, catalogue lines) of a system prompt."""
    rules, sep, rest = system.partition("\n\nTools (")
    if not sep:
        return system, "", []
    heading, _, listing = rest.partition("\n")
    return rules, "Tools (" + heading, [line for line in listing.splitlines() if line]


# -- one step's display -------------------------------------------------------------------


def _segments(message: str) -> tuple[list[dict[str, Any]], list[str]]:
    segments, problems = split_segments(message)
    out = []
    for seg in segments:
        item: dict[str, Any] = {"kind": seg.kind, "body": seg.body.strip()}
        if seg.kind != "answer":
            try:
                call = parse_call(seg.body)
            except ParseError as e:
                item["error"] = str(e)
            else:
                item["name"] = call.name
                item["arguments"] = json.dumps(call.arguments, ensure_ascii=False)
        out.append(item)
    return out, problems


def _lines(observation: str) -> list[dict[str, Any]]:
    out = []
    for line in observation.splitlines():
        responses = parse_responses(line)
        if responses:
            r = responses[0]
            kind = "ok" if r.ok else ("malformed" if r.malformed else "refused")
            out.append({"kind": kind, "mode": r.mode, "index": r.index, "name": r.name,
                        "text": r.text})
        elif line.startswith("[error]"):
            out.append({"kind": "error", "text": line})
        elif line.startswith("[done]"):
            out.append({"kind": "done", "text": line})
        elif TURN_RE.fullmatch(line):
            out.append({"kind": "turn", "text": line})
        else:
            out.append({"kind": "text", "text": line})
    return out


def _steps(actions: Sequence[str], observations: Sequence[str | None],
           terms: Sequence[dict[str, float]] | None) -> list[StepView]:
    steps = []
    for i, message in enumerate(actions):
        obs = observations[i] if i < len(observations) else None
        segments, problems = _segments(message)
        step_terms = None
        if terms is not None and i < len(terms):
            step_terms = {k: v for k, v in terms[i].items() if v}
        steps.append(StepView(message=message, thoughts=thoughts(message), segments=segments,
                          problems=problems, observation=obs,
                          lines=_lines(obs) if obs is not None else [],
                          reward_terms=step_terms))
    return steps


# -- records to episodes ------------------------------------------------------------------


def _from_trace(r: dict[str, Any], method: str, source: str, key: str,
                replayer: _Replayer | None) -> EpisodeView:
    messages = r["messages"]
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    users = [m["content"] for m in messages if m["role"] == "user"]
    actions = [m["content"] for m in messages if m["role"] == "assistant"]
    observations = users[1:] + [r["outcome"].get("final_observation", "")]
    mutations = _mutations(r.get("mutations"))
    env_kwargs = r.get("env_kwargs") or {}
    if isinstance(env_kwargs, str):
        env_kwargs = json.loads(env_kwargs)
    terms, note = None, ""
    if replayer is not None and r.get("env_id"):
        replay = replayer.play(r["env_id"], env_kwargs, r.get("seed"), actions)
        if _fits(replay, r["task_id"], mutations, observations, len(actions)):
            terms = replay["terms"]
        else:
            note = "replay did not reproduce this trace: reward terms per turn not shown"
    rules, heading, catalogue = _prompt_parts(system)
    return EpisodeView(
        key=key, method=method, source=source, split=str(r.get("split", "")),
        domain=str(r.get("domain") or r["task_id"].rsplit("-", 1)[0]),
        task_id=str(r["task_id"]), task=r.get("seed"), env_id=str(r.get("env_id", "")),
        env_kwargs=env_kwargs, mutations=mutations, stale_docs=bool(r.get("stale_docs")),
        success=bool(r["outcome"]["success"]), reward=float(r["outcome"]["return"]),
        reward_terms={k: float(v) for k, v in r.get("reward_terms", {}).items()},
        rules=rules, catalogue_title=heading, catalogue=catalogue,
        query=users[0] if users else "", steps=_steps(actions, observations, terms),
        note=note, extra={"teacher": r.get("teacher"), "mistakes": r.get("mistakes", [])})


def _candidate_kwargs(r: dict[str, Any],
                      report: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """The env kwargs a transcript may have been played with, most likely first, each
    with whether it is known (recorded) rather than guessed."""
    from tool_gym.agents.evaluate import SPLITS

    found: list[tuple[dict[str, Any], bool]] = []
    if isinstance(r.get("env_kwargs"), dict):
        found.append((dict(r["env_kwargs"]), True))
    split = report.get("splits", {}).get(r["split"], {})
    if "env_kwargs" in split:
        found.append((dict(split["env_kwargs"]), True))
    if r["split"] in SPLITS and SPLITS[r["split"]][0] == r["env_id"]:
        found.append((dict(SPLITS[r["split"]][1]), True))
    found.append(({}, False))
    max_turns = report.get("config", {}).get("max_turns")
    if max_turns is not None:  # evaluated step by step, the env itself had the limit
        found += [({**kw, "max_turns": max_turns}, known) for kw, known in list(found)]
    unique: list[tuple[dict[str, Any], bool]] = []
    for kw, known in found:
        if all(kw != seen for seen, _ in unique):
            unique.append((kw, known))
    return unique


def _from_transcript(r: dict[str, Any], method: str, source: str, key: str,
                     report: dict[str, Any], replayer: _Replayer | None) -> EpisodeView:
    actions = list(r["actions"])
    recorded = r.get("observations")
    mutations = _mutations(r.get("mutations"))
    replay, env_kwargs, note = None, {}, ""
    if replayer is not None:
        for kwargs, known in _candidate_kwargs(r, report):
            attempt = replayer.play(r["env_id"], kwargs, r["task"], actions)
            if _fits(attempt, str(r.get("task_id", "")), mutations, recorded, len(actions)):
                replay, env_kwargs = attempt, kwargs
                if not known:
                    note = ("the env's keyword arguments were not recorded: replayed with "
                            "its defaults, which reproduce the task, the drift and the "
                            "answers but may show another catalogue (e.g. with stale docs)")
                break
    if replay is not None:
        info = replay["info"]
        system, query = info["messages"][0]["content"], info["messages"][1]["content"]
        observations = list(recorded) if recorded is not None else replay["observations"]
        terms = replay["terms"]
        reward_terms: dict[str, float] = {}
        for t in terms:
            for k, v in t.items():
                reward_terms[k] = reward_terms.get(k, 0.0) + float(v)
        stale = bool(info.get("stale_docs"))
    else:
        system = query = ""
        observations = list(recorded or [])
        terms, reward_terms, stale = None, {}, False
        note = ("replay did not reproduce this transcript: the prompt, the catalogue and "
                "the reward terms were not recorded")
    rules, heading, catalogue = _prompt_parts(system)
    extra = {k: r[k] for k in ("trial_seed", "turns", "trials", "calls", "cut_actions",
                               "forced_thoughts", "resends", "resampled") if k in r}
    return EpisodeView(
        key=key, method=method, source=source, split=str(r["split"]),
        domain=str(r.get("domain") or str(r.get("task_id", "")).rsplit("-", 1)[0]),
        task_id=str(r.get("task_id", "")), task=r["task"], env_id=str(r["env_id"]),
        env_kwargs=env_kwargs, mutations=mutations, stale_docs=stale,
        success=bool(r["success"]), reward=float(r["reward"]) if "reward" in r else None,
        reward_terms=reward_terms, rules=rules, catalogue_title=heading,
        catalogue=catalogue, query=query, steps=_steps(actions, observations, terms),
        note=note, extra=extra)


def load_episodes(paths: Sequence[str | os.PathLike[str]], replay: bool = True,
                  limit: int | None = None) -> list[EpisodeView]:
    """Every episode of the trace and transcript files under ``paths`` (files or folders).

    Args:
        paths: Trace files, transcripts files, or folders searched for ``*.jsonl``.
        replay: Recover prompts and per-turn reward terms by replaying in the env.
        limit: At most this many episodes per file (None: all).
    """
    files = [f for p in paths for f in _files(Path(p))]
    names = [_method_name(f) for f in files]
    replayer = _Replayer() if replay else None
    episodes: list[EpisodeView] = []
    try:
        for f, name in zip(files, names, strict=True):
            method = name if names.count(name) == 1 else f"{f.parent.name}/{name}"
            report = _evaluation_beside(f)
            kept = 0
            for lineno, record in _read_jsonl(f):
                kind = _kind(record)
                if kind is None:
                    continue
                if limit is not None and kept >= limit:
                    break
                key, source = f"e{len(episodes)}", f"{f}:{lineno}"
                if kind == "trace":
                    episodes.append(_from_trace(record, method, source, key, replayer))
                else:
                    episodes.append(_from_transcript(record, method, source, key, report,
                                                     replayer))
                kept += 1
    finally:
        if replayer is not None:
            replayer.close()
    return episodes


# -- the page -----------------------------------------------------------------------------


def render_page(episodes: Sequence[EpisodeView], title: str = "ToolMaster episodes") -> str:
    """The HTML page of ``episodes`` (self-contained: inline style and script)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True,
        lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    groups: dict[str, list[str]] = {}
    for ep in episodes:
        groups.setdefault(ep.task_key, []).append(ep.key)
    peers = {ep.key: [k for k in groups[ep.task_key] if k != ep.key] for ep in episodes}
    facets = {
        "split": sorted({e.split for e in episodes}),
        "domain": sorted({e.domain for e in episodes}),
        "method": sorted({e.method for e in episodes}),
        "drift": sorted({k for e in episodes for k in e.drift_kinds}),
    }
    return env.get_template(TEMPLATE).render(
        title=title, episodes=episodes, facets=facets, peers=peers,
        n_success=sum(e.success for e in episodes))


def write_page(paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str],
               replay: bool = True, limit: int | None = None) -> list[EpisodeView]:
    """Load the episodes under ``paths`` and write their page to ``out``."""
    episodes = load_episodes(paths, replay=replay, limit=limit)
    title = ", ".join(str(p) for p in paths)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(render_page(episodes, title=title), encoding="utf-8")
    return episodes
