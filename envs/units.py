"""Units: unit conversion and unit arithmetic (areas, speeds) with a notebook of measurements.

The notebook is the world's state: it starts with seeded measurements (a garden's length,
a commute's distance and time...) in mixed units, and tools can save new results to it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tool_gym import Domain, Ref, Step, Task, ToolError, World, all_of, answer_is, tool, world_has

# quantity -> unit -> (size in the quantity's SI unit, name)
UNITS: dict[str, dict[str, tuple[float, str]]] = {
    "length": {"mm": (0.001, "millimetres"), "cm": (0.01, "centimetres"), "m": (1.0, "metres"),
               "km": (1000.0, "kilometres"), "in": (0.0254, "inches"), "ft": (0.3048, "feet"),
               "yd": (0.9144, "yards"), "mi": (1609.344, "miles"),
               "nmi": (1852.0, "nautical miles")},
    "mass": {"mg": (1e-6, "milligrams"), "g": (0.001, "grams"), "kg": (1.0, "kilograms"),
             "t": (1000.0, "tonnes"), "oz": (0.028349523125, "ounces"),
             "lb": (0.45359237, "pounds"), "st": (6.35029318, "stones")},
    "volume": {"ml": (0.001, "millilitres"), "l": (1.0, "litres"), "m3": (1000.0, "cubic metres"),
               "tsp": (0.00492892159375, "US teaspoons"),
               "tbsp": (0.01478676478125, "US tablespoons"), "cup": (0.2365882365, "US cups"),
               "floz": (0.0295735295625, "US fluid ounces"), "pt": (0.473176473, "US pints"),
               "gal": (3.785411784, "US gallons")},
    "time": {"s": (1.0, "seconds"), "min": (60.0, "minutes"), "h": (3600.0, "hours"),
             "day": (86400.0, "days"), "week": (604800.0, "weeks")},
    "speed": {"m/s": (1.0, "metres per second"), "km/h": (1 / 3.6, "kilometres per hour"),
              "mph": (0.44704, "miles per hour"), "knot": (1852 / 3600, "knots"),
              "ft/s": (0.3048, "feet per second")},
    "area": {"mm2": (1e-6, "square millimetres"), "cm2": (1e-4, "square centimetres"),
             "m2": (1.0, "square metres"), "ha": (1e4, "hectares"),
             "km2": (1e6, "square kilometres"), "in2": (0.00064516, "square inches"),
             "ft2": (0.09290304, "square feet"), "yd2": (0.83612736, "square yards"),
             "acre": (4046.8564224, "acres"), "mi2": (2589988.110336, "square miles")},
    "temperature": {"C": (1.0, "degrees Celsius"), "F": (5 / 9, "degrees Fahrenheit"),
                    "K": (1.0, "kelvin")},
}
SI = {"length": "m", "mass": "kg", "volume": "l", "time": "s", "speed": "m/s", "area": "m2",
      "temperature": "K"}
QUANTITY_OF = {u: q for q, units in UNITS.items() for u in units}
ALL_UNITS = tuple(QUANTITY_OF)
UNIT = Literal[ALL_UNITS]  # type: ignore[valid-type]
LENGTH = Literal[tuple(UNITS["length"])]  # type: ignore[valid-type]
TIME = Literal[tuple(UNITS["time"])]  # type: ignore[valid-type]
SPEED = Literal[tuple(UNITS["speed"])]  # type: ignore[valid-type]
AREA = Literal[tuple(UNITS["area"])]  # type: ignore[valid-type]
QUANTITY = Literal[tuple(UNITS)]  # type: ignore[valid-type]
MAX_VALUE = 1e12
MAX_NOTES = 80
_LABEL = re.compile(r"^[a-z0-9_]{1,40}$")

# Notebook templates. Rectangles: (name, (low, high) in metres, length units).
RECTS = [("garden", (6, 40), ["m", "ft", "yd"]), ("kitchen", (2.5, 6), ["m", "ft", "cm"]),
         ("field", (60, 220), ["m", "yd", "ft"]), ("balcony", (1.2, 4), ["m", "ft", "in"]),
         ("parking_lot", (20, 90), ["m", "ft", "yd"]), ("rug", (1, 3.5), ["cm", "in", "ft"]),
         ("patio", (2, 8), ["m", "ft"]), ("bedroom", (2.5, 6), ["m", "ft", "in"]),
         ("roof", (5, 20), ["m", "ft", "yd"]), ("lawn", (4, 30), ["m", "yd", "ft"]),
         ("warehouse", (20, 120), ["m", "ft"]), ("office", (3, 12), ["m", "ft", "yd"])]
# Trips: (name, distance range in km, distance units, time range in minutes, time units).
TRIPS = [("commute", (8, 60), ["km", "mi"], (15, 80), ["min", "h"]),
         ("run", (4, 21), ["km", "mi", "m"], (20, 130), ["min", "s"]),
         ("flight", (400, 3000), ["km", "mi", "nmi"], (60, 300), ["h", "min"]),
         ("bike_ride", (15, 90), ["km", "mi"], (40, 240), ["min", "h"]),
         ("swim", (0.4, 3), ["m", "yd"], (10, 70), ["min", "s"]),
         ("sail", (10, 80), ["nmi", "km"], (90, 600), ["h", "min"]),
         ("walk", (1, 8), ["km", "mi", "m"], (15, 120), ["min", "h"]),
         ("drive", (30, 500), ["km", "mi"], (30, 420), ["min", "h"]),
         ("train_ride", (50, 800), ["km", "mi"], (30, 360), ["min", "h"]),
         ("hike", (5, 30), ["km", "mi"], (90, 480), ["h", "min"]),
         ("row", (1, 10), ["km", "m", "nmi"], (10, 90), ["min", "s"])]
PLACES = ["front", "back", "north", "south", "east", "west", "main", "small", "big", "old", "new",
          "upper"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "morning",
        "evening", "weekend", "holiday", "first"]
# Single measurements: (label, quantity, SI range, units).
SINGLES = [("parcel_weight", "mass", (0.3, 25), ["kg", "lb", "oz"]),
           ("tank_volume", "volume", (20, 400), ["l", "gal"]),
           ("oven_temperature", "temperature", (420, 500), ["C", "F"]),
           ("flour", "mass", (0.15, 1.2), ["g", "oz", "lb"]),
           ("milk", "volume", (0.1, 1.5), ["ml", "cup", "floz"]),
           ("desk_height", "length", (0.65, 1.2), ["cm", "in"]),
           ("hike_elevation", "length", (300, 3500), ["m", "ft"]),
           ("boat_speed", "speed", (2, 15), ["knot", "km/h", "mph"]),
           ("suitcase_weight", "mass", (8, 32), ["kg", "lb"]),
           ("pool_volume", "volume", (20000, 90000), ["l", "gal", "m3"])]


@dataclass
class UnitsWorld(World):
    notes: dict[str, dict] = field(default_factory=dict)  # label -> {"value", "unit"}


def _sig(x: float) -> float:
    return float(f"{x:.6g}")


def _to_si(value: float, unit: str) -> float:
    if unit == "C":
        return value + 273.15
    if unit == "F":
        return (value - 32) * 5 / 9 + 273.15
    return value * UNITS[QUANTITY_OF[unit]][unit][0]


def _from_si(value: float, unit: str) -> float:
    if unit == "C":
        return value - 273.15
    if unit == "F":
        return (value - 273.15) * 9 / 5 + 32
    return value / UNITS[QUANTITY_OF[unit]][unit][0]


def _convert(value: float, src: str, dst: str) -> float:
    return _sig(_from_si(_to_si(value, src), dst))


def _area(length: float, lu: str, width: float, wu: str, out: str) -> float:
    return _sig(_to_si(length, lu) * _to_si(width, wu) / UNITS["area"][out][0])


def _speed(dist: float, du: str, dur: float, tu: str, out: str) -> float:
    return _sig(_to_si(dist, du) / _to_si(dur, tu) / UNITS["speed"][out][0])


def make_world(rng: np.random.Generator) -> UnitsWorld:
    w = UnitsWorld()
    u = rng.random((5, len(RECTS) + len(TRIPS) + len(SINGLES))).tolist()
    for i, (base, (lo, hi), units) in enumerate(RECTS):
        name = f"{PLACES[int(u[4][i] * len(PLACES))]}_{base}"
        length = lo + (hi - lo) * u[0][i]
        width = lo + (length - lo) * u[1][i] * 0.9  # never longer than the length
        for part, size, r in (("length", length, u[2][i]), ("width", width, u[3][i])):
            unit = units[int(r * len(units))]
            w.notes[f"{name}_{part}"] = {"value": round(_from_si(size, unit), 2), "unit": unit}
    for k, (base, (dlo, dhi), dunits, (tlo, thi), tunits) in enumerate(TRIPS):
        i = len(RECTS) + k
        name = f"{DAYS[int(u[4][i] * len(DAYS))]}_{base}"
        du, tu = dunits[int(u[2][i] * len(dunits))], tunits[int(u[3][i] * len(tunits))]
        dist = (dlo + (dhi - dlo) * u[0][i]) * 1000
        dur = (tlo + (thi - tlo) * u[1][i]) * 60
        w.notes[f"{name}_distance"] = {"value": round(_from_si(dist, du), 2), "unit": du}
        w.notes[f"{name}_time"] = {"value": round(_from_si(dur, tu), 2), "unit": tu}
    for k, (label, _q, (lo, hi), units) in enumerate(SINGLES):
        i = len(RECTS) + len(TRIPS) + k
        unit = units[int(u[2][i] * len(units))]
        value = round(_from_si(lo + (hi - lo) * u[0][i], unit), 1 if unit in ("C", "F") else 2)
        w.notes[label] = {"value": value, "unit": unit}
    return w


def _number(value: float, name: str, positive: bool = True) -> float:
    try:
        v = float(value)
    except (OverflowError, TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and abs(v) <= MAX_VALUE) or (positive and v <= 0):
        need = "a positive number" if positive else "a number"
        raise ToolError(f"{name} must be {need} up to {MAX_VALUE:g} in size, got {value!r:.40}")
    return v


@tool
def list_units(world: UnitsWorld, quantity: QUANTITY) -> dict:
    """The units of one quantity with their names and their size in the quantity's SI unit.

    Args:
        quantity: length, mass, volume, time, speed, area or temperature.
    """
    units = [{"unit": u, "name": n, "in_si": _sig(f)} for u, (f, n) in UNITS[quantity].items()]
    if quantity == "temperature":
        units = [{"unit": u, "name": n} for u, (_, n) in UNITS[quantity].items()]
    return {"quantity": quantity, "si_unit": SI[quantity], "units": units}


@tool
def convert(world: UnitsWorld, value: float, from_unit: UNIT, to_unit: UNIT) -> dict:
    """Convert a value from one unit to another unit of the same quantity.

    Args:
        value: The number to convert, e.g. 12.5.
        from_unit: Unit of the value, e.g. ft (see list_units).
        to_unit: Unit to convert into, e.g. m.
    """
    v = _number(value, "value", positive=False)
    qa, qb = QUANTITY_OF[from_unit], QUANTITY_OF[to_unit]
    if qa != qb:
        raise ToolError(f"cannot convert {qa} ({from_unit}) to {qb} ({to_unit}); pick a to_unit "
                        f"for {qa}: {', '.join(UNITS[qa])}")
    if _to_si(v, from_unit) < 0 and qa == "temperature":
        raise ToolError(f"{v:g} {from_unit} is below absolute zero; check the value")
    if _to_si(v, from_unit) < 0 and qa != "temperature" and qa != "speed":
        raise ToolError(f"{qa} cannot be negative; give a value of at least 0")
    return {"value": v, "from_unit": from_unit, "result": _convert(v, from_unit, to_unit),
            "to_unit": to_unit}


@tool
def compute_area(world: UnitsWorld, length: float, length_unit: LENGTH, width: float,
                 width_unit: LENGTH, result_unit: AREA = "m2") -> dict:
    """Area of a rectangle from its two sides, which may be in different length units.

    Args:
        length: Length of the rectangle.
        length_unit: Unit of the length, e.g. ft.
        width: Width of the rectangle.
        width_unit: Unit of the width, e.g. m.
        result_unit: Area unit of the result, e.g. m2, ft2, acre.
    """
    a, b = _number(length, "length"), _number(width, "width")
    return {"area": _area(a, length_unit, b, width_unit, result_unit), "unit": result_unit}


@tool
def compute_speed(world: UnitsWorld, distance: float, distance_unit: LENGTH, duration: float,
                  duration_unit: TIME, result_unit: SPEED = "km/h") -> dict:
    """Average speed from a distance travelled and the time it took.

    Args:
        distance: Distance travelled.
        distance_unit: Unit of the distance, e.g. km.
        duration: Time taken.
        duration_unit: Unit of the time, e.g. min.
        result_unit: Speed unit of the result, e.g. km/h, mph, m/s.
    """
    d, t = _number(distance, "distance"), _number(duration, "duration")
    return {"speed": _speed(d, distance_unit, t, duration_unit, result_unit), "unit": result_unit}


@tool
def read_note(world: UnitsWorld, label: str) -> dict:
    """Read one saved measurement from the notebook.

    Args:
        label: Label of the measurement, e.g. garden_length.
    """
    key = label.strip().lower()
    if key not in world.notes:
        close = difflib.get_close_matches(key, list(world.notes), n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        known = ", ".join(sorted(world.notes))
        if len(known) > 900:
            known = known[:900].rsplit(", ", 1)[0] + ", ..."
        raise ToolError(f"no note '{label[:40]}'.{hint} Saved labels: {known}")
    note = world.notes[key]
    return {"label": key, "value": note["value"], "unit": note["unit"],
            "quantity": QUANTITY_OF[note["unit"]]}


@tool(side_effects=True)
def save_note(world: UnitsWorld, label: str, value: float, unit: UNIT) -> dict:
    """Save a measurement to the notebook (replaces an existing note with the same label).

    Args:
        label: Label: 1 to 40 lower-case letters, digits or underscores, e.g. garden_area.
        value: The number to save.
        unit: Unit of the value, e.g. m2.
    """
    key = label.strip().lower()
    if not _LABEL.match(key):
        raise ToolError(f"invalid label '{label[:40]}'; use 1 to 40 lower-case letters, digits "
                        "or underscores, e.g. garden_area")
    v = _number(value, "value", positive=False)
    if key not in world.notes and len(world.notes) >= MAX_NOTES:
        raise ToolError(f"the notebook is full ({MAX_NOTES} notes); reuse an existing label")
    replaced = key in world.notes
    world.notes[key] = {"value": v, "unit": unit}
    return {"status": "replaced" if replaced else "saved", "label": key, "value": v,
            "unit": unit, "notes": len(world.notes)}


TOOLS = [list_units, convert, compute_area, compute_speed, read_note, save_note]


def _qualified(world: UnitsWorld, base: str, part: str) -> str:
    """The world's name for a rectangle or trip, e.g. back_garden for garden."""
    end = f"_{base}_{part}"
    return next(k for k in world.notes if k.endswith(end))[: -len(part) - 1]


