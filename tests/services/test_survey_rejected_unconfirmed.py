"""A flight's unconfirmed site at a place a reviewer rejected on another flight is
decided, not "left off, unconfirmed": the survey leaves it out of its count of the
unconfirmed sites, in its notes and its README, as it leaves out a confirmed one."""

from __future__ import annotations

import dataclasses

import pytest

from core.review import SiteMark
from core.types import ReviewState
from geo.export.survey_files import readme_text
from geo.survey_fusion import FlightMap, fuse_flights
from services.survey import _without_rejected_elsewhere
from tests.geo.geo_helpers import map_of, render


@pytest.fixture(scope="module")
def doubtful_map(flyover_once):
    """The flyover's map with its first two sites unconfirmed (off its map)."""
    damage_map, _ = map_of(render(flyover_once, seed=2), title="Synthetic flyover")
    assert len(damage_map.fused) > 3
    doubtful = [dataclasses.replace(f, confirmed=False) for f in damage_map.fused[:2]]
    return dataclasses.replace(damage_map, fused=damage_map.fused[2:], unconfirmed=doubtful)


def test_an_unconfirmed_site_rejected_on_another_flight_is_not_counted_left_off(doubtful_map):
    site = doubtful_map.unconfirmed[0].site
    rejected_elsewhere = [SiteMark(site.lon_deg, site.lat_deg, ReviewState.REJECTED)]
    mapped, left_out, kept_back = _without_rejected_elsewhere(doubtful_map, rejected_elsewhere)
    assert [f.site.id for f in mapped.unconfirmed] == [doubtful_map.unconfirmed[1].site.id]
    assert mapped.fused == doubtful_map.fused  # the confirmed sites as they were
    assert (left_out, kept_back) == (0, 0)  # nothing the flight's map showed was left out

    built = fuse_flights([FlightMap("monday", mapped, "2018-10-12")])
    assert built.unconfirmed == 1
    assert any(note.startswith("1 unconfirmed survey site ") for note in built.notes)
    words = " ".join(readme_text(built, title="Damage survey: town", files=[], provenance={}).split())
    assert "- 1 unconfirmed site: detected in too few of the frames that showed its place" in words
