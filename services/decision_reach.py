"""What a review decision made on one flight of a survey reaches on the other flights.

A reviewer decides a flight's site (in the app's Sites panel, or ``survey decide`` on a
survey site, which decides each of its flights' sites). The survey's own joins say which
site of another flight is the same damage: :func:`geo.survey_fusion.joined_sites`, the
flights' sites matched as the survey's map matches them, with the places reviewers
rejected among them (a rejected site is off its flight's map, but still where the
survey joined another flight's site). A decision reaches the site of another flight the
survey joins with the decided one, and no other: a neighbour 3.6 m off that the survey
joined to another site of the flight the decision was made in is another roof.

A decision made in an earlier run of a flight analysed again since, not yet carried into
its new run, is on the new run's site of the same damage (:func:`on_latest_runs`,
matched as the carrying matches it, :mod:`services.carry`), and follows the joins from
there, into that flight's new run too.

Where the joins hold no decided site (an earlier run's decision on no site of the new run,
a site left unconfirmed, a flight whose project cannot be read now), place is all there
is: the decision reaches
the nearest site as far as the survey joins two flights' sites, still never such a
neighbour. :func:`flight_marks` gives each flight the decisions made elsewhere as
:class:`core.sites.JoinedMark`; :func:`core.sites.decisions_reaching` applies them, for
the survey's map (``services.survey``) and for the decisions carried into a flight
(:func:`services.sites.carry_outcome`) alike.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.review import SiteMark
from core.sites import JoinedMark
from core.types import ReviewState

if TYPE_CHECKING:  # pragma: no cover
    from core.store import SiteDecisionRecord
    from geo.mapping import DamageMap
    from geo.survey_fusion import RejectedPlace, SurveySettings


@dataclass(frozen=True, eq=False)
class MappedFlight:
    """A flight's map as its project holds it (its own decisions in: its rejected sites
    off it) and the whole-site rejections of the run it maps, ``rejected``."""

    name: str
    damage_map: DamageMap
    rejected: Sequence[SiteDecisionRecord] = ()
    #: each sighting an earlier run's decision decided -> the sightings of the mapped run's
    #: site of the same damage (:func:`services.carry.earlier_decisions_moved`)
    moved: Mapping[int, frozenset[int]] = field(default_factory=dict)
    #: the sightings of the mapped run's sites no reviewer decided (nor took a decision back on)
    undecided: frozenset[int] = frozenset()


@dataclass(frozen=True)
class MadeDecision:
    """A decision in force: ``mark``, the flights it is in already (``made_in``: made
    there, or applied there by ``survey decide``) and, by flight, the detections it
    decided there (``sightings``: which site of that flight it was made on)."""

    mark: SiteMark
    made_in: frozenset[str] = frozenset()
    sightings: Mapping[str, frozenset[int]] = field(default_factory=dict)


def flight_marks(flights: Sequence[MappedFlight], decisions: Sequence[MadeDecision], names: Sequence[str], *,
                 together: Sequence[Collection[tuple[str, int]]] = (),
                 settings: SurveySettings | None = None) -> dict[str, list[SiteMark]]:
    """For each flight of ``names``, the ``decisions`` (oldest first) made elsewhere, as
    :class:`core.sites.JoinedMark`: its sightings the survey joins with the decided site,
    and those it joins with another site of a flight the decision was made in. The joins
    are of the mapped ``flights`` (a flight not among them meets each decision by place);
    ``together``: the flights' sites a survey decision keeps as one survey site
    (``geo.survey_fusion.fuse_flights``); ``settings``: the survey map's."""
    from geo.survey_fusion import FlightMap, joined_sites

    held: dict[tuple[str, int], frozenset[int]] = {}
    for flight in flights:
        for fused in flight.damage_map.fused:
            held[(flight.name, fused.site.id)] = frozenset(
                int(m.detection.id) for m in fused.members if m.detection.id is not None)
    decisions = on_latest_runs(decisions, flights)
    places = _rejected_places(flights, decisions)
    held.update(((place.flight, place.key), sightings) for place, sightings in places)
    groups = joined_sites([FlightMap(f.name, f.damage_map) for f in flights], [place for place, _ in places],
                          settings, together=together)
    mapped = {flight.name for flight in flights}
    out: dict[str, list[SiteMark]] = {name: [] for name in names}
    for decision in decisions:
        own = [group for group in groups if any(
            not held[key].isdisjoint(decision.sightings.get(key[0], ())) for key in group)]
        # the survey joined these with another site of a flight the decision was made in
        others = [group for group in groups if group not in own and any(key[0] in decision.made_in for key in group)]
        mark = decision.mark
        for name in names:
            if name in decision.made_in:
                continue
            in_joins = bool(own) and name in mapped
            out[name].append(JoinedMark(mark.lon_deg, mark.lat_deg, mark.review, mark.level,
                                        joined=_sightings_of(name, own, held) if in_joins else frozenset(),
                                        apart=_sightings_of(name, others, held), fused=in_joins))
    return out


