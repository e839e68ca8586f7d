"""Detections placed on the ground are kept between map builds (``geo.observe.place_detection``):
a review decision changes a detection's review, level and score, not where it lies, and
the map built again after decisions is the map built from nothing."""

from __future__ import annotations

from dataclasses import replace

from core.review import ReviewSession
from core.sites import site_decision
from core.store import ProjectStore
from core.types import DamageLevel, ReviewState
from services import maps
from services.sites import site_review
from tests.truth_runs import write_run


def test_a_map_built_again_after_decisions_is_the_map_built_from_nothing(sites_truth, tmp_path, monkeypatch):
    import geo.observe

    # model-like scores, so that an accept changes a sighting's weight and a relabel its vote
    detections = [replace(d, score=0.4 + 0.55 * ((k * 37) % 100) / 100) for k, d in enumerate(sites_truth.detections)]
    path = tmp_path / "flight.dmproj"
    with ProjectStore.create(path, video_path=sites_truth.video, telemetry_path=sites_truth.srt) as store:
        write_run(store, detections, sites_truth.times)
    maps.clear_cache()
    with ProjectStore.open(path) as store:
        review = site_review(store)
        sites = [item.site for item in review.queue]
        assert len(sites) >= 3
        session = ReviewSession(store, review.run_id)
        for site, decision in zip(sites, (ReviewState.ACCEPTED, DamageLevel.SEVERE, ReviewState.REJECTED)):
            session.apply(site_decision(site, decision))

        placed = []
        real = geo.observe.project_detections
        monkeypatch.setattr(geo.observe, "project_detections", lambda *a, **k: placed.extend(a[0]) or real(*a, **k))
        kept = maps.damage_map(store)
        assert placed == []  # every detection was placed before: none placed again

        maps.clear_cache()
        fresh = maps.damage_map(store)
        assert len(placed) > 0
    assert [f.site for f in kept.fused] == [f.site for f in fresh.fused]
    assert kept.observations == fresh.observations
    assert [f.position_m.tolist() for f in kept.fused] == [f.position_m.tolist() for f in fresh.fused]
    assert any(o.review is ReviewState.ACCEPTED for o in kept.observations)  # the decisions are in it
    assert any(f.site.level is DamageLevel.SEVERE and f.site.reviewed for f in kept.fused)


def test_detections_placed_together_are_those_placed_one_by_one(flyover_map):
    """:func:`geo.observe.project_detections` of a flight's detections at once (their rays
    cast together, their sightings converted together) places each where
    :func:`geo.observe.project_detection` places it alone, to the bit."""
    import numpy as np

    import geo.observe

    damage_map, detections = flyover_map
    seen = [d for d in detections if d.frame_index in damage_map.poses]
    poses = [damage_map.poses[d.frame_index] for d in seen]
    times = [0.5 * d.frame_index for d in seen]

    def placed(p: geo.observe.Projected | None) -> tuple | None:
        return None if p is None else (p.observation, p.pose, p.ray_direction.tobytes(), p.ground_xy.tobytes(),
                                       p.footprint.wkb, p.area_px, p.truncated, p.near_edge)

    geo.observe.clear_cache()
    together = geo.observe.project_detections(seen, camera=damage_map.camera, poses=poses, local=damage_map.local,
                                              times_s=times)
    geo.observe.clear_cache()
    alone = [geo.observe.project_detection(d, camera=damage_map.camera, pose=pose, local=damage_map.local, t_s=t)
             for d, pose, t in zip(seen, poses, times)]
    assert sum(p is not None for p in together) > 20
    assert [placed(p) for p in together] == [placed(p) for p in alone]
    assert np.isfinite([p.ground_xy for p in together if p is not None]).all()
