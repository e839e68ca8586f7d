"""The print-ready damage map: one A4 landscape page as PNG and PDF (matplotlib).

The map (UTM grid metres, with the offline basemap when given) shows the graded building
footprints, the damage sites, the flight track and the area filmed; beside it: a legend,
a north arrow (true north, which differs from grid north by the grid convergence), a
scale bar, the coordinate grid, the imagery time in UTC, the model and software
versions, the producer, "preliminary, not field-validated" and the credits.
"""

from __future__ import annotations

import bisect
import functools
import math
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.text import has_right_to_left, without_bidi_controls
from core.types import DamageLevel
from geo.export.labels import (
    AREA_FILMED,
    EMS_GRADE as EMS_GRADE_LABEL,
    FIRST_ESTIMATE_PRODUCT,
    GRADING_PRODUCT,
    REVIEWED,
    UNCERTAINTY,
    heading,
    plus_minus,
)
from geo.export.products import PRELIMINARY, ProductInfo, imagery_text, map_title
from geo.export.records import seen_in

A4_LANDSCAPE_IN = (11.69, 8.27)


def _nice_length(span_m: float) -> float:
    target = span_m / 5.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if step >= target:
            return float(step)
    return float(10 ** math.ceil(math.log10(target)))


def polygon_xy(polygon, to_utm) -> np.ndarray:  # noqa: ANN001
    x, y = to_utm.transform(*polygon.exterior.xy)
    return np.column_stack([x, y])


def lonlat_xy(lonlat, to_utm) -> np.ndarray:  # noqa: ANN001 - (N, 2) longitudes and latitudes, a pyproj Transformer
    """Points (longitude, latitude) in the map's grid metres, an (N, 2) array: one call of
    the transformer for them all, not one a point."""
    lonlat = np.asarray(lonlat, dtype=float).reshape(-1, 2)
    x, y = to_utm.transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def exteriors_xy(polygons: Sequence, to_utm) -> list[np.ndarray]:  # noqa: ANN001 - shapely Polygons, a Transformer
    """Each polygon's outer ring in grid metres, as :func:`polygon_xy` gives it, the rings'
    points transformed in one call."""
    import shapely

    if not len(polygons):
        return []
    rings = shapely.get_exterior_ring(np.asarray(polygons, dtype=object))
    coords, owners = shapely.get_coordinates(rings, return_index=True)
    xy = lonlat_xy(coords, to_utm)
    return np.split(xy, np.cumsum(np.bincount(owners, minlength=len(polygons)))[:-1])


def _extent(points: np.ndarray, aspect: float, pad: float = 0.08) -> tuple[float, float, float, float]:
    west, south = points.min(axis=0)
    east, north = points.max(axis=0)
    width, height = max(east - west, 60.0), max(north - south, 60.0)
    cx, cy = (west + east) / 2, (south + north) / 2
    width, height = width * (1 + 2 * pad), height * (1 + 2 * pad)
    if width / height > aspect:
        height = width / aspect
    else:
        width = height * aspect
    return cx - width / 2, cx + width / 2, cy - height / 2, cy + height / 2


#: Where the map and the panel beside it sit on the page (figure fractions).
MAP_BOX = (0.055, 0.07, 0.60, 0.86)
PANEL_BOX = (0.685, 0.04, 0.30, 0.92)


def new_figure():  # noqa: ANN201 - a Figure
    """An empty A4 landscape page, drawn by Agg (no window), whose renderer measures text
    before the page is saved (:func:`fit_text`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4_LANDSCAPE_IN, dpi=150)
    FigureCanvasAgg(fig)
    return fig


def fit_text(label, width_px: float, *, max_lines: int | None = None, min_size: float = 6.0) -> None:  # noqa: ANN001
    """Break ``label`` (a matplotlib Text, one line) at spaces so that no line is wider than
    ``width_px``; while it still needs more than ``max_lines`` lines, or a word is wider
    than that, make its font smaller, down to ``min_size`` points; past that, break a word
    still too wide between characters and cut the text to ``max_lines`` lines, the last
    ending in an ellipsis.

    Done here rather than with matplotlib's ``wrap=True``, which wraps at the figure's
    edge when the page is drawn: the text's height is then known before what follows it is
    placed (see :func:`panel_heading`)."""
    renderer = label.get_figure().canvas.get_renderer()  # a page of new_figure(): Agg
    words = label.get_text().split()

    def width(text: str) -> float:
        label.set_text(text)
        return label.get_window_extent(renderer).width

    def fitting(text: str, ending: str = "") -> int:
        """How many characters of ``text`` fit with ``ending`` after them, found by halves
        (a measurement per character took seconds on a long word)."""
        return bisect.bisect_left(range(len(text) + 1), True, key=lambda n: width(text[:n] + ending) > width_px) - 1

    def broken(word: str) -> list[str]:
        """``word`` in pieces each as wide as a line (a name with no spaces: Chinese, Thai)."""
        pieces = []
        while word:
            keep = max(fitting(word), 1)
            pieces.append(word[:keep])
            word = word[keep:]
        return pieces

    while True:
        smallest = label.get_fontsize() <= min_size
        lines: list[str] = []
        for word in words:
            if lines and width(f"{lines[-1]} {word}") <= width_px:
                lines[-1] = f"{lines[-1]} {word}"
            elif smallest and width(word) > width_px:
                lines.extend(broken(word))
            else:
                lines.append(word)
        fits = all(width(line) <= width_px for line in lines)
        if (fits and (max_lines is None or len(lines) <= max_lines)) or smallest:
            break
        label.set_fontsize(max(min_size, label.get_fontsize() - 0.5))
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        lines[-1] = last[:max(fitting(last, "\u2026"), 0)].rstrip() + "\u2026"
    label.set_text("\n".join(lines))


def new_page():  # noqa: ANN201 - (Figure, map Axes, panel Axes)
    """An A4 landscape page (Agg; no window): the map's axes and the panel beside it."""
    fig = new_figure()
    ax = fig.add_axes(MAP_BOX)
    panel = fig.add_axes(PANEL_BOX)
    panel.axis("off")
    return fig, ax, panel


