"""Where a hovering drone looked, read from the video (geo.hover_turns): under telemetry
without a heading the frames of a hover were left off the map; the camera's turns, read
from how the image slides and rotates, place them, anchored on the bearing the drone
stopped on and checked against the one it flew on with."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from core.settings import ProjectSettings
from geo.hover_turns import (MAX_CLOSURE_DEG, headings_while_still, hover_spans, turn_rate_deg_s,
                             turns_from_motion)


def test_a_turn_to_the_right_slides_the_scene_left_and_rotates_it_anticlockwise():
    pitch, hfov, width = -50.0, 84.0, 320
    focal = width / 2 / math.tan(math.radians(hfov / 2))
    w = math.radians(10.0)  # 10 degrees a second, clockwise seen from above
    dx = -focal * math.cos(math.radians(50.0)) * w
    rot = -math.degrees(math.sin(math.radians(50.0)) * w)
    both = turn_rate_deg_s(np.array([dx, np.nan, dx]), np.array([rot, rot, np.nan]), width, pitch_deg=pitch,
                           hfov_deg=hfov)
    assert np.allclose(both, 10.0)  # the blend, the rotation alone, the slide alone
    # a field of view not known: the rotation alone, whatever the slide says
    assert np.allclose(turn_rate_deg_s(np.array([3 * dx]), np.array([rot]), width, pitch_deg=pitch, hfov_deg=None),
                       10.0)
    assert np.isnan(turn_rate_deg_s(np.array([np.nan]), np.array([np.nan]), width, pitch_deg=pitch, hfov_deg=hfov))[0]


def test_turns_are_summed_in_stretches_of_readable_motion_inside_the_hovers():
    t = 0.1 + 0.2 * np.arange(20)  # pairs 0.2 s apart, from 0 to 4 s
    rate = np.full(20, 10.0)
    valid = np.ones(20, dtype=bool)
    valid[8] = False  # too few features followed: the stretch ends there
    turns = turns_from_motion(t, rate, valid)
    assert [(s[0], s[1], len(s) - 2) for s in turns] == [(0.0, 0.2, 8), (1.8, 0.2, 11)]
    assert turns[0][-1] == pytest.approx(16.0) and turns[1][-1] == pytest.approx(22.0)
    inside = turns_from_motion(t, rate, np.ones(20, dtype=bool), keep=[(0.0, 1.0), (3.0, 4.0)])
    assert [(s[0], len(s) - 2) for s in inside] == [(0.0, 5), (3.0, 5)]
    assert hover_spans(t, (t > 1.0) & (t < 2.0), margin_s=0.5) == [(pytest.approx(0.6), pytest.approx(2.4))]


def _hover(turn_deg: float, *, leave_on: float):
    """A drone flying east (bearing 90) stops from 10 to 20 s, turns ``turn_deg`` and back
    at a steady rate, and leaves on bearing ``leave_on``: frames at 2 a second, the
    track's moving samples, and the turns the video shows (0.2 s steps)."""
    t = np.arange(0.0, 30.0, 0.5)
    still = (t >= 10.0) & (t <= 20.0)
    moving_t = np.concatenate([np.arange(0.0, 9.0, 0.1), np.arange(21.0, 30.0, 0.1)])
    moving_bearing = np.where(moving_t < 10.0, 90.0, leave_on)
    steps = np.arange(1, 150)
    at = 0.2 * steps
    angle = np.where(at < 9.0, 0.0, np.where(at < 15.0, turn_deg * (at - 9.0) / 6.0,
                                             np.where(at < 21.0, turn_deg * (21.0 - at) / 6.0, 0.0)))
    return t, still, moving_t, moving_bearing, ((0.0, 0.2, *angle.tolist()),)


def test_a_hover_is_placed_by_its_turns_from_the_bearing_it_stopped_on():
    t, still, moving_t, moving_bearing, turns = _hover(80.0, leave_on=90.0)
    heading, sigma, refused = headings_while_still(t, [(10.0, 20.0)], moving_t, moving_bearing, turns)
    assert refused == 0
    placed = np.isfinite(heading)
    assert placed[still].all() and not placed[(t < 8.5) | (t > 21.5)].any()  # the hover and a second either side
    truth = 90.0 + np.interp(t, [9.0, 15.0, 21.0], [0.0, 80.0, 0.0])
    assert np.max(np.abs(heading[placed] - truth[placed])) < 0.5
    # how far off it may be grows with the angle turned since the nearer anchor
    assert sigma[np.searchsorted(t, 15.0)] == pytest.approx(8.0, abs=0.2)
    assert sigma[np.searchsorted(t, 9.5)] < 1.0 and not sigma[~placed].any()


