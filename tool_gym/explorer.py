"""A scripted explorer that discovers a drifted tool API from the env's responses alone.

It proves that the env gives enough signal to find the *current* API after drift. What it
knows and what it does not:

- It knows the **intent** of the task as a canonical plan skeleton written against the
  *old* API: the old catalogue (names, parameters, descriptions) and the calls a user who
  read the old docs would make, with later arguments referring to earlier results, plus
  what to answer (a literal, or a path into a result). That is what the stale catalogue
  plus a doc-following plan give; :func:`canonical_intent` rebuilds it from the domain's
  unmutated tools and the task seed in ``info`` (never from the env's episode).
- It does **not** know the mutation. It never reads ``env.episode``, the task's checker,
  the surface or ``info["mutations"]``. Everything about the current API comes from the
  observation text: the catalogue as shown, and the answers to its trials and calls
  (unknown tool and the available names, "deprecated; use X", unknown or missing
  parameters, enum values, date patterns, distractor refusals, a refusal that names the
  call to make first, a time zone a response or an error states, successful responses).

Heuristics are generic: string similarity of names (typos, reversed names, re-casing),
elimination and position for renamed parameters, unit words in parameter names, regex
patterns and enum lists from errors for value formats, envelope unwrapping and
case-insensitive keys for responses. Probes run as ``<trial>`` (never changing the world);
a ``<call>`` is sent only when the form of the call is known or was verified by a trial.

:class:`DocReplayPolicy` is the baseline: it replays the doc-following plan with no trials
and no adaptation, reading results from the observation literally.
"""

from __future__ import annotations

import ast
import difflib
import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tool_gym.behaviour import BASE_ZONE, TIME_VALUE, shift_time, zone_minutes
from tool_gym.protocol import (
    TURN_RE,
    Response,
    format_call,
    parse_responses,
)
from tool_gym.registration import get_domain
from tool_gym.spec import ToolSpec
from tool_gym.task import Ref, Step, format_value
from tool_gym.units import UNIT_WORDS, UNITS

# --------------------------------------------------------------------------------------
# Intent


@dataclass
class Intent:
    """The task as the old docs describe it.

    Attributes:
        catalogue: The old (pre-drift) tool docs.
        plan: Calls in the old API; arguments may be :class:`Ref` into earlier results.
        answer: The final answer: a literal, or a :class:`Ref` into the plan's results. Both
            policies here give a literal answer only once every planned call has succeeded
            (for tasks that change the world, "done" only counts if the calls happened).
    """

    catalogue: list[ToolSpec]
    plan: list[Step]
    answer: str | Ref


def canonical_intent(info: dict[str, Any]) -> Intent:
    """The old-API intent of the episode named by ``info`` (domain and task seed).

    Regenerates the task from the domain's canonical generator: the same plan a user who
    read the old docs would follow. Nothing comes from the env's episode or surface.
    """
    domain = get_domain(info["domain"])
    world, task = domain.generate(int(info["task_seed"]))
    world.close()
    return Intent(list(domain.tools), list(task.plan), task.answer)


IntentFn = Callable[[dict[str, Any]], Intent]

# --------------------------------------------------------------------------------------
# Reading observations


def match_responses(obs: str, sent: Sequence[tuple[str, str]]) -> list[Response | None]:
    """One response per sent (mode, name): the line at its place with its mode and name."""
    out: list[Response | None] = [None] * len(sent)
    for resp in parse_responses(obs):
        i = resp.index - 1
        if 0 <= i < len(sent) and (resp.mode, resp.name) == tuple(sent[i]):
            out[i] = resp
    return out


def norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


class RefError(LookupError):
    """A path could not be followed in an observed result."""


def follow(value: Any, path: str, literal: bool = False) -> Any:
    """Follow a canonical dotted path through an observed result.

    With ``literal`` the path must match exactly (the doc-following replay). Otherwise keys
    match case- and separator-insensitively, and envelopes (a dict whose wanted key lives
    one or two levels down, or a single list inside a dict) are looked through.
    """
    for key in filter(None, path.split(".")):
        value = _step(value, key, literal, depth=0)
    return value


def _step(value: Any, key: str, literal: bool, depth: int) -> Any:
    if isinstance(value, list):
        if key.lstrip("-").isdigit() and -len(value) <= int(key) < len(value):
            return value[int(key)]
        raise RefError(key)
    if not isinstance(value, dict):
        raise RefError(key)
    if key in value:
        inner = value[key]
        if not literal and depth == 0 and isinstance(inner, dict) and key in inner and len(
                value) <= 3:
            return inner[key]  # an envelope named like the field: {"result": {"result": 3}}
        return inner
    if literal:
        raise RefError(key)
    nk = norm(key)
    for k, v in value.items():
        if isinstance(k, str) and norm(k) == nk:
            return v
    if depth >= 2:
        raise RefError(key)
    children = [v for v in value.values() if isinstance(v, (dict, list))]
    if key.isdigit():
        lists = [v for v in children if isinstance(v, list)]
        if len(lists) == 1:
            return _step(lists[0], key, literal, depth + 1)
    for child in children:
        try:
            return _step(child, key, literal, depth + 1)
        except RefError:
            continue
    raise RefError(key)


def _has_ref(value: Any) -> bool:
    if isinstance(value, Ref):
        return True
    if isinstance(value, dict):
        return any(_has_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_ref(v) for v in value)
    return False


def bind(value: Any, results: Sequence[Any], literal: bool) -> Any:
    if isinstance(value, Ref):
        if value.step >= len(results):
            raise RefError(f"step {value.step}")
        return follow(results[value.step], value.path, literal)
    if isinstance(value, dict):
        return {k: bind(v, results, literal) for k, v in value.items()}
    if isinstance(value, list):
        return [bind(v, results, literal) for v in value]
    return value


# --------------------------------------------------------------------------------------
# The doc-following replay (baseline)


