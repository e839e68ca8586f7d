"""How far each frame is known to have filmed: its farthest detection, at any score."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import geo.reach
from geo.observe import placed_distance_m
from geo.reach import box_reach_bounds_m, farthest_detections_m, lowest_ground_m


def _placed_farthest(detections, poses, camera, terrain=None) -> dict[int, float]:
    """Every detection placed, the farthest of each frame: what the bounds spare."""
    farthest: dict[int, float] = {}
    for d in detections:
        if d.frame_index in poses:
            distance = placed_distance_m(d, camera=camera, pose=poses[d.frame_index], terrain=terrain)
            if distance is not None:
                farthest[d.frame_index] = max(farthest.get(d.frame_index, 0.0), distance)
    return farthest


def _bounds(detections, poses, camera, terrain=None) -> tuple[list, np.ndarray]:
    seen = [d for d in detections if d.frame_index in poses]
    frames = sorted({d.frame_index for d in seen})
    seen_from = np.array([frames.index(d.frame_index) for d in seen])
    bounds = box_reach_bounds_m(np.array([d.box_xyxy_px for d in seen]), seen_from, [poses[f] for f in frames],
                                camera, plane_up_m=lowest_ground_m(terrain))
    return seen, bounds


def test_a_box_bounds_where_its_detection_is_placed(flyover_map):
    damage_map, detections = flyover_map
    seen, bounds = _bounds(detections, damage_map.poses, damage_map.camera)
    placed = [placed_distance_m(d, camera=damage_map.camera, pose=damage_map.poses[d.frame_index]) for d in seen]
    pairs = [(bound, distance) for bound, distance in zip(bounds, placed) if distance is not None]
    assert len(pairs) > 20
    assert all(distance <= bound for bound, distance in pairs)
    assert np.median([bound - distance for bound, distance in pairs]) < 15  # a bound, not a wild one


def test_the_farthest_detection_of_each_frame_places_few(flyover_map, monkeypatch):
    """The bounds spare placing most detections, and find what placing them all finds."""
    damage_map, detections = flyover_map
    placed = []
    monkeypatch.setattr(geo.reach, "placed_distance_m",
                        lambda d, **kwargs: placed.append(d) or placed_distance_m(d, **kwargs))
    reach = farthest_detections_m(detections, damage_map.poses, damage_map.camera)
    assert reach == _placed_farthest(detections, damage_map.poses, damage_map.camera)
    assert len(placed) < len(detections) / 2
    beyond = float(np.median(list(reach.values())))
    far = farthest_detections_m(detections, damage_map.poses, damage_map.camera, beyond_m=beyond)
    assert far == {index: metres for index, metres in reach.items() if metres > beyond} and 0 < len(far) < len(reach)


def test_on_a_terrain_the_bound_holds_on_its_lowest_ground(flyover_map):
    """Over a valley the rays go farther than on the take-off plane: the boxes are bounded
    on the terrain's lowest point."""
    from geo.terrain import Terrain

    damage_map, detections = flyover_map
    local = damage_map.local
    east = np.array([p.east_m for p in damage_map.poses.values()])
    north = np.array([p.north_m for p in damage_map.poses.values()])
    west, south = local.to_utm(east.min() - 1000.0, north.min() - 1000.0)
    cols, rows = 100, 100
    size_m = (float(east.max() - east.min()) + 2000.0) / cols, (float(north.max() - north.min()) + 2000.0) / rows
    valley = -25.0 * np.sin(np.linspace(0.0, np.pi, cols))[None, :] * np.ones((rows, 1))  # down to 25 m below
    terrain = Terrain(None, valley[::-1].copy(), (size_m[0], 0.0, float(west), 0.0, -size_m[1],
                                                  float(south) + rows * size_m[1]), _crs_wkt(local.crs))
    on_terrain = terrain.in_frame(local, 0.0)
    assert lowest_ground_m(on_terrain) == pytest.approx(-25.0, abs=0.1)
    few = [d for d in detections if d.frame_index in damage_map.poses][::4]
    seen, bounds = _bounds(few, damage_map.poses, damage_map.camera, on_terrain)
    placed = [placed_distance_m(d, camera=damage_map.camera, pose=damage_map.poses[d.frame_index], terrain=on_terrain)
              for d in seen]
    flat = [placed_distance_m(d, camera=damage_map.camera, pose=damage_map.poses[d.frame_index]) for d in seen]
    assert any(p is not None and f is not None and p > f + 1.0 for p, f in zip(placed, flat))  # the valley reaches farther
    assert all(p <= bound for bound, p in zip(bounds, placed) if p is not None)
    assert farthest_detections_m(few, damage_map.poses, damage_map.camera, terrain=on_terrain) == _placed_farthest(
        few, damage_map.poses, damage_map.camera, on_terrain)


def _crs_wkt(crs: str) -> str:
    from pyproj import CRS

    return CRS.from_user_input(crs).to_wkt()


def test_the_reach_is_the_same_at_any_threshold(flyover, flyover_map):
    """A map records its frames' reach from every detection, so a threshold that drops
    the farthest sightings changes nothing of it; the sightings on the map lie within it."""
    _, detections = flyover_map
    scores = (0.2, 0.5, 0.8, 0.99)
    scored = [replace(d, score=scores[k % len(scores)]) for k, d in enumerate(detections)]
    low, high = (_map_from(flyover, scored, min_score) for min_score in (0.0, 0.97))
    assert low.detection_reach_m == high.detection_reach_m and low.detection_reach_m
    for built in (low, high):
        for fused in (*built.fused, *built.unconfirmed):
            for m in fused.members:
                distance = float(np.hypot(m.ground_xy[0] - m.pose.east_m, m.ground_xy[1] - m.pose.north_m))
                assert distance <= max(built.detection_reach_m.get(m.frame_index, 0.0), geo.reach.REACH_FROM_M)
    assert sum(len(f.members) for f in high.fused) < sum(len(f.members) for f in low.fused)


def _map_from(flyover, detections, min_score: float):
    from geo.evaluation import detections_from_coco
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry

    _, times = detections_from_coco(flyover.paths.annotations)
    return build_damage_map_from(detections, times, read_telemetry(flyover.paths.srt), video=flyover.video_info,
                                 min_score=min_score)
