"""Projection and fusion on an exactly known scene: a camera flying north over marked points."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.camera import CameraPose, PinholeCamera, project_points
from core.masks import RleMask
from core.types import DamageLevel, Detection, Origin, ReviewState, TelemetrySample
from geo.fusion import vote_level
from geo.local import LocalFrame
from geo.mapping import build_damage_map_from
from geo.telemetry import TimeBase, Track

ORIGIN = (-85.66, 30.16)
CAMERA = PinholeCamera(640, 360, 80.0)
FPS = 2.0


def fly(points, levels, *, frames=24, scores=None, half_size_m=0.5, keep=None, shown=None, poses=None):
    """Detections (a square mask around each point, every frame it is seen), frame times,
    the telemetry track (video clock, true-north gimbal yaw) and the local frame.

    ``keep[j]``: the frames (counted among those that show point j) where point j is
    detected, default all; ``shown``: a list filled with how many frames showed each point;
    ``poses``: the camera of each frame (default: ``frames`` frames flying north at 3 m a
    frame, 50 m up)."""
    shown = shown if shown is not None else []
    shown[:] = [0] * len(points)
    local = LocalFrame.around(*ORIGIN)
    if poses is None:
        poses = [CameraPose(0.0, -90.0 + 3.0 * k, 50.0, 0.0, -40.0) for k in range(frames)]
    frames = len(poses)
    samples = []
    for k, pose in enumerate(poses):
        lon, lat = local.to_lonlat(pose.east_m, pose.north_m)
        samples.append(TelemetrySample(
            t_s=k / FPS, lat_deg=float(lat), lon_deg=float(lon), alt_rel_m=pose.up_m,
            gimbal_pitch_deg=pose.pitch_deg, gimbal_yaw_deg=float((pose.yaw_deg - local.convergence_deg) % 360)))
    track = Track(tuple(samples), path=None, format="dji-srt", time_base=TimeBase.VIDEO)
    detections = []
    for k, pose in enumerate(poses):
        for j, (point, level) in enumerate(zip(points, levels)):
            e, n, u = point
            d = half_size_m
            corners = np.array([[e - d, n - d, u], [e + d, n - d, u], [e + d, n + d, u], [e - d, n + d, u]])
            uv, in_front = project_points(CAMERA, pose, corners)
            if not in_front.all() or (uv < 1).any() or (uv[:, 0] > 638).any() or (uv[:, 1] > 358).any():
                continue
            shown[j] += 1
            if keep is not None and keep[j] is not None and shown[j] - 1 not in keep[j]:
                continue
            mask = RleMask.from_polygon(uv, CAMERA.height_px, CAMERA.width_px)
            if mask.area_px < 4:
                continue
            x1, y1 = uv.min(axis=0)
            x2, y2 = uv.max(axis=0)
            score = 0.9 if scores is None else scores[j]
            detections.append(Detection(k, level, score, (float(x1), float(y1), float(x2), float(y2)), mask,
                                        id=1000 * j + k))
    video = {"width_px": CAMERA.width_px, "height_px": CAMERA.height_px, "duration_s": frames / FPS,
             "creation_time_utc": None}
    return detections, {k: k / FPS for k in range(frames)}, track, video, local


def site_xyz(damage_map, site):
    fused = next(f for f in damage_map.fused if f.site.id == site.id)
    return fused.position_m


def test_roof_and_ground_damage_are_located_in_3d():
    points = [(5.0, 40.0, 6.0), (-8.0, 55.0, 0.0)]
    detections, times, track, video, local = fly(points, [DamageLevel.SEVERE, DamageLevel.DEBRIS])
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    assert len(damage_map.sites) == 2
    for site in damage_map.sites:
        position = site_xyz(damage_map, site)
        e, n = local.to_local([site.lon_deg], [site.lat_deg])
        truth = min(points, key=lambda p: np.hypot(p[0] - e[0], p[1] - n[0]))
        assert np.hypot(e[0] - truth[0], n[0] - truth[1]) < 0.3
        assert position[2] == pytest.approx(truth[2], abs=0.5)
    roof = next(s for s in damage_map.sites if s.level == DamageLevel.SEVERE)
    assert roof.observation_count > 5 and roof.first_frame < roof.last_frame
    assert roof.confidence == pytest.approx(0.9) and not roof.reviewed
    assert damage_map.crs == "EPSG:32616"


def test_neighbours_seen_in_the_same_frames_stay_apart():
    points = [(0.0, 45.0, 4.0), (1.8, 45.0, 4.0)]
    detections, times, track, video, _ = fly(points, [DamageLevel.SLIGHT, DamageLevel.SLIGHT], half_size_m=0.3)
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    assert len(damage_map.sites) == 2
    for site in damage_map.sites:
        frames = [o.frame_index for f in damage_map.fused if f.site.id == site.id for o in f.observations]
        assert len(frames) == len(set(frames))


def _boxed_twice(whole, part, *, part_level=DamageLevel.SEVERE, part_score=0.9):
    """One damage detected, in every frame, as a whole (``whole``: point, half size, score
    0.9) and again as a part of it (``part``), the part at ``part_level``."""
    big, times, track, video, local = fly([whole[0]], [DamageLevel.SLIGHT], half_size_m=whole[1])
    small = fly([part[0]], [part_level], half_size_m=part[1], scores=[part_score])[0]
    return big + [replace(d, id=d.id + 500) for d in small], times, track, video, local


def test_one_damage_boxed_twice_in_each_frame_is_one_site():
    detections, times, track, video, _ = _boxed_twice(((0.0, 45.0, 4.0), 1.5), ((0.6, 45.4, 4.0), 0.4))
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    assert len(damage_map.sites) == 1
    site = damage_map.sites[0]
    assert site.observation_count == len(detections)
    frames = [o.frame_index for o in damage_map.fused[0].observations]
    assert len(set(frames)) < len(frames)  # two sightings in a frame, one site to review


def test_a_damage_boxed_twice_is_placed_from_its_best_box_in_each_frame():
    whole = (0.0, 45.0, 4.0)
    detections, times, track, video, local = _boxed_twice((whole, 1.5), ((1.0, 45.8, 4.0), 0.4), part_score=0.6)
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    [site] = damage_map.sites
    e, n = local.to_local([site.lon_deg], [site.lat_deg])
    assert np.hypot(e[0] - whole[0], n[0] - whole[1]) < 0.15  # not pulled towards the patch


def test_overlapping_boxes_far_apart_stay_two_sites():
    # a wide box whose centre lies 6 m from a small one inside its edge: two damages
    detections, times, track, video, _ = _boxed_twice(((0.0, 45.0, 4.0), 6.5), ((6.0, 45.0, 4.0), 0.4))
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    assert len(damage_map.all_fused) == 2


def test_review_decisions_override_the_model():
    points = [(0.0, 45.0, 5.0), (-10.0, 50.0, 5.0)]
    detections, times, track, video, _ = fly(points, [DamageLevel.SEVERE, DamageLevel.SLIGHT])
    first = [d for d in detections if d.id < 1000]  # point 0
    relabelled_ids = {first[2].id, first[5].id}
    edited = []
    for d in detections:
        if d.id in relabelled_ids:
            d = replace(d, level=DamageLevel.DEBRIS, origin=Origin.EDITED, review=ReviewState.ACCEPTED)
        elif d not in first:
            d = replace(d, review=ReviewState.REJECTED)
        edited.append(d)
    damage_map = build_damage_map_from(edited, times, track, video=video, hfov_deg=80.0)
    assert len(damage_map.sites) == 1  # the rejected point is gone
    site = damage_map.sites[0]
    assert site.level == DamageLevel.DEBRIS and site.reviewed and site.confidence == 1.0
    assert damage_map.skipped["rejected"] == len(detections) - len(first)


def test_low_scores_are_left_out_unless_reviewed():
    detections, times, track, video, _ = fly([(0.0, 45.0, 5.0)], [DamageLevel.SLIGHT], scores=[0.3])
    assert build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0).sites == []
    accepted = [replace(d, review=ReviewState.ACCEPTED) for d in detections]
    assert len(build_damage_map_from(accepted, times, track, video=video, hfov_deg=80.0).sites) == 1


def test_vote_ties_go_to_the_more_severe_level():
    detections, times, track, video, _ = fly([(0.0, 45.0, 5.0)], [DamageLevel.SLIGHT])
    damage_map = build_damage_map_from(detections[:4], times, track, video=video, hfov_deg=80.0)
    members = list(damage_map.all_fused[0].members)  # 4 of the frames that show it: unconfirmed
    members[0] = replace(members[0], detection=replace(members[0].detection, level=DamageLevel.SEVERE))
    members[1] = replace(members[1], detection=replace(members[1].detection, level=DamageLevel.SEVERE))
    level, confidence = vote_level(members)
    assert level == DamageLevel.SEVERE and confidence == pytest.approx(0.45)


def _votes(levels, *, reviewed=False):
    """Members of one site whose detections (score 0.9) name ``levels``."""
    detections, times, track, video, _ = fly([(0.0, 45.0, 5.0)], [DamageLevel.SLIGHT])
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    member = damage_map.all_fused[0].members[0]
    review = ReviewState.ACCEPTED if reviewed else ReviewState.PENDING
    return [replace(member, detection=replace(member.detection, level=level, review=review)) for level in levels]


@pytest.mark.parametrize("levels, expected", [
    ([DamageLevel.SLIGHT, DamageLevel.SLIGHT, DamageLevel.SEVERE], DamageLevel.SEVERE),  # a third
    ([DamageLevel.SLIGHT] * 3 + [DamageLevel.SEVERE], DamageLevel.SLIGHT),  # a quarter
    ([DamageLevel.SLIGHT, DamageLevel.SEVERE, DamageLevel.SEVERE, DamageLevel.DEBRIS, DamageLevel.DEBRIS,
      DamageLevel.SLIGHT], DamageLevel.DEBRIS),
])
def test_a_more_severe_level_wins_with_a_third_of_the_model_s_votes(levels, expected):
    assert vote_level(_votes(levels))[0] == expected


def test_reviewed_votes_follow_the_same_rule_and_a_site_accepted_whole_keeps_its_level():
    """Accepting every sighting of a site shown as Severe (4 Severe at 0.9, 10 Slight at
    0.3: Severe holds 55% of the score) kept it Severe; by a majority of the reviewed
    (the rule before) it turned Slight as the reviewer pressed Accept."""
    votes = _votes([DamageLevel.SEVERE] * 4 + [DamageLevel.SLIGHT] * 10)
    votes = [replace(m, detection=replace(m.detection, score=0.9 if m.detection.level is DamageLevel.SEVERE else 0.3))
             for m in votes]
    shown = vote_level(votes)[0]
    accepted = [replace(m, detection=replace(m.detection, review=ReviewState.ACCEPTED)) for m in votes]
    assert shown == DamageLevel.SEVERE and vote_level(accepted) == (DamageLevel.SEVERE, pytest.approx(4 / 14))
    reviewed = _votes([DamageLevel.SLIGHT, DamageLevel.SLIGHT, DamageLevel.SEVERE], reviewed=True)
    assert vote_level(reviewed) == (DamageLevel.SEVERE, pytest.approx(1 / 3))  # a third, as the model's votes


def test_position_and_camera_footprint_for_the_map_view():
    detections, times, track, video, local = fly([(0.0, 45.0, 5.0)], [DamageLevel.SLIGHT])
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    lon, lat = damage_map.position_at(2.0)
    e, n = local.to_local([lon], [lat])
    assert e[0] == pytest.approx(0.0, abs=0.01) and n[0] == pytest.approx(-78.0, abs=0.01)
    ring = damage_map.camera_footprint_at(2.0)
    assert len(ring) > 10 and ring[0] == ring[-1]
    re_, rn = local.to_local([p[0] for p in ring], [p[1] for p in ring])
    assert rn.min() > -78.0 and rn.max() > -20.0  # the view lies ahead (north) of the drone
    assert damage_map.position_at(1000.0) is None and damage_map.camera_footprint_at(-50.0) == []


def test_heatmap_peaks_at_the_most_severe_site():
    points = [(-30.0, 40.0, 0.0), (30.0, 40.0, 0.0)]
    detections, times, track, video, _ = fly(points, [DamageLevel.SLIGHT, DamageLevel.DEBRIS], half_size_m=1.0)
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    heat = damage_map.heat
    left, right = heat.density_at(np.array([-30.0, 30.0]), np.array([40.0, 40.0]))
    assert right > 2.5 * left
    bands = heat.bands()
    assert bands and all(b[2].is_valid for b in bands)
    total = sum(b[2].area for b in bands)
    from shapely.ops import unary_union

    assert unary_union([b[2] for b in bands]).area == pytest.approx(total, rel=1e-6)  # bands never overlap


def _edge_gap(detection):
    crop, x0, y0 = detection.mask.crop()
    h, w = detection.mask.height_px, detection.mask.width_px
    return min(x0, y0, w - x0 - crop.shape[1], h - y0 - crop.shape[0])


def test_the_best_view_of_a_site_is_not_one_at_the_frame_edge():
    detections, times, track, video, _ = fly([(0.0, 0.0, 0.0)], [DamageLevel.SEVERE], frames=40)
    margin = 0.03 * CAMERA.height_px
    near = [d for d in detections if 0 < _edge_gap(d) < margin]
    assert near and any(_edge_gap(d) >= margin for d in detections)
    edge = near[0]  # whole, but a few pixels from the border: likely cut off in reality
    detections = [replace(d, score=0.99 if d.id == edge.id else 0.6) for d in detections]
    (site,) = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0).sites
    best = next(d for d in detections if d.id == site.best_detection_id)
    assert best.id != edge.id and _edge_gap(best) >= margin


def test_each_observation_says_how_far_apart_the_telemetry_around_it_was():
    from geo.export.records import observation_records

    detections, times, track, video, _ = fly([(0.0, 0.0, 0.0)], [DamageLevel.SLIGHT], frames=24)
    hole = 10  # the log misses one sample: frames around it are read across 1 s, not 0.5 s
    track = replace(track, samples=tuple(s for k, s in enumerate(track.samples) if k != hole))
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    gaps = {props["frame"]: props["telemetry_gap_s"] for props, _ in observation_records(damage_map)}
    assert hole in gaps and len(gaps) > 3
    # frames on a sample read it as is; the frame in the hole is read across 1 s
    assert gaps == {frame: (2.0 / FPS if frame == hole else 0.0) for frame in gaps}


def test_a_log_covering_hardly_any_analysed_frame_says_so_not_to_look_at_the_ground():
    """A short SRT beside a long video: the refusal spoke of the drone and the ground plane,
    where the log simply does not cover the frames."""
    from core.errors import GeoreferenceError

    detections, times, track, video, _ = fly([(0.0, 45.0, 5.0)], [DamageLevel.SLIGHT])
    short = replace(track, samples=track.samples[:2])  # the first 0.5 s of the flight
    later = {index: t + 5.0 for index, t in times.items()}  # every frame 5 s or more in
    with pytest.raises(GeoreferenceError) as refused:
        build_damage_map_from(detections, later, short, video=video, hfov_deg=80.0)
    message = str(refused.value)
    assert "the telemetry covers 0.0-0.5 s of the video's clock and the 24 analysed frames lie at 5.0-16.5 s" in message
    assert "a log of another video, or one offset in time" in message and "ground" not in message


def _four_roofs_noisily():
    """Four roof damages at different heights, each frame's mask a pixel or two off and
    its score anywhere in 0.5-0.95: detections, frame times, track, video."""
    rng = np.random.default_rng(5)
    points = [(0.0, 40.0, 3.0), (12.0, 50.0, 6.0), (-12.0, 60.0, 9.0), (6.0, 70.0, 4.5)]
    detections, times, track, video, _ = fly(points, [DamageLevel.SEVERE] * 4)
    noisy = []
    for d in detections:
        dx, dy = rng.uniform(-2.0, 2.0, size=2)
        polygon = d.mask.to_polygons()[0] + np.array([dx, dy])
        noisy.append(replace(d, mask=RleMask.from_polygon(polygon, CAMERA.height_px, CAMERA.width_px),
                             score=float(rng.uniform(0.5, 0.95))))
    return noisy, times, track, video


def test_accepting_a_site_does_not_move_the_others():
    """Accepted sightings count fully in their own site, but the flight's roof height, the
    prior every other roof site is placed with, is the model's: a reviewer's accept moved
    the sites nearby by up to a metre."""
    noisy, times, track, video = _four_roofs_noisily()
    before = build_damage_map_from(noisy, times, track, video=video, hfov_deg=80.0)
    assert len(before.sites) == 4
    middle = sorted(before.fused, key=lambda f: f.position_m[2])[1]  # a site whose height the median may take
    accepted = {o.detection_id for o in middle.observations}
    reviewed = [replace(d, review=ReviewState.ACCEPTED) if d.id in accepted else d for d in noisy]
    after = build_damage_map_from(reviewed, times, track, video=video, hfov_deg=80.0)
    assert len(after.sites) == 4
    for fused in before.fused:
        if fused is not middle:
            nearest = min(after.fused, key=lambda f: float(np.linalg.norm(f.position_m - fused.position_m)))
            assert np.array_equal(nearest.position_m, fused.position_m), fused.position_m


def test_rejecting_a_site_does_not_move_the_others():
    """A rejected site is not damage, but its sightings still lie where the roofs are: the
    flight's roof height counts them as before the reject, so every other site stays put
    (a reject placed every roof site of a long flight again, millimetres away)."""
    noisy, times, track, video = _four_roofs_noisily()
    before = build_damage_map_from(noisy, times, track, video=video, hfov_deg=80.0)
    assert len(before.sites) == 4
    middle = sorted(before.fused, key=lambda f: f.position_m[2])[1]  # a height the median takes
    rejected = {o.detection_id for o in middle.observations}
    reviewed = [replace(d, review=ReviewState.REJECTED) if d.id in rejected else d for d in noisy]
    after = build_damage_map_from(reviewed, times, track, video=video, hfov_deg=80.0)
    assert len(after.sites) == 3 and after.skipped["rejected"] == len(rejected)
    others = [f for f in before.fused if f is not middle]
    assert sorted(map(tuple, (f.position_m for f in after.fused))) == sorted(map(tuple, (f.position_m for f in others)))
    # without the rejected sightings' evidence the others would have moved
    from geo.fusion import associate, site_heights

    kept = [m for f in others for m in f.members]
    assert site_heights(associate(kept, after.fusion), after.fusion) != site_heights(
        associate([m for f in before.fused for m in f.members], before.fusion), before.fusion)


def test_each_sighting_s_outline_is_exported_on_its_site_s_plane():
    """The observation footprints layer: every sighting of the map's sites, its mask's
    outline where the site lies (a roof's plane, or the ground), in lon/lat."""
    from shapely.geometry import Point, Polygon

    from geo.export.records import observation_footprint_records

    points = [(5.0, 40.0, 6.0), (-8.0, 55.0, 0.0)]
    detections, times, track, video, local = fly(points, [DamageLevel.SEVERE, DamageLevel.DEBRIS])
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    records = observation_footprint_records(damage_map)
    assert sorted(props["detection_id"] for props, _ in records) == sorted(
        o.detection_id for f in damage_map.fused for o in f.observations)
    areas = []
    for props, polygon in records:
        east, north = local.to_local(*np.asarray(polygon.exterior.coords).T)
        outline = Polygon(zip(east, north))
        level = DamageLevel[props["level"].upper()]
        truth = points[0] if level is DamageLevel.SEVERE else points[1]
        # each mask is a 1 m square around its damage (a few pixels across), so is its
        # outline on the site's plane; on the ground the roof's would lie 8 m and more beyond
        assert outline.centroid.distance(Point(truth[:2])) < 1.0, props
        areas.append(outline.area)
    assert 0.4 < min(areas) and max(areas) < 2.0 and float(np.median(areas)) == pytest.approx(1.0, rel=0.25)


def test_sites_built_on_threads_are_the_sites_built_one_after_another(monkeypatch):
    """A long flight's sites are built on a few threads (their outlines' joins run without
    the GIL); each site alone, so the map is the same as built on one thread."""
    import threading

    import geo.fusion as fusion

    points = [(-12.0 + 8.0 * k, 40.0 + 9.0 * (k % 3), 3.0 + k) for k in range(4)] + [(4.0, 75.0, 0.0)]
    levels = [DamageLevel.SEVERE, DamageLevel.SLIGHT, DamageLevel.SEVERE, DamageLevel.SLIGHT, DamageLevel.DEBRIS]
    detections, times, track, video, _ = fly(points, levels)

    def built(threshold: int):
        fusion.clear_cache()
        monkeypatch.setattr(fusion, "THREADED_SITES", threshold)
        threads = set()
        build = fusion.build_site

        def noted(*args, **kwargs):
            threads.add(threading.current_thread().name)
            return build(*args, **kwargs)

        monkeypatch.setattr(fusion, "build_site", noted)
        damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
        monkeypatch.setattr(fusion, "build_site", build)
        sites = [(f.site, tuple(m.detection.id for m in f.members), f.position_m.tobytes(), f.footprint.wkb)
                 for f in damage_map.all_fused]
        return sites, threads

    monkeypatch.setattr("geo.parallel.thread_workers", lambda: 3)
    threaded, threads = built(2)
    alone, main_only = built(10**6)
    assert len(threaded) == 5 and threaded == alone
    assert all(name.startswith("geo-parallel") for name in threads) and main_only == {threading.current_thread().name}


def test_sightings_in_unusable_frames_are_flagged_and_kept_between_builds():
    """A sighting in a frame too dark or blurred to count as a look is flagged ``no_look``
    where it is placed, so that it is the same object build after build: each site the map
    builds again of such sightings is the site kept from the build before."""
    import geo.fusion as fusion

    points = [(0.0, 40.0, 3.0), (12.0, 55.0, 0.0)]
    detections, times, track, video, _ = fly(points, [DamageLevel.SEVERE, DamageLevel.DEBRIS])
    unusable = {frame: "too dark" for frame in range(0, 24, 3)}
    fusion.clear_cache()
    first = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0, unusable_frames=unusable)
    again = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0, unusable_frames=unusable)
    members = [m for f in first.all_fused for m in f.members]
    assert {m.frame_index for m in members if m.no_look} == set(unusable) & {m.frame_index for m in members}
    assert any(m.no_look for m in members) and not all(m.no_look for m in members)
    assert len(first.all_fused) == 2
    for a, b in zip(first.all_fused, again.all_fused):
        assert all(x is y for x, y in zip(a.members, b.members)) and a.footprint is b.footprint


