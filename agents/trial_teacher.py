"""The trial-and-execution teacher: trials on tools it cannot trust, corrects its
mistakes from the env's errors, then executes (see :class:`TrialTeacher`)."""

from __future__ import annotations

import difflib
import json
import logging
import re
import zlib
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from tool_gym.agents.openings import Attempt, student_messages
from tool_gym.agents.phrases import (
    FORMAT,
    PHRASEBOOKS,
    SIDE_EFFECT,
    SIMILAR,
    STALE,
    THIN,
    UNSEEN,
)
from tool_gym.env import ToolEnv
from tool_gym.oracle import call_results, prior_calls, translate_step, unwrap
from tool_gym.protocol import Response, format_call, parse_responses
from tool_gym.spec import ToolSpec
from tool_gym.task import Ref, Step, Task

logger = logging.getLogger(__name__)

__all__ = ["SYNTHETIC_MISTAKES", "TRIAL_WHEN", "TrialTeacher", "VISIBLE_REASONS"]

VISIBLE_REASONS = frozenset({THIN, SIMILAR})
# When the trial teacher trials a tool (see TrialTeacher's ``trial_when``).
TRIAL_WHEN = ("cues", "first_use")
# Mistakes the teacher makes on purpose, to show their fix; the others (following stale
# docs, leaving out a parameter the docs do not list) are what any agent would try.
SYNTHETIC_MISTAKES = frozenset({"enum_case", "date_format", "type", "param_name", "tool_name",
                                "near_name", "extra_param", "wrong_tool"})

# Realistic wrong parameter names for a given name.
_SYNONYMS = {
    "city": ["city_name", "location"], "date": ["day", "on_date"], "query": ["q", "search"],
    "country": ["country_name", "nation"], "email": ["email_address", "address"],
    "stars": ["rating", "score"], "category": ["topic", "type"], "units": ["unit", "system"],
    "title": ["name", "subject"], "event_id": ["id", "event"], "joke_id": ["id", "joke"],
    "title_id": ["id", "title"], "duration_minutes": ["duration", "minutes"],
    "start_time": ["start", "time"], "attendees": ["attendee", "participants"],
    "condition": ["event", "weather"], "attendee": ["person", "attendees"],
}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


@dataclass
class _StepInfo:
    backend: str
    reasons: list[str] = field(default_factory=list)
    probe: bool = False


