"""``damagemap analyze``: what is checked before the model loads, and what the summary says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cli import main


@pytest.fixture(scope="module")
def assets(tmp_path_factory, texture_video, with_tiny_detector):
    """A 64x48 6-frame video and tiny MSNet weights."""
    root = tmp_path_factory.mktemp("analyze")
    texture_video(root / "flight.mp4", 6)
    return with_tiny_detector(root)


def _analyze(assets, project, *extra):
    return ["analyze", str(assets / "flight.mp4"), "--project", str(project), "--weights",
            str(assets / "msnet.safetensors"), "--no-srn", "--device", "cpu", "-q", *extra]


@pytest.fixture
def no_model(monkeypatch):
    """Fails the test if the model is loaded: the checks must come first."""
    from services import analysis

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(analysis, "load_model", refuse)


def _error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error:" in err[0] and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("fps", ["inf", "-inf", "nan", "0"])
def test_fps_that_is_not_a_finite_positive_number_is_refused(assets, tmp_path, capsys, no_model, fps):
    assert main(_analyze(assets, tmp_path / "p.dmproj", f"--fps={fps}")) == 2
    assert "--fps" in _error(capsys)
    assert not (tmp_path / "p.dmproj").exists()


def test_a_folder_given_as_the_project_is_named_before_the_model_loads(assets, tmp_path, capsys, no_model):
    assert main(_analyze(assets, tmp_path)) == 2
    line = _error(capsys)
    assert "is a folder" in line and "flight.dmproj" in line


def test_a_folder_without_videos_given_as_the_video_is_named(assets, tmp_path, capsys, no_model):
    argv = _analyze(assets, tmp_path / "p.dmproj")
    argv[1] = str(tmp_path)
    assert main(argv) == 2
    assert "is a folder" in _error(capsys)


def test_telemetry_that_cannot_be_read_fails_before_any_frame_is_analysed(assets, tmp_path, capsys, no_model):
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list: milk, eggs\n")
    assert main(_analyze(assets, tmp_path / "p.dmproj", "--track", str(notes))) == 2
    line = _error(capsys)
    assert "notes.txt" in line
    assert not (tmp_path / "p.dmproj").exists()


def test_the_summary_names_the_project_as_typed_from_the_current_folder(assets, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    (work / "out").mkdir(parents=True)
    monkeypatch.chdir(work)
    assert main(_analyze(assets, "out/site.dmproj", "--every", "3")) == 0
    out = capsys.readouterr().out
    assert f"damagemap info {os.path.join('out', 'site.dmproj')}" in out, out


def test_a_video_without_telemetry_is_said_before_its_frames_not_first_at_export(assets, tmp_path, capsys):
    assert main(_analyze(assets, tmp_path / "p.dmproj", "--every", "3")) == 0
    err = capsys.readouterr().err
    assert "telemetry: none found beside flight.mp4 or inside it" in err
    assert "--track FILE" in err and "export --telemetry FILE" in err  # how to give it


def test_without_a_project_the_project_is_made_beside_the_video_as_the_app_does(assets, tmp_path, capsys):
    import shutil

    from core.store import ProjectStore

    video = tmp_path / "flight.mp4"
    shutil.copyfile(assets / "flight.mp4", video)
    argv = _analyze(assets, "unused", "--every", "3")
    argv[1] = str(video)
    del argv[2:4]  # no --project
    assert main(argv) == 0
    project = tmp_path / "flight.dmproj"
    assert f"project: {project}" in capsys.readouterr().err
    with ProjectStore.open(project, read_only=True) as store:
        assert Path(store.video_path).resolve() == video.resolve()
        assert store.run(1).finished
    assert main(argv) == 0  # the same command again reuses it: the run is complete already
    assert "complete already" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".dmproj") == ["flight.dmproj"]


def test_several_videos_without_a_project_ask_for_the_survey_folder(assets, tmp_path, capsys, no_model):
    argv = _analyze(assets, "unused")
    del argv[2:4]
    argv.insert(2, str(assets / "flight.mp4"))
    assert main(argv) == 2
    line = _error(capsys)
    assert "--project FOLDER" in line and "survey" in line


def test_analyze_with_other_detector_settings_makes_a_run_that_info_names(assets, tmp_path, capsys):
    import json

    project = tmp_path / "p.dmproj"
    assert main(_analyze(assets, project, "--every", "3")) == 0
    assert main(_analyze(assets, project, "--every", "3", "--input-size", "96")) == 0
    assert main(_analyze(assets, project, "--every", "3", "--building-gate", "0.99")) == 0
    assert main(_analyze(assets, project, "--every", "3", "--flip-check")) == 0
    assert main(_analyze(assets, project, "--every", "3", "--tiles", "2")) == 0
    capsys.readouterr()
    assert main(["info", str(project)]) == 0
    out = capsys.readouterr().out
    models = [line.strip() for line in out.splitlines() if line.strip().startswith("model:")]
    built = json.loads((assets / "msnet.json").read_text())["model"]["min_size"]
    assert models == [f"model:      msnet/resnet18 (msnet.safetensors, input {built} px)",
                      "model:      msnet/resnet18 (msnet.safetensors, input 96 px)",
                      f"model:      msnet/resnet18 (msnet.safetensors, input {built} px, building gate 0.99)",
                      f"model:      msnet/resnet18 (msnet.safetensors, input {built} px, mirror check)",
                      f"model:      msnet/resnet18 (msnet.safetensors, input {built} px, 2 x 2 tiles)"]
    assert main(["info", str(project), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    counts = [run["detections_total"] for run in runs]
    assert counts[2] <= counts[0]  # a stricter gate lets fewer damage candidates through
    assert counts[4] >= counts[0]  # the tiles add to what the whole frames give


def test_a_video_and_project_named_with_bytes_that_are_not_utf8(assets, tmp_path, monkeypatch):
    """Legal on Linux (a name from a Latin-1 system): analysed, then found again by info,
    and printed as the bytes it is even where the terminal's encoding is strict UTF-8."""
    import io
    import json
    import shutil
    import sys

    video = tmp_path / os.fsdecode(b"caf\xe9 latin1.mp4")
    shutil.copyfile(assets / "flight.mp4", video)
    project = tmp_path / os.fsdecode(b"caf\xe9.dmproj")
    argv = _analyze(assets, project, "--every", "3")
    argv[1] = str(video)
    outputs = []
    for command in (argv, ["info", str(project)], ["info", str(project), "--json"]):
        out = io.BytesIO()
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8", errors="strict"))
        assert main(command) == 0
        sys.stdout.flush()
        outputs.append(out.getvalue())
    assert b"caf\xe9.dmproj" in outputs[0] and b"caf\xe9 latin1.mp4" in outputs[1]
    report = json.loads(outputs[2].decode("utf-8"))
    assert report["video"]["path"] == str(video) and report["video"]["exists"]


