"""Progress bars on a terminal only: a log gets lines, not redrawn bars."""

from __future__ import annotations

import io

from tool_gym.agents.progress import bars_enabled


def test_bars_follow_the_terminal_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("TOOLMASTER_PROGRESS", raising=False)
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a log file, not a terminal
    assert not bars_enabled()
    monkeypatch.setenv("TOOLMASTER_PROGRESS", "1")
    assert bars_enabled()
    monkeypatch.setenv("TOOLMASTER_PROGRESS", "0")
    assert not bars_enabled()


def test_a_traces_run_into_a_log_writes_no_bar(monkeypatch, capsys):
    from tool_gym.agents.teachers import GoldenTeacher
    from tool_gym.agents.traces import generate_traces

    monkeypatch.delenv("TOOLMASTER_PROGRESS", raising=False)
    generate_traces(GoldenTeacher, "ToolMaster/Weather-v0", 3, progress=True)
    assert "ep/s" not in capsys.readouterr().err
