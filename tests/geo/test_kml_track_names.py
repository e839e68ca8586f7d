"""The track's name in the KML and KMZ, as a phone lists it: "Flight track (flight.SRT)",
not "Flight track (flight.SRT), segment 0"."""

from __future__ import annotations

import xml.etree.ElementTree as ET

KML = "{http://www.opengis.net/kml/2.2}"


def test_a_track_in_one_stretch_is_named_without_a_segment(flyover_map, tmp_path):
    from geo.export.vector import write_kml

    damage_map, _ = flyover_map
    assert len(damage_map.track_segments_lonlat()) == 1
    document = ET.parse(write_kml(tmp_path / "sites.kml", damage_map)).getroot()
    tracks = [p.findtext(f"{KML}name") for p in document.iter(f"{KML}Placemark")
              if p.findtext(f"{KML}styleUrl") == "#track"]
    assert tracks == [f"Flight track ({damage_map.track.name})"]


def test_the_stretches_of_a_broken_track_are_counted_from_one():
    from geo.export.vector import track_names

    assert track_names("Flight track (flight.SRT)", 3) == [
        "Flight track (flight.SRT), segment 1 of 3", "Flight track (flight.SRT), segment 2 of 3",
        "Flight track (flight.SRT), segment 3 of 3"]
    assert track_names("Flight track (flight.SRT)", 1) == ["Flight track (flight.SRT)"]
