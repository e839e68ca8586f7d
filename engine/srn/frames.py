"""Frames for SRN training: decoded once, thinned in time, resized to one size.

SRN training draws triplets of frames from anywhere in the videos, so the frames it may
draw are kept in memory as ``uint8`` at the training size. Long videos are thinned to at
most ``max_frames_per_video`` frames, kept in one-second windows spread over the video so
that every kept frame still has neighbours within the positive window (+-0.5 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from core.errors import InputError, VideoError
from engine.video import VideoReader, select_frame_indices

#: length of the windows long videos are thinned to; spans the +-0.5 s positive window
_WINDOW_S = 1.0


@dataclass(frozen=True)
class FrameBank:
    """Training frames of one or more videos.

    Attributes
    ----------
    images
        ``uint8[N, H, W, 3]`` RGB, all at one size.
    video_ids
        ``int64[N]``: index into ``videos`` of each frame.
    times_s
        ``float64[N]``: presentation time of each frame in its video, seconds.
    videos
        The source files.
    """

    images: np.ndarray
    video_ids: np.ndarray
    times_s: np.ndarray
    videos: tuple[Path, ...]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size_hw(self) -> tuple[int, int]:
        return int(self.images.shape[1]), int(self.images.shape[2])

    def batch(self, indices: Sequence[int], *, device: str | torch.device = "cpu") -> Tensor:
        """``Tensor[len(indices), 3, H, W]`` float in ``[0, 1]``."""
        array = self.images[np.asarray(indices, dtype=np.int64)]
        tensor = torch.from_numpy(array).to(device).permute(0, 3, 1, 2)
        return tensor.float().div_(255.0)

    @classmethod
    def from_videos(
        cls,
        paths: Sequence[str | Path],
        *,
        short_side: int = 320,
        sample_fps: float = 5.0,
        max_frames_per_video: int = 400,
    ) -> FrameBank:
        """Decode ``paths`` into a bank.

        Parameters
        ----------
        paths
            Video files (anything :mod:`engine.video` reads).
        short_side
            Short side of the training frames in pixels, rounded to a multiple of 32; the
            long side follows the first video's aspect ratio, and every video is resized
            to that one size (so frames of different videos can be compared location by
            location).
        sample_fps
            Frames per second kept; at least 2 so each frame has a positive within 0.5 s.
        max_frames_per_video
            Memory bound; longer videos keep one-second windows spread over their length.

        Raises
        ------
        core.errors.VideoError
            Naming the file, when a video cannot be decoded or holds no frames.
        """
        if not paths:
            raise InputError("SRN training needs at least one video")
        if sample_fps < 2.0:
            raise InputError(f"sample_fps must be >= 2 so positives exist within 0.5 s; got {sample_fps!r}")
        images: list[np.ndarray] = []
        video_ids: list[int] = []
        times: list[float] = []
        size_hw: tuple[int, int] | None = None
        for video_id, path in enumerate(Path(p) for p in paths):
            with VideoReader(path) as reader:
                info = reader.info
                if size_hw is None:
                    size_hw = _training_size(info.height_px, info.width_px, short_side)
                sampled = select_frame_indices(info.pts_s, fps=sample_fps)
                kept = _thin(sampled, info.pts_s, sample_fps, max_frames_per_video)
                if not kept:
                    raise VideoError(f"{path}: no frames to train on")
                for frame in reader.iter_frames(kept):
                    images.append(_resize(frame.image, size_hw))
                    video_ids.append(video_id)
                    times.append(frame.pts_s)
        return cls(
            images=np.stack(images),
            video_ids=np.asarray(video_ids, dtype=np.int64),
            times_s=np.asarray(times, dtype=np.float64),
            videos=tuple(Path(p) for p in paths),
        )


def _thin(indices: list[int], pts_s: Sequence[float], sample_fps: float, max_frames: int) -> list[int]:
    """At most about ``max_frames`` of ``indices``, in one-second windows spread evenly."""
    if len(indices) <= max_frames:
        return indices
    start_s, end_s = pts_s[indices[0]], pts_s[indices[-1]]
    windows = max(1, int(max_frames // (_WINDOW_S * sample_fps + 1)))
    period_s = max(_WINDOW_S, (end_s - start_s) / windows)
    return [i for i in indices if (pts_s[i] - start_s) % period_s < _WINDOW_S][:max_frames]


def _resize(image: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    import cv2

    height, width = size_hw
    if image.shape[:2] == (height, width):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _training_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    short = max(32, int(round(short_side / 32)) * 32)
    scale = short / min(height, width)
    long = max(32, int(round(max(height, width) * scale / 32)) * 32)
    return (short, long) if height <= width else (long, short)
