"""Each GeoPackage layer says what it holds (``gpkg_contents.description``, which QGIS
shows in the layer's properties): a layer passed on alone still reads as what it is."""

from __future__ import annotations

import sqlite3

import numpy as np

from core.types import TelemetrySample
from geo.export.package import LAYER_ORDER, write_layers
from geo.export.records import LAYER_DESCRIPTIONS, LAYERS
from geo.export.vector import write_geopackage
from geo.mapping import build_damage_map_from
from geo.telemetry.track import TimeBase, Track


def _map_without_sites():
    samples = tuple(TelemetrySample(t_s=float(t), lat_deg=29.95 + 5.0 * t / 111_320.0, lon_deg=-90.07, alt_rel_m=40.0)
                    for t in np.arange(0.0, 20.0, 1.0))
    track = Track(samples, None, "dji-srt", TimeBase.VIDEO)
    video = {"width_px": 320, "height_px": 180, "duration_s": 20.0, "creation_time_utc": None}
    return build_damage_map_from([], {50: 5.0, 60: 6.0}, track, video=video)


def _descriptions(path) -> dict[str, str]:
    with sqlite3.connect(path) as connection:
        return dict(connection.execute("SELECT table_name, description FROM gpkg_contents"))


def test_every_layer_written_has_a_description():
    assert set(LAYERS) | set(LAYER_ORDER) <= set(LAYER_DESCRIPTIONS)


def test_the_map_s_geopackage_describes_its_layers_empty_or_not(tmp_path):
    path = tmp_path / "damage_map.gpkg"
    write_geopackage(path, _map_without_sites())
    found = _descriptions(path)
    assert {"damage_sites", "site_footprints", "observations", "track"} <= set(found)  # the first three empty
    assert found == {layer: LAYER_DESCRIPTIONS[layer] for layer in found}


def test_the_relief_package_s_geopackage_describes_its_layers(tmp_path):
    path = tmp_path / "package.gpkg"
    written = write_layers(path, {"damage_sites": [], "site_footprints": [], "observations": []},
                           last_change="2024-09-27T14:05:00Z")
    assert _descriptions(path) == {layer: LAYER_DESCRIPTIONS[layer] for layer in written}
