"""The camera's unknown pitch and field of view (and heading offset) from how the ground
flows through the frame, for flights whose telemetry has positions only (GPX).

A GPX track gives the drone's position and height but not where the camera looked:
the gimbal pitch is assumed, the heading is the direction of travel and the field of
view a preset, each off by degrees, which moves damage metres. Flying forward at speed
``v`` and height ``h``, a ground point seen ``alpha`` below the horizon moves at
``v sin^2(alpha) / h`` radians a second, and a row ``beta`` from the image centre spans
``f / cos^2(beta)`` pixels a radian. A climb at ``c`` m/s adds ``c sin(alpha)
cos(alpha) / h`` (a descent slows the slide, most near the horizon: descending at 1 m/s
while flying at 6 reads the top of a 45-degree view a third slower), and the track's
heights give it (:func:`ground_angle_rate`). So how fast the ground slides down each
horizontal band of the frame (``engine.motion``), against the track's speed, climb and
height, fixes the pitch and the focal length (:func:`view_from_flow`, a least-squares
grid search).

That forward flow alone hardly tells a steeper, narrower camera from a shallower, wider
one (near 45 degrees down the two trade almost freely), and houses, nearer than the
ground, tip the balance. Turns break the tie: turning at ``w`` rad/s slides the row ``y``
pixels below the centre sideways by ``w (f cos(pitch) + y sin(pitch))`` pixels a second
whatever the ground's distance, so wherever the track's turn rate changes, the sideways
flow measures the focal length and the pitch directly. Both flows enter one fit; on a
straight flight the sideways part carries no information and the fit is the forward
flow's alone. The sideways slide of the middle bands, less what the turns explain,
against their downward slide gives the heading offset. The spread is the difference between the fits on the
flight's two halves.

On a straight, level flight the forward flow fixes where each row's ground lies relative
to the others, not how far ahead the frame looks: a camera pitched ``p`` and one pitched
``90 - p`` with another width make the same flow, and near 45 degrees the two meet, so a
little bias reads ten degrees of pitch and twenty of width off. A width the halves read
no surer than the map's default is for an unknown camera is weighed with it
(:func:`drawn_to_default`), the pitch read at what they give, and a held width's doubt
joins the pitch's spread.

Houses make the ground nearer than the track's height says, so the fit leans a little
steep; the heading offset is the least sure of the three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geo.camera import DEFAULT_HFOV_DEG
from geo.sync import AlignedTrack, FrameState

#: Least spreads reported (degrees): the bias houses and gimbal motion leave.
MIN_PITCH_SIGMA_DEG = 3.0
MIN_HFOV_SIGMA_DEG = 5.0
MIN_YAW_SIGMA_DEG = 5.0
#: Search ranges (degrees).
PITCH_RANGE = (-88.0, -15.0)
HFOV_RANGE = (50.0, 110.0)
#: The fit is refused when its misfit passes this multiple of the typical downward flow,
#: or its pitch is the shallowest searched: the flow does not follow the track (rendered
#: flights: 0.2-0.8; a video beside another flight's log: about 3).
MAX_RELATIVE_MISFIT = 1.5
#: A fitted field of view this unsure (the spread of the flight's halves, degrees) leaves
#: the pitch unsure too (:attr:`FlowView.width_unsure`). On twelve rendered flights that
#: hover 8 of 20 s, the four whose pitch was read 17-21 degrees too shallow had 25.5-30,
#: one read right 25.5, the other seven 5-20.5; ten flights that do not hover 5-17.5
#: (`python bench/site_accuracy.py --truth-masks` renders such flights).
UNSURE_HFOV_SIGMA_DEG = 25.0
#: :attr:`FlowView.hfov_source` of a field of view fitted from the flow.
ESTIMATED_FOV_SOURCE = "estimated from the image flow"
#: A field of view fitted from the flow is worth giving as ``--hfov`` (held exact from
#: then on) only when it is surer than the map's default is for a camera it does not
#: know (:meth:`FlowView.hfov_beats_default`): drone cameras' views run from about 65
#: degrees (a Mavic 2 Pro) to 84 (a 20 mm lens, the rendered flights), some 10 either
#: side of the default's 73.7.
ADVISE_HFOV_MAX_SIGMA_DEG = 10.0
#: How sure the map's default field of view is for a camera it does not know (one sigma,
#: degrees): drone cameras run from about 65 degrees to 84, some 10 either side of it.
UNKNOWN_CAMERA_HFOV_SIGMA_DEG = ADVISE_HFOV_MAX_SIGMA_DEG
#: :attr:`FlowView.hfov_source` of a field of view the flow alone pinned down no better
#: than the map's default: the two weighed together (:func:`drawn_to_default`).
DRAWN_FOV_SOURCE = f"{ESTIMATED_FOV_SOURCE}, drawn towards the map's default"


@dataclass(frozen=True)
class FlowView:
    """Pitch, heading offset and field of view read from how the ground flows through the
    frame (:func:`view_from_flow`); ``*_sigma_deg`` from the spread over the flight's
    halves (with floors), or for a field of view held, how sure its source is;
    ``rms_px_s`` the flow misfit; ``samples`` used."""

    pitch_deg: float
    yaw_offset_deg: float
    hfov_deg: float
    pitch_sigma_deg: float
    yaw_sigma_deg: float
    hfov_sigma_deg: float
    rms_px_s: float
    samples: int
    #: where the field of view came from: :data:`ESTIMATED_FOV_SOURCE`, or what named it
    #: (given, the video's metadata) when it was held
    hfov_source: str = "given"
    #: how much the track's turn rate varied over the frame pairs used (standard
    #: deviation, degrees a second): near 0 on a straight flight, where only the forward
    #: flow fixed the field of view
    turn_spread_deg_s: float = 0.0

    @property
    def hfov_estimated(self) -> bool:
        """Whether the field of view was fitted from the flow (not held from a source),
        drawn towards the map's default or not."""
        return self.hfov_source.startswith(ESTIMATED_FOV_SOURCE)

    @property
    def hfov_drawn_to_default(self) -> bool:
        """Whether the flow alone pinned the field of view down no better than the map's
        default does, so the two were weighed together (:func:`drawn_to_default`) and
        the pitch read at what they give."""
        return self.hfov_source.startswith(DRAWN_FOV_SOURCE)

    @property
    def width_unsure(self) -> bool:
        """Whether the flow left the field of view, and with it the pitch, unsure: fitted
        (not given) and the flight's two halves read it :data:`UNSURE_HFOV_SIGMA_DEG` or
        more apart, or so far apart that the map's default weighed in
        (:attr:`hfov_drawn_to_default`). On a flight that hardly turns, a steeper, wider
        camera and a shallower, narrower one make nearly the same flow; the field of view
        given (``--hfov``, the drone's name) leaves the pitch alone to fit, which the flow
        fixes."""
        return self.hfov_estimated and (self.hfov_sigma_deg >= UNSURE_HFOV_SIGMA_DEG or self.hfov_drawn_to_default)

    def hfov_beats_default(self, default_deg: float = DEFAULT_HFOV_DEG) -> bool:
        """Whether the field of view fitted here pins the camera down better than the
        map's default (``geo.camera.DEFAULT_HFOV_DEG``) does, so that giving it
        (``--hfov``) is worth it: fitted, its sigma within
        :data:`ADVISE_HFOV_MAX_SIGMA_DEG` (the default's own error for a camera the map
        does not know), and the default beyond that sigma (nearer, the default is as good).
        On the demo flyover the flow reads 97 +-19.5 degrees for a camera 84 wide: not
        worth giving; on a rendered flight that turns, 81 +-5: worth it."""
        return (self.hfov_estimated and not self.hfov_drawn_to_default
                and self.hfov_sigma_deg <= ADVISE_HFOV_MAX_SIGMA_DEG
                and abs(self.hfov_deg - default_deg) > self.hfov_sigma_deg)

    def note(self) -> str:
        return (f"camera estimated from the ground's flow through the frame ({self.samples} frame pairs, turn rate "
                f"varying by {self.turn_spread_deg_s:.1f} deg/s): pitch {self.pitch_deg:.1f} "
                f"+-{self.pitch_sigma_deg:.1f} deg, heading offset {self.yaw_offset_deg:+.1f} "
                f"+-{self.yaw_sigma_deg:.1f} deg, horizontal FOV {self.hfov_deg:.1f} +-{self.hfov_sigma_deg:.1f} deg "
                f"({self.hfov_source})")


