"""The :class:`Track`: telemetry samples read from one file, with what is known about them."""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

import numpy as np

from core.types import TelemetrySample


def time_order_note(samples: Sequence[TelemetrySample], unit: str = "points") -> str | None:
    """A note on a file whose times go backwards between neighbours (a logger's clock set
    back, files merged one into another), before its samples are put in time order.
    ``None`` for a file in time order, or written in reverse order as a whole (ties
    aside). Put in time order, such a track
    zigzags between the two stretches that overlap: where the flight was then is not
    known from the file."""
    times = [s.t_s for s in samples]
    backward = sum(1 for a, b in zip(times, times[1:]) if b < a)
    forward = sum(1 for a, b in zip(times, times[1:]) if b > a)
    if backward == 0 or forward == 0:  # in order, or newest first throughout (ties aside)
        return None
    return (f"the times go backwards {backward} time{'' if backward == 1 else 's'} between one of its {unit} and "
            "the next (a logger's clock set back, or files merged): the " + unit + " are put in time order, "
            "which may zigzag the track where the stretches overlap; check the track on the map, or cut the "
            "file to one flight's stretch")


class TimeBase(enum.Enum):
    """Which clock a track's ``TelemetrySample.t_s`` runs on.

    ``UTC``: UNIX epoch seconds (GPX, flight logs with a date), aligned to a video by its
    creation time. ``VIDEO``: seconds from the start of the video (per-frame DJI SRT).
    ``LOG``: seconds from the start of the log, with no known date (a CSV with a relative
    time column only); aligned by assuming the log starts with the video.
    """

    UTC = "utc"
    VIDEO = "video"
    LOG = "log"


