"""The offline HTML damage map (folium / Leaflet).

Opened with no network, it still shows everything but the background tiles: Leaflet's
JS and CSS are inlined from the installed ``xstatic-leaflet`` package (never from a CDN,
never copied into this repository), folium's default CDN links (jQuery, Bootstrap, Font
Awesome) are dropped, and the heatmap is our own metric KDE as a georeferenced image
overlay (no plugin script). It opens on a plain background and asks no server for
anything: where a relief team works is not told to a tile server, nor a metered satellite
link spent. OpenStreetMap tiles are one click away in the layer control; when none of
them loads, the page switches back to the plain background by itself.

Every user-supplied string (file names, titles, notes) is escaped for HTML and for the
JavaScript template literals folium embeds popups and tooltips in.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import numpy as np

from core.errors import ExportError
from core.last_few import KeptByMembers
from core.types import DamageLevel, frame_number
from geo.antimeridian import display_longitudes
from geo.export.map_longitudes import continuous_points, make_longitudes_continuous, map_centre_longitude
from geo.export.plain_text_templates import plain_text_templates
from geo.export.labels import BEST_FRAME, EMS_GRADE as EMS_GRADE_LABEL, REVIEWED, UNCERTAINTY, heading, plus_minus
from geo.export.first_view import first_view_script
from geo.export.records import EMS_GRADE, best_score, clock_time, counted, seen_in, unconfirmed_reason
from geo.export.site_labels import LABEL_LEGEND_ROW, LABEL_STYLE, LABEL_STYLE_NARROW, site_labels_script
from geo.mapping import DamageMap

Thumbnail = Callable[[int], "bytes | None"]
#: More layers for the page (a basemap, graded buildings, coverage): called with the
#: ``folium.Map`` before the layer control is added; returns ``(lat, lon)`` points the
#: initial view should include.
ExtraLayers = Callable[[object], "list[tuple[float, float]]"]

#: A 1x1 transparent PNG: the tiles of the offline base layer.
_BLANK_TILE = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
#: Defines ``$`` for folium's popup code (``$(`<div>..</div>`)[0]``) without jQuery.
_DOLLAR_SHIM = (
    "window.$ = window.$ || function (markup) {"
    " var t = document.createElement('template'); t.innerHTML = String(markup).trim();"
    " return [t.content.firstElementChild]; };"
)
_HEAT_COLOURS = np.array([[255, 235, 59], [255, 152, 0], [211, 47, 47], [120, 0, 30]], dtype=np.float64)


def escape(text: object) -> str:
    """HTML-escape ``text`` so it is also inert inside a JS template literal."""
    return (html.escape(str(text), quote=True)
            .replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;"))


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS (marker and layer images inlined as data URIs) from the
    installed ``xstatic-leaflet`` package."""
    try:
        from xstatic.pkg import leaflet as xstatic_leaflet
    except ImportError:
        raise ExportError(
            "the offline HTML map needs Leaflet from the 'xstatic-leaflet' package: pip install xstatic-leaflet"
        ) from None
    base = Path(xstatic_leaflet.BASE_DIR)
    try:
        js = (base / "leaflet.js").read_text(encoding="utf-8")
        css = (base / "leaflet.css").read_text(encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"{base}: Leaflet files missing from xstatic-leaflet: {exc}") from None

    def inline(match: re.Match) -> str:
        image = base / match.group(1)
        if not image.is_file():
            return match.group(0)
        return f"url(data:image/png;base64,{base64.b64encode(image.read_bytes()).decode('ascii')})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
    return js.replace("</", "<\\/"), css


def heat_image(damage_map: DamageMap, *, max_px: int = 400) -> tuple[np.ndarray, list[list[float]]] | None:
    """The density as an RGBA image on a lon/lat grid and its ``[[south, west],
    [north, east]]`` bounds; ``None`` without sites.

    Each pixel sums every site's kernel (half a second for a long flight's 400 sites), so
    the image is kept with the map's heat grid: an export's map and its relief package's
    map draw the same one (read-only)."""
    picture = _HEAT_IMAGES.get_or_compute([damage_map.heat, damage_map.aligned], (max_px,),
                                          lambda: _heat_image(damage_map, max_px=max_px) or ())
    if not picture:
        return None
    image, bounds = picture
    return image, [list(corner) for corner in bounds]


#: :func:`heat_image` by the heat grid and the track (its local frame) it is drawn from,
#: the very objects, and its size: a titled copy of a map shares them
_HEAT_IMAGES = KeptByMembers(2)


def clear_cache() -> None:
    """Forget the heat images kept with every map (tests, benchmarks)."""
    _HEAT_IMAGES.clear()


