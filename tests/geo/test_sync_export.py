"""``damagemap export --offset auto --dem FILE`` on a project of a hilly, manoeuvring
synthetic flight (its annotated masks stored as the run's detections)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import gpxpy
import numpy as np
import pytest

from app.cli import main
from core.types import Frame


@pytest.fixture(scope="module")
def hilly_project(tmp_path_factory):
    from core.store import ProjectStore
    from core.types import Frame
    from engine.synth import render_flyover
    from geo.evaluation import detections_from_coco

    out = tmp_path_factory.mktemp("hilly-project")
    paths = render_flyover(out, seconds=8.0, fps=10.0, size=(320, 180), seed=6, annotate_every=5,
                           manoeuvres=True, terrain_relief_m=15.0)
    gpx = gpxpy.parse(paths.gpx.read_text())  # its clock 2.5 s slow
    for point in gpx.tracks[0].segments[0].points:
        point.time = point.time - dt.timedelta(seconds=2.5)
    slow = out / "slow.gpx"
    slow.write_text(gpx.to_xml(version="1.1"))
    detections, times = detections_from_coco(paths.annotations)
    project = out / "hilly.dmproj"
    with ProjectStore.create(project, video_path=paths.video, telemetry_path=slow) as store:
        run = store.start_run(model={"name": "ground truth"}, settings={})
        for index in sorted(times):
            store.write_frame(run, Frame(index, times[index], 320, 180),
                              [replace(d, id=None) for d in detections if d.frame_index == index])
        store.finish_run(run)
    return project, paths


def test_export_with_offset_auto_and_dem(hilly_project, tmp_path, capsys):
    project, paths = hilly_project
    out = tmp_path / "map"
    assert main(["export", str(project), "--to", str(out), "--formats", "sites", "--offset", "auto",
                 "--dem", str(paths.dem), "--ground-elevation", "10", "--save"]) == 0
    printed = capsys.readouterr().out
    assert "clock offset: +2.5 s" in printed or "clock offset: +2.4 s" in printed or "clock offset: +2.6 s" in printed
    assert "terrain from" in printed and "dem.tif" in printed
    assert json.loads((out / "damage_sites.geojson").read_text())["features"]
    from core.store import ProjectStore

    with ProjectStore.open(project) as store:  # --save keeps the estimated offset, and how sure it is
        assert store.project_settings().time_offset_s == pytest.approx(2.5, abs=0.5)
        assert 0 < store.project_settings().time_offset_sigma_s < 0.5
    sites = json.loads((out / "damage_sites.geojson").read_text())["features"]
    assert all(f["properties"]["uncertainty_clock_m"] > 0 for f in sites)  # the offset's uncertainty x speed


def test_bad_offset_and_missing_dem_are_one_line(hilly_project, tmp_path, capsys):
    project, _ = hilly_project
    with pytest.raises(SystemExit):
        main(["export", str(project), "--to", str(tmp_path / "a"), "--offset", "soon"])
    assert "expected seconds or 'auto'" in capsys.readouterr().err
    assert main(["export", str(project), "--to", str(tmp_path / "b"), "--formats", "sites", "--offset", "2.5",
                 "--dem", str(tmp_path / "none.tif")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "none.tif" in err and "not found" in err


def test_export_with_the_camera_read_from_the_video(hilly_project, tmp_path, capsys):
    project, paths = hilly_project
    out = tmp_path / "map"
    assert main(["export", str(project), "--to", str(out), "--formats", "sites", "--offset", "2.5",
                 "--ground-elevation", "10", "--camera", "auto", "--hfov", "84"]) == 0
    printed = capsys.readouterr().out
    assert "camera estimated from the ground's flow" in printed and "horizontal FOV 84.0 +-0.0 deg" in printed
    assert "(set for telemetry without gimbal pitch)" in printed  # the map's note: the pitch read, not assumed
    assert json.loads((out / "damage_sites.geojson").read_text())["features"]
    assert "horizontal FOV 84.0 deg (given)" in printed  # the map's note: held as given
    assert main(["export", str(project), "--to", str(tmp_path / "fov"), "--formats", "sites", "--offset", "2.5",
                 "--ground-elevation", "10", "--camera", "auto"]) == 0
    printed = capsys.readouterr().out
    assert "(estimated from the image flow" in printed  # the estimate's own line (drawn towards the default or not)
    assert "deg (estimated from the video, +-" in printed  # and the map's note says so too, not "given"
    assert main(["export", str(project), "--to", str(tmp_path / "srt"), "--formats", "sites", "--camera", "auto",
                 "--telemetry", str(paths.srt)]) == 0
    assert "gives the gimbal pitch" in capsys.readouterr().out


def test_a_plain_export_uses_the_field_of_view_of_the_drone_the_video_names(hilly_project, tagged_copy, tmp_path,
                                                                            capsys):
    """No --hfov, no focal length in the GPX: the preset of the model in the video's tags,
    its source in the map's notes and its share in the sites' camera uncertainty."""
    from core.store import ProjectStore

    project, paths = hilly_project
    tagged = tagged_copy(paths.video, tmp_path / "DJI_0001.MP4", {"make": "DJI", "model": "Mavic 2 Pro"})
    copy = tmp_path / "tagged.dmproj"
    with ProjectStore.open(project) as source, \
            ProjectStore.create(copy, video_path=tagged, telemetry_path=source.telemetry_path) as store:
        run = store.start_run(model={"name": "ground truth"}, settings={})
        frames = source.analysed_frames(source.latest_run_id())
        detections = source.detections(source.latest_run_id())
        for index, t in sorted(frames.items()):
            store.write_frame(run, Frame(index, t, 320, 180),
                              [replace(d, id=None) for d in detections if d.frame_index == index])
        store.finish_run(run)
    camera_m = {}
    for target, fov in ((project, "73.7 deg (default (DJI 24 mm equiv.))"),
                        (copy, "65.5 deg (video metadata: DJI Mavic 2 Pro)")):
        out = tmp_path / target.stem
        assert main(["export", str(target), "--to", str(out), "--formats", "sites", "--offset", "2.5",
                     "--ground-elevation", "10"]) == 0
        assert f"horizontal FOV {fov}" in capsys.readouterr().out
        sites = json.loads((out / "damage_sites.geojson").read_text())["features"]
        camera_m[target] = np.median([f["properties"]["uncertainty_camera_m"] for f in sites])
    assert camera_m[copy] < camera_m[project]  # a named camera's preset is surer than the default
    # damagemap info names the camera the video names
    assert main(["info", str(copy)]) == 0
    assert "DJI_0001.MP4  (camera: DJI Mavic 2 Pro)" in capsys.readouterr().out
    for target, camera in ((copy, "DJI Mavic 2 Pro"), (project, None)):
        assert main(["info", str(target), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["video"]["camera"] == camera


def _copy_of(project, tmp_path):
    """A private copy of the module's project (these tests save settings in it)."""
    import shutil

    copy = tmp_path / project.name
    shutil.copy2(project, copy)
    return copy


