"""A survey's sites as records (:mod:`geo.export.records`), named and typed as a flight's.

A GIS analyst who loads a flight's ``damage_sites`` and then a survey's ``sites`` finds
each fact the two share under the same column, with the same type and units: the
survey's columns are the flight's (:data:`geo.export.records.SITE_LAYER_SCHEMAS`) but
those of one flight's video (:data:`FLIGHT_ONLY_COLUMNS`), in the flight's order, then
the survey's own (:data:`SURVEY_ONLY_COLUMNS`). ``docs/survey.md`` lists them.
"""

from __future__ import annotations

import math

from core.types import frame_number
from geo.export.records import (
    EMS_GRADE,
    SITE_LAYER_SCHEMAS,
    Record,
    best_score,
    iso_time,
    level_name,
    review_marks,
    reviewers,
)
from geo.export.vector import KmlSchema, kml_site_attributes
from geo.survey_fusion import SurveyMap, SurveySite
from geo.uncertainty import uncertainty_fields

#: A flight's site columns a survey's sites leave out, and why: each is a count or a time
#: of one flight's video, which the survey's ``evidence`` gives flight by flight.
FLIGHT_ONLY_COLUMNS: dict[str, str] = {
    "first_time_s": "seconds on one video's clock",
    "last_time_s": "seconds on one video's clock",
    "first_frame": "a frame of one video",
    "last_frame": "a frame of one video",
    "height_m": "above one flight's take-off point",
    "frames_seen": "one flight's frames",
    "frames_in_view": "one flight's frames",
    "views_seen": "one flight's views",
    "views_in_view": "one flight's views",
}

#: The columns a survey's sites add to a flight's (name -> type, as in
#: :data:`geo.export.records.SITE_LAYER_SCHEMAS`).
SURVEY_ONLY_COLUMNS: dict[str, str] = {
    "best_flight": "str", "flights": "str", "flight_count": "int", "dates": "str", "first_date": "str",
    "last_date": "str", "not_found_by": "str", "evidence": "str",
}

_FLIGHT_SITE_COLUMNS, _POINT = SITE_LAYER_SCHEMAS["damage_sites"]

#: The columns and geometry type of a survey's ``sites`` layer (GeoJSON, GeoPackage, CSV, KML).
SURVEY_SITE_SCHEMA: tuple[dict[str, str], str] = (
    {**{name: kind for name, kind in _FLIGHT_SITE_COLUMNS.items() if name not in FLIGHT_ONLY_COLUMNS},
     **SURVEY_ONLY_COLUMNS},
    _POINT,
)

#: The sites' attributes in the survey's KML and KMZ, typed as in its GeoPackage (OGC KML
#: 2.2 ``<Schema>``), under their KML names as a flight's KML gives them: the number is
#: ``site_id`` (:data:`geo.export.vector.KML_RENAMED`), the survey's own columns after it.
SURVEY_SITE_KML_SCHEMA = KmlSchema("survey_sites", kml_site_attributes(SURVEY_SITE_SCHEMA[0]))


def _evidence_text(site: SurveySite) -> str:
    """Each flight's site and sightings: "flight-2 site 4: 6 sightings, frames 12-40, best 31"
    (frames from 1, as the app and the popups count them)."""
    return "; ".join(f"{e.flight} site {e.flight_site_id}: {e.observation_count} "
                     f"sighting{'' if e.observation_count == 1 else 's'}, frames "
                     f"{frame_number(e.first_frame)}-{frame_number(e.last_frame)}, best {frame_number(e.best_frame)}"
                     for e in site.evidence)


def survey_site_records(built: SurveyMap) -> list[Record]:
    """The survey's sites, their columns :data:`SURVEY_SITE_SCHEMA`'s. Times and reviews
    gather every flight's: ``first_time`` is the earliest sighting of the flights whose
    recording is dated in UTC, ``reviewed_by`` every reviewer of its sightings; the best
    frame is that of the flight's site with the highest confidence (``best_flight``)."""
    from shapely.geometry import Point

    maps = {flight.name: flight.damage_map for flight in built.flights}
    records = []
    for site in built.sites:
        flights = [(maps[e.flight], e) for e in site.evidence if e.flight in maps]
        first = [t for m, e in flights if (t := iso_time(m, e.first_time_s)) is not None]
        last = [t for m, e in flights if (t := iso_time(m, e.last_time_s)) is not None]
        best = site.best_evidence
        props = {
            "id": site.id,
            "level": level_name(site.level),
            "level_code": int(site.level),
            "ems_grade": EMS_GRADE[site.level],
            "confidence": round(float(site.confidence), 4),
            "best_score": round(best_score(site), 4),
            "observations": site.observation_count,
            "first_time": min(first, default=None),  # ISO 8601 UTC with Z: as text in time order
            "last_time": max(last, default=None),
            "best_frame": best.best_frame,
            "best_detection_id": best.best_detection_id,
            "reviewed": bool(site.reviewed),
            **reviewers(mark for m, e in flights for mark in review_marks(m, e.detection_ids)),
            "uncertainty_m": round(site.uncertainty_m, 2) if math.isfinite(site.uncertainty_m) else None,
            **uncertainty_fields(site.budget),
            "triangulated": bool(site.triangulated),
            "confirmed": bool(site.confirmed),
            "colour": site.level.colour_hex,
            "best_flight": best.flight,
            "flights": ",".join(site.flights),
            "flight_count": len(site.evidence),
            "dates": ",".join(site.dates),
            "first_date": min(site.dates, default=None),
            "last_date": max(site.dates, default=None),
            "not_found_by": ",".join(site.not_found_by),
            "evidence": _evidence_text(site),
        }
        records.append((props, Point(round(site.lon_deg, 8), round(site.lat_deg, 8))))
    return records


__all__ = ["FLIGHT_ONLY_COLUMNS", "SURVEY_ONLY_COLUMNS", "SURVEY_SITE_KML_SCHEMA", "SURVEY_SITE_SCHEMA",
           "survey_site_records"]
