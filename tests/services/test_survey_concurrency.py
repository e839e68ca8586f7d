"""Damagemaps changing one survey at once lose none of each other's changes: every change
of ``survey.json`` (and ``site_numbers.json``) is made under the survey's lock on the
manifest read afresh (``core.survey.Survey.update``). The commands run as real processes
at once, as a reviewer's shell loop (or the app's survey window beside a command) runs
them; a lock another process holds too long ends in a message naming the survey's
folder, not in a hang.

The survey's flights are copies of one small rendered flight (tests/conftest.py's
``sites_truth``), the first holding its ground truth as a finished run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import core.survey as core_survey
from core.store import ProjectStore
from core.survey import LOCK_FILE, PlaceDecision, Survey, SurveyError, SurveySiteNumbers
from core.types import ReviewState
from services import survey as surveys
from tests.truth_runs import write_run

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.Popen[str]:
    """``damagemap ARGS`` started in its own process (not waited for)."""
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _python(code: str) -> subprocess.Popen[str]:
    """``code`` run by Python in its own process (not waited for)."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _all_done(processes: list[subprocess.Popen[str]]) -> list[str]:
    """Wait for every process; each one's stdout (a failed one fails the test, with its stderr)."""
    outs = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, f"{process.args}: exit {process.returncode}\n{err}"
        outs.append(out)
    return outs


