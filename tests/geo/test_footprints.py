"""Building footprints from GeoJSON, GeoPackage, Shapefile and OpenStreetMap files."""

from __future__ import annotations

import json

import pytest

from core.errors import InputError
from geo.footprints import Footprints, read_footprints

SQUARE = [[13.4000, 52.5000], [13.4002, 52.5000], [13.4002, 52.5002], [13.4000, 52.5002], [13.4000, 52.5000]]


def _geojson(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_geojson_ids_heights_and_orientation(tmp_path):
    clockwise = list(reversed(SQUARE))
    path = _geojson(tmp_path / "b.geojson", [
        {"type": "Feature", "properties": {"id": "w12", "height": 9, "name": "school"},
         "geometry": {"type": "Polygon", "coordinates": [clockwise]}},
        {"type": "Feature", "properties": {"id": "w13", "building:levels": "2"},
         "geometry": {"type": "Polygon", "coordinates": [[[x + 0.001, y] for x, y in SQUARE]]}},
        {"type": "Feature", "properties": {"id": "p1"}, "geometry": {"type": "Point", "coordinates": [13.4, 52.5]}},
    ])
    fp = read_footprints(path)
    assert fp.ids == ("w12", "w13")  # the point is no building
    assert fp.heights_m == (9.0, 6.0)
    assert fp.attributes[0]["name"] == "school"
    assert fp.polygons[0].exterior.is_ccw


def test_geopackage_in_another_crs_is_reprojected(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Polygon

    frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Polygon(SQUARE)], crs="EPSG:4326").to_crs("EPSG:3857")
    frame.to_file(tmp_path / "b.gpkg", layer="buildings", driver="GPKG", engine="pyogrio")
    fp = read_footprints(tmp_path / "b.gpkg")
    assert fp.ids == ("1",)
    west, south, east, north = fp.polygons[0].bounds
    assert west == pytest.approx(13.4, abs=1e-7) and north == pytest.approx(52.5002, abs=1e-7)


def test_shapefile_without_prj_is_refused(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Polygon

    gpd.GeoDataFrame({"n": [1]}, geometry=[Polygon(SQUARE)], crs="EPSG:4326").to_file(tmp_path / "b.shp", engine="pyogrio")
    assert len(read_footprints(tmp_path / "b.shp")) == 1
    (tmp_path / "b.prj").unlink()
    with pytest.raises(InputError, match=r"b\.shp: .*no coordinate reference system"):
        read_footprints(tmp_path / "b.shp")


def test_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="no such footprints file"):
        read_footprints(tmp_path / "missing.geojson")
    (tmp_path / "junk.geojson").write_text("not json")
    with pytest.raises(InputError, match=r"junk\.geojson: cannot read footprints"):
        read_footprints(tmp_path / "junk.geojson")
    points = _geojson(tmp_path / "points.geojson", [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [13.4, 52.5]}}])
    with pytest.raises(InputError, match="no building polygons"):
        read_footprints(points)


def test_openstreetmap_buildings_through_gdal(tmp_path):
    nodes = "".join(f'<node id="{k + 1}" lat="{lat}" lon="{lon}" version="1"/>' for k, (lon, lat) in enumerate(SQUARE[:4]))
    refs = "".join(f'<nd ref="{k}"/>' for k in (1, 2, 3, 4, 1))
    road = '<way id="8" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>'
    osm = (f'<?xml version="1.0"?><osm version="0.6">{nodes}'
           f'<way id="7" version="1">{refs}<tag k="building" v="house"/><tag k="building:levels" v="3"/></way>{road}</osm>')
    (tmp_path / "extract.osm").write_text(osm)
    fp = read_footprints(tmp_path / "extract.osm")
    assert len(fp) == 1
    assert fp.polygons[0].area > 0
    assert any("OSM" in note for note in fp.notes)


def _osm_building(node_ids, way_id, tags):
    nodes = "".join(f'<node id="{n}" lat="{lat}" lon="{lon}" version="1"/>' for n, (lon, lat) in zip(node_ids, SQUARE[:4]))
    refs = "".join(f'<nd ref="{n}"/>' for n in (*node_ids, node_ids[0]))
    tags = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return f'<?xml version="1.0"?><osm version="0.6">{nodes}<way id="{way_id}" version="1">{refs}{tags}</way></osm>'


def test_openstreetmap_file_with_new_objects_from_josm(tmp_path):
    """JOSM writes the buildings a mapper traced but has not uploaded with negative ids."""
    (tmp_path / "traced.osm").write_text(_osm_building((-1, -2, -3, -4), -5, {"building": "yes"}))
    fp = read_footprints(tmp_path / "traced.osm")
    assert fp.ids == ("-5",)


def test_openstreetmap_heights_from_height_or_levels(tmp_path):
    (tmp_path / "levels.osm").write_text(_osm_building((1, 2, 3, 4), 7, {"building": "house", "building:levels": "3"}))
    (tmp_path / "height.osm").write_text(_osm_building((1, 2, 3, 4), 7, {"building": "house", "height": "12.5 m"}))
    assert read_footprints(tmp_path / "levels.osm").heights_m == (9.0,)
    assert read_footprints(tmp_path / "height.osm").heights_m == (12.5,)


def test_from_polygons():
    fp = Footprints.from_polygons([SQUARE], ids=[5])
    assert fp.ids == ("5",) and fp.heights_m == (None,)


def test_only_the_area_flown_is_read(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Polygon

    near = Polygon(SQUARE)
    far = Polygon([(x + 0.05, y) for x, y in SQUARE])  # some 3 km east
    frame = gpd.GeoDataFrame({"id": ["near", "far"]}, geometry=[near, far], crs="EPSG:4326").to_crs("EPSG:3857")
    frame.to_file(tmp_path / "city.gpkg", driver="GPKG", engine="pyogrio")
    area = (13.3995, 52.4995, 13.4005, 52.5005)
    assert read_footprints(tmp_path / "city.gpkg", bbox_lonlat=area).ids == ("near",)
    assert len(read_footprints(tmp_path / "city.gpkg")) == 2
    with pytest.raises(InputError, match="no building polygons in the file over the area flown"):
        read_footprints(tmp_path / "city.gpkg", bbox_lonlat=(10.0, 50.0, 10.001, 50.001))
