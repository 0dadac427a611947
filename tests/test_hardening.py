"""Regression tests for every failure class of issue 20: no exception out of ``step``,
bounded time and memory per step, no sandbox left behind."""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import subprocess
import sys
import time

import gymnasium as gym
import pytest

import tool_gym  # noqa: F401
from tool_gym import SandboxWorld, SQLiteWorld, ToolError
from tool_gym.drift import Scale
from tool_gym.oracle import unwrap
from tool_gym.protocol import MAX_JSON_INT, ParseError, parse_call, split_segments
from tool_gym.world import first_keyword, live_sandboxes, remove_tree


def _env(env_id: str, **kwargs):
    env = gym.make(env_id, **({"max_turns": 50} | kwargs))
    env.reset(seed=0)
    return env


def _call(name: str, args_json: str, mode: str = "call") -> str:
    return f'<{mode}>{{"name": "{name}", "arguments": {args_json}}}</{mode}>'


def _step_ok(env, action: str) -> tuple[str, float, dict]:
    """One step that must answer with an observation in the space and catch no env bug."""
    obs, reward, _, _, info = env.step(action)
    base = unwrap(env)
    assert base.observation_space.contains(obs)
    assert base.internal_errors == 0, obs
    return obs, reward, info


def _deep_tree(root, levels: int) -> None:
    """Nest ``levels`` folders under ``root`` (not through pathlib: it recurses)."""
    fd = os.open(root, os.O_RDONLY)
    for _ in range(levels):
        os.mkdir("z", dir_fd=fd)
        child = os.open("z", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)


# -- parse limits: digits, range, NaN, nesting, surrogates ----------------------------------

@pytest.mark.parametrize("number", ["9" * 4301, "9" * 6000, "-" + "1" * 5000, str(2**63),
                                    str(MAX_JSON_INT + 1), "1e400", "-1e400", "NaN",
                                    "Infinity", "-Infinity"])
def test_extreme_json_numbers_are_parse_errors_in_every_env(number):
    with pytest.raises(ParseError, match="out of range|not valid JSON"):
        parse_call(f'{{"name": "x", "arguments": {{"v": {number}}}}}')
    env = _env("ToolMaster/Weather-v0")
    obs, reward, info = _step_ok(env, _call("get_forecast", f'{{"city": {number}}}'))
    assert "ERROR" in obs and info["reward_terms"]["malformed"] < 0
    env.close()


def test_numbers_in_range_still_parse():
    args = parse_call(f'{{"name": "x", "arguments": {{"a": {MAX_JSON_INT}, "b": 1e308, '
                      f'"c": -0.5}}}}').arguments
    assert args == {"a": MAX_JSON_INT, "b": 1e308, "c": -0.5}


def test_stringified_arguments_get_the_same_limits():
    body = json.dumps({"name": "x", "arguments": '{"v": ' + "9" * 5000 + "}"})
    with pytest.raises(ParseError, match="out of range"):
        parse_call(body)


@pytest.mark.parametrize("depth", [33, 900, 5000, 100_000])
def test_deep_json_is_a_parse_error(depth):
    with pytest.raises(ParseError, match="nested|deeper"):
        parse_call('{"name": "x", "arguments": {"v": ' + "[" * depth + "]" * depth + "}}")


@pytest.mark.parametrize("env_id,name,key", [
    ("ToolMaster/SQLDatabase-v0", "run_sql", "query"),
    ("ToolMaster/Files-v0", "read_file", "path"),
    ("ToolMaster/Files-v0", "write_file", "path"),
])
@pytest.mark.parametrize("escaped", [True, False])
def test_lone_surrogates_never_reach_sql_or_files(env_id, name, key, escaped):
    value = '"a\\ud800b"' if escaped else '"a\ud800b"'
    extra = ', "content": "x"' if name == "write_file" else ""
    env = _env(env_id)
    obs, _, info = _step_ok(env, _call(name, f'{{"{key}": {value}{extra}}}'))
    assert "surrogate" in obs and info["reward_terms"]["malformed"] < 0
    env.close()


