"""Damage sites as the unit of review: one decision per place, not per sighting.

A damage site (``geo.fusion``) is one damaged place seen in many frames. Reviewing it
once must settle every sighting of it, so:

- :func:`site_decision` turns accept / reject / relabel of a site into one
  :class:`core.review.EditGroup` of the per-detection edits (one undo step; every export
  reads the detections, so every export sees it), marked with the site's ground position
  (:class:`core.review.SiteMark`) so a later run can keep it.
- :func:`review_queue` orders sites by what most needs a human: the ones whose sightings
  disagree on the level, whose best score sits near the map's threshold, or that one frame
  (or one spot: a hover's frames) alone supports come first, severe before slight; each
  with a short reason.
- :func:`crops_to_show` picks the sightings a reviewer sees of a site: one per distinct
  look, so a hover's near-identical frames fill one tile, not all of them.
- :func:`match_decisions` finds, for earlier decisions, the sites of a new run at the
  same place (within :data:`CARRY_RADIUS_M`); :func:`decisions_reaching`, for the
  decisions of a survey's other flights, the site the survey joins with the decided one
  (:class:`JoinedMark`), else the site at its place.

Plain Python: the sites come from ``services.sites``, which reads them off the map.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from core.review import EditGroup, Relabel, SetReview, SiteDecisions, SiteMark
from core.types import DamageLevel, ReviewState

#: A decision of an earlier run is applied to a new run's site whose position lies
#: within this many metres of the decided site's. Two runs of the same flight place the
#: same damage within a metre or two (the position comes from the same telemetry; only
#: the masks differ), while neighbouring houses stand 8 m or more apart, and fusion's
#: own association gate is 4 m.
CARRY_RADIUS_M = 3.0

#: A site whose best score (:attr:`SiteSummary.best_score`) lies within this of the map's minimum score is
#: "near the threshold".
NEAR_THRESHOLD = 0.1
#: A site's sightings "disagree on the level" when a level other than the most common
#: one names at least this share of them: a stray box of another level among forty
#: (the detector often boxes one damage twice) leaves the level in no doubt.
DISAGREEMENT_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class Sighting:
    """One detection of a site, as the review needs it. ``view``: the distinct view its
    frame belongs to (``geo.views``: frames from one spot, a hover's, share one), ``None``
    where the frame has no camera pose (it is a view of its own). ``turned``: its frame
    was placed by the camera's turns read from the video (``geo.hover_turns``: a hover
    under telemetry without a heading), a heading less sure than the telemetry's."""

    detection_id: int
    frame_index: int
    t_s: float
    level: DamageLevel
    score: float
    review: ReviewState
    view: int | None = None
    turned: bool = False

    @property
    def look(self) -> tuple[int, int]:
        """What tells this sighting's look at the ground from another's: its view, else its frame."""
        return (0, self.view) if self.view is not None else (1, self.frame_index)


