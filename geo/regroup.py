"""A reviewer's splits and merges of damage sites, applied after fusion.

Fusion (``geo.fusion``) may join two neighbouring houses into one site, or keep one
house as two. A reviewer fixes that by naming the detections that form a site of their
own (``core.review.RegroupSite``; a split names the chosen sightings, a merge the
sightings of both sites). :func:`regroup` applies such groups in the order they were
made: each takes its detections out of whatever sites hold them and makes one site of
them; sites left empty go, sites that changed are rebuilt (position, level vote,
footprint, best frame) by fusion's own :func:`geo.fusion.build_site`, the others are
kept. Site ids are renumbered from 1 in order of first sighting, as fusion numbers them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from core.camera import PinholeCamera
from geo.fusion import FusedSite, FusionSettings, build_site, site_heights
from geo.local import LocalFrame
from geo.observe import Projected


def regroup(
    fused: Sequence[FusedSite],
    groups: Sequence[Collection[int]],
    *,
    camera: PinholeCamera,
    local: LocalFrame,
    settings: FusionSettings | None = None,
) -> list[FusedSite]:
    """Sites with each group of detection ids made a site of its own (see the module
    docstring). Ids of detections the map does not hold (rejected, below the score) are
    ignored; a group none of whose detections is on the map changes nothing."""
    if not groups:
        return list(fused)
    settings = settings or FusionSettings()
    lists: list[list[Projected]] = [list(f.members) for f in fused]
    kept: list[FusedSite | None] = list(fused)  # None: rebuild
    for ids in groups:
        wanted = {int(i) for i in ids}
        taken: list[Projected] = []
        for k, members in enumerate(lists):
            moving = [m for m in members if m.detection.id in wanted]
            if moving:
                taken.extend(moving)
                lists[k] = [m for m in members if m.detection.id not in wanted]
                kept[k] = None
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


__all__ = ["regroup"]
