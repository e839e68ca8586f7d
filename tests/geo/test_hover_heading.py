"""A track that records no heading (a GPX, many DJI SRTs) gives the camera's heading from
the direction of travel. While the drone hovers there is none: the pilot may turn it to
look anywhere. Such frames are not placed (geo.sync, geo.camera.frame_poses), and the
map says so, rather than drawing sites where the camera did not look."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import GeoreferenceError
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


def test_frames_filmed_hovering_have_no_heading_and_are_not_placed(times):
    poses = frame_poses(align_track(north_hover_east(), duration_s=30.0), times)
    assert poses.heading_source == "track bearing"
    hovering = {times[i] for i in poses.hovering}
    assert hovering and min(hovering) >= 9.5 and max(hovering) <= 20.0
    assert {12.0, 15.0, 17.0} <= hovering  # well inside the hover
    assert {10.5, 19.5} <= hovering  # and its first and last second, where the pilot may already have turned
    assert not poses.hovering & set(poses.poses) and not poses.hovering & set(poses.missing)
    placed = poses.poses
    assert off_by(placed[10].yaw_deg, 0.0) < 2.0 and off_by(placed[50].yaw_deg, 90.0) < 2.0  # 5 s north, 25 s east


def test_a_track_with_its_heading_places_the_hover_as_turned(times):
    poses = frame_poses(align_track(north_hover_east(yaw=True), duration_s=30.0), times)
    assert poses.heading_source == "telemetry" and not poses.hovering
    assert set(poses.poses) == set(times)
    assert off_by(poses.poses[30].yaw_deg, 200.0) < 2.0  # 15 s: turned to 200 degrees while hovering


def test_the_map_leaves_the_hover_out_and_says_why(times):
    track = north_hover_east()
    outline = np.array([[300.0, 250.0], [340.0, 250.0], [340.0, 290.0], [300.0, 290.0]])
    mask = RleMask.from_polygon(outline, 360, 640)
    detections = [Detection(k, DamageLevel.SLIGHT, 0.9, (300.0, 250.0, 340.0, 290.0), mask, id=k) for k in range(60)]
    damage_map = build_damage_map_from(detections, times, track, video=VIDEO, hfov_deg=80.0)
    hovering = damage_map.frame_poses.hovering
    placed = {m.frame_index for f in damage_map.all_fused for m in f.members}
    assert placed and not placed & hovering
    assert damage_map.skipped["no_telemetry"] == len(hovering)
    (note,) = [n for n in damage_map.notes if "the drone hovered, and the telemetry gives no heading" in n]
    assert note.startswith(f"{len(hovering)} analysed frames were filmed while the drone hovered")
    assert "flight log as a CSV" in note
    assert not hovering & set(damage_map.looking_poses)  # no look at any building either
    assert not any(n.startswith("the drone hovered at") for n in damage_map.notes)  # said once
    # the app still shows where the drone is while it hovers, though not what it looked at
    assert damage_map.position_at(15.0) is not None and damage_map.camera_footprint_at(15.0) == []
    assert damage_map.position_at(5.0) is not None and damage_map.camera_footprint_at(5.0)

    still = {k: 12.0 + k / 2.0 for k in range(10)}  # only the hover analysed: nothing to place, and why
    with pytest.raises(GeoreferenceError, match="the drone hovered in every one of the 10 analysed frames"):
        build_damage_map_from([d for d in detections if d.frame_index < 10], still, track, video=VIDEO, hfov_deg=80.0)


def test_on_a_log_taken_to_start_with_the_video_the_hover_error_names_the_lining_up_too(times):
    """A log started a minute before the video: the frames fell on the hover before the
    take-off, and the error blamed the hover alone."""
    import dataclasses

    from geo.telemetry.track import TimeBase

    track = dataclasses.replace(north_hover_east(), time_base=TimeBase.LOG)
    outline = np.array([[300.0, 250.0], [340.0, 250.0], [340.0, 290.0], [300.0, 290.0]])
    mask = RleMask.from_polygon(outline, 360, 640)
    detections = [Detection(k, DamageLevel.SLIGHT, 0.9, (300.0, 250.0, 340.0, 290.0), mask, id=k) for k in range(10)]
    still = {k: 12.0 + k / 2.0 for k in range(10)}
    with pytest.raises(GeoreferenceError) as refused:
        build_damage_map_from(detections, still, track, video=VIDEO, hfov_deg=80.0)
    message = str(refused.value)
    assert "the drone hovered in every one of the 10 analysed frames" in message
    assert "the video is lined up with the wrong stretch of the log" in message and "--offset" in message
    with pytest.raises(GeoreferenceError) as on_video_clock:  # a per-frame log: nothing to line up
        build_damage_map_from(detections, still, north_hover_east(), video=VIDEO, hfov_deg=80.0)
    assert "wrong stretch" not in str(on_video_clock.value)


def test_a_track_with_its_heading_says_nothing_of_hovering(times):
    damage_map = build_damage_map_from([], times, north_hover_east(yaw=True), video=VIDEO, hfov_deg=80.0)
    assert not damage_map.frame_poses.hovering
    assert not any("gives no heading" in n for n in damage_map.notes)


def test_the_telemetry_summary_says_how_long_the_drone_is_still_without_a_heading():
    from geo.telemetry.summary import summarise

    (note,) = [n for n in summarise(north_hover_east())["notes"] if n.startswith("no heading")]
    still_s = float(note.split("it is still for ")[1].split(" ")[0])
    assert 8.0 <= still_s <= 12.0 and "of the log's 30 s" in note and "flight log as a CSV" in note
    assert not [n for n in summarise(north_hover_east(yaw=True))["notes"] if n.startswith("no heading")]


def test_a_damage_seen_before_and_after_an_unplaced_hover_stays_one_site(monkeypatch):
    """Flying north, a 10 s hover, north again, a GPX: a roof ahead is seen on both sides
    of the hover, whose frames are not placed, and after it the GPS has drifted some 4 m
    (more than sites seen apart are merged across, less than a sighting may move). The
    10 s without a placed frame is no gap in the sightings (geo.fusion.associate's
    ``blind``): one site, not two."""
    import geo.mapping
    from core.camera import CameraPose, PinholeCamera, project_points

    camera = PinholeCamera(640, 360, 80.0)
    north_at = np.concatenate([np.arange(10) * 5.0, np.full(10, 50.0), 50.0 + np.arange(11) * 5.0])  # 1 Hz
    lats = 30.0 + north_at / 111_000.0
    track = make_track(np.arange(31.0), lats, np.full(31, -85.0), base=TimeBase.VIDEO)
    times = {k: k / 2.0 for k in range(60)}
    roof = np.array([[-1.0, 99.0, 5.0], [1.0, 99.0, 5.0], [1.0, 101.0, 5.0], [-1.0, 101.0, 5.0]])
    detections = []
    for k, t in times.items():
        pose = CameraPose(0.0, float(np.interp(t, np.arange(31.0), north_at)), 50.0, 0.0, -45.0)
        uv, front = project_points(camera, pose, roof)
        uv = uv + np.array([22.0, 0.0]) * (t > 15.0)  # drifted about 4 m east after the hover
        if front.all() and (uv >= 1).all() and (uv[:, 0] < 638).all() and (uv[:, 1] < 358).all():
            (x1, y1), (x2, y2) = uv.min(axis=0), uv.max(axis=0)
            detections.append(Detection(k, DamageLevel.SEVERE, 0.9, (float(x1), float(y1), float(x2), float(y2)),
                                        RleMask.from_polygon(uv, 360, 640), id=k))
    damage_map = build_damage_map_from(detections, times, track, video=VIDEO, hfov_deg=80.0)
    hovering = damage_map.frame_poses.hovering
    seen = sorted(d.frame_index for d in detections)
    assert any(f < min(hovering) for f in seen) and any(f > max(hovering) for f in seen)
    (site,) = damage_map.all_fused
    members = {m.frame_index for m in site.members}
    assert min(members) < min(hovering) and max(members) > max(hovering) and not members & hovering
    # without the hover left out of the gaps, the two sides would be two sites
    monkeypatch.setattr(geo.mapping, "_blind_spans", lambda poses: [])
    assert len(build_damage_map_from(detections, times, track, video=VIDEO, hfov_deg=80.0).all_fused) == 2


def test_the_telemetry_summary_says_nothing_of_hovering_in_a_log_of_a_moment():
    from geo.telemetry.summary import summarise

    moment = make_track(1.0e9 + np.arange(5) * 0.1, np.full(5, 30.0), np.full(5, -85.0))  # 0.4 s, standing
    assert not [n for n in summarise(moment)["notes"] if n.startswith("no heading")]
    longer = make_track(1.0e9 + np.arange(30.0), np.full(30, 30.0), np.full(30, -85.0))  # 29 s, standing
    assert [n for n in summarise(longer)["notes"] if n.startswith("no heading")]


def test_the_telemetry_summary_says_when_every_sample_is_a_gps_jump():
    from geo.telemetry.summary import summarise

    zigzag = make_track(1.0e9 + np.arange(3.0), np.array([30.0, 30.01, 30.0]), np.array([-85.0, -85.0, -85.01]))
    summary = summarise(zigzag)
    assert summary["gps_jumps"] == 3
    assert any(n.startswith("every one of the 3 samples is flagged as a GPS jump") for n in summary["notes"])
    steady = make_track(1.0e9 + np.arange(3.0), 30.0 + np.arange(3) * 1e-5, np.full(3, -85.0))
    assert not any("GPS jump" in n for n in summarise(steady)["notes"])


def test_poses_read_at_once_are_those_read_one_by_one(times):
    """The frames' ground footprints read every pose at once: the same poses, hovers and
    turns included, as each read alone (a hover is judged on the track's samples, not on
    the times asked for)."""
    damage_map = build_damage_map_from([], times, north_hover_east(), video=VIDEO, hfov_deg=80.0)
    asked = [t / 4.0 for t in range(122)]  # before, through and after the hover
    at_once = damage_map.poses_at(asked)
    assert at_once == [damage_map.pose_at(t) for t in asked]
    assert any(p is None for p in at_once) and sum(p is not None for p in at_once) > 60


def test_the_telemetry_summary_of_a_csv_without_a_heading_does_not_ask_for_a_csv_flight_log():
    """An exiftool geotag CSV or a logger's CSV has no heading column: the note says so,
    instead of sending the user for "the drone's flight log as a CSV", which is what they gave."""
    from dataclasses import replace

    from geo.telemetry.summary import summarise

    csv_log = replace(north_hover_east(), format="csv")
    (note,) = [n for n in summarise(csv_log)["notes"] if n.startswith("no heading")]
    assert "this CSV has no heading column" in note and "flight log as a CSV" not in note
    (gpx_note,) = [n for n in summarise(replace(csv_log, format="gpx"))["notes"] if n.startswith("no heading")]
    assert "flight log as a CSV (e.g. from Airdata) holds its heading" in gpx_note
