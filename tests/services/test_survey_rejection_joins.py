"""What a rejection made on one flight reaches on the others: the site the survey joined
with the rejected one, not a neighbour within reach that the survey joined to another
site.

monday sees two damages 3.6 m apart (a neighbouring roof, drawn beside the damage both
flights saw); tuesday sees one of them. The survey joins tuesday's site with monday's
site of the same damage, and leaves monday's neighbour a survey site of its own. The
flights are copies of one small rendered flight (tests/conftest.py's ``sites_truth``),
each holding its ground truth as a finished run."""

from __future__ import annotations

import json
import shutil

import pytest

from app.commands.survey import _other_sites_changed
from core.review import ReviewSession
from core.sites import distance_m, site_decision
from core.store import ProjectStore
from core.types import ReviewState
from geo.survey_fusion import SurveySettings
from services import survey as surveys
from services.sites import carry_decisions, site_review
from tests.truth_runs import write_run

NEIGHBOUR_PX = 7  # the neighbour drawn this far right of the damage: 3.6 m on the ground


def _shifted(detection, dx_px):
    import numpy as np

    from dataclasses import replace

    from core.masks import RleMask

    x0, y0, x1, y1 = detection.box_xyxy_px
    mask = RleMask.from_array(np.roll(detection.mask.to_array(), dx_px, axis=1))
    return replace(detection, mask=mask, box_xyxy_px=(x0 + dx_px, y0, x1 + dx_px, y1))


def _with_neighbour(sites_truth):
    """The flight's detections with a second damage beside the one seen in the most frames
    at its own level (every sighting of it drawn again :data:`NEIGHBOUR_PX` to the right)."""
    levels = [d.level for d in sites_truth.detections]
    rarest = min(set(levels), key=levels.count)
    return [*sites_truth.detections, *(_shifted(d, NEIGHBOUR_PX) for d in sites_truth.detections if d.level == rarest)]


def _add(survey, sites_truth, day, detections):
    videos = survey.folder.parent / "videos"
    videos.mkdir(exist_ok=True)
    shutil.copy2(sites_truth.video, videos / f"{day}.mp4")
    shutil.copy2(sites_truth.srt, videos / f"{day}.SRT")
    record = surveys.add_flight(survey, videos / f"{day}.mp4", date="2018-10-12")
    with ProjectStore.open(survey.project_path(record)) as store:
        write_run(store, detections, sites_truth.times)
    return record


def _neighbours(sites_truth, tmp_path):
    """The survey, its map, monday's lone site and the site monday and tuesday share beside it."""
    survey = surveys.create_survey(tmp_path / "town", "town")
    _add(survey, sites_truth, "monday", _with_neighbour(sites_truth))
    _add(survey, sites_truth, "tuesday", sites_truth.detections)
    built = surveys.survey_map(survey)
    (lone,) = [s for s in built.sites if s.flights == ("monday",)]
    shared = min(built.sites, key=lambda s: distance_m(s.lon_deg, s.lat_deg, lone.lon_deg, lone.lat_deg)
                 if s is not lone else float("inf"))
    assert shared.flights == ("monday", "tuesday")
    tuesdays = next(f.damage_map for f in built.flights if f.name == "tuesday").fused
    own_id = next(e.flight_site_id for e in shared.evidence if e.flight == "tuesday")
    (tuesday_site,) = [f for f in tuesdays if f.site.id == own_id]
    apart = distance_m(tuesday_site.site.lon_deg, tuesday_site.site.lat_deg, lone.lon_deg, lone.lat_deg)
    assert 3.0 < apart < SurveySettings().gate(float(tuesday_site.uncertainty_m))  # within the reach of place
    return survey, built, lone, shared


def _reject_in_flight(survey, flight, site):
    """A reviewer rejects the flight's own site of survey site ``site`` (the app's Sites panel)."""
    with ProjectStore.open(survey.project_path(survey.flight(flight))) as store:
        review = site_review(store)
        own = review.site(next(e.flight_site_id for e in site.evidence if e.flight == flight))
        ReviewSession(store, review.run_id, author="analyst").apply(site_decision(own, ReviewState.REJECTED))


def _undecided(survey, flight, site):
    with ProjectStore.open(survey.project_path(survey.flight(flight))) as store:
        return {store.detection(s.detection_id).review for s in surveys.site_summary(site, flight).sightings}


