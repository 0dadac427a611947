"""The backend of a generated API: the in-memory world (one table per entity kind), the
operation behind each tool family, and the tool specs the agent is shown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tool_gym import ToolError, World
from tool_gym.envs.procgen.api import Api, Kind, ToolDef
from tool_gym.envs.procgen.vocabulary import ADJECTIVES, CREATURES, DIMENSION_UNITS, START, pick
from tool_gym.spec import ToolSpec
from tool_gym.units import UNITS


@dataclass
class ProcgenWorld(World):
    """One table per entity kind: ``tables["main"][id] -> record``."""

    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 0

    def fork(self) -> ProcgenWorld:
        return ProcgenWorld({k: {i: dict(r) for i, r in t.items()} for k, t in self.tables.items()},
                            self.next_id)


def _names(rng: np.random.Generator, count: int) -> list[str]:
    picks = rng.choice(len(ADJECTIVES) * len(CREATURES), size=count, replace=False)
    return [f"{ADJECTIVES[int(i) // len(CREATURES)]} {CREATURES[int(i) % len(CREATURES)]}"
            for i in picks]


def make_world(api: Api, rng: np.random.Generator) -> ProcgenWorld:
    world = ProcgenWorld()
    kinds = [("parent", api.parent)] if api.parent else []
    kinds.append(("main", api.main))
    for which, kind in kinds:
        if kind is None:
            continue
        count = int(rng.integers(4, 7)) if which == "parent" else int(rng.integers(8, 15))
        numbers = rng.choice(9000, size=count, replace=False) + 1000
        table: dict[str, dict[str, Any]] = {}
        for name, number in zip(_names(rng, count), numbers, strict=True):
            rec: dict[str, Any] = {"id": f"{kind.prefix}-{int(number)}", "name": name}
            if which == "main" and api.parent is not None:
                rec[f"{api.parent.noun}_id"] = pick(rng, list(world.tables["parent"]))
            for attr, values in kind.enums:
                rec[attr] = pick(rng, values)
            if kind.qty:
                field_, _, _, lo, hi = kind.qty
                rec[field_] = int(rng.integers(lo, hi + 1))
            if kind.money:
                rec[kind.money] = round(float(rng.uniform(5, 500)), 2)
            if kind.date:
                rec[kind.date] = (START + dt.timedelta(days=int(rng.integers(0, 365)))).isoformat()
            if kind.flag:
                rec[kind.flag] = bool(rng.random() < 0.5)
            table[rec["id"]] = rec
        world.tables[which] = table
    world.next_id = 9000 + int(rng.integers(100, 900))
    return world


class Operation:
    """The backend of one generated tool: ``fn(world, **arguments)``; plain data, so it pickles."""

    def __init__(self, api: Api, tool: ToolDef) -> None:
        self.api, self.tool = api, tool

    def __call__(self, world: ProcgenWorld, **args: Any) -> Any:
        return getattr(self, f"_{self.tool.family}")(world, self.api.kind(self.tool.kind), args)

    # helpers
    def _hint_search(self, which: str) -> str:
        t = self.api.tool("search", which)
        return f"; use {t.name} to find one" if t else ""

    def _lookup(self, world: ProcgenWorld, which: str, raw: Any) -> dict[str, Any]:
        kind = self.api.kind(which)
        key = str(raw).strip().upper()
        rec = world.tables[which].get(key)
        if rec is None:
            example = next(iter(world.tables[which]), f"{kind.prefix}-1234")
            raise ToolError(f"no {kind.noun} with id '{str(raw)[:40]}'; {kind.noun} ids look like "
                            f"{example}{self._hint_search(which)}")
        return rec

    def _brief(self, rec: dict[str, Any]) -> dict[str, Any]:
        return {"id": rec["id"], "name": rec["name"]}

    # families
    def _search(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> list[dict]:
        text = str(args[self.tool.param("text")]).strip().lower()
        if not text:
            raise ToolError(f"{self.tool.param('text')} is empty; give part of a {kind.noun} name")
        hits = [self._brief(r) for r in world.tables[self.tool.kind].values()
                if text in r["name"].lower()]
        if not hits:
            example = next(iter(world.tables[self.tool.kind].values()))["name"]
            raise ToolError(f"no {kind.noun} name contains '{text[:40]}'; search by a word of "
                            f"the name, e.g. '{example.split()[0]}'")
        return hits

    def _get(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> dict:
        return dict(self._lookup(world, self.tool.kind, args[self.tool.param("id")]))

    def _filter(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> list[dict]:
        value = args[self.tool.param("value")]
        return [self._brief(r) | {self.tool.attr: r[self.tool.attr]}
                for r in world.tables["main"].values() if r[self.tool.attr] == value]

    def _range(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> list[dict]:
        low = args[self.tool.param("min")]
        return [self._brief(r) | {self.tool.attr: r[self.tool.attr]}
                for r in world.tables["main"].values() if r[self.tool.attr] >= low]

    def _related(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> list[dict]:
        parent = self._lookup(world, "parent", args[self.tool.param("parent")])
        fk = f"{self.api.parent.noun}_id"  # type: ignore[union-attr]
        return [self._brief(r) for r in world.tables["main"].values() if r[fk] == parent["id"]]

    def _aggregate(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> dict:
        value = args[self.tool.param("value")]
        vals = [r[self.tool.attr] for r in world.tables["main"].values()
                if r[kind.enums[0][0]] == value]
        total = sum(vals)
        return {"count": len(vals), "total": total,
                "average": round(total / len(vals), 2) if vals else 0, "unit": kind.qty[1]}  # type: ignore[index]

    def _convert(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> dict:
        amount = args[self.tool.param("amount")]
        src, dst = args[self.tool.param("from")], args[self.tool.param("to")]
        value = amount * UNITS[src].factor / UNITS[dst].factor  # type: ignore[operator]
        return {"value": round(value, 3), "unit": dst}

    def _create(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> dict:
        name = str(args[self.tool.param("name")]).strip()
        if not name:
            raise ToolError(f"{self.tool.param('name')} is empty; give the new {kind.noun} a name")
        for r in world.tables["main"].values():
            if r["name"].lower() == name.lower():
                raise ToolError(f"a {kind.noun} named '{r['name']}' already exists (id {r['id']})")
        world.next_id += 1
        rec: dict[str, Any] = {"id": f"{kind.prefix}-{world.next_id}", "name": name[:60]}
        if self.api.parent is not None:
            parent = self._lookup(world, "parent", args[self.tool.param("parent")])
            rec[f"{self.api.parent.noun}_id"] = parent["id"]
        rec[kind.enums[0][0]] = args[self.tool.param("value")]
        world.tables["main"][rec["id"]] = rec
        return {"created": rec["id"], **rec}

    def _update(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> dict:
        rec = self._lookup(world, "main", args[self.tool.param("id")])
        rec[self.tool.attr] = args[self.tool.param("value")]
        return dict(rec)

    def _move(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> dict:
        rec = self._lookup(world, "main", args[self.tool.param("id")])
        parent = self._lookup(world, "parent", args[self.tool.param("parent")])
        rec[f"{self.api.parent.noun}_id"] = parent["id"]  # type: ignore[union-attr]
        return dict(rec)

    def _delete(self, world: ProcgenWorld, kind: Kind, args: dict[str, Any]) -> dict:
        rec = self._lookup(world, "main", args[self.tool.param("id")])
        del world.tables["main"][rec["id"]]
        return {"deleted": rec["id"], "name": rec["name"]}


class GeneratedSpec(ToolSpec):
    """A ToolSpec built by the generator: its schema is trusted (tests ``check_schema`` every
    one), which keeps generating an API within milliseconds (the meta-schema check costs
    about 1.3 ms a spec)."""

    def __post_init__(self) -> None:
        pass


def _id_schema(kind: Kind) -> dict[str, Any]:
    return {"type": "string", "description": f"{kind.noun} id, e.g. {kind.prefix}-1234"}


def build_spec(api: Api, tool: ToolDef) -> ToolSpec:
    kind = api.kind(tool.kind)
    main = api.main
    props: dict[str, Any] = {}
    fam = tool.family
    enum0, values0 = main.enums[0]
    for role, pname in tool.params:
        if role == "id":
            props[pname] = _id_schema(kind)
        elif role == "parent":
            props[pname] = _id_schema(api.parent)  # type: ignore[arg-type]
        elif role == "text":
            props[pname] = {"type": "string", "description": f"part of a {kind.noun} name"}
        elif role == "name":
            props[pname] = {"type": "string", "description": f"name of the new {main.noun}"}
        elif role == "value":
            props[pname] = {"type": "string", "enum": list(values0)}
        elif role == "min":
            props[pname] = {"type": "number", "description": f"lowest {tool.attr.rsplit('_', 1)[0]}"
                                                             f" in {UNITS[main.qty[1]].word}"}  # type: ignore[index]
        elif role == "amount":
            props[pname] = {"type": "number"}
        elif role in ("from", "to"):
            props[pname] = {"type": "string", "enum": list(DIMENSION_UNITS[main.qty[2]])}  # type: ignore[index]
    qty_word = main.qty[0].rsplit("_", 1)[0]  # type: ignore[index]
    doc = {
        "search": f"Find {kind.plural} whose name contains the text; returns ids and names.",
        "get": f"One {kind.noun} by id, with all its fields.",
        "filter": f"{main.plural.capitalize()} with the given {enum0}.",
        "range": f"{main.plural.capitalize()} whose {qty_word} is at least the given value.",
        "related": f"{main.plural.capitalize()} that belong to a {api.parent.noun if api.parent else ''}.",
        "create": f"Create a {main.noun}; returns its new id.",
        "update": f"Change the {enum0} of a {main.noun}.",
        "move": f"Move a {main.noun} to another {api.parent.noun if api.parent else ''}.",
        "delete": f"Delete a {main.noun} by id.",
        "aggregate": f"Count, total and average {qty_word} of {main.plural} with a given {enum0}.",
        "convert": f"Convert a {main.qty[2]} between units.",  # type: ignore[index]
    }[fam]
    params = {"type": "object", "properties": props, "required": list(props),
              "additionalProperties": False}
    return GeneratedSpec(tool.name, doc, params,
                         side_effects=fam in ("create", "update", "move", "delete"),
                         fn=Operation(api, tool))
