"""damage_sites.csv holds every site property the GeoJSON has (but the display colour),
after the columns it always had, in their order, and guarded against formulas."""

from __future__ import annotations

import csv
import json

from geo.export import export_map
from geo.export import vector
from geo.export.vector import CSV_COLUMNS, write_sites_csv

#: The columns of earlier versions, in their order: scripts reading by position keep working.
EARLIER_COLUMNS = ("id", "level", "confidence", "observations", "lon", "lat", "first_time", "last_time",
                   "first_time_s", "last_time_s", "first_frame", "last_frame", "best_frame", "reviewed", "height_m",
                   "uncertainty_m", "uncertainty_parts")


def test_every_site_property_is_a_column_with_the_geojson_value(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["sites", "csv"])
    features = json.loads((tmp_path / "damage_sites.geojson").read_text())["features"]
    with open(tmp_path / "damage_sites.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS and CSV_COLUMNS[:len(EARLIER_COLUMNS)] == EARLIER_COLUMNS
    assert set(features[0]["properties"]) - {"colour"} <= set(CSV_COLUMNS)
    by_id = {row["id"]: row for row in rows}
    for feature in features:
        props, row = feature["properties"], by_id[str(feature["properties"]["id"])]
        assert row["level_code"] == str(props["level_code"])
        assert row["best_detection_id"] == str(props["best_detection_id"])
        assert row["triangulated"] == str(props["triangulated"])
        assert row["reviewed_by"] == (props["reviewed_by"] or "")


def test_a_reviewer_name_is_no_formula(flyover_map, tmp_path, monkeypatch):
    damage_map, _ = flyover_map
    records = vector.site_records(damage_map)[:1]
    props, point = records[0]
    hostile = [(dict(props, reviewed_by="=HYPERLINK(\"http://x\")", reviewed_at="2026-01-02T03:04:05Z"), point)]
    monkeypatch.setattr(vector, "site_records", lambda _: hostile)
    with open(write_sites_csv(tmp_path / "sites.csv", damage_map), newline="", encoding="utf-8-sig") as f:
        [row] = list(csv.DictReader(f))
    assert row["reviewed_by"] == "'=HYPERLINK(\"http://x\")" and row["reviewed_at"] == "2026-01-02T03:04:05Z"
