"""GPX 1.0/1.1 tracks: every track and segment, in time order.

The file is read in one streaming pass (ElementTree's pull parser, fed the decoded text
in chunks): each point is turned into a sample as soon as it closes and then dropped,
so no document tree is kept, and memory stays close to that of the samples themselves
(``bench/bench_telemetry.py`` measures it). The XML is parsed by expat: external
entities are never fetched and entity expansion is bounded.

What is read, as GPX defines it: ``<trkpt>`` (else ``<rtept>``) ``lat``/``lon``
attributes, ``<ele>``, ``<time>`` (ISO 8601; UTC unless it says otherwise), the
dilution of precision ``<hdop>``/``<vdop>``/``<pdop>`` (as GPS accuracy in metres,
``geo.telemetry.accuracy``) and, in GPX 1.0 track points, ``<course>``; elements in the
file's own namespace only, as gpxpy reads them. Extensions and other fields are ignored. Points with no time, an
unreadable time or impossible coordinates are skipped and counted in the notes.

A file cut off mid-document (a logger that lost power in flight) keeps every point that
closed before the break, with a note on where the file breaks and from when on the flight
is missing; any other XML error refuses the file, naming the line.
"""

from __future__ import annotations

import calendar
import datetime as dt
import gc
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import TelemetryError
from core.types import TelemetrySample
from geo.telemetry._text import read_text
from geo.telemetry.accuracy import gps_accuracy_m
from geo.telemetry.track import TimeBase, Track, time_order_note

#: ISO 8601 date-times as GPX writers emit them (the forms gpxpy accepts).
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[T ]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})"
    r"(?:\.([0-9]{1,15}))?(Z|[-+\u2212][0-9]{2}:?(?:[0-9]{2})?)?"
)
_CHUNK_CHARS = 1 << 20

_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a log's samples are built.

    A million new samples (none in a reference cycle) make the collector sweep the whole
    heap again and again, which doubles the read time. Readers in several threads nest:
    the collector is back on when the last one finishes, if it was on before the first.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def _utc_seconds(text: str | None) -> float | None:
    """UNIX seconds of a GPX ``<time>``; ``None`` when there is none or it is unreadable.
    A time without a zone is UTC (GPX times are UTC by the schema; some writers omit the 'Z')."""
    if not text:
        return None
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    fields = (int(year), int(month), int(day), int(hour), int(minute), int(second))
    try:
        dt.datetime(*fields)  # validates the calendar date and the clock
    except ValueError:
        return None
    micro = int((fraction or "")[:6].ljust(6, "0"))
    offset_min = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] in "-\u2212" else 1
        digits = zone[1:].replace(":", "")
        offset_min = sign * (int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0))
    whole = calendar.timegm(fields + (0, 0, 0)) - offset_min * 60
    return (whole * 10**6 + micro) / 10**6  # as datetime.timestamp() computes it


