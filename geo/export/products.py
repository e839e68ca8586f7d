"""The relief products' layers: graded buildings, coverage, camera footprints, area of interest.

Rows for the GeoPackage (``(properties, WGS84 geometry)`` as :mod:`geo.export.records`),
the event's description (:class:`ProductInfo`, which names the package after the
Copernicus EMS convention) and the layers the offline HTML map adds (graded polygons,
coverage, the basemap).
"""

from __future__ import annotations

import datetime as dt
import html as _html
import re
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from core.text import is_one_line_text, isolated, isolated_html
from core.types import frame_number
from geo.export.labels import AREA_FILMED, BEST_FRAME, EMS_GRADE, PRODUCT_TITLE, REVIEWED, SIGHTINGS, heading
from geo.export.records import Record, clock_time, counted, iso_time
from geo.footprints import ADDRESS_COLUMNS, address_text, is_osm_file

PRELIMINARY = "Preliminary analysis: not yet validated in the field"
#: What OpenStreetMap's licence asks of a map that shows its data (ODbL, section 4.3).
OSM_CREDIT = "(c) OpenStreetMap contributors, ODbL"
#: Who drew the maps: every relief product has a web map (Leaflet) and a printed one (matplotlib).
RENDERING_CREDIT = "map rendering with Leaflet and matplotlib"


def data_credits(footprints: str | Path | None = None, basemap: str | Path | None = None) -> list[str]:
    """The credits of the data a map shows beside the analysis: the building footprints
    (with OpenStreetMap's credit for an OSM extract) and the basemap (files' paths or names)."""
    credits = []
    if footprints:
        name = Path(str(footprints)).name
        credits.append(f"Building footprints: {name}" + (f" {OSM_CREDIT}" if is_osm_file(name) else ""))
    if basemap:
        credits.append(f"Basemap: {Path(str(basemap)).name}")
    return credits


def map_credits(*, software: str, imagery: str | None = None, footprints: str | Path | None = None,
                basemap: str | Path | None = None, organisation: str = "") -> list[str]:
    """The credit lines every map of a product gives, printed, on the web and in the
    README: the software, the building footprints (with OpenStreetMap's credit for an OSM
    extract), the basemap, the imagery and the producer (``footprints``, ``basemap``:
    the files' paths or names; left out when ``None``)."""
    credits = [f"Analysis and map: {software} (MIT licence), {RENDERING_CREDIT}", *data_credits(footprints, basemap)]
    if imagery:
        credits.append(f"Imagery: {imagery}")
    if organisation:
        credits.append(f"Produced by {organisation}")
    return credits


#: :class:`ProductInfo`'s text fields, each one line of text.
TEXT_FIELDS = ("event", "glide", "analyst", "organisation", "contact", "area")
#: The most characters a text field holds (a heading of the print map, a line of the README).
MAX_TEXT_CHARS = 200
#: How much of a refused text its message shows: a pasted page is not echoed whole.
_SHOWN_CHARS = 60


