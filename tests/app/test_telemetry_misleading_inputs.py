"""``damagemap telemetry`` on files that are not a track says what they are: a GeoJSON
map file, other JSON, a video without telemetry inside (without pointing at ``--track``,
which ``telemetry`` does not have)."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from core.errors import TelemetryError
from geo.telemetry import read_telemetry


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("name", ["footprints.geojson", "buildings.json"])
def test_geojson_is_named_geojson_not_a_table_without_coordinates(tmp_path, capsys, name):
    path = tmp_path / name
    features = [{"type": "Feature", "properties": {"id": k, "building": "house"},
                 "geometry": {"type": "Polygon", "coordinates": [[[-85.66, 30.15], [-85.65, 30.15], [-85.65, 30.16],
                                                                  [-85.66, 30.15]]]}} for k in range(50)]
    path.write_text(json.dumps({"type": "FeatureCollection", "name": "buildings", "features": features}))
    assert main(["telemetry", str(path)]) == 2
    line = _error(capsys)
    assert f"{path}: looks like GeoJSON" in line and "not a flight track" in line and "column" not in line


def test_other_json_is_named_json(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"fps": 30, "lat": 1, "lon": 2}')
    with pytest.raises(TelemetryError, match="is JSON, not a telemetry file"):
        read_telemetry(path)


def test_a_video_without_telemetry_does_not_send_telemetry_to_a_missing_flag(tmp_path, capsys, texture_video):
    video = texture_video(tmp_path / "clip.mp4", 3)
    assert main(["telemetry", str(video)]) == 2
    line = _error(capsys)
    assert "no telemetry in this video" in line and "give its telemetry file" in line
    assert "analyze and survey add take it with --track" in line  # never "use --track" for this command


def test_a_ground_elevation_without_the_video_is_refused_not_ignored(tmp_path, capsys):
    gpx = tmp_path / "track.gpx"
    gpx.write_text('<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
                   "<trk><trkseg>"
                   '<trkpt lat="30.0" lon="-85.0"><ele>20</ele><time>2018-10-12T15:00:00Z</time></trkpt>'
                   '<trkpt lat="30.0001" lon="-85.0"><ele>20</ele><time>2018-10-12T15:00:01Z</time></trkpt>'
                   "</trkseg></trk></gpx>")
    assert main(["telemetry", str(gpx), "--ground-elevation", "10"]) == 2
    assert "--ground-elevation is used with --video" in _error(capsys)
    assert main(["telemetry", str(gpx)]) == 0  # the same file read alone
