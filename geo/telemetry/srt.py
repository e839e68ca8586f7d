"""DJI ``.SRT`` subtitle telemetry, every family DJI drones have written.

Families handled (names after dji-embed's ``docs/SRT_FORMATS.md``):

- old one-second cues (Mavic Pro, 2017): ``HOME(lon,lat) yyyy.mm.dd hh:mm:ss`` /
  ``GPS(lon,lat,sats) BAROMETER:h``; the third GPS number is the satellite count, the
  height (above take-off) is ``BAROMETER``;
- Phantom 4 style one-line cues: ``GPS (lon, lat, sats)``, ``H 85.80m`` (above take-off),
  optional ``F.PRY (p°, r°, y°)`` aircraft and ``G.PRY`` gimbal attitude;
- bracketed per-frame cues (Mavic 2, Air 2, Mini 3/4/5, Mavic 3, Neo, Avata...):
  ``<font>FrameCnt|SrtCnt: n, DiffTime: 33ms`` + date line + ``[key: value]`` groups
  such as ``[latitude: ..] [longitude|longtitude: ..]``, ``[rel_alt: .. abs_alt: ..]``,
  ``[altitude: ..]``, ``[focal_len: ..]``, ``[drone_yaw: ..]``, ``[gb_yaw: .. gb_pitch: ..]``,
  GPS accuracy where written (``[hdop: ..]``, ``[vdop: ..]``, ``[pdop: ..]``, ``[hacc: ..]``,
  ``[vacc: ..]``);
  cues may span several lines and even contain a blank line.

The order of the two numbers in ``GPS(a, b, c)`` differs between families: Phantom,
Mavic and Mini one-line cues write ``GPS(lon, lat, sats)``, the Matrice 300 lineage
writes ``GPS(lat, lon, altM) BAROMETER:hM``. The order is decided once per file from
the evidence in the whole file (:func:`_decide_order`): a number beyond ±90 can only be
a longitude; then the family's marks (``M`` units: Matrice; ``HOME(..)``: Mavic Pro /
Phantom); then which order makes the direction of flight agree with the drone's yaw;
else the Phantom/Mavic order, said so in a note. The order chosen is in
:attr:`Track.coordinate_order` and in the format detail.

Cues are found by their timecode lines (``hh:mm:ss,mmm --> ...``), never by splitting
on blank lines. Times are the cue start, on the video's clock.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import TelemetryError
from core.types import TelemetrySample
from geo.telemetry._text import read_text
from geo.telemetry.accuracy import gps_accuracy_m
from geo.telemetry.track import TimeBase, Track

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
#: A whole number token, unit allowed after it (the unit is checked per key).
_NUMBER = re.compile(r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)(.*)", re.DOTALL)
_TIMECODE = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})\s*-->\s*(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})")
#: The per-frame counter of the bracketed families: ``FrameCnt: 12`` / ``SrtCnt : 12``.
_FRAME_COUNTER = re.compile(r"\b(?:FrameCnt|SrtCnt)\s*:\s*(\d+)")
_DATE = re.compile(
    r"(\d{4})[-./](\d{2})[-./](\d{2})[ T]+(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?(?:,(\d{1,3}))?(?:,\d{1,3})*"
)
_TAG = re.compile(r"<[^>]*>")
#: ``key: value``: the value runs to a space, bracket or a comma that is not followed
#: by a digit (``30,15`` stays one, malformed, value; ``10000, delta:0`` is two).
_KEY_VALUE = re.compile(
    r"([A-Za-z_][A-Za-z_]*(?: [a-z])?)\s*:\s*((?:[^\s,\[\]()<>]|,(?=[-+\d.]))+)"
)
_GPS_PAREN = re.compile(r"\bGPS\s*\(([^()]*)\)")
_HOME_PAREN = re.compile(r"\bHOME\s*\([^)]*\)")
#: ``HOME(lon, lat)`` (Mavic Pro) or ``HOME (lon, lat, -57.98m)`` (Phantom 4 RTK): the take-off point.
_HOME = re.compile(rf"\bHOME\s*\(\s*({_NUM})\s*,\s*({_NUM})\s*(?:,\s*({_NUM})\s*m?\s*)?\)")
_HEIGHT = re.compile(rf"(?:^|[\s,])H\s+({_NUM})\s*m\b")
_PRY = re.compile(rf"\b([FG])\.PRY\s*\(\s*({_NUM})\s*°?\s*,\s*({_NUM})\s*°?\s*,\s*({_NUM})\s*°?\s*\)")
_DIGITS = re.compile(r"^\s*\d+\s*$")


@dataclass(frozen=True, slots=True)
class _Cue:
    ordinal: int
    start_s: float | None
    text: str
    end_s: float | None = None


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000.0


def _split_cues(lines: list[str]) -> list[_Cue]:
    """Cues start at an index line followed by a timecode (or, in files without
    timecodes, a date line); everything up to the next cue start is the cue's body."""
    # (first body line, header line, start_s, end_s)
    starts: list[tuple[int, int, float | None, float | None]] = []
    for i, line in enumerate(lines):
        match = _TIMECODE.match(line)
        if match:
            times = match.groups()
            header = i - 1 if i > 0 and _DIGITS.match(lines[i - 1]) else i
            starts.append((i + 1, header, _seconds(*times[:4]), _seconds(*times[4:])))
    if not starts:  # hand-converted files with no timecode lines: index line + date line
        for i in range(len(lines) - 1):
            if _DIGITS.match(lines[i]) and _DATE.search(lines[i + 1]):
                starts.append((i + 1, i, None, None))
    cues = []
    for k, (body_start, _header, start_s, end_s) in enumerate(starts):
        body_end = starts[k + 1][1] if k + 1 < len(starts) else len(lines)
        text = _TAG.sub(" ", " ".join(lines[body_start:body_end]))
        cues.append(_Cue(k, start_s, text, end_s))
    return cues


