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


def test_only_sites_on_the_map_whose_rejection_was_taken_back_count_as_kept(doubtful_map):
    """The note "kept on the map, undecided ... took a rejection of that site back" counts
    the map's sites whose own reviewer undid a rejection: not an unconfirmed site (off the
    map either way), nor a site kept because another decision of it (an acceptance) was
    undone."""
    doubtful, shown = doubtful_map.unconfirmed[0], doubtful_map.fused[0]
    rejected_elsewhere = [SiteMark(f.site.lon_deg, f.site.lat_deg, ReviewState.REJECTED) for f in (doubtful, shown)]
    undone = {m.detection.id for f in (doubtful, shown) for m in f.members}  # each site's review taken back

    # both undone decisions were rejections: only the site on the map counts
    mapped, left_out, kept_back = _without_rejected_elsewhere(doubtful_map, rejected_elsewhere, undone,
                                                              rejections_back=undone)
    assert shown.site.id in {f.site.id for f in mapped.fused} and left_out == 0
    assert kept_back == 1
    # what was undone was an acceptance: the sites stay, but no rejection was taken back
    mapped, left_out, kept_back = _without_rejected_elsewhere(doubtful_map, rejected_elsewhere, undone)
    assert shown.site.id in {f.site.id for f in mapped.fused} and (left_out, kept_back) == (0, 0)