def _heat_image(damage_map: DamageMap, *, max_px: int) -> tuple[np.ndarray, list[list[float]]] | None:
    heat = damage_map.heat
    if heat is None or heat.peak <= 0:
        return None
    local = damage_map.local
    west, south, east, north = heat.bounds_m()
    lon, lat = local.to_lonlat(np.array([west, east, west, east]), np.array([south, south, north, north]))
    lon = display_longitudes(lon, float(lon[0]))  # across 180°: 179.99 to 180.01, not -179.99 to 179.99
    lon0, lon1, lat0, lat1 = lon.min(), lon.max(), lat.min(), lat.max()
    aspect = (lat1 - lat0) / max((lon1 - lon0) * np.cos(np.radians((lat0 + lat1) / 2)), 1e-12)
    cols = max_px if aspect <= 1 else max(2, int(max_px / aspect))
    rows = max(2, int(cols * aspect)) if aspect <= 1 else max_px
    # Rows evenly spaced in Web Mercator y, as Leaflet stretches an overlay's image.
    y0, y1 = np.arcsinh(np.tan(np.radians([lat0, lat1])))
    row_lats = np.degrees(np.arctan(np.sinh(np.linspace(y1, y0, rows))))
    glon, glat = np.meshgrid(np.linspace(lon0, lon1, cols), row_lats)
    e, n = local.to_local(glon.ravel(), glat.ravel())
    norm = (heat.density_at(e, n) / heat.peak).reshape(rows, cols)
    position = np.clip(norm, 0, 1) * (len(_HEAT_COLOURS) - 1)
    low = np.clip(np.floor(position).astype(int), 0, len(_HEAT_COLOURS) - 2)
    frac = (position - low)[..., None]
    rgb = _HEAT_COLOURS[low] * (1 - frac) + _HEAT_COLOURS[low + 1] * frac
    alpha = np.clip(norm / 0.15, 0, 1) * np.clip(0.2 + 0.65 * norm, 0, 0.85) * 255  # fades out at the edge
    image = np.dstack([rgb, alpha]).astype(np.uint8)
    image.setflags(write=False)
    return image, [[float(lat0), float(lon0)], [float(lat1), float(lon1)]]


def _best_member(damage_map: DamageMap, index: int):  # noqa: ANN202 - geo.observe.Projected | None
    fused = damage_map.fused[index]
    return next((m for m in fused.members if m.detection.id == fused.site.best_detection_id), None)


#: The marker is never smaller than this share of the thumbnail's side, so a detection
#: a few pixels wide on the thumbnail is still found at a glance.
_MARKER_MIN = 0.06


#: A best detection this close to the frame's border (share of the side) is probably cut off.
_EDGE_MARGIN = 0.01


def _at_frame_edge(damage_map: DamageMap, index: int) -> bool:
    best = _best_member(damage_map, index)
    if best is None:
        return False
    width, height = damage_map.video.width_px, damage_map.video.height_px
    x1, y1, x2, y2 = (float(v) for v in best.detection.box_xyxy_px)
    return bool(best.truncated) or (width > 0 and height > 0 and (
        x1 <= _EDGE_MARGIN * width or y1 <= _EDGE_MARGIN * height
        or x2 >= (1 - _EDGE_MARGIN) * width or y2 >= (1 - _EDGE_MARGIN) * height))


def _detection_marker(damage_map: DamageMap, index: int) -> str:
    """A rectangle over the thumbnail around the site's best detection (in the level's
    colour, with a dark halo so it shows on any roof), placed in percent of the frame."""
    best = _best_member(damage_map, index)
    width, height = damage_map.video.width_px, damage_map.video.height_px
    if best is None or width <= 0 or height <= 0:
        return ""
    x1, y1, x2, y2 = (float(v) for v in best.detection.box_xyxy_px)
    edges = []
    for low, high, side in ((x1, x2, width), (y1, y2, height)):
        a, b = low / side, high / side
        grow = max(0.0, _MARKER_MIN - (b - a)) / 2 + 0.01
        a, b = max(0.0, a - grow), min(1.0, b + grow)
        edges.append((a, b))
    (left, right), (top, bottom) = edges
    return _mark(left, top, right, bottom, damage_map.fused[index].site.level.colour_hex,
                 f' title="detection {best.detection.id}"')


def _mark(left: float, top: float, right: float, bottom: float, colour: str, attributes: str = "") -> str:
    """An outline over a picture, its edges as shares of the picture's width and height (in
    the level's colour, with a dark halo so it shows on any roof)."""
    return (f'<div class="dm-mark"{attributes} style="position:absolute;'
            f"left:{left:.2%};top:{top:.2%};width:{right - left:.2%};height:{bottom - top:.2%};"
            f"border:2px solid {colour};box-shadow:0 0 0 1px #000,inset 0 0 0 1px #000;"
            'box-sizing:border-box;pointer-events:none"></div>')


#: A close-up shows the best detection with its surroundings: a square this many times
#: the detection's longer side, and never under ``CLOSEUP_MIN_PX`` of the frame (a roof or two).
CLOSEUP_CONTEXT = 3.0
CLOSEUP_MIN_PX = 96


def _closeup_rect(damage_map: DamageMap, index: int) -> tuple[int, int, int, int] | None:
    """The frame pixels ``(x0, y0, x1, y1)`` of the site's close-up: a square around its best
    detection, moved inside the frame (cut where the frame is smaller than the square)."""
    best = _best_member(damage_map, index)
    width, height = damage_map.video.width_px, damage_map.video.height_px
    if best is None or width <= 0 or height <= 0:
        return None
    x1, y1, x2, y2 = (float(v) for v in best.detection.box_xyxy_px)
    side = max(CLOSEUP_MIN_PX, CLOSEUP_CONTEXT * max(x2 - x1, y2 - y1))
    edges = []
    for low, high, limit in ((x1, x2, width), (y1, y2, height)):
        extent = min(side, limit)
        start = min(max(0.0, (low + high - extent) / 2), limit - extent)
        edges.append((int(round(start)), int(round(start + extent))))
    (left, right), (top, bottom) = edges
    return (left, top, right, bottom) if right > left and bottom > top else None


