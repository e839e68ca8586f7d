"""Why a damage site's position is uncertain: one error budget.

A site's ``uncertainty_m`` is the one-sigma horizontal error of its position, the
components below added in quadrature (:func:`error_budget`). Each is a distance on the
ground in metres:

``geometry``
    How well the rays through the mask meet (triangulation, or the ground-plane fit
    when the views are too alike), as far as they actually miss each other, and where on
    the damage each view's mask centre fell (about 0.29 of the damage's size on the
    ground): ``geo.fusion``.
``gps``
    The GPS fix's own horizontal accuracy at the frame, where the telemetry gives it
    (GPX ``<hdop>``, CSV ``accuracy``/``hacc``, ...; ``geo.telemetry.accuracy``); where
    it does not (a DJI SRT, most logs), a consumer drone's satellite positioning,
    :data:`ASSUMED_GPS_SIGMA_M`.
``altitude``
    The fix's vertical accuracy carried to the ground: a camera ``dz`` too high places a
    point seen ``d`` metres away at height ``h`` above it ``dz * d / h`` too far.
``gap``
    A hole in the log: the pose is read between two fixes further apart than the track's
    usual spacing while the drone flew at ``speed``; the distance flown in the extra time
    bounds how far it may have strayed from the straight line between them. Between two
    fixes at the log's usual rate it is 0: a smooth flight between 1 Hz fixes strays far
    less than the 6 m it flies between them, and that is already in the other terms.
``clock``
    How sure the lining up of the video and the telemetry is, in seconds, times how fast
    the point seen moves on the ground with the telemetry's time: the drone's speed, the
    camera's turn rate times the horizontal distance to the point, and its tilt rate
    times ``slant**2 / height`` (the telemetry read that much too early or late puts the
    camera where it was, pointing where it pointed, then: on a turning flight the turn
    counts far more than the speed). An offset estimated from the
    video's motion brings its own (``geo.clock_offset``, ``uncertainty_s``); else the way
    the track was lined up says it (``geo.sync.ClockAlignment``: 0 for a per-frame SRT,
    half a second for a creation time to the whole second, the log's step for its
    recording, seconds for a log taken to start with the video): :func:`clock_sigma`.
``camera``
    The camera pointing the telemetry does not give (gimbal pitch assumed or estimated
    from the video, heading along the direction of travel, a default field of view:
    ``geo.camera.camera_angle_sigma_deg``), in radians, times the slant range.

Per observation the components are computed at its frame; a site's telemetry
components are the root mean square of its observations' (telemetry errors persist from
frame to frame, so more sightings do not average them away), its geometry the fusion's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

import numpy as np

from core.last_few import KeptByMembers
from geo.telemetry.accuracy import UERE_M

if TYPE_CHECKING:  # pragma: no cover
    from geo.fusion import FusedSite
    from geo.observe import Projected
    from geo.sync import AlignedTrack

#: The one-sigma horizontal error of a fix whose telemetry gives no accuracy: a consumer
#: drone's satellite positioning (GPS with GLONASS or Galileo, no RTK), which its makers
#: state as about +-1.5 m hovering, and is seldom better in the open. Counting 0 there
#: made a site seen from three views claim +-0.1 m.
ASSUMED_GPS_SIGMA_M = 1.5

#: The components, in the order exports list them.
PARTS = ("geometry", "gps", "altitude", "gap", "clock", "camera")


@dataclass(frozen=True, slots=True)
class ErrorBudget:
    """The components of a position's one-sigma horizontal error, metres."""

    geometry: float = 0.0
    gps: float = 0.0
    altitude: float = 0.0
    gap: float = 0.0
    clock: float = 0.0
    camera: float = 0.0

    @property
    def total_m(self) -> float:
        """The components added in quadrature."""
        return float(math.hypot(*(getattr(self, f.name) for f in fields(self))))

    def parts(self) -> dict[str, float]:
        """``{component: metres}`` in :data:`PARTS` order, rounded to centimetres."""
        return {name: round(float(getattr(self, name)), 2) + 0.0 for name in PARTS}

    def describe(self, *, min_m: float = 0.05) -> str:
        """The components that count, largest first: ``'camera 8.2 m, gap 6.0 m'``."""
        named = sorted(((getattr(self, name), name) for name in PARTS), reverse=True)
        return ", ".join(f"{name} {value:.1f} m" for value, name in named if value >= min_m)


