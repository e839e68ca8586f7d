"""``damagemap export`` over a project store holding the flyover's ground-truth detections."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from app.cli import main


@pytest.fixture(scope="module")
def project(flyover, tmp_path_factory):
    from core.store import ProjectStore
    from core.types import Frame
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(flyover.paths.annotations)
    info = flyover.video_info
    path = tmp_path_factory.mktemp("project") / "flyover.dmproj"
    with ProjectStore.create(path, video_path=flyover.paths.video, telemetry_path=flyover.paths.srt) as store:
        run = store.start_run(model={"name": "ground truth"}, settings={})
        for index in sorted(times):
            frame = Frame(index, times[index], info["width_px"], info["height_px"])
            store.write_frame(run, frame, [replace(d, id=None) for d in detections if d.frame_index == index])
        store.finish_run(run)
    return path


def test_export_writes_every_file_with_thumbnails(project, tmp_path, capsys):
    out = tmp_path / "map"
    assert main(["export", str(project), "--to", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "damage sites" in printed and "placed in EPSG:326" in printed
    assert "the files in WGS84 lon/lat, EPSG:4326)" in printed  # not the UTM zone the map was placed in
    names = {p.name for p in out.iterdir()}
    assert {"damage_sites.geojson", "damage_map.html", "damage_map.gpkg", "damage_sites.kml"} <= names
    html = (out / "damage_map.html").read_text()
    assert "data:image/jpeg;base64," in html
    sites = json.loads((out / "damage_sites.geojson").read_text())["features"]
    # every site's popup: its best frame and a close-up of its best detection
    assert html.count('alt="close-up of site ') == html.count('alt="best frame ') == len(sites) > 0


def test_export_without_a_folder_writes_beside_the_project_as_the_app_does(project, tmp_path, capsys):
    import shutil

    from services.project import default_export_dir

    copy = tmp_path / "survey day 1.dmproj"
    shutil.copyfile(project, copy)
    assert main(["export", str(copy), "--formats", "sites,csv", "--no-thumbnails"]) == 0
    out = tmp_path / "survey day 1_export"
    assert default_export_dir(copy) == out
    assert f"exporting to {out}" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} >= {"damage_sites.geojson", "damage_sites.csv"}


def test_export_options_and_errors_are_one_line(project, tmp_path, capsys):
    assert main(["export", str(project), "--to", str(tmp_path / "a"), "--formats", "sites,csv",
                 "--hfov", "84", "--offset", "0.0", "--no-thumbnails"]) == 0
    assert {p.name for p in (tmp_path / "a").iterdir()} == {"damage_sites.geojson", "damage_sites.csv"}
    capsys.readouterr()
    for argv, words in [
        (["export", str(project), "--to", str(tmp_path / "b"), "--run", "99"], "no run 99"),
        (["export", str(project), "--to", str(tmp_path / "c"), "--offset", "5000"], "does not overlap"),
        (["export", str(project), "--to", str(tmp_path / "d"), "--hfov", "fisheye-9000"], "unknown camera preset"),
        (["export", str(tmp_path / "nothing.dmproj"), "--to", str(tmp_path / "e")], "nothing.dmproj"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err


def test_project_without_telemetry_or_runs_is_refused(flyover, tmp_path, capsys):
    from core.store import ProjectStore

    bare = tmp_path / "bare.dmproj"
    with ProjectStore.create(bare, video_path=flyover.paths.video) as store:
        pass
    assert main(["export", str(bare), "--to", str(tmp_path / "out")]) == 2
    assert "no analysis run" in capsys.readouterr().err
    with ProjectStore.open(bare) as store:
        run = store.start_run(model={"name": "none"}, settings={})
        store.finish_run(run)
    assert main(["export", str(bare), "--to", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no telemetry" in err and len(err.strip().splitlines()) == 1
    assert f"damagemap export {bare} --telemetry FILE" in err  # how to give it


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--min-score", "nan"], "--min-score must be in [0, 1]; got nan"),
        (["--min-score", "7"], "--min-score must be in [0, 1]; got 7.0"),
        (["--ground-elevation", "nan"], "--ground-elevation must be a finite number"),
        (["--offset", "inf"], "--offset must be a finite number"),
        (["--formats", "shp"], "unknown export format 'shp'"),
    ],
)
def test_impossible_flag_values_are_refused_before_any_work(project, tmp_path, capsys, flags, words):
    out = tmp_path / "never"
    assert main(["export", str(project), "--to", str(out), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert not out.exists()


def test_a_folder_given_as_the_project_is_named_as_a_folder(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--to", str(tmp_path / "out")]) == 2
    assert "is a folder; give the project file (.dmproj)" in capsys.readouterr().err
    assert main(["info", str(tmp_path)]) == 2
    assert "is a folder; give the project file (.dmproj)" in capsys.readouterr().err


def test_a_survey_folder_given_as_the_project_is_named_as_a_survey(tmp_path, capsys):
    from core.survey import Survey

    folder = tmp_path / "town"
    Survey.create(folder, "town")
    for command in (["export", str(folder), "--to", str(tmp_path / "out")], ["info", str(folder)]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "is a survey folder" in err
        assert f"damagemap survey info|export {folder}" in err  # where the whole survey is read
    assert not (tmp_path / "out").exists()


def test_export_given_the_video_says_only_where_its_project_is(project, tmp_path, capsys):
    """`damagemap export flight.mp4` printed where it would export before the refusal."""
    import shutil

    video = tmp_path / "flyover.mp4"
    video.write_bytes(b"not really a video")
    shutil.copy2(project, tmp_path / "flyover.dmproj")
    assert main(["export", str(video)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "the project beside it is" in err and "exporting to" not in err


def test_with_several_runs_export_says_which_run_it_mapped(project, tmp_path, capsys):
    """The app may show another run than the latest (Analysis > Show Run): an export from
    the command line names the run it mapped when there is a choice, and only then."""
    import shutil

    from core.store import ProjectStore

    assert main(["export", str(project), "--to", str(tmp_path / "one"), "--formats", "sites", "--no-thumbnails"]) == 0
    assert "from run" not in capsys.readouterr().out  # one run: nothing to choose
    copy = tmp_path / "two runs.dmproj"
    shutil.copyfile(project, copy)
    with ProjectStore.open(copy) as store:
        run = store.start_run(model={"name": "another model"}, settings={})
        store.finish_run(run)
    assert main(["export", str(copy), "--to", str(tmp_path / "latest"), "--formats", "sites", "--no-thumbnails"]) == 0
    assert f"from run {run} of 2 (the latest; --run N exports another)" in capsys.readouterr().out
    assert main(["export", str(copy), "--to", str(tmp_path / "first"), "--formats", "sites", "--no-thumbnails",
                 "--run", "1"]) == 0
    printed = capsys.readouterr().out
    assert "from run 1 of 2 (--run)" in printed and not printed.startswith("0 damage sites")


def test_export_writes_the_reviewed_frames_as_training_data_as_the_app_does(project, tmp_path, capsys):
    """`--training`: the run's reviewed frames as an ISBDA/COCO data set under
    DIR/training, as the app's Export dialog writes it (`--include-pending`: their pending
    detections labelled too); alone, no map files. With nothing reviewed it says so."""
    import shutil

    from core.review import ReviewSession, SetReview
    from core.store import ProjectStore
    from core.types import ReviewState

    copy = tmp_path / "reviewed.dmproj"
    shutil.copyfile(project, copy)
    assert main(["export", str(copy), "--to", str(tmp_path / "none"), "--training"]) == 0
    assert "training data: none: no frame of this run is reviewed yet" in capsys.readouterr().out
    assert not (tmp_path / "none" / "training").exists()  # no empty data set to be taken for one
    with ProjectStore.open(copy) as store:
        run = store.latest_run_id()
        frames = sorted({d.frame_index for d in store.detections(run)})[:2]
        session = ReviewSession(store, run, author="tester")
        for frame in frames:
            session.apply(SetReview(store.detections(run, frame_index=frame)[0].id, ReviewState.ACCEPTED))
        on_those = [d for d in store.detections(run) if d.frame_index in frames]
    out = tmp_path / "data"
    assert main(["export", str(copy), "--to", str(out), "--training", "--include-pending"]) == 0
    printed = capsys.readouterr().out
    coco = json.loads((out / "training" / "annotations" / "instances_train.json").read_text())
    assert len(coco["images"]) == len(frames) and len(coco["annotations"]) == len(on_those)
    assert f"training data: {len(frames)} reviewed frames, {len(on_those)} annotations" in printed
    assert all((out / "training" / "train" / image["file_name"]).is_file() for image in coco["images"])
    assert sorted(p.name for p in out.iterdir()) == ["training"]  # no map files asked for
    assert "damage sites" not in printed
    assert main(["export", str(copy), "--to", str(tmp_path / "x"), "--include-pending"]) == 2
    assert "give it with --training" in capsys.readouterr().err


def test_a_min_score_below_what_the_analysis_kept_says_the_map_is_the_same(flyover, tmp_path, capsys):
    """The analysis kept detections from 0.2 up: `--min-score 0.1` cannot show more, and
    the output says so (at 0.2 and above it says nothing)."""
    from core.store import ProjectStore
    from core.types import Frame
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(flyover.paths.annotations)
    info = flyover.video_info
    path = tmp_path / "kept.dmproj"
    with ProjectStore.create(path, video_path=flyover.paths.video, telemetry_path=flyover.paths.srt) as store:
        run = store.start_run(model={"name": "ground truth"}, settings={"score_threshold": 0.2})
        for index in sorted(times):
            frame = Frame(index, times[index], info["width_px"], info["height_px"])
            store.write_frame(run, frame, [replace(d, id=None) for d in detections if d.frame_index == index])
        store.finish_run(run)
    for score, said in (("0.1", True), ("0.2", False), ("0.6", False)):
        assert main(["export", str(path), "--to", str(tmp_path / score), "--formats", "sites", "--min-score", score,
                     "--no-thumbnails"]) == 0
        printed = capsys.readouterr().out
        assert ("--min-score 0.1 is below 0.2, the score the analysis kept detections from" in printed) is said
    low, kept = (json.loads((tmp_path / s / "damage_sites.geojson").read_text()) for s in ("0.1", "0.2"))
    assert low == kept


def test_an_export_stopped_by_sigterm_says_the_set_is_not_whole_and_leaves_no_temporary_file(project, tmp_path,
                                                                                              monkeypatch, capsys):
    """A SIGTERM (a shutdown, a scheduler) ended it with no word and a hidden
    .part.gpkg beside the files; Ctrl+C said only "interrupted" over 8 of its 9 files."""
    import os
    import signal

    import geo.export.vector

    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        pytest.skip("SIGTERM has a handler of its own here")
    real = geo.export.vector.write_gpkg_layer

    def stopped(*args, **kwargs):
        real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(geo.export.vector, "write_gpkg_layer", stopped)
    out = tmp_path / "out"
    assert main(["export", str(project), "--to", str(out), "--no-thumbnails"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert "damagemap export: interrupted; each file written is whole, but not every file asked for was written" in err
    assert not [p.name for p in out.iterdir() if ".part" in p.name or p.name.endswith("-journal")]


def test_info_sites_counts_the_sites_the_export_writes(project, tmp_path, capsys):
    """`info` gave detections only: nothing to check an export's sites against."""
    out = tmp_path / "map"
    assert main(["export", str(project), "--to", str(out), "--formats", "geojson", "--no-thumbnails"]) == 0
    sites = json.loads((out / "damage_sites.geojson").read_text())["features"]
    capsys.readouterr()
    assert main(["info", str(project), "--sites", "--json"]) == 0
    counted = json.loads(capsys.readouterr().out)["sites"]
    assert counted["confirmed"] == len(sites) > 0
    by_level = {}
    for feature in sites:
        by_level[feature["properties"]["level"]] = by_level.get(feature["properties"]["level"], 0) + 1
    assert {k.lower(): v for k, v in counted["levels"].items() if v} == by_level
    assert main(["info", str(project), "--sites"]) == 0
    assert f"sites:      {len(sites)} on the map of run " in capsys.readouterr().out
