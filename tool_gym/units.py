"""Units of measure: one table for the drift layer (which converts a parameter's unit or
re-reports a result field), the generated APIs of ``Procgen`` (which convert between units)
and the explorer (which reads units from names and docs and converts values back)."""

from __future__ import annotations

from typing import NamedTuple


class Unit(NamedTuple):
    """A unit: its dimension, its size in the dimension's base unit (None where a value
    does not convert by a factor, as temperatures), and the word that names it."""

    dimension: str
    factor: float | None
    word: str


UNITS: dict[str, Unit] = {
    "ms": Unit("time", 0.001, "milliseconds"), "s": Unit("time", 1.0, "seconds"),
    "min": Unit("time", 60.0, "minutes"), "h": Unit("time", 3600.0, "hours"),
    "days": Unit("time", 86400.0, "days"), "mm": Unit("length", 0.001, "millimeters"),
    "cm": Unit("length", 0.01, "centimeters"), "m": Unit("length", 1.0, "meters"),
    "km": Unit("length", 1000.0, "kilometers"), "ft": Unit("length", 0.3048, "feet"),
    "mi": Unit("length", 1609.344, "miles"), "g": Unit("mass", 1.0, "grams"),
    "kg": Unit("mass", 1000.0, "kilograms"), "lb": Unit("mass", 453.59237, "pounds"),
    "oz": Unit("mass", 28.349523125, "ounces"), "ml": Unit("volume", 1.0, "milliliters"),
    "l": Unit("volume", 1000.0, "liters"), "c": Unit("temperature", None, "celsius"),
    "f": Unit("temperature", None, "fahrenheit"),
    # money: an amount in cents against one in whole units of the currency
    "cents": Unit("money", 0.01, "cents"), "units": Unit("money", 1.0, "units"),
}

# Every word that names a unit (abbreviations, singular and plural, both spellings), to
# the unit. "units" is left out on purpose: in a name it rarely means money.
UNIT_WORDS: dict[str, str] = {
    "ms": "ms", "millisecond": "ms", "milliseconds": "ms", "s": "s", "sec": "s", "secs": "s",
    "second": "s", "seconds": "s", "min": "min", "mins": "min", "minute": "min",
    "minutes": "min", "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "days", "days": "days", "mm": "mm", "millimeters": "mm", "cm": "cm",
    "centimeters": "cm", "m": "m", "meter": "m", "meters": "m", "metres": "m", "km": "km",
    "kilometers": "km", "kilometres": "km", "ft": "ft", "feet": "ft", "mi": "mi",
    "mile": "mi", "miles": "mi", "g": "g", "gram": "g", "grams": "g", "kg": "kg",
    "kilograms": "kg", "lb": "lb", "lbs": "lb", "pounds": "lb", "oz": "oz", "ounces": "oz",
    "ml": "ml", "milliliters": "ml", "l": "l", "liters": "l", "litres": "l",
    "celsius": "c", "c": "c", "fahrenheit": "f", "f": "f", "cents": "cents", "cent": "cents",
}


# The units drift re-expresses a value of each unit in, first choice first:
# ``change_format`` draws one of them for a parameter.
CONVERSIONS: dict[str, list[str]] = {
    "min": ["s", "h"], "s": ["ms", "min"], "h": ["min", "s"], "days": ["h"], "ms": ["s"],
    "km": ["mi", "m"], "m": ["ft", "cm"], "mi": ["km"], "ft": ["m"], "cm": ["mm", "m"],
    "mm": ["cm"], "kg": ["lb", "g"], "g": ["oz", "kg"], "lb": ["kg"], "oz": ["g"],
    "l": ["ml"], "ml": ["l"], "c": ["f"], "f": ["c"],
}

# The units ``unit_note`` re-reports a result field in (in the first of its conversions);
# fields in other units stay as they are.
REPORTED: tuple[str, ...] = ("kg", "g", "km", "m", "cm", "mm", "l", "min", "h", "c")


def factor(src: str, dst: str) -> float | None:
    """How many ``dst`` one ``src`` is (None for temperatures, which take a formula)."""
    a, b = UNITS[src], UNITS[dst]
    if a.dimension != b.dimension:
        raise ValueError(f"cannot convert {src} ({a.dimension}) to {dst} ({b.dimension})")
    if a.factor is None or b.factor is None:
        return None
    return a.factor / b.factor
