"""How far past the usual range each analysed frame is known to have filmed, and where.

A frame's camera footprint (``geo.coverage``) is drawn out to a fixed range
(:data:`FILMED_RANGE_M`), and past it towards each of the frame's detections placed
farther: a damage placed 160 m away was filmed there. The footprint grows by a *wedge*
around that detection's bearing (the bearings of its box's corners, plus
:data:`REACH_MARGIN_M` either side), out to :data:`REACH_MARGIN_M` past it, not across
the image's whole width. Every detection the run holds counts, whatever its score and
whether a reviewer rejected it: which of them the map keeps depends on the score
threshold, and the area filmed must not.

A detection alone is not proof of the ground it is placed on: a false detection near the
horizon is placed hundreds of metres away. So one reaches past the usual range only
where it lies near it (within :data:`NEAR_RANGE_M` past it), where a detection of
another view (any score) lies there too (within :data:`CORROBORATION_M` of the box that
other detection covers on the ground), or where no other view showed that ground. The
map confirms a site seen in two views, or in the only one that showed it
(:func:`geo.fusion.is_confirmed`), so the sightings of its sites lie in the wedges at
every threshold; a far detection that other views looked at and did not find widens
nothing.

Placing a detection reads its mask's centroid (from its runs, all the candidates' at
once: ``geo.observe.placed_grounds_xy``), and a long flight holds tens of thousands. So
each detection's box bounds first how far it can lie: the
mask's centroid is inside its box, and the box projects onto a plane as a quadrilateral
whose farthest corner is the farthest point of it. Projected onto the lowest ground the
detection can be placed on (the take-off plane, or the terrain's lowest point), the
corners bound where :func:`geo.observe.project_detection` places it. Only the detections
whose bound passes the usual range are placed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.camera import CameraPose, PinholeCamera, project_points_from
from core.types import BoxXYXY, Detection
from geo.fusion import FusionSettings
from geo.observe import MAX_RANGE_M, placed_grounds_xy
from geo.terrain import LocalTerrain

#: How far from the drone every frame's camera footprint reaches (metres on the ground),
#: whatever it holds: the range the area of interest is drawn to (``geo.coverage``).
FILMED_RANGE_M = 150.0
#: How far past a frame's detection (and to either side of it) its footprint reaches (a
#: site fused from several sightings lies near them, not on any one).
REACH_MARGIN_M = 15.0
#: The detections nearer than this change no footprint: a map records the frames reaching past it.
REACH_FROM_M = FILMED_RANGE_M - REACH_MARGIN_M
#: How far past :data:`FILMED_RANGE_M` a detection no other view corroborates still
#: widens its frame's footprint.
NEAR_RANGE_M = 50.0
#: How far from the ground box of a detection of another view a far detection is
#: corroborated by it (the boxes of far detections stretch over tens of metres, and
#: their placements scatter as widely).
CORROBORATION_M = 25.0

#: A frame farther from a far detection's ground than this many times the detection's
#: own range does not count as another look at it (as the fusion counts the views).
VIEW_RANGE_FACTOR = FusionSettings().view_range_factor

#: Pixels the box is widened by on every side for its bound: a mask's pixels reach to the
#: box's edge, and its centroid is read at the pixels' centres.
BOX_SLACK_PX = 1.0


@dataclass(frozen=True)
class ReachWedge:
    """Ground a frame filmed past the usual range: the bearings within ``half_width_rad``
    of ``bearing_rad`` (counter-clockwise from east, as ``atan2(north, east)``) seen from
    the point under the drone, out to ``far_m`` metres from it."""

    bearing_rad: float
    half_width_rad: float
    far_m: float

    def holds(self, east_m: float, north_m: float) -> bool:
        """Whether the ground point (east, north offsets from the point under the drone) lies inside."""
        distance = math.hypot(east_m, north_m)
        off = abs(float(_wrapped(np.asarray(math.atan2(north_m, east_m) - self.bearing_rad))))
        return distance <= self.far_m and off <= self.half_width_rad

    def outline(self, *, near_m: float, step_rad: float = math.radians(1.0)) -> np.ndarray:
        """The wedge from ``near_m`` to :attr:`far_m` as a ring of ``float[K, 2]`` (east,
        north offsets from the point under the drone, not closed)."""
        count = max(2, math.ceil(2 * self.half_width_rad / step_rad) + 1)
        bearings = self.bearing_rad + np.linspace(-self.half_width_rad, self.half_width_rad, count)
        far = np.column_stack([np.cos(bearings), np.sin(bearings)]) * self.far_m
        near = np.column_stack([np.cos(bearings), np.sin(bearings)])[::-1] * min(near_m, self.far_m)
        return np.concatenate([far, near])


def _wrapped(angle_rad: np.ndarray) -> np.ndarray:
    """``angle_rad`` in [-pi, pi)."""
    wrapped: np.ndarray = np.mod(np.asarray(angle_rad, dtype=np.float64) + np.pi, 2 * np.pi) - np.pi
    return wrapped


def lowest_ground_m(terrain: LocalTerrain | None) -> float:
    """The lowest height above the take-off plane a detection can be placed at: the
    terrain's lowest point, or the take-off plane itself (a ray that leaves the terrain
    is placed there)."""
    if terrain is None:
        return 0.0
    heights = np.asarray(terrain.terrain.data, dtype=np.float64)
    finite = heights[np.isfinite(heights)]
    return min(0.0, float(finite.min()) - terrain.reference_m) if finite.size else 0.0


def highest_ground_m(terrain: LocalTerrain | None) -> float:
    """The highest height above the take-off plane a detection can be placed at."""
    if terrain is None:
        return 0.0
    heights = np.asarray(terrain.terrain.data, dtype=np.float64)
    finite = heights[np.isfinite(heights)]
    return max(0.0, float(finite.max()) - terrain.reference_m) if finite.size else 0.0


def box_ground_corners(boxes_xyxy_px: np.ndarray, seen_from: np.ndarray, poses: Sequence[CameraPose],
                       camera: PinholeCamera, *, plane_up_m: float = 0.0,
                       max_range_m: float = MAX_RANGE_M) -> np.ndarray:
    """For each box (``float[N, 4]``, seen from ``poses[seen_from[k]]``, widened by
    :data:`BOX_SLACK_PX`), where its four corners' rays meet the plane
    ``z = plane_up_m``, as ``float[N, 4, 2]`` east, north offsets from the point under
    the camera: ``max_range_m`` along the ray's bearing for a ray reaching up to the
    horizon (or past that range). All at once: a long flight holds tens of thousands."""
    boxes = np.asarray(boxes_xyxy_px, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros((0, 4, 2))
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
    horizontal = np.hypot(east, north)
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = horizontal * height / -up
    # a ray at or above the horizon (or a camera not above the plane) meets it nowhere
    distance = np.where((up < 0) & (height > 0) & np.isfinite(distance), distance, np.inf)
    distance = np.minimum(distance, max_range_m)
    scale = distance / np.maximum(horizontal, 1e-12)
    return np.stack([east * scale, north * scale], axis=-1)


def box_reach_bounds_m(boxes_xyxy_px: np.ndarray, seen_from: np.ndarray, poses: Sequence[CameraPose],
                       camera: PinholeCamera, *, plane_up_m: float = 0.0, max_range_m: float = MAX_RANGE_M) -> np.ndarray:
    """For each box (``float[N, 4]``, seen from ``poses[seen_from[k]]``), the farthest its
    corners land from the point under the camera on the plane ``z = plane_up_m``, in
    metres; ``max_range_m`` for a box reaching up to the horizon (or past that range)."""
    return corner_reach_m(box_ground_corners(boxes_xyxy_px, seen_from, poses, camera, plane_up_m=plane_up_m,
                                             max_range_m=max_range_m))


def corner_reach_m(corners: np.ndarray) -> np.ndarray:
    """For each box's ground corners (``float[N, 4, 2]``, :func:`box_ground_corners`), the
    farthest of them from the point under the camera, in metres."""
    bounds: np.ndarray = np.hypot(corners[..., 0], corners[..., 1]).max(axis=1) if len(corners) else np.zeros(0)
    return bounds


def wedge_towards(box_xyxy_px: BoxXYXY, pose: CameraPose, camera: PinholeCamera, ground_xy: np.ndarray) -> ReachWedge:
    """The wedge a detection (its box, seen from ``pose``) placed at ``ground_xy`` (local
    metres) opens: its box's bearings and :data:`REACH_MARGIN_M` to either side and past it."""
    return wedges_towards(np.array([box_xyxy_px], dtype=np.float64), [pose], camera, [ground_xy])[0]


