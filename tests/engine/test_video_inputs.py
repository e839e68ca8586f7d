"""A folder given as the video is named as a folder, not as a missing file."""

from __future__ import annotations

import pytest

from core.errors import VideoError
from engine.video import probe_video


def test_a_folder_given_as_the_video_is_named_as_a_folder(tmp_path):
    with pytest.raises(VideoError, match="is a folder; give the video file"):
        probe_video(tmp_path)
