"""Damage sites for review, read off the project's damage map (Qt-free).

:func:`site_review` gives the sites of a run (from :func:`services.maps.damage_map`, so
the review sees exactly the sites every export writes, the reviewer's splits and merges
applied), which site each detection belongs to, and the review queue
(:func:`core.sites.review_queue`). The queue holds the unconfirmed sites too (detected in
too few of the frames that showed them, ``geo.fusion.count_views``; the map leaves them
out): each says so in its reason, after the confirmed ones still to decide. The sites a
reviewer rejected as a whole come last (:func:`rejected_sites`: on no map, but listed, so
that a rejection can be seen and taken back). Decisions are edits of :mod:`core.review`
(:func:`core.sites.site_decision`): apply them with the run's ``ReviewSession`` (the app
through its undo stack).

:func:`carry_decisions` keeps decisions across runs: a new analysis run of the same
project gets, for each of its undecided sites, the latest decision made on the same damage
in an earlier run (:mod:`services.carry`: seen in the same frames, lying within the
survey's reach of it or on the same building footprint, or seen over the same stretch of
the video), as one edit; a site
that earlier decisions disagree on is left for review (:func:`carry_outcome` names it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from core.review import EditGroup, ReviewSession, SiteDecisions, SiteMark
from core.sites import (
    QueueItem,
    Sighting,
    SiteSummary,
    decisions_reaching,
    review_queue,
    site_decision,
    sites_decision,
)
from core.store import ProjectStore, SiteDecisionRecord, SiteGroupRecord
from core.types import DamageLevel, ReviewState
from services.carry import Disputed
from services.maps import damage_map as _damage_map
from services.maps import resolve_run

if TYPE_CHECKING:  # pragma: no cover
    from geo.mapping import DamageMap


def site_summaries(built: DamageMap) -> list[SiteSummary]:
    """The map's sites, confirmed or not, as :class:`core.sites.SiteSummary` (sightings in
    time order, each with its frame's distinct view)."""
    out = []
    views, turned = built.views, built.frame_poses.turned
    for fused in built.all_fused:
        site = fused.site
        sightings = tuple(
            Sighting(int(m.detection.id), m.frame_index, float(m.observation.t_s), m.detection.level,
                     float(m.detection.final_score), m.detection.review, views.get(m.frame_index),
                     m.frame_index in turned)
            for m in fused.members
            if m.detection.id is not None
        )
        out.append(SiteSummary(site.id, site.level, site.confidence, site.lon_deg, site.lat_deg, sightings,
                               site.best_frame, site.best_detection_id))
    return out


