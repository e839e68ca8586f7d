"""A flight's video found again by what its project recorded of it, not by its name.

A field team renames its videos (``DJI_0042.MP4`` becomes ``2026-09-12_north_block.mp4``)
and moves them. Each run of a project records what tells its video from another file
(:func:`engine.video.video_record`: its size in bytes, its frames and its length); a file of
the same size, frame count and length is taken for the same video. The size comes from
the folder's listing; only a file of that size is probed (its container's header), so
no video is read whole. A survey keeps the same of each flight's video in its own
manifest (:class:`core.survey.VideoIdentity`), for when the flight's project is gone too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from core.errors import DamagemapError
from core.store import ProjectStore
from core.survey import VideoIdentity

#: What a content match compares, for the messages.
CONTENT_WORDS = "the same size, frame count and length"


def recorded_video(store: ProjectStore) -> Mapping[str, Any] | None:
    """What the project's newest run that recorded it knows of its video (bytes, frames,
    length in seconds), or ``None``: never analysed, or by a damagemap that kept nothing
    of it."""
    from engine.video import VIDEO_KEY  # no torch

    for run in reversed(store.runs()):
        record = run.settings.get(VIDEO_KEY)
        if isinstance(record, Mapping) and isinstance(record.get("bytes"), int) \
                and isinstance(record.get("frames"), int):
            return record
    return None


def probed_video(path: Path) -> Mapping[str, Any] | None:
    """``path``'s record as a run keeps it (:func:`engine.video.video_record`), or ``None``
    when it cannot be read as a video."""
    from engine.video import probe_video, video_record  # no torch

    try:
        return video_record(path, probe_video(path))
    except (DamagemapError, OSError):
        return None


def same_content(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two records (:func:`recorded_video`, :func:`probed_video`) are of one video:
    the same size in bytes, frame count and length (to the millisecond they are kept to)."""
    return (a.get("bytes") == b.get("bytes") and a.get("frames") == b.get("frames")
            and _rounded(a.get("duration_s")) == _rounded(b.get("duration_s")))


def _rounded(seconds: object) -> float | None:
    return round(float(seconds), 3) if isinstance(seconds, (int, float)) else None


def is_the_video(recorded: Mapping[str, Any], path: Path) -> bool:
    """Whether ``path`` is the video ``recorded`` describes; a file of another size is
    not probed."""
    try:
        if path.stat().st_size != recorded.get("bytes"):
            return False
    except OSError:
        return False
    probed = probed_video(path)
    return probed is not None and same_content(recorded, probed)


def matching_videos(recorded: Mapping[str, Any], candidates: Iterable[Path]) -> list[Path]:
    """The ``candidates`` (video files) that are the video ``recorded`` describes, sorted."""
    return sorted(path for path in candidates if path.is_file() and is_the_video(recorded, path))


def videos_beside(folders: Sequence[Path], suffixes: Sequence[str]) -> list[Path]:
    """The files directly inside ``folders`` whose suffix is one of ``suffixes`` (any case)."""
    found: set[Path] = set()
    for folder in folders:
        try:
            found.update(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        except OSError:
            continue
    return sorted(found)


def identity_of(name: str, record: Mapping[str, Any] | None) -> VideoIdentity | None:
    """The video named ``name`` whose ``record`` (:func:`recorded_video`,
    :func:`probed_video`) is given, as a survey keeps it; ``None`` for no record, or one
    without its size, frames or length."""
    if record is None or not isinstance(record.get("bytes"), int) or not isinstance(record.get("frames"), int) \
            or not isinstance(record.get("duration_s"), (int, float)):
        return None
    return VideoIdentity(name=name, size_bytes=record["bytes"], frames=record["frames"],
                         duration_s=round(float(record["duration_s"]), 3))


def file_identity(path: Path) -> VideoIdentity | None:
    """``path``'s identity (its header probed), or ``None`` when it cannot be read as a video."""
    return identity_of(path.name, probed_video(path))


def identity_record(identity: VideoIdentity) -> dict[str, Any]:
    """``identity`` in the shape a run records a video in, to compare (:func:`same_content`)
    and describe (:func:`content_text`) as one."""
    return {"bytes": identity.size_bytes, "frames": identity.frames, "duration_s": identity.duration_s}


def content_text(recorded: Mapping[str, Any]) -> str:
    """``recorded`` in words: "1,234,567 bytes, 120 frames, 12.0 s"."""
    parts = [f"{recorded['bytes']:,} bytes" if isinstance(recorded.get("bytes"), int) else None,
             f"{recorded['frames']} frames" if isinstance(recorded.get("frames"), int) else None,
             f"{float(recorded['duration_s']):.1f} s" if isinstance(recorded.get("duration_s"), (int, float)) else None]
    return ", ".join(p for p in parts if p is not None)


__all__ = ["CONTENT_WORDS", "content_text", "file_identity", "identity_of", "identity_record", "is_the_video",
           "matching_videos", "probed_video", "recorded_video", "same_content", "videos_beside"]