def _float(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _child_text(element: ET.Element, tag: str) -> str | None:
    child = element.find(tag)
    return None if child is None else child.text


class _Reader:
    """Collects samples from the pull parser's events, one point at a time."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.tracks = self.segments = self.waypoints = 0
        self.track_points: list[TelemetrySample] = []
        self.route_points: list[TelemetrySample] = []
        self.count = {"trkpt": 0, "rtept": 0}
        self.untimed = {"trkpt": 0, "rtept": 0}
        self.bad_time = {"trkpt": 0, "rtept": 0}
        self.first_bad_time: str | None = None
        self.bad = {"trkpt": 0, "rtept": 0}
        self.has_ele = False
        self._stack: list[ET.Element] = []
        self._names(None)

    def _names(self, namespace: str | None) -> None:
        """Element names in the root's (default) namespace, as ElementTree spells them."""
        ns = "" if namespace is None else namespace
        self.ns = ns
        self.trkpt, self.rtept, self.wpt = ns + "trkpt", ns + "rtept", ns + "wpt"
        self.trk, self.trkseg = ns + "trk", ns + "trkseg"
        self.time, self.ele, self.course = ns + "time", ns + "ele", ns + "course"
        self.hdop, self.vdop, self.pdop = ns + "hdop", ns + "vdop", ns + "pdop"

    def handle(self, events) -> None:
        stack = self._stack
        for event, element in events:
            if event == "start":
                if not stack:
                    self.version = element.get("version")
                    tag = element.tag
                    self._names(tag[:tag.index("}") + 1] if tag.startswith("{") else None)
                stack.append(element)
                continue
            stack.pop()
            tag = element.tag
            if tag == self.trkpt or tag == self.rtept:
                self._point("trkpt" if tag == self.trkpt else "rtept", element)
                if stack:
                    # Keep no tree: drop one child of the parent per point read. The events
                    # come a chunk at a time, so the last child may be a later sibling, already
                    # built; it is still read from its own event. Each point's start comes
                    # before its end, so the parent is never empty here.
                    del stack[-1][-1]
            elif tag == self.trkseg:
                self.segments += 1
            elif tag == self.trk:
                self.tracks += 1
            elif tag == self.wpt:
                self.waypoints += 1
                if stack:
                    del stack[-1][-1]

    def _point(self, tag: str, element: ET.Element) -> None:
        self.count[tag] += 1
        time_text = _child_text(element, self.time)
        t_s = _utc_seconds(time_text)
        if t_s is None:
            if time_text is not None and time_text.strip():
                self.bad_time[tag] += 1
                self.first_bad_time = self.first_bad_time or time_text.strip()
            else:
                self.untimed[tag] += 1
            return
        ele = _float(_child_text(element, self.ele))
        course = _float(_child_text(element, self.course)) if tag == "trkpt" and self.version != "1.1" else None
        h_acc, v_acc = gps_accuracy_m(hdop=_float(_child_text(element, self.hdop)),
                                      vdop=_float(_child_text(element, self.vdop)),
                                      pdop=_float(_child_text(element, self.pdop)))
        try:
            sample = TelemetrySample(
                t_s=t_s,
                lat_deg=float(element.get("lat", "nan")),
                lon_deg=float(element.get("lon", "nan")),
                alt_abs_m=ele,
                yaw_deg=None if course is None else course % 360.0,
                h_accuracy_m=h_acc,
                v_accuracy_m=v_acc,
            )
        except (ValueError, TypeError):
            self.bad[tag] += 1
            return
        self.has_ele = self.has_ele or ele is not None
        (self.track_points if tag == "trkpt" else self.route_points).append(sample)


def _parse_reason(error: ET.ParseError) -> str:
    """Expat's words for ``error`` without the position ("unclosed token")."""
    return str(error).split(":", 1)[0].strip() or "XML error"


def _cut_note(error: ET.ParseError, points: int, kind: str, samples: list[TelemetrySample]) -> str:
    """The note on a GPX that ends mid-document: how much of it was read, and from when on
    the flight is missing (the time of its latest point read)."""
    last = dt.datetime.fromtimestamp(max(s.t_s for s in samples), dt.timezone.utc)
    return (f"the file is cut off at line {error.position[0]} ({_parse_reason(error)}) after {points} whole {kind} "
            f"point{'' if points == 1 else 's'}: whatever was logged after {last:%H:%M:%S} UTC "
            f"({last:%Y-%m-%d}) is not in it")


def read_gpx(path: str | Path) -> Track:
    """Read the track points (or, lacking tracks, route points) of a GPX file.

    Points without a time are dropped with a note; a file whose points carry no time at
    all cannot be aligned with a video and is refused. A file that ends mid-document (a
    logger that died in flight) keeps the points that closed before the break, with a note
    on where it breaks; one cut off before its first whole point is refused.

    Raises
    ------
    TelemetryError
        Naming the file: not GPX, no points (or cut off before the first), or no timestamps.
    """
    path = Path(path)
    text = read_text(path, "GPX")
    parser = ET.XMLPullParser(events=("start", "end"))
    reader = _Reader()
    cut: ET.ParseError | None = None
    try:
        with _gc_paused():
            for i in range(0, len(text), _CHUNK_CHARS):
                parser.feed(text[i:i + _CHUNK_CHARS])
                reader.handle(parser.read_events())
            del text
            try:
                parser.close()
            except ET.ParseError as exc:
                # Every byte was well-formed, but the document does not end: the file was cut
                # off (a logger that died mid-flight). Each point that closed is still read.
                cut = exc
            reader.handle(parser.read_events())
    except ET.ParseError as exc:
        raise TelemetryError(f"{path}: not a readable GPX file: {str(exc).strip() or 'XML error'}") from None

    source = "trkpt"
    if not reader.count["trkpt"]:
        source = "rtept"
    points = reader.count[source]
    if cut is not None and not points:
        raise TelemetryError(f"{path}: not a readable GPX file: it is cut off at line {cut.position[0]} "
                             f"({_parse_reason(cut)}), before its first whole track point")
    if not points:
        extra = "" if not reader.waypoints else (
            f", only {reader.waypoints} waypoint{'' if reader.waypoints == 1 else 's'} (places marked, not the "
            "flight's path: export the drone's track as a GPX, or use its SRT or flight log)")
        raise TelemetryError(f"{path}: the GPX file has no track or route points{extra}")
    kind = "track" if source == "trkpt" else "route"
    untimed, bad_time, bad = reader.untimed[source], reader.bad_time[source], reader.bad[source]
    if untimed + bad_time == points:
        detail = f" ({bad_time} unreadable, e.g. '{reader.first_bad_time}')" if bad_time else ""
        raise TelemetryError(
            f"{path}: none of the {points} GPX {kind} points has a timestamp{detail}, so the track "
            "cannot be aligned with a video; use the drone's SRT or flight log instead"
        )
    samples = reader.track_points if source == "trkpt" else reader.route_points
    if not samples:
        raise TelemetryError(f"{path}: no GPX point has valid coordinates")
    disorder = time_order_note(samples)
    samples.sort(key=lambda s: s.t_s)

    notes = [disorder] if disorder else []
    if untimed:
        notes.append(f"{untimed} of {points} points have no time and were skipped")
    if bad_time:
        notes.append(f"{bad_time} of {points} points have an unreadable time (e.g. "
                     f"'{reader.first_bad_time}') and were skipped")
    if bad:
        notes.append(f"{bad} points have invalid coordinates and were skipped")
    if not reader.has_ele:
        notes.append("no elevation in the file")
    cut_off = None if cut is None else _cut_note(cut, points, kind, samples)
    if cut_off is not None:
        notes.append(cut_off)
    version = reader.version or "?"
    detail = f"GPX {version}, {reader.tracks} track(s), {reader.segments} segment(s)"
    if source == "rtept":
        detail = f"GPX {version}, route points"
    return Track(
        samples=tuple(samples),
        path=path,
        format="gpx",
        time_base=TimeBase.UTC,
        format_detail=detail,
        notes=tuple(notes),
        cut_off=cut_off,
    )