def _parse_date(match: re.Match) -> float | None:
    """The date line's UTC seconds, or ``None`` for a date no calendar has (``0000-00-00``,
    a month 13, an hour 25: a camera whose clock was never set, a damaged entry), which is
    read as an entry without a date rather than failing the whole file."""
    year, month, day, hour, minute, second, frac, micro = match.groups()
    try:
        when = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                           tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    t = when.timestamp()
    if frac:
        if len(frac) <= 3:
            t += int(frac) / 10 ** len(frac)
            if micro:
                t += int(micro) / 10 ** (3 + len(micro))
        else:
            t += int(frac) / 10 ** len(frac)
    return float(t)


def _focal_length_mm(raw: str) -> float:
    """``focal_len``: literal millimetres when written with a decimal point (``24.00``),
    otherwise an integer in tenths of a millimetre (``240`` = 24 mm)."""
    value = float(raw)  # already checked to be a finite number (``240``, ``24.00``, ``2.4e2``)
    return value if "." in raw else value / 10.0


@dataclass
class _Parsed:
    """What one cue holds. ``lat``/``lon`` come from named keys (``[latitude: ..]``);
    ``gps_pair`` is the ``GPS(a, b, ..)`` pair whose order the whole file decides."""

    cue: _Cue
    t_s: float
    date_s: float | None
    per_frame: bool
    lat: float | None = None
    lon: float | None = None
    gps_pair: tuple[float, float] | None = None
    fields: dict | None = None
    sample: TelemetrySample | None = None
    #: ``'key: value'`` of a malformed or impossible position, when that lost the entry
    bad_position: str | None = None
    #: ``'key: value'`` of malformed optional fields (dropped)
    bad_fields: tuple[str, ...] = ()
    #: the position as written, for messages
    written: str = ""
    #: the ``HOME(a, b[, alt])`` numbers as written (their order is the file's GPS order)
    home: tuple[float, float, float | None] | None = None
    #: the keys the altitudes were read from: ``{"rel": "rel_alt", "abs": "abs_alt"}``
    altitude_keys: dict[str, str] | None = None


_LENGTH_UNITS = ("", "m", "M")
_ANGLE_UNITS = ("", "°")


def _number(token: str, units: tuple[str, ...] = ("",)) -> float | None:
    """``token`` as a finite float, with one of ``units`` after it; else ``None``."""
    match = _NUMBER.fullmatch(token.strip())
    if match is None or match.group(2).strip() not in units:
        return None
    value = float(match.group(1))
    return value if math.isfinite(value) else None


