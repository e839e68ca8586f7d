"""The project's offline basemap under the app's map: placed in the map's own plane."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from app.widgets.map_view import MapLayers, MapWidget, _Plane
from geo.basemap import read_basemap

#: Quadrant colours of the synthetic orthophoto (north-west, north-east, south-west, south-east).
NW, NE, SW, SE = (220, 30, 30), (30, 200, 30), (30, 30, 220), (230, 220, 20)


def _quadrant_geotiff(path, west, south, east, north, *, crs="EPSG:4326", size=64):
    """An RGB GeoTIFF over the box, one solid colour per quadrant (row 0 north)."""
    import rasterio
    from rasterio.transform import from_bounds

    image = np.zeros((3, size, size), np.uint8)
    half = size // 2
    for (rows, cols), colour in (((slice(0, half), slice(0, half)), NW), ((slice(0, half), slice(half, None)), NE),
                                 ((slice(half, None), slice(0, half)), SW), ((slice(half, None), slice(half, None)), SE)):
        for band in range(3):
            image[band, rows, cols] = colour[band]
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=3, dtype="uint8", crs=crs,
                       transform=from_bounds(west, south, east, north, size, size)) as dst:
        dst.write(image)
    return path


def _utm_box(lon0, lat0, half_m):
    """A square ``half_m`` around a point in its UTM zone (a CRS unlike the map's plane)."""
    from pyproj import Transformer

    epsg = 32600 + int((lon0 + 180) // 6) + 1
    x, y = Transformer.from_crs("EPSG:4326", epsg, always_xy=True).transform(lon0, lat0)
    return f"EPSG:{epsg}", (x - half_m, y - half_m, x + half_m, y + half_m)


def test_the_basemap_lies_under_the_map_in_its_own_plane(qtbot, tmp_path):
    lon0, lat0 = -85.66, 30.15
    crs, box = _utm_box(lon0, lat0, 300.0)
    tif = _quadrant_geotiff(tmp_path / "ortho.tif", *box, crs=crs)
    widget = MapWidget()
    qtbot.addWidget(widget)
    widget.resize(800, 800)  # the legend (top left) covers none of the points looked at
    widget.show()
    track = ((lon0 - 0.001, lat0 - 0.001), (lon0 + 0.001, lat0 + 0.001))
    widget.set_layers(MapLayers(source=None, track_segments=(track,)))
    request = widget.basemap_request()
    assert request is not None
    bounds, plane_crs = request
    # The track's box rounded out to the 0.001° grid.
    assert bounds[0] <= track[0][0] < bounds[0] + 0.001 + 1e-9 and bounds[1] <= track[0][1] < bounds[1] + 0.001 + 1e-9
    assert bounds[2] - 0.001 - 1e-9 < track[1][0] <= bounds[2] and bounds[3] - 0.001 - 1e-9 < track[1][1] <= bounds[3]
    assert all(abs(v * 1000 - round(v * 1000)) < 1e-6 for v in bounds)
    basemap = read_basemap(tif, bounds, crs=plane_crs, margin_m=widget.BASEMAP_MARGIN_M, max_px=256)
    assert widget.set_basemap(basemap, plane_crs)
    item = widget.basemap_item
    assert item is not None and item.zValue() < 1  # under the heat (1), the track (2) and everything else

    # Its rectangle is the basemap's bounds, taken to lon/lat and through the map's plane.
    west, south, east, north = basemap.bounds_lonlat()
    plane = widget._plane
    top_left, bottom_right = plane.point(west, north), plane.point(east, south)
    rect = item.sceneBoundingRect()
    assert rect.left() == pytest.approx(top_left.x(), abs=0.05)
    assert rect.top() == pytest.approx(top_left.y(), abs=0.05)
    assert rect.right() == pytest.approx(bottom_right.x(), abs=0.05)
    assert rect.bottom() == pytest.approx(bottom_right.y(), abs=0.05)

    # North is up and east is right: each quadrant's colour where its lon/lat is drawn.
    widget.fit()
    image = widget.grab().toImage()
    dlon, dlat = 0.0012, 0.0005  # off the track's diagonal, inside the margin
    for (sx, sy), colour in (((-1, 1), NW), ((1, 1), NE), ((-1, -1), SW), ((1, -1), SE)):
        at = widget.mapFromScene(plane.point(lon0 + sx * dlon, lat0 + sy * dlat))
        pixel = image.pixelColor(at.x(), at.y())
        assert (pixel.red(), pixel.green(), pixel.blue()) == pytest.approx(colour, abs=12), (sx, sy)

    # A basemap read for another plane (an older map) is not drawn; None removes it.
    assert not widget.set_basemap(basemap, "EPSG:3857") and widget.basemap_item is None
    assert widget.set_basemap(basemap, plane_crs) and widget.basemap is basemap
    widget.set_layers(MapLayers(source=None, track_segments=(track,)))  # a rebuild of the same map keeps it
    assert widget.basemap_item is not None
    assert widget.set_basemap(None) and widget.basemap_item is None
    widget.set_layers(MapLayers(source=None, track_segments=(((0.0, 0.0), (0.001, 0.001)),)))
    assert widget.basemap is None  # elsewhere: dropped


def test_the_map_panel_reads_the_projects_basemap(qtbot, flyover, map_panel, errors, caplog):
    from core.store import ProjectStore
    from geo.telemetry import read_telemetry
    from services.package import set_product_sources

    lonlat = np.asarray(read_telemetry(flyover / "flight.gpx").lonlat(), dtype=np.float64).reshape(-1, 2)
    (west, south), (east, north) = lonlat.min(axis=0) - 0.003, lonlat.max(axis=0) + 0.003
    tif = _quadrant_geotiff(flyover / "ortho.tif", west, south, east, north)
    panel, doc = map_panel, map_panel.document
    qtbot.waitUntil(lambda: not panel.basemap_loading, timeout=10_000)
    assert panel.map_widget.basemap_item is None  # the project stores none yet
    with ProjectStore.open(doc.project_path) as store:
        set_product_sources(store, basemap=tif)
    panel.rebuild()
    qtbot.waitUntil(lambda: panel.map_widget.basemap_item is not None, timeout=10_000)
    assert panel.map_widget.basemap.source == str(tif.resolve())
    assert "basemap: ortho.tif" in panel.map_widget.legend_rows()

    # A basemap elsewhere is logged and left out, never an error box.
    far = _quadrant_geotiff(flyover / "far.tif", 10.0, 10.0, 10.01, 10.01)
    with ProjectStore.open(doc.project_path) as store:
        set_product_sources(store, basemap=far)
    with caplog.at_level(logging.WARNING, logger="app.panels.map_panel"):
        panel.rebuild()
        qtbot.waitUntil(lambda: panel.map_widget.basemap_item is None, timeout=10_000)
        qtbot.waitUntil(lambda: not panel.basemap_loading, timeout=10_000)
    assert "does not cover the mapped area" in caplog.text
    doc.close()
    assert panel.map_widget.basemap is None
    assert errors == []


def test_graded_buildings_are_drawn_in_their_grades_colour(qtbot):
    from geo.grading import COLOURS
    from services.maps import BuildingOutline

    widget = MapWidget()
    qtbot.addWidget(widget)
    lon0, lat0 = -85.66, 30.15
    widget.set_layers(MapLayers(source=None, track_segments=(((lon0, lat0), (lon0 + 0.001, lat0)),)))
    ring = ((lon0, lat0), (lon0 + 0.0002, lat0), (lon0 + 0.0002, lat0 + 0.0001), (lon0, lat0 + 0.0001), (lon0, lat0))
    widget.set_buildings([BuildingOutline((ring,), "severe", "Severe"), BuildingOutline((ring,), "none", "No visible damage")])
    severe, intact = widget.building_items
    assert severe.pen().color().name() == COLOURS["severe"].lower() and intact.pen().color().name() == COLOURS["none"].lower()
    corner = severe.polygon()[2]
    expected = widget._plane.point(lon0 + 0.0002, lat0 + 0.0001)
    assert (corner.x(), corner.y()) == pytest.approx((expected.x(), expected.y()))
    first = severe.polygon()[0]
    assert corner.x() - first.x() == pytest.approx(19.3, abs=0.2)  # 0.0002° east is right
    assert corner.y() - first.y() == pytest.approx(-11.05, abs=0.1)  # 0.0001° north is up
    assert "building: not assessed" in widget.legend_rows()
    widget.set_layers(MapLayers(source=None, track_segments=(((lon0, lat0), (lon0 + 0.001, lat0)),)))
    assert len(widget.building_items) == 2  # kept over a rebuild until new grades come
    widget.set_buildings(None)
    assert widget.building_items == [] and "building: not assessed" not in widget.legend_rows()



def test_a_basemap_the_map_cannot_show_is_said_on_the_status_bar(qtbot, window, flyover, errors):
    """Left out of the map, never an error box, but the analyst hears why (a project
    moved without its basemap lost it silently)."""
    from app.panels.map_panel import MapPanel
    from core.store import ProjectStore
    from services.package import set_product_sources

    assert window.open_path(flyover / "flight.mp4")
    panel = window.panel(MapPanel)
    far = _quadrant_geotiff(flyover / "far.tif", 10.0, 10.0, 10.01, 10.01)
    with ProjectStore.open(window.document.project_path) as store:
        set_product_sources(store, basemap=far)
    qtbot.waitUntil(lambda: not panel.basemap_loading, timeout=10_000)
    panel.rebuild()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Basemap not shown: "), timeout=20_000)
    assert "does not cover the mapped area" in window.statusBar().currentMessage() and errors == []


def test_a_rebuilt_map_draws_again_only_the_buildings_whose_grade_changed(qtbot, monkeypatch):
    """After a decision the map is built again and the buildings regraded: a long flight's
    hundreds of outlines were placed and drawn anew twice each time, for a grade or two."""
    from geo.grading import COLOURS
    from services.maps import BuildingOutline

    widget = MapWidget()
    qtbot.addWidget(widget)
    lon0, lat0 = -85.66, 30.15
    layers = MapLayers(source=None, track_segments=(((lon0, lat0), (lon0 + 0.001, lat0)),))
    widget.set_layers(layers)
    rings = [((lon0 + k * 0.0003, lat0), (lon0 + k * 0.0003 + 0.0002, lat0), (lon0 + k * 0.0003, lat0 + 0.0001),
              (lon0 + k * 0.0003, lat0)) for k in range(3)]
    widget.set_buildings([BuildingOutline((ring,), "none", "No visible damage") for ring in rings])
    before = list(widget.building_items)
    placed = []
    monkeypatch.setattr(_Plane, "polygon", lambda plane, ring, f=_Plane.polygon: (placed.append(ring), f(plane, ring))[1])
    widget.set_layers(layers)  # the map built again: the buildings drawn before stay until new grades come
    assert widget.building_items == before and all(item.scene() is widget.scene() for item in before)
    widget.set_buildings([BuildingOutline((rings[0],), "severe", "Severe"),
                          *(BuildingOutline((ring,), "none", "No visible damage") for ring in rings[1:])])
    assert placed == [rings[0]]  # only the regraded one drawn anew
    assert widget.building_items[1:] == before[1:] and widget.building_items[0] is not before[0]
    assert widget.building_items[0].pen().color().name() == COLOURS["severe"].lower()
    assert before[0].scene() is None and len(widget.scene().items()) == len(before) + 3  # + track, view, drone
    widget.set_buildings_graded(False)  # another run's grades: all in the plain style
    assert len(placed) == 4 and {item.toolTip() for item in widget.building_items} == {
        "Building (graded when the analysis ends)"}


@pytest.mark.parametrize("lon0", [179.9999, -179.9999])
def test_a_basemap_across_180_degrees_is_read_for_the_area_flown_and_drawn_under_it(qtbot, tmp_path, lon0):
    lat0 = -16.5
    crs, box = _utm_box(lon0, lat0, 300.0)
    tif = _quadrant_geotiff(tmp_path / "ortho.tif", *box, crs=crs)
    widget = MapWidget()
    qtbot.addWidget(widget)
    widget.resize(800, 800)
    widget.show()
    def wrapped(lon):  # as a file holds it: within -180..180
        return (lon + 180.0) % 360.0 - 180.0

    track = ((wrapped(lon0 - 0.001), lat0 - 0.001), (wrapped(lon0 + 0.001), lat0 + 0.001))  # across 180°
    widget.set_layers(MapLayers(source=None, track_segments=(track,)))
    bounds, plane_crs = widget.basemap_request()
    assert bounds[2] - bounds[0] < 0.01  # the area flown, not -180..180
    basemap = read_basemap(tif, bounds, crs=plane_crs, margin_m=widget.BASEMAP_MARGIN_M, max_px=256)
    assert widget.set_basemap(basemap, plane_crs)

    widget.fit()
    image = widget.grab().toImage()
    plane = widget._plane
    dlon, dlat = 0.0012, 0.0005
    for (sx, sy), colour in (((-1, 1), NW), ((1, 1), NE), ((-1, -1), SW), ((1, -1), SE)):
        at = widget.mapFromScene(plane.point(wrapped(lon0 + sx * dlon), lat0 + sy * dlat))
        pixel = image.pixelColor(at.x(), at.y())
        assert (pixel.red(), pixel.green(), pixel.blue()) == pytest.approx(colour, abs=12), (sx, sy)
