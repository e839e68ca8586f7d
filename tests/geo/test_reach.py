"""How far past the usual range each frame is known to have filmed, and where: wedges
towards its detections, at any score, that lie near or that no other view contradicts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import geo.reach
from geo.observe import placed_distance_m, placed_ground_xy
from core.types import Detection
from geo.reach import (FILMED_RANGE_M, NEAR_RANGE_M, REACH_FROM_M, REACH_MARGIN_M, box_reach_bounds_m,
                       detection_wedges, farthest_reach_m, lowest_ground_m)


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


def test_only_the_detections_past_the_usual_range_are_placed(flyover_map, monkeypatch):
    """The bounds spare placing most detections, and every detection placed past the
    usual range (near it, here) opens a wedge reaching past it."""
    damage_map, detections = flyover_map
    placed = []
    real = geo.reach.placed_grounds_xy
    monkeypatch.setattr(geo.reach, "placed_grounds_xy",
                        lambda ds, poses, **kwargs: placed.extend(ds) or real(ds, poses, **kwargs))
    wedges = detection_wedges(detections, damage_map.poses, damage_map.camera)
    assert 0 < len(placed) < len(detections) / 2
    farthest = _placed_farthest(detections, damage_map.poses, damage_map.camera)
    near = {index: metres for index, metres in farthest.items() if REACH_FROM_M < metres <= FILMED_RANGE_M + NEAR_RANGE_M}
    assert near and {index: metres - REACH_MARGIN_M for index, metres in farthest_reach_m(wedges).items()
                     if index in near} == pytest.approx(near)


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
    farthest = _placed_farthest(few, damage_map.poses, damage_map.camera, on_terrain)
    reach = farthest_reach_m(detection_wedges(few, damage_map.poses, damage_map.camera, terrain=on_terrain))
    assert reach and all(metres - REACH_MARGIN_M == pytest.approx(farthest[index]) for index, metres in reach.items())


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
    assert low.detection_reach == high.detection_reach and low.detection_reach
    for built in (low, high):
        for fused in built.fused:
            for m in fused.members:
                east, north = float(m.ground_xy[0] - m.pose.east_m), float(m.ground_xy[1] - m.pose.north_m)
                assert np.hypot(east, north) <= REACH_FROM_M or any(
                    wedge.holds(east, north) for wedge in built.detection_reach.get(m.frame_index, ()))
    assert sum(len(f.members) for f in high.fused) < sum(len(f.members) for f in low.fused)


def _map_from(flyover, detections, min_score: float):
    from geo.evaluation import detections_from_coco
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry

    _, times = detections_from_coco(flyover.paths.annotations)
    return build_damage_map_from(detections, times, read_telemetry(flyover.paths.srt), video=flyover.video_info,
                                 min_score=min_score)


@pytest.fixture(scope="module")
def oblique(flyover):
    """The flyover's ground-truth masks on a camera looking out near the horizon (12
    degrees down): its images reach hundreds of metres ahead. ``(map, detections, track)``."""
    from geo.evaluation import detections_from_coco
    from geo.telemetry import read_telemetry

    track = read_telemetry(flyover.paths.srt)
    track = replace(track, samples=tuple(replace(s, gimbal_pitch_deg=-12.0) for s in track.samples))
    detections, _ = detections_from_coco(flyover.paths.annotations)
    return _map_with(flyover, detections, track), detections, track


def _map_with(flyover, detections, track):
    from geo.evaluation import detections_from_coco
    from geo.mapping import build_damage_map_from

    _, times = detections_from_coco(flyover.paths.annotations)
    return build_damage_map_from(detections, times, track, video=flyover.video_info, min_score=0.0)


def _far_false_detection(damage_map) -> Detection:
    """A small box in the flight's first frame, placed past the range a lone detection
    reaches: ground the later frames fly towards, and find nothing on."""
    from core.types import DamageLevel

    first = min(damage_map.poses)
    camera, pose = damage_map.camera, damage_map.poses[first]
    x = camera.width_px * 0.25
    for y in range(camera.height_px):
        detection = Detection(first, DamageLevel.SEVERE, 0.25, (x - 4.0, float(y), x + 4.0, y + 4.0))
        distance = placed_distance_m(detection, camera=camera, pose=pose)
        if distance is not None and distance < 400:
            assert distance > FILMED_RANGE_M + NEAR_RANGE_M + REACH_MARGIN_M
            return detection
    raise AssertionError("the first frame does not reach the horizon")


def _footprints(built) -> dict:
    """Frame index -> its camera footprint, local metres."""
    from geo.coverage import camera_footprint_records, to_local_polygon

    return {props["frame"]: to_local_polygon(polygon, built.local)
            for props, polygon in camera_footprint_records(built)}


def test_a_far_false_detection_widens_no_footprint(flyover, oblique):
    """One low-score detection near the horizon, on ground the later frames looked at and
    found nothing on, leaves the area filmed as it was."""
    import shapely

    damage_map, detections, track = oblique
    false = _far_false_detection(damage_map)
    with_false = _map_with(flyover, [*detections, false], track)
    assert with_false.detection_reach == damage_map.detection_reach
    before, after = _footprints(damage_map), _footprints(with_false)
    assert after[false.frame_index].equals(before[false.frame_index])
    assert shapely.union_all(list(after.values())).area == pytest.approx(shapely.union_all(list(before.values())).area)


def test_a_far_detection_widens_its_footprint_only_towards_it(oblique):
    """A frame's footprint reaches past the usual range towards its far detections, not
    across the whole image: the ground as far, on the image's other side, is not in it."""
    from shapely.geometry import Point

    damage_map, _, _ = oblique
    wedges = damage_map.detection_reach
    index = max(wedges, key=lambda k: max(w.far_m for w in wedges[k]))
    wedge = max(wedges[index], key=lambda w: w.far_m)
    pose = damage_map.poses[index]
    footprint = _footprints(damage_map)[index]

    def at(bearing_rad: float, metres: float) -> Point:
        return Point(pose.east_m + metres * np.cos(bearing_rad), pose.north_m + metres * np.sin(bearing_rad))

    reach = wedge.far_m - 2.0
    assert reach > FILMED_RANGE_M + 5.0
    assert footprint.contains(at(wedge.bearing_rad, reach))
    aside = [wedge.bearing_rad + sign * (wedge.half_width_rad + np.radians(3.0)) for sign in (-1, 1)]
    inside = [bearing for bearing in aside if footprint.contains(at(bearing, FILMED_RANGE_M - 5.0))]
    assert inside  # the image is there, out to the usual range
    assert not any(footprint.contains(at(bearing, reach)) for bearing in inside)


