"""File names no export format can hold as they are: control characters, and the lone
surrogates Python makes of a name that is not UTF-8."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from geo.export import FILES, export_map

# A legal Linux file name: ESC and SOH in it, and a Latin-1 byte read as a surrogate.
ODD_NAME = "esc\x1bchar\x01 caf\udce9.mp4"


@pytest.fixture()
def odd_map(flyover_map):
    damage_map, _ = flyover_map
    track = replace(damage_map.aligned.track, path=damage_map.track.path.with_name("log\x07\x0b.SRT"))
    return replace(damage_map, title=f"Damage map: {ODD_NAME}", aligned=replace(damage_map.aligned, track=track))


def test_kml_stays_well_formed_with_control_characters_in_names(odd_map, tmp_path):
    (kml_path,) = export_map(odd_map, tmp_path, formats=["kml"])
    root = ET.parse(kml_path).getroot()  # ParseError before: "not well-formed (invalid token)"
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    name = root.find("k:Document/k:name", ns).text
    assert name == "Damage map: esc\ufffdchar\ufffd caf\ufffd.mp4"
    tracks = [p.find("k:name", ns).text for p in root.iterfind(".//k:Placemark", ns)]
    assert any("log\ufffd\ufffd.SRT" in text for text in tracks if text.startswith("Flight track"))


def test_every_format_is_written_with_such_names(odd_map, tmp_path):
    written = export_map(odd_map, tmp_path, thumbnail=lambda index: None)
    assert len(written) == len(FILES)
    for path in written:
        if path.suffix == ".gpkg":
            import pyogrio

            assert pyogrio.list_layers(path).size
            continue
        if path.suffix == ".kmz":
            import zipfile

            with zipfile.ZipFile(path) as archive:
                data = archive.read("doc.kml")
        else:
            data = path.read_bytes()
        data.decode("utf-8")  # valid UTF-8 throughout
        if path.suffix == ".geojson":
            json.loads(data)


def test_a_track_and_a_folder_named_in_bytes_that_are_not_utf8_export_every_format(flyover_map, tmp_path):
    import pyogrio

    damage_map, _ = flyover_map
    track = replace(damage_map.aligned.track, path=damage_map.track.path.with_name("fl\udcffight.SRT"))
    odd = replace(damage_map, aligned=replace(damage_map.aligned, track=track))
    out = tmp_path / "fl\udcffight_export"  # the default folder of fl\xffight.dmproj
    written = export_map(odd, out, thumbnail=lambda index: None)
    assert len(written) == len(FILES) and all(path.is_file() for path in written)
    (gpkg,) = [path for path in written if path.suffix == ".gpkg"]
    readable = tmp_path / "copy.gpkg"  # GDAL reads UTF-8 paths only
    readable.write_bytes(gpkg.read_bytes())
    sources = pyogrio.read_dataframe(readable, layer="track")["source"].tolist()
    assert sources and all("\ufffd" in source for source in sources)  # as the GeoJSON writes it
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)  # no temporary file left
