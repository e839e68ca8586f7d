"""The KML and KMZ give each site's attributes typed (OGC KML 2.2 ``<Schema>`` and
``<SchemaData>``): untyped ``<Data>`` read as text in QGIS and ArcGIS, so ``best_score``
sorted 0.1, 0.95, 0.2 and a filter ``uncertainty_m < 5`` compared text."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zipfile

import pyogrio
import pytest
from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype

from geo.export import export_map

KML = "{http://www.opengis.net/kml/2.2}"


def _check_typed(frame, features) -> None:  # noqa: ANN001 - a GeoDataFrame, GeoJSON features
    for column in ("best_score", "confidence", "uncertainty_m", "height_m", "first_time_s"):
        assert is_float_dtype(frame[column]), column
    for column in ("observations", "level_code", "frames_seen", "best_frame"):
        assert is_integer_dtype(frame[column]), column
    for column in ("reviewed", "confirmed", "triangulated"):
        assert is_bool_dtype(frame[column]), column
    assert sorted(frame["best_score"]) == sorted(f["properties"]["best_score"] for f in features)
    assert sorted(frame["uncertainty_m"]) == sorted(f["properties"]["uncertainty_m"] for f in features)


def test_a_gis_reads_the_kml_s_numbers_as_numbers(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["sites", "kml", "kmz"])
    features = json.loads((tmp_path / "damage_sites.geojson").read_text())["features"]
    assert features

    _check_typed(pyogrio.read_dataframe(tmp_path / "damage_sites.kml", layer="Damage sites"), features)
    _check_typed(pyogrio.read_dataframe(f"/vsizip/{tmp_path / 'damage_sites.kmz'}/doc.kml", layer="Damage sites"),
                 features)


@pytest.mark.skipif("LIBKML" not in pyogrio.list_drivers(), reason="GDAL built without libkml")
def test_qgis_opening_the_kmz_itself_reads_every_site_s_attributes(flyover_map, tmp_path):
    """QGIS opens a .kmz with GDAL's LIBKML driver, which types a layer's fields from the
    Schema in the layer's own Document: with the sites in a Folder it found the Schema in
    a .kml, not in a .kmz, and showed the KMZ's sites with a name and nothing else."""
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["sites", "kmz"])
    features = json.loads((tmp_path / "damage_sites.geojson").read_text())["features"]
    assert features
    frame = pyogrio.read_dataframe(tmp_path / "damage_sites.kmz", layer="Damage sites")
    _check_typed(frame, features)
    assert sorted(frame["site_id"]) == sorted(f["properties"]["id"] for f in features)


def test_the_kml_declares_its_schema_once_and_every_site_refers_to_it(flyover_map, tmp_path):
    """KML 2.2: the Schema in the Document, after the styles, before the features; an
    attribute with no value left out, not written empty (a GIS reads it as null)."""
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["kml"])
    document = ET.parse(tmp_path / "damage_sites.kml").getroot().find(f"{KML}Document")
    (sites,) = document.findall(f"{KML}Document")  # the sites' own Document, their Schema in it
    assert sites.findtext(f"{KML}name") == "Damage sites"
    (schema,) = document.iter(f"{KML}Schema")
    types = {field.get("name"): field.get("type") for field in schema.findall(f"{KML}SimpleField")}
    assert types["best_score"] == "double" and types["observations"] == "int" and types["confirmed"] == "bool"
    assert types["first_time"] == "string"  # KML has no time type: ISO 8601 text
    assert list(sites)[1] is schema  # after its name, before its placemarks: KML 2.2's order
    tags = [child.tag.removeprefix(KML) for child in document]
    assert tags.index("Style") < tags.index("Document")
    placemarks = [p for p in document.iter(f"{KML}Placemark") if p.get("id")]
    assert placemarks and len(placemarks) == len(damage_map.sites)
    for placemark in placemarks:
        (data,) = placemark.findall(f"{KML}ExtendedData/{KML}SchemaData")
        assert data.get("schemaUrl") == f"#{schema.get('id')}"
        assert not placemark.findall(f".//{KML}Data")
        assert all(value.text and value.get("name") in types for value in data.findall(f"{KML}SimpleData"))


def test_google_earth_s_balloon_still_names_each_attribute(flyover_map, tmp_path):
    """Google Earth's default balloon lists a placemark's SchemaData by field name; the
    KMZ's balloon (its description) keeps the close-up and what the site is."""
    import cv2
    import numpy as np

    damage_map, _ = flyover_map
    _, jpeg = cv2.imencode(".jpg", np.full((120, 120, 3), 128, dtype=np.uint8))
    (kmz,) = export_map(damage_map, tmp_path, formats=["kmz"], closeup=lambda site_id: jpeg.tobytes())
    with zipfile.ZipFile(kmz) as archive:
        document = ET.fromstring(archive.read("doc.kml"))
    for placemark in (p for p in document.iter(f"{KML}Placemark") if p.get("id")):
        names = {d.get("name"): d.text for d in placemark.iter(f"{KML}SimpleData")}
        assert {"level", "best_score", "confidence", "uncertainty_m", "reviewed"} <= set(names)
        balloon = placemark.findtext(f"{KML}description")
        assert "<img " in balloon and f"best score {float(names['best_score']):.2f}" in balloon


def test_a_gis_gets_each_site_s_id_under_one_clear_name(flyover_map, tmp_path):
    """GDAL's LIBKML driver (QGIS) reads a placemark's XML id as ``id``: the site's own
    ``id`` attribute beside it came through as ``id2``. The number is ``site_id``, the
    placemark's id ``site-<id>``; the GeoJSON, GeoPackage and CSV keep ``id``."""
    damage_map, _ = flyover_map
    export_map(damage_map, tmp_path, formats=["sites", "kml"])
    ids = sorted(f["properties"]["id"] for f in json.loads((tmp_path / "damage_sites.geojson").read_text())["features"])
    frame = pyogrio.read_dataframe(tmp_path / "damage_sites.kml", layer="Damage sites")
    assert "id2" not in frame.columns
    assert is_integer_dtype(frame["site_id"]) and sorted(frame["site_id"]) == ids
    assert sorted(frame["id"]) == sorted(f"site-{i}" for i in ids)
    assert all(name.startswith(f"Site {i}:") for name, i in zip(frame["Name"], frame["site_id"]))
