"""JPEG thumbnails of video frames, for the popups of the HTML damage map."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

import cv2
import numpy as np

from core.errors import DamagemapError
from engine.video import VideoReader

_log = logging.getLogger(__name__)


def jpeg_thumbnails(
    video_path: str | os.PathLike, frame_indices: Iterable[int], *, max_side_px: int = 320, quality: int = 85
) -> dict[int, bytes]:
    """JPEGs of the frames at ``frame_indices``, decoded in one pass in frame order.

    Damage sites name their best frames in any order; fetching them one at a time makes
    the decoder seek back to a keyframe for nearly each one (0.17 s per 720p thumbnail,
    14 s of the demo's export), while the sorted list is read straight through.

    ``max_side_px`` defaults to a little over the popups' 300 px width: the HTML map
    carries every thumbnail inline, and relief teams open it over slow links.

    Indices past the end, and frames that cannot be decoded, get no thumbnail (a
    warning is logged): a thumbnail is a nicety and never fails an export.
    """
    wanted = sorted({int(i) for i in frame_indices if int(i) >= 0})
    thumbnails: dict[int, bytes] = {}
    if not wanted:
        return thumbnails
    try:
        with VideoReader(video_path) as reader:
            for frame in reader.iter_frames([i for i in wanted if i < reader.frame_count]):
                data = encode_jpeg(frame.image, max_side_px=max_side_px, quality=quality)
                if data is not None:
                    thumbnails[frame.index] = data
    except (DamagemapError, OSError) as exc:
        _log.warning("thumbnails: %s (%d of %d made)", exc, len(thumbnails), len(wanted))
    return thumbnails


def encode_jpeg(image: np.ndarray, *, max_side_px: int = 320, quality: int = 85) -> bytes | None:
    """An RGB ``uint8[H, W, 3]`` image as JPEG bytes, shrunk to ``max_side_px`` at most."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side_px / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes() if ok else None


__all__ = ["encode_jpeg", "jpeg_thumbnails"]
