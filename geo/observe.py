"""Detections placed on the ground: one :class:`Projected` observation per detection.

A detection's mask outline is projected pixel by pixel onto the ground plane (the
take-off elevation, ``z = 0`` of the local frame) with
:func:`core.camera.intersect_grounds`; its position is where the ray through the mask's
pixel centroid meets the plane. The ray itself is kept: fusion triangulates the rays of
one damage seen from several frames, which also finds its height (a roof is not on the
ground).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from core.camera import (CameraPose, PinholeCamera, ground_points, ground_points_from, intersect_grounds, pixel_rays,
                         pixel_rays_from)
from core.last_few import LastFew
from core.masks import RleMask, mask_crops, pixel_centres
from core.types import DamageLevel, Detection, Observation
from geo.local import LocalFrame
from geo.terrain import LocalTerrain

#: Ground points farther than this from the camera come from grazing rays: unusable.
MAX_RANGE_M = 800.0
#: Masks smaller than this (pixels) carry no usable position.
MIN_MASK_AREA_PX = 4
#: Height (m) over the terrain at which roof damage's ray is taken to be near its house.
TERRAIN_ROOF_M = 4.0
#: How many masks' outlines, and outlines placed on a plane, are kept between map builds
#: (a long flight's detections several times over).
SHAPE_CACHE_SIZE = 20_000
FOOTPRINT_CACHE_SIZE = 50_000
#: How many detections placed on the ground are kept between map builds (:func:`place_detection`).
PLACED_CACHE_SIZE = 200_000


def vote_weight(detection: Detection) -> float:
    """Detections a person confirmed (:attr:`core.types.Detection.confirmed`) count
    fully; the model's by their (refined) score."""
    return 1.0 if detection.confirmed else float(detection.final_score)


@dataclass(frozen=True, eq=False)
class Projected:
    """One detection on the ground, with what fusion needs.

    ``outline_px`` are the mask's outer contours in pixels (re-projected onto another
    plane once fusion knows the damage's height); ``ray_*`` is the ray through the mask's
    pixel centroid, local metres; ``truncated`` marks masks touching the image border
    (their centroid is biased), ``near_edge`` those touching it or within
    :data:`EDGE_MARGIN_FRACTION` of it (likely cut off: not a site's best view);
    ``no_look`` those in a frame too dark, uniform or blurred to count as a look at the
    ground (``core.frame_quality``: not a site's best view either). ``heading_sigma_deg``:
    how far off the frame's heading may be beyond what the telemetry gives (a hover
    placed by the camera's turns read from the video, ``geo.hover_turns``): the fusion
    widens its gates by it.
    """

    detection: Detection
    observation: Observation
    pose: CameraPose
    outline_px: tuple[np.ndarray, ...] = field(repr=False)
    ray_origin: np.ndarray = field(repr=False)
    ray_direction: np.ndarray = field(repr=False)
    ground_xy: np.ndarray = field(repr=False)
    footprint: object = field(default=None, repr=False)
    area_px: float = 0.0
    truncated: bool = False
    near_edge: bool = False
    no_look: bool = False
    heading_sigma_deg: float = 0.0

    @cached_property
    def footprint_box(self) -> tuple[float, float, float, float] | None:
        """The footprint's bounds and area ``(min x, min y, max x, max y)``, read once (the
        fusion compares each footprint with many others); ``None`` without one."""
        footprint = self.footprint
        if footprint is None or footprint.is_empty:  # type: ignore[attr-defined]
            return None
        return tuple(footprint.bounds)  # type: ignore[attr-defined]

    @cached_property
    def footprint_area(self) -> float:
        return 0.0 if self.footprint_box is None else float(self.footprint.area)  # type: ignore[attr-defined]

    @property
    def frame_index(self) -> int:
        return self.detection.frame_index

    @property
    def weight(self) -> float:
        return vote_weight(self.detection)

    @property
    def model_weight(self) -> float:
        """The model's (refined) score, a reviewer's decision or not: what the flight's
        roof height weighs a sighting by (:func:`geo.fusion.site_heights`)."""
        return float(self.detection.final_score)

    @property
    def reviewed(self) -> bool:
        """A person confirmed the detection (accepted, relabelled, redrew or added it)."""
        return self.detection.confirmed


