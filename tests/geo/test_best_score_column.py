"""Every site export carries ``best_score``, the score the threshold compares and the
Sites panel shows, beside ``confidence`` (the share of the votes for the site's level): a
GIS user filtering ``confidence >= 0.5`` dropped every Severe site whose sightings all
scored well, for want of the score they meant."""

from __future__ import annotations

import csv
import json
import zipfile

import pyogrio

from geo.export import export_map
from geo.export.survey_files import write_survey_files
from geo.export.survey_html import render_survey_html
from geo.export.survey_records import survey_site_records
from geo.survey_fusion import FlightMap, fuse_flights


def _best(members) -> float:  # noqa: ANN001 - geo.observe.Projected
    return round(max(float(m.detection.final_score) for m in members), 4)


def test_every_site_file_gives_the_best_score_the_threshold_compares(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["sites", "gpkg", "csv", "kml", "kmz"])
    expected = {f.site.id: _best(f.members) for f in damage_map.fused}
    assert expected

    features = json.loads((tmp_path / "damage_sites.geojson").read_text())["features"]
    assert {f["properties"]["id"]: f["properties"]["best_score"] for f in features} == expected
    layer = pyogrio.read_dataframe(tmp_path / "damage_map.gpkg", layer="damage_sites")
    assert dict(zip(layer["id"], layer["best_score"])) == expected
    with open(tmp_path / "damage_sites.csv", newline="", encoding="utf-8-sig") as f:
        assert {int(r["id"]): float(r["best_score"]) for r in csv.DictReader(f)} == expected
    kml = (tmp_path / "damage_sites.kml").read_text()
    assert kml.count('<SimpleData name="best_score">') == len(expected)
    assert '<SimpleField type="double" name="best_score" />' in kml  # a number to a GIS, not text
    with zipfile.ZipFile(tmp_path / "damage_sites.kmz") as kmz:
        assert kmz.read("doc.kml").decode().count('<SimpleData name="best_score">') == len(expected)


def test_a_survey_s_sites_give_their_best_score_in_its_tables_and_popups(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12"),
                          FlightMap("wednesday", damage_map, "2018-10-14")])
    expected = {site.id: _best(site.members) for site in built.sites}
    assert {props["id"]: props["best_score"] for props, _ in survey_site_records(built)} == expected
    write_survey_files(built, tmp_path, ["csv"])
    with open(tmp_path / "survey_sites.csv", newline="", encoding="utf-8-sig") as f:
        assert {int(r["id"]): float(r["best_score"]) for r in csv.DictReader(f)} == expected
    page = render_survey_html(built, title="Survey")
    assert all(f"<td>Best score</td><td>{score:.2f} (the detector's, of 1)" in page for score in expected.values())
