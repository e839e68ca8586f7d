"""The print map's headings stay legible with an event name as long as a user types one
(up to about 120 characters): each heading line wraps to the panel and pushes the lines
under it down, and the atlas page's heading wraps before the "Preliminary analysis"
label and ends above the cards. Measured from matplotlib's text extents."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.types import DamageLevel
from geo.export.print_map import AtlasCard, draw_atlas_pages, draw_map
from geo.export.products import ProductInfo, survey_map_title
from geo.export.survey_print import draw_survey_atlas, draw_survey_map
from geo.survey_fusion import FlightMap, fuse_flights

#: 118 characters, as a relief team names an event
LONG_EVENT = ("Tropical Cyclone Idai and subsequent flooding, Sofala Province, Mozambique "
              "(Beira city and Dondo district), second pass")
GLIDE = "TC-2019-000021-MOZ"


def _boxes(figure, texts):  # noqa: ANN001, ANN202 - a Figure, its Text artists; their Bboxes
    renderer = figure.canvas.get_renderer()
    return [text.get_window_extent(renderer) for text in texts]


def _overlapping(boxes) -> list[tuple[int, int]]:  # noqa: ANN001
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]


def _assert_heading_legible(figure, *, event_words: str) -> None:  # noqa: ANN001
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not hasattr(figure.canvas, "get_renderer"):  # (a page drawn before the fix had no Agg canvas)
        FigureCanvasAgg(figure)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    panel = figure.axes[1]
    legend = panel.get_legend().get_window_extent(renderer)
    texts = [t for t in panel.texts if t.get_text()]
    heading = [(t, b) for t, b in zip(texts, _boxes(figure, texts)) if b.y1 > legend.y1]  # above the legend
    assert len(heading) >= 3
    assert any(event_words in " ".join(t.get_text().split()) for t, _ in heading)  # the event, whole
    assert any(GLIDE in t.get_text() for t, _ in heading)  # the GLIDE number, printed
    assert _overlapping([b for _, b in heading]) == []  # no line printed over another
    assert all(b.y0 > legend.y1 for _, b in heading)  # the legend starts under the heading
    right = panel.get_window_extent().x1
    assert [t.get_text() for t, b in heading if b.x1 > right + 1] == []  # within the panel, not off the page


@pytest.mark.parametrize("event", [LONG_EVENT, "Hurricane Michael"])
def test_the_flight_map_heading_wraps_and_pushes_the_lines_under_it_down(flyover_map, event):
    damage_map, _ = flyover_map
    page = draw_map(damage_map, info=ProductInfo(event=event, glide=GLIDE))
    _assert_heading_legible(page, event_words=event)


def test_the_survey_map_heading_wraps_a_long_title_and_event(flyover_map):
    damage_map, _ = flyover_map
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12"),
                          FlightMap("wednesday", damage_map, "2018-10-14")])
    info = ProductInfo(event=LONG_EVENT, glide=GLIDE)
    page = draw_survey_map(built, info=info, title=survey_map_title(
        "Damage survey of Beira city, Dondo and the Buzi river settlements", info))
    _assert_heading_legible(page, event_words=LONG_EVENT)


def _atlas_heading_checks(page) -> str:  # noqa: ANN001 - an atlas page; its heading's text
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not hasattr(page.canvas, "get_renderer"):
        FigureCanvasAgg(page)
    page.canvas.draw()
    heading, label = page.texts[0], page.texts[1]
    assert label.get_text() == "Preliminary analysis"
    heading_box, label_box = _boxes(page, [heading, label])
    assert not heading_box.overlaps(label_box)
    assert heading_box.x1 < label_box.x0
    renderer = page.canvas.get_renderer()
    cards_top = max(ax.get_window_extent(renderer).y1 for ax in page.axes)
    card_texts = [t for t in page.texts[2:] if t.get_text()]
    cards_top = max([cards_top, *(b.y1 for b in _boxes(page, card_texts))])
    assert heading_box.y0 > cards_top  # above the first row of cards
    return " ".join(heading.get_text().split())


def test_the_atlas_heading_wraps_before_the_preliminary_label_and_ends_above_the_cards():
    cards = [AtlasCard(k, DamageLevel.SEVERE, ("lat 30.1, lon -85.6", "\u00b11.0 m", "seen in 3 frames"))
             for k in range(1, 4)]
    for event in (LONG_EVENT, LONG_EVENT + " " + LONG_EVENT):  # twice as long: smaller, or cut, but clear
        text = _atlas_heading_checks(draw_atlas_pages(cards, event)[0])
        assert text.startswith("Site atlas (1 of 1): Tropical Cyclone Idai")
    assert _atlas_heading_checks(draw_atlas_pages(cards, LONG_EVENT)[0]) == (
        f"Site atlas (1 of 1): {LONG_EVENT}, most severe first")  # every word kept
    assert draw_atlas_pages(cards, "Hurricane Michael")[0].texts[0].get_text() == (
        "Site atlas (1 of 1): Hurricane Michael, most severe first")  # a short one: one line, as before


def test_the_survey_atlas_heading_wraps_too(flyover_map):
    damage_map, _ = flyover_map
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12")])
    built = replace(built, sites=built.sites[:2])
    assert _atlas_heading_checks(draw_survey_atlas(built, title=LONG_EVENT)[0]).endswith("most severe first")


def test_dollars_in_an_event_are_printed_as_typed(flyover_map, tmp_path):
    """matplotlib read "$...$" as mathematics: "Appeal US$2M for Idai, budget US$_500k"
    printed in italics without its dollars and spaces, and a lone "${" failed the print map
    (blamed on the PNG's path) and with it the package."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from geo.export.print_map import plain_text, write_print_map

    damage_map, _ = flyover_map
    for event in ("Appeal US$2M for Idai, budget US$_500k", "Red Cross ${ and $ partners"):
        png, pdf = tmp_path / "map.png", tmp_path / "map.pdf"
        assert write_print_map(png, pdf, damage_map, info=ProductInfo(event=event, glide=GLIDE)) == [png, pdf]
        with plain_text():
            page = draw_map(damage_map, info=ProductInfo(event=event, glide=GLIDE))
        FigureCanvasAgg(page).draw()
        shown = [t for t in page.axes[1].texts if event.split()[0] in t.get_text()]
        assert shown and all(not t._parse_math for t in shown)  # drawn as text, not as mathematics
        assert event in " ".join(shown[0].get_text().split())


def test_the_map_shows_the_whole_area_filmed(flyover_map):
    """The map was fitted to the sites and the track only: the dashed outline of the area
    filmed ran off the page, three quarters of it unseen on a first estimate."""
    import numpy as np
    from pyproj import Transformer
    from shapely import union_all

    from geo.coverage import camera_footprint_records

    damage_map, _ = flyover_map
    camera = camera_footprint_records(damage_map)
    page = draw_map(damage_map, camera=camera)
    ax = page.axes[0]
    to_utm = Transformer.from_crs("EPSG:4326", damage_map.crs, always_xy=True)
    west, south, east, north = union_all([g for _, g in camera]).bounds
    x, y = to_utm.transform(np.array([west, east, west, east]), np.array([south, south, north, north]))
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 <= x.min() and x.max() <= x1 and y0 <= y.min() and y.max() <= y1


def test_an_atlas_card_says_when_on_the_clock_not_in_video_seconds(flyover_map):
    """"seen in 39 frames, 0.0-19.0 s": a team in the field cannot tell the time of day
    from seconds into a video the GeoPackage's times were given for."""
    import re

    from geo.export.print_map import draw_site_atlas, plain_text

    damage_map, _ = flyover_map
    with plain_text():
        pages = draw_site_atlas(damage_map)
    texts = [t.get_text() for page in pages for t in page.texts]
    when = [texts[k + 1] for k, t in enumerate(texts) if t.startswith("seen in ")]  # the line under it
    assert when and all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}-\d{2}:\d{2}:\d{2} (UTC|drone clock)", t)
                        for t in when), when[:3]


def test_a_name_with_no_spaces_is_broken_to_the_width_and_cut_by_halves_not_per_character():
    """A long name with no spaces (Chinese and Thai write none) ran off the panel; cutting
    text to its lines measured it once per character (seconds on a long name)."""
    from geo.export.print_map import fit_text, new_figure

    figure = new_figure()
    renderer = figure.canvas.get_renderer()
    label = figure.text(0.0, 0.0, "x" * 3000, fontsize=9)
    measured = []
    extent = label.get_window_extent
    label.get_window_extent = lambda *args, **kwargs: (measured.append(1), extent(*args, **kwargs))[1]
    fit_text(label, 600, max_lines=2)
    label.get_window_extent = extent

    lines = label.get_text().split("\n")
    assert len(lines) == 2 and lines[1].endswith("\u2026")
    for line in lines:
        label.set_text(line)
        assert label.get_window_extent(renderer).width <= 600
    label.set_text(lines[1][:-1] + "x\u2026")  # one more character would not fit
    assert label.get_window_extent(renderer).width > 600
    assert len(measured) < 1000  # a measurement per character was over 2,900
