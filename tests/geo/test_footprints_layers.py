"""Footprints from a file of several layers (a GeoPackage extract with roads and
buildings), and the cheap check made before a footprints file is stored in a project."""

from __future__ import annotations

import json
import warnings

import pytest
from shapely.geometry import LineString, Polygon

from core.errors import InputError
from geo.footprints import check_footprints, footprint_layers, read_footprints

gpd = pytest.importorskip("geopandas")

SQUARE = [(13.4000, 52.5000), (13.4002, 52.5000), (13.4002, 52.5002), (13.4000, 52.5002)]
AREA = (13.3995, 52.4995, 13.4010, 52.5005)


def square(east_deg: float = 0.0) -> Polygon:
    return Polygon([(x + east_deg, y) for x, y in SQUARE])


def add_layer(path, layer: str, geometries, *, ids=None, crs: str = "EPSG:4326") -> None:
    ids = ids or [f"{layer}-{k + 1}" for k in range(len(geometries))]
    frame = gpd.GeoDataFrame({"id": ids}, geometry=list(geometries), crs="EPSG:4326").to_crs(crs)
    frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")


def test_the_buildings_layer_after_a_roads_layer_is_read_without_a_warning(tmp_path):
    path = tmp_path / "extract.gpkg"
    add_layer(path, "roads", [LineString(SQUARE)])
    add_layer(path, "buildings", [square(), square(0.0005)], crs="EPSG:3857")
    add_layer(path, "landuse", [square().buffer(0.0001)])  # a polygon layer, but not buildings
    assert footprint_layers(path) == ("buildings",)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pyogrio's "More than one layer found" must not leak
        footprints = read_footprints(path, bbox_lonlat=AREA)
        check_footprints(path)
    assert footprints.ids == ("buildings-1", "buildings-2")
    assert any("buildings" in note for note in footprints.notes)


def test_several_polygon_layers_not_named_buildings_are_read_together(tmp_path):
    path = tmp_path / "outlines.gpkg"
    add_layer(path, "houses", [square()])
    add_layer(path, "sheds", [square(0.0005)])
    assert footprint_layers(path) == ("houses", "sheds")
    assert read_footprints(path).ids == ("houses-1", "sheds-1")


def test_a_file_without_a_polygon_layer_names_its_layers(tmp_path):
    path = tmp_path / "roads.gpkg"
    add_layer(path, "roads", [LineString(SQUARE)])
    add_layer(path, "rails", [LineString(SQUARE[:2])])
    for read in (read_footprints, check_footprints):
        with pytest.raises(InputError, match=r"roads\.gpkg: no layer of building polygons.*roads \(LineString\), "
                                             r"rails \(LineString\)"):
            read(path)


def test_nothing_over_the_area_names_the_layer_read(tmp_path):
    path = tmp_path / "extract.gpkg"
    add_layer(path, "roads", [LineString(SQUARE)])
    add_layer(path, "buildings", [square()])
    with pytest.raises(InputError, match="no building polygons in the layer buildings over the area flown"):
        read_footprints(path, bbox_lonlat=(10.0, 50.0, 10.001, 50.001))


def test_the_check_refuses_files_that_cannot_give_buildings(tmp_path):
    empty = tmp_path / "empty.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(InputError, match=r"empty\.geojson: no building polygons in the file \(it holds no features\)"):
        check_footprints(empty)
    points = tmp_path / "points.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [13.4, 52.5]}}]}))
    with pytest.raises(InputError, match=r"points\.geojson: no building polygons in the file \(its 1 features"):
        check_footprints(points)
    (tmp_path / "junk.gpkg").write_text("not a GeoPackage")
    with pytest.raises(InputError, match=r"junk\.gpkg: cannot read footprints"):
        check_footprints(tmp_path / "junk.gpkg")
    with pytest.raises(InputError, match="no such footprints file"):
        check_footprints(tmp_path / "missing.gpkg")
    good = tmp_path / "good.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
                                                           "coordinates": [[*map(list, SQUARE), list(SQUARE[0])]]}}]}))
    check_footprints(good)  # no error
