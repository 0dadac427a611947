"""Property-based fuzzing (Hypothesis) of every registered id: any message, and any
arguments for the shown tools, give an observation in the space, never an exception, and
no exception caught at the env boundary (``internal_errors``).

The default profile (``ci``) runs a small fixed, derandomized budget; the long run is

    HYPOTHESIS_PROFILE=nightly pytest -m fuzz
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
import time

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tool_gym  # noqa: F401
from tool_gym.oracle import unwrap
from tool_gym.protocol import OPEN_RE, TAG_RE, ParseError, parse_call, split_segments
from tool_gym.registration import env_ids
from tool_gym.world import live_sandboxes

_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True,
                          database=None, suppress_health_check=_SLOW)
settings.register_profile("nightly", max_examples=600, deadline=None, database=None,
                          suppress_health_check=_SLOW)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytestmark = pytest.mark.fuzz
ENV_IDS = env_ids()
MAX_STEP_S = 2.0  # the goal is 1 s (benchmarks/fuzz.py); slack for a loaded machine

# -- strategies: protocol-shaped junk ------------------------------------------------------

KINDS = ["think", "trial", "call", "answer"]
tags = st.builds(lambda slash, kind: f"<{slash}{kind}>", st.sampled_from(["", "/"]),
                 st.sampled_from(KINDS))
odd_chars = st.sampled_from(["\x00", "\x1b", "\x7f", "\u202e", "\ufeff", "\ud800", "\udfff",
                             "\U0001f600", "\n", "\t", "\r", "<", ">", "{", '"', "\\"])
junk_text = st.text(max_size=30) | st.lists(odd_chars, max_size=10).map("".join)
numbers = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=4290, max_value=7000).map(lambda n: "9" * n),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from([str(2**53 - 1), str(2**53), str(2**63), f"-{2**63}", "1e308", "-1e308",
                     "1e400", "-1e400", "5e-324", "1e-400", "NaN", "Infinity", "-Infinity",
                     "-0", "1E+2"]),
)
json_strings = st.one_of(
    st.text(max_size=30).map(json.dumps),
    st.sampled_from(['"\\ud800"', '"x\\udfff"', '"\\u0000"', '"\\u202e"', '"\\ud83d\\ude00"',
                     '"../../etc/passwd"', '"/etc/passwd"', '"a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a"',
                     '"SELECT length(zeroblob(999999999))"', '"REINDEX"',
                     '"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) '
                     'SELECT count(*) FROM c"']),
    st.integers(1000, 7000).map(lambda n: json.dumps("y" * n)),
)
scalars = numbers | json_strings | st.sampled_from(["true", "false", "null"])


def _array(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"


json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4).map(_array)
    | st.lists(st.tuples(json_strings, inner), max_size=4).map(_object), max_leaves=12)
deep_json = st.builds(lambda d, obj: ('{"a": ' * d + "1" + "}" * d) if obj
                      else ("[" * d + "]" * d), st.integers(20, 3000), st.booleans())
floods = st.builds(lambda unit, n: unit * n, tags | st.sampled_from(["<call>{", "<a"]),
                   st.integers(1, 1500))


def call_bodies(names: list[str]) -> st.SearchStrategy[str]:
    name = st.sampled_from(names or ["x"]) | st.text(max_size=20)
    wrapped = st.builds(lambda n, args: f'{{"name": {json.dumps(n)}, "arguments": {args}}}',
                        name, json_values | deep_json)
    return wrapped | json_values | deep_json | junk_text


def messages(names: list[str]) -> st.SearchStrategy[str]:
    segment = st.builds(lambda kind, body, close: f"<{kind}>{body}" + (f"</{kind}>" if close
                                                                         else ""),
                        st.sampled_from(KINDS), call_bodies(names), st.booleans())
    parts = st.one_of(tags, junk_text, segment, floods)
    return st.lists(parts, max_size=8).map("".join)


# -- strategies: schema-shaped arguments with wrong types and extreme values ---------------

def values_for(schema: dict) -> st.SearchStrategy[str]:
    """JSON text for one parameter: right-looking, wrongly typed or extreme."""
    options = [json_values, numbers, json_strings]
    if schema.get("enum"):
        enum = [v for v in schema["enum"] if isinstance(v, (str, int, float))]
        if enum:
            options.append(st.sampled_from(enum).map(json.dumps))
            options.append(st.sampled_from(enum).map(lambda v: json.dumps(str(v).upper())))
    kind = schema.get("type")
    if kind in ("integer", "number"):
        options.append(st.integers(-(2**60), 2**60).map(str))
    if kind == "string":
        options.append(st.text(max_size=60).map(json.dumps))
    return st.one_of(options)


@st.composite
def tool_calls(draw, tools: list[dict]) -> str:
    """One message of 1-3 trials or calls of shown tools, arguments per their schemas."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        fn = draw(st.sampled_from(tools))["function"] if tools else {"name": "x"}
        props = fn.get("parameters", {}).get("properties", {})
        pairs = [(json.dumps(p), draw(values_for(schema), label=p))
                 for p, schema in props.items() if draw(st.booleans()) or draw(st.booleans())]
        if draw(st.integers(0, 9)) == 0:
            pairs.append(('"unexpected"', draw(scalars)))
        mode = draw(st.sampled_from(["trial", "call"]))
        out.append(f'<{mode}>{{"name": {json.dumps(fn["name"])}, "arguments": '
                   f"{_object(pairs)}}}</{mode}>")
    return "".join(out)