def _word(unit: str) -> str:
    return UNITS[QUANTITY_OF[unit]][unit][1]


def _fits(x: float) -> bool:
    return 1.5 <= abs(x) <= 1e6


def _pick(rng: np.random.Generator, units: list[str], value: Callable[[str], float]) -> str:
    """A random unit whose result lies in a readable range (else the closest one)."""
    order = rng.permutation(len(units)).tolist()
    for i in order:
        if _fits(value(units[i])):
            return units[i]
    return min(units, key=lambda u: abs(math.log10(max(abs(value(u)), 1e-12)) - 1))


def _n(x: float) -> str:
    return format(x, ".10g")


def _tag(unit: str) -> str:
    return unit.replace("/", "p")


def make_task(rng: np.random.Generator, world: UnitsWorld, seed: int) -> Task:
    kind = [0, 0, 1, 1, 2, 3, 4, 5, 6][int(rng.integers(9))]
    areas = list(UNITS["area"])
    speeds = list(UNITS["speed"])
    if kind in (1, 6):
        name = _qualified(world, RECTS[int(rng.integers(len(RECTS)))][0], "length")
        ln, wd = world.notes[f"{name}_length"], world.notes[f"{name}_width"]
        out = _pick(rng, areas,
                    lambda u: _area(ln["value"], ln["unit"], wd["value"], wd["unit"], u))
        area = _area(ln["value"], ln["unit"], wd["value"], wd["unit"], out)
        plan = [Step("read_note", {"label": f"{name}_length"}),
                Step("read_note", {"label": f"{name}_width"}),
                Step("compute_area", {"length": Ref(0, "value"), "length_unit": Ref(0, "unit"),
                                      "width": Ref(1, "value"), "width_unit": Ref(1, "unit"),
                                      "result_unit": out})]
        intro = (f"My notebook has the {name.replace('_', ' ')}'s length and width (labels "
                 f"{name}_length and {name}_width).")
        if kind == 1:
            return Task("", "units", f"{intro} What is its area in {_word(out)}?", plan,
                        Ref(2, "area"), answer_is(area))
        new = f"{name}_area"

        def saved_area(w: UnitsWorld) -> bool:
            n = w.notes.get(new)
            return (n is not None and n["unit"] == out
                    and abs(n["value"] - area) <= max(0.01, abs(area) * 1e-4))

        plan.append(Step("save_note", {"label": new, "value": Ref(2, "area"), "unit": out}))
        return Task("", "units", f"{intro} Compute its area in {_word(out)}, save it in the "
                    f"notebook under the label {new} (unit {out}), and tell me the area.", plan,
                    Ref(2, "area"), all_of(world_has(saved_area), answer_is(area)))
    if kind == 2:
        name = _qualified(world, TRIPS[int(rng.integers(len(TRIPS)))][0], "distance")
        d, t = world.notes[f"{name}_distance"], world.notes[f"{name}_time"]
        out = _pick(rng, speeds,
                    lambda u: _speed(d["value"], d["unit"], t["value"], t["unit"], u))
        speed = _speed(d["value"], d["unit"], t["value"], t["unit"], out)
        return Task("", "units", f"Using the notebook entries {name}_distance and {name}_time, "
                    f"what was the average speed of the {name.replace('_', ' ')} in "
                    f"{_word(out)}?",
                    [Step("read_note", {"label": f"{name}_distance"}),
                     Step("read_note", {"label": f"{name}_time"}),
                     Step("compute_speed", {"distance": Ref(0, "value"),
                                            "distance_unit": Ref(0, "unit"),
                                            "duration": Ref(1, "value"),
                                            "duration_unit": Ref(1, "unit"), "result_unit": out})],
                    Ref(2, "speed"), answer_is(speed))
    if kind == 3:
        label = SINGLES[int(rng.integers(len(SINGLES)))][0]
        note = world.notes[label]
        q = QUANTITY_OF[note["unit"]]
        out = _pick(rng, [u for u in UNITS[q] if u != note["unit"]],
                    lambda u: _convert(note["value"], note["unit"], u))
        result = _convert(note["value"], note["unit"], out)
        new = f"{label}_{_tag(out).lower()}"

        def saved(w: UnitsWorld) -> bool:
            n = w.notes.get(new)
            return (n is not None and n["unit"] == out
                    and abs(n["value"] - result) <= max(0.01, abs(result) * 1e-4))

        return Task("", "units", f"Convert the notebook entry {label} to {_word(out)}, save the "
                    f"result in the notebook under the label {new} (unit {out}), and tell me the "
                    "converted value.",
                    [Step("read_note", {"label": label}),
                     Step("convert", {"value": Ref(0, "value"), "from_unit": Ref(0, "unit"),
                                      "to_unit": out}),
                     Step("save_note", {"label": new, "value": Ref(1, "result"), "unit": out})],
                    Ref(1, "result"), all_of(world_has(saved), answer_is(result)))
    if kind == 4:
        lu, wu = [str(x) for x in rng.choice(["m", "ft", "yd", "cm", "in"], 2)]
        length = round(float(rng.uniform(1.5, 60)) / UNITS["length"][lu][0], 1)
        width = round(float(rng.uniform(1.0, 40)) / UNITS["length"][wu][0], 1)
        out = _pick(rng, areas, lambda u: _area(length, lu, width, wu, u))
        area = _area(length, lu, width, wu, out)
        return Task("", "units", f"A rectangular plot measures {_n(length)} {_word(lu)} by "
                    f"{_n(width)} {_word(wu)}. What is its area in {_word(out)}?",
                    [Step("compute_area", {"length": length, "length_unit": lu, "width": width,
                                           "width_unit": wu, "result_unit": out})],
                    Ref(0, "area"), answer_is(area))
    if kind == 5:
        who, (dlo, dhi), dunits, (tlo, thi), tunits = TRIPS[int(rng.integers(len(TRIPS)))]
        du, tu = dunits[int(rng.integers(len(dunits)))], tunits[int(rng.integers(len(tunits)))]
        dist = round(_from_si(float(rng.uniform(dlo, dhi)) * 1000, du), 1)
        dur = round(_from_si(float(rng.uniform(tlo, thi)) * 60, tu), 1)
        out = _pick(rng, speeds, lambda u: _speed(dist, du, dur, tu, u))
        speed = _speed(dist, du, dur, tu, out)
        return Task("", "units", f"A {who.replace('_', ' ')} covered {_n(dist)} {_word(du)} in "
                    f"{_n(dur)} {_word(tu)}. What was the average speed in {_word(out)}?",
                    [Step("compute_speed", {"distance": dist, "distance_unit": du,
                                            "duration": dur, "duration_unit": tu,
                                            "result_unit": out})],
                    Ref(0, "speed"), answer_is(speed))
    q = list(UNITS)[int(rng.integers(len(UNITS)))]
    units = list(UNITS[q])
    src = units[int(rng.integers(len(units)))]
    if q == "temperature":
        dst = [u for u in units if u != src][int(rng.integers(len(units) - 1))]
        value = 0.0
        while not _fits(_convert(value, src, dst)):
            low = 250.0 if src == "K" else -30.0
            value = round(float(rng.uniform(low, low + 250)), 1)
    else:
        size = UNITS[q][src][0]
        near = [u for u in units if u != src and 1e-3 <= size / UNITS[q][u][0] <= 1e3]
        dst = near[int(rng.integers(len(near)))]
        f = size / UNITS[q][dst][0]
        lo, hi = math.log(max(1.0, 1.5 / f)), math.log(min(1e4, 1e6 / f))
        value = float(math.exp(rng.uniform(lo, hi)))
        value = round(value, 2 if value < 100 else 1 if value < 1000 else 0)
    result = _convert(value, src, dst)
    return Task("", "units", f"Convert {_n(value)} {_word(src)} to {_word(dst)}.",
                [Step("convert", {"value": value, "from_unit": src, "to_unit": dst})],
                Ref(0, "result"), answer_is(result))


DOMAIN = Domain(
    name="units",
    title="Units",
    description="Unit conversion, areas and speeds from mixed units, and a measurement notebook.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="seen",
    hints={"list_units.quantity": "enum", "convert.from_unit": "enum", "convert.to_unit": "enum",
           "compute_area.length_unit": "enum", "compute_area.width_unit": "enum",
           "compute_area.result_unit": "enum", "compute_speed.distance_unit": "enum",
           "compute_speed.duration_unit": "enum", "compute_speed.result_unit": "enum",
           "read_note.label": "id", "save_note.label": "id", "save_note.unit": "enum"},
)
