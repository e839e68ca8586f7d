"""A map says when its flight was flown well outside the heights the detector learnt
from (geo.footage), and stays quiet within them."""

from __future__ import annotations

import math

import pytest

from geo.footage import flight_height_note, trained_height_range


@pytest.mark.parametrize(("heights", "expected"), [
    ([95.0, 100.0, 105.0], "higher"),
    ([20.0, 21.0, 22.0], "lower"),
    ([30.0, 50.0, 70.0], None),
    ([76.0, 77.0], None),  # within 10% of the top of the range
    ([], None),
    ([math.nan], None),
])
def test_a_flight_is_noted_only_outside_the_trained_heights(heights, expected):
    note = flight_height_note(heights, (28.0, 70.0))
    if expected is None:
        assert note is None
    else:
        assert note is not None and expected in note and "28-70 m" in note


def test_a_drone_on_the_ground_says_the_log_is_likely_another_flight_s_not_a_low_flight():
    """A flight log whose start (the drone on the ground, motors started) was lined up
    with a video filmed from the air: the map was empty and the note spoke of flying low."""
    note = flight_height_note([1.8, 2.0, 2.3], (28.0, 70.0))
    assert note is not None and note.startswith("the telemetry puts the drone about 2 m above the ground")
    assert "on the ground or taking off" in note and "check the time offset" in note and "lower than" not in note


def test_the_note_gives_the_median_height():
    note = flight_height_note([90.0, 110.0, 400.0, 100.0, 95.0], (28.0, 70.0))
    assert note is not None and "about 100 m above the ground" in note


@pytest.mark.parametrize(("metadata", "expected"), [
    ({"footage": {"altitude_above_ground_m": [28, 70]}}, (28.0, 70.0)),
    ({}, None),
    ({"footage": "28-70"}, None),
    ({"footage": {"altitude_above_ground_m": [70, 28]}}, None),
    ({"footage": {"altitude_above_ground_m": [28]}}, None),
    ({"footage": {"altitude_above_ground_m": ["low", "high"]}}, None),
])
def test_the_trained_range_is_read_only_when_it_makes_sense(metadata, expected):
    assert trained_height_range(metadata) == expected


def test_the_shipped_model_states_its_range():
    import json
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "resources" / "models" / "default" / "msnet.json"
    assert trained_height_range(json.loads(shipped.read_text(encoding="utf-8"))) == (28.0, 70.0)
