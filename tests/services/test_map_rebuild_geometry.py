"""The map built again after a review edit reuses the geometry of the last build (mask
outlines, footprints on the ground, camera rotations) and comes out as a map built from
nothing would."""

from __future__ import annotations

import numpy as np
import pytest

from core.review import ReviewSession, SetMask
from core.sites import site_decision
from core.store import ProjectStore
from core.types import DamageLevel, ReviewState
from core.masks import RleMask
from geo import observe
from services import maps


@pytest.fixture
def store(sites_truth_store):
    return sites_truth_store


def _sites(built) -> list[tuple]:
    return [(f.site.id, f.site.level, f.site.observation_count, round(f.site.lon_deg, 9), round(f.site.lat_deg, 9),
             round(f.footprint.area, 6), tuple(sorted(m.detection.id for m in f.members)))
            for f in (*built.fused, *built.unconfirmed)]


def _cold(store: ProjectStore) -> list[tuple]:
    maps.clear_cache()
    return _sites(maps.damage_map(store))


def test_a_map_built_after_decisions_and_a_redrawn_mask_equals_one_built_from_nothing(store, monkeypatch):
    maps.clear_cache()
    first = maps.damage_map(store)
    session = ReviewSession(store, store.runs()[-1].id)
    sites = sorted(first.fused, key=lambda f: -len(f.members))
    session.apply(site_decision(_summary(store, sites[0].site.id), DamageLevel.SEVERE))
    session.apply(site_decision(_summary(store, sites[1].site.id), ReviewState.REJECTED))
    placed = []
    place = observe.project_detections
    monkeypatch.setattr(observe, "project_detections",
                        lambda *a, **k: placed.extend(d.id for d in a[0]) or place(*a, **k))
    warm = _sites(maps.damage_map(store))
    assert placed == []  # the decisions' build reused every detection placed on the ground
    assert warm == _cold(store)
    assert len(placed) > 0

    # a redrawn mask is a new shape: it is placed anew, not taken from what was kept
    detection = store.detection(sites[0].members[0].detection.id)
    assert detection.mask is not None
    grown = np.zeros((detection.mask.height_px, detection.mask.width_px), dtype=bool)
    x1, y1, x2, y2 = (int(v) for v in detection.box_xyxy_px)
    grown[max(0, y1 - 6):y2 + 6, max(0, x1 - 6):x2 + 6] = True
    before = {f.site.id: f.footprint.area for f in maps.damage_map(store).fused}
    session.apply(SetMask(detection.id, RleMask.from_array(grown)))
    warm = _sites(maps.damage_map(store))
    assert warm == _cold(store)
    assert {site[0]: site[5] for site in warm} != before


def test_kept_outlines_cannot_be_changed_by_a_caller(store):
    maps.clear_cache()
    built = maps.damage_map(store)
    member = built.fused[0].members[0]
    with pytest.raises(ValueError):
        member.outline_px[0][0, 0] = -1.0
    from core.camera import CameraPose

    with pytest.raises(ValueError):
        CameraPose(0.0, 0.0, 50.0, 10.0, -60.0).rotation_world_from_camera()[0, 0] = 2.0


def _summary(store: ProjectStore, site_id: int):
    from services.sites import site_review

    return site_review(store).site(site_id)
