"""Putting telemetry on the video's clock without typing the offset: the video's own
motion (``engine.motion``) matched against the track's (``geo.clock_offset``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import TelemetryError

if TYPE_CHECKING:  # pragma: no cover
    from geo.clock_offset import OffsetEstimate
    from geo.telemetry import Track


def estimate_clock_offset(
    video_path: Path, track: Track, *, search_s: tuple[float, float] | None = None, rate_hz: float = 5.0
) -> OffsetEstimate:
    """The ``--offset`` that puts ``track`` on ``video_path``'s clock, from the image
    motion of the video against the track's speed and turns.

    Raises
    ------
    TelemetryError
        When the video or the track has too little motion to match (message names both).
    core.errors.VideoError
        When the video cannot be read.
    """
    from engine.motion import video_motion
    from engine.video import probe_video
    from geo.clock_offset import estimate_offset

    info = probe_video(video_path)
    motion = video_motion(video_path, rate_hz=rate_hz)
    estimate = estimate_offset(
        track, motion.t_s, motion.parallax_px_s if motion.parallax_px_s is not None else motion.dy_px_s, -motion.dx_px_s, image_rotation=-motion.rotation_deg_s, valid=motion.valid,
        duration_s=info.duration_s, creation_time_utc=info.creation_time_utc, search_s=search_s,
    )
    if estimate is None:
        raise TelemetryError(
            f"{track.path or track.name}: cannot estimate the clock offset against {video_path}: "
            "too little motion in the video or the track to match (set --offset by hand)"
        )
    return estimate


__all__ = ["estimate_clock_offset"]