def _shown(value: object) -> str:
    """``value`` as a message quotes it: its repr, its hidden characters escaped, cut
    after :data:`_SHOWN_CHARS` characters."""
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return f"{value[:_SHOWN_CHARS]!r}..."
    return repr(value)


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """What the products say about the event and who made them; stored in the project.

    ``event``: the event's name ("Hurricane Michael"); ``glide``: its GLIDE number
    (``TC-2018-000166-USA``); ``analyst`` and ``organisation``: who produced the map;
    ``contact``: how a field team reaches them ("+33 6 12 34 56 78, maps@example.org,
    radio channel 5"); ``area``: the area of interest's code (``AOI01``); ``version``:
    the product version.
    """

    event: str = ""
    glide: str = ""
    analyst: str = ""
    organisation: str = ""
    area: str = "AOI01"
    version: int = 1
    contact: str = ""

    def __post_init__(self) -> None:
        for name in TEXT_FIELDS:
            value = getattr(self, name)
            if not is_one_line_text(value):
                raise ValueError(f"{name} must be one line of text (at most {MAX_TEXT_CHARS} characters); "
                                 f"got {_shown(value)}")
            if len(value) > MAX_TEXT_CHARS:
                raise ValueError(f"{name} must be at most {MAX_TEXT_CHARS} characters; got {len(value):,}: "
                                 f"{_shown(value)}")
        if self.glide and not re.fullmatch(r"[A-Z]{2}-\d{4}-\d{6}-[A-Z]{3}", self.glide.strip().upper()):
            raise ValueError(f"GLIDE number must look like TC-2018-000166-USA; got {self.glide!r}")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or not 1 <= self.version <= 99:
            raise ValueError(f"version must be a whole number from 1 to 99; got {self.version!r}")

    @classmethod
    def from_mapping(cls, values: Any) -> ProductInfo:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(values or {}).items() if k in known and v is not None})

    def to_mapping(self) -> dict[str, Any]:
        return asdict(self)

    def event_code(self) -> str:
        """The GLIDE number, else the event's name as a file-name-safe code, else ``DAMAGEMAP``."""
        if self.glide:
            return self.glide.strip().upper()
        code = re.sub(r"[^A-Za-z0-9]+", "-", _ascii(self.event)).strip("-").upper()
        return code[:40] or "DAMAGEMAP"

    def product_name(self, product: str) -> str:
        """``<event>_<area>_<product>_DRONE_v<NN>`` after CEMS's ``EMSR<NNN>_AOI<NN>_..._v<NN>``
        (``product``: ``GRA`` grading, ``FEP`` first estimate)."""
        area = re.sub(r"[^A-Za-z0-9]+", "", _ascii(self.area)).upper() or "AOI01"
        return f"{self.event_code()}_{area}_{product}_DRONE_v{self.version:02d}"


def map_title(damage_map, info: ProductInfo) -> str:  # noqa: ANN001 - geo.mapping.DamageMap
    """The title of a flight's KML, KMZ and HTML map: the event the project names
    (``export --event``/``--glide``, the Export dialog) and the day it was filmed,
    "Damage map: Hurricane Michael (GLIDE TC-2018-000166-USA), 2018-10-12"; without an
    event, ``damage_map``'s own (the video's name). The day is the recording's, UTC or
    on the drone's clock, left out when nothing dates it. The event is isolated
    (:func:`core.text.isolated`): an Arabic event keeps its place before the (Latin)
    GLIDE number."""
    if not (info.event or info.glide):
        return damage_map.title
    filmed = clock_time(damage_map, 0.0)
    return f"{PRODUCT_TITLE}: {event_text(info)}" + (f", {filmed[0]:%Y-%m-%d}" if filmed is not None else "")


def survey_map_title(title: str, info: ProductInfo | None) -> str:
    """The one title of a survey's files (its KML, KMZ, offline map, print map and README),
    as :func:`map_title` is a flight package's: the survey's ``title`` ("Damage survey:
    town") and the event it maps, "Damage survey: town · Hurricane Michael (GLIDE
    TC-2018-000166-USA)"; ``title`` alone without an event."""
    event = event_text(info) if info is not None else ""
    return f"{title} · {event}" if event else title


def event_text(info: ProductInfo) -> str:
    """The event as a map's title names it, "Hurricane Michael (GLIDE TC-2018-000166-USA)",
    or either alone; the event isolated (:func:`core.text.isolated`): an Arabic event keeps
    its place before the (Latin) GLIDE number."""
    glide = f"GLIDE {info.glide}" if info.glide else ""
    return f"{isolated(info.event)} ({glide})" if info.event and glide else isolated(info.event) or glide