#: a detection whose mask comes closer than this share of the frame's short side to the
#: border is "near the edge": placed normally, but not chosen as a site's best view
EDGE_MARGIN_FRACTION = 0.03


_Shape = tuple[list[np.ndarray], np.ndarray, float, bool, bool]

#: a mask (or, without one, its box) -> its shape (:func:`_mask_shapes`), or :data:`_NO_SHAPE`
_shapes = LastFew(SHAPE_CACHE_SIZE)
_NO_SHAPE = object()


def _mask_shapes(detections: Sequence[Detection]) -> list[_Shape | None]:
    """Each detection's mask outlines (outer contours, pixels), pixel centroid, area
    (pixels) and whether it is ``truncated`` or ``near_edge`` (:class:`Projected`);
    without a mask, its box. ``None`` for one smaller than :data:`MIN_MASK_AREA_PX`.

    Kept (the last :data:`SHAPE_CACHE_SIZE`): a map is built again after every review
    edit from the same masks. Its arrays are read-only, shared by every build. Those not
    kept are worked out together (:func:`_outlines_and_centroids`)."""
    keys = [(d.mask, _box_of(d)) for d in detections]
    found = [_shapes.get(key) for key in keys]
    todo = [k for k, shape in enumerate(found) if shape is None]
    for k, shape in zip(todo, _outlines_and_centroids([keys[k] for k in todo])):
        if shape is not None:
            for array in (*shape[0], shape[1]):
                array.flags.writeable = False
        found[k] = _NO_SHAPE if shape is None else shape
        _shapes.put(keys[k], found[k])
    return [None if shape is _NO_SHAPE else shape for shape in found]


def _box_of(detection: Detection) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = detection.box_xyxy_px
    return float(x1), float(y1), float(x2), float(y2)


def _outlines_and_centroids(masks_and_boxes: Sequence[tuple[RleMask | None, tuple[float, float, float, float]]],
                            ) -> list[_Shape | None]:
    """:func:`_mask_shapes` of each ``(mask, box)``, not kept: the masks' crops painted
    and their centroids summed from their runs together (``core.masks.mask_crops``,
    ``core.masks.pixel_centres``), then each crop's outer contours traced."""
    import cv2

    out: list[_Shape | None] = [None] * len(masks_and_boxes)
    usable = [(k, mask) for k, (mask, _) in enumerate(masks_and_boxes)
              if mask is not None and mask.area_px >= MIN_MASK_AREA_PX]
    masks = [mask for _, mask in usable]
    for (k, mask), cropped, centroid in zip(usable, mask_crops(masks), pixel_centres(masks)):
        assert cropped is not None  # area_px >= MIN_MASK_AREA_PX
        crop, x0, y0 = cropped
        contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        outlines = [c.reshape(-1, 2).astype(np.float64) + (x0, y0) for c in contours if len(c) >= 3]
        h, w = mask.height_px, mask.width_px
        truncated = bool(x0 == 0 or y0 == 0 or x0 + crop.shape[1] == w or y0 + crop.shape[0] == h)
        gap = min(x0, y0, w - (x0 + crop.shape[1]), h - (y0 + crop.shape[0]))
        near_edge = truncated or gap < EDGE_MARGIN_FRACTION * min(w, h)
        if not outlines:
            x1, y1, x2, y2 = masks_and_boxes[k][1]
            outlines = [np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)]
        out[k] = outlines, np.array(centroid), float(mask.area_px), truncated, near_edge
    for k, (no_mask, (x1, y1, x2, y2)) in enumerate(masks_and_boxes):
        if no_mask is None and (x2 - x1) * (y2 - y1) >= MIN_MASK_AREA_PX:
            box = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)
            out[k] = [box], np.array([(x1 + x2) / 2, (y1 + y2) / 2]), float((x2 - x1) * (y2 - y1)), False, False
    return out


def footprint_on_plane(camera: PinholeCamera, pose: CameraPose, outlines_px, plane_up_m: float = 0.0):
    """The outlines projected onto the plane ``z = plane_up_m``: a shapely geometry in
    local metres (empty when nothing of it meets the plane).

    The last :data:`FOOTPRINT_CACHE_SIZE` are kept, by value: a map is built again after
    every review edit, and the same outlines of the same frames land on the same planes.

    Every ray leaves the camera's centre, so a plane ``h`` metres up, under the camera,
    meets them where the ground does, drawn towards the point under the camera by
    ``(up - h) / up``: a footprint on a roof's plane is the one on the ground, scaled (a
    site placed again at another height moves its sightings' footprints so, without
    projecting their outlines again).
    """
    return footprints_on_plane(camera, [(pose, outlines_px)], plane_up_m)[0]


