"""MCP servers as envs: a real server (tests/mcp_notes_server.py, written with the SDK) in a
subprocess, over stdio and streamable HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pytest

pytest.importorskip("mcp")

import tool_gym  # noqa: E402
from tool_gym.env import ToolEnv  # noqa: E402
from tool_gym.importers.mcp import mcp_domain  # noqa: E402
from tool_gym.oracle import GoldenPlanPolicy, run_episode  # noqa: E402
from tool_gym.protocol import format_call  # noqa: E402

SERVER = [sys.executable, str(Path(__file__).with_name("mcp_notes_server.py"))]
TASKS = [
    {"query": "What does the note 'todo' say?", "answer": "call Ada",
     "plan": [("read_note", {"title": "todo"})]},
    {"query": "Add a note 'plan' that says 'ship it'.", "golden_answer": "Added.",
     "check": lambda answer, state: "plan" in state.call("list_notes"),
     "plan": [("add_note", {"title": "plan", "text": "ship it"})]},
]


def call(name: str, **arguments: object) -> str:
    return format_call(name, arguments)


def trial(name: str, **arguments: object) -> str:
    return format_call(name, arguments, mode="trial")


@pytest.fixture(scope="module")
def pid_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp") / "server.pid"


@pytest.fixture(scope="module")
def notes(pid_file: Path):
    domain = mcp_domain([*SERVER, str(pid_file)], TASKS, name="notes_mcp", title="NotesMcp",
                        reset="reset_notes", timeout_s=1.0)
    yield domain
    domain.close()


def test_an_mcp_server_plays_a_whole_episode_through_gym_make(notes) -> None:
    ids = tool_gym.register_domain(notes)  # validation plays the golden plans
    try:
        env = gym.make(ids[0])
        obs, info = env.reset(seed=0, options={"task_seed": 1})
        listed = {t["function"]["name"] for t in info["tools"]}
        assert {"list_notes", "read_note", "add_note"} <= listed
        assert "reset_notes" not in listed  # the reset hook is not the agent's
        assert "notes_count" in listed  # "notes.count" on the server
        obs, *_ = env.step(call("notes_count"))
        assert "notes_count -> 2" in obs
        # A trial of a state-changing tool runs, and the server is put back.
        obs, *_ = env.step(trial("add_note", title="plan", text="draft") + call("list_notes"))
        assert "added 'plan'" in obs and '["groceries", "todo"]' in obs
        obs, reward, terminated, truncated, info = env.step(
            call("add_note", title="plan", text="ship it"))
        assert "added 'plan'" in obs and not terminated
        obs, reward, terminated, truncated, info = env.step("<answer>Added.</answer>")
        assert terminated and info["success"] and reward == 1.0
        # Each episode starts from the reset state again.
        env.reset(options={"task_seed": 0})
        obs, *_ = env.step(call("list_notes"))
        assert '["groceries", "todo"]' in obs
        env.close()
    finally:
        tool_gym.unregister_domain(notes.name)


def test_an_mcp_domain_meets_the_contract_of_the_built_in_domains() -> None:
    domain = mcp_domain(SERVER, TASKS, name="notes_checked",
                        reset="reset_notes", hide=("wait", "noise"), timeout_s=5.0)
    try:
        report = tool_gym.check_domain(domain, episodes=12, fuzz=60)
        assert report.ok, str(report)
    finally:
        domain.close()


def test_drift_applies_to_mcp_tools(notes) -> None:
    env = ToolEnv(domains=[notes], split="all", stale_docs=True,
                  mutations=[{"kind": "rename_tool", "tool": "read_note", "style": "opaque"},
                             {"kind": "rename_params", "tool": "add_note"}])
    for task_seed in (0, 1):
        result = run_episode(env, GoldenPlanPolicy(env), options={"task_seed": task_seed})
        assert result["success"], result["actions"]
        assert "read_note" not in env.episode.surface.tools
    obs, _ = env.reset(options={"task_seed": 0})
    assert "read_note(" in obs  # stale docs: the catalogue still shows the old name
    obs, *_ = env.step(call("read_note", title="todo"))
    assert "unknown tool 'read_note'" in obs


def test_a_trial_never_changes_a_server_without_a_reset_hook() -> None:
    domain = mcp_domain(SERVER, TASKS[:1], timeout_s=2.0)
    try:
        env = ToolEnv(domains=[domain], split="all")
        env.reset(options={"task_seed": 0})
        obs, *_ = env.step(trial("add_note", title="x", text="y"))
        assert "cannot be trialled" in obs and "call it for real with <call>" in obs
        obs, *_ = env.step(trial("read_note", title="todo"))
        assert "call Ada" in obs  # read-only tools are trialled for real
        obs, *_ = env.step(call("list_notes"))
        assert '["groceries", "todo"]' in obs
    finally:
        domain.close()


def test_a_killed_server_gives_an_error_observation_and_the_env_resets_cleanly(
        notes, pid_file: Path) -> None:
    env = ToolEnv(domains=[notes], split="all")
    env.reset(options={"task_seed": 0})
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    t0 = time.monotonic()
    obs, reward, terminated, truncated, info = env.step(call("read_note", title="todo"))
    assert time.monotonic() - t0 < notes.connection.timeout_s + 15  # never a hang
    assert "ERROR" in obs and "MCP server" in obs and "next reset" in obs
    assert info["reward_terms"]["failed_call"] < 0 and not terminated
    obs, *_ = env.step(call("list_notes"))  # still an observation, not an exception
    assert "ERROR" in obs
    env.reset(options={"task_seed": 0})  # a new server process
    obs, *_ = env.step(call("read_note", title="todo"))
    assert '"call Ada"' in obs


@pytest.mark.parametrize("tool, arguments", [("wait", {"seconds": 30}), ("noise", {})],
                         ids=["hangs", "answers_garbage"])
def test_a_server_that_hangs_or_answers_garbage_times_out_into_an_error(
        notes, tool: str, arguments: dict) -> None:
    env = ToolEnv(domains=[notes], split="all")
    env.reset(options={"task_seed": 0})
    t0 = time.monotonic()
    obs, *_ = env.step(call(tool, **arguments))
    assert time.monotonic() - t0 < notes.connection.timeout_s + 15  # never a hang
    assert f"did not answer tools/call {tool} within 1 s" in obs
    env.reset(options={"task_seed": 0})
    obs, *_ = env.step(call("read_note", title="todo"))
    assert '"call Ada"' in obs


def test_streamable_http_server(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*SERVER, "--http", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        domain = mcp_domain(f"http://127.0.0.1:{port}/mcp", TASKS, reset="reset_notes",
                            timeout_s=5.0)
        env = ToolEnv(domains=[domain], split="all")
        for task_seed in (0, 1):
            result = run_episode(env, GoldenPlanPolicy(env), options={"task_seed": task_seed})
            assert result["success"], result["actions"]
        domain.close()
    finally:
        proc.kill()
        proc.wait()


def test_import_tool_gym_imports_neither_mcp_nor_bfcl() -> None:
    code = ("import sys, tool_gym; bad = [m for m in ('mcp', 'bfcl_eval') if m in sys.modules];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
