"""geo.flow_height: the drone's height above the ground from how fast the ground flows
down the frame, on flows made with the model from a known camera and height."""

from __future__ import annotations

import numpy as np
import pytest

from core.types import TelemetrySample
from geo.flow_height import MIN_SIGMA_SHARE, height_from_flow
from geo.sync import align_track
from geo.telemetry.track import TimeBase, Track
from tests.geo.test_pitch import HEIGHT, WIDTH, model_flow

TIMES = np.arange(2.0, 28.0, 0.2)


def absolute_track(speed_mps: float, altitude_m: float, *, climb_mps: float = 0.0,
                   pitch_deg: float | None = None) -> Track:
    """Due north at ``speed_mps``, absolute altitudes only (from ``altitude_m``, climbing
    at ``climb_mps``), on the video clock: its heights are taken above its first fix."""
    samples = tuple(TelemetrySample(t_s=float(t), lat_deg=30.16 + speed_mps * t / 111_320.0, lon_deg=-85.66,
                                    alt_abs_m=altitude_m + climb_mps * t, gimbal_pitch_deg=pitch_deg)
                    for t in np.arange(0.0, 40.0, 0.5))
    return Track(samples, None, "gpx", TimeBase.VIDEO)


@pytest.mark.parametrize(("pitch", "hfov", "above_ground"), [(-45.0, 73.7, 50.0), (-60.0, 84.0, 90.0),
                                                             (-35.0, 65.0, 30.0)])
def test_the_height_of_a_log_started_in_the_air_is_read(pitch, hfov, above_ground):
    aligned = align_track(absolute_track(6.0, 180.0), duration_s=30.0)
    assert np.allclose(aligned.height_m, 0.0)  # as the map would take them: nothing under the drone
    flow = model_flow(pitch, hfov, 0.0, 6.0, above_ground, TIMES, noise=0.03)
    found = height_from_flow(TIMES, flow, WIDTH, HEIGHT, aligned, hfov_deg=hfov)
    assert found is not None
    assert found.offset_m == pytest.approx(above_ground, rel=0.03)
    assert found.pitch_deg == pytest.approx(pitch, abs=1.5) and not found.pitch_given
    assert found.sigma_m >= MIN_SIGMA_SHARE * above_ground  # never claims better than roofs and the pitch allow
    assert found.samples == len(TIMES)
    assert f"{above_ground:.0f} +-" in found.note()


def test_the_telemetry_pitch_is_used_where_it_gives_one():
    aligned = align_track(absolute_track(6.0, 180.0, pitch_deg=-50.0), duration_s=30.0)
    flow = model_flow(-50.0, 73.7, 0.0, 6.0, 60.0, TIMES, noise=0.03)
    found = height_from_flow(TIMES, flow, WIDTH, HEIGHT, aligned, hfov_deg=73.7)
    assert found is not None and found.pitch_given and found.pitch_deg == pytest.approx(-50.0)
    assert found.offset_m == pytest.approx(60.0, rel=0.03)


def test_a_climb_during_the_clip_is_one_offset_not_a_height():
    """The heights from the first fix grow as the drone climbs; the fit adds one number."""
    aligned = align_track(absolute_track(6.0, 180.0, climb_mps=1.0), duration_s=30.0)
    times = np.arange(2.0, 28.0, 0.2)
    above = 40.0 + 1.0 * times  # 40 m up at the first fix, then climbing
    flow = np.concatenate([model_flow(-45.0, 73.7, 0.0, 6.0, h, np.array([t])) for t, h in zip(times, above)])
    found = height_from_flow(times, flow, WIDTH, HEIGHT, aligned, hfov_deg=73.7)
    assert found is not None and found.offset_m == pytest.approx(40.0, rel=0.03)


def test_hovering_gives_nothing():
    aligned = align_track(absolute_track(0.2, 180.0), duration_s=30.0)
    flow = model_flow(-45.0, 73.7, 0.0, 0.2, 50.0, TIMES)
    assert height_from_flow(TIMES, flow, WIDTH, HEIGHT, aligned, hfov_deg=73.7) is None


def test_flow_that_does_not_follow_the_track_is_refused():
    """Another flight's log beside the video: no height makes the flow follow it."""
    aligned = align_track(absolute_track(6.0, 180.0), duration_s=30.0)
    rng = np.random.default_rng(3)
    flow = model_flow(-45.0, 73.7, 0.0, 6.0, 50.0, TIMES) * rng.uniform(0.0, 2.0, (len(TIMES), 1, 1))
    flow[::2] *= -1.0  # the ground sliding up the frame as often as down
    assert height_from_flow(TIMES, flow, WIDTH, HEIGHT, aligned, hfov_deg=73.7) is None


def test_flow_too_noisy_to_follow_the_track_is_refused():
    """A fit inside the search whose misfit is as large as the flow itself."""
    aligned = align_track(absolute_track(6.0, 180.0), duration_s=30.0)
    fair = model_flow(-45.0, 73.7, 0.0, 6.0, 50.0, TIMES, noise=0.5, seed=1)
    assert height_from_flow(TIMES, fair, WIDTH, HEIGHT, aligned, hfov_deg=73.7) is not None
    noisy = model_flow(-45.0, 73.7, 0.0, 6.0, 50.0, TIMES, noise=1.5, seed=1)
    assert height_from_flow(TIMES, noisy, WIDTH, HEIGHT, aligned, hfov_deg=73.7) is None


def test_a_mapping_flight_looking_straight_down_is_read():
    aligned = align_track(absolute_track(8.0, 180.0), duration_s=30.0)
    flow = model_flow(-89.0, 73.7, 0.0, 8.0, 100.0, TIMES, noise=0.03)
    found = height_from_flow(TIMES, flow, WIDTH, HEIGHT, aligned, hfov_deg=73.7)
    assert found is not None and found.offset_m == pytest.approx(100.0, rel=0.05)


def test_a_track_without_altitude_flies_at_the_height_given():
    samples = tuple(TelemetrySample(t_s=float(t), lat_deg=30.16 + 6.0 * t / 111_320.0, lon_deg=-85.66)
                    for t in np.arange(0.0, 40.0, 0.5))
    track = Track(samples, None, "dji-srt", TimeBase.VIDEO)
    assert np.isnan(align_track(track, duration_s=30.0).height_m).all()
    given = align_track(track, duration_s=30.0, flight_height_m=55.0)
    assert np.allclose(given.height_m, 55.0)
    assert any(note.startswith("flown 55 m above the ground throughout") for note in given.notes)
    # the map's height fit on it: one offset from zero, the height itself
    flow = model_flow(-45.0, 73.7, 0.0, 6.0, 55.0, TIMES, noise=0.03)
    found = height_from_flow(TIMES, flow, WIDTH, HEIGHT, align_track(track, duration_s=30.0, flight_height_m=0.0),
                             hfov_deg=73.7)
    assert found is not None and found.offset_m == pytest.approx(55.0, rel=0.03)


def test_the_telemetry_summary_says_what_the_map_will_need():
    from geo.telemetry.summary import summarise

    def notes(**heights: float) -> list[str]:
        samples = tuple(TelemetrySample(t_s=float(t), lat_deg=30.16 + t * 1e-5, lon_deg=-85.66, gimbal_pitch_deg=-45.0,
                                        **heights) for t in range(10))
        return summarise(Track(samples, None, "dji-srt", TimeBase.VIDEO))["notes"]

    assert notes(alt_rel_m=40.0, alt_abs_m=147.0) == []
    assert any("--ground-elevation M, or auto" in n for n in notes(alt_abs_m=147.0))
    assert any("--flight-height M, or auto" in n for n in notes())
