"""CSV flight logs (Airdata, CsvView/Flight Reader, DJI-app geotag CSVs, generic).

Producers name their columns differently (``latitude``, ``OSD.latitude``, ``Lat``...),
add units (``height_above_takeoff(feet)``, ``OSD.height [ft]``) and even leading spaces,
so columns are matched by meaning: a header is reduced to a bare name and a unit, and
each role (time, latitude, height above take-off...) takes the first alias that is
present.
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import datetime as dt
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import TelemetryError
from core.types import TelemetrySample
from geo.telemetry._text import read_text
from geo.telemetry.accuracy import gps_accuracy_m
from geo.telemetry.track import TimeBase, Track, time_order_note

FOOT_M = 0.3048

#: role -> bare column names that mean it, best first.
_ALIASES: dict[str, tuple[str, ...]] = {
    "datetime": ("datetime", "custom.updatetime", "gps.datetime", "date_time", "timestamp", "datetimeutc",
                 "utc", "gps_time", "time_utc", "utctime"),
    # a date alone, beside a time-of-day column (DJI Flight Reader: CUSTOM.date, CUSTOM.updateTime)
    "date": ("custom.date", "date", "gps.date"),
    "time_rel": ("time", "offsettime", "osd.flytime", "flytime", "elapsed", "elapsed_time", "t"),
    "lat": ("latitude", "lat", "osd.latitude", "gps.latitude", "gps_lat", "gps:lat", "gpslatitude"),
    "lon": ("longitude", "lon", "lng", "long", "osd.longitude", "gps.longitude", "gps_lon", "gps:long",
            "gpslongitude"),
    "alt_rel": ("height_above_takeoff", "osd.height", "height", "rel_alt", "relative_altitude",
                "altitude_above_takeoff", "relativealtitude"),
    "alt_abs": ("altitude_above_sealevel", "abs_alt", "absolute_altitude", "osd.altitude", "gps.altitude",
                "gps_altitude", "altitude", "elevation", "ele", "alt"),
    "heading": ("compass_heading", "osd.yaw", "heading", "yaw", "course", "bearing"),
    "gimbal_pitch": ("gimbal_pitch", "gimbal.pitch", "gimbalpitch"),
    "gimbal_yaw": ("gimbal_heading", "gimbal.yaw", "gimbal_yaw", "gimbalyaw", "gimbal.yaw360"),
    # GPS accuracy: metres (one sigma; feet when the header says so), or dilution of precision
    "h_accuracy": ("accuracy", "hacc", "h_acc", "horizontal_accuracy", "horizontalaccuracy", "gps.hacc",
                   "gps_accuracy", "position_accuracy"),
    "v_accuracy": ("vacc", "v_acc", "vertical_accuracy", "verticalaccuracy", "altitude_accuracy", "gps.vacc"),
    "hdop": ("hdop", "gps.hdop", "gps:hdop", "gps_hdop"),
    "vdop": ("vdop", "gps.vdop", "gps:vdop", "gps_vdop"),
    "pdop": ("pdop", "gps.pdop", "gps:pdop", "gps_pdop"),
    # whether the camera is recording video (1/0, true/false)
    "recording": ("isvideo", "is_video", "camera.isvideo", "camera.is_video", "isrecording", "is_recording",
                  "camera.isrecording", "camera.recording"),
}
_UNIT = re.compile(r"[\(\[]([^\)\]]*)[\)\]]")
_FILE_NAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[_ T]\[?(\d{2})[-:.](\d{2})[-:.](\d{2})\]?")
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S",
    "%m/%d/%Y %I:%M:%S.%f %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M",  # a spreadsheet's re-save that drops the seconds
    "%m/%d/%y %H:%M:%S", "%m/%d/%y %I:%M:%S %p", "%m/%d/%y %H:%M",  # and the century
    "%d.%m.%Y %H:%M:%S",
)
#: the same with the day before the month (a British or European spreadsheet)
_DAY_FIRST_FORMATS = tuple(f.replace("%m/%d/%Y", "%d/%m/%Y").replace("%m/%d/%y", "%d/%m/%y") for f in _DATETIME_FORMATS)
#: a date written with slashes, the year last: ``(first, second)`` of its day and month
_SLASH_DATE = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b")
#: a time of day to the minute (``10:01``, ``10:01 AM``), and one with its seconds (``10:01:37``)
_TO_THE_MINUTE = re.compile(r"\b\d{1,2}:\d{2}\b(?!:)")
_WITH_SECONDS = re.compile(r"\d{1,2}:\d{2}:\d{2}")
#: a time of day that writes fractions of a second (``10:00:01.000``): exact, even at .000
_FRACTION_OF_SECOND = re.compile(r"\d:\d{2}[.,]\d")
#: a length unit written after an underscore: ``height_feet``
_LENGTH_SUFFIX = re.compile(r"(.+?)_(feet|ft|foot|meters|metres)|(height|altitude|alt|elevation|ele)_(m)")
#: Unix times in a column named like a counter: seconds from 2010 (before any consumer
#: drone's log) to 2100
_EPOCH_S = (1_262_304_000.0, 4_102_444_800.0)


@dataclass(frozen=True, slots=True)
class _Column:
    index: int
    header: str
    unit: str


def _bare_name(header: str) -> tuple[str, str]:
    """``' compass_heading(degrees)'`` -> ``('compass_heading', 'degrees')``."""
    text = header.strip().lstrip("\ufeff")
    unit_match = _UNIT.search(text)
    unit = unit_match.group(1).strip().lower() if unit_match else ""
    name = _UNIT.sub("", text).strip().lower().replace(" ", "_").replace("-", "_")
    suffixed = _LENGTH_SUFFIX.fullmatch(name)
    if suffixed and not unit:  # height_feet, altitude_ft, height_meters, height_m
        name, unit = suffixed.group(1) or suffixed.group(3), suffixed.group(2) or suffixed.group(4)
    return name, unit


def _match_columns(headers: list[str]) -> dict[str, _Column]:
    bare = [_bare_name(h) for h in headers]
    found: dict[str, _Column] = {}
    for role, aliases in _ALIASES.items():
        for alias in aliases:
            hits = [i for i, (name, unit) in enumerate(bare) if name == alias and unit != "text"]
            if hits:
                # of datetime(utc) and datetime(local), the one that says UTC, wherever it stands
                i = min(hits, key=lambda k: "utc" not in headers[k].lower()) if role == "datetime" else hits[0]
                found[role] = _Column(i, headers[i], bare[i][1])
                break
    return found


#: Columns only a Litchi flight log has (the DJI flight controller's state and command,
#: the climb since take-off): there ``altitude`` is the height above take-off.
_LITCHI_SIGNS = ("flycstate", "flyccommand", "ascent")


def _litchi_heights(headers: list[str], columns: dict[str, _Column]) -> str | None:
    """In a Litchi log, its ``altitude`` column moved from absolute to above take-off
    (``columns`` changed in place); the note saying so, or ``None``."""
    found = columns.get("alt_abs")
    names = {_bare_name(h)[0] for h in headers}
    if found is None or "alt_rel" in columns or _bare_name(found.header)[0] != "altitude" or \
            not any(sign in names for sign in _LITCHI_SIGNS):
        return None
    columns["alt_rel"] = columns.pop("alt_abs")
    return f"Litchi log: {found.header.strip()!r} read as the height above take-off, as Litchi writes it"


def _length_scale(unit: str, header: str) -> float:
    text = (unit + " " + header).lower()
    return FOOT_M if re.search(r"\b(feet|ft|foot)\b|_ft\b", text) else 1.0


def _parse_datetime(text: str, *, day_first: bool = False) -> tuple[float, bool] | None:
    """UNIX seconds and whether the text itself says UTC (``Z`` or an offset).
    ``day_first``: a date with slashes is day/month/year (see :func:`_read_dates`)."""
    text = text.strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
        for fmt in _DAY_FIRST_FORMATS if day_first else _DATETIME_FORMATS:
            try:
                value = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if value is None:
        try:  # numeric epoch seconds or milliseconds
            number = float(text)
        except ValueError:
            return None
        return (number / 1e6 if number > 1e14 else number / 1000.0 if number > 1e11 else number), True
    zoned = value.tzinfo is not None
    if not zoned:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp(), zoned


def _float(row: list[str], column: _Column | None) -> float | None:
    if column is None or column.index >= len(row):
        return None
    text = row[column.index].strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        # a decimal comma (a European spreadsheet's export, with ';' between cells: a
        # comma inside a cell is never the delimiter)
        if not _DECIMAL_COMMA.fullmatch(text):
            return None
        value = float(text.replace(",", "."))
    return value if math.isfinite(value) else None


_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


def _scaled(value: float | None, column: _Column | None) -> float | None:
    """A length in metres (feet converted when the header says so)."""
    if value is None or column is None:
        return value
    return value * _length_scale(column.unit, column.header)


def _time_scale(column: _Column) -> float:
    unit = column.unit
    if unit in ("millisecond", "milliseconds", "ms"):
        return 1e-3
    if unit in ("microsecond", "microseconds", "us"):
        return 1e-6
    return 1.0


def read_csv_log(path: str | Path) -> Track:
    """Read a CSV flight log.

    Absolute times come from a date-time column; Airdata's, which has whole seconds only,
    is refined with its millisecond counter. A log with a relative time column only takes
    its start from a date in the file name (DJI-app geotag CSVs), else stays on its own
    clock (:attr:`TimeBase.LOG`).

    Raises
    ------
    TelemetryError
        Naming the file: not a CSV, or no latitude/longitude/time columns, or no rows.
    """
    path = Path(path)
    text = read_text(path, "CSV flight log")
    sample_text = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample_text.splitlines()[0], delimiters=",;\t")
    except (csv.Error, IndexError):
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)  # any line ends: \r alone from a Mac spreadsheet
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise TelemetryError(f"{path}: not a CSV flight log: {exc or 'no header line'}") from None
    columns = _match_columns(headers)
    litchi = _litchi_heights(headers, columns)
    missing = [role for role in ("lat", "lon") if role not in columns]
    if missing:
        raise TelemetryError(
            f"{path}: no {' or '.join('latitude' if m == 'lat' else 'longitude' for m in missing)} column "
            f"found among {len(headers)} columns ({', '.join(h.strip() for h in headers[:8])}"
            f"{', ...' if len(headers) > 8 else ''})"
        )
    if "datetime" not in columns and "time_rel" not in columns:
        raise TelemetryError(f"{path}: no time column found (expected e.g. 'datetime(utc)', 'time(millisecond)')")

    rel_scale = _length_scale(columns["alt_rel"].unit, columns["alt_rel"].header) if "alt_rel" in columns else 1.0
    abs_scale = _length_scale(columns["alt_abs"].unit, columns["alt_abs"].header) if "alt_abs" in columns else 1.0
    rows = []
    skipped = 0
    written = [row for row in reader if row and any(cell.strip() for cell in row)]
    cut = _cut_inside_last_row(text, written)
    if cut:
        written.pop()  # its last number may be cut short: "-8" for "-85.66"
    for row in written:
        lat, lon = _float(row, columns["lat"]), _float(row, columns["lon"])
        if lat is None or lon is None or (lat == 0.0 and lon == 0.0) or abs(lat) > 90 or abs(lon) > 180:
            skipped += 1
            continue
        rows.append(row)
    if not rows:
        raise TelemetryError(f"{path}: no row with a position (latitude/longitude) in the CSV")

    times, time_base, time_notes = _row_times(path, rows, columns)
    samples = []
    recording: list[tuple[float, bool]] = []
    for row, t_s in zip(rows, times):
        if t_s is None:
            skipped += 1
            continue
        if "recording" in columns:
            recording.append((t_s, _flag(row, columns["recording"])))
        rel = _float(row, columns.get("alt_rel"))
        absolute = _float(row, columns.get("alt_abs"))
        heading = _float(row, columns.get("heading"))
        gimbal_yaw = _float(row, columns.get("gimbal_yaw"))
        h_acc, v_acc = gps_accuracy_m(
            h_acc_m=_scaled(_float(row, columns.get("h_accuracy")), columns.get("h_accuracy")),
            v_acc_m=_scaled(_float(row, columns.get("v_accuracy")), columns.get("v_accuracy")),
            hdop=_float(row, columns.get("hdop")), vdop=_float(row, columns.get("vdop")),
            pdop=_float(row, columns.get("pdop")))
        samples.append(
            TelemetrySample(
                t_s=t_s,
                lat_deg=_float(row, columns["lat"]),  # type: ignore[arg-type]
                lon_deg=_float(row, columns["lon"]),  # type: ignore[arg-type]
                alt_abs_m=None if absolute is None else absolute * abs_scale,
                alt_rel_m=None if rel is None else rel * rel_scale,
                yaw_deg=None if heading is None else heading % 360.0,
                gimbal_pitch_deg=_float(row, columns.get("gimbal_pitch")),
                gimbal_yaw_deg=None if gimbal_yaw is None else gimbal_yaw % 360.0,
                h_accuracy_m=h_acc,
                v_accuracy_m=v_acc,
            )
        )
    if not samples:
        raise TelemetryError(f"{path}: no row with both a position and a readable time")
    disorder = time_order_note(samples, "rows")
    samples.sort(key=lambda s: s.t_s)
    notes = list(time_notes) + ([litchi] if litchi else []) + ([disorder] if disorder else [])
    cut_off = _cut_note(samples, time_base) if cut else None
    if cut_off is not None:
        notes.append(cut_off)
    if skipped:
        notes.append(f"{skipped} rows without a usable position or time were skipped")
    if rel_scale != 1.0 or abs_scale != 1.0:
        notes.append("heights converted from feet to metres")
    used = ", ".join(f"{role}={col.header.strip()!r}" for role, col in columns.items())
    track = Track(
        samples=tuple(samples),
        path=path,
        format="csv",
        time_base=time_base,
        format_detail=f"CSV flight log ({used})",
        notes=tuple(notes),
        cut_off=cut_off,
    )
    if recording:
        track = dataclasses.replace(track, recordings=recording_spans(sorted(recording), track.max_gap_s()))
    return track


_NUMBER = re.compile(r"[-+]?(\d*)(\.?)(\d*)")


def _cut_inside_last_row(text: str, rows: list[list[str]]) -> bool:
    """Whether the log was cut off inside its last row (a logger that lost power
    mid-write): the file ends without a line break, and the last row has fewer cells than
    the row before it, or its last cell is a number with fewer decimals than that column
    has in every row before (``-8`` or ``-85.6`` of ``-85.66012345``). A column of whole
    numbers cut short cannot be told from a smaller number and is read as written."""
    if len(rows) < 2 or text.rstrip("\x00").endswith(("\n", "\r")):
        return False
    last, before = rows[-1], rows[-2]
    if len(last) < len(before):
        return True
    if len(last) > len(before):
        return False
    column = len(last) - 1
    cell = _NUMBER.fullmatch(last[column].strip())
    if cell is None:
        return False
    decimals = []
    for row in rows[:-1]:
        earlier = _NUMBER.fullmatch(row[column].strip()) if column < len(row) else None
        if earlier is None or not (earlier.group(1) or earlier.group(3)):
            return False  # not a number column throughout
        decimals.append(len(earlier.group(3)) if earlier.group(2) else -1)
    written = len(cell.group(3)) if cell.group(2) and cell.group(3) else (-1 if not cell.group(2) else -0.5)
    return written < min(decimals)


def _cut_note(samples: list[TelemetrySample], time_base: TimeBase) -> str:
    """The note on a log cut off inside its last row: the row left out, and from when on
    the flight is missing."""
    latest = max(s.t_s for s in samples)
    if time_base is TimeBase.UTC:
        last = dt.datetime.fromtimestamp(latest, dt.timezone.utc)
        since = f"{last:%H:%M:%S} UTC ({last:%Y-%m-%d})"
    else:
        since = f"{latest:.1f} s into the log"
    return (f"the file is cut off inside its last row, which was left out: whatever was logged after {since} "
            "is not in it")


def _flag(row: list[str], column: _Column) -> bool:
    """A yes/no cell: a number other than 0, or ``true``/``yes``."""
    if column.index >= len(row):
        return False
    text = row[column.index].strip().lower()
    if text in ("true", "yes", "y"):
        return True
    try:
        return float(text) != 0.0
    except ValueError:
        return False


#: A recording shorter than this is a log row flagged in passing (Airdata marks single
#: rows as recording as the camera switches mode), not a video.
MIN_RECORDING_S = 1.0


def recording_spans(flags: list[tuple[float, bool]], max_gap_s: float) -> tuple[tuple[float, float], ...]:
    """The spans ``(start, end)`` of consecutive flagged times in ``flags`` (sorted
    ``(time, recording)`` pairs). A span ends at its last flagged row plus one step of the
    log (the camera stopped somewhere before the next row), and where the log breaks off
    for longer than ``max_gap_s``; spans under :data:`MIN_RECORDING_S` are left out."""
    steps = [b[0] - a[0] for a, b in zip(flags, flags[1:]) if b[0] > a[0]]
    step = sorted(steps)[len(steps) // 2] if steps else 0.0
    spans: list[tuple[float, float]] = []
    start: float | None = None
    last = 0.0
    for t_s, on in flags:
        if start is not None and (not on or t_s - last > max_gap_s):
            spans.append((start, last + step))
            start = None
        if on:
            start = t_s if start is None else start
            last = t_s
    if start is not None:
        spans.append((start, last + step))
    return tuple(span for span in spans if span[1] - span[0] >= MIN_RECORDING_S)


def _row_times(path: Path, rows: list[list[str]], columns: dict[str, _Column]):
    """Per-row times, the time base, and notes on how the times were found."""
    notes: list[str] = []
    rel_col = columns.get("time_rel")
    rel = [None if rel_col is None else _float(r, rel_col) for r in rows]
    rel = [None if v is None else v * _time_scale(rel_col) for v in rel] if rel_col else rel
    date_col = columns.get("datetime")
    if date_col is not None:
        day_col = columns.get("date")
        texts = [_dated(r, date_col, day_col) if date_col.index < len(r) else "" for r in rows]
        parsed = _read_dates(path, date_col, texts, notes)
        absolute = [None if p is None else p[0] for p in parsed]
        if not any(p is not None and p[1] for p in parsed) and "utc" not in date_col.header.lower():
            local = "local" in date_col.header.lower()
            notes.append(f"column {date_col.header.strip()!r} has no time zone: "
                         + ("local time, read as UTC" if local else "read as UTC"))
        # (with no date read at all, there is nothing to refine: the counter alone, below);
        # a time written with its fraction of a second is exact, even at .000, unless rows
        # repeat it as the counter runs on (whole seconds written as .000)
        read = [a for a in absolute if a is not None]
        repeated = any(a == b for a, b in zip(read, read[1:]))
        resolution = 60.0 if read and all(_TO_THE_MINUTE.search(text) for text in texts if text.strip()) \
            and not any(_WITH_SECONDS.search(text) for text in texts) else 1.0
        whole = bool(read) and all(float(a).is_integer() for a in read) \
            and (repeated or not any(_FRACTION_OF_SECOND.search(text) for text in texts))
        counter = rel_col is not None and any(v is not None for v in rel)
        if whole and counter:
            # Airdata: date-time to the second plus a millisecond counter. The log's start
            # t0 satisfies date_i <= t0 + rel_i < date_i + resolution for every row.
            # The counter pauses when logging does, so t0 is solved per stretch between
            # such breaks.
            return _refine_whole_seconds(absolute, rel, resolution), TimeBase.UTC, notes
        if read:
            if resolution > 1.0 and repeated:
                notes.append(f"column {date_col.header.strip()!r} gives the time to the minute only (a "
                             "spreadsheet's re-save without seconds): the rows of a minute share its time, and the "
                             "track is placed up to a minute off; use the log as the drone's app wrote it")
            return absolute, TimeBase.UTC, notes
        example = next((text.strip() for text in texts if text.strip()), "")
        notes.append(f"column {date_col.header.strip()!r}: no date and time in it could be read (e.g. {example!r}); "
                     "the times below come from the other columns")
    if rel_col is not None and not any(v is not None for v in rel):
        # A column named like a counter ('time') that holds date-times (ISO 8601, ...).
        texts = [r[rel_col.index] if rel_col.index < len(r) else "" for r in rows]
        parsed = _read_dates(path, rel_col, texts, notes)
        if any(p is not None for p in parsed):
            zone = "" if any(p is not None and p[1] for p in parsed) else " (no time zone: read as UTC)"
            notes.append(f"column {rel_col.header.strip()!r} holds dates and times, read as such{zone}")
            return [None if p is None else p[0] for p in parsed], TimeBase.UTC, notes
    if rel_col is None or not any(v is not None for v in rel):
        where = f" {rel_col.header.strip()!r}" if rel_col is not None else ""
        raise TelemetryError(
            f"{path}: the time column{where} holds no readable times (expected seconds or milliseconds since "
            "the start, or dates and times such as 2024-10-10T15:00:00Z)"
        )
    epoch = _unix_times(rel)
    if epoch is not None:
        notes.append(f"column {rel_col.header.strip()!r} holds Unix times, read as UTC")
        return epoch, TimeBase.UTC, notes
    date = _FILE_NAME_DATE.search(path.name)
    if date:
        start = calendar.timegm(tuple(int(g) for g in date.groups()) + (0, 0, 0))
        notes.append("start time taken from the file name (local time, read as UTC)")
        return [None if r is None else start + r for r in rel], TimeBase.UTC, notes
    notes.append("times are relative to the start of the log (no date): aligned as starting with the video")
    return rel, TimeBase.LOG, notes


def _unix_times(rel: list[float | None]) -> list[float | None] | None:
    """A counter column's values as Unix seconds, when they are Unix times in seconds,
    milliseconds or microseconds (a counter from the log's start never reaches 30 years),
    else ``None``."""
    # (zeros: rows a logger writes before its GPS has the time; read as rows without one)
    values = [v for v in rel if v]
    if not values or len(values) < 0.5 * sum(v is not None for v in rel):
        return None
    low, high = _EPOCH_S
    for scale in (1.0, 1e-3, 1e-6):
        if low <= min(values) * scale and max(values) * scale <= high:
            return [v * scale if v else None for v in rel]
    return None


def _read_dates(path: Path, column: _Column, texts: list[str], notes: list[str]) -> list[tuple[float, bool] | None]:
    """The column's date-times (see :func:`_parse_datetime`), slash dates read in the order
    the column says: a first number above 12 says day/month/year, a second above 12 says
    month/day (a US spreadsheet, DJI's apps). Dates that never say are read in the order
    that keeps the log one flight (one crossing midnight, 05/04 then 06/04, read month
    first jumped a month), else month first, with a note. Both in one column is refused."""
    firsts, seconds = [], []
    for text in texts:
        found = _SLASH_DATE.match(text)
        if found:
            firsts.append(int(found.group(1)))
            seconds.append(int(found.group(2)))
    day_first, month_first = bool(firsts) and max(firsts) > 12, bool(seconds) and max(seconds) > 12
    if day_first and month_first:
        raise TelemetryError(f"{path}: column {column.header.strip()!r} writes its dates both day first and "
                             "month first; save the log with one date order (ISO 8601, 2024-04-05, is safest)")
    if day_first or month_first or all(a == b for a, b in zip(firsts, seconds)):
        return [_parse_datetime(text, day_first=day_first) for text in texts]
    readings = {order: [_parse_datetime(text, day_first=order) for text in texts] for order in (False, True)}
    steps = {order: _largest_step(parsed) for order, parsed in readings.items()}
    if steps[True] < steps[False] and steps[True] <= _ONE_DAY_S:
        return readings[True]
    if not (steps[False] < steps[True] and steps[False] <= _ONE_DAY_S):
        example = next(text.strip().split()[0] for text in texts if _SLASH_DATE.match(text))
        notes.append(f"column {column.header.strip()!r}: dates such as {example} could be "
                     "day/month or month/day, read month first (as DJI's apps write them); if the log was "
                     "saved day first, the times are off by days: save it with ISO dates (2024-04-05)")
    return readings[False]


_ONE_DAY_S = 86_400.0


def _largest_step(parsed: list[tuple[float, bool] | None]) -> float:
    """The largest time between consecutive readable rows."""
    times = [p[0] for p in parsed if p is not None]
    return max((abs(b - a) for a, b in zip(times, times[1:])), default=0.0)


_TIME_OF_DAY = re.compile(r"\s*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?\s*")


def _dated(row: list[str], time_col: _Column, day_col: _Column | None) -> str:
    """The row's date-time text: its time column's, with the date column's day before it
    where the time column holds a time of day alone."""
    text = row[time_col.index]
    if day_col is not None and day_col.index < len(row) and _TIME_OF_DAY.fullmatch(text):
        return f"{row[day_col.index].strip()} {text.strip()}"
    return text


def _refine_whole_seconds(absolute: list[float | None], rel: list[float | None],
                          resolution: float = 1.0) -> list[float | None]:
    """Sub-second times from whole-second dates (``resolution`` 60: whole minutes) plus a
    relative counter (Airdata)."""
    out: list[float | None] = [None] * len(rel)
    run: list[int] = []
    previous_offset: float | None = None

    def flush() -> None:
        low = max(absolute[i] - rel[i] for i in run)  # type: ignore[operator]
        high = min(absolute[i] + resolution - rel[i] for i in run)  # type: ignore[operator]
        t0 = 0.5 * (low + high) if high >= low else low
        for i in run:
            out[i] = t0 + rel[i]  # type: ignore[operator]

    for i, (a, r) in enumerate(zip(absolute, rel)):
        if a is None or r is None:
            out[i] = a
            continue
        offset = a - r
        if run and previous_offset is not None and abs(offset - previous_offset) > resolution + 0.5:
            flush()
            run = []
        run.append(i)
        previous_offset = offset
    if run:
        flush()
    return out