def _ascii(text: str) -> str:
    """Latin letters without their accents ("Séisme Haïti" -> "Seisme Haiti"; "ß" -> "ss"),
    for a file name every system and zip tool takes; other scripts go (the code falls back
    to ``DAMAGEMAP``)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("ẞ", "SS"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _ring(polygon):  # noqa: ANN001, ANN202
    from shapely.geometry.polygon import orient

    return orient(polygon, 1.0)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def graded_building_records(damage_map, grading, *, best_time=None) -> list[Record]:  # noqa: ANN001
    """One polygon per footprint with its grade in every vocabulary and its evidence
    (``best_time(building)``: the ISO time of its best frame; default: in ``damage_map``'s video)."""
    if best_time is None:
        def best_time(b):  # noqa: ANN001, ANN202
            return iso_time(damage_map, b.best_time_s) if b.best_time_s is not None else None
    records = []
    for b in grading.buildings:
        c = b.coverage
        xbd_value, xbd_subtype = b.xbd
        props = {
            "building_id": b.building_id,
            **{key: b.address.get(key) for key in ADDRESS_COLUMNS},
            "level": b.level,
            "grade": b.label,
            "ems_grade": b.ems_grade,
            "xbd_damage": xbd_value,
            "xbd_subtype": xbd_subtype,
            "osm_damage": b.osm_damage,
            "hot_damage": _hot(b.level),
            "confidence": b.confidence,
            "best_score": b.best_score,
            "site_ids": ",".join(str(i) for i in b.site_ids) or None,
            "sites": len(b.site_ids),
            "sightings": b.sightings,
            "best_frame": b.best_frame,
            "best_time": best_time(b),
            "reviewed": b.reviewed,
            "frames_seen": c.frames if c is not None else None,
            "good_views": c.good_views if c is not None else None,
            "nearest_m": c.nearest_m if c is not None else None,
            "steepest_deg": c.steepest_deg if c is not None else None,
            "roof_in_view": c.roof_in_view if c is not None else None,
            "seen_well": c.seen_well if c is not None else None,
            "field_validated": False,
            "colour": b.colour,
        }
        records.append((props, _ring(b.polygon)))
    return records


def _hot(level: str) -> str | None:
    from geo.grading import HOT_DAMAGE

    return HOT_DAMAGE[level]


def coverage_records(layer, *, graded: Collection[str] = ()) -> list[Record]:  # noqa: ANN001
    """One polygon per unit (building or grid cell) with how it was seen. A unit in
    ``graded`` (buildings a damage site grades) is assessed however it was seen: the
    damage found there is its assessment, as the graded buildings layer says."""
    records = []
    for unit_id, polygon, c in zip(layer.ids, layer.polygons, layer.coverage):
        records.append(({
            "unit": layer.kind,
            "unit_id": unit_id,
            "status": c.status,
            "assessment": "assessed" if c.seen_well or unit_id in graded else "not assessed",
            "frames_seen": c.frames,
            "good_views": c.good_views,
            "nearest_m": c.nearest_m,
            "steepest_deg": c.steepest_deg,
            "roof_in_view": c.roof_in_view,
            "best_frame": c.best_frame,
            "best_gsd_m": c.best_gsd_m,
        }, _ring(polygon)))
    return records


def camera_records(damage_map, *, limit: int = 300) -> list[Record]:  # noqa: ANN001
    """The ground each analysed frame saw (CEMS layer A2, image footprint)."""
    from geo.coverage import camera_footprint_records

    out = []
    for props, polygon in camera_footprint_records(damage_map, limit=limit):
        out.append(({**props, "time": iso_time(damage_map, props["time_s"])}, polygon))
    return out


def aoi_records(damage_map, camera: list[Record], info: ProductInfo) -> list[Record]:  # noqa: ANN001
    """The area of interest (CEMS layer A1): the outline of the area filmed as every map
    draws it (:func:`geo.ground_seen.ground_seen_lonlat`: the union of the camera
    footprints without the saw teeth of their edges), so that the layer, its ``area_km2``
    and the maps' "Area filmed" are one shape."""
    from shapely.geometry import MultiPolygon

    from geo.ground_seen import ground_seen_lonlat

    if not camera:
        return []
    outline = ground_seen_lonlat([g for _, g in camera])
    if outline.geom_type == "Polygon":
        geometry = _ring(outline)
    else:
        geometry = MultiPolygon([_ring(p) for p in getattr(outline, "geoms", []) if p.geom_type == "Polygon"])
    area_m2 = _area_m2(damage_map, outline)
    return [({"area": info.area, "event": info.event or None, "glide": info.glide or None,
              "area_km2": round(area_m2 / 1e6, 4), "source": AOI_SOURCE}, geometry)]


#: What the area of interest was made from (its ``source`` attribute).
AOI_SOURCE = f"outline of the camera footprints of the analysed frames (the maps' {heading(AREA_FILMED)})"


def _area_m2(damage_map, geometry) -> float:  # noqa: ANN001
    import shapely

    local = damage_map.local

    def to_local(coords):  # noqa: ANN001, ANN202
        import numpy as np

        e, n = local.to_local(coords[:, 0], coords[:, 1])
        return np.stack([e, n], axis=1)

    return float(shapely.transform(geometry, to_local).area)


def imagery_times(damage_map) -> tuple[str | None, str | None]:  # noqa: ANN001
    """First and last analysed frame as ISO UTC (``None`` when nothing gives the
    recording's UTC time: ``DamageMap.recording_start``)."""
    times = sorted(damage_map.frame_poses.times_s[i] for i in damage_map.poses)
    if not times or damage_map.recording_start_utc() is None:
        return None, None
    return iso_time(damage_map, times[0]), iso_time(damage_map, times[-1])


def imagery_text(damage_map, first: str | None, last: str | None) -> str:  # noqa: ANN001 - DamageMap
    """When the analysed frames were filmed, for a person: ``first`` to ``last`` (ISO UTC,
    as :func:`imagery_times` gives them); without them the drone's own clock (a DJI
    SRT's local time, so marked); else unknown."""
    if first is not None:
        return utc_text(first) + (f" to {utc_text(last)[11:]}" if last and last != first else "")
    times = sorted(damage_map.frame_poses.times_s[i] for i in damage_map.poses)
    start, end = (clock_time(damage_map, times[0]), clock_time(damage_map, times[-1])) if times else (None, None)
    if start is None or end is None:
        return utc_text(None)
    span = f"{start[0]:%Y-%m-%d %H:%M:%S}" + (f" to {end[0]:%H:%M:%S}" if end[0] != start[0] else "")
    return f"{span} ({start[1]}; UTC not known)"


def utc_text(iso: str | None) -> str:
    if iso is None:
        return "unknown (neither the video nor its telemetry gives the UTC time)"
    moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


# ----------------------------------------------------------------------------- HTML
def html_layers(grading=None, coverage=None, basemap=None, camera: list[Record] | None = None,  # noqa: ANN001
                info: ProductInfo | None = None, credits: Sequence[str] | None = None):  # noqa: ANN201
    """A ``geo.export.html`` ``extra_layers`` callable adding the basemap (lowest), the
    graded buildings, the coverage and the camera footprints, a legend of grades, and
    ``credits`` in the map's corner (by default those of the footprints and the basemap:
    OpenStreetMap's licence asks for its credit wherever its buildings are shown)."""
    if credits is None:
        credits = data_credits(getattr(grading, "source", None), getattr(basemap, "source", None))

    def add(m) -> list[tuple[float, float]]:  # noqa: ANN001
        import folium
        from branca.element import Element
        from folium.raster_layers import ImageOverlay

        from geo.export.html import credits_script

        if credits:
            credits_script(m, credits).add_to(m)
        points: list[tuple[float, float]] = []
        if basemap is not None:
            folium.map.CustomPane("dm-basemap", z_index=250).add_to(m)
            west, south, east, north = basemap.bounds_lonlat()
            group = folium.FeatureGroup(name="Basemap (offline orthophoto)", show=True)
            ImageOverlay(image=basemap.data_url(), bounds=[[south, west], [north, east]], pane="dm-basemap",
                         interactive=False, opacity=1.0).add_to(group)
            group.add_to(m)
        if camera:
            filmed = folium.FeatureGroup(name=heading(AREA_FILMED), show=True)
            for ring in _filmed_rings(camera):
                folium.Polygon(ring, color=FILMED_COLOUR, weight=2, dash_array="6 4", fill=False, opacity=0.9,
                               interactive=False, class_name="dm-area-filmed").add_to(filmed)
            filmed.add_to(m)
            group = folium.FeatureGroup(name="Camera footprints flown", show=False)
            for props, polygon in camera:
                folium.Polygon([(y, x) for x, y in polygon.exterior.coords], color="#6a3d9a", weight=1,
                               fill=False, opacity=0.5, interactive=False).add_to(group)
            group.add_to(m)
        if coverage is not None and coverage.kind == "cell":
            group = folium.FeatureGroup(name=f"Coverage ({coverage.cell_m:g} m cells)", show=True)
            for unit_id, polygon, c in zip(coverage.ids, coverage.polygons, coverage.coverage):
                colour = {"seen well": "#2b83ba", "glimpsed": "#fdae61", "not seen": "#9e9e9e"}[c.status]
                folium.Polygon([(y, x) for x, y in polygon.exterior.coords], color=colour, weight=0.5,
                               fill=True, fill_opacity=0.15, tooltip=_html.escape(f"{c.status}: {c.frames} frames"),
                               ).add_to(group)
            group.add_to(m)
        if grading is not None:
            from geo.grading import ORDER

            groups = {level: folium.FeatureGroup(name=f"Buildings: {_label(level)} ({count})", show=True)
                      for level, count in grading.counts().items()}
            for b in grading.buildings:
                ring = [(y, x) for x, y in b.polygon.exterior.coords]
                folium.Polygon(ring, color="#222" if b.site_ids else b.colour, weight=1.2 if b.site_ids else 0.8,
                               fill=True, fill_color=b.colour, fill_opacity=0.6 if b.site_ids else 0.35,
                               popup=folium.Popup(_building_popup(b), max_width=300),
                               tooltip=_html.escape(f"Building {b.building_id}: {b.label}"),
                               class_name=f"dm-building dm-building-{b.level}").add_to(groups[b.level])
                if b.site_ids or b.level != "not_assessed":  # the view: what was assessed
                    points += ring
            for level in reversed(ORDER):
                groups[level].add_to(m)
            legend = "".join(
                f'<div class="dm-row"><span class="dm-swatch" style="background:{_colour(level)}"></span>'
                f'{_html.escape(_label(level))} ({_html.escape(_ems(level))})</div>' for level in ORDER)
            note = _html.escape(PRELIMINARY)
            if camera:
                legend += _filmed_legend()
            m.get_root().html.add_child(Element(
                '<div id="dm-grades" class="dm-panel" style="left:10px;bottom:70px;max-width:280px">'
                f'<details class="dm-fold" open><summary class="dm-title">Buildings ({EMS_GRADE})</summary>'
                f'{legend}{producer_html(info)}<div class="dm-small">{note}</div></details></div>'),
                name="damagemap_grades")
        elif camera:  # no footprints graded: the outline's legend alone, where the grades' would be
            m.get_root().html.add_child(Element(
                '<div id="dm-grades" class="dm-panel" style="left:10px;bottom:70px;max-width:280px">'
                f'<details class="dm-fold" open><summary class="dm-title">Coverage</summary>{_filmed_legend()}'
                f'{producer_html(info)}</details></div>'), name="damagemap_grades")
        return points

    return add


def producer_html(info: ProductInfo | None) -> str:
    """The event and producer under a web map's legend, and how to reach them (escaped);
    "" when none is set."""
    if info is None:
        return ""
    who = " · ".join(isolated_html(x) for x in (info.event, info.glide, info.organisation) if x)
    parts = [f'<div class="dm-small">{who}</div>'] if who else []
    if info.contact:
        parts.append(f'<div class="dm-small dm-contact">Contact: {isolated_html(info.contact)}</div>')
    return "".join(parts)


def _filmed_legend() -> str:
    return (f'<div class="dm-row"><span class="dm-line" style="background:none;border-top:2px dashed {FILMED_COLOUR}">'
            f'</span>{heading(AREA_FILMED)}</div><div class="dm-small dm-not-filmed">{_html.escape(NOT_FILMED)}</div>')


#: The outline of the area the drone filmed (the print map's dashed line too).
FILMED_COLOUR = "#6a3d9a"
#: What the map does not say, beside that outline.
NOT_FILMED = ("Outside the area filmed the drone saw nothing: no site there does not mean no damage. "
              "Inside it, Not assessed buildings were not seen well enough to grade.")


def _filmed_rings(camera: list[Record]) -> list[list[tuple[float, float]]]:
    """The outline of the union of the camera footprints (:func:`geo.ground_seen.ground_seen_lonlat`:
    without the footprints' saw teeth), ``(lat, lon)`` rings (holes too)."""
    from geo.ground_seen import ground_seen_lonlat

    union = ground_seen_lonlat([polygon for _, polygon in camera])
    rings = []
    for part in getattr(union, "geoms", [union]):
        if part.geom_type == "Polygon" and not part.is_empty:
            rings += [[(y, x) for x, y in ring.coords] for ring in (part.exterior, *part.interiors)]
    return rings


def _label(level: str) -> str:
    from geo.grading import LABELS

    return LABELS[level]


def _colour(level: str) -> str:
    from geo.grading import COLOURS

    return COLOURS[level]


def _ems(level: str) -> str:
    from geo.grading import EMS_GRADE

    return EMS_GRADE[level]


def _building_popup(b) -> str:  # noqa: ANN001
    from geo.export.html import escape

    c = b.coverage
    rows = [("Name", escape(b.address["name"]))] if b.address.get("name") else []
    if address_text(b.address):
        rows += [("Address", escape(address_text(b.address)))]
    rows += [("Grade", f"{b.label} &middot; {EMS_GRADE}: {escape(b.ems_grade)} &middot; xBD {b.xbd[0] if b.xbd[0] is not None else '-'}")]
    if b.site_ids:
        rows += [("Sites", escape(", ".join(str(i) for i in b.site_ids))),
                 ("Best score", f"{b.best_score:.2f} (the detector's, of 1)" if b.best_score is not None else "-"),
                 ("Level agreement", f"{b.confidence:.0%}" if b.confidence is not None else "-"),
                 (heading(SIGHTINGS), str(b.sightings)),
                 (heading(BEST_FRAME), ("-" if b.best_frame is None else str(frame_number(b.best_frame)))
                  + (f" of flight {escape(b.best_flight)}" if b.best_flight else "")),
                 (heading(REVIEWED), "yes" if b.reviewed else "no")]
        if b.flights:  # a survey's: every flight that saw damage on it
            rows += [("Flights", escape(", ".join(b.flights)))]
    if c is not None:
        rows += [("Seen in", f"{counted(c.frames, 'frame')} ({counted(c.good_views, 'good view')})")]
        if c.nearest_m is not None:
            rows += [("Nearest", f"{c.nearest_m:.0f} m, steepest {c.steepest_deg:.0f}&deg; down")]
    table = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return (f'<div class="dm-popup"><b style="color:{b.colour}">Building {escape(b.building_id)}</b>'
            f"<table>{table}</table></div>")


__all__ = ["OSM_CREDIT", "PRELIMINARY", "TEXT_FIELDS", "ProductInfo", "producer_html", "data_credits", "map_credits", "aoi_records", "camera_records", "coverage_records",
           "graded_building_records", "html_layers", "imagery_text", "imagery_times", "map_title",
           "event_text", "survey_map_title"]
