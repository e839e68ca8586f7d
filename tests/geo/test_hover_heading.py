"""A track that records no heading (a GPX, many DJI SRTs) gives the camera's heading from
the direction of travel. While the drone hovers there is none: the pilot may turn it to
look anywhere. Such frames keep the heading of the travel before and after (geo.sync),
and are marked (geo.camera.frame_poses), so the map says so and the review and exports
flag the sites that rest on them alone."""

from __future__ import annotations

import numpy as np
import pytest

from core.masks import RleMask
from core.types import DamageLevel, Detection
from geo.camera import frame_poses
from geo.mapping import build_damage_map_from
from geo.sync import align_track
from geo.telemetry import TimeBase
from tests.geo.test_geo_sync import make_track

VIDEO = {"width_px": 640, "height_px": 360, "duration_s": 30.0, "creation_time_utc": None}


def north_hover_east(*, yaw: bool = False):
    """1 Hz: 10 s north at 5 m/s, 10 s hovering (a few decimetres of GPS jitter), 10 s east."""
    rng = np.random.default_rng(5)
    north = np.concatenate([np.arange(10) * 5.0, np.full(10, 50.0) + rng.uniform(-0.3, 0.3, 10), np.full(11, 50.0)])
    east = np.concatenate([np.zeros(10), rng.uniform(-0.3, 0.3, 10), np.arange(11) * 5.0])
    lats, lons = 30.0 + north / 111_000.0, -85.0 + east / (111_000.0 * np.cos(np.radians(30.0)))
    headings = np.concatenate([np.zeros(10), np.full(10, 200.0), np.full(11, 90.0)])  # the pilot turned it
    return make_track(np.arange(31.0), lats, lons, base=TimeBase.VIDEO, yaw=headings if yaw else None)


def off_by(yaw_deg: float, expected_deg: float) -> float:
    return abs((yaw_deg - expected_deg + 180.0) % 360.0 - 180.0)


@pytest.fixture
def times():
    return {k: k / 2.0 for k in range(60)}  # analyze --fps 2


def test_frames_filmed_hovering_are_marked_and_keep_the_heading_of_the_travel(times):
    track = north_hover_east()
    poses = frame_poses(align_track(track, duration_s=30.0), times)
    assert poses.heading_source == "track bearing"
    hovering = {times[i] for i in poses.hovering}
    assert hovering and min(hovering) >= 9.5 and max(hovering) <= 19.5
    assert {12.0, 15.0, 17.0} <= hovering  # well inside the hover
    placed = poses.poses
    assert poses.hovering <= set(placed) and not poses.hovering & set(poses.missing)
    assert off_by(placed[10].yaw_deg, 0.0) < 2.0 and off_by(placed[50].yaw_deg, 90.0) < 2.0  # 5 s north, 25 s east
    # the hover's heading is assumed: between the travel before (north) and after (east)
    assert all(off_by(placed[i].yaw_deg, 0.0) <= 92.0 and off_by(placed[i].yaw_deg, 90.0) <= 92.0
               for i in poses.hovering)


def test_a_track_with_its_heading_places_the_hover_as_turned(times):
    track = north_hover_east(yaw=True)
    poses = frame_poses(align_track(track, duration_s=30.0), times)
    assert poses.heading_source == "telemetry" and not poses.hovering
    assert set(poses.poses) == set(times)
    assert off_by(poses.poses[30].yaw_deg, 200.0) < 2.0  # 15 s: turned to 200 degrees while hovering


def test_the_map_says_so_and_flags_the_sites_seen_only_hovering(times):
    from geo.export.records import site_records
    from services.sites import site_summaries

    track = north_hover_east()
    outline = np.array([[300.0, 250.0], [340.0, 250.0], [340.0, 290.0], [300.0, 290.0]])
    mask = RleMask.from_polygon(outline, 360, 640)
    hovering = frame_poses(align_track(track, duration_s=30.0), times).hovering
    # the same pixels detected in the first 8 frames, flying north, and in every hovering frame
    detections = [Detection(k, DamageLevel.SLIGHT, 0.9, (300.0, 250.0, 340.0, 290.0), mask, id=k)
                  for k in sorted({*range(8), *hovering})]
    damage_map = build_damage_map_from(detections, times, track, video=VIDEO, hfov_deg=80.0)
    assert damage_map.frame_poses.hovering == hovering
    (note,) = [n for n in damage_map.notes if "the drone hovered, and the telemetry gives no heading" in n]
    assert note.startswith(f"{len(hovering)} analysed frames were filmed while the drone hovered")
    assumed = [f for f in damage_map.all_fused if damage_map.heading_assumed(f)]
    assert assumed and all({m.frame_index for m in f.members} <= hovering for f in assumed)
    assert any(not damage_map.heading_assumed(f) for f in damage_map.all_fused)
    summaries = {s.site_id: s for s in site_summaries(damage_map)}
    assert {i for i, s in summaries.items() if s.heading_assumed} == {f.site.id for f in assumed}
    from core.sites import review_reasons

    assert any(r.startswith("placed by an assumed heading") for r in review_reasons(summaries[assumed[0].site.id], 0.5))
    flags = {props["id"]: props["heading_assumed"] for props, _ in site_records(damage_map.with_unconfirmed())}
    assert {i for i, flag in flags.items() if flag} == {f.site.id for f in assumed}


def test_a_track_with_its_heading_says_nothing_of_hovering(times):
    damage_map = build_damage_map_from([], times, north_hover_east(yaw=True), video=VIDEO, hfov_deg=80.0)
    assert not damage_map.frame_poses.hovering
    assert not any("gives no heading" in n for n in damage_map.notes)