def _fit_pitch_fov(rows: np.ndarray, dy: np.ndarray, speed: np.ndarray, height: np.ndarray, width_px: int,
                   height_px: int, hfov_range: tuple[float, float] = HFOV_RANGE,
                   turns: tuple[np.ndarray, np.ndarray] | None = None,
                   climb: np.ndarray | None = None) -> tuple[float, float, float]:
    """Least-squares pitch and hfov for the downward flow ``dy[k, b]`` of bands at image
    rows ``rows[b]`` (pixels) while flying at ``speed[k]`` m/s ``height[k]`` m above the
    ground and climbing at ``climb[k]`` m/s: a ground point seen ``alpha`` below the
    horizon moves at ``(v sin^2(alpha) + c sin(alpha) cos(alpha)) / h`` rad/s
    (:func:`ground_angle_rate`), ``f / cos^2(beta)`` pixels per radian ``beta`` from the
    centre row. With ``turns = (dx[k, b], yaw_rate[k])`` (sideways flow, px/s; the
    track's turn rate, rad/s) the sideways flow enters too: turning at ``w`` slides row
    ``y`` (pixels below the centre) sideways by ``-w (f cos(pitch) + y sin(pitch))``,
    whatever the ground's distance, and travel slides each band by its own multiple of
    ``v / h`` (fitted per band). Returns ``(pitch, hfov, rms)``."""
    ok = np.isfinite(dy)
    rising = (np.zeros_like(speed) if climb is None else np.nan_to_num(climb))[:, None]
    count = max(int(ok.sum()), 1)
    sums = None
    if turns is not None:
        sums, sideways_count = _turn_sums(turns[0], turns[1], speed / height)
        count += sideways_count
    y = rows - 0.5 * height_px
    best = (math.inf, -45.0, 70.0)
    for hfov in np.arange(hfov_range[0], hfov_range[1] + 1e-9, 1.0):
        f = 0.5 * width_px / math.tan(math.radians(hfov) / 2)
        beta = np.arctan(y / f)  # [B]
        gain = f / np.cos(beta) ** 2
        for pitch in np.arange(PITCH_RANGE[0], PITCH_RANGE[1] + 1e-9, 0.5):
            alpha = np.clip(np.radians(-pitch) + beta, 0.0, math.pi / 2)
            predicted = gain[None, :] * ground_angle_rate(alpha[None, :], speed[:, None], rising, height[:, None])
            residual = np.where(ok, dy - predicted, 0.0)
            total = float(np.sum(residual**2))
            if sums is not None:
                p = math.radians(pitch)
                total += _turn_misfit(sums, -(f * math.cos(p) + y * math.sin(p)))
            rms = math.sqrt(total / count)
            if rms < best[0]:
                best = (rms, float(pitch), float(hfov))
    return best[1], best[2], best[0]


