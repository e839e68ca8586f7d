"""The survey's print-ready map: one A4 landscape page of every flight's sites fused into
one (PNG and PDF), the PDF followed by a site atlas.

It is the flight's print map (:mod:`geo.export.print_map`) for an area flown several
times: the survey's sites numbered as in its other files, ringed (white between black
outlines) where a reviewer decided; each flight's track and the ground it saw in that
flight's colour (as the survey's web map draws them); with footprints, the buildings
graded from the sites under them (:mod:`geo.survey_grading`); with a basemap, that under
everything; the grid, scale bar and true north; the event and its producer, the flights
and their dates, the models, the software and "preliminary, not field-validated". A
relief team that prints one page for a town prints this one; the atlas gives each site a
card with the close-up from the flight that saw it best and a box to tick on the ground.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geo.export.print_map import (
    AtlasCard,
    building_legend,
    draw_atlas_pages,
    draw_buildings,
    draw_sites,
    exteriors_xy,
    frame_axes,
    lonlat_xy,
    map_extent,
    new_page,
    panel_footer,
    panel_heading,
    panel_legend,
    position_text,
    site_legend,
    uncertainty_text,
)
from geo.export.labels import REVIEWED, UNCERTAINTY
from geo.export.products import ProductInfo, imagery_times, utc_text
from geo.export.survey_html import FlightCloseup, date_text, flight_colour, survey_credits
from geo.survey_fusion import SurveyMap, SurveySite

#: Characters that fit on one line of an atlas card.
CARD_LINE_CHARS = 36


def _fit(text: str, limit: int = CARD_LINE_CHARS, *, keep: str = "") -> str:
    """``text`` and then ``keep`` within ``limit`` characters, ``text`` shortened (with an
    ellipsis) where they do not fit: a flight's long name gives way, its date does not."""
    room = max(1, limit - len(keep))
    return (text if len(text) <= room else text[:room - 1] + "\u2026") + keep


def _days(dates: Sequence[str]) -> str:
    """The first to the last day of ``dates`` ("2018-10-12 to 2018-10-14"; "" for none)."""
    days = sorted({date[:10] for date in dates if date})
    return " to ".join(dict.fromkeys((days[0], days[-1]))) if days else ""


def _imagery(built: SurveyMap) -> tuple[str | None, str | None]:
    """First and last analysed frame over every flight whose video has a creation time (ISO UTC)."""
    times = [t for flight in built.flights for t in imagery_times(flight.damage_map) if t is not None]
    return (min(times), max(times)) if times else (None, None)


def _imagery_text(built: SurveyMap) -> str:
    first, last = _imagery(built)
    if first is None:
        return _days([f.date for f in built.flights if f.date]) or utc_text(None)
    if last == first:
        return utc_text(first)
    start, end = utc_text(first), utc_text(last)  # to the second: one short flight is a minute
    return f"{start.removesuffix(' UTC')} to {end[11:] if end[:10] == start[:10] else end}"