def footprints_on_plane(camera: PinholeCamera, sightings: Sequence[tuple[CameraPose, Sequence[np.ndarray]]],
                        plane_up_m: float = 0.0) -> list[Any]:
    """:func:`footprint_on_plane` of each ``(pose, outlines_px)`` of ``sightings`` (a
    flight's, or a site's), on one plane: those not kept are projected together
    (:func:`outlines_on_planes`), or, on a roof's plane, scaled together (one array
    operation each: shapely's and numpy's cost per call was most of the time a long
    flight took to place its sightings)."""
    plane_up_m = float(plane_up_m)
    keys = [(pose, _outlines_key(outlines)) for pose, outlines in sightings]
    found: list[Any] = [None] * len(keys)
    direct: list[int] = []
    todo: list[int] = []
    for k, (pose, outlines) in enumerate(keys):
        if not 0.0 < plane_up_m < pose.up_m:  # the ground, or a plane the camera is not above
            direct.append(k)
            continue
        found[k] = _scaled.get((camera, pose, outlines, plane_up_m))
        if found[k] is None:
            todo.append(k)
    for k, footprint in zip(direct, _kept_on_planes(camera, [(*keys[k], plane_up_m) for k in direct])):
        found[k] = footprint
    if todo:
        for k, footprint in zip(todo, _scaled_footprints(camera, [keys[k] for k in todo], plane_up_m)):
            _scaled.put((camera, *keys[k], plane_up_m), footprint)
            found[k] = footprint
    return found


#: an outline by value: its array's shape and bytes (``float64``)
OutlineKey = tuple[tuple[int, ...], bytes]


def _outlines_key(outlines_px: Sequence[np.ndarray]) -> tuple[OutlineKey, ...]:
    """Outlines by value, as the footprints are kept by."""
    return tuple((array.shape, array.tobytes()) for array in
                 (np.ascontiguousarray(outline, dtype=np.float64) for outline in outlines_px))


#: (camera, pose, outlines, plane height) -> the ground footprint scaled onto that plane
_scaled = LastFew(FOOTPRINT_CACHE_SIZE)
#: (camera, pose, outlines, plane height) -> the outlines projected onto that plane
_on_planes = LastFew(FOOTPRINT_CACHE_SIZE)


def _scaled_footprints(camera: PinholeCamera, sightings: Sequence[tuple[CameraPose, tuple[OutlineKey, ...]]],
                       plane_up_m: float) -> list[Any]:
    """The ground footprints of ``sightings`` scaled onto the plane (see
    :func:`footprint_on_plane`) as ``shapely.affinity.scale`` scales one, with its very
    arithmetic, all in one ``shapely.transform``; one the scaling folds into an invalid
    sliver is projected onto the plane as it is."""
    import shapely

    out = _kept_on_planes(camera, [(pose, outlines, 0.0) for pose, outlines in sightings])
    todo = [k for k, ground in enumerate(out) if not ground.is_empty]  # an empty one stays as it is
    if not todo:
        return out
    poses = [sightings[k][0] for k in todo]
    factors = [(pose.up_m - plane_up_m) / pose.up_m for pose in poses]
    counts = shapely.get_num_coordinates(np.array([out[k] for k in todo], dtype=object))
    # scale()'s matrix about the point under each camera: x' = a x + b y + xoff, y' = d x + e y + yoff
    a = np.repeat(np.array(factors, dtype=np.float64), counts)
    xoff = np.repeat(np.array([p.east_m - p.east_m * f for p, f in zip(poses, factors)], dtype=np.float64), counts)
    yoff = np.repeat(np.array([p.north_m - p.north_m * f for p, f in zip(poses, factors)], dtype=np.float64), counts)

    def scale(coords: np.ndarray) -> np.ndarray:
        x, y = coords.T
        return np.stack([a * x + 0.0 * y + xoff, 0.0 * x + a * y + yoff]).T

    scaled = shapely.transform(np.array([out[k] for k in todo], dtype=object), scale)
    valid = shapely.is_valid(scaled)
    # a sliver the rounding of the scaling folds: projected as it is
    folded = [k for k, ok in zip(todo, valid) if not ok]
    projected = dict(zip(folded, _kept_on_planes(camera, [(*sightings[k], plane_up_m) for k in folded])))
    for k, geometry in zip(todo, scaled):
        out[k] = projected.get(k, geometry)
    return out


