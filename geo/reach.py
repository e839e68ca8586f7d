"""How far each analysed frame is known to have filmed: the farthest of its detections.

A frame's camera footprint (``geo.coverage``) is drawn out to a fixed range, and past it
to the farthest of the frame's detections placed on the ground: a damage placed 160 m
away was filmed there. Every detection the run holds counts, whatever its score and
whether a reviewer rejected it: which of them the map keeps depends on the score
threshold, and the area filmed must not.

Placing a detection reads its mask's centroid (decoding the mask), and a long flight
holds tens of thousands. So each detection's box bounds first how far it can lie: the
mask's centroid is inside its box, and the box projects onto a plane as a quadrilateral
whose farthest corner is the farthest point of it. Projected onto the lowest ground the
detection can be placed on (the take-off plane, or the terrain's lowest point), the
corners bound where :func:`geo.observe.project_detection` places it. Only the detections
whose bound passes the frame's farthest placed one so far are placed, farthest bound
first: one or two a frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from core.camera import CameraPose, PinholeCamera
from core.types import Detection
from geo.observe import MAX_RANGE_M, placed_distance_m
from geo.terrain import LocalTerrain

#: How far from the drone every frame's camera footprint reaches (metres on the ground),
#: whatever it holds: the range the area of interest is drawn to (``geo.coverage``).
FILMED_RANGE_M = 150.0
#: How far past a frame's farthest detection its footprint reaches (a site fused from
#: several sightings lies near them, not on any one).
REACH_MARGIN_M = 15.0
#: The detections nearer than this change no footprint: a map records the frames reaching past it.
REACH_FROM_M = FILMED_RANGE_M - REACH_MARGIN_M

#: Pixels the box is widened by on every side for its bound: a mask's pixels reach to the
#: box's edge, and its centroid is read at the pixels' centres.
BOX_SLACK_PX = 1.0


def lowest_ground_m(terrain: LocalTerrain | None) -> float:
    """The lowest height above the take-off plane a detection can be placed at: the
    terrain's lowest point, or the take-off plane itself (a ray that leaves the terrain
    is placed there)."""
    if terrain is None:
        return 0.0
    heights = np.asarray(terrain.terrain.data, dtype=np.float64)
    finite = heights[np.isfinite(heights)]
    return min(0.0, float(finite.min()) - terrain.reference_m) if finite.size else 0.0


def box_reach_bounds_m(boxes_xyxy_px: np.ndarray, seen_from: np.ndarray, poses: Sequence[CameraPose],
                       camera: PinholeCamera, *, plane_up_m: float = 0.0, max_range_m: float = MAX_RANGE_M) -> np.ndarray:
    """For each box (``float[N, 4]``, seen from ``poses[seen_from[k]]``), the farthest its
    corners land from the point under the camera on the plane ``z = plane_up_m``, in
    metres; ``max_range_m`` for a box reaching up to the horizon (or past that range).
    All at once: a long flight holds tens of thousands."""
    boxes = np.asarray(boxes_xyxy_px, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros(0)
    slack = np.array([-BOX_SLACK_PX, -BOX_SLACK_PX, BOX_SLACK_PX, BOX_SLACK_PX])
    boxes = boxes + slack
    cx, cy = camera.principal_point_px
    x = (boxes[:, [0, 2, 2, 0]] - cx) / camera.focal_px  # the corners' rays in the camera, [N, 4] (z = 1)
    y = (boxes[:, [1, 1, 3, 3]] - cy) / camera.focal_px
    rotation = np.stack([pose.rotation_world_from_camera() for pose in poses])[seen_from]  # [N, 3, 3]
    # the rays in the world, not normed (the distance to the plane scales them): [N, 4] each
    east, north, up = (rotation[:, None, i, 0] * x + rotation[:, None, i, 1] * y + rotation[:, None, i, 2]
                       for i in range(3))
    height = (np.array([pose.up_m for pose in poses]) - plane_up_m)[seen_from][:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.hypot(east, north) * height / -up
    # a ray at or above the horizon (or a camera not above the plane) meets it nowhere
    distance = np.where((up < 0) & (height > 0) & np.isfinite(distance), distance, np.inf)
    bounds: np.ndarray = np.minimum(distance.max(axis=1), max_range_m)
    return bounds


def farthest_detections_m(detections: Iterable[Detection], poses: Mapping[int, CameraPose], camera: PinholeCamera, *,
                          terrain: LocalTerrain | None = None, beyond_m: float = 0.0) -> dict[int, float]:
    """Frame index -> how far from the point under the drone (metres on the ground) the
    frame's farthest detection is placed (:func:`geo.observe.project_detection`), over
    every detection of ``detections`` in a frame of ``poses``, whatever its score or
    review. Frames whose detections all lie within ``beyond_m`` (or none placed) are left
    out: what a caller drawing the ground out to ``beyond_m`` anyway does not need."""
    placed = [d for d in detections if d.frame_index in poses]
    if not placed:
        return {}
    frames = np.array([d.frame_index for d in placed])
    seen, seen_from = np.unique(frames, return_inverse=True)
    bounds = box_reach_bounds_m(np.array([d.box_xyxy_px for d in placed], dtype=np.float64), seen_from,
                                [poses[int(index)] for index in seen], camera, plane_up_m=lowest_ground_m(terrain))
    order = np.lexsort((-bounds, frames))  # by frame, each frame's farthest bound first
    reach: dict[int, float] = {}
    starts = np.flatnonzero(np.r_[True, frames[order][1:] != frames[order][:-1]])
    for start, end in zip(starts, [*starts[1:], len(order)]):
        farthest = None
        for k in order[start:end]:
            if bounds[k] <= max(beyond_m, farthest or 0.0):
                break  # none after it lies farther
            distance = placed_distance_m(placed[k], camera=camera, pose=poses[int(frames[k])], terrain=terrain)
            if distance is not None and (farthest is None or distance > farthest):
                farthest = distance
        if farthest is not None and farthest > beyond_m:
            reach[int(frames[order[start]])] = farthest
    return reach


__all__ = ["FILMED_RANGE_M", "REACH_FROM_M", "REACH_MARGIN_M", "box_reach_bounds_m", "farthest_detections_m", "lowest_ground_m"]