# -- linear-time parsing --------------------------------------------------------------------

def test_a_1mb_flood_of_opening_tags_parses_in_under_a_second():
    env = gym.make("ToolMaster/Weather-v0", max_action_chars=1_100_000)
    env.reset(seed=0)
    for flood in ("<trial>" * 150_000, "<call>" * 170_000 + "</call>",
                  "<trial>" * 140_000 + "</call>" + "<answer>" * 3):
        t0 = time.perf_counter()
        obs, *_ = env.step(flood)
        assert time.perf_counter() - t0 < 1.0
        assert "[error]" in obs or "[call 1]" in obs
    env.close()


def test_split_segments_keeps_its_meaning():
    text = "<think>t</think><trial>a</trial> <call><call>b</call></call><answer>c"
    segments, problems = split_segments(text)
    assert [(s.kind, s.body) for s in segments] == [("trial", "a"), ("call", "<call>b")]
    assert problems == ["unclosed <answer> tag: close it with </answer>"]
    # Removing a closed tag can join an opening tag: still reported, as before.
    assert split_segments("<tr<think>x</think>ial>")[1]


# -- SQLite: length caps, statement kinds, time ---------------------------------------------

@pytest.mark.parametrize("sql,error", [
    ("SELECT length(zeroblob(999999999))", "too big"),
    ("SELECT length(hex(randomblob(200000000)))", "too big"),
    ("SELECT length(replace(hex(zeroblob(400000)), '0', '0000'))", "too big"),
    ("SELECT length(printf('%.*c', 999999999, 'x'))", "printf() is not allowed"),
    ("SELECT length(format('%.*c', 999999999, 'x'))", "format() is not allowed"),
])
def test_single_huge_sql_functions_are_refused_quickly(sql, error):
    env = _env("ToolMaster/SQLDatabase-v0")
    t0 = time.perf_counter()
    obs, _, info = _step_ok(env, _call("run_sql", json.dumps({"query": sql})))
    assert time.perf_counter() - t0 < 1.0
    assert error in obs and info["reward_terms"]["failed_call"] < 0
    env.close()


@pytest.mark.parametrize("sql", ["REINDEX", "DROP TABLE IF EXISTS nope", "ANALYZE", "VACUUM",
                                 "/* c */ -- c\n DETACH x", "EXPLAIN SELECT 1", "BEGIN"])
def test_read_only_sql_refuses_statements_that_are_not_reads(sql):
    db = SQLiteWorld("CREATE TABLE t(id INTEGER);")
    with pytest.raises(ToolError, match="not allowed"):
        db.query(sql)
    assert db.query("/* why */ -- note\n select 1")["rows"] == [[1]]
    db.close()


def test_first_keyword_skips_comments_in_linear_time():
    assert first_keyword("  /* a */ -- b\n\tWith x AS (SELECT 1) SELECT 1") == "WITH"
    assert first_keyword("/* unterminated") == ""
    t0 = time.perf_counter()
    first_keyword("/*/*" * 100_000 + " " * 100_000)
    assert time.perf_counter() - t0 < 0.5


def test_sql_time_limit_still_stops_long_queries():
    db = SQLiteWorld("CREATE TABLE t(id INTEGER);", time_limit_s=0.1)
    t0 = time.perf_counter()
    with pytest.raises(ToolError, match="stopped"):
        db.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                 "SELECT count(*) FROM c")
    assert time.perf_counter() - t0 < 1.0
    db.close()


@pytest.mark.parametrize("args", ['{"table": "employees", "row_id": 9223372036854775808}',
                                  '{"table": "employees", "row_id": 9007199254740991}',
                                  '{"table": "salaries", "row_id": 1, "column": "amount", '
                                  '"value": "' + "9" * 5000 + '"}'])
def test_huge_integers_never_reach_sqlite(args):
    env = _env("ToolMaster/SQLDatabase-v0")
    name = "update_row" if "column" in args else "get_row"
    obs, *_ = _step_ok(env, _call(name, args))
    assert "ERROR" in obs
    env.close()


