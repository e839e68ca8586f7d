"""MISB ST 0601 (UAS Datalink Local Set) KLV metadata: the format of full-motion video
(QGIS FMV, ArcGIS FMV) from military and many professional drones.

A KLV file is a run of packets: the 16-byte ST 0601 universal key, a BER length, then
tag-length-value items (BER-OID tags, BER lengths). Each packet's checksum (tag 1) is
checked and a packet that fails it is skipped (unless every packet fails: then the
values are used as written, with a note). The items read: precision time stamp
(2, microseconds since 1970 UTC), platform heading/pitch/roll (5, 6, 7), sensor latitude,
longitude and true altitude (13, 14, 15), horizontal field of view (16) and the sensor's
azimuth and elevation relative to the platform (18, 19), which give the camera's heading
and pitch. Values are scaled as the standard's integer mappings say; a field holding the
standard's "out of range" code is left out.

KLV carried inside an MPEG-TS video is a data stream: extract it first with
``ffmpeg -i video.ts -map 0:d -c copy -f data video.klv``.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

from core.errors import TelemetryError
from core.sites import counted
from core.types import TelemetrySample
from geo.telemetry.track import TimeBase, Track, time_order_note

#: The ST 0601 UAS Datalink Local Set universal key (the version byte 0x0B may vary).
UAS_KEY = bytes.fromhex("060e2b34020b01010e01030101000000")
_KEY_PREFIX = UAS_KEY[:4]


def _ber_length(data: bytes, at: int) -> tuple[int, int]:
    """``(length, position after it)`` of a BER length at ``at``."""
    first = data[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if count == 0 or count > 8 or at + 1 + count > len(data):
        raise ValueError("bad BER length")
    return int.from_bytes(data[at + 1 : at + 1 + count], "big"), at + 1 + count


def _ber_oid(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[at]
        value = (value << 7) | (byte & 0x7F)
        at += 1
        if byte < 0x80:
            return value, at


def checksum(packet: bytes) -> int:
    """The ST 0601 running 16-bit checksum over ``packet`` (from the key up to and
    including the checksum item's tag and length)."""
    total = 0
    for i, byte in enumerate(packet):
        total += byte << (8 * ((i + 1) % 2))
    return total & 0xFFFF


def _scaled(raw: bytes, signed: bool, span: float, offset: float = 0.0) -> float | None:
    """The standard's integer mapping: ``raw`` spread over ``span`` (signed: symmetric,
    the most negative code meaning "out of range")."""
    bits = 8 * len(raw)
    value = int.from_bytes(raw, "big", signed=signed)
    if signed:
        if value == -(1 << (bits - 1)):
            return None
        return value * span / ((1 << bits) - 2)
    return value * span / ((1 << bits) - 1) + offset


def parse_local_set(items: bytes) -> dict[int, bytes]:
    """Tag -> value bytes of one packet's local set."""
    out: dict[int, bytes] = {}
    at = 0
    while at < len(items):
        tag, at = _ber_oid(items, at)
        length, at = _ber_length(items, at)
        out[tag] = items[at : at + length]
        at += length
    return out


def _camera_pitch(tags: dict[int, bytes], platform_pitch: float | None) -> float | None:
    """The sensor's elevation (19) plus the platform's pitch: the camera's pitch, degrees."""
    if 19 not in tags:
        return None
    elevation = _scaled(tags[19], True, 360.0)
    return None if elevation is None else elevation + (platform_pitch or 0.0)


def _pitch_left_out(tags: dict[int, bytes]) -> bool:
    """The packet gives a camera pitch outside -90..30 degrees, which :func:`sample_from` leaves out."""
    pitch = _scaled(tags[6], True, 40.0) if 6 in tags else None
    value = _camera_pitch(tags, pitch)
    return value is not None and not -90.0 <= value <= 30.0


def sample_from(tags: dict[int, bytes]) -> TelemetrySample | None:
    """A sample from one packet's items; ``None`` without a time or a position."""
    if 2 not in tags or 13 not in tags or 14 not in tags:
        return None
    t = struct.unpack(">Q", tags[2].rjust(8, b"\0"))[0] / 1e6
    lat = _scaled(tags[13], True, 180.0)
    lon = _scaled(tags[14], True, 360.0)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    altitude = _scaled(tags[15], False, 19900.0, -900.0) if 15 in tags else None
    heading = _scaled(tags[5], False, 360.0) if 5 in tags else None
    pitch = _scaled(tags[6], True, 40.0) if 6 in tags else None
    camera_yaw = None
    if heading is not None and 18 in tags:
        camera_yaw = (heading + (_scaled(tags[18], False, 360.0) or 0.0)) % 360.0
    camera_pitch = _camera_pitch(tags, pitch)
    if camera_pitch is not None and not -90.0 <= camera_pitch <= 30.0:
        camera_pitch = None  # pointing up or past the nadir: not a camera filming the ground (said by read_klv)
    focal = None
    if 16 in tags:
        hfov = _scaled(tags[16], False, 180.0)
        if hfov is not None and 1.0 < hfov < 170.0:
            focal = 18.0 / math.tan(math.radians(hfov) / 2.0)  # 35 mm equivalent
    return TelemetrySample(t_s=t, lat_deg=lat, lon_deg=lon, alt_abs_m=altitude, yaw_deg=heading,
                           gimbal_pitch_deg=camera_pitch, gimbal_yaw_deg=camera_yaw, focal_length_mm=focal)


def read_klv(path: str | Path) -> Track:
    """Read a file of MISB ST 0601 KLV packets.

    Raises
    ------
    TelemetryError
        Naming the file: unreadable, no ST 0601 packet, or none with a time and position.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TelemetryError(f"{path}: cannot read telemetry: {exc.strerror or exc}") from None
    samples: list[TelemetrySample] = []
    unchecked: list[TelemetrySample] = []  # from packets whose checksum does not match
    packets = bad = steep = 0
    at = data.find(_KEY_PREFIX)
    while 0 <= at < len(data) - 17:
        key = data[at : at + 16]
        if key[:5] != UAS_KEY[:5] or key[6:] != UAS_KEY[6:]:  # another key: skip to the next
            at = data.find(_KEY_PREFIX, at + 1)
            continue
        try:
            length, start = _ber_length(data, at + 16)
        except (ValueError, IndexError):
            break
        end = start + length
        if end > len(data):
            bad += 1
            break
        packets += 1
        try:
            tags = parse_local_set(data[start:end])
        except (ValueError, IndexError):
            bad += 1
            at = data.find(_KEY_PREFIX, end)
            continue
        sample = sample_from(tags)
        steep += sample is not None and _pitch_left_out(tags)
        if 1 in tags and len(tags[1]) == 2 and checksum(data[at : end - 2]) != int.from_bytes(tags[1], "big"):
            bad += 1
            if sample is not None:
                unchecked.append(sample)
        elif sample is not None:
            samples.append(sample)
        at = data.find(_KEY_PREFIX, end)
    if packets == 0:
        raise TelemetryError(f"{path}: no MISB ST 0601 KLV packet found")
    notes: tuple[str, ...] = ()
    if not samples and unchecked:  # every packet fails: a writer's checksum convention, not corruption
        samples = unchecked
        notes = ("the checksum of the file's one KLV packet does not match; its values are used as written"
                 if packets == 1 else
                 f"the checksum of all {packets} KLV packets does not match; their values are used as written",)
    elif bad:
        skipped = ("1 KLV packet failed its checksum or was cut short and was skipped" if bad == 1 else
                   f"{bad} KLV packets failed their checksum or were cut short and were skipped")
        notes = (skipped,)
    if not samples:
        none = "without" if packets == 1 else "none with"
        raise TelemetryError(f"{path}: {counted(packets, 'MISB ST 0601 KLV packet')}, {none} a time stamp and a "
                             "sensor position")
    disorder = time_order_note(samples, "packets")
    if disorder:
        notes = (*notes, disorder)
    if steep:
        notes = (*notes, f"{steep} packet{'s give' if steep > 1 else ' gives'} a camera pitch outside -90..30 degrees "
                         "(pointing up, or past straight down): left out there, the map assumes or reads the pitch "
                         "for those frames")
    samples.sort(key=lambda s: s.t_s)
    return Track(tuple(samples), path, "misb-klv", TimeBase.UTC,
                 format_detail=f"MISB ST 0601 UAS Datalink Local Set, {counted(packets, 'packet')}", notes=notes)


__all__ = ["UAS_KEY", "checksum", "parse_local_set", "read_klv", "sample_from"]