def map_extent(points: list[np.ndarray]) -> tuple[float, float, float, float]:
    """West, east, south, north (grid metres) showing every point, with the map box's aspect."""
    box_w, box_h = MAP_BOX[2] * A4_LANDSCAPE_IN[0], MAP_BOX[3] * A4_LANDSCAPE_IN[1]
    return _extent(np.concatenate(points), box_w / box_h)


#: A site's dot on the print map (area, points squared) and its black outline (points)
SITE_DOT_S = 22.0
SITE_EDGE_PT = 0.6


#: The reviewed ring's hole, as a share of its outer radius, and its outer diameter (points):
#: the hole just takes the site's dot and outline (about 5.3 points across), the ring
#: around it adds some 2 points of white between black outlines.
REVIEWED_RING_HOLE = 0.58
REVIEWED_RING_PT = 9.5


def _reviewed_ring():  # noqa: ANN202 - a matplotlib Path
    """A ring (an annulus: a circle with a hole) as a marker: drawn white and outlined black,
    it shows on a light background and on dark imagery alike; its hole frames the site's dot."""
    from matplotlib.path import Path as MplPath

    angles = np.linspace(0.0, 2.0 * np.pi, 65)
    outer = np.column_stack([np.cos(angles), np.sin(angles)])
    hole = REVIEWED_RING_HOLE * outer[::-1]  # the other way round: not filled
    codes = [MplPath.MOVETO, *[MplPath.LINETO] * 63, MplPath.CLOSEPOLY]
    return MplPath(np.concatenate([outer, hole]), codes * 2)


def draw_sites(ax, sites, xy: np.ndarray) -> None:  # noqa: ANN001 - Axes; sites with id, level, reviewed
    """The sites as dots coloured by level, each with the number the site atlas uses; a
    reviewed site's dot (the analyst's word, as online) is drawn as the others and ringed,
    white between black outlines, so that it is larger than the others and its ring shows on
    any background (a white edge alone vanished on the light map and shrank the dot)."""
    reviewed = np.array([bool(s.reviewed) for s in sites])
    if reviewed.any():
        ax.scatter(xy[reviewed, 0], xy[reviewed, 1], s=REVIEWED_RING_PT ** 2, marker=_reviewed_ring(),
                   facecolors="white", edgecolors="black", linewidths=SITE_EDGE_PT, zorder=5)
    # One colour a collection, as the ring's: Agg then places dots and rings on the same
    # pixels (a many-coloured collection is drawn another way, a pixel off the ring).
    # The most severe last: on top where sites overlap.
    for level in sorted(DamageLevel):
        mine = np.array([s.level is level for s in sites])
        if mine.any():
            ax.scatter(xy[mine, 0], xy[mine, 1], s=SITE_DOT_S, c=level.colour_hex, edgecolors="black",
                       linewidths=SITE_EDGE_PT, zorder=5)
    draw_site_numbers(ax, sites, xy)


#: The site numbers' font size (points) and the gap between a dot and its number.
SITE_NUMBER_PT = 5.0
SITE_NUMBER_GAP_PT = 2.0


def draw_site_numbers(ax, sites, xy: np.ndarray) -> None:  # noqa: ANN001 - Axes; sites with id and level
    """Each site's number beside its dot, where it covers no other number and no other
    dot (:func:`number_offsets`; sites 20, 21 and 35 a few metres apart printed as
    "352120"); a number pushed further than the first ring is tied to its dot by a thin
    line. Call once the axes have their extent: the placement is worked out on the page."""
    if not len(xy):
        return
    ax.apply_aspect()
    to_points = 72.0 / ax.figure.dpi
    on_page = ax.transData.transform(np.asarray(xy, dtype=float)) * to_points
    texts = [str(site.id) for site in sites]
    sizes = [(0.62 * SITE_NUMBER_PT * len(text) + 1.0, 1.25 * SITE_NUMBER_PT) for text in texts]
    # the most severe placed first: theirs are the numbers a team reads first
    order = sorted(range(len(sites)), key=lambda k: (-int(sites[k].level), sites[k].id))
    dot_pt = float(np.sqrt(SITE_DOT_S)) / 2 + SITE_EDGE_PT
    offsets = number_offsets(on_page, sizes, order, dot_radius_pt=dot_pt, gap_pt=SITE_NUMBER_GAP_PT)
    for k, ((dx, dy), far) in enumerate(offsets):
        ax.annotate(texts[k], tuple(xy[k]), xytext=(dx, dy), textcoords="offset points", fontsize=SITE_NUMBER_PT,
                    zorder=6, color="#111111", ha="left", va="bottom",
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
                    arrowprops={"arrowstyle": "-", "lw": 0.3, "color": "#111111", "shrinkA": 0, "shrinkB": dot_pt}
                    if far else None)