@dataclass(frozen=True, slots=True)
class SiteSummary:
    """A damage site for review: its attributes and its sightings in time order.

    ``whole_decision``: the reviewer accepted (or relabelled) this site as a whole, and
    it has kept that decision since, though a lower score threshold has brought in
    sightings of it that nobody decided (``geo.regroup.DecidedSite``): it counts as
    decided, as it did when the reviewer moved on."""

    site_id: int
    level: DamageLevel
    confidence: float
    lon_deg: float
    lat_deg: float
    sightings: tuple[Sighting, ...]
    best_frame: int
    best_detection_id: int | None = None
    whole_decision: ReviewState | None = None

    @property
    def detection_ids(self) -> tuple[int, ...]:
        return tuple(s.detection_id for s in self.sightings)

    @property
    def first_time_s(self) -> float:
        return min((s.t_s for s in self.sightings), default=0.0)

    @property
    def last_time_s(self) -> float:
        return max((s.t_s for s in self.sightings), default=0.0)

    @property
    def frame_count(self) -> int:
        return len({s.frame_index for s in self.sightings})

    @property
    def look_count(self) -> int:
        """The distinct looks at the ground (views) among the sightings' frames."""
        return len({s.look for s in self.sightings})

    @property
    def best_score(self) -> float:
        """The detector's highest score among the sightings, whatever a reviewer said of
        them (``DamageSite.best_score``): the number the window shows as "best score"."""
        return max((s.score for s in self.sightings), default=0.0)

    @property
    def best_view_apart(self) -> tuple[float, float] | None:
        """``(best view's time, best score's time)`` where the frame the site opens at (its
        best view, ``best_detection_id``) is not where its best score is (see
        :func:`views_apart`); ``None`` where they are one."""
        view = next((s for s in self.sightings if s.detection_id == self.best_detection_id), None)
        best = max(self.sightings, key=lambda s: s.score, default=None)
        return views_apart(None if view is None else (view.t_s, view.score),
                           None if best is None else (best.t_s, best.score))

    def level_votes(self) -> dict[DamageLevel, int]:
        """Sightings per level, most severe first."""
        votes = Counter(s.level for s in self.sightings)
        return {level: votes[level] for level in sorted(votes, reverse=True)}

    @property
    def state(self) -> ReviewState | None:
        """The review state all sightings share, or the site's :attr:`whole_decision`;
        ``None`` when they differ."""
        if self.whole_decision is not None:
            return self.whole_decision
        states = {s.review for s in self.sightings}
        return states.pop() if len(states) == 1 else None

    @property
    def decided(self) -> bool:
        """Every sighting was accepted or rejected by a reviewer, or the site as a whole
        was (:attr:`whole_decision`)."""
        if self.whole_decision is not None:
            return True
        return bool(self.sightings) and all(s.review is not ReviewState.PENDING for s in self.sightings)

    def holds(self, decision: ReviewState | DamageLevel) -> bool:
        """Whether every sighting already says ``decision`` (a :class:`ReviewState`, or a
        :class:`DamageLevel`: accepted at that level), so deciding it again changes nothing."""
        if not self.sightings:
            return False
        if isinstance(decision, DamageLevel):
            return all(s.review is ReviewState.ACCEPTED and s.level is decision for s in self.sightings)
        if decision is ReviewState.ACCEPTED and len(self.level_votes()) > 1:
            return False  # accepting it settles its level (:func:`site_decision`)
        return all(s.review is decision for s in self.sightings)

    def mark(self, review: ReviewState, level: DamageLevel | None = None) -> SiteMark:
        return SiteMark(self.lon_deg, self.lat_deg, review, level)


def number_ranges(numbers: Iterable[int]) -> str:
    """``1-4, 6, 9-10``: site numbers, runs of consecutive ones joined (a site's number
    is kept while others go, so a map's numbers may skip)."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def video_time(t_s: float) -> str:
    """``1:05.3``: a time in the video as the window shows it."""
    minutes, seconds = divmod(max(0.0, t_s), 60.0)
    return f"{int(minutes)}:{seconds:04.1f}"


def counted(n: int, noun: str) -> str:
    """``1 sighting``, ``3 sightings``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def views_apart(view: tuple[float, float] | None, best: tuple[float, float] | None) -> tuple[float, float] | None:
    """``(view's time, best's time)`` for a site's best view and its best-scoring
    sighting, each ``(time s, score)``, where the view is not where the best score is
    (another moment, a lower score); ``None`` where they are one. The best view is chosen
    for the review (a whole view of the site's level away from the frame's edge,
    ``geo.fusion``), not for its score: a row saying only "best score" sent the reviewer
    looking for that moment where the player opened at another."""
    if view is None or best is None or view[1] >= best[1] or video_time(view[0]) == video_time(best[0]):
        return None
    return view[0], best[0]