class DocReplayPolicy:
    """Replays the old-docs plan as written: no trials, no adaptation, literal paths.

    What a trajectory-centric agent that memorised the old API does. Any error or missing
    field ends the episode with a non-answer.
    """

    def __init__(self, intent_fn: IntentFn = canonical_intent) -> None:
        self.intent_fn = intent_fn

    def begin(self, obs: str, info: dict[str, Any]) -> None:
        self.intent = self.intent_fn(info)
        self.results: list[Any] = []
        self.sent: tuple[str, str] | None = None
        self.failed = False

    def act(self, observation: str) -> str:
        if self.sent is not None:
            (resp,) = match_responses(observation, [self.sent])
            if resp is None or not resp.ok:
                self.failed = True
            else:
                self.results.append(resp.value())
            self.sent = None
        plan = self.intent.plan
        if not self.failed and len(self.results) < len(plan):
            step = plan[len(self.results)]
            try:
                args = bind(step.arguments, self.results, literal=True)
            except (RefError, KeyError, TypeError):
                return "<answer>I could not complete the task.</answer>"
            self.sent = ("call", step.tool)
            return format_call(step.tool, args)
        if self.failed:
            return "<answer>I could not complete the task.</answer>"
        return f"<answer>{_answer(self.intent.answer, self.results, literal=True)}</answer>"


def _answer(answer: str | Ref, results: Sequence[Any], literal: bool) -> str:
    if isinstance(answer, Ref):
        try:
            return format_value(bind(answer, results, literal))
        except (RefError, KeyError, TypeError, IndexError):
            return "I could not find the answer."
    return answer


# --------------------------------------------------------------------------------------
# Knowledge about one callable name


@dataclass
class Candidate:
    """What the explorer has learned about one callable name."""

    name: str
    params: list[str] | None = None  # all parameters, in order, when known
    required: list[str] | None = None
    enums: dict[str, list[Any]] = field(default_factory=dict)
    patterns: dict[str, tuple[str, str]] = field(default_factory=dict)  # regex, description
    types: dict[str, str] = field(default_factory=dict)
    descs: dict[str, str] = field(default_factory=dict)
    description: str | None = None  # from the catalogue as shown
    rejected: bool = False  # unknown, deprecated or a refusing distractor
    validated: bool = False  # passed validation at least once
    ok_results: list[Any] = field(default_factory=list)
    tries: dict[str, int] = field(default_factory=dict)  # per old tool it was tried for
    perm: dict[str, int] = field(default_factory=dict)  # per old tool: next guessed pairing

    @property
    def known_params(self) -> list[str] | None:
        return self.params if self.params is not None else self.required


@dataclass
class Belief:
    """What the explorer believes about the current form of one old tool."""

    old: ToolSpec
    name: str | None = None  # current name, when known for sure
    verified: bool = False  # a call of the current form succeeded
    tried_old: bool = False


def _unit_in(text: str, name_only: bool = False) -> str | None:
    toks = tokens(text)
    if name_only:
        if toks and len(toks) > 1:
            return UNIT_WORDS.get(toks[-1])
        # A one-word name is a unit only when spelled out (``hours``, ``kilograms``): short
        # words (``m``, ``day``, ``c``) name other things too often.
        return UNIT_WORDS.get(toks[0]) if toks and len(toks[0]) >= 4 and \
            toks[0] not in ("day", "days", "units") else None
    m = re.search(r"\bin ([a-z]+)", text.lower())
    if m and m.group(1) in UNIT_WORDS:
        return UNIT_WORDS[m.group(1)]
    return None


def _convert_unit(value: Any, src: str, dst: str, integer: bool) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if {src, dst} == {"c", "f"}:
        out = value * 9 / 5 + 32 if dst == "f" else (value - 32) * 5 / 9
    else:
        a, b = UNITS.get(src), UNITS.get(dst)
        if a is None or b is None or a.dimension != b.dimension or a.factor is None \
                or b.factor is None:
            return value
        out = value * a.factor / b.factor
    if integer:
        return int(round(out))
    out = round(out, 6)
    return int(out) if out == int(out) else out


_DATE_SHAPES = [  # (regex of a parseable date, group order)
    (r"^(\d{4})-(\d{2})-(\d{2})$", "ymd"), (r"^(\d{4})/(\d{2})/(\d{2})$", "ymd"),
    (r"^(\d{4})(\d{2})(\d{2})$", "ymd"), (r"^(\d{2})\.(\d{2})\.(\d{4})$", "dmy"),
]
_DATE_RENDER = {"YYYY-MM-DD": "{y}-{m}-{d}", "DD/MM/YYYY": "{d}/{m}/{y}",
                "MM/DD/YYYY": "{m}/{d}/{y}", "DD.MM.YYYY": "{d}.{m}.{y}",
                "YYYYMMDD": "{y}{m}{d}", "YYYY/MM/DD": "{y}/{m}/{d}",
                "DD-MM-YYYY": "{d}-{m}-{y}", "MM-DD-YYYY": "{m}-{d}-{y}"}


