"""Value forms: units in parameter names and descriptions, conversions between them,
renderings of dates, times and cases that match a stated pattern, and rewrite rules
for ids whose form changed."""

from __future__ import annotations

import re
from typing import Any

from tool_gym.explorer.names import tokens
from tool_gym.task import format_value
from tool_gym.units import UNIT_WORDS, UNITS


def unit_in(text: str, name_only: bool = False) -> str | None:
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


def convert_unit(value: Any, src: str, dst: str, integer: bool) -> Any:
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


def fix_value(value: Any, regex: str, desc: str) -> Any:
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


def types_compatible(old_type: Any, new_type: Any) -> bool:
    if not isinstance(old_type, str) or not isinstance(new_type, str) or old_type == new_type:
        return True
    return {old_type, new_type} <= {"integer", "number"}


def rewrite_rule(old: str, new: str) -> tuple[str, str] | None:
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