class TrialTeacher:
    """A careful expert: trials on tools it cannot trust, corrects its mistakes, then executes.

    It reads the hidden task and the true surface of the episode (privileged), but what
    it writes is grounded in what the agent sees: the catalogue, the query and the env's
    responses. A tool is distrusted when the catalogue entry differs from the live spec
    (stale or drifted docs), the entry is thin, similar names exist, the domain is
    unseen, or (sometimes, on seen domains) when the tool has side effects or its
    output feeds a later step. Distrusted tools get ``<trial>`` calls, often first with
    the mistake the docs invite; the next message reads the error and fixes it.
    Episodes stay within ``max_turns`` and the free trial budget.

    Args:
        env: The env it plays (any wrapper around a :class:`ToolEnv`).
        seed: Seeds the wording and the choices; the same seed and task give the same trace.
        probe_prob: Chance of probing a trusted tool on a seen domain with fresh docs.
        mistake_prob: Chance that a first trial carries a mistake (a wrong parameter name,
            value format or tool name) when the docs do not already lead to one; calls
            the docs get wrong are always tried as documented first. At 0 the only failed
            trials are those stale or drifted docs lead to: every opening follows the docs.
        think_prob: Chance of a ``<think>`` before a plain call or the answer.
        style: ``"terse"`` (default): short thoughts that name the fix but do not repeat
            the error or the arguments, which a small student must otherwise learn to
            generate token by token; ``"verbose"``: thoughts quote the error and spell out
            the arguments; ``"diff"``: terse, but a fix names exactly what changes from
            the failed call (``Fix: `keyword` -> `query`; drop `limit`.``), with tokens
            the student can copy from its call and the error. Terse fixes ("Fix the
            arguments.") taught a small student to resend the failed call unchanged.
        diff_limit: The most changes a ``"diff"`` fix names (the tool first, then
            parameters); the rest are counted (``; 3 more``). A fix from a student's junk
            call to the right one can list every argument. After a DAgger round on such
            fixes a 135M student often ran out of tokens mid-list (v8, see the README);
            with ``diff_limit=1`` it did as often, looping over short fixes (v9).
        trial_when: ``"cues"`` (default): trial the tools distrusted for the reasons above.
            Some of those reasons (the catalogue differs from the live API, the domain is
            unseen) are invisible to the student under stale docs, so it learns a mixture
            it cannot tell apart. ``"first_use"``: trial every tool once before its first
            real call, in every env: a rule the student can follow from what it sees. The
            first trial still follows the docs (and so fails when they are stale), and
            thoughts only name reasons the catalogue shows (thin docs, similar names).
    """

    name = "trial"

    def __init__(self, env: gym.Env, seed: int = 0, probe_prob: float = 0.4,
                 mistake_prob: float = 0.5, think_prob: float = 0.6,
                 style: str = "terse", trial_when: str = "cues",
                 diff_limit: int = 5) -> None:
        if style not in PHRASEBOOKS:
            raise ValueError(f"unknown style {style!r}; choose from {sorted(PHRASEBOOKS)}")
        if trial_when not in TRIAL_WHEN:
            raise ValueError(f"unknown trial_when {trial_when!r}; choose from {TRIAL_WHEN}")
        if not 0.0 <= mistake_prob <= 1.0:
            raise ValueError(f"mistake_prob must be in [0, 1], got {mistake_prob!r}")
        if int(diff_limit) < 1:
            raise ValueError(f"diff_limit must be at least 1, got {diff_limit!r}")
        self.diff_limit = int(diff_limit)
        self.trial_when = trial_when
        self.env = env
        self.style = style
        self.phrases = PHRASEBOOKS[style]
        self.seed = int(seed)
        self.probe_prob = probe_prob
        self.mistake_prob = mistake_prob
        self.think_prob = think_prob
        self._script: Generator[str, str, None] | None = None
        self._last = "<answer></answer>"
        # True after act() when that message shows a deliberate mistake (a synthetic one,
        # not a call the docs lead to): SFT may leave such messages out of the loss
        self.last_is_mistake = False
        self._mistake = False
        # A student's messages to go on from, each with its call and mode, the last one
        # rejected (see :meth:`recover`)
        self._opening: list[tuple[str, Attempt, str]] = []

    # -- the episode script ---------------------------------------------------------------

    def recover(self, messages: str | Sequence[str]) -> TrialTeacher:
        """Start the next episode from a student's first messages (one, or a list), each
        of which makes one tool call (a trial or a real call), the last one rejected by the
        env (a one-step plan's call: the teacher's script goes on with the plan's first
        step); the teacher reads that error and fixes it (DAgger-style relabelling, see
        :func:`~tool_gym.agents.traces.recovery_traces`). The student's messages count as
        mistakes (``last_is_mistake``). Returns ``self``; the episode after it starts
        afresh."""
        self._opening = student_messages(messages)
        return self

    def begin(self, obs: str, info: dict[str, Any]) -> None:
        base = unwrap(self.env)
        ep = base.task_view()
        self.rng = np.random.default_rng([self.seed, zlib.crc32(ep.task.task_id.encode())])
        self._script = self._play(base, info)
        next(self._script)

    def act(self, obs: str) -> str:
        if self._script is None:
            raise RuntimeError("call begin(obs, info) after reset() before act()")
        self._mistake = False
        try:
            self._last = self._script.send(obs)
        except StopIteration:
            self._script = None
        self.last_is_mistake = self._mistake
        return self._last

    def _play(self, base: ToolEnv, info: dict[str, Any]) -> Generator[str, str, None]:
        ep = base.task_view()
        task, surface = ep.task, ep.surface
        docs = {d.name: d for d in surface.catalogue()}
        steps = self._assess(base, info, docs)
        turns_left = base.max_turns
        trials_left = base.trial_budget
        known: set[str] = set()
        student, self._opening = self._opening, []
        yield ""  # primed by begin()
        for i, (step, info_i) in enumerate(zip(task.plan, steps, strict=True)):
            results = call_results(base)
            name, args = translate_step(base, step.tool, step.bind(results))
            first_use = self.trial_when == "first_use"
            later = [s for s in steps[i + 1:]
                     if (s.reasons or first_use) and s.backend not in known]
            room_turns = turns_left - (len(task.plan) - i) - 1 - len(later) - len(
                prior_calls(base, name))
            room_trials = trials_left - len(later)
            wants_trial = ((bool(info_i.reasons) or info_i.probe or first_use)
                           and step.tool not in known)
            chain = self._chain(base, info_i, step, name, args, docs) if wants_trial else []
            chain = chain[:max(0, min(room_turns, room_trials))]
            obs = ""
            if i == 0 and student:
                # the student's own messages, the last one failed, then the teacher's fix
                room = min(room_turns, room_trials) - len(student)
                verify = self._verify(base, name, mistakes=True) and room > 0
                for message, _, mode in student:
                    self._mistake = True
                    obs = yield message
                    turns_left, trials_left = turns_left - 1, trials_left - (mode == "trial")
                chain = [student[-1][1]] + ([Attempt(name, args, "correct")] if verify else [])
            elif chain:
                first = chain[0]
                guesses = "doc_guess" if first.kind.startswith("stale") else "guess"
                guess = self._say(guesses, name=first.name, args=_args_text(first.args))
                shown = _shown_name(base, step.tool, name, docs)
                said = [r for r in info_i.reasons
                        if self.trial_when == "cues" or r in VISIBLE_REASONS]
                opening = " ".join(self._reason(r, shown, docs) for r in said[:2])
                trials = [first]
                think = f"{opening} {self._say('try')}".strip()
                if first.kind != "correct":
                    think = f"{think} {guess}"
                if first.kind == "correct":
                    for message in self._prior(base, name):
                        yield message
                        turns_left -= 1
                self._mistake = first.kind in SYNTHETIC_MISTAKES
                obs = yield _message(think, "\n".join(format_call(a.name, a.args, "trial")
                                                      for a in trials))
                turns_left, trials_left = turns_left - 1, trials_left - len(trials)
            if chain:
                for prev, nxt in zip(chain, chain[1:], strict=False):
                    then = "verify" if nxt.kind == "correct" else "retry"
                    think = self._react(obs, prev, nxt, then)
                    if nxt.kind == "correct":
                        for message in self._prior(base, name):
                            yield message
                            turns_left -= 1
                    self._mistake = nxt.kind in SYNTHETIC_MISTAKES
                    obs = yield _message(think, format_call(nxt.name, nxt.args, "trial"))
                    turns_left, trials_left = turns_left - 1, trials_left - 1
                think = self._react(obs, chain[-1], Attempt(name, args, "correct"),
                                    "execute")
            elif not wants_trial and self.rng.random() < self.think_prob:
                texts = "chained" if _uses_refs(step) else "trusted"
                think = self._say(texts, tool=name, args=_args_text(args))
            else:
                think = ""
            for message in self._prior(base, name):
                yield message
                turns_left -= 1
            obs = yield _message(think, format_call(name, args, "call"))
            turns_left -= 1
            calls = [r for r in parse_responses(obs) if r.mode == "call"]
            if not calls or not calls[0].ok:
                # Cannot happen for a solvable task; retry once so a flaky backend shows up.
                logger.warning("%s: real call %s failed: %s", task.task_id, name,
                               calls[0].text if calls else obs[:200])
                obs = yield _message("", format_call(name, args, "call"))
                turns_left -= 1
            known.add(step.tool)
        answer = task.golden_answer(call_results(base))
        think = self._say("answer") if self.rng.random() < self.think_prob else ""
        yield _message(think, f"<answer>{answer}</answer>")

    def _prior(self, base: ToolEnv, name: str) -> list[str]:
        """Messages making the calls the API needs before ``name`` works and that were not
        made yet (a session to open): the translated plan's inserted calls."""
        return [_message(self._say("session", name=p), format_call(p, a, "call"))
                for p, a in prior_calls(base, name)]

    # -- deciding what to distrust --------------------------------------------------------

    def _assess(self, base: ToolEnv, info: dict[str, Any],
                docs: dict[str, ToolSpec]) -> list[_StepInfo]:
        ep = base.task_view()
        surface = ep.surface
        unseen = info.get("split") == "unseen" or base.domain.split == "unseen"
        referenced = _referenced_steps(ep.task)
        out: list[_StepInfo] = []
        seen_tools: set[str] = set()
        for i, step in enumerate(ep.task.plan):
            st = _StepInfo(step.tool)
            name = surface.surface_name(step.tool)
            first_use = step.tool not in seen_tools
            seen_tools.add(step.tool)
            if name is None or not first_use:
                out.append(st)
                continue
            spec = surface.tools[name].spec
            doc = docs.get(name)
            if unseen:
                st.reasons.append(UNSEEN)
            renamed_but_documented = step.tool != name and step.tool in docs
            if (doc is None or doc.parameters != spec.parameters
                    or doc.description != spec.description or renamed_but_documented):
                st.reasons.append(STALE)
            elif _thin(doc):
                st.reasons.append(THIN)
            if _similar_names(_shown_name(base, step.tool, name, docs), docs):
                st.reasons.append(SIMILAR)  # judged on the names the agent can see
            if not st.reasons:
                cues = []
                if spec.side_effects:
                    cues.append(SIDE_EFFECT)
                if i in referenced:
                    cues.append(FORMAT)
                if cues and self.rng.random() < self.probe_prob:
                    st.probe = True
                    st.reasons.append(cues[int(self.rng.integers(len(cues)))])
            out.append(st)
        return out

    def _reason(self, reason: str, tool: str, docs: dict[str, ToolSpec]) -> str:
        names = ", ".join(f"`{n}`" for n in _similar_names(tool, docs)[:3] + [tool])
        return self._say(f"reason_{reason}", tool=tool, names=names)

    # -- mistakes and their fixes ---------------------------------------------------------

    def _chain(self, base: ToolEnv, st: _StepInfo, step: Step, name: str, args: dict[str, Any],
               docs: dict[str, ToolSpec]) -> list[Attempt]:
        """The trials for one step: mistakes first, then maybe a trial of the correct call."""
        surface = base.task_view().surface
        canonical_args = step.bind(call_results(base))
        mistakes: list[Attempt] = []
        if STALE in st.reasons:
            # Follow the docs: the documented name and the arguments the docs describe. When
            # that call differs from the live one, an agent cannot know better before an
            # error tells it, so the mistake is always made (budget permitting).
            spec = surface.tools[name].spec
            shown = _shown_name(base, step.tool, name, docs)
            doc = docs.get(shown)
            if doc is not None and shown == name and doc.parameters == spec.parameters:
                doc_args = args  # the entry is current for the parameters
            else:
                doc_args = canonical_args if _fits(canonical_args, doc) else args
            if shown != name:
                mistakes.append(Attempt(shown, doc_args, "stale_name"))
            if doc_args != args:
                mistakes.append(Attempt(name, doc_args, "stale_args"))
                # A new parameter with one accepted value: leaving it out makes the error
                # name the value, so the fix is read from the env rather than guessed.
                pinned = [k for k in args if k not in doc_args and _pinned(spec, k)]
                if pinned:
                    partial = {k: v for k, v in args.items() if k not in pinned}
                    if partial != doc_args:
                        mistakes.append(Attempt(name, partial, "missing_param"))
        if not mistakes:
            p = self.mistake_prob if not st.probe else self.mistake_prob * 0.6
            if self.rng.random() < p:
                synthetic = self._synthetic_mistake(base, name, args, docs)
                if synthetic is not None:
                    mistakes.append(synthetic)
        verify = self._verify(base, name, mistakes=bool(mistakes))
        return mistakes + ([Attempt(name, args, "correct")] if verify else [])

    def _verify(self, base: ToolEnv, name: str, mistakes: bool) -> bool:
        """Whether the correct call gets a trial of its own before it runs for real."""
        surface = base.task_view().surface
        side_effect = surface.tools[name].spec.side_effects
        # Terse errors give no hint, so a guessed fix is rehearsed before it runs for real.
        return (not mistakes or side_effect or surface.terse_errors
                or self.rng.random() < 0.25)

    def _synthetic_mistake(self, base: ToolEnv, name: str, args: dict[str, Any],
                           docs: dict[str, ToolSpec]) -> Attempt | None:
        surface = base.task_view().surface
        spec = surface.tools[name].spec
        props = spec.parameters.get("properties", {})
        options: list[Attempt] = []
        for key, value in args.items():
            schema = props.get(key, {})
            if isinstance(value, str) and "enum" in schema:
                for wrong in (value.capitalize(), value.upper()):
                    if wrong != value and wrong not in schema["enum"]:
                        options.append(Attempt(name, {**args, key: wrong}, "enum_case"))
                        break
            if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                y, m, d = value.split("-")
                wrong = (f"{_MONTHS[int(m) - 1]} {int(d)}, {y}" if self.rng.random() < 0.5
                         else f"{m}/{d}/{y}")
                options.append(Attempt(name, {**args, key: wrong}, "date_format"))
            if isinstance(value, int) and not isinstance(value, bool):
                options.append(Attempt(name, {**args, key: str(value)}, "type"))
            for syn in _SYNONYMS.get(key, [f"{key}_value"]):
                if syn not in props:
                    wrong_args = {(syn if k == key else k): v for k, v in args.items()}
                    options.append(Attempt(name, wrong_args, "param_name"))
                    break
        for wrong_name in _name_variants(name):
            if wrong_name not in surface.tools:
                options.append(Attempt(wrong_name, args, "tool_name"))
                break
        for near in _similar_names(name, docs):
            tool = surface.tools.get(near)
            if tool is not None and (tool.error is not None or tool.deprecated_for is not None):
                options.append(Attempt(near, args, "near_name"))
        extra = _extra_param(args, props, docs)
        if extra is not None:
            options.append(Attempt(name, {**args, **extra}, "extra_param"))
        # Keep only mistakes the env is sure to reject, so the fix is grounded in an error.
        sure = [a for a in options if _rejected(surface, a)]
        wrong_tool = _wrong_tool(base, name, args, docs)
        if wrong_tool is not None:
            sure.append(wrong_tool)
        if not sure:
            return None
        # one kind of mistake, then one mistake of that kind: a kind with many candidates
        # (one per parameter) is not drawn more often than the others
        kinds = sorted({a.kind for a in sure})
        kind = kinds[int(self.rng.integers(len(kinds)))]
        of_kind = [a for a in sure if a.kind == kind]
        return of_kind[int(self.rng.integers(len(of_kind)))]

    def _react(self, obs: str, prev: Attempt, nxt: Attempt, then: str) -> str:
        """Think text after a trial: read its response, say the fix, then what comes next."""
        # the response to ``prev``: a trial, or a student's real call that failed
        resp = next(iter(parse_responses(obs)), None)
        return self._react_one(resp, prev, nxt, then)

    def _react_one(self, resp: Response | None, prev: Attempt, nxt: Attempt,
                   then: str) -> str:
        closing = self._say(then)
        changed = (prev.name, prev.args) != (nxt.name, nxt.args)
        diff = self.style == "diff" and changed
        if resp is None or resp.ok:
            text = self._say("ok", fields=_fields_text(resp.result() if resp else None))
            if prev.kind != "correct" and changed:
                fix = (_diff_text(prev, nxt, self.diff_limit) if diff
                       else self._say("fix_args", args=_args_text(nxt.args)))
                text += " " + fix
            return f"{text} {closing}"
        parts = [self._say("error", error=_short(resp.text))]
        if diff:
            parts.append(_diff_text(prev, nxt, self.diff_limit))
            parts.append(closing)
            return " ".join(parts)
        deprecated = re.search(r"deprecated; use '([^']+)'", resp.text)
        suggested = re.search(r"Did you mean: ([^?]+)\?", resp.text)
        informative = (deprecated or suggested or "Allowed parameters" in resp.text
                       or "Required parameters" in resp.text or "rule:" in resp.text
                       or len(resp.text) > 40)
        if not informative:
            parts.append(self._say("fix_terse", name=nxt.name, args=_args_text(nxt.args)))
        else:
            if nxt.name != prev.name and deprecated:
                parts.append(self._say("fix_deprecated", old=prev.name, name=nxt.name))
            elif nxt.name != prev.name:
                renamed = prev.kind == "stale_name"
                parts.append(self._say("fix_renamed" if renamed else "fix_name", name=nxt.name))
            if nxt.args != prev.args:
                parts.append(self._say("fix_args", args=_args_text(nxt.args)))
        parts.append(closing)
        return " ".join(parts)

    def _say(self, key: str, **fmt: Any) -> str:
        options = self.phrases[key]
        return options[int(self.rng.integers(len(options)))].format(**fmt)


