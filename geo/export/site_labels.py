"""Site numbers beside the HTML map's dots, as the print map labels every dot.

A field team says "site 12": the number has to be on the map, not only in a tooltip a
phone cannot hover. Each number sits beside its dot (right, else left, above, below),
where it covers no other number and no other site's dot but for its rim (the dots of
sites a few metres apart overlap when zoomed out); where it would, it is left out
(the dot keeps its tooltip and popup), so zoomed out the most severe sites keep theirs
and zooming in brings the others back. The numbers are laid out again after each zoom,
when a layer of sites is shown or hidden and when the window changes size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: The labels' map pane: above the sites' circles (the overlay pane, 400), under the
#: tooltips (650) and the popups (700).
LABEL_PANE_Z = 450

LABEL_STYLE = """
.dm-site-label { position: absolute; left: 0; top: 0; padding: 1px 3px; border-radius: 3px;
  background: rgba(255,255,255,0.88); box-shadow: 0 0 0 1px rgba(0,0,0,0.35); color: #111;
  font: 700 11px/1.15 system-ui, sans-serif; white-space: nowrap; pointer-events: none; }
.dm-label-key { position: static; display: inline-block; min-width: 12px; text-align: center; }
"""
#: On a phone a finger's width away: a size read at arm's length in daylight.
LABEL_STYLE_NARROW = ".dm-site-label { font-size: 12px; }"

#: The legend's row that says what the numbers are.
LABEL_LEGEND_ROW = ('<div class="dm-row"><span class="dm-site-label dm-label-key">12</span>'
                    "site number, as on the print map (zoom in for more)</div>")


def site_labels_script(m, markers: Mapping[int, object], order: Sequence[int]):  # noqa: ANN001, ANN201 - folium
    """The numbers of ``markers`` (site id: its ``folium.CircleMarker``) beside their dots,
    placed in ``order`` (the first keep theirs where space is short: most severe first)."""
    import json

    from branca.element import MacroElement
    from jinja2 import Template

    table = ", ".join(f"{site_id}: {markers[site_id].get_name()}" for site_id in order)
    element = MacroElement()
    element._name = "SiteLabels"
    element._template = Template(
        "{% macro script(this, kwargs) %}"
        f"(function () {{ var map = {m.get_name()}, markers = {{{table}}}, order = {json.dumps(list(order))};"
        f" var pane = map.createPane('dm-site-labels'); pane.style.zIndex = {LABEL_PANE_Z};"
        " pane.style.pointerEvents = 'none';"
        " var labels = {}, sizes = {};"
        " order.forEach(function (id) {"
        "  var label = L.DomUtil.create('div', 'dm-site-label', pane); label.textContent = id; labels[id] = label;"
        " });"
        " function measure() {"  # once, all together: one layout of the page, not one a label
        "  order.forEach(function (id) { labels[id].style.display = ''; });"
        "  order.forEach(function (id) { sizes[id] = [labels[id].offsetWidth, labels[id].offsetHeight]; });"
        " }"
        " function hits(a, b) { return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]; }"
        " function layout() {"
        "  if (!order.length) { return; }"
        "  if (!sizes[order[0]] || !sizes[order[0]][0]) { measure(); }"
        "  var dots = {}, cores = {}, shown = [];"
        "  order.forEach(function (id) {"
        "   var marker = markers[id]; if (!map.hasLayer(marker)) { return; }"
        "   var p = map.latLngToLayerPoint(marker.getLatLng());"
        "   var r = marker.getRadius() + (marker.options.weight || 0) / 2;"
        "   dots[id] = [p.x - r, p.y - r, p.x + r, p.y + r];"
        "   cores[id] = [p.x - r / 2, p.y - r / 2, p.x + r / 2, p.y + r / 2]; shown.push(id);"
        "  });"
        "  var taken = [];"
        "  order.forEach(function (id) {"
        "   var label = labels[id], dot = dots[id], place = null;"
        "   if (dot) {"
        "    var w = sizes[id][0], h = sizes[id][1];"
        "    var x = (dot[0] + dot[2] - w) / 2, y = (dot[1] + dot[3] - h) / 2;"
        "    var spots = [[dot[2] + 1, y], [dot[0] - 1 - w, y], [x, dot[1] - h], [x, dot[3]]];"
        "    for (var k = 0; k < spots.length && !place; k++) {"
        "     var box = [spots[k][0], spots[k][1], spots[k][0] + w, spots[k][1] + h];"
        "     var free = !taken.some(function (other) { return hits(box, other); })"
        "      && !shown.some(function (other) { return other !== id && hits(box, cores[other]); });"
        "     if (free) { place = box; }"
        "    }"
        "   }"
        "   if (!place) { label.style.display = 'none'; return; }"
        "   taken.push(place); label.style.display = '';"
        "   L.DomUtil.setPosition(label, L.point(place[0], place[1]));"
        "  });"
        " }"
        # during a zoom's animation the dots move under the numbers: hidden till it ends
        " map.on('zoomstart', function () { pane.style.visibility = 'hidden'; });"
        " map.on('zoomend viewreset resize overlayadd overlayremove', function () {"
        "  layout(); pane.style.visibility = ''; });"
        " map.whenReady(layout);"
        " })();"
        "{% endmacro %}"
    )
    return element


__all__ = ["LABEL_LEGEND_ROW", "LABEL_STYLE", "LABEL_STYLE_NARROW", "site_labels_script"]
