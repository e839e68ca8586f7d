"""``damagemap telemetry --video`` advises giving the field of view it read
(``--hfov N``, held exact from then on) only where the reading pins the camera down
better than the map's default; elsewhere it says the video could not, and where the
camera's own is found. On flows made with the model from a known camera
(``tests/geo/test_pitch_turns.py``)."""

from __future__ import annotations

import dataclasses

import numpy as np

from app.commands.telemetry import camera_summary, field_of_view_advice
from geo.camera import DEFAULT_HFOV_DEG
from geo.pitch import ADVISE_HFOV_MAX_SIGMA_DEG, view_from_flow
from geo.sync import align_track
from tests.geo.test_pitch_turns import HEIGHT, SWING_DEG, WIDTH, turning_flow, turning_track


def test_a_field_of_view_is_advised_only_where_it_beats_the_default():
    """``give --hfov N`` (held exact from then on) only for a width the flow pins down
    better than the map's default: a turning flight's 84-degree camera, read within 5
    degrees, is; a straight flight over a town and then fields, whose halves read the
    width far apart, is not (too unsure: drawn towards the default), nor a 76-degree camera whose reading holds the
    default's 73.7 within its spread. ``damagemap telemetry --video`` says which."""
    times = np.arange(2.0, 38.0, 0.2)
    turning = align_track(turning_track(SWING_DEG), duration_s=40.0)
    sure = view_from_flow(times, turning_flow(-45.0, 84.0, 2.0, times, SWING_DEG), WIDTH, HEIGHT, turning)
    near_default = view_from_flow(times, turning_flow(-45.0, 76.0, 2.0, times, SWING_DEG), WIDTH, HEIGHT, turning)
    town = turning_flow(-45.0, 95.0, 2.0, times, 0.0, house_bias=0.8)
    fields = turning_flow(-45.0, 95.0, 2.0, times, 0.0, house_bias=0.0)
    unsure = view_from_flow(times, np.where((times < 20.0)[:, None, None], town, fields), WIDTH, HEIGHT,
                            align_track(turning_track(0.0), duration_s=40.0))
    assert sure is not None and near_default is not None and unsure is not None
    assert sure.hfov_sigma_deg <= ADVISE_HFOV_MAX_SIGMA_DEG and unsure.hfov_drawn_to_default
    assert abs(near_default.hfov_deg - DEFAULT_HFOV_DEG) <= near_default.hfov_sigma_deg
    assert (sure.hfov_beats_default(), unsure.hfov_beats_default(), near_default.hfov_beats_default()) == (
        True, False, False)
    assert field_of_view_advice(camera_summary(sure)) == f"give --hfov {sure.hfov_deg:.0f}"
    for view, why in ((unsure, "could not pin it down"), (near_default, "lies within it")):
        said = field_of_view_advice(camera_summary(view))
        assert why in said and "spec sheet" in said and "--hfov DEG" in said and f"--hfov {view.hfov_deg:.0f}" not in said
        assert camera_summary(view)["hfov_advised"] is False
    held = dataclasses.replace(sure, hfov_source="video metadata: DJI Mavic 3")  # not the flow's: its source is said
    assert not held.hfov_beats_default() and field_of_view_advice(camera_summary(held)) == held.hfov_source