def _renderings(value: Any) -> list[tuple[str, Any]]:
    """Ways a careful person might re-write a value: (label, new value)."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, str):
        for regex, order in _DATE_SHAPES:
            m = re.match(regex, value)
            if m:
                parts = dict(zip(order, m.groups(), strict=True))
                for label, tpl in _DATE_RENDER.items():
                    out.append((label, tpl.format(**parts)))
                break
        m = re.match(r"^(\d{1,2}):(\d{2})$", value)
        if m:
            h = int(m[1])
            out.append(("hh:mm AM/PM", f"{(h % 12) or 12:02d}:{m[2]} {'PM' if h >= 12 else 'AM'}"))
            out.append(("h:mm AM/PM", f"{(h % 12) or 12}:{m[2]} {'PM' if h >= 12 else 'AM'}"))
            out.append(("HHMM", f"{h:02d}{m[2]}"))
            out.append(("HH:MM", f"{h:02d}:{m[2]}"))
        out += [("lower", value.lower()), ("upper", value.upper()), ("title", value.title())]
        if re.fullmatch(r"-?\d+", value.strip()):
            out.append(("int", int(value)))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out.append(("str", format_value(value)))
    return out


def _fix_value(value: Any, regex: str, desc: str) -> Any:
    """A rendering of ``value`` matching ``regex``, preferring the one the description names."""
    matches = []
    for label, v in _renderings(value):
        try:
            if isinstance(v, str) and re.search(regex, v):
                matches.append((label, v))
        except re.error:
            return value
    if not matches:
        return value
    for label, v in matches:
        if label in desc:
            return v
    return matches[0][1]


def _sim(a: str, b: str) -> float:
    na, nb = norm(a), norm(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    if na[::-1] == nb:
        return 0.95
    r = difflib.SequenceMatcher(None, na, nb).ratio()
    ta, tb = set(tokens(a)), set(tokens(b))
    jac = len(ta & tb) / len(ta | tb) if ta | tb else 0.0
    return max(r * 0.9, jac * 0.8)


def _word_set(text: str) -> set[str]:
    return {t for t in tokens(text) if len(t) > 2}


def _stem_overlap(words: set[str], other: set[str]) -> int:
    """Words of ``words`` that some word of ``other`` shares a stem with (cancel~cancelled)."""
    n = 0
    for w in words:
        if any(w == o or (min(len(w), len(o)) >= 4 and (o.startswith(w) or w.startswith(o)))
               for o in other):
            n += 1
    return n


def _surface_words(value: Any, out: set[str] | None = None, depth: int = 0) -> set[str]:
    """Keys and short string values of a response: what it is about."""
    out = set() if out is None else out
    if depth > 4 or len(out) > 200:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out |= _word_set(str(k))
            _surface_words(v, out, depth + 1)
    elif isinstance(value, list):
        for v in value[:3]:
            _surface_words(v, out, depth + 1)
    elif isinstance(value, str) and len(value) <= 24:
        out |= _word_set(value)
    return out


def _compatible(old_type: Any, new_type: Any) -> bool:
    if not isinstance(old_type, str) or not isinstance(new_type, str) or old_type == new_type:
        return True
    return {old_type, new_type} <= {"integer", "number"}


def _desc_sim(a: str, b: str) -> float:
    wa, wb = _word_set(a), _word_set(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


_ADDED_HINT = re.compile(r"must be", re.I)


# --------------------------------------------------------------------------------------
# The explorer


class ScriptedExplorer:
    """Solves drifted tasks by trial and error from the observation text alone.

    Args:
        intent_fn: Gives the old-API intent from ``info`` (default :func:`canonical_intent`).
        max_probes: Most trials in one message.

    Use with :func:`tool_gym.oracle.run_episode`: ``begin(obs, info)`` then ``act(obs)``.
    """

    def __init__(self, intent_fn: IntentFn = canonical_intent, max_probes: int = 8) -> None:
        self.intent_fn = intent_fn
        self.max_probes = max_probes

    # -- episode start -------------------------------------------------------------------

    def begin(self, obs: str, info: dict[str, Any]) -> None:
        self.intent = self.intent_fn(info)
        self.old = {t.name: t for t in self.intent.catalogue}
        self.beliefs: dict[str, Belief] = {}
        for step in self.intent.plan:
            if step.tool not in self.beliefs:
                self.beliefs[step.tool] = Belief(self.old[step.tool])
        self.cands: dict[str, Candidate] = {}
        self.available: list[str] = []
        self.results: list[Any] = []
        self.sent: list[tuple[str, str, str, dict[str, Any]]] = []  # mode, name, tool, args
        self.weak: dict[str, set[str]] = {}  # tool -> names that answered but fit poorly
        self.turns_left = 1 << 30
        self.idle = 0
        shown = info.get("tools") or []
        self.shown_names: list[str] = []
        for entry in shown:
            fn = entry.get("function", entry)
            c = self._cand(fn["name"])
            c.description = fn.get("description", "")
            props = (fn.get("parameters") or {}).get("properties", {})
            c.params = list(props)
            c.required = list((fn.get("parameters") or {}).get("required", []))
            for p, s in props.items():
                if "enum" in s:
                    c.enums[p] = list(s["enum"])
                if "pattern" in s:
                    c.patterns[p] = (s["pattern"], s.get("description", ""))
                if "type" in s:
                    c.types[p] = s["type"]
                if "description" in s:
                    c.descs[p] = s["description"]
            self.shown_names.append(fn["name"])
            m = re.match(r"Deprecated: use (\S+) instead", c.description or "")
            if m:
                c.rejected = True
                self._cand(m.group(1).rstrip("."))
        # Docs that match the old docs exactly tell nothing: they may be stale.
        self.docs_fresh = [(c["function"]["name"] if "function" in c else c["name"])
                           for c in shown] != [t.name for t in self.intent.catalogue] or any(
            self._shown_differs(t) for t in self.intent.catalogue)

        self.fixed: dict[str, dict[str, Any]] = {}  # name -> arguments the env asked for
        self.rewrites: list[tuple[str, str]] = []  # (old-value regex, new template) for ids
        self.paging: dict[str, Any] | None = None  # the pages still to fetch of one result
        # a session the env said calls need: opener, parameter, token once read, the names
        # that need it, and whether the opener's call is out
        self.session: dict[str, Any] | None = None
        self.zones: dict[str, int] = {}  # name -> minutes its times moved (0: none stated)

    def _shown_differs(self, old: ToolSpec) -> bool:
        c = self.cands.get(old.name)
        return c is None or c.params != old.param_names

    def _cand(self, name: str) -> Candidate:
        if name not in self.cands:
            self.cands[name] = Candidate(name)
        return self.cands[name]

    # -- acting ----------------------------------------------------------------------------

    def act(self, observation: str) -> str:
        turns = TURN_RE.findall(observation)
        if turns:
            self.turns_left = int(turns[-1][1]) - int(turns[-1][0])
        progressed = self._read(observation)
        self.idle = 0 if progressed else self.idle + 1
        if self.paging is not None and not self.paging["sent"]:
            return self._fetch_pages()
        if self.session is not None and self.session["token"] is None \
                and not self.session["sent"]:
            return self._open_session()
        plan = self.intent.plan
        if len(self.results) >= len(plan):
            return f"<answer>{_answer(self.intent.answer, self.results, literal=False)}</answer>"
        if self.turns_left <= 1 or self.idle >= 6:
            return "<answer>I could not complete the task.</answer>"
        step = plan[len(self.results)]
        try:
            args = bind(step.arguments, self.results, literal=False)
        except (RefError, KeyError, TypeError):
            return "<answer>I could not complete the task.</answer>"
        message = self._compose(step.tool, args)
        if not message:
            return "<answer>I could not complete the task.</answer>"
        return message

    def _compose(self, tool: str, args: dict[str, Any]) -> str:
        b = self.beliefs[tool]
        out: list[tuple[str, str, str, dict[str, Any]]] = []
        if b.name is not None and not self._risky(b.name, tool):
            out.append(("call", b.name, tool, self._adapt(b.name, tool, args)))
        elif b.name is not None:
            out.append(("trial", b.name, tool, self._adapt(b.name, tool, args)))
        elif not b.tried_old and self._old_name_plausible(tool):
            b.tried_old = True
            self._cand(tool)
            mode = "trial" if self._risky(tool, tool) else "call"
            out.append((mode, tool, tool, self._adapt(tool, tool, args)))
        else:
            b.tried_old = True
            names = self._candidates(tool)
            weak = self._weak_hits(tool)
            if not names and weak:  # nothing better left: take the best weak one
                b.name = self._pick(tool, weak)
                return self._compose(tool, args)
            for name in names[: self.max_probes]:
                out.append(("trial", name, tool, self._adapt(name, tool, args)))
        if not out:
            return ""
        # Probe the old names of later tools while there is room (the trial phase).
        done = {tool}
        for step in self.intent.plan[len(self.results) + 1:]:
            if len(out) >= self.max_probes:
                break
            fb = self.beliefs[step.tool]
            if step.tool in done or fb.name is not None or fb.tried_old:
                continue
            done.add(step.tool)
            if not self._old_name_plausible(step.tool):
                continue
            fb.tried_old = True
            self._cand(step.tool)
            placeholder = self._placeholders(step)
            out.insert(0, ("trial", step.tool, step.tool,
                           self._adapt(step.tool, step.tool, placeholder)))
        self.sent = out
        return "".join(format_call(name, a, mode) for mode, name, _, a in out)

    def _old_name_plausible(self, tool: str) -> bool:
        if self.docs_fresh and tool not in self.shown_names:
            return False
        c = self.cands.get(tool)
        return c is None or not c.rejected

    def _placeholders(self, step: Step) -> dict[str, Any]:
        schema = self.old[step.tool].parameters.get("properties", {})
        out = {}
        for k, v in step.arguments.items():
            if _has_ref(v):
                s = schema.get(k, {})
                if "enum" in s:
                    v = s["enum"][0]
                else:
                    v = {"integer": 1, "number": 1, "boolean": True, "array": []}.get(
                        s.get("type"), "x")
            out[k] = v
        return out

    # -- choosing names ------------------------------------------------------------------

    def _claimed(self, tool: str) -> set[str]:
        """Names that belong to other old tools (their old names stay theirs, or confirmed)."""
        names = {n for n in self.old if n != tool}
        names |= {b.name for t, b in self.beliefs.items() if t != tool and b.name}
        return names

    def _candidates(self, tool: str) -> list[str]:
        old = self.old[tool]
        pool = list(dict.fromkeys([*self.shown_names, *self.available, *self.cands]))
        claimed = self._claimed(tool)
        scored = []
        for name in pool:
            c = self.cands.get(name)
            if name in claimed or (c is not None and c.rejected) or name == tool:
                continue
            if c is not None and c.tries.get(tool, 0) >= 3:
                continue
            if name in self.weak.get(tool, ()):
                continue
            s = _sim(tool, name)
            if c is not None and c.description is not None and self.docs_fresh:
                s += 2 * _desc_sim(c.description, old.description)
            if c is not None and c.known_params is not None:
                s += self._param_fit(tool, name)
            if c is not None and c.ok_results:
                s += 0.5
            scored.append((-s, pool.index(name), name))
        return [n for *_, n in sorted(scored)]

    def _param_fit(self, tool: str, name: str) -> float:
        c = self.cands[name]
        new = [p for p in (c.known_params or []) if not self._added(c, p)]
        old = self.old[tool].param_names
        if not old and not new:
            return 1.0
        mapping, _ = self._match(tool, name)
        matched = len(mapping)
        arity = 1.0 - abs(len(new) - len(old)) / max(len(new), len(old), 1)
        return matched / max(len(old), 1) * 0.5 + arity * 0.5

    # -- adapting arguments --------------------------------------------------------------

    def _added(self, c: Candidate, p: str) -> bool:
        """A parameter the old API did not have: one accepted value, described as required."""
        vals = c.enums.get(p)
        return vals is not None and len(vals) == 1 and (
            bool(_ADDED_HINT.search(c.descs.get(p, ""))) or p not in (c.params or []))

    def _match(self, tool: str, name: str) -> tuple[dict[str, str], bool]:
        """Old parameter -> current parameter, and whether any pairing was a guess."""
        c = self.cands.get(name)
        old = self.old[tool]
        if c is None or c.known_params is None:
            return {p: p for p in old.param_names}, False
        new = [p for p in c.known_params if not self._added(c, p)]
        old_props = old.parameters.get("properties", {})
        pairs = []
        for p in old.param_names:
            for q in new:
                s = _sim(p, q)
                pu, qu = _unit_in(p, True), _unit_in(q, True)
                if pu and qu and pu != qu:
                    base_p = [t for t in tokens(p) if t not in UNIT_WORDS]
                    base_q = [t for t in tokens(q) if t not in UNIT_WORDS]
                    if base_p and base_p == base_q:
                        s = max(s, 0.9)
                od, nd = old_props.get(p, {}).get("description"), c.descs.get(q)
                if od and nd and od == nd:
                    s = max(s, 0.9)
                pairs.append((s, p, q))
        mapping: dict[str, str] = {}
        used: set[str] = set()
        for s, p, q in sorted(pairs, key=lambda x: -x[0]):
            if s < 0.72 or p in mapping or q in used:
                continue
            mapping[p] = q
            used.add(q)
        left_old = [p for p in old.param_names if p not in mapping]
        left_new = [q for q in new if q not in used]
        guessed = False
        if left_old and left_new:
            if len(left_old) == 1 and len(left_new) == 1:
                mapping[left_old[0]] = left_new[0]
            else:
                # Position first (renames keep the order), then the other pairings in turn,
                # skipping those whose known types clash.
                k = min(len(left_old), len(left_new))
                first = tuple(left_new[:k])
                opaque = all(re.fullmatch(r"[a-z]*_?\d+", q) for q in left_new)
                if opaque and c.params is not None and len(c.params) == len(old.param_names):
                    first = tuple(c.params[old.param_names.index(p)] for p in left_old[:k])
                options = [first]
                if len(left_new) <= 4:
                    options += [o for o in itertools.permutations(left_new, k) if o != first]
                fits = [o for o in options if all(
                    self._compatible(old_props.get(p, {}), c, q)
                    for p, q in zip(left_old, o, strict=False))] or options
                for p, q in zip(left_old, fits[c.perm.get(tool, 0) % len(fits)], strict=False):
                    mapping[p] = q
                guessed = len(left_old) > 1 and len(left_new) > 1
        return mapping, guessed

    @staticmethod
    def _compatible(old_schema: dict[str, Any], c: Candidate, q: str) -> bool:
        """Could old parameter (schema) sit in current parameter ``q``, as far as is known?"""
        if not _compatible(old_schema.get("type"), c.types.get(q)):
            return False
        new_enum = c.enums.get(q)
        if new_enum is not None:
            old_enum = {str(v).lower() for v in old_schema.get("enum", [])}
            return bool(old_enum & {str(v).lower() for v in new_enum})
        return True

    def _risky(self, name: str, tool: str) -> bool:
        """Should this call be tried first? True when its form rests on a guess."""
        b = self.beliefs[tool]
        if b.verified:
            return False
        if self._times_unchecked(name, tool):
            return True
        c = self.cands.get(name)
        if c is None:
            return False
        if c.known_params is None:
            return name != tool
        return self._match(tool, name)[1]

    def _times_unchecked(self, name: str, tool: str) -> bool:
        """True when the current step passes a time and ``name`` has not yet answered once:
        the zone its times mean is only known from a response, so a trial goes first."""
        if name in self.zones or len(self.results) >= len(self.intent.plan):
            return False
        step = self.intent.plan[len(self.results)]
        if step.tool != tool:
            return False
        try:
            args = bind(step.arguments, self.results, literal=False)
        except (RefError, KeyError, TypeError):
            return False
        return any(isinstance(v, str) and TIME_VALUE.match(v) for v in args.values())

    def _adapt(self, name: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        # Defaults drift too: an omitted choice is sent as its old documented default.
        old = self.old[tool].parameters.get("properties", {}) if tool in self.old else {}
        args = {**{p: s["default"] for p, s in old.items()
                   if p not in args and "default" in s and "enum" in s}, **args}
        out = self._adapt_names(name, tool, args)
        out = {k: shift_time(self._rewrite(v), self.zones.get(name, 0)) for k, v in out.items()}
        return out | self.fixed.get(name, {})

    def _rewrite(self, value: Any) -> Any:
        """A value in a form the env said changed (``TK-2321`` -> ``2321-TK``), rewritten."""
        if not isinstance(value, str):
            return value
        for regex, template in self.rewrites:
            m = re.fullmatch(regex, value)
            if m:
                return template.format(*m.groups())
        return value

    def _adapt_names(self, name: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        c = self.cands.get(name)
        if c is None or c.known_params is None:
            return dict(args)
        mapping, _ = self._match(tool, name)
        old_props = self.old[tool].parameters.get("properties", {})
        out: dict[str, Any] = {}
        for p, v in args.items():
            q = mapping.get(p)
            if q is None:
                if c.params is None:
                    out[p] = v
                continue
            out[q] = self._convert(v, p, q, c, old_props.get(p, {}))
        for r in c.known_params:
            if r in out:
                continue
            if r in c.enums and len(c.enums[r]) == 1:
                out[r] = c.enums[r][0]
            elif c.required is not None and r in c.required:
                out[r] = c.enums[r][0] if c.enums.get(r) else ""
        return out

    def _convert(self, v: Any, p: str, q: str, c: Candidate, old_schema: dict[str, Any]) -> Any:
        src = _unit_in(p, True) or _unit_in(old_schema.get("description", ""))
        dst = _unit_in(q, True) or _unit_in(c.descs.get(q, ""))
        if dst == "cents" and src is None:
            src = "units"  # an amount in whole units now asked for in cents
        if src and dst and src != dst:
            v = _convert_unit(v, src, dst, c.types.get(q) == "integer"
                              or (isinstance(v, int) and dst in ("s", "ms", "cents")))
        if q in c.enums and v not in c.enums[q]:
            for e in c.enums[q]:
                if isinstance(e, str) and isinstance(v, str) and e.lower() == v.lower():
                    v = e
                    break
        if q in c.patterns and isinstance(v, (str, int, float)):
            regex, desc = c.patterns[q]
            try:
                ok = isinstance(v, str) and re.search(regex, v)
            except re.error:
                ok = True
            if not ok:
                v = _fix_value(v, regex, desc)
        t = c.types.get(q)
        if t == "integer" and isinstance(v, str) and re.fullmatch(r"-?\d+", v.strip()):
            v = int(v)
        elif t == "number" and isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                pass
        elif t == "string" and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = format_value(v)
        return v

    # -- reading responses ---------------------------------------------------------------

    def _read(self, obs: str) -> bool:
        if not self.sent:
            return False
        sent = self.sent
        self.sent = []
        responses = match_responses(obs, [(m, n) for m, n, _, _ in sent])
        if self.paging is not None and self.paging["sent"]:
            return self._read_pages(responses)
        if self.session is not None and self.session["sent"] and self.session["token"] is None:
            return self._read_session(responses[0])
        progressed = False
        successes: dict[str, list[tuple[str, Any]]] = {}
        for (mode, name, tool, _args), resp in zip(sent, responses, strict=True):
            if resp is None:
                continue
            c = self._cand(name)
            c.tries[tool] = c.tries.get(tool, 0) + 1
            b = self.beliefs[tool]
            if resp.ok:
                c.validated = True
                c.ok_results.append(resp.value())
                self.zones.setdefault(name, _zone_shift(resp.value()))
                is_current = len(self.results) < len(self.intent.plan) and \
                    self.intent.plan[len(self.results)].tool == tool
                if mode == "call" and is_current:
                    b.name, b.verified = name, True
                    value = resp.value()
                    if _next_page(value) is not None:  # fetch every page before going on
                        self.paging = {"name": name, "tool": tool, "args": dict(_args),
                                       "first": value, "sent": False}
                        return True
                    self.results.append(_undo(value))
                    progressed = True
                elif is_current:
                    successes.setdefault(tool, []).append((name, resp.value()))
                    progressed = True
                elif name == tool and b.name is None:
                    b.name = name  # a later tool answered under its old name
                continue
            progressed |= self._learn(c, tool, resp.text)
        for tool, hits in successes.items():
            b = self.beliefs[tool]
            good = [h for h in hits if self._fits(tool, h)]
            if good:
                b.name, b.verified = self._pick(tool, good), True
                continue
            self.weak.setdefault(tool, set()).update(n for n, _ in hits)
            weak = self._weak_hits(tool)
            if weak and not self._candidates(tool):
                b.name, b.verified = self._pick(tool, weak), True
        return progressed

    def _fetch_pages(self) -> str:
        """Calls for the remaining pages of a paged result, all in one message."""
        p = self.paging
        assert p is not None
        first = p["first"]
        key = _page_list_key(first)
        size = max(1, len(first[key])) if key else 1
        nxt = int(first["next_page"])
        total = first.get("total_items")
        last = -(-int(total) // size) if isinstance(total, int) else nxt
        p["sent"] = True
        # the parameter takes the name the response gives the page number
        self.sent = [("call", p["name"], p["tool"], {**p["args"], "page": n})
                     for n in range(nxt, last + 1)][: self.max_probes]
        return "".join(format_call(name, a, mode) for mode, name, _, a in self.sent)

    def _read_pages(self, responses: Sequence[Response | None]) -> bool:
        p, self.paging = self.paging, None
        assert p is not None
        pages = [r.value() for r in responses if r is not None and r.ok]
        self.results.append(_undo(_merge_pages(p["first"], pages)))
        return True

    def _open_session(self) -> str:
        """The call that opens the session the env asked for (no arguments)."""
        s = self.session
        assert s is not None
        s["sent"] = True
        self.sent = [("call", s["opener"], "", {})]
        return format_call(s["opener"], {}, "call")

    def _read_session(self, resp: Response | None) -> bool:
        s = self.session
        assert s is not None
        token = _token(resp.value(), s["param"]) if resp is not None and resp.ok else None
        if token is None:
            self.session = None  # no token came: the next refusal asks again
            return False
        s["token"] = token
        for name in s["names"]:
            self.fixed.setdefault(name, {})[s["param"]] = token
        return True

    def _weak_hits(self, tool: str) -> list[tuple[str, Any]]:
        return [(n, self.cands[n].ok_results[-1]) for n in sorted(self.weak.get(tool, ()))
                if self.cands[n].ok_results and not self.cands[n].rejected]

    def _lossy(self, tool: str, name: str) -> bool:
        """True when the candidate had no place for some argument the plan gives."""
        c = self.cands.get(name)
        if c is None or c.params is None:
            return False
        step_args = self.intent.plan[len(self.results)].arguments if \
            len(self.results) < len(self.intent.plan) else {}
        mapping, _ = self._match(tool, name)
        return any(p not in mapping for p in step_args)

    def _fits(self, tool: str, hit: tuple[str, Any]) -> bool:
        name, value = hit
        if self._lossy(tool, name):
            return False
        for path in self._paths_from(tool):
            try:
                follow(value, path)
            except (RefError, KeyError, TypeError, IndexError):
                return False
        return True

    def _pick(self, tool: str, hits: list[tuple[str, Any]]) -> str:
        """The answering candidate that best fits the intent (paths, arguments, meaning)."""
        if len(hits) == 1:
            return hits[0][0]
        paths = self._paths_from(tool)
        old = self.old[tool]
        words = _word_set(f"{old.name} {old.description}")

        def score(hit: tuple[str, Any]) -> tuple[float, ...]:
            name, value = hit
            found = 0
            for path in paths:
                try:
                    follow(value, path)
                    found += 1
                except (RefError, KeyError, TypeError, IndexError):
                    pass
            seen = _surface_words(value)
            overlap = _stem_overlap(seen, words) / (len(seen) + 3)
            return (found, -self._lossy(tool, name), self._param_fit(tool, name), overlap)

        return max(hits, key=score)[0]

    def _paths_from(self, tool: str) -> list[str]:
        i = len(self.results)
        paths: list[str] = []

        def collect(v: Any) -> None:
            if isinstance(v, Ref) and v.step == i:
                paths.append(v.path)
            elif isinstance(v, dict):
                for x in v.values():
                    collect(x)
            elif isinstance(v, list):
                for x in v:
                    collect(x)

        for step in self.intent.plan[i + 1:]:
            collect(step.arguments)
        collect(self.intent.answer)
        return [p for p in paths if p]

    def _learn(self, c: Candidate, tool: str, error: str) -> bool:
        """Update knowledge from one error; True when it taught something."""
        b = self.beliefs[tool]
        m = re.match(r"unknown tool '(.*?)'\.(?: Did you mean: (.*?)\?)? Available tools: (.*)$",
                     error)
        if m:
            self._drop(c, b)
            self.available = [n.strip() for n in m.group(3).split(",") if n.strip()]
            for n in self.available:
                self._cand(n)
            return True
        m = re.match(r"'(.*?)' is deprecated; use '(.*?)' instead", error)
        if m:
            self._drop(c, b)
            succ = self._cand(m.group(2))
            if succ.params is None and c.params is not None:
                succ.params, succ.required = list(c.params), list(c.required or [])
            if c.name == tool:  # the old name itself names its successor
                b.name = succ.name
            return True
        if error in ("unknown tool", "deprecated"):  # terse: nothing to learn but a dead end
            self._drop(c, b)
            return False
        if c.name == tool and b.name is None:
            b.name = tool  # it exists and is not deprecated: an old name keeps its tool
        if error == "invalid arguments":  # terse
            return False
        m = re.search(r"needs a session token\. Call (\S+) first .*? as \"(\w+)\"$", error) or \
            re.search(r"session token .* is not valid\. Call (\S+) first .*? as \"(\w+)\"$", error)
        if m:
            return self._need_session(c.name, m.group(1), m.group(2))
        m = re.search(r"\(times in (UTC[^;)]*); they were (UTC[^;)]*)\)$", error)
        if m:
            try:
                shift = zone_minutes(m.group(1)) - zone_minutes(m.group(2))
            except ValueError:
                shift = 0
            learned = self.zones.get(c.name) != shift
            self.zones[c.name] = shift
            if learned:
                return True
        if re.search(r"\b(try|retry|send) the same call again\b|\bretry after\b", error, re.I) \
                and "with " not in error:
            return True  # transient: the same call again
        m = re.search(r"(?:again|call) with \"(\w+)\": (true|false|\d+|\"[^\"]*\")", error)
        if m:
            self.fixed.setdefault(c.name, {})[m.group(1)] = json.loads(m.group(2))
            return True
        m = re.search(r"id '([^']+)'.*?now look like (\S+)$", error)
        if m:
            learned = _rewrite_rule(m.group(1), m.group(2).rstrip("."))
            if learned and learned not in self.rewrites:
                self.rewrites.append(learned)
                return True
        m = re.match(r"invalid arguments for \S+ (at '.*)$", error)
        if m:
            learned = False
            for part in re.split(r" \| (?=at ')", m.group(1)):  # one part per wrong value
                pm = re.match(r"at '([^']*)': (.*)$", part)
                if pm:
                    learned |= self._learn_schema(c, tool, pm.group(1), pm.group(2))
            return learned
        if "not available" in error or "no longer" in error:
            self._drop(c, b)
            return True
        # A domain error: the call passed validation. If the pairing of parameters was a
        # guess, the next pairing is worth a try.
        c.validated = True
        return self._next_pairing(c, tool)

    def _need_session(self, name: str, opener: str, param: str) -> bool:
        """A refusal that names the call to make first: open the session (once) and send
        its token with every call of ``name``."""
        s = self.session
        if s is None or s["opener"] != opener or s["param"] != param:
            s = self.session = {"opener": opener, "param": param, "token": None,
                                "names": set(), "sent": False}
        elif s["token"] is not None and self.fixed.get(name, {}).get(param) == s["token"]:
            self.session = {**s, "token": None, "sent": False}  # refused anyway: reopen
            s = self.session
        s["names"].add(name)
        if s["token"] is not None:
            self.fixed.setdefault(name, {})[param] = s["token"]
        return True

    def _drop(self, c: Candidate, b: Belief) -> None:
        c.rejected = True
        if b.name == c.name:
            b.name, b.verified = None, False

    def _learn_schema(self, c: Candidate, tool: str, path: str, msg: str) -> bool:
        m = re.match(r"unknown parameter '.*?'; parameters: (.*) \(required: (.*)\)$", msg)
        if m:
            learned = (c.params, c.required) != (_names(m.group(1)), _names(m.group(2)))
            c.params = _names(m.group(1))
            c.required = _names(m.group(2))
            return learned
        m = re.match(r"missing required parameter '(.*?)'(?: \((.*)\))?(?:; one of: (\[.*\]))?; "
                     r"parameters: (.*) \(required: (.*)\)$", msg)
        if m:
            name = m.group(1)
            if m.group(2):
                c.descs[name] = m.group(2)
            if m.group(3):
                try:
                    c.enums[name] = json.loads(m.group(3))
                except ValueError:
                    pass
            c.params = _names(m.group(4))
            c.required = _names(m.group(5))
            return True  # the value of a missing parameter is new each time
        m = re.search(r"Required parameters: (.*?)\.$", msg)
        if m:
            req = _names(m.group(1))
            learned = req != c.required
            c.required = req
            return learned
        m = re.search(r"Allowed parameters: (.*?)\.$", msg)
        if m:
            params = _names(m.group(1))
            learned = params != c.params
            c.params = params
            return learned
        expected = re.search(r"\(rule: \w+\)\. Expected: (.*)$", msg)
        if expected and path != "arguments":
            c.descs[path] = expected.group(1)
        m = re.search(r"is not one of (\[.*\]) \(rule: enum\)", msg)
        if m:
            try:
                values = list(ast.literal_eval(m.group(1)))
            except (ValueError, SyntaxError):
                return False
            learned = c.enums.get(path) != values
            c.enums[path] = values
            return learned or self._next_pairing(c, tool)
        m = re.search(r"does not match ('.*') \(rule: pattern\)\.(?: Expected: (.*))?$", msg)
        if m:
            try:
                pattern = (ast.literal_eval(m.group(1)), m.group(2) or "")
            except (ValueError, SyntaxError):
                return False
            learned = c.patterns.get(path) != pattern
            c.patterns[path] = pattern
            return learned or self._next_pairing(c, tool)
        m = re.search(r"is not of type '(\w+)'", msg)
        if m:
            learned = c.types.get(path) != m.group(1)
            c.types[path] = m.group(1)
            return learned or self._next_pairing(c, tool)
        return False

    def _next_pairing(self, c: Candidate, tool: str) -> bool:
        """After a repeated value error on a guessed pairing of parameters, try the next one."""
        if self._match(tool, c.name)[1]:
            c.perm[tool] = c.perm.get(tool, 0) + 1
            return True
        return False


def _names(text: str) -> list[str]:
    text = text.strip()
    if text in ("none", ""):
        return []
    return [n.strip() for n in text.split(",") if n.strip()]


# --------------------------------------------------------------------------------------
# Behaviour drift: pages, unit notes and changed value forms, read from the responses.


def _next_page(value: Any) -> Any:
    return value.get("next_page") if isinstance(value, dict) else None


def _page_list_key(value: dict[str, Any]) -> str | None:
    return next((k for k, v in value.items() if isinstance(v, list)), None)


def _merge_pages(first: dict[str, Any], pages: Sequence[Any]) -> Any:
    """One result from its pages: the list field joined, as if it had come whole."""
    key = _page_list_key(first)
    if key is None:
        return first
    items = list(first[key])
    for p in pages:
        if isinstance(p, dict) and isinstance(p.get(key), list):
            items += p[key]
    merged = {k: v for k, v in first.items() if k not in ("page", "next_page", "total_items")}
    merged[key] = items
    return merged


_NOTE_RE = re.compile(r"(\w+) is now reported in (\w+)")


def _undo_unit_notes(value: Any) -> Any:
    """Fields a ``note`` says are now in another unit, converted back to the unit their name
    carries (``weight_kg`` reported in pounds -> kilograms), the note dropped."""
    if isinstance(value, list):
        return [_undo_unit_notes(v) for v in value]
    if not isinstance(value, dict):
        return value
    notes = dict(_NOTE_RE.findall(str(value.get("note", ""))))
    out = {}
    for k, v in value.items():
        if k == "note" and notes:
            continue
        if k in notes and isinstance(v, (int, float)) and not isinstance(v, bool):
            src = UNIT_WORDS.get(notes[k].lower())
            dst = UNIT_WORDS.get(k.rsplit("_", 1)[-1].lower())
            if src == "f" and dst == "c":
                v = round((v - 32) * 5 / 9, 2)
            elif src and dst and src != dst:
                v = _convert_unit(v, src, dst, False)
                v = round(v, 2) if isinstance(v, float) else v
        out[k] = _undo_unit_notes(v)
    return out


def _rewrite_rule(old: str, new: str) -> tuple[str, str] | None:
    """From one example of a changed value form, a rule for every value of the old form:
    the letters and digits of ``old`` move to where they stand in ``new``."""
    parts = re.findall(r"[A-Za-z]+|\d+", old)
    if not parts or sorted(parts) != sorted(re.findall(r"[A-Za-z]+|\d+", new)):
        return None
    regex = re.sub(r"[A-Za-z]+|\d+", lambda m: "([A-Za-z]+)" if m.group()[0].isalpha()
                   else r"(\d+)", re.escape(old).replace("\\-", "-"))
    template, pos = new, 0
    out = []
    for m in re.finditer(r"[A-Za-z]+|\d+", new):
        out.append(new[pos:m.start()].replace("{", "{{").replace("}", "}}"))
        out.append(f"{{{parts.index(m.group())}}}")
        pos = m.end()
    out.append(new[pos:].replace("{", "{{").replace("}", "}}"))
    template = "".join(out)
    return (regex, template)


def _undo(value: Any) -> Any:
    """A result as the old docs describe it: order, unit notes and time zone undone."""
    return _undo_time_zone(_undo_unit_notes(_undo_order(value)))


def _token(value: Any, param: str) -> str | None:
    """The token a session opener returned: under the parameter's name, else under a key
    that says token, else a bare string."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return None
    if isinstance(value.get(param), str):
        return value[param]
    return next((v for k, v in value.items() if isinstance(v, str) and "token" in str(k).lower()),
                None)


