"""One map from many flights: each flight's damage sites fused across flights.

Each flight is first mapped on its own (:func:`geo.mapping.build_damage_map`: its own
telemetry, camera and time base; its sites fused across its frames by
:mod:`geo.fusion`). Then, in one local frame for the whole survey:

1. **Matching**: sites of different flights whose positions lie within the gate
   (``gate_m``, widened by the two positions' uncertainties up to ``max_gate_m``), or
   whose footprints overlap, are candidates; pairs are joined nearest first (a level
   disagreement costs ``level_mismatch_m``), never putting two sites of one flight in
   one survey site: a flight's own fusion already told them apart. A reviewer's word
   goes first: flights' sites decided as one survey site are joined, and sites decided
   at different levels never are.
2. **Attributes** with :mod:`geo.fusion`'s own rules over the sightings of every
   flight: the level by :func:`geo.fusion.vote_level` (reviewed sightings outvote the
   model), the position by :func:`geo.fusion.locate` (rays from several flights give
   more parallax), the footprint the union of the flights' footprints. The site's
   error budget (:mod:`geo.uncertainty`) keeps its parts: a site one flight saw has
   that flight's budget; a fused one the fusion's geometry and, per telemetry part,
   the root mean square over its flights (each flight's GPS, clock and camera errors
   are its own, so this is an upper bound, not an average that shrinks).
3. **Evidence**: each survey site keeps, per flight, the flight's site, its
   detections, frames and date; **coverage**: per flight, the ground its analysed
   frames saw.

Plain geometry: the flights' :class:`geo.mapping.DamageMap` come from the caller
(``services.survey``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from core.sites import counted
from core.types import DamageLevel
from geo.fusion import FusedSite, FusionSettings, locate, prior_height, vote_level
from geo.local import LocalFrame
from geo.mapping import UNCONFIRMED_NOTE, DamageMap
from geo.observe import Projected, polygon_lonlat
from geo.uncertainty import ErrorBudget, root_mean_square


@dataclass(frozen=True)
class SurveySettings:
    """Tuning of :func:`fuse_flights` (metres)."""

    gate_m: float = 3.0
    sigma_factor: float = 2.0
    max_gate_m: float = 6.0
    level_mismatch_m: float = 1.0
    min_overlap: float = 0.3
    fusion: FusionSettings = field(default_factory=FusionSettings)

    def gate(self, sigma_a_m: float, sigma_b_m: float = 0.0) -> float:
        """How far apart two flights' sites may lie and still be joined by distance:
        ``gate_m`` widened by ``sigma_factor`` times their combined position uncertainty
        (each counted up to 10 m), at most ``max_gate_m``."""
        sigma = math.hypot(min(sigma_a_m, 10.0), min(sigma_b_m, 10.0))
        return min(self.max_gate_m, self.gate_m + self.sigma_factor * sigma)

    def joins(self, distance_m: float, sigma_a_m: float, sigma_b_m: float = 0.0, overlap: float = 0.0,
              one_building: bool = False) -> bool:
        """Whether two sites may be one damage by where they lie: ``distance_m`` apart
        within :meth:`gate` of their uncertainties, their ground footprints overlapping
        by at least ``min_overlap`` of the smaller (:func:`footprint_overlap`), or both on
        one building footprint at one damage level (``one_building``: each the only site
        of its side there at that level, ``services.carry.sole_buildings``): a large
        house's damage placed 8 m apart by two runs is one to an analyst. The one rule
        that joins two flights' sites here and keeps a decision across a flight's runs
        (``services.carry``); the survey passes no building."""
        return distance_m <= self.gate(sigma_a_m, sigma_b_m) or overlap >= self.min_overlap or one_building


@dataclass(frozen=True, eq=False)
class FlightMap:
    """One flight's own map, with its name and date for the evidence."""

    name: str
    damage_map: DamageMap
    date: str | None = None


@dataclass(frozen=True)
class Evidence:
    """What one flight saw of a survey site: its own site and that site's sightings."""

    flight: str
    date: str | None
    flight_site_id: int
    level: DamageLevel
    confidence: float
    detection_ids: tuple[int, ...]
    first_frame: int
    last_frame: int
    best_frame: int
    best_detection_id: int | None
    first_time_s: float
    last_time_s: float

    @property
    def observation_count(self) -> int:
        return len(self.detection_ids)


