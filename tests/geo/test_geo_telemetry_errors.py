"""Bad telemetry input gets a one-line error that names the file; the CLI never shows a traceback."""

from __future__ import annotations

import pytest

from app.cli import main
from core.errors import TelemetryError
from geo.telemetry import find_telemetry_beside, read_telemetry

SRT_CUE = (
    "1\n00:00:00,000 --> 00:00:00,033\n<font size=\"28\">FrameCnt: 1, DiffTime: 33ms\n"
    "2024-01-01 10:00:00.000\n[latitude: {lat}] [longitude: {lon}] [rel_alt: 50.0 abs_alt: 60.0]</font>\n\n"
)
GPX_HEAD = '<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.gpx", b"", "is empty"),
        ("binary.srt", b"\x00\x01\x02" * 50, "binary data"),
        ("broken.gpx", b"<gpx><trk><trkseg><trkpt lat=", "not a readable GPX"),
        ("not_xml.gpx", b"hello world, this is text", "not a readable GPX"),
        ("untimed.gpx", (GPX_HEAD + '<trkpt lat="1" lon="2"/></trkseg></trk></gpx>').encode(), "timestamp"),
        ("nopoints.gpx", (GPX_HEAD + "</trkseg></trk></gpx>").encode(), "no track or route points"),
        ("words.srt", b"just some words\nand more\n", "no subtitle entries"),
        ("zero.srt", SRT_CUE.format(lat=0.0, lon=0.0).encode(), "no GPS position"),
        ("outside.srt", SRT_CUE.format(lat=123.0, lon=10.0).encode(), "no GPS position"),
        ("nolat.csv", b"time,x,y\n1,2,3\n", "no latitude"),
        ("notime.csv", b"latitude,longitude\n1,2\n", "no time column"),
        ("norows.csv", b"time(s),latitude,longitude\n", "no row with a position"),
        ("badtime.csv", b"datetime,latitude,longitude\nyesterday,1,2\n", "no readable times"),
        ("unknown.dat", b"lorem ipsum dolor sit amet", "unrecognised telemetry format"),
        ("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32, "video file"),
    ],
)
def test_bad_input_names_the_file_and_the_problem(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TelemetryError) as info:
        read_telemetry(path)
    message = str(info.value)
    assert str(path) in message and expected in message and "\n" not in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(TelemetryError, match="not found"):
        read_telemetry(tmp_path / "nope.SRT")
    with pytest.raises(TelemetryError, match="is a folder"):
        read_telemetry(tmp_path)


def test_content_sniffing_without_a_telemetry_suffix(tmp_path):
    srt = tmp_path / "flight.txt"
    srt.write_text(SRT_CUE.format(lat=30.1, lon=-85.6))
    assert read_telemetry(srt).format == "dji-srt"
    gpx = tmp_path / "track.xml"
    gpx.write_text(GPX_HEAD + '<trkpt lat="1" lon="2"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>')
    assert read_telemetry(gpx).format == "gpx"


def test_latin1_csv_with_semicolons(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes("time (s);Breite;Länge;latitude;longitude\n0;x;y;47.1;8.2\n1;x;y;47.2;8.3\n".encode("latin-1"))
    track = read_telemetry(path)
    assert len(track) == 2 and track.samples[1].lon_deg == pytest.approx(8.3)


def test_find_telemetry_beside_prefers_srt_any_case(tmp_path):
    video = tmp_path / "DJI_0001.MP4"
    video.write_bytes(b"")
    assert find_telemetry_beside(video) is None
    (tmp_path / "DJI_0001.gpx").write_text("x")
    assert find_telemetry_beside(video).name == "DJI_0001.gpx"
    (tmp_path / "DJI_0001.srt").write_text("x")
    (tmp_path / "DJI_0002.SRT").write_text("x")
    assert find_telemetry_beside(video).name == "DJI_0001.srt"


def test_cli_summary_text_and_json(samples, capsys):
    assert main(["telemetry", str(samples / "srt" / "p4_rtk.SRT")]) == 0
    out = capsys.readouterr().out
    assert "dji-srt" in out and "55" in out and "gimbal pitch" in out and "85.5 to 86.1 m" in out
    assert main(["telemetry", "--json", str(samples / "gpx" / "korita-zbevnica.gpx")]) == 0
    import json

    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "gpx" and summary["samples"] == 513 and summary["gaps"]["count"] >= 2
    assert summary["start"].endswith("Z") and summary["bbox"]["min_lon"] < summary["bbox"]["max_lon"]


@pytest.mark.parametrize("name", ["mavic_air.SRT", "missing.gpx"])
def test_cli_bad_file_is_one_line_and_exit_2(samples, capsys, name):
    path = samples / "srt" / name
    assert main(["telemetry", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in captured.err


def _gpx(path, seconds):
    points = "".join(f'<trkpt lat="{47.0 + k * 1e-4:.4f}" lon="8.0"><ele>500</ele>'
                     f"<time>2024-05-01T10:00:{t:02d}Z</time></trkpt>" for k, t in enumerate(seconds))
    path.write_text('<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                    f"<trk><trkseg>{points}</trkseg></trk></gpx>")
    return path


def test_times_that_go_backwards_in_the_file_are_said(tmp_path):
    """A GPX whose logger set its clock back 3 s was put in time order without a word: the
    track zigzagged (401 m of path for 70 m flown) and the map gained sites 40-125 m off."""
    jumped = read_telemetry(_gpx(tmp_path / "jumped.gpx", [0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7]))
    assert [s.t_s for s in jumped.samples] == sorted(s.t_s for s in jumped.samples)
    (note,) = [n for n in jumped.notes if "go backwards" in n]
    assert "1 time between one of its points and the next" in note
    reversed_whole = read_telemetry(_gpx(tmp_path / "reversed.gpx", list(range(10, -1, -1))))
    in_order = read_telemetry(_gpx(tmp_path / "in_order.gpx", list(range(11))))
    assert not any("go backwards" in n for n in reversed_whole.notes + in_order.notes)
    csv = tmp_path / "jumped.csv"
    csv.write_text("time,lat,lon,alt\n" + "".join(f"{t},{47.0 + k * 1e-4:.4f},8.0,500\n"
                                                    for k, t in enumerate([0, 1, 2, 1, 2, 3])))
    assert any("go backwards 1 time between one of its rows" in n for n in read_telemetry(csv).notes)


@pytest.mark.parametrize("lat, where", [(-85, "85.0005° S"), (86, "86.0005° N")])
def test_a_flight_nearer_a_pole_than_utm_reaches_is_said_to_be_one(tmp_path, capsys, lat, where):
    """A flight past 84° N or 80° S: the summary said "cannot read telemetry: no UTM zone
    covers lon=..., lat=..." of a file read well, and the map and the exports ended in a
    traceback. Both name the file and say the flight is too near the pole to be mapped."""
    from core.errors import TelemetryError
    from geo.sync import align_track

    path = _gpx(tmp_path / "polar.gpx", range(11))
    path.write_text(path.read_text().replace('lat="47.', f'lat="{lat}.'))  # 47.0000 to 47.0010 moved there
    assert main(["telemetry", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: the flight is at {where}, nearer the pole than the UTM zones reach (80° S to 84° N)" in err
    assert "cannot read" not in err and len(err.strip().splitlines()) == 1
    with pytest.raises(TelemetryError) as refused:  # the map's placement
        align_track(read_telemetry(path), duration_s=5.0, creation_time_utc=1714557600.0)
    assert str(refused.value).startswith(f"{path}: the flight is at {where[:2]}")
    assert "nearer the pole than the UTM zones reach" in str(refused.value)
