"""Whether a track written on a video's own clock is that video's.

A DJI SRT (and any track whose times count from the start of a video: a GoPro's GPS read
from another file) is written beside one video, and nothing in its times ties it to that
video: the SRT of another recording lines up with any video just as well. What both files
carry says whether they belong together:

- **length**: the SRT's last subtitle ends where its video ends, to within a cue;
- **frames**: a per-frame SRT's counter (``FrameCnt``, ``SrtCnt``) spans the video's frames;
- **dates**: the SRT's date lines and the video's creation time come from the drone's one
  clock; the SRT writes local time with no zone and the video's stamp may be UTC, so only a
  gap wider than any time zone (14 h), the video's length and a quarter of an hour counts;
- **names**: the drone names a video and its SRT alike (``DJI_0123.MP4``, ``DJI_0123.SRT``);
  other numbers are a hint added to the evidence, never evidence alone.

A track is **refused** (:attr:`VideoMatch.refused`) only where the dates and the length (or
the frames) disagree together: another recording's SRT. Either alone is only a caution, as
a real flight gives one on its own: a video trimmed or cut short (length), one re-encoded at
another frame rate (frames), one re-saved by an editor, which stamps it anew (dates). A
video cut from the SRT's recording and re-saved by an editor gives both; its SRT lines up
only with the offset of the cut, and an offset given takes the track as the video's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geo.telemetry.track import TimeBase, Track

#: The SRT and the video differ in length by more than this many seconds ...
LENGTH_SLACK_S = 3.0
#: ... and by more than this share of the video's length: evidence (a DJI SRT covers its
#: video to within a cue; a video trimmed by a little, or one whose last cue runs past its
#: end, stays within both).
LENGTH_SLACK_SHARE = 0.10
#: The widest time-zone offset (UTC+14): the SRT's dates are local time, the video's stamp
#: may be UTC.
ZONE_OFFSET_S = 14 * 3600.0
#: Beyond the zone offset and the video's length (a camera may stamp the file as it closes
#: it), this much more before the dates count.
STAMP_SLACK_S = 15 * 60.0
#: A clock before this was never set (a camera's 1904/1970/2000 default): no evidence.
CLOCK_SET_AFTER_UTC = dt.datetime(2010, 1, 1, tzinfo=dt.timezone.utc).timestamp()

#: ``DJI_0123`` or ``DJI_20240614201546_0037_D``: the drone's number of the recording.
_DJI_NUMBER = re.compile(r"^DJI_(?:\d{14}_)?(\d{4})(?:_|$)", re.IGNORECASE)


@dataclass(frozen=True)
class VideoFacts:
    """What a video says of itself (``engine.video.VideoInfo``): its length, creation time
    (``None``: not written), frames (``None``: not known) and file."""

    duration_s: float
    creation_time_utc: float | None = None
    frame_count: int | None = None
    path: Path | None = None

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> VideoFacts:
        """From ``engine.video.VideoInfo.as_dict()`` (or the stored geometry a project keeps)."""
        created, frames, path = info.get("creation_time_utc"), info.get("frame_count"), info.get("path")
        return cls(float(info.get("duration_s") or 0.0), None if created is None else float(created),
                   int(frames) if frames else None, Path(path) if path else None)


@dataclass(frozen=True)
class Evidence:
    """One way a track and a video disagree: ``kind`` is ``"length"``, ``"frames"`` or
    ``"dates"``; ``text`` says it with the numbers of both."""

    kind: str
    text: str


@dataclass(frozen=True)
class VideoMatch:
    """What a track on a video's clock and the video say of each other (:func:`match_video`)."""

    track: Track
    video: VideoFacts
    evidence: tuple[Evidence, ...] = ()
    #: the names' hint (``DJI_0023`` beside ``DJI_0024``), said only with some evidence
    names: str | None = None

    @property
    def refused(self) -> bool:
        """The dates and the length (or frames) disagree together: another video's track."""
        kinds = {e.kind for e in self.evidence}
        return "dates" in kinds and bool(kinds & {"length", "frames"})

    def _said(self) -> str:
        said = "; ".join(e.text for e in self.evidence)
        return said + (f"; {self.names}" if self.names else "")

    @property
    def refusal(self) -> str | None:
        """The refusal, naming both files and the evidence; ``None`` when not refused."""
        if not self.refused:
            return None
        video = self.video.path.name if self.video.path is not None else "the video"
        return (f"{self.track.path or self.track.name}: telemetry of another video, not {video}'s: {self._said()}. "
                "Give the telemetry the drone wrote with this video (it names both alike: DJI_0123.MP4 and "
                "DJI_0123.SRT); if the video was cut from the recording this telemetry was written with, set the offset of the cut (--offset S; "
                "in the app, Analysis > Georeferencing…), which takes it as the video's")

    @property
    def caution(self) -> str | None:
        """A caution naming both files and the evidence; ``None`` without evidence."""
        if not self.evidence:
            return None
        video = self.video.path.name if self.video.path is not None else "the video"
        why = "the drone writes one for each video: check that their names match"
        if {e.kind for e in self.evidence} == {"dates"}:
            why += "; an editor that re-saved the video stamps it with its own date"
        return f"{self.track.name} may be another video's telemetry, not {video}'s: {self._said()} ({why})"


