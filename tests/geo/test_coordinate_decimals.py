"""The GeoPackage's coordinates have the GeoJSON's 8 decimals (about 1 mm): the
footprints kept 15 (a projected mask's outline, unrounded), the same site's outline
differed between files in its last digits and the file was larger for nothing."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import shapely
from shapely.geometry import Polygon

from geo.export import export_map
from geo.export.vector import COORDINATE_DECIMALS, write_gpkg_layer


def _decimals(values: np.ndarray) -> int:
    """The most decimals among ``values`` as Python writes each float (its shortest form)."""
    return max((len(text.split(".")[1]) for text in map(repr, values.ravel().tolist()) if "." in text), default=0)


def test_every_layer_of_the_geopackage_has_8_decimals(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["gpkg", "geojson"])
    gpkg = tmp_path / "damage_map.gpkg"
    for layer, _ in pyogrio.list_layers(gpkg):
        geometries = pyogrio.read_dataframe(gpkg, layer=layer).geometry
        assert _decimals(shapely.get_coordinates(geometries.values)) <= COORDINATE_DECIMALS, layer
        assert geometries.is_valid.all(), layer
        polygons = [p for g in geometries if g.geom_type == "MultiPolygon" for p in g.geoms]
        assert all(p.exterior.is_ccw for p in polygons), layer  # RFC 7946's orientation, as the GeoJSON
    heat = json.loads((tmp_path / "heatmap.geojson").read_text())["features"]
    assert _decimals(np.array(heat[0]["geometry"]["coordinates"][0][0])) <= COORDINATE_DECIMALS


def test_a_relief_package_layer_is_rounded_too(tmp_path):
    """A camera footprint (the relief package's) comes from a projection, 15 decimals."""
    frame = Polygon([(139.70123456789012, 35.6), (139.7013, 35.60012345678901), (139.7011, 35.6002)])
    write_gpkg_layer(tmp_path / "p.gpkg", "camera_footprints", [({"frame": 1}, frame)], append=False)
    (geometry,) = pyogrio.read_dataframe(tmp_path / "p.gpkg", layer="camera_footprints").geometry
    coordinates = shapely.get_coordinates(geometry)
    assert _decimals(coordinates) == COORDINATE_DECIMALS and geometry.geoms[0].exterior.is_ccw
    assert np.abs(coordinates - (139.70123457, 35.6)).max(axis=1).min() < 1e-12  # rounded, not moved


def test_the_track_of_a_drone_that_hovered_the_whole_clip_is_written_at_its_place(tmp_path):
    """A clip filmed hovering over one house: every track point at one place, a line of no
    length, which rounding to the 8 decimals made empty: the GeoJSON export ended in
    shapely's "Can't create MultiLineString with empty component" (a traceback) and the
    relief package's GeoPackage was refused with it. The line is written at its place; a
    polygon smaller than the grid has no place (null), as a file writes one."""
    from geo.export.vector import write_geojson

    hover = shapely.LineString([(-85.660322, 30.158813)] * 20)
    write_geojson(tmp_path / "track.geojson", [({"segment": 0}, hover)], name="track", geometry_type="MultiLineString")
    (feature,) = json.loads((tmp_path / "track.geojson").read_text())["features"]
    assert feature["geometry"]["type"] == "MultiLineString"
    assert {tuple(p) for p in feature["geometry"]["coordinates"][0]} == {(-85.660322, 30.158813)}
    write_gpkg_layer(tmp_path / "p.gpkg", "track", [({"segment": 0}, hover)], append=False)
    (line,) = pyogrio.read_dataframe(tmp_path / "p.gpkg", layer="track").geometry
    assert shapely.get_coordinates(line).tolist()[0] == [-85.660322, 30.158813]
    speck = Polygon([(8.0, 47.0), (8.0 + 1e-9, 47.0), (8.0, 47.0 + 1e-9)])
    write_geojson(tmp_path / "speck.geojson", [({"frame": 1}, speck)], name="camera_footprints",
                  geometry_type="MultiPolygon")
    (feature,) = json.loads((tmp_path / "speck.geojson").read_text())["features"]
    assert feature["geometry"] is None