def _first_float(values: dict[str, str], bad: list[str], *keys: str, units: tuple[str, ...] = ("",),
                 default: float | None) -> float | None:
    """The first of ``keys`` present in ``values``, as a float; else ``default``. A
    malformed value is ``None`` and its ``'key: value'`` is added to ``bad``."""
    for key in keys:
        if key in values:
            value = _number(values[key], units)
            if value is None:
                bad.append(f"{key}: {values[key]}")
            return value
    return default


#: ``M`` after the GPS altitude or the BAROMETER height: the Matrice 300 lineage (lat first).
_METRE_UNIT = re.compile(rf"\bGPS\s*\([^)]*,\s*{_NUM}\s*M\s*\)|\bBAROMETER\s*:\s*{_NUM}\s*M\b")

#: Marks of the Phantom / Mavic / Mini families that write ``GPS(lon, lat, sats)``:
#: a ``HOME(..)`` point, the one-line ``D 2.80m, H 0.00m`` distance and height, or a
#: whole satellite count as the third GPS number.
_PHANTOM_MARKS = {
    "HOME(..)": re.compile(r"\bHOME\s*\("),
    "'D ..m, H ..m'": re.compile(rf"\bD\s+{_NUM}\s*m\b.*\bH\s+{_NUM}\s*m\b"),
    "a satellite count as the third GPS number": re.compile(r"\bGPS\s*\([^),]*,[^),]*,\s*\d+\s*\)"),
}


def _parse_cue(cue: _Cue, t_s: float) -> _Parsed:
    text = cue.text
    date_match = _DATE.search(text)
    date_s = _parse_date(date_match) if date_match else None
    text = _DATE.sub(" ", text)

    alt_abs = alt_rel = yaw = gimbal_pitch = gimbal_yaw = focal = None
    bad_position: list[str] = []
    gps_pair = None
    gps_altitude = None  # the third number of a Matrice's GPS(lat, lon, altM); a satellite count elsewhere
    gps = _GPS_PAREN.search(text)
    if gps:
        parts = gps.group(1).split(",")
        a = _number(parts[0]) if len(parts) >= 2 else None
        b = _number(parts[1]) if len(parts) >= 2 else None
        if a is None or b is None:
            bad_position.append(f"GPS({gps.group(1).strip()})")
        else:
            gps_pair = (a, b)
        if len(parts) >= 3 and re.search(r"\d\s*M\s*$", parts[2]):  # GPS(lat, lon, 12.3M): an altitude
            gps_altitude = _number(parts[2], ("M",))
    for frame_kind, pitch, _roll, yaw_value in _PRY.findall(text):
        if frame_kind == "G":
            gimbal_pitch, gimbal_yaw = float(pitch), float(yaw_value)
        else:
            yaw = float(yaw_value)
    height = _HEIGHT.search(text)
    if height:
        alt_rel = _number(height.group(1))
    home_match = _HOME.search(text)
    home = None
    if home_match:
        a, b, altitude = home_match.groups()
        home = (float(a), float(b), None if altitude is None else float(altitude))

    values: dict[str, str] = {}
    for key, value in _KEY_VALUE.findall(_HOME_PAREN.sub(" ", text)):
        values.setdefault(key.strip().lower(), value)
    lat = _first_float(values, bad_position, "latitude", default=None)
    lon = _first_float(values, bad_position, "longtitude", "longitude", default=None)  # DJI's misspelling
    bad: list[str] = []
    alt_rel = _first_float(values, bad, "rel_alt", "barometer", units=_LENGTH_UNITS, default=alt_rel)
    alt_abs = _first_float(values, bad, "abs_alt", "altitude", units=_LENGTH_UNITS, default=gps_altitude)
    yaw = _first_float(values, bad, "drone_yaw", units=_ANGLE_UNITS, default=yaw)
    gimbal_yaw = _first_float(values, bad, "gb_yaw", units=_ANGLE_UNITS, default=gimbal_yaw)
    gimbal_pitch = _first_float(values, bad, "gb_pitch", units=_ANGLE_UNITS, default=gimbal_pitch)
    h_acc, v_acc = gps_accuracy_m(
        h_acc_m=_first_float(values, bad, "hacc", "h_acc", "gps_hacc", units=_LENGTH_UNITS, default=None),
        v_acc_m=_first_float(values, bad, "vacc", "v_acc", "gps_vacc", units=_LENGTH_UNITS, default=None),
        hdop=_first_float(values, bad, "hdop", default=None), vdop=_first_float(values, bad, "vdop", default=None),
        pdop=_first_float(values, bad, "pdop", default=None))
    if "focal_len" in values:
        if _number(values["focal_len"], ("", "mm")) is None:
            bad.append(f"focal_len: {values['focal_len']}")
        else:
            focal = _focal_length_mm(values["focal_len"].strip().removesuffix("mm"))
    per_frame = any(k in values for k in ("framecnt", "srtcnt", "difftime"))
    altitude_keys = {kind: next((k for k in keys if k in values), fallback) for kind, keys, fallback in (
        ("rel", ("rel_alt", "barometer"), "H" if height else None),
        ("abs", ("abs_alt", "altitude"), "gps" if gps_altitude is not None else None))}
    written = [f"{k}: {values[k]}" for k in ("latitude", "longtitude", "longitude") if k in values]
    if gps:
        written.append(f"GPS({gps.group(1).strip()})")
    fields = dict(
        alt_abs_m=alt_abs,
        alt_rel_m=alt_rel,
        yaw_deg=None if yaw is None else yaw % 360.0,
        gimbal_pitch_deg=gimbal_pitch,
        gimbal_yaw_deg=None if gimbal_yaw is None else gimbal_yaw % 360.0,
        focal_length_mm=focal,
        frame_index=cue.ordinal if per_frame else None,
        h_accuracy_m=h_acc,
        v_accuracy_m=v_acc,
    )
    return _Parsed(cue, t_s, date_s, per_frame, lat, lon, gps_pair, fields,
                   bad_position=bad_position[0] if bad_position else None, bad_fields=tuple(bad),
                   written=", ".join(written), home=home,
                   altitude_keys={kind: key for kind, key in altitude_keys.items() if key is not None})


