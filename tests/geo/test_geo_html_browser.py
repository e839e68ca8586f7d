"""The exported HTML map renders in a real browser engine with every network request blocked.

Only this test (not the geo package) uses Qt: PySide6's QWebEngineView, offscreen.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6.QtWebEngineWidgets")

from tests.offline_browser import open_offline, read_page_until  # noqa: E402


@pytest.fixture
def html_path(flyover_map, tmp_path):
    from geo.export import export_map

    damage_map, _ = flyover_map
    return export_map(damage_map, tmp_path, formats=["html"], thumbnail=lambda i: None)[0]


def test_map_renders_offline(qtbot, html_path, flyover_map, tmp_path):
    damage_map, _ = flyover_map
    view, interceptor = open_offline(qtbot, html_path)

    result: dict = {}
    probe = (
        "JSON.stringify({leaflet: typeof L, maps: document.querySelectorAll('.leaflet-container').length,"
        " sites: document.querySelectorAll('path.dm-site').length,"
        " overlay: document.querySelectorAll('img.leaflet-image-layer').length,"
        " layers: document.querySelectorAll('.leaflet-control-layers-overlays label').length,"
        " legend: !!document.getElementById('dm-legend'),"
        " total: (document.getElementById('dm-site-total') || {}).textContent})"
    )

    def run_probe() -> None:
        view.page().runJavaScript(probe, 0, lambda value: result.update(json.loads(value)))

    def markers_drawn() -> bool:
        run_probe()
        return result.get("sites", 0) == len(damage_map.sites)

    qtbot.waitUntil(markers_drawn, timeout=30_000)
    assert result["leaflet"] == "object" and result["maps"] == 1
    assert result["overlay"] == 1 and result["legend"] and result["layers"] >= 4
    assert result["total"] == str(len(damage_map.sites))
    assert interceptor.blocked == []  # the page asks no server for anything

    colours = {site.level.colour_rgb for site in damage_map.sites}
    shot = tmp_path / "damage_map.png"

    def markers_painted() -> bool:  # the compositor paints a little after the DOM is ready
        image = view.grab().toImage()
        image.save(str(shot))
        return level_pixels(image, colours) > 20

    qtbot.waitUntil(markers_painted, timeout=30_000)


def level_pixels(image, colours) -> int:
    """How many sampled pixels show one of the level colours."""
    count = 0
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            c = image.pixelColor(x, y)
            rgb = (c.red(), c.green(), c.blue())
            if any(all(abs(a - b) < 12 for a, b in zip(rgb, colour)) for colour in colours):
                count += 1
    return count


def test_the_map_opens_on_the_plain_background_and_comes_back_to_it_when_openstreetmap_fails(qtbot, html_path):
    """No tile server is asked where the team works until OpenStreetMap is chosen; chosen
    with no network, the map goes back to the plain background by itself."""
    view, interceptor = open_offline(qtbot, html_path, size=(800, 600))
    probe = (
        "JSON.stringify(Array.from(document.querySelectorAll('.leaflet-control-layers-base label'))"
        ".filter(l => l.querySelector('input').checked).map(l => l.textContent.trim()))"
    )
    checked: list = []

    def base_layer_is(name: str):  # noqa: ANN202
        def check() -> bool:
            view.page().runJavaScript(probe, 0, lambda value: checked.append(json.loads(value)))
            return bool(checked) and checked[-1] == [name]
        return check

    qtbot.waitUntil(base_layer_is("Plain background (offline)"), timeout=30_000)
    assert interceptor.blocked == []
    view.page().runJavaScript(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-base label'))"
        ".find(l => l.textContent.includes('OpenStreetMap')).querySelector('input').click()")
    qtbot.waitUntil(lambda: any("openstreetmap" in url for url in interceptor.blocked), timeout=30_000)
    qtbot.waitUntil(base_layer_is("Plain background (offline)"), timeout=30_000)


def test_the_survey_map_renders_offline_with_every_flight_and_site(qtbot, flyover_map, tmp_path):
    from geo.export.survey_html import write_survey_html
    from geo.survey_fusion import FlightMap, fuse_flights

    damage_map, _ = flyover_map
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12"), FlightMap("wednesday", damage_map, "2018-10-14")])
    assert built.sites and all(len(s.evidence) == 2 for s in built.sites)  # the same flight twice: every site shared
    path = write_survey_html(tmp_path / "survey_map.html", built, title="Damage survey: town")
    view, interceptor = open_offline(qtbot, path)
    result = _probe_until_drawn(qtbot, view, len(built.sites), (
        "{sites: document.querySelectorAll('path.dm-site').length,"
        " tracks: document.querySelectorAll('path.leaflet-interactive:not(.dm-site)').length,"
        " layers: Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(l => l.textContent.trim()),"
        " total: (document.getElementById('dm-site-total') || {}).textContent}"
    ))
    assert result["total"] == str(len(built.sites)) and result["tracks"] >= 2
    assert {"Flight monday (2018-10-12)", "Flight wednesday (2018-10-14)"} <= set(result["layers"])
    assert _open_first_listed(qtbot, view) == "Site {0.id}: {0.level.label}".format(
        min(built.sites, key=lambda s: (-int(s.level), s.id)))  # the list works on the survey's map too
    assert interceptor.blocked == []  # the page asks no server for anything


def _probe_until_drawn(qtbot, view, sites: int, fields: str) -> dict:
    """``fields`` (a JavaScript object literal with a ``sites`` count) read from the page
    until that many site circles are drawn."""
    return read_page_until(qtbot, view, fields, lambda result: result.get("sites", 0) == sites, timeout=30_000)


def test_a_site_of_the_list_opens_on_the_map_when_clicked(qtbot, html_path, flyover_map):
    damage_map, _ = flyover_map
    first = min(damage_map.sites, key=lambda s: (-int(s.level), s.id))  # the list's first: most severe
    view, _ = open_offline(qtbot, html_path)
    _probe_until_drawn(qtbot, view, len(damage_map.sites), "{sites: document.querySelectorAll('path.dm-site').length}")
    listed = read_page_until(qtbot, view, "Array.from(document.querySelectorAll('#dm-site-list .dm-item'))"
                                      ".map(i => i.dataset.site)", lambda ids: ids is not None)
    assert listed[0] == str(first.id) and len(listed) == len(damage_map.sites)
    assert _open_first_listed(qtbot, view) == f"Site {first.id}: {first.level.label}"


def _open_first_listed(qtbot, view) -> str:
    """Click the first site of the page's list; the title of the popup that opens."""
    view.page().runJavaScript("document.querySelector('#dm-site-list .dm-item').click()")
    return read_page_until(qtbot, view, "(document.querySelector('.leaflet-popup-content b') || {}).textContent || ''",
                       bool)


