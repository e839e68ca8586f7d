"""The drone's height above the ground from how fast the ground flows through the frame,
for telemetry whose heights have no ground to stand on.

Many drones write only an absolute altitude (a Mavic 2 Zoom or Enterprise SRT, a GPX),
and a clip rarely starts at take-off: heights taken above the log's first point are then
all near zero, or off by however high the drone already was, and every site lands in the
wrong place. Flying forward at ``v`` m/s and ``H`` m above the ground, a ground point
seen ``alpha`` below the horizon slides through the frame at ``v sin^2(alpha) / H``
radians a second, plus ``c sin(alpha) cos(alpha) / H`` while climbing at ``c``
(``geo.pitch.ground_angle_rate``, the law both fits use). With the track's speed and the
camera's field of view known, how fast the ground slides down each horizontal band of
the frame (``engine.motion``) fixes ``H``, and the shape of that slide over the bands
fixes the pitch where the telemetry does not give it (:func:`height_from_flow`, a
least-squares grid search). The track's heights are kept as they are measured and one
number is fitted: the metres to add to every one of them.

Roofs, trees and walls are nearer than the ground, so the height read this way leans a
little low (a few metres over a town: about the height of its roofs, where the damage
is); a field of view that is off by some per cent moves it by as much, and a fitted
pitch trades against the height. Frame pairs in turns are left out (a turn swings the
ground through the frame) when enough straight ones remain. The spread is the
difference between the fits on the flight's two halves, with a floor for all of that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from geo.pitch import PITCH_RANGE, flow_against_track, ground_angle_rate

if TYPE_CHECKING:  # pragma: no cover
    from geo.sync import AlignedTrack

#: Heights above the ground (m) searched for the track's first fix.
HEIGHT_RANGE_M = (5.0, 500.0)
#: The fit is refused when its misfit passes this share of the typical downward flow, or
#: its height or pitch lies at the edge of the search: the flow does not follow the
#: track (rendered flights: 0.2-0.6; a video beside another flight's log: 1.25).
MAX_RELATIVE_MISFIT = 0.8
#: Frame pairs turning faster than this (degrees a second) are left out when enough others
#: are left: a turn swings the ground through the frame, and its chord shortens the speed.
MAX_TURN_DEG_S = 3.0
#: Least spread reported: this share of the height, plus :data:`MIN_SIGMA_M` (roofs and
#: trees nearer than the ground, a field of view a few per cent off, and the pitch, which
#: trades against the height when fitted with it: rendered flights with turns came out
#: up to 18% off, straight ones 3-4%).
MIN_SIGMA_SHARE = 0.12
MIN_SIGMA_M = 2.0


@dataclass(frozen=True)
class FlowHeight:
    """The metres to add to every height of a track (``offset_m``) so they are heights
    above the ground the video shows, how sure that is (``sigma_m``, one sigma), the
    pitch the fit used (``pitch_deg``; fitted unless ``pitch_given``), the flow misfit
    (``rms_px_s``) and the frame pairs used (``samples``)."""

    offset_m: float
    sigma_m: float
    pitch_deg: float
    pitch_given: bool
    rms_px_s: float
    samples: int

    def note(self) -> str:
        pitch = "the telemetry's pitch" if self.pitch_given else f"pitch {self.pitch_deg:.0f} deg, fitted too"
        return (f"height above the ground read from the ground's flow through the frame ({self.samples} frame "
                f"pairs, {pitch}): {self.offset_m:.0f} +-{self.sigma_m:.0f} m at the track's first fix")


def height_from_flow(
    t_s: np.ndarray,
    band_flow_px_s: np.ndarray,
    width_px: int,
    height_px: int,
    aligned: AlignedTrack,
    *,
    hfov_deg: float,
    pitch_deg: float | None = None,
    min_speed_mps: float = 2.0,
) -> FlowHeight | None:
    """The metres to add to ``aligned``'s heights so they are heights above the ground,
    from the downward image flow of a video (``engine.motion``: px/s per horizontal
    band, ``band_flow_px_s[k, b, 1]``) at times ``t_s`` on the video clock, the track's
    speed and the camera's ``hfov_deg``. The pitch is ``pitch_deg`` when given, else the
    track's where it gives one, else fitted with the height. ``None`` with fewer than 10 usable frame pairs (the
    drone hovering, no telemetry over the video), or when no height makes the flow follow
    the track (:data:`MAX_RELATIVE_MISFIT`, a fit at the edge of the search)."""
    along = flow_against_track(t_s, band_flow_px_s, height_px, aligned)
    flow, rows, state, speed = along.flow, along.rows, along.state, along.speed_mps
    heights = np.asarray(state.height_m, dtype=np.float64)
    usable = along.valid & (speed >= min_speed_mps) & np.isfinite(heights)
    steady = usable & (np.degrees(np.abs(along.turn_rad_s)) <= MAX_TURN_DEG_S)
    if steady.sum() >= 10:  # turning, the ground also swings through the frame: straight stretches only
        usable = steady
    if usable.sum() < 10:
        return None
    pitch_given = pitch_deg is not None or state.pitch_source == "gimbal"
    pitch_track = (np.full(int(usable.sum()), pitch_deg) if pitch_deg is not None
                   else np.asarray(state.pitch_deg, dtype=np.float64)[usable])
    dy, v, h, c = flow[usable, :, 1], speed[usable], heights[usable], along.climb_mps[usable]
    first = float(aligned.height_m[np.isfinite(aligned.height_m)][0])
    f = 0.5 * width_px / math.tan(math.radians(hfov_deg) / 2)
    beta = np.arctan((rows - 0.5 * height_px) / f)
    gain = f / np.cos(beta) ** 2

    def fit(sel: np.ndarray) -> tuple[float, float, float]:
        return _fit_offset(dy[sel], v[sel], h[sel], pitch_track[sel] if pitch_given else None, beta, gain, first,
                           c[sel])

    offset, pitch, rms = fit(np.ones(len(v), dtype=bool))
    # (the steep end of the pitches is no edge: a mapping flight looks straight down)
    at_edge = first + offset >= 0.97 * HEIGHT_RANGE_M[1] or (not pitch_given and pitch >= PITCH_RANGE[1] - 1.5)
    if at_edge or rms > MAX_RELATIVE_MISFIT * float(np.nanmedian(np.abs(dy))):
        return None  # no height makes the flow follow the track: another video's track, or no ground in view
    halves = [np.isin(np.arange(len(v)), half) for half in np.array_split(np.arange(len(v)), 2)]
    spread = [fit(sel)[0] for sel in halves if sel.sum() >= 5]
    floor = MIN_SIGMA_SHARE * (first + offset) + MIN_SIGMA_M
    sigma = max(floor, float(np.std(spread))) if len(spread) == 2 else 2.0 * floor
    return FlowHeight(offset, sigma, pitch, pitch_given, rms, int(usable.sum()))


def _fit_offset(dy: np.ndarray, v: np.ndarray, h: np.ndarray, pitch: np.ndarray | None, beta: np.ndarray,
                gain: np.ndarray, first_m: float, climb: np.ndarray | None = None) -> tuple[float, float, float]:
    """Least-squares ``(offset, pitch, rms)``: ``dy[k, b] = gain[b] (v[k] sin^2(alpha)
    + c[k] sin(alpha) cos(alpha)) / (h[k] + offset)`` with ``alpha = -pitch + beta[b]``
    and ``c`` the climb (``geo.pitch.ground_angle_rate``); ``pitch`` per frame pair when
    given, else one fitted. A coarse grid (heights of the first fix spaced 2%, pitches 1 deg), then a
    fine one around its best."""
    ok = np.isfinite(dy)
    count = max(int(ok.sum()), 1)
    c = np.zeros_like(v) if climb is None else np.nan_to_num(climb)

    def misfit(start_m: np.ndarray, pitch_deg: float | None) -> np.ndarray:
        offsets = start_m - first_m  # [S]
        above = np.maximum(h[None, :] + offsets[:, None], 0.5)  # [S, K]
        if pitch_deg is None:
            assert pitch is not None
            alpha = np.radians(-pitch)[:, None] + beta[None, :]  # [K, B]
        else:
            alpha = np.broadcast_to(math.radians(-pitch_deg) + beta[None, :], dy.shape)
        alpha = np.clip(alpha, 0.0, math.pi / 2)
        predicted = gain * ground_angle_rate(alpha[None], v[None, :, None], c[None, :, None], above[:, :, None])
        residual = np.where(ok[None], dy[None] - predicted, 0.0)
        totals: np.ndarray = np.sum(residual**2, axis=(1, 2))
        return totals

    def search(starts: np.ndarray, pitches: list[float | None]) -> tuple[float, float | None, float]:
        best = (math.inf, float(starts[0]), pitches[0])
        for p in pitches:
            totals = misfit(starts, p)
            i = int(np.argmin(totals))
            if totals[i] < best[0]:
                best = (float(totals[i]), float(starts[i]), p)
        return best[1], best[2], best[0]

    low, high = HEIGHT_RANGE_M
    low = max(low, 5.0 - float(np.min(h)) + first_m)  # every height above the ground at least 5 m
    starts = np.exp(np.arange(math.log(low), math.log(high), 0.02)) if low < high else np.array([low])
    coarse_pitches: list[float | None] = (
        [None] if pitch is not None else [float(p) for p in np.arange(PITCH_RANGE[0], PITCH_RANGE[1] + 0.5, 1.0)])
    start, best_pitch, _ = search(starts, coarse_pitches)
    fine_starts = np.linspace(start * 0.97, start * 1.03, 25)
    fine_pitches: list[float | None] = (
        [None] if best_pitch is None else [float(p) for p in np.arange(best_pitch - 1.0, best_pitch + 1.01, 0.25)])
    start, best_pitch, total = search(fine_starts, fine_pitches)
    used_pitch = float(np.nanmedian(pitch)) if best_pitch is None and pitch is not None else float(best_pitch or 0.0)
    return start - first_m, used_pitch, math.sqrt(total / count)


__all__ = ["FlowHeight", "height_from_flow"]
