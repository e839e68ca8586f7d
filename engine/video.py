"""Reading drone video with PyAV: true timestamps, rotation, frame selection.

Frames carry the container's presentation timestamps (``Frame.pts_s``, seconds from the
start of the video stream), never ``index / fps``: drone footage is often variable frame
rate, and the GPS track is matched by time. A frame's ``index`` is its position in
presentation order, counted from 0, and is the key the project store and the GUI share.

Rotation metadata (the display matrix phones and some drones write) is applied, so every
frame comes out upright and ``VideoInfo.width_px``/``height_px`` are the upright size.

Random access (:meth:`VideoReader.frame_at`) seeks to the keyframe at or before the
wanted frame and decodes forward; reading in order never seeks, so sequential or strided
reads cost one decode per frame. The frame timestamps come from one demuxing pass when a
reader opens (packets only, no decoding: milliseconds for a minute of video).

Fork safety: every open reader is kept alive in a forked child
(:mod:`engine.fork_guard`), which could not free its decoder's threads. And each frame
becomes RGB through a scaler made for it and freed at once, with its FFmpeg slice threads:
PyAV's ``VideoFrame.to_ndarray(format=...)`` leaves its scaler on the frame, which the
decoder holds on to (PyAV 19: on the calling thread, for the thread's life), and a forked
child freeing one waits for ever on slice threads it does not have. A scaler kept for
all of a reader's frames would save making one, but decoded 720p more slowly.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import VideoError
from core.types import Frame, frame_number
from engine.fork_guard import VIDEO_DECODERS
from engine.video_metadata import camera_from_tags

#: Timestamps closer than this (seconds) count as equal when sampling by frame rate.
_TIME_TOLERANCE_S = 1e-4
#: Seek forward only when that skips at least this many frames' decoding.
_SEEK_MIN_SKIP = 4


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What a video holds, read without decoding it whole.

    ``width_px``/``height_px`` are the upright size (rotation applied). ``fps`` is the
    container's average rate (the true rate may vary: use ``pts_s``).
    ``creation_time_utc`` is UNIX seconds from the ``creation_time`` tag, or ``None``.
    ``rotation_deg`` is the display rotation found in the file, counter-clockwise as
    FFmpeg reports it (0, 90, 180 or 270); frames are returned already rotated.
    ``pts_s`` holds every frame's timestamp, in presentation order.
    ``camera_model`` is the camera model the tags name (``engine.video_metadata``), or
    ``None``. ``listed_frame_count``: the frames the container's index lists (0 when it
    lists none); more than ``frame_count`` in a file cut short after an index written
    first (a faststart MP4, an MKV): the frames it lists and no longer holds.
    """

    path: Path
    width_px: int
    height_px: int
    fps: float
    frame_count: int
    duration_s: float
    creation_time_utc: float | None
    rotation_deg: int
    codec: str
    pts_s: tuple[float, ...] = field(default=(), repr=False)
    camera_model: str | None = None
    listed_frame_count: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON and for ``geo.mapping.build_damage_map(video_info=...)``."""
        return {
            "path": str(self.path),
            "width_px": self.width_px,
            "height_px": self.height_px,
            "fps": self.fps,
            "frame_count": self.frame_count,
            "duration_s": self.duration_s,
            "creation_time_utc": self.creation_time_utc,
            "rotation_deg": self.rotation_deg,
            "codec": self.codec,
            "pts_s": list(self.pts_s),
            "camera_model": self.camera_model,
            "listed_frame_count": self.listed_frame_count,
        }


def select_frame_indices(
    pts_s: Sequence[float], *, stride: int = 1, fps: float | None = None
) -> list[int]:
    """Which frames to analyse: every ``stride``-th, or about ``fps`` per second.

    With ``fps`` the first frame at or after each tick of a regular ``1 / fps`` grid
    (starting at the first frame) is taken, so variable-frame-rate video is sampled
    evenly in time. Asking for more than the video has gives every frame.
    """
    if fps is not None and stride != 1:
        raise ValueError(f"give either stride or fps, not both; got stride={stride!r}, fps={fps!r}")
    if fps is None:
        if stride < 1:
            raise ValueError(f"stride must be >= 1; got {stride!r}")
        return list(range(0, len(pts_s), stride))
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number; got {fps!r}")
    period = 1.0 / fps
    chosen: list[int] = []
    next_tick = None
    for index, t in enumerate(pts_s):
        if next_tick is None:
            next_tick = t
        if t + _TIME_TOLERANCE_S >= next_tick:
            chosen.append(index)
            # the first tick after this frame, in one step (stepping a tick at a time took
            # minutes at --fps 1e9)
            ticks = math.floor((t + _TIME_TOLERANCE_S - next_tick) / period) + 1
            next_tick += ticks * period
            while next_tick <= t + _TIME_TOLERANCE_S:  # the floor's rounding, at most a step
                next_tick += period
    return chosen


def _reason(exc: BaseException) -> str:
    """FFmpeg's words for an error, without its errno number and the repeated file name."""
    reason = getattr(exc, "strerror", None)
    return reason if isinstance(reason, str) and reason else str(exc)


