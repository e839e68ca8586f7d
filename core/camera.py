"""Pinhole camera geometry in a local east-north-up (ENU) frame, in metres.

One model serves both sides: the synthetic flyover renders through it (so it is the
ground truth) and ``geo`` projects detections back through it. Geographic conversion
(WGS84 <-> UTM) is not here: that is ``geo``'s job with pyproj.

Conventions
-----------
- World: x east, y north, z up, metres.
- Camera: x right, y down, z forward (OpenCV). Pixel ``(u, v)`` has its origin at the
  top-left corner of the top-left pixel; pixel centres are at ``+0.5``.
- ``yaw_deg``: heading of the optical axis, clockwise from north (0 = north, 90 = east).
- ``pitch_deg``: elevation of the optical axis, DJI gimbal style: 0 level, -90 nadir.
- ``roll_deg``: rotation about the optical axis, positive clockwise in the image.
"""

from __future__ import annotations

from typing import Any

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True, slots=True)
class PinholeCamera:
    """Intrinsics from the image size and a horizontal field of view; square pixels."""

    width_px: int
    height_px: int
    hfov_deg: float

    def __post_init__(self) -> None:
        if self.width_px <= 0 or self.height_px <= 0:
            raise ValueError(f"PinholeCamera: size must be positive; got {self.width_px}x{self.height_px}")
        if not 1.0 <= self.hfov_deg <= 170.0:
            raise ValueError(f"PinholeCamera: hfov_deg must be in [1, 170]; got {self.hfov_deg!r}")

    @property
    def focal_px(self) -> float:
        return 0.5 * self.width_px / math.tan(math.radians(self.hfov_deg) / 2.0)

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan(0.5 * self.height_px / self.focal_px))

    @property
    def principal_point_px(self) -> tuple[float, float]:
        return 0.5 * self.width_px, 0.5 * self.height_px

    def matrix(self) -> np.ndarray:
        """``float64[3, 3]`` intrinsic matrix K."""
        cx, cy = self.principal_point_px
        f = self.focal_px
        return np.array([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]])

    def to_dict(self) -> dict[str, Any]:
        return {"width_px": self.width_px, "height_px": self.height_px, "hfov_deg": self.hfov_deg}


@dataclass(frozen=True, slots=True)
class CameraPose:
    """Camera position (ENU metres) and attitude (degrees, see module docstring)."""

    east_m: float
    north_m: float
    up_m: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float = 0.0

    @property
    def position(self) -> np.ndarray:
        return np.array([self.east_m, self.north_m, self.up_m], dtype=np.float64)

    @property
    def optical_axis(self) -> tuple[float, float, float]:
        """The unit vector the camera looks along (camera +z), in ENU."""
        return _optical_axis(self.yaw_deg, self.pitch_deg)

    def rotation_world_from_camera(self) -> np.ndarray:
        """``float64[3, 3]`` R with ``d_world = R @ d_camera`` (read-only: one array is
        shared by every pose with these angles)."""
        return _rotation_world_from_camera(float(self.yaw_deg), float(self.pitch_deg), float(self.roll_deg))

    def to_dict(self) -> dict[str, Any]:
        return {
            "east_m": self.east_m,
            "north_m": self.north_m,
            "up_m": self.up_m,
            "yaw_deg": self.yaw_deg,
            "pitch_deg": self.pitch_deg,
            "roll_deg": self.roll_deg,
        }


def _optical_axis(yaw_deg: float, pitch_deg: float) -> tuple[float, float, float]:
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    return (math.sin(yaw) * math.cos(pitch), math.cos(yaw) * math.cos(pitch), math.sin(pitch))


