"""Drift: mutations over every domain, golden translation, JSON round-trips, seeding, errors."""

from __future__ import annotations

import json
import re
import time
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from jsonschema import Draft202012Validator

import tool_gym  # noqa: F401
from tool_gym.drift import (
    DRIFT_LEVELS,
    KINDS,
    apply_mutations,
    build_surface,
    format_targets,
    mutation_kinds,
    sample_mutations,
)
from tool_gym.env import ToolEnv
from tool_gym.oracle import GoldenPlanPolicy, run_episode, unwrap
from tool_gym.registration import domains, env_ids
from tool_gym.surface import Surface

DOMAINS = list(domains().values())
KIND_NAMES = mutation_kinds()
# check_env warnings that are about Gymnasium itself, not about the env: none are known yet.
BENIGN_WARNINGS: list[str] = []


def _all(kind: str) -> dict:
    return {"kind": kind} if kind in ("terse_errors", "scramble", "change_format") else {
        "kind": kind, "tools": "all"}


def _fingerprint(surface: Surface) -> list:
    """Everything observable about a surface except adapter identity."""
    rows = []
    for name, t in surface.tools.items():
        rows.append((name, t.spec.to_openai(), None if t.doc is None else t.doc.to_openai(),
                     t.target, t.deprecated_for, t.error))
    stale = None if surface.stale_doc is None else [s.to_openai() for s in surface.stale_doc]
    return [rows, surface.terse_errors, stale]


def test_at_least_ten_kinds_and_the_registry_has_drift_ids():
    assert len(KIND_NAMES) >= 10
    assert {"rename_tool", "rename_params", "reorder_params", "add_required_param",
            "change_format", "wrap_response", "rename_fields", "deprecate_tool", "drift_docs",
            "distractor_tools", "terse_errors", "name_noise", "scramble"} <= set(KIND_NAMES)
    ids = set(env_ids())
    assert {"ToolMaster/Drift-v0", "ToolMaster/Unseen-Drift-v0"} <= ids
    for d in DOMAINS:
        assert f"ToolMaster/{d.title}-Drift-v0" in ids
    assert [k for k in KIND_NAMES if KINDS[k].adversarial] == ["terse_errors"]


def _has_enum_default(domain) -> bool:
    return any("default" in s and len(s.get("enum") or []) >= 2
               for t in domain.tools for s in t.parameters["properties"].values())


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_every_kind_applies_and_keeps_the_invariants(domain):
    canonical = {t.name: t for t in domain.tools}
    for i, kind in enumerate(KIND_NAMES):
        for seed in range(3):
            surface = apply_mutations(domain, [_all(kind)], seed=seed * 31 + i)
            if kind != "change_format" or format_targets(domain):
                if kind == "default_change" and not _has_enum_default(domain):
                    continue
                assert surface.applied and surface.applied[0]["kind"] == kind, (kind, domain.name)
            for name, t in surface.tools.items():
                # every schema a mutation builds is a valid JSON Schema
                Draft202012Validator.check_schema(t.spec.parameters)
                if t.doc is not None:
                    Draft202012Validator.check_schema(t.doc.parameters)
                # a canonical name never runs another backend tool
                if name in canonical:
                    assert t.target == name, (kind, name, t.target)
                if t.target is None:  # a tool that only errors, or one the surface answers
                    assert t.error or t.handler is not None, (kind, name)
                    continue
                # an old parameter name keeps its meaning (or is gone)
                old = set(canonical[t.target].param_names)
                for q in t.spec.param_names:
                    if q in old:
                        try:
                            mapped = t.to_backend({q: "2026-06-01"})
                        except tool_gym.ToolError:  # a behaviour gate: retry, confirm
                            assert KINDS[kind].drift_class == "behaviour", (kind, name, q)
                            continue
                        assert q in mapped, (kind, name, q)
            # every backend tool stays reachable
            for backend in canonical:
                assert surface.surface_name(backend) is not None, (kind, backend)


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_translated_golden_plans_succeed_for_every_kind(domain):
    env = ToolEnv(domains=[domain.name], split="all")
    for kind in KIND_NAMES:
        for stale in (False, True):
            env.mutations, env.stale_docs = [_all(kind)], stale
            for seed in range(2):
                result = run_episode(env, GoldenPlanPolicy(env), seed=seed)
                assert result["success"], (domain.name, kind, stale, result["actions"],
                                           result["info"]["mutations"])
    env.mutations = None
    for level in DRIFT_LEVELS:
        env.drift_level = level
        for seed in range(4):
            result = run_episode(env, GoldenPlanPolicy(env), seed=100 + seed)
            assert result["success"], (domain.name, level, result["info"]["mutations"])
    env.close()


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_mutations_round_trip_through_json(domain):
    rng = np.random.default_rng(5)
    for _ in range(6):
        specs = sample_mutations(rng, "adversarial")
        first = build_surface(domain, Surface.identity(domain.tools), rng, mutations=specs,
                              stale_docs=bool(rng.integers(2)))
        text = json.dumps(first.applied)
        assert json.loads(text) == first.applied
        again = build_surface(domain, Surface.identity(domain.tools),
                              np.random.default_rng(12345), mutations=json.loads(text),
                              stale_docs=first.stale_doc is not None)
        assert _fingerprint(again) == _fingerprint(first)
        assert again.applied == first.applied
        # the adapters agree too: the same canonical call maps to the same surface call
        _, task = domain.generate(int(rng.integers(1000)))
        for step in task.plan:
            if not any(isinstance(v, tool_gym.Ref) for v in step.arguments.values()):
                a, b = first.surface_name(step.tool), again.surface_name(step.tool)
                assert a == b
                assert first.tools[a].to_surface(dict(step.arguments)) == \
                    again.tools[b].to_surface(dict(step.arguments))


