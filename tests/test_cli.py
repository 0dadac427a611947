"""``toolmaster`` CLI smoke runs through ``main([...])``."""

from __future__ import annotations

import io
import json

import pytest

from tool_gym.agents import cli
from tool_gym.agents.traces import read_traces
from tool_gym.registration import env_ids


def run(*argv: str) -> str:
    out = io.StringIO()
    assert cli.main(list(argv), out=out) == 0
    return out.getvalue()


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for name in ("list", "traces", "sft", "eval"):
        assert name in text
    with pytest.raises(SystemExit):
        cli.main(["sft", "--help"])
    assert "--resume" in capsys.readouterr().out


def test_list():
    assert run("list", "--ids").split() == env_ids()
    table = run("list")
    assert all(i in table for i in env_ids())


def test_traces(tmp_path):
    out = tmp_path / "t.jsonl"
    text = run("traces", "--teacher", "trial", "--env", "ToolMaster/Jokes-v0", "--episodes", "4",
               "--out", str(out), "--env-arg", "max_turns=6")
    records = read_traces(out)
    assert len(records) == 4 and "wrote 4 episodes" in text and "success 1.000" in text
    assert all(r["teacher"] == "trial" and r["outcome"]["success"] for r in records)
    assert json.loads(records[0]["env_kwargs"]) == {"max_turns": 6}
    run("traces", "--teacher", "golden", "--env", "ToolMaster/Weather-v0", "--episodes", "2",
        "--out", str(out), "--append")
    assert [r["teacher"] for r in read_traces(out)] == ["trial"] * 4 + ["golden"] * 2


def test_sft_tiny(tmp_path):
    traces = tmp_path / "t.jsonl"
    run("traces", "--teacher", "trial", "--env", "ToolMaster/Weather-v0", "--episodes", "4",
        "--out", str(traces))
    out = tmp_path / "sft"
    common = ["--model", "tiny", "--traces", str(traces), "--out", str(out), "--grad-accum", "1",
              "--save-steps", "1", "--max-length", "2048"]
    text = run("sft", *common, "--max-steps", "1", "--eval-fraction", "0.25")
    assert "training on 4 of 4 episodes" in text and "after 1 steps" in text
    assert "eval loss n/a" not in text
    assert (out / "adapter_model.safetensors").is_file() and (out / "README.md").is_file()
    text = run("sft", *common, "--max-steps", "2", "--eval-fraction", "0", "--resume")
    assert "after 2 steps" in text and "eval loss n/a" in text
    assert "checkpoint-1" in (out / "README.md").read_text()
    with pytest.raises(SystemExit, match="no episodes left"):
        cli.main(["sft", "--model", "tiny", "--traces", str(traces), "--split", "unseen"])


def test_eval_tiny(tmp_path):
    out = tmp_path / "eval.json"
    text = run("eval", "--model", "tiny", "--env", "weather=ToolMaster/Weather-v0",
               "--episodes", "1", "--seeds", "0", "1", "--max-new-tokens", "4",
               "--max-turns", "2", "--out", str(out))
    results = json.loads(out.read_text())
    split = results["splits"]["weather"]
    assert split["episodes"] == 2 and split["tasks"] == 1 and split["trials_per_task"] == 2
    assert results["config"]["model"] == "tiny" and "| weather |" in text
