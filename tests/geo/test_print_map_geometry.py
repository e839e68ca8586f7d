"""The print map projects its shapes in one call of the transformer and draws the
footprints as one collection of paths: the same numbers and the same pixels as projecting
each shape (and each point) alone and drawing each footprint as its own polygon patch."""

from __future__ import annotations

import numpy as np
from pyproj import Transformer
from shapely.geometry import Polygon

from geo.export.print_map import draw_buildings, exteriors_xy, lonlat_xy, new_page, polygon_xy

TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32616", always_xy=True)


def _footprints() -> list[Polygon]:
    """Roofs of 4 to 9 corners (one with a courtyard, which the map leaves unfilled as before: outer rings only)."""
    rng = np.random.default_rng(3)
    polygons = []
    for k in range(12):
        corners = 4 + k % 6
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        radius = rng.uniform(0.00005, 0.0002)
        lon, lat = -85.66 + 0.0006 * (k % 4), 30.158 + 0.0006 * (k // 4)
        polygons.append(Polygon(np.column_stack([lon + radius * np.cos(angles), lat + radius * np.sin(angles)])))
    polygons[5] = Polygon(polygons[5].exterior.coords, [polygons[5].centroid.buffer(0.00002).exterior.coords])
    return polygons


class _Building:
    def __init__(self, polygon: Polygon, level: str, site_ids: tuple[int, ...]) -> None:
        self.polygon, self.level, self.site_ids = polygon, level, site_ids


def test_outlines_and_points_projected_together_are_those_projected_one_by_one():
    polygons = _footprints()
    together = exteriors_xy(polygons, TO_UTM)
    assert len(together) == len(polygons)
    for polygon, xy in zip(polygons, together):
        assert np.array_equal(xy, polygon_xy(polygon, TO_UTM))  # bit for bit
    points = [(-85.66 + 0.001 * k, 30.158 - 0.0007 * k) for k in range(7)]
    one_by_one = np.array([TO_UTM.transform(lon, lat) for lon, lat in points])
    assert np.array_equal(lonlat_xy(points, TO_UTM), one_by_one)
    assert exteriors_xy([], TO_UTM) == []
    assert lonlat_xy([], TO_UTM).shape == (0, 2)


def _drawn(draw) -> np.ndarray:  # noqa: ANN001 - draws on the map's Axes
    page, ax, _ = new_page()
    draw(ax)
    ax.set_xlim(629_000, 629_250)
    ax.set_ylim(3_337_000, 3_337_200)
    page.canvas.draw()
    return np.asarray(page.canvas.buffer_rgba()).copy()


def test_the_footprints_drawn_as_one_collection_of_paths_are_the_pixels_of_a_patch_each():
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Polygon as MplPolygon

    from geo.grading import COLOURS

    levels = list(COLOURS)
    buildings = [_Building(p, levels[k % len(levels)], (k,) if k % 3 == 0 else ()) for k, p in enumerate(_footprints())]

    def a_patch_each(ax) -> None:  # noqa: ANN001 - how the footprints were drawn before
        ax.add_collection(PatchCollection(
            [MplPolygon(polygon_xy(b.polygon, TO_UTM), closed=True) for b in buildings],
            facecolors=[COLOURS[b.level] for b in buildings],
            edgecolors=["#111111" if b.site_ids else "#444444" for b in buildings], linewidths=0.5, alpha=0.75,
            zorder=3))

    before = _drawn(a_patch_each)
    assert (before != _drawn(lambda ax: None)).any(axis=-1).sum() > 20_000  # the roofs are on the page
    assert np.array_equal(_drawn(lambda ax: draw_buildings(ax, buildings, TO_UTM)), before)
