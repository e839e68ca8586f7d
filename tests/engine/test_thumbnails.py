"""Pictures for the HTML map's popups: whole frames and close-ups of parts of them,
decoded in one pass."""

from __future__ import annotations

import cv2
import numpy as np

from engine.thumbnails import jpeg_site_pictures
from engine.video import VideoReader


def _decode(data: bytes) -> np.ndarray:
    assert data[:2] == b"\xff\xd8"  # JPEG start of image
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]  # RGB


def test_a_close_up_is_the_part_of_the_frame_it_names_scaled_to_its_size(sites_flyover):
    video = sites_flyover.video
    with VideoReader(video) as reader:
        frame = next(iter(reader.iter_frames([5]))).image
    height, width = frame.shape[:2]
    square = (width // 4, height // 4, width // 4 + 40, height // 4 + 40)  # smaller than the close-up: enlarged
    wide = (0, height // 2, width // 2, height // 2 + width // 4)  # larger: shrunk, its shape kept
    frames, closeups = jpeg_site_pictures(video, [5], {"a": (5, square), "b": (5, wide), "gone": (10_000, square)},
                                          max_side_px=64, closeup_px=80)
    assert sorted(frames) == [5] and sorted(closeups) == ["a", "b"]  # past the end: no picture, no error
    for key, (x0, y0, x1, y1) in (("a", square), ("b", wide)):
        picture = _decode(closeups[key])
        assert max(picture.shape[:2]) == 80
        assert abs(picture.shape[1] / picture.shape[0] - (x1 - x0) / (y1 - y0)) < 0.05
        expected = cv2.resize(frame[y0:y1, x0:x1], (picture.shape[1], picture.shape[0]), interpolation=cv2.INTER_AREA)
        elsewhere = cv2.resize(frame[height - (y1 - y0):, width - (x1 - x0):], (picture.shape[1], picture.shape[0]))
        error = np.abs(picture.astype(float) - expected).mean()
        assert error < 12 and error < np.abs(picture.astype(float) - elsewhere).mean() / 2


def test_close_ups_alone_decode_their_frames_without_thumbnails(sites_flyover):
    frames, closeups = jpeg_site_pictures(sites_flyover.video, [], {7: (3, (0, 0, 50, 50))})
    assert frames == {} and sorted(closeups) == [7]
