"""A malformed number in an SRT is never read as part of itself: ``1e308`` is not 1.0 and
``30.15abc`` is not 30.15. Entries with an unreadable or impossible position are
skipped and counted; a file with no readable position is refused with one line."""

from __future__ import annotations

import pytest

from core.errors import TelemetryError
from geo.telemetry import read_telemetry


def _srt(lats: list[str], lon: str = "-85.6") -> str:
    cues = []
    for i, lat in enumerate(lats):
        cues.append(
            f"{i + 1}\n00:00:00,{i * 33:03d} --> 00:00:00,{i * 33 + 33:03d}\n"
            f'<font size="28">FrameCnt: {i + 1}, DiffTime: 33ms\n2024-01-01 10:00:00.{i * 33:03d}\n'
            f"[latitude: {lat}] [longitude: {lon}] [rel_alt: 50.0 abs_alt: 60.0]</font>\n"
        )
    return "\n".join(cues)


@pytest.mark.parametrize("bad", ["1e308", "1e400", "30.15abc", "30.1.5", "nan", "--30.1", "30,15x"])
def test_a_file_whose_every_latitude_is_malformed_is_refused(tmp_path, bad):
    path = tmp_path / "huge_lat.SRT"
    path.write_text(_srt([bad] * 4))
    with pytest.raises(TelemetryError) as info:
        read_telemetry(path)
    message = str(info.value)
    assert str(path) in message and "no GPS position" in message and "\n" not in message
    assert f"latitude: {bad}" in message


def test_malformed_entries_are_skipped_and_counted(tmp_path):
    path = tmp_path / "some_bad.SRT"
    path.write_text(_srt(["30.1500", "30.15abc", "30.1502", "1e308", "30.1504"]))
    track = read_telemetry(path)
    assert [s.lat_deg for s in track.samples] == [30.15, 30.1502, 30.1504]
    note = next(n for n in track.notes if "2 of 5 entries" in n)
    assert "latitude: 30.15abc" in note


def test_well_formed_numbers_still_read(tmp_path):
    path = tmp_path / "fine.SRT"
    path.write_text(_srt(["+30.15", "3.0151e1", "30."], lon="-85.60"))
    track = read_telemetry(path)
    assert [s.lat_deg for s in track.samples] == pytest.approx([30.15, 30.151, 30.0])
    assert not track.notes


def test_a_malformed_optional_field_is_dropped_with_a_note(tmp_path):
    path = tmp_path / "alt.SRT"
    path.write_text(_srt(["30.15"]).replace("rel_alt: 50.0", "rel_alt: 5O.0"))
    track = read_telemetry(path)
    assert track.samples[0].alt_rel_m is None and track.samples[0].alt_abs_m == 60.0
    assert any("rel_alt: 5O.0" in n for n in track.notes)


def test_malformed_gps_pair_is_not_truncated(tmp_path):
    cues = [f"{i + 1}\n00:00:0{i},000 --> 00:00:0{i + 1},000\nGPS({v},-20.2533,16) BAROMETER:1.9\n"
            for i, v in enumerate(["149.0251", "149.0251x", "149.0252"])]
    path = tmp_path / "old.SRT"
    path.write_text("\n".join(cues))
    track = read_telemetry(path)
    assert [s.lon_deg for s in track.samples] == [149.0251, 149.0252]
    assert any("149.0251x" in n for n in track.notes)


@pytest.mark.parametrize("date", ["0000-00-00 00:00:00", "2024-13-01 10:00:00", "2024-01-01 25:00:00"])
def test_an_entry_with_an_impossible_date_is_read_without_it(tmp_path, date):
    """A camera whose clock was never set writes ``0000-00-00``; one such entry failed
    the whole file with "year 0 is out of range" (a traceback in export)."""
    path = tmp_path / "no_clock.SRT"
    path.write_text(_srt(["30.1500", "30.1501", "30.1502"]).replace("2024-01-01 10:00:00", date, 1))
    track = read_telemetry(path)
    assert [s.lat_deg for s in track.samples] == [30.15, 30.1501, 30.1502]


def test_a_focal_length_written_with_an_exponent_is_read(tmp_path):
    path = tmp_path / "focal.SRT"
    path.write_text(_srt(["30.1500", "30.1501"]).replace("[rel_alt", "[focal_len: 24e1] [rel_alt"))
    assert [s.focal_length_mm for s in read_telemetry(path).samples] == [24.0, 24.0]
