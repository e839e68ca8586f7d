"""The survey's offline HTML map: every flight's track and coverage, and the sites fused
across flights, each with what every flight saw of it.

The page is built the way the single-flight map is (:func:`geo.export.html.offline_page`:
Leaflet inlined, no CDN, a plain background when no tile loads), so a relief team opens
it with no network; its popups list each site's evidence per flight and date, the
question a survey answers ("seen Monday and Wednesday by two drones").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from core.types import DamageLevel, frame_number
from geo.export.html import (
    REVIEWED_RING,
    closeup_marker,
    credits_script,
    escape,
    finish_page,
    fit_popups_script,
    most_severe_first,
    offline_page,
    panels_html,
    picture,
    site_list_script,
)
from geo.export.records import best_score
from geo.export.site_labels import LABEL_LEGEND_ROW, site_labels_script
from geo.survey_fusion import Evidence, SurveyMap, SurveySite

#: ``closeup(flight, flight_site_id)``: a JPEG of that flight's site, as
#: :func:`geo.export.html.closeup_requests` names it for the flight's own map (or None)
FlightCloseup = Callable[[str, int], "bytes | None"]

#: Flights' tracks and coverage outlines, in turn (a survey rarely has more flights than this).
FLIGHT_COLOURS = ("#1f6fd1", "#7b1fa2", "#00838f", "#5d4037", "#c2185b", "#455a64", "#2e7d32", "#f57c00")


def date_text(date: str | None) -> str:
    """A flight's date as the maps print it: "2018-10-12 15:00 UTC" for a moment (the
    video's creation time), a day as it is, "" for none."""
    import datetime as dt

    if not date:
        return ""
    try:
        moment = dt.datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        return date
    if len(date) <= 10:
        return date
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M") + (" UTC" if moment.tzinfo is not None else "")


def flight_colour(k: int) -> str:
    """The ``k``-th flight's colour (on the web map and the print map alike)."""
    return FLIGHT_COLOURS[k % len(FLIGHT_COLOURS)]


def _evidence_picture(built: SurveyMap, evidence: Evidence, closeup: FlightCloseup | None) -> str:
    """What one flight saw of the site, close up, with the flight and date under it."""
    found = built.flight_site(evidence)
    if closeup is None or found is None:
        return ""
    flight, index = found
    image = picture(lambda site_id: closeup(evidence.flight, site_id), evidence.flight_site_id, "dm-closeup-image",
                    120, f"close-up of site {evidence.flight_site_id} of flight {evidence.flight}",
                    lambda: closeup_marker(flight.damage_map, index))
    if not image:
        return ""
    caption = evidence.flight + (f" · {date_text(evidence.date)}" if evidence.date else "")
    return (f'<figure class="dm-closeup" style="display:inline-block;vertical-align:top;margin:0 6px 0 0;width:120px">'
            f'{image}<figcaption class="dm-small">{escape(caption)}</figcaption></figure>')


def _popup_html(site: SurveySite, built: SurveyMap | None = None, closeup: FlightCloseup | None = None) -> str:
    flights = len(site.evidence)
    uncertainty = f" (&plusmn;{site.uncertainty_m:.1f} m)" if math.isfinite(site.uncertainty_m) else ""
    rows = "".join(
        f"<tr><td>{escape(e.flight)}</td><td style=\"white-space:nowrap\">{escape(date_text(e.date))}</td>"
        f"<td>site {e.flight_site_id}: {escape(e.level.label)}, {e.observation_count} sightings, "
        f"frames {frame_number(e.first_frame)}-{frame_number(e.last_frame)}</td></tr>"
        for e in site.evidence
    )
    pictures = "".join(_evidence_picture(built, e, closeup) for e in site.evidence) if built is not None else ""
    return (
        '<div class="dm-popup">'
        f'<b style="color:{site.level.colour_hex}">Site {site.id}: {escape(site.level.label)}</b>'
        "<table>"
        f"<tr><td>Best score</td><td>{best_score(site):.2f} (the detector's, of 1)</td></tr>"
        f"<tr><td>Level agreement</td><td>{site.confidence:.0%} (how far the sightings agree on "
        f"{escape(site.level.label)}; not a probability)</td></tr>"
        f"<tr><td>Seen by</td><td>{flights} flight{'' if flights == 1 else 's'}, "
        f"{site.observation_count} sightings</td></tr>"
        f"<tr><td>Dates</td><td>{escape(', '.join(map(date_text, site.dates)) or 'unknown')}</td></tr>"
        + (f"<tr><td>Not found by</td><td>{escape(', '.join(site.not_found_by))} (saw the place well, "
           "no damage found: look again)</td></tr>" if site.not_found_by else "")
        + f"<tr><td>Reviewed</td><td>{'yes' if site.reviewed else 'no'}</td></tr>"
        f"<tr><td>Location</td><td>lat {site.lat_deg:.6f}, lon {site.lon_deg:.6f}{uncertainty}</td></tr>"
        "</table>"
        f'<table class="dm-evidence"><tr><th>Flight</th><th>Date</th><th>What it saw</th></tr>{rows}</table>'
        f"{pictures}</div>"
    )