def test_the_merge_median_is_numpys():
    """:func:`geo.fusion.small_median` gives exactly ``float(np.median(values))`` (odd and
    even counts, numbers of every size, a NaN) without numpy's overhead."""
    import numpy as np

    from geo.fusion import small_median

    rng = np.random.default_rng(0)
    for count in range(1, 10):
        for _ in range(300):
            values = list(rng.normal(0.0, 50.0, count) * rng.choice([1e-3, 1.0, 1e3]))
            assert small_median(values) == float(np.median(values))
    assert np.isnan(small_median([1.0, float("nan"), 2.0]))


def test_a_site_s_outline_joins_its_sightings_footprints_on_its_plane():
    """A site's outline is the union of its whole sightings' footprints on its plane (a
    roof's, or the ground): those placed on that plane already are taken as they are
    (``geo.fusion._footprints_local``), the very geometry each gives projected alone."""
    from shapely.ops import unary_union

    from geo.fusion import _footprints_local
    from geo.observe import clear_cache, footprint_on_plane

    points = [(5.0, 40.0, 6.0), (-8.0, 55.0, 0.0)]
    detections, times, track, video, local = fly(points, [DamageLevel.SEVERE, DamageLevel.DEBRIS])
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    assert sorted(f.position_m[2] > 3.0 for f in damage_map.fused) == [False, True]
    for fused in damage_map.fused:
        plane = float(fused.position_m[2])
        whole = [m for m in fused.members if not m.truncated] or list(fused.members)
        kept = [m.footprint.wkb for m in whole]
        clear_cache()  # projected anew
        alone = [footprint_on_plane(CAMERA, m.pose, m.outline_px, plane) for m in whole]
        assert [g.wkb for g in alone] == kept
        assert [g.wkb for g in _footprints_local(whole, CAMERA, plane)] == kept
        assert [g.wkb for g in _footprints_local(whole, CAMERA, plane, moved={id(m) for m in whole})] == kept
        # sightings still on the ground: their footprints projected onto the site's plane
        on_ground = [replace(m, footprint=footprint_on_plane(CAMERA, m.pose, m.outline_px)) for m in whole]
        assert [g.wkb for g in _footprints_local(on_ground, CAMERA, plane)] == kept
        assert fused.footprint.wkb == unary_union(alone).wkb