def number_offsets(points_pt: np.ndarray, sizes_pt: list[tuple[float, float]], order: list[int], *,
                   dot_radius_pt: float, gap_pt: float) -> list[tuple[tuple[float, float], bool]]:
    """Where each label goes, as an offset in points from its point (its lower-left
    corner), and whether it lies beyond the first ring around the point: labels placed in
    ``order``, each at the first spot (up-right, down-right, up-left, down-left, then the
    same twice and three times as far) where it covers no label placed before and no
    point's dot; at the first spot when none is free.

    A spot is checked against every label placed and every dot in one array comparison
    (a Python loop over them all took half a second for 1,000 sites)."""
    points = np.asarray(points_pt, dtype=np.float64).reshape(-1, 2)
    # each box: left, bottom, right, top; the dots' then the labels' as they are placed
    boxes = np.empty((2 * len(points), 4), dtype=np.float64)
    boxes[:len(points)] = np.column_stack([points - dot_radius_pt, points + dot_radius_pt])
    placed = len(points)
    out: list[tuple[tuple[float, float], bool]] = [((gap_pt, gap_pt), False)] * len(points)

    def free(box: tuple[float, float, float, float], own: int) -> bool:
        a1, b1, a2, b2 = box
        others = boxes[:placed]
        apart = (a2 <= others[:, 0]) | (a1 >= others[:, 2]) | (b2 <= others[:, 1]) | (b1 >= others[:, 3])
        apart[own] = True  # its own dot
        return bool(apart.all())

    for k in order:
        x, y = points[k]
        w, h = sizes_pt[k]
        chosen = None
        for ring in (1.0, 2.5, 4.0):
            reach = gap_pt * ring + (ring - 1.0) * h
            for dx, dy in ((reach, reach), (reach, -reach - h), (-reach - w, reach), (-reach - w, -reach - h)):
                box = (x + dx, y + dy, x + dx + w, y + dy + h)
                if free(box, k):
                    chosen = ((dx, dy), ring > 1.0)
                    break
            if chosen is not None:
                break
        if chosen is None:
            chosen = ((gap_pt, gap_pt), False)
        (dx, dy), _ = chosen
        boxes[placed] = (x + dx, y + dy, x + dx + w, y + dy + h)
        placed += 1
        out[k] = chosen
    return out


def draw_buildings(ax, buildings, to_utm, outlines: Sequence[np.ndarray] | None = None) -> None:  # noqa: ANN001
    """The graded footprints (``buildings``; ``outlines``: their outer rings in grid metres
    where already worked out, else from ``to_utm``), filled in their grade's colour,
    outlined darker where a site lies: one collection of paths, drawn as a collection of
    a polygon patch per building draws them, without making the patches."""
    from matplotlib.collections import PathCollection
    from matplotlib.path import Path as MplPath

    from geo.grading import COLOURS

    if outlines is None:
        outlines = exteriors_xy([b.polygon for b in buildings], to_utm)
    paths = [MplPath(xy, closed=True) for xy in outlines]
    if paths:
        ax.add_collection(PathCollection(
            paths, facecolors=[COLOURS[b.level] for b in buildings],
            edgecolors=["#111111" if b.site_ids else "#444444" for b in buildings], linewidths=0.5, alpha=0.75,
            zorder=3))


def building_legend(grading) -> list:  # noqa: ANN001 - geo.grading.Grading
    """Legend entries for the graded footprints: one per grade (with its Copernicus EMS
    name where it differs) and its count."""
    from matplotlib.patches import Patch

    from geo.grading import COLOURS, EMS_GRADE, LABELS, ORDER

    counts = grading.counts()
    return [Patch(facecolor=COLOURS[level], edgecolor="#333", alpha=0.75,
                  label=(f"{LABELS[level]} / {EMS_GRADE[level]}" if LABELS[level] != EMS_GRADE[level]
                         else LABELS[level]) + f" ({counts[level]})") for level in ORDER]


def site_legend(sites) -> list:  # noqa: ANN001 - sites with level and reviewed
    """Legend entries for the sites: one per level with its count, and the reviewed ones."""
    from matplotlib.lines import Line2D

    handles = []
    for level in sorted(DamageLevel, reverse=True):
        n = sum(1 for s in sites if s.level is level)
        handles.append(Line2D([], [], marker="o", ls="", markerfacecolor=level.colour_hex, markeredgecolor="black",
                              label=f"{level.label} damage site ({n})"))
    reviewed = sum(1 for s in sites if s.reviewed)
    if reviewed:  # the ring alone, as drawn round a site's dot
        handles.append(Line2D([], [], marker=_reviewed_ring(), ls="", markersize=REVIEWED_RING_PT,
                              markerfacecolor="white", markeredgecolor="black", markeredgewidth=SITE_EDGE_PT,
                              label=f"{REVIEWED} ({reviewed})"))
    return handles


def frame_axes(fig, ax, extent: tuple[float, float, float, float], crs: str,  # noqa: ANN001 - Figure, Axes
               convergence_deg: float) -> None:
    """The map's frame: its extent, the coordinate grid, a scale bar (lower left) and a north
    arrow (upper right) pointing to true north, ``convergence_deg`` off grid north."""
    from matplotlib.patches import FancyArrow, Rectangle
    from matplotlib.ticker import FuncFormatter

    west, east, south, north = extent
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect("equal")
    ax.grid(True, color="#555555", lw=0.4, alpha=0.6)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.tick_params(labelsize=6)
    for label in ax.get_yticklabels():
        label.set_rotation(90)
        label.set_va("center")
    ax.set_xlabel(f"Easting (m), {crs}", fontsize=7)
    ax.set_ylabel("Northing (m)", fontsize=7)

    span = east - west
    length = _nice_length(span)
    x0, y0 = west + 0.04 * span, south + 0.04 * (north - south)
    bar_h = 0.012 * (north - south)
    # the backing reaches past the last figure and the unit after it, so that neither sits on the imagery
    ax.add_patch(Rectangle((x0 - 0.015 * span, y0 - 2.2 * bar_h), length + 0.06 * span, 5.2 * bar_h,
                           facecolor="white", alpha=0.8, edgecolor="none", zorder=6))
    for k in range(4):
        ax.add_patch(Rectangle((x0 + k * length / 4, y0), length / 4, bar_h, facecolor="black" if k % 2 == 0 else "white",
                               edgecolor="black", lw=0.6, zorder=7))
    for value, x in ((0, x0), (length / 2, x0 + length / 2), (length, x0 + length)):
        ax.text(x, y0 + 1.4 * bar_h, f"{value:g}", ha="center", va="bottom", fontsize=6, zorder=7)
    ax.text(x0 + length + 0.012 * span, y0 + bar_h / 2, "m", va="center", fontsize=6, zorder=7)
    convergence = math.radians(convergence_deg)
    ax_n = fig.add_axes((0.60, 0.83, 0.045, 0.09))
    ax_n.axis("off")
    ax_n.set_xlim(-1, 1)
    ax_n.set_ylim(-1, 1)
    dx, dy = 0.9 * math.sin(convergence), 0.9 * math.cos(convergence)
    ax_n.add_patch(FancyArrow(-dx * 0.6, -dy * 0.6, dx * 1.2, dy * 1.2, width=0.16, head_width=0.5, head_length=0.45,
                              length_includes_head=True, color="black"))
    ax_n.text(0, -1.0, "N", ha="center", va="center", fontsize=10, fontweight="bold")