#: A gap between consecutive samples longer than this, and than ``GAP_FACTOR`` times the
#: track's median step, is reported and never interpolated across.
MIN_GAP_S = 2.0
GAP_FACTOR = 5.0


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch without samples: ``start_s`` and ``end_s`` are the samples either side."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Track:
    """Telemetry samples of one file, sorted by time.

    Attributes
    ----------
    samples : tuple[TelemetrySample, ...]
        Sorted by ``t_s``; samples without a usable position are already dropped.
    path : Path | None
        The file read.
    format : str
        ``"gpx"``, ``"dji-srt"`` or ``"csv"`` (with the flavour in ``format_detail``).
    time_base : TimeBase
        The clock of ``t_s``.
    format_detail : str
        A human description of the variant found (e.g. ``"DJI SRT, per-frame, [latitude: ..]"``).
    wall_clock_start_utc : float | None
        For video-relative tracks (SRT), the drone's wall clock at ``t_s == 0`` read as if
        it were UTC (DJI writes local time with no zone): informative only.
    notes : tuple[str, ...]
        Things a user should know (dropped entries, clock breaks, assumed units).
    coordinate_order : str | None
        For files that write positions as an unnamed pair (DJI ``GPS(a, b, ..)``), the
        order read: ``"lat,lon"`` or ``"lon,lat"``; ``None`` where the fields are named.
    recordings : tuple[tuple[float, float], ...]
        The spans ``(start, end)``, on the clock of ``t_s``, in which the log marks the
        camera recording video (Airdata's ``isVideo``): one of them is the video's, which
        lines a log up with a video that has no creation time.
    home : tuple[float, float, float | None] | None
        The home point (take-off) the file writes, ``(lat, lon, altitude or None)``
        (a DJI SRT's ``HOME(..)``); ``None`` where it writes none.
    altitude_sources : tuple[tuple[str, str], ...]
        What each altitude was read from and what it is measured from, as
        ``("rel" | "abs", text)``: e.g. ``("rel", "rel_alt: height above the take-off
        point")``; empty where the reader does not say (the summary then says it generally).
    cut_off : str | None
        For a file that ends mid-write (its logger lost power in flight), the note among
        ``notes`` that says where it breaks, which the analysis repeats as a caution;
        ``None`` for a whole file.
    video_end_s : float | None
        For a file written with its video (a DJI SRT), where its last entry ends on the
        video's clock (the last subtitle's end time): the length of the video it was
        written for, to within a frame. ``None`` where the file does not say.
    frames_counted : int | None
        For a per-frame DJI SRT, the frames its counter (``FrameCnt``, ``SrtCnt``) spans
        from its first entry to its last: the frames of the video it was written with.
        ``None`` without a counter, or where it restarts (recordings merged into one file).
    """

    samples: tuple[TelemetrySample, ...]
    path: Path | None
    format: str
    time_base: TimeBase
    format_detail: str = ""
    wall_clock_start_utc: float | None = None
    notes: tuple[str, ...] = field(default=())
    coordinate_order: str | None = None
    recordings: tuple[tuple[float, float], ...] = ()
    home: tuple[float, float, float | None] | None = None
    altitude_sources: tuple[tuple[str, str], ...] = ()
    cut_off: str | None = None
    video_end_s: float | None = None
    frames_counted: int | None = None

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError("Track: needs at least one sample")

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "<telemetry>"

    @property
    def wall_clock_is_utc(self) -> bool:
        """Whether ``wall_clock_start_utc`` is UTC (a GoPro's GPS clock), not local time
        written with no zone (a DJI drone's clock)."""
        return self.format == "gopro-gpmf"

    def _column(self, attr: str) -> np.ndarray:
        """``float64[N]`` of a numeric sample field, built once (C loops, no per-sample
        Python code: a million-sample log is read in many places) and never handed out."""
        cache = self.__dict__.setdefault("_columns", {})  # frozen: filled in place, not assigned
        if attr not in cache:
            column = np.fromiter(map(attrgetter(attr), self.samples), dtype=np.float64, count=len(self.samples))
            column.flags.writeable = False
            cache[attr] = column
        return cache[attr]

    def times_s(self) -> np.ndarray:
        return self._column("t_s").copy()

    def lonlat(self) -> np.ndarray:
        """``float64[N, 2]`` ``(lon, lat)`` in degrees."""
        return np.column_stack((self._column("lon_deg"), self._column("lat_deg")))

    @property
    def start_s(self) -> float:
        return self.samples[0].t_s

    @property
    def end_s(self) -> float:
        return self.samples[-1].t_s

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def bbox(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)``; across 180° longitude ``west`` is more than
        ``east`` (as RFC 7946 writes such a box), not the whole world from -180 to 180."""
        from geo.antimeridian import central_longitude, unwrap_longitudes

        ll = self.lonlat()
        lon = unwrap_longitudes(ll[:, 0], central_longitude(ll[:, 0]))
        west, east = unwrap_longitudes(np.array([lon.min(), lon.max()]), 0.0)
        return float(west), float(ll[:, 1].min()), float(east), float(ll[:, 1].max())

    def altitudes(self, which: str = "rel") -> np.ndarray:
        """``float64[N]``: ``alt_rel_m`` (``which="rel"``) or ``alt_abs_m`` (``"abs"``) of
        every sample, NaN where the sample has none."""
        return self._column({"rel": "alt_rel_m", "abs": "alt_abs_m"}[which]).copy()

    def altitude_range(self, which: str = "rel") -> tuple[float, float] | None:
        """Min and max of ``alt_rel_m`` (``which="rel"``) or ``alt_abs_m`` (``"abs"``)."""
        attr = {"rel": "alt_rel_m", "abs": "alt_abs_m"}[which]
        values = [getattr(s, attr) for s in self.samples if getattr(s, attr) is not None]
        values = [v for v in values if math.isfinite(v)]
        return (min(values), max(values)) if values else None

    def median_step_s(self) -> float:
        t = self._column("t_s")
        if len(t) < 2:
            return 0.0
        return float(np.median(np.diff(t)))

    def max_gap_s(self) -> float:
        """The longest step this track interpolates across."""
        return max(MIN_GAP_S, GAP_FACTOR * self.median_step_s())

    def gaps(self) -> list[Gap]:
        """Steps between consecutive samples longer than :meth:`max_gap_s`."""
        t = self._column("t_s")
        if len(t) < 2:
            return []
        limit = self.max_gap_s()
        idx = np.flatnonzero(np.diff(t) > limit)
        return [Gap(float(t[i]), float(t[i + 1])) for i in idx]

    def has(self, attr: str) -> bool:
        """True if any sample carries ``attr`` (e.g. ``"gimbal_pitch_deg"``)."""
        cache = self.__dict__.setdefault("_has", {})
        if attr not in cache:
            values = list(map(attrgetter(attr), self.samples))
            cache[attr] = values.count(None) < len(values)
        return cache[attr]