def test_same_seed_same_mutations_and_fresh_ones_each_reset():
    env = gym.make("ToolMaster/Drift-v0")
    seen = []
    for seed in (1, 2, 3, 1):
        _, info = env.reset(seed=seed)
        seen.append(json.dumps(info["mutations"], sort_keys=True))
    assert seen[0] == seen[3]
    assert len(set(seen[:3])) == 3
    _, info_a = env.reset(seed=7)
    _, info_b = env.reset()
    assert info_a["mutations"] != info_b["mutations"]  # fresh mutations each reset
    env.close()


def test_mutations_are_never_shown_in_the_observation():
    env = gym.make("ToolMaster/Weather-v0", mutations=[{"kind": "rename_tool", "tools": "all",
                                                         "style": "opaque"}], stale_docs=True)
    obs, info = env.reset(seed=0)
    names = info["mutations"][0]["names"]
    assert "rename_tool" not in obs and all(new not in obs for new in names.values())
    # stale docs show the old catalogue while the backend follows the new one
    assert [t["function"]["name"] for t in info["tools"]] == [
        t.name for t in domains()["weather"].tools]
    obs, *_ = env.step('<call>{"name": "list_alerts", "arguments": {}}</call>')
    assert "unknown tool 'list_alerts'" in obs and names["list_alerts"] in obs
    env.close()


def _step(env, call: dict) -> str:
    return env.step(f"<call>{json.dumps(call)}</call>")[0]


def test_errors_say_what_is_expected():
    muts = [{"kind": "rename_params", "tool": "get_forecast", "params": {"get_forecast": {
        "city": "location"}}},
            {"kind": "change_format", "changes": [{"tool": "get_forecast", "param": "date",
                                                   "format": "date:DD/MM/YYYY"}]},
            {"kind": "deprecate_tool", "successors": {"get_air_quality": "get_air_quality_v2"}},
            {"kind": "add_required_param", "added": {"list_cities": {
                "name": "api_version", "value": "v2", "description": "must be \"v2\""}}},
            {"kind": "change_format", "changes": [{"tool": "get_current_weather",
                                                   "param": "units", "format": "enum:upper"}]}]
    env = gym.make("ToolMaster/Weather-v0", mutations=muts, stale_docs=True)
    env.reset(seed=0)
    obs = _step(env, {"name": "get_forecast", "arguments": {"city": "Paris", "date": "2026-06-02"}})
    assert "unknown parameter 'city'; parameters: location, date" in obs
    obs = _step(env, {"name": "get_forecast", "arguments": {"location": "Paris",
                                                             "date": "2026-06-02"}})
    assert "DD/MM/YYYY" in obs
    obs = _step(env, {"name": "get_forecast", "arguments": {"location": "Paris",
                                                             "date": "02/06/2026"}})
    assert '"date": "2026-06-02"' in obs and "ERROR" not in obs
    obs = _step(env, {"name": "get_air_quality", "arguments": {"city": "Paris"}})
    assert "'get_air_quality' is deprecated; use 'get_air_quality_v2' instead" in obs
    obs = _step(env, {"name": "list_cities", "arguments": {}})
    assert "missing required parameter 'api_version'" in obs and '["v2"]' in obs
    obs = _step(env, {"name": "get_current_weather", "arguments": {"city": "Paris",
                                                                    "units": "imperial"}})
    assert "['METRIC', 'IMPERIAL']" in obs
    env.close()