def test_a_hover_whose_turns_disagree_with_the_way_the_drone_flew_on_stays_unplaced():
    t, still, moving_t, moving_bearing, turns = _hover(80.0, leave_on=90.0 + MAX_CLOSURE_DEG + 20.0)
    heading, sigma, refused = headings_while_still(t, [(10.0, 20.0)], moving_t, moving_bearing, turns)
    assert refused == 1 and not np.isfinite(heading).any()
    # a small disagreement (a field of view or a pitch a little off) is spread over the hover
    t, still, moving_t, moving_bearing, turns = _hover(80.0, leave_on=100.0)
    heading, sigma, refused = headings_while_still(t, [(10.0, 20.0)], moving_t, moving_bearing, turns)
    assert refused == 0 and heading[np.searchsorted(t, 21.0)] == pytest.approx(100.0, abs=0.5)


def test_a_hover_at_the_start_is_anchored_on_the_bearing_it_left_on():
    t, still, moving_t, moving_bearing, turns = _hover(-40.0, leave_on=90.0)
    late = moving_t > 20.0
    heading, sigma, refused = headings_while_still(t, [(10.0, 20.0)], moving_t[late], moving_bearing[late], turns)
    assert refused == 0 and np.isfinite(heading[still]).all()
    assert heading[np.searchsorted(t, 15.0)] == pytest.approx(50.0, abs=0.5)


def test_settings_keep_the_turns_as_the_store_gives_them_back():
    turns = ((1.0, 0.2, 3.5, 7.0),)
    settings = ProjectSettings(hover_turns=turns)
    again = ProjectSettings.from_mapping({k: (None if v is None else v) for k, v in
                                          _as_json(settings.to_mapping()).items()})
    assert again == settings and again.hover_turns == turns
    with pytest.raises(ValueError, match="hover_turns"):
        ProjectSettings(hover_turns=((1.0, 0.0, 2.0),))


def _as_json(values):
    import json

    return json.loads(json.dumps(values))


@pytest.fixture(scope="module")
def turning_hover(flyover_once):
    """8 s at 10 frames a second, 320x180: the drone hovers from 2 s for 4 s, turning 60
    degrees right and back; the GPX gives no heading, the SRT the gimbal's yaw (the truth)."""
    return flyover_once("hover-turn", seconds=8.0, fps=10.0, size=(320, 180), seed=3, annotate_every=40,
                        hover=(2.0, 4.0), hover_turn_deg=60.0)


def test_a_turning_hover_under_a_gpx_is_placed_by_the_video(turning_hover):
    from engine.synth.flyover import DEFAULT_GROUND_ALT_M
    from engine.video import probe_video
    from geo.mapping import build_damage_map_from, settings_arguments
    from geo.telemetry import read_telemetry
    from services.sync import georeference_from_video

    gpx, srt = read_telemetry(Path(turning_hover.gpx)), read_telemetry(Path(turning_hover.srt))
    read = georeference_from_video(Path(turning_hover.video), gpx, ProjectSettings(ground_elevation_m=DEFAULT_GROUND_ALT_M),
                                   camera=True)
    assert read.settings.hover_turns
    assert any(line.startswith("camera: its turns where the drone hovered read from the video") for line in read.lines)
    info = probe_video(Path(turning_hover.video)).as_dict()
    frames = {i: info["pts_s"][i] for i in range(0, len(info["pts_s"]), 5)}
    placed = build_damage_map_from([], frames, gpx, video=info, **settings_arguments(read.settings))
    unturned = build_damage_map_from([], frames, gpx, video=info,
                                     **settings_arguments(dataclasses.replace(read.settings, hover_turns=())))
    truth = build_damage_map_from([], frames, srt, video=info).frame_poses.poses
    assert unturned.frame_poses.hovering and not placed.frame_poses.hovering  # the hover is on the map now
    turned = placed.frame_poses.turned
    assert unturned.frame_poses.hovering <= turned
    errors = [abs((placed.frame_poses.poses[i].yaw_deg - truth[i].yaw_deg + 180.0) % 360.0 - 180.0) for i in turned]
    assert max(errors) < 15.0  # the turn reached 60 degrees
    assert any(note.startswith(f"{len(turned)} analysed frames filmed while the drone hovered") for note in placed.notes)
    # a time asked alone (the map following the video) gets the heading it gets among all the frames
    times = np.array([frames[i] for i in sorted(frames)])
    together = placed.aligned.interpolate(times).heading_grid_deg
    alone = [placed.aligned.interpolate([t]).heading_grid_deg[0] for t in times]
    assert np.allclose(together, alone, equal_nan=True)
    # a site seen from the hover is less sure of where the camera looked: the turn's own error joins its budget
    start_yaw = placed.frame_poses.poses[min(frames)].yaw_deg

    def turned_by(index: int) -> float:
        return abs((placed.frame_poses.poses[index].yaw_deg - start_yaw + 180.0) % 360.0 - 180.0)

    widest = max(turned, key=turned_by)
    sigma = placed.frame_poses.turn_sigma_deg
    assert sigma[widest] > 3.0 and sigma.get(min(frames), 0.0) == 0.0