@pytest.mark.parametrize("where", ["survey decide", "flight review"])
def test_a_rejection_reaches_no_site_the_survey_joined_to_another(sites_truth, tmp_path, where):
    """Rejecting monday's lone site took tuesday's site 3.6 m off with it, though the
    survey had joined that site with monday's other site (the survey map lost it, `survey
    analyse` and the app rejected it in tuesday's project)."""
    survey, built, lone, shared = _neighbours(sites_truth, tmp_path)
    if where == "survey decide":
        assert surveys.decide(survey, lone.id, ReviewState.REJECTED, built=built) > 0
    else:
        _reject_in_flight(survey, "monday", lone)

    after = surveys.survey_map(survey)
    assert [s.id for s in after.sites] == [s.id for s in built.sites if s.id != lone.id]
    assert after.site(shared.id).flights == ("monday", "tuesday")  # tuesday's sighting stays
    assert not any("left out where a reviewer rejected" in note for note in after.notes)
    assert _other_sites_changed(built, after, {lone.id}) == []  # `survey decide` says nothing else changed

    tuesday = survey.project_path(survey.flight("tuesday"))
    with ProjectStore.open(tuesday) as store:  # what the app carries when tuesday is opened
        elsewhere = surveys.survey_decisions(survey, except_project=tuesday)
        assert elsewhere and carry_decisions(store, site_review(store), elsewhere=elsewhere) is None
    assert surveys.apply_decisions(survey) == 0  # nor `survey analyse`
    assert _undecided(survey, "tuesday", shared) == {ReviewState.PENDING}


def test_a_flight_added_after_a_rejection_gets_it_on_the_site_the_survey_joins_with_it(sites_truth, tmp_path):
    """wednesday, added after monday's lone site was rejected, saw both damages: its site
    of the rejected one is left off and rejected; its site of the other is not."""
    survey, built, lone, shared = _neighbours(sites_truth, tmp_path)
    assert surveys.decide(survey, lone.id, ReviewState.REJECTED, built=built) > 0
    _add(survey, sites_truth, "wednesday", _with_neighbour(sites_truth))

    after = surveys.survey_map(survey)
    assert [s.id for s in after.sites] == [s.id for s in built.sites if s.id != lone.id]
    assert after.site(shared.id).flights == ("monday", "tuesday", "wednesday")
    assert any("1 flight site left out where a reviewer rejected" in note for note in after.notes)

    assert surveys.apply_decisions(survey) > 0
    with ProjectStore.open(survey.project_path(survey.flight("wednesday"))) as store:
        review = site_review(store)
        (rejected,) = [review.site(site_id) for site_id in review.rejected]
        assert distance_m(rejected.lon_deg, rejected.lat_deg, lone.lon_deg, lone.lat_deg) < 1.0
        assert not any(site.decided for site in review.sites)
    assert _undecided(survey, "wednesday", surveys.survey_map(survey).site(shared.id)) == {ReviewState.PENDING}




def test_an_earlier_runs_rejection_follows_the_joins_not_a_neighbour_by_place(sites_truth, tmp_path, capsys):
    """tuesday analysed again after its reviewer rejected, in its first run, its site of
    the damage monday saw too; the rejection is not carried into the new run yet. It
    reaches tuesday's new site of that damage and monday's site the survey joins with it,
    as the carrying will: not monday's lone site 3.6 m off, a survey site of its own (the
    earlier run's site on no map, the rejection went by place, to the nearest monday site
    not joined with tuesday's: the neighbour)."""
    from app.cli import main

    survey, built, lone, shared = _neighbours(sites_truth, tmp_path)
    _reject_in_flight(survey, "tuesday", shared)
    with ProjectStore.open(survey.project_path(survey.flight("tuesday"))) as store:
        write_run(store, sites_truth.detections, sites_truth.times)  # analysed again

    after = surveys.survey_map(survey)
    assert [s.id for s in after.sites] == [s.id for s in built.sites if s.id != shared.id]
    assert after.site(lone.id).flights == ("monday",)
    assert main(["survey", "info", str(survey.folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert lone.id in {site["id"] for site in info["sites"]}
    assert shared.id not in {site["id"] for site in info["sites"]}

    monday = survey.project_path(survey.flight("monday"))
    with ProjectStore.open(monday) as store:  # what the app carries when monday is opened
        carried = carry_decisions(store, site_review(store), elsewhere=surveys.survey_decisions(survey,
                                                                                             except_project=monday))
    assert carried is not None
    assert {edit.detection_id for group in carried.groups for edit in group.edits} == {
        s.detection_id for s in surveys.site_summary(shared, "monday").sightings}

    assert surveys.apply_decisions(survey) > 0  # `survey analyse`
    assert _undecided(survey, "monday", lone) == {ReviewState.PENDING}
    assert _undecided(survey, "monday", shared) == {ReviewState.REJECTED}
    assert [s.id for s in surveys.survey_map(survey).sites] == [s.id for s in after.sites]