def error_budget(*, geometry_m: float = 0.0, gps_accuracy_m: float | None = None,
                 vertical_accuracy_m: float | None = None, reach_m: float = 0.0, height_m: float = 0.0,
                 gap_s: float = 0.0, speed_mps: float = 0.0, clock_sigma_s: float = 0.0,
                 camera_sigma_deg: float = 0.0, turn_rate_deg_s: float = 0.0,
                 tilt_rate_deg_s: float = 0.0) -> ErrorBudget:
    """The error budget of one position (see the module docstring for each term).

    ``reach_m`` is the horizontal distance from the camera to the point and ``height_m``
    the camera's height above it; absent accuracies count 0. ``turn_rate_deg_s`` and
    ``tilt_rate_deg_s``: how fast the camera's heading and pitch change at the frame
    (they enter the clock part).
    """
    def finite(value: float | None) -> float:
        return float(value) if value is not None and math.isfinite(value) and value > 0 else 0.0

    slant = math.hypot(reach_m, height_m)
    altitude = finite(vertical_accuracy_m) * reach_m / height_m if height_m > 0.5 else 0.0
    # how fast the point seen slides over the ground with the telemetry's time (m/s)
    turning = math.radians(finite(turn_rate_deg_s)) * finite(reach_m)
    tilting = math.radians(finite(tilt_rate_deg_s)) * slant ** 2 / height_m if height_m > 0.5 else 0.0
    sliding = math.hypot(finite(speed_mps), turning, finite(tilting))
    return ErrorBudget(
        geometry=finite(geometry_m),
        gps=finite(gps_accuracy_m),
        altitude=finite(altitude),
        gap=finite(gap_s) * finite(speed_mps),
        clock=finite(clock_sigma_s) * sliding,
        camera=math.radians(finite(camera_sigma_deg)) * slant,
    )


def root_mean_square(budgets: Iterable[ErrorBudget], *, geometry_m: float) -> ErrorBudget:
    """A site's budget from its observations': each telemetry component's root mean
    square, and ``geometry_m`` from the fusion."""
    budgets = list(budgets)
    if not budgets:
        return ErrorBudget(geometry=geometry_m)
    rms = {name: float(np.sqrt(np.mean([getattr(b, name) ** 2 for b in budgets]))) for name in PARTS}
    rms["geometry"] = 0.0 if geometry_m <= 0 else geometry_m  # unbounded (inf) or unknown (NaN) stays so
    return ErrorBudget(**rms)


def clock_sigma(aligned: AlignedTrack, estimated_sigma_s: float | None = None) -> tuple[float, str | None]:
    """The clock offset's one sigma (seconds) the sites' clock part counts, and a line for
    the map's notes when it rests on a guess (``None`` otherwise, and for a log taken to
    start with the video, whose alignment note already carries the caution).

    ``estimated_sigma_s``: an offset estimated from the video's motion
    (``geo.clock_offset``'s ``uncertainty_s``, kept as ``time_offset_sigma_s``), used as it
    is; ``None`` or 0 when there is none (no offset, or a typed one): then the alignment's
    own (:attr:`geo.sync.AlignedTrack.clock`, a typed offset included)."""
    if estimated_sigma_s is not None and math.isfinite(estimated_sigma_s) and estimated_sigma_s > 0:
        return float(estimated_sigma_s), None
    clock = aligned.clock
    if not clock.guessed:
        return 0.0, None
    if clock.bare_guess:
        return clock.sigma_s, None  # the alignment's own note says it
    return clock.sigma_s, (f"clock part of the site uncertainties from a guess, not a measurement: the video and the "
                           f"telemetry lined up to +-{clock.sigma_s:.1f} s ({clock.basis}), times how fast the point seen moves (the drone's speed and turns); "
                           "export --offset auto reads the offset, and how sure it is, from the video's motion")