def closeup_requests(damage_map: DamageMap) -> dict[int, tuple[int, tuple[int, int, int, int]]]:
    """Per site id, its best frame and the pixels of that frame its popup's close-up
    shows (for the caller that decodes the video; see :func:`render_html`)."""
    requests = {}
    for index, fused in enumerate(damage_map.fused):
        rect = _closeup_rect(damage_map, index)
        if rect is not None:
            requests[fused.site.id] = (fused.site.best_frame, rect)
    return requests


def closeup_box(damage_map: DamageMap, index: int) -> tuple[float, float, float, float] | None:
    """The best detection's box in the close-up, as shares of its width and height
    ``(left, top, right, bottom)`` (None without a close-up)."""
    best, rect = _best_member(damage_map, index), _closeup_rect(damage_map, index)
    if best is None or rect is None:
        return None
    left, top, right, bottom = rect
    x1, y1, x2, y2 = (float(v) for v in best.detection.box_xyxy_px)
    return ((max(x1, left) - left) / (right - left), (max(y1, top) - top) / (bottom - top),
            (min(x2, right) - left) / (right - left), (min(y2, bottom) - top) / (bottom - top))


def closeup_marker(damage_map: DamageMap, index: int) -> str:
    """The best detection's outline over the close-up, placed in percent of it."""
    box = closeup_box(damage_map, index)
    return "" if box is None else _mark(*box, damage_map.fused[index].site.level.colour_hex)


class PictureSheet:
    """The page's pictures, each once: the popups name theirs (``data-dm-picture``), and
    a popup's are put in when it opens (:func:`pictures_script`).

    Sites often share their best frame (a hover, a street of damaged roofs): inlined in
    each popup, a frame's JPEG came several times over (0.9 MB of the 10 MB page of a
    5-minute flight), and the browser decoded every popup's pictures on loading the
    page, opened or not."""

    def __init__(self) -> None:
        self._index: dict[bytes, int] = {}
        self.urls: list[str] = []

    def add(self, jpeg: bytes) -> int:
        """The number of ``jpeg`` on the sheet (added if new)."""
        number = self._index.get(jpeg)
        if number is None:
            number = self._index[jpeg] = len(self.urls)
            self.urls.append("data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii"))
        return number


