"""The response lines the env writes, read back through the one parser in tool_gym.protocol."""

from __future__ import annotations

import gymnasium as gym

import tool_gym  # noqa: F401
from tool_gym.protocol import (
    Response,
    format_call,
    format_response,
    parse_json_lenient,
    parse_responses,
)

MALFORMED = '<call>{"name": "get_forecast", "arguments": {"city": </call>'


def _env() -> gym.Env:
    env = gym.make("ToolMaster/Weather-v0", split="test")
    env.reset(seed=0)
    return env


def test_every_kind_of_response_line_parses_back_in_order():
    env = _env()
    message = (MALFORMED + format_call("no_such_tool", {}, "trial")
               + format_call("get_forecast", {"city": "Paris", "date": "2026-06-01"}, "trial"))
    obs, *_ = env.step(message)
    malformed, unknown, ran = parse_responses(obs)
    assert (malformed.mode, malformed.index, malformed.name, malformed.ok) == ("call", 1, None,
                                                                               False)
    assert malformed.malformed and malformed.text.startswith("malformed JSON")
    assert (unknown.mode, unknown.index, unknown.name, unknown.ok) == ("trial", 2,
                                                                       "no_such_tool", False)
    assert unknown.text.startswith("unknown tool")
    assert (ran.mode, ran.index, ran.name) == ("trial", 3, "get_forecast")
    assert ran.ok and isinstance(ran.result(), dict) and ran.value() == ran.result()
    env.close()


def test_format_response_and_parse_responses_round_trip():
    lines = [format_response("call", 1, None, "malformed JSON near 'a -> b'"),
             format_response("trial", 2, "get_x", "unknown tool", ok=False),
             format_response("call", 3, "get_y", '{"a": 1}'), "[error] x", "[turn 1/8]"]
    assert parse_responses("\n".join(lines)) == [
        Response("call", 1, None, False, "malformed JSON near 'a -> b'"),
        Response("trial", 2, "get_x", False, "unknown tool"),
        Response("call", 3, "get_y", True, '{"a": 1}')]


def test_a_truncated_result_reads_leniently_but_not_strictly():
    cut = '{"items": [{"a": 1}, {"a": 2}, {"a": ...[truncated 40 chars]'
    resp = Response("call", 1, "t", True, cut)
    assert resp.result() is None
    assert resp.value() == parse_json_lenient(cut) == {"items": [{"a": 1}, {"a": 2}]}


def test_a_malformed_call_counts_as_rejected():
    """The fix of issue 21's miscount: ``[call 1] ERROR: ...`` (no tool name) used to be
    skipped, so a malformed call was not seen as rejected and a later line was read as its
    answer."""
    from tool_gym.agents.probes import failed_action, resends_failed_call

    env = _env()
    obs, *_ = env.step(MALFORMED)
    failed = failed_action(MALFORMED, obs)
    assert failed is not None and failed[1] is None
    assert resends_failed_call(MALFORMED, obs, MALFORMED)
    # a malformed first call beside a good one: the first answer is the malformed call's
    good = format_call("get_forecast", {"city": "Paris", "date": "2026-06-01"}, "trial")
    obs, *_ = env.step(MALFORMED + good)
    assert failed_action(MALFORMED + good, obs) is not None
    obs, *_ = env.step(good)
    assert failed_action(good, obs) is None
    env.close()