def _kept_on_planes(camera: PinholeCamera, items: Sequence[tuple[CameraPose, tuple[OutlineKey, ...], float]],
                    ) -> list[Any]:
    """:func:`outlines_on_planes` of each ``(pose, outlines, plane height)``, the last
    :data:`FOOTPRINT_CACHE_SIZE` kept (a map is built again after every review edit from
    the same outlines); those not kept are projected together."""
    found = [_on_planes.get((camera, *item)) for item in items]
    todo = [k for k, footprint in enumerate(found) if footprint is None]
    if todo:
        outlines = [[np.frombuffer(data, dtype=np.float64).reshape(shape) for shape, data in items[k][1]]
                    for k in todo]
        for k, footprint in zip(todo, outlines_on_planes(camera, [items[k][0] for k in todo], outlines,
                                                           [items[k][2] for k in todo])):
            _on_planes.put((camera, *items[k]), footprint)
            found[k] = footprint
    return found


def outlines_on_planes(camera: PinholeCamera, poses: Sequence[CameraPose],
                       outlines_px: Sequence[Sequence[np.ndarray]], planes_up_m: Sequence[float]) -> list[Any]:
    """The outlines ``outlines_px[k]`` seen from ``poses[k]`` projected onto the plane
    ``z = planes_up_m[k]``: for each ``k`` the union of its outlines' polygons (an
    invalid one mended with ``buffer(0)``; an outline with fewer than three pixels whose
    rays meet the plane left out), an empty polygon where none is left.

    Every outline's pixels are cast at once (:func:`core.camera.intersect_grounds`), the
    polygons made, checked and joined by shapely's array functions (one GEOS loop each,
    not a few Python calls per outline): each footprint the very geometry the outlines
    give alone."""
    import shapely
    from shapely.geometry import Polygon

    owner = np.array([k for k, outlines in enumerate(outlines_px) for _ in outlines], dtype=np.intp)
    flat = [outline for outlines in outlines_px for outline in outlines]
    out: list[Any] = [Polygon() for _ in outlines_px]
    if not flat:
        return out
    ground = intersect_grounds(camera, [poses[k] for k in owner], flat, [planes_up_m[k] for k in owner])
    ring_of_row = np.repeat(np.arange(len(flat)), [len(outline) for outline in flat])
    ok = np.isfinite(ground[:, 0])
    usable = np.bincount(ring_of_row[ok], minlength=len(flat)) >= 3  # a ring needs three points
    if not usable.any():
        return out
    rows = ok & usable[ring_of_row]
    ring_number = np.cumsum(usable) - 1  # the usable rings numbered 0, 1, ... in order
    polygons = shapely.polygons(shapely.linearrings(ground[rows, :2], indices=ring_number[ring_of_row[rows]]))
    invalid = ~shapely.is_valid(polygons)
    if invalid.any():  # mended in one GEOS loop, as buffer(0) mends each
        polygons[invalid] = shapely.buffer(polygons[invalid], 0)
    kept = ~shapely.is_empty(polygons)
    pieces = polygons[kept]
    piece_owner = owner[usable][kept]
    if not len(pieces):
        return out
    # one row of pieces per footprint, padded with None (which a union leaves out)
    rank = np.arange(len(pieces)) - np.searchsorted(piece_owner, piece_owner)
    table = np.full((len(outlines_px), int(rank.max()) + 1), None, dtype=object)
    table[piece_owner, rank] = pieces
    owners = np.unique(piece_owner)
    for k, footprint in zip(owners, shapely.union_all(table[owners], axis=1)):
        out[k] = footprint
    return out


def clear_cache() -> None:
    """Forget the kept outlines, footprints and placed detections (tests, benchmarks)."""
    _shapes.clear()
    _on_planes.clear()
    _scaled.clear()
    _placed.clear()
    _ground_xy.clear()


