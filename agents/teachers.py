"""Teachers: scripted and LLM players of ToolMaster envs whose episodes become SFT traces.

Every teacher has ``begin(obs, info)`` (called after ``reset``) and ``act(obs) -> str``
(one assistant message), the interface :func:`tool_gym.oracle.run_episode` plays.

- :class:`GoldenTeacher` executes the golden plan directly: the trajectory-centric baseline.
- :class:`TrialTeacher` knows the true current API (privileged, through ``tool_gym.oracle``)
  but writes what a careful expert does: it probes tools it cannot trust with ``<trial>``
  calls, makes realistic first-try mistakes (the documented-but-stale name, a wrong
  parameter name or value format), corrects them from the env's error messages, then
  executes with ``<call>`` and answers.
- :class:`LLMTeacher` asks any OpenAI-compatible chat endpoint (stdlib ``urllib`` only).

Example:
    >>> import gymnasium as gym, tool_gym
    >>> from tool_gym.oracle import run_episode
    >>> env = gym.make("ToolMaster/Weather-v0")
    >>> run_episode(env, TrialTeacher(env, seed=0), seed=3)["success"]
    True
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from tool_gym.env import ToolEnv
from tool_gym.oracle import (
    GoldenPlanPolicy,
    call_results,
    prior_calls,
    translate_step,
    unwrap,
)
from tool_gym.protocol import (
    ParseError,
    Response,
    format_call,
    parse_call,
    parse_responses,
    split_segments,
)
from tool_gym.spec import ToolSpec
from tool_gym.task import Ref, Step, Task

logger = logging.getLogger(__name__)

__all__ = [
    "GoldenTeacher", "LLMTeacher", "LLMTeacherError", "Response", "TEACHERS", "Teacher",
    "TRIAL_WHEN", "TrialTeacher", "make_teacher", "parse_opening", "parse_responses",
]


class Teacher(Protocol):
    """What :func:`tool_gym.oracle.run_episode` and the trace generator play."""

    name: str

    def begin(self, obs: str, info: dict[str, Any]) -> None: ...

    def act(self, obs: str) -> str: ...


# -- the golden teacher -----------------------------------------------------------------


class GoldenTeacher:
    """Direct execution of the golden plan, one call per message, no trials.

    Wraps :class:`tool_gym.oracle.GoldenPlanPolicy`; it knows the true current API, so
    it succeeds on every solvable task, and its traces are the trajectory-centric baseline.
    """

    name = "golden"

    def __init__(self, env: gym.Env, seed: int = 0) -> None:
        self.env = env
        self._policy = GoldenPlanPolicy(env)
        self._opening: list[str] = []
        self._pending: list[str] = []
        self.last_is_mistake = False

    def recover(self, messages: str | Sequence[str]) -> GoldenTeacher:
        """Start the next episode from a student's messages (each one tool call, the last
        one rejected), then execute the plan: the golden counterpart of
        :meth:`TrialTeacher.recover`, with no thought about the error."""
        self._opening = [m for m, _, _ in _student_messages(messages)]
        return self

    def begin(self, obs: str, info: dict[str, Any]) -> None:
        """Nothing to prepare: the policy reads the episode from the env."""
        self._pending, self._opening = self._opening, []

    def act(self, obs: str) -> str:
        self.last_is_mistake = bool(self._pending)
        if self._pending:
            return self._pending.pop(0)
        return self._policy.act(obs)


# -- the trial-and-execution teacher ----------------------------------------------------

# Reasons to distrust a tool. Only THIN and SIMILAR are read off the catalogue alone;
# STALE compares it with the live API and UNSEEN knows the training split (privileged).
UNSEEN, STALE, THIN, SIMILAR, SIDE_EFFECT, FORMAT = (
    "unseen", "stale", "thin", "similar", "side_effect", "format")
VISIBLE_REASONS = frozenset({THIN, SIMILAR})
# When the trial teacher trials a tool (see TrialTeacher's ``trial_when``).
TRIAL_WHEN = ("cues", "first_use", "candidates")
# Mistakes the teacher makes on purpose, to show their fix; the others (following stale
# docs, leaving out a parameter the docs do not list) are what any agent would try.
SYNTHETIC_MISTAKES = frozenset({"enum_case", "date_format", "type", "param_name", "tool_name",
                                "near_name", "extra_param", "wrong_tool"})

_REASON_TEXT = {
    UNSEEN: ["I have not used this API before, so I don't know how `{tool}` really behaves.",
             "This is an unfamiliar tool set; `{tool}` is new to me.",
             "I don't know this API yet, and `{tool}` is the first tool I need from it."],
    STALE: ["Tool docs can lag behind the live API, and I have no evidence `{tool}` still "
            "works as documented.",
            "I can't be sure the documentation for `{tool}` is current.",
            "APIs change; the catalogue entry for `{tool}` may be out of date."],
    THIN: ["The documentation of `{tool}` is thin, so its parameters are a guess.",
           "The catalogue says very little about `{tool}`.",
           "`{tool}` is barely documented."],
    SIMILAR: ["Several tools have similar names ({names}), so I should make sure I pick the "
              "right one.",
              "The names {names} are easy to confuse.",
              "There are near-duplicate tool names here ({names})."],
    SIDE_EFFECT: ["`{tool}` changes state, so I'll rehearse it where nothing real happens.",
                  "`{tool}` has side effects; a dry run first is safer.",
                  "Since `{tool}` modifies things, I want to see its behaviour before doing it "
                  "for real."],
    FORMAT: ["I need the output of `{tool}` for the next step, so I want to see its format.",
             "The next step depends on what `{tool}` returns; let me look at its output first.",
             "I'll check the shape of `{tool}`'s result before I rely on it."],
}
_TRY_TEXT = ["I'll try it on the sandbox first.", "A trial call will tell me.",
             "Let me probe it with a trial.", "So: a sandbox trial before the real call.",
             "I'll test it with a trial call."]
_DOC_GUESS_TEXT = ["Going by the docs, I'd call `{name}` with {args}.",
                   "The catalogue says `{name}` with {args}.",
                   "Following the catalogue: `{name}` with {args}."]
_GUESS_TEXT = ["My first guess is `{name}` with {args}.", "I'll try `{name}` with {args}.",
               "Trying `{name}` with {args}."]
_ERROR_TEXT = ["The trial failed: \"{error}\".", "The sandbox answered with an error: \"{error}\".",
               "That did not work: \"{error}\".", "Error from the trial: \"{error}\"."]
_FIX_NAME = ["It points me to `{name}`, so I'll use that name.",
             "The right tool must be `{name}`.", "The tool I want is `{name}`."]
_FIX_RENAMED = ["So the tool is called `{name}` now; the docs are out of date.",
                "The documented name no longer exists; `{name}` is the current one.",
                "The API was renamed: the tool is `{name}` now."]
_FIX_DEPRECATED = ["`{old}` is deprecated; the error names `{name}` as its replacement.",
                   "The old name is retired in favour of `{name}`.",
                   "I'll switch to `{name}`, which replaces `{old}`."]
_FIX_ARGS = ["I'll fix the arguments: {args}.", "The arguments must be {args}.",
             "Corrected arguments: {args}."]
_FIX_TERSE = ["The message gives little detail, so I'll try the closest alternative: `{name}` "
              "with {args}.",
              "No hint in the error; the most plausible fix is `{name}` with {args}."]
_OK_TEXT = ["The trial works and returns {fields}.", "Good, the trial succeeded ({fields}).",
            "The sandbox call worked; the result has {fields}."]
_VERIFY_TEXT = ["Let me confirm the corrected call on the sandbox first.",
                "I'll check the fix with one more trial.",
                "One more trial to be sure the fix works."]
_RETRY_TEXT = ["Let me try that.", "Trying again.", "Another trial with that change."]
_EXECUTE_TEXT = ["Now the real call.", "Executing it for real.", "Now I'll run it for real.",
                 "Time to execute."]
_TRUSTED_TEXT = ["`{tool}` is documented clearly; calling it directly.",
                 "I know how `{tool}` works, so I'll call it.",
                 "Next: `{tool}`.", "Calling `{tool}` with {args}."]
_CHAINED_TEXT = ["Using the previous result, I call `{tool}` with {args}.",
                 "The last result gives me what `{tool}` needs.",
                 "Now `{tool}` with the value from the previous step."]
_SESSION_TEXT = ["The error says the API needs a session now; I'll open one with `{name}` first.",
                 "A session token is required: opening a session with `{name}`.",
                 "First a session from `{name}`, then the call with its token."]
_ANSWER_TEXT = ["That answers the question.", "I have what I need.",
                "The results give the answer.", "Done; here is the answer."]

# trial_when="candidates": the right tool and a look-alike are trialled side by side
_CANDIDATE_TEXT = {
    "candidates": ["Which tool? Trial both.", "Two candidates; trial both.",
                   "Trial the candidates."],
    "candidate_failed": ["`{name}` failed.", "Not `{name}`.", "`{name}` is wrong."],
    "candidate_ok": ["`{name}` works.", "`{name}` is the one.", "`{name}` answers."],
}
_VERBOSE = {
    "try": _TRY_TEXT, "doc_guess": _DOC_GUESS_TEXT, "guess": _GUESS_TEXT, "error": _ERROR_TEXT,
    "fix_name": _FIX_NAME, "fix_renamed": _FIX_RENAMED, "fix_deprecated": _FIX_DEPRECATED,
    "fix_args": _FIX_ARGS, "fix_terse": _FIX_TERSE, "ok": _OK_TEXT, "verify": _VERIFY_TEXT,
    "retry": _RETRY_TEXT, "execute": _EXECUTE_TEXT, "trusted": _TRUSTED_TEXT,
    "chained": _CHAINED_TEXT, "answer": _ANSWER_TEXT, "session": _SESSION_TEXT,
    **_CANDIDATE_TEXT,
    **{f"reason_{k}": v for k, v in _REASON_TEXT.items()},
}
# Short thoughts for small students: the call right after a thought already shows the
# arguments, and the observation above it already shows the error, so neither is repeated.
# Trial-teacher messages then stay within ~64 tokens (p90) instead of ~105.
_TERSE = {
    "reason_" + UNSEEN: ["New API; `{tool}` is untested.", "`{tool}` is new to me.",
                         "Unfamiliar tool: `{tool}`."],
    "reason_" + STALE: ["Docs may be stale.", "`{tool}` may have changed.",
                        "The docs of `{tool}` may be out of date."],
    "reason_" + THIN: ["`{tool}` is barely documented.", "Thin docs for `{tool}`.",
                       "`{tool}`: few docs."],
    "reason_" + SIMILAR: ["Similar names: {names}.", "Tool names are easy to confuse.",
                          "Near-duplicate tool names."],
    "reason_" + SIDE_EFFECT: ["`{tool}` changes state.", "`{tool}` has side effects.",
                              "`{tool}` modifies data."],
    "reason_" + FORMAT: ["I need the format of `{tool}`'s output.",
                         "The next step needs `{tool}`'s result.", "Check `{tool}`'s output."],
    "try": ["Trial first.", "Test it with a trial.", "Sandbox trial first.", "Trying it safely."],
    "doc_guess": ["As documented:", "Per the docs:", "The docs say:"],
    "guess": ["First guess:", "A guess:", "Trying:"],
    "error": ["Trial failed.", "Error.", "That failed.", "It errored."],
    "fix_name": ["The error points to `{name}`.", "Use `{name}`.", "It must be `{name}`."],
    "fix_renamed": ["Renamed to `{name}`.", "It is `{name}` now.", "New name: `{name}`."],
    "fix_deprecated": ["`{old}` is deprecated; use `{name}`.", "`{name}` replaces `{old}`.",
                       "Switch to `{name}`."],
    "fix_args": ["Fix the arguments.", "Adjust the arguments.", "Corrected arguments."],
    "fix_terse": ["No hint; the closest fix.", "Trying the closest alternative."],
    "ok": ["Trial works.", "Trial ok.", "It works."],
    "verify": ["Check the fix.", "One more trial.", "Verify with a trial."],
    "retry": ["Again.", "Retry.", "Another trial."],
    "execute": ["Now for real.", "Execute.", "Run it for real.", "Real call."],
    "trusted": ["`{tool}` is clear.", "Calling `{tool}`.", "Next: `{tool}`."],
    "chained": ["Using the last result.", "Now `{tool}` with that value.",
                "Chain into `{tool}`."],
    "answer": ["Answer.", "Got it.", "Done.", "That answers it."],
    "session": ["Open a session first.", "Session first: `{name}`.", "Get a session token."],
    **_CANDIDATE_TEXT,
}
# "diff": terse thoughts, but each fix is spelled out as the change from the failed call
# (see _diff_text), so the corrected call follows from a short, copyable thought.
PHRASEBOOKS: dict[str, dict[str, list[str]]] = {"terse": _TERSE, "verbose": _VERBOSE,
                                                "diff": _TERSE}

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
class _Attempt:
    name: str
    args: dict[str, Any]
    kind: str  # "correct", "stale_name", "stale_args" or a synthetic mistake kind


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
        wrong_tool_prob: Chance that a first trial goes to another catalogue tool whose
            error names the right one (``get_product(product_id="Lumen Kite")`` ->
            ``unknown product id 'Lumen Kite'; call search_products ...``) wherever such
            a tool exists and the docs do not already lead to a mistake; drawn before
            ``mistake_prob``. Following the tool an error names is the fix a small student
            most needs on an unseen API, and a uniform draw over mistake kinds shows it
            in about 1% of one-call traces. 0 (default) draws nothing, so traces stay as
            they were.
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
            ``"candidates"``: as ``"first_use"``, but the first trial of a tool goes out
            beside a trial of a look-alike tool given the same values, which the env
            rejects (``get_title(title_id="J1195")`` beside ``get_joke(joke_id="J1195")``,
            in random order); the next thought dismisses the look-alike and keeps the
            tool that works. On an unseen API the student's trouble is picking the tool,
            not its arguments; two candidates and a visible rule to choose between them
            (keep what works) are meant to turn that into something trials can fix.
    """

    name = "trial"

    def __init__(self, env: gym.Env, seed: int = 0, probe_prob: float = 0.4,
                 mistake_prob: float = 0.5, think_prob: float = 0.6,
                 style: str = "terse", trial_when: str = "cues",
                 wrong_tool_prob: float = 0.0, diff_limit: int = 5) -> None:
        if style not in PHRASEBOOKS:
            raise ValueError(f"unknown style {style!r}; choose from {sorted(PHRASEBOOKS)}")
        if trial_when not in TRIAL_WHEN:
            raise ValueError(f"unknown trial_when {trial_when!r}; choose from {TRIAL_WHEN}")
        for what, p in (("mistake_prob", mistake_prob), ("wrong_tool_prob", wrong_tool_prob)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{what} must be in [0, 1], got {p!r}")
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
        self.wrong_tool_prob = wrong_tool_prob
        self.think_prob = think_prob
        self._script: Generator[str, str, None] | None = None
        self._last = "<answer></answer>"
        # True after act() when that message shows a deliberate mistake (a synthetic one,
        # not a call the docs lead to): SFT may leave such messages out of the loss
        self.last_is_mistake = False
        self._mistake = False
        # A student's messages to go on from, each with its call and mode, the last one
        # rejected (see :meth:`recover`)
        self._opening: list[tuple[str, _Attempt, str]] = []

    # -- the episode script ---------------------------------------------------------------

    def recover(self, messages: str | Sequence[str]) -> TrialTeacher:
        """Start the next episode from a student's first messages (one, or a list), each
        of which makes one tool call (a trial or a real call), the last one rejected by the
        env (a one-step plan's call: the teacher's script goes on with the plan's first
        step); the teacher reads that error and fixes it (DAgger-style relabelling, see
        :func:`~tool_gym.agents.traces.recovery_traces`). The student's messages count as
        mistakes (``last_is_mistake``). Returns ``self``; the episode after it starts
        afresh."""
        self._opening = _student_messages(messages)
        return self

    def begin(self, obs: str, info: dict[str, Any]) -> None:
        base = unwrap(self.env)
        ep = base._require_episode()
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
        ep = base._require_episode()
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
            first_use = self.trial_when in ("first_use", "candidates")
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
            # trial_when="candidates": where the first trial sits in its message, and the
            # look-alike tools trialled beside it
            at, others = 0, []
            if i == 0 and student:
                # the student's own messages, the last one failed, then the teacher's fix
                room = min(room_turns, room_trials) - len(student)
                verify = self._verify(base, name, mistakes=True) and room > 0
                for message, _, mode in student:
                    self._mistake = True
                    obs = yield message
                    turns_left, trials_left = turns_left - 1, trials_left - (mode == "trial")
                chain = [student[-1][1]] + ([_Attempt(name, args, "correct")] if verify else [])
            elif chain:
                first = chain[0]
                guesses = "doc_guess" if first.kind.startswith("stale") else "guess"
                guess = self._say(guesses, name=first.name, args=_args_text(first.args))
                shown = _shown_name(base, step.tool, name, docs)
                said = [r for r in info_i.reasons
                        if self.trial_when == "cues" or r in VISIBLE_REASONS]
                opening = " ".join(self._reason(r, shown, docs) for r in said[:2])
                if self.trial_when == "candidates" and room_trials > len(chain):
                    others = self._candidates(base, name, args, docs,
                                              avoid={first.name, name, shown})
                trials = [first] + others
                if others:  # no draw otherwise: the other rules' traces stay as they were
                    at = int(self.rng.integers(len(trials)))
                    trials.insert(at, trials.pop(0))
                think = f"{opening} {self._say('candidates' if others else 'try')}".strip()
                if first.kind != "correct":
                    think = f"{think} {guess}"
                self._mistake = first.kind in SYNTHETIC_MISTAKES
                if first.kind == "correct":
                    for message in self._prior(base, name):
                        yield message
                        turns_left -= 1
                obs = yield _message(think, "\n".join(format_call(a.name, a.args, "trial")
                                                      for a in trials))
                turns_left, trials_left = turns_left - 1, trials_left - len(trials)
            if chain:
                for prev, nxt in zip(chain, chain[1:], strict=False):
                    then = "verify" if nxt.kind == "correct" else "retry"
                    think = self._react(obs, prev, nxt, then, at=at, others=others)
                    at, others = 0, []
                    if nxt.kind == "correct":
                        for message in self._prior(base, name):
                            yield message
                            turns_left -= 1
                    self._mistake = nxt.kind in SYNTHETIC_MISTAKES
                    obs = yield _message(think, format_call(nxt.name, nxt.args, "trial"))
                    turns_left, trials_left = turns_left - 1, trials_left - 1
                think = self._react(obs, chain[-1], _Attempt(name, args, "correct"),
                                    "execute", at=at, others=others)
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
        ep = base._require_episode()
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
               docs: dict[str, ToolSpec]) -> list[_Attempt]:
        """The trials for one step: mistakes first, then maybe a trial of the correct call."""
        surface = base._require_episode().surface
        canonical_args = step.bind(call_results(base))
        mistakes: list[_Attempt] = []
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
                mistakes.append(_Attempt(shown, doc_args, "stale_name"))
            if doc_args != args:
                mistakes.append(_Attempt(name, doc_args, "stale_args"))
                # A new parameter with one accepted value: leaving it out makes the error
                # name the value, so the fix is read from the env rather than guessed.
                pinned = [k for k in args if k not in doc_args and _pinned(spec, k)]
                if pinned:
                    partial = {k: v for k, v in args.items() if k not in pinned}
                    if partial != doc_args:
                        mistakes.append(_Attempt(name, partial, "missing_param"))
        if not mistakes and self.wrong_tool_prob > 0:  # no draw at 0: traces as before
            wrong = _wrong_tool(base, name, args, docs)
            if wrong is not None and self.rng.random() < self.wrong_tool_prob:
                mistakes.append(wrong)
        if not mistakes:
            p = self.mistake_prob if not st.probe else self.mistake_prob * 0.6
            if self.rng.random() < p:
                synthetic = self._synthetic_mistake(base, name, args, docs)
                if synthetic is not None:
                    mistakes.append(synthetic)
        verify = self._verify(base, name, mistakes=bool(mistakes))
        return mistakes + ([_Attempt(name, args, "correct")] if verify else [])

    def _verify(self, base: ToolEnv, name: str, mistakes: bool) -> bool:
        """Whether the correct call gets a trial of its own before it runs for real."""
        surface = base._require_episode().surface
        side_effect = surface.tools[name].spec.side_effects
        # Terse errors give no hint, so a guessed fix is rehearsed before it runs for real.
        return (not mistakes or side_effect or surface.terse_errors
                or self.rng.random() < 0.25)

    def _synthetic_mistake(self, base: ToolEnv, name: str, args: dict[str, Any],
                           docs: dict[str, ToolSpec]) -> _Attempt | None:
        surface = base._require_episode().surface
        spec = surface.tools[name].spec
        props = spec.parameters.get("properties", {})
        options: list[_Attempt] = []
        for key, value in args.items():
            schema = props.get(key, {})
            if isinstance(value, str) and "enum" in schema:
                for wrong in (value.capitalize(), value.upper()):
                    if wrong != value and wrong not in schema["enum"]:
                        options.append(_Attempt(name, {**args, key: wrong}, "enum_case"))
                        break
            if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                y, m, d = value.split("-")
                wrong = (f"{_MONTHS[int(m) - 1]} {int(d)}, {y}" if self.rng.random() < 0.5
                         else f"{m}/{d}/{y}")
                options.append(_Attempt(name, {**args, key: wrong}, "date_format"))
            if isinstance(value, int) and not isinstance(value, bool):
                options.append(_Attempt(name, {**args, key: str(value)}, "type"))
            for syn in _SYNONYMS.get(key, [f"{key}_value"]):
                if syn not in props:
                    wrong_args = {(syn if k == key else k): v for k, v in args.items()}
                    options.append(_Attempt(name, wrong_args, "param_name"))
                    break
        for wrong_name in _name_variants(name):
            if wrong_name not in surface.tools:
                options.append(_Attempt(wrong_name, args, "tool_name"))
                break
        for near in _similar_names(name, docs):
            tool = surface.tools.get(near)
            if tool is not None and (tool.error is not None or tool.deprecated_for is not None):
                options.append(_Attempt(near, args, "near_name"))
        extra = _extra_param(args, props, docs)
        if extra is not None:
            options.append(_Attempt(name, {**args, **extra}, "extra_param"))
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

    def _react(self, obs: str, prev: _Attempt, nxt: _Attempt, then: str, at: int = 0,
               others: Sequence[_Attempt] = ()) -> str:
        """Think text after a trial: read its response, say the fix, then what comes next.

        ``at`` is the place of ``prev``'s response in ``obs``; ``others`` are look-alike
        tools trialled beside it (``trial_when="candidates"``), dismissed first."""
        # the response to ``prev``: a trial, or a student's real call that failed
        resp = next(iter(parse_responses(obs)[at:]), None)
        text = self._react_one(resp, prev, nxt, then)
        if not others:
            return text
        dismissed = " ".join(self._say("candidate_failed", name=o.name) for o in others)
        if resp is not None and resp.ok and (prev.name, prev.args) == (nxt.name, nxt.args):
            # the right tool's trial worked as it was: name it, then go on
            return f"{dismissed} {self._say('candidate_ok', name=prev.name)} {self._say(then)}"
        return f"{dismissed} {text}"

    def _candidates(self, base: ToolEnv, name: str, args: dict[str, Any],
                    docs: dict[str, ToolSpec], avoid: set[str]) -> list[_Attempt]:
        """One look-alike of the right tool, given the task's values, that the env rejects
        (e.g. ``get_title(title_id="J1195")`` beside ``get_joke(joke_id="J1195")``): on an
        unseen API a small model's first choice is often such a tool; trialling two
        candidates side by side and keeping the one that works is a rule it can follow
        from what it sees. Empty when no catalogue tool qualifies."""
        surface = base._require_episode().surface
        scored = []
        for other, doc in sorted(docs.items()):
            live = surface.tools.get(other)
            if other in avoid or live is None or live.deprecated_for is not None:
                continue  # unknown and deprecated names get errors that list every tool
            wrong = _fill_required(doc, args)
            if wrong is None or base.dry_run(other, wrong) is None:
                continue
            same_shape = len(wrong) == len(args)
            likeness = difflib.SequenceMatcher(None, other, name).ratio()
            scored.append((same_shape, likeness, _Attempt(other, wrong, "candidate")))
        if not scored:
            return []
        scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
        top = scored[:2]
        return [top[int(self.rng.integers(len(top)))][2]]

    def _react_one(self, resp: Response | None, prev: _Attempt, nxt: _Attempt,
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


# -- helpers for the trial teacher ------------------------------------------------------


def parse_opening(text: str) -> tuple[str, dict[str, Any], str]:
    """The one tool call of a student's message: its name, arguments and mode (``trial``
    or ``call``); ValueError when the message does not make exactly one call."""
    segments, problems = split_segments(text)
    calls = [s for s in segments if s.kind in ("trial", "call")]
    if problems or len(segments) != 1 or len(calls) != 1:
        raise ValueError(f"an opening must make exactly one call: {text[:200]!r}")
    try:
        parsed = parse_call(calls[0].body)
    except ParseError as e:
        raise ValueError(f"an opening must make exactly one call: {e}") from None
    return parsed.name, dict(parsed.arguments), calls[0].kind


def _student_messages(messages: str | Sequence[str]) -> list[tuple[str, _Attempt, str]]:
    """A student's messages to recover from (see ``recover``), each with its one call and
    that call's mode (``trial`` or ``call``); ValueError unless each makes exactly one."""
    texts = [messages] if isinstance(messages, str) else list(messages)
    if not texts:
        raise ValueError("recover needs at least one student message")
    out = []
    for text in texts:
        name, args, mode = parse_opening(text)
        out.append((text, _Attempt(name, args, "student"), mode))
    return out


def _message(think: str, body: str) -> str:
    return f"<think>{think}</think>\n{body}" if think else body


def _diff_text(prev: _Attempt, nxt: _Attempt, limit: int = 5) -> str:
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
    surface = base._require_episode().surface
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


def _rejected(surface: Any, attempt: _Attempt) -> bool:
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
                docs: dict[str, ToolSpec]) -> _Attempt | None:
    """Another catalogue tool given the task's values, whose error names the right tool
    (e.g. ``no book 'X'; use a book_id from search_catalogue``): picking the wrong tool
    is a small model's most common mistake on an unseen API, and this error fixes it."""
    surface = base._require_episode().surface
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
            return _Attempt(other, wrong, "wrong_tool")
    return None


