"""A hover's frames are one look at the ground (geo.views): they count once in a site's
confirmation and in a building's good views, so that 40 near-identical frames neither
confirm a flickering false alarm nor bury a damage the passing frames found."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import box

from core.camera import CameraPose, PinholeCamera
from core.types import DamageLevel
from geo.coverage import unit_coverage
from geo.export.records import seen_in
from geo.fusion import FusionSettings
from geo.mapping import build_damage_map_from
from geo.views import ViewSettings, count_distinct, describe_hovers, distinct_views, frames_a_view_repeats, hovers
from geo.export.records import unconfirmed_reason
from tests.geo.test_geo_fusion import FPS, fly

#: every frame a view of its own (the frame counting of old): no two jittered poses are that close
FRAME_BY_FRAME = FusionSettings(views=ViewSettings(same_view_fraction=0.0, min_same_view_m=0.0))


def north(k: int, north_m: float, *, up_m: float = 50.0, yaw_deg: float = 0.0) -> tuple[int, CameraPose]:
    return k, CameraPose(0.0, north_m, up_m, yaw_deg, -40.0)


def test_a_flight_at_survey_speed_is_a_view_a_frame():
    # 4 m/s at 2 frames a second, 28 m up (the lowest synthetic flight): 2 m a frame
    poses = dict(north(k, 2.0 * k, up_m=28.0) for k in range(30))
    assert distinct_views(poses) == {k: k for k in range(30)}


def test_a_hover_is_one_view_and_a_turn_on_the_spot_a_new_one():
    rng = np.random.default_rng(3)
    jitter = rng.uniform(-0.3, 0.3, size=20)  # GPS and wind: a few decimetres
    poses = dict(north(k, float(jitter[k])) for k in range(20))
    poses.update(north(20 + k, 0.0, yaw_deg=10.0 * (k + 1)) for k in range(3))  # yawing 10 degrees a frame
    views = distinct_views(poses)
    assert set(views[k] for k in range(20)) == {0}
    assert [views[20 + k] for k in range(3)] == [1, 2, 3]
    assert count_distinct(range(23), views) == 4
    assert count_distinct([0, 5, 99], views) == 2  # a frame without a pose is a view of its own


def test_a_drift_starts_a_new_view_past_the_reach_from_where_the_view_began():
    # 0.3 m a frame at 50 m up: 1 m of reach, so four frames a view, not one long view
    poses = dict(north(k, 0.3 * k) for k in range(12))
    views = distinct_views(poses)
    assert [views[k] for k in range(12)] == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    # higher up the same drift is less of a change in the picture
    assert len(set(distinct_views(dict(north(k, 0.3 * k, up_m=200.0) for k in range(12))).values())) == 1


def hover_flight():
    """Passing north at 3 m a frame, a hover of 40 frames 1.5 m past the last of them, looking at (0, 40),
    then on: the frames' poses, and which of them are the hover's."""
    rng = np.random.default_rng(7)
    poses = [CameraPose(0.0, -60.0 + 3.0 * k, 50.0, 0.0, -40.0) for k in range(15)]
    hover = range(len(poses), len(poses) + 40)
    poses += [CameraPose(float(dx), -16.5 + float(dy), 50.0, 0.0, -40.0) for dx, dy in rng.uniform(-0.2, 0.2, (40, 2))]
    poses += [CameraPose(0.0, -15.0 + 3.0 * k, 50.0, 0.0, -40.0) for k in range(15)]
    return poses, set(hover)


def frames_showing(point, poses):
    detections, *_ = fly([point], [DamageLevel.SLIGHT], poses=poses)
    return sorted(d.frame_index for d in detections)


def site_of(point, poses, detected_in, fusion=None):
    """The one site of ``point`` detected in the frames ``detected_in`` only."""
    showing = frames_showing(point, poses)
    keep = {n for n, frame in enumerate(showing) if frame in detected_in}
    detections, times, track, video, _ = fly([point], [DamageLevel.SLIGHT], poses=poses, keep=[keep])
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0, fusion=fusion)
    (site,) = damage_map.all_fused
    return site, damage_map


def test_a_false_alarm_flickering_through_a_hover_is_not_confirmed():
    poses, hover = hover_flight()
    point = (0.0, 40.0, 5.0)
    showing = frames_showing(point, poses)
    passing = [f for f in showing if f not in hover]
    assert hover <= set(showing) and len(passing) >= 10
    flicker = set(sorted(hover)[::2])  # every other hovering frame: 20 of the 66-odd that showed it
    by_frame, _ = site_of(point, poses, flicker, FRAME_BY_FRAME)
    assert by_frame.frames_seen == 20 and by_frame.confirmed  # counted frame by frame, the hover confirms it
    site, damage_map = site_of(point, poses, flicker)
    assert (site.frames_seen, site.frames_in_view) == (by_frame.frames_seen, by_frame.frames_in_view)
    assert site.views_seen == 1 and site.views_in_view == len(passing) + 1
    assert not site.confirmed and damage_map.unconfirmed == [site]
    (note,) = [n for n in damage_map.notes if n.startswith("the drone hovered")]
    first, last = min(hover) / FPS, max(hover) / FPS
    assert f"the drone hovered at {first:.0f}-{last:.0f} s (40 frames): " in note
    assert seen_in(site) == "20 frames from 1 spot"
    reason = unconfirmed_reason(site)
    assert f"detected in 1 of the {len(passing) + 1} distinct views" in reason
    assert f"20 of the {site.frames_in_view} frames" in reason


def test_a_damage_found_in_passing_is_not_buried_by_the_hover_that_missed_it():
    poses, hover = hover_flight()
    point = (0.0, 40.0, 5.0)
    passing = [f for f in frames_showing(point, poses) if f not in hover]
    found = set(passing[-8:])  # the eight passing frames nearest to it after the hover
    by_frame, _ = site_of(point, poses, found, FRAME_BY_FRAME)
    assert by_frame.frames_seen == 8 and not by_frame.confirmed  # 8 of 68-odd frames
    site, damage_map = site_of(point, poses, found)
    assert site.views_seen == 8 and site.views_in_view == len(passing) + 1
    assert site.confirmed and damage_map.fused == [site]
    assert seen_in(site) == "8 frames"  # each from a spot of its own


def test_a_flight_that_keeps_moving_counts_as_before():
    poses = [CameraPose(0.0, -90.0 + 3.0 * k, 50.0, 0.0, -40.0) for k in range(40)]
    showing = frames_showing((0.0, 40.0, 5.0), poses)
    site, damage_map = site_of((0.0, 40.0, 5.0), poses, set(showing[::4]))
    assert (site.views_seen, site.views_in_view) == (site.frames_seen, site.frames_in_view)
    assert not any("hovered" in n for n in damage_map.notes)
    assert unconfirmed_reason(site) == (f"unconfirmed: detected in {site.frames_seen} of the "
                                        f"{site.frames_in_view} frames that showed it")


CAMERA = PinholeCamera(640, 360, 70.0)


@pytest.mark.parametrize("hover_frames", [1, 2, 30])
def test_a_building_seen_only_from_a_hover_is_one_good_view(hover_frames):
    square = box(-5, 35, 5, 45)
    rng = np.random.default_rng(1)
    poses = {k: CameraPose(float(dx), float(dy), 40.0, 0.0, -45.0)
             for k, (dx, dy) in enumerate(rng.uniform(-0.2, 0.2, (hover_frames, 2)))}
    (c,) = unit_coverage([square], [4.0], CAMERA, poses)
    assert c.frames == hover_frames and c.good_views == 1 and not c.seen_well
    # the same building from two places 5 m apart: two looks, seen well
    poses[hover_frames] = CameraPose(0.0, 5.0, 40.0, 0.0, -45.0)
    (c,) = unit_coverage([square], [4.0], CAMERA, poses)
    assert c.good_views == 2 and c.seen_well


def test_hovers_are_views_of_four_frames_or_more_and_the_note_names_the_three_longest():
    views = {0: 0, 1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2, 7: 2, 8: 3, **{9 + k: 4 + k // 5 for k in range(25)},
             **{34 + k: 9 for k in range(12)}, **{46 + k: 10 for k in range(6)}}
    times = {i: 0.5 * i for i in views}
    spans = hovers(views, times)
    assert spans[0] == (2.0, 3.5, 4)  # frames 4-7; the view of three frames is no hover
    assert [count for _, _, count in spans] == [4, 5, 5, 5, 5, 5, 12, 6]
    assert describe_hovers([]) is None
    note = describe_hovers(spans)
    assert note.startswith("the drone hovered at 4-6 s (5 frames), 17-22 s (12 frames), 23-26 s (6 frames) "
                           "and 5 shorter: ")


def test_a_real_flight_log_hovers_and_flies(samples):
    """The Mini 2's 21-minute flight log (shared/samples, Airdata CSV: position, height and
    heading from the drone): its long hovers become views of many frames, and a frame the
    drone flew metres from the one before is a view of its own."""
    from geo.camera import frame_poses
    from geo.sync import align_track
    from geo.telemetry import read_telemetry

    track = read_telemetry(samples / "flightlog" / "mini2_Sep-5th-2021-07-23PM-Flight-Airdata.csv")
    duration = float(track.times_s()[-1] - track.times_s()[0])
    times = {i: i / 2.0 for i in range(int(duration * 2.0))}  # analyze --fps 2
    poses = frame_poses(align_track(track, duration_s=duration), times).poses
    views = distinct_views(poses)
    assert len(poses) > 2000 and len(set(views.values())) < 0.6 * len(poses)
    assert max(count for _, _, count in hovers(views, times)) >= 60  # a minute or more from one spot
    frames = sorted(poses)
    for before, after in zip(frames, frames[1:]):
        if math.dist(poses[before].position, poses[after].position) > 3.0:
            assert views[after] != views[before]


def test_a_hover_is_analysed_one_frame_every_few_seconds_and_a_pass_whole():
    """A pass of 10 frames at 2 a second, a hover of 30 frames (15 s), a turn on the spot
    (each frame a new view), a short stop of 3 frames (1 s) and frames the telemetry did
    not place: only the hover's repeats are left out."""
    rng = np.random.default_rng(5)
    poses = dict(north(k, 3.0 * k) for k in range(10))
    poses.update(north(10 + k, 30.0 + float(rng.uniform(-0.3, 0.3))) for k in range(30))
    poses.update(north(40 + k, 30.0, yaw_deg=15.0 * (k + 1)) for k in range(4))
    poses.update(north(44 + k, 60.0) for k in range(3))
    views = distinct_views(poses)
    times = {i: 0.5 * i for i in range(55)}  # 47-54: not placed
    repeats = frames_a_view_repeats(views, times, every_s=2.0)
    kept = [i for i in range(10, 40) if i not in repeats]
    assert kept == [10, 14, 18, 22, 26, 30, 34, 38]  # the hover's first frame, then one every 2 s
    assert repeats == set(range(10, 40)) - set(kept)  # nothing of the pass, the turn, the stop or the unplaced
    assert count_distinct(set(times) - repeats, views) == count_distinct(times, views)  # no view lost
    assert len(frames_a_view_repeats(views, times, every_s=5.0)) == 30 - 3  # frames 10, 20, 30
    assert frames_a_view_repeats(views, times, every_s=0.0) == set()
    # a stop of 1 s is no hover, at any interval
    assert not {44, 45, 46} & repeats and not {44, 45, 46} & frames_a_view_repeats(views, times, every_s=0.5)
    # an interval longer than the hover keeps its first frame alone, and a longer interval never keeps more
    assert frames_a_view_repeats(views, times, every_s=60.0) == set(range(11, 40))
    kept_by = [len(times) - len(frames_a_view_repeats(views, times, every_s=s)) for s in (0.5, 1, 2, 3, 5, 10, 15, 60)]
    assert kept_by == sorted(kept_by, reverse=True)
    # a view that a frame the telemetry could not place interrupts is not held across it
    held = {0: 0, 1: 0, 2: 0, 3: 0, 4: 0}
    assert frames_a_view_repeats(held, {i: 0.5 * i for i in range(5)}, every_s=1.0) == {1, 3}
    del held[2]
    assert frames_a_view_repeats(held, {i: 0.5 * i for i in range(5)}, every_s=1.0) == set()