#: where a detection lies (its id, frame, box and mask; the camera, the frame's pose, the
#: local grid, the frame's time) -> the detection placed there, or :data:`_NOT_PLACED`
_placed = LastFew(PLACED_CACHE_SIZE)
_NOT_PLACED = object()


@dataclass(frozen=True)
class Sighting:
    """A detection to place (:func:`place_detections`), with what its frame gives it: the
    camera's pose, the frame's time, and what :class:`Projected` keeps of the frame
    (``no_look``, ``heading_sigma_deg``)."""

    detection: Detection
    pose: CameraPose
    t_s: float
    no_look: bool = False
    heading_sigma_deg: float = 0.0


def place_detection(
    detection: Detection,
    *,
    camera: PinholeCamera,
    pose: CameraPose,
    local: LocalFrame,
    t_s: float,
    max_range_m: float = MAX_RANGE_M,
    terrain: LocalTerrain | None = None,
    no_look: bool = False,
    heading_sigma_deg: float = 0.0,
) -> Projected | None:
    """:func:`place_detections` of one detection."""
    return place_detections([Sighting(detection, pose, t_s, no_look, heading_sigma_deg)], camera=camera, local=local,
                            max_range_m=max_range_m, terrain=terrain)[0]


def place_detections(sightings: Sequence[Sighting], *, camera: PinholeCamera, local: LocalFrame,
                     max_range_m: float = MAX_RANGE_M, terrain: LocalTerrain | None = None) -> list[Projected | None]:
    """:func:`project_detections`, each kept between map builds (the last
    :data:`PLACED_CACHE_SIZE`): the map is built again after every review decision, and a
    decision changes a detection's review, level or score, not where it lies. A detection
    placed before with the same geometry is given back with its review, level and score as
    they are now (what its :class:`Observation` carries), without placing it again. On a
    terrain (a DEM), where a roof damage's level decides the plane its ray is taken to,
    every detection is placed anew. ``no_look`` and ``heading_sigma_deg``: what the
    frame it was seen in adds (:class:`Projected`), kept with it."""
    keys = None if terrain is not None else [
        (s.detection.id, s.detection.frame_index, s.detection.box_xyxy_px, s.detection.mask, camera, s.pose, local.key,
         float(s.t_s), float(max_range_m), bool(s.no_look), float(s.heading_sigma_deg)) for s in sightings]
    out: list[Projected | None] = [None] * len(sightings)
    todo = []
    for k, sighting in enumerate(sightings):
        kept = None if keys is None else _placed.get(keys[k])
        if kept is None:
            todo.append(k)
        elif kept is not _NOT_PLACED:
            if kept.detection == sighting.detection:  # the very object given before: the fusion keeps its sites
                out[k] = kept
                continue
            out[k] = _with_review_of(kept, sighting.detection)
            _placed.put(keys[k], out[k])
    anew = project_detections([sightings[k].detection for k in todo], camera=camera, local=local,
                              poses=[sightings[k].pose for k in todo], times_s=[sightings[k].t_s for k in todo],
                              max_range_m=max_range_m, terrain=terrain)
    for k, placed in zip(todo, anew):
        sighting = sightings[k]
        if placed is not None and (sighting.no_look or sighting.heading_sigma_deg):
            placed = replace(placed, no_look=sighting.no_look, heading_sigma_deg=sighting.heading_sigma_deg)
        if keys is not None:
            _placed.put(keys[k], _NOT_PLACED if placed is None else placed)
        out[k] = placed
    return out


def _with_review_of(placed: Projected, detection: Detection) -> Projected:
    """``placed`` (the same detection, placed before) as ``detection`` is reviewed now."""
    observation = replace(placed.observation, detection_id=detection.id, level=detection.level,
                          score=float(detection.final_score), review=detection.review, origin=detection.origin)
    return replace(placed, detection=detection, observation=observation)


def point_on_plane(origin: np.ndarray, direction: np.ndarray, plane_up_m: float) -> np.ndarray | None:
    """Where a ray meets ``z = plane_up_m`` (in front of its origin), else ``None``."""
    if direction[2] >= -1e-6 or origin[2] <= plane_up_m:
        return None
    t = (origin[2] - plane_up_m) / -direction[2]
    return origin + t * direction


