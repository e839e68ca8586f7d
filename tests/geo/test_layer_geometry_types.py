"""Each layer declares one geometry type whatever the flight: the heatmap was Polygon
or MultiPolygon as its bands came out in one piece or several, and a footprint or a
track stretch split at 180 degrees turned its layer Multi; appending one flight's layer
to another's in QGIS or ``ogr2ogr -append`` then failed or promoted."""

from __future__ import annotations

import json

import pyogrio
from shapely.geometry import LineString, Polygon, shape

from geo.export import export_map
from geo.export.records import LAYER_GEOMETRY_TYPES
from geo.export.vector import write_geojson, write_gpkg_layer

GEOJSON_LAYERS = {"damage_sites.geojson": "damage_sites", "observations.geojson": "observations",
                  "track.geojson": "track", "heatmap.geojson": "heatmap"}


def test_every_layer_of_a_flight_has_its_declared_type(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["geojson", "gpkg"])
    layers = dict(pyogrio.list_layers(tmp_path / "damage_map.gpkg"))
    assert {"heatmap", "site_footprints", "observation_footprints", "track"} <= set(layers)
    assert layers == {layer: LAYER_GEOMETRY_TYPES[layer] for layer in layers}
    for layer in layers:
        geometries = pyogrio.read_dataframe(tmp_path / "damage_map.gpkg", layer=layer).geometry
        assert set(geometries.geom_type) == {LAYER_GEOMETRY_TYPES[layer]}, layer
    for name, layer in GEOJSON_LAYERS.items():
        features = json.loads((tmp_path / name).read_text())["features"]
        assert features and {f["geometry"]["type"] for f in features} == {LAYER_GEOMETRY_TYPES[layer]}, name


def test_a_heatmap_band_in_one_piece_and_a_track_across_180_keep_the_layer_s_type(tmp_path):
    band = Polygon([(10.0, 50.0), (10.001, 50.0), (10.001, 50.001), (10.0, 50.001)])
    bands = [({"density_low": 0.1, "density_high": 0.25}, band)]
    stretches = [({"segment": 0}, LineString([(179.9995, -17.0), (180.0005, -17.0)])),  # split at 180
                 ({"segment": 1}, LineString([(179.99, -17.01), (179.995, -17.01)]))]
    for layer, records in (("heatmap", bands), ("track", stretches)):
        write_gpkg_layer(tmp_path / f"{layer}.gpkg", layer, records, append=False)
        assert dict(pyogrio.list_layers(tmp_path / f"{layer}.gpkg")) == {layer: LAYER_GEOMETRY_TYPES[layer]}
        frame = pyogrio.read_dataframe(tmp_path / f"{layer}.gpkg", layer=layer)
        assert set(frame.geometry.geom_type) == {LAYER_GEOMETRY_TYPES[layer]}
        features = json.loads(write_geojson(tmp_path / f"{layer}.geojson", records, name=layer).read_text())["features"]
        assert [f["geometry"]["type"] for f in features] == [LAYER_GEOMETRY_TYPES[layer]] * len(records)
    split = json.loads((tmp_path / "track.geojson").read_text())["features"][0]["geometry"]
    assert len(shape(split).geoms) == 2  # still split where it crosses 180 degrees (RFC 7946 3.1.9)
