"""A smooth drone flight: position, altitude, heading and gimbal pitch over time."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.camera import CameraPose, PinholeCamera, intersect_ground


#: Heights above the ground a flight is drawn between, unless asked otherwise.
DEFAULT_ALTITUDE_RANGE_M = (28.0, 70.0)


@dataclass(frozen=True)
class FlightPlan:
    """Parameters of one flight; :meth:`sample` draws them from a seed.

    The path passes over the ENU origin half-way through the clip, so the origin
    (the ``--origin`` of the CLI) is the middle of the surveyed area.
    """

    duration_s: float
    speed_mps: float
    heading_deg: float
    heading_swing_deg: float
    heading_period_s: float
    heading_phase: float
    altitude_m: float
    altitude_swing_m: float
    camera_yaw_offset_deg: float
    pitch_deg: float
    pitch_swing_deg: float
    #: Optional manoeuvres (none by default): ``(amplitude, period_s, phase)`` terms of
    #: a sum of sines, periods unrelated, so the pattern does not repeat. The speed
    #: swings by ``amplitude`` times ``speed_mps``; the heading by ``amplitude`` degrees
    #: (on top of the slow swing).
    speed_terms: tuple[tuple[float, float, float], ...] = ()
    turn_terms: tuple[tuple[float, float, float], ...] = ()

    @classmethod
    def sample(cls, rng: np.random.Generator, duration_s: float, *, manoeuvres: np.random.Generator | None = None) -> FlightPlan:
        """Draw a plan from ``rng``; with ``manoeuvres`` (a generator of its own, so the
        plain flight's draws stay those of the seed) the drone also speeds up, slows down
        and turns, as a pilot looking around does."""
        plan = cls._sample(rng, duration_s)
        if manoeuvres is None:
            return plan
        import dataclasses

        def terms(amplitude: tuple[float, float], periods: tuple[float, float]) -> tuple[tuple[float, float, float], ...]:
            return tuple((float(manoeuvres.uniform(*amplitude)), float(manoeuvres.uniform(*periods)),
                          float(manoeuvres.uniform(0, 2 * math.pi))) for _ in range(3))

        return dataclasses.replace(plan, speed_terms=terms((0.1, 0.25), (4.0, 23.0)),
                                   turn_terms=terms((4.0, 12.0), (5.0, 29.0)))

    @classmethod
    def _sample(cls, rng: np.random.Generator, duration_s: float) -> FlightPlan:
        return cls(
            duration_s=duration_s,
            speed_mps=float(rng.uniform(4.0, 7.0)),
            heading_deg=float(rng.uniform(0, 360)),
            heading_swing_deg=float(rng.uniform(0, 12)),
            heading_period_s=float(rng.uniform(25, 60)),
            heading_phase=float(rng.uniform(0, 2 * math.pi)),
            altitude_m=float(rng.uniform(*DEFAULT_ALTITUDE_RANGE_M)),
            altitude_swing_m=float(rng.uniform(0, 6)),
            camera_yaw_offset_deg=float(rng.normal(0, 6)),
            pitch_deg=float(rng.uniform(-58, -36)),
            pitch_swing_deg=float(rng.uniform(0, 3)),
        )

    def with_altitude_range(self, low_m: float, high_m: float) -> FlightPlan:
        """The same plan flown between ``low_m`` and ``high_m`` instead of the default
        range: the drawn height is mapped across linearly, so every other draw of the seed
        (and so the neighbourhood) stays the same."""
        import dataclasses

        lo, hi = DEFAULT_ALTITUDE_RANGE_M
        fraction = (self.altitude_m - lo) / (hi - lo)
        return dataclasses.replace(self, altitude_m=float(low_m + fraction * (high_m - low_m)))

    def heading_at(self, t_s: np.ndarray) -> np.ndarray:
        heading = self.heading_deg + self.heading_swing_deg * np.sin(2 * math.pi * t_s / self.heading_period_s + self.heading_phase)
        for amplitude, period, phase in self.turn_terms:
            heading = heading + amplitude * np.sin(2 * math.pi * t_s / period + phase)
        return heading

    def speed_at(self, t_s: np.ndarray) -> np.ndarray:
        if not self.speed_terms:
            return np.full(np.shape(t_s), self.speed_mps)
        swing = sum(amplitude * np.sin(2 * math.pi * t_s / period + phase) for amplitude, period, phase in self.speed_terms)
        return self.speed_mps * np.maximum(1.0 + swing, 0.1)

    def poses(self, times_s: np.ndarray) -> list[CameraPose]:
        """Camera poses at ``times_s``; the path is integrated on a fine grid (from 0, or
        from the earliest time asked for when that is before the start)."""
        times_s = np.asarray(times_s, dtype=np.float64)
        first = min(0.0, float(times_s.min(initial=0.0)))
        last = max(self.duration_s, float(times_s.max(initial=0.0)))
        if first < 0.0:  # before the clip: same path, anchored at the clip's middle
            grid = np.arange(first, last + 0.005, 0.005)
        else:
            grid = np.linspace(0.0, last, 2001)
        heading = np.radians(self.heading_at(grid))
        step = np.diff(grid, prepend=grid[0]) * self.speed_at(grid)
        east = np.cumsum(np.sin(heading) * step)
        north = np.cumsum(np.cos(heading) * step)
        if first < 0.0:
            east -= np.interp(0.5 * self.duration_s, grid, east)
            north -= np.interp(0.5 * self.duration_s, grid, north)
        else:
            mid = len(grid) // 2
            east -= east[mid]
            north -= north[mid]
        e = np.interp(times_s, grid, east)
        n = np.interp(times_s, grid, north)
        phase = 2 * math.pi * times_s / max(self.duration_s, 1.0)
        up = self.altitude_m + self.altitude_swing_m * np.sin(0.5 * phase + 1.0)
        yaw = self.heading_at(times_s) + self.camera_yaw_offset_deg
        pitch = self.pitch_deg + self.pitch_swing_deg * np.sin(phase * 1.3)
        return [
            CameraPose(float(e[i]), float(n[i]), float(up[i]), float((yaw[i] + 180.0) % 360.0 - 180.0), float(pitch[i]))
            for i in range(len(times_s))
        ]


def hover_clock(times_s: np.ndarray, start_s: float, length_s: float) -> np.ndarray:
    """The flight's own clock for a drone that hovers ``length_s`` seconds from
    ``start_s``: it stands still there (position, height, heading and gimbal alike), and
    goes on from where it stopped afterwards."""
    times_s = np.asarray(times_s, dtype=np.float64)
    return np.where(times_s < start_s, times_s, np.maximum(times_s - length_s, start_s))


def turn_while_hovering(poses: list[CameraPose], times_s: np.ndarray, start_s: float, length_s: float,
                        turn_deg: float) -> list[CameraPose]:
    """``poses`` with the drone turning ``turn_deg`` away and back while it hovers from
    ``start_s`` for ``length_s`` seconds (a pilot looking to the side), as a sine's
    half-wave: the heading before and after the hover is the flight's own."""
    import dataclasses

    out = []
    for pose, t in zip(poses, np.asarray(times_s, dtype=np.float64)):
        progress = (t - start_s) / length_s
        if 0.0 < progress < 1.0:
            yaw = pose.yaw_deg + turn_deg * math.sin(math.pi * progress)
            pose = dataclasses.replace(pose, yaw_deg=float((yaw + 180.0) % 360.0 - 180.0))
        out.append(pose)
    return out


def ground_bounds(camera: PinholeCamera, poses: list[CameraPose], margin_m: float) -> tuple[float, float, float, float]:
    """ENU box (east0, north0, east1, north1) covering every frame's view of the ground."""
    w, h = camera.width_px, camera.height_px
    border = np.array([[0, 0], [w / 2, 0], [w, 0], [w, h / 2], [w, h], [w / 2, h], [0, h], [0, h / 2]], dtype=np.float64)
    pts = []
    for pose in poses:
        g = intersect_ground(camera, pose, border)
        if np.isnan(g).any():
            raise ValueError("flight: the camera sees the horizon; pitch it further down")
        pts.append(g[:, :2])
    allp = np.concatenate(pts)
    lo, hi = allp.min(axis=0) - margin_m, allp.max(axis=0) + margin_m
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def nearest_ground_pixel_m(camera: PinholeCamera, poses: list[CameraPose]) -> float:
    """Smallest ground footprint (metres) of one image pixel over the flight."""
    best = math.inf
    for pose in poses:
        depression = min(89.0, -pose.pitch_deg + camera.vfov_deg / 2)
        distance = pose.up_m / math.sin(math.radians(depression))
        best = min(best, distance / camera.focal_px)
    return best