def test_a_site_only_the_turned_frames_placed_is_queued_as_a_doubt(turning_hover):
    from engine.synth.flyover import DEFAULT_GROUND_ALT_M
    from engine.video import probe_video
    from geo.evaluation import detections_from_coco
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry
    from services.sites import site_summaries
    from services.sync import hover_turns_from_video

    gpx = read_telemetry(Path(turning_hover.gpx))
    info = probe_video(Path(turning_hover.video)).as_dict()
    detections, times = detections_from_coco(next(Path(turning_hover.out_dir, "annotations").glob("instances_*.json")))
    turns = hover_turns_from_video(Path(turning_hover.video), gpx, hfov_deg=84.0)
    built = build_damage_map_from(detections, times, gpx, video=info, ground_elevation_m=DEFAULT_GROUND_ALT_M,
                                  hover_turns=turns)
    turned = built.frame_poses.turned
    assert turned & set(times) and set(times) - turned  # annotated frames in the hover (4 s) and out of it (0 s)
    summaries = site_summaries(built)
    only_turned = [s for s in summaries if all(x.frame_index in turned for x in s.sightings)]
    assert only_turned and all(all(x.turned for x in s.sightings) for s in only_turned)
    assert all(not x.turned for s in summaries for x in s.sightings if x.frame_index not in turned)
    # its error budget holds how far off the turned frames' headings may be
    from geo.uncertainty import budget_sites

    site = next(f for f in built.all_fused if any(m.heading_sigma_deg > 1.0 for m in f.members))
    told = dataclasses.replace(site, budget=None, members=tuple(dataclasses.replace(m, heading_sigma_deg=0.0)
                                                                for m in site.members))
    (with_turns,) = budget_sites([dataclasses.replace(site, budget=None)], built.aligned)
    (without,) = budget_sites([told], built.aligned)
    assert with_turns.budget.camera > without.budget.camera


def _seen(frame: int, east_m: float, *, from_east_m: float = 0.0):
    """A Slight sighting in ``frame`` of a roof at (``east_m``, 60, 4) from a camera 50 m
    up at (``from_east_m``, 0)."""
    from core.camera import CameraPose
    from core.types import DamageLevel, Detection, Observation
    from geo.observe import Projected

    detection = Detection(frame_index=frame, level=DamageLevel.SLIGHT, score=0.9, box_xyxy_px=(0, 0, 10, 10),
                          id=frame)
    observation = Observation(frame, frame, 0.5 * frame, DamageLevel.SLIGHT, 0.9, 0.0, 0.0, east_m, 60.0,
                              "EPSG:32616")
    origin, target = np.array([from_east_m, 0.0, 50.0]), np.array([east_m, 60.0, 4.0])
    return Projected(detection, observation, CameraPose(from_east_m, 0.0, 50.0, 0.0, -40.0), (), origin,
                     (target - origin) / np.linalg.norm(target - origin), target[:2])


def test_the_fusion_gates_widen_by_how_far_off_a_turned_heading_may_be():
    """Two sightings 6 m apart, 60 m from the camera in consecutive frames: two tracks
    under headings the telemetry gives; one when the headings came from the turns and
    may be 8 degrees off (8 m at that range)."""
    from geo.fusion import FusionSettings, associate

    told = [_seen(1, 0.0), _seen(2, 6.0)]
    assert len(associate(told, FusionSettings())) == 2
    turned = [dataclasses.replace(p, heading_sigma_deg=8.0) for p in told]
    assert len(associate(turned, FusionSettings())) == 1


def test_a_turned_ray_weighs_less_where_a_ray_the_track_placed_meets_it():
    """One roof seen from two places 40 m apart: the sighting placed by the turns is 4 m
    off; the site lies where the telemetry's sighting puts it, not half-way."""
    from geo.fusion import FusionSettings, locate

    told, turned = _seen(1, 0.0), _seen(2, 4.0, from_east_m=40.0)
    halfway = locate([told, turned], FusionSettings(), 4.0).point
    trusted = locate([told, dataclasses.replace(turned, heading_sigma_deg=5.0)], FusionSettings(), 4.0).point
    roof = np.array([0.0, 60.0])
    assert np.linalg.norm(halfway[:2] - roof) > 2.0  # equal weights: pulled towards the turned sighting
    assert np.linalg.norm(trusted[:2] - roof) < 1.0  # the telemetry's ray, held by the roof height prior
