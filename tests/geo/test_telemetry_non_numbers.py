"""Telemetry fields written as NaN or as numbers no drone reaches (a GPX whose <ele> are
all NaN, a log's altitude of 1e300) are absent, not numbers: the file reads as having no
altitude, and the summary and the map say so instead of stopping with a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from core.types import TelemetrySample
from geo.telemetry import read_telemetry
from geo.telemetry.summary import summarise

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
{points}
</trkseg></trk></gpx>
"""


def _gpx(path: Path, elevation: str) -> Path:
    points = "\n".join(f'<trkpt lat="{30.1588 + k * 1e-5:.6f}" lon="-85.6602"><ele>{elevation}</ele>'
                       f"<time>2018-10-12T15:00:{k:02d}Z</time></trkpt>" for k in range(20))
    path.write_text(GPX.format(points=points))
    return path


@pytest.mark.parametrize("elevation", ["NaN", "inf", "1e300"])
def test_a_gpx_without_a_usable_elevation_reads_as_having_none(tmp_path, elevation, capsys):
    track = read_telemetry(_gpx(tmp_path / "flight.gpx", elevation))
    assert all(s.alt_abs_m is None for s in track.samples)
    assert not track.has("alt_abs_m")
    assert summarise(track)["altitude_abs_m"] is None
    assert main(["telemetry", str(tmp_path / "flight.gpx")]) == 0
    assert "altitude (absolute)" in capsys.readouterr().out


def test_a_sample_keeps_its_numbers_and_drops_the_non_numbers():
    sample = TelemetrySample(0.0, 30.0, -85.0, alt_abs_m=float("nan"), alt_rel_m=50.0, yaw_deg=float("inf"),
                             gimbal_pitch_deg=-45.0, h_accuracy_m=float("nan"))
    assert (sample.alt_abs_m, sample.alt_rel_m, sample.yaw_deg, sample.gimbal_pitch_deg, sample.h_accuracy_m) == (
        None, 50.0, None, -45.0, None)
    assert TelemetrySample(0.0, 30.0, -85.0, alt_abs_m=-400.0).alt_abs_m == -400.0  # the Dead Sea's shore


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_a_utf_16_gpx_is_read(tmp_path, encoding):
    """A GPX saved as UTF-16 (with or without a byte-order mark) was refused as binary data."""
    text = _gpx(tmp_path / "plain.gpx", "10.0").read_text().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    path = tmp_path / "wide.gpx"
    path.write_bytes(text.encode(encoding))
    track = read_telemetry(path)
    assert len(track.samples) == 20 and track.samples[0].alt_abs_m == 10.0


def test_a_track_whose_points_all_carry_one_time_is_refused_naming_why(tmp_path):
    """It read as "30 samples, median step 0.000 s, 34 m in 0.0 s", and a map was made
    or not depending on how many frames fell in that instant."""
    from core.errors import TelemetryError

    path = _gpx(tmp_path / "flight.gpx", "10.0")
    path.write_text(path.read_text().replace("<time>2018-10-12T15:00:", "<time>2018-10-12T15:00:00Z</time><!--")
                    .replace("Z</time></trkpt>", "--></trkpt>"))
    with pytest.raises(TelemetryError, match="all 20 points carry one and the same time"):
        read_telemetry(path)