def wedges_towards(boxes_xyxy_px: np.ndarray, poses: Sequence[CameraPose], camera: PinholeCamera,
                   grounds_xy: Sequence[np.ndarray]) -> list[ReachWedge]:
    """:func:`wedge_towards` of each box (``float[N, 4]``, seen from ``poses[k]``, placed at
    ``grounds_xy[k]``), their corners' rays cast together (a long flight opens thousands)."""
    if len(poses) == 0:
        return []
    corners = box_ground_corners(np.asarray(boxes_xyxy_px, dtype=np.float64), np.arange(len(poses)), poses, camera,
                                 plane_up_m=-1e6)  # a plane far below: every corner's bearing, none cut
    corner_bearings = np.arctan2(corners[..., 1], corners[..., 0])
    wedges = []
    for pose, ground, bearings in zip(poses, grounds_xy, corner_bearings):
        east, north = float(ground[0]) - pose.east_m, float(ground[1]) - pose.north_m
        distance = math.hypot(east, north)
        bearing = math.atan2(north, east)
        spread = float(np.abs(_wrapped(bearings - bearing)).max())
        margin = math.atan2(REACH_MARGIN_M, max(distance, REACH_MARGIN_M))
        wedges.append(ReachWedge(bearing, min(spread + margin, math.pi / 2), distance + REACH_MARGIN_M))
    return wedges