# -- helpers ----------------------------------------------------------------------------


def _message(think: str, body: str) -> str:
    return f"<think>{think}</think>\n{body}" if think else body


def _diff_text(prev: Attempt, nxt: Attempt, limit: int = 5) -> str:
    """The change between two different calls, e.g. ``Fix: `city_name` -> `city`.``

    A renamed tool, renamed parameters (same value, new key), dropped and added
    parameters, and changed values, at most ``limit`` of them."""
    parts = []
    if prev.name != nxt.name:
        parts.append(f"`{prev.name}` -> `{nxt.name}`")
    removed = [k for k in prev.args if k not in nxt.args]
    added = [k for k in nxt.args if k not in prev.args]
    for key in list(removed):
        new = next((a for a in added if nxt.args[a] == prev.args[key]), None)
        if new is not None:
            parts.append(f"`{key}` -> `{new}`")
            removed.remove(key)
            added.remove(new)
    parts += [f"drop `{k}`" for k in removed]
    parts += [f"add `{k}`" for k in added]
    parts += [f"`{k}`: {json.dumps(prev.args[k])} -> {json.dumps(nxt.args[k])}"
              for k in nxt.args if k in prev.args and prev.args[k] != nxt.args[k]]
    more = f"; {len(parts) - limit} more" if len(parts) > limit else ""
    return "Fix: " + "; ".join(parts[:limit]) + more + "."