def site_line(site_id: int, level: DamageLevel, best_score: float, sightings: int, frames: int,
              first_time_s: float, last_time_s: float, *, best_view_apart: tuple[float, float] | None = None,
              survey_site_id: int | None = None) -> str:
    """``#10  Slight  best score 0.95 · 15 sightings in 8 frames · 0:00.0–0:07.0``: a site
    in the window's words, the same in the Sites list and on the map. ``best_view_apart``
    (:func:`views_apart`): the site opens at a view other than its best score's, and the
    line names both, "best view 0:19.0 · best score 0.78 at 0:17.0". ``survey_site_id``:
    the number of the survey site a survey flight's site is part of, beside its own
    ("#10 · survey site 3"), the number the survey's maps, exports and commands give it."""
    in_frames = "" if frames == sightings else " in " + counted(frames, "frame")
    first, last = video_time(first_time_s), video_time(last_time_s)
    when = first if first == last else f"{first}–{last}"
    best = f"best score {best_score:.2f}"
    if best_view_apart is not None:
        best = f"best view {video_time(best_view_apart[0])} · {best} at {video_time(best_view_apart[1])}"
    number = f"#{site_id}" if survey_site_id is None else f"#{site_id} · survey site {survey_site_id}"
    return f"{number}  {level.label}  {best} · {counted(sightings, 'sighting')}{in_frames} · {when}"


def accept_relabels(site: SiteSummary) -> dict[DamageLevel, int]:
    """The sightings of each other level that accepting ``site`` relabels to the site's
    level (:func:`site_decision`), most severe first; empty where its sightings agree.
    The site's level is the map's vote (``geo.fusion.vote_level``: the most severe level
    holding a third of the score-weighted votes), not the most common one."""
    votes = site.level_votes()
    if len(votes) <= 1:
        return {}
    return {level: n for level, n in votes.items() if level is not site.level}


def relabels_text(relabels: dict[DamageLevel, int]) -> str:
    """``23 Slight``, ``23 Slight and 2 Debris``: the sightings :func:`accept_relabels` names."""
    parts = [f"{n} {level.label}" for level, n in relabels.items()]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def site_decision(site: SiteSummary, decision: ReviewState | DamageLevel) -> EditGroup:
    """The one edit that accepts, rejects (a :class:`ReviewState`) or relabels (a
    :class:`DamageLevel`) every sighting of ``site``."""
    ids = site.detection_ids
    if isinstance(decision, DamageLevel):
        return EditGroup(tuple(Relabel(i, decision) for i in ids), site.mark(ReviewState.ACCEPTED, decision))
    state = ReviewState.parse(decision)
    if state is ReviewState.ACCEPTED and len(site.level_votes()) > 1:
        # accepted as the list shows it ("accepted as Debris"): the sightings of another
        # level agree with it, or the site would go out reviewed with its level in doubt
        # and its minority's patches into the training data under the other level
        return site_decision(site, site.level)
    return EditGroup(tuple(SetReview(i, state) for i in ids), site.mark(state))


def sites_decision(sites: Sequence[SiteSummary], decision: ReviewState | DamageLevel) -> SiteDecisions:
    """One step that accepts, rejects or relabels every sighting of each of ``sites``
    (a reviewer's multi-selection), each site's decision kept as with
    :func:`site_decision`."""
    return SiteDecisions(tuple(site_decision(site, decision) for site in sites))


