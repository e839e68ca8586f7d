"""The outline of the ground a flight saw ("Ground seen", "Area filmed"): the union of
its frames' footprints without the saw teeth their far edges make, claiming no ground
they did not see (but for a metre)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon

from geo.export.products import _filmed_rings, camera_records
from geo.ground_seen import ground_seen
from geo.survey_fusion import FlightMap, flight_coverage


def _vertices(geometry) -> int:
    return sum(len(p.exterior.coords) for p in getattr(geometry, "geoms", [geometry]))


def _footprints(damage_map) -> list[Polygon]:
    times = sorted(damage_map.frame_poses.times_s[i] for i in damage_map.frame_poses.poses)
    rings = [damage_map.camera_footprint_at(t) for t in times]
    return [Polygon(zip(*damage_map.local.to_local([p[0] for p in r], [p[1] for p in r]))) for r in rings if len(r) >= 4]


def test_the_ground_seen_is_the_footprints_union_without_its_teeth(flyover_map):
    damage_map, _ = flyover_map
    footprints = _footprints(damage_map)
    union = shapely.union_all([p.buffer(0) for p in footprints])
    outline = ground_seen(footprints)
    assert outline.geom_type == "Polygon"
    assert _vertices(outline) < _vertices(union) / 2  # a tooth a frame: 88 vertices, 20-odd left
    assert abs(outline.area - union.area) < 0.03 * union.area
    assert outline.difference(union.buffer(1.0)).area < 0.01  # no ground claimed past a metre of what was seen

    # the survey's coverage ("Ground seen" on its maps) is that outline
    seen, frames = flight_coverage(FlightMap("monday", damage_map), damage_map.local)
    assert frames == len(footprints) and _vertices(seen) == _vertices(outline)
    assert seen.area == outline.area


def test_the_flight_s_html_map_draws_the_area_filmed_without_teeth(flyover_map):
    damage_map, _ = flyover_map
    camera = camera_records(damage_map)
    union = shapely.union_all([polygon for _, polygon in camera]).buffer(0)
    rings = _filmed_rings(camera)
    assert len(rings) == 1 and len(rings[0]) < _vertices(union) / 2
    drawn = Polygon([(lon, lat) for lat, lon in rings[0]])
    assert abs(drawn.area - union.area) < 0.03 * union.area


def test_no_footprint_is_no_ground():
    assert ground_seen([]).is_empty


def _wrapped(polygon: Polygon) -> Polygon:
    """``polygon`` with its longitudes within -180..180, as a frame's footprint across 180
    degrees comes from the map (179.9995 then -179.9995: a polygon that jumps)."""
    return shapely.transform(polygon, lambda xy: np.column_stack([(xy[:, 0] + 180.0) % 360.0 - 180.0, xy[:, 1]]))


def test_footprints_across_180_degrees_are_outlined_there():
    """Frames over Fiji whose footprints cross 180 degrees jump from 179.9995 to -179.9995:
    their plain union was a band round the world, which the relief package's KMZ drew from
    41.6 to 180 degrees and its print map as zigzags. They are outlined where they are,
    and split there for a file; footprints already split at 180 are outlined there too."""
    from geo.export.vector import polygon_outlines
    from geo.ground_seen import ground_seen_lonlat

    continuous = [shapely.box(179.9992 + k * 1e-4, -16.5, 180.0002 + k * 1e-4, -16.499) for k in range(5)]
    outline = ground_seen_lonlat([_wrapped(p) for p in continuous])
    union = shapely.union_all(continuous)
    assert outline.geom_type == "Polygon"
    shown = shapely.transform(outline, lambda xy: np.column_stack([xy[:, 0] % 360.0, xy[:, 1]]))
    assert abs(shown.area - union.area) < 0.05 * union.area
    assert shown.symmetric_difference(union).area < 0.1 * union.area
    lines = polygon_outlines(outline)  # the KMZ's: either side of 180, each within its 0.0014 degrees
    assert len(lines) == 2 and all(180.0 - abs(x) < 0.0015 for line in lines for x, _ in line.coords)

    east, west = shapely.box(179.999, 30.0, 180.0, 30.001), shapely.box(-180.0, 30.0, -179.999, 30.001)
    split = ground_seen_lonlat([east, west])
    assert abs(split.area - 2 * east.area) < 0.1 * east.area
    assert all(180.0 - abs(x) <= 0.001 + 1e-9 for x, _ in shapely.get_coordinates(split))


def test_the_relief_package_kmz_outlines_the_area_filmed_without_teeth(flyover_map):
    from geo.export.package import _filmed_outlines

    damage_map, _ = flyover_map
    camera = camera_records(damage_map)
    union = shapely.union_all([polygon for _, polygon in camera]).buffer(0)
    (line,) = _filmed_outlines(camera)
    assert len(line.coords) < _vertices(union) / 2
    assert _filmed_outlines([]) == []


def test_the_outline_of_the_same_footprints_is_worked_out_once(flyover_map, monkeypatch):
    """An export's web map, KMZ and print map each draw the area filmed from the same
    camera footprints: the outline is worked out once and kept by the footprints
    themselves (other polygons, even equal ones, are worked out anew)."""
    import geo.ground_seen as module

    damage_map, _ = flyover_map
    camera = camera_records(damage_map)
    module.clear_cache()
    worked_out = []
    original = module._ground_seen_lonlat
    monkeypatch.setattr(module, "_ground_seen_lonlat", lambda f: worked_out.append(1) or original(f))
    polygons = [polygon for _, polygon in camera]
    first = module.ground_seen_lonlat(polygons)
    assert module.ground_seen_lonlat([polygon for _, polygon in camera]) is first  # a new list, the same polygons
    assert len(worked_out) == 1
    again = module.ground_seen_lonlat([shapely.from_wkb(shapely.to_wkb(p)) for p in polygons])
    assert len(worked_out) == 2 and again.equals(first)
