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
the threshold let in since: those of a site it held them in, where that site's remaining
sightings look within fusion's association gate of the decided damage, join the decided site
rather than stand beside it as a second site of the same damage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from core.camera import PinholeCamera
from core.types import DamageLevel
from geo.fusion import FusedSite, FusionSettings, build_site, locate, ray_miss_m, site_heights, vote_level
from geo.local import LocalFrame
from geo.observe import Projected


@dataclass(frozen=True, slots=True)
class DecidedSite:
    """The detection ids of a site a reviewer decided as a whole (see the module
    docstring)."""

    detection_ids: frozenset[int]


def _near(decided: list[Projected], rest: list[Projected], settings: FusionSettings,
          heights: dict[DamageLevel, float]) -> bool:
    """Whether the rays of ``rest`` (undecided sightings fusion grouped with ``decided``)
    pass within fusion's association gate of the decided damage: they see the same
    place (a sighting or two alone could not be placed well enough to compare
    positions)."""
    here = locate(decided, settings, heights[vote_level(decided)[0]]).point
    misses = [ray_miss_m(m, here) for m in rest]
    reach = float(np.median([np.linalg.norm(here - m.ray_origin) for m in rest]))
    return float(np.median(misses)) <= settings.gate_m + settings.gate_per_range * reach


def regroup(
    fused: Sequence[FusedSite],
    groups: Sequence[Collection[int] | DecidedSite],
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
    lists: list[list[Projected]] = [list(f.members) for f in fused]
    kept: list[FusedSite | None] = list(fused)  # None: rebuild
    fused_heights = site_heights(lists, settings) if any(isinstance(g, DecidedSite) for g in groups) else {}
    for group in groups:
        decided = isinstance(group, DecidedSite)
        wanted = {int(i) for i in (group.detection_ids if isinstance(group, DecidedSite) else group)}
        taken: list[Projected] = []
        sources: list[int] = []
        for k, members in enumerate(lists):
            moving = [m for m in members if m.detection.id in wanted]
            if moving:
                taken.extend(moving)
                lists[k] = [m for m in members if m.detection.id not in wanted]
                kept[k] = None
                sources.append(k)
        if taken and decided:
            for k in sources:
                rest = lists[k]
                if rest and not any(m.reviewed for m in rest) and _near(taken, rest, settings, fused_heights):
                    taken.extend(rest)
                    lists[k] = []
        if taken:
            lists.append(sorted(taken, key=lambda m: (m.observation.t_s, m.frame_index)))
            kept.append(None)
    pairs = [(members, site) for members, site in zip(lists, kept) if members]
    heights = site_heights([members for members, _ in pairs], settings)
    pairs.sort(key=lambda p: (p[0][0].observation.t_s, p[0][0].frame_index, -p[0][0].weight))
    out = []
    for number, (members, site) in enumerate(pairs, start=1):
        if site is None:
            out.append(build_site(number, members, camera=camera, local=local, settings=settings, heights=heights))
        else:
            out.append(dataclasses.replace(site, site=dataclasses.replace(site.site, id=number)))
    return out


__all__ = ["DecidedSite", "regroup"]