def _args_text(args: dict[str, Any]) -> str:
    return json.dumps(args, ensure_ascii=True) if args else "no arguments"


def _fields_text(result: Any) -> str:
    if isinstance(result, dict) and result:
        keys = list(result)[:5]
        return "fields " + ", ".join(f"`{k}`" for k in keys)
    if isinstance(result, list):
        first = result[0] if result else None
        if isinstance(first, dict):
            keys = ", ".join(f"`{k}`" for k in list(first)[:4])
            return f"a list of {len(result)} item(s) with {keys}"
        return f"a list of {len(result)} item(s)"
    return "the expected kind of result"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace('"', "'")
    if "Did you mean" in text:  # the suggestions say enough; the full list is noise
        text = text.split(" Available tools:")[0]
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _thin(doc: ToolSpec) -> bool:
    props = doc.parameters.get("properties", {})
    return len(doc.description.strip()) < 20 or any(
        not str(p.get("description", "")).strip() for p in props.values())


def _similar_names(name: str, docs: dict[str, ToolSpec]) -> list[str]:
    return [n for n in docs if n != name
            and difflib.SequenceMatcher(None, n, name).ratio() >= 0.8]


def _params(doc: ToolSpec) -> list[str]:
    return list(doc.parameters.get("properties", {}))