def test_a_typed_camera_pitch_places_the_map_and_is_saved(hilly_project, tmp_path, capsys):
    """The GPX has no gimbal pitch: ``--pitch`` sets the one the map uses, ``--save`` keeps it."""
    project = _copy_of(hilly_project[0], tmp_path)
    common = ["--formats", "sites", "--offset", "2.5", "--ground-elevation", "10"]
    assert main(["export", str(project), "--to", str(tmp_path / "assumed"), *common]) == 0
    assert "pitch from default -45 deg (assumed: the telemetry gives none; give it with --pitch" in capsys.readouterr().out
    assert main(["export", str(project), "--to", str(tmp_path / "a"), *common, "--pitch", "-30", "--save"]) == 0
    assert "pitch -30 deg (set for telemetry without gimbal pitch)" in capsys.readouterr().out
    assert main(["export", str(project), "--to", str(tmp_path / "b"), *common, "--pitch", "-60"]) == 0
    capsys.readouterr()
    shallow, steep = (json.loads((tmp_path / name / "damage_sites.geojson").read_text())["features"]
                      for name in ("a", "b"))
    assert shallow and steep and shallow[0]["geometry"] != steep[0]["geometry"]
    from core.store import ProjectStore

    with ProjectStore.open(project) as store:
        saved = store.project_settings()
    assert saved.camera_pitch_deg == -30.0 and saved.camera_pitch_sigma_deg is None  # --pitch -60 was not saved
    assert main(["export", str(project), "--to", str(tmp_path / "c"), "--formats", "sites"]) == 0
    assert "pitch -30 deg" in capsys.readouterr().out  # the saved pitch, with no flag
    assert main(["export", str(project), "--to", str(tmp_path / "d"), "--pitch", "30"]) == 2
    assert "--pitch must be from -90 to 0 degrees" in capsys.readouterr().err
    assert main(["export", str(project), "--to", str(tmp_path / "e"), "--pitch", "-30", "--camera", "auto"]) == 2
    assert "give one" in capsys.readouterr().err