def match_video(track: Track, video: VideoFacts) -> VideoMatch:
    """Compare ``track`` with ``video`` on what both carry (the module says what and how
    much counts). No evidence for a track on another clock (a GPX is checked by its
    dates against the video's, ``geo.sync.align_track``) or read from the video itself."""
    if track.time_base is not TimeBase.VIDEO or _same_file(track.path, video.path):
        return VideoMatch(track, video)
    length, frames = _length(track, video), _frames(track, video)
    if length is not None and frames is not None:  # one disagreement, measured twice: said once
        length = Evidence("length", f"{length.text} ({track.frames_counted} frames by its counter, the video "
                                    f"{video.frame_count})")
        frames = None
    evidence = [e for e in (length, frames, _dates(track, video)) if e is not None]
    return VideoMatch(track, video, tuple(evidence), _names(track.path, video.path) if evidence else None)


def track_length_s(track: Track) -> float:
    """How long the video a track on its clock was written for runs: its last subtitle's
    end, else its last sample and one step more."""
    if track.video_end_s is not None:
        return float(track.video_end_s)
    return float(track.end_s + max(track.median_step_s(), 0.0))


def _differ(a: float, b: float, whole: float, slack: float) -> bool:
    return abs(a - b) > max(slack, LENGTH_SLACK_SHARE * whole)


def _length(track: Track, video: VideoFacts) -> Evidence | None:
    length = track_length_s(track)
    if not video.duration_s > 0 or not _differ(length, video.duration_s, video.duration_s, LENGTH_SLACK_S):
        return None
    if track.cut_off is not None and length < video.duration_s:  # a logger that died in flight: said already
        return None
    return Evidence("length", f"it runs {length:.1f} s and the video {video.duration_s:.1f} s")


def _frames(track: Track, video: VideoFacts) -> Evidence | None:
    counted, frames = track.frames_counted, video.frame_count
    if not counted or not frames or not video.duration_s > 0:
        return None
    fps = frames / video.duration_s
    if not _differ(counted, frames, frames, LENGTH_SLACK_S * fps):
        return None
    return Evidence("frames", f"its frame counter spans {counted} frames and the video holds {frames}")


def _dates(track: Track, video: VideoFacts) -> Evidence | None:
    recorded, created = track.wall_clock_start_utc, video.creation_time_utc
    if recorded is None or created is None or min(recorded, created) < CLOCK_SET_AFTER_UTC:
        return None
    gap = abs(recorded - created)
    if gap <= ZONE_OFFSET_S + max(video.duration_s, 0.0) + STAMP_SLACK_S:
        return None
    clock = "UTC" if track.wall_clock_is_utc else "the drone's local time"
    return Evidence("dates", f"its dates start {_when(recorded)} ({clock}) and the video was created {_when(created)} UTC, "
                             f"{apart_text(gap)} apart (more than any time zone)")


def _when(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def apart_text(seconds: float) -> str:
    """How far apart two clocks are, in words: "8.0 years", "12 days", "16 h"."""
    days = seconds / 86400.0
    if days >= 730:
        return f"{days / 365.25:.1f} years"
    if days >= 2:
        return f"{days:.0f} days"
    return f"{seconds / 3600.0:.0f} h"


def _names(track_path: Path | None, video_path: Path | None) -> str | None:
    """The names' hint: both named as the drone names its recordings, with other numbers."""
    if track_path is None or video_path is None:
        return None
    ours, theirs = _DJI_NUMBER.match(Path(track_path).stem), _DJI_NUMBER.match(Path(video_path).stem)
    if ours is None or theirs is None or ours.group(1) == theirs.group(1):
        return None
    return (f"and their names differ ({Path(track_path).name} beside {Path(video_path).name}: the drone gives a video "
            "and its SRT one number)")


def _same_file(a: Path | None, b: Path | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


__all__ = ["Evidence", "VideoFacts", "VideoMatch", "apart_text", "match_video", "track_length_s"]