def _jpeg_size(jpeg: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of a JPEG from its header, ``None`` when it has none."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            return int(image.width), int(image.height)
    except Exception:  # noqa: BLE001 - no size: the picture lays itself out when it loads
        return None


def picture_bytes(source: Thumbnail | None, key: int) -> bytes | None:
    """``source(key)``, ``None`` without a source or when it fails: a picture is a nicety,
    and never fails the export."""
    if source is None:
        return None
    try:
        return source(key)
    except Exception:  # noqa: BLE001
        return None


def picture(source: Thumbnail | None, key: int, css_class: str, width_px: int, alt: str,
            marker: Callable[[], str], sheet: PictureSheet | None = None) -> str:
    """A JPEG of ``source(key)`` with ``marker()`` drawn over it ("" without one): inline,
    or named on ``sheet`` (sized from its header, so the popup does not grow when the
    picture is put in)."""
    jpeg = picture_bytes(source, key)
    if not jpeg:
        return ""
    box = f'<div class="{css_class}" style="position:relative;width:{width_px}px;margin-top:6px">'
    style = f'style="width:{width_px}px;display:block;border-radius:3px"'
    if sheet is None:
        data = base64.b64encode(jpeg).decode("ascii")
        return f'{box}<img src="data:image/jpeg;base64,{data}" alt="{escape(alt)}" {style}>{marker()}</div>'
    size = _jpeg_size(jpeg)
    height = "" if size is None else f' height="{max(1, round(width_px * size[1] / max(1, size[0])))}"'
    return (f'{box}<img data-dm-picture="{sheet.add(jpeg)}" alt="{escape(alt)}" width="{width_px}"{height} '
            f'{style}>{marker()}</div>')


#: Room a popup leaves above and below itself in the map (pixels): its tip, the map's edge.
POPUP_MARGIN_PX = 70


def fit_popups_script(m):  # noqa: ANN001, ANN202 - a folium Map, and a MacroElement
    """A popup as tall as the map shows, at most, and scrolled inside beyond that: a
    site seen by several flights (its table, a close-up each) was taller than a laptop's
    or a phone's map, its title above the top edge, where Leaflet cannot pan it into view."""
    from branca.element import MacroElement
    from jinja2 import Template

    element = MacroElement()
    element._name = "FitPopups"
    element._template = Template(
        "{% macro script(this, kwargs) %}"
        f"{m.get_name()}.on('popupopen', function (event) {{"
        f" var room = Math.max(120, {m.get_name()}.getSize().y - {POPUP_MARGIN_PX});"
        " if (event.popup.options.maxHeight !== room) { event.popup.options.maxHeight = room; event.popup.update(); }"
        " });"
        "{% endmacro %}"
    )
    return element


def credits_script(m, credits: Sequence[str]):  # noqa: ANN001, ANN202 - a folium Map, and a MacroElement
    """``credits`` (plain text lines) in the map's attribution corner, as a web map
    credits its data (the print map's panel gives the same lines)."""
    import json

    from branca.element import MacroElement
    from jinja2 import Template

    text = " | ".join(escape(line) for line in credits)
    element = MacroElement()
    element._name = "Credits"
    element._template = Template(
        "{% macro script(this, kwargs) %}"
        f"{m.get_name()}.attributionControl.addAttribution({json.dumps(text)});"  # escaped: no "</" in it
        "{% endmacro %}"
    )
    return element


def pictures_script(m, sheet: PictureSheet):  # noqa: ANN001, ANN202 - folium objects
    """The sheet's pictures, and the script that puts a popup's in when it opens."""
    import json

    from branca.element import MacroElement
    from jinja2 import Template

    element = MacroElement()
    element._name = "Pictures"
    # "</" never appears in base64 or the JSON around it: the script cannot be closed early
    element._template = Template(
        "{% macro script(this, kwargs) %}"
        f"(function () {{ var pictures = {json.dumps(sheet.urls)};"
        f" {m.get_name()}.on('popupopen', function (event) {{"
        "  event.popup.getElement().querySelectorAll('img[data-dm-picture]').forEach(function (img) {"
        "   if (!img.getAttribute('src')) { img.src = pictures[Number(img.dataset.dmPicture)]; }"
        "  });"
        " });"
        " })();"
        "{% endmacro %}"
    )
    return element


def _uncertainty_row(fused) -> str:  # noqa: ANN001 - geo.fusion.FusedSite
    """How far the real place may be from the dot, and why (``geo.uncertainty``), when known."""
    why = fused.budget.describe() if fused.budget is not None else ""
    return (f"<tr><td>{heading(UNCERTAINTY)}</td><td>{plus_minus(fused.uncertainty_m)}"
            + (f" ({escape(why)})" if why else "") + "</td></tr>")


def _best_score(fused) -> str:  # noqa: ANN001 - geo.fusion.FusedSite
    """The detector's best score among the site's sightings, and whether a person confirmed it."""
    return f"{best_score(fused):.2f} (the detector's, of 1)" + (f"; {REVIEWED}" if fused.site.reviewed else "")


def _popup_html(damage_map: DamageMap, index: int, thumbnail: Thumbnail | None,
                closeup: Thumbnail | None = None, sheet: PictureSheet | None = None) -> str:
    fused = damage_map.fused[index]
    s = fused.site
    first_clock, last_clock = clock_time(damage_map, s.first_time_s), clock_time(damage_map, s.last_time_s)
    if first_clock is not None and last_clock is not None:
        (first, clock), (last, _) = first_clock, last_clock
        clock = _clock_label(clock)
        when = (f"{first:%Y-%m-%d %H:%M:%S} {clock}" if f"{first:%H:%M:%S}" == f"{last:%H:%M:%S}"
                else f"{first:%Y-%m-%d %H:%M:%S} to {last:%H:%M:%S} {clock}")
    elif f"{s.first_time_s:.1f}" == f"{s.last_time_s:.1f}":
        when = f"{s.first_time_s:.1f} s into the video"
    else:
        when = f"{s.first_time_s:.1f} s to {s.last_time_s:.1f} s of the video"
    frames = seen_in(fused)
    height = round(float(fused.position_m[2]), 1) + 0.0  # + 0.0: never "-0.0 m"
    closeup_picture = picture(closeup, s.id, "dm-closeup", 160, f"close-up of site {s.id}",
                              lambda: closeup_marker(damage_map, index), sheet)
    frame_picture = picture(thumbnail, s.best_frame, "dm-thumb", 300, f"{BEST_FRAME} {frame_number(s.best_frame)}",
                            lambda: _detection_marker(damage_map, index), sheet)
    image = closeup_picture + frame_picture
    edge = " (cut off by the frame's edge)" if _at_frame_edge(damage_map, index) else ""
    reviewed = "yes" if s.reviewed else "no"
    doubt = ("" if fused.confirmed else
             f'<div class="dm-unconfirmed">{escape(_sentence(unconfirmed_reason(fused)))}: often a false alarm; '
             "look at it before acting on it</div>")
    return (
        '<div class="dm-popup">'
        f'<b style="color:{s.level.colour_hex}">Site {s.id}: {escape(s.level.label)}'
        f'{"" if fused.confirmed else " (unconfirmed)"}</b>{doubt}'
        '<table>'
        f"<tr><td>{EMS_GRADE_LABEL}</td><td>{escape(EMS_GRADE[s.level])}</td></tr>"
        f"<tr><td>Best score</td><td>{_best_score(fused)}</td></tr>"
        f"<tr><td>Level agreement</td><td>{s.confidence:.0%} (how far the sightings agree on "
        f"{escape(s.level.label)}; not a probability)</td></tr>"
        f"<tr><td>Seen in</td><td>{frames}</td></tr>"
        f"<tr><td>Seen</td><td>{when}</td></tr>"
        f"<tr><td>{heading(BEST_FRAME)}</td><td>{frame_number(s.best_frame)}{edge}</td></tr>"
        f"<tr><td>Height</td><td>{height:.1f} m above take-off</td></tr>"
        f"<tr><td>{heading(REVIEWED)}</td><td>{reviewed}</td></tr>"
        f"<tr><td>Location</td><td>lat {s.lat_deg:.6f}, lon {s.lon_deg:.6f}</td></tr>"
        f"{_uncertainty_row(fused)}"
        "</table>"
        f"{image}</div>"
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def level_count_rows(counts: dict[DamageLevel, int]) -> str:
    """The summary panel's rows: a swatch, the level and its count, most severe first."""
    return "".join(
        f'<div class="dm-row"><span class="dm-swatch" style="background:{level.colour_hex}"></span>'
        f'{escape(level.label)}<span class="dm-count" id="dm-count-{level.name.lower()}">{counts[level]}</span></div>'
        for level in sorted(DamageLevel, reverse=True)
    )


def level_legend_rows() -> str:
    """The legend's rows for the site circles, a dot per level."""
    return "".join(f'<div class="dm-row"><span class="dm-dot" style="background:{lv.colour_hex}"></span>'
                   f"{escape(lv.label)}</div>" for lv in DamageLevel)


#: The ring of a site a reviewer decided on (accepted or relabelled): the analyst's
#: word, told apart from the model's at a glance.
REVIEWED_RING = "#ffffff"
#: How opaque an unconfirmed site's marker is (a confirmed one's: 0.92).
UNCONFIRMED_OPACITY = 0.35
#: the legend's row for that ring
REVIEWED_LEGEND_ROW = (
    f'<div class="dm-row"><span class="dm-dot" style="background:#999;border:2px solid {REVIEWED_RING};'
    'box-shadow:0 0 0 1px #333"></span>reviewed by an analyst (&#10003; in the list)</div>'
)


def most_severe_first(site) -> tuple[int, int]:  # noqa: ANN001 - core.types.DamageSite
    """Sort key of the order a field team checks sites in: most severe first, then by
    number (the HTML map's site list and the relief package's site atlas)."""
    return -int(site.level), int(site.id)


def site_list_html(sites, unconfirmed: Collection[int] = ()) -> str:  # noqa: ANN001 - DamageSite or SurveySite
    """Every site (each with id, level, confidence) in a list, :func:`most_severe_first`:
    a click flies the map to it (with :func:`site_list_script`); those ``unconfirmed``
    (their ids) say so."""
    sites = sorted(sites, key=most_severe_first)
    items = "".join(
        f'<div class="dm-row dm-item" data-site="{s.id}" title="show it on the map">'
        f'<span class="dm-dot" style="background:{s.level.colour_hex}"></span>'
        f"Site {s.id}: {escape(s.level.label)}{' &#10003;' if getattr(s, 'reviewed', False) else ''}"
        f"{' (unconfirmed)' if s.id in unconfirmed else ''}"
        f"<span class=\"dm-count\">{counted(s.observation_count, 'sighting')}</span></div>"
        for s in sites
    )
    find = ('<form id="dm-site-find" class="dm-find" autocomplete="off">'
            '<input type="number" inputmode="numeric" min="1" step="1" placeholder="Site number" '
            'aria-label="Site number"><button type="submit">Show</button>'
            '<span class="dm-find-result" role="status"></span></form>')
    return (f'{find}<details id="dm-site-list"><summary>Sites, most severe first ({len(sites)})</summary>'
            f'<div class="dm-list">{items}</div></details>') if sites else ""


def site_list_script(m, markers: dict[int, object]):  # noqa: ANN001, ANN202 - folium objects
    """Clicking a site of the list, or typing its number (the one the print map and the
    atlas give it: "site 12"), zooms the map to it and opens its popup."""
    from branca.element import MacroElement
    from jinja2 import Template

    table = ", ".join(f"{site_id}: {marker.get_name()}" for site_id, marker in markers.items())
    element = MacroElement()
    element._name = "SiteList"
    element._template = Template(
        "{% macro script(this, kwargs) %}"
        f"(function () {{ var map = {m.get_name()}, markers = {{{table}}};"
        " function show(id) {"
        "  var marker = markers[id]; if (!marker) { return false; }"
        "  var zoom = Math.max(map.getZoom(), 19);"
        # the site low in the view, so its popup (pictures and all) fits above it
        "  var centre = map.project(marker.getLatLng(), zoom).subtract([0, map.getSize().y * 0.4]);"
        "  map.setView(map.unproject(centre, zoom), zoom, {animate: false});"
        "  if (map.hasLayer(marker)) { marker.openPopup(); }"
        "  return true;"
        " }"
        " document.querySelectorAll('#dm-site-list .dm-item').forEach(function (item) {"
        "  item.addEventListener('click', function () { show(item.dataset.site); });"
        " });"
        " var find = document.getElementById('dm-site-find');"
        " if (find) { find.addEventListener('submit', function (event) {"
        "  event.preventDefault();"
        "  var id = String(Number(find.querySelector('input').value.trim()));"
        "  var found = show(id);"
        "  find.querySelector('.dm-find-result').textContent = found ? ''"
        "   : 'No site ' + find.querySelector('input').value.trim() + ' on this map (a number can be missing:'"
        "   + ' a site taken off the map keeps its number)';"
        "  if (found) { find.querySelector('input').blur(); }"
        " }); }"
        " })();"
        "{% endmacro %}"
    )
    return element


def panels_html(title: str, total: str, details: str, sites, notes: list[str], legend: str,  # noqa: ANN001
                unconfirmed: Collection[int] = ()) -> str:
    """The summary panel (title, ``total``, the count per level, ``details``, the site
    list, the processing notes) and the legend (the levels, the reviewed ring, then
    ``legend``) of a flight's or a survey's map; ``sites`` those the map shows, the ids
    ``unconfirmed`` among them marked so."""
    counts = {level: sum(1 for s in sites if s.level is level) for level in DamageLevel}
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return f"""
<div id="dm-summary" class="dm-panel dm-summary">
  <div class="dm-title">{escape(title)}</div>
  <div class="dm-total"><span id="dm-site-total">{len(sites)}</span> damage sites {total}</div>
  {level_count_rows(counts)}
  {details}
  {site_list_html(sites, unconfirmed)}
  <details><summary>Processing notes</summary><ul>{items}</ul></details>
</div>
<div id="dm-legend" class="dm-panel dm-legend"><details class="dm-fold" open>
  <summary class="dm-title">Legend</summary>
  {level_legend_rows()}
  {REVIEWED_LEGEND_ROW}
  {legend}
</details></div>
"""


def _clock_label(clock: str) -> str:
    """``UTC`` after a time as it is; another clock (a drone's local time) in brackets."""
    return clock if clock == "UTC" else f"({clock})"


def _panel_html(damage_map: DamageMap) -> str:
    observations = sum(s.observation_count for s in damage_map.sites)
    start = clock_time(damage_map, 0.0)
    recorded = "unknown" if start is None else (
        f"{start[0]:%Y-%m-%d %H:%M} {_clock_label(start[1])}")
    details = (f'<div class="dm-meta">Recorded {escape(recorded)} &middot; telemetry {escape(damage_map.track.name)}'
               f" ({escape(damage_map.track.format)})</div>")
    legend = (LABEL_LEGEND_ROW + '<div class="dm-row"><span class="dm-line"></span>Flight track</div>'
              '<div class="dm-row"><span class="dm-heat"></span>Damage density</div>'
              '<div class="dm-small">Circle size grows with times seen.</div>')
    unconfirmed = {fused.site.id for fused in damage_map.fused if not fused.confirmed}
    if unconfirmed:
        legend += ('<div class="dm-row"><span class="dm-dot" style="background:rgba(120,120,120,0.35);'
                   'border-style:dashed"></span>Unconfirmed: detected in too few of the frames that showed it</div>')
    return panels_html(damage_map.title, f"from {observations} observations", details, damage_map.sites,
                       list(damage_map.notes), legend, unconfirmed)


#: A screen this wide or narrower (CSS pixels: a phone, upright or on its side) gets the
#: phone layout: the layer list and the legends folded behind a tap, the panels out of
#: the way of an open popup, rows a finger can hit.
NARROW_SCREEN_PX = 640

_STYLE = LABEL_STYLE + """
.leaflet-container { background: #e9ecef; }
.dm-panel { position: absolute; z-index: 1000; background: rgba(255,255,255,0.93); padding: 8px 10px;
  border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,0.35); font: 13px/1.35 system-ui, sans-serif; }
.dm-summary { left: 54px; top: 10px; max-width: 320px; }
.dm-legend { right: 10px; bottom: 24px; }
.dm-title { font-weight: 600; margin-bottom: 4px; }
.dm-total { margin-bottom: 4px; }
.dm-row { display: flex; align-items: center; gap: 6px; }
.dm-count { margin-left: auto; font-weight: 600; padding-left: 12px; }
.dm-swatch, .dm-dot { display: inline-block; width: 12px; height: 12px; border: 1px solid #333; }
.dm-dot { border-radius: 50%; }
.dm-line { display: inline-block; width: 18px; height: 3px; background: #1f6fd1; }
.dm-heat { display: inline-block; width: 18px; height: 10px;
  background: linear-gradient(90deg, rgba(255,235,59,0.5), #ff9800, #d32f2f, #78001e); }
.dm-meta, .dm-small { color: #555; font-size: 11px; margin-top: 4px; }
.dm-popup table { border-collapse: collapse; margin-top: 4px; }
.dm-popup td { padding: 1px 6px 1px 0; vertical-align: top; }
.dm-unconfirmed { color: #8a4b00; font-size: 11px; margin-top: 2px; }
details { font-size: 11px; color: #444; margin-top: 4px; }
.dm-list { max-height: 40vh; overflow-y: auto; margin-top: 2px; }
.dm-item { cursor: pointer; padding: 1px 2px; border-radius: 3px; }
.dm-item:hover { background: #e3ecfa; }
.dm-find { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin-top: 6px; }
.dm-find input { width: 7.5em; font: inherit; padding: 2px 4px; }
.dm-find button { font: inherit; padding: 2px 8px; }
.dm-find-result { flex-basis: 100%; color: #8a4b00; font-size: 11px; }
.dm-find-result:empty { display: none; }
details.dm-fold { font-size: inherit; color: inherit; margin-top: 0; }
details.dm-fold > summary { cursor: pointer; }
details.dm-fold:not([open]) > summary { margin-bottom: 0; }
.leaflet-control-attribution { max-width: calc(100vw - 140px); white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.leaflet-control-attribution:hover { white-space: normal; }
@media (max-width: NARROW_SCREEN_PXpx) {
  .dm-summary { right: 60px; max-width: none; }
  .dm-item { padding: 8px 4px; }
  .dm-find input, .dm-find button { min-height: 36px; font-size: 16px; }
  .dm-summary .dm-meta { display: none; }
  details.dm-fold > summary { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  details > summary { padding: 6px 0; }
  .dm-legend { bottom: 24px; max-width: calc(40vw - 15px); }
  #dm-grades { max-width: calc(100vw - 130px) !important; }
  body.dm-popup-open .dm-panel, body.dm-popup-open .leaflet-top { display: none; }
  LABEL_STYLE_NARROW
}
""".replace("NARROW_SCREEN_PX", str(NARROW_SCREEN_PX)).replace("LABEL_STYLE_NARROW", LABEL_STYLE_NARROW)


def render_html(damage_map: DamageMap, *, thumbnail: Thumbnail | None = None,
                extra_layers: ExtraLayers | None = None, closeup: Thumbnail | None = None) -> str:
    """The whole HTML page as a string (see the module docstring).

    ``thumbnail(frame_index)`` and ``closeup(site_id)`` return JPEGs for the popups (or
    ``None``): the whole best frame, and the part of it :func:`closeup_requests` names.
    """
    import folium
    from branca.element import Element
    from folium.raster_layers import ImageOverlay

    m, root = offline_page(damage_map.title)

    bounds: list[tuple[float, float]] = []
    picture = heat_image(damage_map)
    if picture is not None:
        image, image_bounds = picture
        heat_group = folium.FeatureGroup(name="Damage density (heatmap)", show=True)
        ImageOverlay(image=image, bounds=image_bounds, mercator_project=False, opacity=1.0,
                     interactive=False, zindex=1).add_to(heat_group)
        heat_group.add_to(m)

    track_group = folium.FeatureGroup(name="Flight track", show=True)
    for segment in damage_map.track_segments_lonlat(video_only=True) or damage_map.track_segments_lonlat():
        folium.PolyLine([(lat, lon) for lon, lat in segment], color="#1f6fd1", weight=3, opacity=0.85,
                        tooltip=escape(f"Flight track ({damage_map.track.name})")).add_to(track_group)
        bounds += [(lat, lon) for lon, lat in segment]
    for lon, lat, t in damage_map.outliers_lonlat():
        folium.CircleMarker((lat, lon), radius=4, color="#555", weight=1, fill=True, fill_color="#bbb",
                            fill_opacity=0.9, tooltip=escape(f"GPS jump at {t:.1f} s: not used")).add_to(track_group)
    track_group.add_to(m)

    footprint_group = folium.FeatureGroup(name="Site footprints", show=True)
    site_markers: dict[int, object] = {}
    sheet = PictureSheet()
    groups = {level: folium.FeatureGroup(name=f"{level.label} sites ({count})", show=True)
              for level, count in damage_map.level_counts().items()}
    for k, fused in enumerate(damage_map.fused):
        s = fused.site
        if len(s.footprint_lonlat) >= 4:
            folium.Polygon([(lat, lon) for lon, lat in s.footprint_lonlat], color=s.level.colour_hex, weight=1,
                           fill=True, fill_opacity=0.25, interactive=False).add_to(footprint_group)
        radius = 6 + min(6.0, float(np.log2(max(1, fused.frames_seen))))
        doubtful = {} if fused.confirmed else {"dash_array": "3 3"}  # pale and dashed: --include-unconfirmed
        site_markers[s.id] = folium.CircleMarker(
            (s.lat_deg, s.lon_deg), radius=radius, color=REVIEWED_RING if s.reviewed else "#222",
            weight=3.0 if s.reviewed else 1.5, fill=True,
            fill_color=s.level.colour_hex, fill_opacity=0.92 if fused.confirmed else UNCONFIRMED_OPACITY,
            popup=folium.Popup(_popup_html(damage_map, k, thumbnail, closeup, sheet), max_width=330),
            tooltip=escape(f"Site {s.id}: {s.level.label}, {counted(s.observation_count, 'sighting')}"
                           + (", reviewed" if s.reviewed else "")
                           + ("" if fused.confirmed else ", unconfirmed")),
            class_name=f"dm-site dm-site-{s.level.name.lower()}" + ("" if fused.confirmed else " dm-unconfirmed-site"),
            **doubtful,
        ).add_to(groups[s.level])
        bounds.append((s.lat_deg, s.lon_deg))
    footprint_group.add_to(m)
    for level in sorted(DamageLevel):
        groups[level].add_to(m)
    site_list_script(m, site_markers).add_to(m)
    site_labels_script(m, site_markers, [s.id for s in sorted(damage_map.sites, key=most_severe_first)]).add_to(m)
    if sheet.urls:
        pictures_script(m, sheet).add_to(m)
    fit_popups_script(m).add_to(m)

    if extra_layers is not None:
        bounds += extra_layers(m)
    root.html.add_child(Element(_panel_html(damage_map)), name="damagemap_panels")
    return finish_page(m, bounds, sites=[(s.lat_deg, s.lon_deg) for s in damage_map.sites])


def offline_page(title: str):  # noqa: ANN201 - (folium.Map, its root Figure)
    """A folium map that works with no network: Leaflet inlined (no CDN), damagemap's
    style, a plain offline background shown, and an online OpenStreetMap layer to choose
    (falling back to the plain one when none of its tiles loads). Finish it with
    :func:`finish_page`."""
    import folium
    from branca.element import Element

    leaflet_js, leaflet_css = leaflet_assets()
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_start=17)
    m.default_js = []
    m.default_css = []
    root = m.get_root()
    root.title = escape(title)
    root.header.add_child(Element(f"<style>{leaflet_css}</style>"), name="leaflet_css_inline")
    root.header.add_child(Element(f"<script>{leaflet_js}</script>"), name="leaflet_js_inline")
    root.header.add_child(Element(f"<script>{_DOLLAR_SHIM}</script>"), name="dollar_shim")
    root.header.add_child(Element(f"<style>{_STYLE}</style>"), name="damagemap_style")
    plain = folium.TileLayer(tiles=_BLANK_TILE, attr="damagemap (offline)", name="Plain background (offline)",
                             max_zoom=21).add_to(m)
    online = folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online)", max_zoom=21, max_native_zoom=19,
                              show=False).add_to(m)
    _offline_fallback(m, online, plain).add_to(m)  # after the layers it names
    return m, root


