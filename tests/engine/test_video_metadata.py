"""engine.video_metadata: the camera a video names in its container tags, read from
tiny videos written with those tags (PyAV), and the tags alone."""

from __future__ import annotations

import pytest

from core.errors import VideoError
from engine.video import probe_video
from engine.video_metadata import VideoCamera, camera_from_tags, video_camera


def test_model_and_make_read_from_an_mp4(tmp_path, tagged_video):
    path = tagged_video(tmp_path / "DJI_0001.mp4", {"make": "DJI", "model": "FC3170"},
                        stream_tags={"handler_name": "DJI.AVC"})
    assert video_camera(path) == VideoCamera("DJI", "FC3170", "model")
    assert video_camera(path).describe() == "DJI FC3170"
    assert probe_video(path).camera_model == "DJI FC3170"  # what the maps and the camera estimate read
    handler_only = tagged_video(tmp_path / "b.mp4", {}, stream_tags={"handler_name": "DJI.AVC"})
    assert video_camera(handler_only).named_model is None and probe_video(handler_only).camera_model is None


def test_quicktime_keys_and_user_data_atoms(tmp_path, tagged_video):
    apple = tagged_video(tmp_path / "a.mp4", {"com.apple.quicktime.make": "Apple",
                                              "com.apple.quicktime.model": "iPhone 12"})
    assert video_camera(apple) == VideoCamera("Apple", "iPhone 12", "com.apple.quicktime.model")
    atoms = tagged_video(tmp_path / "b.mov", {"model": "DJI Mini 4 Pro"})  # written as a (c)mod atom
    camera = video_camera(atoms)
    assert camera is not None and camera.model == "DJI Mini 4 Pro" and camera.make == "DJI"
    assert camera.describe() == "DJI Mini 4 Pro"


def test_a_video_naming_nothing(tmp_path, tagged_video):
    assert video_camera(tagged_video(tmp_path / "plain.mp4", {})) is None  # only FFmpeg's own "encoder: Lavf..."


def test_encoder_names_a_dji_camera_not_a_program():
    assert camera_from_tags({"encoder": "DJIMavic3"}) == VideoCamera("DJI", "DJIMavic3", "encoder")
    assert camera_from_tags({"encoder": "DJI OsmoAction3"}).describe() == "DJI OsmoAction3"
    assert camera_from_tags({"encoder": "Lavf58.76.100"}) is None
    assert camera_from_tags({"encoder": "HandBrake 1.6.1 2023012300"}) is None


def test_dji_handler_gives_the_maker_only():
    assert camera_from_tags({"encoder": "Lavf60.3.100"}, [{"handler_name": "DJI.AVC"}]) == VideoCamera("DJI", None, None)
    assert camera_from_tags({}, [{"handler_name": "VideoHandler"}]) is None


def test_unreadable_files_are_video_errors(tmp_path):
    with pytest.raises(VideoError, match="does not exist"):
        video_camera(tmp_path / "missing.mp4")
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(VideoError, match="notes.mp4"):
        video_camera(tmp_path / "notes.mp4")
