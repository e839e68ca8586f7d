"""What the flight looked at: per building footprint (or grid cell), how often and how well.

For every analysed frame with a camera pose, each unit's outline (a footprint raised to
its roof height, or a grid cell on the ground) is projected into the image. A frame
*saw* the unit when part of it lands in the image; it gave a *good view* when at least
``min_in_view`` of the outline is in the image, the ground resolution there is at most
``max_gsd_m`` metres per pixel and the camera looks down on it at least
``min_view_angle_deg`` below the horizon. A unit is *seen well* with ``min_good_views``
good views, counted as distinct views (:mod:`geo.views`, the map's: the frames of a
hover are one look, however many). Seen well and nothing found means "No visible damage"; not seen
well means "Not assessed".

Flat geometry: the camera pose, the camera model and the outlines; nothing hides a
building behind another (occlusion is not modelled).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from core.camera import CameraPose, PinholeCamera, project_points
from core.last_few import KeptByMembers
from geo.reach import FILMED_RANGE_M, REACH_FROM_M, REACH_MARGIN_M, ReachWedge, farthest_reach_m, wedge_towards
from geo.views import distinct_views

#: Height assumed for a footprint whose file gives none (a one- or two-storey house).
DEFAULT_ROOF_M = 4.0


@dataclass(frozen=True)
class CoverageSettings:
    """When a view counts as good (see the module docstring)."""

    min_in_view: float = 0.5
    max_gsd_m: float = 0.25
    min_view_angle_deg: float = 15.0
    min_good_views: int = 2
    min_area_px: float = 16.0
    roof_in_view: float = 0.95


@dataclass(frozen=True)
class UnitCoverage:
    """How one unit was seen.

    ``frames``: analysed frames that saw part of it; ``good_views``: the distinct views
    among those that gave a good view; ``nearest_m``: the smallest camera-to-centre
    distance (3-D, metres) of a frame that saw it; ``steepest_deg``: the largest angle below the horizon it was seen at
    (90 = straight down); ``roof_in_view``: one frame held the whole outline
    (``roof_in_view`` of it) within the resolution bound; ``best_frame``: the good view
    (else the sighting) at the finest ground resolution.
    """

    frames: int = 0
    good_views: int = 0
    nearest_m: float | None = None
    steepest_deg: float | None = None
    roof_in_view: bool = False
    best_frame: int | None = None
    best_gsd_m: float | None = None
    seen_well: bool = False

    @property
    def status(self) -> str:
        """``"seen well"``, ``"glimpsed"`` or ``"not seen"``."""
        return "seen well" if self.seen_well else ("glimpsed" if self.frames else "not seen")


def _image_box(camera: PinholeCamera):
    from shapely.geometry import box

    return box(0.0, 0.0, float(camera.width_px), float(camera.height_px))


def unit_coverage(
    outlines_local: Sequence[object],
    heights_m: Sequence[float],
    camera: PinholeCamera,
    poses: Mapping[int, CameraPose],
    settings: CoverageSettings | None = None,
    views: Mapping[int, int] | None = None,
) -> list[UnitCoverage]:
    """Coverage of shapely polygons in local metres (``heights_m``: the plane each is
    raised to) by the frames ``poses`` (frame index -> pose in the same local frame);
    ``views``: their distinct views (a map's :attr:`geo.mapping.DamageMap.views`; by
    default :func:`geo.views.distinct_views` of ``poses``)."""
    import shapely

    settings = settings or CoverageSettings()
    n = len(outlines_local)
    if n == 0:
        return []
    image = _image_box(camera)
    rings = [np.asarray(p.exterior.coords)[:-1, :2] for p in outlines_local]
    heights = np.asarray(heights_m, dtype=np.float64)
    counts = np.array([len(r) for r in rings])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    owner = np.repeat(np.arange(n), counts)  # each vertex's unit
    vertices = np.concatenate([np.column_stack([r, np.full(len(r), h)]) for r, h in zip(rings, heights)])
    centres = np.array([[p.centroid.x, p.centroid.y, h] for p, h in zip(outlines_local, heights)])
    radius = np.array([math.sqrt(p.area / math.pi) + 1.0 for p in outlines_local])

    frames = np.zeros(n, dtype=int)
    good: list[set[int]] = [set() for _ in range(n)]
    views = views if views is not None else distinct_views(poses)
    nearest = np.full(n, np.inf)
    steepest = np.full(n, -np.inf)
    roof = np.zeros(n, dtype=bool)
    best_frame = np.full(n, -1)
    best_gsd = np.full(n, np.inf)
    best_is_good = np.zeros(n, dtype=bool)
    focal = camera.focal_px
    w, h = camera.width_px, camera.height_px
    for index in sorted(poses):
        pose = poses[index]
        offset = centres - pose.position
        distance = np.linalg.norm(offset, axis=1)
        uv_c, front_c = project_points(camera, pose, centres)
        # Cheap cull: the centre (plus the unit's size in pixels) is near the image.
        slack = radius * focal / np.maximum(distance, 1e-6)
        near = (front_c & (uv_c[:, 0] > -slack) & (uv_c[:, 0] < w + slack)
                & (uv_c[:, 1] > -slack) & (uv_c[:, 1] < h + slack))
        if not near.any():
            continue
        uv, front = project_points(camera, pose, vertices)
        drawn = near & np.logical_and.reduceat(front, starts)  # near, and every vertex in front of the camera
        units = np.flatnonzero(drawn)
        if not units.size:
            continue
        areas, insides = _image_areas(uv[drawn[owner]], counts[units], image)
        for k, area, inside in zip(units, areas, insides):
            if area <= 0 or inside < settings.min_area_px:
                continue
            fraction = inside / area
            gsd = float(distance[k] / focal)
            angle = math.degrees(math.asin(max(-1.0, min(1.0, -offset[k, 2] / max(distance[k], 1e-6)))))
            frames[k] += 1
            nearest[k] = min(nearest[k], distance[k])
            steepest[k] = max(steepest[k], angle)
            sharp = gsd <= settings.max_gsd_m
            is_good = fraction >= settings.min_in_view and sharp and angle >= settings.min_view_angle_deg
            if is_good:
                good[k].add(views[index])
            if fraction >= settings.roof_in_view and sharp:
                roof[k] = True
            if (is_good, -gsd) > (bool(best_is_good[k]), -best_gsd[k]):
                best_frame[k], best_gsd[k], best_is_good[k] = index, gsd, is_good
    out = []
    for k in range(n):
        seen = frames[k] > 0
        out.append(UnitCoverage(
            frames=int(frames[k]),
            good_views=len(good[k]),
            nearest_m=round(float(nearest[k]), 1) if seen else None,
            steepest_deg=round(float(steepest[k]), 1) if seen else None,
            roof_in_view=bool(roof[k]),
            best_frame=int(best_frame[k]) if best_frame[k] >= 0 else None,
            best_gsd_m=round(float(best_gsd[k]), 3) if np.isfinite(best_gsd[k]) else None,
            seen_well=len(good[k]) >= settings.min_good_views,
        ))
    return out


def _image_areas(uv: np.ndarray, counts: np.ndarray, image: object) -> tuple[np.ndarray, np.ndarray]:
    """The area (square pixels) of each outline projected into the image, and of its part
    inside ``image``: ``uv`` holds the outlines' vertices one after the other, ``counts``
    how many each has. An outline that crosses itself is made valid first."""
    import shapely

    rings = shapely.linearrings(uv, indices=np.repeat(np.arange(len(counts)), counts))
    projected = shapely.polygons(rings)
    invalid = ~shapely.is_valid(projected)
    if invalid.any():
        projected[invalid] = shapely.make_valid(projected[invalid])
    return shapely.area(projected), shapely.area(shapely.intersection(projected, image))


# ----------------------------------------------------------------------------- units
@dataclass(frozen=True, eq=False)
class CoverageLayer:
    """Coverage of every unit: ``kind`` is ``"building"`` or ``"cell"``; ``ids[k]``,
    ``polygons[k]`` (WGS84) and ``coverage[k]`` describe unit ``k``."""

    kind: str
    ids: tuple[str, ...]
    polygons: tuple[object, ...]
    coverage: tuple[UnitCoverage, ...]
    settings: CoverageSettings
    cell_m: float | None = None

    def by_id(self) -> dict[str, UnitCoverage]:
        return dict(zip(self.ids, self.coverage))

    def counts(self) -> dict[str, int]:
        result = {"seen well": 0, "glimpsed": 0, "not seen": 0}
        for c in self.coverage:
            result[c.status] += 1
        return result


def to_local_polygon(polygon_lonlat, local):  # noqa: ANN001, ANN201 - shapely in, shapely out
    from shapely.geometry import Polygon

    east, north = local.to_local(*polygon_lonlat.exterior.xy)
    return Polygon(zip(east, north))


def footprint_coverage(damage_map, footprints, settings: CoverageSettings | None = None,  # noqa: ANN001
                       *, default_roof_m: float = DEFAULT_ROOF_M) -> CoverageLayer:
    """Coverage of each footprint (:class:`geo.footprints.Footprints`) by the map's
    analysed frames, each raised to its height (or ``default_roof_m``)."""
    settings = settings or CoverageSettings()
    local = damage_map.local
    outlines = [to_local_polygon(p, local) for p in footprints.polygons]
    heights = [h if h is not None else default_roof_m for h in footprints.heights_m]
    result = unit_coverage(outlines, heights, damage_map.camera, damage_map.looking_poses, settings,
                           damage_map.views)
    return CoverageLayer("building", tuple(footprints.ids), tuple(footprints.polygons), tuple(result), settings)


def grid_coverage(damage_map, settings: CoverageSettings | None = None, *, cell_m: float = 25.0,  # noqa: ANN001
                  max_range_m: float = FILMED_RANGE_M) -> CoverageLayer:
    """Coverage of square ground cells (``cell_m``) over what the camera footprints
    reached (up to ``max_range_m`` from the drone), for maps without footprints."""
    import shapely
    from shapely.geometry import Polygon, box

    settings = settings or CoverageSettings()
    local = damage_map.local
    flown = [footprint_local(damage_map, t, max_range_m=max_range_m) for t in _frame_times(damage_map, 200)]
    flown = [f for f in flown if f is not None and not f.is_empty]
    if not flown:
        return CoverageLayer("cell", (), (), (), settings, cell_m)
    area = shapely.union_all(flown)
    west, south, east, north = area.bounds
    x0, y0 = math.floor(west / cell_m) * cell_m, math.floor(south / cell_m) * cell_m
    cells = []
    for x in np.arange(x0, east, cell_m):
        for y in np.arange(y0, north, cell_m):
            cell = box(x, y, x + cell_m, y + cell_m)
            if cell.intersects(area):
                cells.append(cell)
    if len(cells) > 20_000:  # a very long flight: coarser cells
        return grid_coverage(damage_map, settings, cell_m=cell_m * 2, max_range_m=max_range_m)
    result = unit_coverage(cells, [0.0] * len(cells), damage_map.camera, damage_map.looking_poses, settings,
                           damage_map.views)
    polygons = []
    for cell in cells:
        lon, lat = local.to_lonlat(*cell.exterior.xy)
        from shapely.geometry.polygon import orient

        polygons.append(orient(Polygon(zip(lon, lat)), 1.0))
    ids = tuple(f"{int(round(c.bounds[0]))}_{int(round(c.bounds[1]))}" for c in cells)
    return CoverageLayer("cell", ids, tuple(polygons), tuple(result), settings, cell_m)


def _frame_times(damage_map, limit: int) -> list[float]:  # noqa: ANN001
    times = [damage_map.frame_poses.times_s[i] for i in sorted(damage_map.poses)]
    if len(times) > limit:
        times = [times[int(k)] for k in np.linspace(0, len(times) - 1, limit)]
    return times


def footprint_local(damage_map, t_s: float, *, max_range_m: float = FILMED_RANGE_M):  # noqa: ANN001, ANN201
    """The ground the camera saw at ``t_s`` (local metres), or ``None``."""
    from shapely.geometry import Polygon

    ring = damage_map.camera_footprint_at(t_s, max_range_m=max_range_m)
    if len(ring) < 4:
        return None
    lon, lat = zip(*ring)
    east, north = damage_map.local.to_local(list(lon), list(lat))
    polygon = Polygon(zip(east, north))
    return polygon if polygon.is_valid else polygon.buffer(0)


def detection_reach(damage_map) -> dict[int, tuple[ReachWedge, ...]]:  # noqa: ANN001
    """Per analysed frame, the ground it filmed past the usual range: the wedges its
    detections open, any the run holds, whatever its score
    (:attr:`geo.mapping.DamageMap.detection_reach`), and one towards each sighting of a
    site on the map that lies past them (a map built without the run's detections). The
    frame saw at least that far, so every site lies inside the area filmed, and the area
    is the same at any score threshold."""
    reach = {index: list(wedges) for index, wedges in damage_map.detection_reach.items()}
    for fused in damage_map.fused:
        for member in fused.members:
            pose = member.pose
            east, north = float(member.ground_xy[0] - pose.east_m), float(member.ground_xy[1] - pose.north_m)
            wedges = reach.setdefault(member.frame_index, [])
            if np.hypot(east, north) > REACH_FROM_M and not any(w.holds(east, north) for w in wedges):
                wedges.append(wedge_towards(member.detection.box_xyxy_px, pose, damage_map.camera, member.ground_xy))
    return {index: tuple(wedges) for index, wedges in reach.items() if wedges}


def camera_footprint_records(damage_map, *, limit: int = 300,  # noqa: ANN001
                             max_range_m: float = FILMED_RANGE_M) -> list[tuple[dict, object]]:
    """The ground each analysed frame saw (at most ``limit`` frames, evenly spaced),
    as ``(properties, WGS84 polygon)``: ``frame``, ``time_s``. A footprint reaches
    ``max_range_m`` from the drone, and past it within the wedges of the frame's
    detections at any score (:func:`detection_reach`). Each frame's footprint is kept
    with the map while its sites are the same: an export asks for them three times (the
    area filmed, the buildings read around it, the camera footprints layer), and a long
    flight's frames nearly all reach past the usual range."""
    from shapely.geometry.polygon import orient

    kept = _kept_for(damage_map)
    reach = _reach(damage_map, kept)
    records = []
    for index, t, pose in _chosen_frames(damage_map, reach, limit, max_range_m):
        key = (index, float(max_range_m))
        if key not in kept.footprints:
            parts = kept.parts.pop(key) if key in kept.parts else _footprint_parts(damage_map, pose, reach.get(index, ()),
                                                                                  max_range_m)
            polygon = _joined(parts)
            kept.footprints[key] = None if polygon is None else orient(polygon, 1.0)
        polygon = kept.footprints[key]
        if polygon is None:
            continue
        records.append(({"frame": int(index), "time_s": round(float(t), 3)}, polygon))
    return records


def _reach(damage_map, kept: _KeptFootprints) -> dict[int, tuple[ReachWedge, ...]]:  # noqa: ANN001
    """The map's :func:`detection_reach`, kept with its footprints."""
    if kept.reach is None:
        kept.reach = detection_reach(damage_map)
    return kept.reach


def _chosen_frames(damage_map, reach: Mapping[int, Sequence[ReachWedge]], limit: int,  # noqa: ANN001
                   max_range_m: float) -> list[tuple[int, float, CameraPose | None]]:
    """``(frame, time, pose)`` of the analysed frames whose footprints are drawn: at most
    ``limit`` evenly spaced, and every frame that saw damage past ``max_range_m``."""
    indices = sorted(damage_map.poses)
    if len(indices) > limit:
        far = {index for index, metres in farthest_reach_m(reach).items() if metres > max_range_m}
        indices = sorted({indices[int(k)] for k in np.linspace(0, len(indices) - 1, limit)}
                         | (far & set(damage_map.poses)))
    times = [damage_map.frame_poses.times_s[index] for index in indices]
    return list(zip(indices, times, damage_map.poses_at(times)))


@dataclass(eq=False)
class _KeptFootprints:
    """What :func:`camera_footprint_records` worked out for one map: the :func:`detection_reach`
    of its sites, each frame's footprint (``(frame, range)`` -> WGS84 polygon, or
    ``None`` for none), and the bounds of the area flown."""

    reach: dict[int, tuple[ReachWedge, ...]] | None = None
    footprints: dict[tuple[int, float], object] = field(default_factory=dict)
    #: the parts of footprints :func:`flown_bounds_lonlat` bounded and no polygon is made of yet
    parts: dict[tuple[int, float], _Parts] = field(default_factory=dict)
    #: :func:`flown_bounds_lonlat` by its ``limit``
    bounds: dict[int, tuple[float, float, float, float] | None] = field(default_factory=dict)


#: by what a map's footprints are worked out from (its sites, frames, track, camera and
#: detections' reach, each the very object): a titled copy of a map
#: (``dataclasses.replace``), as an export and its relief package each make, shares them
_KEPT = KeptByMembers(4)


def clear_cache() -> None:
    """Forget the footprints kept with every map (tests, benchmarks)."""
    _KEPT.clear()


def _kept_for(damage_map) -> _KeptFootprints:  # noqa: ANN001
    """The footprints kept for ``damage_map`` or a copy of it; none while its sites are
    others than they were (the reach follows its sightings)."""
    kept: _KeptFootprints = _KEPT.get_or_compute((damage_map.fused, damage_map.frame_poses, damage_map.aligned,
                                               damage_map.detection_reach, damage_map.camera), (), _KeptFootprints)
    return kept


#: a footprint as :func:`_footprint_parts` gives it: the footprint's polygon and its
#: wedges' polygons (``None`` for none), or ``None`` for no footprint
_Parts = Optional[tuple[Any, Optional[np.ndarray]]]


def _footprint_parts(damage_map, pose: CameraPose | None, wedges: Sequence[ReachWedge],  # noqa: ANN001
                     max_range_m: float) -> _Parts:
    """The camera footprint of ``pose`` (WGS84) cut at ``max_range_m``, and the polygons
    of the ``wedges`` reaching past it (``None`` for none), as they come: neither made
    valid nor joined (:func:`_joined` joins them); ``None`` without a footprint."""
    import shapely
    from shapely.geometry import Polygon

    if pose is None:
        return None
    ring = damage_map.camera_footprint_of(pose, max_range_m=max_range_m)
    if len(ring) < 4:
        return None
    wedges = [w for w in wedges if w.far_m > max_range_m]
    if not wedges:
        return Polygon(ring), None
    # each from inside the cut footprint out past the detection, all at once
    outlines = [wedge.outline(near_m=max_range_m - REACH_MARGIN_M) for wedge in wedges]
    offsets = np.concatenate(outlines)
    lon, lat = damage_map.local.to_lonlat(offsets[:, 0] + pose.east_m, offsets[:, 1] + pose.north_m)
    rings = shapely.linearrings(np.column_stack([lon, lat]),
                                indices=np.repeat(np.arange(len(outlines)), [len(o) for o in outlines]))
    return Polygon(ring), shapely.polygons(rings)


def _joined(parts: _Parts) -> Any:
    """The footprint of :func:`_footprint_parts` joined by its wedges; ``None`` for none
    (or not one polygon)."""
    import shapely

    if parts is None:
        return None
    polygon, wedge_polygons = parts
    if not polygon.is_valid:
        polygon = polygon.buffer(0)
    if wedge_polygons is not None and not polygon.is_empty:
        polygon = shapely.union_all([polygon, *shapely.buffer(wedge_polygons, 0)])
        if polygon.geom_type != "Polygon":  # a wedge beside a footprint cut short: joined over the gap
            polygon = polygon.convex_hull
    if polygon.is_empty or polygon.geom_type != "Polygon":
        return None
    return polygon


def _bounds_of_joined(parts: _Parts) -> tuple[float, float, float, float] | None:
    """The bounds of :func:`_joined`, without joining the parts (two thirds of a
    footprint's time): a union's bounds are its parts', and the convex hull that joins
    parts apart has the same. Parts that are not valid polygons (made valid, they may
    lose a lobe) are joined."""
    import shapely

    if parts is None:
        return None
    polygon, wedge_polygons = parts
    pieces = np.array([polygon, *(() if wedge_polygons is None else wedge_polygons)], dtype=object)
    if polygon.is_empty or not shapely.is_valid(pieces).all():
        joined = _joined(parts)
        if joined is None:
            return None
        west, south, east, north = joined.bounds
        return float(west), float(south), float(east), float(north)
    corners = shapely.bounds(pieces)
    west, south = corners[:, :2].min(axis=0)
    east, north = corners[:, 2:].max(axis=0)
    return float(west), float(south), float(east), float(north)


def flown_bounds_lonlat(damage_map, *, limit: int = 100) -> tuple[float, float, float, float] | None:  # noqa: ANN001
    """(west, south, east, north) of the ground the analysed frames saw, ``None`` if none.

    The bounds of the footprints' union are those of the footprints taken one by one, and
    a footprint's those of its parts (:func:`_bounds_of_joined`), so nothing is joined:
    on a long flight, whose frames nearly all reach past the usual range, the app's map
    waited seconds for the footprints of the buildings it grades. A footprint already
    made (:func:`camera_footprint_records`) gives its own bounds; the bounds are kept with
    the map's footprints, as an export asks for them four times (the area graded, the
    buildings read around it, for its map and its relief package).

    Across 180° the bounds are continuous (:func:`geo.antimeridian.bounds_around`: east
    past 180), the area flown and not the world: a footprint with corners on either side
    is bounded from its corners taken next to the flight."""
    import shapely

    from geo.antimeridian import bounds_around, geometry_bounds

    kept = _kept_for(damage_map)
    if limit not in kept.bounds:
        reach = _reach(damage_map, kept)
        centre = float(np.asarray(damage_map.local.to_lonlat(0.0, 0.0)[0]))
        boxes = []
        for index, _t, pose in _chosen_frames(damage_map, reach, limit, FILMED_RANGE_M):
            key = (index, float(FILMED_RANGE_M))
            if key in kept.footprints:
                polygon = kept.footprints[key]
                pieces: list[Any] = [] if polygon is None else [polygon]
                box = None if polygon is None else shapely.bounds(polygon)
            else:
                if key not in kept.parts:  # kept for camera_footprint_records, which joins them
                    kept.parts[key] = _footprint_parts(damage_map, pose, reach.get(index, ()), FILMED_RANGE_M)
                parts = kept.parts[key]
                pieces = [] if parts is None else [parts[0], *(() if parts[1] is None else parts[1])]
                box = _bounds_of_joined(parts)
            if box is not None and box[2] - box[0] > 180.0:  # corners on either side of 180°
                box = geometry_bounds(np.array(pieces, dtype=object), centre)
            boxes.append(box)
        corners = np.array([box for box in boxes if box is not None], dtype=np.float64).reshape(-1, 4)
        kept.bounds[limit] = bounds_around(corners, centre) if len(corners) else None
    return kept.bounds[limit]



__all__ = ["CoverageLayer", "clear_cache", "flown_bounds_lonlat", "CoverageSettings", "UnitCoverage", "camera_footprint_records",
           "detection_reach", "footprint_coverage",
           "grid_coverage", "unit_coverage"]