def test_terse_errors_drop_every_hint():
    env = gym.make("ToolMaster/Weather-v0", mutations=[
        {"kind": "rename_tool", "tool": "get_forecast"}, {"kind": "terse_errors"},
        {"kind": "rename_params", "tool": "get_air_quality"}])
    env.reset(seed=0)
    obs = _step(env, {"name": "get_forecast", "arguments": {"city": "Paris", "date": "x"}})
    assert "ERROR: unknown tool\n" in obs and "Available" not in obs
    obs = _step(env, {"name": "get_air_quality", "arguments": {"city": "Paris"}})
    assert "ERROR: invalid arguments\n" in obs and "parameters" not in obs
    env.close()


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_explicit_kinds_without_targets_draw_them_from_the_env_rng(kind):
    # calendar has no optional choice with a default for default_change to move
    title = "Library" if kind == "default_change" else "Calendar"
    env = gym.make(f"ToolMaster/{title}-v0", mutations=[{"kind": kind}])
    _, a = env.reset(seed=3)
    _, b = env.reset(seed=3)
    assert a["mutations"] == b["mutations"] and a["mutations"][0]["kind"] == kind
    env.close()


def test_drift_levels_sample_compositions_and_leave_adversarial_kinds_out():
    rng = np.random.default_rng(0)
    for level in ("light", "heavy"):
        for _ in range(300):
            specs = sample_mutations(rng, level)
            assert all(not KINDS[s["kind"]].adversarial for s in specs)
            assert (1 if level == "light" else 3) <= len(specs) <= (2 if level == "light" else 5)
    kinds = {s["kind"] for _ in range(300) for s in sample_mutations(rng, "adversarial")}
    assert "terse_errors" in kinds


def test_bad_drift_arguments_fail_at_make_time():
    with pytest.raises(ValueError, match="drift_level"):
        gym.make("ToolMaster/Weather-v0", drift_level="extreme")
    with pytest.raises(ValueError, match="unknown mutation kind"):
        gym.make("ToolMaster/Weather-v0", mutations=[{"kind": "rename_everything"}])
    with pytest.raises(ValueError, match="JSON object"):
        gym.make("ToolMaster/Weather-v0", mutations=["rename_tool"])
    env = gym.make("ToolMaster/Weather-v0", mutations=[{"kind": "rename_tool", "tool": "nope"}])
    with pytest.raises(ValueError, match="no tool 'nope'"):
        env.reset(seed=0)


def test_drift_focus_plan_meets_the_tools_of_the_task():
    def hits(focus: str) -> tuple[int, int]:
        env = gym.make("ToolMaster/Drift-v0", split="test", stale_docs=True, drift_focus=focus)
        golden = gym.make("ToolMaster/Drift-v0", split="test", stale_docs=True,
                          drift_focus=focus)
        hit = solved = 0
        for seed in range(60):
            _, info = env.reset(seed=seed)
            tools = {step.tool for step in env.unwrapped.episode.task.plan}
            text = json.dumps(info["mutations"])
            hit += any(f'"{t}"' in text for t in tools) or '"scramble"' in text
            solved += run_episode(golden, GoldenPlanPolicy(golden), seed=seed)["success"]
        assert solved == 60  # golden plans are translated through any drift
        return hit, solved

    assert hits("plan")[0] >= 55 > hits("any")[0]
    with pytest.raises(ValueError, match="drift_focus"):
        gym.make("ToolMaster/Drift-v0", drift_focus="task")


def test_units_and_formats_convert_exactly():
    muts = [{"kind": "change_format", "changes": [
        {"tool": "create_event", "param": "duration_minutes", "format": "unit:min->h"},
        {"tool": "create_event", "param": "start_time", "format": "time:12h"},
        {"tool": "create_event", "param": "date", "format": "date:YYYYMMDD"}]}]
    surface = apply_mutations(domains()["calendar"], muts)
    tool = surface.tools["create_event"]
    canon = {"title": "x", "date": "2026-06-03", "start_time": "13:45", "duration_minutes": 45}
    shown = tool.to_surface(dict(canon))
    assert shown == {"title": "x", "date": "20260603", "start_time": "01:45 PM",
                     "duration_hours": 0.75}
    assert tool.spec.validate(shown) is None
    assert tool.to_backend(shown) == canon


