"""Every GeoPackage we write declares GeoPackage 1.2 in its header (``application_id``
"GPKG", ``user_version`` 10200): GDAL 3.11 and later write 1.4 unless told, a version
ArcGIS Pro 3.1 and earlier and older QGIS releases' GDAL do not know. Read from the
SQLite header of the files written: a flight's export, its relief package and a survey's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyogrio

from geo.export import export_map
from geo.export.package import write_package
from geo.export.products import ProductInfo
from geo.export.survey_files import write_survey_files
from geo.survey_fusion import FlightMap, fuse_flights

GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_1_2 = 10200


def _declared(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA application_id").fetchone()[0], db.execute("PRAGMA user_version").fetchone()[0]


def test_every_geopackage_written_declares_version_1_2(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path / "flight", formats=["gpkg"])
    package = write_package(damage_map, tmp_path / "package", info=ProductInfo(event="Test"))
    survey = fuse_flights([FlightMap("monday", damage_map, "2018-10-12"),
                           FlightMap("tuesday", damage_map, "2018-10-13")])
    write_survey_files(survey, tmp_path / "survey", ["gpkg"])
    files = [tmp_path / "flight" / "damage_map.gpkg", package.folder / f"{package.name}.gpkg",
             tmp_path / "survey" / "survey.gpkg"]
    for path in files:
        assert _declared(path) == (GPKG_APPLICATION_ID, GPKG_1_2), path.name
        assert len(pyogrio.list_layers(path)) >= 2  # every layer there, appended to the 1.2 file