def finish_page(m, bounds: list[tuple[float, float]], *,  # noqa: ANN001 - folium.Map
                sites: Sequence[tuple[float, float]] = ()) -> str:
    """The page of :func:`offline_page` as HTML: the layer control (last, so that it lists
    every layer), every layer's longitudes continuous around the centre of ``bounds``
    ``(lat, lon)`` (:mod:`geo.export.map_longitudes`), the view fitted to them, then, once
    laid out, to ``sites`` (``(lat, lon)``; none: ``bounds``) clear of the panels
    (:mod:`geo.export.first_view`), element ids stable."""
    import folium

    layers = folium.LayerControl(collapsed=False).add_to(m)
    _phone_layout(m, layers).add_to(m)
    centre = map_centre_longitude(bounds)
    if centre is not None:  # a flight across 180° in one place, not at the two edges of the world
        make_longitudes_continuous(m, centre)
        bounds = continuous_points(bounds, centre)
        sites = continuous_points(list(sites), centre)
    if bounds:
        lats = [b[0] for b in bounds]
        lons = [b[1] for b in bounds]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(20, 20))
        first_view_script(m, sites or bounds).add_to(m)  # after the phone layout folded its panels
    with plain_text_templates():  # most of the time a long flight's page took
        return _stable_ids(m.get_root().render())


