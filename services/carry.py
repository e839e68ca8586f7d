"""Which site of a flight's new run an earlier run's site decision is on.

A flight analysed again (at another frame rate, with a fine-tuned model) places its sites
again: the same damage lands metres from where an earlier run put it (some 7 m from one to
two frames a second) and its boxes differ a little. An earlier run's decision on a whole
site (:class:`core.store.SiteDecisionRecord`) goes to the new run's site that is the same
damage, told by, strongest first:

1. **the frames both runs saw it in**: one video, so one frame index is one picture; in
   most of the frames where both have a sighting, their boxes overlap (IoU of at least
   :data:`BOX_IOU`): the same pixels, wherever the ground placement put them (no farther
   apart than twice the reach of 2., as a roof's big box meets the next house's);
2. **where it lies**, by the survey's own rule
   (:meth:`geo.survey_fusion.SurveySettings.joins`): within 3 m widened by both sites'
   position uncertainty (at most 6 m), their ground footprints overlapping, or both on
   one of the project's building footprints at one damage level, however far apart (a
   large house's damage, placed 8 m apart by two runs). A site is on the footprint the
   grading puts it on (:func:`geo.grading.assign_sites`); the building counts only where
   each is the only site of its run on it at that level (:func:`sole_buildings`): two
   damages of one roof at one level are told apart by the other evidence, or left for
   review, never joined by the roof alone;
3. **when it was seen**: its sightings spanning mostly the same stretch of the video
   (:data:`SPAN_OVERLAP`), no farther apart than twice that reach: a damage both runs
   saw from 0:12 to 0:15 is one, 7 m apart or not.

Pairs are taken strongest first, then nearest, each decision and each site once; a
decision whose own site is decided already (or was given a later decision) stays there,
it does not move on to the next site. The newest run's decisions go first (a reviewer's
later word), an older run's on the sites left. A site that two decisions of one run reach
and disagree on (two sites of the earlier run that the new one sees as one, one accepted
and one rejected) gets neither: it is left for review, and said (:class:`Disputed`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.review import SiteMark
from core.sites import SiteSummary, distance_m
from core.store import ProjectStore, SiteDecisionRecord
from core.types import BoxXYXY, DamageLevel, Detection, ReviewState, box_iou

if TYPE_CHECKING:  # pragma: no cover
    from geo.local import LocalFrame
    from geo.mapping import DamageMap

#: Two boxes in one frame show the same damage from this intersection over union.
BOX_IOU = 0.3
#: Two sites' spans of the video (first to last frame seen) are one stretch from this
#: intersection over union.
SPAN_OVERLAP = 0.5

#: Evidence, strongest first (:func:`evidence`).
SAME_BOXES, SAME_PLACE, SAME_TIME = 0, 1, 2


@dataclass(frozen=True)
class Traits:
    """What tells a site of a flight again in another run of it: where it lies (WGS84),
    its position uncertainty (metres, ``None`` unknown), its ground footprint (shapely, in
    the new run's local metres; ``None`` unknown), its boxes by video frame index, its
    damage level and the building footprint it alone of its run's sites at that level
    lies on (:func:`sole_buildings`; ``None``: none, or shared)."""

    lon_deg: float
    lat_deg: float
    sigma_m: float | None = None
    footprint: object | None = field(default=None, repr=False)
    boxes: Mapping[int, tuple[BoxXYXY, ...]] = field(default_factory=dict, repr=False)
    #: the site's number in its own run's map (``None``: not on it)
    site_id: int | None = None
    level: DamageLevel | None = None
    building: str | None = None

    @property
    def span(self) -> tuple[int, int] | None:
        """The first and last frame it was seen in."""
        return (min(self.boxes), max(self.boxes)) if self.boxes else None


@dataclass(frozen=True)
class Disputed:
    """A new run's site that earlier decisions of one run disagree on: left for review."""

    site_id: int
    marks: tuple[SiteMark, ...]
    #: the earlier run the decisions were made in (``None``: not known)
    run_id: int | None = None
    #: that run's sites they were made on, in the order of ``marks`` (``None``: not on its map)
    earlier_site_ids: tuple[int | None, ...] = ()

    def text(self) -> str:
        said = " and ".join(dict.fromkeys(_worded(mark) for mark in self.marks))
        return f"site #{self.site_id}: an earlier run's decisions there disagree ({said}); decide it again"

    def reason(self) -> str:
        """Why the site waits for review, as the review queue words it: "earlier decisions
        disagree: accepted as Severe in run 1 at #12, rejected at #13"."""
        said = []
        for k, mark in enumerate(self.marks):
            what = _decided(mark)
            if k == 0 and self.run_id is not None:
                what += f" in run {self.run_id}"
            earlier = self.earlier_site_ids[k] if k < len(self.earlier_site_ids) else None
            if earlier is not None:
                what += f" at #{earlier}"
            said.append(what)
        return "earlier decisions disagree: " + ", ".join(said)


@dataclass(frozen=True)
class CarryMatch:
    """Site id -> the earlier decision it gets; the sites left for review (:class:`Disputed`)."""

    matches: dict[int, SiteMark]
    disputed: tuple[Disputed, ...] = ()
    #: site id -> the id of the decision record it gets (:class:`core.store.SiteDecisionRecord`)
    records: dict[int, int] = field(default_factory=dict)


def _worded(mark: SiteMark) -> str:
    if mark.review is ReviewState.REJECTED:
        return "rejected"
    return "accepted" if mark.level is None else f"relabelled {DamageLevel(mark.level).label}"


def _decided(mark: SiteMark) -> str:
    if mark.review is ReviewState.REJECTED:
        return "rejected"
    return "accepted" if mark.level is None else f"accepted as {DamageLevel(mark.level).label}"


def same_boxes(a: Traits, b: Traits) -> bool:
    """Whether in most frames both have a sighting in (at least one), their boxes overlap."""
    shared = set(a.boxes) & set(b.boxes)
    agree = sum(1 for f in shared if any(box_iou(p, q) >= BOX_IOU for p in a.boxes[f] for q in b.boxes[f]))
    return agree >= 1 and 2 * agree >= len(shared)


def same_span(a: Traits, b: Traits) -> bool:
    """Whether both were seen over mostly one stretch of the video."""
    sa, sb = a.span, b.span
    if sa is None or sb is None:
        return False
    inter = min(sa[1], sb[1]) - max(sa[0], sb[0])
    union = max(sa[1], sb[1]) - min(sa[0], sb[0])
    return inter >= 0 and (union == 0 or inter / union >= SPAN_OVERLAP)


def evidence(decided: Traits, site: Traits, settings: object | None = None) -> tuple[int, float] | None:
    """``(strength, metres apart)`` when ``site`` may be the damage ``decided`` was
    (strength :data:`SAME_BOXES`, :data:`SAME_PLACE` or :data:`SAME_TIME`), else ``None``.
    An unknown uncertainty counts as the other's; ``settings``: the survey's
    (``geo.survey_fusion.SurveySettings``), its defaults when ``None``."""
    from geo.survey_fusion import SurveySettings, footprint_overlap

    rule = settings if isinstance(settings, SurveySettings) else SurveySettings()
    apart = distance_m(decided.lon_deg, decided.lat_deg, site.lon_deg, site.lat_deg)
    known = [s for s in (decided.sigma_m, site.sigma_m) if s is not None and math.isfinite(s)]
    sigma_a, sigma_b = (known * 2)[:2] if known else (0.0, 0.0)
    # a big box overlaps another house's in a frame; never beyond twice max_gate_m (candidate_pairs)
    near = apart <= 2 * rule.gate(sigma_a, sigma_b)
    if near and same_boxes(decided, site):
        return SAME_BOXES, apart
    if rule.joins(apart, sigma_a, sigma_b, footprint_overlap(decided.footprint, site.footprint),
                  one_building(decided, site)):
        return SAME_PLACE, apart
    if near and same_span(decided, site):
        return SAME_TIME, apart
    return None


def one_building(a: Traits, b: Traits) -> bool:
    """Whether both lie on one building footprint, each its run's only site there at its
    level, and at one level (an unknown one matches none)."""
    return a.building is not None and a.building == b.building and a.level is not None and a.level == b.level


@dataclass(frozen=True, eq=False)
class Buildings:
    """The project's building footprints around a run's map: their ids and outlines (in
    ``local``, that map's metres)."""

    ids: tuple[str, ...]
    outlines: tuple[object, ...] = field(repr=False)
    local: LocalFrame = field(repr=False)


def project_buildings(store: ProjectStore, built: DamageMap | None) -> Buildings | None:
    """The footprints of the project's products (``services.package.product_sources``)
    around the sites of ``built`` (``services.package.FOOTPRINT_MARGIN_M`` beyond them:
    an earlier run's site on a building that holds none of them does not need it, and
    the sites' area is known without working out the area flown); ``None`` without
    footprints, without a site, or with a footprints file that cannot be read (the
    exports and the map say what is wrong with it; the decisions are carried without it)."""
    import numpy as np

    from core.errors import InputError
    from services.package import FOOTPRINT_MARGIN_M, footprints_within, padded_bounds, product_sources

    path = None if built is None or not built.all_fused else product_sources(store)[0]
    if built is None or path is None:
        return None
    lon = np.array([f.site.lon_deg for f in built.all_fused])
    lat = np.array([f.site.lat_deg for f in built.all_fused])
    bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    try:
        footprints = footprints_within(path, padded_bounds(bounds, FOOTPRINT_MARGIN_M))
    except InputError:
        return None
    return Buildings(tuple(footprints.ids), _outlines_local(footprints.polygons, built.local), built.local)


def _outlines_local(polygons: Sequence[object], local: LocalFrame) -> tuple[object, ...]:
    """``polygons`` (WGS84) in ``local`` metres, by their outer rings as the grading has
    them (``geo.coverage.to_local_polygon``), all in one transform (a city's thousands)."""
    import numpy as np
    import shapely  # type: ignore[import-untyped]

    if not polygons:
        return ()
    rings = shapely.get_exterior_ring(np.asarray(polygons, dtype=object))

    def to_local(lonlat: np.ndarray) -> np.ndarray:
        east, north = local.to_local(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([east, north])

    return tuple(shapely.polygons(shapely.transform(rings, to_local)))


def sole_buildings(places: Sequence[tuple[float, float, DamageLevel | None]],
                   buildings: Buildings | None) -> list[str | None]:
    """For each place of one run's sites (lon, lat, level), the id of the building
    footprint it lies on (:func:`geo.grading.assign_sites`, the grading's rule) when no
    other of them lies on it at the same level, else ``None``: two damages of one roof
    at one level are not told apart by the roof."""
    import numpy as np

    from geo.grading import MATCH_M, assign_sites

    if buildings is None or not buildings.ids or not places:
        return [None for _ in places]
    east, north = buildings.local.to_local(np.array([p[0] for p in places], dtype=float),
                                           np.array([p[1] for p in places], dtype=float))
    owner = assign_sites(list(zip(np.atleast_1d(east), np.atleast_1d(north))), buildings.outlines, match_m=MATCH_M)
    keys = [None if k is None else (k, level) for k, (_, _, level) in zip(owner, places)]
    count = Counter(key for key in keys if key is not None)
    return [None if key is None or count[key] > 1 else buildings.ids[key[0]] for key in keys]


def candidate_pairs(decided: Sequence[Traits], sites: Sequence[Traits]) -> set[tuple[int, int]]:
    """The pairs ``(k, j)`` for which :func:`evidence` of ``decided[k]`` and ``sites[j]``
    may hold, found through spatial indexes rather than tried one by one (a long flight's
    run has thousands of sites and decisions): those lying within twice the survey's
    widest reach (what :func:`evidence` counts as near; a little more), those whose ground
    footprints meet, and those on one building."""
    import numpy as np
    import shapely
    from geo.survey_fusion import SurveySettings

    if not decided or not sites:
        return set()
    radius = 6_371_008.8  # as core.sites.distance_m: its equirectangular metres
    mean_lat = math.radians(sum(t.lat_deg for t in (*decided, *sites)) / (len(decided) + len(sites)))

    def points(traits: Sequence[Traits]) -> np.ndarray:
        lonlat = np.radians(np.array([[t.lon_deg, t.lat_deg] for t in traits], dtype=float))
        placed: np.ndarray = shapely.points(lonlat[:, 0] * math.cos(mean_lat) * radius, lonlat[:, 1] * radius)
        return placed

    reach = 2 * SurveySettings().max_gate_m
    found = shapely.STRtree(points(sites)).query(points(decided), predicate="dwithin", distance=reach * 1.01 + 0.5)
    pairs = {(int(k), int(j)) for k, j in found.T}
    shaped = [j for j, t in enumerate(sites) if t.footprint is not None and not t.footprint.is_empty]  # type: ignore[attr-defined]
    with_shape = [k for k, t in enumerate(decided) if t.footprint is not None and not t.footprint.is_empty]  # type: ignore[attr-defined]
    if shaped and with_shape:
        met = shapely.STRtree([sites[j].footprint for j in shaped]).query(
            [decided[k].footprint for k in with_shape], predicate="intersects")
        pairs |= {(with_shape[int(k)], shaped[int(j)]) for k, j in met.T}
    on_building: dict[str, list[int]] = {}
    for j, t in enumerate(sites):
        if t.building is not None:
            on_building.setdefault(t.building, []).append(j)
    pairs |= {(k, j) for k, t in enumerate(decided) if t.building is not None for j in on_building.get(t.building, ())}
    return pairs


def _contradict(a: SiteMark, b: SiteMark) -> bool:
    return a.review is not b.review or (a.level is not None and b.level is not None and a.level != b.level)


def match_runs(earlier: Sequence[tuple[SiteDecisionRecord, Traits]], sites: Mapping[int, Traits],
               open_ids: Collection[int]) -> CarryMatch:
    """Earlier runs' decisions (with their sites' :class:`Traits`, oldest first) on a new
    run's ``sites`` (by id); only ``open_ids`` (undecided) are given one (the module
    docstring says how)."""
    blocked = {site_id for site_id in sites if site_id not in open_ids}
    site_ids = list(sites)
    site_traits = [sites[site_id] for site_id in site_ids]
    given: dict[int, SiteMark] = {}
    given_records: dict[int, int] = {}
    disputed: list[Disputed] = []
    runs = sorted({record.run_id for record, _ in earlier},
                  key=lambda run: -max(record.id for record, _ in earlier if record.run_id == run))
    for run in runs:
        records = [(record, traits) for record, traits in earlier if record.run_id == run]
        pairs = sorted(
            (strength, round(apart, 3), -k, k, site_ids[j])
            for k, j in candidate_pairs([traits for _record, traits in records], site_traits)
            if (found := evidence(records[k][1], site_traits[j])) is not None
            for strength, apart in [found]
        )
        strongest: dict[int, int] = {}
        for *_rest, k, site_id in pairs:
            strongest.setdefault(k, site_id)
        won: dict[int, int] = {}  # site id -> decision
        used: set[int] = set()
        for *_rest, k, site_id in pairs:
            if k in used or site_id in won:
                continue
            used.add(k)  # a decision whose site is decided already stays there
            if site_id not in blocked:
                won[site_id] = k
        placed = set(won.values())
        for k, site_id in strongest.items():
            j = won.get(site_id)
            if k in placed or j is None:
                continue
            mark, theirs = _mark(records[k][0]), _mark(records[j][0])
            if _contradict(mark, theirs):
                del won[site_id]
                disputed.append(Disputed(site_id, (theirs, mark), run,
                                         (records[j][1].site_id, records[k][1].site_id)))
                blocked.add(site_id)
        for site_id, k in won.items():
            given[site_id] = _mark(records[k][0])
            given_records[site_id] = records[k][0].id
        blocked |= set(won)
    return CarryMatch(given, tuple(sorted(disputed, key=lambda d: d.site_id)), given_records)


def earlier_decisions_moved(store: ProjectStore, run_id: int, sites: Sequence[SiteSummary],
                            built: DamageMap | None) -> dict[int, frozenset[int]]:
    """Each sighting another run's site decision decided -> the sightings of the site of
    run ``run_id`` (``sites``: every site of it, decided ones among them; ``built``: its map)
    that is the same damage, matched as a new run's undecided sites get the earlier runs'
    decisions (:func:`match_runs`), every site taken as open: where an earlier run's
    decision lies in this run, for the survey's joins to follow before the decision is
    carried into it. Sightings whose decision went to no site here (disputed, or nothing
    the same damage) are left out."""
    if not any(d.run_id != run_id for d in store.site_decisions()):
        return {}
    buildings = project_buildings(store, built)
    earlier = earlier_traits(store, run_id, built, buildings)
    if not earlier:
        return {}
    found = match_runs(earlier, site_traits(store, sites, built, buildings), {site.site_id for site in sites})
    held = {site.site_id: frozenset(site.detection_ids) for site in sites}
    record_of = {record.id: record for record, _traits in earlier}
    return {i: held[site_id] for site_id, record_id in found.records.items()
            for i in record_of[record_id].detection_ids}


def _mark(record: SiteDecisionRecord) -> SiteMark:
    return SiteMark(record.lon_deg, record.lat_deg, record.review, record.level)


def _boxes(detections: Sequence[object]) -> dict[int, tuple[BoxXYXY, ...]]:
    out: dict[int, list[BoxXYXY]] = {}
    for d in detections:
        out.setdefault(int(d.frame_index), []).append(tuple(d.box_xyxy_px))  # type: ignore[attr-defined]
    return {f: tuple(boxes) for f, boxes in out.items()}


def site_traits(store: ProjectStore, sites: Sequence[SiteSummary], built: DamageMap | None,
                buildings: Buildings | None = None) -> dict[int, Traits]:
    """The :class:`Traits` of a run's sites (its review's, rejected ones among them);
    ``buildings``: the project's footprints (:func:`project_buildings`), ``None``: none."""
    fused = {} if built is None else {f.site.id: f for f in built.all_fused}
    loose = store.detections_by_id({i for s in sites if s.site_id not in fused for i in s.detection_ids},
                                   include_deleted=False)
    on = sole_buildings([(s.lon_deg, s.lat_deg, s.level) for s in sites], buildings)
    out = {}
    for site, building in zip(sites, on):
        own = fused.get(site.site_id)
        if own is not None:
            out[site.site_id] = Traits(site.lon_deg, site.lat_deg, float(own.uncertainty_m), own.footprint,
                                       _boxes([m.detection for m in own.members]), level=site.level,
                                       building=building)
        else:
            out[site.site_id] = Traits(site.lon_deg, site.lat_deg, None, None,
                                       _boxes([loose[i] for i in site.detection_ids if i in loose]),
                                       level=site.level, building=building)
    return out


def _rejected_numbers(store: ProjectStore, run_id: int, built: DamageMap) -> list[tuple[int, frozenset[int]]]:
    """The numbers a run's rejected sites (off its map) are listed under, with their detections."""
    from services.sites import rejected_sites

    taken = {f.site.id for f in built.all_fused}
    return [(site.site_id, frozenset(site.detection_ids))
            for site in rejected_sites(store, run_id, built, store.site_decisions(run_id), taken=taken)]


def _latest_records(records: Sequence[SiteDecisionRecord]) -> list[SiteDecisionRecord]:
    """``records`` (oldest first) less those a later one of their run decided again (a
    sighting in both): the later one stands."""
    latest: dict[tuple[int, int], int] = {}  # (run, detection id) -> the last record holding it
    for k, d in enumerate(records):
        for i in d.detection_ids:
            latest[(d.run_id, i)] = k
    return [d for k, d in enumerate(records) if all(latest[(d.run_id, i)] == k for i in d.detection_ids)]


def earlier_traits(store: ProjectStore, run_id: int, built: DamageMap | None,
                   buildings: Buildings | None = None) -> list[tuple[SiteDecisionRecord, Traits]]:
    """The other runs' active site decisions, oldest first, each with its site's
    :class:`Traits` read off that run's map (``services.maps.damage_map``; a run that
    cannot be mapped gives its decisions' place and boxes only). A decision a later one of
    its run decided again (a sighting in both) is left out: the later one stands.
    ``buildings``: the project's footprints (:func:`project_buildings`), ``None``: none;
    a decision's building is its site's, alone among that run's sites (those it rejected
    off its map among them) at its level there."""
    from shapely.affinity import translate  # type: ignore[import-untyped]

    from core.errors import DamagemapError
    from geo.survey_fusion import frame_shift
    from services.maps import damage_map

    records = _latest_records([d for d in store.site_decisions() if d.run_id != run_id])
    out = []
    for run in sorted({d.run_id for d in records}):
        try:
            theirs: DamageMap | None = damage_map(store, run)
        except DamagemapError:
            theirs = None
        shift = None if theirs is None or built is None else frame_shift(theirs.local, built.local)
        fused = [] if theirs is None else theirs.all_fused
        holder = {m.detection.id: k for k, f in enumerate(fused) for m in f.members}
        of_run = [d for d in records if d.run_id == run]
        # detection id -> (place in the list, number) of the first rejected site holding it
        off_map: dict[int, tuple[int, int]] = {}
        for place, (number, held) in enumerate([] if theirs is None else _rejected_numbers(store, run, theirs)):
            for i in held:
                off_map.setdefault(i, (place, number))
        on_map = {m.detection.id: m.detection for f in fused for m in f.members}
        detections: dict[int, Detection] = {i: on_map[i] for d in of_run for i in d.detection_ids if i in on_map}
        detections |= store.detections_by_id({i for d in of_run for i in d.detection_ids if i not in on_map},
                                             include_deleted=False)  # those off its map (rejected)
        sites: list[int | None] = []
        for d in of_run:  # the site of the map holding most of its sightings
            votes = Counter(holder[i] for i in d.detection_ids if i in holder)
            sites.append(min(votes, key=lambda k: (-votes[k], k)) if votes else None)
        levels = [d.level or _common_level([detections[i] for i in d.detection_ids if i in detections])
                  for d in of_run]
        on = sole_buildings([(f.site.lon_deg, f.site.lat_deg, f.site.level) for f in fused]
                            + [(d.lon_deg, d.lat_deg, level) for d, k, level in zip(of_run, sites, levels)
                               if k is None], buildings)
        off_building = iter(on[len(fused):])
        for d, k, level in zip(of_run, sites, levels):
            site = None if k is None else fused[k]
            footprint: object | None = None
            shape = None if site is None else site.footprint
            if shape is not None and shift is not None and not getattr(shape, "is_empty", True):
                footprint = translate(shape, xoff=float(shift[0]), yoff=float(shift[1]))
            out.append((d, Traits(d.lon_deg, d.lat_deg, None if site is None else float(site.uncertainty_m),
                                  footprint, _boxes([detections[i] for i in d.detection_ids if i in detections]),
                                  site.site.id if site is not None else
                                  min((off_map[i] for i in d.detection_ids if i in off_map), default=(0, None))[1],
                                  level=level if site is None else site.site.level,
                                  building=next(off_building) if k is None else on[k])))
    out.sort(key=lambda pair: pair[0].id)
    return out


def _common_level(detections: Sequence[object]) -> DamageLevel | None:
    """The level most of ``detections`` have (``None``: none)."""
    counted = Counter(d.level for d in detections)  # type: ignore[attr-defined]
    return counted.most_common(1)[0][0] if counted else None


__all__ = ["BOX_IOU", "Buildings", "CarryMatch", "Disputed", "SAME_BOXES", "SAME_PLACE", "SAME_TIME", "SPAN_OVERLAP",
           "Traits", "earlier_decisions_moved", "earlier_traits", "evidence", "match_runs", "one_building",
           "project_buildings", "same_boxes", "same_span", "site_traits", "sole_buildings"]
