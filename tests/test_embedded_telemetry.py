"""GPS telemetry inside the video: GoPro-style MP4s written here (a few frames of video
and a ``GoPro MET`` / ``gpmd`` track of GPMF payloads, see ``tests/data/gopro_gpmf.py``)
read back through telemetry-parser, and the refusals that name the file."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from core.errors import TelemetryError
from geo.telemetry import TimeBase, read_telemetry
from geo.telemetry.embedded import has_embedded_gps, read_embedded

_spec = importlib.util.spec_from_file_location("gopro_gpmf", Path(__file__).parent / "data" / "gopro_gpmf.py")
gpmf = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("gopro_gpmf", gpmf)
_spec.loader.exec_module(gpmf)

T0 = 1681562045.250  # 2023-04-15 12:34:05.250 UTC
ROWS = 10  # fixes per one-second payload (10 Hz)


def _fix(n: int) -> object:
    return gpmf.Fix(lat=48.1 + 1.234567e-5 * n, lon=-11.5 - 2.345678e-5 * n, alt=500.0 + 0.5 * n, speed=4.0)


def _payloads(count: int = 3, fix: int = 3) -> list:
    return [gpmf.Payload([_fix(k * ROWS + i) for i in range(ROWS)], T0 + k, fix=fix, dop=1.5) for k in range(count)]


@pytest.mark.parametrize("gps9", [False, True], ids=["GPS5", "GPS9"])
def test_a_gopro_track_reads_back_as_written(tmp_path, gps9):
    video = gpmf.write_gopro_mp4(tmp_path / "GOPR0001.MP4", _payloads(), gps9=gps9)
    track = read_embedded(video)
    assert track.format == "gopro-gpmf" and track.time_base is TimeBase.VIDEO
    assert "HERO8 Black" in track.format_detail and ("GPS9" if gps9 else "GPS5") in track.format_detail
    assert len(track) == 3 * ROWS
    for n, sample in enumerate(track.samples):
        expected = _fix(n)
        assert sample.lat_deg == pytest.approx(expected.lat, abs=1e-6)
        assert sample.lon_deg == pytest.approx(expected.lon, abs=1e-6)
        assert sample.alt_abs_m == pytest.approx(expected.alt, abs=1e-3)
        assert sample.t_s == pytest.approx(n / ROWS, abs=1e-3)  # video clock: payload k spans [k, k + 1) s
        assert sample.h_accuracy_m == pytest.approx(1.5 * 3.0)  # DOP x 3 m
    assert track.wall_clock_start_utc == pytest.approx(T0, abs=1e-3)  # the GPS clock (UTC) at video start


def test_payloads_placed_by_their_sample_times_in_the_video(tmp_path):
    """A metadata track that starts 0.5 s into the video, payloads of 2 s."""
    video = gpmf.write_gopro_mp4(tmp_path / "late.mp4", _payloads(2), payload_s=2.0, start_s=0.5)
    track = read_embedded(video)
    times = track.times_s()
    assert times[0] == pytest.approx(0.5, abs=1e-3) and times[ROWS] == pytest.approx(2.5, abs=1e-3)
    assert times[1] - times[0] == pytest.approx(0.2, abs=1e-3)
    assert track.wall_clock_start_utc == pytest.approx(T0 - 0.5, abs=1e-3)


def test_the_file_header_gpmf_names_the_model_and_is_not_taken_for_a_payload(tmp_path):
    video = gpmf.write_gopro_mp4(tmp_path / "GX010007.MP4", _payloads(2), header_model="HERO10 Black")
    track = read_embedded(video)
    assert "HERO10 Black" in track.format_detail and len(track) == 2 * ROWS
    assert track.samples[ROWS].t_s == pytest.approx(1.0, abs=1e-3)


def test_payloads_timed_by_the_gps_clock_when_the_sample_times_cannot_be_read(tmp_path, monkeypatch):
    from geo.telemetry import embedded

    monkeypatch.setattr(embedded, "_gpmd_times", lambda path: None)
    payloads = _payloads(3)
    payloads[0].fix = 0
    track = read_embedded(gpmf.write_gopro_mp4(tmp_path / "clock.mp4", payloads))
    assert track.samples[0].t_s == pytest.approx(0.0) and track.samples[ROWS].t_s == pytest.approx(1.0, abs=1e-3)
    assert any("timed by the GPS clock" in note for note in track.notes)


def test_payloads_without_a_fix_are_dropped_and_a_2d_fix_keeps_no_altitude(tmp_path):
    payloads = _payloads(3)
    payloads[0].fix = 0
    payloads[2].fix = 2
    track = read_embedded(gpmf.write_gopro_mp4(tmp_path / "fix.mp4", payloads))
    assert len(track) == 2 * ROWS
    assert track.samples[0].t_s == pytest.approx(1.0, abs=1e-3)
    assert track.samples[0].lat_deg == pytest.approx(_fix(ROWS).lat, abs=1e-6)
    assert all(s.alt_abs_m is None for s in track.samples[ROWS:])
    assert any("10 GPS samples without a fix" in note for note in track.notes)
    assert any("2D" in note for note in track.notes)


def test_gps_without_any_fix_says_so(tmp_path):
    video = gpmf.write_gopro_mp4(tmp_path / "nofix.mp4", _payloads(2, fix=0))
    with pytest.raises(TelemetryError) as info:
        read_embedded(video)
    message = str(info.value)
    assert str(video) in message and "GPS without a fix" in message and "20 GPS samples" in message


def test_a_gopro_with_gps_off_says_its_telemetry_has_no_gps(tmp_path):
    video = gpmf.write_gopro_mp4(tmp_path / "off.mp4", [None, None])
    with pytest.raises(TelemetryError) as info:
        read_embedded(video)
    message = str(info.value)
    assert str(video) in message and "telemetry without GPS" in message and "GPS was off" in message
    assert not has_embedded_gps(video)


def test_a_dji_action_camera_video_says_its_telemetry_has_no_gps(tmp_path):
    video = gpmf.write_dji_action_mp4(tmp_path / "DJI_0001.MP4")
    with pytest.raises(TelemetryError) as info:
        read_embedded(video)
    message = str(info.value)
    assert str(video) in message and "DJI telemetry without GPS" in message and ".SRT" in message


def test_a_video_without_telemetry_says_so(tmp_path):
    video = gpmf.write_gopro_mp4(tmp_path / "plain.mp4", [], seconds=1.0)
    with pytest.raises(TelemetryError) as info:
        read_embedded(video)
    assert str(video) in str(info.value) and "no telemetry in this video" in str(info.value)


@pytest.mark.parametrize(("handler", "expected"), [
    ("Acme META", "unsupported camera: its metadata track (Acme META)"),
    ("TimeCodeHandler", "no telemetry in this video"),  # a timecode track is not telemetry
])
def test_an_unknown_metadata_track_is_an_unsupported_camera(tmp_path, handler, expected):
    video = gpmf.write_gopro_mp4(tmp_path / "other.mp4", _payloads(1), handler=handler)
    raw = video.read_bytes().replace(b"DEVC", b"XXXX")  # nothing GoPro left in it
    video.write_bytes(raw)
    with pytest.raises(TelemetryError) as info:
        read_embedded(video)
    message = str(info.value)
    assert str(video) in message and expected in message


def test_missing_empty_and_not_a_video(tmp_path):
    with pytest.raises(TelemetryError, match="video file not found"):
        read_embedded(tmp_path / "nope.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(TelemetryError, match="empty"):
        read_embedded(tmp_path / "empty.mp4")
    with pytest.raises(TelemetryError, match="not a video file"):
        read_embedded(tmp_path)


def test_read_telemetry_reads_a_video_by_suffix_or_content(tmp_path):
    video = gpmf.write_gopro_mp4(tmp_path / "GX010001.MP4", _payloads(1))
    assert read_telemetry(video).format == "gopro-gpmf"
    assert len(read_telemetry(video.rename(tmp_path / "clip.mov"))) == ROWS
    renamed = (tmp_path / "clip.mov").rename(tmp_path / "clip.bin")  # recognised as a video by its content
    with pytest.raises(TelemetryError, match="name it .MP4 or .MOV"):
        read_telemetry(renamed)


def test_a_dji_flight_record_txt_is_still_refused_in_one_line(tmp_path):
    record = tmp_path / "DJIFlightRecord_2024-05-01_[10-00-00].txt"
    record.write_bytes(b"\x1b\x00\x00\x00\x0c\x00" + bytes(range(256)) * 4)
    with pytest.raises(TelemetryError) as info:
        read_telemetry(record)
    message = str(info.value)
    assert str(record) in message and "DJI flight record" in message and "encrypt" in message and "\n" not in message


def test_an_insta360_gps_trailer_makes_a_utc_track(tmp_path):
    """GPS records in an Insta360 trailer: UTC times, void fixes dropped, S and W kept."""
    video = gpmf.write_gopro_mp4(tmp_path / "VID_20230415_123405_00_001.insv", [], seconds=1.0)
    gpmf.append_insta360_gps(video, [(T0 + i, i != 1, -33.9 + i * 1e-4, 151.2 - i * 1e-4, 20.0 + i) for i in range(4)])
    track = read_telemetry(video)
    assert track.time_base is TimeBase.UTC and track.format == "insta360"
    assert [s.t_s for s in track.samples] == pytest.approx([T0, T0 + 2, T0 + 3], abs=1e-3)
    assert track.samples[1].lat_deg == pytest.approx(-33.8998, abs=1e-6)
    assert track.samples[1].lon_deg == pytest.approx(151.1998, abs=1e-6)
    assert track.samples[2].alt_abs_m == pytest.approx(23.0)
    assert any("1 GPS records without a fix" in note for note in track.notes)


def test_the_telemetry_command_reads_the_video(tmp_path, capsys):
    from app.cli import main

    video = gpmf.write_gopro_mp4(tmp_path / "GOPR0002.MP4", _payloads(2))
    assert main(["telemetry", str(video), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "gopro-gpmf" and summary["samples"] == 2 * ROWS
    assert summary["time_base"] == "video" and summary["wall_clock_start"].startswith("2023-04-15T12:34:05.250")
    assert main(["telemetry", str(video)]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("GPS clock"))
    assert line.endswith("2023-04-15T12:34:05.250Z at video start (UTC)")
    off = gpmf.write_gopro_mp4(tmp_path / "off.mp4", [None])
    assert main(["telemetry", str(off)]) == 2
    err = capsys.readouterr().err
    assert str(off) in err and "telemetry without GPS" in err


def test_a_new_project_takes_the_track_inside_the_video_when_none_is_beside_it(tmp_path):
    from services.project import open_or_create_project

    video = gpmf.write_gopro_mp4(tmp_path / "GOPR0003.MP4", _payloads(2))
    with open_or_create_project(video) as store:
        assert Path(store.telemetry_path) == video.absolute()
    plain = gpmf.write_gopro_mp4(tmp_path / "plain.mp4", [], seconds=1.0)
    with open_or_create_project(plain) as store:
        assert store.telemetry_path is None
    beside = gpmf.write_gopro_mp4(tmp_path / "GOPR0004.MP4", _payloads(1))
    gpx = tmp_path / "GOPR0004.gpx"
    gpx.write_text('<gpx><trk><trkseg><trkpt lat="1" lon="2"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>')
    with open_or_create_project(beside) as store:
        assert Path(store.telemetry_path).name == "GOPR0004.gpx"  # a file beside the video wins


def test_analyze_without_track_uses_the_gps_inside_the_video_and_says_so(tmp_path, capsys):
    import torch

    from app.cli import main
    from engine.msnet import build_msnet
    from engine.weights import save_model

    torch.manual_seed(0)
    model = build_msnet(arch="msnet", backbone="resnet18", min_size=64, max_size=128, heads="light",
                        rpn_pre_nms_top_n_test=100, rpn_post_nms_top_n_test=20, box_detections_per_img=6)
    save_model(model, tmp_path / "msnet.safetensors", half=True)
    video = gpmf.write_gopro_mp4(tmp_path / "GOPR0005.MP4", _payloads(1))
    project = tmp_path / "site.dmproj"
    assert main(["analyze", str(video), "--project", str(project), "--weights", str(tmp_path / "msnet.safetensors"),
                 "--no-srn", "--device", "cpu", "-q", "--every", "5"]) == 0
    assert "telemetry: the GPS track inside the video" in capsys.readouterr().err