@dataclass
class SiteReview:
    """The sites of one run, in review order, and which site each detection is in."""

    run_id: int
    min_score: float
    queue: list[QueueItem]
    site_of: dict[int, int] = field(default_factory=dict)
    damage_map: DamageMap | None = field(default=None, repr=False)
    #: ids of the sites the map leaves out (unconfirmed)
    unconfirmed: frozenset[int] = frozenset()
    #: ids of the sites a reviewer rejected as a whole (:func:`rejected_sites`): listed
    #: with the decided ones, on no map
    rejected: frozenset[int] = frozenset()
    _by_id: dict[int, SiteSummary] = field(init=False, repr=False, compare=False)

    _best: dict[int, float] = field(init=False, repr=False, compare=False)
    _second: frozenset[int] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id = {item.site.site_id: item.site for item in self.queue}
        # per site, the highest threshold it is kept at (1.0 with a sighting accepted)
        self._best = {
            item.site.site_id: max(
                (1.0 if s.review is ReviewState.ACCEPTED else s.score for s in item.site.sightings), default=0.0)
            for item in self.queue
        }

    @property
    def sites(self) -> list[SiteSummary]:
        """The sites of the map (confirmed or not), in review order; not the rejected ones."""
        return [item.site for item in self.queue if item.site.site_id not in self.rejected]

    def second_sightings(self) -> frozenset[int]:
        """Ids of the detections that are not their site's best in their frame: the
        detector's second boxes on one damage (the whole roof and a patch in it, one patch
        at two levels). The best is the box the site is placed from
        (:func:`geo.fusion.best_per_frame`: a reviewed one outweighs the model's)."""
        if self._second is None:
            from geo.fusion import best_per_frame

            fused = self.damage_map.all_fused if self.damage_map is not None else []
            best = {m.detection.id for f in fused for m in best_per_frame(list(f.members))}
            self._second = frozenset(
                m.detection.id for f in fused for m in f.members
                if m.detection.id is not None and m.detection.id not in best)
        return self._second

    def site(self, site_id: int) -> SiteSummary | None:
        return self._by_id.get(site_id)

    def site_of_detection(self, detection_id: int) -> SiteSummary | None:
        site_id = self.site_of.get(detection_id)
        return None if site_id is None else self.site(site_id)

    @property
    def decided_count(self) -> int:
        """The sites listed that a reviewer decided, the rejected ones among them."""
        return sum(1 for item in self.queue if item.site.decided)

    @property
    def pending_count(self) -> int:
        return len(self.queue) - self.decided_count

    def kept_at(self, threshold: float) -> set[int]:
        """Ids of the sites that keep a sighting at or above ``threshold`` (or one a
        reviewer accepted): what the map shows at that score (sites below the project's
        minimum score were never fused)."""
        return {site_id for site_id, best in self._best.items()
                if best >= threshold and site_id not in self.rejected}

    def listed_at(self, threshold: float) -> set[int]:
        """Ids of the sites a list filtered at ``threshold`` shows: those :meth:`kept_at`
        it, and the rejected ones that would be (a sighting scoring that much)."""
        return {site_id for site_id, best in self._best.items() if best >= threshold}

    def count_at(self, threshold: float) -> int:
        """How many sites :meth:`kept_at` ``threshold``."""
        return len(self.kept_at(threshold))


def site_kept(sighting: Sighting, threshold: float) -> bool:
    """Whether a sighting counts at ``threshold``: it scores that much, or a reviewer
    accepted it."""
    return sighting.score >= threshold or sighting.review is ReviewState.ACCEPTED


def site_review(store: ProjectStore, run_id: int | None = None, *, built: DamageMap | None = None) -> SiteReview:
    """The sites of a run (the latest by default) for review, from the cached map.

    Raises what :func:`services.maps.damage_map` raises (no run, no telemetry, ...).
    """
    from geo.export.records import unconfirmed_reason

    run_id = resolve_run(store, run_id)
    if built is None:
        built = _damage_map(store, run_id)
    decisions = store.site_decisions(run_id)
    sites = with_whole_decisions(site_summaries(built), decisions, store.site_groups(run_id))
    rejected = rejected_sites(store, run_id, built, decisions, taken={site.site_id for site in sites})
    min_score = store.project_settings().min_score
    site_of = {s.detection_id: site.site_id for site in (*sites, *rejected) for s in site.sightings}
    hidden = {f.site.id: f for f in built.unconfirmed}
    queue = [
        QueueItem(item.site, (unconfirmed_reason(hidden[item.site.site_id]), *item.reasons))
        if item.site.site_id in hidden and not item.site.decided else item
        for item in review_queue([*sites, *rejected], min_score)
    ]
    rejected_ids = frozenset(site.site_id for site in rejected)
    # the sites on the map first, the rejected ones last (sort is stable: the queue's own order otherwise)
    queue.sort(key=lambda item: (item.site.decided, item.site.site_id in hidden, item.site.site_id in rejected_ids))
    return SiteReview(run_id, min_score, queue, site_of, built, frozenset(hidden), rejected_ids)


