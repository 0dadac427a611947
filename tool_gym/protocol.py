"""The text protocol: parsing agent messages into tagged segments, and the prompt rules."""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from typing import Any, Literal

# Observations and actions live in printable ASCII plus newline, tab and carriage return.
CHARSET = "".join(c for c in string.printable if c not in "\x0b\x0c")
_CHARSET_SET = frozenset(CHARSET)
_OUTSIDE = re.compile(r"[^\t\n\r\x20-\x7e]")

TAG_RE = re.compile(r"<(think|trial|call|answer)>(.*?)</\1>", re.S)
OPEN_RE = re.compile(r"<(trial|call|answer)>")
TRUNCATION_MARK = "...[truncated {n} chars]"

SegmentKind = Literal["trial", "call", "answer"]


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    body: str


@dataclass(frozen=True)
class ParsedCall:
    name: str
    arguments: dict[str, Any]


class ParseError(ValueError):
    """The agent's message or a call inside it cannot be understood."""


def sanitize(text: str) -> str:
    """Escape characters outside the charset as ``\\uXXXX`` so observations stay in the space."""
    if text.isascii() and not _OUTSIDE.search(text):
        return text
    return _OUTSIDE.sub(lambda m: f"\\u{ord(m.group()):04x}" if ord(m.group()) < 0x10000
                        else f"\\U{ord(m.group()):08x}", text)


def cap(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters with a visible marker."""
    if len(text) <= limit:
        return text
    mark = TRUNCATION_MARK.format(n=len(text) - limit)
    keep = max(0, limit - len(mark) - 5)
    mark = TRUNCATION_MARK.format(n=len(text) - keep)
    return text[:keep] + mark


def split_segments(text: str) -> tuple[list[Segment], list[str]]:
    """Tagged segments in order, and problems with the tags (unclosed ones)."""
    segments = [Segment(m.group(1), m.group(2)) for m in TAG_RE.finditer(text)
                if m.group(1) != "think"]
    problems = []
    outside = TAG_RE.sub("", text)
    for m in OPEN_RE.finditer(outside):
        problems.append(f"unclosed <{m.group(1)}> tag: close it with </{m.group(1)}>")
        break
    return segments, problems


def thoughts(text: str) -> list[str]:
    """The bodies of the ``<think>`` blocks of a message, in order."""
    return [m.group(2) for m in TAG_RE.finditer(text) if m.group(1) == "think"]


def first_action(text: str) -> tuple[str, str | None, dict[str, Any]] | None:
    """``(body, tool name, arguments)`` of a message's first trial or call (name None and
    no arguments when its body does not parse); None without one."""
    segment = next((s for s in split_segments(text)[0] if s.kind in ("trial", "call")), None)
    if segment is None:
        return None
    try:
        call = parse_call(segment.body)
    except ParseError:
        return segment.body.strip(), None, {}
    return segment.body.strip(), call.name, call.arguments


def parse_call(body: str) -> ParsedCall:
    """Parse ``{"name": ..., "arguments": {...}}``; raise ParseError saying what is wrong."""
    body = body.strip()
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as e:
        snippet = body[max(0, e.pos - 15): e.pos + 15]
        raise ParseError(
            f"malformed JSON at line {e.lineno} column {e.colno} (char {e.pos}): {e.msg}; "
            f"near {snippet!r}. Expected {{\"name\": \"TOOL\", \"arguments\": {{...}}}}"
        ) from None
    except RecursionError:
        raise ParseError("malformed JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise ParseError(f"expected a JSON object with \"name\" and \"arguments\", "
                         f"got {type(obj).__name__}")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise ParseError("missing \"name\": expected {\"name\": \"TOOL\", \"arguments\": {...}}")
    args = obj.get("arguments", obj.get("args", {}))
    if isinstance(args, str):  # OpenAI-style stringified arguments
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as e:
            raise ParseError(f"\"arguments\" is a string that is not JSON: {e.msg}") from None
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ParseError(f"\"arguments\" must be a JSON object, got {type(args).__name__}")
    extra = set(obj) - {"name", "arguments", "args"}
    if extra:
        raise ParseError(f"unexpected keys {sorted(extra)}; put tool parameters inside "
                         f"\"arguments\"")
    return ParsedCall(name, args)


def format_call(name: str, arguments: dict[str, Any], mode: str = "call") -> str:
    """The canonical text of one call, as a teacher writes it."""
    return f"<{mode}>{json.dumps({'name': name, 'arguments': arguments}, ensure_ascii=True)}</{mode}>"


RULES = (
    "Use the tools below. Reply with tags:\n"
    "<trial>{\"name\": \"TOOL\", \"arguments\": {...}}</trial> tests a tool on a copy "
    "(no real effect)\n"
    "<call>{\"name\": \"TOOL\", \"arguments\": {...}}</call> runs a tool for real\n"
    "<answer>...</answer> is the final answer and ends the task\n"
    "Several trials or calls may go in one message; results come in the next message."
)
