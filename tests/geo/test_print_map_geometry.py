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


def _offsets_one_box_at_a_time(points_pt, sizes_pt, order, *, dot_radius_pt, gap_pt):  # noqa: ANN001, ANN202
    """The site numbers' placement as it was first written: each spot checked against the
    labels placed and the other dots one box at a time."""
    placed = []
    dots = [(x - dot_radius_pt, y - dot_radius_pt, x + dot_radius_pt, y + dot_radius_pt) for x, y in points_pt]
    out = [((gap_pt, gap_pt), False)] * len(points_pt)

    def free(box, own):  # noqa: ANN001, ANN202
        a1, b1, a2, b2 = box
        others = (*placed, *(dot for j, dot in enumerate(dots) if j != own))
        return all(a2 <= c1 or a1 >= c2 or b2 <= d1 or b1 >= d2 for c1, d1, c2, d2 in others)

    for k in order:
        x, y = points_pt[k]
        w, h = sizes_pt[k]
        chosen = None
        for ring in (1.0, 2.5, 4.0):
            reach = gap_pt * ring + (ring - 1.0) * h
            for dx, dy in ((reach, reach), (reach, -reach - h), (-reach - w, reach), (-reach - w, -reach - h)):
                if free((x + dx, y + dy, x + dx + w, y + dy + h), k):
                    chosen = ((dx, dy), ring > 1.0)
                    break
            if chosen is not None:
                break
        chosen = chosen or ((gap_pt, gap_pt), False)
        (dx, dy), _ = chosen
        placed.append((x + dx, y + dy, x + dx + w, y + dy + h))
        out[k] = chosen
    return out


def test_site_numbers_go_where_a_box_by_box_check_puts_them():
    """Crowded clusters (every spot taken for some) and labels of one to three digits:
    each number where the check box by box put it; a spot touching a dot is free."""
    from geo.export.print_map import number_offsets

    rng = np.random.default_rng(11)
    centres = rng.uniform(0, 400, (6, 2))
    points = np.concatenate([c + rng.normal(0, 6, (40, 2)) for c in centres] + [np.array([[0.0, 0.0], [5.0, 0.0]])])
    sizes = [(0.62 * 5.0 * len(str(k)) + 1.0, 6.25) for k in range(1, len(points) + 1)]
    order = list(rng.permutation(len(points)))
    kwargs = {"dot_radius_pt": 2.95, "gap_pt": 2.0}
    placed = number_offsets(points, sizes, order, **kwargs)
    assert placed == _offsets_one_box_at_a_time(points, sizes, order, **kwargs)
    assert sum(far for _, far in placed) > 20 and len({offset for offset, _ in placed}) > 8  # the crowd pushed some out
    assert number_offsets(np.empty((0, 2)), [], [], **kwargs) == []
    # a spot whose right edge is the next dot's left edge covers nothing: the first spot
    touching = np.array([[0.0, 0.0], [9.0, 5.0]])
    edge = {"dot_radius_pt": 3.0, "gap_pt": 2.0}
    assert number_offsets(touching, [(4.0, 6.0)] * 2, [0, 1], **edge)[0] == ((2.0, 2.0), False)
