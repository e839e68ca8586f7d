"""Small wording of the exports: counts agree with their nouns ("1 damage site lies",
"(1 flight)"), and an atlas card labels its latitude and longitude, since every map file
gives longitude first."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from shapely.geometry import box

from core.types import DamageLevel
from geo.coverage import UnitCoverage
from geo.grading import SiteOnMap, grade_sites
from geo.local import LocalFrame
from geo.survey_fusion import FlightMap, fuse_flights


@pytest.mark.parametrize(("away", "note"), [(1, "1 damage site lies on no footprint"),
                                            (2, "2 damage sites lie on no footprint")])
def test_the_note_on_sites_off_every_footprint_agrees_with_its_count(away, note):
    local = LocalFrame.around(-85.66, 30.16)
    house = box(-85.66001, 30.15999, -85.65999, 30.16001)  # some 2 m across, round the origin
    footprints = SimpleNamespace(ids=["1"], polygons=[house], notes=(), source="")
    sites = [SiteOnMap(1, (0.0, 0.0), DamageLevel.SEVERE, 0.9, 3, False)]
    sites += [SiteOnMap(2 + k, (500.0 + 50 * k, 500.0), DamageLevel.SLIGHT, 0.6, 1, False) for k in range(away)]
    grading = grade_sites(sites, footprints, [UnitCoverage()], local)
    assert len(grading.unmatched_site_ids) == away
    assert any(n.startswith(f"{note} (more than 3 m") for n in grading.notes), grading.notes


def test_a_survey_kml_placemark_says_1_flight_or_2_flights(flyover_map, tmp_path):
    from geo.export.survey_files import write_survey_files

    damage_map, _ = flyover_map
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    for flights, expected in ((["monday"], "(1 flight)"), (["monday", "wednesday"], "(2 flights)")):
        built = fuse_flights([FlightMap(name, damage_map, "2018-10-12") for name in flights])
        out = tmp_path / str(len(flights))
        write_survey_files(built, out, ["kml"])
        names = [p.find("k:name", ns).text for p in
                 ET.parse(out / "survey_sites.kml").getroot().findall("k:Document/k:Document/k:Placemark", ns)]
        assert names and all(name.endswith(expected) for name in names), names


def _card_positions(pages) -> list[str]:  # noqa: ANN001 - atlas pages
    return [t.get_text() for page in pages for t in page.texts if re.match(r"-?\d+\.\d+, ", t.get_text())
            or t.get_text().startswith("lat ")]


def test_an_atlas_card_labels_its_latitude_and_longitude(flyover_map):
    from geo.export.print_map import _atlas_order, draw_site_atlas
    from geo.export.survey_print import draw_survey_atlas

    damage_map, _ = flyover_map
    sites = [damage_map.fused[k].site for k in _atlas_order(damage_map)]
    assert _card_positions(draw_site_atlas(damage_map, None)) == [
        f"lat {s.lat_deg:.6f}, lon {s.lon_deg:.6f}" for s in sites]
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12")])
    positions = _card_positions(draw_survey_atlas(built))
    assert positions and all(re.fullmatch(r"lat 30\.\d{6}, lon -85\.\d{6}", p) for p in positions), positions


def test_popups_label_latitude_and_longitude(flyover_map, tmp_path):
    from geo.export.html import write_html

    damage_map = flyover_map[0]
    html = write_html(tmp_path / "map.html", damage_map).read_text()
    site = damage_map.sites[0]
    assert f"lat {site.lat_deg:.6f}, lon {site.lon_deg:.6f}" in html
