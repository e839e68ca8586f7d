"""The maps a user looks at show a flight across 180° longitude as one place: the HTML
map (Leaflet takes longitudes past 180), the print map, while the GIS files stay within
-180..180 (``test_antimeridian.py``)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from geo_helpers import map_across_180


@pytest.fixture(scope="module")
def crossed_map(flyover):
    """The flyover's map with its track moved so that it crosses 180° in the middle."""
    damage_map = map_across_180(flyover, title="Over Fiji")
    lons = [s.lon_deg for s in damage_map.sites]
    assert min(lons) < 0 < max(lons)  # sites on both sides of 180°
    return damage_map


def _spread_deg(lons) -> float:
    return float(np.max(lons) - np.min(lons))


def _page_longitudes(page: str) -> dict[str, list[float]]:
    """The longitudes the page gives Leaflet: of the site markers, the track and the
    heatmap overlay, and the fitted view."""
    pair = r"\[\s*(-?[\d.]+),\s*(-?[\d.]+)\s*\]"
    markers = [float(m.group(2)) for m in re.finditer(r"L\.circleMarker\(\s*" + pair, page)]
    lines = [float(lon) for block in re.findall(r"L\.polyline\(\s*(\[\[.*?\]\])", page, re.S)
             for _, lon in re.findall(pair, block)]
    overlays = [float(lon) for block in re.findall(r"L\.imageOverlay\(\s*\"[^\"]*\",\s*(\[\[.*?\]\])", page, re.S)
                for _, lon in re.findall(pair, block)]
    fitted = [float(lon) for block in re.findall(r"map_\w+\.fitBounds\(\s*(\[\[.*?\]\])", page, re.S)
              for _, lon in re.findall(pair, block)]
    return {"markers": markers, "track": lines, "heatmap": overlays, "view": fitted}


def test_the_html_map_of_a_flight_across_180_draws_it_in_one_place(crossed_map):
    from geo.export.html import render_html

    found = _page_longitudes(render_html(crossed_map))
    assert all(found.values()), {k: len(v) for k, v in found.items()}
    everything = [lon for values in found.values() for lon in values]
    assert _spread_deg(everything) < 0.1  # not at the two edges of the world
    assert max(everything) > 180.0  # the eastern side continued past 180, as Leaflet draws it


def test_the_heatmap_of_a_flight_across_180_is_drawn_over_its_sites(crossed_map):
    from geo.export.html import heat_image

    image, ((south, west), (north, east)) = heat_image(crossed_map)
    assert 0 < east - west < 0.05  # not an image of the whole world, the density lost in one column
    assert (image[..., 3] > 0).mean() > 0.05


def test_the_survey_html_map_of_a_flight_across_180_draws_it_in_one_place(crossed_map):
    from geo.export.survey_html import render_survey_html
    from geo.survey_fusion import FlightMap, fuse_flights

    built = fuse_flights([FlightMap("monday", crossed_map, "2018-10-12"), FlightMap("wednesday", crossed_map, "2018-10-14")])
    found = _page_longitudes(render_survey_html(built))
    assert found["markers"] and found["track"] and found["view"]
    assert _spread_deg([lon for values in found.values() for lon in values]) < 0.1


def test_the_print_map_of_a_flight_across_180_is_framed_on_it(crossed_map):
    import matplotlib.pyplot as plt

    from geo.coverage import camera_footprint_records
    from geo.export.print_map import draw_map

    camera = camera_footprint_records(crossed_map)
    figure = draw_map(crossed_map, camera=camera)
    try:
        west, east = figure.axes[0].get_xlim()
        south, north = figure.axes[0].get_ylim()
    finally:
        plt.close(figure)
    assert 0 < east - west < 5_000 and 0 < north - south < 5_000  # metres: the flight, not the world

