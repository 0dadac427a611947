"""Tool drift: seeded, composable, JSON-serialisable mutations of a domain's tool surface.

The backend of a domain never changes. A mutation changes what the agent sees and calls:
the names, parameters, value formats, responses and documentation of the tools, with
adapters that map the new surface back onto the unchanged backend (``to_backend``) and
canonical calls forward onto the new surface (``to_surface``, which the golden-plan teacher
uses, see :func:`tool_gym.oracle.translate_step`).

A mutation is a JSON object with a ``kind`` and optional targets and choices::

    {"kind": "rename_tool", "tool": "get_forecast", "style": "opaque"}
    {"kind": "rename_params", "tools": "all", "style": "synonym"}
    {"kind": "change_format"}                       # the rng picks a (tool, param, format)

Targets are *backend* (canonical) tool names, so mutations compose: a rename after a
rename still targets the same backend tool. A target or choice left out is drawn from the
rng (the env passes ``self.np_random``, so a seed fixes the mutations). Each applied
mutation is recorded *resolved*, every choice explicit, in ``Surface.applied`` (and
``info["mutations"]``); applying that list again, with any rng, rebuilds the same surface,
so mutations round-trip through JSON.

Kinds (see :data:`KINDS`; ``adversarial`` ones are left out of ``drift_level`` sampling
unless the level is ``"adversarial"``):

=====================  ==================================================================
``rename_tool``        synonym (``get_forecast`` -> ``fetch_outlook``) or opaque (``tool_3``)
``name_noise``         RoTBench noise on tool (and optionally parameter) names: ``typo``,
                       ``reversed``, ``misleading``
``rename_params``      synonym, opaque (ToolSandbox ``arg_0``) or case (``StartTime``)
``reorder_params``     new parameter order (harmless for keyword calls on its own; it
                       defeats position-based guessing when composed with opaque names)
``add_required_param`` a new required parameter with one accepted value (``api_version``)
``change_format``      date format, 12-hour time, enum case, units, currency case, cents
``wrap_response``      the result wrapped in an envelope (``{"data": ...}``)
``rename_fields``      response keys re-cased (``high_c`` -> ``HighC``)
``deprecate_tool``     the old name answers "deprecated; use X" and X runs the backend
``drift_docs``         catalogue text truncated, removed or misleading (backend unchanged)
``distractor_tools``   near-name tools that only answer errors
``terse_errors``       errors lose their hints (adversarial: see below)
``scramble``           ToolSandbox scramble: ``<domain>_<i>`` tool names, ``arg_<i>``
                       parameters, types removed from the docs
=====================  ==================================================================

``terse_errors`` is marked adversarial: on its own it changes no call, but composed with a
rename under stale docs it removes the only signal there is (an unknown tool no longer
lists the available names, a schema error no longer names the parameters), so no agent can
recover except by blind guessing.

Guarantees every kind keeps (tests check them): a canonical tool name is never given to
another backend tool, and a tool's old parameter name never names a different parameter,
so a call written from old docs either runs the right backend with the right meaning or is
refused before the backend runs. Error observations say what is expected (the parameters
of the tool, the required value, the date format) unless ``terse_errors`` is active.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from tool_gym.domain import Domain
from tool_gym.errors import ToolError
from tool_gym.spec import ToolSpec
from tool_gym.surface import Surface, SurfaceTool, unchanged
from tool_gym.units import CONVERSIONS, UNIT_WORDS, UNITS

log = logging.getLogger(__name__)

Mutation = dict[str, Any]
# "mixed" draws like "heavy" from every non-adversarial kind, behaviour kinds included; the
# older levels never draw behaviour kinds, so what they draw for a seed is unchanged.
DRIFT_LEVELS = ("light", "heavy", "adversarial", "mixed")
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIME_PATTERN = r"^\d{2}:\d{2}$"

# --------------------------------------------------------------------------------------
# Vocabulary for generated names: generic English verbs and the words several domains
# share. A domain's own words live in its module (``Domain.synonyms``) and win over these;
# adding a domain never edits this table, so no domain changes another's renames.

SYNONYMS: dict[str, list[str]] = {
    # verbs
    "get": ["fetch", "retrieve", "read"], "list": ["enumerate", "browse", "show"],
    "search": ["find", "query", "lookup"], "find": ["locate", "discover", "seek"],
    "set": ["configure", "register", "define"], "create": ["add", "make", "open"],
    "cancel": ["remove", "drop", "revoke"], "delete": ["remove", "erase", "purge"],
    "send": ["post", "dispatch", "deliver"], "update": ["modify", "edit", "patch"],
    "mark": ["flag", "tag"], "rate": ["score", "review"], "run": ["execute", "perform"],
    "execute": ["apply", "perform"], "describe": ["inspect", "explain"], "book": ["reserve"],
    "convert": ["transform", "translate"], "read": ["load", "view"], "write": ["save", "store"],
    "add": ["insert", "append"], "remove": ["drop", "erase"], "check": ["verify", "inspect"],
    "calculate": ["compute"], "compute": ["calculate"], "transfer": ["move", "wire"],
    "move": ["relocate", "shift"], "pay": ["settle"], "buy": ["purchase"], "order": ["purchase"],
    "track": ["follow"], "show": ["display"], "lookup": ["resolve"], "subscribe": ["enroll"],
    "rename": ["relabel"],
    # nouns and parameter words of several domains
    "city": ["location", "town", "place"], "cities": ["locations", "towns", "places"],
    "title": ["heading", "subject"], "category": ["genre", "group"], "balance": ["funds"],
    "date": ["day", "when"], "start": ["begin", "from"], "end": ["finish", "until"],
    "query": ["terms", "phrase"], "name": ["label", "who"], "units": ["system", "measure"],
    "text": ["body", "content"], "limit": ["cap", "most"], "id": ["key", "ref"],
    "duration": ["length", "span"], "minutes": ["mins"], "location": ["venue", "place"],
    "value": ["content", "setting"], "type": ["kind", "sort"], "amount": ["sum", "total"],
    "currency": ["money"], "day": ["date", "daily"], "status": ["state"], "user": ["member"],
    "top": ["popular", "best"], "ticket": ["case", "issue"], "record": ["log"],
    # words drift's own made-up names hold (``x_info``, ``x_internal``)
    "details": ["info"], "info": ["details"], "internal": ["private", "hidden"],
}

MISLEADING_VERBS: dict[str, str] = {
    "get": "delete", "fetch": "erase", "list": "clear", "search": "purge", "find": "drop",
    "set": "unset", "create": "destroy", "cancel": "restore", "delete": "restore",
    "send": "receive", "mark": "unmark", "rate": "unrate", "run": "abort", "execute": "revert",
    "describe": "hide", "update": "freeze", "read": "write", "write": "read", "add": "remove",
    "remove": "add", "book": "unbook", "convert": "keep", "check": "ignore",
}

ADDED_PARAMS: list[tuple[str, str, str]] = [
    ("api_version", "v2", "API version of the request; must be \"v2\""),
    ("response_format", "json", "Format of the response; must be \"json\""),
    ("locale", "en-US", "Locale of the request; must be \"en-US\""),
    ("client_id", "toolmaster", "Client making the request; must be \"toolmaster\""),
]

DISTRACTOR_ERRORS = [
    "'{name}' is not available: it is a retired endpoint that returns no data",
    "'{name}' is an internal endpoint and is not available to this client",
    "'{name}' is not available in this region; it returns no data",
]

_DATE_FORMATS: dict[str, tuple[str, str, str]] = {  # name -> (regex, template, example)
    "DD/MM/YYYY": (r"^\d{2}/\d{2}/\d{4}$", "{d}/{m}/{y}", "25/12/2026"),
    "MM/DD/YYYY": (r"^\d{2}/\d{2}/\d{4}$", "{m}/{d}/{y}", "12/25/2026"),
    "DD.MM.YYYY": (r"^\d{2}\.\d{2}\.\d{4}$", "{d}.{m}.{y}", "25.12.2026"),
    "YYYYMMDD": (r"^\d{8}$", "{y}{m}{d}", "20261225"),
    "YYYY/MM/DD": (r"^\d{4}/\d{2}/\d{2}$", "{y}/{m}/{d}", "2026/12/25"),
}
_TIME_FORMATS: dict[str, tuple[str, str]] = {  # name -> (regex, description)
    "12h": (r"^(0[1-9]|1[0-2]):[0-5]\d (AM|PM)$", "12-hour time as hh:mm AM/PM, e.g. 02:30 PM"),
    "HHMM": (r"^([01]\d|2[0-3])[0-5]\d$", "24-hour time as HHMM without a colon, e.g. 1430"),
}


# --------------------------------------------------------------------------------------
# Specs built here come from schemas that already passed check_schema; skipping the
# meta-schema check (about 1.3 ms a spec) keeps a drifted reset cheap. Tests check_schema
# every spec a mutation produces.


@dataclass
class DriftSpec(ToolSpec):
    """A ToolSpec produced by drift from a checked one: its schema is trusted."""

    def __post_init__(self) -> None:  # the schema derives from a checked one
        pass


def derive(spec: ToolSpec, **changes: Any) -> DriftSpec:
    """A DriftSpec copy of ``spec`` with some fields changed (schemas deep-copied)."""
    values = {"name": spec.name, "description": spec.description,
              "parameters": copy.deepcopy(spec.parameters),
              "returns": copy.deepcopy(spec.returns), "side_effects": spec.side_effects,
              "fn": None}
    values.update(changes)
    return DriftSpec(**values)


# --------------------------------------------------------------------------------------
# Adapters: small picklable callables composed once per reset.


class Chain:
    """Apply callables in order (flattened, identity steps dropped)."""

    __slots__ = ("fns",)

    def __init__(self, *fns: Callable[[Any], Any]) -> None:
        flat: list[Callable[[Any], Any]] = []
        for f in fns:
            if isinstance(f, Chain):
                flat.extend(f.fns)
            elif f is not unchanged:
                flat.append(f)
        self.fns = tuple(flat)

    def __call__(self, value: Any) -> Any:
        for f in self.fns:
            value = f(value)
        return value


def chain(*fns: Callable[[Any], Any]) -> Callable[[Any], Any]:
    c = Chain(*fns)
    if not c.fns:
        return unchanged
    return c.fns[0] if len(c.fns) == 1 else c


class RenameKeys:
    __slots__ = ("mapping",)

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = dict(mapping)

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        m = self.mapping
        return {m.get(k, k): v for k, v in args.items()}


class DropKey:
    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        args = dict(args)
        args.pop(self.key, None)
        return args


class AddKey:
    __slots__ = ("key", "value")

    def __init__(self, key: str, value: Any) -> None:
        self.key, self.value = key, value

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        return {**args, self.key: self.value}


class ConvertKey:
    """Rename ``src`` to ``dst`` and convert its value with ``fn`` (unchanged if absent)."""

    __slots__ = ("src", "dst", "fn")

    def __init__(self, src: str, dst: str, fn: Callable[[Any], Any]) -> None:
        self.src, self.dst, self.fn = src, dst, fn

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.src not in args:
            return args
        out = {}
        for k, v in args.items():
            if k == self.src:
                out[self.dst] = self.fn(v)
            else:
                out[k] = v
        return out


class DateFormat:
    """Convert between ``YYYY-MM-DD`` and another date layout (string surgery, no calendar)."""

    __slots__ = ("fmt", "to_canonical")

    def __init__(self, fmt: str, to_canonical: bool) -> None:
        self.fmt, self.to_canonical = fmt, to_canonical

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        regex, template, _ = _DATE_FORMATS[self.fmt]
        if self.to_canonical:
            if not re.match(regex, value):
                return value
            order = re.findall(r"YYYY|MM|DD", self.fmt)
            parts = re.findall(r"\d{4}|\d{2}", value) if self.fmt != "YYYYMMDD" else [
                value[:4], value[4:6], value[6:]]
            got = dict(zip(order, parts, strict=False))
            return f"{got.get('YYYY')}-{got.get('MM')}-{got.get('DD')}"
        m = re.match(r"^(\d{4})-(\d{2})-(\d{2})$", value)
        return template.format(y=m[1], m=m[2], d=m[3]) if m else value


class TimeFormat:
    __slots__ = ("fmt", "to_canonical")

    def __init__(self, fmt: str, to_canonical: bool) -> None:
        self.fmt, self.to_canonical = fmt, to_canonical

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if self.to_canonical:
            if self.fmt == "12h":
                m = re.match(r"^(\d{2}):(\d{2}) (AM|PM)$", value)
                if not m:
                    return value
                h = int(m[1]) % 12 + (12 if m[3] == "PM" else 0)
                return f"{h:02d}:{m[2]}"
            return f"{value[:2]}:{value[2:]}" if re.match(r"^\d{4}$", value) else value
        m = re.match(r"^(\d{2}):(\d{2})$", value)
        if not m:
            return value
        if self.fmt == "12h":
            h = int(m[1])
            return f"{(h % 12) or 12:02d}:{m[2]} {'PM' if h >= 12 else 'AM'}"
        return f"{m[1]}{m[2]}"


class MapValue:
    __slots__ = ("mapping",)

    def __init__(self, mapping: dict[Any, Any]) -> None:
        self.mapping = dict(mapping)

    def __call__(self, value: Any) -> Any:
        try:
            return self.mapping.get(value, value)
        except TypeError:  # unhashable
            return value


class CaseValue:
    __slots__ = ("upper",)

    def __init__(self, upper: bool) -> None:
        self.upper = upper

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return value.upper() if self.upper else value.lower()


class Scale:
    """``value * factor + offset``; ``integer`` rounds to int, else to 6 decimals."""

    __slots__ = ("factor", "offset", "integer")

    def __init__(self, factor: float, offset: float = 0.0, integer: bool = False) -> None:
        self.factor, self.offset, self.integer = factor, offset, integer

    def __call__(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        out = value * self.factor + self.offset
        # int(round(inf)) raises OverflowError; past 2**53 a float is no longer exact.
        if not math.isfinite(out) or abs(out) >= 2**53:
            raise ToolError(f"value {value!r} is out of range after converting its unit")
        if self.integer:
            return int(round(out))
        out = round(out, 6)
        return int(out) if out == int(out) and abs(out) < 2**53 else out


class Wrap:
    __slots__ = ("style",)

    def __init__(self, style: str) -> None:
        self.style = style

    def __call__(self, result: Any) -> Any:
        if self.style == "data":
            return {"data": result}
        if self.style == "envelope":
            return {"status": "ok", "result": result}
        return {"response": {"body": result}}


WRAP_STYLES = ("data", "envelope", "nested")
FIELD_STYLES = ("pascal", "camel", "upper")


def recase(key: str, style: str) -> str:
    parts = [p for p in re.split(r"[_\s]+", key) if p]
    if not parts or not key.isascii():
        return key
    if style == "pascal":
        return "".join(p[:1].upper() + p[1:] for p in parts)
    if style == "camel":
        return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    return "_".join(p.upper() for p in parts)


class RecaseFields:
    __slots__ = ("style",)

    def __init__(self, style: str) -> None:
        self.style = style

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            for k, v in value.items():
                nk = recase(k, self.style) if isinstance(k, str) else k
                out[k if nk in out else nk] = self(v)
            return out
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


# --------------------------------------------------------------------------------------
# The surface under construction.


class SurfaceBuild:
    """One surface being drawn: the domain, the surface edited so far, the rng, the focus
    tools, and where each current parameter name came from (mutation kinds edit it)."""

    def __init__(self, domain: Domain, surface: Surface, rng: np.random.Generator,
                 focus: Sequence[str] = ()) -> None:
        self.domain = domain
        self.surface = surface
        self.rng = rng
        self.focus = set(focus)
        self.canonical = {t.name for t in domain.tools}
        # (backend tool, current param name) -> canonical param name
        self.origin: dict[tuple[str, str], str] = {
            (t.name, p): p for t in domain.tools for p in t.param_names}
        self.formatted: set[tuple[str, str]] = set()
        self.old_params: dict[str, set[str]] = {t.name: set(t.param_names) for t in domain.tools}

    # lookups
    def current(self, backend: str) -> tuple[str, SurfaceTool]:
        name = self.surface.surface_name(backend)
        if name is None:
            raise ValueError(f"backend tool '{backend}' has no current name")
        return name, self.surface.tools[name]

    def live(self) -> list[str]:
        """Backend tools that have a current callable name, in catalogue order."""
        out = []
        for t in self.surface.tools.values():
            if t.target and t.deprecated_for is None and t.error is None and t.target not in out:
                out.append(t.target)
        return out

    def taken(self) -> set[str]:
        return set(self.surface.tools) | self.canonical

    def choice(self, options: Sequence[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    # edits
    def put(self, old_name: str, new_name: str, tool: SurfaceTool) -> None:
        tools: dict[str, SurfaceTool] = {}
        for name, t in self.surface.tools.items():
            if name == old_name:
                tools[new_name] = tool
            else:
                if t.deprecated_for == old_name and new_name != old_name:
                    t = replace(t, deprecated_for=new_name)
                tools[name] = t
        self.surface.tools = tools

    def insert_after(self, anchor: str, name: str, tool: SurfaceTool) -> None:
        tools: dict[str, SurfaceTool] = {}
        for n, t in self.surface.tools.items():
            tools[n] = t
            if n == anchor:
                tools[name] = tool
        self.surface.tools = tools

    def rename_tool(self, backend: str, new: str) -> None:
        if new in self.taken():
            raise ValueError(f"tool name '{new}' is taken")
        name, st = self.current(backend)
        doc = None if st.doc is None else derive(st.doc, name=new)
        self.put(name, new, replace(st, spec=derive(st.spec, name=new), doc=doc))

    def map_params(self, backend: str, edit: Callable[[dict[str, Any]], dict[str, Any]],
                   fwd: Callable[[Any], Any], inv: Callable[[Any], Any],
                   doc_edit: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        """Change the parameters of a tool: ``fwd`` maps new arguments to the old ones."""
        name, st = self.current(backend)
        spec = derive(st.spec, parameters=edit(copy.deepcopy(st.spec.parameters)))
        doc = None
        if st.doc is not None:
            doc = derive(st.doc, parameters=(doc_edit or edit)(copy.deepcopy(st.doc.parameters)))
        self.put(name, name, replace(st, spec=spec, doc=doc, to_backend=chain(fwd, st.to_backend),
                                     to_surface=chain(st.to_surface, inv)))

    def rename_params(self, backend: str, mapping: dict[str, str]) -> None:
        if not mapping:
            return
        _, st = self.current(backend)
        props = st.spec.parameters.get("properties", {})
        for old in mapping:
            if old not in props:
                raise ValueError(f"{backend}: no parameter '{old}' (has {', '.join(props)})")
        final = [mapping.get(p, p) for p in props]
        if len(set(final)) != len(final):
            raise ValueError(f"{backend}: renaming {mapping} makes duplicate parameters")
        for old, new in mapping.items():
            if new != old and (new in self.old_params[backend] or new in props):
                raise ValueError(f"{backend}: parameter name '{new}' is taken")
        inverse = {v: k for k, v in mapping.items()}
        self.map_params(backend, lambda p: _rename_props(p, mapping), RenameKeys(inverse),
                        RenameKeys(mapping))
        for old, new in mapping.items():
            self.origin[(backend, new)] = self.origin.pop((backend, old), old)
            if (backend, old) in self.formatted:
                self.formatted.discard((backend, old))
                self.formatted.add((backend, new))

    def params_of(self, backend: str) -> list[str]:
        return self.current(backend)[1].spec.param_names

    def targets(self, spec: Mutation, eligible: list[str]) -> list[str]:
        """Backend tools a mutation acts on: explicit ``tool``/``tools``, else drawn."""
        known = {t.name for t in self.domain.tools}
        if "tool" in spec or "tools" in spec:
            raw = spec.get("tools", spec.get("tool"))
            if raw == "all":
                return list(eligible)
            wanted = [raw] if isinstance(raw, str) else list(raw)
            for w in wanted:
                if w not in known:
                    raise ValueError(f"{self.domain.name}: no tool '{w}'; tools: "
                                     f"{', '.join(sorted(known))}")
            return [w for w in wanted if w in eligible]
        if not eligible:
            return []
        focused = [e for e in eligible if e in self.focus]
        eligible = focused or eligible
        count = min(int(spec.get("count", 1)), len(eligible))
        picks = self.rng.choice(len(eligible), size=count, replace=False)
        return [eligible[i] for i in sorted(int(i) for i in picks)]


def _rename_props(params: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    props = params.get("properties", {})
    params["properties"] = {mapping.get(k, k): v for k, v in props.items()}
    params["required"] = [mapping.get(r, r) for r in params.get("required", [])]
    return params


def free_name(candidates: Iterable[str], taken: set[str]) -> str | None:
    """The first candidate that is a valid name and not taken; None when none is."""
    for c in candidates:
        if c and c not in taken and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", c):
            return c
    return None


def _shuffled(b: SurfaceBuild, items: list[str]) -> list[str]:
    order = b.rng.permutation(len(items))
    return [items[int(i)] for i in order]


def _synonyms(b: SurfaceBuild, word: str) -> list[str]:
    """Synonyms of one word: the domain's own vocabulary, the generic one, then the words of
    the built-in domains (a typo or an earlier rename can land on another domain's word, as
    ``from`` -> ``form``; this keeps every rename the built-in domains had when their words
    still lived in ``SYNONYMS``). A registered domain's words reach no other domain."""
    own = b.domain.synonyms.get(word)
    if own is not None:
        return own
    found = SYNONYMS.get(word)
    return found if found is not None else _built_in_vocabulary().get(word, [])


