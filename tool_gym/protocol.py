"""The text protocol: parsing agent messages into tagged segments, and the prompt rules."""

from __future__ import annotations

import json
import math
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


# TAG_RE rescans the rest of the text once per opening tag left unclosed: at most
# count("<") * len(text) characters. Under this budget it is the faster parse (C), as for
# the usual message; above it the linear scan of _tagged runs.
_REGEX_BUDGET = 50_000


def _regex_is_cheap(text: str) -> bool:
    return text.count("<") * len(text) <= _REGEX_BUDGET
_CLOSE_RE = re.compile(r"</(think|trial|call|answer)>")
_OPEN_RES = {}  # kinds that have a closing tag -> the regex of their opening tags


def _tagged(text: str) -> tuple[list[tuple[str, str]], str]:
    """``(kind, body)`` of every closed tag, and the text outside them.

    The same matches as ``TAG_RE.finditer`` (each opening tag pairs with the first closing
    tag of its kind after it; an opening tag without one is skipped), found in linear
    time: ``TAG_RE`` rescans to the end of the text for every unclosed opening tag, which
    is quadratic in a flood of them.
    """
    if _regex_is_cheap(text):
        return ([(m.group(1), m.group(2)) for m in TAG_RE.finditer(text)],
                TAG_RE.sub("", text))
    closes: dict[str, list[int]] = {}
    for m in _CLOSE_RE.finditer(text):
        closes.setdefault(m.group(1), []).append(m.start())
    if not closes:  # the common case of a flood: nothing can match
        return [], text
    kinds = tuple(sorted(closes))
    open_re = _OPEN_RES.get(kinds)
    if open_re is None:
        open_re = _OPEN_RES[kinds] = re.compile(f"<({'|'.join(kinds)})>")
    nxt = dict.fromkeys(kinds, 0)  # per kind, the first closing tag not yet passed
    found: list[tuple[str, str]] = []
    outside: list[str] = []
    search = open_re.search
    pos = 0  # end of the last match
    m = search(text)
    while m is not None:
        kind, start, end = m.group(1), m.start(), m.end()
        spans, i = closes[kind], nxt[kind]
        while i < len(spans) and spans[i] < end:
            i += 1
        nxt[kind] = i
        if i == len(spans):  # unclosed: the regex would move on by one character
            m = search(text, start + 1)
            continue
        close = spans[i]
        found.append((kind, text[end:close]))
        outside.append(text[pos:start])
        pos = close + len(kind) + 3
        m = search(text, pos)
    outside.append(text[pos:])
    return found, "".join(outside)


def split_segments(text: str) -> tuple[list[Segment], list[str]]:
    """Tagged segments in order, and problems with the tags (unclosed ones). Linear time."""
    if _regex_is_cheap(text):
        segments = [Segment(m.group(1), m.group(2)) for m in TAG_RE.finditer(text)
                    if m.group(1) != "think"]
        outside = TAG_RE.sub("", text)
    else:
        found, outside = _tagged(text)
        segments = [Segment(kind, body) for kind, body in found if kind != "think"]
    problems = []
    m = OPEN_RE.search(outside)
    if m:
        problems.append(f"unclosed <{m.group(1)}> tag: close it with </{m.group(1)}>")
    return segments, problems


def thoughts(text: str) -> list[str]:
    """The bodies of the ``<think>`` blocks of a message, in order."""
    return [body for kind, body in _tagged(text)[0] if kind == "think"]


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


# Integers beyond I-JSON's interoperable range (RFC 7493) are refused before any backend
# sees them: SQLite, numpy and float arithmetic all fail on larger ones.
MAX_JSON_INT = 2**53 - 1
MAX_JSON_DEPTH = 32


def _parse_int(digits: str) -> int:
    # Checked on the digit string first: int() of more than 4300 digits raises ValueError.
    if len(digits) > 17 or abs(value := int(digits)) > MAX_JSON_INT:
        shown = digits if len(digits) <= 20 else f"{digits[:12]}... ({len(digits)} digits)"
        raise ParseError(f"integer {shown} is out of range: integers must lie within "
                         f"+-{MAX_JSON_INT}")
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        shown = text if len(text) <= 20 else f"{text[:12]}... ({len(text)} characters)"
        raise ParseError(f"number {shown} is out of range for a 64-bit float")
    return value


def _parse_constant(name: str) -> Any:
    raise ParseError(f"{name} is not valid JSON; send a finite number or a string")


# One decoder, built once (json.loads(..., parse_int=...) builds one per call).
_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float,
                            parse_constant=_parse_constant)


def _loads(text: str) -> Any:
    """``json.loads`` with every failure a ParseError: bad syntax, extreme numbers, NaN,
    nesting deeper than ``MAX_JSON_DEPTH``, lone surrogates in strings."""
    try:
        obj = _DECODER.decode(text)
    except json.JSONDecodeError as e:
        snippet = text[max(0, e.pos - 15): e.pos + 15]
        raise ParseError(
            f"malformed JSON at line {e.lineno} column {e.colno} (char {e.pos}): {e.msg}; "
            f"near {snippet!r}. Expected {{\"name\": \"TOOL\", \"arguments\": {{...}}}}"
        ) from None
    except RecursionError:
        raise ParseError("malformed JSON: nested too deeply") from None
    # Only text with non-ASCII characters, \u escapes or many brackets can hold a
    # surrogate or nest too deeply: the walk is skipped for the usual call.
    if (not text.isascii() or "\\u" in text
            or text.count("[") + text.count("{") > MAX_JSON_DEPTH):
        problem = _value_problem(obj)
        if problem is not None:
            raise ParseError(problem)
    return obj