def _turn_sums(dx: np.ndarray, turn: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, int]:
    """Per band the sums the sideways misfit needs (:func:`_turn_misfit`): of ``dx^2``,
    ``dx w``, ``dx q``, ``w^2``, ``w q``, ``q^2`` over the frame pairs where ``dx`` is
    known; ``q = v / h``. And how many values entered."""
    ok = np.isfinite(dx) & np.isfinite(turn)[:, None] & np.isfinite(q)[:, None]
    x = np.where(ok, dx, 0.0)
    w = np.where(ok, turn[:, None], 0.0)
    r = np.where(ok, q[:, None], 0.0)
    sums = np.stack([np.sum(x * x, 0), np.sum(x * w, 0), np.sum(x * r, 0), np.sum(w * w, 0), np.sum(w * r, 0),
                     np.sum(r * r, 0)])
    return sums, int(ok.sum())


def _turn_misfit(sums: np.ndarray, gain: np.ndarray) -> float:
    """Sum of squares of ``dx - gain[b] w - c[b] q`` over the frame pairs, ``c[b]`` (the
    travel's share) fitted per band in closed form."""
    xx, xw, xq, ww, wq, qq = sums
    first = xx - 2.0 * gain * xw + gain**2 * ww
    cross = xq - gain * wq
    return float(np.sum(first - np.where(qq > 0, cross**2 / np.maximum(qq, 1e-12), 0.0)))


