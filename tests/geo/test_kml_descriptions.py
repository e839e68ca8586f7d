"""Each site's placemark says what the site is in its description, and Google Earth's
balloon shows that line and the typed attributes both: GDAL's older KML driver (QGIS
where GDAL has no libkml) reads only a placemark's name and description, and read
"Site 1: Slight" and an empty description; Google Earth's own balloon shows a
placemark's description in place of its attributes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from geo.export import export_map
from geo.export.vector import SITE_KML_SCHEMA, display_name

KML = "{http://www.opengis.net/kml/2.2}"

#: Reads a KML's sites with GDAL's KML driver alone: ``OGR_SKIP`` is read when GDAL
#: registers its drivers, so it takes a process of its own.
_READ_WITH_THE_KML_DRIVER = """
import json, sys, warnings
warnings.simplefilter("ignore")
import pyogrio
info = pyogrio.read_info(sys.argv[1], layer="Damage sites")
frame = pyogrio.read_dataframe(sys.argv[1], layer="Damage sites", read_geometry=False)
print(json.dumps({"driver": info["driver"], "fields": list(info["fields"]), "rows": frame.to_dict("records")}))
"""


def _read_with_the_kml_driver(path) -> dict:  # noqa: ANN001 - a path
    done = subprocess.run([sys.executable, "-c", _READ_WITH_THE_KML_DRIVER, str(path)], capture_output=True,
                          text=True, check=True, env={**os.environ, "OGR_SKIP": "LIBKML"})
    return json.loads(done.stdout)


def test_gdal_s_plain_kml_driver_reads_what_each_site_is(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["sites", "kml"])
    sites = {f["properties"]["id"]: f["properties"]
             for f in json.loads((tmp_path / "damage_sites.geojson").read_text())["features"]}
    assert sites
    read = _read_with_the_kml_driver(tmp_path / "damage_sites.kml")
    assert read["driver"] == "KML" and read["fields"] == ["Name", "Description"]
    assert len(read["rows"]) == len(sites)
    for row in read["rows"]:
        site = sites[int(row["Name"].split(":")[0].removeprefix("Site "))]
        text = row["Description"]
        assert text.startswith(f"{site['level'].capitalize()} (Copernicus EMS grade: {site['ems_grade']}); ")
        assert f"level agreement {site['confidence']:.0%}, best score {site['best_score']:.2f}; " in text
        assert f"seen in {site['frames_seen']} frame" in text and f"{site['observations']} sighting" in text
        assert f"{site['first_time_s']:.1f}" in text and " s into the video (frame" in text
        assert f"frame {site['first_frame'] + 1}" in text or f"frames {site['first_frame'] + 1}-" in text
        assert f"position uncertainty \u00b1{site['uncertainty_m']:.1f} m ({site['uncertainty_parts']})" in text
        assert text.endswith("; reviewed by an analyst" if site["reviewed"] else "; not reviewed by an analyst")
        assert "<" not in text  # a line of text, not markup, in a GIS's attribute table


def test_a_site_s_line_says_when_on_the_clock_as_the_atlas_does(flyover_map, tmp_path):
    """On a phone the KMZ's balloon said only "0.0-11.5 s into the video" of a dated
    recording, where the atlas and the web map give the day and the UTC time."""
    import datetime as dt

    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["sites", "kml"])
    sites = {f["properties"]["id"]: f["properties"]
             for f in json.loads((tmp_path / "damage_sites.geojson").read_text())["features"]}
    document = ET.parse(tmp_path / "damage_sites.kml").getroot()
    lines = {int(p.get("id").removeprefix("site-")): p.findtext(f"{KML}description")
             for p in document.iter(f"{KML}Placemark") if p.get("id")}
    assert sites and lines.keys() == sites.keys()
    for site_id, line in lines.items():
        first, last = (dt.datetime.fromisoformat(sites[site_id][k].replace("Z", "+00:00"))
                       for k in ("first_time", "last_time"))
        span = f"{first:%H:%M:%S}" if f"{first:%H:%M:%S}" == f"{last:%H:%M:%S}" else f"{first:%H:%M:%S}-{last:%H:%M:%S}"
        assert f"{sites[site_id]['observations']} sighting{'s' if sites[site_id]['observations'] != 1 else ''}, " \
               f"{first:%Y-%m-%d} {span} UTC, {sites[site_id]['first_time_s']:.1f}" in line, line


def test_google_earth_s_balloon_shows_the_description_and_every_attribute(flyover_map, tmp_path):
    """A BalloonStyle template (OGC KML 2.2 6.5) on every style a site uses: the name, the
    description, then each typed attribute by its field name."""
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["kml"])
    document = ET.parse(tmp_path / "damage_sites.kml").getroot().find(f"{KML}Document")
    balloons = {style.get("id"): style.findtext(f"{KML}BalloonStyle/{KML}text")
                for style in document.findall(f"{KML}Style")}
    placemarks = [p for p in document.iter(f"{KML}Placemark") if p.get("id")]
    assert placemarks
    for placemark in placemarks:
        balloon = balloons[placemark.findtext(f"{KML}styleUrl").removeprefix("#")]
        assert balloon and balloon.index("$[name]") < balloon.index("$[description]") < balloon.index("<table>")
        for field in SITE_KML_SCHEMA.fields:
            assert f"<td>{display_name(field)}</td><td>$[damage_sites/{field}]</td>" in balloon, field
        assert placemark.findtext(f"{KML}description")
    assert balloons["track"] is None  # the track keeps Google Earth's own balloon


def test_a_kmz_balloon_says_its_frames_count_from_1_and_its_frame_attributes_from_0(flyover_map, tmp_path):
    """The description says "frames 1-116" where the table under it says first_frame 0:
    the balloon says which counts from what, and labels each frame attribute so."""
    import zipfile

    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["kmz"])
    with zipfile.ZipFile(tmp_path / "damage_sites.kmz") as kmz:
        document = ET.fromstring(kmz.read("doc.kml")).find(f"{KML}Document")
    balloons = {style.get("id"): style.findtext(f"{KML}BalloonStyle/{KML}text")
                for style in document.findall(f"{KML}Style")}
    schema = document.find(f"{KML}Document/{KML}Schema")
    shown = {field.get("name"): field.findtext(f"{KML}displayName") for field in schema.findall(f"{KML}SimpleField")}
    assert {name: shown[name] for name in ("first_frame", "last_frame", "best_frame")} == {
        "first_frame": "first_frame (from 0)", "last_frame": "last_frame (from 0)", "best_frame": "best_frame (from 0)"}
    assert shown["best_score"] is None  # only the frames are relabelled
    placemarks = [p for p in document.iter(f"{KML}Placemark") if p.get("id", "").startswith("site-")]
    assert placemarks
    for placemark in placemarks:
        balloon = balloons[placemark.findtext(f"{KML}styleUrl").removeprefix("#")]
        note = balloon[balloon.index("$[description]"):balloon.index("<table>")]
        assert "frames count from 1" in note and "count from 0" in note, note
        assert "<td>best_frame (from 0)</td><td>$[damage_sites/best_frame]</td>" in balloon
        first = int(placemark.find(f".//{KML}SimpleData[@name='first_frame']").text)
        assert re.search(rf"\(frames? {first + 1}\b", placemark.findtext(f"{KML}description"))


def test_a_survey_s_sites_say_what_they_are_to_the_plain_kml_driver(survey_of_two_flights, tmp_path):
    """A survey's KML as a flight's: each site's line names its level and EMS grade, the
    flights that saw it and its best score, with no markup."""
    from geo.export.survey_files import write_survey_files

    write_survey_files(survey_of_two_flights, tmp_path, ["geojson", "kml"])
    sites = {f["properties"]["id"]: f["properties"]
             for f in json.loads((tmp_path / "survey_sites.geojson").read_text())["features"]}
    read = _read_with_the_kml_driver(tmp_path / "survey_sites.kml")
    assert read["driver"] == "KML" and len(read["rows"]) == len(sites) > 0
    for row in read["rows"]:
        site = sites[int(row["Name"].split(":")[0].removeprefix("Site "))]
        text = row["Description"]
        assert text.startswith(f"{site['level'].capitalize()} (Copernicus EMS grade: {site['ems_grade']}): seen by 2 flights "
                               "(monday, wednesday; ")
        assert f"best score {site['best_score']:.2f}" in text and "<" not in text
