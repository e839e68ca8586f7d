"""A mask's outline projected on the ground can touch or cross itself (a spike one vertex
wide, a pinch): the GeoPackage's footprint layers still hold that site's or sighting's
outline, repaired, never silently leave it out."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from shapely.geometry import Polygon

from core.types import DamageLevel, DamageSite
from geo.export.records import footprint_polygon, footprint_records

#: An outline pinched at (2, 2): its ring passes there twice, joining a triangle of 8
#: and one of 1 (as the outline of one detection of a real flight did, at one vertex).
PINCHED = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (2.0, 2.0), (1.0, 4.0), (0.0, 4.0), (2.0, 2.0), (0.0, 0.0)]
#: An outline crossing itself: two triangles of 1 (a bow-tie).
BOW_TIE = [(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0), (0.0, 0.0)]


def _scaled(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``ring`` as a few metres of ground near New Orleans, in lon/lat."""
    return [(-90.07 + x * 1e-5, 29.95 + y * 1e-5) for x, y in ring]


@pytest.mark.parametrize(("ring", "largest_area"), [(PINCHED, 8.0), (BOW_TIE, 1.0)], ids=["pinched", "bow-tie"])
def test_an_outline_that_touches_itself_becomes_its_largest_valid_part(ring, largest_area):
    assert not Polygon(ring).is_valid
    polygon = footprint_polygon(_scaled(ring))
    assert polygon is not None and polygon.geom_type == "Polygon" and polygon.is_valid
    assert polygon.exterior.is_ccw  # RFC 7946
    assert polygon.area == pytest.approx(largest_area * 1e-10)


def test_an_outline_without_area_gives_no_polygon():
    assert footprint_polygon(_scaled([(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (0.0, 0.0)])) is None
    assert footprint_polygon(_scaled([(0.0, 0.0), (1.0, 0.0), (0.0, 0.0)])) is None


def test_a_site_whose_outline_is_pinched_keeps_its_footprint():
    sites = [DamageSite(id=k, level=DamageLevel.SEVERE, confidence=1.0, lon_deg=-90.07, lat_deg=29.95,
                        observation_count=2, first_frame=0, last_frame=10, first_time_s=0.0, last_time_s=1.0,
                        best_frame=0, footprint_lonlat=tuple(_scaled(ring)))
             for k, ring in ((1, PINCHED), (2, [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]))]
    records = footprint_records(SimpleNamespace(sites=sites))  # only the sites are read
    assert [props["site_id"] for props, _ in records] == [1, 2]
    assert all(polygon.is_valid and polygon.geom_type == "Polygon" for _, polygon in records)