def _zone_shift(value: Any) -> int:
    """Minutes a response says its times moved (``time_zone`` against ``time_zone_was``,
    in the result or its first record); 0 when it states no zone."""
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, dict) or "time_zone" not in value:
        return 0
    try:
        return zone_minutes(str(value["time_zone"])) - zone_minutes(
            str(value.get("time_zone_was", BASE_ZONE)))
    except ValueError:
        return 0


def _undo_time_zone(value: Any) -> Any:
    """Times of a result that states a zone moved back into the zone the old docs meant,
    the statement dropped."""
    if isinstance(value, list):
        return [_undo_time_zone(v) for v in value]
    shift = _zone_shift(value)
    if not shift or not isinstance(value, dict):
        return value

    def back(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: back(x) for k, x in v.items()}
        if isinstance(v, list):
            return [back(x) for x in v]
        return shift_time(v, -shift)

    return {k: back(v) for k, v in value.items() if k not in ("time_zone", "time_zone_was")}


def _undo_order(value: Any) -> Any:
    """A result marked ``"order": "reversed"`` back in the order the old docs describe."""
    if not isinstance(value, dict) or value.get("order") != "reversed":
        return value
    key = _page_list_key(value)
    if key is None:
        return value
    out = {k: v for k, v in value.items() if k != "order"}
    out[key] = list(value[key])[::-1]
    return out[key] if set(out) == {"items"} else out