def panel_heading(panel, lines: list[tuple[str, float, str]]) -> float:  # noqa: ANN001 - Axes
    """The panel's heading lines (text, font size, weight) from its top, each wrapped to the
    panel's width; where the next part starts. A line that wraps (a long event name) pushes
    the lines under it down, by its measured height, rather than being printed over them."""
    box = panel.get_window_extent()
    pixels_per_point = panel.get_figure().dpi / 72
    y = 0.985
    for text, size, weight in lines:
        label = panel.text(0, y, without_bidi_controls(text), fontsize=size, fontweight=weight, va="top",
                           transform=panel.transAxes)
        fit_text(label, box.width)
        bottom = (label.get_window_extent().y0 - box.y0) / box.height
        # a line that fits moves the next down as it always did; a wrapped one, by its height and a gap
        y = min(y - (0.035 if size > 10 else 0.03), bottom - 0.3 * size * pixels_per_point / box.height)
    return y


def panel_legend(panel, y: float, handles: list) -> float:  # noqa: ANN001 - Axes
    """The legend at ``y`` in the panel; where the next part starts."""
    legend = panel.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, y - 0.005), fontsize=7,
                          title="Legend", title_fontsize=8, frameon=False, alignment="left")
    legend._legend_box.align = "left"
    return y - (0.03 * (len(handles) + 1) + 0.03)


#: characters of a fact's value on one line of the panel (7 pt), and the step to the next line
FACT_WIDTH_CHARS = 50
FACT_LINE_STEP = 0.017


def wrap_fact(value: str, width: int = FACT_WIDTH_CHARS) -> list[str]:
    """``value`` over lines of at most ``width`` characters; a list of parts ("+33 6 12 34
    56 78, maps@relief.example, VHF channel 5") is broken between its parts only, where
    each fits on a line: a phone number or "channel 5" is not split over two lines."""
    parts = value.split(", ")
    if len(parts) > 1 and all(len(part) <= width for part in parts):
        kept = ", ".join(part.replace(" ", "\u00a0") for part in parts)  # textwrap breaks at ASCII spaces only
        return [line.replace("\u00a0", " ") for line in textwrap.wrap(kept, width)]
    return textwrap.wrap(value, width) or [value]


def panel_footer(panel, y: float, facts: list[tuple[str, str]], credits: list[str]) -> None:  # noqa: ANN001 - Axes
    """The panel from ``y`` down: the facts (key, value), the preliminary warning and the credits."""
    from matplotlib.patches import Rectangle

    for key, value in facts:
        lines = wrap_fact(value)  # wrapped here: the rows below make room
        panel.text(0, y, f"{key}:", fontsize=7, fontweight="bold", va="top", transform=panel.transAxes)
        panel.text(0.22, y, "\n".join(lines), fontsize=7, va="top", transform=panel.transAxes)
        y -= 0.028 + FACT_LINE_STEP * (len(lines) - 1)
    y -= 0.01
    panel.add_patch(Rectangle((0, y - 0.075), 1.0, 0.075, transform=panel.transAxes, facecolor="#fff3cd",
                              edgecolor="#b38600", lw=0.8))
    panel.text(0.03, y - 0.0375, "PRELIMINARY, not field-validated: an automatic analysis\n"
               "of drone video. Please send ground feedback to the producer.",
               fontsize=7, va="center", transform=panel.transAxes, color="#5c4400")
    y -= 0.1
    panel.text(0, y, "Credits: " + "; ".join(credits), fontsize=6, va="top", transform=panel.transAxes, wrap=True,
               color="#333")


#: The legend's line for the area filmed: what lies outside it is not known, not undamaged.
AREA_FILMED_LABEL = f"{heading(AREA_FILMED)}; outside it: not looked at"