@dataclass(frozen=True, eq=False)
class SurveySite:
    """One damage on the ground, fused across flights."""

    id: int
    level: DamageLevel
    confidence: float
    lon_deg: float
    lat_deg: float
    evidence: tuple[Evidence, ...]
    footprint_lonlat: tuple[tuple[float, float], ...] = ()
    reviewed: bool = False
    uncertainty_m: float = 0.0
    #: what ``uncertainty_m`` is made of (``None`` when the flights' sites had no budget)
    budget: ErrorBudget | None = field(default=None, repr=False)
    position_m: np.ndarray = field(default_factory=lambda: np.zeros(3), repr=False)
    members: tuple[Projected, ...] = field(default=(), repr=False)
    member_flights: tuple[str, ...] = field(default=(), repr=False)  # the flight of each member
    #: flights that saw its place well (as a building's "No visible damage" needs,
    #: :class:`geo.coverage.CoverageSettings`) and found nothing there: a second look's
    #: reason (a false alarm, or damage that came or went between the flights)
    not_found_by: tuple[str, ...] = ()
    #: the rays from different viewpoints, of one flight or several, fixed its position
    triangulated: bool = False
    #: every flight's site in it was confirmed (:func:`geo.fusion.is_confirmed`)
    confirmed: bool = True

    @property
    def flights(self) -> tuple[str, ...]:
        return tuple(e.flight for e in self.evidence)

    @property
    def dates(self) -> tuple[str, ...]:
        """The distinct dates the site was seen on, earliest first (ISO days: a flight dated
        by its video's creation time is dated by the day of it; not in the order the flights
        were added)."""
        return tuple(sorted({e.date[:10] for e in self.evidence if e.date}))

    @property
    def observation_count(self) -> int:
        return sum(e.observation_count for e in self.evidence)

    @property
    def best_evidence(self) -> Evidence:
        """The flight's sighting of it with the highest confidence (then the most
        observations): whose close-up and best frame stand for the site."""
        return max(self.evidence, key=lambda e: (e.confidence, e.observation_count))


@dataclass(frozen=True)
class FlightCoverage:
    """The ground one flight's analysed frames saw (``area_m2``, its outline in
    ``footprint_lonlat``), and how many survey sites it contributed to."""

    flight: str
    date: str | None
    frames: int
    sites: int
    area_m2: float
    footprint_lonlat: tuple[tuple[tuple[float, float], ...], ...] = ()


#: what the survey's note on the sites another flight did not find calls them: the files'
#: property (the window says it in its own words)
NOT_FOUND_BY = "(not_found_by)"


def not_found_note(count: int) -> str:
    """The survey's note on its ``count`` sites another flight saw well and found no damage at."""
    return (f"{counted(count, 'site')} {'lies' if count == 1 else 'lie'} where another flight saw the ground well "
            f"and found no damage {NOT_FOUND_BY}: look at {'it' if count == 1 else 'them'} again")


@dataclass(eq=False)
class SurveyMap:
    """Every flight's sites fused into one map, in WGS84 with one local frame."""

    local: LocalFrame
    sites: list[SurveySite]
    coverage: list[FlightCoverage]
    flights: list[FlightMap] = field(default_factory=list, repr=False)
    notes: list[str] = field(default_factory=list)
    #: the survey sites left off the map: places only the flights' unconfirmed sites mark
    #: (:func:`unconfirmed_places`)
    unconfirmed: int = 0

    def level_counts(self) -> dict[DamageLevel, int]:
        counts = {level: 0 for level in DamageLevel}
        for site in self.sites:
            counts[site.level] += 1
        return counts

    def site(self, site_id: int) -> SurveySite | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def numbers_of_flight_sites(self, flight: str) -> dict[int, int]:
        """The number of the survey site each of ``flight``'s own sites is part of, by the
        flight's site number (the "#7" of its window): how "survey site 3" on the phone is
        found in one flight. A flight's site the map leaves out (unconfirmed, rejected
        elsewhere) has none."""
        return {e.flight_site_id: site.id for site in self.sites for e in site.evidence if e.flight == flight}

    def flight_site(self, evidence: Evidence) -> tuple[FlightMap, int] | None:
        """The flight behind ``evidence`` and the index of its site among that flight's
        fused sites (``damage_map.fused``), or None when the map no longer holds it."""
        flight = next((f for f in self.flights if f.name == evidence.flight), None)
        index = None if flight is None else next(
            (k for k, fused in enumerate(flight.damage_map.fused) if fused.site.id == evidence.flight_site_id), None)
        return None if flight is None or index is None else (flight, index)