@lru_cache(maxsize=1)
def _built_in_vocabulary() -> dict[str, list[str]]:
    from tool_gym.registration import built_in_domains

    words: dict[str, list[str]] = {}
    for domain in built_in_domains().values():
        for word, synonyms in domain.synonyms.items():
            words.setdefault(word, synonyms)
    return words


def _synonym_name(b: SurfaceBuild, name: str, taken: set[str]) -> str:
    toks = name.split("_")
    options = []
    for i, t in enumerate(toks):
        for syn in _synonyms(b, t.lower()):
            options.append("_".join(toks[:i] + [syn] + toks[i + 1:]))
    if len(toks) > 1:  # two synonyms at once reads as a genuinely different API
        for a in _synonyms(b, toks[0].lower()):
            for c in _synonyms(b, toks[-1].lower()):
                options.append("_".join([a, *toks[1:-1], c]))
    options = _shuffled(b, options)
    fallback = [f"{name}_v2", f"{name}_new", f"new_{name}", f"{name}_2"]
    got = free_name([*options, *fallback], taken)
    assert got is not None
    return got


def _opaque_name(b: SurfaceBuild, prefix: str, taken: set[str]) -> str:
    n = len(b.surface.tools) + 10
    for i in _shuffled(b, [str(k) for k in range(n)]):
        if f"{prefix}_{i}" not in taken:
            return f"{prefix}_{i}"
    return free_name((f"{prefix}_{k}" for k in range(n, 10 * n)), taken) or f"{prefix}_x"


