"""GPS telemetry written inside the video by the camera: GoPro GPMF (HERO5 and later),
Insta360 and DJI cameras as far as the PyPI package ``telemetry-parser`` reads them.

``telemetry-parser`` recognises the camera and decodes its metadata; this module picks
the GPS out of it into a :class:`Track` on the video's clock:

- **GoPro**: the ``GoPro MET`` metadata track (codec ``gpmd``) holds one GPMF payload per
  second or so. Its GPS stream is ``GPS5`` rows (latitude, longitude, altitude, 2D and
  3D speed, scaled by ``SCAL``) with the payload's fix state ``GPSF`` (0 none, 2 2D,
  3 3D), the UTC of its first row ``GPSU`` and its dilution of precision ``GPSP``
  (x100; it becomes the fix's accuracy as in :mod:`geo.telemetry.accuracy`); HERO11 and
  later write ``GPS9`` rows that carry their own UTC time, DOP and fix. A payload's rows
  are spread evenly over the payload's span on the video clock (its sample time and
  duration in the MP4). Rows without a fix are dropped; the altitude of a 2D fix is not
  kept.
- **Insta360**: GPS records (UTC time, fix flag, position, altitude) from the file's
  trailer, on the UTC clock: put on the video's clock by its creation time like a GPX.
- **DJI** Action / Avata / O3 / O4 and other cameras whose metadata carries no GPS are
  refused with a line that says so.

Camera orientation: GoPro's ``CORI``/``IORI`` and the others' gyro quaternions are the
camera's rotation relative to where it started, not a heading or gimbal pitch, so they
are not read.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import TelemetryError
from core.types import TelemetrySample
from geo.telemetry._text import regular_file
from geo.telemetry.accuracy import gps_accuracy_m
from geo.telemetry.track import TimeBase, Track

#: Suffixes of videos that may carry their telemetry inside (read by :func:`read_embedded`).
VIDEO_SUFFIXES = (".mp4", ".mov", ".360", ".insv")

#: Seconds from the UNIX epoch to 2000-01-01 (GPS9 counts days from there).
_EPOCH_2000_S = 946684800.0
#: A GoPro GPS payload without GPSF is taken as a 3D fix (HERO5 writes it always).
_FIX_3D = 3

_GPSF, _GPSU, _GPSP, _TYPE = "0x47505346", "0x47505355", "0x47505350", "0x54595045"


@dataclass(frozen=True)
class _Row:
    """A fix before it is put on the video's clock: its place in its payload (row
    ``index`` of ``count``) and what it says. ``utc_s`` is the UTC of this row when the
    row carries its own (GPS9), else of the payload's first row (GPSU)."""

    payload: int
    index: int
    count: int
    lat: float
    lon: float
    alt: float | None
    utc_s: float | None
    own_time: bool
    dop: float | None


#: Where the telemetry file goes: said so for every command that reads a video's own
#: telemetry (``telemetry VIDEO`` has no ``--track``; ``analyze`` and ``survey add`` do).
_TRACK_HINT = " (analyze and survey add take it with --track)"


def _no_telemetry(path: Path) -> TelemetryError:
    return TelemetryError(
        f"{path}: no telemetry in this video (no GoPro, DJI or Insta360 metadata track); "
        f"give its telemetry file (.SRT/.gpx/.csv) instead{_TRACK_HINT}"
    )


def _data_tracks(path: Path) -> list[str] | None:
    """The handler names (or kinds) of the video's data tracks other than timecode, via
    PyAV; ``None`` if the file is not a video PyAV opens."""
    try:
        import av
    except ImportError:  # pragma: no cover - PyAV is a dependency
        return []
    try:
        with av.open(str(path)) as container:
            names = [str(s.metadata.get("handler_name") or s.type)
                     for s in container.streams if s.type in ("data", "subtitle", "attachment")]
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    return [name for name in names if "timecode" not in name.lower().replace(" ", "")]


