"""A survey fuses its flights' confirmed sites only: the places only unconfirmed flight
sites mark are left off its map, and its README says how many, as a flight's relief
package README does in "What the maps do NOT show"."""

from __future__ import annotations

import dataclasses

import pytest

from geo.export.survey_files import readme_text
from geo.survey_fusion import FlightMap, fuse_flights


def _unconfirming(damage_map, count: int):  # noqa: ANN001, ANN202 - a DamageMap, and a copy of it
    """``damage_map`` with its first ``count`` sites unconfirmed (off its map)."""
    doubtful = [dataclasses.replace(f, confirmed=False) for f in damage_map.fused[:count]]
    return dataclasses.replace(damage_map, fused=damage_map.fused[count:], unconfirmed=doubtful)


@pytest.fixture
def flights(flyover_map):
    damage_map, _ = flyover_map
    assert len(damage_map.fused) > 3
    return damage_map


def test_the_survey_counts_each_unconfirmed_place_once(flights):
    # the same two doubtful sites in both flights: two places left off, not four flight sites
    built = fuse_flights([FlightMap("monday", _unconfirming(flights, 2), "2018-10-12"),
                          FlightMap("wednesday", _unconfirming(flights, 2), "2018-10-14")])
    assert built.unconfirmed == 2
    assert len(built.sites) == len(flights.fused) - 2
    assert any(note.startswith("2 unconfirmed survey sites") and note.endswith("left off the map")
               for note in built.notes)
    # a place another flight confirmed is on the map: nothing of it is left off
    built = fuse_flights([FlightMap("monday", _unconfirming(flights, 2), "2018-10-12"),
                          FlightMap("wednesday", flights, "2018-10-14")])
    assert built.unconfirmed == 0 and len(built.sites) == len(flights.fused)
    assert not any("unconfirmed" in note for note in built.notes)


def test_the_readme_says_what_the_maps_leave_off(flights):
    built = fuse_flights([FlightMap("monday", _unconfirming(flights, 1), "2018-10-12"),
                          FlightMap("wednesday", _unconfirming(flights, 1), "2018-10-14")])
    text = readme_text(built, title="Damage survey: town", files=[], provenance={})
    section = text.split("What the maps do NOT show\n-------------------------\n", 1)[1].split("\n\n", 1)[0]
    words = " ".join(section.split())  # as a flight's README wraps them
    assert ("- 1 unconfirmed site: detected in too few of the frames that showed its place (often a false alarm),"
            in words)
    assert "left off every map here" in section
    plain = readme_text(fuse_flights([FlightMap("monday", flights, "2018-10-12")]), title="t", files=[],
                        provenance={})
    assert "unconfirmed site" not in plain.split("What the maps do NOT show", 1)[1].split("\n\n", 1)[0]
