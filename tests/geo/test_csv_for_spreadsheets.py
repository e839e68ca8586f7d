"""The CSV tables open right in Excel on Windows, which reads UTF-8 as the system's ANSI
code page unless the file starts with a byte order mark: "Île-à-Vache" or a reviewer
"Łukasz" came out garbled. The mark is read past by pandas, GDAL (so QGIS) and Python's
csv module with ``utf-8-sig``, checked here with those readers on the files written."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from geo.export import vector
from geo.export.survey_files import write_survey_files
from geo.survey_fusion import FlightMap, fuse_flights

PLACE = "Île-à-Vache"
REVIEWER = "Łukasz"


def _read_by_every_reader(path: Path) -> list[dict[str, str]]:
    """The table's rows as pandas, GDAL and the csv module read it, checked to agree."""
    assert path.read_bytes().startswith(codecs.BOM_UTF8)  # what makes Excel read UTF-8
    with path.open(encoding="utf-8-sig", newline="") as table:
        rows = list(csv.DictReader(table))
    by_pandas = pd.read_csv(path, dtype=str, keep_default_na=False)
    by_gdal = pyogrio.read_dataframe(path)  # the CSV driver QGIS's "Add Vector Layer" opens it with
    assert list(by_pandas.columns) == list(by_gdal.columns) == list(rows[0])
    assert by_pandas.columns[0] == "id"  # no mark glued to the first column's name
    assert by_pandas.to_dict("records") == rows
    assert by_gdal.astype(str).to_dict("records") == rows
    return rows


def test_a_reviewer_s_name_reads_back_from_damage_sites_csv(flyover_map, tmp_path, monkeypatch):
    damage_map, _ = flyover_map
    props, point = vector.site_records(damage_map)[0]
    monkeypatch.setattr(vector, "site_records", lambda _: [(dict(props, reviewed_by=REVIEWER), point)])
    [row] = _read_by_every_reader(vector.write_sites_csv(tmp_path / "damage_sites.csv", damage_map))
    assert row["reviewed_by"] == REVIEWER


@pytest.fixture
def survey_of_places(flyover_map):
    damage_map, _ = flyover_map
    return fuse_flights([FlightMap(PLACE, damage_map, "2018-10-12"), FlightMap(REVIEWER, damage_map, "2018-10-14")])


def test_a_flight_named_after_its_place_reads_back_from_survey_sites_csv(survey_of_places, tmp_path):
    (written,) = write_survey_files(survey_of_places, tmp_path, ["csv"])
    rows = _read_by_every_reader(written)
    assert rows and all(PLACE in row["flights"] and REVIEWER in row["flights"] for row in rows)
