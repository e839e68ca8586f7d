"""Where the reviewer is in the Sites list, found again in sites placed anew."""

from __future__ import annotations

from app.panels.list_place import ListPlace


def test_the_site_holding_most_of_the_sightings_is_the_same_site():
    place = ListPlace(frozenset({1, 3, 6}), best_detection_id=6)
    site_of = {1: 10, 3: 10, 6: 40}
    assert place.find(site_of, shown=[40, 10], undecided={10, 40}) == 10


def test_a_tie_goes_to_the_part_holding_the_best_sighting():
    place = ListPlace(frozenset({2, 4, 7}), best_detection_id=7)
    site_of = {4: 20, 7: 50}
    assert place.find(site_of, shown=[20, 50], undecided={20, 50}) == 50


def test_a_site_gone_whole_gives_the_next_site_still_to_decide_after_it():
    """Nothing of the site in view is in a site now (out of the new track's reach): the
    first site after it that still has a sighting in a site to decide, not the list's top."""
    place = ListPlace(frozenset({5}), best_detection_id=5,
                      ahead=(frozenset({8}), frozenset({9, 11}), frozenset({12})))
    site_of = {8: 1, 9: 2, 11: 2, 12: 3}  # 8's site is decided now
    assert place.find(site_of, shown=[3, 1, 2], undecided={2, 3}) == 2


def test_sites_hidden_now_are_not_the_place():
    place = ListPlace(frozenset({5, 6}), best_detection_id=5)
    assert place.find({5: 1, 6: 2}, shown=[2], undecided={1, 2}) == 2
    assert place.find({5: 1, 6: 1}, shown=[2], undecided={1, 2}) is None
