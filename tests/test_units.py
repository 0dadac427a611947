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
