"""``damagemap survey export --event ... --glide ... --analyst ... --organisation ...``
names the event and its producer in the survey's README (and print map), as a flight's
``export --package`` does, and keeps them in the survey for its later exports
(tests/app/test_survey_dialog_add_export.py: the app's Export Survey Map… too).

The survey is one flight, the rendered ``sites_truth`` flyover (tests/conftest.py) with
its ground truth stored as a finished run."""

from __future__ import annotations

import json
import shutil

import pytest

from core.store import ProjectStore
from core.survey import Survey
from services import survey as surveys
from services.package import update_product_info
from tests.truth_runs import write_run


@pytest.fixture
def town(sites_truth, tmp_path):
    shutil.copy2(sites_truth.video, tmp_path / "monday.mp4")
    shutil.copy2(sites_truth.srt, tmp_path / "monday.SRT")
    survey = surveys.create_survey(tmp_path / "town")
    flight = surveys.add_flight(survey, tmp_path / "monday.mp4")
    with ProjectStore.open(survey.project_path(flight)) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    return survey


def _event_lines(readme):
    text = readme.read_text()
    return text[text.index("Event\n-----"):].splitlines()[2:6]


def test_survey_export_names_the_event_and_producer_and_keeps_them(town, tmp_path, capsys):
    from app.cli import main

    folder = str(town.folder)
    assert main(["survey", "export", folder, "--to", str(tmp_path / "a"), "--formats", "readme",
                 "--event", "Hurricane Michael", "--glide", "tc-2018-000166-usa", "--analyst", "Ana",
                 "--organisation", "Relief Mapping"]) == 0
    assert "kept --event, --glide, --analyst, --organisation in the survey" in capsys.readouterr().err
    assert _event_lines(tmp_path / "a" / "survey_README.txt") == [
        "Event: Hurricane Michael", "GLIDE number: TC-2018-000166-USA", "Analyst: Ana", "Organisation: Relief Mapping"]
    kept = json.loads((town.folder / "survey.json").read_text())["product"]
    assert kept == {"event": "Hurricane Michael", "glide": "TC-2018-000166-USA", "analyst": "Ana",
                    "organisation": "Relief Mapping"}

    # a later export names them without being told again; one field changed, one cleared
    assert main(["survey", "export", folder, "--to", str(tmp_path / "b"), "--formats", "readme",
                 "--analyst", "Bo", "--organisation", ""]) == 0
    assert _event_lines(tmp_path / "b" / "survey_README.txt") == [
        "Event: Hurricane Michael", "GLIDE number: TC-2018-000166-USA", "Analyst: Bo", "Organisation: -"]

    # a GLIDE number of the wrong shape is refused before anything is written, nothing kept
    assert main(["survey", "export", folder, "--to", str(tmp_path / "c"), "--formats", "readme",
                 "--glide", "Michael"]) == 2
    assert "GLIDE number must look like TC-2018-000166-USA; got 'MICHAEL'" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
    assert Survey.open(town.folder).product["glide"] == "TC-2018-000166-USA"


def test_what_the_survey_keeps_goes_over_a_flights_project_field_by_field(town):
    with ProjectStore.open(town.project_path(town.flights[0])) as store:
        update_product_info(store, event="Flood", organisation="Flight Org")
    assert surveys.survey_product(town).organisation == "Flight Org"  # as before: a flight's project says
    surveys.keep_survey_product(town, organisation="Survey Org")
    info = surveys.survey_product(Survey.open(town.folder))
    assert (info.event, info.organisation) == ("Flood", "Survey Org")


def test_the_offline_map_alone_credits_each_flights_video_as_the_readme_does(town, tmp_path, capsys):
    from app.cli import main

    assert main(["survey", "export", str(town.folder), "--to", str(tmp_path / "html"), "--formats", "html",
                 "--no-thumbnails"]) == 0
    page = (tmp_path / "html" / "survey_map.html").read_text()
    assert "Imagery: drone video of monday (monday.mp4)" in page
    assert main(["survey", "export", str(town.folder), "--to", str(tmp_path / "readme"), "--formats", "readme",
                 "--no-thumbnails"]) == 0
    assert "Imagery: drone video of monday (monday.mp4)" in (tmp_path / "readme" / "survey_README.txt").read_text()


def test_an_event_field_given_as_the_survey_names_it_is_not_kept_again(town, tmp_path, capsys):
    from app.cli import main

    with ProjectStore.open(town.project_path(town.flights[0])) as store:
        update_product_info(store, event="Flood")
    manifest = (town.folder / "survey.json").read_bytes()
    assert main(["survey", "export", str(town.folder), "--to", str(tmp_path / "a"), "--formats", "readme",
                 "--event", "Flood", "--analyst", "", "--product-version", "1"]) == 0
    assert "--event, --analyst, --product-version: as the survey names them already, nothing to keep" in \
        capsys.readouterr().err
    assert (town.folder / "survey.json").read_bytes() == manifest  # not even rewritten as it was
    assert main(["survey", "export", str(town.folder), "--to", str(tmp_path / "b"), "--formats", "readme",
                 "--event", "Flood", "--analyst", "Ana"]) == 0
    err = capsys.readouterr().err
    assert "kept --analyst in the survey" in err and "--event: as the survey names it already" in err
    assert Survey.open(town.folder).product == {"analyst": "Ana"}


def test_survey_export_gives_how_to_reach_the_producer_and_keeps_it(town, tmp_path, capsys):
    from app.cli import main

    contact = "+33 6 12 34 56 78, maps@example.org"
    assert main(["survey", "export", str(town.folder), "--to", str(tmp_path / "a"), "--formats", "readme,html",
                 "--contact", contact, "--no-thumbnails"]) == 0
    assert "kept --contact in the survey" in capsys.readouterr().err
    readme = (tmp_path / "a" / "survey_README.txt").read_text()
    assert f"Reach them: {contact}." in readme and f"Contact: {contact}\n" in readme
    assert f'<div class="dm-small dm-contact">Contact: {contact}</div>' in (tmp_path / "a" / "survey_map.html").read_text()
    assert Survey.open(town.folder).product == {"contact": contact}
