"""The episode viewer: every episode, message, env answer and reward term is on the page."""

from __future__ import annotations

import io
import json
import re

import pytest

pytest.importorskip("jinja2")

from markupsafe import escape  # noqa: E402  (jinja2's own escaping)

from tool_gym.agents.cli import main  # noqa: E402
from tool_gym.agents.evaluate import evaluate  # noqa: E402
from tool_gym.agents.policy import ScriptedPolicy  # noqa: E402
from tool_gym.agents.teachers import GoldenTeacher, TrialTeacher  # noqa: E402
from tool_gym.agents.traces import generate_traces  # noqa: E402
from tool_gym.agents.viewer import load_episodes, render_page  # noqa: E402
from tool_gym.oracle import GoldenPlanPolicy  # noqa: E402

SPLITS = {"seen_test": ("ToolMaster/Weather-v0", {"split": "test"}),
          "drift_stale": ("ToolMaster/Weather-Drift-v0", {"stale_docs": True})}
MALFORMED = ('<think>try it</think><call>{"name": "get_forecast", "arguments": {</call>'
             '<trial>{"name": "no_such_tool", "arguments": {}}</trial>')


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run folder with teacher traces and two methods' evaluations of the same tasks."""
    root = tmp_path_factory.mktemp("run")
    generate_traces(TrialTeacher, "ToolMaster/Weather-Drift-v0", 3, seed=5,
                    env_kwargs={"stale_docs": True}, out=root / "traces_trial.jsonl",
                    progress=False)
    generate_traces(GoldenTeacher, "ToolMaster/Weather-v0", 2, out=root / "traces_golden.jsonl",
                    progress=False)
    (root / "eval").mkdir()
    for name, policy in (("golden_plan", GoldenPlanPolicy),
                         ("scripted", ScriptedPolicy([MALFORMED, "hello", "<answer>no</answer>"]))):
        evaluate(policy, SPLITS, episodes=2, progress=False, out=root / "eval" / f"{name}.json",
                 transcripts=root / "eval" / f"{name}.transcripts.jsonl")
    return root


def _articles(page: str) -> dict[str, str]:
    parts = re.split(r'<article class="episode" id="', page)[1:]
    return {part.split('"', 1)[0]: part for part in parts}


def test_every_episode_message_answer_and_reward_term_is_on_the_page(run):
    out = run / "page.html"
    log = io.StringIO()
    assert main(["view", str(run), "--out", str(out)], out=log) == 0
    assert log.getvalue() == f"wrote 13 episodes to {out}\n"
    page = out.read_text()
    records = [json.loads(line) for f in sorted(run.rglob("*.jsonl"))
               for line in f.read_text().splitlines()]
    episodes = load_episodes([run])
    assert len(episodes) == len(records) == 3 + 2 + 2 * 2 * 2
    articles = _articles(page)
    assert sorted(articles) == sorted(e.key for e in episodes)
    for ep in episodes:
        html = articles[ep.key]
        assert not ep.note, ep.note  # every record was reproduced by its replay
        assert escape(ep.query) in html and ep.query
        assert ep.catalogue and all(escape(line[2:]) in html for line in ep.catalogue)
        assert ("badge success" in html) == ep.success
        for m in ep.mutations:
            assert escape(m["kind"]) in html
        assert ep.steps
        for step in ep.steps:
            assert escape(step.message) in html
            for line in step.observation.splitlines():
                assert escape(line) in html, line
        assert set(ep.reward_terms) == {"success", "malformed", "failed_call", "excess_trial",
                                        "turn_limit"}
        for term, value in ep.reward_terms.items():
            assert f"{term} {value:+.3f}" in html
        per_turn = [s.reward_terms for s in ep.steps]
        assert all(t is not None for t in per_turn)
        total = sum(sum(t.values()) for t in per_turn)
        assert total == pytest.approx(sum(ep.reward_terms.values()))


def test_transcripts_are_replayed_for_their_prompt_and_marked(run):
    episodes = load_episodes([run / "eval" / "scripted.transcripts.jsonl"])
    ep = episodes[0]
    assert ep.method == "scripted" and ep.query and ep.catalogue
    first = ep.steps[0]
    assert first.thoughts == ["try it"]
    assert [s["kind"] for s in first.segments] == ["call", "trial"]
    assert "error" in first.segments[0] and first.segments[1]["name"] == "no_such_tool"
    assert [line["kind"] for line in first.lines[:2]] == ["malformed", "refused"]
    assert first.reward_terms == {"malformed": pytest.approx(-0.05)}
    # the second message has no tag at all
    assert ep.steps[1].lines[0]["kind"] == "error"


def test_the_same_task_of_two_methods_can_be_shown_side_by_side(run):
    episodes = load_episodes([run / "eval"])
    page = render_page(episodes)
    by_task: dict[str, set[str]] = {}
    for ep in episodes:
        by_task.setdefault(ep.task_key, set()).add(ep.method)
    assert all(methods == {"golden_plan", "scripted"} for methods in by_task.values())
    for ep in episodes:
        peer = next(o for o in episodes if o.task_key == ep.task_key and o is not ep)
        html = _articles(page)[ep.key]
        assert f'<select class="peer" data-for="{ep.key}">' in html
        assert f'<option value="{peer.key}">{peer.method}' in html


def test_a_record_that_no_replay_reproduces_is_shown_as_recorded(tmp_path):
    record = {"split": "mine", "env_id": "ToolMaster/NotHere-v0", "task": 3, "task_id": "x-1",
              "success": False, "actions": ["<answer>1 < 2</answer>"],
              "observations": ["[done] answer received."]}
    path = tmp_path / "t.transcripts.jsonl"
    path.write_text(json.dumps(record) + "\n")
    (ep,) = load_episodes([path])
    assert "did not reproduce" in ep.note and not ep.catalogue
    page = render_page([ep])
    assert "1 &lt; 2" in page and "[done] answer received." in page