def _fill_required(doc: ToolSpec, args: dict[str, Any]) -> dict[str, Any] | None:
    """Arguments for ``doc``'s required parameters taken from ``args`` (same name first,
    else the first value of the same JSON type); None when the tool takes none or one
    cannot be filled."""
    props = doc.parameters.get("properties", {})
    required = doc.parameters.get("required", [])
    if not required:
        return None  # a tool without required parameters just works: no clear signal
    kinds = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
    out: dict[str, Any] = {}
    for key in required:
        if key in args:
            out[key] = args[key]
            continue
        want = kinds.get(props.get(key, {}).get("type", ""))
        value = next((v for v in args.values() if want is not None and isinstance(v, want)
                      and (want is bool or not isinstance(v, bool))), None)
        if value is None:
            return None
        out[key] = value
    return out


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


# -- the LLM teacher --------------------------------------------------------------------


class LLMTeacherError(RuntimeError):
    """The chat endpoint could not be reached or gave an unusable answer."""


class LLMTeacher:
    """Any OpenAI-compatible chat endpoint as a teacher (``/chat/completions``).

    Sends the env's ``info["messages"]`` plus the dialogue so far and returns the
    assistant text. Uses only the standard library.

    Args:
        base_url: Endpoint root, e.g. ``https://api.deepseek.com/v1`` or
            ``http://127.0.0.1:8000/v1`` (``/chat/completions`` is appended).
        model: Model name the endpoint expects.
        api_key_env: Name of the environment variable holding the API key; None for
            endpoints without authentication.
        temperature, max_tokens: Sampling settings sent with each request.
        timeout: Seconds per HTTP request.
        max_retries: Retries on connection errors, HTTP 429 and 5xx, with backoff.
        extra_body: More JSON fields for each request (``top_p``, ``stop``...).
    """

    name = "llm"

    def __init__(self, base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                 temperature: float = 0.7, max_tokens: int = 1024, timeout: float = 60.0,
                 max_retries: int = 2, extra_body: dict[str, Any] | None = None,
                 backoff_s: float = 1.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = None
        if api_key_env is not None:
            self.api_key = os.environ.get(api_key_env)
            if not self.api_key:
                raise LLMTeacherError(
                    f"environment variable {api_key_env} is not set; export the API key there, "
                    "or pass api_key_env=None for an endpoint without authentication")
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.max_retries = max_retries
        self.extra_body = dict(extra_body or {})
        self.backoff_s = backoff_s
        self.messages: list[dict[str, str]] = []
        self._replied = False

    def begin(self, obs: str, info: dict[str, Any]) -> None:
        self.messages = [dict(m) for m in info["messages"]]
        self._replied = False

    def act(self, obs: str) -> str:
        if not self.messages:
            raise RuntimeError("call begin(obs, info) after reset() before act()")
        if self._replied:
            self.messages.append({"role": "user", "content": obs})
        text = self.complete(self.messages)
        self.messages.append({"role": "assistant", "content": text})
        self._replied = True
        return text

    def complete(self, messages: list[dict[str, str]]) -> str:
        """One chat completion: the assistant text for ``messages``."""
        body = {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens, **self.extra_body}
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last_error = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    payload = resp.read()
            except urllib.error.HTTPError as e:
                detail = _short(e.read().decode("utf-8", "replace"), 300)
                last_error = f"HTTP {e.code} from {self.url}: {detail}"
                if e.code == 429 or e.code >= 500:
                    logger.warning("%s (attempt %d)", last_error, attempt + 1)
                    continue
                raise LLMTeacherError(last_error) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                reason = getattr(e, "reason", e)
                last_error = f"cannot reach {self.url}: {reason}"
                logger.warning("%s (attempt %d)", last_error, attempt + 1)
                continue
            return _completion_text(payload, self.url)
        raise LLMTeacherError(f"{last_error} (gave up after {self.max_retries + 1} attempts)")


def _completion_text(payload: bytes, url: str) -> str:
    try:
        obj = json.loads(payload)
        content = obj["choices"][0]["message"]["content"]
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LLMTeacherError(f"{url} answered with invalid JSON: {e}") from None
    except (KeyError, IndexError, TypeError):
        raise LLMTeacherError(f"{url} answered without choices[0].message.content: "
                              f"{_short(payload.decode('utf-8', 'replace'), 300)}") from None
    if not isinstance(content, str):
        raise LLMTeacherError(f"{url} answered with non-text content: {content!r:.200}")
    return content


# -- registry ---------------------------------------------------------------------------

TEACHERS: dict[str, Callable[..., Any]] = {"golden": GoldenTeacher, "trial": TrialTeacher}


def make_teacher(name: str, env: gym.Env, seed: int = 0, **kwargs: Any) -> Teacher:
    """A scripted teacher by name (``golden`` or ``trial``) for ``env``."""
    if name not in TEACHERS:
        raise KeyError(f"unknown teacher {name!r}; choose from {', '.join(TEACHERS)}")
    return TEACHERS[name](env, seed=seed, **kwargs)