def draw_map(
    damage_map,  # noqa: ANN001 - geo.mapping.DamageMap
    *,
    grading=None,  # noqa: ANN001 - geo.grading.Grading
    camera: list | None = None,
    basemap=None,  # noqa: ANN001 - geo.basemap.Basemap in the map's CRS
    info: ProductInfo | None = None,
    provenance: Mapping[str, Any] | None = None,
):  # noqa: ANN201 - a matplotlib Figure
    """The page as a matplotlib Figure (Agg; no window)."""
    from matplotlib.lines import Line2D
    from pyproj import Transformer

    from geo.ground_seen import ground_seen_lonlat

    info = info or ProductInfo()
    provenance = dict(provenance or {})
    to_utm = Transformer.from_crs("EPSG:4326", damage_map.crs, always_xy=True)
    fig, ax, panel = new_page()

    # What the page must show: the buildings assessed or damaged, the sites, the track.
    points = []
    buildings = list(grading.buildings) if grading is not None else []
    outlines = exteriors_xy([b.polygon for b in buildings], to_utm)
    points += [xy for b, xy in zip(buildings, outlines) if b.level != "not_assessed" or b.site_ids]
    site_xy = lonlat_xy([(s.lon_deg, s.lat_deg) for s in damage_map.sites], to_utm)
    if len(site_xy):
        points.append(site_xy)
    segments = [lonlat_xy(seg, to_utm)
                for seg in damage_map.track_segments_lonlat(video_only=True) or damage_map.track_segments_lonlat()]
    points += segments
    filmed = None
    if camera:
        filmed = ground_seen_lonlat([g for _, g in camera])  # the union, without its saw teeth
    if filmed is not None and not filmed.is_empty:  # the whole area filmed: its outline ran off the page
        points.append(np.column_stack(to_utm.transform(*filmed.envelope.exterior.xy)))
    if not points:
        points.append(np.array([to_utm.transform(*damage_map.local.to_lonlat(0.0, 0.0))]))
    west, east, south, north = map_extent(points)

    ax.set_facecolor("#f2f2ee")
    if basemap is not None:
        bw, bs, be, bn = basemap.bounds
        ax.imshow(basemap.image, extent=(bw, be, bs, bn), origin="upper", interpolation="bilinear", zorder=0)
    if filmed is not None and not filmed.is_empty:
        for part in getattr(filmed, "geoms", [filmed]):
            if part.geom_type == "Polygon":
                xy = polygon_xy(part, to_utm)
                ax.plot(xy[:, 0], xy[:, 1], color="#6a3d9a", lw=1.0, ls="--", zorder=2)
    draw_buildings(ax, buildings, to_utm, outlines)
    for seg in segments:
        ax.plot(seg[:, 0], seg[:, 1], color="#1f6fd1", lw=1.6, zorder=4)
    frame_axes(fig, ax, (west, east, south, north), damage_map.crs,
               getattr(damage_map.local, "convergence_deg", 0.0))
    if len(site_xy):  # once the map has its extent: the numbers are placed on the page
        draw_sites(ax, damage_map.sites, site_xy)

    # The panel: title, legend, facts, the warning and the credits.
    # the web map's and the KMZ's title, so that the package's maps read as one product
    lines = [(map_title(damage_map, info), 13, "bold"),
             (heading(GRADING_PRODUCT if grading is not None else FIRST_ESTIMATE_PRODUCT), 9.5, "normal")]
    lines.append((f"{info.area} · product version {info.version:02d} · from drone video", 8, "normal"))
    y = panel_heading(panel, lines)
    handles = building_legend(grading) if grading is not None else []
    handles += site_legend(damage_map.sites)
    handles.append(Line2D([], [], color="#1f6fd1", lw=1.6, label="Flight track"))
    if filmed is not None:
        handles.append(Line2D([], [], color="#6a3d9a", lw=1.0, ls="--", label=AREA_FILMED_LABEL))
    y = panel_legend(panel, y, handles)
    first, last = provenance.get("imagery_start"), provenance.get("imagery_end")
    facts = [
        ("Imagery", imagery_text(damage_map, first, last)),
        ("Sensor", str(provenance.get("sensor") or "drone video")),
        ("Model", str(provenance.get("model") or "unknown")),
        ("Software", str(provenance.get("software") or "damagemap")),
        ("Produced", " · ".join(x for x in (str(provenance.get("produced") or ""), info.organisation,
                                              info.analyst and f"analyst {info.analyst}") if x) or "-"),
        *([("Contact", info.contact)] if info.contact else []),
        ("Grid", f"{damage_map.crs} (WGS84 / UTM)"),
    ]
    panel_footer(panel, y, facts, provenance.get("credits") or [])
    return fig


#: Site cards on an atlas page: columns, rows.
ATLAS_GRID = (3, 4)


def _atlas_order(damage_map) -> list[int]:  # noqa: ANN001 - geo.mapping.DamageMap
    """Indices of the map's sites in the order a field team checks them in
    (:func:`geo.export.html.most_severe_first`)."""
    from geo.export.html import most_severe_first

    return sorted(range(len(damage_map.fused)), key=lambda k: most_severe_first(damage_map.fused[k].site))


@dataclass(frozen=True)
class AtlasCard:
    """One site's card: its number and level, the lines under them, and its close-up
    (``picture()``: a JPEG or None) with the best detection's box in it as shares of the
    picture ``(left, top, right, bottom)``, ``caption`` under it."""

    site_id: int
    level: DamageLevel
    lines: tuple[str, ...]
    picture: Callable[[], bytes | None] | None = None
    box: tuple[float, float, float, float] | None = None
    caption: str = ""


def draw_atlas_pages(cards: Sequence[AtlasCard], heading: str) -> list:
    """Pages of cards in the order given (a list of matplotlib Figures; none without
    cards), ``heading`` on each, every card ending with a box to tick on the ground."""
    import io

    from matplotlib.image import imread
    from matplotlib.patches import Rectangle

    from geo.grading import EMS_GRADE

    columns, rows = ATLAS_GRID
    per_page = columns * rows
    pages = []
    for start in range(0, len(cards), per_page):
        fig = new_figure()
        number = start // per_page + 1
        total = math.ceil(len(cards) / per_page)
        title = fig.text(0.04, 0.965, f"Site atlas ({number} of {total}): {without_bidi_controls(heading)}, "
                         "most severe first",
                         fontsize=10, fontweight="bold", va="top")
        label = fig.text(0.96, 0.965, PRELIMINARY.split(":")[0], fontsize=7, ha="right", va="top", color="#5c4400")
        # the heading wraps before the label, on two lines at most: the cards start under them
        fit_text(title, label.get_window_extent().x0 - title.get_window_extent().x0 - 0.02 * fig.bbox.width,
                 max_lines=2)
        for slot, card in enumerate(cards[start:start + per_page]):
            col, row = slot % columns, slot // columns
            left, bottom = 0.04 + col * 0.32, 0.93 - (row + 1) * 0.225
            image_ax = fig.add_axes((left, bottom + 0.05, 0.11, 0.155))
            image_ax.set_xticks([])
            image_ax.set_yticks([])
            jpeg = None
            if card.picture is not None:
                try:
                    jpeg = card.picture()
                except Exception:  # a picture is a nicety: never fail the export for it
                    jpeg = None
            if jpeg and card.box is not None:
                image_ax.imshow(imread(io.BytesIO(jpeg), format="jpeg"), extent=(0, 1, 1, 0), aspect="auto")
                x0, y0, x1, y1 = card.box
                image_ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.2,
                                             edgecolor=card.level.colour_hex))
                image_ax.set_xlim(0, 1)
                image_ax.set_ylim(1, 0)
            else:
                image_ax.set_facecolor("#eeeeee")
                image_ax.text(0.5, 0.5, "no picture", ha="center", va="center", fontsize=6, color="#777777",
                              transform=image_ax.transAxes)
            for spine in image_ax.spines.values():
                spine.set_edgecolor(card.level.colour_hex)
                spine.set_linewidth(2.0)
            if card.caption:
                fig.text(left + 0.055, bottom + 0.045, card.caption, fontsize=6, ha="center", va="top", color="#333333")
            lines = [
                (f"Site {card.site_id}: {card.level.label}", 9, "bold"),
                (f"{EMS_GRADE_LABEL}: {EMS_GRADE[card.level.name.lower()]}", 7, "normal"),
                *((text, 7, "normal") for text in card.lines),
                ("checked on the ground: \u25a1 yes  \u25a1 no", 7, "normal"),
            ]
            y = bottom + 0.205
            for text, size, weight in lines:
                if text:
                    fig.text(left + 0.12, y, text, fontsize=size, fontweight=weight, va="top")
                y -= 0.022 if size < 9 else 0.028
        pages.append(fig)
    return pages


