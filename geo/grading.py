"""A damage grade per building footprint, from the damage sites on it and what was seen.

Each site goes to the footprint nearest to it, within ``match_m`` (roof damage lies on
the outline, debris beside it). A building's grade is its most severe site's level, with
the evidence: the sites' ids, the best frame and confidence of the most severe one, and
the sightings of all of them. A building with no site is "No visible damage" when the
flight saw it well (:mod:`geo.coverage`), else "Not assessed".

Grades are given in damagemap's levels and in the vocabularies relief teams use:
Copernicus EMS grading, the xBD joint damage scale (0-3) and the HOT/OSM damage tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from core.types import DamageLevel

NONE = "none"
NOT_ASSESSED = "not_assessed"
#: A site lies on the footprint nearest to it within this (metres): roof damage lies on
#: the outline, debris beside it.
MATCH_M = 3.0

#: level -> Copernicus EMS grading (ANCHORS: derived from EMS-98; "Not Applicable" marks
#: a building that was not classified).
EMS_GRADE = {
    "debris": "Destroyed",
    "severe": "Damaged",
    "slight": "Possibly damaged",
    NONE: "No visible damage",
    NOT_ASSESSED: "Not Applicable",
}
#: level -> xBD joint damage scale (number, xView2 subtype); not assessed: un-classified.
XBD = {
    "debris": (3, "destroyed"),
    "severe": (2, "major-damage"),
    "slight": (1, "minor-damage"),
    NONE: (0, "no-damage"),
    NOT_ASSESSED: (None, "un-classified"),
}
#: level -> OpenStreetMap ``damage:<event>=*`` value (none|minimal|significant|complete).
OSM_DAMAGE = {"debris": "complete", "severe": "significant", "slight": "minimal", NONE: "none", NOT_ASSESSED: None}
#: level -> HOT damage tagging (no visible damage / damaged / destroyed).
HOT_DAMAGE = {"debris": "destroyed", "severe": "damaged", "slight": "damaged", NONE: "no visible damage",
              NOT_ASSESSED: None}
LABELS = {"debris": "Debris", "severe": "Severe", "slight": "Slight", NONE: "No visible damage",
          NOT_ASSESSED: "Not assessed"}
COLOURS = {
    "debris": DamageLevel.DEBRIS.colour_hex,
    "severe": DamageLevel.SEVERE.colour_hex,
    "slight": DamageLevel.SLIGHT.colour_hex,
    NONE: "#2b83ba",
    NOT_ASSESSED: "#9e9e9e",
}
#: level -> what it means, as the drone's camera saw the building (the README's damage
#: scale): the levels name what shows from the air, not an inspection of the structure.
MEANINGS = {
    "debris": "collapsed, or a pile of rubble where it stood (fallen trees and branch piles are called Debris too)",
    "severe": "a large part of the roof gone or broken open; still standing, heavily damaged",
    "slight": "part of the roof damaged (missing shingles or tiles, bare decking, a tarp); still standing",
    NONE: "seen well, and no damage found on it",
    NOT_ASSESSED: "not seen well enough to grade, and no damage found on it",
}
#: Grades from worst to least, then the two without damage.
ORDER = ("debris", "severe", "slight", NONE, NOT_ASSESSED)


@dataclass(frozen=True)
class BuildingGrade:
    """One footprint's grade and its evidence (see the module docstring)."""

    building_id: str
    polygon: object = field(repr=False)  # WGS84
    level: str
    site_ids: tuple[int, ...] = ()
    confidence: float | None = None  # the most severe site's level agreement
    best_score: float | None = None  # the most severe site's best detection score
    best_frame: int | None = None
    best_time_s: float | None = None
    sightings: int = 0
    reviewed: bool = False
    coverage: object = None  # geo.coverage.UnitCoverage
    best_flight: str | None = None  # a survey's: the flight whose frame ``best_frame`` is
    flights: tuple[str, ...] = ()  # a survey's: the flights that saw damage on it
    #: its name and address from the footprints file (:func:`geo.footprints.address_of`)
    address: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ems_grade(self) -> str:
        return EMS_GRADE[self.level]

    @property
    def xbd(self) -> tuple[int | None, str]:
        return XBD[self.level]

    @property
    def osm_damage(self) -> str | None:
        return OSM_DAMAGE[self.level]

    @property
    def label(self) -> str:
        return LABELS[self.level]

    @property
    def colour(self) -> str:
        return COLOURS[self.level]


@dataclass(frozen=True, eq=False)
class Grading:
    """Every footprint's grade, the sites on no footprint and how they were matched."""

    buildings: tuple[BuildingGrade, ...]
    unmatched_site_ids: tuple[int, ...]
    match_m: float
    source: str = ""
    notes: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        result = dict.fromkeys(ORDER, 0)
        for b in self.buildings:
            result[b.level] += 1
        return result


