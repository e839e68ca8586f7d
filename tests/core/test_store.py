"""The project store: create/open, runs, per-frame writes, compact masks, paths."""

import dataclasses
import json
import sqlite3
import threading

import numpy as np
import pytest

from core.errors import StoreError
from core.masks import RleMask
from core.store import SCHEMA_VERSION, ProjectStore
from core.types import DamageLevel, Detection, Frame, Origin, ReviewState


def _mask(h=48, w=64, box=(10, 5, 30, 20)):
    arr = np.zeros((h, w), dtype=bool)
    x1, y1, x2, y2 = box
    arr[y1:y2, x1:x2] = True
    return RleMask.from_array(arr)


def _detections(frame_index, n=2):
    return [
        Detection(
            frame_index=frame_index,
            level=DamageLevel(1 + i % 3),
            score=0.5 + 0.1 * i,
            box_xyxy_px=(10.0 + i, 5.0, 30.0, 20.0),
            mask=_mask(box=(10 + i, 5, 30, 20)),
            building_box_xyxy_px=(0.0, 0.0, 40.0, 30.0) if i == 0 else None,
        )
        for i in range(n)
    ]


@pytest.fixture
def project(tmp_path):
    video = tmp_path / "media" / "flight.mp4"
    video.parent.mkdir()
    video.write_bytes(b"not really a video")
    with ProjectStore.create(tmp_path / "site.dmproj", video_path=video) as store:
        yield store


def test_create_then_open_keeps_references_and_settings(project, tmp_path):
    project.set_setting("time_offset_s", 1.5)
    project.set_setting("hfov_deg", 82.1)
    project.set_telemetry(tmp_path / "media" / "flight.SRT")
    project.close()
    with ProjectStore.open(tmp_path / "site.dmproj") as store:
        assert store.video_path == tmp_path / "media" / "flight.mp4"
        assert store.telemetry_path == tmp_path / "media" / "flight.SRT"
        assert store.get_setting("time_offset_s") == 1.5
        assert store.get_setting("missing", default="x") == "x"
        assert store.settings() == {"time_offset_s": 1.5, "hfov_deg": 82.1}
        store.set_telemetry(None)
        assert store.telemetry_path is None


def test_paths_are_relative_to_the_project_so_it_can_move(project, tmp_path):
    project.close()
    moved = tmp_path / "moved"
    # Move project and media together to a new folder.
    moved.mkdir()
    (tmp_path / "media").rename(moved / "media")
    (tmp_path / "site.dmproj").rename(moved / "site.dmproj")
    with ProjectStore.open(moved / "site.dmproj") as store:
        assert store.video_path == moved / "media" / "flight.mp4"
        assert store.video_path.exists()


def test_project_moved_alone_falls_back_to_the_absolute_path(project, tmp_path):
    project.close()
    elsewhere = tmp_path / "a" / "b"
    elsewhere.mkdir(parents=True)
    (tmp_path / "site.dmproj").rename(elsewhere / "site.dmproj")
    with ProjectStore.open(elsewhere / "site.dmproj") as store:
        assert store.video_path == tmp_path / "media" / "flight.mp4"