def _typo(b: SurfaceBuild, name: str, taken: set[str]) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(20):
        s = list(name)
        idx = [i for i, ch in enumerate(s) if ch.isalpha() and i > 0]
        if not idx:
            break
        i = b.choice(idx)
        op = int(b.rng.integers(4))
        if op == 0 and i + 1 < len(s) and s[i + 1].isalpha() and s[i + 1] != s[i]:
            s[i], s[i + 1] = s[i + 1], s[i]
        elif op == 1:
            del s[i]
        elif op == 2:
            s.insert(i, s[i])
        else:
            s[i] = b.choice([c for c in letters if c != s[i].lower()])
        cand = "".join(s)
        if cand != name and cand not in taken and re.fullmatch(r"[A-Za-z_][\w\-]*", cand):
            return cand
    return free_name([name + "x", name + "_"], taken) or name + "_x"


def _reversed(name: str, taken: set[str]) -> str:
    return free_name([name[::-1], name[::-1] + "_", "_" + name[::-1] + "_r"], taken) or name + "_r"


def _misleading(b: SurfaceBuild, backend: str, name: str, taken: set[str]) -> str:
    toks = name.split("_")
    options = []
    verb = MISLEADING_VERBS.get(toks[0].lower())
    if verb and len(toks) > 1:
        options.append("_".join([verb, *toks[1:]]))
    others = [t for t in b.domain.tools if t.name != backend]
    for other in _shuffled(b, [t.name for t in others]):
        options.append(f"{other}_{b.choice(['v2', 'info', 'ex', 'plus'])}")
    return free_name(options, taken) or _opaque_name(b, "fn", taken)


