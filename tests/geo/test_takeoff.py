"""A log of absolute altitudes that started in the air is told from one started at take-off."""

from __future__ import annotations

import numpy as np

from geo.telemetry.takeoff import AIRBORNE_SPEED_MPS, started_in_the_air


def _log(speed_mps: float, climb_m: float, *, seconds: int = 60, hover_s: int = 0, rate_hz: float = 1.0):
    """A straight flight at ``speed_mps`` after ``hover_s`` seconds standing still,
    climbing ``climb_m`` over the first 20 s, with 0.3 m of GPS noise."""
    t = np.arange(0, seconds, 1.0 / rate_hz)
    moving = np.clip(t - hover_s, 0.0, None)
    noise = np.random.default_rng(0).normal(0.0, 0.3, (2, len(t)))
    east = speed_mps * moving + noise[0]
    north = noise[1]
    above = climb_m * np.clip(t / 20.0, 0.0, 1.0)
    return t, east, north, above


def test_a_take_off_then_a_climb_is_taken_at_its_word():
    assert started_in_the_air(*_log(8.0, 60.0, hover_s=5)) is None


def test_a_drone_moving_at_its_first_fix_was_already_flying():
    reason = started_in_the_air(*_log(6.0, 1.5))
    assert reason is not None and "already flying" in reason and "m/s over the ground" in reason


def test_a_long_flight_that_never_climbs_started_in_the_air():
    t, east, north, above = _log(AIRBORNE_SPEED_MPS * 2, 2.0, hover_s=5)  # a hover at first, then level flight
    reason = started_in_the_air(t, east, north, above)
    assert reason is not None and "never rose 5 m above it" in reason


def test_gps_noise_on_a_drone_standing_still_is_not_flight():
    t, east, north, above = _log(0.0, 0.0, rate_hz=10.0)
    assert started_in_the_air(t, east, north, above) is None  # 0.3 m of noise at 10 Hz is not 2 m/s (median)


def test_a_jump_at_the_first_fix_is_left_out():
    t, east, north, above = _log(8.0, 60.0, hover_s=5)
    east[0] += 200.0
    outlier = np.zeros(len(t), dtype=bool)
    outlier[0] = True
    assert started_in_the_air(t, east, north, above) is not None  # the jump alone looks like flight
    assert started_in_the_air(t, east, north, above, outlier) is None