def review_reasons(site: SiteSummary, min_score: float) -> tuple[str, ...]:
    """Why a pending site needs a human, most telling first (empty: nothing doubtful)."""
    reasons = []
    votes = site.level_votes()
    if len(votes) > 1 and sorted(votes.values())[-2] >= DISAGREEMENT_SHARE * sum(votes.values()):
        reasons.append("levels disagree: " + " / ".join(f"{n} {level.label}" for level, n in votes.items()))
    if abs(site.best_score - min_score) <= NEAR_THRESHOLD:
        reasons.append(f"near threshold {min_score:.2f}")  # the row shows the best score beside it
    if site.frame_count <= 1:
        reasons.append("seen in one frame")
    elif site.look_count <= 1:
        reasons.append(f"seen from one spot only ({site.frame_count} frames)")
    if site.sightings and all(s.turned for s in site.sightings):
        reasons.append("placed by the camera's turns read from the video only")
    return tuple(reasons)


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A site in the review queue and why it stands where it does."""

    site: SiteSummary
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        if self.site.decided:
            state = self.site.state
            text = f"decided: {state.value}" if state is not None else "decided: mixed"
            if state is ReviewState.ACCEPTED:  # with the level it was accepted at (a relabel's new one)
                text += f" as {self.site.level.label}"
            since = sum(1 for s in self.site.sightings if s.review is ReviewState.PENDING)
            if since:  # a whole decision the threshold has since added sightings to
                text += f" (and {since} sighting{'' if since == 1 else 's'} the threshold let in since)"
            return text
        if self.reasons:
            return "; ".join(self.reasons)
        return "clear: nothing in doubt"  # the row shows the frames and the best score beside it


def review_queue(sites: Iterable[SiteSummary], min_score: float) -> list[QueueItem]:
    """Sites in review order: undecided before decided; among them the ones with more
    doubts (levels disagree by :data:`DISAGREEMENT_SHARE`, score near ``min_score``, a
    single frame) first; then the more severe level; then the lower confidence; then
    first seen."""
    items = [QueueItem(s, () if s.decided else review_reasons(s, min_score)) for s in sites]
    items.sort(key=lambda it: (it.site.decided, -len(it.reasons), -int(it.site.level), it.site.confidence,
                               it.site.first_time_s, it.site.site_id))
    return items


def crops_to_show(site: SiteSummary, limit: int) -> list[tuple[Sighting, int]]:
    """The sightings a reviewer is shown of ``site``: the best-scoring one of each distinct
    look (:attr:`Sighting.look`), the ``limit`` best of those in time order, each with how
    many frames of its look detected the site. A hover's near-identical frames give one
    crop, so the crops show the site from as many looks as the flight had.

    Every level the sightings name is shown at least once (its best sighting, with how
    many frames of its look saw that level): where the levels disagree, the reviewer is
    asked to judge them, and the best of each look may all be of one level."""
    ordered = sorted(site.sightings, key=lambda s: -s.score)
    best: dict[tuple[int, int], Sighting] = {}
    frames: dict[tuple[int, int], set[int]] = {}
    for sighting in ordered:
        best.setdefault(sighting.look, sighting)
        frames.setdefault(sighting.look, set()).add(sighting.frame_index)
    best_of_level: dict[DamageLevel, Sighting] = {}
    for sighting in ordered:
        best_of_level.setdefault(sighting.level, sighting)
    kept = sorted(best, key=lambda look: -best[look].score)[:limit]
    while True:  # room for the levels no kept look shows: the weakest looks give way
        shown = {best[look].level for look in kept}
        missing = [best_of_level[level] for level in sorted(set(best_of_level) - shown, reverse=True)]
        if len(kept) + len(missing) <= limit or len(kept) <= 1:
            break
        kept = kept[:-1]
    crops = [(best[look], len(frames[look])) for look in kept]
    crops += [(s, len({o.frame_index for o in site.sightings if o.look == s.look and o.level is s.level}))
              for s in missing]
    crops = crops[:limit]
    return sorted(crops, key=lambda crop: (crop[0].t_s, crop[0].detection_id))


def crop_sightings(site: SiteSummary, crops: Sequence[tuple[Sighting, int]]) -> dict[int, tuple[int, ...]]:
    """The detections each crop of :func:`crops_to_show` stands for (by the detection id
    it shows): every sighting of the site in its look (the hover's frames, the other boxes
    on the damage in its frame), those of its level only where another crop shows the
    same look at another level. What a split of the crop takes off the site."""
    shared = Counter(sighting.look for sighting, _ in crops)
    members: dict[int, tuple[int, ...]] = {}
    for sighting, _ in crops:
        members[sighting.detection_id] = tuple(
            o.detection_id for o in site.sightings
            if o.look == sighting.look and (shared[sighting.look] == 1 or o.level is sighting.level))
    return members


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Ground distance in metres between two WGS84 points a few hundred metres apart
    (equirectangular; below a millimetre of error at that scale)."""
    radius = 6_371_008.8
    mean_lat = math.radians((lat1 + lat2) / 2.0)
    dx = math.radians(lon2 - lon1) * math.cos(mean_lat) * radius
    dy = math.radians(lat2 - lat1) * radius
    return math.hypot(dx, dy)


