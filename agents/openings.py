"""A student's opening messages, parsed for a teacher to go on from (DAgger).

Each message makes exactly one tool call (a trial or a real call); :func:`parse_opening`
reads it and :func:`student_messages` turns a student's messages into
:class:`Attempt` objects that ``recover`` in the teachers replays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tool_gym.protocol import ParseError, parse_call, split_segments

__all__ = ["Attempt", "parse_opening", "student_messages"]


@dataclass
class Attempt:
    """A tool call a message makes: its name, arguments and what kind of attempt it is."""

    name: str
    args: dict[str, Any]
    kind: str  # "correct", "stale_name", "stale_args", "student" or a synthetic mistake kind


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


def student_messages(messages: str | Sequence[str]) -> list[tuple[str, Attempt, str]]:
    """A student's messages to recover from (see ``recover``), each with its one call and
    that call's mode (``trial`` or ``call``); ValueError unless each makes exactly one."""
    texts = [messages] if isinstance(messages, str) else list(messages)
    if not texts:
        raise ValueError("recover needs at least one student message")
    out = []
    for text in texts:
        name, args, mode = parse_opening(text)
        out.append((text, Attempt(name, args, "student"), mode))
    return out
