"""A flight over 180° longitude (Fiji, Tonga): its GIS files hold geometries split
there, every longitude within -180..180, and the export is whole."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, shape

from geo.antimeridian import antimeridian_safe, unwrap_longitudes
from geo_helpers import map_across_180, map_of, track_across_180


def _within_the_world(geometry) -> bool:
    lon = shapely.get_coordinates(geometry)[:, 0]
    return bool(np.all((lon >= -180.0) & (lon <= 180.0)))


def test_a_polygon_and_a_line_across_180_are_split_there_and_a_point_wrapped():
    square = Polygon([(179.9998, -16.8), (-179.9998, -16.8), (-179.9998, -16.7998), (179.9998, -16.7998)])
    split = antimeridian_safe(square)
    assert split.geom_type == "MultiPolygon" and len(split.geoms) == 2 and split.is_valid
    assert _within_the_world(split)
    assert sorted(round(p.area, 12) for p in split.geoms) == pytest.approx([0.0002 * 0.0002] * 2)
    assert all(shapely.is_ccw(p.exterior) for p in split.geoms)
    line = antimeridian_safe(LineString([(179.9990, 1.0), (179.9999, 1.0), (-179.9995, 1.0)]))
    assert line.geom_type == "MultiLineString" and _within_the_world(line)
    assert sum(part.length for part in line.geoms) == pytest.approx(0.0015)  # not 359.99 degrees
    assert antimeridian_safe(Point(180.0001, 1.0)).x == pytest.approx(-179.9999)
    near = Polygon([(10, 0), (11, 0), (11, 1)])
    assert antimeridian_safe(near) is near  # anything else as it is
    assert unwrap_longitudes(np.array([-179.9999]), 179.9)[0] == pytest.approx(180.0001)


def test_a_flight_across_180_exports_whole(flyover, tmp_path):
    """Its heatmap band crossed 180° and GEOS refused it ("side location conflict"): the
    export stopped with a traceback after three of its files, the GeoPackage never written."""
    from geo.export import export_map

    moved = track_across_180(flyover)
    assert min(s.lon_deg for s in moved.samples) < -179 and max(s.lon_deg for s in moved.samples) > 179
    original, _ = map_of(flyover)
    damage_map = map_across_180(flyover)
    assert len(damage_map.sites) == len(original.sites)
    written = export_map(damage_map, tmp_path, formats=["geojson", "gpkg"])
    assert (tmp_path / "damage_map.gpkg") in written and (tmp_path / "heatmap.geojson") in written
    for name in ("heatmap.geojson", "track.geojson", "damage_sites.geojson", "observations.geojson"):
        features = json.loads((tmp_path / name).read_text())["features"]
        geometries = [shape(f["geometry"]) for f in features if f["geometry"] is not None]
        assert geometries and all(g.is_valid and _within_the_world(g) for g in geometries), name
    track_parts = [shape(f["geometry"]) for f in json.loads((tmp_path / "track.geojson").read_text())["features"]]
    assert any(g.geom_type == "MultiLineString" for g in track_parts)  # split at 180°, not drawn round the world
    assert all(part.length < 1.0 for g in track_parts for part in getattr(g, "geoms", [g]))
    import pyogrio

    heat = pyogrio.read_dataframe(tmp_path / "damage_map.gpkg", layer="heatmap")
    assert len(heat) and heat.geometry.is_valid.all()


def test_a_track_across_180_is_placed_in_its_own_utm_zone_and_boxed_across_it(flyover):
    """The plain median of +179.9999 and -179.9999 is 0: the flight was placed in zone 30,
    over Africa, and lost half its sites; its box spanned the world."""
    from geo.telemetry.summary import summarise

    moved = track_across_180(flyover)
    original, _ = map_of(flyover)
    damage_map = map_across_180(flyover)
    assert damage_map.crs in ("EPSG:32601", "EPSG:32660")
    assert len(damage_map.sites) == len(original.sites)
    assert len(damage_map.observations) == len(original.observations)
    west, _, east, _ = moved.bbox()
    assert west > 179.99 and east < -179.99  # west of 180 to east of it
    assert summarise(moved)["bbox"]["min_lon"] == pytest.approx(west)


def test_bounds_across_180_are_the_area_and_split_there_for_a_file():
    from geo.antimeridian import bounds_around, split_bounds

    boxes = [(179.9990, -16.51, 179.9999, -16.50), (-179.9998, -16.52, -179.9990, -16.505)]
    west, south, east, north = bounds_around(boxes, 179.9999)
    assert (west, south, north) == pytest.approx((179.9990, -16.52, -16.50))
    assert east == pytest.approx(180.0010)  # not -180..180: the world
    assert bounds_around(boxes, -179.9999) == pytest.approx((west, south, east, north))
    either_side = split_bounds((west, south, east, north))
    assert len(either_side) == 2
    assert either_side[0] == pytest.approx((179.9990, -16.52, 180.0, -16.50))
    assert either_side[1] == pytest.approx((-180.0, -16.52, -179.9990, -16.50))
    assert split_bounds((10.0, 1.0, 11.0, 2.0)) == [(10.0, 1.0, 11.0, 2.0)]
    away = [(10.0, 1.0, 10.5, 2.0), (10.25, 0.5, 11.0, 1.5)]
    assert bounds_around(away, 10.5) == (10.0, 0.5, 11.0, 2.0)  # away from 180°, as they are


def test_the_area_flown_across_180_is_bounded_there_not_round_the_world(flyover):
    """The area's bounds spanned -180..180: the basemap (read for them) was refused as not
    covering the area and the relief package stopped; the footprints were read for the world."""
    from geo.coverage import flown_bounds_lonlat

    west, south, east, north = flown_bounds_lonlat(map_across_180(flyover))
    assert 179.99 < west < 180.0 < east < 180.01
    assert 0 < north - south < 0.01


def test_footprints_across_180_are_read_from_both_sides(tmp_path):
    from geo.footprints import read_footprints

    def square(lon: float) -> dict:
        ring = [[lon, -16.5], [lon + 0.0001, -16.5], [lon + 0.0001, -16.4999], [lon, -16.4999], [lon, -16.5]]
        return {"type": "Feature", "properties": {"id": f"b{lon}"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}

    path = tmp_path / "footprints.geojson"
    lons = (179.9995, -179.9996, 179.0, -179.0)  # two near 180°, one each side far from it
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [square(lon) for lon in lons]}))
    found = read_footprints(path, bbox_lonlat=(179.999, -16.501, 180.001, -16.499))
    assert sorted(found.ids) == sorted(["b179.9995", "b-179.9996"])


def test_a_survey_of_flights_either_side_of_180_is_bounded_between_them(monkeypatch):
    """A flight west of 180° and one east of it: the survey's bounds spanned the world."""
    from types import SimpleNamespace

    import geo.survey_grading as survey_grading

    flown = {"west": (179.9980, -16.51, 179.9995, -16.50), "east": (-179.9990, -16.505, -179.9970, -16.49)}
    monkeypatch.setattr(survey_grading, "flown_bounds_lonlat", lambda damage_map: flown[damage_map])
    built = SimpleNamespace(flights=[SimpleNamespace(damage_map=name) for name in flown])
    assert survey_grading.survey_bounds_lonlat(built) == pytest.approx((179.9980, -16.51, 180.0030, -16.49))