def test_the_indexed_corroboration_is_the_one_box_by_box():
    """:func:`geo.reach.corroborated_points` finds the same points covered by a box of
    another view as comparing every point with every box, points on a box's edge and
    boxes of the point's own view included."""
    from geo.reach import corroborated_points

    rng = np.random.default_rng(3)
    box_min = rng.uniform(0.0, 500.0, (300, 2))
    box_max = box_min + rng.uniform(1.0, 60.0, (300, 2))
    view_of = rng.integers(0, 40, 300)
    points = np.concatenate([rng.uniform(0.0, 560.0, (400, 2)), box_min[:50], box_max[50:100],
                             np.column_stack([box_min[100:150, 0], box_max[100:150, 1]])])
    views = np.concatenate([rng.integers(0, 40, 400), view_of[:50], rng.integers(0, 40, 100)])
    box_by_box = np.array([np.any(np.all((box_min <= p) & (p <= box_max), axis=1) & (view_of != v))
                           for p, v in zip(points, views)])
    indexed = corroborated_points(points, views, view_of, box_min, box_max)
    assert 50 < box_by_box.sum() < len(points) - 50
    assert np.array_equal(indexed, box_by_box)
    assert not corroborated_points(np.zeros((0, 2)), np.zeros(0, int), view_of, box_min, box_max).any()


def test_the_wedges_kept_between_builds_are_those_worked_out_anew(flyover_map, monkeypatch):
    """The second build's wedges come from the ground points kept by the first (no mask
    read again), and each equals where :func:`geo.observe.project_detection` places its
    detection, one by one from its decoded mask."""
    import geo.observe

    damage_map, detections = flyover_map
    geo.observe.clear_cache()
    anew = {}
    for d in detections:
        if d.frame_index in damage_map.poses:
            placed = geo.observe.project_detection(d, camera=damage_map.camera, pose=damage_map.poses[d.frame_index],
                                                   local=damage_map.local, t_s=0.0)
            anew[id(d)] = None if placed is None else placed.ground_xy
    assert sum(ground is not None for ground in anew.values()) > 20
    first = detection_wedges(detections, damage_map.poses, damage_map.camera)
    decoded = []
    real = geo.observe.mask_centroids
    monkeypatch.setattr(geo.observe, "mask_centroids", lambda ds: decoded.extend(ds) or real(ds))
    second = detection_wedges(detections, damage_map.poses, damage_map.camera)
    assert first and second == first and decoded == []
    for d in detections:
        if d.frame_index in damage_map.poses:
            kept = placed_ground_xy(d, camera=damage_map.camera, pose=damage_map.poses[d.frame_index])
            assert (kept is None) == (anew[id(d)] is None) and (kept is None or np.array_equal(kept, anew[id(d)]))


def test_wedges_cast_together_are_those_cast_one_by_one(flyover_map):
    """:func:`geo.reach.wedges_towards` of many detections at once gives each the very
    wedge :func:`geo.reach.wedge_towards` gives it alone."""
    from geo.reach import wedge_towards, wedges_towards

    damage_map, detections = flyover_map
    camera = damage_map.camera
    calls = []
    for d in detections:
        pose = damage_map.poses.get(d.frame_index)
        ground = None if pose is None else placed_ground_xy(d, camera=camera, pose=pose)
        if ground is not None:
            calls.append((d.box_xyxy_px, pose, ground))
    assert len(calls) > 20
    together = wedges_towards(np.array([box for box, _, _ in calls]), [pose for _, pose, _ in calls], camera,
                              [ground for _, _, ground in calls])
    assert together == [wedge_towards(box, pose, camera, ground) for box, pose, ground in calls]