def test_the_camera_read_from_the_video_is_saved(hilly_project, tmp_path, capsys):
    project = _copy_of(hilly_project[0], tmp_path)
    assert main(["export", str(project), "--to", str(tmp_path / "a"), "--formats", "sites", "--offset", "2.5",
                 "--ground-elevation", "10", "--camera", "auto", "--save"]) == 0
    capsys.readouterr()
    from core.store import ProjectStore

    with ProjectStore.open(project) as store:
        saved = store.project_settings()
    assert saved.camera_pitch_deg is not None and -90.0 <= saved.camera_pitch_deg < 0.0
    assert saved.camera_pitch_sigma_deg is not None and saved.heading_offset_deg is not None
    assert main(["export", str(project), "--to", str(tmp_path / "b"), "--formats", "sites"]) == 0
    assert f"pitch {saved.camera_pitch_deg:g} deg (set for" in capsys.readouterr().out


def test_a_saved_field_of_view_estimate_is_read_again_not_held_as_given(hilly_project, tmp_path, capsys):
    """A field of view read from the video and saved is an estimate the next ``--camera
    auto`` reads again with the pitch: it is not held as given (the pitch then read alone,
    surer than it is, and the width's spread gone from the sites' uncertainty)."""
    from core.store import ProjectStore

    project = _copy_of(hilly_project[0], tmp_path)
    camera_m, said = [], []
    for out, save in (("first", ["--save"]), ("again", [])):
        assert main(["export", str(project), "--to", str(tmp_path / out), "--formats", "sites", "--offset", "2.5",
                     "--ground-elevation", "10", "--camera", "auto", *save]) == 0
        said.append(capsys.readouterr().out)
        sites = json.loads((tmp_path / out / "damage_sites.geojson").read_text())["features"]
        camera_m.append(sorted(f["properties"]["uncertainty_camera_m"] for f in sites))
    with ProjectStore.open(project) as store:
        saved = store.project_settings()
    assert saved.hfov_deg is not None and saved.hfov_sigma_deg is not None  # the GPX names no camera: estimated
    reading = [line for line in said[1].splitlines() if "camera estimated from the ground's flow" in line]
    assert reading and f"horizontal FOV {saved.hfov_deg:.1f} +-{saved.hfov_sigma_deg:.1f} deg" in reading[0]
    assert "(given)" not in reading[0] and "deg (given)" not in said[1]
    assert "kept from an earlier reading" in said[1]
    assert f"pitch {saved.camera_pitch_deg:.1f} +-{saved.camera_pitch_sigma_deg:.1f} deg" in reading[0]
    assert camera_m[1] == pytest.approx(camera_m[0])  # the width's spread still counts in every site


