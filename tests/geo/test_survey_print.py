"""The survey's print map: one page of the fused sites and every flight, then a site atlas
whose cards show the close-up from the flight that saw each site best."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import cv2
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Annotation

from geo.export.print_map import ATLAS_GRID
from geo.export.survey_html import flight_colour
from geo.export.survey_print import draw_survey_atlas, draw_survey_map, write_survey_print
from geo.survey_fusion import FlightMap, fuse_flights


@pytest.fixture
def built(survey_of_two_flights):
    return survey_of_two_flights


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    image = np.zeros((48, 48, 3), np.uint8)
    image[:] = colour[::-1]  # BGR
    return cv2.imencode(".jpg", image)[1].tobytes()


def _legend_labels(figure) -> list[str]:
    return [t.get_text() for ax in figure.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_the_page_numbers_every_survey_site_and_draws_each_flight_in_its_colour(built):
    assert built.sites and all(len(site.evidence) == 2 for site in built.sites)  # both flights saw each
    page = draw_survey_map(built, title="Panama City survey",
                           provenance={"software": "damagemap 9.9", "produced": "2026-12-05 11:00 UTC",
                                       "flights": {"monday": {"model": "default (abc)"},
                                                   "wednesday": {"model": "default (abc)"}}})
    map_ax = page.axes[0]
    numbers = sorted(int(t.get_text()) for t in map_ax.texts if isinstance(t, Annotation))
    assert numbers == sorted(site.id for site in built.sites)
    labels = _legend_labels(page)
    for level_label, n in ((lvl.label, c) for lvl, c in built.level_counts().items()):
        assert f"{level_label} damage site ({n})" in labels
    assert any(label.startswith("monday (2018-10-12)") for label in labels)
    assert any(label.startswith("wednesday (2018-10-14)") for label in labels)
    track_colours = {to_hex(line.get_color()) for line in map_ax.lines if line.get_linestyle() == "-"}
    assert {flight_colour(0), flight_colour(1)} <= track_colours
    texts = [t.get_text() for ax in page.axes for t in ax.texts] + [t.get_text() for t in page.texts]
    assert "Panama City survey" in texts
    assert "default (abc)" in texts  # one model for both flights: named, not "see the README"
    assert "damagemap 9.9" in texts and any(t.startswith("2 flights · 2018-10-12 to 2018-10-14") for t in texts)


def test_reviewed_survey_sites_are_ringed_and_counted(built):
    reviewed = replace(built, sites=[replace(built.sites[0], reviewed=True), *built.sites[1:]])
    assert "reviewed by an analyst (1)" in _legend_labels(draw_survey_map(reviewed))
    assert not any(label.startswith("reviewed") for label in _legend_labels(draw_survey_map(built)))


def test_the_atlas_cards_are_most_severe_first_with_the_most_confident_flights_picture(built):
    # wednesday's sighting of the first site is the more confident one: its picture is shown
    first = built.sites[0]
    better = tuple(replace(e, confidence=0.99) if e.flight == "wednesday" else replace(e, confidence=0.4)
                   for e in first.evidence)
    built = replace(built, sites=[replace(first, evidence=better), *built.sites[1:]])
    asked: list[tuple[str, int]] = []

    def closeup(flight: str, site_id: int) -> bytes:
        asked.append((flight, site_id))
        return _jpeg((200, 40, 40))

    pages = draw_survey_atlas(built, closeup, title="Panama City survey")
    assert len(pages) == math.ceil(len(built.sites) / (ATLAS_GRID[0] * ATLAS_GRID[1]))
    titles = [t.get_text() for page in pages for t in page.texts if re.match(r"Site \d+: ", t.get_text())]
    order = sorted(built.sites, key=lambda s: (-int(s.level), s.id))
    assert titles == [f"Site {s.id}: {s.level.label}" for s in order]
    wednesday = next(e for e in better if e.flight == "wednesday")
    assert ("wednesday", wednesday.flight_site_id) in asked
    assert ("monday", next(e for e in better if e.flight == "monday").flight_site_id) not in asked
    texts = [t.get_text() for t in pages[0].texts]
    assert "seen by 2 flights: monday, wednesday" in texts
    assert "wednesday, 2018-10-14" in texts  # the picture's flight, under it
    assert any(ax.images and ax.patches for ax in pages[0].axes)  # the close-up, its detection outlined
    assert pages[0].texts[0].get_text().startswith("Site atlas (1 of ") and "Panama City survey" in pages[0].texts[0].get_text()


def test_the_pdf_holds_the_page_then_the_atlas_and_no_sites_still_prints_the_flights(built, tmp_path):
    png, pdf = write_survey_print(tmp_path / "m.png", tmp_path / "m.pdf", built,
                                  closeup=lambda flight, site_id: None)
    pages = len(re.findall(rb"/Type /Page\b(?!s)", pdf.read_bytes()))
    assert pages == 1 + math.ceil(len(built.sites) / (ATLAS_GRID[0] * ATLAS_GRID[1]))
    assert png.read_bytes().startswith(b"\x89PNG")
    empty = replace(built, sites=[])
    png, pdf = write_survey_print(tmp_path / "e.png", tmp_path / "e.pdf", empty)
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf.read_bytes())) == 1
    assert "Slight damage site (0)" in _legend_labels(draw_survey_map(empty))


def test_a_basemap_lies_under_the_page_and_is_credited(built, flyover):
    from geo.basemap import read_basemap
    from geo.survey_grading import survey_bounds_lonlat

    basemap = read_basemap(flyover.paths.orthophoto, survey_bounds_lonlat(built), crs=built.local.crs, max_px=400)
    page = draw_survey_map(built, basemap=basemap)
    assert page.axes[0].images and page.axes[0].images[0].get_zorder() == 0
    texts = [t.get_text() for ax in page.axes for t in ax.texts]
    assert any("Basemap: nadir.tif" in t for t in texts)
    assert not draw_survey_map(built).axes[0].images


@pytest.mark.parametrize(("source", "attributed"), [("buildings.osm", True), ("extract.osm.pbf", True),
                                                    ("buildings.gpkg", False)])
def test_openstreetmap_footprints_are_credited_as_the_licence_asks(built, source, attributed):
    from geo.footprints import Footprints
    from geo.survey_grading import grade_survey

    d = 0.00005  # about 5 m: a roof under each site
    squares = [[(s.lon_deg - d, s.lat_deg - d), (s.lon_deg + d, s.lat_deg - d), (s.lon_deg + d, s.lat_deg + d),
                (s.lon_deg - d, s.lat_deg + d)] for s in built.sites]
    grading, _ = grade_survey(built, Footprints.from_polygons(squares, source=source))
    texts = [t.get_text() for ax in draw_survey_map(built, grading=grading).axes for t in ax.texts]
    credit = next(t for t in texts if "Building footprints:" in t)
    assert source in credit
    assert ("(c) OpenStreetMap contributors, ODbL" in credit) == attributed


def test_the_event_and_its_producer_head_the_page_and_the_atlas(built):
    from geo.export.products import ProductInfo, survey_map_title

    info = ProductInfo(event="Hurricane Michael", glide="TC-2018-000166-USA", organisation="MapAction",
                       analyst="R. Diaz")
    page = draw_survey_map(built, title=survey_map_title("Damage survey: Panama City", info), info=info,
                           provenance={"produced": "2026-12-05 11:00 UTC"})
    texts = [" ".join(t.get_text().split()) for ax in page.axes for t in ax.texts]  # the heading wraps
    assert "Damage survey: Panama City · Hurricane Michael (GLIDE TC-2018-000166-USA)" in texts
    assert "2026-12-05 11:00 UTC · MapAction · analyst R. Diaz" in texts
    assert any("Produced by MapAction" in t for t in texts)
    atlas = draw_survey_atlas(built, title=info.event)
    assert atlas[0].texts[0].get_text().startswith("Site atlas (1 of ") and "Hurricane Michael" in atlas[0].texts[0].get_text()


def test_flight_dates_read_as_a_day_and_a_time_in_utc():
    from geo.export.survey_html import date_text

    assert date_text("2018-10-12T15:00:00+00:00") == "2018-10-12 15:00 UTC"
    assert date_text("2018-10-12T10:00:00-05:00") == "2018-10-12 15:00 UTC"
    assert date_text("2018-10-12") == "2018-10-12"
    assert date_text(None) == "" and date_text("last tuesday") == "last tuesday"


def test_a_long_flight_name_gives_way_to_its_date(flyover_map):
    """A 64-character flight name (allowed) was cut at 48 characters in the legend, and its
    date and hectares with it."""
    damage_map, _ = flyover_map
    name = "Bay-County-east-sector-second-pass-after-the-storm-surge-drone-07"[:64]
    built = fuse_flights([FlightMap(name, damage_map, "2018-10-12"), FlightMap("wednesday", damage_map, "2018-10-14")])
    labels = _legend_labels(draw_survey_map(built))
    (long,) = [label for label in labels if label.startswith(name[:20])]
    assert "2018-10-12" in long and long.endswith(" ha") and "\u2026" in long and len(long) <= 48


@pytest.mark.parametrize("name", ["الشمال", "צפון העיר"])  # "the north" (Arabic), "the town's north" (Hebrew)
def test_a_right_to_left_survey_name_prints_in_the_title_without_boxes(built, name, monkeypatch):
    """The survey's name is isolated in the title its text files carry; the print map draws
    it without the isolates (matplotlib before 3.11 drew each as an empty box), and its
    letters with the default font's own glyphs; where matplotlib lays no text out right to
    left, the export says so rather than print it scrambled unawares."""
    import warnings

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from core.text import BIDI_CONTROLS, isolated
    from geo.export import print_map

    title = f"Damage survey: {isolated(name)}"
    assert set(title) & BIDI_CONTROLS  # the text files' title holds the isolates
    with print_map.plain_text():
        page = draw_survey_map(built, title=title)
        atlas = draw_survey_atlas(built, title=title)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            FigureCanvasAgg(page).draw()
    drawn = [t.get_text() for ax in page.axes for t in ax.texts] + [atlas[0].texts[0].get_text()]
    assert f"Damage survey: {name}" in drawn
    assert not any(set(text) & BIDI_CONTROLS for text in drawn)
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert print_map.unprintable(title) == ""  # DejaVu Sans has the letters
    if print_map.lays_out_right_to_left():  # matplotlib 3.11 and later: nothing to say
        assert print_map.print_notes(title) == []
    monkeypatch.setattr(print_map, "lays_out_right_to_left", lambda: False)
    notes = print_map.print_notes(title)
    assert len(notes) == 1 and "right-to-left" in notes[0] and "README show it as typed" in notes[0]
    assert print_map.print_notes("Damage survey: Panama City") == []


def test_a_survey_title_the_print_map_cannot_draw_is_said_in_the_export_notes(built, tmp_path):
    """A name with characters no font here has prints empty boxes: the export's notes (the
    command's output, the README) say which, as a flight's relief package does."""
    from services.survey import export_survey

    built = replace(built, notes=list(built.notes))
    cuneiform = "\U00012000"  # no font of the print map has it
    export_survey(built, tmp_path, formats=["print", "readme"], title=f"Damage survey: Ur {cuneiform}")
    said = [note for note in built.notes if "print map (PDF, PNG) cannot draw" in note]
    assert len(said) == 1 and cuneiform in said[0]
    assert cuneiform in (tmp_path / "survey_README.txt").read_text(encoding="utf-8").split("cannot draw", 1)[1]


def test_what_the_print_map_cannot_draw_is_said_once_from_what_it_prints_not_on_the_offline_map(built, tmp_path):
    """The survey export noted the undrawn characters of its title and event before the map
    was drawn, so the offline map (written before the print map) listed that early note
    among its processing notes; the print map's own note, made from every text it prints,
    is the one, in the notes and the README, as a flight's package has it."""
    from services.survey import export_survey

    built = replace(built, notes=list(built.notes))
    cuneiform = "\U00012000"  # no font of the print map has it
    export_survey(built, tmp_path, formats=["html", "print", "readme"], title=f"Damage survey: Ur {cuneiform}")
    said = [note for note in built.notes if "print map (PDF, PNG) cannot draw" in note]
    assert len(said) == 1 and cuneiform in said[0]
    assert "cannot draw" not in (tmp_path / "survey_map.html").read_text(encoding="utf-8")
    assert (tmp_path / "survey_README.txt").read_text(encoding="utf-8").count("cannot draw") == 1