def _shown_name(base: ToolEnv, backend: str, name: str, docs: dict[str, ToolSpec]) -> str:
    """The name under which the catalogue documents the tool that runs ``backend``."""
    if name in docs:
        return name
    surface = base.task_view().surface
    aliases = [n for n, t in surface.tools.items() if t.deprecated_for == name and n in docs]
    if aliases:
        return aliases[0]
    return backend if backend in docs else name


def _pinned(spec: ToolSpec, key: str) -> bool:
    """A parameter with exactly one accepted value (an added ``api_version``-like one)."""
    schema = spec.parameters.get("properties", {}).get(key, {})
    return isinstance(schema, dict) and len(schema.get("enum", [])) == 1


def _fits(args: dict[str, Any], doc: ToolSpec | None) -> bool:
    """Whether ``args`` use only the parameter names a doc lists."""
    if doc is None:
        return False
    props = doc.parameters.get("properties", {})
    return all(k in props for k in args)


def _rejected(surface: Any, attempt: Attempt) -> bool:
    tool = surface.tools.get(attempt.name)
    if tool is None or tool.deprecated_for is not None or tool.error is not None:
        return True
    return tool.spec.validate(attempt.args) is not None


def _extra_param(args: dict[str, Any], props: dict[str, Any],
                 docs: dict[str, ToolSpec]) -> dict[str, Any] | None:
    """A parameter the tool does not take but another catalogue tool does, with a
    plausible value: small models add such parameters; the schema error names it."""
    strings = [v for v in args.values() if isinstance(v, str)]
    for doc in docs.values():
        for key, schema in doc.parameters.get("properties", {}).items():
            if key in props or key in args:
                continue
            if "enum" in schema:
                return {key: schema["enum"][0]}
            if schema.get("type") == "string" and strings:
                return {key: strings[0]}
    return None