def draw_survey_map(built: SurveyMap, *, title: str = "Damage survey",
                    provenance: Mapping[str, Any] | None = None, grading=None, basemap=None,
                    info: ProductInfo | None = None):  # noqa: ANN001, ANN201 - Grading, Basemap; a Figure
    """The page as a matplotlib Figure (Agg; no window). ``provenance``: ``software``,
    ``produced`` and ``flights`` (name -> ``model``, ...), as the survey's README takes it;
    ``grading``: the building footprints graded from the sites
    (:func:`geo.survey_grading.grade_survey`), drawn under them; ``basemap`` (in the survey's
    UTM zone, :func:`geo.basemap.read_basemap`), drawn under everything; ``title``: the
    survey's one title, the event in it (:func:`geo.export.products.survey_map_title`);
    ``info``: the producer (organisation, analyst) and how to reach them (contact)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from pyproj import Transformer

    provenance = dict(provenance or {})
    crs = built.local.crs
    to_utm = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    fig, ax, panel = new_page()
    ax.set_facecolor("#f2f2ee")
    if basemap is not None:
        west, south, east, north = basemap.bounds
        ax.imshow(basemap.image, extent=(west, east, south, north), origin="upper", interpolation="bilinear", zorder=0)

    points: list[np.ndarray] = []
    buildings = list(grading.buildings) if grading is not None else []
    outlines = exteriors_xy([b.polygon for b in buildings], to_utm)
    draw_buildings(ax, buildings, to_utm, outlines)
    points += [xy for b, xy in zip(buildings, outlines) if b.level != "not_assessed" or b.site_ids]
    coverage = {c.flight: c for c in built.coverage}
    flight_handles = []
    for k, flight in enumerate(built.flights):
        colour = flight_colour(k)
        seen = coverage.get(flight.name)
        for ring in seen.footprint_lonlat if seen is not None else ():
            xy = np.column_stack(to_utm.transform(*zip(*ring)))
            ax.fill(xy[:, 0], xy[:, 1], color=colour, alpha=0.07, lw=0, zorder=1)
            ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=0.8, ls="--", zorder=2)
            points.append(xy)
        track = flight.damage_map
        for segment in track.track_segments_lonlat(video_only=True) or track.track_segments_lonlat():
            xy = lonlat_xy(segment, to_utm)
            ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=1.6, zorder=4)
            points.append(xy)
        area = f", {seen.area_m2 / 1e4:.1f} ha" if seen is not None else ""
        flight_handles.append(Line2D([], [], color=colour, lw=1.6,
                                     label=_fit(flight.name, 48, keep=(f" ({date_text(flight.date)})" if flight.date
                                                                       else "") + area)))
    site_xy = lonlat_xy([(s.lon_deg, s.lat_deg) for s in built.sites], to_utm)
    if len(site_xy):
        points.append(site_xy)
    if not points:
        points.append(np.array([to_utm.transform(*built.local.to_lonlat(0.0, 0.0))]))
    frame_axes(fig, ax, map_extent(points), crs, built.local.convergence_deg)
    if len(site_xy):  # once the map has its extent: the numbers are placed on the page
        draw_sites(ax, built.sites, site_xy)

    flights = len(built.flights)
    when = _days([f.date for f in built.flights if f.date]) or "dates unknown"
    y = panel_heading(panel, [
        (title, 13, "bold"),  # the event in it: geo.export.products.survey_map_title
        ("Building damage grading, flights fused" if grading is not None
         else "Damage sites, flights fused (first estimate)", 9.5, "normal"),
        (f"{flights} flight{'s' if flights != 1 else ''} · {when} · from drone video", 8, "normal"),
    ])
    handles = (building_legend(grading) if grading is not None else []) + site_legend(built.sites) + flight_handles
    if any(c.footprint_lonlat for c in built.coverage):
        handles.append(Patch(facecolor="#999999", alpha=0.25, edgecolor="#555555", ls="--",
                             label="Ground seen (in the flight's colour)"))
    y = panel_legend(panel, y, handles)
    about = provenance.get("flights") or {}
    models = list(dict.fromkeys(str(about[f.name]["model"]) for f in built.flights
                                if about.get(f.name, {}).get("model")))
    facts = [
        ("Imagery", _imagery_text(built)),
        ("Sensor", "drone video, " + f"{flights} flight{'s' if flights != 1 else ''}"),
        ("Model", models[0] if len(models) == 1 else
         (f"{len(models)} models (see the README)" if models else "unknown")),
        ("Software", str(provenance.get("software") or "damagemap")),
        ("Produced", " · ".join(x for x in (str(provenance.get("produced") or ""), info and info.organisation,
                                              info and info.analyst and f"analyst {info.analyst}") if x) or "-"),
        *([("Contact", info.contact)] if info is not None and info.contact else []),  # as a flight's print map
        ("Grid", f"{crs} (WGS84 / UTM)"),
    ]
    panel_footer(panel, y, facts, survey_credits(built, provenance, info=info, grading=grading, basemap=basemap))
    return fig


def _card(built: SurveyMap, site: SurveySite, closeup: FlightCloseup | None) -> AtlasCard:
    """A site's card: where it is, which flights saw it and when, and the close-up from the
    flight whose sighting was the most confident."""
    from geo.export.html import closeup_box

    best = site.best_evidence
    found = built.flight_site(best)
    box = None if found is None else closeup_box(found[0].damage_map, found[1])
    picture = None if closeup is None else (lambda: closeup(best.flight, best.flight_site_id))
    count = len(site.evidence)
    days = _days(site.dates)
    return AtlasCard(site.id, site.level, (
        position_text(site.lat_deg, site.lon_deg),
        f"{UNCERTAINTY} {uncertainty_text(site.uncertainty_m)}" if uncertainty_text(site.uncertainty_m) else "",
        _fit(f"seen by {count} flight{'s' if count != 1 else ''}: " + ", ".join(site.flights)),
        _fit((f"on {days}" if days else "date unknown")
             + (f"; not found by {', '.join(site.not_found_by)}" if site.not_found_by else "")),
        f"level agreement {site.confidence:.0%}",
        f"{REVIEWED}: {'yes' if site.reviewed else 'no'}",
    ), picture, box, _fit(best.flight, 30, keep=f", {best.date[:10]}" if best.date else ""))


def draw_survey_atlas(built: SurveyMap, closeup: FlightCloseup | None = None, *,
                      title: str = "Damage survey") -> list:
    """Pages of site cards, most severe first (a list of matplotlib Figures; none without
    sites), numbered as on the map page (``closeup(flight, flight_site_id)``: a JPEG of
    that flight's site, or None)."""
    from geo.export.html import most_severe_first

    order = sorted(built.sites, key=most_severe_first)
    return draw_atlas_pages([_card(built, site, closeup) for site in order], title)


def write_survey_print(png: Path, pdf: Path, built: SurveyMap, *, title: str = "Damage survey",
                       closeup: FlightCloseup | None = None,
                       provenance: Mapping[str, Any] | None = None, grading=None,  # noqa: ANN001
                       basemap=None, info: ProductInfo | None = None,  # noqa: ANN001 - Basemap
                       notes: list[str] | None = None) -> list[Path]:
    """:func:`draw_survey_map` as a 150-dpi PNG and a vector PDF, the PDF followed by the
    :func:`draw_survey_atlas` pages, both headed by ``title`` (the survey's one title, the
    event in it: :func:`geo.export.products.survey_map_title`); each file whole or not at all. ``notes``: given, what
    the pages cannot draw is said in it (:func:`geo.export.print_map.save_pages`)."""
    from geo.export.print_map import plain_text, save_pages

    with plain_text():  # "$" in a survey's or an event's name printed as typed
        page = draw_survey_map(built, title=title, provenance=provenance, grading=grading, basemap=basemap, info=info)
        # the atlas headed by the survey's one title, as the map page and every other file are
        return save_pages(png, pdf, page, draw_survey_atlas(built, closeup, title=title), notes=notes)


__all__ = ["draw_survey_atlas", "draw_survey_map", "write_survey_print"]
