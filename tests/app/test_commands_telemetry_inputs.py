"""Telemetry files saved by other tools: an SRT in UTF-16, a CSV whose ``time`` column
holds dates and times."""

from __future__ import annotations

import pytest

from app.cli import main
from geo.telemetry import read_telemetry


def _srt(n: int = 4) -> str:
    cues = []
    for i in range(n):
        cues.append(
            f"{i + 1}\r\n00:00:00,{i * 33:03d} --> 00:00:00,{i * 33 + 33:03d}\r\n"
            f'<font size="28">FrameCnt: {i + 1}, DiffTime: 33ms\r\n2024-01-01 10:00:00.{i * 33:03d}\r\n'
            f"[latitude: {30.15 + i * 1e-4:.4f}] [longitude: -85.6] [rel_alt: 50.0 abs_alt: 60.0]</font>\r\n"
        )
    return "\r\n".join(cues)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_an_srt_saved_as_utf16_is_read_like_the_utf8_one(tmp_path, encoding):
    plain, wide = tmp_path / "a.SRT", tmp_path / "b.SRT"
    plain.write_bytes(_srt().encode("utf-8"))
    wide.write_bytes(_srt().encode(encoding))
    assert [s.lat_deg for s in read_telemetry(wide).samples] == [s.lat_deg for s in read_telemetry(plain).samples]
    assert len(read_telemetry(wide).samples) == 4


def test_binary_data_named_srt_is_still_refused(tmp_path, capsys):
    path = tmp_path / "x.SRT"
    path.write_bytes(bytes(range(256)) * 8)
    assert main(["telemetry", str(path)]) == 2
    assert "binary data" in capsys.readouterr().err


def test_iso_times_in_a_column_named_time_are_read_as_dates(tmp_path):
    path = tmp_path / "log.csv"
    rows = ["time,latitude,longitude,altitude"]
    rows += [f"2024-10-10T15:00:0{i}Z,30.15{i},-85.6,50" for i in range(5)]
    path.write_text("\n".join(rows) + "\n")
    track = read_telemetry(path)
    times = [s.t_s for s in track.samples]
    assert times[1] - times[0] == pytest.approx(1.0)
    assert any("'time' holds dates and times" in note for note in track.notes)


def test_a_time_column_with_no_readable_times_says_what_it_expects(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_text("time,latitude,longitude\nsoon,30.15,-85.6\nlater,30.16,-85.6\n")
    assert main(["telemetry", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'time' holds no readable times" in err and "seconds" in err and "2024-10-10T15:00:00Z" in err
