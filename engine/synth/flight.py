"""A smooth drone flight: position, altitude, heading and gimbal pitch over time."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.camera import CameraPose, PinholeCamera, intersect_ground


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

    @classmethod
    def sample(cls, rng: np.random.Generator, duration_s: float) -> FlightPlan:
        return cls(
            duration_s=duration_s,
            speed_mps=float(rng.uniform(4.0, 7.0)),
            heading_deg=float(rng.uniform(0, 360)),
            heading_swing_deg=float(rng.uniform(0, 12)),
            heading_period_s=float(rng.uniform(25, 60)),
            heading_phase=float(rng.uniform(0, 2 * math.pi)),
            altitude_m=float(rng.uniform(28, 70)),
            altitude_swing_m=float(rng.uniform(0, 6)),
            camera_yaw_offset_deg=float(rng.normal(0, 6)),
            pitch_deg=float(rng.uniform(-58, -36)),
            pitch_swing_deg=float(rng.uniform(0, 3)),
        )

    def heading_at(self, t_s: np.ndarray) -> np.ndarray:
        return self.heading_deg + self.heading_swing_deg * np.sin(2 * math.pi * t_s / self.heading_period_s + self.heading_phase)

    def poses(self, times_s: np.ndarray) -> list[CameraPose]:
        """Camera poses at ``times_s``; the path is integrated on a fine grid."""
        times_s = np.asarray(times_s, dtype=np.float64)
        grid = np.linspace(0.0, max(self.duration_s, float(times_s.max(initial=0.0))), 2001)
        heading = np.radians(self.heading_at(grid))
        step = np.diff(grid, prepend=0.0) * self.speed_mps
        east = np.cumsum(np.sin(heading) * step)
        north = np.cumsum(np.cos(heading) * step)
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
