"""A survey's offline map numbers its sites beside their dots, as a flight's map does
(:mod:`geo.export.site_labels`), and its KML names every flight's track as a flight's
KML names its own (:func:`geo.export.vector.track_names`): counted from 1, "segment 0"
nowhere."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest


KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture
def built(survey_of_two_flights):
    return survey_of_two_flights


def test_the_offline_map_numbers_every_site_beside_its_dot_most_severe_first(built):
    from geo.export.html import most_severe_first
    from geo.export.site_labels import LABEL_LEGEND_ROW
    from geo.export.survey_html import render_survey_html

    assert built.sites
    page = render_survey_html(built)
    order = re.search(r"createPane\('dm-site-labels'\)", page) and re.search(r"order = (\[[^\]]*\])", page)
    assert order is not None
    assert json.loads(order.group(1)) == [s.id for s in sorted(built.sites, key=most_severe_first)]
    assert LABEL_LEGEND_ROW in page  # the legend says what the numbers are


def test_the_kml_names_each_flights_track_as_a_flights_kml_does(built, tmp_path):
    from geo.export.records import track_records
    from geo.export.survey_files import write_survey_files
    from geo.export.vector import track_names

    write_survey_files(built, tmp_path, ["kml"])
    document = ET.parse(tmp_path / "survey_sites.kml").getroot()
    names = [p.findtext(f"{KML}name") for p in document.iter(f"{KML}Placemark") if p.find(f"{KML}LineString") is not None
             and p.findtext(f"{KML}name").startswith("Flight ")]
    expected = [name for flight, day in (("monday", "2018-10-12"), ("wednesday", "2018-10-14"))
                for name in track_names(f"Flight {flight} ({day})", len(track_records(built.flights[0].damage_map)))]
    assert names == expected
    assert not any("segment 0" in name for name in names)