def match_decisions(
    decisions: Sequence[SiteMark], sites: Sequence[SiteSummary], *,
    radius_m: float | Callable[[SiteSummary], float] = CARRY_RADIUS_M,
    allowed: Callable[[SiteMark, SiteSummary], bool] | None = None,
) -> dict[int, SiteMark]:
    """Site id -> the earlier decision at its place: pairs within ``radius_m`` (metres, or
    a site's own, as a survey matches another flight's sites by their uncertainty) matched
    nearest first, each decision and each site at most once; when two decisions were made
    at one place the later one (later in ``decisions``) wins. ``allowed``: whether a
    decision may reach a site at all (default: any)."""
    reach = {site.site_id: radius_m(site) if callable(radius_m) else radius_m for site in sites}
    pairs = []
    for k, decision in enumerate(decisions):
        for site in sites:
            d = distance_m(decision.lon_deg, decision.lat_deg, site.lon_deg, site.lat_deg)
            if d <= reach[site.site_id] and (allowed is None or allowed(decision, site)):
                pairs.append((round(d, 3), -k, k, site.site_id))
    pairs.sort()
    used_decisions: set[int] = set()
    out: dict[int, SiteMark] = {}
    for _d, _order, k, site_id in pairs:
        if k in used_decisions or site_id in out:
            continue
        used_decisions.add(k)
        out[site_id] = decisions[k]
    return out


@dataclass(frozen=True, slots=True)
class JoinedMark(SiteMark):
    """A decision made on another flight of a survey, with what the survey's joins say of
    one flight's sightings (``services.decision_reach``). ``joined``: the flight's
    detections the survey joined with the decided site, whose site it reaches, and no
    other (``fused``: the survey's joins hold the decided site and the flight). Where they
    do not (the decided site is on no survey map: an earlier run's the new run has no site
    of, an unconfirmed one),
    it reaches a site by place, never one of ``apart``: the flight's detections the survey
    joined with another site of a flight the decision was made in (a neighbouring roof)."""

    joined: frozenset[int] = frozenset()
    apart: frozenset[int] = frozenset()
    fused: bool = False


def decisions_reaching(
    decisions: Sequence[SiteMark], sites: Sequence[SiteSummary], *,
    radius_m: float | Callable[[SiteSummary], float] = CARRY_RADIUS_M,
) -> dict[int, SiteMark]:
    """Site id -> the decision made elsewhere (``decisions``, oldest first: at one site the
    later wins) that reaches it: the one rule of what another flight's decision reaches,
    for the survey's map and for the decisions carried into a flight. A
    :class:`JoinedMark` the survey's joins place reaches the site of its ``joined``
    sightings; any other decision the nearest site within ``radius_m``
    (:func:`match_decisions`), not one of a :class:`JoinedMark`'s ``apart`` sightings.
    ``sites``: every site of the flight, decided ones and the places it rejected among
    them, so that a decision whose site there is decided does not fall to a neighbour."""
    out: dict[int, SiteMark] = {}
    by_place: list[SiteMark] = []
    for mark in decisions:
        if isinstance(mark, JoinedMark) and mark.fused:
            out |= {site.site_id: mark for site in sites if not mark.joined.isdisjoint(site.detection_ids)}
        else:
            by_place.append(mark)
    if by_place:
        rest = [site for site in sites if site.site_id not in out]
        out |= match_decisions(by_place, rest, radius_m=radius_m, allowed=_not_apart)
    return out


def _not_apart(mark: SiteMark, site: SiteSummary) -> bool:
    return not isinstance(mark, JoinedMark) or mark.apart.isdisjoint(site.detection_ids)


__all__ = [
    "CARRY_RADIUS_M",
    "JoinedMark",
    "decisions_reaching",
    "NEAR_THRESHOLD",
    "QueueItem",
    "Sighting",
    "accept_relabels",
    "SiteSummary",
    "crop_sightings",
    "crops_to_show",
    "distance_m",
    "match_decisions",
    "number_ranges",
    "relabels_text",
    "review_queue",
    "review_reasons",
    "site_decision",
    "sites_decision",
    "views_apart",
]