def _param_name(b: SurfaceBuild, backend: str, pname: str, style: str, position: int,
                taken: set[str]) -> str:
    if style == "opaque":
        return free_name([f"arg_{position}", f"arg_{position}_", f"param_{position}"], taken) or \
            f"arg_{position}_x"
    if style == "case":
        parts = [p for p in pname.split("_") if p]
        cand = "".join(p[:1].upper() + p[1:] for p in parts)
        return free_name([cand, cand + "Value", "P" + cand], taken) or cand + "_"
    if style == "typo":
        return _typo(b, pname, taken)
    if style == "reversed":
        return _reversed(pname, taken)
    toks = pname.split("_")
    options = []
    for i, t in enumerate(toks):
        for syn in _synonyms(b, t.lower()):
            options.append("_".join(toks[:i] + [syn] + toks[i + 1:]))
    options = _shuffled(b, options) + [f"{pname}_value", f"{pname}_input", f"req_{pname}"]
    return free_name(options, taken) or f"{pname}_{position}"


def taken_params(b: SurfaceBuild, backend: str) -> set[str]:
    """Every name a backend tool's parameters have or had: a new name avoids them all."""
    return set(b.old_params[backend]) | set(b.params_of(backend))


# --------------------------------------------------------------------------------------
# Kinds. Each ``apply(b, spec)`` resolves the spec's open choices with ``b.rng``, edits the
# surface and returns the resolved spec (or None when nothing applies).


def _names_for(b: SurfaceBuild, spec: Mutation, make: Callable[[str, str, set[str]], str]
               ) -> dict[str, str]:
    if isinstance(spec.get("names"), dict):
        names = {str(k): str(v) for k, v in spec["names"].items()}
        for backend, new in names.items():
            b.rename_tool(backend, new)
        return names
    names = {}
    for backend in b.targets(spec, b.live()):
        current, _ = b.current(backend)
        new = make(backend, current, b.taken())
        b.rename_tool(backend, new)
        names[backend] = new
    return names


