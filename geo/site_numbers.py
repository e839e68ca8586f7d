"""Site numbers that stay: a damage site keeps its number when the map is rebuilt.

Fusion (``geo.fusion``) numbers sites from 1 in order of first sighting, afresh on every
build. A reviewer sees the map rebuilt often: the score threshold moves, a decision
takes sightings off the map, a split makes a new site. Numbered afresh, one rejection
early in the flight would move the number of every site after it, and "site 14" in a
note or a radio call would name another place by the afternoon.

:func:`number_sites` gives each site of a new build the number of the earlier site it
shares the most sightings with (``previous``: detection id -> the number of the site
that last held it), each number to one site; a site split in two keeps its number on the
larger part, two merged sites keep the number of the larger one. Sites with no sighting
in common with an earlier one (the first build, damage a lower threshold brings in) get
new numbers after every number given so far, in order of first sighting. A number is
never given to two places. :func:`kept_numbers` does the same for any grouping (a
survey's sites, keyed by the flights' sites they join).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import TypeVar

from geo.fusion import FusedSite

K = TypeVar("K", bound=Hashable)


def kept_numbers(groups: Sequence[Collection[K]], previous: Mapping[K, int]) -> list[int]:
    """Each group's number, as the module docstring says: ``groups`` of keys (a site's
    detection ids; a survey site's flight sites) in order of first sighting, ``previous``
    each key's number in the last build."""
    claims = []
    for k, keys in enumerate(groups):
        votes = Counter(previous[key] for key in keys if key in previous)
        claims.extend((-count, number, k) for number, count in votes.items())
    claims.sort()  # the most keys in common first, then the older number, then the earlier group
    given: dict[int, int] = {}
    taken: set[int] = set()
    for _, number, k in claims:
        if k not in given and number not in taken:
            given[k] = number
            taken.add(number)
    next_number = max([*previous.values(), 0]) + 1
    for k in range(len(groups)):
        if k not in given:
            given[k] = next_number
            next_number += 1
    return [given[k] for k in range(len(groups))]


def number_sites(fused: Sequence[FusedSite], previous: Mapping[int, int]) -> tuple[list[FusedSite], dict[int, int]]:
    """The sites renumbered by :func:`kept_numbers` of their detection ids, by number,
    and the numbers to remember: each of their detections' ids -> its site's number.

    ``fused`` in order of first sighting (fusion's own numbering), confirmed or not."""
    numbers = kept_numbers([[m.detection.id for m in f.members if m.detection.id is not None] for f in fused],
                           previous)
    numbered = sorted(
        (site if site.site.id == n else dataclasses.replace(site, site=dataclasses.replace(site.site, id=n))
         for site, n in zip(fused, numbers)),
        key=lambda f: f.site.id)
    remembered = {int(m.detection.id): f.site.id for f in numbered for m in f.members if m.detection.id is not None}
    return numbered, remembered


__all__ = ["kept_numbers", "number_sites"]
