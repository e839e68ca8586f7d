"""Where a reviewer is in the Sites list, found again once the sites are placed anew.

A new track or clock offset fuses the detections into sites again: the site ids, the
best sightings and the queue order may all change, and a site may split or lose some
sightings. A site is therefore known by its sightings (detection ids), not its number,
and the reviewer's place by the site in view and the undecided sites listed after it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ListPlace:
    """The site in view and the undecided sites shown after it, each as its sightings.

    Attributes
    ----------
    detection_ids
        The sightings of the site in view.
    best_detection_id
        Its best sighting (``None``: none known): where the site's sightings split in
        parts of equal size, the part holding it is the site.
    ahead
        The sightings of each undecided site shown after it, in list order.
    """

    detection_ids: frozenset[int]
    best_detection_id: int | None = None
    ahead: tuple[frozenset[int], ...] = ()

    def find(self, site_of: Mapping[int, int], shown: Sequence[int], undecided: Collection[int]) -> int | None:
        """The site of a list read anew that is the reviewer's place: the one holding most
        of the sightings of the site in view, else the one holding most of the first site
        after it that has any sighting in an undecided site now. ``None``: none of them.

        Parameters
        ----------
        site_of
            Detection id -> the id of the site it is a sighting of now.
        shown
            The ids of the sites the list shows, in list order.
        undecided
            The ids of the sites still to decide.
        """
        same = _most_held(self.detection_ids, site_of, shown, prefer=self.best_detection_id)
        if same is not None:
            return same
        still_to_decide = [site_id for site_id in shown if site_id in undecided]
        for sightings in self.ahead:
            following = _most_held(sightings, site_of, still_to_decide)
            if following is not None:
                return following
        return None


def _most_held(sightings: frozenset[int], site_of: Mapping[int, int], among: Sequence[int],
               prefer: int | None = None) -> int | None:
    """The site of ``among`` holding most of ``sightings``; a tie goes to the one holding
    ``prefer``, else to the first listed."""
    allowed = set(among)
    held = Counter(site for d in sightings if (site := site_of.get(d)) is not None and site in allowed)
    if not held:
        return None
    most = max(held.values())
    preferred = site_of.get(prefer) if prefer is not None else None
    if preferred is not None and held.get(preferred) == most:
        return preferred
    return next(site_id for site_id in among if held.get(site_id) == most)


__all__ = ["ListPlace"]
