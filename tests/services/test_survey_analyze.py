"""``damagemap analyze`` with several videos or a folder: a survey, one project per
flight, analysed in turn and resumed (tiny random MSNet, CPU)."""

import json

import pytest

from app.cli import main
from core.store import ProjectStore
from core.survey import Survey


@pytest.fixture(scope="module")
def assets(tmp_path_factory, texture_video, with_tiny_detector):
    root = tmp_path_factory.mktemp("flights")
    (root / "videos").mkdir()
    for name, shift in (("monday", 0), ("wednesday", 3)):
        texture_video(root / "videos" / f"{name}.mp4", 5, step=1, start=shift)
    return with_tiny_detector(root)


def _analyze(assets, *inputs, project):
    return ["analyze", *map(str, inputs), "--project", str(project), "--weights", str(assets / "msnet.safetensors"),
            "--no-srn", "--device", "cpu", "-q"]


def test_a_folder_of_videos_becomes_a_survey_analysed_flight_by_flight_and_resumed(assets, tmp_path, capsys):
    town = tmp_path / "town"
    assert main(_analyze(assets, assets / "videos", project=town)) == 0
    out = capsys.readouterr()
    assert "10 frames analysed in 2 flights" in out.out and "2 flights to analyse" in out.err
    survey = Survey.open(town)
    assert [f.name for f in survey.flights] == ["monday", "wednesday"]
    for flight in survey.flights:
        with ProjectStore.open(survey.project_path(flight)) as store:
            assert store.run(store.latest_run_id()).finished and len(store.analysed_frames(1)) == 5

    # The survey keeps what tells each flight's video from another file (to find it renamed)...
    kept = {f.name: f.video_identity for f in survey.flights}
    assert kept["monday"].name == "monday.mp4" and kept["monday"].frames == 5
    assert kept["monday"].size_bytes == (assets / "videos" / "monday.mp4").stat().st_size
    manifest = json.loads((town / "survey.json").read_text())
    for flight in manifest["flights"]:  # ...written by a damagemap before it did: kept when analysed again
        del flight["video_identity"]
    (town / "survey.json").write_text(json.dumps(manifest))

    # Again, with one video named twice: nothing added, nothing analysed twice.
    video = assets / "videos" / "monday.mp4"
    assert main(_analyze(assets, video, assets / "videos", project=town)) == 0
    assert "0 frames analysed in 2 flights" in capsys.readouterr().out
    assert len(Survey.open(town).flights) == 2
    assert {f.name: f.video_identity for f in Survey.open(town).flights} == kept

    assert main(["survey", "info", str(town), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [f["frames_analysed"] for f in info["flights"]] == [5, 5] and info["sites"] == []


def test_one_video_into_a_survey_s_folder_becomes_its_flight(assets, tmp_path, capsys):
    """`analyze VIDEO --project SURVEY`: the survey gets the video as a flight and
    analyses it (no stray project in the survey's folder, no refusal)."""
    town = tmp_path / "town"
    assert main(_analyze(assets, assets / "videos" / "monday.mp4", assets / "videos" / "monday.mp4",
                         project=town)) == 0  # a survey of one flight
    capsys.readouterr()
    assert main(_analyze(assets, assets / "videos" / "wednesday.mp4", project=town)) == 0
    assert "5 frames analysed in 1 flight" in capsys.readouterr().out
    survey = Survey.open(town)
    assert [f.name for f in survey.flights] == ["monday", "wednesday"]
    with ProjectStore.open(survey.project_path(survey.flights[1])) as store:
        assert store.run(store.latest_run_id()).finished
    assert not list(town.glob("*.dmproj"))


def test_several_videos_need_a_survey_folder_and_no_single_track(assets, tmp_path, capsys):
    videos = [assets / "videos" / "monday.mp4", assets / "videos" / "wednesday.mp4"]
    assert main(_analyze(assets, *videos, project=tmp_path / "p.dmproj")) == 2
    assert "with several videos give a folder for the survey" in capsys.readouterr().err
    assert main(_analyze(assets, *videos, project=tmp_path / "s") + ["--track", str(videos[0])]) == 2
    assert "--track names one video's telemetry" in capsys.readouterr().err
    assert not (tmp_path / "s").exists() and not (tmp_path / "p.dmproj").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(_analyze(assets, empty, project=tmp_path / "s")) == 2
    assert "is a folder with no video" in capsys.readouterr().err


def test_survey_analyse_keeps_the_numbers_given_in_the_flights_it_analyses(assets, tmp_path, capsys):
    from services import survey as surveys

    town = tmp_path / "town"
    survey = surveys.create_survey(town)
    for name in ("monday", "wednesday"):
        surveys.add_flight(survey, assets / "videos" / f"{name}.mp4")
    analyse = ["survey", "analyse", str(town), "--weights", str(assets / "msnet.safetensors"), "--no-srn",
               "--device", "cpu", "-q"]
    assert main([*analyse, "--ground-elevation", "auto"]) == 2
    assert "damagemap survey georeference" in capsys.readouterr().err
    assert main([*analyse, "--flight", "wednesday", "--ground-elevation", "31.5", "--hfov", "mavic-2-pro"]) == 0
    assert "--hfov, --ground-elevation: kept in the project of flight wednesday" in capsys.readouterr().err
    opened = Survey.open(town)
    settings = {}
    for flight in opened.flights:
        with ProjectStore.open(opened.project_path(flight)) as store:
            settings[flight.name] = store.project_settings()
    assert (settings["wednesday"].ground_elevation_m, settings["wednesday"].hfov_deg) == (31.5, "mavic-2-pro")
    assert settings["monday"].ground_elevation_m is None  # not named: left as it was


def test_videos_that_cannot_be_read_are_named_and_the_card_s_other_flights_are_analysed(assets, tmp_path, capsys):
    """One clip cut off by a flat battery held up a whole card: nothing was analysed, and
    each bad file came up one run at a time."""
    import shutil

    card = tmp_path / "card"
    card.mkdir()
    for name in ("monday", "wednesday"):
        shutil.copy(assets / "videos" / f"{name}.mp4", card / f"{name}.mp4")
    (card / "broken.mp4").write_bytes(b"\x00junk" * 80)
    (card / "empty.mp4").write_bytes(b"")
    town = tmp_path / "town"
    assert main(_analyze(assets, card, project=town)) == 2
    out = capsys.readouterr()
    assert "10 frames analysed in 2 flights" in out.out
    assert "broken.mp4: not added:" in out.err and "empty.mp4: not added:" in out.err
    assert "2 left out of the analysis (the others are analysed):" in out.err
    survey = Survey.open(town)
    assert [f.name for f in survey.flights] == ["monday", "wednesday"]
    for flight in survey.flights:
        with ProjectStore.open(survey.project_path(flight)) as store:
            assert store.run(store.latest_run_id()).finished


def test_a_flight_that_fails_in_its_analysis_is_named_and_the_next_one_is_analysed(assets, tmp_path, capsys,
                                                                                  monkeypatch):
    import services.analysis
    from core.errors import VideoError

    real = services.analysis.analyse

    def analyse(store, *args, **kwargs):
        if "monday" in store.path.name:
            raise VideoError(f"{store.video_path}: the video ends at frame 3 of 5 (cut off)")
        yield from real(store, *args, **kwargs)

    monkeypatch.setattr(services.analysis, "analyse", analyse)
    town = tmp_path / "town"
    assert main(_analyze(assets, assets / "videos", project=town)) == 2
    err = capsys.readouterr().err
    assert "flight monday: not analysed:" in err and "cut off" in err
    survey = Survey.open(town)
    with ProjectStore.open(survey.project_path(survey.flight("wednesday"))) as store:
        assert store.run(store.latest_run_id()).finished


def test_a_flight_whose_video_is_cut_short_is_named_as_not_whole(assets, tmp_path, capsys):
    """A clip cut off by a flat battery is analysed to its last decodable frame; the survey
    says so at the end and the exit status says the set is not whole."""
    import shutil

    from tests.video_helpers import cut_short

    card = tmp_path / "card"
    card.mkdir()
    shutil.copy(assets / "videos" / "monday.mp4", card / "monday.mp4")
    cut_short(assets / "videos" / "wednesday.mp4", card / "wednesday.mp4", keep=0.97)
    (card / "whole.mp4").unlink()
    town = tmp_path / "town"
    assert main(_analyze(assets, card, project=town)) == 2
    err = capsys.readouterr().err
    assert "left out of the analysis" not in err  # analysed, as far as the file goes
    assert main(["survey", "info", str(town)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:] if line.startswith("  ")}
    assert "(finished, the video not whole)" in lines["wednesday"] and "(complete)" in lines["monday"]
    named = err.split("1 analysed as far as its video goes (not whole):\n")[1].splitlines()
    assert len(named) == 1 and named[0].startswith("  flight wednesday: ") and "could not be decoded and" in named[0]


def test_a_log_shows_each_flight_s_progress_once_in_flight_order(assets, tmp_path, capsys):
    """Written to a log (stderr not a terminal), each flight's progress bar is closed when
    that flight ends: the log shows it once, not again after the last flight."""
    args = [arg for arg in _analyze(assets, assets / "videos", project=tmp_path / "town") if arg != "-q"]
    assert main(args) == 0
    log = capsys.readouterr().err
    # monday's bar is drawn (tqdm may draw 100% twice in a row: at its last frame and as it
    # closes) and done before wednesday's flight is announced, and never again after it
    assert "monday: 100%" in log and log.rindex("monday:") < log.index("flight wednesday:"), log
    assert "wednesday: 100%" in log, log
    assert "\x1b[A" not in log, log  # no bar drawn above another