def project_detection(
    detection: Detection,
    *,
    camera: PinholeCamera,
    pose: CameraPose,
    local: LocalFrame,
    t_s: float,
    max_range_m: float = MAX_RANGE_M,
    terrain: LocalTerrain | None = None,
) -> Projected | None:
    """:func:`project_detections` of one detection."""
    return project_detections([detection], camera=camera, poses=[pose], local=local, times_s=[t_s],
                              max_range_m=max_range_m, terrain=terrain)[0]


def project_detections(detections: Sequence[Detection], *, camera: PinholeCamera, poses: Sequence[CameraPose],
                       local: LocalFrame, times_s: Sequence[float], max_range_m: float = MAX_RANGE_M,
                       terrain: LocalTerrain | None = None) -> list[Projected | None]:
    """Place each detection (seen from ``poses[k]`` at ``times_s[k]``) on the ground plane;
    ``None`` for one that cannot be (its centroid ray at or above the horizon, out of
    range, or smaller than ``MIN_MASK_AREA_PX``). Off a terrain the centroids' rays are
    cast together, and the sightings converted to lon/lat together (each the same numbers
    as alone): a long flight places tens of thousands.

    With ``terrain`` the ground is the terrain where the centroid's ray meets it (for
    roof damage, where it meets the terrain raised by :data:`TERRAIN_ROOF_M`, near the
    house): the pose is lowered by the terrain's height there, so the plane ``z = 0`` of
    everything downstream (footprints, roof planes, triangulation) is the local ground.
    Rays that leave the terrain fall back to the take-off plane."""
    shapes = _mask_shapes(detections)
    todo = [k for k, shape in enumerate(shapes) if shape is not None]
    centroids = [shapes[k][1] for k in todo]
    if terrain is None:
        todo_poses = [poses[k] for k in todo]
        directions = pixel_rays_from(camera, todo_poses, np.array(centroids).reshape(-1, 2))
        placings = list(zip(directions, todo_poses, ground_points_from(todo_poses, directions)))
    else:
        placings = [_centroid_on_ground(detections[k], centroid, camera=camera, pose=poses[k], terrain=terrain)
                    for k, centroid in zip(todo, centroids)]
    placed = [(k, direction, pose, ground) for k, (direction, pose, ground) in zip(todo, placings)
              if np.isfinite(ground[0])
              and not np.hypot(ground[0] - pose.east_m, ground[1] - pose.north_m) > max_range_m]
    observations = make_observations([detections[k] for k, *_ in placed], local, [times_s[k] for k, *_ in placed],
                                     np.array([ground[:2] for *_, ground in placed]).reshape(-1, 2))
    # every footprint on the ground at once (most of a long flight's placing, one by one)
    outlines_of = {k: shape[0] for k, shape in enumerate(shapes) if shape is not None}
    footprints = footprints_on_plane(camera, [(pose, outlines_of[k]) for k, _, pose, _ in placed])
    out: list[Projected | None] = [None] * len(detections)
    for (k, direction, pose, ground), observation, footprint in zip(placed, observations, footprints):
        outlines, _, area, truncated, near_edge = shapes[k]
        out[k] = Projected(
            detection=detections[k],
            observation=observation,
            pose=pose,
            outline_px=tuple(outlines),
            ray_origin=pose.position,
            ray_direction=direction,
            ground_xy=ground[:2],
            footprint=footprint,
            area_px=area,
            truncated=truncated,
            near_edge=near_edge,
        )
    return out


def _centroid_on_ground(detection: Detection, centroid: np.ndarray, *, camera: PinholeCamera, pose: CameraPose,
                        terrain: LocalTerrain | None) -> tuple[np.ndarray, CameraPose, np.ndarray]:
    """The ray through the mask's ``centroid``, the pose it is placed from (lowered by the
    terrain's height where the ray meets it) and where it meets the ground (NaN where it
    does not)."""
    direction = pixel_rays(camera, pose, centroid[None, :])[0]
    if terrain is not None:
        # the ground under the damage: for roof damage, where the ray meets the terrain
        # raised by a roof's height (near the house), not the ground behind it
        lift = 0.0 if detection.level == DamageLevel.DEBRIS else TERRAIN_ROOF_M
        hit = terrain.intersect(pose.position, direction[None, :], above_m=lift)[0]
        if np.isfinite(hit[2]):
            pose = replace(pose, up_m=pose.up_m - (float(hit[2]) - lift))
    return direction, pose, ground_points(pose, direction[None, :])[0]  # the pose's rotation is the ray's


