"""``survey relink`` finds a flight's video renamed or moved (a field team renames
``DJI_0042.MP4`` to ``2026-09-12_north_block.mp4``) by its content: the size, frame count
and length its project's run recorded, never by reading the whole file; where several
videos match, it says so and picks none."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from core.store import ProjectStore
from core.survey import Survey, SurveyError
from engine.video import VIDEO_KEY, probe_video, video_record
from services import survey as surveys
from services.project import default_project_path, open_or_create_project
from tests.truth_runs import write_run
from tests.video_helpers import noise_video


def _analysed(store: ProjectStore, sites_truth, video: Path) -> None:
    """A run of ``video``, recording it as ``damagemap analyze`` does."""
    write_run(store, sites_truth.detections, sites_truth.times,
              settings={VIDEO_KEY: video_record(video, probe_video(video))})


@pytest.fixture
def town(sites_truth, tmp_path):
    """A survey with flight DJI_0042, its project in the survey's folder, analysed; its
    video then renamed by the field team. Returns (survey, renamed video)."""
    videos = tmp_path / "videos"
    videos.mkdir()
    video = videos / "DJI_0042.MP4"
    shutil.copy2(sites_truth.video, video)
    shutil.copy2(sites_truth.srt, videos / "DJI_0042.SRT")
    survey = surveys.create_survey(tmp_path / "town")
    flight = surveys.add_flight(survey, video)
    with ProjectStore.open(survey.project_path(flight)) as store:
        _analysed(store, sites_truth, video)
    renamed = videos / "2026-09-12_north_block.mp4"
    video.rename(renamed)
    return survey, renamed


def _video_of(survey: Survey, name: str) -> Path:
    with ProjectStore.open(survey.project_path(survey.flight(name)), read_only=True) as store:
        return Path(store.video_path)


def test_a_renamed_video_is_relinked_by_its_content(town, capsys):
    from app.cli import main

    survey, renamed = town
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(renamed)]) == 0
    out = capsys.readouterr().out
    assert f"flight DJI_0042: its video is {str(renamed)!r}, matched by content: the same size, frame count and " \
           "length as 'DJI_0042.MP4' (" in out
    assert _video_of(survey, "DJI_0042") == renamed.resolve()
    assert Path(Survey.open(survey.folder).flight("DJI_0042").video) == renamed.resolve()


def test_a_folder_is_searched_for_the_video_by_content_and_several_matches_pick_none(town, capsys):
    from app.cli import main

    survey, renamed = town
    shutil.copy2(renamed, renamed.with_name("north_block_copy.mp4"))  # two files of one content
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(renamed.parent)]) == 2
    err = capsys.readouterr().err
    assert "2 videos in" in err and "'2026-09-12_north_block.mp4', 'north_block_copy.mp4'" in err
    assert "none was picked" in err
    assert _video_of(survey, "DJI_0042").name == "DJI_0042.MP4"  # nothing changed
    assert Path(Survey.open(survey.folder).flight("DJI_0042").video).name == "DJI_0042.MP4"

    renamed.with_name("north_block_copy.mp4").unlink()
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(renamed.parent)]) == 0
    assert f"its video is {str(renamed)!r}, found in" in capsys.readouterr().out
    assert _video_of(survey, "DJI_0042") == renamed.resolve()


def test_a_video_of_other_content_is_refused_naming_what_differs(town, tmp_path):
    survey, renamed = town
    other = noise_video(tmp_path / "other.mp4")  # another flight's
    with pytest.raises(SurveyError, match=r"other.mp4' is not flight DJI_0042's video: .* bytes"):
        surveys.relink_flight(survey, "DJI_0042", other)
    assert _video_of(survey, "DJI_0042").name == "DJI_0042.MP4"


def test_a_project_moved_with_its_video_renamed_finds_it_beside_it(sites_truth, tmp_path, capsys):
    """A video analysed before it joined (its project beside it), then both moved to the
    field laptop and the video renamed: relinking the project finds the video beside it."""
    from app.cli import main

    videos = tmp_path / "videos"
    videos.mkdir()
    video = videos / "monday.mp4"
    shutil.copy2(sites_truth.video, video)
    shutil.copy2(sites_truth.srt, videos / "monday.SRT")
    with open_or_create_project(video) as store:
        _analysed(store, sites_truth, video)
    survey = surveys.create_survey(tmp_path / "town")
    surveys.add_flight(survey, video)
    laptop = tmp_path / "laptop"
    shutil.move(videos, laptop)
    (laptop / "monday.mp4").rename(laptop / "2026-09-12_north_block.mp4")
    project = laptop / default_project_path(video).name

    assert main(["survey", "relink", str(survey.folder), "monday", str(project)]) == 0
    out = capsys.readouterr().out
    assert f"its video is {str(laptop / '2026-09-12_north_block.mp4')!r}, found beside its project by content" in out
    survey = Survey.open(survey.folder)
    assert survey.project_path(survey.flight("monday")).resolve() == project.resolve()
    assert _video_of(survey, "monday").name == "2026-09-12_north_block.mp4"
    assert json.loads((survey.folder / "survey.json").read_text())["flights"][0]["video"].endswith(
        "2026-09-12_north_block.mp4")


def test_a_project_of_the_renamed_video_is_the_flights_by_content(town, sites_truth, tmp_path, capsys):
    """The renamed video analysed on its own (its project beside it): the survey takes that
    project for the flight, its run having the content the flight's project recorded; a
    project of another video under another name is still refused."""
    from app.cli import main

    survey, renamed = town
    with open_or_create_project(renamed) as store:
        _analysed(store, sites_truth, renamed)
    project = default_project_path(renamed)
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(project)]) == 0
    assert ("its project's video '2026-09-12_north_block.mp4' is flight DJI_0042's 'DJI_0042.MP4' renamed, "
            "matched by content") in capsys.readouterr().out
    survey = Survey.open(survey.folder)
    assert survey.project_path(survey.flight("DJI_0042")).resolve() == project.resolve()

    other = noise_video(tmp_path / "other.mp4")
    with open_or_create_project(other) as store:
        write_run(store, sites_truth.detections, sites_truth.times,
                  settings={VIDEO_KEY: video_record(other, probe_video(other))})
    refused = (r"is the project of .*other.mp4', not of flight DJI_0042's video '2026-09-12_north_block.mp4' "
               r"\(nor has it the same size, frame count and length\)")
    with pytest.raises(SurveyError, match=refused):
        surveys.relink_flight(survey, "DJI_0042", default_project_path(other))


def _written_before_the_survey_kept_its_videos(survey: Survey) -> None:
    """The survey's manifest as a damagemap that kept no record of its flights' videos wrote it."""
    manifest = survey.folder / "survey.json"
    data = json.loads(manifest.read_text())
    for flight in data["flights"]:
        flight.pop("video_identity")
    manifest.write_text(json.dumps(data, indent=2))


@pytest.mark.parametrize("manifest", ["kept", "older"])
def test_a_moved_project_of_the_renamed_video_is_matched_by_the_survey_s_own_record(town, tmp_path, manifest):
    """The flight's project moved to the field laptop and pointed at its video renamed
    there (the app's locate), its old place and the video's old name both gone: only the
    survey's own record of the video is left to tell it is the flight's. A manifest written
    before the survey kept one refuses it, as it did."""
    survey, renamed = town
    if manifest == "older":
        _written_before_the_survey_kept_its_videos(survey)
    old_project = survey.project_path(survey.flight("DJI_0042"))
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    project = laptop / "north_block.dmproj"
    shutil.move(old_project, project)
    with ProjectStore.open(project) as store:
        store.set_video(renamed)
    assert not old_project.exists() and not (renamed.parent / "DJI_0042.MP4").exists()

    if manifest == "older":
        with pytest.raises(SurveyError, match=r"north_block.dmproj' is the project of .*2026-09-12_north_block.mp4', "
                                              r"not of flight DJI_0042's video 'DJI_0042.MP4'$"):
            surveys.relink_flight(Survey.open(survey.folder), "DJI_0042", project)
        assert Survey.open(survey.folder).flight("DJI_0042").project == "flights/DJI_0042.dmproj"  # nothing changed
        return
    done = surveys.relink_flight(survey, "DJI_0042", project)
    info = probe_video(renamed)
    assert done.matched == (
        "its project's video '2026-09-12_north_block.mp4' is flight DJI_0042's 'DJI_0042.MP4' renamed, matched by "
        "content: the same size, frame count and length as the survey's record of its video ('DJI_0042.MP4') ("
        f"{renamed.stat().st_size:,} bytes, {info.frame_count} frames, {info.duration_s:.1f} s)",)
    flight = Survey.open(survey.folder).flight("DJI_0042")
    assert survey.project_path(flight).resolve() == project.resolve()
    assert Path(flight.video) == renamed.resolve()
    assert flight.video_identity is not None and flight.video_identity.name == "2026-09-12_north_block.mp4"


def test_a_survey_written_before_it_kept_its_videos_opens_and_relinks_as_before(town, capsys):
    """No record of the video in the manifest: the flight's project's record matches the
    renamed video, as it did; the survey keeps its record from then on."""
    from app.cli import main

    survey, renamed = town
    recorded = Survey.open(survey.folder).flight("DJI_0042").video_identity
    assert recorded is not None and recorded.name == "DJI_0042.MP4" and recorded.size_bytes == renamed.stat().st_size
    _written_before_the_survey_kept_its_videos(survey)
    assert Survey.open(survey.folder).flight("DJI_0042").video_identity is None
    assert main(["survey", "info", str(survey.folder)]) == 0
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(renamed)]) == 0
    assert (f"flight DJI_0042: its video is {str(renamed)!r}, matched by content: the same size, frame count and "
            "length as 'DJI_0042.MP4' (") in capsys.readouterr().out
    assert _video_of(survey, "DJI_0042") == renamed.resolve()
    kept = Survey.open(survey.folder).flight("DJI_0042").video_identity
    assert kept == replace(recorded, name="2026-09-12_north_block.mp4")


def test_a_flight_not_analysed_yet_finds_its_video_renamed_by_the_survey_s_record(sites_truth, tmp_path, capsys):
    """Its project records nothing of its video yet; the survey recorded it when the flight
    was added: the video renamed is matched by that, another video still refused."""
    from app.cli import main

    video = tmp_path / "videos" / "DJI_0042.MP4"
    video.parent.mkdir()
    shutil.copy2(sites_truth.video, video)
    survey = surveys.create_survey(tmp_path / "town")
    surveys.add_flight(survey, video)
    renamed = video.rename(video.with_name("2026-09-12_north_block.mp4"))
    with pytest.raises(SurveyError, match=r"other.mp4' is not flight DJI_0042's video: .* bytes.*, the survey's "
                                          r"record of its video \('DJI_0042.MP4'\) had "):
        surveys.relink_flight(survey, "DJI_0042", noise_video(tmp_path / "other.mp4"))
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(renamed.parent)]) == 0
    assert f"its video is {str(renamed)!r}, found in" in capsys.readouterr().out
    assert _video_of(survey, "DJI_0042") == renamed.resolve()


def _refresh_by_survey_info(folder: Path) -> None:
    from app.cli import main

    assert main(["survey", "info", str(folder)]) == 0


def _refresh_by_the_app_s_survey_window(folder: Path) -> None:
    from app.workers import survey_map_job

    survey_map_job(folder)  # what the survey window runs when it opens or rebuilds its map


@pytest.mark.parametrize("refresh", [_refresh_by_survey_info, _refresh_by_the_app_s_survey_window])
def test_a_flight_analysed_on_its_own_brings_its_video_to_the_survey_s_record(town, sites_truth, tmp_path, refresh,
                                                                              capsys):
    """The flight's video exported again by the field team (other content, the same name)
    and its project analysed on its own, not through the survey: the survey's record of the
    video follows at the next look at the survey, so that the project, moved later to the
    field laptop with the video renamed there, is still taken for the flight. Looked at
    again with nothing changed, the manifest is not written."""
    survey, renamed = town
    renamed.unlink()  # the first export, gone
    exported_again = noise_video(tmp_path / "videos" / "DJI_0042.MP4", frames=15)
    project = survey.project_path(survey.flight("DJI_0042"))
    with ProjectStore.open(project) as store:
        _analysed(store, sites_truth, exported_again)
    before = Survey.open(survey.folder).flight("DJI_0042").video_identity
    assert before is not None and before.size_bytes != exported_again.stat().st_size

    refresh(survey.folder)
    kept = Survey.open(survey.folder).flight("DJI_0042").video_identity
    assert kept == surveys.file_identity(exported_again)
    manifest = survey.folder / "survey.json"
    written = (manifest.read_text(), manifest.stat().st_mtime_ns)
    refresh(survey.folder)
    assert (manifest.read_text(), manifest.stat().st_mtime_ns) == written

    laptop = tmp_path / "laptop"
    laptop.mkdir()
    moved = laptop / "north_block.dmproj"
    shutil.move(project, moved)
    on_laptop = exported_again.rename(laptop / "2026-09-12_north_block.mp4")
    with ProjectStore.open(moved) as store:
        store.set_video(on_laptop)
    done = surveys.relink_flight(Survey.open(survey.folder), "DJI_0042", moved)
    assert "the survey's record of its video ('DJI_0042.MP4')" in done.matched[0]
    assert survey.project_path(Survey.open(survey.folder).flight("DJI_0042")).resolve() == moved.resolve()


def test_a_flight_not_analysed_keeps_the_record_made_when_it_was_added(sites_truth, tmp_path):
    """Its project records no video yet: the survey's record stays the one made when the
    flight was added, and the manifest is not written."""
    video = noise_video(tmp_path / "DJI_0042.MP4")
    survey = surveys.create_survey(tmp_path / "town")
    surveys.add_flight(survey, video)
    manifest = survey.folder / "survey.json"
    written = (manifest.read_text(), manifest.stat().st_mtime_ns)
    assert surveys.refresh_video_identities(Survey.open(survey.folder)) == []
    assert (manifest.read_text(), manifest.stat().st_mtime_ns) == written
    assert Survey.open(survey.folder).flight("DJI_0042").video_identity == surveys.file_identity(video)


@pytest.mark.parametrize("name", ["north block.webm", "00012.MTS"])
def test_a_video_renamed_to_any_suffix_the_app_opens_is_relinked_as_a_video(town, name, capsys):
    """A camera's .MTS or a .webm is a video as File > Open and analyze take it, found in
    a folder too; it was opened as a project ('not a damagemap project')."""
    from app.cli import main

    survey, renamed = town
    video = renamed.rename(renamed.with_name(name))
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(video)]) == 0
    assert "matched by content" in capsys.readouterr().out
    assert _video_of(survey, "DJI_0042") == video.resolve()

    video = video.rename(video.with_name(f"again {name}"))
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(video.parent)]) == 0
    assert _video_of(survey, "DJI_0042") == video.resolve()


def test_a_video_named_in_bytes_that_are_not_utf8_is_relinked_and_the_survey_still_opens(town, capsys):
    """A card written by a Latin-1 system: 'caf\\xe9.mp4'. The project took the name, then
    writing survey.json raised UnicodeEncodeError, left a temporary file, and every later
    `survey info` failed the same way (it writes the video's record back)."""
    import os

    from app.cli import main

    survey, renamed = town
    video = renamed.rename(renamed.with_name(os.fsdecode(b"caf\xe9 north.mp4")))
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(video)]) == 0
    assert _video_of(survey, "DJI_0042") == video.resolve()
    flight = Survey.open(survey.folder).flight("DJI_0042")
    assert Path(flight.video) == video.resolve() and flight.video_identity.name == video.name
    assert sorted(p.name for p in survey.folder.iterdir() if p.name.startswith(".survey-")) == []
    capsys.readouterr()
    assert main(["survey", "info", str(survey.folder)]) == 0
    assert "DJI_0042" in capsys.readouterr().out


