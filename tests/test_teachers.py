"""Teachers: golden and trial teachers succeed where the golden plan does; the LLM teacher
talks to a local OpenAI-compatible server."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gymnasium as gym
import pytest

from tool_gym.agents.teachers import (
    PHRASEBOOKS,
    GoldenTeacher,
    LLMTeacher,
    LLMTeacherError,
    TrialTeacher,
    make_teacher,
    parse_responses,
)
from tool_gym.agents.traces import play_episode
from tool_gym.env import ToolEnv
from tool_gym.oracle import GoldenPlanPolicy, run_episode
from tool_gym.registration import env_ids
from tool_gym.surface import Surface, SurfaceTool

SEEDS = range(30)


def _self_corrections(record: dict) -> int:
    """Failed trials followed later in the episode by a successful trial or call."""
    calls = record["tool_calls"]
    return sum(1 for i, c in enumerate(calls)
               if c["mode"] == "trial" and not c["ok"] and any(d["ok"] for d in calls[i + 1:]))


@pytest.mark.parametrize("trial_when", ["cues", "first_use"])
@pytest.mark.parametrize("env_id", env_ids())
def test_trial_and_golden_teachers_succeed_where_the_plan_does(env_id, trial_when):
    env, golden_env = gym.make(env_id), gym.make(env_id)
    base = env.unwrapped
    trial = TrialTeacher(env, seed=7, trial_when=trial_when)
    golden = GoldenTeacher(golden_env)
    for seed in SEEDS:
        plan = run_episode(golden_env, GoldenPlanPolicy(golden_env), seed=seed)
        g = run_episode(golden_env, golden, seed=seed)
        t = run_episode(env, trial, seed=seed)
        assert g["success"] == plan["success"]
        assert not any("<trial>" in a for a in g["actions"])
        if plan["success"]:
            assert t["success"], (env_id, seed, t["actions"])
        assert t["turns"] <= base.max_turns
        assert t["info"]["trials"] <= base.trial_budget
        assert t["info"]["reward_terms"]["excess_trial"] == 0


@pytest.mark.parametrize("style", ["terse", "verbose"])
def test_trial_traces_probe_and_self_correct(style):
    env = gym.make("ToolMaster/Unseen-v0")
    records = [play_episode(env, TrialTeacher(env, seed=0, style=style), s) for s in SEEDS]
    assert all(r["outcome"]["success"] for r in records)
    # Unseen domain: every episode probes, and mistakes get corrected from error messages.
    assert all(any("<trial>" in m["content"] for m in r["messages"] if m["role"] == "assistant")
               for r in records)
    corrections = sum(_self_corrections(r) for r in records)
    assert corrections >= 5
    quoted, thinks = 0, []
    for r in records:
        for prev, nxt in zip(r["messages"], r["messages"][1:], strict=False):
            if nxt["role"] == "assistant" and "<think>" in nxt["content"]:
                thinks.append(nxt["content"].split("</think>")[0])
            if prev["role"] == "user" and "ERROR:" in prev["content"] and nxt["role"] == "assistant":
                error = prev["content"].split("ERROR: ", 1)[1][:30].replace('"', "'")
                quoted += error in nxt["content"]
    if style == "verbose":
        # The think text after an error quotes the error it read from the observation.
        assert quoted >= corrections // 2
    else:
        # Terse thoughts name the fix but repeat neither the error nor the arguments.
        assert quoted == 0
        assert max(len(t) for t in thinks) <= 140, max(thinks, key=len)
        assert sum(map(len, thinks)) / len(thinks) <= 60


@pytest.mark.parametrize("env_id, kwargs", [
    ("ToolMaster/Seen-v0", {}),
    ("ToolMaster/Drift-v0", {"stale_docs": True, "drift_focus": "plan"}),
    ("ToolMaster/Unseen-v0", {}),
])
def test_diff_style_fix_names_exactly_what_changes_from_the_failed_call(env_id, kwargs):
    env = gym.make(env_id, max_plan_steps=1, **kwargs)
    teacher = TrialTeacher(env, seed=3, style="diff", trial_when="first_use")
    records = [play_episode(env, teacher, s) for s in range(40)]
    assert all(r["outcome"]["success"] for r in records)
    fixes = 0
    for r in records:
        said = [m["content"] for m in r["messages"] if m["role"] == "assistant"]
        # every assistant message but the answer makes exactly one tool call, in order
        for before, after, message in zip(r["tool_calls"], r["tool_calls"][1:], said[1:],
                                          strict=False):
            old, new = json.loads(before["arguments"]), json.loads(after["arguments"])
            changed = (before["name"], old) != (after["name"], new)
            if before["ok"] or not changed:
                assert "Fix:" not in message
                continue
            fixes += 1
            fix = message.split("Fix: ", 1)[1].split("</think>")[0]
            if before["name"] != after["name"]:
                assert f"`{before['name']}` -> `{after['name']}`" in fix
            if " more." in fix:  # a long diff is cut after its first changes
                continue
            for key in old.keys() - new.keys():
                assert f"`{key}` ->" in fix or f"drop `{key}`" in fix, (fix, old, new)
            for key in old.keys() & new.keys():
                if old[key] != new[key]:
                    assert f"`{key}`: {json.dumps(old[key])} -> {json.dumps(new[key])}" in fix
    assert fixes >= 10


def test_diff_text_names_renames_drops_adds_and_values_then_cuts_the_rest():
    from tool_gym.agents.openings import Attempt
    from tool_gym.agents.trial_teacher import _diff_text

    prev = Attempt("find", {"q": "x", "limit": 3, "a": 1, "b": 2, "c": "s"}, "student")
    nxt = Attempt("search", {"query": "x", "a": 5, "b": 6, "c": "t", "page": 1}, "correct")
    assert _diff_text(prev, nxt, limit=10) == (
        'Fix: `find` -> `search`; `q` -> `query`; drop `limit`; add `page`; `a`: 1 -> 5; '
        '`b`: 2 -> 6; `c`: "s" -> "t".')
    assert _diff_text(prev, nxt) == (
        "Fix: `find` -> `search`; `q` -> `query`; drop `limit`; add `page`; `a`: 1 -> 5; "
        "2 more.")


def _right_calls(n):
    """A one-call env, its trial teacher, and the right call (what the teacher calls for
    real) of each of the first ``n`` tasks: ``(seed, call record, arguments)``."""
    env = gym.make("ToolMaster/Seen-v0", max_plan_steps=1)
    teacher = TrialTeacher(env, seed=0, style="diff", trial_when="first_use")
    calls = []
    for seed in range(n):
        call = next(c for c in play_episode(env, teacher, seed)["tool_calls"]
                    if c["mode"] == "call")
        calls.append((seed, call, json.loads(call["arguments"])))
    return env, teacher, calls


def test_recovery_traces_fix_the_students_own_failed_openings():
    from tool_gym.agents.traces import recovery_traces

    env_id, kwargs = "ToolMaster/Seen-v0", {"max_plan_steps": 1}
    env, teacher, calls = _right_calls(12)
    episodes, right = [], []
    for seed, call, args in calls:
        # the student gets the right call wrong
        wrong = [f'<trial>{{"name": "{call["name"]}_x", "arguments": {json.dumps(args)}}}</trial>',
                 f'<call>{{"name": "{call["name"]}", "arguments": {{"bogus": 1}}}}</call>']
        episodes.append({"split": "s", "task": seed, "success": False,
                         "actions": [wrong[seed % 2], "<answer>?</answer>"]})
        right.append({"split": "s", "task": seed, "success": False,
                      "actions": [f'<call>{json.dumps({"name": call["name"], "arguments": args})}'
                                  "</call>"]})
    # an opening that works but calls another tool: no error, so nothing to relabel
    worked = []
    for seed in range(12):
        _, info = env.reset(seed=seed)
        for tool in info["tools"]:
            name = tool["function"]["name"]
            if env.unwrapped.dry_run(name, {}) is None:
                worked.append({"split": "s", "task": seed, "success": False,
                               "actions": [f'<call>{{"name": "{name}", "arguments": {{}}}}</call>']})
                break
    assert worked
    right += worked
    skipped = [{"split": "s", "task": 0, "success": True, "actions": [wrong[0]]},
               {"split": "s", "task": 1, "success": False, "actions": ["<answer>x</answer>"]},
               {"split": "s", "task": 2, "success": False, "actions": []}]
    factory = lambda e, seed: TrialTeacher(e, seed=seed, style="diff", trial_when="first_use")  # noqa: E731
    records = recovery_traces(episodes + right + skipped, {"s": (env_id, kwargs)}, factory,
                              progress=False)
    # only the failed openings are relabelled: a right opening or no call has no error to fix
    assert len(records) == len(episodes)
    for ep, r in zip(episodes, records, strict=True):
        assert r["outcome"]["success"] and r["seed"] == ep["task"]
        assert r["teacher"] == "trial_recovery"
        first = next(i for i, m in enumerate(r["messages"]) if m["role"] == "assistant")
        assert r["messages"][first]["content"] == ep["actions"][0]  # the student's own words
        assert r["mistakes"] == [first]  # ... kept out of the loss
        assert not r["tool_calls"][0]["ok"]
        assert "Fix: " in r["messages"][first + 2]["content"]
    with pytest.raises(ValueError, match="exactly one call"):
        teacher.recover("<answer>4</answer>")
    # diff_limit=1: each fix names one change and counts the rest, however junk the call
    short = lambda e, seed: TrialTeacher(e, seed=seed, style="diff", trial_when="first_use",  # noqa: E731
                                         diff_limit=1)
    fixes = [m["content"] for r in recovery_traces(episodes, {"s": (env_id, kwargs)}, short,
                                                   progress=False)
             for m in r["messages"] if m["role"] == "assistant" and "Fix: " in m["content"]]
    assert len(fixes) >= len(episodes)
    segments = [f.split("Fix: ", 1)[1].split("</think>")[0] for f in fixes]
    assert all(seg.count("; ") <= 1 for seg in segments), segments
    assert all(re.search(r"; \d+ more\.", seg) for seg in segments if "; " in seg), segments
    assert any("; " in seg for seg in segments)  # the bogus-argument openings had more to say
    with pytest.raises(ValueError, match="diff_limit"):
        TrialTeacher(env, style="diff", diff_limit=0)
    # the golden teacher continues the same openings with the right call and no thought
    # (a right opening would make the golden teacher answer from the student's results)
    golden = recovery_traces(episodes + right + skipped, {"s": (env_id, kwargs)},
                             GoldenTeacher, progress=False)
    assert len(golden) == len(episodes)
    for ep, r in zip(episodes, golden, strict=True):
        said = [m["content"] for m in r["messages"] if m["role"] == "assistant"]
        assert said[0] == ep["actions"][0] and r["outcome"]["success"]
        assert r["mistakes"] == [2] and "<think>" not in "".join(said[1:])
        assert len(said) == 3  # the student's call, the right call, the answer


def test_recovery_traces_relabel_every_failed_message_of_a_students_chain():
    """Longer rollouts (DAgger on later turns): the teacher takes over after each message
    the env rejected, as long as the messages up to it made one call each."""
    from tool_gym.agents.traces import recovery_traces, rejected_prefixes

    env_id, kwargs = "ToolMaster/Seen-v0", {"max_plan_steps": 1}
    env, teacher, calls = _right_calls(8)
    episodes, expected = [], []
    for seed, call, args in calls:
        wrong = f'<trial>{{"name": "{call["name"]}_x", "arguments": {json.dumps(args)}}}</trial>'
        bogus = f'<call>{{"name": "{call["name"]}", "arguments": {{"bogus": 1}}}}</call>'
        right_trial = f'<trial>{json.dumps({"name": call["name"], "arguments": args})}</trial>'
        right_call = right_trial.replace("trial>", "call>")
        if seed % 2 == 0:  # a failed trial, resent, then a wrong "fix", then no call
            actions, prefixes = [wrong, wrong, bogus, "<answer>?</answer>", bogus], [1, 2, 3]
        else:  # a trial that worked, then a real call that failed; after a call that
            # worked nothing is relabelled
            actions, prefixes = [right_trial, bogus, right_call, bogus], [2]
        assert rejected_prefixes(env, seed, actions) == prefixes
        episodes.append({"split": "s", "task": seed, "success": False, "actions": actions})
        expected += [(seed, actions, n) for n in prefixes]
    factory = lambda e, seed: TrialTeacher(e, seed=seed, style="diff", trial_when="first_use")  # noqa: E731
    records = recovery_traces(episodes, {"s": (env_id, kwargs)}, factory, progress=False)
    assert [(r["seed"], len(r["mistakes"])) for r in records] == [(s, n) for s, _, n in expected]
    for (_, actions, n), r in zip(expected, records, strict=True):
        said = [i for i, m in enumerate(r["messages"]) if m["role"] == "assistant"]
        assert [r["messages"][i]["content"] for i in said[:n]] == actions[:n]
        assert r["mistakes"] == said[:n]  # the student's messages stay out of the loss
        assert r["outcome"]["success"] and not r["tool_calls"][n - 1]["ok"]
        assert "Fix: " in r["messages"][said[n]]["content"]  # the fix of the last error
    golden = recovery_traces(episodes, {"s": (env_id, kwargs)}, GoldenTeacher, progress=False)
    assert len(golden) == len(expected)
    for (_, actions, n), r in zip(expected, golden, strict=True):
        said = [m["content"] for m in r["messages"] if m["role"] == "assistant"]
        assert said[:n] == actions[:n] and r["outcome"]["success"]
        assert len(said) == n + 2  # the student's messages, the right call, the answer
    with pytest.raises(ValueError, match="at least one"):
        teacher.recover([])
    with pytest.raises(ValueError, match="exactly one call"):
        teacher.recover([wrong, "<answer>4</answer>"])


def test_trial_teacher_probes_seen_domains_sometimes():
    env = gym.make("ToolMaster/Seen-v0")
    records = [play_episode(env, TrialTeacher(env, seed=1), s) for s in range(60)]
    with_trials = sum(any(c["mode"] == "trial" for c in r["tool_calls"]) for r in records)
    assert 5 <= with_trials < 60  # it probes, but not always
    assert all(r["outcome"]["success"] for r in records)


@pytest.mark.parametrize("env_id, kwargs", [
    ("ToolMaster/Seen-v0", {}),
    ("ToolMaster/Drift-v0", {"stale_docs": True, "drift_focus": "plan"}),
])
def test_trial_teacher_first_use_trials_every_tool_and_says_only_visible_reasons(env_id, kwargs):
    # plans of <= 2 calls always leave room for a trial per tool (longer ones may not)
    env = gym.make(env_id, max_plan_steps=2, **kwargs)
    teacher = TrialTeacher(env, seed=2, trial_when="first_use")
    records = [play_episode(env, teacher, s) for s in range(40)]
    assert all(r["outcome"]["success"] for r in records)
    for r in records:
        calls = r["tool_calls"]
        since_last_call: list[dict] = []
        for i, c in enumerate(calls):
            if c["mode"] == "trial":
                since_last_call.append(c)
                continue
            if not any(d["mode"] == "call" and d["name"] == c["name"] for d in calls[:i]):
                assert since_last_call, (r["task_id"], calls)  # trialled before its first call
            since_last_call = []
    thinks = " ".join(m["content"] for r in records for m in r["messages"]
                      if m["role"] == "assistant")
    for reason in ("reason_stale", "reason_unseen"):  # cues the student cannot see
        assert not any(p.split("`")[0] in thinks for p in PHRASEBOOKS["terse"][reason]
                       if p.split("`")[0]), reason
    with pytest.raises(ValueError, match="trial_when"):
        TrialTeacher(env, trial_when="sometimes")


def test_trial_teacher_shows_fixing_a_wrong_tool_and_an_extra_parameter():
    env = gym.make("ToolMaster/Unseen-v0", max_plan_steps=1)
    teacher = TrialTeacher(env, seed=0, trial_when="first_use")
    records = [play_episode(env, teacher, s) for s in range(60)]
    assert all(r["outcome"]["success"] for r in records)
    wrong_tool = extra = 0
    for r in records:
        calls = r["tool_calls"]
        real = next(c for c in calls if c["mode"] == "call")
        for c in calls:
            if c["mode"] != "trial" or c["ok"]:
                continue
            if c["name"] != real["name"] and "unknown tool" not in c["error"]:
                # the wrong tool's own error names the tool that was then used
                assert real["name"] in c["error"], (c, real)
                wrong_tool += 1
            if "unknown parameter" in c["error"]:
                dropped = set(json.loads(c["arguments"])) - set(json.loads(real["arguments"]))
                assert dropped and all(f"'{k}'" in c["error"] for k in dropped)
                extra += 1
    assert wrong_tool >= 3 and extra >= 3, (wrong_tool, extra)


def test_trial_teacher_respects_tight_budgets():
    env = gym.make("ToolMaster/Unseen-v0", max_turns=4, trial_budget=1)
    golden = gym.make("ToolMaster/Unseen-v0", max_turns=4, trial_budget=1)
    teacher = TrialTeacher(env, seed=3)
    for seed in SEEDS:
        plan = run_episode(golden, GoldenPlanPolicy(golden), seed=seed)
        r = run_episode(env, teacher, seed=seed)
        assert r["info"]["trials"] <= 1 and r["turns"] <= 4
        assert r["success"] == plan["success"]


def test_trial_teacher_is_deterministic_and_varies_its_wording():
    env = gym.make("ToolMaster/Unseen-v0")
    a = [run_episode(env, TrialTeacher(env, seed=5), seed=s)["actions"] for s in range(10)]
    b = [run_episode(env, TrialTeacher(env, seed=5), seed=s)["actions"] for s in range(10)]
    assert a == b
    thinks = {act.split("</think>")[0] for acts in a for act in acts if "<think>" in act}
    assert len(thinks) >= 10


class _RenamedWeather(ToolEnv):
    """Weather where get_forecast became forecast_daily(location, day); docs are stale."""

    def make_surface(self, domain, rng):
        base = Surface.identity(domain.tools)
        old = base.tools["get_forecast"].spec
        props = old.parameters["properties"]
        new = old.replace(name="forecast_daily", parameters={
            "type": "object", "properties": {"location": props["city"], "day": props["date"]},
            "required": ["location", "day"], "additionalProperties": False})
        tools = {}
        for name, t in base.tools.items():
            if name == "get_forecast":
                tools[name] = SurfaceTool(spec=old, target=None, doc=None,
                                          deprecated_for="forecast_daily")
                tools["forecast_daily"] = SurfaceTool(
                    spec=new, target="get_forecast", doc=new,
                    to_backend=lambda a: {"city": a["location"], "date": a["day"]},
                    to_surface=lambda a: {"location": a["city"], "day": a["date"]})
            else:
                tools[name] = t
        return Surface(tools, stale_doc=[t.spec for t in base.tools.values()],
                       applied=[{"kind": "rename_tool", "tool": "get_forecast"}])


def test_trial_teacher_follows_stale_docs_then_fixes_from_errors():
    env = _RenamedWeather(domains=["weather"])
    teacher = TrialTeacher(env, seed=0)
    forecasts = 0
    for seed in range(40):
        r = play_episode(env, teacher, seed)
        assert r["outcome"]["success"], r["messages"]
        assert r["stale_docs"] and r["mutations"]
        if not any(c["name"] == "forecast_daily" for c in r["tool_calls"]):
            continue
        forecasts += 1
        first = r["messages"][2]["content"]
        # The first message uses only what the stale docs show: the old name.
        assert "forecast_daily" not in first and "<trial>" in first and "get_forecast" in first
        assert _self_corrections(r) >= 1
        deprecated = [c for c in r["tool_calls"] if c["error"] and "deprecated" in c["error"]]
        assert deprecated and all(c["mode"] == "trial" for c in deprecated)
    assert forecasts >= 5


@pytest.mark.parametrize("kwargs", [{"stale_docs": True},
                                    {"stale_docs": True, "drift_level": "heavy"}])
def test_trial_teacher_on_drift_with_stale_docs(kwargs):
    drift = [i for i in env_ids() if "Drift" in i]
    if not drift:
        pytest.skip("no drift ids registered")
    corrections = 0
    for env_id in drift:
        env, golden_env = gym.make(env_id, **kwargs), gym.make(env_id, **kwargs)
        teacher = TrialTeacher(env, seed=2)
        for seed in range(12):
            plan = run_episode(golden_env, GoldenPlanPolicy(golden_env), seed=seed)
            r = play_episode(env, teacher, seed)
            assert r["outcome"]["success"] == plan["success"], (env_id, seed, r["messages"])
            corrections += _self_corrections(r)
            # Every tool that worked was one the agent could know of: documented in the
            # catalogue it was shown, or named by an earlier observation.
            seen = r["messages"][0]["content"]
            calls = iter(r["tool_calls"])
            for m in r["messages"][2:]:
                if m["role"] == "user":
                    seen += m["content"]
                    continue
                for _ in range(m["content"].count("<trial>") + m["content"].count("<call>")):
                    c = next(calls)
                    if c["ok"]:
                        assert c["name"] in seen, (env_id, seed, c["name"])
    assert corrections >= 20


def test_parse_responses_and_make_teacher():
    obs = ('[trial 1] get_x -> ERROR: unknown tool\n[call 2] get_y -> {"a": 1}\n[turn 1/8]')
    rs = parse_responses(obs)
    assert [(r.mode, r.index, r.name, r.ok) for r in rs] == [
        ("trial", 1, "get_x", False), ("call", 2, "get_y", True)]
    assert rs[1].result() == {"a": 1} and rs[0].result() is None
    env = gym.make("ToolMaster/Weather-v0")
    assert isinstance(make_teacher("golden", env), GoldenTeacher)
    with pytest.raises(KeyError, match="choose from"):
        make_teacher("oracle", env)
    with pytest.raises(ValueError, match="unknown style"):
        TrialTeacher(env, style="chatty")


# -- LLM teacher against a local server -------------------------------------------------


class _Server:
    """An OpenAI-compatible /v1/chat/completions on 127.0.0.1 that plays a scripted policy."""

    def __init__(self, reply):
        self.requests: list[dict] = []
        self.reply = reply  # (body) -> (status, payload bytes, delay seconds)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body,
                                       "auth": self.headers.get("Authorization")})
                status, payload, delay = outer.reply(body)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out first, as the timeout test intends

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,),
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _completion(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


def test_llm_teacher_plays_an_episode(monkeypatch):
    monkeypatch.setenv("TOOLMASTER_TEST_KEY", "sk-test")
    env = gym.make("ToolMaster/Weather-v0")
    oracle = GoldenPlanPolicy(env)  # the "model" behind the endpoint reads the live env

    def reply(body):
        return 200, _completion(oracle.act()), 0.0

    with _Server(reply) as server:
        teacher = LLMTeacher(server.url, "test-model", api_key_env="TOOLMASTER_TEST_KEY",
                             timeout=5)
        r = play_episode(env, teacher, seed=4)
    assert r["outcome"]["success"]
    assert len(server.requests) == r["outcome"]["turns"]
    first, last = server.requests[0], server.requests[-1]
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer sk-test"
    assert first["body"]["model"] == "test-model"
    assert [m["role"] for m in first["body"]["messages"]] == ["system", "user"]
    # Later requests carry the whole dialogue: assistant turns and observations alternate.
    roles = [m["role"] for m in last["body"]["messages"]]
    assert roles[:2] == ["system", "user"] and roles[2::2] == ["assistant"] * len(roles[2::2])
    assert r["messages"][:len(last["body"]["messages"])] == last["body"]["messages"]


def test_llm_teacher_errors_are_clear(monkeypatch):
    monkeypatch.delenv("TOOLMASTER_MISSING_KEY", raising=False)
    with pytest.raises(LLMTeacherError, match="TOOLMASTER_MISSING_KEY is not set"):
        LLMTeacher("http://127.0.0.1:1/v1", "m", api_key_env="TOOLMASTER_MISSING_KEY")
    with pytest.raises(ValueError, match="http"):
        LLMTeacher("127.0.0.1:8000", "m", api_key_env=None)
    messages = [{"role": "user", "content": "hi"}]
    with _Server(lambda b: (400, b'{"error": "bad model"}', 0.0)) as server:
        t = LLMTeacher(server.url, "m", api_key_env=None, max_retries=2, backoff_s=0)
        with pytest.raises(LLMTeacherError, match="HTTP 400.*bad model"):
            t.complete(messages)
        assert len(server.requests) == 1  # client errors are not retried
    with _Server(lambda b: (503, b"busy", 0.0)) as server:
        t = LLMTeacher(server.url, "m", api_key_env=None, max_retries=2, backoff_s=0)
        with pytest.raises(LLMTeacherError, match="HTTP 503.*gave up after 3 attempts"):
            t.complete(messages)
        assert len(server.requests) == 3
    with _Server(lambda b: (200, b"not json", 0.0)) as server:
        t = LLMTeacher(server.url, "m", api_key_env=None)
        with pytest.raises(LLMTeacherError, match="invalid JSON"):
            t.complete(messages)
    with _Server(lambda b: (200, b'{"choices": []}', 0.0)) as server:
        t = LLMTeacher(server.url, "m", api_key_env=None)
        with pytest.raises(LLMTeacherError, match="without choices"):
            t.complete(messages)
    with _Server(lambda b: (200, _completion("late"), 0.5)) as server:
        t = LLMTeacher(server.url, "m", api_key_env=None, timeout=0.1, max_retries=0)
        with pytest.raises(LLMTeacherError, match="cannot reach|timed out"):
            t.complete(messages)
    t = LLMTeacher("http://127.0.0.1:9/v1", "m", api_key_env=None, max_retries=0, timeout=2)
    with pytest.raises(LLMTeacherError, match="cannot reach"):
        t.complete(messages)


def test_mistake_prob_zero_leaves_only_the_mistakes_the_docs_lead_to():
    fresh = gym.make("ToolMaster/Seen-v0", split="train", max_plan_steps=1)
    stale = gym.make("ToolMaster/Drift-v0", split="train", max_plan_steps=1, stale_docs=True,
                     drift_focus="plan")
    seeds = range(30)

    def play(env, p):
        teacher = TrialTeacher(env, seed=0, trial_when="first_use", style="diff", mistake_prob=p)
        return [play_episode(env, teacher, s) for s in seeds]

    clean = play(fresh, 0.0)
    assert all(r["outcome"]["success"] for r in clean)
    # fresh docs and no deliberate mistakes: every first trial works and is executed as is
    assert all(not r["mistakes"] for r in clean)
    assert all(r["tool_calls"][0]["mode"] == "trial" and r["tool_calls"][0]["ok"] for r in clean)
    assert sum(bool(r["mistakes"]) for r in play(fresh, 1.0)) >= 10
    # stale docs still lead to failed trials (not marked as deliberate), which get fixed
    led = play(stale, 0.0)
    assert all(r["outcome"]["success"] and not r["mistakes"] for r in led)
    assert sum(any(c["mode"] == "trial" and not c["ok"] for c in r["tool_calls"])
               for r in led) >= 10
    with pytest.raises(ValueError, match="mistake_prob"):
        TrialTeacher(fresh, mistake_prob=-0.1)