#: where a detection lies (its box and mask, the camera, the frame's pose, the range) ->
#: the ground point :func:`placed_ground_xy` gives (read-only), or :data:`_NOT_PLACED`
_ground_xy = LastFew(PLACED_CACHE_SIZE)


def placed_ground_xy(detection: Detection, *, camera: PinholeCamera, pose: CameraPose,
                     terrain: LocalTerrain | None = None, max_range_m: float = MAX_RANGE_M) -> np.ndarray | None:
    """Where :func:`project_detection` places ``detection`` (local east, north metres),
    without building the rest of it; ``None`` where it places none (see
    :func:`placed_grounds_xy`)."""
    return placed_grounds_xy([detection], [pose], camera=camera, terrain=terrain, max_range_m=max_range_m)[0]


def placed_grounds_xy(detections: Sequence[Detection], poses: Sequence[CameraPose], *, camera: PinholeCamera,
                      terrain: LocalTerrain | None = None,
                      max_range_m: float = MAX_RANGE_M) -> list[np.ndarray | None]:
    """:func:`placed_ground_xy` of each detection, seen from ``poses[k]``: its mask's
    centroid (:func:`mask_centroids`, the masks' runs read together) on the ground. Kept
    between map builds (off a terrain, read-only): the area of interest places a long
    flight's far detections at any score at every build (``geo.reach``), thousands the
    fusion never outlines."""
    keys = None if terrain is not None else [
        (d.box_xyxy_px, d.mask, camera, pose, float(max_range_m)) for d, pose in zip(detections, poses)]
    found: list[Any] = [None] * len(detections) if keys is None else [_ground_xy.get(key) for key in keys]
    todo = [k for k, kept in enumerate(found) if kept is None]
    centroids = mask_centroids([detections[k] for k in todo])
    todo_poses = [poses[k] for k in todo]
    if terrain is None:  # every ray cast at once (as one by one, each the same numbers)
        grounds = ground_points_from(todo_poses, pixel_rays_from(camera, todo_poses, np.array(
            [(np.nan, np.nan) if c is None else c for c in centroids]).reshape(-1, 2)))
    else:
        grounds = [None if c is None else _centroid_on_ground(detections[k], c, camera=camera, pose=poses[k],
                                                               terrain=terrain)[2] for k, c in zip(todo, centroids)]
    for k, pose, centroid, ground in zip(todo, todo_poses, centroids, grounds):
        placed = None
        if centroid is not None and np.isfinite(ground[0]) and float(
                np.hypot(ground[0] - pose.east_m, ground[1] - pose.north_m)) <= max_range_m:
            placed = np.asarray(ground[:2], dtype=np.float64)
        if keys is not None:
            if placed is not None:
                placed.flags.writeable = False
            _ground_xy.put(keys[k], _NOT_PLACED if placed is None else placed)
        found[k] = _NOT_PLACED if placed is None else placed
    return [None if kept is _NOT_PLACED else kept for kept in found]


def mask_centroids(detections: Sequence[Detection]) -> list[np.ndarray | None]:
    """The centroid :func:`project_detection` places each detection by (its mask's, else
    its box's; ``None`` for one too small to place), the masks' all read at once from
    their runs (``core.masks.pixel_centres``), without decoding or outlining one."""
    found: list[np.ndarray | None] = [None] * len(detections)
    masked = [k for k, d in enumerate(detections) if d.mask is not None and d.mask.area_px >= MIN_MASK_AREA_PX]
    for k, centre in zip(masked, pixel_centres([detections[k].mask for k in masked])):
        found[k] = centre
    boxed = [k for k, d in enumerate(detections) if d.mask is None]
    for k, shape in zip(boxed, _mask_shapes([detections[k] for k in boxed])):  # boxes: nothing to decode
        found[k] = None if shape is None else shape[1]
    return found


