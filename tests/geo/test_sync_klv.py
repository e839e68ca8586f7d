"""geo.telemetry.klv: MISB ST 0601 KLV packets read into a track (files written here,
and the standard's example packet in shared/samples)."""

from __future__ import annotations

import pytest

from core.errors import TelemetryError
from geo.telemetry import TimeBase, read_telemetry
from geo.telemetry.klv import UAS_KEY, checksum


def _ber(n: int) -> bytes:
    return bytes([n]) if n < 128 else bytes([0x81, n])


def _int(value: float, span: float, size: int, signed: bool, offset: float = 0.0) -> bytes:
    if signed:
        code = round(value * ((1 << (8 * size)) - 2) / span)
    else:
        code = round((value - offset) * ((1 << (8 * size)) - 1) / span)
    return code.to_bytes(size, "big", signed=signed)


def packet(t_s: float, lat: float, lon: float, alt: float, heading: float, *, corrupt: bool = False,
           elevation: float = -43.0) -> bytes:
    items = [
        (2, int(t_s * 1e6).to_bytes(8, "big")),
        (5, _int(heading, 360.0, 2, False)),
        (6, _int(-2.0, 40.0, 2, True)),
        (13, _int(lat, 180.0, 4, True)),
        (14, _int(lon, 360.0, 4, True)),
        (15, _int(alt, 19900.0, 2, False, -900.0)),
        (16, _int(73.7, 180.0, 2, False)),
        (18, _int(10.0, 360.0, 4, False)),
        (19, _int(elevation, 360.0, 4, True)),
    ]
    body = b"".join(bytes([tag]) + _ber(len(v)) + v for tag, v in items) + b"\x01\x02"
    head = UAS_KEY + _ber(len(body) + 2)
    value = checksum(head + body)
    out = bytearray(head + body + value.to_bytes(2, "big"))
    if corrupt:
        out[30] ^= 0xFF
    return bytes(out)


def test_packets_read_into_a_utc_track(tmp_path):
    path = tmp_path / "flight.klv"
    t0 = 1_539_356_400.0
    path.write_bytes(b"".join(packet(t0 + k * 0.5, 30.1588 + k * 1e-5, -85.6602, 110.0 + k, 90.0)
                              for k in range(4)) + packet(t0 + 9, 30.0, -85.0, 0.0, 0.0, corrupt=True))
    track = read_telemetry(path)
    assert track.format == "misb-klv" and track.time_base is TimeBase.UTC
    assert len(track) == 4  # the corrupt packet is skipped
    assert track.notes[0] == "1 KLV packet failed its checksum or was cut short and was skipped"
    first = track.samples[0]
    assert first.t_s == pytest.approx(t0)
    assert first.lat_deg == pytest.approx(30.1588, abs=1e-6) and first.lon_deg == pytest.approx(-85.6602, abs=1e-6)
    assert first.alt_abs_m == pytest.approx(110.0, abs=0.5)
    assert first.yaw_deg == pytest.approx(90.0, abs=0.01)
    assert first.gimbal_yaw_deg == pytest.approx(100.0, abs=0.01)  # heading + sensor relative azimuth
    assert first.gimbal_pitch_deg == pytest.approx(-45.0, abs=0.01)  # platform pitch + sensor elevation
    assert first.focal_length_mm == pytest.approx(24.0, abs=0.1)  # 73.7 deg horizontal FOV


def test_the_standards_example_packet(samples):
    track = read_telemetry(samples / "klv" / "DynamicConstantMISMMSPacketData.bin")
    (s,) = track.samples
    assert s.lat_deg == pytest.approx(60.1768229669783) and s.lon_deg == pytest.approx(128.426759042045)
    assert s.alt_abs_m == pytest.approx(14190.72, abs=0.01)
    assert s.t_s == pytest.approx(1231798102.0)  # 2009-01-12 22:08:22 UTC
    assert track.notes[0] == ("the checksum of the file's one KLV packet does not match; its values are used as "
                              "written")
    assert track.format_detail == "MISB ST 0601 UAS Datalink Local Set, 1 packet"


def test_klv_without_positions_and_transport_streams_are_one_line(tmp_path):
    empty = tmp_path / "empty.klv"
    body = b"\x03\x02ab"
    empty.write_bytes(UAS_KEY + bytes([len(body)]) + body)
    with pytest.raises(TelemetryError, match="1 MISB ST 0601 KLV packet, without a time stamp and a sensor position"):
        read_telemetry(empty)
    ts = tmp_path / "video.ts"
    ts.write_bytes((b"G" + bytes(187)) * 4)
    with pytest.raises(TelemetryError, match="extract its KLV metadata first"):
        read_telemetry(ts)


def test_a_camera_pitch_out_of_range_is_left_out_with_a_note(tmp_path):
    """A sensor pointing up was dropped without a word: the map assumed a pitch there."""
    path = tmp_path / "up.klv"
    t0 = 1_539_356_400.0
    path.write_bytes(b"".join(packet(t0 + k * 0.5, 30.1588 + k * 1e-5, -85.6602, 110.0, 90.0,
                                     elevation=40.0 if k < 2 else -43.0) for k in range(4)))
    track = read_telemetry(path)
    assert [s.gimbal_pitch_deg is None for s in track.samples] == [True, True, False, False]
    assert any("2 packets give a camera pitch outside -90..30 degrees" in note for note in track.notes)