def detection_wedges(detections: Iterable[Detection], poses: Mapping[int, CameraPose], camera: PinholeCamera, *,
                     terrain: LocalTerrain | None = None, views: Mapping[int, int] | None = None,
                     beyond_m: float = REACH_FROM_M) -> dict[int, tuple[ReachWedge, ...]]:
    """Frame index -> the wedges (:func:`wedge_towards`) its detections placed past
    ``beyond_m`` open, over every detection of ``detections`` in a frame of ``poses``,
    whatever its score or review: those within :data:`NEAR_RANGE_M` past
    :data:`FILMED_RANGE_M`, and those farther that a detection of another view
    corroborates (see the module docstring; ``views``: frame index -> distinct view, by
    default each frame its own). Frames with none are left out."""
    placed = [d for d in detections if d.frame_index in poses]
    if not placed:
        return {}
    frames = np.array([d.frame_index for d in placed])
    seen, seen_from = np.unique(frames, return_inverse=True)
    seen_poses = [poses[int(index)] for index in seen]
    boxes = np.array([d.box_xyxy_px for d in placed], dtype=np.float64)
    low = box_ground_corners(boxes, seen_from, seen_poses, camera, plane_up_m=lowest_ground_m(terrain))
    candidates = np.flatnonzero(corner_reach_m(low) > beyond_m)  # as box_reach_bounds_m, corners kept
    if len(candidates) == 0:
        return {}
    # every detection's ground box, on the lowest and the highest ground, in local metres
    high = box_ground_corners(boxes, seen_from, seen_poses, camera, plane_up_m=highest_ground_m(terrain))
    under = np.array([[pose.east_m, pose.north_m] for pose in seen_poses])[seen_from][:, None, :]
    corners = np.concatenate([low, high], axis=1) + under
    box_min, box_max = corners.min(axis=1) - CORROBORATION_M, corners.max(axis=1) + CORROBORATION_M
    view_of = np.array([(views or {}).get(int(f), -1 - int(f)) for f in frames])  # a frame without one is its own
    beyond: list[tuple[int, np.ndarray, float]] = []  # (detection, where placed, how far) of those placed past beyond_m
    candidate_poses = [poses[int(frames[k])] for k in candidates]
    grounds = placed_grounds_xy([placed[k] for k in candidates], candidate_poses, camera=camera, terrain=terrain)
    for k, pose, ground in zip((int(c) for c in candidates), candidate_poses, grounds):
        if ground is None:
            continue
        distance = float(np.hypot(ground[0] - pose.east_m, ground[1] - pose.north_m))
        if distance > beyond_m:
            beyond.append((k, ground, distance))
    farther = [j for j, (_, _, distance) in enumerate(beyond) if distance > FILMED_RANGE_M + NEAR_RANGE_M]
    corroborated = dict(zip(farther, corroborated_points(
        np.array([beyond[j][1] for j in farther]).reshape(-1, 2), view_of[[beyond[j][0] for j in farther]],
        view_of, box_min, box_max)))
    far: list[tuple[int, np.ndarray]] = []  # (detection, where placed) of those no view corroborates
    opening: list[tuple[int, np.ndarray]] = []  # (detection, where placed) of those that open a wedge, in order
    for j, (k, ground, _) in enumerate(beyond):
        if corroborated.get(j, True):
            opening.append((k, ground))
        else:
            far.append((k, ground))
    opening += _seen_from_no_other_view(far, placed, poses, camera, views)
    wedges: dict[int, list[ReachWedge]] = {}
    opened = wedges_towards(np.array([placed[k].box_xyxy_px for k, _ in opening], dtype=np.float64).reshape(-1, 4),
                            [poses[int(frames[k])] for k, _ in opening], camera, [ground for _, ground in opening])
    for (k, _), wedge in zip(opening, opened):
        wedges.setdefault(int(frames[k]), []).append(wedge)
    return {index: tuple(found) for index, found in wedges.items()}


