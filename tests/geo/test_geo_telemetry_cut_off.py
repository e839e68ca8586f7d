"""A telemetry file cut off mid-write (a logger that lost power in flight) keeps what it
logged before the break, with a note saying where it breaks; no whole point at all is refused."""

from __future__ import annotations

import pytest

from app.cli import main
from core.errors import TelemetryError
from geo.telemetry import read_telemetry

POINT = '<trkpt lat="30.{i:04d}" lon="-85.6"><ele>80</ele><time>2018-10-12T15:00:{i:02d}Z</time></trkpt>\n'


def _gpx_text(points: int) -> str:
    return ('<?xml version="1.0"?>\n<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">\n'
            "<trk><trkseg>\n" + "".join(POINT.format(i=i) for i in range(points)) + "</trkseg></trk>\n</gpx>\n")


def _cut_in_point(text: str, point: int) -> str:
    """``text`` cut inside its ``point``-th (0-based) point, after the latitude."""
    at = text.index(f'lat="30.{point:04d}"') + len('lat="30.0')
    return text[:at]


def test_gpx_cut_mid_point_keeps_the_points_before_with_a_note(tmp_path):
    path = tmp_path / "flight.gpx"
    path.write_text(_cut_in_point(_gpx_text(10), 6))
    track = read_telemetry(path)
    assert len(track) == 6
    assert [round(s.lat_deg, 4) for s in track.samples] == [30.0 + i / 1e4 for i in range(6)]
    (note,) = [n for n in track.notes if "cut off" in n]
    assert "at line 10" in note and "after 6 whole track points" in note and "after 15:00:05 UTC" in note


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be"])
def test_gpx_cut_between_points_and_zero_filled_is_read_the_same(tmp_path, encoding):
    """A logger that lost power may leave the rest of its preallocated file as zero bytes."""
    text = _gpx_text(10)
    path = tmp_path / "flight.gpx"
    path.write_bytes(text[:text.index("<trkpt", text.index("15:00:03"))].encode(encoding) + b"\x00" * 8192)
    track = read_telemetry(path)
    assert len(track) == 4 and any("after 4 whole track points" in n for n in track.notes)


def test_cli_telemetry_shows_the_cut_note(tmp_path, capsys):
    path = tmp_path / "flight.gpx"
    path.write_text(_cut_in_point(_gpx_text(10), 3))
    assert main(["telemetry", str(path)]) == 0
    out = capsys.readouterr().out
    assert "samples              3" in out
    assert "cut off at line 7" in out and "after 15:00:02 UTC" in out


def test_gpx_cut_before_its_first_whole_point_is_refused(tmp_path):
    path = tmp_path / "flight.gpx"
    path.write_text(_cut_in_point(_gpx_text(10), 0))
    with pytest.raises(TelemetryError) as info:
        read_telemetry(path)
    message = str(info.value)
    assert str(path) in message and "cut off at line 4" in message and "before its first whole" in message


def test_gpx_broken_in_the_middle_is_still_refused(tmp_path):
    """Only a file that ends early is read in part: an XML error with more file after it is
    not a cut, and half a flight read without a word would be worse than a refusal."""
    text = _gpx_text(10)
    path = tmp_path / "flight.gpx"
    path.write_text(text.replace("</trkpt>", "</trkpoint>", 1))
    with pytest.raises(TelemetryError, match="not a readable GPX file: mismatched tag: line 4"):
        read_telemetry(path)


SRT_CUE = ("{n}\n00:00:0{n},000 --> 00:00:0{n},500\n<font size=\"28\">FrameCnt: {n}, DiffTime: 500ms\n"
           "2024-01-01 10:00:0{n}.000\n[latitude: 30.1] [longitude: -85.6] [rel_alt: 50.0 abs_alt: 60.0]</font>\n\n")


@pytest.mark.parametrize("cut_after", ["[latitude: 30.1] [", "[longitude: -", "[longitude: -8", "[longitude: -85.6] [rel_alt: 5"])
def test_srt_cut_mid_entry_keeps_the_entries_before(tmp_path, cut_after):
    """An entry cut inside its longitude ("-8" for "-85.6") was read as a position 7,000 km off."""
    srt = "".join(SRT_CUE.format(n=n) for n in range(1, 6))
    path = tmp_path / "flight.SRT"
    path.write_text(srt[:srt.index(cut_after, srt.index("FrameCnt: 4")) + len(cut_after)])
    track = read_telemetry(path)
    assert len(track) == 3 and all(s.lon_deg == -85.6 for s in track.samples)
    assert track.cut_off == ("the file is cut off inside its last entry, which was left out: whatever was logged "
                             "after 3.0 s of the video is not in it") and track.cut_off in track.notes
    assert not any("no usable position" in n for n in track.notes)  # the cut entry is said once


def test_srt_cut_inside_a_closing_tag_keeps_its_whole_last_entry(tmp_path):
    srt = "".join(SRT_CUE.format(n=n) for n in range(1, 6))
    path = tmp_path / "flight.SRT"
    path.write_text(srt[:srt.rindex("</fo") + 4])
    assert len(read_telemetry(path)) == 5


def test_csv_cut_mid_row_keeps_the_rows_before(tmp_path):
    csv_path = tmp_path / "flight.csv"
    csv_path.write_text("time(s),latitude,longitude\n0,30.1,-85.6\n1,30.1,-85.6\n2,30.1")
    track = read_telemetry(csv_path)
    assert len(track) == 2
    assert track.cut_off == ("the file is cut off inside its last row, which was left out: whatever was logged "
                             "after 1.0 s into the log is not in it") and track.cut_off in track.notes


CSV_ROW = "2018-10-12 15:00:{i:02d},30.1{i:05d}2,-85.6{i:06d}3,{alt}\n"


def _csv_text(rows: int, alt: str = "{}.5") -> str:
    return "datetime(utc),latitude,longitude,altitude(m)\n" + "".join(
        CSV_ROW.format(i=i, alt=alt.format(95 + 2 * i)) for i in range(rows))


@pytest.mark.parametrize("cut_after", ["-8", "-85", "-85.", "-85.60000", "-85.60000093,11", "-85.60000093,113."])
def test_csv_cut_inside_its_last_number_leaves_that_row_out(tmp_path, cut_after):
    """A last row cut inside its longitude ("-8" for "-85.6") was read as a position
    7,000 km off; cut inside its last number, it was read with that number cut short."""
    text = _csv_text(10)
    path = tmp_path / "flight.csv"
    path.write_text(text[:text.index(cut_after, text.index("15:00:09")) + len(cut_after)])
    track = read_telemetry(path)
    assert len(track) == 9 and all(-85.61 < s.lon_deg < -85.59 for s in track.samples)
    assert "after 15:00:08 UTC (2018-10-12)" in track.cut_off


@pytest.mark.parametrize(("alt", "last"), [("{}.25", "99.5"), ("{}", "99")])
def test_csv_whole_last_row_without_a_line_break_is_kept(tmp_path, alt, last):
    """A log whose last row is whole but has no final line break is read whole: a writer
    that drops trailing zeros (101.25, 103.5) ends on a number with fewer decimals than
    the row before (99.5), and a column of whole numbers cut short cannot be told from a
    smaller number."""
    rows = _csv_text(10, alt).splitlines()
    rows[3] = rows[3].replace(".25", ".5")
    rows[-1] = rows[-1][:rows[-1].rindex(",") + 1] + last
    path = tmp_path / "flight.csv"
    path.write_text("\n".join(rows))
    track = read_telemetry(path)
    assert len(track) == 10 and track.cut_off is None
    assert track.samples[-1].alt_abs_m == float(last)