# ---------------------------------------------------------------------------- frames


def survey_frame(flights: Sequence[FlightMap]) -> LocalFrame:
    """The survey's local frame: around the first flight's origin."""
    lon, lat = flights[0].damage_map.local.to_lonlat(0.0, 0.0)
    return LocalFrame.around(float(lon), float(lat))


def frame_shift(local: LocalFrame, survey: LocalFrame) -> np.ndarray:
    """Where the origin of ``local`` lies in ``survey`` (both UTM grids: a shift, east,
    north and up in metres)."""
    lon, lat = local.to_lonlat(0.0, 0.0)
    east, north = survey.to_local(lon, lat)
    return np.array([float(east), float(north), 0.0])


def _moved(member: Projected, shift: np.ndarray) -> Projected:
    from shapely.affinity import translate

    footprint = member.footprint
    if footprint is not None and not footprint.is_empty:
        footprint = translate(footprint, xoff=float(shift[0]), yoff=float(shift[1]))
    return dataclasses.replace(member, ray_origin=member.ray_origin + shift, ground_xy=member.ground_xy + shift[:2],
                               footprint=footprint)


@dataclass(eq=False)
class _FlightSite:
    flight: int
    fused: FusedSite
    members: list[Projected]
    position: np.ndarray  # survey metres
    footprint: object  # survey metres
    sigma_m: float
    budget: ErrorBudget | None


@dataclass(frozen=True)
class RejectedPlace:
    """Where a reviewer rejected a flight's site as a whole: off the flight's map, but a
    site of that flight still to what the survey joins (:func:`joined_sites`), so that
    another flight's site there meets it, not a neighbour of the same flight. ``key``
    names it in the groups (negative: never a flight site's id)."""

    flight: str
    key: int
    lon_deg: float
    lat_deg: float


@dataclass(eq=False)
class _PlaceSite:
    """A :class:`RejectedPlace` among the flights' sites to match: no level (it meets a
    site of any level at no cost, :func:`_level`), no footprint, its position as certain
    as the decision's."""

    flight: int
    position: np.ndarray  # survey metres
    footprint: object = None
    sigma_m: float = 0.0


def _flight_sites(flights: Sequence[FlightMap], survey: LocalFrame, *,
                  unconfirmed: bool = False) -> list[_FlightSite]:
    """Every flight's sites on its map (with ``unconfirmed``: and those it leaves off) in
    the survey's frame."""
    from shapely.affinity import translate

    out = []
    for k, flight in enumerate(flights):
        shift = frame_shift(flight.damage_map.local, survey)
        for fused in flight.damage_map.all_fused if unconfirmed else flight.damage_map.fused:
            footprint = fused.footprint
            if footprint is not None and not footprint.is_empty:
                footprint = translate(footprint, xoff=float(shift[0]), yoff=float(shift[1]))
            out.append(_FlightSite(k, fused, [_moved(m, shift) for m in fused.members], fused.position_m + shift,
                                   footprint, float(fused.uncertainty_m), fused.budget))
    return out


# -------------------------------------------------------------------------- matching


def footprint_overlap(a: object, b: object) -> float:
    """The share of the smaller of two ground footprints (shapely polygons in one frame)
    that the other covers; 0 where either is missing or empty."""
    if a is None or b is None or a.is_empty or b.is_empty:  # type: ignore[attr-defined]
        return 0.0
    smaller = min(a.area, b.area)  # type: ignore[attr-defined]
    return float(a.intersection(b).area / smaller) if smaller > 0 else 0.0  # type: ignore[attr-defined]


