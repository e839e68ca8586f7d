"""A map with no damage site still gives a GeoPackage with its layers of sites, empty and
with their columns: a GIS project built on one flight's file opens another's, and an
empty layer says "no damage found" where a missing one reads as a failed export."""

from __future__ import annotations

import numpy as np
import pyogrio
import pytest

from core.types import TelemetrySample
from geo.export.package import write_layers
from geo.export.records import SITE_LAYER_SCHEMAS, as_declared, footprint_records, observation_records, site_records
from geo.export.vector import write_geopackage
from geo.mapping import build_damage_map_from
from geo.telemetry.track import TimeBase, Track

KINDS = {"int": int, "float": float, "str": str, "bool": bool, "datetime": str}  # datetime: ISO 8601 text


def _empty_map():
    samples = tuple(TelemetrySample(t_s=float(t), lat_deg=29.95 + 5.0 * t / 111_320.0, lon_deg=-90.07, alt_rel_m=40.0)
                    for t in np.arange(0.0, 20.0, 1.0))
    track = Track(samples, None, "dji-srt", TimeBase.VIDEO)
    video = {"width_px": 320, "height_px": 180, "duration_s": 20.0, "creation_time_utc": None}
    return build_damage_map_from([], {50: 5.0, 60: 6.0}, track, video=video)


def test_the_schemas_are_the_columns_the_records_write(flyover_map):
    damage_map, _ = flyover_map
    for layer, build in (("damage_sites", site_records), ("site_footprints", footprint_records),
                         ("observations", observation_records)):
        records = build(damage_map)
        assert records, layer
        columns, geometry_type = SITE_LAYER_SCHEMAS[layer]
        assert list(records[0][0]) == list(columns), layer  # the same names, in the same order
        for props, geometry in records:
            assert as_declared(geometry, geometry_type).geom_type == geometry_type
            for name, value in props.items():
                assert value is None or isinstance(value, KINDS[columns[name]]) or (
                    columns[name] == "float" and isinstance(value, int) and not isinstance(value, bool)), (layer, name)


@pytest.mark.parametrize("writer", ["plain", "package"])
def test_a_map_without_sites_has_its_site_layers_empty_with_their_columns(tmp_path, writer):
    damage_map = _empty_map()
    assert damage_map.sites == []
    path = tmp_path / "map.gpkg"
    if writer == "plain":
        write_geopackage(path, damage_map)
    else:
        layers = {"damage_sites": [], "site_footprints": [], "observations": [], "coverage": []}
        assert write_layers(path, layers, last_change="2024-09-27T14:05:00Z") == list(SITE_LAYER_SCHEMAS)
    found = {name: kind for name, kind in pyogrio.list_layers(path)}
    for layer, (columns, geometry_type) in SITE_LAYER_SCHEMAS.items():
        assert found[layer] == geometry_type
        info = pyogrio.read_info(path, layer=layer)
        assert info["features"] == 0 and info["crs"] == "EPSG:4326"
        assert list(info["fields"]) == list(columns)
        times = [name for name, kind in columns.items() if kind == "datetime"]
        assert all(info["dtypes"][list(info["fields"]).index(name)].startswith("datetime64")
                   for name in times), layer  # DATETIME as in a layer with sites
    assert "coverage" not in found  # a layer of another kind with nothing to hold is still left out
