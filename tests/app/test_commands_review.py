"""``damagemap review PROJECT``: a flight's sites listed as the window's Sites list shows
them, decided by number as one step of the run's review history (the window's Undo, the
exports' ``reviewed_by``), undone and redone; bad input is one line and changes nothing.

The project is the small rendered flyover's ground truth as one finished run
(``truth_run_project``: real SQLite, a real video and SRT)."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

import core.store as store_module
from app.cli import main
from core.review import ReviewSession
from core.sites import site_line
from core.store import ProjectStore
from core.types import DamageLevel, ReviewState
from services.sites import site_review


def _one_error(capsys, *words: str) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line]
    assert len(err) == 1 and "Traceback" not in err[0] and all(w in err[0] for w in words), err
    return err[0]


def _sites(project):
    with ProjectStore.open(project) as store:
        return site_review(store)


def _history(project):
    with ProjectStore.open(project) as store:
        session = ReviewSession(store, store.runs()[-1].id)
        session.restore_history()
        return session.step_texts()


def _reviews(project) -> dict[int, ReviewState]:
    with ProjectStore.open(project) as store:
        return {d.id: d.review for d in store.detections(store.runs()[-1].id)}


def test_the_list_is_the_sites_list_s_rows_in_its_order(truth_run_project, capsys):
    review = _sites(truth_run_project)
    assert main(["review", str(truth_run_project)]) == 0
    out = capsys.readouterr().out.splitlines()
    first = review.queue[0].site
    assert out[0].endswith(f"run {review.run_id}: {len(review.queue)} sites" + (
        f" ({len(review.unconfirmed)} unconfirmed)" if review.unconfirmed else "")
        + f" · {len(review.queue)} to decide · 0 decided · score {review.min_score:.2f}")
    assert out[1] == site_line(first.site_id, first.level, first.best_score, len(first.sightings), first.frame_count,
                               first.first_time_s, first.last_time_s, best_view_apart=first.best_view_apart)
    assert out[2] == f"    {review.queue[0].reason}"
    assert out[-1] == "nothing to undo"

    assert main(["review", str(truth_run_project), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["site"] for s in listed["sites"]] == [item.site.site_id for item in review.queue]
    assert listed["sites"][0] | {"reason": None} == listed["sites"][0] | {
        "site": first.site_id, "level": first.level.label, "sightings": len(first.sightings),
        "frames": first.frame_count, "decided": False, "review": "pending", "rejected": False, "reason": None}


def test_several_sites_decided_are_one_step_the_exports_and_undo_see(truth_run_project, capsys, tmp_path):
    review = _sites(truth_run_project)
    first, second = (item.site for item in review.queue[:2])
    sightings = len(first.sightings) + len(second.sightings)
    project = str(truth_run_project)

    assert main(["review", project, str(first.site_id), str(second.site_id), "reject",
                 "--reviewer", "Ana\nLopez\u202e"]) == 0
    out = capsys.readouterr().out
    assert f"Reject 2 sites ({sightings} sightings): one step, by Ana Lopez" in out
    undo, redo = _history(truth_run_project)
    assert undo == [f"Reject 2 sites ({sightings} sightings)"] and redo == []
    reviews = _reviews(truth_run_project)
    assert {reviews[i] for i in (*first.detection_ids, *second.detection_ids)} == {ReviewState.REJECTED}
    with ProjectStore.open(truth_run_project) as store:
        assert [d.author for d in store.site_decisions()] == ["Ana Lopez", "Ana Lopez"]
    after = _sites(truth_run_project)
    assert {first.site_id, second.site_id} <= after.rejected

    # the same decision again is no empty step
    assert main(["review", project, str(first.site_id), "reject"]) == 0
    assert "is rejected already: nothing changed" in capsys.readouterr().out
    assert len(_history(truth_run_project)[0]) == 1

    assert main(["review", project, "undo"]) == 0
    assert f"undone: Reject 2 sites ({sightings} sightings)" in capsys.readouterr().out
    assert set(_reviews(truth_run_project).values()) == {ReviewState.PENDING}
    assert _history(truth_run_project) == ([], [f"Reject 2 sites ({sightings} sightings)"])
    assert main(["review", project, "redo"]) == 0
    assert _reviews(truth_run_project)[first.detection_ids[0]] is ReviewState.REJECTED

    # a relabel, then the export names who decided (the rejected sites are on no map)
    third = review.queue[2].site
    assert main(["review", project, str(third.site_id), "debris", "--reviewer", "Bo"]) == 0
    assert f"Relabel site #{third.site_id} as Debris" in capsys.readouterr().out
    assert main(["export", project, "--to", str(tmp_path / "out")]) == 0
    features = json.loads((tmp_path / "out" / "damage_sites.geojson").read_text(encoding="utf-8"))["features"]
    decided = [f["properties"] for f in features if f["properties"]["reviewed_by"]]
    assert [(p["reviewed_by"], p["level"]) for p in decided] == [("Bo", DamageLevel.DEBRIS.label.lower())]


def test_a_decision_made_while_the_window_has_the_project_open_is_on_its_undo(window, qtbot, open_sites,
                                                                              truth_run_project, capsys):
    panel = open_sites(truth_run_project)
    site = panel.review.queue[0].site
    assert main(["review", str(truth_run_project), str(site.site_id), "accept"]) == 0
    with qtbot.waitSignal(panel.sites_updated, timeout=30_000):
        assert window.document.check_outside_changes()  # what the window's watch does every few seconds
    qtbot.waitUntil(lambda: not panel.busy and panel.review.site(site.site_id).decided, timeout=30_000)
    stack = window.document.undo_stack
    assert stack.undoText().startswith(("Accept site", "Relabel site")) and stack.count() == 1
    stack.undo()
    assert set(_reviews(truth_run_project).values()) == {ReviewState.PENDING}


@pytest.mark.parametrize("words, said", [
    (["1", "999", "accept"], "has no site 999"),  # site 1 is not decided either
    (["1", "maybe"], "the last word must be a decision"),
    (["accept"], "which sites?"),
    (["#1", "accept"], "whole numbers"),
    (["\u00b2", "accept"], "whole numbers"),
    (["undo"], "nothing to undo"),
    (["redo", "x"], "one count of steps"),
])
def test_bad_words_are_one_line_and_decide_nothing(truth_run_project, capsys, words, said):
    assert main(["review", str(truth_run_project), *words]) == 2
    _one_error(capsys, said)
    assert set(_reviews(truth_run_project).values()) == {ReviewState.PENDING}
    assert _history(truth_run_project) == ([], [])


def test_a_project_not_analysed_yet_says_so(sites_truth, tmp_path, capsys):
    project = tmp_path / "new.dmproj"
    ProjectStore.create(project, video_path=sites_truth.video, telemetry_path=sites_truth.srt).close()
    assert main(["review", str(project)]) == 2
    _one_error(capsys, "new.dmproj", "no analysis run yet", "damagemap analyze")
    assert main(["review", str(tmp_path / "missing.dmproj"), "1", "accept"]) == 2
    _one_error(capsys, "missing.dmproj", "does not exist")


def test_a_project_of_a_newer_damagemap_is_refused(truth_run_project, capsys):
    conn = sqlite3.connect(truth_run_project)
    conn.execute("UPDATE schema_version SET version = version + 1")
    conn.commit()
    conn.close()
    assert main(["review", str(truth_run_project), "1", "accept"]) == 2
    _one_error(capsys, "flight.dmproj", "newer damagemap")


def test_a_read_only_project_is_listed_not_decided(truth_run_project, monkeypatch, capsys):
    real = os.access
    monkeypatch.setattr(store_module.os, "access",
                        lambda p, mode, **kw: False if mode & os.W_OK else real(p, mode, **kw))
    assert main(["review", str(truth_run_project)]) == 0
    capsys.readouterr()
    assert main(["review", str(truth_run_project), "1", "accept"]) == 2
    _one_error(capsys, "flight.dmproj", "read-only", "copy it to a folder you can write to")
    monkeypatch.undo()
    assert set(_reviews(truth_run_project).values()) == {ReviewState.PENDING}


def test_a_full_disk_leaves_the_review_as_it_was(truth_run_project, monkeypatch, capsys):
    review = _sites(truth_run_project)
    ids = [str(item.site.site_id) for item in review.queue]
    record_edit = ProjectStore.record_edit
    written: list[int] = []

    def disk_full_at_the_second_line(self, **kwargs):
        # the step's first history line (and its site decisions) written, then the disk full
        if written:
            raise sqlite3.OperationalError("database or disk is full")
        written.append(1)
        return record_edit(self, **kwargs)

    monkeypatch.setattr(ProjectStore, "record_edit", disk_full_at_the_second_line)
    assert main(["review", str(truth_run_project), *ids, "reject"]) == 2
    _one_error(capsys, "flight.dmproj", "disk is full")
    monkeypatch.undo()
    assert written == [1]
    assert set(_reviews(truth_run_project).values()) == {ReviewState.PENDING}
    assert _history(truth_run_project) == ([], [])
    with ProjectStore.open(truth_run_project) as store:
        assert store.site_decisions() == []


def test_a_run_another_damagemap_is_analysing_is_listed_not_decided(truth_run_project, sites_truth, monkeypatch,
                                                                    capsys):
    from dataclasses import replace

    from core.types import Frame

    with ProjectStore.open(truth_run_project) as store:  # run 2, its first frames stored by another damagemap
        running = store.start_run(model={"name": "ground truth"}, settings={})
        for index in sorted(sites_truth.times)[:3]:
            mask = next(d.mask for d in sites_truth.detections if d.mask is not None)
            store.write_frame(running, Frame(index, sites_truth.times[index], mask.width_px, mask.height_px),
                              [replace(d, id=None) for d in sites_truth.detections if d.frame_index == index])
    writer = {"pid": 4242, "host": "survey-laptop", "user": "ana", "since_utc": "2026-12-07T08:00:00.000Z",
              "last_utc": "2026-12-07T08:01:00.000Z"}
    monkeypatch.setattr(ProjectStore, "active_writer", lambda self, run_id: writer if run_id == running else None)
    assert main(["review", str(truth_run_project)]) == 0
    err = capsys.readouterr().err
    assert "another damagemap (process 4242 on survey-laptop" in err and "is analysing it now" in err, err
    assert main(["review", str(truth_run_project), "1", "accept"]) == 2
    _one_error(capsys, "flight.dmproj", "process 4242 on survey-laptop", "wait for it to finish",
               "--run 1 reviews run 1")
    assert main(["review", str(truth_run_project), "undo"]) == 2
    _one_error(capsys, "process 4242")
    with ProjectStore.open(truth_run_project) as store:
        assert {d.review for d in store.detections(running)} == {ReviewState.PENDING}
        assert store.edit_history(running) == []
    # the finished run is reviewed meanwhile
    assert main(["review", str(truth_run_project), "1", "accept", "--run", "1"]) == 0
