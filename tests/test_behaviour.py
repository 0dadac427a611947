"""Behaviour drift: the old call still parses but means or returns something else."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pytest

import tool_gym  # noqa: F401
from tool_gym.drift import KINDS, apply_mutations, kind_classes, sample_mutations
from tool_gym.env import ToolEnv
from tool_gym.explorer import ScriptedExplorer
from tool_gym.oracle import GoldenPlanPolicy, run_episode
from tool_gym.registration import get_domain

BEHAVIOUR = [k for k, c in kind_classes().items() if c == "behaviour"]


def test_every_kind_is_tagged_and_behaviour_kinds_exist():
    classes = kind_classes()
    assert set(classes.values()) == {"interface", "observation", "behaviour"}
    assert set(BEHAVIOUR) == {"paginate", "transient_failure", "confirm_changes", "id_format",
                              "unit_note", "sort_order", "default_change", "require_session",
                              "time_zone"}
    assert len(classes) >= 22
    assert classes["rename_tool"] == "interface" and classes["drift_docs"] == "observation"


def test_older_drift_levels_never_draw_behaviour_kinds_and_mixed_does():
    rng = np.random.default_rng(0)
    for level in ("light", "heavy", "adversarial"):
        drawn = {m["kind"] for _ in range(300) for m in sample_mutations(rng, level)}
        assert not drawn & set(BEHAVIOUR), level
    drawn = {m["kind"] for _ in range(300) for m in sample_mutations(rng, "mixed")}
    assert set(BEHAVIOUR) <= drawn


def _env(domain: str, mutations: list, **kw) -> ToolEnv:
    return ToolEnv(domains=[domain], split="all", mutations=mutations, **kw)


def _call(env: ToolEnv, name: str, args: dict, mode: str = "call") -> str:
    obs, *_ = env.step(f"<{mode}>{json.dumps({'name': name, 'arguments': args})}</{mode}>")
    return obs


@pytest.mark.parametrize("kind", BEHAVIOUR)
@pytest.mark.parametrize("domain", ["weather", "helpdesk", "procgen_3"])
def test_behaviour_kinds_round_trip_and_golden_plans_succeed(kind, domain):
    d = get_domain(domain)
    spec = {"kind": kind} if kind == "id_format" else {"kind": kind, "tools": "all"}
    first = apply_mutations(d, [spec], seed=3)
    text = json.dumps(first.applied)
    again = apply_mutations(d, json.loads(text), seed=99)
    assert again.applied == first.applied
    assert [t.spec.to_openai() for t in again.tools.values()] == \
        [t.spec.to_openai() for t in first.tools.values()]
    env = _env(domain, json.loads(text), stale_docs=True)
    for seed in range(8):
        result = run_episode(env, GoldenPlanPolicy(env), seed=seed)
        assert result["success"], (kind, domain, result["actions"])


def test_paginate_pages_a_list_and_names_the_next_page():
    env = _env("weather", [{"kind": "paginate", "tools": ["list_cities"], "size": 2}])
    env.reset(seed=0)
    obs = _call(env, "list_cities", {"country": "France"})
    page = json.loads(obs.splitlines()[0].split(" -> ", 1)[1])
    assert len(page["items"]) == 2 and page["next_page"] == 2 and page["total_items"] == 4
    obs = _call(env, "list_cities", {"country": "France", "page": 2})
    assert '"next_page": null' in obs
    assert "does not exist" in _call(env, "list_cities", {"country": "France", "page": 9})


def test_transient_failure_answers_retry_once_then_works():
    env = _env("weather", [{"kind": "transient_failure", "tools": ["list_cities"],
                            "style": "rate_limit"}])
    env.reset(seed=0)
    assert "Retry after" in _call(env, "list_cities", {})
    assert "ERROR" not in _call(env, "list_cities", {}).splitlines()[0]


def test_confirm_changes_applies_nothing_until_confirmed():
    env = _env("weather", [{"kind": "confirm_changes", "tools": ["set_weather_alert"]}])
    env.reset(seed=0)
    args = {"city": "Paris", "condition": "rain", "email": "a@b.co"}
    before = env.episode.world.fingerprint()
    assert '"confirm": true' in _call(env, "set_weather_alert", args)
    assert env.episode.world.fingerprint() == before
    assert "subscribed" in _call(env, "set_weather_alert", {**args, "confirm": True})


def test_id_format_shows_new_ids_and_refuses_old_ones_with_the_new_form():
    env = _env("helpdesk", [{"kind": "id_format", "style": "reversed"}])
    env.reset(seed=0)
    ids = [r for r in env.episode.task.plan for r in r.arguments.values()
           if isinstance(r, str) and r.startswith("TK-")]
    old = ids[0] if ids else "TK-1001"
    name = next(s.tool for s in env.episode.task.plan)
    obs = env.dry_run(name, {"ticket_id": old}) or ""
    if "ticket_id" in env.domain.tool_map[name].param_names:
        assert "now look like" in obs and old.split("-")[1] + "-TK" in obs


def test_require_session_refuses_without_a_token_and_says_how_to_get_one():
    env = _env("weather", [{"kind": "require_session", "tools": ["get_forecast"]}])
    env.reset(seed=0)
    args = {"city": "Paris", "date": "2026-06-01"}
    refused = _call(env, "get_forecast", args, mode="trial")
    assert "needs a session token. Call open_session first" in refused
    assert '"session_token"' in refused
    assert "not valid" in _call(env, "get_forecast", {**args, "session_token": "tok_guess"})
    opened = json.loads(_call(env, "open_session", {}).splitlines()[0].split(" -> ", 1)[1])
    token = opened["session_token"]
    assert token.startswith("tok_")
    assert "ERROR" not in _call(env, "get_forecast", {**args, "session_token": token})
    # other tools are not gated, and the opener is no backend result
    assert "ERROR" not in _call(env, "list_cities", {}).splitlines()[0]
    assert [r.target for r in env.episode.records if r.ok].count(None) == 1


def test_golden_plans_open_the_session_first_and_a_fresh_episode_starts_closed():
    env = _env("weather", [{"kind": "require_session", "tools": "all"}], stale_docs=True)
    result = run_episode(env, GoldenPlanPolicy(env), seed=4)
    assert result["success"]
    plan = env.episode.task.plan
    assert len(result["actions"]) == len(plan) + 2  # the opener, the plan, the answer
    assert '"open_session"' in result["actions"][0]
    env.reset(seed=4)
    assert "needs a session" in (env.dry_run(plan[0].tool, plan[0].arguments) or "")


def test_time_zone_moves_times_taken_and_returned_and_states_the_zone():
    env = _env("calendar", [{"kind": "time_zone", "tools": ["create_event", "list_events"],
                             "zone": "UTC+02:00"}])
    env.reset(seed=0)
    day = env.episode.world.start
    obs = _call(env, "create_event", {"title": "Zone test", "date": day, "start_time": "10:00",
                                      "duration_minutes": 30}, mode="trial")
    shown = json.loads(obs.splitlines()[0].split(" -> ", 1)[1])
    assert (shown["start"], shown["time_zone"], shown["time_zone_was"]) == (
        "10:00", "UTC+02:00", "UTC")
    backend = env.episode.records[-1]
    assert backend.backend_arguments["start_time"] == "08:00"
    assert backend.result["start"] == "08:00"
    listed = env.episode.world.events
    first = min(listed.values(), key=lambda e: (e["date"], e["start"]))
    obs = _call(env, "list_events", {"date": first["date"]})
    assert '"time_zone": "UTC+02:00"' in obs
    h, m = map(int, first["start"].split(":"))
    assert f"{(h + 2) % 24:02d}:{m:02d}" in obs


def test_time_zone_states_the_zone_in_errors_and_only_acts_on_tools_with_times():
    from tool_gym.behaviour import shift_time

    assert shift_time("23:30", 120) == "01:30" and shift_time("2026-01-31 23:00", 90) == \
        "2026-02-01 00:30"
    assert apply_mutations(get_domain("weather"), [{"kind": "time_zone"}]).applied == []
    drawn = apply_mutations(get_domain("calendar"), [{"kind": "time_zone"}], seed=1).applied
    assert drawn and drawn[0]["tools"] == ["create_event"]
    env = _env("calendar", [{"kind": "time_zone", "tools": ["create_event"],
                             "zone": "UTC-03:00"}])
    env.reset(seed=0)
    err = _call(env, "create_event", {"title": "x", "date": "1999-01-01", "start_time": "10:00",
                                      "duration_minutes": 30}, mode="trial")
    assert "(times in UTC-03:00; they were UTC)" in err


@pytest.mark.parametrize(("kind", "domain"), [
    ("require_session", "weather"), ("require_session", "procgen_3"),
    ("time_zone", "calendar"), ("time_zone", "transit")])
def test_explorer_discovers_the_new_behaviour_kinds_from_responses(kind, domain):
    env = _env(domain, [{"kind": kind, "tools": "all"}], stale_docs=True, max_turns=12)
    wins = sum(run_episode(env, ScriptedExplorer(), seed=s)["success"] for s in range(8))
    assert wins >= 7, wins


def test_unit_note_reports_another_unit_and_says_so():
    env = _env("weather", [{"kind": "unit_note", "tools": ["get_forecast"]}])
    env.reset(seed=0)
    obs = _call(env, "get_forecast", {"city": "Paris", "date": "2026-06-01"})
    assert "is now reported in fahrenheit" in obs


@dataclass
class _BreakWorld(tool_gym.World):
    breaks: list = field(default_factory=list)


@tool_gym.tool(side_effects=True)
def add_break(world: _BreakWorld, hours: float) -> dict:
    """Add a break to the shift.

    Args:
        hours: Length of the break.
    """
    world.breaks.append(hours)
    return {"ok": True}


def _break_task(rng, world, seed):
    hours = float(rng.integers(1, 6))
    return tool_gym.Task("", "", f"Add a break of {hours:g} hours, then say done.",
                         [tool_gym.Step("add_break", {"hours": hours})], "done",
                         tool_gym.world_has(lambda w: w.breaks == [hours]))


def test_sort_order_reverses_and_says_so():
    env = _env("weather", [{"kind": "sort_order", "tools": ["list_cities"]}])
    env.reset(seed=0)
    obs = _call(env, "list_cities", {"country": "France"})
    page = json.loads(obs.splitlines()[0].split(" -> ", 1)[1])
    assert page["order"] == "reversed" and page["items"][-1]["name"] == "Paris"


def test_default_change_applies_to_omitted_choices_and_notes_it():
    env = _env("weather", [{"kind": "default_change", "defaults": {
        "get_current_weather": {"param": "units", "value": "imperial"}}}])
    env.reset(seed=0)
    obs = _call(env, "get_current_weather", {"city": "Paris"})
    assert "temp_f" in obs and "units now defaults to imperial (was metric)" in obs
    assert "temp_c" in _call(env, "get_current_weather", {"city": "Paris", "units": "metric"})


def test_explorer_reads_a_unit_from_a_one_word_parameter():
    """The known hole: ``hours`` -> ``minutes`` by change_format, on a domain whose docs
    never say "in hours", was not read as a unit change (0 of 12 before); now it is."""
    domain = tool_gym.Domain("breaks", "Breaks", "Shift breaks.", [add_break],
                             lambda rng: _BreakWorld(), _break_task,
                             hints={"add_break.hours": "unit:h"})
    env = ToolEnv(domains=[domain], split="all", stale_docs=True, mutations=[
        {"kind": "change_format", "changes": [{"tool": "add_break", "param": "hours",
                                               "format": "unit:h->min"}]}])
    env.reset(seed=0)
    assert "minutes" in env.episode.surface.tools["add_break"].spec.param_names
    wins = sum(run_episode(env, ScriptedExplorer(intent_fn=lambda info: _intent(domain, info)),
                           seed=s)["success"] for s in range(12))
    assert wins == 12


def _intent(domain, info):
    from tool_gym.explorer import Intent

    _, task = domain.generate(int(info["task_seed"]))
    return Intent(list(domain.tools), list(task.plan), task.answer)


def test_behaviour_kinds_are_in_the_kinds_table_once():
    assert all(KINDS[k].drift_class == "behaviour" for k in BEHAVIOUR)


@pytest.mark.parametrize("domain", ["calendar", "transit"])
def test_sessions_and_zones_compose_one_per_api_and_golden_plans_still_succeed(domain):
    mutations = [{"kind": "require_session", "count": 2}, {"kind": "time_zone", "count": 2},
                 {"kind": "require_session", "count": 2}, {"kind": "time_zone", "count": 2},
                 {"kind": "rename_tool", "count": 2}]
    d = get_domain(domain)
    for seed in range(10):
        surface = apply_mutations(d, mutations, seed=seed)
        again = apply_mutations(d, json.loads(json.dumps(surface.applied)), seed=seed + 1)
        assert again.applied == surface.applied
        assert sum(t.handler is not None for t in surface.tools.values()) == 1
        zones = {m["zone"] for m in surface.applied if m["kind"] == "time_zone"}
        assert len(zones) == 1, surface.applied
    env = _env(domain, None, drift_level=None, stale_docs=True)
    env.mutations = mutations
    for seed in range(8):
        result = run_episode(env, GoldenPlanPolicy(env), seed=seed)
        assert result["success"], (env.episode.surface.applied, result["actions"])


@pytest.mark.parametrize("rename", [{"kind": "rename_params", "tools": "all"},
                                    {"kind": "scramble"},
                                    {"kind": "name_noise", "level": "typo", "params": True,
                                     "tools": "all"}])
def test_a_parameter_a_gate_names_keeps_its_name_under_later_renames(rename):
    d = get_domain("weather")
    surface = apply_mutations(d, [{"kind": "require_session", "tools": ["get_forecast"]},
                                  {"kind": "confirm_changes", "tools": ["set_weather_alert"]},
                                  rename], seed=2)
    by_target = {t.target: t for t in surface.tools.values()
                 if t.target and t.deprecated_for is None}
    assert "session_token" in by_target["get_forecast"].spec.param_names
    assert "confirm" in by_target["set_weather_alert"].spec.param_names
    env = _env("weather", surface.applied, stale_docs=True, max_turns=12)
    wins = sum(run_episode(env, ScriptedExplorer(), seed=s)["success"] for s in range(6))
    assert wins >= 5, wins
