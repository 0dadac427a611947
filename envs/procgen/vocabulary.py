"""The vocabularies generated APIs draw from: plain English nouns (singular, with regular
plurals), typed attributes, currencies, names, verbs by tool family and parameter names."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

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


def pick(rng: np.random.Generator, items: list[Any] | tuple[Any, ...]) -> Any:
    return items[int(rng.integers(len(items)))]