def rejected_sites(store: ProjectStore, run_id: int, built: DamageMap, decisions: Sequence[SiteDecisionRecord],
                   *, taken: Collection[int] = ()) -> list[SiteSummary]:
    """The sites a reviewer rejected as a whole (``decisions``, the run's active ones),
    each as its sightings still rejected, for the review to list with the decided sites:
    a rejection can be seen, and taken back with a key, as an acceptance can. A sighting
    is in the latest rejection that named it; deleted ones are left out.

    Each keeps the number it had on the map (the store's numbers: never given to another
    place), at the place it was rejected. Where that number is in ``taken`` (the map's
    sites now), it gets one above every number given."""
    newest_first = [d for d in reversed(decisions) if d.review is ReviewState.REJECTED]
    if not newest_first:
        return []
    wanted = {i for d in newest_first for i in d.detection_ids}
    detections = {i: d for i, d in store.detections_by_id(wanted, include_deleted=False).items()
                  if d.review is ReviewState.REJECTED}
    numbers = store.site_numbers(run_id)
    used = set(taken)
    fresh = max([*used, *(n for ns in numbers.values() for n in ns)], default=0) + 1
    times, turned = built.frame_poses.times_s, built.frame_poses.turned
    claimed: set[int] = set()
    out = []
    for decision in newest_first:
        members = [detections[i] for i in decision.detection_ids if i in detections and i not in claimed]
        if not members:
            continue
        claimed.update(int(d.id) for d in members if d.id is not None)
        sightings = tuple(sorted(
            (Sighting(int(d.id), d.frame_index, float(times.get(d.frame_index, 0.0)), d.level, float(d.final_score),
                      d.review, built.views.get(d.frame_index), d.frame_index in turned)
             for d in members if d.id is not None),
            key=lambda s: (s.t_s, s.detection_id)))
        votes = Counter(n for s in sightings for n in numbers.get(s.detection_id, ()) if n not in used)
        number = max(votes, key=lambda n: (votes[n], -n)) if votes else fresh
        fresh = max(fresh, number + 1)
        used.add(number)
        levels = Counter(s.level for s in sightings)
        best = max(sightings, key=lambda s: (s.score, -s.detection_id))
        out.append(SiteSummary(number, max(levels, key=lambda level: (levels[level], int(level))),
                               sum(s.score for s in sightings) / len(sightings), decision.lon_deg, decision.lat_deg,
                               sightings, best.frame_index, best.detection_id))
    return out


def with_whole_decisions(sites: Sequence[SiteSummary], decisions: Sequence[SiteDecisionRecord],
                         groups: Sequence[SiteGroupRecord] = ()) -> list[SiteSummary]:
    """The sites, each a reviewer accepted or relabelled as a whole marked so
    (:attr:`core.sites.SiteSummary.whole_decision`): it holds sightings of such a decision
    (``decisions``, the run's) still accepted, no sighting a reviewer rejected, and no
    undecided sighting but those the threshold let in since (scoring below the threshold
    the decision was made at). A decision whose site was merged with another since
    (``groups``, the run's splits and merges) decides its sightings only: the merged site
    asks for a decision on the others."""
    floor_of: dict[int, float | None] = {}  # decided sighting -> the threshold it was decided at
    for record in decisions:
        merged_since = any(g.kind == "merge" and g.created_utc >= record.created_utc
                           and set(g.detection_ids) & set(record.detection_ids) for g in groups)
        if record.review is ReviewState.ACCEPTED and not merged_since:
            floor_of.update((i, record.min_score) for i in record.detection_ids)
    out = []
    for site in sites:
        reviewed = [s for s in site.sightings if s.review is not ReviewState.PENDING]
        whole = False
        if site.whole_decision is None and not site.decided and reviewed and all(
                s.review is ReviewState.ACCEPTED and s.detection_id in floor_of for s in reviewed):
            floor = min((f for s in reviewed if (f := floor_of[s.detection_id]) is not None), default=None)
            whole = floor is not None and all(
                s.score < floor for s in site.sightings if s.review is ReviewState.PENDING)
        out.append(replace(site, whole_decision=ReviewState.ACCEPTED) if whole else site)
    return out


def decision_step(sites: Sequence[SiteSummary],
                  decision: ReviewState | DamageLevel) -> EditGroup | SiteDecisions | None:
    """The one review step that accepts, rejects (a :class:`ReviewState`) or relabels (a
    :class:`DamageLevel`) ``sites``, as the Sites panel's key makes it: the sites that say
    ``decision`` already are left out (deciding a site again makes no empty step to
    undo), one site's :func:`core.sites.site_decision`, several sites'
    :func:`core.sites.sites_decision`; ``None`` when every site says it already."""
    changing = [site for site in sites if not site.holds(decision)]
    if not changing:
        return None
    return site_decision(changing[0], decision) if len(changing) == 1 else sites_decision(changing, decision)