def position_text(lat_deg: float, lon_deg: float) -> str:
    """A site's position on its card, "lat 30.158074, lon -85.659385": latitude first, as a
    GPS takes it, each labelled, since the map files all give longitude first."""
    return f"lat {lat_deg:.6f}, lon {lon_deg:.6f}"


def uncertainty_text(uncertainty_m: float) -> str:
    """"±2.3 m", or "" when unknown."""
    return plus_minus(uncertainty_m) if math.isfinite(uncertainty_m) else ""


def _when_seen(damage_map, first_s: float, last_s: float) -> str:  # noqa: ANN001 - DamageMap
    """When a site was seen, on the clock a team in the field reads (UTC, or the drone's
    own), else in seconds into the video: "15:00:04-15:00:19 UTC"."""
    from geo.export.records import clock_time

    first, last = clock_time(damage_map, first_s), clock_time(damage_map, last_s)
    if first is None or last is None:
        return f"{first_s:.1f}-{last_s:.1f} s into the video"
    day = first[0].strftime("%Y-%m-%d")
    clock = "UTC" if first[1] == "UTC" else "drone clock"
    return f"{day} {first[0]:%H:%M:%S}-{last[0]:%H:%M:%S} {clock}"


def draw_site_atlas(damage_map, closeup=None, *, info: ProductInfo | None = None) -> list:  # noqa: ANN001
    """Pages of site cards, most severe first (a list of matplotlib Figures; none without
    sites): each site's number (as on the map page), level and grade, position and its
    uncertainty, when and how often it was seen, whether a reviewer checked it, and with
    ``closeup(site_id)`` (a JPEG, or None) the close-up of its best detection, outlined.
    Each page is headed by the map's title (:func:`geo.export.products.map_title`: the
    event and the day with ``info``'s event, else the map's own)."""
    from geo.export.html import closeup_box

    info = info or ProductInfo()
    cards = []
    for index in _atlas_order(damage_map):
        fused = damage_map.fused[index]
        site = fused.site
        seen = seen_in(fused)
        cards.append(AtlasCard(
            site.id, site.level,
            (position_text(site.lat_deg, site.lon_deg),
             f"{UNCERTAINTY} {uncertainty_text(fused.uncertainty_m)}" if math.isfinite(fused.uncertainty_m) else "",
             f"seen in {seen}",  # when, on a line of its own: together they ran over the next card
             _when_seen(damage_map, site.first_time_s, site.last_time_s),
             f"level agreement {site.confidence:.0%}",
             f"{REVIEWED}: {'yes' if site.reviewed else 'no'}"),  # together they ran over the next card
            None if closeup is None else (lambda site_id=site.id: closeup(site_id)),
            closeup_box(damage_map, index)))
    # headed by the package's one title, as its web map, KMZ and map page are
    return draw_atlas_pages(cards, map_title(damage_map, info))


#: The print map's font, then fonts with the characters it lacks (Chinese, Japanese,
#: Korean), each tried in turn for a character when installed: those Windows and macOS
#: bring with them (a relief laptop's), then Linux's (Debian / Ubuntu: ``fonts-noto-cjk``,
#: ``fonts-wqy-zenhei`` or ``fonts-droid-fallback``); matplotlib draws each character in
#: the first font of the list that has it. No CJK font is shipped: one covers Chinese,
#: Japanese and Korean in 4 MB (Droid Sans Fallback) to 16 MB and more (Noto Sans CJK), and
#: a subset cannot know the names a team will type; what none of these fonts can draw
#: is named in the export's notes and README (:func:`print_notes`).
PRINT_FONT = "DejaVu Sans"
FALLBACK_FONTS = ("Microsoft YaHei", "Microsoft JhengHei", "Yu Gothic", "Malgun Gothic", "SimHei",  # Windows
                  "PingFang SC", "Hiragino Sans", "Hiragino Sans GB", "Apple SD Gothic Neo",  # macOS
                  "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK KR", "Noto Sans CJK TC",
                  "Source Han Sans SC", "Source Han Sans", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                  "Droid Sans Fallback", "Noto Sans", "Arial Unicode MS")


