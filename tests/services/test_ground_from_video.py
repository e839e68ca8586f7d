"""A flight whose telemetry has absolute altitudes only and starts in the air (a GPX, a
Mavic 2 SRT): the ground's elevation is read from the video's motion, the map stands on
it, and how sure it is enters every site's uncertainty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from core.store import ProjectStore
from tests.truth_runs import write_run

#: the manoeuvring flight's ground (engine.synth: the origin's ground_alt_m)
GROUND_M = 10.0


def _truth_project(path: Path, flight, telemetry: Path) -> Path:  # noqa: ANN001 - engine.synth.FlyoverPaths
    """A project of ``flight``'s video and ``telemetry`` with its annotated masks as one run."""
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(flight.annotations)
    with ProjectStore.create(path, video_path=flight.video, telemetry_path=telemetry) as store:
        write_run(store, detections, times)
    return path


@pytest.fixture(scope="module")
def project(manoeuvring_flight, tmp_path_factory):
    """The flight with its GPX (starts in the air) and its annotated masks as one run."""
    return _truth_project(tmp_path_factory.mktemp("ground") / "flight.dmproj", manoeuvring_flight,
                          manoeuvring_flight.gpx)


def test_the_sync_report_reads_the_ground(manoeuvring_flight):
    from geo.telemetry import read_telemetry
    from services.sync import estimate_sync, heights_need_ground

    track = read_telemetry(manoeuvring_flight.gpx)
    assert heights_need_ground(track) and not heights_need_ground(read_telemetry(manoeuvring_flight.srt))
    report = estimate_sync(manoeuvring_flight.video, track)
    assert report.height is not None and report.ground_elevation_m is not None
    assert report.ground_elevation_m == pytest.approx(GROUND_M, abs=max(report.height.sigma_m, 3.0))
    assert report.view is not None  # the camera read at the heights that ground gives
    given = estimate_sync(manoeuvring_flight.video, track, ground_elevation_m=GROUND_M)
    assert given.height is None and given.ground_elevation_m is None  # given: nothing to read


def test_export_reads_the_ground_saves_it_and_counts_it_in_the_uncertainty(project, tmp_path, capsys):
    assert main(["export", str(project), "--to", str(tmp_path / "none"), "--formats", "sites"]) == 2
    assert "have it read from the video's motion (--ground-elevation auto" in capsys.readouterr().err
    out = tmp_path / "auto"
    assert main(["export", str(project), "--to", str(out), "--formats", "sites", "--include-unconfirmed",
                 "--ground-elevation", "auto", "--save", "--no-thumbnails"]) == 0
    printed = capsys.readouterr().out
    assert "height above the ground read from the ground's flow" in printed and "ground elevation" in printed
    assert "in each site's uncertainty" in printed  # the map's note on its ground plane
    with ProjectStore.open(project) as store:
        settings = store.project_settings()
    assert settings.ground_elevation_m == pytest.approx(GROUND_M, abs=max(settings.ground_elevation_sigma_m, 3.0))
    assert settings.ground_elevation_sigma_m > 0
    sites = json.loads((out / "damage_sites.geojson").read_text())["features"]
    assert sites and all(f["properties"]["uncertainty_altitude_m"] > 0 for f in sites)
    # typed by hand: its uncertainty is not known, and no longer counted
    assert main(["export", str(project), "--to", str(tmp_path / "typed"), "--formats", "sites",
                 "--include-unconfirmed", "--ground-elevation", "10", "--save", "--no-thumbnails"]) == 0
    with ProjectStore.open(project) as store:
        assert store.project_settings().ground_elevation_sigma_m is None
    typed = json.loads((tmp_path / "typed" / "damage_sites.geojson").read_text())["features"]
    assert all(not f["properties"]["uncertainty_altitude_m"] for f in typed)


def test_telemetry_with_heights_above_take_off_is_left_alone(project, manoeuvring_flight, tmp_path, capsys):
    assert main(["export", str(project), "--to", str(tmp_path / "srt"), "--formats", "sites", "--no-thumbnails",
                 "--telemetry", str(manoeuvring_flight.srt), "--ground-elevation", "auto"]) == 0
    assert "need no ground elevation; left as they are" in capsys.readouterr().out


def test_a_bad_value_is_one_line(project, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["export", str(project), "--to", str(tmp_path / "x"), "--ground-elevation", "sea level"])
    assert "expected metres or 'auto'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def no_altitude_project(manoeuvring_flight, tmp_path_factory):
    """The flight with its GPX stripped of every elevation (as some Mavic 2 SRTs have no
    altitude at all), its annotated masks as one run."""
    import gpxpy

    folder = tmp_path_factory.mktemp("no-altitude")
    gpx = gpxpy.parse(manoeuvring_flight.gpx.read_text())
    for point in gpx.tracks[0].segments[0].points:
        point.elevation = None
    (folder / "flight.gpx").write_text(gpx.to_xml())
    return _truth_project(folder / "flight.dmproj", manoeuvring_flight, folder / "flight.gpx")


def test_telemetry_without_altitude_gets_its_flight_height_from_the_video(no_altitude_project, manoeuvring_flight,
                                                                           tmp_path, capsys):
    camera = json.loads((manoeuvring_flight.video.parent / "camera.json").read_text())
    heights = [frame["alt_rel_m"] for frame in camera["frames"]]
    assert main(["export", str(no_altitude_project), "--to", str(tmp_path / "none"), "--formats", "sites"]) == 2
    assert "--flight-height M" in capsys.readouterr().err  # no altitude: says what to give
    assert main(["export", str(no_altitude_project), "--to", str(tmp_path / "auto"), "--formats", "sites",
                 "--include-unconfirmed", "--flight-height", "auto", "--save", "--no-thumbnails"]) == 0
    printed = capsys.readouterr().out
    assert "flown" in printed and "above it" in printed
    with ProjectStore.open(no_altitude_project) as store:
        settings = store.project_settings()
    sigma = settings.flight_height_sigma_m
    assert sigma is not None and sigma > 0
    assert min(heights) - sigma <= settings.flight_height_m <= max(heights) + sigma
    sites = json.loads((tmp_path / "auto" / "damage_sites.geojson").read_text())["features"]
    assert sites and all(f["properties"]["uncertainty_altitude_m"] > 0 for f in sites)
    with pytest.raises(SystemExit):  # a height must be above the ground
        main(["export", str(no_altitude_project), "--to", str(tmp_path / "x"), "--flight-height", "0"])
    assert "expected metres above the ground" in capsys.readouterr().err


def test_the_dialog_reads_a_flight_height_for_telemetry_without_altitude(qtbot, no_altitude_project,
                                                                         manoeuvring_flight):
    from app.dialogs.geo_dialog import GeoSettingsDialog
    from core.settings import ProjectSettings

    dialog = GeoSettingsDialog(ProjectSettings(), None, video_path=manoeuvring_flight.video,
                               telemetry_path=no_altitude_project.parent / "flight.gpx")
    qtbot.addWidget(dialog)
    dialog.ground_button.click()
    with qtbot.waitSignal(dialog._ground_job.finished, timeout=60_000):
        pass
    found = dialog.settings()
    assert found.flight_height_m is not None and found.flight_height_sigma_m is not None
    assert found.ground_elevation_m is None  # the other box is left as it was
    assert dialog.ground_label.text().startswith("Found: flown")