def _seen_from_no_other_view(far: Sequence[tuple[int, np.ndarray]], placed: Sequence[Detection],
                             poses: Mapping[int, CameraPose], camera: PinholeCamera,
                             views: Mapping[int, int] | None) -> list[tuple[int, np.ndarray]]:
    """Those of ``far`` (index into ``placed``, ground point) whose ground point no frame
    of another view showed (in its image, and nearer than
    :attr:`geo.fusion.FusionSettings.view_range_factor` times the detection's own
    range): the only look at it, which the map confirms as a site at its score
    (:func:`geo.fusion.is_confirmed`)."""
    if not far:
        return []
    looking = sorted(views) if views is not None else sorted(poses)
    view_of = views if views is not None else {index: index for index in looking}
    points = np.array([[g[0], g[1], 0.0] for _, g in far])
    own = [poses[placed[k].frame_index] for k, _ in far]
    ranges = VIEW_RANGE_FACTOR * np.linalg.norm(points - np.array([pose.position for pose in own]), axis=1)
    shown = np.zeros((len(looking), len(far)), dtype=bool)
    chunk = max(1, 250_000 // len(far))
    for start in range(0, len(looking), chunk):
        some = looking[start:start + chunk]
        u, v, front, offsets = project_points_from(camera, [poses[index] for index in some], points)
        shown[start:start + len(some)] = (front & (u >= 0) & (u < camera.width_px) & (v >= 0)
                                          & (v < camera.height_px) & (np.linalg.norm(offsets, axis=2) <= ranges))
    looking_views = np.array([view_of[index] for index in looking])
    out = []
    for j, (k, ground) in enumerate(far):
        own_view = view_of.get(placed[k].frame_index, None)
        if not np.any(shown[:, j] & (looking_views != own_view)):
            out.append((k, ground))
    return out


def corroborated_points(points: np.ndarray, views: np.ndarray, view_of: np.ndarray, box_min: np.ndarray,
                        box_max: np.ndarray) -> np.ndarray:
    """For each ground point (``float[M, 2]``, seen in view ``views[m]``), whether a
    detection of another view covers it: ``box_min[n] <= point <= box_max[n]`` for a box
    ``n`` with ``view_of[n]`` not its view (``bool[M]``). The boxes are looked up in a
    spatial index and only those whose bounds hold the point compared: a long flight
    holds tens of thousands of either."""
    import shapely

    found = np.zeros(len(points), dtype=bool)
    if len(points) == 0 or len(box_min) == 0:
        return found
    tree = shapely.STRtree(shapely.box(box_min[:, 0], box_min[:, 1], box_max[:, 0], box_max[:, 1]))
    point, box = tree.query(shapely.points(points))  # the boxes whose bounds meet each point (and a few more)
    inside = (np.all((box_min[box] <= points[point]) & (points[point] <= box_max[box]), axis=1)
              & (view_of[box] != views[point]))
    found[point[inside]] = True
    return found


def farthest_reach_m(wedges: Mapping[int, Sequence[ReachWedge]]) -> dict[int, float]:
    """Frame index -> how far from the drone its farthest wedge reaches."""
    return {index: max(w.far_m for w in found) for index, found in wedges.items() if found}


__all__ = ["CORROBORATION_M", "FILMED_RANGE_M", "NEAR_RANGE_M", "REACH_FROM_M", "REACH_MARGIN_M", "ReachWedge", "corner_reach_m",
           "box_ground_corners", "box_reach_bounds_m", "corroborated_points", "detection_wedges", "farthest_reach_m",
           "highest_ground_m", "lowest_ground_m", "wedge_towards", "wedges_towards"]