def test_every_file_of_a_survey_carries_its_one_title(built, tmp_path, monkeypatch):
    """As a flight's relief package, a survey's files carry one title, the event in it: the
    print map and the offline map drew "Damage survey: town" with the event apart, or none."""
    import re
    import xml.etree.ElementTree as ET
    from html import unescape

    from geo.export import survey_print
    from geo.export.survey_files import write_survey_files
    from geo.export.products import ProductInfo

    drawn: list[str] = []
    draw = survey_print.draw_survey_map
    monkeypatch.setattr(survey_print, "draw_survey_map", lambda *a, **k: drawn.append(k["title"]) or draw(*a, **k))
    atlas_headings: list[str] = []
    pages = survey_print.draw_atlas_pages
    monkeypatch.setattr(survey_print, "draw_atlas_pages",
                        lambda cards, heading: atlas_headings.append(heading) or pages(cards, heading))
    info = ProductInfo(event="Hurricane Michael", glide="TC-2018-000166-USA")
    write_survey_files(built, tmp_path, ["kml", "html", "print", "readme"], title="Damage survey: town", info=info)
    title = "Damage survey: town · Hurricane Michael (GLIDE TC-2018-000166-USA)"
    page = (tmp_path / "survey_map.html").read_text(encoding="utf-8")
    kml = ET.parse(tmp_path / "survey_sites.kml").getroot()
    assert unescape(re.search(r"<title>(.*?)</title>", page).group(1)) == title
    assert unescape(re.search(r'<div class="dm-title">(.*?)</div>', page).group(1)) == title
    assert kml.findtext("{http://www.opengis.net/kml/2.2}Document/{http://www.opengis.net/kml/2.2}name") == title
    assert (tmp_path / "survey_README.txt").read_text(encoding="utf-8").splitlines()[0] == title
    assert drawn == [title]
    assert atlas_headings and set(atlas_headings) == {title}  # the atlas too, not the event alone
