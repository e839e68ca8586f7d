"""A reviewer's splits and merges of damage sites, applied after fusion.

Fusion (``geo.fusion``) may join two neighbouring houses into one site, or keep one
house as two. A reviewer fixes that by naming the detections that form a site of their
own (``core.review.RegroupSite``; a split names the chosen sightings, a merge the
sightings of both sites). :func:`regroup` applies such groups in the order they were
made: each takes its detections out of whatever sites hold them and makes one site of
them; sites left empty go, sites that changed are rebuilt (position, level vote,
footprint, best frame) by fusion's own :func:`geo.fusion.build_site`, the others are
kept. Site ids are renumbered from 1 in order of first sighting, as fusion numbers them
(:func:`geo.site_numbers.number_sites` then gives each the number it had before).

A reviewer's decision on a whole site (accept, relabel) is a group of its own, a
:class:`DecidedSite`: its sightings stay one site however fusion groups them later (a
lower score threshold brings in sightings that pull a track apart; a new level moves the
height a site is placed at). Fusion may also have put undecided sightings with them that
the threshold let in since (scoring below the threshold the decision was made at): those
of a site it held them in, where they, placed at the decided damage's height, lie within
fusion's association gate of it, join the decided site rather than stand beside it as a
second site of the same damage. They neither move it nor widen its outline: it is placed,
outlined and shown from its decided sightings. Undecided sightings that were on the map
the reviewer decided on never join it: fusion joining a neighbour to the decided site
does not decide the neighbour.

A site a reviewer rejected as a whole has left the map with its sightings. Sightings of
it a lower threshold lets in since (below the threshold it was rejected at, seeing the
place it was rejected at, a :class:`RejectedSite`) leave the map too, rather than come
back as an undecided site where the reviewer said there is no damage.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from core.camera import PinholeCamera
from core.types import DamageLevel
from geo.fusion import FusedSite, FusionSettings, build_site, locate, ray_miss_m, site_heights, vote_level
from geo.local import LocalFrame
from geo.observe import Projected


@dataclass(frozen=True, slots=True)
class DecidedSite:
    """The detection ids of a site a reviewer decided as a whole (see the module
    docstring), and the map's score threshold then (``None``: not known, and no sighting
    joins the site)."""

    detection_ids: frozenset[int]
    min_score: float | None = None


@dataclass(frozen=True, slots=True)
class RejectedSite:
    """Where a reviewer rejected a whole site (WGS84) and the map's score threshold then.
    Its sightings are off the map already; undecided sightings a lower threshold lets in
    since at that place (below that threshold, and seeing it as :func:`_sees` tells) leave
    the map with them, rather than come back as an undecided site where the reviewer said
    there is nothing."""

    lon_deg: float
    lat_deg: float
    min_score: float | None = None


#: Sightings farther than this from a rejected place (their rays' ground points, metres)
#: are not looked at for it.
_REJECTED_REACH_M = 50.0


def _sees(rest: list[Projected], here: np.ndarray, settings: FusionSettings) -> bool:
    """Whether ``rest`` (undecided sightings fusion grouped with decided ones) sees the
    damage the decided ones place at ``here``: placed at that height, it lies within
    fusion's association gate of it, and its rays pass as near. (The rays alone cannot
    tell a place farther along an oblique line of sight; a sighting or two alone, placed
    at a height of their own, could lie metres off the same damage.)"""
    reach = float(np.median([np.linalg.norm(here - m.ray_origin) for m in rest]))
    gate = settings.gate_m + settings.gate_per_range * reach
    there = locate(rest, settings, float(here[2])).point
    if float(np.hypot(*(np.asarray(there)[:2] - np.asarray(here)[:2]))) > gate:
        return False
    return float(np.median([ray_miss_m(m, here) for m in rest])) <= gate


def _let_in(members: list[Projected], floor: float | None) -> list[Projected]:
    """The undecided ``members`` scoring below ``floor``, the threshold a whole site was
    decided at: sightings a lower threshold let in since, not on the map the reviewer
    decided on (none when ``floor`` is not known)."""
    if floor is None:
        return []
    return [m for m in members if not m.reviewed and m.detection.final_score < floor]


def _without(members: list[Projected], gone: list[Projected]) -> list[Projected]:
    """``members`` but those in ``gone`` (the same objects)."""
    ids = {id(m) for m in gone}
    return [m for m in members if id(m) not in ids]


class _Sites:
    """The sites as the groups change them, one after another: each one's sightings, the
    site fusion built when they have not changed (``None``: build it again) and a decided
    site's own sightings. It knows which sites hold each detection and where every
    sighting lies (an STRtree of their rays' ground points, read once), so that a group
    looks at the sites it concerns only, not at every site's sightings: a reviewed long
    flight has hundreds of groups and of sites."""

    def __init__(self, fused: Sequence[FusedSite]) -> None:
        self.members: list[list[Projected]] = [list(f.members) for f in fused]
        self.kept: list[FusedSite | None] = list(fused)
        self.anchors: list[frozenset[int] | None] = [None] * len(fused)
        self._holders: dict[int | None, set[int]] = defaultdict(set)  # detection id -> the sites holding it
        for k, members in enumerate(self.members):
            for m in members:
                self._holders[m.detection.id].add(k)
        self._sightings = [m for members in self.members for m in members]  # regrouping makes no others
        self._ground = np.empty((0, 2))  # their rays' ground points, once asked for
        self._tree: shapely.STRtree | None = None

    def holding(self, detection_ids: Collection[int | None]) -> list[int]:
        """Indices of the sites holding any of ``detection_ids``, in order."""
        found: set[int] = set()
        for i in detection_ids:
            found.update(self._holders.get(i, ()))
        return sorted(found)

    def replace(self, k: int, members: list[Projected]) -> None:
        """Site ``k`` is left with ``members`` (some of its own) and is built again."""
        staying = {m.detection.id for m in members}
        for m in self.members[k]:
            if m.detection.id not in staying:
                self._holders[m.detection.id].discard(k)
        self.members[k] = members
        self.kept[k] = None

    def add(self, members: list[Projected], anchor: frozenset[int] | None) -> None:
        """A new site of ``members``, to build."""
        for m in members:
            self._holders[m.detection.id].add(len(self.members))
        self.members.append(members)
        self.kept.append(None)
        self.anchors.append(anchor)

    def near(self, xy: np.ndarray, reach_m: float) -> dict[int, list[Projected]]:
        """The sightings on the map whose rays' ground points lie within ``reach_m`` of
        ``xy`` (local metres), by the index of the site holding them (in order), each
        site's in the order it holds them."""
        if not self._sightings:
            return {}
        if self._tree is None:
            self._ground = np.array([np.asarray(m.ground_xy, dtype=float)[:2] for m in self._sightings])
            self._tree = shapely.STRtree(shapely.points(self._ground))
        # the index finds candidates (a little farther, for rounding); the distance then decides
        candidates = self._tree.query(shapely.Point(float(xy[0]), float(xy[1])), predicate="dwithin",
                                      distance=reach_m * 1.001 + 1e-6)
        offsets = self._ground[candidates] - xy
        close = [self._sightings[j] for j in candidates[np.hypot(offsets[:, 0], offsets[:, 1]) <= reach_m]]
        chosen = {id(m) for m in close}
        by_site: dict[int, list[Projected]] = {}
        for k in self.holding({m.detection.id for m in close}):
            held = [m for m in self.members[k] if id(m) in chosen]
            if held:
                by_site[k] = held
        return by_site


def regroup(
    fused: Sequence[FusedSite],
    groups: Sequence[Collection[int] | DecidedSite | RejectedSite],
    *,
    camera: PinholeCamera,
    local: LocalFrame,
    settings: FusionSettings | None = None,
) -> list[FusedSite]:
    """Sites with each group of detection ids made a site of its own, in order (see the
    module docstring). Ids of detections the map does not hold (rejected, below the
    score) are ignored; a group none of whose detections is on the map changes nothing."""
    if not groups:
        return list(fused)
    settings = settings or FusionSettings()
    sites = _Sites(fused)
    lists = sites.members
    # the flight's roof height, as fusion placed every site with it: a site built again here
    # is placed with it too (one taken from the regrouped sites would differ by millimetres)
    heights: dict[DamageLevel, float] = dict(fused[0].heights) if fused and fused[0].heights else {}
    for group in groups:
        if isinstance(group, RejectedSite):
            if group.min_score is not None:
                heights = heights or site_heights([list(f.members) for f in fused], settings)
                _leave_rejected_place(sites, group, local, settings, heights)
            continue
        decided = isinstance(group, DecidedSite)
        wanted = {int(i) for i in (group.detection_ids if isinstance(group, DecidedSite) else group)}
        sources = sites.holding(wanted)
        if not sources:
            continue
        taken = [m for k in sources for m in lists[k] if m.detection.id in wanted]
        rests = {k: [m for m in lists[k] if m.detection.id not in wanted] for k in sources}
        if decided and len(sources) == 1 and not rests[sources[0]]:
            continue  # the whole site as it stands
        let_in = {k: _let_in(rest, group.min_score if isinstance(group, DecidedSite) else None)
                  for k, rest in rests.items()}
        anchor = None
        if any(let_in.values()):
            heights = heights or site_heights([list(f.members) for f in fused], settings)
            here = locate(taken, settings, heights[vote_level(taken)[0]]).point
            absorbed = [k for k, low in let_in.items() if low and _sees(low, here, settings)]
            if absorbed:  # placed from its own sightings: those let in do not move it
                anchor = frozenset(int(m.detection.id) for m in taken)
            for k in absorbed:
                taken.extend(let_in[k])
                rests[k] = _without(rests[k], let_in[k])
        for k in sources:
            sites.replace(k, rests[k])
        sites.add(sorted(taken, key=lambda m: (m.observation.t_s, m.frame_index)), anchor)
    pairs = [(members, site, anchor) for members, site, anchor in zip(lists, sites.kept, sites.anchors) if members]
    if any(site is None for _, site, _ in pairs) and not heights:
        heights = site_heights([members for members, _, _ in pairs], settings)
    pairs.sort(key=lambda p: (p[0][0].observation.t_s, p[0][0].frame_index, -p[0][0].weight))
    out = []
    for number, (members, site, anchor) in enumerate(pairs, start=1):
        if site is None:
            out.append(build_site(number, members, camera=camera, local=local, settings=settings, heights=heights,
                                  anchor=anchor))
        else:
            out.append(dataclasses.replace(site, site=dataclasses.replace(site.site, id=number)))
    return out


def _leave_rejected_place(sites: _Sites, place: RejectedSite, local: LocalFrame, settings: FusionSettings,
                          heights: dict[DamageLevel, float]) -> None:
    """Take off ``sites`` the undecided sightings the threshold let in since ``place``
    was rejected that see it (see :class:`RejectedSite`)."""
    east, north = local.to_local(place.lon_deg, place.lat_deg)
    xy = np.array([float(east), float(north)])
    for k, close in sites.near(xy, _REJECTED_REACH_M).items():
        low = _let_in(close, place.min_score)
        if not low:
            continue
        here = np.array([xy[0], xy[1], heights[vote_level(low)[0]]])
        if _sees(low, here, settings):
            sites.replace(k, _without(sites.members[k], low))


__all__ = ["DecidedSite", "RejectedSite", "regroup"]
