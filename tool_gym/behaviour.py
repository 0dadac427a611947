"""Behaviour drift: the call that worked still parses, but now means or returns something else.

Interface kinds (``tool_gym.drift``) change what a call must look like; the kinds here keep
every old call valid against the schema and change what happens behind it, which is where
trying a tool before relying on it pays (RobustBench-TC's transition and reward-relevant
perturbations). Each is seeded, composable and JSON-serialisable like any mutation, its
golden calls are translated (``to_surface``), and each announces itself in what the env
returns:

=====================  ==================================================================
``paginate``           a list result (or a dict's list field) becomes one page:
                       ``{"items": [...], "page": 1, "next_page": 2, "total_items": n}``;
                       an optional ``page`` parameter is added
``transient_failure``  the first call of a tool answers a retryable error (``503 ... try the
                       same call again`` or ``429 ... retry after 1 s``), the next one works
``confirm_changes``    a tool with side effects applies nothing until called with
                       ``"confirm": true``; the error says so
``id_format``          ids change form (``BEA-1042`` -> ``1042-BEA``): results show the new
                       form, and an old-form id answers "not found; ids now look like ..."
``unit_note``          numeric result fields named with a unit (``weight_kg``) are reported
                       in another unit under the same key, with a ``note`` that says so
``sort_order``         list results come in reverse order, marked ``"order": "reversed"``
``default_change``     an optional parameter's default changes (``units``: metric ->
                       imperial): a call that omits it now means the new default, and the
                       response notes it
``require_session``    tools need a prior call: a new tool (``open_session``) returns a token
                       that they now take (``session_token``); a call without it answers
                       "no session ... Call open_session first and pass the token it
                       returns as ..."; translated golden plans open the session first
``time_zone``          times of day (``HH:MM``, modulo 24 h; a date beside them is left as
                       it is) and date-times a tool takes and returns move to another zone
                       (``UTC+02:00``), stated in the response as ``time_zone`` and
                       ``time_zone_was`` (and in the tool's errors); only tools with time values (drawn targets take a
                       time parameter)
=====================  ==================================================================

Stateful kinds (``paginate``, ``transient_failure``, ``default_change``,
``require_session``) keep their state on the episode's
surface (a fresh surface each reset), never in the world, so trials stay side-effect free
for the world while still counting as requests to the API.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

from tool_gym.drift import (
    KINDS,
    TIME_PATTERN,
    AddKey,
    Chain,
    DriftSpec,
    DropKey,
    Kind,
    Mutation,
    SurfaceBuild,
    chain,
    free_name,
    taken_params,
)
from tool_gym.errors import ToolError
from tool_gym.surface import SurfaceTool
from tool_gym.units import CONVERSIONS, REPORTED, UNITS, factor

# --------------------------------------------------------------------------------------
# Which tools a kind can act on


def returns_list(spec: Any) -> bool:
    """True when a tool is documented to return a list (``returns`` schema or annotation)."""
    if spec.returns and spec.returns.get("type") == "array":
        return True
    ann = getattr(getattr(spec, "fn", None), "__annotations__", {}).get("return")
    return isinstance(ann, str) and ann.startswith("list") or getattr(ann, "__origin__", None) \
        is list


def _list_tools(b: SurfaceBuild) -> list[str]:
    return [t for t in b.live() if returns_list(b.domain.tool_map[t])]


def _side_effect_tools(b: SurfaceBuild) -> list[str]:
    return [t for t in b.live() if b.domain.tool_map[t].side_effects]


# --------------------------------------------------------------------------------------
# paginate


class Pager:
    """Splits a list result into pages; ``take`` reads the page asked for on the way in."""

    __slots__ = ("size", "param", "page")

    def __init__(self, size: int, param: str) -> None:
        self.size, self.param, self.page = size, param, 1

    def take(self, args: dict[str, Any]) -> dict[str, Any]:
        args = dict(args)
        self.page = int(args.pop(self.param, 1) or 1)
        return args

    def __call__(self, result: Any) -> Any:
        """A list result, or the first list field of a dict result, cut to one page."""
        page, self.page = self.page, 1
        if isinstance(result, list):
            items, key, out = result, "items", {}
        elif isinstance(result, dict):
            key = next((k for k, v in result.items() if isinstance(v, list)), None)
            if key is None or {"page", "next_page"} & set(result):
                return result
            items, out = result[key], dict(result)
        else:
            return result
        pages = max(1, -(-len(items) // self.size))
        if page > pages:
            raise ToolError(f"page {page} does not exist; there are {pages} pages of "
                            f"{self.size} items")
        start = (page - 1) * self.size
        out[key] = items[start:start + self.size]
        out.update(page=page, next_page=page + 1 if page < pages else None,
                   total_items=len(items))
        return out


class _PagerIn:
    __slots__ = ("pager",)

    def __init__(self, pager: Pager) -> None:
        self.pager = pager

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.pager.take(args)


def _apply_paginate(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("pages"), dict):
        chosen = {k: dict(v) for k, v in spec["pages"].items()}
    else:
        chosen = {}
        for backend in b.targets(spec, b.live()):
            param = free_name(["page", "page_number", "page_no"], taken_params(b, backend))
            if param:
                chosen[backend] = {"size": int(spec.get("size", b.choice([1, 2, 3]))),
                                   "param": param}
    for backend, p in chosen.items():
        pager = Pager(int(p["size"]), p["param"])
        schema = {"type": "integer", "minimum": 1, "default": 1,
                  "description": f"page of the results ({p['size']} items a page)"}

        def edit(params: dict[str, Any], name: str = p["param"], schema: dict = schema) -> dict:
            params.setdefault("properties", {})[name] = dict(schema)
            return params

        b.map_params(backend, edit, _PagerIn(pager), DropKey(p["param"]))
        name, st = b.current(backend)
        b.put(name, name, replace(st, from_backend=chain(pager, st.from_backend)))
        b.old_params[backend].add(p["param"])
    return {"kind": "paginate", "pages": chosen} if chosen else None


# --------------------------------------------------------------------------------------
# transient_failure

FAILURE_STYLES = {
    "unavailable": "503 service temporarily unavailable; nothing was run. Try the same call "
                   "again",
    "rate_limit": "429 too many requests: rate limit reached; nothing was run. Retry after 1 s "
                  "(send the same call again)",
}


class FailFirst:
    """Raises a retryable error on the first ``failures`` requests, then passes arguments on."""

    __slots__ = ("failures", "message", "seen")

    def __init__(self, failures: int, message: str) -> None:
        self.failures, self.message, self.seen = failures, message, 0

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        self.seen += 1
        if self.seen <= self.failures:
            raise ToolError(self.message)
        return args


def _apply_transient_failure(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("failures"), dict):
        chosen = {k: dict(v) for k, v in spec["failures"].items()}
    else:
        chosen = {t: {"style": spec.get("style") or b.choice(sorted(FAILURE_STYLES)), "count": 1}
                  for t in b.targets(spec, b.live())}
    for backend, f in chosen.items():
        if f["style"] not in FAILURE_STYLES:
            raise ValueError(f"transient_failure style must be one of {sorted(FAILURE_STYLES)}")
        name, st = b.current(backend)
        gate = FailFirst(int(f["count"]), FAILURE_STYLES[f["style"]])
        b.put(name, name, replace(st, to_backend=chain(gate, st.to_backend)))
    return {"kind": "transient_failure", "failures": chosen} if chosen else None


# --------------------------------------------------------------------------------------
# confirm_changes


class Confirm:
    __slots__ = ("param",)

    def __init__(self, param: str) -> None:
        self.param = param

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get(self.param) is not True:
            raise ToolError(f"not applied: changes now need confirmation. Send the same call "
                            f"again with \"{self.param}\": true")
        args = dict(args)
        args.pop(self.param)
        return args


def _apply_confirm_changes(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("confirm"), dict):
        chosen = dict(spec["confirm"])
    else:
        chosen = {}
        for backend in b.targets(spec, _side_effect_tools(b)):
            param = free_name(["confirm", "confirmed", "confirm_change"], taken_params(b, backend))
            if param:
                chosen[backend] = param
    for backend, param in chosen.items():
        schema = {"type": "boolean", "default": False,
                  "description": "must be true for the change to be applied"}

        def edit(params: dict[str, Any], name: str = param, schema: dict = schema) -> dict:
            params.setdefault("properties", {})[name] = dict(schema)
            return params

        b.map_params(backend, edit, Confirm(param), AddKey(param, True))
        b.old_params[backend].add(param)
        b.pinned.add((backend, param))
    return {"kind": "confirm_changes", "confirm": chosen} if chosen else None


# --------------------------------------------------------------------------------------
# id_format

OLD_ID = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,5})-(\d{1,8})$")
ID_STYLES: dict[str, tuple[str, str]] = {  # style -> (new-form regex, template); case kept
    "reversed": (r"^(\d{1,8})-([A-Za-z][A-Za-z0-9]{0,5})$", "{n}-{p}"),
    "colon": (r"^([A-Za-z][A-Za-z0-9]{0,5}):(\d{1,8})$", "{p}:{n}"),
    "hash": (r"^([A-Za-z][A-Za-z0-9]{0,5})#(\d{1,8})$", "{p}#{n}"),
}


def _new_id(value: str, style: str) -> str:
    m = OLD_ID.match(value)
    return ID_STYLES[style][1].format(p=m[1], n=m[2]) if m else value


def _old_id(value: str, style: str) -> str | None:
    m = re.match(ID_STYLES[style][0], value.strip())
    if not m:
        return None
    p, n = (m[2], m[1]) if style == "reversed" else (m[1], m[2])
    return f"{p}-{n}"


def _is_id_key(key: Any) -> bool:
    return isinstance(key, str) and (key.lower() == "id" or key.lower().endswith("_id"))


class IdsOut:
    """Rewrites id values (under ``id`` / ``*_id`` keys) of a result into the new form."""

    __slots__ = ("style",)

    def __init__(self, style: str) -> None:
        self.style = style

    def __call__(self, value: Any, key: Any = None) -> Any:
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v, key) for v in value]
        if isinstance(value, str) and _is_id_key(key):
            return _new_id(value, self.style)
        return value


class IdsIn:
    """New-form ids in the arguments back to the backend's; old-form ids are refused."""

    __slots__ = ("style",)

    def __init__(self, style: str) -> None:
        self.style = style

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in args.items():
            if isinstance(v, str):
                old = _old_id(v, self.style)
                if old is not None:
                    v = old
                elif OLD_ID.match(v.strip()):
                    raise ToolError(f"no record with id '{v[:40]}': ids changed form and now "
                                    f"look like {_new_id(v.strip(), self.style)}")
            out[k] = v
        return out


