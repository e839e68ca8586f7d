"""A survey's review decisions and the flights' undo, and what ``survey info`` counts.

``survey decide`` records a decision in ``survey.json`` and applies it, one edit each, to
the flights that saw the site. A reviewer who takes that edit back in a flight (Undo in
the app, or its history's undo) takes the survey's decision back there: the flight's
site is on the survey's map again, undecided, and once every flight it was applied to
has taken it back the survey decision no longer counts (not carried to a flight added
later, not counted by ``survey info``); the map's notes say what still holds where.
``survey info`` counts every decision that shapes the map: the survey's and those the
flights' reviewers made in their own projects (not the copies carried between them).

The flights are copies of one small rendered flight (tests/conftest.py's
``sites_truth``), each holding its ground truth as a finished run, so every site is seen
by every flight."""

from __future__ import annotations

import json
from dataclasses import replace
import shutil
from pathlib import Path

import pytest

from core.review import ReviewSession
from core.sites import distance_m, site_decision
from core.store import ProjectStore
from core.survey import Survey
from core.types import DamageLevel, ReviewState
from services import survey as surveys
from services.sites import site_review
from tests.truth_runs import write_run

DAYS = ("monday", "tuesday", "wednesday")


def _add(survey, sites_truth, day):
    """Flight ``day``: a copy of the rendered flight, analysed (its ground truth)."""
    videos = survey.folder.parent / "videos"
    videos.mkdir(exist_ok=True)
    shutil.copy2(sites_truth.video, videos / f"{day}.mp4")
    shutil.copy2(sites_truth.srt, videos / f"{day}.SRT")
    record = surveys.add_flight(survey, videos / f"{day}.mp4", date=f"2018-10-{12 + DAYS.index(day)}")
    with ProjectStore.open(survey.project_path(record)) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    return record


def _town(sites_truth, tmp_path, days):
    survey = surveys.create_survey(tmp_path / "town", "town")
    for day in days:
        _add(survey, sites_truth, day)
    return survey


def _undo(survey, day, steps=1):
    """Take back the last ``steps`` edits of flight ``day`` (as the app's Undo does, its
    history restored when the project is opened)."""
    with ProjectStore.open(survey.project_path(survey.flight(day))) as store:
        session = ReviewSession(store, store.latest_run_id(), author="analyst")
        assert session.restore_history()[0] >= steps
        for _ in range(steps):
            assert session.undo() is not None


def _redo(survey, day):
    with ProjectStore.open(survey.project_path(survey.flight(day))) as store:
        session = ReviewSession(store, store.latest_run_id(), author="analyst")
        assert session.restore_history()[1] >= 1
        assert session.redo() is not None


def _near(built, place, radius_m=3.0):
    return [s for s in built.sites if distance_m(s.lon_deg, s.lat_deg, place.lon_deg, place.lat_deg) <= radius_m]


def _flight_site_at(built, flight, place, radius_m=3.0):
    own = next(f.damage_map for f in built.flights if f.name == flight)
    return [s for s in own.sites if distance_m(s.lon_deg, s.lat_deg, place.lon_deg, place.lat_deg) <= radius_m]


def _target(built):
    """The survey site seen by the most sightings (every flight saw it)."""
    return max(built.sites, key=lambda s: (s.observation_count, -s.id))


