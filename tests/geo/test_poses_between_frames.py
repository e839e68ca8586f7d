"""A track without gimbal pitch or camera heading (a GPX) places its frames with the
pitch and heading offset set for it (typed, or read from the video). Every pose the map
gives between the frames (the window's camera view, the footprints, the ground seen,
the survey's coverage) follows the same camera."""

from __future__ import annotations

import numpy as np
import pytest

from geo.mapping import build_damage_map_from
from geo.telemetry import TimeBase
from tests.geo.test_geo_sync import make_track

VIDEO = {"width_px": 640, "height_px": 360, "duration_s": 20.0, "creation_time_utc": None}


def northbound():
    """1 Hz, 20 s north at 5 m/s, 50 m up, no yaw and no gimbal pitch."""
    north = np.arange(21) * 5.0
    return make_track(np.arange(21.0), 30.0 + north / 111_000.0, np.full(21, -85.0), base=TimeBase.VIDEO)


@pytest.fixture
def damage_map():
    return build_damage_map_from([], {k: float(k) for k in range(2, 18)}, northbound(), video=VIDEO, hfov_deg=80.0,
                                 default_pitch_deg=-30.0, heading_offset_deg=-8.0)


def test_a_pose_between_frames_has_the_pitch_and_heading_offset_set(damage_map):
    pose = damage_map.pose_at(7.5)
    assert pose.pitch_deg == pytest.approx(-30.0)
    # flying north (grid 359 deg in this UTM zone), looking 8 deg left of the way it flies
    assert pose.yaw_deg == pytest.approx(351.0, abs=0.2)
    assert pose.yaw_deg == pytest.approx(damage_map.poses[7].yaw_deg)


def test_a_pose_at_a_frame_time_is_that_frames_pose(damage_map):
    poses = damage_map.poses_at([damage_map.frame_poses.times_s[i] for i in sorted(damage_map.poses)])
    assert poses == [damage_map.poses[i] for i in sorted(damage_map.poses)]
    assert damage_map.camera_footprint_at(9.0) == damage_map.camera_footprint_of(damage_map.poses[9])