def _wrong_tool(base: ToolEnv, name: str, args: dict[str, Any],
                docs: dict[str, ToolSpec]) -> Attempt | None:
    """Another catalogue tool given the task's values, whose error names the right tool
    (e.g. ``no book 'X'; use a book_id from search_catalogue``): picking the wrong tool
    is a small model's most common mistake on an unseen API, and this error fixes it."""
    surface = base.task_view().surface
    strings = [v for v in args.values() if isinstance(v, str)]
    for other, doc in sorted(docs.items()):
        live = surface.tools.get(other)
        if other == name or not strings or live is None or live.deprecated_for is not None:
            continue  # unknown and deprecated names get errors that list every tool
        props = doc.parameters.get("properties", {})
        required = doc.parameters.get("required", [])
        if not required or any(props.get(k, {}).get("type") != "string" for k in required):
            continue
        wrong = {k: args[k] if isinstance(args.get(k), str) else strings[0] for k in required}
        error = base.dry_run(other, wrong)
        if error is not None and re.search(rf"\b{re.escape(name)}\b", error):
            return Attempt(other, wrong, "wrong_tool")
    return None


def _name_variants(name: str) -> list[str]:
    parts = name.split("_")
    out = []
    last = parts[-1]
    plural = last[:-1] if last.endswith("s") else last + "s"
    out.append("_".join(parts[:-1] + [plural]))
    verbs = {"get": "fetch", "list": "get", "set": "create", "rate": "add", "search": "find",
             "create": "add", "cancel": "delete", "find": "search"}
    if parts[0] in verbs:
        out.append("_".join([verbs[parts[0]]] + parts[1:]))
    else:
        out.append("get_" + name)
    return [n for n in out if n and n != name]


def _refs(value: Any) -> Iterator[Ref]:
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _refs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _refs(v)


def _uses_refs(step: Step) -> bool:
    return next(_refs(step.arguments), None) is not None


def _referenced_steps(task: Task) -> set[int]:
    """Plan steps whose results a later step uses."""
    return {ref.step for step in task.plan for ref in _refs(step.arguments)}