def _parse(path: Path) -> tuple[str, str | None, list[dict[str, Any]]]:
    """``(camera, model, telemetry samples)`` from ``telemetry-parser``."""
    try:
        import telemetry_parser
    except ImportError:
        raise TelemetryError(
            f"{path}: reading telemetry inside videos needs the telemetry-parser package (pip install telemetry-parser)"
        ) from None
    try:
        parser = telemetry_parser.Parser(str(path))
    except OSError as exc:
        text = str(exc)
        if "empty" in text.lower():
            raise TelemetryError(f"{path}: the video file is empty or unreadable") from None
        if "unsupported" in text.lower():
            tracks = _data_tracks(path)
            if tracks is None:
                raise TelemetryError(f"{path}: not a readable video file, nor a telemetry file") from None
            if tracks and path.suffix.lower() not in VIDEO_SUFFIXES:  # the cameras are recognised by suffix too
                raise TelemetryError(
                    f"{path}: a video named without a video suffix; name it .MP4 or .MOV to read the telemetry inside"
                ) from None
            if tracks:
                raise TelemetryError(
                    f"{path}: unsupported camera: its metadata track ({', '.join(sorted(set(tracks)))}) is not one "
                    "telemetry-parser reads (GoPro, DJI Action/Avata/O3/O4, Insta360); give its telemetry file "
                    f"instead{_TRACK_HINT}"
                ) from None
            raise _no_telemetry(path) from None
        raise TelemetryError(f"{path}: cannot read telemetry inside the video: {text}") from None
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException (a BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise TelemetryError(f"{path}: telemetry inside the video is damaged ({type(exc).__name__}: {exc})") from None
    camera = str(parser.camera or "unknown camera")
    try:
        samples = parser.telemetry()
    except ValueError:  # "No metadata"
        raise TelemetryError(f"{path}: {camera} video without telemetry samples") from None
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise TelemetryError(f"{path}: {camera} telemetry is damaged ({type(exc).__name__}: {exc})") from None
    samples = list(samples or [])
    model = str(parser.model) if parser.model else None
    if model is None:  # GoPro: the device name in the payloads (DVNM)
        names = {s.get("Default", {}).get("Name") for s in samples[:3] if isinstance(s.get("Default"), Mapping)}
        names.discard(None)
        model = str(names.pop()) if len(names) == 1 else None
    return camera, model, samples


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _scales(group: Mapping[str, Any], width: int) -> list[float]:
    scale = group.get("Scale")
    if isinstance(scale, (int, float)):
        values = [float(scale)] * width
    elif isinstance(scale, list) and scale:
        values = [float(s) if isinstance(s, (int, float)) and s else 1.0 for s in scale]
        values += [values[-1]] * (width - len(values))
    else:
        values = [1.0] * width
    return [v if v != 0 else 1.0 for v in values]


def _gps5_rows(k: int, group: Mapping[str, Any]) -> tuple[list[_Row], int]:
    """The fixed rows of one GoPro GPS5 payload and how many rows had no fix."""
    data = group.get("Data")
    if not isinstance(data, list) or not data:
        return [], 0
    fix = _number(group.get(_GPSF))
    fix_state = _FIX_3D if fix is None else int(fix)
    if fix_state < 2:
        return [], len(data)
    scale = _scales(group, 5)
    utc_ms = _number(group.get(_GPSU))
    dop = _number(group.get(_GPSP))
    rows = []
    for i, raw in enumerate(data):
        if not isinstance(raw, list) or len(raw) < 3:
            continue
        lat, lon, alt = (float(raw[j]) / scale[j] for j in range(3))
        rows.append(_Row(k, i, len(data), lat, lon, alt if fix_state >= 3 else None,
                         None if utc_ms is None else utc_ms / 1000.0, False, None if dop is None else dop / 100.0))
    return rows, 0


def _gps9_rows(k: int, group: Mapping[str, Any]) -> tuple[list[_Row], int]:
    """GoPro GPS9 rows (HERO11 and later). telemetry-parser 0.3 hands them back
    undecoded, as the bytes of the KLV item; the ``TYPE`` string says their layout."""
    raw = group.get("0x47505339")
    layout = group.get(_TYPE)
    if not isinstance(raw, list) or not isinstance(layout, str) or len(raw) < 8:
        return [], 0
    blob = bytes(raw)
    size, repeat = blob[5], struct.unpack(">H", blob[6:8])[0]
    codes = {"l": "l", "L": "L", "s": "h", "S": "H", "b": "b", "B": "B", "f": "f", "d": "d"}
    try:
        row_format = ">" + "".join(codes[c] for c in layout)
    except KeyError:
        return [], 0
    if struct.calcsize(row_format) != size or len(blob) < 8 + size * repeat or len(layout) < 9:
        return [], 0
    scale = _scales(group, len(layout))
    rows, no_fix = [], 0
    for i in range(repeat):
        values = struct.unpack_from(row_format, blob, 8 + i * size)
        v = [values[j] / scale[j] for j in range(len(values))]
        fix = int(v[8])
        if fix < 2:
            no_fix += 1
            continue
        utc = _EPOCH_2000_S + v[5] * 86400.0 + v[6]
        rows.append(_Row(k, i, repeat, v[0], v[1], v[2] if fix >= 3 else None, utc, True, v[7]))
    return rows, no_fix


def _gps_dicts(items: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    for item in items:
        if isinstance(item, Mapping) and "lat" in item and "lon" in item:
            yield item


def _gopro_rows(samples: Sequence[Mapping[str, Any]]) -> tuple[list[_Row], int, int]:
    """Rows of every payload, rows dropped without a fix, payloads with a GPS stream."""
    rows: list[_Row] = []
    no_fix = streams = 0
    for k, sample in enumerate(samples):
        for name, reader in (("GPS", _gps5_rows), ("GPS9", _gps9_rows)):
            group = sample.get(name)
            if isinstance(group, Mapping) and ("Data" in group or "0x47505339" in group):
                if name == "GPS" and isinstance(group.get("Data"), list) and any(
                        isinstance(d, Mapping) for d in group["Data"]):
                    continue  # GpsData records: not GoPro's
                streams += 1
                found, dropped = reader(k, group)
                rows += found
                no_fix += dropped
    return rows, no_fix, streams


def _gpmd_times(path: Path) -> list[tuple[float, float]] | None:
    """``(start, duration)`` seconds on the video clock of each GPMF payload in the
    GoPro metadata track, in order; ``None`` if the track cannot be read with PyAV."""
    try:
        import av
    except ImportError:  # pragma: no cover
        return None
    try:
        with av.open(str(path)) as container:
            candidates = [s for s in container.streams.data if "GoPro MET" in str(s.metadata.get("handler_name", ""))]
            candidates = candidates or list(container.streams.data)
            if not candidates:
                return None
            video = container.streams.video[0] if container.streams.video else None
            origin = 0.0
            if video is not None and video.start_time is not None and video.time_base is not None:
                origin = float(video.start_time * video.time_base)
            for stream in candidates:
                times = []
                for packet in container.demux(stream):
                    if packet.size == 0 or packet.pts is None or packet.time_base is None:
                        continue
                    if bytes(packet)[:4] != b"DEVC":
                        continue
                    times.append((float(packet.pts * packet.time_base) - origin,
                                  float((packet.duration or 0) * packet.time_base)))
                if times:
                    return times
                container.seek(0)
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    return None


def _usable(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0)


def _row_utc(r: _Row, duration_s: float) -> float | None:
    if r.utc_s is None or r.own_time:
        return r.utc_s
    return r.utc_s + duration_s * r.index / max(r.count, 1)


def _times_from_gps_clock(rows: list[_Row], n_payloads: int) -> list[tuple[float, float]] | None:
    """Payload spans from their GPS times, the first fix at 0: when the MP4's sample
    times cannot be matched to the payloads."""
    first: dict[int, float] = {}
    for r in rows:
        if r.utc_s is not None:
            first.setdefault(r.payload, r.utc_s)
    if not first:
        return None
    ordered = sorted(first.items())
    origin = ordered[0][1]
    steps = [b[1] - a[1] for a, b in zip(ordered, ordered[1:]) if b[0] == a[0] + 1 and b[1] > a[1]]
    typical = sorted(steps)[len(steps) // 2] if steps else 1.0
    times = [(math.nan, typical)] * n_payloads
    for k, start in ordered:
        times[k] = (start - origin, typical)
    return times


def _gopro_track(path: Path, camera: str, model: str | None, samples: list[dict[str, Any]]) -> Track | None:
    rows, no_fix, streams = _gopro_rows(samples)
    if streams == 0:
        return None
    name = f"{camera} {model}" if model else camera
    rows = [r for r in rows if _usable(r.lat, r.lon)]
    if not rows:
        raise TelemetryError(
            f"{path}: {name} GPS without a fix: none of its {no_fix} GPS samples has a position "
            "(GPSF 0: no satellites locked while recording)"
        )
    notes = []
    times = _gpmd_times(path)
    if times is not None and len(times) == len(samples) - 1:
        times = [(math.nan, 0.0), *times]  # the first sample is the file header's GPMF (udta), not a payload
    if times is None or len(times) != len(samples):
        times = _times_from_gps_clock(rows, len(samples))
        if times is None:
            raise TelemetryError(f"{path}: {name} GPS payloads cannot be placed on the video's clock "
                                 "(their MP4 sample times do not match and they carry no GPS time)")
        notes.append("GPS payloads timed by the GPS clock from the first fix, taken as the start of the video")
    out: list[TelemetrySample] = []
    wall_clock = None
    for r in rows:
        start, duration = times[r.payload]
        if not math.isfinite(start):
            continue
        if r.own_time and r.utc_s is not None and wall_clock is not None:
            t = r.utc_s - wall_clock  # GPS9: the row's own time, on the clock set by the first row
        else:
            t = start + duration * r.index / max(r.count, 1)
        utc = _row_utc(r, duration)
        if wall_clock is None and utc is not None:
            wall_clock = utc - t
        h_acc, v_acc = gps_accuracy_m(pdop=r.dop)  # GoPro's one DOP: taken as PDOP
        out.append(TelemetrySample(t_s=t, lat_deg=r.lat, lon_deg=r.lon, alt_abs_m=r.alt, h_accuracy_m=h_acc,
                                   v_accuracy_m=v_acc))
    out.sort(key=lambda s: s.t_s)
    if no_fix:
        notes.append(f"{no_fix} GPS samples without a fix (GPSF 0) dropped")
    if any(r.alt is None for r in rows):
        notes.append("altitude of 2D fixes left out")
    gps9 = any(isinstance(s.get("GPS9"), Mapping) for s in samples)
    return Track(samples=tuple(out), path=path, format="gopro-gpmf", time_base=TimeBase.VIDEO,
                 format_detail=f"{name}, GPMF {'GPS9' if gps9 else 'GPS5'} inside the video",
                 wall_clock_start_utc=None if wall_clock is None else round(wall_clock, 6), notes=tuple(notes))


def _records_track(path: Path, camera: str, model: str | None, samples: list[dict[str, Any]]) -> Track | None:
    """GPS records with their own UTC time (Insta360's ``GpsData``)."""
    found = False
    void = 0
    out = []
    for sample in samples:
        group = sample.get("GPS")
        if not isinstance(group, Mapping) or not isinstance(group.get("Data"), list):
            continue
        for record in _gps_dicts(group["Data"]):
            found = True
            if record.get("is_acquired") is False:
                void += 1
                continue
            lat, lon, t = _number(record.get("lat")), _number(record.get("lon")), _number(record.get("unix_timestamp"))
            if lat is None or lon is None or t is None or not _usable(lat, lon):
                void += 1
                continue
            out.append(TelemetrySample(t_s=t, lat_deg=lat, lon_deg=lon, alt_abs_m=_number(record.get("altitude"))))
    if not found:
        return None
    name = f"{camera} {model}" if model else camera
    if not out:
        raise TelemetryError(f"{path}: {name} GPS without a fix: none of its {void} GPS records has a position")
    out.sort(key=lambda s: s.t_s)
    notes = ["put on the video's clock by its creation time, like a GPX"]
    if void:
        notes.append(f"{void} GPS records without a fix dropped")
    return Track(samples=tuple(out), path=path, format=camera.lower().replace(" ", "-"), time_base=TimeBase.UTC,
                 format_detail=f"{name}, GPS records inside the video", notes=tuple(notes))


def read_embedded(path: str | Path) -> Track:
    """Read the GPS track a camera wrote inside ``path``.

    Raises
    ------
    TelemetryError
        Naming the file: missing or not a regular file, no telemetry in the video,
        an unsupported camera, telemetry without GPS, or GPS without a fix.
    """
    path = Path(path)
    regular_file(path, "video file")
    camera, model, samples = _parse(path)
    track = _gopro_track(path, camera, model, samples) if camera == "GoPro" else None
    if track is None:
        track = _records_track(path, camera, model, samples)
    if track is None and camera != "GoPro":
        track = _gopro_track(path, camera, model, samples)  # GPMF written by another maker's camera
    if track is not None:
        return track
    name = f"{camera} {model}" if model else camera
    why = {
        "GoPro": "GPS was off in the camera's settings, or the model has no GPS",
        "DJI": "DJI Action, Avata, O3 and O4 cameras record their motion, not their position; use the drone's .SRT",
        "Insta360": "GPS is recorded only with the GPS remote or the phone app's GPS on",
    }.get(camera, "the camera records its motion, not its position")
    raise TelemetryError(f"{path}: {name} telemetry without GPS ({why})")


def has_embedded_gps(path: str | Path) -> bool:
    """Whether ``path`` is a video carrying a GPS track that :func:`read_embedded` reads."""
    try:
        read_embedded(path)
    except TelemetryError:
        return False
    return True


__all__ = ["VIDEO_SUFFIXES", "has_embedded_gps", "read_embedded"]