def placed_distance_m(detection: Detection, *, camera: PinholeCamera, pose: CameraPose,
                      terrain: LocalTerrain | None = None, max_range_m: float = MAX_RANGE_M) -> float | None:
    """How far from the point under the drone (metres on the ground) :func:`project_detection`
    places ``detection``, without building the rest of it; ``None`` where it places none."""
    ground = placed_ground_xy(detection, camera=camera, pose=pose, terrain=terrain, max_range_m=max_range_m)
    return None if ground is None else float(np.hypot(ground[0] - pose.east_m, ground[1] - pose.north_m))


def make_observation(detection: Detection, local: LocalFrame, t_s: float, xy: np.ndarray) -> Observation:
    """The detection placed at ``xy`` (local metres), without a ``footprint_lonlat``: its
    outline stays in local metres on the sighting (:attr:`Projected.footprint`). The map
    places its sightings again at every build (a review decision, a threshold step), and
    only an export writes the outlines in lon/lat (``geo.export.records``, with
    :func:`polygon_lonlat`): converting them all at each build cost every rebuild time
    and memory for nothing."""
    return make_observations([detection], local, [t_s], np.asarray(xy, dtype=np.float64).reshape(1, 2))[0]


def make_observations(detections: Sequence[Detection], local: LocalFrame, times_s: Sequence[float],
                      xy: np.ndarray) -> list[Observation]:
    """:func:`make_observation` of each detection at its row of ``xy`` (``float[N, 2]``,
    local metres), converted to lon/lat in one call (a site's sightings placed on its
    plane)."""
    lon, lat = local.to_lonlat(xy[:, 0], xy[:, 1])
    easting, northing = local.to_utm(xy[:, 0], xy[:, 1])
    return [
        Observation(
            detection_id=detection.id,
            frame_index=detection.frame_index,
            t_s=float(t_s),
            level=detection.level,
            score=float(detection.final_score),
            lon_deg=float(lon[k]),
            lat_deg=float(lat[k]),
            easting_m=float(easting[k]),
            northing_m=float(northing[k]),
            crs=local.crs,
            review=detection.review,
            origin=detection.origin,
        )
        for k, (detection, t_s) in enumerate(zip(detections, times_s))
    ]


def polygon_lonlat(geometry, local: LocalFrame, *, simplify_m: float = 0.05) -> tuple[tuple[float, float], ...]:
    """The exterior ring of the largest polygon of ``geometry`` (local metres) as
    ``(lon, lat)`` pairs, closed; ``()`` when empty."""
    if geometry is None or geometry.is_empty:
        return ()
    polygons = list(getattr(geometry, "geoms", [geometry]))
    polygons = [p for p in polygons if p.geom_type == "Polygon" and not p.is_empty]
    if not polygons:
        return ()
    largest = max(polygons, key=lambda p: p.area)
    if simplify_m:
        largest = largest.simplify(simplify_m, preserve_topology=True)
    xy = np.asarray(largest.exterior.coords)
    lon, lat = local.to_lonlat(xy[:, 0], xy[:, 1])
    return tuple((float(a), float(b)) for a, b in zip(lon, lat))


def on_plane(projected: Projected, camera: PinholeCamera, local: LocalFrame, plane_up_m: float) -> Projected:
    """The same observation re-placed on the plane ``z = plane_up_m`` (a roof's)."""
    return on_planes([projected], camera, local, plane_up_m)[0]


def on_planes(members: Sequence[Projected], camera: PinholeCamera, local: LocalFrame,
              plane_up_m: float) -> list[Projected]:
    """:func:`on_plane` of each of a site's sightings, their footprints scaled and their
    positions converted to lon/lat together (:func:`footprints_on_plane`,
    :func:`make_observations`): a long flight's roof sites hold thousands of sightings."""
    found = ((k, point_on_plane(m.ray_origin, m.ray_direction, plane_up_m)) for k, m in enumerate(members))
    moved = [(k, point[:2]) for k, point in found if point is not None]
    placed = list(members)
    if not moved:
        return placed
    footprints = footprints_on_plane(camera, [(members[k].pose, members[k].outline_px) for k, _ in moved], plane_up_m)
    observations = make_observations([members[k].detection for k, _ in moved], local,
                                     [members[k].observation.t_s for k, _ in moved],
                                     np.array([xy for _, xy in moved], dtype=np.float64))
    for (k, xy), footprint, observation in zip(moved, footprints, observations):
        placed[k] = replace(members[k], observation=observation, ground_xy=xy, footprint=footprint)
    return placed
