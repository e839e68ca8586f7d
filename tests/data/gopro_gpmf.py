"""Writes small camera videos with telemetry inside for the embedded-telemetry tests: GoPro-style
MP4s with GPS (below), and a DJI action-camera-style one without (:func:`write_dji_action_mp4`).

GoPro: a few frames of video (MPEG-4 Part 2, PyAV) and a timed-metadata track holding GPMF
payloads, one per second of video, as GoPro cameras write them: a ``DEVC`` container
with the device id and name and one ``STRM`` per sensor. The GPS stream carries
``STNM``, ``GPSF`` (fix: 0 none, 2 2D, 3 3D), ``GPSU`` (UTC of the payload's first
fix, ``yymmddhhmmss.sss``), ``GPSP`` (dilution of precision x 100), ``UNIT``, ``SCAL``
and last the ``GPS5`` rows (latitude, longitude, altitude, 2D and 3D speed as scaled
32-bit integers); HERO11 and later write ``GPS9`` rows (those five, then days since
2000, seconds since midnight, DOP and fix per row) described by a ``TYPE`` string.
The track is muxed with codec tag ``gpmd`` and handler name ``GoPro MET``, which is
how GoPro files name it and how readers recognise it.

KLV layout (GPMF): four-character key, one type byte (``0`` for a nested container),
one byte struct size, a big-endian 16-bit repeat count, then ``size * repeat`` bytes
padded with zeros to a multiple of four.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import numpy as np

GPS5_SCALE = (10_000_000, 10_000_000, 1000, 1000, 100)
GPS9_SCALE = (10_000_000, 10_000_000, 1000, 1000, 100, 1, 1000, 100, 1)


def klv(key: bytes, type_char: str | None, size: int, repeat: int, payload: bytes) -> bytes:
    """One GPMF KLV item (``type_char`` ``None`` for a nested container)."""
    assert len(key) == 4 and len(payload) == size * repeat, (key, size, repeat, len(payload))
    head = key + bytes([ord(type_char) if type_char else 0, size]) + struct.pack(">H", repeat)
    return head + payload + b"\0" * ((-len(payload)) % 4)


def nest(key: bytes, children: list[bytes]) -> bytes:
    body = b"".join(children)
    return klv(key, None, 4, len(body) // 4, body)  # children are each padded to 4 bytes


def text(key: bytes, value: str) -> bytes:
    data = value.encode("ascii")
    return klv(key, "c", 1, len(data), data)


def gpsu(utc_s: float) -> str:
    """``yymmddhhmmss.sss`` of a UNIX time, as GPSU writes it."""
    moment = datetime.fromtimestamp(round(utc_s, 3), tz=timezone.utc)
    return moment.strftime("%y%m%d%H%M%S") + f".{moment.microsecond // 1000:03d}"


@dataclass
class Fix:
    """One GPS row: position, altitude (m) and speed (m/s)."""

    lat: float
    lon: float
    alt: float
    speed: float = 5.0


@dataclass
class Payload:
    """One second of telemetry: its fixes, the UTC of the first, the fix state."""

    fixes: list[Fix]
    utc_s: float
    fix: int = 3
    dop: float = 2.5
    extra_streams: list[bytes] = field(default_factory=list)


def gps5_stream(p: Payload) -> bytes:
    rows = b"".join(
        struct.pack(">5l", *(round(v * s) for v, s in zip((f.lat, f.lon, f.alt, f.speed, f.speed), GPS5_SCALE)))
        for f in p.fixes
    )
    return nest(b"STRM", [
        text(b"STNM", "GPS (Lat., Long., Alt., 2D speed, 3D speed)"),
        klv(b"GPSF", "L", 4, 1, struct.pack(">L", p.fix)),
        klv(b"GPSU", "U", 16, 1, gpsu(p.utc_s).encode("ascii")),
        klv(b"GPSP", "S", 2, 1, struct.pack(">H", round(p.dop * 100))),
        klv(b"UNIT", "c", 3, 5, b"deg" + b"deg" + b"m\0\0" + b"m/s" + b"m/s"),
        klv(b"SCAL", "l", 4, 5, struct.pack(">5l", *GPS5_SCALE)),
        klv(b"GPS5", "l", 20, len(p.fixes), rows),
    ])


def gps9_stream(p: Payload, step_s: float) -> bytes:
    rows = []
    for i, f in enumerate(p.fixes):
        t = round(p.utc_s + i * step_s, 3)
        day, second = divmod(t - 946684800.0, 86400.0)  # days since 2000-01-01
        values = (f.lat, f.lon, f.alt, f.speed, f.speed, day, second, p.dop, p.fix)
        scaled = [round(v * s) for v, s in zip(values, GPS9_SCALE)]
        rows.append(struct.pack(">7l2H", *scaled))
    return nest(b"STRM", [
        text(b"STNM", "GPS (Lat., Long., Alt., 2D, 3D, days, secs, DOP, fix)"),
        text(b"TYPE", "lllllllSS"),
        klv(b"UNIT", "c", 3, 9, b"deg" + b"deg" + b"m\0\0" + b"m/s" + b"m/s" + b"\0\0\0" + b"s\0\0" + b"\0\0\0" + b"\0\0\0"),
        klv(b"SCAL", "l", 4, 9, struct.pack(">9l", *GPS9_SCALE)),
        klv(b"GPS9", "?", 32, len(p.fixes), b"".join(rows)),
    ])


def accl_stream(n: int = 4) -> bytes:
    """An accelerometer stream (a GoPro with GPS off still writes these)."""
    rows = b"".join(struct.pack(">3h", 0, 0, 418) for _ in range(n))
    return nest(b"STRM", [
        text(b"STNM", "Accelerometer"),
        klv(b"SCAL", "s", 2, 1, struct.pack(">h", 418)),
        klv(b"SIUN", "c", 4, 1, b"m/s\xb2"),
        klv(b"ACCL", "s", 6, n, rows),
    ])


def devc(streams: list[bytes], name: str = "HERO8 Black") -> bytes:
    return nest(b"DEVC", [klv(b"DVID", "L", 4, 1, struct.pack(">L", 1)), text(b"DVNM", name), *streams])


def write_gopro_mp4(
    path: Path,
    payloads: list[Payload | None],
    *,
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
    gps9: bool = False,
    handler: str = "GoPro MET",
    payload_s: float = 1.0,
    start_s: float = 0.0,
    seconds: float | None = None,
    header_model: str | None = None,
) -> Path:
    """A video of ``seconds`` (default ``len(payloads) * payload_s``) with one GPMF payload
    per ``payload_s`` (``None``: a payload without a GPS stream, accelerometer only), the
    first at ``start_s`` on the video's clock; no metadata track when ``payloads`` is empty.
    ``header_model`` adds the file-level GPMF box cameras write with their model (``MINF``);
    real files keep it in ``moov/udta``, here it is a top-level box after ``moov`` (readers
    find it by its ``GPMFDEVC`` bytes), followed by a ``free`` box."""
    import av

    width, height = size
    n_frames = round((seconds if seconds is not None else len(payloads) * payload_s) * fps)
    container = av.open(str(path), "w", format="mp4")
    video = container.add_stream("mpeg4", rate=fps)
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    data = container.add_data_stream("bin_data") if payloads else None
    if data is not None:
        data.metadata["handler_name"] = handler
    ms = Fraction(1, 1000)
    packets = []
    for k, p in enumerate(payloads):
        if p is None:
            body = devc([accl_stream()])
        else:
            gps = gps9_stream(p, payload_s / max(len(p.fixes), 1)) if gps9 else gps5_stream(p)
            body = devc([accl_stream(), *p.extra_streams, gps])
        packet = av.Packet(body)
        packet.pts = packet.dts = round((start_s + k * payload_s) * 1000)
        packet.duration = round(payload_s * 1000)
        packet.time_base = ms
        packets.append(packet)
    per_payload = max(1, round(payload_s * fps))
    for i in range(n_frames):
        shade = np.full((height, width, 3), (i * 37) % 256, np.uint8)
        for packet in video.encode(av.VideoFrame.from_ndarray(shade, format="rgb24")):
            container.mux(packet)
        if i % per_payload == 0 and i // per_payload < len(packets):
            packet = packets[i // per_payload]
            packet.stream = data
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    container.close()
    if header_model is not None:
        body = devc([text(b"MINF", header_model)])
        with open(path, "ab") as stream:
            stream.write(struct.pack(">I", 8 + len(body)) + b"GPMF" + body + struct.pack(">I", 8) + b"free")
    return path


def write_dji_action_mp4(path: Path, seconds: float = 1.0, fps: int = 10) -> Path:
    """A video with a ``DJI meta`` metadata track (as DJI Action / Avata / O3 write, codec
    ``djmd``): one protobuf payload a half second holding only a field the readers skip,
    that is, camera metadata without any position. The ``djmd`` tag the readers look for
    is written in a ``free`` box at the end (PyAV cannot set a data track's codec tag)."""
    import av

    container = av.open(str(path), "w", format="mp4")
    video = container.add_stream("mpeg4", rate=fps)
    video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    data = container.add_data_stream("bin_data")
    data.metadata["handler_name"] = "DJI meta"
    every = max(1, fps // 2)
    for i in range(round(seconds * fps)):
        for packet in video.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")):
            container.mux(packet)
        if i % every == 0:
            meta = av.Packet(bytes([0xA0, 0x06, 0xAC, 0x02, 0xA0, 0x06, 0x01]))  # field 100 (unknown) twice
            meta.stream = data
            meta.pts = meta.dts = round(i * 1000 / fps)
            meta.duration = round(every * 1000 / fps)
            meta.time_base = Fraction(1, 1000)
            container.mux(meta)
    for packet in video.encode():
        container.mux(packet)
    container.close()
    with open(path, "ab") as stream:
        stream.write(struct.pack(">I", 16) + b"free" + b"djmd" + b"\0" * 4)
    return path


INSTA360_MAGIC = b"8db42d694ccc418790edff439fe026bf"


def append_insta360_gps(path: Path, records: list[tuple[float, bool, float, float, float]]) -> Path:
    """Append an Insta360 trailer holding one GPS record to a video: ``(UNIX time,
    fix acquired, latitude, longitude, altitude)`` rows.

    Layout, read backwards from the end of the file: the 32-byte magic, a version and the
    trailer's size (little-endian 32-bit), 32 bytes of padding, then records, each its
    data followed by a format byte, an id byte (7: GPS) and the data's size. A GPS row is
    53 bytes: seconds (u64) and milliseconds (u16), ``A``/``V`` (fix or void), latitude
    (f64) and ``N``/``S``, longitude (f64) and ``E``/``W``, speed, track and altitude (f64).
    """
    rows = []
    for t, acquired, lat, lon, alt in records:
        seconds = int(t)
        millis = round((t - seconds) * 1000)
        rows.append(struct.pack("<QHcdcdcddd", seconds, millis, b"A" if acquired else b"V", abs(lat),
                                b"N" if lat >= 0 else b"S", abs(lon), b"E" if lon >= 0 else b"W", 2.0, 90.0, alt))
    data = b"".join(rows)
    record = data + struct.pack("<BBI", 0, 7, len(data))
    header_size = 32 + 4 + 4 + 32
    trailer = record + b"\0" * 32 + struct.pack("<II", header_size + len(record), 3) + INSTA360_MAGIC
    with open(path, "ab") as stream:
        stream.write(trailer)
    return path