def _column(aligned: AlignedTrack, attr: str) -> np.ndarray:
    """A sample field per sample (NaN where absent)."""
    return np.array([np.nan if getattr(s, attr, None) is None else float(getattr(s, attr))
                     for s in aligned.track.samples], dtype=np.float64)


def telemetry_at(aligned: AlignedTrack, t_s: Iterable[float]) -> dict[str, np.ndarray]:
    """Per video time: ``gap_s``, ``hole_s`` (the gap beyond the track's usual spacing), ``speed_mps``,
    ``turn_rate_deg_s`` and ``tilt_rate_deg_s`` (the camera's heading and pitch; each over the second around it),
    ``h_accuracy_m`` and ``v_accuracy_m`` (NaN where the track gives none), interpolated
    between the good fixes."""
    t = np.atleast_1d(np.asarray(list(t_s), dtype=np.float64))
    out: dict[str, np.ndarray] = {"gap_s": aligned.gap_s(t) if len(t) else np.zeros(0)}
    steps = np.diff(aligned.t_s[aligned.good])
    usual_step_s = float(np.median(steps)) if len(steps) else 0.0
    out["hole_s"] = np.maximum(out["gap_s"] - usual_step_s, 0.0)
    before, after = aligned.interpolate(t - 0.5), aligned.interpolate(t + 0.5)
    span = np.clip(after.t_s, aligned.t_s[0], aligned.t_s[-1]) - np.clip(before.t_s, aligned.t_s[0], aligned.t_s[-1])
    distance = np.hypot(after.east_m - before.east_m, after.north_m - before.north_m)
    out["speed_mps"] = np.where(span > 0.05, distance / np.maximum(span, 0.05), 0.0)
    turned = np.abs((after.heading_grid_deg - before.heading_grid_deg + 180.0) % 360.0 - 180.0)
    tilted = np.abs(after.pitch_deg - before.pitch_deg)
    for name, change in (("turn_rate_deg_s", turned), ("tilt_rate_deg_s", tilted)):
        rate = np.where(span > 0.05, change / np.maximum(span, 0.05), 0.0)
        out[name] = np.where(np.isfinite(rate), rate, 0.0)  # a heading unknown there: no turn counted
    good = aligned.good
    for attr in ("h_accuracy_m", "v_accuracy_m"):
        values = _column(aligned, attr)[good]
        ts = aligned.t_s[good]
        ok = np.isfinite(values)
        out[attr] = np.interp(t, ts[ok], values[ok]) if ok.any() else np.full(len(t), np.nan)
    return out


def budget_sites(fused: list[FusedSite], aligned: AlignedTrack, *, camera_sigma_deg: float = 0.0,
                 clock_sigma_s: float = 0.0, ground_sigma_m: float = 0.0) -> list[FusedSite]:
    """The sites with their error budget: per observation (``member_budgets``), per site
    (``budget``), and ``uncertainty_m`` its total. ``ground_sigma_m``: how sure the
    ground plane's elevation is (read from the video), added to every fix's vertical
    accuracy. The sites' own ``uncertainty_m`` (the
    fusion's) is the geometry component; sites that already have a budget are kept as
    they are (sites rebuilt by a regrouping get theirs, the others keep theirs)."""
    todo = [site for site in fused if site.budget is None]
    members = [m for site in todo for m in site.members]
    if not members:
        return fused
    at = telemetry_at(aligned, [m.observation.t_s for m in members])
    out = []
    k = 0
    for site in fused:
        if site.budget is not None:
            out.append(site)
            continue
        position = np.asarray(site.position_m, dtype=np.float64)
        seen = slice(k, k + len(site.members))

        def computed() -> tuple[ErrorBudget, list[ErrorBudget]]:  # called at once, in this iteration
            budgets = [_member_budget(m, position, {name: float(at[name][k + i]) for name in _BUDGET_TELEMETRY},
                                      camera_sigma_deg=camera_sigma_deg, clock_sigma_s=clock_sigma_s,
                                      ground_sigma_m=ground_sigma_m) for i, m in enumerate(site.members)]
            return root_mean_square(budgets, geometry_m=float(site.uncertainty_m)), budgets

        # kept by everything it is computed from: the very members, the site's position and
        # geometry, the sigmas, and the telemetry at the members' times, by value
        budget, budgets = _budgets.get_or_compute(site.members, (
            position.tobytes(), float(site.uncertainty_m), camera_sigma_deg, clock_sigma_s, ground_sigma_m,
            *(at[name][seen].tobytes() for name in _BUDGET_TELEMETRY)), computed)
        k += len(site.members)
        out.append(replace(site, uncertainty_m=budget.total_m, budget=budget, member_budgets=tuple(budgets)))
    return out


