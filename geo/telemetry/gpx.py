"""GPX 1.0/1.1 tracks via gpxpy: every track and segment, in time order."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from core.errors import TelemetryError
from core.types import TelemetrySample
from geo.telemetry._text import read_text
from geo.telemetry.track import TimeBase, Track


def _utc_seconds(time: dt.datetime) -> float:
    if time.tzinfo is None:  # GPX times are UTC by the schema; some writers omit the 'Z'
        time = time.replace(tzinfo=dt.timezone.utc)
    return time.timestamp()


_FIX_VALUES = ("none", "2d", "3d", "dgps", "pps")
_NONSTANDARD_FIX = re.compile(r"<fix>\s*(?!(?:%s)\s*</fix>)[^<]*</fix>" % "|".join(_FIX_VALUES))


def _drop_nonstandard_fix(text: str) -> str:
    """gpxpy refuses a ``<fix>`` outside the schema's values; real writers emit some."""
    return _NONSTANDARD_FIX.sub("", text)


def read_gpx(path: str | Path) -> Track:
    """Read the track points (or, lacking tracks, route points) of a GPX file.

    Points without a time are dropped with a note; a file whose points carry no time at
    all cannot be aligned with a video and is refused.

    Raises
    ------
    TelemetryError
        Naming the file: not GPX, no points, or no timestamps.
    """
    import gpxpy
    import gpxpy.gpx

    path = Path(path)
    text = _drop_nonstandard_fix(read_text(path, "GPX"))
    try:
        gpx = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TelemetryError(f"{path}: not a readable GPX file: {first_line}") from None

    points = [p for track in gpx.tracks for segment in track.segments for p in segment.points]
    source = "track"
    if not points:
        points = [p for route in gpx.routes for p in route.points]
        source = "route"
    if not points:
        extra = f" (only {len(gpx.waypoints)} waypoint(s))" if gpx.waypoints else ""
        raise TelemetryError(f"{path}: the GPX file has no track or route points{extra}")

    timed = [p for p in points if p.time is not None]
    if not timed:
        raise TelemetryError(
            f"{path}: none of the {len(points)} GPX {source} points has a timestamp, so the track "
            "cannot be aligned with a video; use the drone's SRT or flight log instead"
        )
    samples = []
    bad = 0
    for point in timed:
        course = getattr(point, "course", None)
        try:
            samples.append(
                TelemetrySample(
                    t_s=_utc_seconds(point.time),
                    lat_deg=float(point.latitude),
                    lon_deg=float(point.longitude),
                    alt_abs_m=None if point.elevation is None else float(point.elevation),
                    yaw_deg=None if course is None else float(course) % 360.0,
                )
            )
        except (ValueError, TypeError):
            bad += 1
    if not samples:
        raise TelemetryError(f"{path}: no GPX point has valid coordinates")
    samples.sort(key=lambda s: s.t_s)

    notes = []
    if len(timed) < len(points):
        notes.append(f"{len(points) - len(timed)} of {len(points)} points have no time and were skipped")
    if bad:
        notes.append(f"{bad} points have invalid coordinates and were skipped")
    if not any(s.alt_abs_m is not None for s in samples):
        notes.append("no elevation in the file")
    segments = sum(len(t.segments) for t in gpx.tracks)
    version = gpx.version or "?"
    detail = f"GPX {version}, {len(gpx.tracks)} track(s), {segments} segment(s)"
    if source == "route":
        detail = f"GPX {version}, route points"
    return Track(
        samples=tuple(samples),
        path=path,
        format="gpx",
        time_base=TimeBase.UTC,
        format_detail=detail,
        notes=tuple(notes),
    )