DRIFT_CONFIGS = [("ToolMaster/Drift-v0", {"drift_level": "heavy", "stale_docs": True}),
                 ("ToolMaster/Drift-v0", {"stale_docs": True, "drift_focus": "plan"}),
                 ("ToolMaster/Unseen-Drift-v0", {"drift_level": "adversarial"}),
                 ("ToolMaster/Calendar-Drift-v0", {"mutations": [{"kind": "scramble"}],
                                                   "stale_docs": True})]


@pytest.mark.parametrize("env_id,kwargs", DRIFT_CONFIGS, ids=lambda x: str(x)[:40])
def test_check_env_fuzz_and_determinism_under_heavy_drift(env_id, kwargs):
    env = gym.make(env_id, max_turns=40, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for pattern in BENIGN_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        check_env(env.unwrapped, skip_render_check=False)
    base = unwrap(env)
    rng = np.random.default_rng(1)
    junk = [None, 0, -1, "", "x" * 300, "2026-06-01", [], {}, True, 3.5, "\u00e9"]

    def actions(obs, info) -> list[str]:
        names = [t["function"]["name"] for t in info["tools"]] + list(base.episode.surface.tools)
        out = []
        for _ in range(60):
            name = names[int(rng.integers(len(names)))]
            spec = base.episode.surface.tools.get(name)
            params = spec.spec.param_names if spec else ["x"]
            args = {p: junk[int(rng.integers(len(junk)))] for p in params if rng.random() < .8}
            mode = "trial" if rng.random() < 0.5 else "call"
            out.append(f"<{mode}>{json.dumps({'name': name, 'arguments': args})}</{mode}>")
        return out

    traces = []
    for _ in range(2):
        obs, info = env.reset(seed=11)
        trace = [obs, json.dumps(info, sort_keys=True, default=str)]
        for action in actions(obs, info):
            obs, reward, term, trunc, info = env.step(action)
            assert base.observation_space.contains(obs)
            assert reward <= 0.0 or term
            trace.append((obs, reward, term, trunc))
            if term or trunc:
                break
        traces.append(trace)
        rng = np.random.default_rng(1)
    assert traces[0] == traces[1]
    env.close()


def test_drifted_steps_stay_cheap():
    """Adapters are built at reset; a drifted tool step costs about what a plain one does."""
    def median_step_us(**kwargs) -> float:
        env = ToolEnv(domains=["weather"], split="all", max_turns=100, **kwargs)
        env.reset(seed=0)
        call = GoldenPlanPolicy(env).act()
        times = []
        for _ in range(300):
            t0 = time.perf_counter()
            env.step(call)
            times.append(time.perf_counter() - t0)
            if env.episode.done:
                env.reset(seed=0)
                call = GoldenPlanPolicy(env).act()
        return float(np.median(times)) * 1e6

    plain = median_step_us()
    drifted = median_step_us(mutations=[
        {"kind": k, "tools": "all"} for k in ("rename_tool", "rename_params", "wrap_response",
                                              "rename_fields")] + [{"kind": "change_format"}])
    assert drifted < plain * 2 + 100, (plain, drifted)


def test_observations_of_mutated_tools_never_name_the_mutation_kind():
    env = ToolEnv(domains=["jokes"], split="all", drift_level="heavy", stale_docs=False)
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        assert not re.search(r'"kind": ', obs)
        assert json.dumps(info["mutations"]) not in obs
    env.close()


def test_drift_is_a_package_and_every_public_name_still_imports_from_it():
    import importlib

    import tool_gym.drift as drift

    for name in drift.__all__:
        assert getattr(drift, name) is not None, name
    # one concept a module; each name lives in one of them and is the same object here
    for module, names in {"vocabulary": ["SYNONYMS", "ADDED_PARAMS"],
                          "adapters": ["Chain", "Scale", "DATE_PATTERN"],
                          "build": ["SurfaceBuild", "derive", "free_name"],
                          "kinds": ["KINDS", "Kind", "format_targets"]}.items():
        sub = importlib.import_module(f"tool_gym.drift.{module}")
        for name in names:
            assert getattr(sub, name) is getattr(drift, name), (module, name)
    assert {"paginate", "require_session", "rename_tool"} <= set(drift.KINDS)