@pytest.mark.parametrize("env_id", ["ToolMaster/Banking-v0", "ToolMaster/Transit-v0",
                                    "ToolMaster/Shopping-v0", "ToolMaster/SQLDatabase-v0"])
def test_every_integer_parameter_takes_extreme_values(env_id):
    env = _env(env_id)
    tools = unwrap(env).episode.surface.catalogue()
    for spec in tools:
        for pname, schema in spec.parameters.get("properties", {}).items():
            if schema.get("type") not in ("integer", "number"):
                continue
            for value in (MAX_JSON_INT, -MAX_JSON_INT, 1e308, -1e308, 5e-324):
                _step_ok(env, _call(spec.name, json.dumps({pname: value})))
                env.reset(seed=0)
    env.close()


# -- drift adapters -------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1e308, -1.7e308, float(2**60)])
def test_unit_and_cents_adapters_refuse_values_out_of_range(value):
    for scale in (Scale(100.0, integer=True), Scale(1.609344), Scale(5 / 9, -160 / 9, True)):
        with pytest.raises(ToolError, match="out of range"):
            scale(value * 10 if abs(value) < 1e300 else value * 1.7)
    assert Scale(100.0, integer=True)(12.34) == 1234


def test_a_drifted_unit_with_an_extreme_value_is_an_error_observation():
    env = gym.make("ToolMaster/Travel-Drift-v0", mutations=[
        {"kind": "change_format", "tool": "nearby_cities", "param": "radius_km",
         "format": "unit:km->mi"}])
    env.reset(seed=0)
    obs, _, info = _step_ok(env, _call("nearby_cities",
                                       '{"city": "Paris", "radius_miles": 1.7e308}'))
    assert "out of range" in obs and info["reward_terms"]["failed_call"] < 0
    env.close()


# -- file sandboxes: depth and size limits, forks, cleanup ----------------------------------

def test_files_refuse_paths_and_moves_deeper_than_the_limit():
    env = _env("ToolMaster/Files-v0")
    deep = "/".join(["d"] * SandboxWorld.MAX_DEPTH)
    obs, *_ = _step_ok(env, _call("write_file", json.dumps({"path": deep, "content": "x"})))
    assert "written" in obs
    obs, *_ = _step_ok(env, _call("write_file", json.dumps({"path": deep + "/f", "content": "x"})))
    assert "nested too deeply" in obs
    obs, *_ = _step_ok(env, _call("move_file", '{"src": "d", "dst": "notes/"}'))
    assert "levels deep" in obs
    env.close()


def test_a_fork_of_a_too_deep_world_fails_cleanly_and_leaves_nothing():
    env = _env("ToolMaster/Files-v0")
    _deep_tree(unwrap(env).episode.world.root, 1200)  # deeper than copytree could recurse
    before = live_sandboxes()
    obs, *_ = _step_ok(env, _call("write_file", '{"path": "a.txt", "content": "x"}', "trial"))
    assert "too deep to copy" in obs
    assert live_sandboxes() == before
    env.close()
    assert not [p for p in live_sandboxes() if p in before]


def test_a_fork_over_the_entry_limit_fails_cleanly(monkeypatch):
    world = SandboxWorld({f"f{i}.txt": "x" for i in range(30)})
    monkeypatch.setattr(SandboxWorld, "MAX_ENTRIES", 20)
    before = live_sandboxes()
    with pytest.raises(ToolError, match="too large"):
        world.fork()
    assert live_sandboxes() == before
    world.close()


def test_remove_tree_removes_trees_deeper_than_the_path_limit(tmp_path):
    root = tmp_path / "deep"
    root.mkdir()
    _deep_tree(root, 3000)  # paths of 6000+ characters: beyond PATH_MAX
    remove_tree(str(root))
    assert not os.listdir(tmp_path)