def test_a_second_analysis_of_a_run_being_analysed_is_refused_before_any_frame(assets, tmp_path, capsys,
                                                                            monkeypatch):
    import core.store as store_module
    from core.store import ProjectStore
    from core.types import Frame

    project = tmp_path / "busy.dmproj"
    assert main(_analyze(assets, project, "--every", "3")) == 0  # run 1: frames 0 and 3
    with ProjectStore.open(project) as store:  # now another process is half-way through run 1
        store._conn.execute("DELETE FROM detections WHERE frame_index = 3")
        store._conn.execute("DELETE FROM frames WHERE frame_index = 3")
        store._conn.execute("UPDATE runs SET finished_utc = NULL")
        mine, other = os.getpid(), os.getppid()
        monkeypatch.setattr(store_module.os, "getpid", lambda: other)
        store.write_frame(1, Frame(index=1, pts_s=0.1, width_px=64, height_px=48), [])
        monkeypatch.setattr(store_module.os, "getpid", lambda: mine)
    capsys.readouterr()
    assert main(_analyze(assets, project, "--every", "3")) == 2
    line = _error(capsys)
    assert f"run 1 is being analysed by another damagemap (process {other} on" in line
    with ProjectStore.open(project) as store:
        assert sorted(store.analysed_frames(1)) == [0, 1]  # nothing analysed by the second one


