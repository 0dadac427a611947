"""ToolSpec, the @tool decorator, and the text protocol."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest

from tool_gym import SpecError, ToolSpec, tool
from tool_gym.protocol import CHARSET, ParseError, cap, parse_call, sanitize, split_segments


@tool(side_effects=True)
def book(world, city: str, nights: int, room: Literal["single", "double"] = "single",
         date: Annotated[str, {"pattern": r"^\d{4}-\d{2}-\d{2}$"}] = "2026-01-01",
         guests: list[str] | None = None) -> dict:
    """Book a hotel room.

    Args:
        city: Where to stay.
        nights: How many nights.
        room: Room type.
        date: Arrival as YYYY-MM-DD.
        guests: Names of the guests.
    """
    return {"city": city}


def test_tool_decorator_builds_schema_from_signature_and_docstring():
    assert book.name == "book" and book.side_effects
    assert book.description == "Book a hotel room."
    props = book.parameters["properties"]
    assert props["nights"]["type"] == "integer"
    assert props["room"]["enum"] == ["single", "double"]
    assert props["date"]["pattern"].startswith("^")
    assert props["guests"]["type"] == ["array", "null"]
    assert props["city"]["description"] == "Where to stay."
    assert book.required == ["city", "nights"]
    assert book.signature().startswith("book(city: str, nights: int, room?: single|double")


def test_validation_names_path_rule_and_fix():
    assert book.validate({"city": "Oslo", "nights": 2}) is None
    msg = book.validate({"city": "Oslo", "nights": "two"})
    assert "'nights'" in msg and "type" in msg
    msg = book.validate({"city": "Oslo"})
    assert "required" in msg and "city, nights" in msg
    msg = book.validate({"city": "Oslo", "nights": 1, "pets": 2})
    assert "unknown parameter 'pets'" in msg and "parameters: city, nights, room" in msg
    assert "enum" in book.validate({"city": "Oslo", "nights": 1, "room": "suite"})


def test_drifted_and_undrifted_tools_word_schema_errors_the_same_way():
    """One wording whatever layer made the spec, so an error never tells what drifted."""
    from tool_gym.drift import derive

    drifted = derive(book)
    for bad in ({"city": "Oslo"}, {"city": "Oslo", "nights": 1, "pets": 2},
                {"city": "Oslo", "nights": "two", "room": "suite"}, {"nights": 2, "x": 1}):
        assert drifted.validate(bad) == book.validate(bad) is not None, bad


def test_openai_round_trip():
    entry = book.to_openai()
    assert entry["type"] == "function" and entry["function"]["name"] == "book"
    back = ToolSpec.from_openai(entry, fn=book.fn, side_effects=True)
    assert back == book
    assert ToolSpec.from_openai(entry["function"]).parameters == book.parameters


def test_bad_specs_are_refused():
    with pytest.raises(SpecError):
        ToolSpec("x", "", {"type": "array"})
    with pytest.raises(SpecError):
        @tool
        def untyped(world, a) -> None:
            """No type."""


@pytest.mark.parametrize("body, needle", [
    ("{", "malformed JSON at line 1 column 2"),
    ("[1, 2]", "expected a JSON object"),
    ('{"arguments": {}}', "missing \"name\""),
    ('{"name": "x", "arguments": [1]}', "must be a JSON object"),
    ('{"name": "x", "city": "Oslo"}', "inside \"arguments\""),
    ("[" * 100000, "malformed JSON"),
])
def test_parse_call_errors_say_what_is_wrong(body, needle):
    with pytest.raises(ParseError, match=None) as e:
        parse_call(body)
    assert needle in str(e.value)


def test_parse_call_accepts_stringified_arguments():
    assert parse_call('{"name": "x", "arguments": "{\\"a\\": 1}"}').arguments == {"a": 1}


def test_segments_in_order_and_unclosed_tags_reported():
    segs, problems = split_segments("<think>x</think><trial>a</trial> <call>b</call><answer>c</answer>")
    assert [s.kind for s in segs] == ["trial", "call", "answer"] and not problems
    segs, problems = split_segments("<call>{}")
    assert not segs and "unclosed <call>" in problems[0]


def test_sanitize_and_cap_keep_text_in_the_charset():
    text = sanitize("caf\u00e9 \x00 \U0001f600 ok")
    assert set(text) <= set(CHARSET) and "\\u00e9" in text and "\\U0001f600" in text
    capped = cap("x" * 1000, 100)
    assert len(capped) <= 100 and "truncated" in capped