class IdsToSurface:
    __slots__ = ("style",)

    def __init__(self, style: str) -> None:
        self.style = style

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        return {k: _new_id(v, self.style) if isinstance(v, str) else v for k, v in args.items()}


def _apply_id_format(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    """One id form for the whole API (ids flow between tools), applied to every live tool."""
    style = spec.get("style") or b.choice(sorted(ID_STYLES))
    if style not in ID_STYLES:
        raise ValueError(f"id_format style must be one of {sorted(ID_STYLES)}, got {style!r}")
    for backend in b.live():
        name, st = b.current(backend)
        b.put(name, name, replace(st, to_backend=chain(IdsIn(style), st.to_backend),
                                  to_surface=chain(st.to_surface, IdsToSurface(style)),
                                  from_backend=chain(IdsOut(style), st.from_backend)))
    return {"kind": "id_format", "style": style}


# --------------------------------------------------------------------------------------
# unit_note

def unit_switch(key: str) -> tuple[str, float | None, str] | None:
    """``(new unit, factor, word)`` for a field named ``<x>_<unit>`` that ``unit_note``
    re-reports (``tool_gym.units.REPORTED``); None for others. The factor is None for
    temperatures."""
    if not isinstance(key, str) or "_" not in key:
        return None
    unit = key.rsplit("_", 1)[1].lower()
    if unit not in REPORTED:
        return None
    new = CONVERSIONS[unit][0]
    return new, factor(unit, new), UNITS[new].word


class UnitsOut:
    """Numeric fields named ``<x>_<unit>`` reported in another unit, with a note per field."""

    __slots__ = ()

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        notes = []
        for k, v in value.items():
            sw = unit_switch(k)
            if sw and isinstance(v, (int, float)) and not isinstance(v, bool):
                _, ratio, word = sw
                out[k] = round(v * 9 / 5 + 32, 2) if ratio is None else round(v * ratio, 3)
                notes.append(f"{k} is now reported in {word}")
            else:
                out[k] = self(v)
        if notes:
            out["note"] = "; ".join(dict.fromkeys(notes))
        return out


def _apply_unit_note(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    tools = b.targets(spec, b.live())
    for backend in tools:
        name, st = b.current(backend)
        b.put(name, name, replace(st, from_backend=chain(UnitsOut(), st.from_backend)))
    return {"kind": "unit_note", "tools": tools} if tools else None


# --------------------------------------------------------------------------------------
# sort_order


class Reverse:
    """A list result (or a dict's first list field) in reverse order, marked ``"order":
    "reversed"`` so the change shows in the response."""

    __slots__ = ()

    def __call__(self, result: Any) -> Any:
        if isinstance(result, list):
            return {"items": result[::-1], "order": "reversed"}
        if isinstance(result, dict) and "order" not in result:
            key = next((k for k, v in result.items() if isinstance(v, list)), None)
            if key is not None:
                return {**result, key: result[key][::-1], "order": "reversed"}
        return result


def _apply_sort_order(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    tools = b.targets(spec, b.live())
    for backend in tools:
        name, st = b.current(backend)
        b.put(name, name, replace(st, from_backend=chain(Reverse(), st.from_backend)))
    return {"kind": "sort_order", "tools": tools} if tools else None


# --------------------------------------------------------------------------------------
# default_change


class DefaultGate:
    """Fills an omitted parameter with its new default and notes it in the response."""

    __slots__ = ("param", "new", "old", "used")

    def __init__(self, param: str, new: Any, old: Any) -> None:
        self.param, self.new, self.old, self.used = param, new, old, False

    def fill(self, args: dict[str, Any]) -> dict[str, Any]:
        self.used = self.param not in args
        return {**args, self.param: self.new} if self.used else args

    def __call__(self, result: Any) -> Any:
        used, self.used = self.used, False
        if used and isinstance(result, dict) and "note" not in result:
            return {**result, "note": f"{self.param} now defaults to {self.new} "
                                      f"(was {self.old}); pass it to choose"}
        return result


class _Fill:
    __slots__ = ("gate",)

    def __init__(self, gate: DefaultGate) -> None:
        self.gate = gate

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.gate.fill(args)


class _Explicit:
    """Golden calls name the old default explicitly, so the new default never applies."""

    __slots__ = ("param", "old")

    def __init__(self, param: str, old: Any) -> None:
        self.param, self.old = param, old

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        return args if self.param in args else {**args, self.param: self.old}


def _defaults(b: SurfaceBuild, backend: str) -> list[tuple[str, Any, list[Any]]]:
    _, st = b.current(backend)
    req = set(st.spec.required)
    return [(p, s["default"], list(s["enum"]))
            for p, s in st.spec.parameters.get("properties", {}).items()
            if p not in req and "default" in s and len(s.get("enum") or []) >= 2
            and s["default"] in s["enum"]]


def _apply_default_change(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("defaults"), dict):
        chosen = {k: dict(v) for k, v in spec["defaults"].items()}
    else:
        chosen = {}
        for backend in b.targets(spec, [t for t in b.live() if _defaults(b, t)]):
            param, old, values = b.choice(_defaults(b, backend))
            chosen[backend] = {"param": param, "value": b.choice([v for v in values if v != old])}
    for backend, d in chosen.items():
        param, new = d["param"], d["value"]
        _, st = b.current(backend)
        old = st.spec.parameters["properties"][param]["default"]
        gate = DefaultGate(param, new, old)

        def edit(params: dict[str, Any], param: str = param, new: Any = new) -> dict:
            params["properties"][param] = {**params["properties"][param], "default": new}
            return params

        b.map_params(backend, edit, _Fill(gate), _Explicit(param, old))
        name, st = b.current(backend)
        b.put(name, name, replace(st, from_backend=chain(gate, st.from_backend)))
    return {"kind": "default_change", "defaults": chosen} if chosen else None


# --------------------------------------------------------------------------------------
# require_session

SESSION_TOOLS = ["open_session", "start_session", "create_session", "new_session"]
SESSION_PARAMS = ["session_token", "session_key", "auth_token", "token"]


class Session:
    """The session of one episode's API: closed until its opener answers. It lives on the
    surface (a fresh one each reset), never in the world: trials and calls share it."""

    __slots__ = ("token", "opener", "param", "open")

    def __init__(self, token: str, opener: str, param: str) -> None:
        self.token, self.opener, self.param, self.open = token, opener, param, False


class OpenSession:
    """The opener's handler: opens the session and returns its token."""

    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        self.session.open = True
        return {self.session.param: self.session.token, "expires_in_s": 3600}


class SessionGate:
    """Refuses a call without the open session's token (saying how to get one); passes the
    other arguments on."""

    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        s = self.session
        token = args.get(s.param)
        if token is None or not s.open or token != s.token:
            what = ("no session: this tool now needs a session token" if token is None else
                    f"session token '{str(token)[:40]}' is not valid")
            raise ToolError(f"{what}. Call {s.opener} first (no arguments) and pass the token "
                            f"it returns as \"{s.param}\"")
        args = dict(args)
        args.pop(s.param)
        return args


def _session(b: SurfaceBuild) -> Session | None:
    """The session an earlier ``require_session`` opened on this surface (one per API)."""
    for t in b.surface.tools.values():
        if isinstance(t.handler, OpenSession):
            return t.handler.session
    return None


def _apply_require_session(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    """One session for the API: a second ``require_session`` gates more tools with the
    session the first one opened; a tool already gated is left as it is."""
    session = _session(b)
    tools = b.targets(spec, [t for t in b.live() if b.current(t)[1].needs is None])
    if session is not None:
        tools = [t for t in tools if session.param not in taken_params(b, t)]
    if not tools:
        return None
    if session is None:
        opener = spec.get("opener") or free_name(SESSION_TOOLS, b.taken())
        taken = set().union(*(taken_params(b, t) for t in tools))
        param = spec.get("param") or free_name(SESSION_PARAMS, taken)
        token = spec.get("token") or f"tok_{int(b.rng.integers(16**8)):08x}"
        if opener is None or param is None:
            return None
        if opener in b.taken():
            raise ValueError(f"tool name '{opener}' is taken")
        session = Session(str(token), str(opener), str(param))
        doc = DriftSpec(name=session.opener, description=(
            "Open a session (no arguments); returns the session token other tools now need "
            f"as {session.param}."),
            parameters={"type": "object", "properties": {}, "additionalProperties": False})
        b.surface.tools = {**b.surface.tools, session.opener: SurfaceTool(
            spec=doc, target=None, doc=doc, handler=OpenSession(session))}
    schema = {"type": "string", "description": f"session token from {session.opener}"}
    for backend in tools:
        if session.param in taken_params(b, backend):
            raise ValueError(f"{backend}: parameter name '{session.param}' is taken")

        def edit(params: dict[str, Any], name: str = session.param) -> dict:
            params.setdefault("properties", {})[name] = dict(schema)
            return params

        b.map_params(backend, edit, SessionGate(session), AddKey(session.param, session.token))
        name, st = b.current(backend)
        b.put(name, name, replace(st, needs=session.opener))
        b.old_params[backend].add(session.param)
        b.pinned.add((backend, session.param))
    return {"kind": "require_session", "tools": tools, "opener": session.opener,
            "param": session.param, "token": session.token}


# --------------------------------------------------------------------------------------
# time_zone

BASE_ZONE = "UTC"
ZONES = ("UTC-05:00", "UTC-03:00", "UTC+01:00", "UTC+02:00", "UTC+05:30", "UTC+09:00")
TIME_VALUE = re.compile(r"^(\d{4}-\d{2}-\d{2}[ T])?([01]\d|2[0-3]):([0-5]\d)$")


def zone_minutes(zone: str) -> int:
    """Minutes east of UTC of ``UTC``, ``UTC+02:00``, ``UTC-05:30``."""
    m = re.fullmatch(r"UTC(?:([+-])(\d{2}):(\d{2}))?", zone.strip())
    if m is None:
        raise ValueError(f"time zone must look like UTC or UTC+02:00, got {zone!r}")
    if not m[1]:
        return 0
    return (1 if m[1] == "+" else -1) * (int(m[2]) * 60 + int(m[3]))


def shift_time(value: Any, minutes: int) -> Any:
    """A time of day (``HH:MM``, modulo 24 hours) or a date-time (``YYYY-MM-DD HH:MM``, the
    date carried) moved by ``minutes``; other values unchanged."""
    m = TIME_VALUE.match(value) if isinstance(value, str) else None
    if m is None or not minutes:
        return value
    if m[1] is None:
        total = (int(m[2]) * 60 + int(m[3]) + minutes) % 1440
        return f"{total // 60:02d}:{total % 60:02d}"
    when = dt.datetime.fromisoformat(f"{m[1][:10]}T{m[2]}:{m[3]}") + dt.timedelta(minutes=minutes)
    return when.strftime(f"%Y-%m-%d{m[1][10]}%H:%M")


class ZoneOut:
    """Times in a result moved into the new zone, the zone stated beside them (in a dict
    result, and in each record of a list result)."""

    __slots__ = ("zone", "minutes")

    def __init__(self, zone: str) -> None:
        self.zone, self.minutes = zone, zone_minutes(zone)

    def _shift(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._shift(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._shift(v) for v in value]
        return shift_time(value, self.minutes)

    def _state(self, value: Any) -> Any:
        if isinstance(value, dict) and "time_zone" not in value:
            return {**value, "time_zone": self.zone, "time_zone_was": BASE_ZONE}
        return value

    def __call__(self, result: Any) -> Any:
        result = self._shift(result)
        if isinstance(result, list):
            return [self._state(r) for r in result]
        return self._state(result)


_CLOCK = re.compile(r"\b([01]\d|2[0-3]):([0-5]\d)\b")


class ZoneError:
    """A backend error's times moved into the new zone, the zone stated."""

    __slots__ = ("zone", "minutes")

    def __init__(self, zone: str) -> None:
        self.zone, self.minutes = zone, zone_minutes(zone)

    def __call__(self, text: str) -> str:
        moved = _CLOCK.sub(lambda m: shift_time(m.group(0), self.minutes), text)
        return f"{moved} (times in {self.zone}; they were {BASE_ZONE})"


class ZoneIn:
    """Time arguments moved by ``minutes`` (new zone -> old on the way in; the inverse
    translates golden calls)."""

    __slots__ = ("params", "minutes")

    def __init__(self, params: list[str], minutes: int) -> None:
        self.params, self.minutes = list(params), minutes

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        return {k: shift_time(v, self.minutes) if k in self.params else v
                for k, v in args.items()}


def _time_params(b: SurfaceBuild, backend: str) -> list[str]:
    """Parameters taking a time of day in their original form (a ``time`` hint or the
    ``HH:MM`` pattern), not already re-formatted by ``change_format``."""
    _, st = b.current(backend)
    out = []
    for p, s in st.spec.parameters.get("properties", {}).items():
        canon = b.origin.get((backend, p), p)
        hinted = b.domain.hints.get(f"{backend}.{canon}") == "time"
        if (hinted or s.get("pattern") == TIME_PATTERN) and (backend, p) not in b.formatted:
            out.append(p)
    return out


def _zone_of(tool: SurfaceTool) -> ZoneOut | None:
    fns = tool.from_backend.fns if isinstance(tool.from_backend, Chain) else (tool.from_backend,)
    return next((f for f in fns if isinstance(f, ZoneOut)), None)


def _apply_time_zone(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    """One zone for the API (times flow between tools): a second ``time_zone`` moves more
    tools into the zone the first one chose. Drawn targets are tools that take a time;
    explicit ones may be any tool (its results' times move)."""
    explicit = "tool" in spec or "tools" in spec
    free = [t for t in b.live() if _zone_of(b.current(t)[1]) is None]
    tools = b.targets(spec, free if explicit else [t for t in free if _time_params(b, t)])
    if not tools:
        return None
    earlier = next((z for z in map(_zone_of, b.surface.tools.values()) if z is not None), None)
    zone = earlier.zone if earlier is not None else spec.get("zone") or b.choice(ZONES)
    minutes = zone_minutes(zone)
    for backend in tools:
        params = _time_params(b, backend)
        if params:
            def edit(p: dict[str, Any], names: list[str] = params) -> dict:
                for n in names:
                    s = p["properties"][n]
                    p["properties"][n] = {**s, "description": f"{s.get('description', 'time')}"
                                                             f" in {zone}".strip()}
                return p

            b.map_params(backend, edit, ZoneIn(params, -minutes), ZoneIn(params, minutes))
        name, st = b.current(backend)
        b.put(name, name, replace(st, from_backend=chain(ZoneOut(zone), st.from_backend),
                                  from_error=chain(ZoneError(zone), st.from_error)))
    return {"kind": "time_zone", "tools": tools, "zone": zone}


BEHAVIOUR_KINDS = [
    Kind("paginate", _apply_paginate, drift_class="behaviour",
         description="list results come one page at a time, with a next-page number"),
    Kind("transient_failure", _apply_transient_failure, drift_class="behaviour",
         description="first call answers a retryable 503 / 429 error"),
    Kind("confirm_changes", _apply_confirm_changes, drift_class="behaviour",
         description="changes apply only with confirm: true"),
    Kind("id_format", _apply_id_format, drift_class="behaviour",
         description="ids change form; old ids answer not found with the new form"),
    Kind("unit_note", _apply_unit_note, drift_class="behaviour",
         description="unit-named result fields reported in another unit, with a note"),
    Kind("sort_order", _apply_sort_order, drift_class="behaviour",
         description="list results in reverse order, marked order: reversed"),
    Kind("default_change", _apply_default_change, drift_class="behaviour",
         description="an optional parameter's default changes; omitting it now means the new"
                     " default (noted in the response)"),
    Kind("require_session", _apply_require_session, drift_class="behaviour",
         description="tools refuse calls without a token from a new session tool (a prior"
                     " call); the error says how to get one"),
    Kind("time_zone", _apply_time_zone, drift_class="behaviour",
         description="times taken and returned move to another zone, stated in the response"),
]
for _kind in BEHAVIOUR_KINDS:
    KINDS.setdefault(_kind.name, _kind)
