"""The KML's document and the HTML map are titled after the project's event when it
names one: a team with the maps of several flights on a phone found each titled
"Damage map: flight.mp4", the video's name, not the disaster it maps."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
import zipfile

import pytest

from core.store import ProjectStore
from services.export import ExportRequest, export_project
from services.package import update_product_info
from tests.truth_runs import write_run

KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture
def store(sites_flyover, tmp_path):
    from geo.evaluation import detections_from_coco

    with ProjectStore.create(tmp_path / "flight.dmproj", video_path=sites_flyover.video,
                             telemetry_path=sites_flyover.srt) as s:
        write_run(s, *detections_from_coco(sites_flyover.annotations))
        yield s


def _titles(out) -> tuple[str, str, str]:  # noqa: ANN001 - a folder
    kml = ET.parse(out / "damage_sites.kml").getroot().findtext(f"{KML}Document/{KML}name")
    with zipfile.ZipFile(out / "damage_sites.kmz") as archive:
        kmz = ET.fromstring(archive.read("doc.kml")).findtext(f"{KML}Document/{KML}name")
    html = (out / "damage_map.html").read_text(encoding="utf-8")
    return kml, kmz, html[html.index("<title>") + 7:html.index("</title>")]


def test_the_maps_are_titled_after_the_event_and_the_day_filmed(store, sites_flyover, tmp_path):
    update_product_info(store, event="Hurricane Michael", glide="TC-2018-000166-USA")
    result = export_project(store, ExportRequest(tmp_path / "out", formats=("kml", "kmz", "html"), thumbnails=False))
    filmed = result.damage_map.recording_start_utc()
    assert filmed is not None
    day = dt.datetime.fromtimestamp(filmed, dt.timezone.utc).strftime("%Y-%m-%d")
    expected = f"Damage map: Hurricane Michael (GLIDE TC-2018-000166-USA), {day}"
    assert _titles(tmp_path / "out") == (expected, expected, expected)
    assert sites_flyover.video.name not in expected


def test_without_an_event_the_video_names_the_maps(store, sites_flyover, tmp_path):
    export_project(store, ExportRequest(tmp_path / "out", formats=("kml", "kmz", "html"), thumbnails=False))
    expected = f"Damage map: {sites_flyover.video.name}"
    assert _titles(tmp_path / "out") == (expected, expected, expected)


def test_a_glide_number_alone_titles_the_maps(store, tmp_path):
    update_product_info(store, glide="tc-2018-000166-usa")
    export_project(store, ExportRequest(tmp_path / "out", formats=("kml",), thumbnails=False))
    title = ET.parse(tmp_path / "out" / "damage_sites.kml").getroot().findtext(f"{KML}Document/{KML}name")
    assert title.startswith("Damage map: GLIDE TC-2018-000166-USA, ")