def carry_decisions(store: ProjectStore, review: SiteReview, *,
                    elsewhere: Sequence[SiteMark] = ()) -> SiteDecisions | None:
    """One edit giving the run's undecided sites the decisions made on the same damage in
    earlier runs, or ``elsewhere`` (the other flights of a survey:
    :func:`services.survey.survey_decisions`, each reaching the site the survey joins
    with the decided one, :func:`core.sites.decisions_reaching`; an earlier run's
    decision wins over theirs at one place). ``None``: nothing to carry. Apply it with the run's review
    session: each site's decision is then recorded in this run as a decision on the whole
    site (it keeps the site whole as the threshold moves, as the one it copies did).
    :func:`carry_outcome` also names the sites left for review.

    A site with a sighting whose review was taken back in this run (an undo: the
    reviewer undid a decision carried there, say) is left undecided: what the reviewer
    took back is not given again the next time the run is shown."""
    return carry_outcome(store, review, elsewhere=elsewhere).edit


@dataclass(frozen=True)
class Carried:
    """What :func:`carry_outcome` found: the edit (``None``: nothing to carry) and the
    sites earlier decisions disagree on, left for review."""

    edit: SiteDecisions | None
    disputed: tuple[Disputed, ...] = ()

    @property
    def sightings(self) -> int:
        return 0 if self.edit is None else sightings_decided(self.edit)


def carry_outcome(store: ProjectStore, review: SiteReview, *, elsewhere: Sequence[SiteMark] = ()) -> Carried:
    """:func:`carry_decisions`, with the sites left for review because the earlier
    decisions that reach them disagree. An earlier run's decision is matched to this
    run's site by the frames both saw it in, by where it lies (the survey's reach: 3 m
    widened by the sites' uncertainty, overlapping footprints, or one building footprint
    of the project's at one level) and by when it was seen (:mod:`services.carry`)."""
    from services.carry import earlier_traits, match_runs, project_buildings, site_traits

    buildings = None
    earlier = []
    if any(d.run_id != review.run_id for d in store.site_decisions()):
        buildings = project_buildings(store, review.damage_map)
        earlier = earlier_traits(store, review.run_id, review.damage_map, buildings)
    if not earlier and not elsewhere:
        return Carried(None)
    taken_back = taken_back_sightings(store, review.run_id)
    undecided = [item.site for item in review.queue
                 if not item.site.decided and taken_back.isdisjoint(item.site.detection_ids)]
    found = match_runs(earlier, site_traits(store, [item.site for item in review.queue], review.damage_map, buildings),
                       {site.site_id for site in undecided}) if earlier else None
    matches = dict(found.matches) if found is not None else {}
    disputed = found.disputed if found is not None else ()
    if elsewhere:  # another flight's decision reaches the site the survey joins with its own (else by place)
        # matched with every site of the run, decided ones and the places it rejected among them:
        # a decision whose own site here is decided already (or off the map) went to the next
        # site within reach, another damage of the same roof
        left_alone = {d.site_id for d in disputed}
        open_ids = {site.site_id for site in undecided if site.site_id not in matches and site.site_id not in left_alone}
        others = [item.site for item in review.queue if item.site.site_id not in matches]
        near = decisions_reaching(elsewhere, [*others, *rejected_places(store, review.run_id)],
                                  radius_m=survey_reach(review.damage_map))
        matches |= {site_id: mark for site_id, mark in near.items() if site_id in open_ids}
    groups = tuple(site_decision(site, decision.level or decision.review)
                   for site in undecided if (decision := matches.get(site.site_id)) is not None)
    return Carried(SiteDecisions(groups, carried=True) if groups else None, disputed)


def rejected_places(store: ProjectStore, run_id: int) -> list[SiteSummary]:
    """The places a reviewer rejected a whole site of the run at, as sites with no
    sighting (negative ids): a rejected site is off the map, and a decision another
    flight made there must meet it there, not the next site within reach."""
    return places_of(whole_rejections(store, run_id))