#: The legend's sample of a flight's outline of the ground it saw (each flight draws it in its colour).
GROUND_SEEN_SAMPLE = "#555"
#: What the survey's map does not say, beside those outlines: the words of a flight's
#: relief package map (:data:`geo.export.products.NOT_FILMED`) for many flights and days.
NOT_SEEN = ("Outside the ground the flights saw nobody looked: no site there does not mean no damage. "
            "Damage since the last flight over a place is not on the map.")
#: ... and with graded buildings
NOT_GRADED = "Inside it, Not assessed buildings were not seen well enough to grade."


def _panels_html(built: SurveyMap, title: str, *, graded: bool = False, info=None) -> str:  # noqa: ANN001 - ProductInfo
    from geo.export.products import producer_html

    flights = "".join(
        f'<div class="dm-row"><span class="dm-line" style="background:{flight_colour(k)}">'
        f"</span>{escape(c.flight)}{escape(f' ({date_text(c.date)})' if c.date else '')}: {c.sites} sites, "
        f"{c.area_m2 / 10_000:.1f} ha</div>"
        for k, c in enumerate(built.coverage)
    )
    details = f'<div class="dm-meta">Flights (track and ground seen):</div>{flights}'
    not_seen = NOT_SEEN + (f" {NOT_GRADED}" if graded else "")
    legend = (LABEL_LEGEND_ROW
              + f'<div class="dm-row"><span class="dm-line" style="background:none;border-top:2px dashed '
              f'{GROUND_SEEN_SAMPLE}"></span>Ground a flight saw (in its colour)</div>'
              f'<div class="dm-small dm-not-filmed" style="max-width:270px">{escape(not_seen)}</div>'
              '<div class="dm-small">Circle size grows with the flights that saw the site.<br>'
              "Preliminary analysis: not yet validated in the field.</div>"
              + producer_html(info))  # the event, the producer and how to reach them, as a flight's map
    return panels_html(title, f"from {len(built.coverage)} flights", details, built.sites, list(built.notes), legend)


def survey_credits(built: SurveyMap, provenance: Mapping[str, Any] | None = None, *, info=None, grading=None,  # noqa: ANN001
                   basemap=None) -> list[str]:  # noqa: ANN001 - ProductInfo, geo.grading.Grading, geo.basemap.Basemap
    """The survey's credits, as its print map, offline map and README give them
    (:func:`geo.export.products.map_credits`): the software, the footprints (with
    OpenStreetMap's credit for an OSM extract), the basemap, each flight's video, the producer."""
    from core.text import shown_file_name
    from geo.export.products import map_credits

    provenance = provenance or {}
    about = provenance.get("flights") or {}
    videos = [f"{f.name} ({shown_file_name(Path(str(about[f.name]['video'])).name)})" for f in built.flights
              if about.get(f.name, {}).get("video")]
    return map_credits(software=str(provenance.get("software") or "damagemap"),
                       imagery="drone video of " + ", ".join(videos) if videos else None,
                       footprints=getattr(grading, "source", None), basemap=getattr(basemap, "source", None),
                       organisation=getattr(info, "organisation", "") or "")