def _level(site: _FlightSite | _PlaceSite) -> DamageLevel | None:
    """The flight's site's level; a rejected place has none."""
    return None if isinstance(site, _PlaceSite) else site.fused.site.level


def _decided_level(site: _FlightSite | _PlaceSite) -> DamageLevel | None:
    """The level a reviewer gave the flight's site as a whole (every sighting reviewed);
    ``None`` while any is undecided (and for a rejected place: rejected, not a level)."""
    if isinstance(site, _PlaceSite):
        return None
    members = site.fused.members
    return site.fused.site.level if members and all(m.reviewed for m in members) else None


def match_sites(sites: Sequence[_FlightSite | _PlaceSite], settings: SurveySettings,
                together: Sequence[Collection[int]] = ()) -> list[list[int]]:
    """Groups of indices into ``sites``: one damage each (step 1 of the module docstring).

    A reviewer's word goes first. ``together``: groups of indices a reviewer decided as
    one survey site (``survey decide``), joined whatever their distance: a site relabelled
    Debris is placed on the ground, and each flight's oblique view moves it a few metres
    its own way. Sites whose reviewers gave them different levels, each as a whole, are
    never joined: one would outvote the other's decision."""
    candidates = []
    for i in range(len(sites)):
        for j in range(i + 1, len(sites)):
            a, b = sites[i], sites[j]
            if a.flight == b.flight:
                continue
            distance = float(np.hypot(*(a.position[:2] - b.position[:2])))
            gate = settings.gate(a.sigma_m, b.sigma_m)
            if distance > gate and not settings.joins(distance, a.sigma_m, b.sigma_m,
                                                      footprint_overlap(a.footprint, b.footprint)):
                continue
            levels = {_level(a), _level(b)}
            penalty = 0.0 if None in levels or len(levels) == 1 else settings.level_mismatch_m
            candidates.append((min(distance, gate) + penalty, i, j))
    candidates.sort()
    group = list(range(len(sites)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(sites))}

    def find(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    decided = [_decided_level(site) for site in sites]

    def apart(gi: int, gj: int) -> bool:
        if {sites[k].flight for k in members[gi]} & {sites[k].flight for k in members[gj]}:
            return True  # a flight's own sites stay apart
        levels = {decided[k] for k in members[gi] + members[gj]} - {None}
        return len(levels) > 1  # two reviewers' levels: neither outvotes the other

    for indices in together:
        first, *rest = indices
        for k in rest:
            gi, gj = find(first), find(k)
            if gi != gj and not apart(gi, gj):
                group[gj] = gi
                members[gi] += members.pop(gj)
    for _cost, i, j in candidates:
        gi, gj = find(i), find(j)
        if gi == gj or apart(gi, gj):
            continue
        ci = np.mean([sites[k].position[:2] for k in members[gi]], axis=0)
        cj = np.mean([sites[k].position[:2] for k in members[gj]], axis=0)
        if float(np.hypot(*(ci - cj))) > settings.max_gate_m:
            continue  # no chains: the two groups' centres must be close too
        group[gj] = gi
        members[gi] += members.pop(gj)
    return [sorted(m) for m in members.values()]


# ------------------------------------------------------------------------ attributes


def _evidence(flight: FlightMap, fused: FusedSite) -> Evidence:
    site = fused.site
    return Evidence(
        flight=flight.name, date=flight.date, flight_site_id=site.id, level=site.level, confidence=site.confidence,
        detection_ids=tuple(int(m.detection.id) for m in fused.members if m.detection.id is not None),
        first_frame=site.first_frame, last_frame=site.last_frame, best_frame=site.best_frame,
        best_detection_id=site.best_detection_id, first_time_s=site.first_time_s, last_time_s=site.last_time_s,
    )


def _build(site_id: int, parts: list[_FlightSite], flights: Sequence[FlightMap], survey: LocalFrame,
           settings: SurveySettings) -> SurveySite:
    from shapely.ops import unary_union

    members = [m for part in parts for m in part.members]
    level, confidence = vote_level(members)
    if len(parts) == 1:
        position, sigma, budget = parts[0].position, parts[0].sigma_m, parts[0].budget
        triangulated = bool(parts[0].fused.triangulated)
    else:
        heights = [float(p.position[2]) for p in parts]
        z_prior = 0.0 if level == DamageLevel.DEBRIS else float(np.median(heights)) or prior_height(level, settings.fusion)
        location = locate(members, settings.fusion, z_prior)
        position, sigma, budget = location.point, location.sigma_m, None
        triangulated = bool(location.well_fixed)
        if all(p.budget is not None for p in parts):
            budget = root_mean_square([p.budget for p in parts], geometry_m=float(location.sigma_m))
            sigma = budget.total_m
    footprint = unary_union([p.footprint for p in parts if p.footprint is not None and not p.footprint.is_empty])
    lon, lat = survey.to_lonlat(position[0], position[1])
    evidence = tuple(_evidence(flights[p.flight], p.fused) for p in parts)
    return SurveySite(
        id=site_id, level=level, confidence=round(float(confidence), 4), lon_deg=float(lon), lat_deg=float(lat),
        evidence=evidence, footprint_lonlat=polygon_lonlat(footprint, survey, simplify_m=0.1),
        reviewed=any(m.reviewed for m in members), uncertainty_m=float(sigma), budget=budget,
        position_m=np.asarray(position),
        members=tuple(members),
        member_flights=tuple(flights[p.flight].name for p in parts for _ in p.members),
        triangulated=triangulated, confirmed=all(p.fused.confirmed for p in parts),
    )


def flight_coverage(flight: FlightMap, survey: LocalFrame, *, every: int = 1) -> tuple[object, int]:
    """The ground the flight's analysed frames saw (survey metres; its outline cleaned of
    the footprints' saw teeth, :func:`geo.ground_seen.ground_seen`) and their count."""
    from shapely.geometry import Polygon

    from geo.ground_seen import ground_seen

    built = flight.damage_map
    times = sorted(built.frame_poses.times_s.get(i, 0.0) for i in built.frame_poses.poses)
    shapes = []
    for t in times[::max(1, every)]:
        ring = built.camera_footprint_at(t)
        if len(ring) >= 4:
            east, north = survey.to_local([p[0] for p in ring], [p[1] for p in ring])
            shape = Polygon(list(zip(np.asarray(east).tolist(), np.asarray(north).tolist())))
            shapes.append(shape)
    return ground_seen(shapes), len(times)


def fuse_flights(flights: Sequence[FlightMap], settings: SurveySettings | None = None, *,
                 together: Sequence[Collection[tuple[str, int]]] = ()) -> SurveyMap:
    """Every flight's sites -> one survey's sites (ids from 1, ordered by flight, then by
    first sighting), with each flight's coverage. ``together``: flights' sites, as
    ``(flight name, site id)``, a reviewer decided as one survey site each
    (:func:`match_sites`)."""
    settings = settings or SurveySettings()
    if not flights:
        raise ValueError("fuse_flights: no flight to fuse")
    survey = survey_frame(flights)
    parts = _flight_sites(flights, survey)
    groups = _joined(flights, parts, settings, together)
    groups.sort(key=lambda g: min((parts[k].flight, parts[k].fused.site.first_time_s, parts[k].fused.site.id)
                                  for k in g))
    sites = [_build(n + 1, sorted((parts[k] for k in g), key=lambda p: p.flight), flights, survey, settings)
             for n, g in enumerate(groups)]
    coverage = []
    for k, flight in enumerate(flights):
        seen, frames = flight_coverage(flight, survey)
        rings: list[tuple[tuple[float, float], ...]] = []
        for polygon in getattr(seen, "geoms", [seen]):
            if not polygon.is_empty:
                rings.append(polygon_lonlat(polygon, survey, simplify_m=1.0))
        coverage.append(FlightCoverage(
            flight=flight.name, date=flight.date, frames=frames,
            sites=sum(1 for s in sites if flight.name in s.flights), area_m2=float(seen.area),
            footprint_lonlat=tuple(rings),
        ))
    sites = [replace(site, not_found_by=missed) for site, missed in zip(sites, _not_found_by(sites, flights, survey))]
    notes = [f"{counted(len(flights), 'flight')}, {counted(len(parts), 'flight site')} fused into "
             f"{counted(len(sites), 'survey site')}"]
    missed = sum(1 for s in sites if s.not_found_by)
    if missed:
        notes.append(not_found_note(missed))
    doubtful = unconfirmed_places(flights, settings, survey)
    if doubtful:
        notes.append(unconfirmed_note(doubtful))
    return SurveyMap(survey, sites, coverage, list(flights), notes, unconfirmed=doubtful)


def _site_keys(flights: Sequence[FlightMap], parts: Sequence[_FlightSite]) -> list[tuple[str, int]]:
    return [(flights[part.flight].name, part.fused.site.id) for part in parts]


def _joined(flights: Sequence[FlightMap], parts: Sequence[_FlightSite | _PlaceSite], settings: SurveySettings,
            together: Sequence[Collection[tuple[str, int]]], keys: Sequence[tuple[str, int]] | None = None,
            ) -> list[list[int]]:
    """:func:`match_sites` of ``parts`` (named by ``keys``, default the flight sites'
    ``(flight name, site id)``), the groups ``together`` keeps (by those keys) joined."""
    keys = _site_keys(flights, parts) if keys is None else keys  # type: ignore[arg-type]
    index = {key: k for k, key in enumerate(keys)}
    joined = [[index[key] for key in group if key in index] for group in together]
    return match_sites(parts, settings, [g for g in joined if len(g) > 1])


def joined_sites(flights: Sequence[FlightMap], rejected: Sequence[RejectedPlace] = (),
                 settings: SurveySettings | None = None, *,
                 together: Sequence[Collection[tuple[str, int]]] = ()) -> list[frozenset[tuple[str, int]]]:
    """The survey's joins, as :func:`fuse_flights` makes them, with the places reviewers
    rejected among the flights' sites (``rejected``): each group one survey site, as
    ``(flight name, site id)`` of its flights' sites and ``(flight name, place key)`` of
    its rejected places. What a decision on one flight's site reaches on the others
    (``services.decision_reach``): the sites of its group, never a neighbour the survey
    joined to another site of the same flight."""
    if not flights:
        return []
    settings = settings or SurveySettings()
    survey = survey_frame(flights)
    sites = _flight_sites(flights, survey)
    keys = _site_keys(flights, sites)
    parts: list[_FlightSite | _PlaceSite] = list(sites)
    names = [flight.name for flight in flights]
    for place in rejected:
        if place.flight in names:
            east, north = survey.to_local([place.lon_deg], [place.lat_deg])
            parts.append(_PlaceSite(names.index(place.flight), np.array([float(east[0]), float(north[0]), 0.0])))
            keys.append((place.flight, place.key))
    return [frozenset(keys[k] for k in group) for group in _joined(flights, parts, settings, together, keys)]


def unconfirmed_places(flights: Sequence[FlightMap], settings: SurveySettings, survey: LocalFrame) -> int:
    """How many survey sites the flights' unconfirmed sites would add (those detected in
    too few of the views that showed them, :func:`geo.fusion.is_confirmed`): their places
    matched as the map's sites are (:func:`match_sites`), with every flight's confirmed
    sites among them, so that a place another flight confirmed, or that several flights
    left unconfirmed, counts once or not at all."""
    if not any(flight.damage_map.unconfirmed for flight in flights):
        return 0
    parts = _flight_sites(flights, survey, unconfirmed=True)
    return sum(1 for group in match_sites(parts, settings) if not any(parts[k].fused.confirmed for k in group))


def unconfirmed_note(count: int) -> str:
    """The survey's note on the ``count`` places only unconfirmed flight sites mark, as a
    flight's map ends its own (:data:`geo.mapping.UNCONFIRMED_NOTE`)."""
    return (f"{counted(count, 'unconfirmed survey site')} (where the flights' sites were detected in too few of the "
            f"views that showed {'it' if count == 1 else 'them'}) {UNCONFIRMED_NOTE}")


#: The side of the square a site without a footprint is checked over (metres).
SITE_SQUARE_M = 3.0
#: A flight that found damage this close to a site (metres) did not "find nothing" there:
#: it may have placed the same damage a few metres off, past the gate that joins sites.
FOUND_NEARBY_M = 10.0


def _not_found_by(sites: Sequence[SurveySite], flights: Sequence[FlightMap],
                  survey: LocalFrame) -> list[tuple[str, ...]]:
    """For each site, the flights without a sighting of it that saw its place well: its
    footprint (else a :data:`SITE_SQUARE_M` square around it) at its height, by the
    rule a building's coverage follows (:func:`geo.coverage.unit_coverage`), and found no
    damage within :data:`FOUND_NEARBY_M` of it either."""
    from shapely.geometry import Polygon, box

    from geo.coverage import unit_coverage

    out: list[list[str]] = [[] for _ in sites]
    east, north = survey.to_local([s.lon_deg for s in sites], [s.lat_deg for s in sites])
    where = np.column_stack([np.asarray(east, dtype=np.float64), np.asarray(north, dtype=np.float64)])
    for flight in flights:
        found = np.array([flight.name in site.flights for site in sites])
        todo = [k for k, site in enumerate(sites) if flight.name not in site.flights
                and not (found.any() and np.min(np.hypot(*(where[found] - where[k]).T)) <= FOUND_NEARBY_M)]
        if not todo:
            continue
        local = flight.damage_map.local
        outlines, heights = [], []
        for k in todo:
            site = sites[k]
            east, north = local.to_local([site.lon_deg], [site.lat_deg])
            half = SITE_SQUARE_M / 2
            shape = box(float(east[0]) - half, float(north[0]) - half, float(east[0]) + half, float(north[0]) + half)
            ring = site.footprint_lonlat
            if len(ring) >= 4:
                east, north = local.to_local([p[0] for p in ring], [p[1] for p in ring])
                outline = Polygon(zip(np.asarray(east).tolist(), np.asarray(north).tolist())).buffer(0)
                if outline.geom_type == "Polygon" and outline.area > 0:
                    shape = outline
            outlines.append(shape)
            heights.append(float(site.position_m[2]))
        seen = unit_coverage(outlines, heights, flight.damage_map.camera, flight.damage_map.looking_poses,
                             views=flight.damage_map.views)
        for k, coverage in zip(todo, seen):
            if coverage.seen_well:
                out[k].append(flight.name)
    return [tuple(names) for names in out]


def coverage_polygon(coverage: FlightCoverage):  # noqa: ANN201 - a shapely MultiPolygon or None
    """The ground a flight's analysed frames saw as a MultiPolygon in WGS84 (``None``: it
    saw none), split where it crosses 180 degrees (:func:`geo.antimeridian.antimeridian_safe`,
    RFC 7946 section 3.1.9): a survey over Fiji is not outlined round the world.
    ``footprint_lonlat`` keeps the rings whole, for the maps that draw them in one place."""
    from shapely.geometry import MultiPolygon, Polygon

    from geo.antimeridian import antimeridian_safe

    polygons = [Polygon(ring) for ring in coverage.footprint_lonlat if len(ring) >= 4]
    if not polygons:
        return None
    seen = antimeridian_safe(MultiPolygon(polygons))
    return MultiPolygon([seen]) if seen.geom_type == "Polygon" else seen


def coverage_layer(built: SurveyMap):  # noqa: ANN201 - a GeoDataFrame
    """The ground each flight's analysed frames saw, a MultiPolygon a flight, in WGS84
    (:func:`coverage_polygon`: split at 180 degrees)."""
    import geopandas as gpd

    cover = [{"flight": c.flight, "date": (c.date or "")[:10], "frames": c.frames, "sites": c.sites,
              "area_m2": round(c.area_m2, 1), "geometry": coverage_polygon(c)} for c in built.coverage]
    return gpd.GeoDataFrame(cover, columns=["flight", "date", "frames", "sites", "area_m2", "geometry"],
                            geometry="geometry", crs="EPSG:4326")


__all__ = [
    "Evidence",
    "FlightCoverage",
    "FlightMap",
    "SurveyMap",
    "SurveySettings",
    "SurveySite",
    "coverage_layer",
    "coverage_polygon",
    "flight_coverage",
    "footprint_overlap",
    "frame_shift",
    "RejectedPlace",
    "fuse_flights",
    "joined_sites",
    "match_sites",
    "survey_frame",
    "unconfirmed_note",
    "unconfirmed_places",
]