def test_a_survey_rejection_undone_in_its_only_flight_puts_the_site_back_on_the_map(sites_truth, tmp_path, capsys):
    from app.cli import main

    survey = _town(sites_truth, tmp_path, ["monday"])
    built = surveys.survey_map(survey)
    target = _target(built)
    assert surveys.decide(survey, target.id, ReviewState.REJECTED, built=built) > 0
    assert not _near(surveys.survey_map(survey), target)  # rejected: off the map

    _undo(survey, "monday")  # the reviewer takes the rejection back in the flight
    after = surveys.survey_map(survey)
    back = _near(after, target)
    assert back and not any(s.reviewed for s in back)  # on the map again, undecided
    assert len(after.sites) == len(built.sites)
    assert surveys.survey_decisions(survey) == []  # the survey's decision no longer counts
    assert surveys.apply_decisions(survey) == 0  # and is not given again
    assert len(Survey.open(survey.folder).decisions) == 1  # kept in survey.json: a redo brings it back
    assert any("taken back" in note and "monday" in note for note in after.notes)

    assert main(["survey", "info", str(survey.folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["decisions"] == 0 and info["decision_sources"]["survey_taken_back"] == 1
    assert main(["survey", "info", str(survey.folder)]) == 0
    out, err = capsys.readouterr()
    assert "0 decisions" in out and "taken back" in err

    _redo(survey, "monday")  # the decision again: off the map again, and counted
    assert not _near(surveys.survey_map(survey), target)
    assert [state.holding for state in surveys.review_decisions(survey).survey] == [("monday",)]


@pytest.mark.parametrize("decision", [ReviewState.REJECTED, DamageLevel.DEBRIS], ids=["reject", "relabel"])
def test_a_survey_decision_taken_back_in_every_flight_no_longer_counts_for_a_flight_added_later(
        sites_truth, tmp_path, decision):
    survey = _town(sites_truth, tmp_path, ["monday", "tuesday"])
    built = surveys.survey_map(survey)
    target = _target(built)
    assert set(target.flights) == {"monday", "tuesday"}
    surveys.decide(survey, target.id, decision, built=built)

    # taken back in one flight: that flight's site is undecided on the map again; the
    # decision holds in the other, and the notes say where it holds and how to undo it
    _undo(survey, "monday")
    partly = surveys.survey_map(survey)
    monday_sites = _flight_site_at(partly, "monday", target)
    assert monday_sites and not any(s.reviewed for s in monday_sites)
    if decision is ReviewState.REJECTED:
        assert not _flight_site_at(partly, "tuesday", target)
    # nothing bears on monday again by place: the decision went to it, and it took it back
    assert surveys.survey_decisions(survey, except_project=survey.project_path(survey.flight("monday"))) == []
    assert len(surveys.survey_decisions(survey)) == 1  # in force: it holds in tuesday
    note = next(n for n in partly.notes if "taken back" in n)
    assert "monday" in note and "holds in flight tuesday" in note

    # taken back in both: the survey's decision no longer counts anywhere
    _undo(survey, "tuesday")
    assert surveys.survey_decisions(survey) == []
    _add(survey, sites_truth, "wednesday")
    assert surveys.apply_decisions(survey) == 0  # wednesday's site at that place stays undecided
    whole = surveys.survey_map(survey)
    assert _flight_site_at(whole, "wednesday", target)
    assert not any(s.reviewed for s in _near(whole, target))


def test_a_flight_site_whose_carried_rejection_was_undone_stays_on_the_survey_map(sites_truth, tmp_path):
    """A rejection a reviewer made in one flight is carried to the others; the second
    flight's reviewer undoes it there: the map shows the second flight's site, undecided,
    as that flight's project will keep it (the rejection is not carried there again)."""
    survey = _town(sites_truth, tmp_path, ["monday", "tuesday"])
    built = surveys.survey_map(survey)
    target = _target(built)
    with ProjectStore.open(survey.project_path(survey.flight("monday"))) as store:
        review = site_review(store)
        (own,) = [s for s in review.sites if s.site_id == next(
            e.flight_site_id for e in target.evidence if e.flight == "monday")]
        ReviewSession(store, review.run_id, author="analyst").apply(site_decision(own, ReviewState.REJECTED))
    assert surveys.apply_decisions(survey) > 0  # carried to tuesday
    assert not _near(surveys.survey_map(survey), target)
    _undo(survey, "tuesday")
    after = surveys.survey_map(survey)
    tuesday_sites = _flight_site_at(after, "tuesday", target)
    assert tuesday_sites and not any(s.reviewed for s in tuesday_sites)
    assert not _flight_site_at(after, "monday", target)  # monday's own rejection stands
    assert surveys.apply_decisions(survey) == 0
    assert [n for n in after.notes if "undecided" in n] == [
        "1 flight site kept on the map, undecided, where a reviewer rejected the damage at that place on another "
        "flight (or the survey did): the flight's own reviewer took a rejection of that site back in it (undo)"]


def test_a_site_kept_for_an_acceptance_taken_back_is_not_counted_as_a_rejection_taken_back(sites_truth, tmp_path):
    """Tuesday's reviewer accepted a site and took that back; monday's reviewer then
    rejects the place. Tuesday's site stays on the survey's map (a decision taken back
    there is not given again), but nobody took a rejection back: the notes do not say so."""
    survey = _town(sites_truth, tmp_path, ["monday", "tuesday"])
    target = _target(surveys.survey_map(survey))
    for day, decision in (("tuesday", ReviewState.ACCEPTED), ("monday", ReviewState.REJECTED)):
        with ProjectStore.open(survey.project_path(survey.flight(day))) as store:
            review = site_review(store)
            own_id = next(e.flight_site_id for e in target.evidence if e.flight == day)
            (own,) = [s for s in review.sites if s.site_id == own_id]
            ReviewSession(store, review.run_id, author="analyst").apply(site_decision(own, decision))
    _undo(survey, "tuesday")  # the acceptance taken back
    after = surveys.survey_map(survey)
    tuesday_sites = _flight_site_at(after, "tuesday", target)
    assert tuesday_sites and not any(s.reviewed for s in tuesday_sites)
    assert not [n for n in after.notes if "undecided" in n]


def test_survey_info_counts_the_decisions_made_in_the_flights_too(sites_truth, tmp_path, capsys):
    from app.cli import main

    survey = _town(sites_truth, tmp_path, ["monday", "tuesday"])
    built = surveys.survey_map(survey)
    assert len(built.sites) >= 3
    by_size = sorted(built.sites, key=lambda s: (-s.observation_count, s.id))
    decided_in_survey, rejected_in_monday, accepted_in_tuesday = by_size[:3]
    # one with `survey decide` (applied in both flights: the survey's, counted once)
    surveys.decide(survey, decided_in_survey.id, DamageLevel.SEVERE, built=built)
    # two decisions made in the flights' own review (as the app's Sites panel makes them)
    for day, place, decision in (("monday", rejected_in_monday, ReviewState.REJECTED),
                                 ("tuesday", accepted_in_tuesday, ReviewState.ACCEPTED)):
        with ProjectStore.open(survey.project_path(survey.flight(day))) as store:
            review = site_review(store)
            own_id = next(e.flight_site_id for e in place.evidence if e.flight == day)
            (own,) = [s for s in review.sites if s.site_id == own_id]
            ReviewSession(store, review.run_id, author="analyst").apply(site_decision(own, decision))
    # the flights' decisions carried to the other flight are copies, not decisions
    assert surveys.apply_decisions(survey) > 0

    assert main(["survey", "info", str(survey.folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["decisions"] == 3
    assert info["decision_sources"] == {"survey": 1, "flights": {"monday": 1, "tuesday": 1}, "survey_taken_back": 0}
    assert main(["survey", "info", str(survey.folder)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "3 decisions (1 by survey decide, 2 in the flights' review: monday 1, tuesday 1)" in first

    # a survey decision recorded before the flights it went to were kept counts alike
    manifest = json.loads(survey.manifest_path.read_text())
    for decision in manifest["decisions"]:
        del decision["applied"]
    survey.manifest_path.write_text(json.dumps(manifest))
    assert main(["survey", "info", str(survey.folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decision_sources"] == {
        "survey": 1, "flights": {"monday": 1, "tuesday": 1}, "survey_taken_back": 0}

    # a flight's own decision taken back (Undo) is no longer counted
    _undo(survey, "tuesday", steps=2)  # the carried rejection, then the reviewer's acceptance
    assert main(["survey", "info", str(survey.folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["decisions"] == 2 and info["decision_sources"]["flights"] == {"monday": 1}


def test_a_survey_decision_is_not_carried_again_to_the_flight_it_was_applied_to(sites_truth, tmp_path,
                                                                               monkeypatch):
    """`survey decide 3 reject` took the flight's site 4 off and, matched again by place,
    a different damage of the same flight a few metres off: the survey's rejection went
    to the flight it was applied to as if made on another flight."""
    import services.sites

    survey = _town(sites_truth, tmp_path, ["monday", "tuesday"])  # the copy in each flight not carried to the other
    built = surveys.survey_map(survey)
    target = _target(built)
    # every site of the flight as near as a neighbour within the survey's reach
    monkeypatch.setattr(services.sites, "survey_reach", lambda damage_map: 10_000.0)
    assert surveys.decide(survey, target.id, ReviewState.REJECTED, built=built) > 0
    after = surveys.survey_map(survey)
    assert not _near(after, target)  # the site rejected is off the map...
    assert len(after.sites) == len(built.sites) - 1  # ...and no other
    assert not any("left out where a reviewer rejected" in note for note in after.notes)
    assert surveys.survey_decisions(survey, except_project=survey.project_path(survey.flight("monday"))) == []


def test_a_decision_meets_its_own_place_not_the_next_site_within_reach(sites_truth, tmp_path, monkeypatch):
    """`survey analyse` after `survey decide N reject` rejected another damage of the same
    flight (the rejected site off the map, the mark met the next site within reach); a
    flight's own reviewer accepting the site another flight rejected lost a neighbour of it
    from the survey map, and the app would have rejected that neighbour."""
    import services.sites
    from services.sites import carry_decisions

    far = lambda *args: (lambda site: 10_000.0)  # noqa: E731 - every site as near as a neighbour
    monkeypatch.setattr(services.sites, "survey_reach", lambda damage_map: far())
    monkeypatch.setattr(services.sites, "reach_by_uncertainty", far)
    survey = _town(sites_truth, tmp_path, ["monday"])
    built = surveys.survey_map(survey)
    target = _target(built)
    assert surveys.decide(survey, target.id, ReviewState.REJECTED, built=built) > 0
    assert surveys.apply_decisions(survey) == 0  # nothing of monday's is carried to monday
    assert len(surveys.survey_map(survey).sites) == len(built.sites) - 1

    two = _town(sites_truth, tmp_path / "two", ["monday", "tuesday"])
    built = surveys.survey_map(two)
    target = _target(built)
    for day, decision in (("monday", ReviewState.REJECTED), ("tuesday", ReviewState.ACCEPTED)):
        with ProjectStore.open(two.project_path(two.flight(day))) as store:
            review = site_review(store)
            own = review.site(next(e.flight_site_id for e in target.evidence if e.flight == day))
            ReviewSession(store, review.run_id, author="analyst").apply(site_decision(own, decision))
    after = surveys.survey_map(two)
    assert len(after.sites) == len(built.sites)  # tuesday's accepted site stays; no neighbour is dropped
    assert not any("left out where a reviewer rejected" in note for note in after.notes)
    with ProjectStore.open(two.project_path(two.flight("tuesday"))) as store:
        elsewhere = surveys.survey_decisions(two, except_project=two.project_path(two.flight("tuesday")))
        assert elsewhere and carry_decisions(store, site_review(store), elsewhere=elsewhere) is None


def test_a_site_decided_twice_is_decided_at_one_place_and_the_later_decision_holds(sites_truth, tmp_path):
    """Relabelled Debris, then rejected: the relabel moved the site, the rejection was
    recorded 5 m off, and a flight added later was given the relabel, nearer."""
    survey = _town(sites_truth, tmp_path, ["monday", "wednesday"])
    target = _target(surveys.survey_map(survey))
    assert surveys.decide(survey, target.id, DamageLevel.DEBRIS) > 0
    moved = min(surveys.survey_map(survey).sites,
                key=lambda s: distance_m(s.lon_deg, s.lat_deg, target.lon_deg, target.lat_deg))
    assert surveys.decide(survey, moved.id, ReviewState.REJECTED) > 0
    first, second = Survey.open(survey.folder).decisions
    assert (first.lon_deg, first.lat_deg) == (second.lon_deg, second.lat_deg)
    _add(survey, sites_truth, "tuesday")
    surveys.apply_decisions(survey)
    assert not _near(surveys.survey_map(survey), target)  # rejected in tuesday too: off the map


def test_a_site_decided_again_is_placed_from_the_flights_as_they_take_it_each_opened_once(
        sites_truth, tmp_path, monkeypatch):
    """Where the earlier decision holds the site is read while each flight's project is
    open to take the new one: not by opening the projects again afterwards."""
    survey = _town(sites_truth, tmp_path, DAYS)
    target = _target(surveys.survey_map(survey))
    assert surveys.decide(survey, target.id, DamageLevel.DEBRIS) > 0
    moved = min(surveys.survey_map(survey).sites,
                key=lambda s: distance_m(s.lon_deg, s.lat_deg, target.lon_deg, target.lat_deg))
    built = surveys.survey_map(survey)
    opened = []
    real_open = ProjectStore.open.__func__

    def counting_open(cls, path, *args, **kwargs):
        opened.append(Path(path).name)
        return real_open(cls, path, *args, **kwargs)

    monkeypatch.setattr(ProjectStore, "open", classmethod(counting_open))
    assert surveys.decide(survey, moved.id, DamageLevel.SEVERE, built=built) > 0
    assert sorted(opened) == sorted(f"{day}.dmproj" for day in DAYS)  # each flight's project once
    first, second = Survey.open(survey.folder).decisions
    assert (first.lon_deg, first.lat_deg) == (second.lon_deg, second.lat_deg)  # at the earlier decision's place
    assert second.level is DamageLevel.SEVERE and {a.flight for a in second.applied} == set(DAYS)


def test_a_survey_moved_with_its_videos_knows_them_still(sites_truth, tmp_path):
    """Copied to a field laptop, the survey took its own videos for new flights: day1-2,
    day2-2 ... and every site then "seen by" two flights."""
    from core.survey import SurveyError

    survey = _town(sites_truth, tmp_path / "office", ["monday"])
    shutil.copytree(tmp_path / "office", tmp_path / "laptop", symlinks=True)
    shutil.rmtree(tmp_path / "office")
    moved = Survey.open(tmp_path / "laptop" / "town")
    with pytest.raises(SurveyError, match="is flight monday of survey"):
        surveys.add_flight(moved, tmp_path / "laptop" / "videos" / "monday.mp4", name="again")
    assert [f.name for f in Survey.open(moved.folder).flights] == ["monday"]


def test_survey_decisions_survive_a_flight_analysed_again(sites_truth, tmp_path):
    """`survey analyse --new-run` gives a flight a new run: what `survey decide` rejected
    and relabelled on it stays so, as `damagemap analyze` keeps a project's earlier
    decisions (the survey's map reads the flight's latest run)."""
    survey = _town(sites_truth, tmp_path, ["monday"])
    built = surveys.survey_map(survey)
    rejected, relabelled = sorted(built.sites, key=lambda s: (-s.observation_count, s.id))[:2]
    level = DamageLevel.SLIGHT if relabelled.level is DamageLevel.SEVERE else DamageLevel.SEVERE
    assert surveys.decide(survey, rejected.id, ReviewState.REJECTED, built=built) > 0
    assert surveys.decide(survey, relabelled.id, level) > 0
    decided = surveys.survey_map(survey)
    assert not _near(decided, rejected)
    relabelled = next(s for s in decided.sites if s.id == relabelled.id)  # placed at its new level's height

    with ProjectStore.open(survey.project_path(survey.flight("monday"))) as store:
        write_run(store, sites_truth.detections, sites_truth.times)  # the flight analysed again: a new run
    assert surveys.apply_decisions(survey) > 0  # what `survey analyse` does once its flights are analysed

    after = surveys.survey_map(survey)
    assert not _near(after, rejected)  # still rejected
    (relabelled_now,) = _near(after, relabelled)
    assert relabelled_now.level is level and relabelled_now.reviewed
    assert len(after.sites) == len(decided.sites)


def _shifted(detection, dx_px):
    """``detection`` drawn ``dx_px`` pixels to the right: the same damage, which another
    run (other frames, another model) places a few metres away."""
    import numpy as np

    from core.masks import RleMask

    x0, y0, x1, y1 = detection.box_xyxy_px
    mask = RleMask.from_array(np.roll(detection.mask.to_array(), dx_px, axis=1))
    return replace(detection, mask=mask, box_xyxy_px=(x0 + dx_px, y0, x1 + dx_px, y1))


def _decided_then_analysed_again(sites_truth, tmp_path, decision=ReviewState.ACCEPTED):
    """monday and tuesday, the site both saw decided with `survey decide`; then monday
    analysed again, its new run placing the site 4 m from where the survey decided it:
    farther than a flight's own runs carry a decision (3 m), as near as the survey joins
    two flights' sites."""
    survey = _town(sites_truth, tmp_path, ["monday", "tuesday"])
    built = surveys.survey_map(survey)
    target = _target(built)
    assert surveys.decide(survey, target.id, decision, built=built) > 0
    with ProjectStore.open(survey.project_path(survey.flight("monday"))) as store:
        write_run(store, [_shifted(d, 6) for d in sites_truth.detections], sites_truth.times)
    (place,) = Survey.open(survey.folder).decisions
    moved = _flight_site_at(surveys.survey_map(survey, carry_rejections=False), "monday", place, radius_m=6.0)
    assert [round(distance_m(s.lon_deg, s.lat_deg, place.lon_deg, place.lat_deg)) for s in moved] == [4]
    return survey, place


@pytest.mark.parametrize("tuesday", ["present", "missing"])
def test_a_survey_decision_reaches_the_site_of_a_flight_analysed_again_a_few_metres_off(
        sites_truth, tmp_path, tuesday):
    """`survey analyse --new-run`: the decision's copy in the flight's earlier run does
    not decide its new run's site; the survey gives it the decision (and records the copy),
    even with the other flight's project missing (no survey site to meet it there)."""
    survey, place = _decided_then_analysed_again(sites_truth, tmp_path)
    if tuesday == "missing":
        tuesday_project = survey.project_path(survey.flight("tuesday"))
        tuesday_project.rename(tmp_path / "elsewhere.dmproj")
    assert [state.waiting for state in surveys.review_decisions(survey).survey] == [("monday",)]

    assert surveys.apply_decisions(survey) > 0
    after = surveys.survey_map(survey)
    (monday_site,) = _flight_site_at(after, "monday", place, radius_m=6.0)
    assert monday_site.reviewed
    assert [s.flights for s in _near(after, place, 6.0)] == [("monday",) if tuesday == "missing" else DAYS[:2]]
    (recorded,) = Survey.open(survey.folder).decisions
    with ProjectStore.open(survey.project_path(survey.flight("monday"))) as store:
        latest = store.latest_run_id()
    assert [a.run_id for a in recorded.applied if a.flight == "monday"] == [1, latest]
    assert [state.waiting for state in surveys.review_decisions(survey).survey] == [()]
    assert surveys.apply_decisions(survey) == 0  # given once


def test_a_survey_rejection_leaves_the_map_in_a_flight_analysed_again(sites_truth, tmp_path):
    survey, place = _decided_then_analysed_again(sites_truth, tmp_path, ReviewState.REJECTED)
    assert not _near(surveys.survey_map(survey), place, 6.0)  # off the map at once
    assert surveys.apply_decisions(survey) > 0  # and rejected in monday's new run
    assert not _flight_site_at(surveys.survey_map(survey, carry_rejections=False), "monday", place, 6.0)


def test_a_decision_made_on_the_flight_analysed_again_wins_over_the_survey_decision(sites_truth, tmp_path):
    """The reviewer decides monday's new site in monday's window (later than the survey's
    decision): it stands; undoing the survey's copy there keeps it from coming back."""
    survey, place = _decided_then_analysed_again(sites_truth, tmp_path)
    with ProjectStore.open(survey.project_path(survey.flight("monday"))) as store:
        review = site_review(store)
        (own,) = [s for s in review.sites if distance_m(s.lon_deg, s.lat_deg, place.lon_deg, place.lat_deg) <= 6.0]
        level = DamageLevel.SLIGHT if own.level is DamageLevel.SEVERE else DamageLevel.SEVERE
        ReviewSession(store, review.run_id, author="analyst").apply(site_decision(own, level))
    surveys.apply_decisions(survey)
    (monday_site,) = _flight_site_at(surveys.survey_map(survey), "monday", place, radius_m=6.0)
    assert monday_site.level is level and monday_site.reviewed

    survey, place = _decided_then_analysed_again(sites_truth, tmp_path / "undone")
    assert surveys.apply_decisions(survey) > 0
    _undo(survey, "monday")  # the survey's decision, given to the new run, taken back there
    assert surveys.apply_decisions(survey) == 0
    (monday_site,) = _flight_site_at(surveys.survey_map(survey), "monday", place, radius_m=6.0)
    assert not monday_site.reviewed
    (state,) = surveys.review_decisions(survey).survey
    assert state.taken_back == ("monday",) and state.holding == ("tuesday",)


def test_survey_decide_and_the_notes_count_in_words_that_agree_with_the_number(sites_truth, tmp_path, capsys):
    """"site 3: accept on 14 sightings" said nothing of the flights; "1 sites lie where"."""
    from app.cli import main
    from geo.survey_fusion import not_found_note

    survey = _town(sites_truth, tmp_path, ["monday", "tuesday"])
    built = surveys.survey_map(survey)
    target = _target(built)
    assert main(["survey", "decide", str(survey.folder), str(target.id), "accept"]) == 0
    sightings = target.observation_count
    assert f"site {target.id}: accept on {sightings} sightings in 2 flights;" in capsys.readouterr().out
    assert not_found_note(1).startswith("1 site lies where") and not_found_note(1).endswith("look at it again")
    assert not_found_note(2).startswith("2 sites lie where") and not_found_note(2).endswith("look at them again")
    (one,) = surveys.survey_map(_town(sites_truth, tmp_path / "one", ["monday"])).notes[:1]
    assert one.startswith("1 flight, ") and " flight sites fused into " in one