def _value_problem(obj: Any) -> str | None:
    """A lone surrogate or nesting past ``MAX_JSON_DEPTH`` in a parsed value, or None.
    Iterative, so that no depth can exhaust the stack here or later (jsonschema,
    json.dumps of the record)."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii():
                try:
                    value.encode("utf-8")  # SQLite and the OS need valid UTF-8
                except UnicodeEncodeError as e:
                    return (f"a string holds a lone surrogate ({value[e.start]!r}); send "
                            "valid Unicode")
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(value, dict):
                stack.extend((k, depth) for k in value)
                value = value.values()
            stack.extend((v, depth + 1) for v in value)
    return None


def parse_call(body: str) -> ParsedCall:
    """Parse ``{"name": ..., "arguments": {...}}``; raise ParseError saying what is wrong."""
    body = body.strip()
    obj = _loads(body)
    if not isinstance(obj, dict):
        raise ParseError(f"expected a JSON object with \"name\" and \"arguments\", "
                         f"got {type(obj).__name__}")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise ParseError("missing \"name\": expected {\"name\": \"TOOL\", \"arguments\": {...}}")
    args = obj.get("arguments", obj.get("args", {}))
    if isinstance(args, str):  # OpenAI-style stringified arguments
        try:
            args = _loads(args) if args.strip() else {}
        except ParseError as e:
            raise ParseError(f"\"arguments\" is a string that is not JSON: {e}") from None
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


# -- responses: the lines the env writes back -------------------------------------------
#
# After each message the env writes one line per trial or call, in order:
#   [call 1] get_forecast -> {"temp_c": 21}         the tool's result (JSON, maybe truncated)
#   [trial 2] get_forecast -> ERROR: unknown tool   the tool (or the schema) refused it
#   [call 3] ERROR: malformed JSON at line 1 ...    the call's JSON did not parse: no name
# then ``[error] ...`` lines for problems with the message, and ``[done] ...`` or
# ``[turn k/n]``. Every reader of observations (teachers, the explorer, rollouts, the
# viewer) parses them with :func:`parse_responses`.

ERROR_MARK = "ERROR: "
_RESPONSE_LINE = re.compile(r"^\[(trial|call) ([0-9]+)\] (.*)$")
_TRUNCATED_END = re.compile(r"\.\.\.\[truncated [0-9]+ chars\]$")
TURN_RE = re.compile(r"\[turn ([0-9]+)/([0-9]+)\]")


@dataclass(frozen=True)
class Response:
    """One response line: the env's answer to the ``index``-th trial or call of a message.

    Attributes:
        mode: ``"trial"`` or ``"call"``.
        index: 1-based place among the message's trials and calls.
        name: The tool name as the agent wrote it; None when the call's JSON did not parse.
        ok: The tool ran (``text`` is its result); False: ``text`` is the error.
        text: The result as JSON (cut with a truncation marker when long) or the error.
    """

    mode: str
    index: int
    name: str | None
    ok: bool
    text: str

    @property
    def malformed(self) -> bool:
        """The call could not be parsed, so no tool was named or run."""
        return self.name is None

    def result(self) -> Any:
        """The result parsed as JSON; None when it is an error or was truncated."""
        if not self.ok:
            return None
        try:
            return json.loads(self.text)
        except json.JSONDecodeError:
            return None

    def value(self) -> Any:
        """The result read leniently (:func:`parse_json_lenient`); None when an error."""
        return parse_json_lenient(self.text) if self.ok else None


def format_response(mode: str, index: int, name: str | None, text: str,
                    ok: bool = True) -> str:
    """The line answering one trial or call (``name`` None: its JSON did not parse)."""
    if name is None:
        return f"[{mode} {index}] {ERROR_MARK}{text}"
    return f"[{mode} {index}] {name} -> {'' if ok else ERROR_MARK}{text}"


def parse_responses(obs: str) -> list[Response]:
    """The response lines of an observation, in order (malformed calls included)."""
    out = []
    for line in obs.splitlines():
        m = _RESPONSE_LINE.match(line)
        if not m:
            continue
        mode, index, rest = m.group(1), int(m.group(2)), m.group(3)
        if rest.startswith(ERROR_MARK):
            out.append(Response(mode, index, None, False, rest[len(ERROR_MARK):]))
            continue
        name, sep, body = rest.partition(" -> ")
        if not sep:
            continue
        ok = not body.startswith(ERROR_MARK)
        out.append(Response(mode, index, name, ok, body if ok else body[len(ERROR_MARK):]))
    return out


def parse_json_lenient(text: str) -> Any:
    """JSON, or the longest complete prefix of JSON cut by the env's truncation marker
    (:func:`cap`); the text itself when no prefix parses."""
    text = _TRUNCATED_END.sub("", text.strip())
    try:
        return json.loads(text)
    except ValueError:
        pass
    stack: list[str] = []
    cuts: list[tuple[int, list[str]]] = []
    in_str = esc = False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif ch in "]}":
            if stack:
                stack.pop()
        elif ch == "," and stack:
            cuts.append((i, list(stack)))
    for i, st in reversed(cuts[-20:]):
        try:
            return json.loads(text[:i] + "".join(reversed(st)))
        except ValueError:
            continue
    return text
