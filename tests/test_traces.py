"""Trace files: round trip, datasets loading, crash safety, filters and statistics."""

from __future__ import annotations

import json
import os

import datasets
import pytest

from tool_gym.agents.teachers import GoldenTeacher, TrialTeacher
from tool_gym.agents.traces import (
    REQUIRED_KEYS,
    TraceFormatError,
    TraceWriter,
    filter_traces,
    generate_traces,
    load_traces,
    read_traces,
    summarize,
    write_traces,
)


@pytest.fixture(scope="module")
def records():
    return generate_traces(TrialTeacher, "ToolMaster/Seen-v0", n=12, seed=0, progress=False)


def test_record_layout(records):
    r = records[0]
    assert set(REQUIRED_KEYS) <= set(r)
    roles = [m["role"] for m in r["messages"]]
    assert roles[:2] == ["system", "user"]
    assert roles[2::2] == ["assistant"] * len(roles[2::2])
    assert roles[3::2] == ["user"] * len(roles[3::2])
    assert roles[-1] == "assistant" and "<answer>" in r["messages"][-1]["content"]
    assert r["outcome"]["turns"] == roles.count("assistant")
    assert r["outcome"]["success"] and r["reward_terms"]["success"] == 1.0
    assert abs(sum(r["reward_terms"].values()) - r["outcome"]["return"]) < 1e-9
    assert r["teacher"] == "trial" and r["env_id"] == "ToolMaster/Seen-v0"
    assert [c["mode"] for c in r["tool_calls"]].count("call") >= 1
    call = r["tool_calls"][0]
    assert set(call) >= {"mode", "name", "arguments", "ok", "error"}
    assert isinstance(json.loads(call["arguments"]), dict)
    assert [rec["seed"] for rec in records] == list(range(12))


def test_round_trip_and_datasets(tmp_path, records):
    path = write_traces(tmp_path / "t.jsonl", records)
    assert read_traces(path) == records
    assert [p.name for p in tmp_path.iterdir()] == ["t.jsonl"]  # no temp files left
    ds = load_traces(path)
    assert isinstance(ds, datasets.Dataset) and len(ds) == len(records)
    assert ds[0]["messages"] == records[0]["messages"]
    # The raw file is also readable by datasets' own JSON loader (one Arrow schema).
    raw = datasets.load_dataset("json", data_files=str(path), split="train")
    assert raw[3]["task_id"] == records[3]["task_id"]
    assert raw[3]["tool_calls"][0]["arguments"] == records[3]["tool_calls"][0]["arguments"]


def test_generate_writes_file_and_appends(tmp_path):
    out = tmp_path / "g.jsonl"
    first = generate_traces(GoldenTeacher, "ToolMaster/Weather-v0", n=3, seed=0, out=out,
                            progress=False)
    more = generate_traces(GoldenTeacher, "ToolMaster/Weather-v0", n=2, seed=3, out=out,
                           append=True, progress=False, env_kwargs={"max_turns": 6})
    back = read_traces(out)
    assert back == first + more
    assert json.loads(back[-1]["env_kwargs"]) == {"max_turns": 6}
    assert all("<trial>" not in m["content"] for r in back for m in r["messages"]
               if m["role"] == "assistant")


def test_atomic_write_keeps_old_file_on_failure(tmp_path, records):
    path = write_traces(tmp_path / "t.jsonl", records[:2])
    before = path.read_bytes()
    bad = dict(records[0], outcome={"return": float("nan")})
    with pytest.raises(ValueError):
        write_traces(path, [records[0], bad])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.jsonl"]


def test_truncated_last_line_is_reported(tmp_path, records):
    path = write_traces(tmp_path / "t.jsonl", records[:3])
    data = path.read_bytes()
    path.write_bytes(data[:-40])  # a crash in the middle of the third line
    with pytest.raises(TraceFormatError, match=r"t\.jsonl:3: truncated last line"):
        read_traces(path)
    with pytest.raises(TraceFormatError, match=r"t\.jsonl:3"):
        load_traces(path)
    with pytest.raises(TraceFormatError, match="incomplete"):
        TraceWriter(path)  # appending would glue a record onto the broken line


def test_malformed_lines_are_reported_with_line_numbers(tmp_path, records):
    lines = [json.dumps(r) for r in records[:4]]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join([lines[0], lines[1][:50], lines[2]]) + "\n")
    with pytest.raises(TraceFormatError, match=r"m\.jsonl:2: malformed JSON"):
        read_traces(path)
    path.write_text("\n".join([lines[0], "", lines[2]]) + "\n")
    with pytest.raises(TraceFormatError, match=r"m\.jsonl:2: empty line"):
        read_traces(path)
    missing = {k: v for k, v in records[0].items() if k != "outcome"}
    path.write_text("\n".join([lines[0], lines[1], json.dumps(missing)]) + "\n")
    with pytest.raises(TraceFormatError, match=r"m\.jsonl:3: missing keys \['outcome'\]"):
        read_traces(path)
    bad_role = dict(records[0], messages=[{"role": "tool", "content": "x"}])
    path.write_text(json.dumps(bad_role) + "\n")
    with pytest.raises(TraceFormatError, match=r"m\.jsonl:1: messages\[0\]"):
        read_traces(path)


def test_writer_writes_whole_lines(tmp_path, records):
    path = tmp_path / "w.jsonl"
    with TraceWriter(path) as w:
        for r in records[:3]:
            w.write(r)
            # After each write the file holds only complete lines.
            assert path.read_bytes().endswith(b"\n")
    assert read_traces(path) == records[:3]
    os.truncate(path, 0)
    assert read_traces(path) == []


def test_filters_and_summary(records):
    failed = dict(records[0], outcome=dict(records[0]["outcome"], success=False),
                  split="test")
    pool = records + [failed]
    assert len(filter_traces(pool, success=True)) == len(records)
    assert filter_traces(pool, success=False) == [failed]
    assert filter_traces(pool, split="test") == [r for r in pool if r["split"] == "test"]
    ds = datasets.Dataset.from_list(pool)
    assert len(filter_traces(ds, success=True, split=["train", "test"])) == sum(
        r["outcome"]["success"] and r["split"] in ("train", "test") for r in pool)
    stats = summarize(pool)
    assert stats["episodes"] == len(pool)
    assert stats["success_rate"] == pytest.approx(len(records) / len(pool))
    assert stats["mean_turns"] > 1 and stats["calls_per_episode"] >= 1
    assert set(stats["per_domain"]) == {r["domain"] for r in pool}
    assert sum(s["episodes"] for s in stats["per_domain"].values()) == len(pool)
