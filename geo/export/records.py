"""The rows every export format writes: sites, footprints, observations, track, heat.

Each record is ``(properties, shapely geometry in WGS84 lon/lat)``; property names are
documented in ``docs/exports.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np

from core.last_few import KeptByMembers
from core.review import ReviewSignature
from core.types import DamageLevel
from geo.antimeridian import unwrap_longitudes
from geo import fusion
from geo.fusion import FusedSite
from geo.mapping import DamageMap
from geo.uncertainty import PARTS, uncertainty_fields

Record = tuple[dict, object]

#: Copernicus EMS grading suggested for each level (ANCHORS.md, to validate with users).
EMS_GRADE = {
    DamageLevel.SLIGHT: "Possibly damaged",
    DamageLevel.SEVERE: "Damaged",
    DamageLevel.DEBRIS: "Destroyed",
}


def level_name(level: DamageLevel) -> str:
    return level.name.lower()


def iso_time(damage_map: DamageMap, video_t_s: float) -> str | None:
    """UTC ISO 8601 time of a video time, when the recording's UTC start is known (the
    video's creation time, or the telemetry's UTC clock: ``DamageMap.recording_start``)."""
    start = damage_map.recording_start_utc()
    if start is None:
        return None
    moment = dt.datetime.fromtimestamp(start + video_t_s, dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: how a time on a drone's own clock is labelled (local time, its zone not written)
DRONE_CLOCK = "drone clock, local time"


def clock_time(damage_map: DamageMap, video_t_s: float) -> tuple[dt.datetime, str] | None:
    """The moment of a video time and the clock it is on (``"UTC"``, or
    :data:`DRONE_CLOCK` for a DJI SRT's wall clock), for a person to read; ``None`` when
    nothing dates the recording."""
    start, is_utc = damage_map.recording_start()
    if start is None:
        return None
    moment = dt.datetime.fromtimestamp(start + video_t_s, dt.timezone.utc)
    return moment, "UTC" if is_utc else DRONE_CLOCK


def counted(n: int, noun: str) -> str:
    """``1 frame``, ``3 frames``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def best_score(site) -> float:  # noqa: ANN001 - geo.fusion.FusedSite or geo.survey_fusion.SurveySite
    """The detector's best score among the site's sightings (0 without any): the score the
    score threshold (``--min-score``, the window's slider) compares, and the Sites panel shows."""
    return fusion.best_score(site.members)


def seen_in(fused: FusedSite) -> str:
    """How often a site was seen, for people: "5 frames", or "26 frames from 6 spots" when
    a hover repeated a look (frames, not boxes: a site may hold two boxes of one frame)."""
    text = counted(fused.frames_seen, "frame")
    if 0 < fused.views_seen < fused.frames_seen:
        text += " from " + counted(fused.views_seen, "spot")
    return text


def unconfirmed_reason(site: FusedSite) -> str:
    """What the review says of an unconfirmed site: in how many of the frames that showed
    it it was detected, and in how many of the views when a hover made fewer views than
    frames (the views decided)."""
    frames = f"{site.frames_seen} of the {site.frames_in_view} frames that showed it"
    if site.views_in_view == site.frames_in_view:
        return f"unconfirmed: detected in {frames}"
    return (f"unconfirmed: detected in {site.views_seen} of the {site.views_in_view} distinct views that showed it "
            f"({frames}; a hover's frames count as one view)")


def footprint_polygon(points: Iterable[tuple[float, float]]):  # noqa: ANN201 - shapely Polygon | None
    """The closed ring ``points`` (lon, lat) as a valid polygon, its exterior
    counter-clockwise (RFC 7946); ``None`` for fewer than four points or no area.

    A mask's outline projected on the ground can cross or touch itself (a spike one
    vertex wide, a bow-tie): it is repaired and, when that splits it, its largest part is
    kept, as :func:`geo.observe.polygon_lonlat` keeps a mask's largest part; the footprint
    layers stay all Polygons and no site or sighting loses its outline."""
    import shapely
    from shapely.geometry import Polygon
    from shapely.geometry.polygon import orient

    points = list(points)
    if len(points) < 4:
        return None
    polygon = Polygon(points)
    if not polygon.is_valid:
        # make_valid gives a (Multi)Polygon, or a collection of them and of lines (a spike's)
        parts = shapely.get_parts(shapely.get_parts(shapely.make_valid(polygon)))
        polygons = [part for part in parts if part.geom_type == "Polygon"]
        polygon = max(polygons, key=lambda part: part.area) if polygons else Polygon()
    if polygon.is_empty or polygon.area <= 0:
        return None
    return orient(polygon, 1.0)  # RFC 7946: exterior rings counter-clockwise


def review_marks(damage_map: DamageMap, detection_ids: Iterable[int | None]) -> list[ReviewSignature]:
    """The review decisions still in effect on ``detection_ids`` of ``damage_map``."""
    return [damage_map.reviews[i] for i in detection_ids if i is not None and i in damage_map.reviews]


def reviewers(marks: Iterable[ReviewSignature]) -> dict[str, object]:
    """A site's ``reviewed_by`` (the names of who decided on its sightings, sorted,
    comma-separated) and ``reviewed_at`` (the latest decision, ISO 8601 UTC) from the
    decisions ``marks``; both ``None`` without any."""
    marks = list(marks)
    if not marks:
        return {"reviewed_by": None, "reviewed_at": None}
    return {"reviewed_by": ", ".join(sorted({m.author for m in marks})), "reviewed_at": max(m.utc for m in marks)}


def site_records(damage_map: DamageMap) -> list[Record]:
    from shapely.geometry import Point

    records = []
    for fused in damage_map.fused:
        s = fused.site
        props = {
            "id": s.id,
            "level": level_name(s.level),
            "level_code": int(s.level),
            "ems_grade": EMS_GRADE[s.level],
            "confidence": round(s.confidence, 4),
            "best_score": round(best_score(fused), 4),
            "observations": s.observation_count,
            "first_time": iso_time(damage_map, s.first_time_s),
            "last_time": iso_time(damage_map, s.last_time_s),
            "first_time_s": round(s.first_time_s, 3),
            "last_time_s": round(s.last_time_s, 3),
            "first_frame": s.first_frame,
            "last_frame": s.last_frame,
            "best_frame": s.best_frame,
            "best_detection_id": s.best_detection_id,
            "reviewed": s.reviewed,
            **reviewers(review_marks(damage_map, (o.detection_id for o in fused.observations))),
            "height_m": round(float(fused.position_m[2]), 2) + 0.0,  # + 0.0: never -0.0
            "uncertainty_m": round(float(fused.uncertainty_m), 2) if np.isfinite(fused.uncertainty_m) else None,
            **uncertainty_fields(fused.budget),
            "triangulated": bool(fused.triangulated),
            "confirmed": bool(fused.confirmed),
            "frames_seen": int(fused.frames_seen),
            "frames_in_view": int(fused.frames_in_view),
            "views_seen": int(fused.views_seen),
            "views_in_view": int(fused.views_in_view),
            "colour": s.level.colour_hex,
        }
        records.append((props, Point(round(s.lon_deg, 8), round(s.lat_deg, 8))))
    return records


def footprint_records(damage_map: DamageMap) -> list[Record]:
    records = []
    for s in damage_map.sites:
        polygon = footprint_polygon(s.footprint_lonlat)
        if polygon is not None:
            records.append(({"site_id": s.id, "level": level_name(s.level), "colour": s.level.colour_hex}, polygon))
    return records


def _telemetry_gaps(damage_map: DamageMap, times_s: list[float]) -> list[float | None]:
    """How far apart the telemetry samples each time's pose is read between
    (:meth:`geo.sync.AlignedTrack.gap_s`, all at once), ``None`` where unknown."""
    gaps = damage_map.aligned.gap_s(times_s) if times_s else np.zeros(0)
    return [round(float(gap), 3) if np.isfinite(gap) else None for gap in gaps]


def _observation_uncertainty(fused, k: int) -> dict[str, object]:  # noqa: ANN001 - geo.fusion.FusedSite
    budget = fused.member_budgets[k] if k < len(fused.member_budgets) else None
    return {"uncertainty_m": None if budget is None else round(budget.total_m, 2), **uncertainty_fields(budget)}


def _mark(damage_map: DamageMap, detection_id: int | None, field: str) -> str | None:
    mark = damage_map.reviews.get(detection_id) if detection_id is not None else None
    return None if mark is None else getattr(mark, field)


def observation_records(damage_map: DamageMap) -> list[Record]:
    """One record per sighting of a site. Kept with the map's sites: an export writes
    them into the GeoJSON, the GeoPackage and the relief package's GeoPackage (some
    10,000 sightings on a 4-minute flight, half a second each time); the records are
    shared, and no writer changes them."""
    members = [*damage_map.fused, damage_map.aligned, damage_map.video, damage_map.reviews]
    return list(_OBSERVATIONS.get_or_compute(members, (), lambda: _observation_records(damage_map)))


#: :func:`observation_records` by what they are made of (each site, the track, the
#: video's clock, the review marks: the very objects), for the last few maps: a titled
#: copy of a map (``dataclasses.replace``), as an export and its relief package each
#: make, shares them
_OBSERVATIONS = KeptByMembers(2)


def clear_cache() -> None:
    """Forget the records kept with every map (tests, benchmarks)."""
    _OBSERVATIONS.clear()


def _observation_records(damage_map: DamageMap) -> list[Record]:
    from shapely.geometry import Point

    records = []
    gaps = iter(_telemetry_gaps(damage_map, [o.t_s for fused in damage_map.fused for o in fused.observations]))
    for fused in damage_map.fused:
        for k, o in enumerate(fused.observations):
            props = {
                "site_id": fused.site.id,
                "detection_id": o.detection_id,
                "frame": o.frame_index,
                "time_s": round(o.t_s, 3),
                "time": iso_time(damage_map, o.t_s),
                "level": level_name(o.level),
                "score": round(o.score, 4),
                "review": o.review.value,
                "telemetry_gap_s": next(gaps),
                **_observation_uncertainty(fused, k),
                "reviewed_by": _mark(damage_map, o.detection_id, "author"),
                "reviewed_at": _mark(damage_map, o.detection_id, "utc"),
                "origin": o.origin.value,
            }
            records.append((props, Point(round(o.lon_deg, 8), round(o.lat_deg, 8))))
    return records


def observation_footprint_records(damage_map: DamageMap) -> list[Record]:
    from geo.observe import polygon_lonlat

    records = []
    for fused in damage_map.fused:
        for member in fused.members:
            o = member.observation
            polygon = footprint_polygon(o.footprint_lonlat or polygon_lonlat(member.footprint, damage_map.local))
            if polygon is not None:
                records.append(({"site_id": fused.site.id, "detection_id": o.detection_id, "frame": o.frame_index,
                                 "level": level_name(o.level)}, polygon))
    return records


def track_records(damage_map: DamageMap) -> list[Record]:
    from shapely.geometry import LineString

    track = damage_map.track
    records = []
    for k, segment in enumerate(damage_map.track_segments_lonlat()):
        props = {
            "segment": k,
            "source": track.name,
            "format": track.format,
            "samples": len(segment),
            "gps_jumps_flagged": int(np.count_nonzero(damage_map.aligned.outlier)),
            "time_offset_s": damage_map.aligned.offset_s,
        }
        records.append((props, LineString([(round(a, 8), round(b, 8)) for a, b in segment])))
    return records


def jump_records(damage_map: DamageMap) -> list[Record]:
    from shapely.geometry import Point

    return [({"kind": "gps_jump", "time_s": round(t, 3), "time": iso_time(damage_map, t)}, Point(lon, lat))
            for lon, lat, t in damage_map.outliers_lonlat()]


def heat_records(damage_map: DamageMap) -> list[Record]:
    import shapely

    heat = damage_map.heat
    if heat is None:
        return []
    local = damage_map.local
    centre = float(local.to_lonlat(0.0, 0.0)[0])

    def to_lonlat(coords: np.ndarray) -> np.ndarray:
        # continuous longitudes (a band across 180 degrees is split where it is written)
        lon, lat = local.to_lonlat(coords[:, 0], coords[:, 1])
        return np.stack([unwrap_longitudes(lon, centre), lat], axis=1)

    records = []
    for low, high, geometry in heat.bands():
        geometry = shapely.transform(geometry, to_lonlat)
        geometry = shapely.set_precision(geometry, 1e-8)
        geometry = shapely.force_2d(geometry)
        from shapely.geometry.polygon import orient

        if geometry.geom_type == "Polygon":
            geometry = orient(geometry, 1.0)
        elif geometry.geom_type == "MultiPolygon":
            geometry = shapely.MultiPolygon([orient(p, 1.0) for p in geometry.geoms])
        records.append(({"density_low": low, "density_high": high, "bandwidth_m": heat.bandwidth_m,
                         "cell_m": round(heat.cell_m, 3), "weighting": "level (1-3) x confidence"}, geometry))
    return records


#: The geometry type each layer declares (a GeoPackage layer's type; a GeoJSON file's
#: every feature), whatever the map holds: a heatmap band of one piece or several, a
#: footprint or a track stretch split where it crosses 180 degrees. A GIS appending one
#: flight's layer to another's (QGIS, ``ogr2ogr -append``) finds the same type in both.
LAYER_GEOMETRY_TYPES: dict[str, str] = {
    "damage_sites": "Point",
    "site_footprints": "MultiPolygon",
    "observations": "Point",
    "observation_footprints": "MultiPolygon",
    "track": "MultiLineString",
    "gps_jumps": "Point",
    "heatmap": "MultiPolygon",
    # the relief package's own layers
    "graded_buildings": "MultiPolygon",
    "coverage": "MultiPolygon",
    "camera_footprints": "MultiPolygon",
    "area_of_interest": "MultiPolygon",
    # a survey's graded footprints: the GeoPackage's layer and the GeoJSON file
    "buildings": "MultiPolygon",
    "survey_buildings": "MultiPolygon",
}


def as_declared(geometry, geometry_type: str | None):  # noqa: ANN001, ANN201 - shapely geometries
    """``geometry`` as the layer's ``geometry_type`` (:data:`LAYER_GEOMETRY_TYPES`): a
    Polygon as a MultiPolygon of one part, a LineString as a MultiLineString; anything
    else (``None``, a point, a type already right) as it is."""
    import shapely

    if geometry is None or geometry_type is None or geometry.geom_type == geometry_type:
        return geometry
    if geometry_type == "MultiPolygon" and geometry.geom_type == "Polygon":
        return shapely.MultiPolygon([geometry])
    if geometry_type == "MultiLineString" and geometry.geom_type == "LineString":
        return shapely.MultiLineString([geometry])
    return geometry


_UNCERTAINTY_COLUMNS = {"uncertainty_m": "float", "uncertainty_parts": "str",
                        **{f"uncertainty_{name}_m": "float" for name in PARTS}}

#: The columns (name -> ``int``, ``float``, ``str`` or ``bool``) and geometry type of the
#: layers of sites a GeoPackage holds even when the map has no site, empty: a GIS project
#: or model built on one flight's GeoPackage opens another's, and an empty layer says "no
#: damage found" where a missing one reads as a failed export. The columns are what
#: :func:`site_records`, :func:`footprint_records` and :func:`observation_records` write
#: (a test holds them to it).
SITE_LAYER_SCHEMAS: dict[str, tuple[dict[str, str], str]] = {
    "damage_sites": ({
        "id": "int", "level": "str", "level_code": "int", "ems_grade": "str", "confidence": "float",
        "best_score": "float", "observations": "int", "first_time": "datetime", "last_time": "datetime", "first_time_s": "float",
        "last_time_s": "float", "first_frame": "int", "last_frame": "int", "best_frame": "int",
        "best_detection_id": "int", "reviewed": "bool", "reviewed_by": "str", "reviewed_at": "datetime",
        "height_m": "float", **_UNCERTAINTY_COLUMNS, "triangulated": "bool", "confirmed": "bool",
        "frames_seen": "int", "frames_in_view": "int", "views_seen": "int", "views_in_view": "int", "colour": "str",
    }, LAYER_GEOMETRY_TYPES["damage_sites"]),
    "site_footprints": ({"site_id": "int", "level": "str", "colour": "str"}, LAYER_GEOMETRY_TYPES["site_footprints"]),
    "observations": ({
        "site_id": "int", "detection_id": "int", "frame": "int", "time_s": "float", "time": "datetime", "level": "str",
        "score": "float", "review": "str", "telemetry_gap_s": "float", **_UNCERTAINTY_COLUMNS, "reviewed_by": "str",
        "reviewed_at": "datetime", "origin": "str",
    }, LAYER_GEOMETRY_TYPES["observations"]),
}

#: Columns of times with their zone (ISO 8601), whichever layer holds them: a GeoPackage
#: types them DATETIME, empty or not, so a GIS project built on one export opens another's.
DATETIME_COLUMNS = frozenset({"first_time", "last_time", "time", "reviewed_at", "best_time"})

#: layer name -> record builder, in the order GeoPackage layers are written.
LAYERS = {
    "damage_sites": site_records,
    "site_footprints": footprint_records,
    "observations": observation_records,
    "observation_footprints": observation_footprint_records,
    "track": track_records,
    "gps_jumps": jump_records,
    "heatmap": heat_records,
}

#: What each GeoPackage layer holds, written as its ``gpkg_contents.description`` (QGIS:
#: Layer Properties > Information): a layer passed on alone still says what it is and
#: in which units; the columns are documented in ``docs/exports.md``.
LAYER_DESCRIPTIONS = {
    "damage_sites": "Damage sites found in drone video: one point per site, its fused damage level "
                    "(slight, severe, debris) and evidence. WGS84; times ISO 8601 UTC; heights and uncertainties in metres.",
    "site_footprints": "Each damage site's outline on the ground (its best detection's mask), by site_id.",
    "observations": "Each detection fused into a damage site, placed on the ground: one point per sighting, by site_id.",
    "observation_footprints": "Each sighting's mask outline on the ground, by site_id and detection_id.",
    "track": "The drone's flight track from its telemetry, one line per stretch without gaps; GPS jumps left out.",
    "gps_jumps": "Telemetry samples left out of the track as GPS jumps (faster than the drone can fly).",
    "heatmap": "Severity-weighted density of the damage sites, in bands [density_low, density_high) of its peak.",
    "graded_buildings": "Building footprints graded by the damage sites on them (damagemap level, Copernicus EMS grade, "
                        "xBD and OSM grades), with their evidence. Preliminary: check on the ground.",
    "coverage": "How well the flight saw each building (or grid cell): status and assessed or not assessed.",
    "camera_footprints": "The ground each analysed frame showed.",
    "area_of_interest": "The area the flight filmed, as the maps outline it (\"Area filmed\"): the union of the camera "
                        "footprints without the saw teeth of their edges.",
}
