"""Reading responses: each sent call's response, and results put back in the form the old
docs describe when behaviour drifted (pages joined, unit notes, time zones and order
undone), from what the responses themselves state."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tool_gym.behaviour import BASE_ZONE, shift_time, zone_minutes
from tool_gym.explorer.values import convert_unit
from tool_gym.protocol import Response, parse_responses
from tool_gym.units import UNIT_WORDS


def match_responses(obs: str, sent: Sequence[tuple[str, str]]) -> list[Response | None]:
    """One response per sent (mode, name): the line at its place with its mode and name."""
    out: list[Response | None] = [None] * len(sent)
    for resp in parse_responses(obs):
        i = resp.index - 1
        if 0 <= i < len(sent) and (resp.mode, resp.name) == tuple(sent[i]):
            out[i] = resp
    return out


def next_page(value: Any) -> Any:
    return value.get("next_page") if isinstance(value, dict) else None


def page_list_key(value: dict[str, Any]) -> str | None:
    return next((k for k, v in value.items() if isinstance(v, list)), None)


def merge_pages(first: dict[str, Any], pages: Sequence[Any]) -> Any:
    """One result from its pages: the list field joined, as if it had come whole."""
    key = page_list_key(first)
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
                v = convert_unit(v, src, dst, False)
                v = round(v, 2) if isinstance(v, float) else v
        out[k] = _undo_unit_notes(v)
    return out


def undo_drift(value: Any) -> Any:
    """A result as the old docs describe it: order, unit notes and time zone undone."""
    return _undo_time_zone(_undo_unit_notes(_undo_order(value)))


def session_token(value: Any, param: str) -> str | None:
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


def zone_shift(value: Any) -> int:
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
    shift = zone_shift(value)
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
    key = page_list_key(value)
    if key is None:
        return value
    out = {k: v for k, v in value.items() if k != "order"}
    out[key] = list(value[key])[::-1]
    return out[key] if set(out) == {"items"} else out
