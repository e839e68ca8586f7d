"""A survey's building footprints graded from its sites, and seen by any of its flights.

The flight's grading (:mod:`geo.grading`) for an area flown several times: each survey
site goes to the footprint nearest to it within ``match_m`` and a building's grade is its
most severe site's level; a building with no site is "No visible damage" when some flight
saw it well, else "Not assessed". Its coverage sums what every flight saw of it (frames,
good views), with the nearest and steepest view of any. The evidence names the flight of
the best frame and every flight that saw damage on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from core.sites import counted
from geo.coverage import CoverageLayer, CoverageSettings, UnitCoverage, flown_bounds_lonlat, footprint_coverage
from geo.fusion import best_score
from geo.grading import Grading, SiteOnMap, grade_sites
from geo.survey_fusion import SurveyMap, SurveySite


def merged_coverage(parts: Sequence[UnitCoverage]) -> UnitCoverage:
    """One unit's coverage over several flights: frames and good views summed, the nearest
    and steepest view of any, seen well when any flight saw it well. The best frame is
    left out: its number is one flight's (:func:`survey_coverage` keeps each flight's)."""
    seen = [p for p in parts if p.frames]
    if not seen:
        return UnitCoverage()
    nearest = [p.nearest_m for p in seen if p.nearest_m is not None]
    steepest = [p.steepest_deg for p in seen if p.steepest_deg is not None]
    sharpest = [p.best_gsd_m for p in seen if p.best_gsd_m is not None]
    return UnitCoverage(
        frames=sum(p.frames for p in seen), good_views=sum(p.good_views for p in seen),
        nearest_m=min(nearest) if nearest else None, steepest_deg=max(steepest) if steepest else None,
        roof_in_view=any(p.roof_in_view for p in seen), best_gsd_m=min(sharpest) if sharpest else None,
        seen_well=any(p.seen_well for p in seen),
    )


def survey_coverage(built: SurveyMap, footprints, settings: CoverageSettings | None = None) -> CoverageLayer:  # noqa: ANN001
    """Coverage of each footprint (:class:`geo.footprints.Footprints`) by every flight's
    analysed frames, merged (:func:`merged_coverage`)."""
    settings = settings or CoverageSettings()
    per_flight = [footprint_coverage(flight.damage_map, footprints, settings).coverage for flight in built.flights]
    merged = tuple(merged_coverage([flight[k] for flight in per_flight]) for k in range(len(footprints.ids)))
    return CoverageLayer("building", tuple(footprints.ids), tuple(footprints.polygons), merged, settings)


def survey_bounds_lonlat(built: SurveyMap) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the ground any flight's analysed frames saw; across
    180° continuous, east past 180 (:func:`geo.antimeridian.bounds_around`), as one
    flight's are: a flight west of 180° and one east of it bound the area between them,
    not the world."""
    from geo.antimeridian import bounds_around, central_longitude

    bounds = [b for b in (flown_bounds_lonlat(flight.damage_map) for flight in built.flights) if b is not None]
    if not bounds:
        return None
    return bounds_around(bounds, central_longitude(np.array([(b[0] + b[2]) / 2 for b in bounds])))


def _site_on_map(built: SurveyMap, site: SurveySite) -> SiteOnMap:
    best = site.best_evidence
    flight = next((f for f in built.flights if f.name == best.flight), None)
    best_time = None if flight is None else flight.damage_map.frame_poses.times_s.get(best.best_frame)
    return SiteOnMap(site.id, (float(site.position_m[0]), float(site.position_m[1])), site.level, site.confidence,
                     site.observation_count, site.reviewed, best.best_frame, best_time, best.flight, site.flights,
                     best_score=best_score(site.members))


def grade_survey(built: SurveyMap, footprints, *, match_m: float = 3.0) -> tuple[Grading, CoverageLayer]:  # noqa: ANN001
    """``(grading, coverage)`` of ``footprints`` from the survey's sites and its flights'
    frames (see the module docstring)."""
    coverage = survey_coverage(built, footprints)
    sites = [_site_on_map(built, site) for site in built.sites]
    grading = grade_sites(sites, footprints, coverage.coverage, built.local, match_m=match_m)
    return replace(grading, notes=(*grading.notes, f"graded from {counted(len(built.sites), 'survey site')} of "
                                   f"{counted(len(built.flights), 'flight')}")), coverage


__all__ = ["grade_survey", "merged_coverage", "survey_bounds_lonlat", "survey_coverage"]
