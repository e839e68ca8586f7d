"""The camera a video was filmed with, from the tags its container carries (PyAV; the
video is not decoded).

Tags read, as FFmpeg names them (container tags first, then each stream's):

- ``com.apple.quicktime.model`` / ``com.apple.quicktime.make``: QuickTime ``mdta`` keys
  (iPhones, and apps writing Apple's keys);
- ``model`` / ``make``: the ``©mod`` / ``©mak`` user-data atoms (and ``mdta`` keys of
  those names);
- ``encoder`` when it starts with "DJI": DJI cameras name themselves there ("DJI
  OsmoAction3", "DJIMavic3"); a program that re-saved the file writes its own name
  ("Lavf58.76.100", "HandBrake ..."), which names no camera and is ignored;
- a video stream's ``handler_name`` "DJI.AVC" / "DJI.HEVC": the maker only (DJI), no
  model.

``geo.camera.preset_for_model`` turns the model into a field-of-view preset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import VideoError, first_line

#: Tags naming the model, first found wins.
MODEL_TAGS = ("com.apple.quicktime.model", "model")
#: Tags naming the maker, first found wins.
MAKE_TAGS = ("com.apple.quicktime.make", "make")


@dataclass(frozen=True)
class VideoCamera:
    """Maker and model a video names (either may be ``None``) and the tag the model came
    from."""

    make: str | None
    model: str | None
    tag: str | None

    def describe(self) -> str:
        """``"DJI Mavic 3"``-like: the model, with the maker in front when it does not
        already start with it."""
        model = self.model or ""
        if self.make and not model.lower().startswith(self.make.lower()):
            return f"{self.make} {model}".strip()
        return model or (self.make or "")

    @property
    def named_model(self) -> str | None:
        """:meth:`describe` when the tags name a model; ``None`` when they name only the
        maker (a maker alone says nothing about the lens)."""
        return self.describe() if self.model else None


def _first(tags: Sequence[Mapping[str, str]], names: Sequence[str]) -> tuple[str, str] | None:
    for mapping in tags:
        lowered = {str(k).lower(): str(v).strip() for k, v in mapping.items()}
        for name in names:
            if lowered.get(name):
                return name, lowered[name]
    return None


def camera_from_tags(container: Mapping[str, str], streams: Sequence[Mapping[str, str]] = ()) -> VideoCamera | None:
    """The :class:`VideoCamera` that container and stream tags name (see the module's
    list), or ``None`` when they name neither maker nor model."""
    every = [container, *streams]
    model = _first(every, MODEL_TAGS)
    make = _first(every, MAKE_TAGS)
    encoder = _first(every, ("encoder",))
    if model is None and encoder is not None and encoder[1].upper().startswith("DJI"):
        model = ("encoder", encoder[1])
    maker = make[1] if make else None
    if maker is None and (model is not None and model[1].upper().startswith("DJI")
                          or any(str(s.get("handler_name", "")).strip().upper().startswith("DJI.") for s in streams)):
        maker = "DJI"
    if model is None and maker is None:
        return None
    return VideoCamera(maker, model[1] if model else None, model[0] if model else None)


def video_camera(path: str | os.PathLike) -> VideoCamera | None:
    """The camera ``path``'s tags name (:func:`camera_from_tags`), or ``None``.

    Raises
    ------
    VideoError
        Naming the file when it is missing or not a readable video.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"no video at {str(path)!r}: the file does not exist")
    try:
        with av.open(str(path), mode="r") as container:
            streams = [dict(s.metadata) for s in container.streams]
            return camera_from_tags(dict(container.metadata), streams)
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError(f"{str(path)!r} is not a readable video: {first_line(exc)}") from None


__all__ = ["MAKE_TAGS", "MODEL_TAGS", "VideoCamera", "camera_from_tags", "video_camera"]