def _make_sample(p: _Parsed, lat_first: bool) -> TelemetrySample | None:
    """The entry's sample; ``None`` (with ``p.bad_position`` set where a number is to
    blame) when it has no usable position."""
    lat, lon = p.lat, p.lon
    if (lat is None or lon is None) and p.gps_pair is not None:
        a, b = p.gps_pair
        lat, lon = (a, b) if lat_first else (b, a)
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        return None
    try:
        return TelemetrySample(t_s=p.t_s, lat_deg=lat, lon_deg=lon, **p.fields)
    except ValueError:  # out-of-range coordinates: counted as an entry without position
        if p.bad_position is None:
            p.bad_position = f"{p.written}: out of range"
        return None


LAT_LON = "lat,lon"
LON_LAT = "lon,lat"


def _bearing_disagreement_deg(pairs: list[tuple[float, float, float]], lat_first: bool) -> list[float]:
    """For each step of at least 5 m between fixes that carry a yaw: the angle between
    the direction flown (reading the pairs in the given order) and the drone's yaw."""
    out = []
    last = None
    for a, b, yaw in pairs:
        lat, lon = (a, b) if lat_first else (b, a)
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            continue
        if last is None:
            last = (lat, lon)
            continue
        north = (lat - last[0]) * 111_195.0
        east = (lon - last[1]) * 111_195.0 * math.cos(math.radians(lat))
        if math.hypot(east, north) < 5.0:
            continue
        bearing = math.degrees(math.atan2(east, north)) % 360.0
        out.append(abs((bearing - yaw + 180.0) % 360.0 - 180.0))
        last = (lat, lon)
    return out


