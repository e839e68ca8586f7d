"""The whole geo chain on a synthetic flyover with ground-truth masks fed in as detections.

Bounds from the issue: median site location error <= 2 m, site recall and precision >=
95 %, level right for >= 95 % of sites.
"""

from __future__ import annotations

import json

import pytest

from geo.evaluation import detections_from_coco, evaluate_sites, read_truth_parts
from geo.mapping import build_damage_map_from
from geo.telemetry import read_telemetry


@pytest.fixture(scope="module")
def truth_map(flyover, flyover_map):
    damage_map, detections = flyover_map
    visible = flyover.visible_part_ids()
    parts = [p for p in read_truth_parts(flyover.paths.truth) if p.part_id in visible]
    return damage_map, parts, detections


def test_sites_match_the_ground_truth(truth_map):
    damage_map, parts, _ = truth_map
    result = evaluate_sites(damage_map.sites, parts)
    print(result.summary())
    assert len(parts) >= 15
    assert result.median_error_m <= 2.0
    assert result.recall >= 0.95
    assert result.precision >= 0.95
    assert result.level_accuracy >= 0.95


def test_every_detection_is_accounted_for(truth_map):
    damage_map, _, detections = truth_map
    used = sum(s.observation_count for s in damage_map.sites)
    assert used + sum(damage_map.skipped.values()) == len(detections)
    assert used >= 0.95 * len(detections)


def test_gpx_aligned_by_creation_time_places_the_drone_where_the_srt_does(flyover):
    srt = read_telemetry(flyover.paths.srt)
    gpx = read_telemetry(flyover.paths.gpx)
    detections, times = detections_from_coco(flyover.paths.annotations)
    ground = flyover.camera["origin"]["ground_alt_m"]
    hfov = flyover.camera["intrinsics"]["hfov_deg"]
    by_srt = build_damage_map_from(detections[:1], times, srt, video=flyover.video_info)
    by_gpx = build_damage_map_from(detections[:1], times, gpx, video=flyover.video_info, hfov_deg=hfov,
                                   ground_elevation_m=ground)
    for t in (1.0, 4.5, 7.5):
        a, b = by_srt.position_at(t), by_gpx.position_at(t)
        assert a is not None and b is not None
        e, n = by_srt.local.to_local([a[0], b[0]], [a[1], b[1]])
        assert abs(e[0] - e[1]) < 0.2 and abs(n[0] - n[1]) < 0.2
    late = dict(flyover.video_info, creation_time_utc=flyover.video_info["creation_time_utc"] + 3600)
    from core.errors import TelemetryError

    with pytest.raises(TelemetryError, match="does not overlap"):
        build_damage_map_from(detections, times, gpx, video=late)


def test_camera_json_agrees_with_the_srt_poses(flyover, truth_map):
    damage_map, _, _ = truth_map
    frames = {f["index"]: f for f in flyover.camera["frames"]}
    for index, pose in list(damage_map.poses.items())[:5]:
        truth = frames[index]["pose"]
        assert pose.up_m == pytest.approx(truth["up_m"], abs=0.01)
        assert pose.pitch_deg == pytest.approx(truth["pitch_deg"], abs=0.06)
    json.dumps(flyover.camera)  # camera.json is plain JSON