def on_latest_runs(decisions: Sequence[MadeDecision], flights: Sequence[MappedFlight]) -> list[MadeDecision]:
    """``decisions`` with each made in an earlier run of a mapped flight (every one of its
    sightings there an earlier run's) on the mapped run's site of the same damage
    (:attr:`MappedFlight.moved`), whose joins it then follows. Where that site is still
    undecided the decision is not in the flight's mapped run yet: it reaches that site too,
    as it will once carried there (``survey analyse``, or the flight opened in the app)."""
    from dataclasses import replace

    by_name = {flight.name: flight for flight in flights}
    out = []
    for decision in decisions:
        sightings = dict(decision.sightings)
        made_in = set(decision.made_in)
        for name, decided in decision.sightings.items():
            flight = by_name.get(name)
            if flight is None or not decided or not decided <= flight.moved.keys():
                continue
            moved = frozenset(j for i in decided for j in flight.moved[i])
            sightings[name] = moved
            if name in made_in and moved <= flight.undecided:
                made_in.discard(name)
        if sightings != decision.sightings:
            decision = replace(decision, made_in=frozenset(made_in), sightings=sightings)
        out.append(decision)
    return out


def _rejected_places(flights: Sequence[MappedFlight], decisions: Sequence[MadeDecision],
                     ) -> list[tuple[RejectedPlace, frozenset[int]]]:
    """Each site a rejection in ``decisions`` took off a flight's map (its sightings
    rejected in the run the flight maps), as a place of that flight at the rejection's
    place, with its sightings: a survey decision's place is where the survey decided the
    site first (a relabel moves a site; ``services.survey.decide``), as a later flight
    meets it. A site rejected twice (in its flight, then by the survey) is one place, the
    later decision's."""
    from geo.survey_fusion import RejectedPlace

    rejected = {f.name: frozenset(i for record in f.rejected for i in record.detection_ids) for f in flights}
    found: dict[tuple[str, frozenset[int]], SiteMark] = {}
    for decision in decisions:
        mark = decision.mark
        if mark.review is not ReviewState.REJECTED or mark.level is not None:
            continue
        for name in sorted(decision.made_in):
            sightings = decision.sightings.get(name, frozenset()) & rejected.get(name, frozenset())
            if sightings:
                found[(name, sightings)] = mark
    return [(RejectedPlace(name, -(k + 1), mark.lon_deg, mark.lat_deg), sightings)
            for k, ((name, sightings), mark) in enumerate(found.items())]


def _sightings_of(flight: str, groups: Sequence[frozenset[tuple[str, int]]],
                  held: Mapping[tuple[str, int], frozenset[int]]) -> frozenset[int]:
    return frozenset(i for group in groups for key in group if key[0] == flight for i in held[key])


__all__ = ["MadeDecision", "MappedFlight", "flight_marks", "on_latest_runs"]