#: How many sites' error budgets are kept between map builds (:func:`budget_sites`): the
#: map is built again after every review decision, most sites of the same sightings at
#: the same place.
BUDGET_CACHE_SIZE = 5_000
_budgets = KeptByMembers(BUDGET_CACHE_SIZE)
#: the columns of :func:`telemetry_at` a sighting's budget is computed from
_BUDGET_TELEMETRY = ("h_accuracy_m", "v_accuracy_m", "hole_s", "speed_mps", "turn_rate_deg_s", "tilt_rate_deg_s")


def clear_cache() -> None:
    """Forget the kept budgets (tests, benchmarks)."""
    _budgets.clear()


def _member_budget(m: Projected, position: np.ndarray, at: dict[str, float], *, camera_sigma_deg: float,
                   clock_sigma_s: float, ground_sigma_m: float) -> ErrorBudget:
    """One sighting's budget, at the site's ``position``, from the telemetry ``at`` its time."""
    origin = np.asarray(m.ray_origin, dtype=np.float64)
    given = at["h_accuracy_m"]
    return error_budget(
        gps_accuracy_m=given if math.isfinite(given) and given > 0 else ASSUMED_GPS_SIGMA_M,
        vertical_accuracy_m=_with_ground(at["v_accuracy_m"], ground_sigma_m),
        reach_m=float(np.hypot(*(position[:2] - origin[:2]))), height_m=float(origin[2] - position[2]),
        gap_s=at["hole_s"], speed_mps=at["speed_mps"], clock_sigma_s=clock_sigma_s,
        turn_rate_deg_s=at["turn_rate_deg_s"], tilt_rate_deg_s=at["tilt_rate_deg_s"],
        # a frame placed by the camera's turns read from the video: how far off its heading may be
        camera_sigma_deg=math.hypot(camera_sigma_deg, m.heading_sigma_deg))


def _with_ground(vertical_accuracy_m: float, ground_sigma_m: float) -> float:
    """A fix's vertical accuracy with the ground plane's own uncertainty added (NaN: the
    track gives none, so the ground's alone, or none)."""
    if ground_sigma_m <= 0.0:
        return vertical_accuracy_m
    return math.hypot(vertical_accuracy_m if math.isfinite(vertical_accuracy_m) else 0.0, ground_sigma_m)


def uncertainty_fields(budget: ErrorBudget | None) -> dict[str, object]:
    """``uncertainty_parts`` (the components that count, largest first, as text) and one
    ``uncertainty_<part>_m`` column per component, as every export writes them."""
    parts = {} if budget is None else budget.parts()
    return {"uncertainty_parts": None if budget is None else budget.describe(),
            **{f"uncertainty_{name}_m": parts.get(name) for name in PARTS}}


def budget_note(fused: list[FusedSite]) -> str | None:
    """One line for the map's notes: the median site uncertainty and what dominates it."""
    budgets = [s.budget for s in fused if s.budget is not None]
    if not budgets:
        return None
    medians = ErrorBudget(**{name: float(np.median([getattr(b, name) for b in budgets])) for name in PARTS})
    total = float(np.median([b.total_m for b in budgets]))
    return f"site uncertainty: median {total:.1f} m ({medians.describe() or 'nothing significant'})"


__all__ = ["ASSUMED_GPS_SIGMA_M", "PARTS", "UERE_M", "ErrorBudget", "budget_note", "budget_sites", "clock_sigma", "error_budget",
           "root_mean_square", "telemetry_at", "uncertainty_fields"]
