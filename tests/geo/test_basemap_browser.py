"""The HTML map with the offline basemap and graded buildings renders in a browser engine
with every network request blocked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6.QtWebEngineWidgets")

from tests.offline_browser import open_offline  # noqa: E402


def test_graded_buildings_on_the_basemap_offline(qtbot, flyover, flyover_map, tmp_path):
    from geo.basemap import read_basemap
    from geo.coverage import flown_bounds_lonlat, footprint_coverage
    from geo.export.html import write_html
    from geo.export.products import ProductInfo, html_layers
    from geo.footprints import read_footprints
    from geo.grading import grade_buildings

    damage_map, _ = flyover_map
    scene = Path(flyover.paths.truth).parent
    footprints = read_footprints(scene / "footprints.geojson")
    coverage = footprint_coverage(damage_map, footprints)
    grading = grade_buildings(damage_map, footprints, coverage)
    basemap = read_basemap(scene / "nadir.tif", flown_bounds_lonlat(damage_map))
    html = write_html(tmp_path / "map.html", damage_map, extra_layers=html_layers(
        grading=grading, coverage=coverage, basemap=basemap, info=ProductInfo(event="Test storm")))

    view, interceptor = open_offline(qtbot, html)
    probe = (
        "JSON.stringify({buildings: document.querySelectorAll('path.dm-building').length,"
        " basemap: Array.from(document.querySelectorAll('.leaflet-dm-basemap-pane img'))"
        "   .filter(i => i.complete && i.naturalWidth > 0).length,"
        " grades: !!document.getElementById('dm-grades')})"
    )
    result: dict = {}

    def drawn() -> bool:
        view.page().runJavaScript(probe, 0, lambda value: result.update(json.loads(value)))
        return result.get("buildings", 0) == len(grading.buildings) and result.get("basemap", 0) == 1

    qtbot.waitUntil(drawn, timeout=30_000)
    assert result["grades"]
    assert interceptor.blocked == []  # the page asks no server for anything
    shot = tmp_path / "map.png"

    def painted() -> bool:  # the compositor paints a little after the DOM is ready
        image = view.grab().toImage()
        image.save(str(shot))
        from PIL import Image

        colours = Image.open(shot).convert("RGB").resize((110, 75)).getcolors(110 * 75)
        return colours is not None and len(colours) > 500  # the orthophoto's texture, not a flat page

    qtbot.waitUntil(painted, timeout=30_000)