def _offset_auto(tmp_path, monkeypatch, estimate):  # noqa: ANN001, ANN202 - (ProjectSettings, view, lines said)
    """`--offset auto` on a project whose offset is +0.3 s, the video's motion read as ``estimate``."""
    import argparse

    import geo.telemetry
    import services.sync
    from app.commands._georeferencing import read_from_video
    from core.settings import ProjectSettings
    from core.store import ProjectStore

    monkeypatch.setattr(services.sync, "estimate_clock_offset", lambda video, track: estimate)
    monkeypatch.setattr(geo.telemetry, "read_telemetry", lambda path: None)
    said: list[str] = []
    args = argparse.Namespace(offset="auto", camera=None, ground_elevation=None, flight_height=None)
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=tmp_path / "v.mp4",
                             telemetry_path=tmp_path / "t.gpx") as store:
        settings, view = read_from_video(store, args, ProjectSettings(time_offset_s=0.3), say=said.append)
    return settings, view, said


@pytest.mark.parametrize(("correlation", "confidence", "kept"), [(0.95, 0.9, False), (0.1, 0.1, True)])
def test_offset_auto_uses_only_a_reliable_estimate(tmp_path, monkeypatch, correlation, confidence, kept):
    """A video whose motion matches the track nowhere well (a pan over a still photo, a
    hover) gives a best offset anyway; `--offset auto` keeps the project's instead, and
    says so, where it used to apply the guess."""
    from geo.clock_offset import OffsetEstimate

    estimate = OffsetEstimate(offset_s=2.5, correlation=correlation, residual=0.99, uncertainty_s=2.0, runner_up_s=0.4,
                              runner_up_correlation=-0.1, confidence=confidence, zone_shift_h=0.0,
                              channels=("speed",), searched_s=(-2.5, 2.5))
    settings, view, said = _offset_auto(tmp_path, monkeypatch, estimate)
    assert view is None
    if kept:
        assert settings.time_offset_s == 0.3 and settings.time_offset_sigma_s is None
        assert any("no reliable offset found (confidence 0.10)" in line and "+0.3 s is kept" in line for line in said)
        assert any("not one to give as --offset" in line for line in said)
    else:
        assert settings.time_offset_s == 2.5 and settings.time_offset_sigma_s == 2.0
        assert any("give --offset 2.5" in line for line in said)


def test_offset_auto_keeps_the_project_offset_when_two_match_alike(tmp_path, monkeypatch):
    """A confident-looking estimate whose runner-up matches about as well is not applied;
    `--offset auto` names both offsets."""
    from geo.clock_offset import OffsetEstimate

    estimate = OffsetEstimate(offset_s=15.2, correlation=0.99, residual=0.15, uncertainty_s=0.05, runner_up_s=-0.3,
                              runner_up_correlation=0.97, confidence=0.4, zone_shift_h=0.0,
                              channels=("speed",), searched_s=(-40.0, 40.0), separation_sigma=0.7)
    settings, _, said = _offset_auto(tmp_path, monkeypatch, estimate)
    assert settings.time_offset_s == 0.3 and settings.time_offset_sigma_s is None
    assert any("ambiguous, +15.2 s or -0.3 s" in line and "+0.3 s is kept" in line for line in said)


def test_the_relief_package_places_sites_on_the_terrain_as_the_map_files_do(hilly_project, tmp_path, capsys):
    """One export command, one map: with --dem the package's GeoPackage (and so its
    print map and atlas) holds the sites the GeoJSON holds, where it holds them."""
    import geopandas as gpd

    project, paths = hilly_project
    out = tmp_path / "with-package"
    assert main(["export", str(project), "--to", str(out), "--formats", "sites", "--package", "--no-thumbnails",
                 "--dem", str(paths.dem), "--ground-elevation", "10"]) == 0
    capsys.readouterr()
    plain = {f["properties"]["id"]: f["geometry"]["coordinates"]
             for f in json.loads((out / "damage_sites.geojson").read_text())["features"]}
    (package,) = [p for p in out.rglob("*.gpkg") if p.parent != out]
    sites = gpd.read_file(package, layer="damage_sites")
    packaged = {int(row.id): (row.geometry.x, row.geometry.y) for row in sites.itertuples()}
    assert plain and set(packaged) == set(plain)
    for site_id, (lon, lat) in packaged.items():
        assert (lon, lat) == pytest.approx(tuple(plain[site_id]), abs=1e-7)
    readme = next(out.rglob("README*.txt")).read_text()
    assert "Terrain: dem.tif" in readme