def test_analyze_asking_a_close_look_of_weights_without_one_names_them(assets, tmp_path, capsys):
    project = tmp_path / "p.dmproj"
    assert main(_analyze(assets, project, "--every", "3", "--close-look")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "msnet.safetensors" in err and "no close-look head" in err, err
    assert main(_analyze(assets, project, "--every", "3", "--no-close-look")) == 0


def test_no_srn_with_srn_weights_is_refused_before_the_model_loads(assets, tmp_path, capsys, no_model):
    assert main(_analyze(assets, tmp_path / "p.dmproj", "--srn-weights", str(tmp_path / "srn.safetensors"))) == 2
    line = _error(capsys)
    assert "--no-srn" in line and "--srn-weights" in line
    assert not (tmp_path / "p.dmproj").exists()


@pytest.mark.parametrize(("flags", "srn"), [((), None), (("--srn",), True), (("--no-srn",), False)])
def test_the_srn_flags_leave_the_default_to_the_weights(flags, srn):
    import argparse

    from app.commands.survey import add_analysis_arguments, analysis_request

    parser = argparse.ArgumentParser()
    add_analysis_arguments(parser)
    assert analysis_request(parser.parse_args(list(flags))).srn is srn


def test_georeferencing_flags_are_kept_and_the_check_before_the_first_frame_uses_them(tmp_path, capsys,
                                                                                       sites_flyover, tiny_detector):
    """A GPX started in the air: without the ground, the map cannot be made and analyze
    says so before the first frame; given on the command line, the ground (and the
    camera's pitch) is kept in the project, and there is nothing to say."""
    import gpxpy

    from core.store import ProjectStore

    gpx = gpxpy.parse(Path(sites_flyover.gpx).read_text())
    for point in gpx.tracks[0].segments[0].points:
        point.elevation = 147.0
    air = tmp_path / "air.gpx"
    air.write_text(gpx.to_xml(version="1.1"))

    def analyze(project, *flags):
        return main(["analyze", str(sites_flyover.video), "--track", str(air), "--project", str(project),
                     "--weights", str(tiny_detector / "msnet.safetensors"), "--no-srn", "--device", "cpu", "-q",
                     "--every", "10", *flags])

    assert analyze(tmp_path / "plain.dmproj") == 0
    assert "the map cannot be made yet" in capsys.readouterr().err
    assert analyze(tmp_path / "given.dmproj", "--ground-elevation", "107", "--pitch", "-40") == 0
    err = capsys.readouterr().err
    assert "the map cannot be made yet" not in err
    assert "--pitch, --ground-elevation: kept in the project" in err
    with ProjectStore.open(tmp_path / "given.dmproj") as store:
        settings = store.project_settings()
    assert (settings.ground_elevation_m, settings.camera_pitch_deg) == (107.0, -40.0)
    assert settings.ground_elevation_sigma_m is None and settings.camera_pitch_sigma_deg is None


def test_georeferencing_flags_with_several_videos_are_kept_in_every_flight(assets, tmp_path, capsys):
    from core.store import ProjectStore
    from core.survey import Survey

    videos = []
    for name in ("north", "south"):
        video = tmp_path / f"{name}.mp4"
        video.write_bytes((assets / "flight.mp4").read_bytes())
        videos.append(str(video))
    survey = tmp_path / "survey"
    assert main(["analyze", *videos, "--project", str(survey), "--weights", str(assets / "msnet.safetensors"),
                 "--no-srn", "--device", "cpu", "-q", "--every", "3", "--pitch", "-40", "--ground-elevation",
                 "12.5"]) == 0
    assert "--pitch, --ground-elevation: kept in the projects of the 2 flights" in capsys.readouterr().err
    opened = Survey.open(survey)
    assert len(opened.flights) == 2
    for flight in opened.flights:
        with ProjectStore.open(opened.project_path(flight)) as store:
            settings = store.project_settings()
        assert (settings.camera_pitch_deg, settings.ground_elevation_m) == (-40.0, 12.5)


def test_auto_georeferencing_with_several_videos_points_to_the_survey_command(assets, tmp_path, capsys, no_model):
    video = str(assets / "flight.mp4")
    assert main(["analyze", video, video, "--project", str(tmp_path / "survey"), "--ground-elevation", "auto"]) == 2
    line = _error(capsys)
    assert "--ground-elevation auto" in line and "damagemap survey georeference" in line
    assert not (tmp_path / "survey").exists()


def test_a_georeferencing_flag_out_of_range_is_refused_before_the_model_loads(assets, tmp_path, capsys, no_model):
    assert main(_analyze(assets, tmp_path / "p.dmproj", "--pitch", "20")) == 2
    assert "--pitch" in _error(capsys)
    assert not (tmp_path / "p.dmproj").exists()


def test_the_summary_quotes_a_project_path_with_spaces_so_it_can_be_pasted(assets, tmp_path, capsys, monkeypatch):
    (tmp_path / "after the storm").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(_analyze(assets, "after the storm/site 1.dmproj", "--every", "3")) == 0
    out = capsys.readouterr().out
    assert f"damagemap info '{os.path.join('after the storm', 'site 1.dmproj')}'" in out, out
