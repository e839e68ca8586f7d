"""On the print map a reviewed site (the analyst's word) is drawn as every site is and
ringed, white between black outlines: at least as large as the others, its ring visible on
the light map and on dark imagery alike; the legend shows that ring."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from core.types import DamageLevel
from geo.export.print_map import draw_map, draw_sites

LIGHT, DARK = "#f2f2ee", "#202020"  # the map's own background; night-dark imagery


def _page_pixels(background: str):  # noqa: ANN202 - (RGB array, the sites' pixel centres, reviewed flags)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3, 2), dpi=150)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_facecolor(background)
    ax.set_xlim(0, 6)
    ax.set_ylim(0, 4)
    levels = [DamageLevel.DEBRIS, DamageLevel.DEBRIS, DamageLevel.SLIGHT, DamageLevel.SLIGHT]
    reviewed = [True, False, True, False]
    sites = [SimpleNamespace(id=k + 1, level=level, reviewed=r) for k, (level, r) in enumerate(zip(levels, reviewed))]
    xy = np.array([[1.5, 3.0], [4.5, 3.0], [1.5, 1.0], [4.5, 1.0]])
    draw_sites(ax, sites, xy)
    for label in ax.texts:  # the numbers beside the dots are not the marker
        label.set_visible(False)
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3].astype(int)
    centres = [(x, pixels.shape[0] - y) for x, y in ax.transData.transform(xy)]
    return pixels, centres, reviewed


def _around(pixels: np.ndarray, centre: tuple[float, float], reach: int = 20):  # noqa: ANN202
    """The pixels within ``reach`` of ``centre`` and each one's distance from it."""
    x, y = (int(round(v)) for v in centre)
    window = pixels[y - reach:y + reach + 1, x - reach:x + reach + 1]
    rows, cols = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    return window, np.hypot(rows, cols)


@pytest.mark.parametrize("background", [LIGHT, DARK])
def test_a_reviewed_site_is_at_least_as_large_and_its_ring_shows_on_light_and_dark(background):
    pixels, centres, reviewed = _page_pixels(background)
    ground = np.array([int(background[k:k + 2], 16) for k in (1, 3, 5)])
    radius = {}
    for k, centre in enumerate(centres):
        window, distance = _around(pixels, centre)
        drawn = np.abs(window - ground).sum(axis=2) > 60  # what differs from the background
        radius[k] = distance[drawn].max()
    for k in (0, 2):  # reviewed: visibly larger than the unreviewed dot of the same level beside it
        assert reviewed[k] and not reviewed[k + 1]
        assert radius[k] >= radius[k + 1] + 2, radius
        window, distance = _around(pixels, centres[k])
        outside_dot = (distance > radius[k + 1] + 1) & (distance <= radius[k])  # the ring only
        ring = window[outside_dot]
        assert (ring.max(axis=1) < 80).sum() >= 8  # black: it shows on a light background
        assert (ring.min(axis=1) > 220).sum() >= 8  # white: it shows on a dark one


def test_the_reviewed_sites_dot_is_drawn_as_any_other_and_the_legend_shows_the_ring(flyover_map):
    from matplotlib.colors import to_hex

    damage_map, _ = flyover_map
    first = damage_map.fused[0]
    reviewed = replace(damage_map, fused=[replace(first, site=replace(first.site, reviewed=True)),
                                          *damage_map.fused[1:]])
    page = draw_map(reviewed)
    map_ax, panel = page.axes[0], page.axes[1]
    dots = [c for c in map_ax.collections if c.get_offsets().shape[0] and np.allclose(c.get_sizes(), 22.0)]
    assert sum(c.get_offsets().shape[0] for c in dots) == len(damage_map.fused)  # every site, reviewed too
    assert all(to_hex(c.get_edgecolor()[0]) == "#000000" for c in dots)
    rings = [c for c in map_ax.collections if c not in dots and c.get_offsets().shape[0]]
    assert len(rings) == 1 and rings[0].get_offsets().shape[0] == 1
    assert to_hex(rings[0].get_facecolor()[0]) == "#ffffff" and to_hex(rings[0].get_edgecolor()[0]) == "#000000"
    assert np.sqrt(rings[0].get_sizes()[0]) > np.sqrt(22.0) + 2  # round the dot, not inside it
    legend = panel.get_legend()
    entry = {t.get_text(): h for t, h in zip(legend.get_texts(), legend.legend_handles)}["reviewed by an analyst (1)"]
    assert to_hex(entry.get_markerfacecolor()) == "#ffffff" and to_hex(entry.get_markeredgecolor()) == "#000000"
    assert entry.get_marker() is not None and entry.get_marker() != "o"  # the ring, not a plain dot


def test_site_numbers_close_together_are_each_readable():
    """Sites 20, 21 and 35 a few metres apart printed as "352120": each number at the
    same offset from its dot, over the next."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 3), dpi=150)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 400)
    ax.set_ylim(0, 300)
    ax.set_aspect("equal")
    xy = np.array([[200.0, 150.0], [203.0, 151.0], [206.0, 150.5], [204.0, 147.0], [100.0, 100.0]])
    levels = [DamageLevel.SEVERE, DamageLevel.SLIGHT, DamageLevel.DEBRIS, DamageLevel.SLIGHT, DamageLevel.SLIGHT]
    sites = [SimpleNamespace(id=n, level=level, reviewed=False) for n, level in zip((20, 21, 35, 36, 7), levels)]
    draw_sites(ax, sites, xy)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    from matplotlib.text import Text

    boxes = {text.get_text(): Text.get_window_extent(text, renderer) for text in ax.texts}  # the number, not its line
    assert sorted(boxes) == ["20", "21", "35", "36", "7"]
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not boxes[a].overlaps(boxes[b]), (a, b)
    dots = ax.transData.transform(xy)
    for (x, y), site in zip(dots, sites):  # and no number covers another site's dot
        for name, box in boxes.items():
            if name != str(site.id):
                assert not box.contains(x, y), (name, site.id)