def render_survey_html(built: SurveyMap, *, title: str = "Damage survey", closeup: FlightCloseup | None = None,
                       grading=None, basemap=None,  # noqa: ANN001 - geo.grading.Grading, geo.basemap.Basemap
                       credits: Sequence[str] | None = None, info=None) -> str:  # noqa: ANN001 - ProductInfo
    """The whole page as a string (see the module docstring); with ``closeup``, each
    site's popup shows what every flight saw of it, close up; with ``grading``
    (:func:`geo.survey_grading.grade_survey`), the graded footprints under the flights, a
    layer per grade, as a flight's relief package map shows them; with ``basemap`` (in Web
    Mercator), that image under everything; ``credits`` in the map's corner (default:
    :func:`survey_credits` without the flights' provenance); ``info``: the event, its
    producer and how to reach them, under the legend (:func:`geo.export.products.producer_html`)."""
    import folium
    from branca.element import Element

    from geo.export.products import html_layers

    m, root = offline_page(title)
    if credits is None:
        credits = survey_credits(built, grading=grading, basemap=basemap)
    bounds: list[tuple[float, float]] = []
    if grading is not None or basemap is not None:
        bounds += html_layers(grading=grading, basemap=basemap, credits=())(m)
    credits_script(m, credits).add_to(m)
    for k, flight in enumerate(built.flights):
        colour = flight_colour(k)
        label = flight.name + (f" ({date_text(flight.date)})" if flight.date else "")
        group = folium.FeatureGroup(name=escape(f"Flight {label}"), show=True)
        damage_map = flight.damage_map
        for segment in damage_map.track_segments_lonlat(video_only=True) or damage_map.track_segments_lonlat():
            folium.PolyLine([(lat, lon) for lon, lat in segment], color=colour, weight=3, opacity=0.85,
                            tooltip=escape(f"Flight {label}")).add_to(group)
            bounds += [(lat, lon) for lon, lat in segment]
        coverage = next((c for c in built.coverage if c.flight == flight.name), None)
        for ring in coverage.footprint_lonlat if coverage is not None else ():
            if len(ring) >= 4:
                folium.Polygon([(lat, lon) for lon, lat in ring], color=colour, weight=1.5, dash_array="6 4",
                               fill=True, fill_opacity=0.04, interactive=False).add_to(group)
        group.add_to(m)

    groups = {level: folium.FeatureGroup(name=f"{level.label} sites ({count})", show=True)
              for level, count in built.level_counts().items()}
    markers: dict[int, object] = {}
    for site in built.sites:
        markers[site.id] = folium.CircleMarker(
            (site.lat_deg, site.lon_deg), radius=6 + min(6.0, 2.0 * (len(site.evidence) - 1)),
            color=REVIEWED_RING if site.reviewed else "#222", weight=3.0 if site.reviewed else 1.5,
            fill=True, fill_color=site.level.colour_hex, fill_opacity=0.92,
            popup=folium.Popup(_popup_html(site, built, closeup), max_width=400),
            tooltip=escape(f"Site {site.id}: {site.level.label}, {len(site.evidence)} flight(s)"),
            class_name=f"dm-site dm-site-{site.level.name.lower()}",
        ).add_to(groups[site.level])
        bounds.append((site.lat_deg, site.lon_deg))
    for level in sorted(DamageLevel):
        groups[level].add_to(m)
    site_list_script(m, markers).add_to(m)
    # the number beside each dot, as a flight's map and the print map give it: "site 12" on the ground
    site_labels_script(m, markers, [s.id for s in sorted(built.sites, key=most_severe_first)]).add_to(m)
    fit_popups_script(m).add_to(m)
    root.html.add_child(Element(_panels_html(built, title, graded=grading is not None, info=info)), name="damagemap_panels")
    return finish_page(m, bounds, sites=[(s.lat_deg, s.lon_deg) for s in built.sites])


def write_survey_html(path: Path, built: SurveyMap, *, title: str = "Damage survey",
                      closeup: FlightCloseup | None = None, grading=None, basemap=None,  # noqa: ANN001
                      credits: Sequence[str] | None = None, info=None) -> Path:  # noqa: ANN001 - ProductInfo
    """:func:`render_survey_html` written atomically (no partial file is ever left)."""
    from geo.export._atomic import write_text_atomic

    return write_text_atomic(path, render_survey_html(built, title=title, closeup=closeup, grading=grading,
                                                      basemap=basemap, credits=credits, info=info))


__all__ = ["FLIGHT_COLOURS", "FlightCloseup", "date_text", "flight_colour", "render_survey_html", "write_survey_html"]
