"""A reviewer's groups applied one after another (``geo.regroup``): each group finds the
sites holding its detections as the groups before it left them, and a rejected place
looks at the sightings near it only (a reviewed long flight has hundreds of each)."""

from __future__ import annotations

import numpy as np
import pytest

import geo.regroup
from geo.regroup import RejectedSite, regroup


@pytest.fixture
def built(flyover_map):
    damage_map, _ = flyover_map
    return damage_map


def _ids(site) -> frozenset[int]:
    return frozenset(m.detection.id for m in site.members)


def _apply(built, groups):
    return regroup(built.all_fused, groups, camera=built.camera, local=built.local,
                   settings=built.fusion)


def test_each_group_finds_the_sightings_where_the_groups_before_it_put_them(built):
    sites = built.all_fused
    big, other = sorted(sites, key=lambda f: len(f.members))[-2:][::-1]
    members = sorted(big.members, key=lambda m: m.observation.t_s)
    first = frozenset(m.detection.id for m in members[: len(members) // 2])
    second = _ids(big) - first
    assert first and second
    one = frozenset(sorted(first)[:1])
    groups = [
        first,  # split: the first half stands alone
        first | _ids(other),  # merged with another site: taken from the new site, not from big
        second,  # the rest of big, as it stands since the split
        one,  # split again: one sighting out of the merged site
    ]
    again = {_ids(f) for f in _apply(built, groups)}
    untouched = {_ids(f) for f in sites if f is not big and f is not other}
    assert again == untouched | {(first | _ids(other)) - one, second, one}


def test_a_rejected_place_looks_at_the_sightings_near_it_only(built, monkeypatch):
    sites = built.all_fused
    looked_at: list = []
    let_in = geo.regroup._let_in

    def counted(members, floor):
        looked_at.extend(members)
        return let_in(members, floor)

    monkeypatch.setattr(geo.regroup, "_let_in", counted)
    place = max(sites, key=lambda f: len(f.members))
    lon, lat = built.local.to_lonlat(place.position_m[0], place.position_m[1])
    xy = np.asarray(place.position_m[:2], dtype=float)

    def far(m) -> bool:
        return float(np.hypot(*(np.asarray(m.ground_xy)[:2] - xy))) > geo.regroup._REJECTED_REACH_M

    assert any(far(m) for f in sites for m in f.members)  # the flyover reaches farther than that
    # every undecided sighting there scores below the threshold the place was rejected at
    again = _apply(built, [RejectedSite(float(lon), float(lat), min_score=1.01)])
    assert looked_at and not any(far(m) for m in looked_at)
    gone = {m.detection.id for f in sites for m in f.members} - {m.detection.id for f in again for m in f.members}
    assert gone and not any(far(m) for f in sites for m in f.members if m.detection.id in gone)


def test_a_rejected_place_with_nothing_on_the_map_near_it_changes_nothing(built):
    sites = built.all_fused
    far_east = max(float(m.ground_xy[0]) for f in sites for m in f.members) + 1000.0
    lon, lat = built.local.to_lonlat(far_east, 0.0)
    again = _apply(built, [RejectedSite(float(lon), float(lat), min_score=1.01)])
    assert [_ids(f) for f in again] == [_ids(f) for f in sites]
    assert all(np.array_equal(a.position_m, b.position_m) for a, b in zip(again, sites))
