"""Procgen: a new tool API from every API seed (after RandomWorld, Sullivan et al. 2025).

Each API seed draws a small typed world and the tools over it:

- **types**: entity ids (``BEA-1042``), names, dates, money in the API's currency,
  quantities with units, enums, booleans and lists of records, so tools compose by type
  (a search returns ids that a getter takes, a getter returns a quantity a converter takes);
- **entities**: a main kind (``beacon``) and, in most APIs, a parent kind (``depot``) each
  main entity belongs to, with attributes drawn from typed vocabularies;
- **tools**: 4-12 drawn from families (search by text, filter by attribute, get by id,
  list related, range by quantity, create, update, move, delete, aggregate, convert), their
  names, parameter names and docs generated from vocabularies (about 170 main nouns, 40
  parent nouns, 4-6 verbs a family), so a tool name rarely repeats across APIs;
- **tasks**: seeded, with golden plans of 1-4 calls: lookups, counts, aggregates,
  conversions, chains (search -> get -> convert), non-linear plans (two searches feeding a
  move, two getters compared) and state changes checked on the final world.

The backend is in memory (``ProcgenWorld``: one table per entity kind). Errors say what is
wrong and how to fix it, like the hand-written domains. API seeds are split like task
seeds (one in five is a test API, ``api_split="test"``: an unseen generated API); each
generated API is a :class:`~tool_gym.domain.Domain` named ``procgen_<api_seed>`` that
``get_domain`` resolves, so drift, stale docs, the explorer and the teachers treat it like
any other domain. It is never part of ``Seen-v0``, ``Unseen-v0`` or ``Drift-v0``.

    >>> import gymnasium as gym, tool_gym
    >>> env = gym.make("ToolMaster/Procgen-v0", api_seed=7)
    >>> obs, info = env.reset(seed=0)
    >>> info["domain"], info["api_seed"]
    ('procgen_7', 7)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

import gymnasium as gym
import numpy as np

from tool_gym import Domain, Ref, Step, Task, ToolError, World, answer_is, world_has
from tool_gym.domain import TEST_EVERY
from tool_gym.env import ToolEnv
from tool_gym.family import DomainFamily
from tool_gym.spec import ToolSpec
from tool_gym.units import UNITS

PREFIX = "procgen"

# --------------------------------------------------------------------------------------
# Vocabularies. Plain English, singular nouns with regular plurals.

NOUNS = """anchor antenna badge barrel basket beacon blanket boiler bottle bracket bucket buoy
cabin cable camera candle canoe canvas capsule carton cartridge cask chamber charter chisel
circuit clock coil compass console container cooler cottage coupon crate crystal cushion
device dial drone drum easel engine envelope exhibit fabric ferry filter flag flask fountain
furnace gadget gauge generator glacier goblet hammer helmet hive jar kayak kettle kiln kiosk
ladder lantern laser ledger lens lever locker loom magnet manuscript marker medal meter mill
mirror module monitor motor mural needle notebook oven paddle palette pallet parcel pavilion
pendant pier pigment pipeline pitcher planet plaque pod portal poster pouch printer prism
probe pump puzzle quiver radar raft reactor relay reservoir ribbon robot rocket rover saddle
sail satellite scanner scroll sculpture sensor shelter shovel shuttle signal silo sketch sled
socket spindle spool stamp statue submarine suitcase telescope tent terminal textile
thermostat timber tower tractor trailer trellis trophy trolley tunnel turbine valve vessel
violin voucher wagon whistle widget winch windmill yacht zeppelin banner bicycle cannon
carpet chariot cylinder diamond fossil frigate harp hatchet idol jacket kite locket lute
mosaic orchid pennant quilt rudder sampler tablet tapestry thimble totem tripod tuba""".split()

PARENTS = """depot fleet harbor hangar warehouse workshop studio lodge garden archive campus
district guild club station yard market clinic museum gallery farm vault arena academy
colony convoy dock estate forge foundry hub lab outpost precinct quarry ranch region school
sector squadron store theater village""".split()

ENUM_ATTRS: list[tuple[str, list[str]]] = [
    ("status", ["active", "paused", "retired"]), ("tier", ["bronze", "silver", "gold"]),
    ("color", ["red", "green", "blue", "amber"]), ("zone", ["north", "south", "east", "west"]),
    ("priority", ["low", "medium", "high"]), ("size", ["small", "medium", "large"]),
    ("mode", ["manual", "automatic", "hybrid"]), ("grade", ["basic", "standard", "premium"]),
    ("material", ["steel", "wood", "glass", "carbon"]), ("shift", ["day", "night", "weekend"]),
    ("origin", ["local", "imported", "recycled"]), ("finish", ["matte", "gloss", "satin"]),
    ("season", ["spring", "summer", "autumn", "winter"]), ("stage", ["draft", "review", "final"]),
]
# (attribute, unit, dimension, low, high)
QTY_ATTRS: list[tuple[str, str, str, int, int]] = [
    ("weight", "kg", "mass", 2, 400), ("length", "m", "length", 1, 90),
    ("volume", "l", "volume", 1, 300), ("duration", "min", "time", 5, 600),
    ("distance", "km", "length", 3, 900), ("load", "kg", "mass", 10, 900),
    ("height", "cm", "length", 20, 400), ("capacity", "l", "volume", 5, 800),
    ("runtime", "h", "time", 1, 90), ("mass", "g", "mass", 50, 5000),
]
# The units a generated API offers for each dimension (factors and words: tool_gym.units)
DIMENSION_UNITS: dict[str, tuple[str, ...]] = {
    "mass": ("g", "kg", "lb", "oz"), "length": ("cm", "m", "km", "ft", "mi"),
    "volume": ("ml", "l"), "time": ("s", "min", "h"),
}
MONEY_ATTRS = ["price", "fee", "cost", "deposit", "value"]
RATES = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "CHF": 1.04, "CAD": 0.68, "JPY": 0.0062}
DATE_ATTRS = ["opened_on", "installed_on", "inspected_on", "registered_on", "due_on"]
BOOL_ATTRS = ["archived", "verified", "insured", "certified", "featured"]
ADJECTIVES = """Amber Bold Calm Dusty Eager Faint Gentle Hollow Ivory Jolly Keen Lunar Misty
Noble Olive Polar Quiet Rapid Silver Tidal Urban Velvet Wild Young Zesty Crimson Golden
Hidden Swift Rustic""".split()
CREATURES = """Falcon Otter Heron Badger Lynx Marten Osprey Raven Stag Viper Walrus Yak Bison
Crane Dingo Egret Ferret Gecko Ibis Jackal Koala Lemur Moose Newt Ocelot Puffin Quail Robin
Seal Tapir""".split()

VERBS = {
    "search": ["search", "find", "query", "lookup", "seek", "match"],
    "get": ["get", "fetch", "read", "describe", "show", "inspect"],
    "filter": ["filter", "list", "browse", "select", "scan"],
    "related": ["list", "browse", "enumerate", "show"],
    "range": ["list", "find", "scan", "select"],
    "create": ["create", "add", "register", "new", "open"],
    "update": ["update", "set", "change", "modify", "edit"],
    "move": ["move", "assign", "transfer", "relocate", "attach"],
    "delete": ["delete", "remove", "retire", "drop", "discard"],
    "aggregate": ["total", "sum", "tally", "measure", "compute"],
    "convert": ["convert", "translate", "rescale", "express"],
}
ID_PARAMS = ["{n}_id", "{n}_ref", "{n}_key", "id"]
TEXT_PARAMS = ["query", "text", "keyword", "term", "phrase", "name_contains"]
NAME_PARAMS = ["name", "label", "title", "display_name"]
VALUE_PARAMS = ["value", "amount", "quantity"]
FROM_PARAMS = ["from_unit", "source_unit", "unit_in"]
TO_PARAMS = ["to_unit", "target_unit", "unit_out"]
START = dt.date(2026, 1, 1)


def plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


# --------------------------------------------------------------------------------------
# The API description: plain data, so domains, tools and tasks pickle.


@dataclass(frozen=True)
class Kind:
    """An entity kind: its noun, id prefix and typed attributes."""

    noun: str
    prefix: str
    enums: tuple[tuple[str, tuple[str, ...]], ...]
    qty: tuple[str, str, str, int, int] | None = None  # (field, unit, dimension, lo, hi)
    money: str | None = None  # field name, in the API's currency
    date: str | None = None
    flag: str | None = None

    @property
    def plural(self) -> str:
        return plural(self.noun)


@dataclass(frozen=True)
class ToolDef:
    """One generated tool: its family, target kind and parameter names by role."""

    family: str
    kind: str  # "main" or "parent"
    name: str
    params: tuple[tuple[str, str], ...]  # (role, parameter name)
    attr: str = ""  # the attribute a filter / update / aggregate / range works on

    def param(self, role: str) -> str:
        return dict(self.params)[role]


@dataclass(frozen=True)
class Api:
    seed: int
    main: Kind
    parent: Kind | None
    currency: str
    tools: tuple[ToolDef, ...]

    def kind(self, which: str) -> Kind:
        assert which == "main" or self.parent is not None
        return self.main if which == "main" else self.parent  # type: ignore[return-value]

    def tool(self, family: str, kind: str = "main") -> ToolDef | None:
        return next((t for t in self.tools if t.family == family and t.kind == kind), None)


def _pick(rng: np.random.Generator, items: list[Any] | tuple[Any, ...]) -> Any:
    return items[int(rng.integers(len(items)))]


def _kind(rng: np.random.Generator, noun: str, taken_prefixes: set[str], rich: bool) -> Kind:
    prefix = noun[:3].upper()
    if prefix in taken_prefixes:
        prefix = (noun[0] + noun[-2:]).upper()
    taken_prefixes.add(prefix)
    order = rng.permutation(len(ENUM_ATTRS))
    n_enums = 2 if rich and rng.random() < 0.5 else 1
    enums = tuple((ENUM_ATTRS[int(i)][0], tuple(ENUM_ATTRS[int(i)][1])) for i in order[:n_enums])
    if not rich:
        return Kind(noun, prefix, enums)
    qa = QTY_ATTRS[int(rng.integers(len(QTY_ATTRS)))]
    qty = (f"{qa[0]}_{qa[1]}", qa[1], qa[2], qa[3], qa[4])
    money = f"{_pick(rng, MONEY_ATTRS)}" if rng.random() < 0.6 else None
    date = _pick(rng, DATE_ATTRS) if rng.random() < 0.5 else None
    flag = _pick(rng, BOOL_ATTRS) if rng.random() < 0.5 else None
    return Kind(noun, prefix, enums, qty, money, date, flag)


def generate_api(seed: int) -> Api:
    """The API of one API seed (pure function of the seed)."""
    rng = np.random.default_rng([seed, 0x9E0C])
    prefixes: set[str] = set()
    main = _kind(rng, _pick(rng, NOUNS), prefixes, rich=True)
    parent = _kind(rng, _pick(rng, PARENTS), prefixes, rich=False) if rng.random() < 0.75 \
        else None
    currency = _pick(rng, list(RATES))
    if main.money:
        main = Kind(main.noun, main.prefix, main.enums, main.qty,
                    f"{main.money}_{currency.lower()}", main.date, main.flag)
    id_style = _pick(rng, ID_PARAMS)
    text_p, name_p = _pick(rng, TEXT_PARAMS), _pick(rng, NAME_PARAMS)
    n, pn = main.noun, parent.noun if parent else ""
    id_p = id_style.format(n=n)
    pid_p = f"{pn}_{'ref' if id_style == '{n}_ref' else 'id'}"
    enum0 = main.enums[0][0]
    qty_field, qty_unit = main.qty[0], main.qty[1]  # type: ignore[index]
    unit_word = UNITS[qty_unit].word
    range_p = _pick(rng, [f"min_{qty_field}", f"at_least_{unit_word}", unit_word])

    def name_for(family: str, pattern_opts: list[str]) -> str:
        return _pick(rng, pattern_opts).format(v=_pick(rng, VERBS[family]), n=n, ns=main.plural,
                                               p=pn, ps=plural(pn) if pn else "", a=enum0,
                                               q=main.qty[0].rsplit("_", 1)[0],  # type: ignore[index]
                                               d=main.qty[2])  # type: ignore[index]

    candidates: list[ToolDef] = []
    core = [
        ToolDef("search", "main", name_for("search", ["{v}_{ns}", "{v}_{n}_by_name"]),
                (("text", text_p),)),
        ToolDef("get", "main", name_for("get", ["{v}_{n}", "{v}_{n}_details"]), (("id", id_p),)),
    ]
    candidates.append(ToolDef("filter", "main", name_for("filter", ["{v}_{ns}_by_{a}"]),
                              (("value", enum0),), attr=enum0))
    candidates.append(ToolDef("range", "main", name_for("range", ["{v}_{ns}_over_{q}",
                                                                     "{v}_{ns}_by_{q}"]),
                              (("min", range_p),), attr=qty_field))
    candidates.append(ToolDef("create", "main", name_for("create", ["{v}_{n}"]),
                              (("name", name_p), ("value", enum0))
                              + ((("parent", pid_p),) if parent else ())))
    candidates.append(ToolDef("update", "main", name_for("update", ["{v}_{n}_{a}"]),
                              (("id", id_p), ("value", enum0)), attr=enum0))
    candidates.append(ToolDef("delete", "main", name_for("delete", ["{v}_{n}"]),
                              (("id", id_p),)))
    candidates.append(ToolDef("aggregate", "main", name_for("aggregate", ["{v}_{n}_{q}",
                                                                             "{v}_{q}_by_{a}"]),
                              (("value", enum0),), attr=qty_field))
    candidates.append(ToolDef("convert", "main", name_for("convert", ["{v}_{n}_{q}", "{v}_{q}_of_{n}"]),
                              (("amount", _pick(rng, VALUE_PARAMS)), ("from", _pick(rng, FROM_PARAMS)),
                               ("to", _pick(rng, TO_PARAMS)))))
    if parent is not None:
        core.append(ToolDef("search", "parent", name_for("search", ["{v}_{ps}", "{v}_{p}_by_name"]),
                            (("text", text_p),)))
        candidates.append(ToolDef("related", "main", name_for("related", ["{v}_{p}_{ns}",
                                                                           "{ns}_in_{p}"]),
                                  (("parent", pid_p),)))
        candidates.append(ToolDef("move", "main", name_for("move", ["{v}_{n}", "{v}_{n}_to_{p}"]),
                                  (("id", id_p), ("parent", pid_p))))
        candidates.append(ToolDef("get", "parent", name_for("get", ["{v}_{p}", "{v}_{p}_details"]),
                                  (("id", f"{pn}_id" if id_p != f"{pn}_id" else f"{pn}_key"),)))
    order = rng.permutation(len(candidates))
    extra = int(rng.integers(max(0, 4 - len(core)), min(len(candidates), 12 - len(core)) + 1))
    chosen = [candidates[int(i)] for i in sorted(order[:extra])]
    tools: list[ToolDef] = []
    names: set[str] = set()
    for t in core + chosen:  # a generated name may repeat within one API: make it unique
        name = t.name
        if name in names:
            name = f"{t.name}_{t.kind}" if f"{t.name}_{t.kind}" not in names else f"{t.name}_2"
        names.add(name)
        tools.append(ToolDef(t.family, t.kind, name, t.params, t.attr))
    return Api(seed, main, parent, currency, tuple(tools))


# --------------------------------------------------------------------------------------
# The world and the tools over it.


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
                rec[f"{api.parent.noun}_id"] = _pick(rng, list(world.tables["parent"]))
            for attr, values in kind.enums:
                rec[attr] = _pick(rng, values)
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


# --------------------------------------------------------------------------------------
# Tasks


def _rec_by(world: ProcgenWorld, which: str, rng: np.random.Generator) -> dict[str, Any]:
    return _pick(rng, list(world.tables[which].values()))


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
        name = f"{_pick(rng, ADJECTIVES)} {_pick(rng, CREATURES)} {int(rng.integers(2, 99))}"
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
    kind = _pick(rng, _task_kinds(api))
    get = api.tool("get")
    assert get is not None
    n, ns = main.noun, main.plural
    rec = _rec_by(world, "main", rng)
    enum0, values0 = main.enums[0]
    fields = [e[0] for e in main.enums] + [f for f in (main.qty[0] if main.qty else None,
                                                       main.money, main.date, main.flag) if f]
    if kind in ("lookup", "lookup_by_id"):
        attr = _pick(rng, fields)
        words = _fmt_attr(attr)
        if kind == "lookup_by_id":
            q = _pick(rng, [f"What is the {words} of {n} {rec['id']}?",
                            f"Look up {n} {rec['id']} and tell me its {words}."])
            return Task("", "", q, [Step(get.name, {get.param("id"): rec["id"]})], Ref(0, attr),
                        answer_is(rec[attr]))
        q = _pick(rng, [f"What is the {words} of the {n} named {rec['name']}?",
                        f"Find the {n} called {rec['name']} and report its {words}."])
        return Task("", "", q, [_search_step(api, "main", rec["name"]),
                                Step(get.name, {get.param("id"): Ref(0, "0.id")})],
                    Ref(1, attr), answer_is(rec[attr]))
    if kind == "count":
        t = api.tool("filter")
        value = _pick(rng, values0)
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
        value = _pick(rng, values0)
        stat = _pick(rng, ["total", "count"])
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
        target = _pick(rng, [u for u in DIMENSION_UNITS[dim] if u != unit])
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
        name, value = _fresh_name(rng, world), _pick(rng, values0)
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
        value = _pick(rng, [v for v in values0 if v != rec[enum0]])
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
        parent = _pick(rng, [p for p in world.tables["parent"].values() if p["id"] != rec[fk]])
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
    other = _pick(rng, [r for r in world.tables["main"].values()
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


# --------------------------------------------------------------------------------------
# Domains, the family, the env.


def api_split(api_seed: int) -> str:
    """``"test"`` for one API seed in five (unseen generated APIs), else ``"train"``."""
    return "test" if api_seed % TEST_EVERY == 0 else "train"


def build_domain(api_seed: int) -> Domain:
    """The domain of one API seed (not cached; :func:`make_domain` caches)."""
    api = generate_api(api_seed)
    tools = [build_spec(api, t) for t in api.tools]
    hints: dict[str, str] = {}
    for t in api.tools:
        for role, pname in t.params:
            if role == "min":
                hints[f"{t.name}.{pname}"] = f"unit:{api.main.qty[1]}"  # type: ignore[index]
            elif role in ("value", "from", "to"):
                hints[f"{t.name}.{pname}"] = "enum"
    what = api.main.plural + (f" in {plural(api.parent.noun)}" if api.parent else "")
    return Domain(name=f"{PREFIX}_{api_seed}", title=f"Procgen{api_seed}",
                  description=f"Generated API {api_seed}: {what}.", tools=tools,
                  make_world=partial(make_world, api), make_task=partial(make_task, api),
                  split="unseen" if api_split(api_seed) == "test" else "seen", hints=hints)


@lru_cache(maxsize=512)
def make_domain(api_seed: int) -> Domain:
    """The (cached) domain of one API seed: ``procgen_<api_seed>``."""
    return build_domain(int(api_seed))


def _resolve(name: str) -> Domain | None:
    m = re.fullmatch(rf"{PREFIX}_(\d{{1,10}})", name)
    return make_domain(int(m[1])) if m else None


API_SEEDS = 2**31 // TEST_EVERY - 1


def pool_seed(index: int, api_split: str = "train") -> int:
    """The ``index``-th API seed of ``api_split`` in increasing order: train seeds 1, 2, 3, 4,
    6, ...; test seeds 0, 5, 10, ...; all seeds 0, 1, 2, ... (``api_pool`` draws from the
    first ones)."""
    index = int(index)
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    if api_split == "train":
        return index + index // (TEST_EVERY - 1) + 1
    return index * TEST_EVERY if api_split == "test" else index


class ProcgenEnv(ToolEnv):
    """A :class:`ToolEnv` whose domain is a generated API, drawn per episode.

    Args:
        api_seed: A fixed API seed; None draws one per reset from ``api_split``.
        api_split: ``"train"`` (four API seeds in five), ``"test"`` (unseen generated APIs)
            or ``"all"``.
        api_pool: Draw only from the first ``api_pool`` API seeds of ``api_split``
            (:func:`pool_seed`): ``reset(seed=s)`` plays API ``s % api_pool``, so consecutive
            reset seeds spread episodes evenly over the pool (a budget of n episodes gives
            each API n / api_pool of them, whatever the pool's size); a reset without a seed
            draws one. None: any API seed of the split.
        **kwargs: Everything :class:`ToolEnv` takes (``split`` picks task seeds of train
            APIs, as for seen domains; ``mutations``, ``drift_level``, ``stale_docs``...).

    ``reset(options={"api_seed": a, "task_seed": t})`` fixes either; same seeds, same episode.
    """

    def __init__(self, api_seed: int | None = None, api_split: str = "train",
                 api_pool: int | None = None, **kwargs: Any) -> None:
        if api_split not in ("train", "test", "all"):
            raise ValueError(f"api_split must be 'train', 'test' or 'all', got {api_split!r}")
        if api_pool is not None and not 1 <= int(api_pool) <= API_SEEDS:
            raise ValueError(f"api_pool must be None or 1 to {API_SEEDS}, got {api_pool!r}")
        kwargs.pop("domains", None)
        super().__init__(domains=None, **kwargs)
        self.api_seed = None if api_seed is None else int(api_seed)
        self.api_split = api_split
        self.api_pool = None if api_pool is None else int(api_pool)
        self._reset_seed: int | None = None
        self.domains = [make_domain(self.api_seed if self.api_seed is not None else 1)]

    def _draw_api_seed(self) -> int:
        if self.api_pool is not None:
            index = (self._reset_seed % self.api_pool if self._reset_seed is not None
                     else int(self.np_random.integers(self.api_pool)))
            return pool_seed(index, self.api_split)
        base = int(self.np_random.integers(0, API_SEEDS))
        if self.api_split == "all":
            return base * TEST_EVERY + int(self.np_random.integers(TEST_EVERY))
        if self.api_split == "test":
            return base * TEST_EVERY
        return base * TEST_EVERY + 1 + int(self.np_random.integers(TEST_EVERY - 1))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        gym.Env.reset(self, seed=seed)
        self._reset_seed = None if seed is None else int(seed)
        options = dict(options or {})
        if "api_seed" in options:
            api_seed = int(options.pop("api_seed"))
        elif self.api_seed is not None:
            api_seed = self.api_seed
        else:
            api_seed = self._draw_api_seed()
        self.domains = [make_domain(api_seed)]
        options.pop("domain", None)
        return super().reset(seed=None, options=options)

    def _base_info(self) -> dict[str, Any]:
        info = super()._base_info()
        info["api_seed"] = int(self.domain.name.rsplit("_", 1)[1])
        return info


FAMILY = DomainFamily(prefix=PREFIX, title="Procgen", resolve=_resolve,
                      entry_point="tool_gym.envs.procgen:ProcgenEnv")