def test_sandboxes_are_removed_on_close_gc_and_interpreter_exit():
    before = set(live_sandboxes())
    world = SandboxWorld({"a.txt": "x"})
    clone = world.fork()
    assert len(set(live_sandboxes()) - before) == 2
    world.close()
    del clone
    gc.collect()
    assert set(live_sandboxes()) == before
    code = ("from tool_gym import SandboxWorld; w = SandboxWorld({'a/b.txt': 'x'}); "
            "print(w.root); f = w.fork(); print(f.root)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert len(out) == 2 and not any(os.path.exists(p) for p in out)


# -- the env boundary: an unexpected exception is logged, never raised ----------------------

def test_a_backend_bug_becomes_an_error_observation_and_the_env_goes_on(monkeypatch, caplog):
    env = _env("ToolMaster/Weather-v0")
    base = unwrap(env)
    backend = base.domain.tool_map["get_forecast"]

    def broken(world, **kwargs):
        raise KeyError("bug")

    monkeypatch.setattr(backend, "fn", broken)
    with caplog.at_level(logging.ERROR, logger="tool_gym.env"):
        obs, reward, term, trunc, info = env.step(
            _call("get_forecast", '{"city": "Paris", "date": "2026-06-01"}'))
    assert "KeyError" in obs and "bug in the environment" in obs
    assert info["internal_errors"] == 1 and base.internal_errors == 1
    assert info["reward_terms"]["failed_call"] < 0 and not (term or trunc)
    assert any("internal error" in r.getMessage() for r in caplog.records)
    obs, *_ = env.step("<answer>done</answer>")
    assert "[done]" in obs
    env.close()


def test_a_checker_bug_scores_a_failure_and_is_logged(monkeypatch, caplog):
    env = _env("ToolMaster/Weather-v0")
    base = unwrap(env)

    def broken(answer, world):
        raise OverflowError("bug")

    monkeypatch.setattr(base.episode.task, "check", broken)
    with caplog.at_level(logging.ERROR, logger="tool_gym.env"):
        obs, reward, term, _, info = env.step("<answer>1e999</answer>")
    assert term and info["success"] is False and info["internal_errors"] == 1
    assert math.isfinite(reward)
    assert caplog.records


def test_a_bug_anywhere_in_step_still_answers_with_an_observation(monkeypatch):
    env = _env("ToolMaster/Weather-v0", max_turns=2)
    base = unwrap(env)

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(base, "_run_segment", broken)
    obs, reward, term, trunc, info = env.step(_call("get_forecast", "{}"))
    assert base.observation_space.contains(obs) and "RuntimeError" in obs
    assert info["reward_terms"]["malformed"] < 0 and not (term or trunc)
    obs, reward, term, trunc, info = env.step(_call("get_forecast", "{}"))
    assert trunc and info["success"] is False
    env.close()


def test_a_message_of_many_slow_queries_stays_within_the_step_budget():
    env = _env("ToolMaster/SQLDatabase-v0")
    slow = json.dumps({"query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                                "FROM c) SELECT count(*) FROM c"})
    t0 = time.perf_counter()
    obs, _, info = _step_ok(env, _call("run_sql", slow) * 8)
    assert time.perf_counter() - t0 < unwrap(env).MAX_STEP_S + 0.2
    assert "time budget" in obs and obs.count("query stopped") <= 4
    env.close()


def test_write_file_refuses_new_files_once_the_workspace_is_full(monkeypatch):
    monkeypatch.setattr(SandboxWorld, "MAX_ENTRIES", 5)
    env = _env("ToolMaster/Files-v0")
    obs, *_ = _step_ok(env, _call("write_file", '{"path": "n/a.txt", "content": "x"}'))
    assert "written" in obs
    obs, *_ = _step_ok(env, _call("write_file", '{"path": "m/o/p/b.txt", "content": "x"}'))
    assert "workspace is full" in obs
    obs, *_ = _step_ok(env, _call("write_file", '{"path": "n/a.txt", "content": "y"}'))
    assert "written" in obs  # overwriting is always allowed
    env.close()
