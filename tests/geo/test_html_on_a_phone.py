"""The relief package's HTML map as a field team uses it: on a phone (390x844) and a
laptop (1366x768), with no network, in a real browser engine (QtWebEngine, offscreen)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6.QtWebEngineWidgets")

from tests.offline_browser import LAPTOP, PHONE, open_offline, read_page_until  # noqa: E402

#: What the page lays over the map, and where each is (only those shown).
_OVERLAYS = (
    "(function () {"
    " var names = {summary: '#dm-summary', legend: '#dm-legend', grades: '#dm-grades',"
    "  layers: '.leaflet-control-layers', zoom: '.leaflet-control-zoom',"
    "  credits: '.leaflet-control-attribution', scale: '.leaflet-control-scale', popup: '.leaflet-popup'};"
    " var shown = {};"
    " Object.keys(names).forEach(function (key) {"
    "  var element = document.querySelector(names[key]); if (!element) { return; }"
    "  var box = element.getBoundingClientRect();"
    "  if (box.width > 0 && box.height > 0 && getComputedStyle(element).visibility !== 'hidden') {"
    "   shown[key] = [box.left, box.top, box.right, box.bottom]; }"
    " });"
    " var layers = document.querySelector('.leaflet-control-layers');"
    " return {shown: shown, sites: document.querySelectorAll('path.dm-site').length,"
    "  layersOpen: layers.classList.contains('leaflet-control-layers-expanded')};"
    "})()"
)


@pytest.fixture
def package_map(flyover, flyover_map, tmp_path) -> Path:
    """The package's HTML map: graded buildings, the camera footprints, the grades' legend."""
    from geo.coverage import footprint_coverage
    from geo.export.html import write_html
    from geo.export.products import ProductInfo, camera_records, html_layers
    from geo.footprints import read_footprints
    from geo.grading import grade_buildings

    damage_map, _ = flyover_map
    footprints = read_footprints(Path(flyover.paths.truth).parent / "footprints.geojson")
    coverage = footprint_coverage(damage_map, footprints)
    grading = grade_buildings(damage_map, footprints, coverage)
    return write_html(tmp_path / "map.html", damage_map, extra_layers=html_layers(
        grading=grading, coverage=coverage, camera=camera_records(damage_map),
        info=ProductInfo(event="Test storm", organisation="Red Cross"), credits=[
            "Analysis and map: damagemap (MIT licence), map rendering with Leaflet and matplotlib",
            "Building footprints: footprints.geojson", "Basemap: nadir.tif", "Imagery: drone video flight.mp4",
            "Produced by Red Cross"]))  # as long as a package's credits: two lines on a laptop


def _overlapping(shown: dict[str, list[float]]) -> list[tuple[str, str]]:
    names = sorted(shown)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            (l1, t1, r1, b1), (l2, t2, r2, b2) = shown[a], shown[b]
            if min(r1, r2) - max(l1, l2) > 1 and min(b1, b2) - max(t1, t2) > 1:
                pairs.append((a, b))
    return pairs


def _area(box: list[float]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def test_on_a_phone_the_panels_leave_the_map_free_and_do_not_cover_each_other(qtbot, package_map, flyover_map):
    damage_map, _ = flyover_map
    view, interceptor = open_offline(qtbot, package_map, size=PHONE)
    page = read_page_until(qtbot, view, _OVERLAYS, lambda page: page["sites"] == len(damage_map.sites))
    assert not page["layersOpen"]  # the layer list folded behind its button, as Leaflet does on a phone
    assert _overlapping(page["shown"]) == []
    covered = sum(_area(box) for box in page["shown"].values())
    assert covered < 0.3 * PHONE[0] * PHONE[1], page["shown"]  # open, 0.6
    layers = page["shown"]["layers"]
    assert layers[2] - layers[0] >= 30 and layers[3] - layers[1] >= 30  # a button a finger can tap
    assert interceptor.blocked == []


def test_on_a_phone_a_site_popup_is_not_hidden_under_the_panels(qtbot, package_map, flyover_map):
    damage_map, _ = flyover_map
    view, _ = open_offline(qtbot, package_map, size=PHONE)
    read_page_until(qtbot, view, _OVERLAYS, lambda page: page["sites"] == len(damage_map.sites))
    view.page().runJavaScript("document.querySelector('#dm-site-list .dm-item').click()")
    page = read_page_until(qtbot, view, _OVERLAYS, lambda page: "popup" in page["shown"])
    popup = page["shown"]["popup"]
    assert popup[0] >= 0 and popup[2] <= PHONE[0]  # as wide as the screen at most
    assert [pair for pair in _overlapping(page["shown"]) if "popup" in pair] == []  # nor the zoom buttons
    title = read_page_until(qtbot, view, "document.elementFromPoint(...(function (b) { return [b.left + 5, b.top + 5]; })"
                               "(document.querySelector('.leaflet-popup-content b').getBoundingClientRect()))"
                               ".closest('.leaflet-popup') !== null", lambda on_top: on_top is not None)
    assert title  # its title is what a finger touches there


def test_on_a_laptop_the_layers_and_legends_stay_open(qtbot, package_map, flyover_map):
    damage_map, _ = flyover_map
    view, _ = open_offline(qtbot, package_map, size=LAPTOP)
    page = read_page_until(qtbot, view, _OVERLAYS, lambda page: page["sites"] == len(damage_map.sites))
    assert page["layersOpen"]
    assert _overlapping(page["shown"]) == []  # the credits no longer cover the scale bar
    legend = page["shown"]["legend"]
    assert legend[3] - legend[1] > 100  # open: every row of it


#: A laptop's browser window, less its tabs and bars: the layer list covers a third of the map's width.
SMALL_LAPTOP = (1280, 760)
#: Where each site's dot is on the page.
_SITE_BOXES = ("[].map.call(document.querySelectorAll('path.dm-site'), function (p) {"
               " var b = p.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })")


@pytest.mark.parametrize("size", [SMALL_LAPTOP, LAPTOP, PHONE], ids=["small-laptop", "laptop", "phone"])
def test_the_first_view_shows_every_site_clear_of_the_open_panels(qtbot, package_map, flyover_map, size):
    """The layer list stays open on a laptop (above); the first view is fitted to the
    sites in what the panels leave of the map, so that none starts under them."""
    damage_map, _ = flyover_map
    view, _ = open_offline(qtbot, package_map, size=size)
    page = read_page_until(qtbot, view, f"{{overlays: {_OVERLAYS}, sites: {_SITE_BOXES}}}",
                           lambda page: len(page["sites"]) == len(damage_map.sites))
    panels = {name: box for name, box in page["overlays"]["shown"].items() if name not in ("zoom", "scale")}
    assert page["overlays"]["layersOpen"] == (size != PHONE) and "layers" in panels
    for dot in page["sites"]:
        assert 0 <= dot[0] and dot[2] <= size[0] and 0 <= dot[1] and dot[3] <= size[1], dot
        covered = [name for name, box in panels.items() if _overlapping({"dot": dot, name: box})]
        assert covered == [], (dot, covered, panels)


def test_the_map_shows_where_the_drone_did_not_film(qtbot, package_map, flyover_map):
    """The outline of the area filmed is on from the start, and the legend says that no
    site outside it is no news, not an all-clear."""
    damage_map, _ = flyover_map
    view, _ = open_offline(qtbot, package_map, size=LAPTOP)
    page = read_page_until(qtbot, view, "{sites: document.querySelectorAll('path.dm-site').length,"
                              " filmed: document.querySelectorAll('path.dm-area-filmed').length,"
                              " legend: document.getElementById('dm-grades').innerText}",
                 lambda page: page["sites"] == len(damage_map.sites))
    assert page["filmed"] >= 1
    assert "Area filmed" in page["legend"] and "does not mean no damage" in page["legend"]


def test_a_team_finds_a_site_by_its_number(qtbot, package_map, flyover_map):
    """"Go to site 12": the number the print map gives it, typed on the phone, opens it."""
    damage_map, _ = flyover_map
    wanted = max(damage_map.sites, key=lambda s: s.id)  # not the list's first
    view, _ = open_offline(qtbot, package_map, size=PHONE)
    read_page_until(qtbot, view, _OVERLAYS, lambda page: page["sites"] == len(damage_map.sites))
    typed = ("(function (text) { var form = document.getElementById('dm-site-find');"
             " form.querySelector('input').value = text; form.requestSubmit(); return true; })")
    view.page().runJavaScript(f"{typed}('{wanted.id}')")
    title = read_page_until(qtbot, view, "(document.querySelector('.leaflet-popup-content b') || {}).textContent || ''", bool)
    assert title == f"Site {wanted.id}: {wanted.level.label}"
    view.page().runJavaScript(f"{typed}('{wanted.id + 1000}')")
    said = read_page_until(qtbot, view, "document.querySelector('#dm-site-find .dm-find-result').textContent", bool)
    assert said.startswith(f"No site {wanted.id + 1000} on this map")


def test_a_map_of_one_site_opens_on_the_houses_around_it_not_at_the_closest_zoom(qtbot, flyover_map, tmp_path):
    """One site has bounds of no size, which Leaflet fits at the map's closest zoom (21:
    blown-up tiles of one roof); the first view stops at the tiles' own most detailed."""
    from dataclasses import replace

    from geo.export.first_view import FIT_MAX_ZOOM
    from geo.export.html import write_html

    damage_map, _ = flyover_map
    one_site = replace(damage_map, fused=damage_map.fused[:1], unconfirmed=[])
    view, _ = open_offline(qtbot, write_html(tmp_path / "one.html", one_site), size=LAPTOP)
    zoom = read_page_until(qtbot, view, "(function () { for (var key in window) {"
                           " if (window[key] instanceof L.Map) { return window[key].getZoom(); } } return null; })()",
                           lambda zoom: zoom is not None)
    assert 17 <= zoom <= FIT_MAX_ZOOM