@dataclass(frozen=True)
class FlowAgainstTrack:
    """A video's image flow beside its track at the same times: the flow of each
    horizontal band (``flow[k, b]``: px/s right and down) and the image row of each
    band's centre (``rows``), the track there (``state``), its speed over the ground
    its turn rate (signed, rad/s) and its climb (m/s, up) over the second around, and
    which frame pairs have both (``valid``)."""

    flow: np.ndarray
    rows: np.ndarray
    state: FrameState
    speed_mps: np.ndarray
    turn_rad_s: np.ndarray
    valid: np.ndarray
    climb_mps: np.ndarray


def flow_against_track(t_s: np.ndarray, band_flow_px_s: np.ndarray, height_px: int,
                       aligned: AlignedTrack) -> FlowAgainstTrack:
    """:class:`FlowAgainstTrack` of ``band_flow_px_s`` (``engine.motion``) at video times
    ``t_s`` and ``aligned``, the track on the video clock."""
    t = np.asarray(t_s, dtype=np.float64)
    flow = np.asarray(band_flow_px_s, dtype=np.float64)
    rows = (np.arange(flow.shape[1]) + 0.5) * height_px / flow.shape[1]
    state = aligned.interpolate(t)
    before = aligned.interpolate(t - 0.5)
    after = aligned.interpolate(t + 0.5)
    speed = np.hypot(after.east_m - before.east_m, after.north_m - before.north_m)
    turn = np.radians(((after.heading_grid_deg - before.heading_grid_deg + 180.0) % 360.0) - 180.0)
    climb = after.height_m - before.height_m
    valid = state.valid & before.valid & after.valid & np.isfinite(flow[:, :, 1]).sum(axis=1).astype(bool)
    return FlowAgainstTrack(flow, rows, state, speed, turn, valid, climb)


def ground_angle_rate(alpha_rad: np.ndarray, speed_mps: np.ndarray, climb_mps: np.ndarray,
                      height_m: np.ndarray) -> np.ndarray:
    """How fast (rad/s) a ground point seen ``alpha`` below the horizon moves down the
    view of a camera flying towards it at ``speed`` over the ground, ``height`` up, and
    climbing at ``climb`` (negative: descending): ``(v sin^2(alpha) + c sin(alpha)
    cos(alpha)) / h``. Travel brings the point nearer and under the camera; a climb
    lifts the camera and tips the point down the view, a descent up it. A drone
    descending at 1 m/s while flying at 6 reads the top of a 45-degree view a third
    slower than level flight, which without the climb looks like a shallower camera or a
    higher drone."""
    sin, cos = np.sin(alpha_rad), np.cos(alpha_rad)
    return (speed_mps * sin**2 + climb_mps * sin * cos) / height_m


