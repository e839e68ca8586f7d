"""Site numbers that stay: a damage site keeps its number when the map is rebuilt.

Fusion (``geo.fusion``) numbers sites from 1 in order of first sighting, afresh on every
build. A reviewer sees the map rebuilt often: the score threshold moves, a decision
takes sightings off the map, a split makes a new site. Numbered afresh, one rejection
early in the flight would move the number of every site after it, and "site 14" in a
note or a radio call would name another place by the afternoon.

:func:`number_sites` gives each site of a new build the number most of its sightings
(those a reviewer decided first) were placed under before (``previous``: detection id ->
the numbers of the sites it was placed in), each number to one site; a site split in two
keeps its number on the larger part, two merged sites keep the number of the larger one.
A site none of whose numbers is free (the smaller part of a split) or whose sightings had
none (the first build, damage a lower threshold brings in) gets a new number after every
number ever given, in order of first sighting, and its sightings remember it besides the
numbers they had.

A sighting remembers the first number it was placed under and each new number given to
a site it was in, not every number it passed through: at a low threshold fusion may join
two neighbouring sites, the larger one's number naming both for now; the smaller one's
sightings keep theirs, and it comes back under it when the threshold goes back up. A
number is never given to two places. :func:`kept_numbers` does the same for any grouping
(a survey's sites, keyed by the flights' sites they join).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import TypeVar

from geo.fusion import FusedSite

K = TypeVar("K", bound=Hashable)


def kept_numbers(groups: Sequence[Collection[K]], previous: Mapping[K, Collection[int]], *,
                 distance: Callable[[int, int], float] | None = None,
                 firm: Collection[K] = ()) -> tuple[list[int], dict[K, int]]:
    """Each group's number, as the module docstring says, and what to remember: key -> a
    number to add to its numbers. ``groups`` of keys (a site's detection ids; a survey
    site's flight sites) in order of first sighting, ``previous`` each key's numbers;
    ``distance(k, number)``: how far group ``k`` lies from where ``number`` was given
    (metres), which settles a tie between groups holding as many of its keys (a survey
    site holds a few flight sites: ties are common); ``firm``: keys a reviewer decided,
    whose votes count before any other (a site's accepted sightings keep its number
    though a low threshold let in more sightings that once held it)."""
    firm = set(firm)
    votes = [Counter(number for key in keys for number in previous.get(key, ())) for keys in groups]
    firm_votes = [Counter(number for key in keys if key in firm for number in previous.get(key, ()))
                  for keys in groups]
    held: Counter[int] = Counter()  # each number's keys among all the groups
    for counts in votes:
        held.update(counts)
    # the most decided keys in common first, then the most keys; among as many, the group
    # nearer where the number was given, then the number held most by this group alone (a
    # split part's own number before that of the site it was cut from), then the older
    # number (two sites merged as they were: the first number), then the earlier group
    claims = sorted((-firm_votes[k][number], -count, 0.0 if distance is None else distance(k, number),
                     -count / held[number], number, k)
                    for k, counts in enumerate(votes) for number, count in counts.items())
    given: dict[int, int] = {}
    taken: set[int] = set()
    for *_, number, k in claims:
        if k not in given and number not in taken:
            given[k] = number
            taken.add(number)
    next_number = max((n for numbers in previous.values() for n in numbers), default=0) + 1
    remember: dict[K, int] = {}
    for k, keys in enumerate(groups):
        if k not in given:  # a new number: every key of the group remembers it
            given[k] = next_number
            next_number += 1
            remember.update((key, given[k]) for key in keys)
        else:  # keys placed for the first time remember theirs
            remember.update((key, given[k]) for key in keys if not previous.get(key))
    return [given[k] for k in range(len(groups))], remember


def number_sites(fused: Sequence[FusedSite],
                 previous: Mapping[int, Collection[int]]) -> tuple[list[FusedSite], dict[int, int]]:
    """The sites renumbered by :func:`kept_numbers` of their detection ids, by number,
    and what to remember: detection id -> a number to add to its numbers.

    ``fused`` in order of first sighting (fusion's own numbering), confirmed or not."""
    numbers, remember = kept_numbers(
        [[int(m.detection.id) for m in f.members if m.detection.id is not None] for f in fused], previous,
        firm={int(m.detection.id) for f in fused for m in f.members if m.reviewed and m.detection.id is not None})
    numbered = sorted(
        (site if site.site.id == n else dataclasses.replace(site, site=dataclasses.replace(site.site, id=n))
         for site, n in zip(fused, numbers)),
        key=lambda f: f.site.id)
    return numbered, remember


__all__ = ["kept_numbers", "number_sites"]