def _videos(sites_truth, folder: Path, names: list[str]) -> list[Path]:
    """Copies of the rendered flight (with its SRT beside each), one a name."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(sites_truth.video, folder / f"{name}.mp4")
        shutil.copy2(sites_truth.srt, folder / f"{name}.SRT")
    return [folder / f"{name}.mp4" for name in names]


@pytest.fixture
def town(sites_truth, tmp_path) -> Survey:
    """A survey of one flight, analysed (its ground truth as a finished run)."""
    (video,) = _videos(sites_truth, tmp_path / "videos", ["monday"])
    survey = surveys.create_survey(tmp_path / "town", "town")
    monday = surveys.add_flight(survey, video, date="2018-10-12")
    with ProjectStore.open(survey.project_path(monday)) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    return survey


@pytest.fixture
def held_lock(town):
    """``held_lock()``: another process holding ``town``'s lock until the test ends (or
    until killed: ``held_lock().kill()``)."""
    holders: list[subprocess.Popen[str]] = []

    def hold() -> subprocess.Popen[str]:
        holder = _python(f"""
            import fcntl, sys, time
            lock = open({str(town.folder / LOCK_FILE)!r}, "a")
            fcntl.flock(lock, fcntl.LOCK_EX)
            print("held", flush=True)
            time.sleep(120)
        """)
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        holders.append(holder)
        return holder

    yield hold
    for holder in holders:
        holder.kill()
        holder.communicate()


needs_flock = pytest.mark.skipif(core_survey.fcntl is None, reason="no fcntl: the lock holds within one process only")


def test_survey_decide_run_many_times_at_once_keeps_every_decision(town):
    sites = [site.id for site in surveys.survey_map(town).sites]
    assert len(sites) >= 2
    chosen = (sites * 8)[:8]  # each site decided by more than one process
    outs = _all_done([_cli("survey", "decide", str(town.folder), str(n), "accept") for n in chosen])
    assert all("kept for flights added later" in out for out in outs)
    kept = Survey.open(town.folder)
    assert len(kept.decisions) == len(chosen)  # each process's, none written over
    built = surveys.survey_map(kept)
    places = sorted((round(d.lon_deg, 7), round(d.lat_deg, 7)) for d in kept.decisions)
    assert places == sorted((round(built.site(n).lon_deg, 7), round(built.site(n).lat_deg, 7)) for n in chosen)
    assert [f.name for f in kept.flights] == ["monday"]
    # each decision given to the flight whole, one after the other: its undo history reads
    # back (interleaved edits made it unreadable: nothing could be undone), and each decision
    # names its own record there
    from core.review import ReviewSession
    from core.store import ProjectStore

    with ProjectStore.open(kept.project_path(kept.flights[0])) as store:
        assert ReviewSession(store, store.latest_run_id()).restore_history()[0] >= 1
    records = [applied.decision_id for d in kept.decisions for applied in d.applied]
    assert len(records) == len(set(records))


def test_survey_add_run_many_times_at_once_keeps_every_flight_and_leaves_no_orphan(town, sites_truth, tmp_path):
    names = ["c1", "c2", "c3", "c4"]
    videos = _videos(sites_truth, tmp_path / "more", names)
    _all_done([_cli("survey", "add", str(town.folder), str(video)) for video in videos])
    kept = Survey.open(town.folder)
    assert sorted(f.name for f in kept.flights) == sorted(["monday", *names])
    projects = {p.resolve() for p in (town.folder / "flights").iterdir()}
    assert projects == {kept.project_path(f).resolve() for f in kept.flights}  # every project a flight's


def test_flights_added_while_decisions_are_made_keep_both(town, sites_truth, tmp_path):
    sites = [site.id for site in surveys.survey_map(town).sites]
    videos = _videos(sites_truth, tmp_path / "more", ["d1", "d2"])
    processes = [_cli("survey", "add", str(town.folder), str(video)) for video in videos]
    processes += [_cli("survey", "decide", str(town.folder), str(n), "reject" if n == sites[0] else "accept")
                  for n in sites]
    _all_done(processes)
    kept = Survey.open(town.folder)
    assert sorted(f.name for f in kept.flights) == ["d1", "d2", "monday"]
    assert len(kept.decisions) == len(sites)
    assert sum(d.review is ReviewState.REJECTED for d in kept.decisions) == 1


def test_changes_from_many_processes_each_holding_the_lock_a_while_are_all_kept(tmp_path):
    folder = tmp_path / "town"
    Survey.create(folder, "town")
    processes = [_python(f"""
        import time
        from core.survey import PlaceDecision, Survey
        from core.types import ReviewState

        def change(fresh):
            time.sleep(0.1)  # a slow change: the others wait for it
            fresh.add_decision(PlaceDecision({k}.0, 0.0, ReviewState.ACCEPTED, None, "p{k}"))

        Survey.open({str(folder)!r}).update(change)

        def number(kept):
            time.sleep(0.1)
            kept.flight_sites["f#{k}"] = {{{k}}}

        Survey.open({str(folder)!r}).update_site_numbers(number)
    """) for k in range(6)]
    _all_done(processes)
    survey = Survey.open(folder)
    assert sorted(d.author for d in survey.decisions) == [f"p{k}" for k in range(6)]
    assert survey.site_numbers().flight_sites == {f"f#{k}": {k} for k in range(6)}


def test_threads_of_one_process_keep_each_others_changes(tmp_path):
    survey = Survey.create(tmp_path / "town", "town")
    copies = [Survey.open(survey.folder) for _ in range(4)]  # one a thread, each read before any change

    def decide(copy: Survey, k: int) -> None:
        copy.update(lambda fresh: (time.sleep(0.05), fresh.add_decision(
            PlaceDecision(float(k), 0.0, ReviewState.ACCEPTED, None, f"t{k}"))))

    threads = [threading.Thread(target=decide, args=(copy, k)) for k, copy in enumerate(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(d.author for d in Survey.open(survey.folder).decisions) == ["t0", "t1", "t2", "t3"]
    assert len(copies[-1].decisions) >= 1  # each copy became the survey as it wrote it


def test_a_change_sees_and_keeps_what_another_process_changed_since_the_survey_was_read(town, sites_truth,
                                                                                         tmp_path):
    stale = Survey.open(town.folder)  # as the app's survey window read it
    (video,) = _videos(sites_truth, tmp_path / "more", ["tuesday"])
    _all_done([_cli("survey", "add", str(town.folder), str(video))])
    built = surveys.survey_map(stale)  # keeps site numbers only: the manifest stays
    surveys.decide(stale, built.sites[0].id, ReviewState.ACCEPTED, built=built)
    assert [f.name for f in stale.flights] == ["monday", "tuesday"]  # the copy became the survey as written
    assert [f.name for f in Survey.open(town.folder).flights] == ["monday", "tuesday"]
    assert len(Survey.open(town.folder).decisions) == 1
    surveys.remove_flight(Survey.open(town.folder), "tuesday")
    with pytest.raises(SurveyError, match="has no flight 'tuesday'"):  # stale: taken out meanwhile
        surveys.remove_flight(stale, "tuesday")
    assert [f.name for f in stale.flights] == ["monday", "tuesday"]  # a refused change leaves the copy as it was


def test_a_map_built_inside_a_change_takes_the_lock_again(town):
    with town.locked() as fresh:  # the thread holding the lock may take it again
        built = surveys.survey_map(fresh)
        fresh.add_decision(PlaceDecision(built.sites[0].lon_deg, built.sites[0].lat_deg, ReviewState.ACCEPTED,
                                         None, "me"))
    assert len(Survey.open(town.folder).decisions) == 1 and len(town.decisions) == 1


def test_a_change_that_fails_writes_nothing(town):
    before = town.manifest_path.read_bytes()

    def change(fresh: Survey) -> None:
        fresh.add_decision(PlaceDecision(1.0, 2.0, ReviewState.ACCEPTED, None, "me"))
        raise SurveyError("refused")

    with pytest.raises(SurveyError, match="refused"):
        town.update(change)
    assert town.manifest_path.read_bytes() == before and town.decisions == []


@needs_flock
def test_a_lock_held_too_long_is_said_naming_the_survey_folder(town, held_lock, monkeypatch, capsys):
    from app.cli import main

    monkeypatch.setattr(core_survey, "LOCK_WAIT_S", 0.5)
    monkeypatch.setattr(surveys, "DECIDING_WAIT_S", 0.5)  # a decision waits longer for another's, as long as told
    before = town.manifest_path.read_bytes()
    site = surveys.survey_map(town).sites[0].id  # a map needs no lock of its own before another holds it
    holder = held_lock()
    started = time.monotonic()
    with pytest.raises(SurveyError) as refused:
        surveys.remove_flight(town, "monday")
    assert time.monotonic() - started < 5  # a bounded wait, not a hang
    message = str(refused.value)
    assert repr(str(town.folder)) in message and "in use by another damagemap" in message and "0.5 s" in message
    assert main(["survey", "decide", str(town.folder), str(site), "accept"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(town.folder) in err and "in use by another damagemap" in err
    assert town.manifest_path.read_bytes() == before
    surveys.survey_map(town)  # a map is still built (its numbers kept for it only)

    holder.kill()  # a damagemap killed holding the lock leaves none behind
    holder.communicate()
    surveys.remove_flight(town, "monday")
    assert Survey.open(town.folder).flights == []


def test_without_fcntl_the_survey_still_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(core_survey, "fcntl", None)
    survey = Survey.create(tmp_path / "town", "town")
    survey.update(lambda fresh: fresh.add_decision(PlaceDecision(1.0, 2.0, ReviewState.ACCEPTED, None, "me")))
    survey.update_site_numbers(lambda kept: kept.places.__setitem__(1, (1.0, 2.0)))
    assert len(Survey.open(survey.folder).decisions) == 1 and survey.site_numbers().places == {1: (1.0, 2.0)}


def test_site_numbers_are_written_only_when_they_change(tmp_path):
    survey = Survey.create(tmp_path / "town", "town")
    survey.update_site_numbers(lambda kept: None)
    assert not survey.site_numbers_path.exists()
    survey.update_site_numbers(lambda kept: kept.flight_sites.__setitem__("a#1", {1}))
    assert survey.site_numbers() == SurveySiteNumbers({"a#1": {1}}, {})
    assert json.loads(survey.site_numbers_path.read_text()) == {"flight_sites": {"a#1": [1]}, "places": {}}
