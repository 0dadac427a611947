"""One unit table: the drift layer and the explorer read the same units and words."""

from __future__ import annotations

import tool_gym.drift as drift
import tool_gym.explorer as explorer
from tool_gym.units import UNIT_WORDS, UNITS


def test_drift_and_the_explorer_share_one_unit_table():
    assert drift.UNITS is UNITS is explorer.UNITS
    assert drift.UNIT_WORDS is UNIT_WORDS is explorer.UNIT_WORDS


def test_every_unit_word_names_a_unit_and_every_unit_has_its_word():
    assert set(UNIT_WORDS.values()) <= set(UNITS)
    for unit, (dimension, factor, word) in UNITS.items():
        assert UNIT_WORDS.get(word, unit) == unit, word
        # temperatures convert by a formula, everything else by a factor to the base unit
        assert (factor is None) == (dimension == "temperature"), unit


def test_behaviour_drift_and_generated_apis_read_the_same_table():
    from tool_gym.behaviour import unit_switch
    from tool_gym.envs import procgen
    from tool_gym.units import CONVERSIONS, REPORTED, factor

    assert procgen.UNITS is UNITS
    for dimension, units in procgen.DIMENSION_UNITS.items():
        assert {UNITS[u].dimension for u in units} == {dimension}
    for unit, targets in CONVERSIONS.items():
        assert {UNITS[t].dimension for t in targets} == {UNITS[unit].dimension}, unit
    assert set(REPORTED) <= set(CONVERSIONS)
    assert unit_switch("weight_kg") == ("lb", factor("kg", "lb"), "pounds")
    assert unit_switch("high_c") == ("f", None, "fahrenheit")
    assert unit_switch("temp_f") is None  # only the units unit_note re-reports
    assert abs(factor("km", "mi") - 0.621371192) < 1e-9
    assert factor("h", "min") == 60.0