def assign_sites(site_points_local, outlines_local, *, match_m: float) -> list[int | None]:  # noqa: ANN001
    """For each site point (local metres), the index of the nearest outline within
    ``match_m``, else ``None``."""
    from shapely import STRtree
    from shapely.geometry import Point

    if not outlines_local:
        return [None for _ in site_points_local]
    tree = STRtree(list(outlines_local))
    out: list[int | None] = []
    for x, y in site_points_local:
        point = Point(float(x), float(y))
        index, distance = tree.query_nearest(point, max_distance=match_m, return_distance=True, all_matches=False)
        out.append(int(index[0]) if len(index) else None)
    return out


@dataclass(frozen=True)
class SiteOnMap:
    """What a building's grade takes from a damage site: where it is (the map's local
    metres) and its evidence (a flight's site, or a survey's, which also names the flight
    of its best frame and the flights that saw it)."""

    id: int
    position_xy: tuple[float, float]
    level: DamageLevel
    confidence: float
    sightings: int
    reviewed: bool
    best_frame: int | None = None
    best_time_s: float | None = None
    best_flight: str | None = None
    flights: tuple[str, ...] = ()
    best_score: float | None = None  # the detector's best score among its sightings


def grade_sites(sites: Sequence[SiteOnMap], footprints, coverage: Sequence, local, *,  # noqa: ANN001
                match_m: float = MATCH_M) -> Grading:
    """Grade each of ``footprints`` from ``sites``; ``coverage[k]`` (a
    :class:`geo.coverage.UnitCoverage`) says how footprint ``k`` was seen, ``local`` is the
    frame the sites' positions are in."""
    from geo.coverage import to_local_polygon
    from geo.footprints import address_of

    outlines = [to_local_polygon(p, local) for p in footprints.polygons]
    owner = assign_sites([s.position_xy for s in sites], outlines, match_m=match_m)
    on_building: dict[int, list[SiteOnMap]] = {}
    unmatched = []
    for site, k in zip(sites, owner):
        if k is None:
            unmatched.append(site.id)
        else:
            on_building.setdefault(k, []).append(site)
    attributes = getattr(footprints, "attributes", ()) or [{} for _ in footprints.ids]
    buildings = []
    for k, (building_id, polygon) in enumerate(zip(footprints.ids, footprints.polygons)):
        seen = coverage[k]
        on = on_building.get(k, [])
        address = address_of(attributes[k])
        if on:
            worst = max(int(s.level) for s in on)
            leaders = [s for s in on if int(s.level) == worst]
            lead = max(leaders, key=lambda s: (s.confidence, s.sightings))
            buildings.append(BuildingGrade(
                building_id, polygon, DamageLevel(worst).name.lower(),
                site_ids=tuple(sorted(s.id for s in on)), confidence=round(lead.confidence, 4),
                best_score=None if lead.best_score is None else round(lead.best_score, 4),
                best_frame=lead.best_frame, best_time_s=lead.best_time_s,
                sightings=sum(s.sightings for s in on), reviewed=any(s.reviewed for s in on),
                coverage=seen, best_flight=lead.best_flight,
                flights=tuple(dict.fromkeys(f for s in on for f in s.flights)), address=address,
            ))
        else:
            level = NONE if seen.seen_well else NOT_ASSESSED
            buildings.append(BuildingGrade(building_id, polygon, level, best_frame=seen.best_frame, coverage=seen,
                                           address=address))
    notes = list(getattr(footprints, "notes", ()))
    if unmatched:
        lie = "damage site lies" if len(unmatched) == 1 else "damage sites lie"
        notes.append(f"{len(unmatched)} {lie} on no footprint (more than {match_m:g} m from every outline)")
    return Grading(tuple(buildings), tuple(unmatched), match_m, getattr(footprints, "source", ""), tuple(notes))


def grade_buildings(damage_map, footprints, coverage=None, *, match_m: float = MATCH_M) -> Grading:  # noqa: ANN001
    """Grade each of ``footprints`` (:class:`geo.footprints.Footprints`) from the sites
    of ``damage_map``; ``coverage`` (:class:`geo.coverage.CoverageLayer` of the same
    footprints) is computed when not given."""
    from geo.coverage import footprint_coverage
    from geo.fusion import best_score

    if coverage is None:
        coverage = footprint_coverage(damage_map, footprints)
    times = damage_map.frame_poses.times_s
    sites = [SiteOnMap(f.site.id, (float(f.position_m[0]), float(f.position_m[1])), f.site.level, f.site.confidence,
                       f.site.observation_count, f.site.reviewed, f.site.best_frame, times.get(f.site.best_frame),
                       best_score=best_score(f.members))
             for f in damage_map.fused]
    return grade_sites(sites, footprints, coverage.coverage, damage_map.local, match_m=match_m)


__all__ = ["BuildingGrade", "EMS_GRADE", "Grading", "HOT_DAMAGE", "MATCH_M", "NONE", "NOT_ASSESSED", "OSM_DAMAGE", "ORDER",
           "SiteOnMap", "XBD", "assign_sites", "grade_buildings", "grade_sites"]