# -- the env side --------------------------------------------------------------------------

class Envs:
    """One env per id for the whole module, reset to the same seed before each example."""

    def __init__(self) -> None:
        gc.collect()
        self.sandboxes_before = set(live_sandboxes())
        self.made: dict[str, tuple[gym.Env, list[dict]]] = {}

    def get(self, env_id: str) -> tuple[gym.Env, list[dict]]:
        if env_id not in self.made:
            env = gym.make(env_id, max_turns=50)
            _, info = env.reset(seed=0)
            self.made[env_id] = (env, info["tools"])
        env, tools = self.made[env_id]
        env.reset(seed=0)
        return env, tools

    def close(self) -> None:
        for env, _ in self.made.values():
            env.close()
        self.made.clear()


@pytest.fixture(scope="module")
def envs():
    made = Envs()
    yield made
    made.close()


def _step(env: gym.Env, action: str) -> None:
    base = unwrap(env)
    t0 = time.perf_counter()
    obs, reward, terminated, truncated, info = env.step(action)
    assert time.perf_counter() - t0 < MAX_STEP_S, action[:200]
    assert base.observation_space.contains(obs), (action[:200], obs[:200])
    assert math.isfinite(reward) and (reward <= 0.0 or terminated)
    assert set(info["reward_terms"]) >= {"success", "malformed", "failed_call"}
    assert "internal_errors" not in info and base.internal_errors == 0, (action[:200], obs)


@pytest.mark.parametrize("env_id", ENV_IDS)
@given(data=st.data())
def test_any_message_gets_an_observation_never_an_exception(envs, env_id, data):
    env, tools = envs.get(env_id)
    _step(env, data.draw(messages([t["function"]["name"] for t in tools]), label="action"))


@pytest.mark.parametrize("env_id", ENV_IDS)
@given(data=st.data())
def test_any_arguments_for_the_shown_tools_get_an_observation(envs, env_id, data):
    env, tools = envs.get(env_id)
    _step(env, data.draw(tool_calls(tools), label="action"))


def test_fuzzing_leaves_no_sandbox_behind(envs):
    """Runs after the fuzz tests above (module order): every fork and world is gone."""
    envs.get("ToolMaster/Files-v0")
    envs.close()
    gc.collect()
    assert set(live_sandboxes()) <= envs.sandboxes_before


# -- the parser alone ----------------------------------------------------------------------

def _reference_split(text: str) -> tuple[list[tuple[str, str]], bool]:
    """The former (quadratic) regex parse, as the specification of the linear one."""
    segments = [(m.group(1), m.group(2)) for m in TAG_RE.finditer(text) if m.group(1) != "think"]
    return segments, OPEN_RE.search(TAG_RE.sub("", text)) is not None


@given(st.lists(tags | st.sampled_from(["x", "<", ">", "/", "tr", "ial>", "<tr", " "]),
                max_size=30).map("".join))
def test_linear_tag_parsing_matches_the_regex_it_replaced(text):
    segments, problems = split_segments(text)
    expected, unclosed = _reference_split(text)
    assert [(s.kind, s.body) for s in segments] == expected
    assert bool(problems) == unclosed


@given(st.one_of(json_values, deep_json, junk_text, call_bodies(["get_forecast"])))
def test_parse_call_raises_only_parse_errors(body):
    try:
        call = parse_call(body)
    except ParseError as e:
        assert str(e)
        return
    assert isinstance(call.name, str) and isinstance(call.arguments, dict)
    json.dumps(call.arguments)  # what the env records and echoes must serialise
    assert not re.search(r"[\ud800-\udfff]", json.dumps(call.arguments, ensure_ascii=False))