def _phone_layout(m, layers):  # noqa: ANN001, ANN202 - folium objects
    """On a narrow screen (:data:`NARROW_SCREEN_PX`) the layer list starts folded behind
    its button (a tap on the map folds it again) and the legends start folded to their
    titles: open, they covered half a phone's map and each other. While a popup is open
    there the panels step aside (they lie above the map, and would hide it)."""
    from branca.element import MacroElement
    from jinja2 import Template

    element = MacroElement()
    element._name = "PhoneLayout"
    element._template = Template(
        "{% macro script(this, kwargs) %}"
        f"(function () {{ var map = {m.get_name()}, layers = {layers.get_name()};"
        f" var narrow = window.matchMedia('(max-width: {NARROW_SCREEN_PX}px)');"
        " if (narrow.matches) {"
        "  layers.collapse();"
        "  document.querySelectorAll('details.dm-fold').forEach(function (d) { d.open = false; });"
        " }"
        " map.on('click', function () { if (narrow.matches) { layers.collapse(); } });"
        " map.on('popupopen', function () { if (narrow.matches) { layers.collapse(); }"
        "  document.body.classList.add('dm-popup-open'); });"
        " map.on('popupclose', function () { document.body.classList.remove('dm-popup-open'); });"
        " })();"
        "{% endmacro %}"
    )
    return element


