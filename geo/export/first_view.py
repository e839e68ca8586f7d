"""The web map's first view: the sites, in the part of the map its panels leave free.

On a laptop the layer list, the summary and the legends stay open (folded, a first-time
user would not find the layers, nor read what the colours mean), and take the corners of
the map: fitted to the whole window, the sites on the right sat under the layer list at
1280x760. The first view is fitted instead to the sites (the track and the rest when
there are none) inside the window less the panels: each panel takes from the fit the
edge of the window it costs least to give up (the share of the width or height between
that edge and the panel's far side): on a laptop the layer list and the summary their
sides, on a phone the summary the top and the folded legends the bottom. Where that
would leave the map under a quarter of the window (a small window), the panels are
ignored, as before. Later moves and zooms are the user's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

#: What lies over the map at its edges.
PANELS = ".dm-panel, .leaflet-control-layers, .leaflet-control-attribution"
#: Pixels between the fitted points and the panels or the window's edge: a dot's radius (up to 12)
#: and the number beside it.
MARGIN_PX = 36
#: The least share of the window's width and height the fit may be given.
LEAST_SHARE = 0.25
#: The first view's zoom steps (the user's zoom keeps Leaflet's whole levels).
FIT_ZOOM_SNAP = 0.25
#: The first view zooms in no closer than this: the online tiles' most detailed level (past
#: it they are blown up), a few houses around one site (one site, or sites on one spot,
#: have bounds of no size, which Leaflet fits at the map's closest zoom).
FIT_MAX_ZOOM = 19


def first_view_script(m, points: Sequence[tuple[float, float]]):  # noqa: ANN001, ANN201 - folium
    """A script that fits ``m``'s first view to ``points`` (``(lat, lon)``) clear of its
    panels, once the page is laid out (after the phone layout folded what it folds)."""
    from branca.element import MacroElement
    from jinja2 import Template

    lats, lons = [p[0] for p in points], [p[1] for p in points]
    bounds = json.dumps([[min(lats), min(lons)], [max(lats), max(lons)]])
    element = MacroElement()
    element._name = "FirstView"
    element._template = Template(
        "{% macro script(this, kwargs) %}"
        f"(function () {{ var map = {m.get_name()}, bounds = {bounds};"
        f" var margin = {MARGIN_PX}, least = {LEAST_SHARE};"
        " var box = map.getContainer().getBoundingClientRect(), w = box.width, h = box.height;"
        " var pad = {left: margin, right: margin, top: margin, bottom: margin};"
        f" document.querySelectorAll({json.dumps(PANELS)}).forEach(function (panel) {{"
        "  var b = panel.getBoundingClientRect();"
        "  if (b.width <= 0 || b.height <= 0 || getComputedStyle(panel).display === 'none') { return; }"
        "  var left = b.left - box.left, right = b.right - box.left, top = b.top - box.top, bottom = b.bottom - box.top;"
        "  var sides = [['left', right + margin, w], ['right', w - left + margin, w],"
        "               ['top', bottom + margin, h], ['bottom', h - top + margin, h]];"
        "  var side = sides.reduce(function (a, b) { return b[1] / b[2] < a[1] / a[2] ? b : a; });"
        "  pad[side[0]] = Math.max(pad[side[0]], side[1]);"
        " });"
        " if (w - pad.left - pad.right < least * w || h - pad.top - pad.bottom < least * h) {"
        "  pad = {left: margin, right: margin, top: margin, bottom: margin}; }"
        # in quarter zoom levels, this once: a whole level less halved the sites' spread
        f" var snap = map.options.zoomSnap; map.options.zoomSnap = {FIT_ZOOM_SNAP};"
        " map.fitBounds(bounds, {paddingTopLeft: [pad.left, pad.top], paddingBottomRight: [pad.right, pad.bottom],"
        f"  maxZoom: {FIT_MAX_ZOOM}, animate: false}});"
        " map.options.zoomSnap = snap;"
        " })();"
        "{% endmacro %}"
    )
    return element


__all__ = ["FIT_MAX_ZOOM", "FIT_ZOOM_SNAP", "LEAST_SHARE", "MARGIN_PX", "PANELS", "first_view_script"]