@functools.cache
def print_fonts() -> tuple[str, ...]:
    """:data:`PRINT_FONT` and the :data:`FALLBACK_FONTS` installed here, in order."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return (PRINT_FONT, *(name for name in FALLBACK_FONTS if name in installed))


def unprintable(text: str) -> str:
    """The characters of ``text`` none of the print map's fonts has a glyph for (Chinese,
    Japanese or Korean where no font for them is installed), each once, in order; "" for none."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    drawable: set[int] = set()
    for name in print_fonts():
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
            drawable.update(FT2Font(path).get_charmap())
        except (OSError, RuntimeError, ValueError):
            continue
    if not drawable:
        return ""
    return "".join(dict.fromkeys(c for c in without_bidi_controls(text)  # never drawn
                                 if not c.isspace() and ord(c) not in drawable))


def lays_out_right_to_left() -> bool:
    """The installed matplotlib lays text out as a reader expects (libraqm, matplotlib 3.11
    and later): right-to-left letters from the right, Arabic letters joined. Before, it
    draws every character from left to right, each on its own."""
    import matplotlib

    return tuple(int(part) for part in matplotlib.__version__.split(".")[:2]) >= (3, 11)


#: How a note on characters the print map cannot draw starts (:func:`print_notes`): a
#: later note on the same print map, naming more, takes the place of one before.
UNDRAWN_NOTE = "the print map (PDF, PNG) cannot draw "
#: The most names a note quotes, and the most characters of each.
_QUOTED_NAMES, _QUOTED_CHARS = 6, 60


def print_notes(*texts: str) -> list[str]:
    """What the print map (PDF, PNG) cannot show of ``texts``, the names it prints (its
    title, the event and producer, a flight's name, a file's in the credits), for the
    export's notes: characters no font here has (printed as empty boxes) and the names
    holding them, and right-to-left text where matplotlib lays none out. Each note says
    where the text shows as typed. Bidirectional controls are left out of what is drawn
    (:func:`core.text.without_bidi_controls`), so they never print as boxes."""
    texts = tuple(" ".join(without_bidi_controls(text).split()) for text in texts)
    notes = []
    missing = unprintable(" ".join(texts))
    if missing:
        names = [text for text in dict.fromkeys(texts) if unprintable(text)]
        quoted = ", ".join(f'"{name[:_QUOTED_CHARS]}{"..." if len(name) > _QUOTED_CHARS else ""}"'
                           for name in names[:_QUOTED_NAMES])
        more = f" and {len(names) - _QUOTED_NAMES} more" if len(names) > _QUOTED_NAMES else ""
        notes.append(f"{UNDRAWN_NOTE}{missing} (no font for them here), in {quoted}{more}: they print as empty "
                     "boxes; the HTML map, the KMZ and the README show them; a font for them, once installed "
                     "(Debian / Ubuntu: fonts-noto-cjk for Chinese, Japanese and Korean), prints them")
    if any(has_right_to_left(text) for text in texts) and not lays_out_right_to_left():
        notes.append("the print map (PDF, PNG) prints right-to-left text (Arabic, Hebrew) letter by letter from "
                     "left to right, its letters unjoined, with this matplotlib: the HTML map, the KMZ and the "
                     "README show it as typed; matplotlib 3.11 or later prints it as typed")
    return notes


def drawn_texts(figures: Sequence) -> list[str]:  # noqa: ANN001 - matplotlib Figures
    """Every text the ``figures`` print (headings, legends, facts, credits, the cards), each once."""
    from matplotlib.text import Text

    return list(dict.fromkeys(text.get_text() for figure in figures for text in figure.findobj(Text)
                              if text.get_visible() and text.get_text().strip()))


def with_print_notes(notes: list[str], printed: Sequence[str]) -> None:
    """``notes`` with the ``printed`` ones (:func:`print_notes` of a print map's
    :func:`drawn_texts`) in place of the notes on undrawn characters made before the map
    was drawn, from part of its text."""
    notes[:] = [note for note in notes if not note.startswith(UNDRAWN_NOTE)]
    notes.extend(note for note in printed if note not in notes)


@contextmanager
def plain_text() -> Iterator[None]:
    """Text drawn as typed: matplotlib reads ``$...$`` as mathematics, so an event "Appeal
    US$2M, budget US$_500k" printed in italics without its dollars and spaces, and a lone
    pair of dollars failed the whole print map; and each character in the first of
    :func:`print_fonts` that has it, so a Chinese event name prints where a font for it is
    installed. Figures made inside keep their text plain.

    Inside, matplotlib's font manager keeps its warnings to itself: each bold title looked
    up in a fallback font with no bold ("findfont: Failed to find font weight bold for
    Droid Sans Fallback, now using 400") printed a line on stderr, many a package. What
    matters of it, characters no font here can draw, the package says itself
    (:func:`unprintable`)."""
    import logging

    import matplotlib

    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(logging.ERROR)
    try:
        with matplotlib.rc_context({"text.parse_math": False, "font.family": list(print_fonts())}):
            yield
    finally:
        font_log.setLevel(level)


def write_print_map(png: Path, pdf: Path, damage_map, *, closeup=None, notes: list[str] | None = None,  # noqa: ANN001
                    **kwargs) -> list[Path]:
    """:func:`draw_map` saved as a 150-dpi PNG and a vector PDF, the PDF followed by the
    :func:`draw_site_atlas` pages (``closeup``: the sites' close-ups, as the HTML map takes them;
    ``notes``: given, what the pages cannot draw is added to it, :func:`save_pages`)."""
    with plain_text():
        fig = draw_map(damage_map, **kwargs)
        return save_pages(png, pdf, fig, draw_site_atlas(damage_map, closeup, info=kwargs.get("info")), notes=notes)


#: The finest an image is embedded in the PDF at (pixels per inch of paper): what a print at
#: 150-300 dpi shows of a photograph. A finer image (a basemap over a small part of the map)
#: is resampled to it; a coarser one (a 160-px close-up on a 1.3-inch card: about 125 ppi)
#: goes in at its own pixels, not blown up to the page's resolution first.
PDF_IMAGE_DPI = 200

