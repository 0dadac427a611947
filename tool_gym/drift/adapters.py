"""Adapters: small picklable callables that map surface arguments to backend ones, golden
calls onto the surface and backend results to what the agent sees; composed once per reset.
The value formats ``change_format`` converts between live here too."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from tool_gym.errors import ToolError
from tool_gym.surface import unchanged

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIME_PATTERN = r"^\d{2}:\d{2}$"

DATE_FORMATS: dict[str, tuple[str, str, str]] = {  # name -> (regex, template, example)
    "DD/MM/YYYY": (r"^\d{2}/\d{2}/\d{4}$", "{d}/{m}/{y}", "25/12/2026"),
    "MM/DD/YYYY": (r"^\d{2}/\d{2}/\d{4}$", "{m}/{d}/{y}", "12/25/2026"),
    "DD.MM.YYYY": (r"^\d{2}\.\d{2}\.\d{4}$", "{d}.{m}.{y}", "25.12.2026"),
    "YYYYMMDD": (r"^\d{8}$", "{y}{m}{d}", "20261225"),
    "YYYY/MM/DD": (r"^\d{4}/\d{2}/\d{2}$", "{y}/{m}/{d}", "2026/12/25"),
}
TIME_FORMATS: dict[str, tuple[str, str]] = {  # name -> (regex, description)
    "12h": (r"^(0[1-9]|1[0-2]):[0-5]\d (AM|PM)$", "12-hour time as hh:mm AM/PM, e.g. 02:30 PM"),
    "HHMM": (r"^([01]\d|2[0-3])[0-5]\d$", "24-hour time as HHMM without a colon, e.g. 1430"),
}




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
        regex, template, _ = DATE_FORMATS[self.fmt]
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