@pytest.mark.parametrize("frame", [0, 5])
def test_one_frame_on_a_one_fix_log_without_yaw_is_refused_for_its_heading_not_as_another_video_s_log(frame):
    """One analysed frame at the time of the log's one fix lies within the log: it was
    refused as "a log of another video … (1 within it)". With no yaw in the fix, what is
    missing is the heading (a direction of travel needs two places)."""
    from core.errors import GeoreferenceError

    detections, times, track, video, _ = fly([(0.0, 45.0, 5.0)], [DamageLevel.SLIGHT])
    one_fix = replace(track, samples=(replace(track.samples[frame], gimbal_yaw_deg=None),))
    seen = [d for d in detections if d.frame_index == frame]
    with pytest.raises(GeoreferenceError) as refused:
        build_damage_map_from(seen, {frame: times[frame]}, one_fix, video=video, hfov_deg=80.0)
    message = str(refused.value)
    assert "another video" not in message and "ground plane" not in message
    assert f"the drone at one place only (one fix, at {times[frame]:.1f} s) and gives no heading" in message
    assert "yaw" in message  # what places it

    with_yaw = replace(track, samples=(track.samples[frame],))  # its yaw: placed
    assert len(build_damage_map_from(seen, {frame: times[frame]}, with_yaw, video=video, hfov_deg=80.0).sites) == 1


def test_one_frame_on_a_one_fix_log_on_the_ground_is_refused_for_the_ground_in_the_singular():
    from core.errors import GeoreferenceError

    detections, times, track, video, _ = fly([(0.0, 45.0, 5.0)], [DamageLevel.SLIGHT])
    landed = replace(track, samples=(replace(track.samples[0], alt_rel_m=0.3),))
    with pytest.raises(GeoreferenceError) as refused:
        build_damage_map_from([d for d in detections if d.frame_index == 0], {0: times[0]}, landed, video=video,
                              hfov_deg=80.0)
    message = str(refused.value)
    assert "another video" not in message
    assert "the analysed frame has no telemetry with the drone above the ground plane" in message
