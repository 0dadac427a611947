"""Tasks over a generated API: seeded, with golden plans of 1-4 calls (lookups, counts,
aggregates, conversions, chains, non-linear plans and state changes checked on the final
world)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tool_gym import Ref, Step, Task, answer_is, world_has
from tool_gym.envs.procgen.api import Api
from tool_gym.envs.procgen.backend import ProcgenWorld
from tool_gym.envs.procgen.vocabulary import (
    ADJECTIVES,
    BOOL_ATTRS,
    CREATURES,
    DATE_ATTRS,
    DIMENSION_UNITS,
    RATES,
    pick,
)
from tool_gym.units import UNITS


def _rec_by(world: ProcgenWorld, which: str, rng: np.random.Generator) -> dict[str, Any]:
    return pick(rng, list(world.tables[which].values()))


def _fmt_attr(attr: str) -> str:
    """``weight_kg`` -> ``weight in kg``, ``price_eur`` -> ``price in EUR``, ``opened_on`` ->
    ``opened on date``."""
    head, _, tail = attr.rpartition("_")
    if head and tail.upper() in RATES:
        return f"{head.replace('_', ' ')} in {tail.upper()}"
    if head and any(tail in units for units in DIMENSION_UNITS.values()):
        return f"{head.replace('_', ' ')} in {tail}"
    if attr in DATE_ATTRS:
        return f"{attr.replace('_', ' ')} date"
    if attr in BOOL_ATTRS:
        return f"{attr} flag (true or false)"
    return attr.replace("_", " ")


def _fresh_name(rng: np.random.Generator, world: ProcgenWorld) -> str:
    taken = {r["name"].lower() for r in world.tables["main"].values()}
    while True:
        name = f"{pick(rng, ADJECTIVES)} {pick(rng, CREATURES)} {int(rng.integers(2, 99))}"
        if name.lower() not in taken:
            return name


def _search_step(api: Api, which: str, name: str) -> Step:
    t = api.tool("search", which)
    assert t is not None
    return Step(t.name, {t.param("text"): name})


def _task_kinds(api: Api) -> list[str]:
    has = {(t.family, t.kind) for t in api.tools}
    out = ["lookup", "lookup_by_id"]
    for need, kind in [(("filter", "main"), "count"), (("range", "main"), "range_count"),
                       (("aggregate", "main"), "aggregate"), (("convert", "main"), "convert"),
                       (("create", "main"), "create"), (("update", "main"), "update"),
                       (("delete", "main"), "delete"), (("related", "main"), "related"),
                       (("move", "main"), "move")]:
        if need in has:
            out.append(kind)
    if ("convert", "main") in has:
        out.append("convert_chain")
    out.append("compare")
    if ("get", "parent") in has:
        out.append("parent_lookup")
    return out


def make_task(api: Api, rng: np.random.Generator, world: ProcgenWorld, seed: int) -> Task:
    main = api.main
    kind = pick(rng, _task_kinds(api))
    get = api.tool("get")
    assert get is not None
    n, ns = main.noun, main.plural
    rec = _rec_by(world, "main", rng)
    enum0, values0 = main.enums[0]
    fields = [e[0] for e in main.enums] + [f for f in (main.qty[0] if main.qty else None,
                                                       main.money, main.date, main.flag) if f]
    if kind in ("lookup", "lookup_by_id"):
        attr = pick(rng, fields)
        words = _fmt_attr(attr)
        if kind == "lookup_by_id":
            q = pick(rng, [f"What is the {words} of {n} {rec['id']}?",
                            f"Look up {n} {rec['id']} and tell me its {words}."])
            return Task("", "", q, [Step(get.name, {get.param("id"): rec["id"]})], Ref(0, attr),
                        answer_is(rec[attr]))
        q = pick(rng, [f"What is the {words} of the {n} named {rec['name']}?",
                        f"Find the {n} called {rec['name']} and report its {words}."])
        return Task("", "", q, [_search_step(api, "main", rec["name"]),
                                Step(get.name, {get.param("id"): Ref(0, "0.id")})],
                    Ref(1, attr), answer_is(rec[attr]))
    if kind == "count":
        t = api.tool("filter")
        value = pick(rng, values0)
        count = sum(r[enum0] == value for r in world.tables["main"].values())
        return Task("", "", f"How many {ns} have {_fmt_attr(enum0)} {value}? Answer with a number.",
                    [Step(t.name, {t.param("value"): value})], str(count), answer_is(count))  # type: ignore[union-attr]
    if kind == "range_count":
        t = api.tool("range")
        field_, unit = main.qty[0], main.qty[1]  # type: ignore[index]
        low = int(rec[field_])
        count = sum(r[field_] >= low for r in world.tables["main"].values())
        return Task("", "", f"How many {ns} have a {_fmt_attr(field_.rsplit('_', 1)[0])} of at "
                    f"least {low} {UNITS[unit].word}? Answer with a number.",
                    [Step(t.name, {t.param("min"): low})], str(count), answer_is(count))  # type: ignore[union-attr]
    if kind == "aggregate":
        t = api.tool("aggregate")
        value = pick(rng, values0)
        stat = pick(rng, ["total", "count"])
        vals = [r[main.qty[0]] for r in world.tables["main"].values() if r[enum0] == value]  # type: ignore[index]
        expected = sum(vals) if stat == "total" else len(vals)
        words = _fmt_attr(main.qty[0].rsplit("_", 1)[0])  # type: ignore[index]
        q = (f"What is the total {words} in {UNITS[main.qty[1]].word} of all {ns} with "  # type: ignore[index]
             f"{_fmt_attr(enum0)} {value}?" if stat == "total" else
             f"Using the {words} totals, how many {ns} have {_fmt_attr(enum0)} {value}?")
        return Task("", "", q, [Step(t.name, {t.param("value"): value})], Ref(0, stat),  # type: ignore[union-attr]
                    answer_is(expected))
    if kind in ("convert", "convert_chain"):
        t = api.tool("convert")
        assert t is not None
        field_, unit, dim = main.qty[0], main.qty[1], main.qty[2]  # type: ignore[index]
        target = pick(rng, [u for u in DIMENSION_UNITS[dim] if u != unit])
        expected = round(rec[field_] * UNITS[unit].factor / UNITS[target].factor, 3)  # type: ignore[operator]
        if kind == "convert":
            amount = int(rng.integers(2, 500))
            expected = round(amount * UNITS[unit].factor / UNITS[target].factor, 3)  # type: ignore[operator]
            return Task("", "", f"Convert {amount} {UNITS[unit].word} to {UNITS[target].word}.",
                        [Step(t.name, {t.param("amount"): amount, t.param("from"): unit,
                                       t.param("to"): target})], Ref(0, "value"),
                        answer_is(expected))
        words = _fmt_attr(field_.rsplit("_", 1)[0])
        return Task("", "", f"What is the {words} of the {n} named {rec['name']} in "
                    f"{UNITS[target].word}?",
                    [_search_step(api, "main", rec["name"]),
                     Step(get.name, {get.param("id"): Ref(0, "0.id")}),
                     Step(t.name, {t.param("amount"): Ref(1, field_), t.param("from"): unit,
                                   t.param("to"): target})], Ref(2, "value"), answer_is(expected))
    if kind == "create":
        t = api.tool("create")
        assert t is not None
        name, value = _fresh_name(rng, world), pick(rng, values0)
        args: dict[str, Any] = {t.param("name"): name, t.param("value"): value}
        plan = []
        where = ""
        parent_id = None
        if api.parent is not None:
            parent = _rec_by(world, "parent", rng)
            parent_id = parent["id"]
            plan.append(_search_step(api, "parent", parent["name"]))
            args[t.param("parent")] = Ref(0, "0.id")
            where = f" in the {api.parent.noun} named {parent['name']}"
        plan.append(Step(t.name, args))
        fk = f"{api.parent.noun}_id" if api.parent else ""

        def created(w: ProcgenWorld) -> bool:
            return any(r["name"] == name and r[enum0] == value and
                       (not fk or r.get(fk) == parent_id) for r in w.tables["main"].values())

        return Task("", "", f"Create a {n} named {name} with {_fmt_attr(enum0)} {value}{where}, "
                    "then say done.", plan, "done", world_has(created))
    if kind == "update":
        t = api.tool("update")
        assert t is not None
        value = pick(rng, [v for v in values0 if v != rec[enum0]])
        rid = rec["id"]
        return Task("", "", f"Set the {_fmt_attr(enum0)} of the {n} named {rec['name']} to "
                    f"{value}, then say done.",
                    [_search_step(api, "main", rec["name"]),
                     Step(t.name, {t.param("id"): Ref(0, "0.id"), t.param("value"): value})],
                    "done", world_has(lambda w: w.tables["main"].get(rid, {}).get(enum0) == value))
    if kind == "delete":
        t = api.tool("delete")
        assert t is not None
        rid = rec["id"]
        others = [r for r in world.tables["main"] if r != rid]
        return Task("", "", f"Delete the {n} named {rec['name']}, then say done.",
                    [_search_step(api, "main", rec["name"]),
                     Step(t.name, {t.param("id"): Ref(0, "0.id")})], "done",
                    world_has(lambda w: rid not in w.tables["main"] and
                              all(o in w.tables["main"] for o in others)))
    if kind == "related":
        t = api.tool("related")
        assert t is not None and api.parent is not None
        parent = _rec_by(world, "parent", rng)
        fk = f"{api.parent.noun}_id"
        count = sum(r[fk] == parent["id"] for r in world.tables["main"].values())
        return Task("", "", f"How many {ns} belong to the {api.parent.noun} named "
                    f"{parent['name']}? Answer with a number.",
                    [_search_step(api, "parent", parent["name"]),
                     Step(t.name, {t.param("parent"): Ref(0, "0.id")})], str(count),
                    answer_is(count))
    if kind == "move":
        t = api.tool("move")
        assert t is not None and api.parent is not None
        fk = f"{api.parent.noun}_id"
        parent = pick(rng, [p for p in world.tables["parent"].values() if p["id"] != rec[fk]])
        rid, pid = rec["id"], parent["id"]
        return Task("", "", f"Move the {n} named {rec['name']} to the {api.parent.noun} named "
                    f"{parent['name']}, then say done.",
                    [_search_step(api, "main", rec["name"]),
                     _search_step(api, "parent", parent["name"]),
                     Step(t.name, {t.param("id"): Ref(0, "0.id"), t.param("parent"): Ref(1, "0.id")})],
                    "done", world_has(lambda w: w.tables["main"].get(rid, {}).get(fk) == pid))
    if kind == "parent_lookup":
        t = api.tool("get", "parent")
        assert t is not None and api.parent is not None
        fk = f"{api.parent.noun}_id"
        parent = world.tables["parent"][rec[fk]]
        attr = api.parent.enums[0][0]
        return Task("", "", f"What is the {_fmt_attr(attr)} of the {api.parent.noun} that the "
                    f"{n} {rec['id']} belongs to?",
                    [Step(get.name, {get.param("id"): rec["id"]}),
                     Step(t.name, {t.param("id"): Ref(0, fk)})], Ref(1, attr),
                    answer_is(parent[attr]))
    # compare: two getters feed one comparison (a non-linear plan)
    field_ = main.qty[0]  # type: ignore[index]
    other = pick(rng, [r for r in world.tables["main"].values()
                        if r["id"] != rec["id"] and r[field_] != rec[field_]])
    bigger = rec if rec[field_] > other[field_] else other
    words = _fmt_attr(field_.rsplit("_", 1)[0])
    if rng.random() < 0.5:  # by id: two getters
        return Task("", "", f"Which has the larger {words}: {n} {rec['id']} or {n} "
                    f"{other['id']}? Answer with its name.",
                    [Step(get.name, {get.param("id"): rec["id"]}),
                     Step(get.name, {get.param("id"): other["id"]})], bigger["name"],
                    answer_is(bigger["name"]))
    return Task("", "", f"Which has the larger {words}, the {n} named {rec['name']} or the one "
                f"named {other['name']}? Answer with its name.",
                [_search_step(api, "main", rec["name"]), _search_step(api, "main", other["name"]),
                 Step(get.name, {get.param("id"): Ref(0, "0.id")}),
                 Step(get.name, {get.param("id"): Ref(1, "0.id")})], bigger["name"],
                answer_is(bigger["name"]))
