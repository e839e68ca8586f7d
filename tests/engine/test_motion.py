"""engine.motion: image motion between frames, and the clock offset it gives against a
synthetic flight's telemetry (services.sync, ``damagemap telemetry --video``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.motion import held_views, motion_from_frames, pair_motion


def texture(size=(180, 320), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 255, (size[0] // 4, size[1] // 4), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(noise, (size[1], size[0]), interpolation=cv2.INTER_CUBIC), (3, 3), 0)


def shifted(image: np.ndarray, dx: float, dy: float, angle_deg: float = 0.0) -> np.ndarray:
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    matrix[:, 2] += (dx, dy)
    return cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize(("dx", "dy"), [(5.0, -3.0), (-2.5, 7.0), (0.0, 0.0)])
def test_pair_motion_finds_the_shift(dx, dy):
    image = texture()
    found = pair_motion(image, shifted(image, dx, dy))
    assert found is not None
    assert found[0] == pytest.approx(dx, abs=0.2) and found[1] == pytest.approx(dy, abs=0.2)
    assert abs(found[2]) < 0.2 and abs(found[3]) < 0.01 and abs(found[4]) < 0.3


def test_pair_motion_finds_the_rotation_clockwise_positive():
    image = texture()
    found = pair_motion(image, shifted(image, 0.0, 0.0, angle_deg=2.0))  # OpenCV: counter-clockwise
    assert found is not None and found[2] == pytest.approx(-2.0, abs=0.15)


def test_a_blank_frame_has_no_motion():
    blank = np.full((90, 160), 128, dtype=np.uint8)
    assert pair_motion(blank, blank) is None


def test_motion_series_in_pixels_per_second():
    image = texture()
    frames = [(k * 0.2, shifted(image, 0.0, 2.0 * k)) for k in range(5)] + [(1.0, np.full_like(image, 128))]
    motion = motion_from_frames(frames, width_px=320)
    assert len(motion) == 5
    assert motion.t_s[0] == pytest.approx(0.1)
    assert np.allclose(motion.dy_px_s[:4], 10.0, atol=1.0)  # 2 px per 0.2 s
    assert list(motion.valid) == [True, True, True, True, False]


def test_frames_hold_a_view_until_their_image_has_moved_away_from_its_first():
    """A drift of 9 px a frame (under 3% of the width) holds the view for three more
    frames; the fourth has moved 36 px from the view's first, over a tenth of the width:
    a new view, compared from then on with its own first frame."""
    image = texture()
    frames = [(10 + k, shifted(image, 9.0 * k, 0.0)) for k in range(7)]
    assert held_views(frames, width_px=320) == {10: 10, 11: 10, 12: 10, 13: 10, 14: 14, 15: 14, 16: 14}


@pytest.mark.parametrize("changed", ["turned", "zoomed", "blank"])
def test_a_turned_zoomed_or_featureless_frame_opens_a_view(changed):
    image = texture()
    other = {"turned": shifted(image, 0.0, 0.0, angle_deg=8.0),
             "zoomed": cv2.resize(image, None, fx=1.1, fy=1.1)[9:189, 16:336],
             "blank": np.full_like(image, 128)}[changed]
    assert held_views([(0, image), (1, shifted(image, 1.0, 1.0)), (2, other)]) == {0: 0, 1: 0, 2: 2}


def test_clock_offset_of_a_rendered_flight(manoeuvring_flight, gpx_clock_shifted, tmp_path):
    from geo.telemetry import read_telemetry
    from services.sync import estimate_clock_offset

    track = read_telemetry(gpx_clock_shifted(manoeuvring_flight, tmp_path / "fast.gpx", 2.0))
    estimate = estimate_clock_offset(manoeuvring_flight.video, track)
    assert estimate.offset_s == pytest.approx(-2.0, abs=0.5)
    assert estimate.reliable
    srt = estimate_clock_offset(manoeuvring_flight.video, read_telemetry(manoeuvring_flight.srt))
    assert srt.offset_s == pytest.approx(0.0, abs=0.5)


def test_telemetry_command_prints_the_offset(manoeuvring_flight, gpx_clock_shifted, tmp_path, capsys):
    from app.cli import main

    gpx = gpx_clock_shifted(manoeuvring_flight, tmp_path / "slow.gpx", -1.5)
    assert main(["telemetry", str(gpx), "--video", str(manoeuvring_flight.video)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"clock offset +\+1\.[456] s", out)  # the labels' column as wide as the longest
    # the GPX starts in the air with absolute altitudes only: the ground is read from the
    # video first (the flight's ground is at 10 m), and the camera at the heights it gives
    assert "ground elevation" in out and "give --ground-elevation" in out and "camera pitch" in out
    assert main(["telemetry", str(gpx), "--video", str(manoeuvring_flight.video), "--json",
                 "--ground-elevation", "10"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "ground_from_video" not in doc  # given
    assert doc["clock_offset"]["offset_s"] == pytest.approx(1.5, abs=0.5)
    assert doc["clock_offset"]["confidence"] >= 0.5
    camera = doc["camera_from_video"]  # a GPX has no gimbal pitch: the camera read from the video
    assert -80.0 < camera["pitch_deg"] < -20.0 and camera["pitch_sigma_deg"] >= 3.0
    assert 50.0 <= camera["hfov_deg"] <= 110.0
    assert camera["hfov_source"] == "estimated from the image flow"  # the synthetic video names no drone


def test_a_log_shorter_than_the_video_matches_it_at_no_offset(manoeuvring_flight, gpx_cut_short, tmp_path, capsys):
    """The 12 s video against a 5 s log (another flight's): no offset keeps the video on
    the track, which is said as that, naming both files, not as too little motion."""
    from app.cli import main

    gpx = gpx_cut_short(manoeuvring_flight, tmp_path / "other.gpx", 5.0)
    assert main(["telemetry", str(gpx), "--video", str(manoeuvring_flight.video)]) == 2
    err = capsys.readouterr().err
    assert (f"{gpx}: cannot estimate the clock offset against {manoeuvring_flight.video}: the motion in the video "
            "matches the track at no clock offset within the search range (every offset that keeps the video on "
            "the track, up to a quarter of it hanging over either end): there is none for a video of 12.0 s on a "
            "track of 5.0 s; the video and the track may not belong together, or set the offset by hand "
            "(--offset S; in the app, Georeferencing… > Telemetry time offset)") in err
    assert "too little motion" not in err


def test_a_track_of_one_fix_is_said_to_hold_one_fix(manoeuvring_flight, gpx_cut_short, tmp_path, capsys):
    """A log of one position (a waypoint-like fix) against the video: said as that, in the
    summary and in the offset's message, not as a track of 0.0 s matching at no offset."""
    from app.cli import main

    gpx = gpx_cut_short(manoeuvring_flight, tmp_path / "one.gpx", 0.0)
    assert main(["telemetry", str(gpx)]) == 0
    out = capsys.readouterr().out
    assert "1 (one fix)" in out and "median step" not in out
    assert "one fix only: a single position, no path and no time span" in out
    assert main(["telemetry", str(gpx), "--video", str(manoeuvring_flight.video)]) == 2
    err = capsys.readouterr().err
    assert (f"{gpx}: cannot estimate the clock offset against {manoeuvring_flight.video}: the track holds one fix, "
            "no motion to match the video's against; give the flight's full log") in err
    assert "no clock offset within the search range" not in err


def _gpx_times_reversed(flight, out, *, points_too: bool):
    """The flight's GPX with each point given the time of its mirror image (the last
    point's time on the first): points listed as flown with times counting down. With
    ``points_too``, the points are also listed newest first, times and all, as some tools
    write a log: the same flight."""
    import gpxpy

    gpx = gpxpy.parse(Path(flight.gpx).read_text())
    points = gpx.tracks[0].segments[0].points
    times = [p.time for p in points]
    if points_too:
        points.reverse()
    else:
        for point, time in zip(points, reversed(times)):
            point.time = time
    out.write_text(gpx.to_xml(version="1.1"))
    return out


def test_a_track_whose_times_run_backwards_is_said_to(manoeuvring_flight, tmp_path, capsys):
    """A GPX whose points carry their times in reverse order (a GPX editor's "reverse
    track" that kept the times) was read in time order, so the path ran backwards against
    the video, and was reported as an ambiguous or unsure offset, as if the motion were
    too plain; it is refused naming the file and saying its times run backwards. A log
    listed newest first, each point with its own time, is the flight and matches."""
    from app.cli import main

    backwards = _gpx_times_reversed(manoeuvring_flight, tmp_path / "countdown.gpx", points_too=False)
    assert main(["telemetry", str(backwards), "--video", str(manoeuvring_flight.video)]) == 2
    err = capsys.readouterr().err
    assert (f"{backwards}: cannot estimate the clock offset against {manoeuvring_flight.video}: its times run "
            "backwards: the video's motion matches the track played in reverse") in err
    assert "give the log as the drone wrote it" in err and "ambiguous" not in err
    newest_first = _gpx_times_reversed(manoeuvring_flight, tmp_path / "newest_first.gpx", points_too=True)
    assert main(["telemetry", str(newest_first), "--video", str(manoeuvring_flight.video), "--json"]) == 0
    offset = json.loads(capsys.readouterr().out)["clock_offset"]
    assert offset["reliable"] and not offset["runs_backwards"] and abs(offset["offset_s"]) < 0.5


def test_a_video_that_does_not_move_is_too_little_motion(manoeuvring_flight, texture_video, tmp_path, capsys):
    from app.cli import main

    still = texture_video(tmp_path / "still.mp4", 40, step=0)  # 4 s of one view
    assert main(["telemetry", str(manoeuvring_flight.gpx), "--video", str(still)]) == 2
    err = capsys.readouterr().err
    assert (f"cannot estimate the clock offset against {still}: too little motion in the video or the track to "
            "match; set the offset by hand (--offset S;") in err


def test_a_video_naming_its_drone_holds_the_field_of_view(manoeuvring_flight, tagged_copy, tmp_path, capsys):
    """The same flight remuxed with a model tag: the preset's field of view is held (its
    source and spread travel with the view) and only pitch and heading are fitted."""
    from app.cli import main
    from geo.camera import HFOV_PRESETS_DEG, METADATA_FOV_SIGMA_DEG
    from geo.telemetry import read_telemetry
    from services.sync import estimate_sync

    tagged = tagged_copy(manoeuvring_flight.video, tmp_path / "DJI_0001.MP4", {"make": "DJI", "model": "Mavic 3"})
    view = estimate_sync(tagged, read_telemetry(manoeuvring_flight.gpx), ground_elevation_m=10.0).view
    assert view is not None
    assert view.hfov_deg == HFOV_PRESETS_DEG["mavic-3"] and view.hfov_sigma_deg == METADATA_FOV_SIGMA_DEG
    assert view.hfov_source == "video metadata: DJI Mavic 3"
    assert main(["telemetry", str(manoeuvring_flight.gpx), "--video", str(tagged), "--ground-elevation", "10"]) == 0
    assert "camera FOV      73.7 +-3.0 deg (video metadata: DJI Mavic 3)" in capsys.readouterr().out


def test_a_video_of_one_frame_is_said_to_hold_one_frame(manoeuvring_flight, texture_video, tmp_path, capsys):
    """A clip of one frame has no motion to match: said so, not 'too little motion'."""
    from app.cli import main

    one = texture_video(tmp_path / "one frame.mp4", 1, step=0)
    assert main(["telemetry", str(manoeuvring_flight.gpx), "--video", str(one)]) == 2
    err = capsys.readouterr().err
    assert (f"cannot estimate the clock offset against {one}: the video holds one frame, no motion to match the "
            "track's against; set the offset by hand (--offset S;") in err