def whole_rejections(store: ProjectStore, run_id: int) -> list[SiteDecisionRecord]:
    """The run's site decisions that rejected a whole site (not a relabel)."""
    return [d for d in store.site_decisions(run_id) if d.review is ReviewState.REJECTED and d.level is None]


def places_of(rejections: Sequence[SiteDecisionRecord]) -> list[SiteSummary]:
    """:func:`rejected_places` of the run's :func:`whole_rejections`, read already."""
    return [SiteSummary(-(k + 1), DamageLevel.SLIGHT, 0.0, d.lon_deg, d.lat_deg, (), 0)
            for k, d in enumerate(rejections)]


def survey_reach(damage_map: DamageMap | None) -> Callable[[SiteSummary], float]:
    """How far from a flight's site another flight's decision still reaches it: as far as
    a survey joins the two flights' sites (``geo.survey_fusion.SurveySettings``: 3 m,
    widened by twice the site's position uncertainty, at most 6 m). A decision on
    wednesday's site reaches the site of monday's the survey shows as the same damage,
    though the flights placed it metres apart."""
    return reach_by_uncertainty({} if damage_map is None else
                                {f.site.id: float(f.uncertainty_m) for f in damage_map.all_fused})


def reach_by_uncertainty(sigma: Mapping[int, float]) -> Callable[[SiteSummary], float]:
    """How far a decision reaches a site whose position uncertainty (metres, by site id) is
    ``sigma``: as far as the survey joins two flights' sites
    (``geo.survey_fusion.SurveySettings.gate``); an unknown one counts as the widest."""
    from geo.survey_fusion import SurveySettings

    settings = SurveySettings()

    def reach(site: SiteSummary) -> float:
        uncertain = sigma.get(site.site_id, 0.0)
        return settings.gate(uncertain if math.isfinite(uncertain) else 10.0)  # the other site's is not known

    return reach


def taken_back_sightings(store: ProjectStore, run_id: int) -> set[int]:
    """The detections of run ``run_id`` whose review a reviewer took back (an undo in the
    run's history): a decision carried to their site is not given again."""
    return {record.detection_id for record in store.edit_history(run_id) if record.action == "undo"}


def rejections_taken_back(store: ProjectStore, run_id: int) -> set[int]:
    """The detections of run ``run_id`` whose rejection a reviewer took back (an undo of
    an edit that rejected them): of :func:`taken_back_sightings`, those where what was
    undone was a rejection, not an acceptance or a relabel."""
    rejected = ReviewState.REJECTED.value
    return {record.detection_id for record in store.edit_history(run_id)
            if record.action == "undo" and record.before.get("review") == rejected}


def sightings_decided(edit: SiteDecisions) -> int:
    """How many sightings ``edit`` decides."""
    return sum(len(group.edits) for group in edit.groups)


def keep_earlier_decisions(store: ProjectStore, run_id: int, *, author: str | None = None) -> int:
    """Apply :func:`carry_decisions` to a run at once (the command line, after a new run
    finished; the app does it through its undo stack when it shows the run's sites).

    Returns the number of sightings decided (0 when no earlier run has a site decision).
    Raises what :func:`site_review` raises when the run cannot be mapped.
    """
    return keep_earlier_outcome(store, run_id, author=author).sightings


def keep_earlier_outcome(store: ProjectStore, run_id: int, *, author: str | None = None) -> Carried:
    """:func:`keep_earlier_decisions`, saying which sites were left for review because
    earlier decisions on them disagree."""
    if not any(d.run_id != run_id for d in store.site_decisions()):
        return Carried(None)
    outcome = carry_outcome(store, site_review(store, run_id))
    if outcome.edit is not None:
        ReviewSession(store, run_id, author=author).apply(outcome.edit)
    return outcome


__all__ = ["Carried", "SiteReview", "carry_decisions", "carry_outcome", "decision_step", "keep_earlier_outcome", "site_kept", "keep_earlier_decisions", "places_of", "rejected_places", "rejected_sites", "rejections_taken_back", "site_review",
           "site_summaries", "sightings_decided", "taken_back_sightings", "whole_rejections", "with_whole_decisions"]