def test_a_popup_shows_its_pictures_and_a_frame_two_sites_share_is_in_the_page_once(qtbot, flyover_map, tmp_path):
    """The pictures are put in when a popup opens (each once in the page, however many
    sites share it), sized before they load; the browser decodes them there."""
    import cv2
    import numpy as np

    from geo.export import export_map

    damage_map, _ = flyover_map
    frame = np.zeros((180, 320, 3), dtype=np.uint8)
    frame[:, 160:] = (200, 120, 40)
    _, shared = cv2.imencode(".jpg", frame)  # every site's best frame: the same picture
    path = export_map(damage_map, tmp_path, formats=["html"], thumbnail=lambda i: shared.tobytes())[0]
    page = path.read_text()
    assert page.count("data:image/jpeg;base64,") == 1 and len(damage_map.sites) > 1
    assert 'data-dm-picture="0"' in page and 'height="169"' in page  # 300 px wide, as 320x180
    view, _ = open_offline(qtbot, path)
    _probe_until_drawn(qtbot, view, len(damage_map.sites), "{sites: document.querySelectorAll('path.dm-site').length}")
    _open_first_listed(qtbot, view)
    pictures = read_page_until(qtbot, view, "Array.from(document.querySelectorAll('.leaflet-popup-content img'))"
                                        ".map(i => [i.src.slice(0, 23), i.naturalWidth, i.clientHeight])",
                           lambda shown: bool(shown) and all(width > 0 for _, width, _ in shown))
    assert pictures == [["data:image/jpeg;base64,", 320, 169]]


def test_a_popup_taller_than_the_map_scrolls_inside_it_with_its_title_in_view(qtbot, flyover_map, tmp_path):
    """A survey site seen by two flights, each with its close-up, on a short map (a
    laptop's, a phone's): the popup is no taller than the map, its title on the map, and
    what does not fit scrolls inside it."""
    import cv2
    import numpy as np

    from geo.export.survey_html import write_survey_html
    from geo.survey_fusion import FlightMap, fuse_flights

    damage_map, _ = flyover_map
    built = fuse_flights([FlightMap("monday", damage_map, "2018-10-12"), FlightMap("wednesday", damage_map, "2018-10-14")])
    jpeg = cv2.imencode(".jpg", np.full((240, 240, 3), 120, dtype=np.uint8))[1].tobytes()
    path = write_survey_html(tmp_path / "survey_map.html", built, closeup=lambda flight, site_id: jpeg)
    view, _ = open_offline(qtbot, path, size=(900, 420))
    _probe_until_drawn(qtbot, view, len(built.sites), "{sites: document.querySelectorAll('path.dm-site').length}")
    _open_first_listed(qtbot, view)
    fit = read_page_until(qtbot, view, "(function () { var box = document.querySelector('.leaflet-popup-content');"
                                   " var map = document.querySelector('.leaflet-container').getBoundingClientRect();"
                                   " var title = document.querySelector('.leaflet-popup-content b')"
                                   ".getBoundingClientRect();"
                                   " return {height: box.clientHeight, scroll: box.scrollHeight, map: map.height,"
                                   " titleTop: title.top - map.top}; })()", lambda measured: measured["scroll"] > 0)
    assert fit["height"] <= fit["map"] - 60 and fit["scroll"] > fit["height"]  # scrolls inside, no taller than the map
    assert fit["titleTop"] >= 0  # its title on the map (Leaflet pans a popup that fits into view)
