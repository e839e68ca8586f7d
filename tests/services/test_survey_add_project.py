"""A flight that has a project already (``damagemap analyze`` made it beside the video,
or its ``.dmproj`` is given) joins a survey with it: its runs and reviews, where it is,
never a new empty project analysed again. A project of another video, or one another
survey holds, is refused by name.

The flight is the rendered ``sites_truth`` flyover (tests/conftest.py) copied into the
test's folder, its ground truth stored as a finished run (a perfect detector)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import InputError
from core.review import ReviewSession
from core.sites import site_decision
from core.store import ProjectStore
from core.survey import SURVEY_SETTING, Survey, SurveyError, survey_of_project
from core.types import ReviewState
from services import survey as surveys
from services.project import default_project_path, open_or_create_project
from services.sites import site_review
from tests.truth_runs import write_run


@pytest.fixture
def analysed(sites_truth, tmp_path):
    """``videos/monday.mp4`` with its SRT, and beside it the project ``analyze`` makes,
    analysed, one site rejected by a reviewer; returns (video, project, sites on its map)."""
    videos = tmp_path / "videos"
    videos.mkdir()
    video = videos / "monday.mp4"
    shutil.copy2(sites_truth.video, video)
    shutil.copy2(sites_truth.srt, videos / "monday.SRT")
    project = default_project_path(video)
    with open_or_create_project(video) as store:  # as `damagemap analyze VIDEO` does
        write_run(store, sites_truth.detections, sites_truth.times)
        review = site_review(store)
        first = review.queue[0].site
        ReviewSession(store, review.run_id, author="analyst").apply(site_decision(first, ReviewState.REJECTED))
        sites = len(site_review(store).damage_map.fused)
    return video, project, sites


def _frames(project: Path) -> int:
    with ProjectStore.open(project, read_only=True) as store:
        return store.runs()[-1].frames_done


def test_a_video_analysed_before_joins_the_survey_with_its_project_and_reviews(analysed, tmp_path, capsys):
    from app.cli import main

    video, project, sites = analysed
    frames = _frames(project)
    town = tmp_path / "town"
    assert main(["survey", "create", str(town)]) == 0
    assert main(["survey", "add", str(town), str(video)]) == 0
    out = capsys.readouterr().out
    assert f"took the analysed project {project}: {frames} frames, {sites} sites, 1 reviewed" in out
    survey = Survey.open(town)
    [flight] = survey.flights
    # referenced where it is, relative to the survey's folder: no second project to analyse again
    assert flight.project == "../videos/monday.dmproj" and survey.project_path(flight).resolve() == project.resolve()
    assert not (town / "flights").exists()
    # the project opened by itself (the app) finds its survey, though it lies beside its video
    assert survey_of_project(project).folder.resolve() == town.resolve()
    [status] = surveys.flight_statuses(survey)
    assert status.complete and status.frames_analysed == frames
    # the reviewer's rejection counts in the survey, as the flight's own review
    own = surveys.review_decisions(survey).flights
    assert list(own) == ["monday"] and len(own["monday"]) == 1
    assert main(["survey", "info", str(town)]) == 0
    info = capsys.readouterr().out
    assert f"{frames} frames (complete)" in info and "1 decision (1 in the flights' review: monday 1)" in info

    # the survey and the videos moved together still find the project
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(town, moved / "town")
    shutil.move(video.parent, moved / "videos")
    [status] = surveys.flight_statuses(Survey.open(moved / "town"))
    assert status.problem is None and status.frames_analysed == frames


def test_a_project_given_itself_joins_the_survey(analysed, tmp_path, capsys):
    from app.cli import main

    video, project, sites = analysed
    elsewhere = tmp_path / "projects" / "monday-review.dmproj"
    elsewhere.parent.mkdir()
    shutil.move(project, elsewhere)  # a project saved away from its video
    town = tmp_path / "town"
    assert main(["survey", "create", str(town)]) == 0
    assert main(["survey", "add", str(town), str(elsewhere)]) == 0
    out = capsys.readouterr().out
    assert "flight monday: monday.mp4" in out and f"took the analysed project {elsewhere}" in out
    [flight] = Survey.open(town).flights
    assert flight.project == "../projects/monday-review.dmproj" and Path(flight.video) == video.resolve()
    # its video, given now, is that flight already; the project again too
    assert main(["survey", "add", str(town), str(video)]) == 2
    assert "is flight monday of survey 'town' already" in capsys.readouterr().err
    assert main(["survey", "add", str(town), str(elsewhere)]) == 2
    assert "is flight monday of survey 'town' already" in capsys.readouterr().err


def test_a_project_of_another_video_or_of_another_survey_is_refused_by_name(analysed, sites_truth, tmp_path):
    video, project, _ = analysed
    first = surveys.create_survey(tmp_path / "first")
    surveys.add_flight(first, video)
    second = surveys.create_survey(tmp_path / "second")
    for given in (video, project):  # a project is a flight of one survey: decisions and numbers would mix
        with pytest.raises(SurveyError, match=r"is flight monday of survey 'first' \(.*first\) already.*"
                                              r"survey remove .*first monday"):
            surveys.add_flight(second, given)
    # taken out of the first, it may join the second
    surveys.remove_flight(first, "monday")
    assert surveys.add_flight(second, project).name == "monday"

    # a project beside a video that is another video's (a renamed copy, say)
    other = tmp_path / "videos" / "tuesday.mp4"
    shutil.copy2(sites_truth.video, other)
    shutil.copy2(project, default_project_path(other))
    third = surveys.create_survey(tmp_path / "third")
    with pytest.raises(SurveyError, match=r"tuesday.dmproj' is the project of another video, .*monday.mp4"):
        surveys.add_flight(third, other)
    assert Survey.open(third.folder).flights == []
    # a project whose video went away says so, naming both
    gone = tmp_path / "gone"
    gone.mkdir()
    (gone / "x.mp4").write_bytes(video.read_bytes())
    with open_or_create_project(gone / "x.mp4") as store:
        store.set_setting("note", 1)
    (gone / "x.mp4").unlink()
    with pytest.raises(InputError, match=r"x.dmproj'.*its video .*x.mp4' is missing"):
        surveys.add_flight(third, gone / "x.dmproj")


def test_a_project_being_analysed_by_another_damagemap_joins_and_is_said(analysed, tmp_path, monkeypatch):
    video, project, _ = analysed
    with ProjectStore.open(project) as store:
        run = store.start_run(model={}, settings={})
        record = {"pid": 4242, "host": "field-laptop", "user": "ana", "since_utc": "2024-01-01T00:00:00+00:00"}
        monkeypatch.setattr(ProjectStore, "active_writer", lambda self, run_id: record if run_id == run else None)
        survey = surveys.create_survey(tmp_path / "town")
        flight = surveys.add_flight(survey, video)
        taken = surveys.project_contents(survey, flight)
        assert taken is not None and taken.frames == 0 and not taken.complete
        assert "partly analysed" in taken.text() and "process 4242 on field-laptop" in taken.text()
        # `survey analyse` leaves it to that damagemap, naming it, rather than store its frames twice
        from services.analysis import AnalysisRequest

        failed = []
        assert list(surveys.analyse_survey(survey, AnalysisRequest(device="cpu"), model=object(),
                                           on_failure=lambda f, exc: failed.append((f.name, str(exc))))) == []
    assert failed and failed[0][0] == "monday"
    assert f"run {run} is being analysed by another damagemap (process 4242 on field-laptop" in failed[0][1]


def _forget_survey(project: Path) -> None:
    """The project as one that joined its survey before projects noted theirs."""
    with ProjectStore.open(project) as store:
        store.set_setting(SURVEY_SETTING, None)
    assert survey_of_project(project) is None  # opened by itself, its window would not name its survey


def test_a_project_that_does_not_note_its_survey_is_noted_when_the_survey_is_read_analysed_or_exported(
        analysed, tmp_path, monkeypatch):
    from app.cli import main
    from services.analysis import AnalysisRequest

    video, project, _ = analysed
    survey = surveys.create_survey(tmp_path / "town")
    surveys.add_flight(survey, video)
    _forget_survey(project)
    assert main(["survey", "info", str(survey.folder)]) == 0
    assert survey_of_project(project).folder.resolve() == survey.folder.resolve()
    _forget_survey(project)
    assert main(["survey", "export", str(survey.folder), "--formats", "csv", "--to", str(tmp_path / "out")]) == 0
    assert survey_of_project(project).folder.resolve() == survey.folder.resolve()
    _forget_survey(project)
    from services import analysis

    def no_analysis(*args, **kwargs):
        raise InputError("not analysed in this test")

    monkeypatch.setattr(analysis, "plan", no_analysis)  # noted before any flight is analysed
    failed = []
    assert list(surveys.analyse_survey(survey, AnalysisRequest(device="cpu"), model=object(),
                                       on_failure=lambda f, exc: failed.append(f.name))) == []
    assert failed == ["monday"]
    assert survey_of_project(project).folder.resolve() == survey.folder.resolve()
    assert surveys.note_survey_in_flights(survey) == []  # noted: nothing written again

    # a project another damagemap is analysing now is left as it is
    _forget_survey(project)
    with ProjectStore.open(project) as store:
        run = store.start_run(model={}, settings={})
    record = {"pid": 4242, "host": "field-laptop", "user": "ana", "since_utc": "2024-01-01T00:00:00+00:00"}
    monkeypatch.setattr(ProjectStore, "active_writer", lambda self, run_id: record if run_id == run else None)
    assert surveys.note_survey_in_flights(survey) == []
    assert main(["survey", "info", str(survey.folder)]) == 0
    assert survey_of_project(project) is None


def test_the_survey_window_notes_the_survey_in_a_project_that_does_not(analysed, tmp_path):
    from app.workers import survey_map_job

    video, project, _ = analysed
    survey = surveys.create_survey(tmp_path / "town")
    surveys.add_flight(survey, video)
    _forget_survey(project)
    survey_map_job(survey.folder)  # what the survey's window reads when it opens
    assert survey_of_project(project).folder.resolve() == survey.folder.resolve()


def test_a_survey_moved_without_its_videos_names_each_missing_project_and_relinks_it(analysed, tmp_path, capsys):
    from app.cli import main

    video, project, sites = analysed
    surveys.add_flight(surveys.create_survey(tmp_path / "town"), video)
    (tmp_path / "laptop").mkdir()
    shutil.move(tmp_path / "town", tmp_path / "laptop" / "town")  # the survey's folder alone
    moved = tmp_path / "laptop" / "town"
    assert main(["survey", "info", str(moved)]) == 0
    out, err = capsys.readouterr()
    looked = tmp_path / "laptop" / "videos" / "monday.dmproj"
    missing = f"its project is missing: looked for '../videos/monday.dmproj' from the survey's folder, at '{looked}'"
    assert f"flight monday: left out ({missing}" in err  # the survey map's note
    # the flight's own line in the listing says so, not "0 frames (not complete)"
    (line,) = [line for line in out.splitlines() if line.strip().startswith("monday")]
    assert missing in line and f"damagemap survey relink '{moved}' monday PROJECT" in line and "frames" not in line
    assert main(["survey", "info", str(moved), "--json"]) == 0
    (flight,) = json.loads(capsys.readouterr().out)["flights"]
    assert flight["problem"].startswith(missing)

    assert main(["survey", "relink", str(moved), "monday", str(project)]) == 0
    assert f"flight monday: its project is {project}" in capsys.readouterr().out
    survey = Survey.open(moved)
    assert survey.project_path(survey.flight("monday")).resolve() == project.resolve()
    assert len(surveys.survey_map(survey).sites) == sites
    assert survey_of_project(project).folder.resolve() == moved.resolve()  # its note follows the survey
    # a project of another video is refused, naming it
    other = tmp_path / "other.mp4"
    shutil.copy2(video, other)
    with open_or_create_project(other):
        pass
    with pytest.raises(SurveyError, match=r"other.dmproj' is the project of .*other.mp4', not of flight monday's"):
        surveys.relink_flight(survey, "monday", default_project_path(other))


def test_a_new_video_still_gets_its_project_in_the_survey(sites_truth, tmp_path):
    video = tmp_path / "fresh.mp4"
    shutil.copy2(sites_truth.video, video)
    survey = surveys.create_survey(tmp_path / "town")
    flight = surveys.add_flight(survey, video)
    assert flight.project == "flights/fresh.dmproj" and not default_project_path(video).exists()
    assert surveys.project_contents(survey, flight) is None  # nothing taken
    with ProjectStore.open(survey.project_path(flight), read_only=True) as store:
        assert Path(store.get_setting(SURVEY_SETTING)) == survey.folder.resolve()
    assert json.loads((survey.folder / "survey.json").read_text())["flights"][0]["project"] == "flights/fresh.dmproj"


def test_where_a_flights_project_lies_is_shown_as_a_path_without_dot_dot(analysed, tmp_path, capsys, qtbot):
    """The survey keeps ``../videos/monday.dmproj`` (relative to its folder); `survey info
    --json` and the survey window's tooltip showed ``town/../videos/monday.dmproj``."""
    from app.cli import main
    from app.dialogs.survey_dialog import SurveyDialog

    video, project, _ = analysed
    town = tmp_path / "town"
    survey = surveys.create_survey(town)
    surveys.add_flight(survey, video)
    assert Survey.open(town).flights[0].project == "../videos/monday.dmproj"  # kept as it was
    assert main(["survey", "info", str(town), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["flights"][0]["project"] == str(project)
    dialog = SurveyDialog(Survey.open(town))
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.map_ready, timeout=60_000):
        pass
    assert dialog.table.item(0, 0).toolTip() == str(project)


@pytest.mark.parametrize("given", ["missing.gpx", "missing.mp4", "pipe.gpx", "pipe.mp4"])
def test_survey_add_given_no_file_or_a_pipe_says_so_and_where_a_log_goes(given, tmp_path, capsys):
    """`survey add town/ missing.gpx` (or a named pipe) said "video not found": what is
    wrong is that the file is not there (or not a file), and a log goes with --track."""
    import os

    from app.cli import main

    town = tmp_path / "town"
    path = tmp_path / given
    if given.startswith("pipe"):
        os.mkfifo(path)
    assert main(["survey", "create", str(town)]) == 0
    capsys.readouterr()
    assert main(["survey", "add", str(town), str(path)]) == 2
    err = capsys.readouterr().err
    assert "video not found" not in err
    assert (f"{str(path)!r} is a named pipe, not a regular file" if given.startswith("pipe")
            else f"{str(path)!r}: no such file") in err
    if path.suffix == ".gpx":
        assert f"damagemap survey add {town} VIDEO --track {path}" in err
    assert not Survey.open(town).flights
