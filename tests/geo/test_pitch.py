"""geo.pitch: the camera's pitch, field of view and heading offset from how the ground
flows down the frame, on flows made with the model from a known camera."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.types import TelemetrySample
from geo.pitch import view_from_flow
from geo.sync import align_track
from geo.telemetry.track import TimeBase, Track

WIDTH, HEIGHT, BANDS = 320, 180, 6


def straight_track(speed_mps: float, height_m: float = 50.0, seconds: float = 40.0) -> Track:
    """Due north at ``speed_mps``, ``height_m`` above take-off, on the video clock."""
    samples = tuple(TelemetrySample(t_s=float(t), lat_deg=30.16 + speed_mps * t / 111_320.0, lon_deg=-85.66,
                                    alt_rel_m=height_m) for t in np.arange(0.0, seconds, 0.5))
    return Track(samples, None, "csv", TimeBase.VIDEO)


def model_flow(pitch_deg: float, hfov_deg: float, offset_deg: float, speed_mps: float, height_m: float,
               times: np.ndarray, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    f = 0.5 * WIDTH / math.tan(math.radians(hfov_deg) / 2)
    rows = (np.arange(BANDS) + 0.5) * HEIGHT / BANDS
    beta = np.arctan((rows - HEIGHT / 2) / f)
    alpha = math.radians(-pitch_deg) + beta
    dy = f * speed_mps * np.sin(alpha) ** 2 / (height_m * np.cos(beta) ** 2)
    dx = f * speed_mps * math.sin(math.radians(offset_deg)) * np.sin(alpha) / (height_m * np.cos(beta))
    flow = np.zeros((len(times), BANDS, 2))
    flow[:, :, 0] = dx
    flow[:, :, 1] = dy
    rng = np.random.default_rng(seed)
    return flow * (1.0 + noise * rng.standard_normal(flow.shape))


@pytest.mark.parametrize(("pitch", "hfov", "offset"), [(-45.0, 73.7, 0.0), (-58.0, 84.0, 4.0), (-36.0, 65.0, -6.0)])
def test_camera_recovered_from_model_flow(pitch, hfov, offset):
    track = straight_track(6.0)
    aligned = align_track(track, duration_s=30.0)
    times = np.arange(2.0, 28.0, 0.2)
    flow = model_flow(pitch, hfov, offset, 6.0, 50.0, times, noise=0.03)
    view = view_from_flow(times, flow, WIDTH, HEIGHT, aligned)
    assert view is not None
    # pitch and field of view trade against each other a little under noise
    assert view.pitch_deg == pytest.approx(pitch, abs=view.pitch_sigma_deg)
    assert view.hfov_deg == pytest.approx(hfov, abs=view.hfov_sigma_deg)
    assert view.yaw_offset_deg == pytest.approx(offset, abs=1.5)
    assert view.samples == len(times)
    assert view.pitch_sigma_deg >= 3.0  # never claims better than the bias houses leave
    assert "pitch" in view.note()


def test_known_field_of_view_is_kept():
    aligned = align_track(straight_track(6.0), duration_s=30.0)
    times = np.arange(2.0, 28.0, 0.2)
    view = view_from_flow(times, model_flow(-50.0, 84.0, 0.0, 6.0, 50.0, times), WIDTH, HEIGHT, aligned, hfov_deg=84.0)
    assert view is not None and view.hfov_deg == 84.0 and view.hfov_sigma_deg == 0.0
    assert view.pitch_deg == pytest.approx(-50.0, abs=0.5)


def test_hovering_gives_nothing():
    aligned = align_track(straight_track(0.2), duration_s=30.0)
    times = np.arange(2.0, 28.0, 0.2)
    assert view_from_flow(times, model_flow(-50.0, 84.0, 0.0, 0.2, 50.0, times), WIDTH, HEIGHT, aligned) is None


def test_a_fitted_width_the_flights_halves_disagree_on_is_unsure():
    import dataclasses

    from geo.pitch import ESTIMATED_FOV_SOURCE, UNSURE_HFOV_SIGMA_DEG, FlowView

    sure = FlowView(-52.0, 3.0, 80.0, 3.0, 5.0, UNSURE_HFOV_SIGMA_DEG - 1.0, 0.1, 50, ESTIMATED_FOV_SOURCE)
    unsure = dataclasses.replace(sure, hfov_sigma_deg=UNSURE_HFOV_SIGMA_DEG)
    held = dataclasses.replace(unsure, hfov_source="given")  # a width given is not the flow's to doubt
    assert (sure.width_unsure, unsure.width_unsure, held.width_unsure) == (False, True, False)


def test_uncertainty_carries_the_camera_the_telemetry_does_not_give(flyover):
    """A GPX map's site uncertainties include the assumed camera's error (metres, like
    its real errors), an SRT map's (gimbal pitch and heading known) do not; an estimated
    pitch is less uncertain than an assumed one."""
    from geo_helpers import map_of

    from geo.mapping import build_damage_map_from
    from geo.evaluation import detections_from_coco
    from geo.telemetry import read_telemetry

    srt_map, _ = map_of(flyover)
    detections, times = detections_from_coco(flyover.paths.annotations)
    gpx = read_telemetry(flyover.paths.gpx)
    assumed = build_damage_map_from(detections, times, gpx, video=flyover.video_info, ground_elevation_m=10.0)
    estimated = build_damage_map_from(detections, times, gpx, video=flyover.video_info, ground_elevation_m=10.0,
                                      default_pitch_deg=-50.0, hfov_deg=84.0)
    srt_u = np.median([f.uncertainty_m for f in srt_map.fused])
    assumed_u = np.median([f.uncertainty_m for f in assumed.fused])
    estimated_u = np.median([f.uncertainty_m for f in estimated.fused])
    assert assumed_u > 5.0 > srt_u
    assert srt_u < estimated_u < assumed_u
    assert any("camera pointing" in note for note in assumed.notes)
    assert not any("camera pointing" in note for note in srt_map.notes)


def test_flow_that_does_not_follow_the_track_gives_nothing():
    """Another flight's log beside the video: the ground slides up the frame as often as
    down, and no camera explains it."""
    aligned = align_track(straight_track(6.0), duration_s=30.0)
    times = np.arange(2.0, 28.0, 0.2)
    flow = model_flow(-50.0, 84.0, 0.0, 6.0, 50.0, times)
    flow[::2] *= -1.0
    assert view_from_flow(times, flow, WIDTH, HEIGHT, aligned) is None


def test_a_descent_is_not_read_as_a_shallower_camera():
    """Descending at 1 m/s while flying at 6 slows the ground's slide down the top of the
    view by a third: the fit must take the climb from the track's heights, or it reads
    the camera degrees shallower than it is."""
    from geo.pitch import ground_angle_rate

    pitch, hfov, speed, climb = -45.0, 84.0, 6.0, -1.0
    times = np.arange(2.0, 28.0, 0.2)
    samples = tuple(TelemetrySample(t_s=float(t), lat_deg=30.16 + speed * t / 111_320.0, lon_deg=-85.66,
                                    alt_rel_m=70.0 + climb * t) for t in np.arange(0.0, 40.0, 0.5))
    aligned = align_track(Track(samples, None, "csv", TimeBase.VIDEO), duration_s=30.0)
    f = 0.5 * WIDTH / math.tan(math.radians(hfov) / 2)
    beta = np.arctan(((np.arange(BANDS) + 0.5) * HEIGHT / BANDS - HEIGHT / 2) / f)
    alpha = math.radians(-pitch) + beta
    height = 70.0 + climb * times
    flow = np.zeros((len(times), BANDS, 2))
    flow[:, :, 1] = f / np.cos(beta) ** 2 * ground_angle_rate(alpha[None, :], speed, climb, height[:, None])
    level = f / np.cos(beta) ** 2 * ground_angle_rate(alpha, speed, 0.0, 50.0)
    assert flow[-1, 0, 1] < 0.8 * level[0] * 50.0 / height[-1]  # the top band: well under level flight's
    view = view_from_flow(times, flow, WIDTH, HEIGHT, aligned, hfov_deg=hfov)
    assert view is not None and view.pitch_deg == pytest.approx(pitch, abs=1.0)


def test_the_doubt_of_a_held_width_is_the_pitch_s_too():
    """On a straight flight the flow fixes the pitch only together with the width: held
    10 degrees narrower than the camera (a preset from the video's metadata, the map's
    default), the pitch read with it is degrees shallower, and its spread must say so."""
    aligned = align_track(straight_track(6.0, 60.0), duration_s=30.0)
    times = np.arange(2.0, 28.0, 0.2)
    flow = model_flow(-45.0, 84.0, 0.0, 6.0, 60.0, times)
    exact = view_from_flow(times, flow, WIDTH, HEIGHT, aligned, hfov_deg=73.7)
    doubted = view_from_flow(times, flow, WIDTH, HEIGHT, aligned, hfov_deg=73.7, hfov_sigma_deg=10.0)
    assert exact is not None and doubted is not None and doubted.pitch_deg == exact.pitch_deg
    assert abs(exact.pitch_deg + 45.0) > exact.pitch_sigma_deg  # the width held exact: the pitch claims too much
    assert abs(doubted.pitch_deg + 45.0) <= doubted.pitch_sigma_deg


def test_a_width_the_flow_cannot_pin_down_is_drawn_towards_the_default():
    """A straight flight over houses that lie under the top of the frame in one half and
    under its bottom in the other: the forward flow alone reads a camera far too wide
    and steep (98 degrees, pitch -53, for 84 and -45). Its reading no surer than the
    map's default, the two are weighed together and the pitch read at that width, with
    the doubt left on both; whoever asked hears that the width is unsure, and the width
    is not advised as --hfov."""
    aligned = align_track(straight_track(6.0, 60.0), duration_s=30.0)
    times = np.arange(2.0, 28.0, 0.2)
    flow = model_flow(-45.0, 84.0, 0.0, 6.0, 60.0, times)
    rows = np.linspace(-1.0, 1.0, BANDS)[None, :, None]  # top band -1, bottom +1
    flow[times < 15.0] *= 1.0 - 0.08 * rows
    flow[times >= 15.0] *= 1.0 + 0.02 * rows
    view = view_from_flow(times, flow, WIDTH, HEIGHT, aligned)
    assert view is not None
    assert view.pitch_deg == pytest.approx(-45.0, abs=view.pitch_sigma_deg)
    assert view.hfov_deg == pytest.approx(84.0, abs=view.hfov_sigma_deg)
    assert view.hfov_drawn_to_default and view.hfov_estimated and view.width_unsure
    assert not view.hfov_beats_default()
    assert "drawn towards the map's default" in view.note() and "could not pin it down (98 +-" in view.note()


def test_a_reading_weighed_with_the_default():
    from geo.camera import DEFAULT_HFOV_DEG
    from geo.pitch import drawn_to_default

    assert drawn_to_default(97.0, 19.5) == (pytest.approx(78.6, abs=0.05), pytest.approx(8.9, abs=0.05))
    assert drawn_to_default(DEFAULT_HFOV_DEG + 30.0, 1e-3)[0] == pytest.approx(DEFAULT_HFOV_DEG + 30.0)