def _cut_off_hint(path: Path) -> str:
    """Why an MP4 or MOV (its first box says so) may not open though it holds video: a
    recording cut off (a full card, a flat battery, a copy stopped) lacks the index
    written at its end."""
    try:
        with path.open("rb") as file:
            head = file.read(12)
    except OSError:
        return ""
    if head[4:8] not in (b"ftyp", b"mdat", b"wide", b"free"):  # not an MP4/MOV's first box: not a cut-off one
        return ""
    return (" (an MP4 or MOV whose recording or copy was cut off lacks the index written at its end: copy it "
            "from the card again, or have it repaired, e.g. with untrunc and a good video from the same drone)")


def _parse_creation_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        moment = _dt.datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        return None
    if moment.tzinfo is None:  # the tag is UTC by definition (ISO 8601, QuickTime)
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


def _rgb24(av_frame: Any) -> np.ndarray:
    """A video frame as ``uint8[H, W, 3]`` RGB, through a scaler made for it and freed
    before this returns (the module's docstring says why not ``VideoFrame.to_ndarray``)."""
    from av.video.reformatter import VideoReformatter

    return VideoReformatter().reformat(av_frame, format="rgb24").to_ndarray()


class VideoReader:
    """Random and sequential access to one video's frames.

    Parameters
    ----------
    path
        Any file FFmpeg reads (MP4, MOV, MKV, ...).
    threads
        Let FFmpeg decode with its own threads (frame and slice threading).

    Raises
    ------
    VideoError
        Naming the file when it is missing, not a video, in a codec FFmpeg cannot
        decode, corrupt or truncated.
    """

    def __init__(self, path: str | os.PathLike, *, threads: bool = True) -> None:
        import av

        self.path = Path(path)
        if self.path.is_dir():
            raise VideoError(f"{str(self.path)!r} is a folder; give the video file (MP4, MOV, ...) inside it")
        if not self.path.is_file():
            raise VideoError(f"no video at {str(self.path)!r}: the file does not exist")
        if self.path.stat().st_size == 0:
            raise VideoError(f"{str(self.path)!r} is empty (0 bytes): a copy that never started, or a recording "
                             "the camera could not write; copy the video again from the card")
        try:
            self._container = av.open(str(self.path), mode="r")
        except (av.FFmpegError, UnicodeDecodeError) as exc:
            raise VideoError(f"{str(self.path)!r} is not a readable video: {_reason(exc)}{_cut_off_hint(self.path)}"
                             ) from None
        VIDEO_DECODERS.add(self)
        try:
            demuxer = self._container.format.name
            if demuxer == "image2" or demuxer.endswith("_pipe"):  # FFmpeg's still-image readers
                raise VideoError(f"{str(self.path)!r} is a still image, not a video")
            if not self._container.streams.video:
                raise VideoError(f"{str(self.path)!r} has no video stream")
            self._stream = self._container.streams.video[0]
            if self._stream.codec_context is None:  # FFmpeg has no decoder for this codec
                raise VideoError(
                    f"{str(self.path)!r}: its video codec is not one FFmpeg can decode; "
                    "convert it first, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4"
                )
            if threads:
                self._stream.thread_type = "AUTO"
            self._index_packets()
            self._decoder: Iterator[Any] | None = None
            self._next_index = 0  # index the decoder will produce next
            self._rotation = self._read_rotation()
            self.info = self._build_info()
        except VideoError:
            self._container.close()
            raise
        except av.FFmpegError as exc:
            self._container.close()
            raise VideoError(f"{str(self.path)!r} is corrupt or truncated: {_reason(exc)}") from None

    # ----------------------------------------------------------------- indexing

    def _index_packets(self) -> None:
        """One demuxing pass: every frame's raw pts (presentation order) and keyframes."""
        stream = self._stream
        entries: list[tuple[int, bool]] = []
        for packet in self._container.demux(stream):
            if packet.size == 0:
                continue  # flush packet
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:
                raise VideoError(f"{str(self.path)!r}: packets carry no timestamps; remux it (ffmpeg -i IN -c copy OUT.mp4)")
            entries.append((stamp, bool(packet.is_keyframe)))
        if not entries:
            raise VideoError(f"{str(self.path)!r} has a video stream with no frames (empty or truncated)")
        entries.sort()
        self._raw_pts = [stamp for stamp, _ in entries]
        self._index_of_raw_pts = {stamp: i for i, stamp in enumerate(self._raw_pts)}
        self._keyframes = [i for i, (_, key) in enumerate(entries) if key] or [0]
        start = stream.start_time if stream.start_time is not None else self._raw_pts[0]
        self._time_base: Fraction = stream.time_base
        self._start_raw = start
        self.pts_s = tuple(float((stamp - start) * self._time_base) for stamp in self._raw_pts)
        self._container.seek(0, stream=stream)

    def _read_rotation(self) -> int:
        first = self._decode_frame(0)
        rotation = int(round(getattr(first, "rotation", 0) or 0))
        return (int(round(rotation / 90.0)) * 90) % 360

    def _build_info(self) -> VideoInfo:
        stream = self._stream
        ctx = stream.codec_context
        width, height = ctx.width, ctx.height
        if self._rotation in (90, 270):
            width, height = height, width
        count = len(self.pts_s)
        rate = stream.average_rate or stream.guessed_rate
        if count > 1:
            step = (self.pts_s[-1] - self.pts_s[0]) / (count - 1)
        else:
            step = float(1 / rate) if rate else 0.0
        duration = self.pts_s[-1] - self.pts_s[0] + step
        fps = float(rate) if rate else (count / duration if duration > 0 else 0.0)
        tags = {**self._container.metadata, **stream.metadata}
        camera = camera_from_tags(self._container.metadata, [s.metadata for s in self._container.streams])
        return VideoInfo(
            path=self.path,
            width_px=int(width),
            height_px=int(height),
            fps=fps,
            frame_count=count,
            duration_s=float(duration),
            creation_time_utc=_parse_creation_time(tags.get("creation_time")),
            rotation_deg=self._rotation,
            codec=ctx.name,
            pts_s=self.pts_s,
            camera_model=camera.named_model if camera is not None else None,
            listed_frame_count=_listed_frames(stream, fps, count),
        )

    # ------------------------------------------------------------------ access

    @property
    def frame_count(self) -> int:
        return len(self.pts_s)

    def frame_at(self, index: int, *, image: bool = True) -> Frame:
        """The frame at ``index`` (presentation order); ``image=False`` skips the pixels."""
        if not 0 <= index < len(self.pts_s):
            raise IndexError(f"{str(self.path)!r} has frames 0..{len(self.pts_s) - 1}; asked for {index}")
        av_frame = self._decode_frame(index)
        pixels = self._to_rgb(av_frame) if image else None
        return Frame(index, self.pts_s[index], self.info.width_px, self.info.height_px, pixels)

    def iter_frames(self, indices: Sequence[int] | None = None) -> Iterator[Frame]:
        """Frames at ``indices`` (ascending; all by default), decoding each frame once."""
        for index in range(self.frame_count) if indices is None else indices:
            yield self.frame_at(index)

    def _to_rgb(self, av_frame: Any) -> np.ndarray:
        image = _rgb24(av_frame)
        if self._rotation:
            # FFmpeg's angle is counter-clockwise; np.rot90 turns counter-clockwise too.
            image = np.ascontiguousarray(np.rot90(image, k=self._rotation // 90))
        return image

    def _decode_frame(self, index: int) -> Any:
        import av

        if self._decoder is None or not self._can_reach_by_decoding(index):
            self._seek_before(index)
        try:
            for _attempt in range(3):
                av_frame = self._decode_until(index)
                if av_frame is not None:
                    return av_frame
                # The seek landed after the frame (odd index or open GOP): start earlier.
                self._seek_before(index, earlier=True)
            raise VideoError(f"{str(self.path)!r}: frame {frame_number(index)} (counted from 1) could not be decoded "
                             "(corrupt or truncated video)")
        except av.FFmpegError as exc:
            self._decoder = None
            raise VideoError(
                f"{str(self.path)!r}: decoding frame {frame_number(index)} (counted from 1) failed (corrupt or "
                f"truncated?): {_reason(exc)}"
            ) from None

    def frames_to_decode(self, index: int) -> int:
        """How many frames :meth:`frame_at` would decode to reach ``index`` from where the
        decoder stands (on from its position, or from the keyframe a seek lands on): what
        showing that frame costs, for a caller deciding whether to wait for it."""
        if not 0 <= index < len(self.pts_s):
            raise IndexError(f"{str(self.path)!r} has frames 0..{len(self.pts_s) - 1}; asked for {index}")
        if self._decoder is not None and self._can_reach_by_decoding(index):
            return index - self._next_index + 1
        return index - self._keyframes[max(bisect.bisect_right(self._keyframes, index) - 1, 0)] + 1

    def _can_reach_by_decoding(self, index: int) -> bool:
        """Whether decoding forward is cheaper than seeking.

        A seek pays off only when it skips several frames: it flushes the decoder (and
        its frame threads), so a keyframe just ahead is reached by decoding on.
        """
        if index < self._next_index:
            return False
        k = bisect.bisect_right(self._keyframes, index) - 1
        return self._keyframes[max(k, 0)] - self._next_index < _SEEK_MIN_SKIP

    def _seek_before(self, index: int, *, earlier: bool = False) -> None:
        k = max(bisect.bisect_right(self._keyframes, index) - 1, 0)
        if earlier:
            k = max(k - 1, 0)
            if k == 0:
                self._container.seek(0, stream=self._stream, backward=True)
                self._reset_decoder(0)
                return
        keyframe = self._keyframes[k]
        self._container.seek(self._raw_pts[keyframe], stream=self._stream, backward=True, any_frame=False)
        self._reset_decoder(keyframe)

    def _reset_decoder(self, expected_index: int) -> None:
        self._stream.codec_context.flush_buffers()
        self._decoder = iter(self._container.decode(self._stream))
        self._next_index = expected_index

    def _decode_until(self, index: int) -> Any | None:
        """Decode forward to frame ``index``; ``None`` if the decoder is already past it."""
        assert self._decoder is not None
        for av_frame in self._decoder:
            position = self._position_of(av_frame)
            self._next_index = position + 1
            if position == index:
                return av_frame
            if position > index:
                return None
        raise VideoError(
            f"{str(self.path)!r}: the stream ended before frame {frame_number(index)} of {self.frame_count} "
            "(counted from 1; a video cut short?)"
        )

    def _position_of(self, av_frame: Any) -> int:
        stamp = av_frame.pts
        if stamp is not None and stamp in self._index_of_raw_pts:
            return self._index_of_raw_pts[stamp]
        return self._next_index  # no usable pts: trust the decoding order

    # --------------------------------------------------------------- life cycle

    def close(self) -> None:
        self._decoder = None
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VideoReader({str(self.path)!r}, {self.frame_count} frames)"


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Size, rate, frame count, duration, creation time and rotation of a video.

    Raises
    ------
    VideoError
        Naming the file when it is missing, not a video, corrupt or truncated.
    """
    with VideoReader(path) as reader:
        return reader.info


def iter_frames(
    path: str | os.PathLike,
    *,
    stride: int = 1,
    fps: float | None = None,
    start_index: int = 0,
) -> Iterator[Frame]:
    """Decode a video's frames in order, every ``stride``-th or about ``fps`` a second.

    Yields :class:`core.types.Frame` with an upright ``uint8[H, W, 3]`` RGB image and the
    frame's true timestamp. ``start_index`` skips selected frames before it (after a
    seek, without decoding them).
    """
    with VideoReader(path) as reader:
        indices = [i for i in select_frame_indices(reader.pts_s, stride=stride, fps=fps) if i >= start_index]
        yield from reader.iter_frames(indices)


def write_video(
    path: str | os.PathLike,
    images: Iterator[np.ndarray] | Sequence[np.ndarray],
    *,
    fps: float = 10.0,
    pts_s: Sequence[float] | None = None,
    rotation_deg: int = 0,
    creation_time_utc: float | None = None,
    codec: str = "libx264",
    gop: int | None = None,
    crf: int = 23,
) -> Path:
    """Encode ``uint8[H, W, 3]`` RGB images into a video (tests, demos, exports).

    ``pts_s`` gives each frame's own timestamp (variable frame rate; millisecond
    resolution), otherwise frames are ``1 / fps`` apart. ``rotation_deg``
    (counter-clockwise, as FFmpeg reads it back) is written as display-matrix metadata.
    ``creation_time_utc`` (UNIX seconds) becomes the ``creation_time`` tag.
    """
    import av

    path = Path(path)
    container = av.open(str(path), mode="w")
    try:
        if creation_time_utc is not None:
            moment = _dt.datetime.fromtimestamp(creation_time_utc, tz=_dt.timezone.utc)
            container.metadata["creation_time"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        rate = Fraction(fps).limit_denominator(1001)
        stream = container.add_stream(codec, rate=rate)
        time_base = Fraction(1, 1000) if pts_s is not None else 1 / rate
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        stream.pix_fmt = "yuv420p"
        options = {"crf": str(crf)} if codec == "libx264" else {}
        if gop is not None:
            stream.codec_context.gop_size = gop
            if codec == "libx264":
                options["keyint"] = str(gop)
                options["scenecut"] = "0"
        stream.options = options
        if rotation_deg:
            stream.set_display_rotation(rotation_deg)
        for i, image in enumerate(images):
            if i == 0:
                stream.height, stream.width = image.shape[:2]
            av_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            av_frame.pts = round(pts_s[i] * 1000) if pts_s is not None else i
            for packet in stream.encode(av_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    return path


__all__ = ["VideoInfo", "VideoReader", "iter_frames", "probe_video", "select_frame_indices", "write_video"]


def _listed_frames(stream: Any, fps: float, held: int) -> int:
    """The frames the container says its video stream has: its frame count (MP4, MOV), else
    its stream's length times its rate (Matroska writes a ``DURATION`` tag, not a count),
    where that is clearly more than the ``held`` frames (a frame's rounding is no loss); 0
    when it says neither. The container's own length is not used: an audio track may run
    past the video."""
    if stream.frames:
        return int(stream.frames)
    seconds = None
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    else:
        tag = str((stream.metadata or {}).get("DURATION", ""))
        parts = tag.split(":")
        if len(parts) == 3:
            try:
                seconds = int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
            except ValueError:
                seconds = None
    if not seconds or not fps or not math.isfinite(seconds):
        return 0
    listed = int(round(seconds * fps))
    return listed if listed - held >= max(2, 0.01 * listed) else 0


#: Where a run's settings record the video it analysed (:func:`video_record`).
VIDEO_KEY = "video"


def video_record(path: Path, video: VideoInfo) -> dict[str, Any]:
    """What tells the analysed video from another file put in its place (DJI names
    restart at DJI_0001 on every card): its size in bytes, frames and length."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        size = None
    record: dict[str, Any] = {"bytes": size, "frames": int(video.frame_count),
                              "duration_s": round(float(video.duration_s), 3)}
    if video.listed_frame_count > video.frame_count:  # a copy cut short: what its index still lists
        record["listed_frames"] = int(video.listed_frame_count)
    return record


def video_change(recorded: Any, now: Mapping[str, Any]) -> str | None:
    """How the video ``now`` differs from the one a run ``recorded`` (``None``: the same,
    or nothing recorded: a run of an older damagemap)."""
    if not isinstance(recorded, Mapping):
        return None
    differs = []
    if isinstance(recorded.get("frames"), int) and recorded["frames"] != now.get("frames"):
        differs.append(f"{now.get('frames')} frames, it had {recorded['frames']}")
    if isinstance(recorded.get("bytes"), int) and now.get("bytes") is not None and recorded["bytes"] != now["bytes"]:
        differs.append(f"{now['bytes']:,} bytes, it had {recorded['bytes']:,}")
    return "; ".join(differs) or None