def _decide_order(parsed: list[_Parsed]) -> tuple[str, str, bool]:
    """``(order, why, sure)`` for the file's ``GPS(a, b, ..)`` pairs.

    Evidence, strongest first: a number beyond ±90 can only be a longitude; the family's
    marks (``M`` units on the GPS altitude or BAROMETER: the Matrice 300 lineage, which
    writes latitude first; ``HOME(..)``: the Mavic Pro / Phantom lineage, longitude
    first); the order in which the direction flown agrees with the drone's yaw; else the
    Phantom/Mavic order (``sure`` False)."""
    pairs = [p.gps_pair for p in parsed if p.gps_pair is not None and (p.lat is None or p.lon is None)]
    first_beyond = sum(1 for a, b in pairs if abs(a) > 90.0 and abs(b) <= 90.0)
    second_beyond = sum(1 for a, b in pairs if abs(b) > 90.0 and abs(a) <= 90.0)
    if first_beyond or second_beyond:
        if first_beyond >= second_beyond:
            return LON_LAT, f"the first number exceeds ±90 in {first_beyond} entries, so it is the longitude", True
        return LAT_LON, f"the second number exceeds ±90 in {second_beyond} entries, so it is the longitude", True

    texts = [p.cue.text for p in parsed if p.gps_pair is not None]
    metre_units = sum(1 for t in texts if _METRE_UNIT.search(t))
    marks = {what: sum(1 for t in texts if mark.search(t)) for what, mark in _PHANTOM_MARKS.items()}
    phantom = max(marks, key=marks.get)
    if metre_units and not marks[phantom]:
        return LAT_LON, "the Matrice format ('M' units in GPS(..) / BAROMETER:..M) writes latitude first", True
    if marks[phantom] and not metre_units:
        return LON_LAT, f"the Phantom/Mavic format ({phantom}) writes longitude first", True

    with_yaw = [(p.gps_pair[0], p.gps_pair[1], p.fields["yaw_deg"]) for p in parsed
                if p.gps_pair is not None and p.fields["yaw_deg"] is not None]
    lat_first_off = _bearing_disagreement_deg(with_yaw, lat_first=True)
    lon_first_off = _bearing_disagreement_deg(with_yaw, lat_first=False)
    if len(lat_first_off) >= 5 and len(lon_first_off) >= 5:
        lat_med = float(sorted(lat_first_off)[len(lat_first_off) // 2])
        lon_med = float(sorted(lon_first_off)[len(lon_first_off) // 2])
        if lat_med < 35.0 and lon_med > 60.0:
            return LAT_LON, f"read so, the direction flown follows the drone's yaw (median {lat_med:.0f}° off)", True
        if lon_med < 35.0 and lat_med > 60.0:
            return LON_LAT, f"read so, the direction flown follows the drone's yaw (median {lon_med:.0f}° off)", True
    return LON_LAT, "assumed: the Phantom/Mavic order; nothing in the file tells the order apart", False


_NUMBER_RUN = re.compile(r"[-+]?\d[\d.]*")


def _shape(cue: _Cue) -> str:
    """A cue's text with every number as ``9``: the same for every whole entry of a file."""
    return _NUMBER_RUN.sub("9", cue.text).rstrip()


def _cut_mid_entry(text: str, last: _Cue, before: _Cue) -> bool:
    """Whether the file was cut off inside its ``last`` entry (a drone that lost power
    mid-write): the file ends without a line break and the entry is the start of one like
    ``before``, cut inside a number or before a field. Cut inside a closing tag only, its
    numbers are whole and it is kept."""
    if text.endswith(("\n", "\r")):
        return False
    shape, whole = _shape(last).rstrip("-+"), _shape(before)
    return len(shape) < len(whole) and whole.startswith(shape)


def read_srt(path: str | Path) -> Track:
    """Read a DJI SRT telemetry file into a video-relative :class:`Track`.

    Raises
    ------
    TelemetryError
        Naming the file, when it is not an SRT, or no entry carries a position.
    """
    path = Path(path)
    text = read_text(path, "DJI SRT")  # UTF-16 as some subtitle editors save it, too
    lines = text.splitlines()
    cues = _split_cues(lines)
    if not cues:
        raise TelemetryError(f"{path}: not a DJI SRT file: no subtitle entries (no 'hh:mm:ss,mmm -->' lines)")

    parsed: list[_Parsed] = []
    first_date: float | None = None
    for cue in cues:
        if cue.start_s is not None:
            t_s = cue.start_s
        else:
            date = _DATE.search(cue.text)
            date_s = _parse_date(date) if date else None
            if date_s is None:
                continue
            first_date = date_s if first_date is None else first_date
            t_s = date_s - first_date
        parsed.append(_parse_cue(cue, t_s))

    order = why = None
    sure = True
    if any(p.gps_pair is not None and (p.lat is None or p.lon is None) for p in parsed):
        order, why, sure = _decide_order(parsed)
    zero_gps_altitude = _drop_zero_gps_altitude(parsed)
    for p in parsed:
        p.sample = _make_sample(p, lat_first=order == LAT_LON)
    cut = len(parsed) >= 2 and _cut_mid_entry(text, parsed[-1].cue, parsed[-2].cue)
    if cut:
        parsed[-1].sample = None  # its last number may be cut short: "-8" for "-85.66"
    samples = [p.sample for p in parsed if p.sample is not None]
    bad = [p for p in parsed if p.sample is None and p.bad_position is not None]
    if not samples and bad:
        raise TelemetryError(
            f"{path}: DJI SRT with {len(cues)} entries but no GPS position in any of them that is a "
            f"number within range (entry {bad[0].cue.ordinal + 1}: '{bad[0].bad_position}')"
        )
    if not samples:
        raise TelemetryError(
            f"{path}: DJI SRT with {len(cues)} entries but no GPS position in any of them "
            "(this drone writes camera settings only); use the flight's GPX or flight-log CSV instead"
        )

    notes = []
    if order is not None and not sure:
        notes.append(
            "the order of latitude and longitude in GPS(..) could not be told from this file; "
            "read as GPS(longitude, latitude) (Phantom/Mavic); if the track lands in the wrong place, "
            "the drone wrote latitude first"
        )
    if zero_gps_altitude:
        notes.append(f"the altitude in GPS(.., 0.0M) is 0.0 in all {zero_gps_altitude} entries that write it: no "
                     "altitude (the receiver had none to give), not read as one")
    cut_off = None
    if cut:
        cut_off = (f"the file is cut off inside its last entry, which was left out: whatever was logged after "
                   f"{max(s.t_s for s in samples):.1f} s of the video is not in it")
        notes.append(cut_off)
    missing = len(cues) - len(samples) - int(cut)
    if missing:
        # the last entry without a position, whole lines and all: a file cut between two lines
        detail = " (the last one is cut off)" if not cut and parsed and parsed[-1].sample is None else ""
        if bad:
            detail += (f" ({len(bad)} with a malformed or out-of-range number, the first in entry "
                       f"{bad[0].cue.ordinal + 1}: '{bad[0].bad_position}')")
        notes.append(f"{missing} of {len(cues)} entries have no usable position and were skipped{detail}")
    bad_fields = [p for p in parsed if p.sample is not None and p.bad_fields]
    if bad_fields:
        notes.append(
            f"{len(bad_fields)} entries have a malformed number in an optional field, which was ignored "
            f"(the first in entry {bad_fields[0].cue.ordinal + 1}: '{bad_fields[0].bad_fields[0]}')"
        )
    breaks = _clock_breaks(parsed)
    if breaks:
        notes.append(
            f"the drone's clock jumps {breaks} times against the subtitle timecodes "
            "(several recordings merged into one file?)"
        )
    per_frame = any(p.per_frame for p in parsed)
    samples.sort(key=lambda s: s.t_s)
    first_with_date = next((p for p in parsed if p.date_s is not None), None)
    wall_start = None
    if first_with_date is not None and first_with_date.sample is not None:
        wall_start = first_with_date.date_s - first_with_date.sample.t_s
    elif first_with_date is not None:
        wall_start = first_with_date.date_s
    detail = "DJI SRT, " + ("one entry per frame" if per_frame else "one entry per cue (about 1 s)")
    if cues[0].start_s is None:
        detail += ", no timecodes (times from the date lines)"
    if order is not None:
        detail += f", GPS({'latitude, longitude' if order == LAT_LON else 'longitude, latitude'}): {why}"
    return Track(
        samples=tuple(samples),
        path=path,
        format="dji-srt",
        time_base=TimeBase.VIDEO,
        format_detail=detail,
        wall_clock_start_utc=wall_start,
        notes=tuple(notes),
        coordinate_order=order,
        home=_home(parsed, lat_first=order == LAT_LON),
        altitude_sources=_altitude_sources(parsed),
        cut_off=cut_off,
        video_end_s=max((c.end_s for c in cues if c.end_s is not None), default=None),
        frames_counted=_frames_counted(cues),
    )


def _frames_counted(cues: list[_Cue]) -> int | None:
    """The frames the file's per-frame counter (``FrameCnt``/``SrtCnt``) spans from its
    first entry to its last; ``None`` without a counter in two or more entries, or where it
    restarts (several recordings merged into one file)."""
    counts = [int(m.group(1)) for m in map(_FRAME_COUNTER.search, (c.text for c in cues)) if m is not None]
    if len(counts) < 2 or any(b <= a for a, b in zip(counts, counts[1:])):
        return None
    return counts[-1] - counts[0] + 1


#: What each altitude key of a DJI SRT is measured from. DJI documents none of them; these
#: are what the drones are known to write (DJI_SRT_Parser, dji-embed's SRT_FORMATS.md).
ALTITUDE_KEYS = {
    "rel_alt": "rel_alt: height above the take-off (home) point",
    "barometer": "BAROMETER: barometric height above the take-off point",
    "H": "H: height above the take-off (home) point",
    "abs_alt": ("abs_alt: altitude above sea level as the drone reckons it (barometer and GPS, datum not "
                "stated; often tens of metres off)"),
    "altitude": ("altitude: the drone's altitude, its zero not stated: sea level in Mavic 2 files, the take-off "
                 "in an Air 2's (one filmed 200 m above sea level writes 27 m)"),
    "gps": ("GPS(.., altM): the GPS receiver's altitude (datum not stated; an RTK Matrice writes height above the "
            "WGS 84 ellipsoid, tens of metres from sea level)"),
}

#: The absolute-altitude keys whose zero differs between drones: where such an altitude
#: less the ground's elevation puts the camera below the ground, it is a height above
#: the take-off (:mod:`geo.telemetry.altitude_check`).
ZERO_UNSTATED = frozenset({ALTITUDE_KEYS["altitude"]})


def _drop_zero_gps_altitude(parsed: list[_Parsed]) -> int:
    """Forget the GPS altitude of a file whose every ``GPS(.., altM)`` writes 0.0 (a
    Matrice 300 whose receiver gave none, while its barometer climbs 80 m): the number
    of entries it was dropped from, 0 where any of them writes another altitude."""
    with_gps = [p for p in parsed if (p.altitude_keys or {}).get("abs") == "gps"]
    if not with_gps or any(p.fields["alt_abs_m"] != 0.0 for p in with_gps):
        return 0
    for p in with_gps:
        p.fields["alt_abs_m"] = None
        del p.altitude_keys["abs"]
    return len(with_gps)


def _altitude_sources(parsed: list[_Parsed]) -> tuple[tuple[str, str], ...]:
    """``("rel" | "abs", what it is)`` for each altitude the file's entries carry, by the
    key most of them used."""
    out = []
    for kind in ("rel", "abs"):
        keys = [p.altitude_keys[kind] for p in parsed if p.sample is not None and kind in (p.altitude_keys or {})]
        if keys:
            out.append((kind, ALTITUDE_KEYS[max(set(keys), key=keys.count)]))
    return tuple(out)


def _home(parsed: list[_Parsed], *, lat_first: bool) -> tuple[float, float, float | None] | None:
    """The first ``HOME(..)`` the file writes, ``(lat, lon, altitude or None)``, its two
    numbers read in the file's GPS order; ``None`` without one, or with one out of range."""
    home = next((p.home for p in parsed if p.home is not None), None)
    if home is None:
        return None
    lat, lon = (home[0], home[1]) if lat_first else (home[1], home[0])
    return (lat, lon, home[2]) if abs(lat) <= 90.0 and abs(lon) <= 180.0 else None


def _clock_breaks(parsed: list[_Parsed], tolerance_s: float = 1.5) -> int:
    """How often the date line and the cue times disagree on the step between entries."""
    pairs = [(p.sample.t_s, p.date_s) for p in parsed if p.sample is not None and p.date_s is not None]
    breaks = 0
    for (t0, d0), (t1, d1) in zip(pairs, pairs[1:]):
        if abs((d1 - d0) - (t1 - t0)) > tolerance_s:
            breaks += 1
    return breaks