def test_info_names_a_flight_whose_video_is_gone_and_the_relink_that_finds_it(town, capsys):
    from app.cli import main

    survey, renamed = town
    assert main(["survey", "info", str(survey.folder)]) == 0
    out, err = capsys.readouterr()
    line = next(text for text in out.splitlines() if text.strip().startswith("DJI_0042"))
    assert "its video not found: see its note" in line
    assert "flight DJI_0042: its video is not at " in err and "DJI_0042.MP4' (renamed or moved?)" in err
    assert f"damagemap survey relink '{survey.folder}' DJI_0042 VIDEO" in err
    assert main(["survey", "info", str(survey.folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["flights"][0]["video_missing"] is True

    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(renamed)]) == 0
    capsys.readouterr()
    assert main(["survey", "info", str(survey.folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["flights"][0]["video_missing"] is False and "its video is not at" not in info["notes"]


@pytest.mark.parametrize("log", ["DJI_0042.SRT", "north_block.gpx"])
def test_a_telemetry_file_given_is_named_as_one_and_what_relink_takes_said(town, log, capsys):
    """`survey relink town DJI_0042 DJI_0042.SRT`: it was opened as a project and said
    "not a damagemap project… create a project with `damagemap analyze`"."""
    from app.cli import main

    survey, renamed = town
    telemetry = renamed.parent / log
    if not telemetry.exists():
        telemetry.write_text('<?xml version="1.0"?><gpx version="1.1" creator="test"></gpx>\n')
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(telemetry)]) == 2
    err = capsys.readouterr().err
    assert f"{str(telemetry)!r} is a telemetry file (a flight log), not a project nor a video: relink takes flight " \
           "DJI_0042's project (.dmproj), its video, or the folder holding the video" in err
    assert "not a damagemap project" not in err and "analyze" not in err
    assert _video_of(survey, "DJI_0042").name == "DJI_0042.MP4"  # nothing changed


def test_a_flight_added_without_telemetry_takes_the_log_found_beside_its_video_relinked(sites_truth, tmp_path,
                                                                                         capsys):
    """A video added with no log beside it, moved by the field team into the folder that
    holds its SRT: relinked, the flight takes that log (as adding the video from there
    would) and goes on the survey's map; before, it stayed off it for want of telemetry."""
    from app.cli import main

    videos, media = tmp_path / "videos", tmp_path / "media"
    videos.mkdir()
    media.mkdir()
    shutil.copy2(sites_truth.video, videos / "west.mp4")
    survey = surveys.create_survey(tmp_path / "town")
    flight = surveys.add_flight(survey, videos / "west.mp4")
    assert flight.telemetry is None
    with ProjectStore.open(survey.project_path(flight)) as store:
        _analysed(store, sites_truth, videos / "west.mp4")
    (videos / "west.mp4").rename(media / "west.mp4")
    shutil.copy2(sites_truth.srt, media / "west.SRT")

    assert main(["survey", "relink", str(survey.folder), "west", str(media / "west.mp4")]) == 0
    assert f"flight west: its telemetry is {str((media / 'west.SRT').resolve())!r}, found beside the video" in \
        capsys.readouterr().out
    fresh = Survey.open(survey.folder)
    assert fresh.flight("west").telemetry == str((media / "west.SRT").resolve())
    with ProjectStore.open(fresh.project_path(fresh.flight("west")), read_only=True) as store:
        assert Path(store.telemetry_path) == (media / "west.SRT").resolve()
    assert [f.name for f in surveys.survey_map(fresh).flights] == ["west"]


def test_a_flight_left_out_of_the_map_whose_video_moved_is_not_said_to_keep_its_sites_there(sites_truth, tmp_path,
                                                                                            capsys):
    """A flight with no telemetry (left out of the map) whose video moved: the note on its
    video does not say its sites stay on the map; that of a mapped flight still does."""
    from app.cli import main

    videos = tmp_path / "videos"
    videos.mkdir()
    survey = surveys.create_survey(tmp_path / "town")
    for name in ("north", "west"):
        shutil.copy2(sites_truth.video, videos / f"{name}.mp4")
        if name == "north":
            shutil.copy2(sites_truth.srt, videos / f"{name}.SRT")
        flight = surveys.add_flight(survey, videos / f"{name}.mp4")
        with ProjectStore.open(survey.project_path(flight)) as store:
            _analysed(store, sites_truth, videos / f"{name}.mp4")
        (videos / f"{name}.mp4").rename(videos / f"{name}-moved.mp4")

    assert main(["survey", "info", str(survey.folder)]) == 0
    said = capsys.readouterr().err
    assert "flight north: its video is not at" in said and "flight west: its video is not at" in said
    north = said[said.index("flight north: its video"):].split("; flight ")[0]
    west = said[said.index("flight west: its video"):].split("; flight ")[0]
    assert "its sites stay on the map" in north
    assert "its sites stay on the map" not in west and "close-ups" in west
    assert "flight west: left out" in said


@pytest.mark.parametrize("given", ["north_block.gpx", "north_block.dmproj"])
def test_a_file_given_to_relink_that_is_not_there_is_said_as_missing(town, given, capsys):
    """`survey relink town DJI_0042 missing.gpx` said "is a telemetry file", of no file."""
    from app.cli import main

    survey, renamed = town
    missing = renamed.parent / given
    assert main(["survey", "relink", str(survey.folder), "DJI_0042", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"{str(missing)!r}: no such file; " in err and "is a telemetry file" not in err
    assert "relink takes flight DJI_0042's project (.dmproj), its video, or the folder holding the video" in err
    assert _video_of(survey, "DJI_0042").name == "DJI_0042.MP4"  # nothing changed