@lru_cache(maxsize=8192)
def _rotation_world_from_camera(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """:meth:`CameraPose.rotation_world_from_camera`, kept: a map places every detection
    of a frame, and builds again after each review edit, with the same few poses."""
    yaw, roll = math.radians(yaw_deg), math.radians(roll_deg)
    forward = np.array(_optical_axis(yaw_deg, pitch_deg))
    # Camera +x (image right) is horizontal, to the right of the heading.
    right = np.array([math.cos(yaw), -math.sin(yaw), 0.0])
    down = np.cross(forward, right)  # camera +y, image down
    if roll:
        c, s = math.cos(roll), math.sin(roll)
        right, down = c * right + s * down, -s * right + c * down
    rotation = np.stack([right, down, forward], axis=1)
    rotation.flags.writeable = False
    return rotation


def clear_cache() -> None:
    """Forget the kept rotations (tests, benchmarks)."""
    _rotation_world_from_camera.cache_clear()


def project_points(camera: PinholeCamera, pose: CameraPose, points_enu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project world points to pixels.

    Parameters
    ----------
    points_enu : float[N, 3]
        World points, ENU metres.

    Returns
    -------
    uv : float64[N, 2]
        Pixel coordinates ``(u, v)``.
    in_front : bool[N]
        True where the point lies in front of the camera (depth > 1 cm).
    """
    pts = np.asarray(points_enu, dtype=np.float64).reshape(-1, 3)
    rot = pose.rotation_world_from_camera()
    cam = (pts - pose.position) @ rot  # rows: camera coordinates (R^T applied)
    depth = cam[:, 2]
    in_front = depth > 1e-2
    safe = np.where(in_front, depth, 1.0)
    f = camera.focal_px
    cx, cy = camera.principal_point_px
    uv = np.stack([f * cam[:, 0] / safe + cx, f * cam[:, 1] / safe + cy], axis=1)
    return uv, in_front


def project_points_from(camera: PinholeCamera, poses: Sequence[CameraPose], points_enu: np.ndarray,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`project_points` of the same points from each of ``poses`` at once (a stacked
    product, each pose's numbers the very ones it computes alone): ``u``, ``v`` and
    ``in_front``, ``[len(poses), N]`` each, and the offsets of the points from each
    camera, ``float64[len(poses), N, 3]``."""
    pts = np.asarray(points_enu, dtype=np.float64).reshape(-1, 3)
    offsets = pts[None, :, :] - np.array([pose.position for pose in poses]).reshape(-1, 1, 3)
    cam = offsets @ np.array([pose.rotation_world_from_camera() for pose in poses]).reshape(-1, 3, 3)
    depth = cam[:, :, 2]
    in_front = depth > 1e-2
    safe = np.where(in_front, depth, 1.0)
    f = camera.focal_px
    cx, cy = camera.principal_point_px
    return f * cam[:, :, 0] / safe + cx, f * cam[:, :, 1] / safe + cy, in_front, offsets


def pixel_rays(camera: PinholeCamera, pose: CameraPose, uv: np.ndarray) -> np.ndarray:
    """Unit ray directions in the world, ``float64[N, 3]``, for pixels ``float[N, 2]``."""
    d_world = _camera_directions(camera, uv) @ pose.rotation_world_from_camera().T
    rays: np.ndarray = d_world / np.sqrt(np.add.reduce(d_world * d_world, axis=1, keepdims=True))
    return rays


def _camera_directions(camera: PinholeCamera, uv: np.ndarray) -> np.ndarray:
    """The directions through pixels ``float[N, 2]`` in the camera's frame, ``z = 1``:
    ``float64[N, 3]``. Filled in place (and normed by the callers as np.linalg.norm does)
    without np.stack's and norm's checks: a map casts a ray per detection and per outline,
    tens of thousands."""
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    cx, cy = camera.principal_point_px
    f = camera.focal_px
    d_cam = np.empty((len(uv), 3))
    d_cam[:, 0] = (uv[:, 0] - cx) / f
    d_cam[:, 1] = (uv[:, 1] - cy) / f
    d_cam[:, 2] = 1.0
    return d_cam


def pixel_rays_from(camera: PinholeCamera, poses: Sequence[CameraPose], uv: np.ndarray) -> np.ndarray:
    """:func:`pixel_rays` of one pixel (a row of ``float[N, 2]``) from each of ``poses``,
    all at once: a stack of one-row products, each the very numbers it gives alone (a long
    flight casts tens of thousands, one per detection)."""
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    if len(uv) == 0:
        return np.zeros((0, 3))
    d_cam = _camera_directions(camera, uv)[:, None, :]
    # each rotation transposed as a view, laid out as pixel_rays' own ``.T``
    d_world = d_cam @ np.stack([pose.rotation_world_from_camera() for pose in poses]).transpose(0, 2, 1)
    rays: np.ndarray = (d_world / np.sqrt(np.add.reduce(d_world * d_world, axis=2, keepdims=True)))[:, 0]
    return rays


def ground_points_from(poses: Sequence[CameraPose], rays: np.ndarray, *, min_depression_deg: float = 0.5) -> np.ndarray:
    """:func:`ground_points` on the ground (``z = 0``) of one ray (a row of ``float[N, 3]``)
    from each of ``poses``, all at once (elementwise, the same numbers as one by one)."""
    rays = np.asarray(rays, dtype=np.float64).reshape(-1, 3)
    height = np.array([pose.up_m for pose in poses], dtype=np.float64).reshape(-1)
    position = np.array([pose.position for pose in poses], dtype=np.float64).reshape(-1, 3)
    return _hits_below(rays, height, position, min_depression_deg)


def _hits_below(rays: np.ndarray, height: np.ndarray, position: np.ndarray, min_depression_deg: float) -> np.ndarray:
    """Where each ray (``float64[N, 3]``, unit) from ``position[i]`` meets the plane
    ``height[i]`` below it, ``float64[N, 3]``; NaN rows for a ray that does not look down
    by ``min_depression_deg`` or a plane not below."""
    limit = -math.sin(math.radians(min_depression_deg))
    ok = rays[:, 2] < limit
    t = np.where(ok, height / np.where(ok, -rays[:, 2], 1.0), np.nan)
    out: np.ndarray = position + rays * t[:, None]
    out[~ok | (height <= 0)] = np.nan
    return out


def intersect_grounds(camera: PinholeCamera, poses: Sequence[CameraPose], uvs: Sequence[np.ndarray],
                      grounds_up_m: Sequence[float], *, min_depression_deg: float = 0.5) -> np.ndarray:
    """:func:`intersect_ground` of the pixels ``uvs[k]`` (``float[N_k, 2]``) from
    ``poses[k]`` onto the plane ``z = grounds_up_m[k]``, for every ``k`` at once: their rows
    concatenated, ``float64[sum N_k, 3]``, each the very numbers :func:`intersect_ground`
    gives it alone. Each block's rotation is its own product of ``N_k`` rows (the rows a
    BLAS product gives depend on how many it multiplies); the rest is elementwise over all
    the rows (a map places thousands of mask outlines, a few dozen pixels each)."""
    counts = [len(uv) for uv in uvs]
    if not counts or sum(counts) == 0:
        return np.zeros((0, 3))
    d_cam = _camera_directions(camera, np.concatenate([np.asarray(uv, dtype=np.float64).reshape(-1, 2) for uv in uvs]))
    d_world = np.empty_like(d_cam)
    start = 0
    for pose, count in zip(poses, counts):
        d_world[start:start + count] = d_cam[start:start + count] @ pose.rotation_world_from_camera().T
        start += count
    rays = d_world / np.sqrt(np.add.reduce(d_world * d_world, axis=1, keepdims=True))
    height = np.repeat(np.array([pose.up_m - float(up) for pose, up in zip(poses, grounds_up_m)],
                                dtype=np.float64), counts)
    position = np.repeat(np.array([pose.position for pose in poses], dtype=np.float64).reshape(-1, 3), counts, axis=0)
    return _hits_below(rays, height, position, min_depression_deg)


def intersect_ground(
    camera: PinholeCamera,
    pose: CameraPose,
    uv: np.ndarray,
    *,
    ground_up_m: float = 0.0,
    min_depression_deg: float = 0.5,
) -> np.ndarray:
    """Where pixel rays meet the horizontal plane ``z = ground_up_m``.

    Rays at or above the horizon (less than ``min_depression_deg`` below it) never meet
    the ground in front of the camera: their rows are NaN.

    Returns
    -------
    float64[N, 3]
        ENU points on the plane, NaN rows for rejected rays.
    """
    return ground_points(pose, pixel_rays(camera, pose, uv), ground_up_m=ground_up_m,
                         min_depression_deg=min_depression_deg)


def ground_points(pose: CameraPose, rays: np.ndarray, *, ground_up_m: float = 0.0,
                  min_depression_deg: float = 0.5) -> np.ndarray:
    """:func:`intersect_ground` of rays already cast from ``pose`` (``float[N, 3]``, as
    :func:`pixel_rays` gives them): a caller that needs a pixel's ray and its ground point
    casts the ray once."""
    height = np.full(len(rays), pose.up_m - ground_up_m, dtype=np.float64)
    return _hits_below(rays, height, np.asarray(pose.position, dtype=np.float64), min_depression_deg)