def _apply_rename_tool(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    style = spec.get("style") or b.choice(["synonym", "opaque"])
    if style not in ("synonym", "opaque"):
        raise ValueError(f"rename_tool style must be synonym or opaque, got {style!r}")
    if style == "synonym":
        names = _names_for(b, spec, lambda bk, cur, taken: _synonym_name(b, cur, taken))
    else:
        names = _names_for(b, spec, lambda bk, cur, taken: _opaque_name(b, "tool", taken))
    return {"kind": "rename_tool", "style": style, "names": names} if names else None


def _apply_name_noise(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    level = spec.get("level") or b.choice(["typo", "reversed", "misleading"])
    if level not in ("typo", "reversed", "misleading"):
        raise ValueError(f"name_noise level must be typo, reversed or misleading, got {level!r}")
    with_params = bool(spec.get("params", False)) and level != "misleading"
    makers = {
        "typo": lambda bk, cur, taken: _typo(b, cur, taken),
        "reversed": lambda bk, cur, taken: _reversed(cur, taken),
        "misleading": lambda bk, cur, taken: _misleading(b, bk, cur, taken),
    }
    names = _names_for(b, spec, makers[level])
    params: dict[str, dict[str, str]] = {}
    if isinstance(spec.get("param_names"), dict):
        params = {k: dict(v) for k, v in spec["param_names"].items()}
        for backend, mapping in params.items():
            b.rename_params(backend, mapping)
    elif with_params:
        for backend in names:
            mapping: dict[str, str] = {}
            taken = taken_params(b, backend)
            for i, p in enumerate(b.params_of(backend)):
                mapping[p] = _param_name(b, backend, p, level, i, taken)
                taken.add(mapping[p])
            b.rename_params(backend, mapping)
            params[backend] = mapping
    if not names:
        return None
    out: Mutation = {"kind": "name_noise", "level": level, "names": names}
    if params:
        out["param_names"] = params
    return out


def _apply_rename_params(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    style = spec.get("style") or b.choice(["synonym", "opaque", "case"])
    if style not in ("synonym", "opaque", "case"):
        raise ValueError(f"rename_params style must be synonym, opaque or case, got {style!r}")
    if isinstance(spec.get("params"), dict):
        params = {k: dict(v) for k, v in spec["params"].items()}
        for backend, mapping in params.items():
            b.rename_params(backend, mapping)
        return {"kind": "rename_params", "style": style, "params": params}
    only = spec.get("params") if isinstance(spec.get("params"), list) else None
    eligible = [t for t in b.live() if b.params_of(t)]
    params = {}
    for backend in b.targets(spec, eligible):
        current = b.params_of(backend)
        chosen = [p for p in current if only is None or p in only
                  or b.origin.get((backend, p)) in only]
        taken = taken_params(b, backend)
        mapping = {}
        for p in chosen:
            mapping[p] = _param_name(b, backend, p, style, current.index(p), taken)
            taken.add(mapping[p])
        if mapping:
            b.rename_params(backend, mapping)
            params[backend] = mapping
    return {"kind": "rename_params", "style": style, "params": params} if params else None


def _apply_reorder_params(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("orders"), dict):
        orders = {k: list(v) for k, v in spec["orders"].items()}
    else:
        eligible = [t for t in b.live() if len(b.params_of(t)) >= 2]
        orders = {}
        for backend in b.targets(spec, eligible):
            current = b.params_of(backend)
            order = current
            for _ in range(10):
                order = _shuffled(b, current)
                if order != current:
                    break
            if order == current:
                order = current[::-1]
            orders[backend] = order
    for backend, order in orders.items():
        current = b.params_of(backend)
        if sorted(order) != sorted(current):
            raise ValueError(f"{backend}: order {order} is not a permutation of {current}")

        def edit(params: dict[str, Any], order: list[str] = order) -> dict[str, Any]:
            props = params.get("properties", {})
            params["properties"] = {k: props[k] for k in order if k in props}
            req = set(params.get("required", []))
            params["required"] = [k for k in order if k in req]
            return params

        b.map_params(backend, edit, unchanged, unchanged)
    return {"kind": "reorder_params", "orders": orders} if orders else None


def _apply_add_required_param(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("added"), dict):
        added = {k: dict(v) for k, v in spec["added"].items()}
    else:
        added = {}
        for backend in b.targets(spec, b.live()):
            taken = taken_params(b, backend)
            options = [a for a in ADDED_PARAMS if a[0] not in taken]
            if not options:
                continue
            name, value, desc = b.choice(options)
            added[backend] = {"name": name, "value": value, "description": desc}
    for backend, a in added.items():
        name, value = a["name"], a["value"]
        if name in taken_params(b, backend):
            raise ValueError(f"{backend}: parameter name '{name}' is taken")
        schema = {"type": "string", "enum": [value], "description": a.get("description", "")}

        def edit(params: dict[str, Any], name: str = name, schema: dict = schema) -> dict:
            params.setdefault("properties", {})[name] = dict(schema)
            params["required"] = [*params.get("required", []), name]
            return params

        b.map_params(backend, edit, DropKey(name), AddKey(name, value))
        b.old_params[backend].add(name)
    return {"kind": "add_required_param", "added": added} if added else None


def _unit_of(hint: str) -> str | None:
    if not hint.startswith("unit:"):
        return None
    u = hint.split(":", 1)[1].strip().lower()
    u = UNIT_WORDS.get(u, u)
    return u if u in UNITS else None


def _format_options(b: SurfaceBuild, backend: str, pname: str, schema: dict[str, Any]) -> list[str]:
    canon = b.origin.get((backend, pname), pname)
    hint = b.domain.hints.get(f"{backend}.{canon}", "")
    t = schema.get("type")
    out: list[str] = []
    if hint == "date" or schema.get("pattern") == DATE_PATTERN:
        if t in (None, "string"):
            out += [f"date:{f}" for f in _DATE_FORMATS]
    elif hint == "time" or schema.get("pattern") == TIME_PATTERN:
        if t in (None, "string"):
            out += [f"time:{f}" for f in _TIME_FORMATS]
    elif "enum" in schema and schema["enum"] and all(isinstance(v, str) for v in schema["enum"]):
        vals = schema["enum"]
        for style, fn in (("upper", str.upper), ("lower", str.lower), ("title", str.title)):
            new = [fn(v) for v in vals]
            if len(set(new)) == len(new) and all(a != n for a, n in zip(vals, new, strict=True)):
                out.append(f"enum:{style}")
    elif hint == "currency" and t in (None, "string"):
        out.append("currency:lower")
    elif hint == "amount" and t in ("number", "integer"):
        out.append("amount:cents")
    unit = _unit_of(hint)
    if unit and t in ("number", "integer"):
        out += [f"unit:{unit}->{u}" for u in CONVERSIONS.get(unit, [])]
    return out


def _unit_name(pname: str, old_unit: str, new_unit: str, taken: set[str]) -> str:
    toks = pname.split("_")
    new_word = UNITS[new_unit][2]
    swapped = [new_word if UNIT_WORDS.get(t.lower(), t.lower()) == old_unit else t
               for t in toks]
    options = ["_".join(swapped)] if swapped != toks else []
    options += [f"{pname}_{new_word}", f"{pname}_in_{new_word}"]
    return free_name(options, taken) or f"{pname}_{new_unit}"


def _change_format(b: SurfaceBuild, backend: str, pname: str, fmt: str, new_name: str | None
                   ) -> str:
    _, st = b.current(backend)
    schema = dict(st.spec.parameters["properties"][pname])
    family, _, detail = fmt.partition(":")
    name = pname
    label = " ".join(pname.split("_"))
    if family == "date":
        regex, _, example = _DATE_FORMATS[detail]
        new = {"type": "string", "pattern": regex,
               "description": f"date as {detail}, e.g. {example}"}
        fwd, inv = DateFormat(detail, True), DateFormat(detail, False)
    elif family == "time":
        regex, desc = _TIME_FORMATS[detail]
        new = {"type": "string", "pattern": regex, "description": desc}
        fwd, inv = TimeFormat(detail, True), TimeFormat(detail, False)
    elif family == "enum":
        fn = {"upper": str.upper, "lower": str.lower, "title": str.title}[detail]
        vals = schema["enum"]
        forward = {v: fn(v) for v in vals}
        new = {k: v for k, v in schema.items() if k not in ("enum", "default")}
        new["enum"] = [forward[v] for v in vals]
        new["description"] = f"one of {', '.join(new['enum'])} ({detail} case)"
        if "default" in schema:
            new["default"] = forward.get(schema["default"], schema["default"])
        fwd, inv = MapValue({v: k for k, v in forward.items()}), MapValue(forward)
    elif family == "currency":
        new = {"type": "string", "pattern": r"^[a-z]{3}$",
               "description": "currency as a lower-case ISO 4217 code, e.g. eur"}
        fwd, inv = CaseValue(True), CaseValue(False)
    elif family == "amount":
        integer = schema.get("type") == "integer"
        name = new_name or free_name([f"{pname}_cents", f"{pname}_in_cents"],
                                   taken_params(b, backend)) or f"{pname}_c"
        new = {"type": "integer", "description": f"{label} in cents (1/100 of the unit)"}
        fwd, inv = Scale(0.01, integer=integer), Scale(100.0, integer=True)
    elif family == "unit":
        old_u, new_u = detail.split("->")
        dim_o, f_o, _ = UNITS[old_u]
        dim_n, f_n, word = UNITS[new_u]
        if dim_o != dim_n:
            raise ValueError(f"cannot convert {old_u} to {new_u}")
        integer = schema.get("type") == "integer"
        if dim_o == "temperature":
            to_new = Scale(9 / 5, 32.0) if new_u == "f" else Scale(5 / 9, -160 / 9)
            to_old = Scale(5 / 9, -160 / 9, integer) if new_u == "f" else Scale(9 / 5, 32.0, integer)
        else:
            ratio = f_o / f_n  # new value per old value
            new_int = integer and ratio >= 1 and float(ratio).is_integer()
            to_new = Scale(ratio, integer=new_int)
            to_old = Scale(1 / ratio, integer=integer)
        name = new_name or _unit_name(pname, old_u, new_u, taken_params(b, backend))
        new_int = isinstance(to_new, Scale) and to_new.integer
        new = {"type": "integer" if new_int else "number",
               "description": f"{label} in {word}"}
        fwd, inv = to_old, to_new
    else:
        raise ValueError(f"unknown format '{fmt}'")
    if name != pname and name in taken_params(b, backend):
        raise ValueError(f"{backend}: parameter name '{name}' is taken")

    def edit(params: dict[str, Any], keep_type: bool = True) -> dict[str, Any]:
        props = params.get("properties", {})
        old = props.get(pname, {})
        sub = dict(new)
        if not keep_type and "type" not in old:
            sub.pop("type", None)
        params["properties"] = {(name if k == pname else k): (sub if k == pname else v)
                                for k, v in props.items()}
        params["required"] = [name if r == pname else r for r in params.get("required", [])]
        return params

    b.map_params(backend, edit, ConvertKey(name, pname, fwd), ConvertKey(pname, name, inv),
                 doc_edit=lambda p: edit(p, keep_type=False))
    if name != pname:
        b.origin[(backend, name)] = b.origin.pop((backend, pname), pname)
    b.formatted.add((backend, name))
    return name


def _apply_change_format(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("changes"), list):
        changes = [dict(c) for c in spec["changes"]]
        for c in changes:
            c["name"] = _change_format(b, c["tool"], c["param"], c["format"], c.get("name"))
        return {"kind": "change_format", "changes": changes}
    tools = b.targets(spec, b.live()) if ("tool" in spec or "tools" in spec) else b.live()
    candidates = []
    for backend in tools:
        props = b.current(backend)[1].spec.parameters.get("properties", {})
        for pname, schema in props.items():
            canon = b.origin.get((backend, pname), pname)
            if "param" in spec and spec["param"] not in (pname, canon):
                continue
            if "params" in spec and pname not in spec["params"] and canon not in spec["params"]:
                continue
            if (backend, pname) in b.formatted:
                continue
            opts = _format_options(b, backend, pname, schema)
            if "format" in spec:
                opts = [o for o in opts if o == spec["format"] or o.startswith(spec["format"])]
            if opts:
                candidates.append((backend, pname, opts))
    if not candidates:
        return None
    count = min(int(spec.get("count", 1)), len(candidates))
    if any(k in spec for k in ("tool", "tools", "param", "params")):
        count = len(candidates) if spec.get("count") is None else count
    picks = sorted(int(i) for i in b.rng.choice(len(candidates), size=count, replace=False))
    changes = []
    for i in picks:
        backend, pname, opts = candidates[i]
        fmt = b.choice(opts)
        name = _change_format(b, backend, pname, fmt, None)
        changes.append({"tool": backend, "param": pname, "format": fmt, "name": name})
    return {"kind": "change_format", "changes": changes}


def _map_responses(b: SurfaceBuild, spec: Mutation, kind: str, key: str, styles: tuple[str, ...],
                   transform: Callable[[str], Any]) -> Mutation | None:
    """Shared by the response mutations: a style per target tool, its transform chained
    after the tool's current response mapping. ``spec[key]`` pins the styles by tool."""
    if isinstance(spec.get(key), dict):
        chosen = dict(spec[key])
    else:
        style = spec.get("style")
        chosen = {t: style or b.choice(styles) for t in b.targets(spec, b.live())}
    for backend, style in chosen.items():
        if style not in styles:
            raise ValueError(f"{kind} style must be one of {styles}, got {style!r}")
        name, st = b.current(backend)
        b.put(name, name, replace(st, from_backend=chain(st.from_backend, transform(style))))
    return {"kind": kind, key: chosen} if chosen else None


def _apply_wrap_response(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    return _map_responses(b, spec, "wrap_response", "wraps", WRAP_STYLES, Wrap)


def _apply_rename_fields(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    return _map_responses(b, spec, "rename_fields", "styles", FIELD_STYLES, RecaseFields)


def _apply_deprecate_tool(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("successors"), dict):
        successors = dict(spec["successors"])
        todo = list(successors.items())
    else:
        todo = []
        for backend in b.targets(spec, b.live()):
            current, _ = b.current(backend)
            taken = b.taken()
            style = spec.get("style") or b.choice(["versioned", "synonym"])
            new = (free_name([f"{current}_v2", f"{current}_v3", f"v2_{current}"], taken)
                   if style == "versioned" else None) or _synonym_name(b, current, taken)
            todo.append((backend, new))
    successors = {}
    for backend, new in todo:
        current, st = b.current(backend)
        if new in b.taken():
            raise ValueError(f"tool name '{new}' is taken")
        old_doc = None
        if st.doc is not None:
            old_doc = derive(st.doc, description=f"Deprecated: use {new} instead. "
                             f"{st.doc.description}".strip())
        b.put(current, current, replace(st, doc=old_doc, deprecated_for=new))
        succ = replace(st, spec=derive(st.spec, name=new),
                       doc=None if st.doc is None else derive(st.doc, name=new))
        b.insert_after(current, new, succ)
        successors[backend] = new
    return {"kind": "deprecate_tool", "successors": successors} if successors else None


DOC_STYLES = ("truncated", "removed", "misleading")


def _strip_param_docs(params: dict[str, Any]) -> dict[str, Any]:
    for sub in params.get("properties", {}).values():
        sub.pop("description", None)
    return params


def _apply_drift_docs(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("docs"), dict):
        docs = {k: dict(v) for k, v in spec["docs"].items()}
    else:
        docs = {}
        for backend in b.targets(spec, b.live()):
            style = spec.get("style") or b.choice(DOC_STYLES)
            entry: dict[str, Any] = {"style": style}
            if style == "misleading":
                others = [t.name for t in b.domain.tools if t.name != backend]
                if not others:
                    entry["style"] = "removed"
                else:
                    entry["source"] = b.choice(others)
            docs[backend] = entry
    for backend, entry in docs.items():
        style = entry["style"]
        if style not in DOC_STYLES:
            raise ValueError(f"drift_docs style must be one of {DOC_STYLES}, got {style!r}")
        name, st = b.current(backend)
        if st.doc is None:
            continue
        if style == "truncated":
            words = st.doc.description.split()
            keep = max(1, len(words) // 3)
            desc = " ".join(words[:keep]) + ("..." if keep < len(words) else "")
            doc = derive(st.doc, description=desc,
                         parameters=_strip_param_docs(copy.deepcopy(st.doc.parameters)))
        elif style == "removed":
            doc = derive(st.doc, description="",
                         parameters=_strip_param_docs(copy.deepcopy(st.doc.parameters)))
        else:
            source = b.domain.tool_map[entry["source"]]
            doc = derive(st.doc, description=source.description)
        b.put(name, name, replace(st, doc=doc))
    return {"kind": "drift_docs", "docs": docs} if docs else None


def _near_names(b: SurfaceBuild, current: str, taken: set[str]) -> list[str]:
    toks = current.split("_")
    last = toks[-1]
    plural = last[:-1] if last.endswith("s") else last + "s"
    options = ["_".join([*toks[:-1], plural]), f"{current}_legacy", f"{current}_beta",
               f"{current}_internal", f"{current}_v0"]
    for syn in _synonyms(b, toks[0].lower()):
        options.append("_".join([syn, *toks[1:]]))
    return [o for o in _shuffled(b, options) if o not in taken]


def _apply_distractor_tools(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("distractors"), dict):
        distractors = {k: [dict(d) for d in v] for k, v in spec["distractors"].items()}
    else:
        distractors = {}
        n = int(spec.get("per_tool", 0)) or None
        for backend in b.targets(spec, b.live()):
            current, _ = b.current(backend)
            k = n or int(b.rng.integers(1, 3))
            made = []
            taken = b.taken()
            for name in _near_names(b, current, taken)[:k]:
                made.append({"name": name, "error": b.choice(DISTRACTOR_ERRORS).format(name=name)})
                taken.add(name)
            distractors[backend] = made
    for backend, made in distractors.items():
        current, st = b.current(backend)
        anchor = current
        for d in made:
            if d["name"] in b.taken():
                raise ValueError(f"tool name '{d['name']}' is taken")
            doc = None if st.doc is None else derive(st.doc, name=d["name"])
            fake = SurfaceTool(spec=derive(st.spec, name=d["name"]), target=None, doc=doc,
                               error=d["error"])
            b.insert_after(anchor, d["name"], fake)
            anchor = d["name"]
    return {"kind": "distractor_tools", "distractors": distractors} if distractors else None


def _apply_terse_errors(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    b.surface.terse_errors = True
    return {"kind": "terse_errors"}


def _remove_types(params: dict[str, Any]) -> dict[str, Any]:
    for sub in params.get("properties", {}).values():
        for key in ("type", "format", "pattern", "items"):
            sub.pop(key, None)
    return params


def _apply_scramble(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    prefix = re.sub(r"[^a-z0-9]", "", b.domain.name.lower()) or "tool"
    resolved: Mutation = {"kind": "scramble"}
    names = spec.get("names", True)  # a resolved mapping, or whether to scramble tool names
    if isinstance(names, dict) or names:
        target = {"names": names} if isinstance(names, dict) else {"tools": "all"}
        resolved["names"] = _names_for(b, target,
                                       lambda bk, cur, taken: _opaque_name(b, prefix, taken))
    else:
        resolved["names"] = {}  # explicit, so applying the resolved form again renames nothing
    if isinstance(spec.get("params"), dict):
        params = {k: dict(v) for k, v in spec["params"].items()}
        for backend, mapping in params.items():
            b.rename_params(backend, mapping)
        resolved["params"] = params
    elif spec.get("params", True):
        params = {}
        for backend in b.live():
            current = b.params_of(backend)
            taken = taken_params(b, backend)
            mapping = {}
            for i, p in enumerate(current):
                mapping[p] = _param_name(b, backend, p, "opaque", i, taken)
                taken.add(mapping[p])
            if mapping:
                b.rename_params(backend, mapping)
                params[backend] = mapping
        resolved["params"] = params
    else:
        resolved["params"] = {}
    if spec.get("types", True):
        for backend in b.live():
            name, st = b.current(backend)
            if st.doc is not None:
                doc = derive(st.doc, parameters=_remove_types(copy.deepcopy(st.doc.parameters)))
                b.put(name, name, replace(st, doc=doc))
        resolved["types"] = True
    else:
        resolved["types"] = False
    return resolved


@dataclass(frozen=True)
class Kind:
    """One mutation kind.

    Attributes:
        name: The ``kind`` value in a mutation.
        apply: ``apply(build, spec) -> resolved spec or None``.
        adversarial: Left out of ``drift_level`` sampling (except level "adversarial").
        interface: Changes what a call or a response written from the old docs must look
            like (False: only docs, errors or extra tools change).
        description: One line for tables.
        drift_class: What it changes (RobustBench-TC's classes): ``"interface"`` (the form
            of a call), ``"observation"`` (only what the agent is shown: docs, errors,
            response layout, extra tools) or ``"behaviour"`` (the same call now means or
            returns something else; ``tool_gym.behaviour``).
    """

    name: str
    apply: Callable[[SurfaceBuild, Mutation], Mutation | None]
    adversarial: bool = False
    interface: bool = True
    description: str = ""
    drift_class: str = "interface"


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("rename_tool", _apply_rename_tool, description="tool renamed (synonym or opaque)"),
    Kind("name_noise", _apply_name_noise,
         description="RoTBench name noise: typo, reversed or misleading names"),
    Kind("rename_params", _apply_rename_params,
         description="parameters renamed (synonym, opaque arg_i, or case)"),
    Kind("reorder_params", _apply_reorder_params, interface=False, drift_class="observation",
         description="parameter order changed"),
    Kind("add_required_param", _apply_add_required_param,
         description="new required parameter with one accepted value"),
    Kind("change_format", _apply_change_format,
         description="value format: date, time, enum case, units, currency, cents"),
    Kind("wrap_response", _apply_wrap_response, description="response wrapped in an envelope",
         drift_class="observation"),
    Kind("rename_fields", _apply_rename_fields, description="response keys re-cased",
         drift_class="observation"),
    Kind("deprecate_tool", _apply_deprecate_tool,
         description="old name deprecated in favour of a successor"),
    Kind("drift_docs", _apply_drift_docs, interface=False, drift_class="observation",
         description="docs truncated, removed or misleading"),
    Kind("distractor_tools", _apply_distractor_tools, interface=False, drift_class="observation",
         description="near-name tools that only error"),
    Kind("terse_errors", _apply_terse_errors, adversarial=True, interface=False,
         drift_class="observation",
         description="error messages without hints"),
    Kind("scramble", _apply_scramble,
         description="ToolSandbox scramble: <domain>_i tools, arg_i params, no types"),
]}


def format_targets(domain: Domain) -> dict[str, dict[str, list[str]]]:
    """Parameters ``change_format`` can act on: ``{tool: {param: [formats]}}`` (canonical API)."""
    b = SurfaceBuild(domain, Surface.identity(domain.tools), np.random.default_rng(0))
    out: dict[str, dict[str, list[str]]] = {}
    for t in domain.tools:
        for p, schema in t.parameters.get("properties", {}).items():
            opts = _format_options(b, t.name, p, schema)
            if opts:
                out.setdefault(t.name, {})[p] = opts
    return out


def mutation_kinds(adversarial: bool = True, behaviour: bool = True) -> list[str]:
    """Names of the mutation kinds, optionally without the adversarial or behaviour ones."""
    return [k for k, v in KINDS.items() if (adversarial or not v.adversarial)
            and (behaviour or v.drift_class != "behaviour")]


def check_config(mutations: Sequence[Mutation] | None, drift_level: str | None) -> None:
    """Raise ValueError for an unknown drift level or malformed mutations (before any reset)."""
    if drift_level is not None and drift_level not in DRIFT_LEVELS:
        raise ValueError(f"drift_level must be one of {DRIFT_LEVELS} or None, got {drift_level!r}")
    if mutations is None:
        return
    if isinstance(mutations, (str, dict)) or not isinstance(mutations, Sequence):
        raise ValueError("mutations must be a list of JSON objects")
    for m in mutations:
        if not isinstance(m, dict) or "kind" not in m:
            raise ValueError(f"each mutation must be a JSON object with a 'kind', got {m!r}")
        if m["kind"] not in KINDS:
            raise ValueError(f"unknown mutation kind {m['kind']!r}; kinds: {', '.join(KINDS)}")
        try:
            json.dumps(m)
        except (TypeError, ValueError) as e:
            raise ValueError(f"mutation {m!r} is not JSON-serialisable: {e}") from None


def sample_mutations(rng: np.random.Generator, level: str) -> list[Mutation]:
    """A random composition of (unresolved) mutations for a drift level."""
    if level not in DRIFT_LEVELS:
        raise ValueError(f"drift_level must be one of {DRIFT_LEVELS}, got {level!r}")
    kinds = mutation_kinds(adversarial=level == "adversarial", behaviour=level == "mixed")
    lo, hi = (1, 2) if level == "light" else (3, 5)
    n = int(rng.integers(lo, hi + 1))
    picks = rng.choice(len(kinds), size=min(n, len(kinds)), replace=False)
    out = []
    for i in picks:
        spec: Mutation = {"kind": kinds[int(i)]}
        if level != "light" and kinds[int(i)] not in ("terse_errors", "scramble"):
            spec["count"] = int(rng.integers(1, 3))
        out.append(spec)
    return out


def build_surface(domain: Domain, surface: Surface, rng: np.random.Generator, *,
                  mutations: Sequence[Mutation] | None = None, drift_level: str | None = None,
                  stale_docs: bool = False, focus: Sequence[str] = ()) -> Surface:
    """The drifted surface of one episode (called by ``ToolEnv.make_surface``).

    Args:
        domain: The domain whose backend stays unchanged.
        surface: The starting surface (the identity surface of the domain).
        rng: The env's ``np_random``: every open choice is drawn from it.
        mutations: JSON mutations applied in order. When given, ``drift_level`` is ignored.
        drift_level: ``"light"`` (1-2 kinds), ``"heavy"`` (3-5 kinds) or ``"adversarial"``
            (3-5 kinds, adversarial ones included) or ``"mixed"`` (3-5 kinds, behaviour
            ones included): a fresh random composition each call.
        stale_docs: Show the catalogue from before the mutations.
        focus: Backend tools that drawn targets come from whenever a mutation kind can
            act on one of them (``ToolEnv(drift_focus="plan")`` passes the tools of the
            task's golden plan, so drift always meets the tools the task needs).

    Returns:
        The new surface; ``applied`` holds the resolved mutations (JSON).
    """
    check_config(mutations, drift_level)
    if mutations is not None:
        specs = [dict(m) for m in mutations]
    elif drift_level is not None:
        specs = sample_mutations(rng, drift_level)
    else:
        specs = []
    before = surface.catalogue()
    b = SurfaceBuild(domain, surface.copy(), rng, focus)
    applied = list(surface.applied)
    for spec in specs:
        resolved = KINDS[spec["kind"]].apply(b, spec)
        if resolved is not None:
            applied.append(resolved)
        else:
            log.debug("%s: mutation %s had nothing to act on", domain.name, spec)
    out = b.surface
    out.applied = applied
    if stale_docs:
        out.stale_doc = list(before)
    return out


def apply_mutations(domain: Domain, mutations: Sequence[Mutation], seed: int = 0,
                    stale_docs: bool = False) -> Surface:
    """Convenience: the identity surface of ``domain`` with ``mutations`` applied."""
    return build_surface(domain, Surface.identity(domain.tools), np.random.default_rng(seed),
                         mutations=mutations, stale_docs=stale_docs)


def kind_classes() -> dict[str, str]:
    """Every mutation kind with its class: interface, observation or behaviour."""
    return {k: v.drift_class for k, v in KINDS.items()}


import tool_gym.behaviour  # noqa: E402,F401  (registers the behaviour kinds into KINDS)
