"""geo.pitch: turns fix the field of view the forward flow alone leaves loose.

Flows made with the model from a known camera on a track that swings its heading: the
forward flow is biased as houses bias it (the near ground looks nearer), which slides a
forward-flow-only fit along the pitch/field-of-view trade; the sideways flow of the turns
pulls it back."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.types import TelemetrySample
from geo.pitch import ESTIMATED_FOV_SOURCE, view_from_flow
from geo.sync import align_track
from geo.telemetry.track import TimeBase, Track

WIDTH, HEIGHT, BANDS = 320, 180, 6
SPEED, ALTITUDE, SWING_DEG, PERIOD_S = 6.0, 50.0, 10.0, 12.0


def heading_deg(t: np.ndarray, swing_deg: float) -> np.ndarray:
    return swing_deg * np.sin(2 * math.pi * t / PERIOD_S)


def turning_track(swing_deg: float, seconds: float = 40.0) -> Track:
    """Swinging its heading by ``swing_deg`` every :data:`PERIOD_S` at :data:`SPEED`."""
    t = np.arange(0.0, seconds, 0.1)
    heading = np.radians(heading_deg(t, swing_deg))
    east, north = np.cumsum(np.sin(heading)) * SPEED * 0.1, np.cumsum(np.cos(heading)) * SPEED * 0.1
    metres_per_deg_lon = 111_320.0 * math.cos(math.radians(30.16))
    samples = tuple(TelemetrySample(t_s=float(ti), lat_deg=30.16 + n / 111_320.0, lon_deg=-85.66 + e / metres_per_deg_lon,
                                    alt_rel_m=ALTITUDE) for ti, e, n in zip(t, east, north))
    return Track(samples, None, "csv", TimeBase.VIDEO)


def turning_flow(pitch_deg: float, hfov_deg: float, offset_deg: float, times: np.ndarray, swing_deg: float,
                 house_bias: float = 0.12, noise_px_s: float = 1.0) -> np.ndarray:
    """Band flows (dx, dy) of the model: forward flow ``f v sin^2(alpha) / (h cos^2 beta)``
    grown by up to ``house_bias`` towards the bottom of the frame, sideways flow of the
    turn ``-w (f cos(pitch) + y sin(pitch))`` and of the heading offset."""
    f = 0.5 * WIDTH / math.tan(math.radians(hfov_deg) / 2)
    y = (np.arange(BANDS) + 0.5) * HEIGHT / BANDS - HEIGHT / 2
    beta = np.arctan(y / f)
    alpha = math.radians(-pitch_deg) + beta
    pitch = math.radians(pitch_deg)
    w = np.radians(swing_deg * 2 * math.pi / PERIOD_S * np.cos(2 * math.pi * times / PERIOD_S))[:, None]
    flow = np.zeros((len(times), BANDS, 2))
    flow[:, :, 1] = f * SPEED * np.sin(alpha) ** 2 / (ALTITUDE * np.cos(beta) ** 2)
    flow[:, :, 1] *= 1.0 + house_bias * np.arange(BANDS) / (BANDS - 1)
    flow[:, :, 0] = (-w * (f * math.cos(pitch) + y * math.sin(pitch))
                     + f * SPEED * math.sin(math.radians(offset_deg)) * np.sin(alpha) / (ALTITUDE * np.cos(beta)))
    return flow + noise_px_s * np.random.default_rng(0).standard_normal(flow.shape)


@pytest.mark.parametrize(("pitch", "hfov"), [(-52.0, 76.0), (-40.0, 84.0)])
def test_turns_fix_the_field_of_view(pitch, hfov):
    aligned = align_track(turning_track(SWING_DEG), duration_s=40.0)
    times = np.arange(2.0, 38.0, 0.2)
    flow = turning_flow(pitch, hfov, 3.0, times, SWING_DEG)
    with_turns = view_from_flow(times, flow, WIDTH, HEIGHT, aligned)
    forward_only = view_from_flow(times, flow, WIDTH, HEIGHT, aligned, turns=False)
    assert with_turns is not None and forward_only is not None
    assert with_turns.pitch_deg == pytest.approx(pitch, abs=1.5)
    assert with_turns.hfov_deg == pytest.approx(hfov, abs=5.0)
    # the biased forward flow alone slides along the trade
    assert abs(forward_only.pitch_deg - pitch) > 4.0
    assert abs(forward_only.hfov_deg - hfov) > abs(with_turns.hfov_deg - hfov)
    assert with_turns.yaw_offset_deg == pytest.approx(3.0, abs=1.5)
    assert with_turns.hfov_source == ESTIMATED_FOV_SOURCE
    # the track's turn rate swings by 10 deg * 2 pi / 12 s / sqrt(2), about 3.7 deg/s
    assert with_turns.turn_spread_deg_s == pytest.approx(3.7, abs=0.4)
    assert f"{with_turns.turn_spread_deg_s:.1f} deg/s" in with_turns.note()
    assert ESTIMATED_FOV_SOURCE in with_turns.note()


def test_straight_flight_is_the_forward_fit():
    """No turns: the sideways flow tells nothing and the fit is the forward flow's."""
    aligned = align_track(turning_track(0.0), duration_s=40.0)
    times = np.arange(2.0, 38.0, 0.2)
    flow = turning_flow(-48.0, 80.0, 2.0, times, 0.0, house_bias=0.0)
    with_turns = view_from_flow(times, flow, WIDTH, HEIGHT, aligned)
    forward_only = view_from_flow(times, flow, WIDTH, HEIGHT, aligned, turns=False)
    assert with_turns is not None and forward_only is not None
    assert (with_turns.pitch_deg, with_turns.hfov_deg) == (forward_only.pitch_deg, forward_only.hfov_deg)
    assert with_turns.turn_spread_deg_s < 0.1


def test_held_field_of_view_keeps_its_source_and_spread():
    aligned = align_track(turning_track(SWING_DEG), duration_s=40.0)
    times = np.arange(2.0, 38.0, 0.2)
    flow = turning_flow(-50.0, 73.7, 0.0, times, SWING_DEG, house_bias=0.0)
    view = view_from_flow(times, flow, WIDTH, HEIGHT, aligned, hfov_deg=73.7, hfov_sigma_deg=3.0,
                          hfov_source="video metadata: DJI Mavic 3")
    assert view is not None
    assert view.hfov_deg == 73.7 and view.hfov_sigma_deg == 3.0 and view.hfov_source == "video metadata: DJI Mavic 3"
    assert not view.hfov_estimated  # held: the map notes its source, not an estimate
    assert view.pitch_deg == pytest.approx(-50.0, abs=1.0)