def test_file_is_sqlite_wal_with_schema_version_and_foreign_keys(project):
    conn = sqlite3.connect(project.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    with pytest.raises(StoreError):  # foreign key: no such run
        project.write_frame(99, Frame(0, 0.0, 64, 48), _detections(0))


def test_open_refuses_missing_foreign_and_garbage_files(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        ProjectStore.open(tmp_path / "nope.dmproj")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(StoreError, match="other.sqlite.*not a damagemap project"):
        ProjectStore.open(other)
    garbage = tmp_path / "garbage.dmproj"
    garbage.write_bytes(b"hello, this is not sqlite at all" * 10)
    with pytest.raises(StoreError, match="garbage.dmproj.*not a damagemap project"):
        ProjectStore.open(garbage)


def test_a_project_whose_schema_version_is_gone_is_named_damaged(project, tmp_path):
    """An emptied schema_version table stopped `info` with a TypeError traceback."""
    path = project.path
    project.close()
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM schema_version")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version is missing"):
        ProjectStore.open(path)


@pytest.mark.parametrize("version", [0, -1])
def test_a_project_whose_schema_version_is_below_1_is_named_damaged(project, version):
    """A version of 0 stopped `info` with "KeyError: 1" (the first migration it looked up)."""
    path = project.path
    project.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (version,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=f"schema version is {version}, which no damagemap wrote"):
        ProjectStore.open(path)


def test_a_video_given_for_its_project_names_the_project_beside_it(project, tmp_path):
    """`damagemap info flight.mp4` said to create a project, with flight.dmproj beside it."""
    video = tmp_path / "media" / "site.mp4"
    video.write_bytes(b"not really a video")
    (tmp_path / "media" / "site.dmproj").write_bytes((tmp_path / "site.dmproj").read_bytes())
    with pytest.raises(StoreError) as refused:
        ProjectStore.open(video)
    assert str(refused.value) == (f"{str(video)!r} is not a damagemap project (not an SQLite file); the project "
                                  f"beside it is {str(video.with_suffix('.dmproj'))!r}: give that")


def test_create_refuses_an_existing_file(project):
    with pytest.raises(StoreError, match="already exists"):
        ProjectStore.create(project.path, video_path="x.mp4")


def test_runs_record_model_settings_progress_and_finish(project):
    assert project.latest_run_id() is None
    first = project.start_run(model={"arch": "msnet"}, settings={"stride": 5})
    second = project.start_run(model={"arch": "msnet"}, settings={"fps": 2.0})
    project.write_frame(first, Frame(0, 0.0, 64, 48), _detections(0))
    project.write_frame(first, Frame(5, 0.5, 64, 48), [])
    project.finish_run(first)
    runs = project.runs()
    assert [r.id for r in runs] == [first, second]
    assert runs[0].finished and runs[0].frames_done == 2 and runs[0].settings == {"stride": 5}
    assert not runs[1].finished and runs[1].frames_done == 0 and runs[1].model == {"arch": "msnet"}
    assert project.latest_run_id() == second
    with pytest.raises(StoreError, match="no run 42"):
        project.finish_run(42)
    with pytest.raises(StoreError, match="JSON"):
        project.start_run(model={"x": object()}, settings={})


def test_write_frame_round_trips_detections_exactly(project):
    run = project.start_run(model={}, settings={})
    written = _detections(3, n=3)
    ids = project.write_frame(run, Frame(3, 0.1, 64, 48), written)
    assert len(ids) == 3 and len(set(ids)) == 3
    back = project.detections(run)
    assert [d.id for d in back] == ids
    for want, got in zip(written, back):
        assert got == dataclasses.replace(want, id=got.id)
        assert np.array_equal(got.mask.to_array(), want.mask.to_array())
    assert project.detection(ids[1]) == back[1]
    assert project.analysed_frames(run) == {3: pytest.approx(0.1)}
    assert project.detections(run, frame_index=4) == []


def test_a_mask_read_again_is_the_same_object_and_a_redrawn_one_is_read_anew(project):
    """The map is built again from the detections read again after every decision: their
    masks are decoded once, while a redrawn mask reads as what was drawn."""
    from core.review import ReviewSession, SetMask

    run = project.start_run(model={}, settings={})
    ids = project.write_frame(run, Frame(3, 0.1, 64, 48), _detections(3, n=2))
    first, again = project.detections(run), project.detections(run)
    assert [a.mask is b.mask for a, b in zip(first, again)] == [True, True]
    assert first[0].mask is not first[1].mask
    redrawn = _mask(box=(2, 2, 40, 30))
    ReviewSession(project, run).apply(SetMask(ids[0], redrawn))
    after = project.detections(run)
    assert after[0].mask == redrawn and after[0].mask is not first[0].mask and after[1].mask is first[1].mask


def test_a_detection_read_again_unchanged_is_the_same_object_and_an_edited_one_is_new(project):
    """The map is built again from every detection read again after each decision: the
    unchanged ones come back as the very objects read before, an edited one as edited."""
    from core.review import Relabel, ReviewSession, SetReview

    run = project.start_run(model={}, settings={})
    ids = project.write_frame(run, Frame(3, 0.1, 64, 48), _detections(3, n=3))
    first = project.detections(run)
    assert [a is b for a, b in zip(first, project.detections(run))] == [True, True, True]
    session = ReviewSession(project, run)
    session.apply(SetReview(ids[0], ReviewState.REJECTED))
    session.apply(Relabel(ids[1], DamageLevel.DEBRIS))
    after = project.detections(run)
    assert after[0].review is ReviewState.REJECTED and after[0] is not first[0]
    assert after[1].level is DamageLevel.DEBRIS and after[1] is not first[1]
    assert after[2] is first[2]
    session.undo()
    session.undo()
    assert project.detections(run) == first  # equal again: the rows as they were
    # without masks: other rows, other objects
    assert [d.mask for d in project.detections(run, masks=False)] == [None, None, None]
    from core.store import clear_cache

    kept = project.detections(run)
    clear_cache()  # forgotten: read anew, equal
    anew = project.detections(run)
    assert anew == kept and not any(a is b for a, b in zip(anew, kept))


def test_detections_by_id_reads_many_at_once_leaving_out_the_missing_and_if_asked_the_deleted(project):
    from core.review import DeleteDetection, ReviewSession

    run = project.start_run(model={}, settings={})
    ids = [i for frame in range(300) for i in project.write_frame(run, Frame(frame, frame / 10, 64, 48),
                                                                   _detections(frame, n=3))]
    assert len(ids) == 900  # more than one query's worth of ids
    ReviewSession(project, run).apply(DeleteDetection(ids[700]))
    everything = project.detections_by_id([*ids, max(ids) + 1])  # an id the project lacks: left out
    assert everything.keys() == set(ids)
    assert all(everything[i] == project.detection(i) for i in (ids[0], ids[499], ids[500], ids[700], ids[-1]))
    assert project.detections_by_id(ids, include_deleted=False).keys() == set(ids) - {ids[700]}
    assert project.detections_by_id([]) == {}


def test_a_frame_is_stored_at_most_once_per_run(project):
    run = project.start_run(model={}, settings={})
    project.write_frame(run, Frame(7, 0.7, 64, 48), _detections(7))
    with pytest.raises(StoreError, match="frame 7 is already stored in run"):
        project.write_frame(run, Frame(7, 0.7, 64, 48), _detections(7))
    assert len(project.detections(run)) == 2  # the refused write left nothing behind
    other = project.start_run(model={}, settings={})
    project.write_frame(other, Frame(7, 0.7, 64, 48), [])  # another run may store it


def test_mismatched_detection_frame_is_refused(project):
    run = project.start_run(model={}, settings={})
    with pytest.raises(StoreError, match="frame 2 given with frame 1"):
        project.write_frame(run, Frame(1, 0.1, 64, 48), _detections(2))
    assert project.analysed_frames(run) == {}


def test_refined_scores_update_only_that_column(project):
    run = project.start_run(model={}, settings={})
    ids = project.write_frame(run, Frame(0, 0.0, 64, 48), _detections(0))
    project.update_refined_scores(run, {ids[0]: 0.9})
    got = project.detection(ids[0])
    assert got.refined_score == pytest.approx(0.9) and got.final_score == pytest.approx(0.9)
    assert got.score == pytest.approx(0.5)
    assert project.detection(ids[1]).refined_score is None
    with pytest.raises(StoreError, match=r"\[0, 1\]"):
        project.update_refined_scores(run, {ids[0]: 1.5})


def test_write_frame_finishes_previous_refined_scores_in_the_same_transaction(project):
    run = project.start_run(model={}, settings={})
    first = project.write_frame(run, Frame(0, 0.0, 64, 48), _detections(0))
    project.write_frame(run, Frame(1, 0.1, 64, 48), _detections(1), refined_scores={first[0]: 0.25})
    assert project.detection(first[0]).refined_score == pytest.approx(0.25)
    with pytest.raises(StoreError):  # a bad score rolls the whole frame back
        project.write_frame(run, Frame(2, 0.2, 64, 48), _detections(2), refined_scores={first[1]: 2.0})
    assert 2 not in project.analysed_frames(run)


def test_counts_per_level_review_and_frame(project):
    run = project.start_run(model={}, settings={})
    project.write_frame(run, Frame(0, 0.0, 64, 48), _detections(0, n=3))
    project.write_frame(run, Frame(1, 0.1, 64, 48), [])
    assert project.level_counts(run) == {DamageLevel.SLIGHT: 1, DamageLevel.SEVERE: 1, DamageLevel.DEBRIS: 1}
    assert project.review_counts(run)[ReviewState.PENDING] == 3
    assert project.frame_level_counts(run) == {0: {DamageLevel.SLIGHT: 1, DamageLevel.SEVERE: 1, DamageLevel.DEBRIS: 1}, 1: {}}


def test_masks_are_stored_compactly():
    mask = _mask(720, 1280, (100, 200, 400, 500))
    blob = mask.to_bytes()
    assert len(blob) < 64
    assert RleMask.from_bytes(blob, 720, 1280) == mask


def test_closed_store_refuses_work(project):
    project.close()
    with pytest.raises(StoreError, match="closed"):
        project.runs()


def test_concurrent_writer_thread_and_reader(project, tmp_path):
    run = project.start_run(model={}, settings={})
    errors = []

    def write():
        try:
            for i in range(30):
                project.write_frame(run, Frame(i, i / 10, 64, 48), _detections(i, n=1))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    with ProjectStore.open(project.path) as reader:  # a second connection, as the GUI would
        while thread.is_alive():
            # Each frame and its detection commit together: a reader never sees half.
            with reader._lock:  # one consistent snapshot for both queries
                reader._conn.execute("BEGIN")
                frames = len(reader.analysed_frames(run))
                detections = len(reader.detections(run))
                reader._conn.execute("COMMIT")
            assert detections == frames
    thread.join()
    assert not errors
    assert sorted(project.analysed_frames(run)) == list(range(30))


def test_run_json_is_plain(project):
    run = project.start_run(model={"weights": "w.safetensors"}, settings={"srn": False, "note": "no weights"})
    raw = sqlite3.connect(project.path).execute("SELECT settings_json FROM runs WHERE id = ?", (run,)).fetchone()[0]
    assert json.loads(raw) == {"note": "no weights", "srn": False}


def test_detection_origin_and_review_round_trip(project):
    run = project.start_run(model={}, settings={})
    det = Detection(0, DamageLevel.DEBRIS, 0.3, (0.0, 0.0, 1.0, 1.0), origin=Origin.ADDED, review=ReviewState.REJECTED)
    (det_id,) = project.write_frame(run, Frame(0, 0.0, 64, 48), [det])
    got = project.detection(det_id)
    assert (got.origin, got.review, got.mask) == (Origin.ADDED, ReviewState.REJECTED, None)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_given_as_a_project_is_not_said_to_be_missing(tmp_path):
    import os

    pipe = tmp_path / "flight.dmproj"
    os.mkfifo(pipe)
    with pytest.raises(StoreError) as refused:
        ProjectStore.open(pipe)
    assert str(refused.value) == f"{str(pipe)!r} is a named pipe, not a project file; give the project file itself"