def _offline_fallback(m, online, plain):  # noqa: ANN001, ANN202 - folium objects
    """A script that swaps the online tiles for the plain background when no tile of
    them loads (no network), so the map does not sit on an empty grey layer."""
    from branca.element import MacroElement
    from jinja2 import Template

    element = MacroElement()
    element._name = "OfflineFallback"
    element._template = Template(
        "{% macro script(this, kwargs) %}"
        f"(function () {{ var map = {m.get_name()}, online = {online.get_name()}, plain = {plain.get_name()};"
        " var loaded = 0;"
        " online.on('tileload', function () { loaded += 1; });"
        " online.on('tileerror', function () {"
        "  if (loaded === 0 && map.hasLayer(online)) { map.removeLayer(online); plain.addTo(map); }"
        " });"
        " })();"
        "{% endmacro %}"
    )
    return element


#: folium/branca name every element ``<kind>_<32 random hex digits>``.
_ELEMENT_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9A-Za-z])")


def _stable_ids(html: str) -> str:
    """The element ids numbered in order of appearance instead of random, so the same
    map gives the same file byte for byte."""
    ids: dict[str, str] = {}
    return _ELEMENT_ID.sub(lambda m: ids.setdefault(m.group(0), f"{len(ids):032x}"), html)


def write_html(path: Path, damage_map: DamageMap, *, thumbnail: Thumbnail | None = None,
               extra_layers: ExtraLayers | None = None, closeup: Thumbnail | None = None) -> Path:
    from geo.export._atomic import write_text_atomic

    return write_text_atomic(path, render_html(damage_map, thumbnail=thumbnail, extra_layers=extra_layers,
                                               closeup=closeup))
