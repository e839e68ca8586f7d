"""A survey's README reads as a flight's relief package README does for a field team
that has never seen damagemap: which file to open first, what the maps do not show, the
words on the maps, whom to tell and how old the maps are."""

from __future__ import annotations

import pytest

from geo.export.products import ProductInfo
from geo.export.survey_files import readme_text

SECTIONS = ("Open first", "What the maps do NOT show", "Words on the maps", "Contact and dates", "Event",
            "Flights (provenance)")


@pytest.fixture
def built(survey_of_two_flights):
    return survey_of_two_flights


def _section(text: str, heading: str) -> str:
    return text.split(f"\n{heading}\n{'-' * len(heading)}\n", 1)[1].split("\n\n", 1)[0]


def test_the_readme_opens_with_what_a_field_team_needs_first(built):
    files = ["survey_sites.geojson", "survey.gpkg", "survey_sites.kmz", "survey_map.html", "survey_map.pdf"]
    text = readme_text(built, title="Damage survey: town", files=files, provenance={"produced": "2018-10-15 09:00 UTC"},
                       info=ProductInfo(analyst="A. Field", organisation="Relief Mapping", version=2))
    positions = [text.index(f"\n{heading}\n{'-' * len(heading)}\n") for heading in SECTIONS]
    assert positions == sorted(positions)  # in the relief package README's order, before the provenance
    opened = _section(text, "Open first")
    assert [line.strip() for line in opened.splitlines() if line.startswith("    ")] == [
        "survey_map.html", "survey_sites.kmz", "survey_map.pdf", "survey.gpkg"]
    words = _section(text, "Words on the maps")
    assert all(word in words for word in ("level agreement", "uncertainty_m", "not found by", "reviewed", "dates"))
    contact = _section(text, "Contact and dates")
    assert "Questions, and corrections from the ground, to: A. Field, Relief Mapping." in contact
    filmed = [line.strip() for line in contact.splitlines() if line.startswith("  ")]
    assert [line.split(":")[0] for line in filmed] == ["monday", "wednesday"]
    assert all(" UTC" in line for line in filmed)  # the flyover is dated in UTC: its times, not only its day
    assert "Made: 2018-10-15 09:00 UTC, version 02" in contact


def test_the_readme_names_only_the_files_written(built):
    text = readme_text(built, title="t", files=["survey_sites.csv", "survey_map.pdf"], provenance={})
    assert [line.strip() for line in _section(text, "Open first").splitlines() if line.startswith("    ")] == [
        "survey_map.pdf"]
    assert "to: whoever sent you these files." in _section(text, "Contact and dates")
    alone = readme_text(built, title="t", files=["survey_sites.csv"], provenance={})
    assert "\nOpen first\n" not in alone


def test_the_offline_map_says_what_it_does_not_show(built):
    """As a flight's relief package map says it beside its "Area filmed" outline: the
    dashed outlines are the ground each flight saw, and outside them nobody looked."""
    from geo.export.survey_html import NOT_SEEN, render_survey_html

    page = render_survey_html(built, title="Damage survey: town")
    legend = page.split('id="dm-legend"', 1)[1]
    assert "Ground a flight saw (in its colour)" in legend
    assert "Outside the ground the flights saw nobody looked: no site there does not mean no damage." in legend
    assert "Damage since the last flight over a place is not on the map." in NOT_SEEN
    assert "Not assessed" not in legend  # no buildings graded
    # and when each flight filmed, in the summary panel
    summary = page.split('id="dm-summary"', 1)[1].split('id="dm-legend"', 1)[0]
    assert "monday (2018-10-12)" in summary and "wednesday (2018-10-14)" in summary


def test_the_readme_words_are_a_flight_packages_where_they_mean_the_same(built):
    """One wording: a word a flight's relief package README explains, and the survey's
    means the same, reads the same in both; and both end their "Contact and dates" alike."""
    from geo.export.package import WORDS

    text = readme_text(built, title="t", files=[], provenance={})
    words = _section(text, "Words on the maps").splitlines()
    for term in ("level", "Copernicus EMS grade", "sightings", "position uncertainty", "unconfirmed", "reviewed"):
        first = next(k for k, line in enumerate(words) if line.startswith(term + " "))
        assert [line[22:] for line in words[first:first + len(WORDS[term])]] == list(WORDS[term])
    assert ("Reach them: no phone, e-mail or radio channel was given; ask whoever sent you these files."
            in _section(text, "Contact and dates"))
