"""How a field team reaches whoever made a survey's map: the contact (phone, e-mail,
radio channel) in its README, its offline map and its print map, as a flight's relief
package gives it (tests/geo/test_package_contact.py)."""

from __future__ import annotations

import html

import pytest

from geo.export.products import ProductInfo

#: markup, an ampersand and dollars (matplotlib's mathematics) in one contact
CONTACT = '<b>Ops</b> & radio ch. 5, US$5 $x$, ops@relief.example'
INFO = ProductInfo(event="Hurricane Test", analyst="A. Analyst", organisation="Red Cross", contact=CONTACT)


@pytest.fixture
def built(survey_of_two_flights):
    return survey_of_two_flights


def test_the_readme_says_how_to_reach_the_producer(built):
    from geo.export.survey_files import readme_text

    text = readme_text(built, title="t", files=[], provenance={}, info=INFO)
    contact = text.split("Contact and dates\n-----------------\n", 1)[1].split("\n\n", 1)[0]
    assert "to: A. Analyst, Red Cross." in contact and f"Reach them: {CONTACT}." in contact
    assert f"Contact: {CONTACT}\n" in text  # and in the event's facts


def test_the_offline_map_gives_the_contact_under_its_legend_as_text(built):
    from geo.export.survey_html import render_survey_html

    page = render_survey_html(built, info=INFO)
    assert f'<div class="dm-small dm-contact">Contact: {html.escape(CONTACT)}</div>' in page
    assert "<b>Ops</b>" not in page  # markup typed in it is shown, not obeyed
    assert "dm-contact" not in render_survey_html(built)


def test_the_print_map_panel_gives_the_contact_as_typed(built):
    from geo.export.print_map import plain_text
    from geo.export.survey_print import draw_survey_map

    with plain_text():  # as write_survey_print draws it
        page = draw_survey_map(built, info=INFO)
    texts = list(page.axes[1].texts)
    keys = [text.get_text() for text in texts]
    assert "Contact:" in keys
    value = texts[keys.index("Contact:") + 1]
    assert value.get_text().replace("\n", " ") == CONTACT and not value.get_parse_math()  # dollars as typed