#: The JPEG quality photographs (close-ups, the basemap) are embedded at in the PDF: the
#: close-ups come as JPEGs of about this quality, and a lossless copy of a photograph is
#: several times the size of the JPEG it came from (it made the PDF some 60 kB a site).
PDF_JPEG_QUALITY = 85


def _pdf_document(path, metadata):  # noqa: ANN001, ANN202 - a matplotlib PdfPages
    """A matplotlib ``PdfPages`` at ``path`` that embeds photographs (RGB images of more than
    256 colours) as JPEG (``/DCTDecode``, :data:`PDF_JPEG_QUALITY`) instead of matplotlib's
    lossless Flate, marked for smooth scaling; images of few colours (and soft masks) stay
    lossless. Where the installed matplotlib lacks the hooks used here, a plain ``PdfPages``
    (a larger file, the same pages)."""
    import io

    from matplotlib.backends.backend_pdf import Name, PdfFile, PdfPages, pdfRepr
    from PIL import Image

    class JpegPdfFile(PdfFile):
        def _writeImg(self, data, id, smask=None, *more, **named):  # noqa: A002, ANN001, ANN002, ANN003, ANN202
            # matplotlib's signature; anything a later matplotlib adds goes to its own code
            image = (Image.fromarray(np.ascontiguousarray(data))
                     if not more and not named and getattr(data, "ndim", 0) == 3 and data.shape[2] == 3 else None)
            if image is None or image.getcolors(maxcolors=256) is not None:
                return super()._writeImg(data, id, smask, *more, **named)
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=PDF_JPEG_QUALITY, optimize=True)
            jpeg = buffer.getvalue()
            height, width = data.shape[:2]
            header = {"Type": Name("XObject"), "Subtype": Name("Image"), "Width": width, "Height": height,
                      "ColorSpace": Name("DeviceRGB"), "BitsPerComponent": 8, "Filter": Name("DCTDecode"),
                      "Interpolate": True, "Length": len(jpeg)}
            if smask:
                header["SMask"] = smask
            # the object written whole here: the JPEG is its stream's only filter (matplotlib's
            # streams add Flate to everything while pdf.compression is on)
            self.recordXref(id)
            self.write(b"%d 0 obj\n" % id + pdfRepr(header) + b"\nstream\n" + jpeg + b"\nendstream\nendobj\n")
            return None

    class JpegPdfPages(PdfPages):
        def _ensure_file(self):  # noqa: ANN202
            if self._file is None:
                self._file = JpegPdfFile(self._filename, metadata=self._metadata)
            return self._file

    hooks = all(callable(getattr(cls, name, None)) for cls, name in
                ((PdfFile, "_writeImg"), (PdfFile, "recordXref"), (PdfFile, "write"), (PdfPages, "_ensure_file")))
    return (JpegPdfPages if hooks else PdfPages)(path, metadata=metadata)


def _unsampled_where_coarse(figures: Sequence) -> list:  # noqa: ANN001 - Figures
    """Have the images of ``figures`` that are no finer than :data:`PDF_IMAGE_DPI` on the
    page embedded at their own pixels (``interpolation="none"``: matplotlib otherwise
    resamples every image to the resolution it saves at); the images changed and their
    interpolation before, to put back."""
    from matplotlib.image import AxesImage

    changed = []
    for figure in figures:
        for image in figure.findobj(AxesImage):
            rows, columns = image.get_size()
            if image.axes is not None:
                image.axes.apply_aspect()  # where an equal-aspect map's box ends up when drawn
            box = image.get_window_extent()
            inches = abs(box.width) / figure.dpi, abs(box.height) / figure.dpi
            if min(inches) <= 0 or not image.get_transform().is_affine:
                continue
            if max(columns / inches[0], rows / inches[1]) <= PDF_IMAGE_DPI:
                changed.append((image, image.get_interpolation()))
                image.set_interpolation("none")
    return changed


def save_pages(png: Path, pdf: Path, page, atlas: Sequence,  # noqa: ANN001 - Figures
               notes: list[str] | None = None) -> list[Path]:
    """``page`` as a 150-dpi PNG, and a PDF of it followed by ``atlas``; each whole or not at
    all. ``notes``, when given, gets what the pages print as empty boxes, naming the texts
    (:func:`print_notes` of :func:`drawn_texts`, :func:`with_print_notes`): never silently.

    In the PDF every photograph (close-up, basemap) is a JPEG at its own pixels, or at
    :data:`PDF_IMAGE_DPI` where it is finer than that on paper: a few kB a site, where
    matplotlib's default (every image resampled to the page's resolution and kept lossless)
    made some 60 kB a site of a real flight's close-ups."""
    from geo.export._atomic import atomic_path

    with atomic_path(png) as temp:
        page.savefig(temp, format="png", dpi=150, pil_kwargs={"compress_level": 3})
    figures = (page, *atlas)
    if notes is not None:
        with_print_notes(notes, print_notes(*drawn_texts(figures)))
    changed = _unsampled_where_coarse(figures)
    try:
        with atomic_path(pdf) as temp:
            metadata = {"Creator": "damagemap", "Producer": "damagemap (matplotlib)", "CreationDate": None}
            with _pdf_document(temp, metadata) as document:
                for figure in figures:
                    document.savefig(figure, dpi=PDF_IMAGE_DPI)
    finally:
        for image, interpolation in changed:
            image.set_interpolation(interpolation)
    return [png, pdf]


__all__ = ["ATLAS_GRID", "PDF_IMAGE_DPI", "PDF_JPEG_QUALITY", "AtlasCard", "draw_atlas_pages", "draw_map",
           "draw_site_atlas", "drawn_texts", "lays_out_right_to_left", "plain_text", "print_fonts", "print_notes",
           "unprintable", "with_print_notes", "write_print_map"]