def view_from_flow(
    t_s: np.ndarray,
    band_flow_px_s: np.ndarray,
    width_px: int,
    height_px: int,
    aligned: AlignedTrack,
    *,
    hfov_deg: float | None = None,
    hfov_sigma_deg: float = 0.0,
    hfov_source: str = "given",
    min_speed_mps: float = 2.0,
    turns: bool = True,
) -> FlowView | None:
    """The camera's pitch, heading offset and field of view from the image flow of a
    video (``engine.motion``) and its track on the video clock (``aligned``, a
    :class:`geo.sync.AlignedTrack`): how fast the ground slides down each band of the
    frame, given the drone's speed and height, and (``turns``) the sideways slide while
    the track turns, fix pitch and field of view; the sideways slide of the middle
    band, less what the drone's turns explain, the heading offset. ``hfov_deg`` known:
    only the pitch is fitted with it, and ``hfov_sigma_deg`` (how sure it is) and
    ``hfov_source`` travel with the view. ``None`` with fewer than 10 usable frame pairs
    (hovering, no height), or when no camera makes the flow follow the track
    (:data:`MAX_RELATIVE_MISFIT`, the shallowest pitch searched)."""
    along = flow_against_track(t_s, band_flow_px_s, height_px, aligned)
    flow, rows, state, speed, turn = along.flow, along.rows, along.state, along.speed_mps, along.turn_rad_s
    bands = flow.shape[1]
    usable = along.valid & (speed >= min_speed_mps) & (state.height_m > 5.0)
    if usable.sum() < 10:
        return None
    dy = flow[usable, :, 1]
    v, h, c = speed[usable], state.height_m[usable], along.climb_mps[usable]
    hfov_range = HFOV_RANGE if hfov_deg is None else (hfov_deg, hfov_deg)
    dx_all, w = flow[usable, :, 0], turn[usable]
    pitch, hfov, rms = _fit_pitch_fov(rows, dy, v, h, width_px, height_px, hfov_range,
                                      (dx_all, w) if turns else None, c)
    if pitch >= PITCH_RANGE[1] - 1.0 or rms > MAX_RELATIVE_MISFIT * float(np.nanmedian(np.abs(dy))):
        return None  # no camera makes the flow follow the track: another flight's log, no ground in view
    # spread: the same fit on each half of the flight
    fits = [_fit_pitch_fov(rows, dy[half], v[half], h[half], width_px, height_px, hfov_range,
                           (dx_all[half], w[half]) if turns else None, c[half])
            for half in np.array_split(np.arange(len(v)), 2) if len(half) >= 5]
    # floors: houses bias the fit by about this much on synthetic flights (see the docs)
    pitch_sigma = max(MIN_PITCH_SIGMA_DEG, float(np.std([f[0] for f in fits]))) if len(fits) == 2 else 5.0
    hfov_sigma = hfov_sigma_deg if hfov_deg is not None else (
        max(MIN_HFOV_SIGMA_DEG, float(np.std([f[1] for f in fits]))) if len(fits) == 2 else 10.0)
    if hfov_deg is None and hfov_sigma > ADVISE_HFOV_MAX_SIGMA_DEG:
        # the flow alone hardly tells a steeper, wider camera from a shallower, narrower one:
        # its reading weighed with the default's, and the pitch read at what they give
        drawn, drawn_sigma = drawn_to_default(hfov, hfov_sigma)
        held = view_from_flow(t_s, band_flow_px_s, width_px, height_px, aligned, hfov_deg=round(drawn, 1),
                              hfov_sigma_deg=drawn_sigma, min_speed_mps=min_speed_mps, turns=turns,
                              hfov_source=f"{DRAWN_FOV_SOURCE} {DEFAULT_HFOV_DEG:g} deg, as the flow alone could not "
                                          f"pin it down ({hfov:.0f} +-{hfov_sigma:.0f} deg); give the camera's own "
                                          "from its spec sheet: --hfov DEG, or the drone's name")
        if held is not None:
            return held
    if hfov_deg is not None and hfov_sigma_deg > 0.0:
        pitch_sigma = math.hypot(pitch_sigma, _pitch_spread_over_width(
            rows, dy, v, h, width_px, height_px, hfov_deg, hfov_sigma_deg, (dx_all, w) if turns else None, c))
    # heading offset: travelling d off the camera's heading slides the ground sideways by
    # tan(d) cos(beta) / sin(alpha) times its downward flow, measured in the same bands
    # (not the flow the fit predicts from the track's height: both shrink alike with the
    # ground's distance); turning at w adds -w f cos(pitch) in the middle bands, taken off
    # first
    f = 0.5 * width_px / math.tan(math.radians(hfov) / 2)
    middle = [bands // 2 - 1, bands // 2]
    dx = np.nanmean(dx_all[:, middle], axis=1)
    beta = float(np.arctan((rows[middle] - 0.5 * height_px) / f).mean())
    alpha = math.radians(-pitch) + beta
    lateral = np.nanmean(dy[:, middle], axis=1) * math.cos(beta) / math.sin(alpha)
    sideways = dx + f * turn[usable] * math.cos(math.radians(pitch))
    ok = np.isfinite(sideways) & np.isfinite(lateral)

    def heading_offset(sel: np.ndarray) -> float:
        tan_offset = float(np.sum(lateral[sel] * sideways[sel]) / max(float(np.sum(lateral[sel] ** 2)), 1e-12))
        return math.degrees(math.atan(float(np.clip(tan_offset, -0.5, 0.5))))

    yaw = heading_offset(ok)
    halves = [ok & np.isin(np.arange(len(ok)), half) for half in np.array_split(np.arange(len(ok)), 2)]
    yaw_halves = [heading_offset(sel) for sel in halves if sel.sum() >= 5]
    yaw_sigma = max(MIN_YAW_SIGMA_DEG, float(np.std(yaw_halves))) if len(yaw_halves) == 2 else 10.0
    source = hfov_source if hfov_deg is not None else ESTIMATED_FOV_SOURCE
    spread = float(np.degrees(np.nanstd(w))) if np.isfinite(w).any() else 0.0
    return FlowView(pitch, yaw, hfov, pitch_sigma, yaw_sigma, hfov_sigma, rms, int(usable.sum()), source, spread)


def drawn_to_default(hfov_deg: float, hfov_sigma_deg: float, default_deg: float = DEFAULT_HFOV_DEG,
                     default_sigma_deg: float = UNKNOWN_CAMERA_HFOV_SIGMA_DEG) -> tuple[float, float]:
    """A field of view read from the flow weighed with the map's default (each by the
    inverse of its variance): the default is itself a reading of the camera, about
    ``default_sigma_deg`` off for a drone the map does not know. The flow's 97 +-19.5
    degrees on the demo flyover (a camera 84 wide) gives 78.6 +-8.9."""
    weights = (1.0 / hfov_sigma_deg**2, 1.0 / default_sigma_deg**2)
    drawn = (weights[0] * hfov_deg + weights[1] * default_deg) / sum(weights)
    return float(drawn), float(1.0 / math.sqrt(sum(weights)))


def _pitch_spread_over_width(rows: np.ndarray, dy: np.ndarray, speed: np.ndarray, height: np.ndarray, width_px: int,
                             height_px: int, hfov_deg: float, hfov_sigma_deg: float,
                             turns: tuple[np.ndarray, np.ndarray] | None, climb: np.ndarray) -> float:
    """How far (degrees) the pitch the flow reads moves when the field of view held is
    ``hfov_sigma_deg`` wider or narrower: half the difference of the two fits. The forward
    flow fixes where each row's ground lies relative to the others, not how far the frame
    looks ahead; near 45 degrees down a steeper, wider camera and a shallower, narrower one
    make the same flow, so a field of view off by ``d`` reads the pitch about ``d / 2``
    off, and that much of the held width's doubt is the pitch's too."""
    widths = [min(max(hfov_deg + side * hfov_sigma_deg, HFOV_RANGE[0] / 2), 170.0) for side in (-1.0, 1.0)]
    pitches = [_fit_pitch_fov(rows, dy, speed, height, width_px, height_px, (width, width), turns, climb)[0]
               for width in widths]
    return 0.5 * abs(pitches[1] - pitches[0])


__all__ = ["ADVISE_HFOV_MAX_SIGMA_DEG", "ESTIMATED_FOV_SOURCE", "DRAWN_FOV_SOURCE", "UNKNOWN_CAMERA_HFOV_SIGMA_DEG",
           "UNSURE_HFOV_SIGMA_DEG", "drawn_to_default", "FlowAgainstTrack", "FlowView",
           "flow_against_track", "ground_angle_rate", "view_from_flow"]
