"""The project store never loses work and fails in one clear line: exclusive creation
(two processes racing), the file copied on its own holds the work (WAL checkpoints),
damaged, read-only, empty, half-created and oddly named projects."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import core.store as store_module
from core.errors import StoreError
from core.masks import RleMask
from core.review import ReviewSession, SetReview
from core.store import CHECKPOINT_EVERY_FRAMES, ProjectStore
from core.types import DamageLevel, Detection, Frame, ReviewState
from tests.forking import stop_decoding_threads

def _detections(frame_index, n=3):
    mask = np.zeros((48, 64), dtype=bool)
    mask[5:20, 10:30] = True
    return [
        Detection(frame_index=frame_index, level=DamageLevel(1 + i % 3), score=min(0.99, 0.5 + 0.1 * i),
                  box_xyxy_px=(10.0 + i, 5.0, 30.0, 20.0), mask=RleMask.from_array(mask))
        for i in range(n)
    ]


def _frame(i):
    return Frame(index=i, pts_s=i / 10, image=None, width_px=64, height_px=48)


def _fill(store, frames):
    run = store.start_run(model={"name": "test"}, settings={"stride": 1})
    for i in range(frames):
        store.write_frame(run, _frame(i), _detections(i))
    return run


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "flight.mp4"
    path.write_bytes(b"not really a video")
    return path


# ------------------------------------------------------------------ creating


def test_a_project_created_meanwhile_by_another_process_is_never_deleted(tmp_path, video, monkeypatch):
    """The window between "the name is free" and "the file is made": another process
    creates the project right then. This one must fail cleanly and leave that file alone."""
    path = tmp_path / "site.dmproj"
    real_connect = sqlite3.connect
    winner: list[ProjectStore] = []

    def other_process_gets_there_first(*args, **kwargs):
        if not winner:
            monkeypatch.setattr(store_module.sqlite3, "connect", real_connect)
            winner.append(ProjectStore.create(path, video_path=video))
            winner[0].set_setting("owner", "winner")
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(store_module.sqlite3, "connect", other_process_gets_there_first)
    with pytest.raises(StoreError, match="already exists"):
        ProjectStore.create(path, video_path=video)
    monkeypatch.undo()
    assert path.is_file(), "the winner's project was deleted"
    winner[0].write_frame(_fill(winner[0], 1), _frame(1), _detections(1))
    winner[0].close()
    with ProjectStore.open(path) as store:
        assert store.get_setting("owner") == "winner"
        assert store.runs()[0].frames_done == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def _race(path: str, video: str, barrier, results) -> None:  # runs in a child process
    barrier.wait()
    try:
        store = ProjectStore.create(path, video_path=video)
    except StoreError as exc:
        results.put(("lost", str(exc)))
        return
    store.set_setting("owner", os.getpid())
    run = store.start_run(model={}, settings={})
    store.write_frame(run, _frame(0), _detections(0))
    store.close()
    results.put(("won", os.getpid()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork (POSIX)")
def test_two_processes_creating_the_same_project_at_once_exactly_one_wins(tmp_path, video):
    stop_decoding_threads()
    context = multiprocessing.get_context("fork")
    for trial in range(12):
        path = tmp_path / f"race{trial}.dmproj"
        barrier, results = context.Barrier(2), context.Queue()
        workers = [context.Process(target=_race, args=(str(path), str(video), barrier, results)) for _ in range(2)]
        for worker in workers:
            worker.start()
        outcome = sorted(results.get(timeout=60) for _ in workers)
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0
        (lost, message), (won, pid) = outcome
        assert (lost, won) == ("lost", "won"), outcome
        assert "already exists" in message
        with ProjectStore.open(path) as store:
            assert store.get_setting("owner") == pid
            assert store.runs()[0].frames_done == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".creating")]


def test_schema_and_paths_are_written_together(tmp_path, video, monkeypatch):
    """A creation that fails part-way leaves no file at all, never a project without its video."""
    path = tmp_path / "site.dmproj"

    def disk_full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store_module, "_path_rows", disk_full)
    with pytest.raises(StoreError, match="disk is full"):
        ProjectStore.create(path, video_path=video)
    assert list(tmp_path.iterdir()) == [video]


def test_a_half_created_project_of_an_older_version_says_what_to_do(tmp_path, video):
    path = tmp_path / "half.dmproj"
    ProjectStore.create(path, video_path=video).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM meta WHERE key LIKE 'video_path_%'")
    conn.close()
    with ProjectStore.open(path) as store, pytest.raises(StoreError, match="records no video.*delete it"):
        store.video_path


def test_a_file_name_that_is_not_utf8_round_trips_exactly(tmp_path):
    video = tmp_path / os.fsdecode(b"caf\xe9 latin1.mp4")
    video.write_bytes(b"x")
    project = tmp_path / os.fsdecode(b"caf\xe9.dmproj")
    with ProjectStore.create(project, video_path=video, telemetry_path=tmp_path / os.fsdecode(b"\xff.SRT")):
        pass
    with ProjectStore.open(project) as store:
        assert store.video_path == video
        assert os.fsencode(store.video_path) == os.fsencode(video)
        assert store.telemetry_path == tmp_path / os.fsdecode(b"\xff.SRT")
        store.set_video(tmp_path / "plain.mp4")
        assert store.video_path == tmp_path / "plain.mp4"


def test_a_path_too_long_for_sqlite_says_so(tmp_path, video):
    folder = tmp_path
    while len(os.fsencode(str(folder))) < 600:
        folder = folder / ("d" * 200)
    folder.mkdir(parents=True)
    with pytest.raises(StoreError, match="shorter folder or file name"):
        ProjectStore.create(folder / "site.dmproj", video_path=video)


# ------------------------------------------------------------------ the file alone


def test_the_project_file_copied_alone_while_open_holds_the_work(tmp_path, video):
    path = tmp_path / "site.dmproj"
    store = ProjectStore.create(path, video_path=video)
    run = _fill(store, CHECKPOINT_EVERY_FRAMES)
    session = ReviewSession(store, run, author="tester")
    first = store.detections(run)[0]
    session.apply(SetReview(first.id, ReviewState.ACCEPTED))
    assert Path(f"{path}-wal").exists()  # still open, in WAL mode
    copy = tmp_path / "copy" / "site.dmproj"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)  # only the .dmproj, as a user copies or e-mails it
    with ProjectStore.open(copy) as copied:
        assert copied.run(run).frames_done == CHECKPOINT_EVERY_FRAMES
        assert copied.detection(first.id).review is ReviewState.ACCEPTED
        assert len(copied.edit_history(run)) == 1
    store.close()


def test_a_finished_run_leaves_an_empty_log_and_close_removes_it(tmp_path, video):
    path = tmp_path / "site.dmproj"
    store = ProjectStore.create(path, video_path=video)
    run = _fill(store, 3)
    store.finish_run(run)
    assert os.path.getsize(f"{path}-wal") == 0
    store.close()
    assert not Path(f"{path}-wal").exists()


def test_a_project_viewed_read_only_leaves_no_log_beside_it(tmp_path, video):
    """Opened read-only to view or map it (`survey info`, the survey's map of its flights),
    a project that can be written is left as `damagemap info` leaves it: no write-ahead
    log nor its index beside it (files a user is told never to copy apart). It still
    refuses every change; a writer open meanwhile keeps its log."""
    path = tmp_path / "site.dmproj"
    with ProjectStore.create(path, video_path=video) as store:
        _fill(store, 2)
    with ProjectStore.open(path, read_only=True) as store:
        assert store.read_only and len(store.runs()) == 1
        with pytest.raises(StoreError, match="is read-only"):
            store.set_setting("x", 1)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("site")) == ["site.dmproj"]
    with ProjectStore.open(path) as writer:
        writer.set_setting("x", 1)
        with ProjectStore.open(path, read_only=True) as viewer:
            assert viewer.get_setting("x") == 1
        assert Path(f"{path}-wal").exists()  # the writer's, kept while it is open
        writer.set_setting("x", 2)
    assert not Path(f"{path}-wal").exists()


# ------------------------------------------------------------------ damaged files


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = bytes(b ^ 0x5A for b in data[middle : middle + 4096])
    path.write_bytes(data)


def test_a_damaged_project_is_refused_at_open_and_never_written(tmp_path, video):
    path = tmp_path / "site.dmproj"
    with ProjectStore.create(path, video_path=video) as store:
        _fill(store, 40)
    _damage(path)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"is damaged \(.*\); restore a copy"):
        ProjectStore.open(path)
    assert path.read_bytes() == before


def test_unreadable_text_in_a_project_is_a_store_error(tmp_path, video):
    path = tmp_path / "site.dmproj"
    with ProjectStore.create(path, video_path=video) as store:
        _fill(store, 1)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE runs SET model_json = CAST(x'7bff22ff' AS TEXT)")
    conn.commit()
    conn.close()
    with ProjectStore.open(path) as store, pytest.raises(StoreError, match="is damaged"):
        store.runs()


def test_a_full_disk_is_a_store_error_saying_what_to_do(tmp_path, video):
    path = tmp_path / "site.dmproj"
    with ProjectStore.create(path, video_path=video) as store:
        run = store.start_run(model={}, settings={})
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        with pytest.raises(StoreError, match="disk is full.*run the same command again"):
            for i in range(50):
                store.write_frame(run, _frame(i), _detections(i, n=20))


@pytest.mark.parametrize("content", [b"", None])
def test_an_empty_file_or_a_folder_given_as_the_project(tmp_path, content):
    path = tmp_path / "p.dmproj"
    if content is None:
        path.mkdir()
        with pytest.raises(StoreError, match="is a folder"):
            ProjectStore.open(path)
    else:
        path.write_bytes(content)
        with pytest.raises(StoreError, match=r"is empty \(0 bytes\)"):
            ProjectStore.open(path)


def test_a_second_analysis_of_the_same_run_names_the_other_process(tmp_path, video, monkeypatch):
    path = tmp_path / "site.dmproj"
    with ProjectStore.create(path, video_path=video) as first:
        run = _fill(first, 1)
    mine = os.getpid()
    monkeypatch.setattr(store_module.os, "getpid", lambda: 99999999)  # another process
    with ProjectStore.open(path) as second:
        with pytest.raises(StoreError, match=r"another damagemap \(process .*\) is analysing this project now") as raised:
            second.write_frame(run, _frame(0), _detections(0))
    assert f"process {mine} on " in str(raised.value)
    assert "\n" not in str(raised.value)


# ------------------------------------------------------------------ read-only


def _unwritable(monkeypatch, *, folder_too: bool):
    real = os.access

    def access(path, mode, **kwargs):
        if mode & os.W_OK and (folder_too or not Path(path).is_dir()):
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(store_module.os, "access", access)


@pytest.mark.parametrize("folder_too", [False, True])
def test_a_read_only_project_can_be_viewed_but_not_changed(tmp_path, video, monkeypatch, folder_too):
    path = tmp_path / "site.dmproj"
    with ProjectStore.create(path, video_path=video) as store:
        run = _fill(store, 2)
    before = path.read_bytes()
    _unwritable(monkeypatch, folder_too=folder_too)
    with ProjectStore.open(path) as store:
        assert store.read_only
        assert store.run(run).frames_done == 2 and store.video_path == video
        with pytest.raises(StoreError, match="is read-only"):
            store.set_setting("x", 1)
    assert path.read_bytes() == before


def test_a_read_only_copy_with_its_write_ahead_log_shows_what_the_log_holds(tmp_path, video, monkeypatch):
    """A project copied with its ``-wal`` (as the docs say to) onto a write-protected stick:
    SQLite cannot make the log's index there, and reading the file alone showed the project
    as it was some frames ago, silently. It is read through a private copy, removed on close."""
    import shutil
    import tempfile

    live = tmp_path / "live" / "site.dmproj"
    live.parent.mkdir()
    stick = tmp_path / "stick"
    stick.mkdir()
    with ProjectStore.create(live, video_path=video) as store:
        checkpointed = _fill(store, 3)
        store.checkpoint()
        for i in range(3, 7):  # in the log only: fewer than a checkpoint's worth of frames
            store.write_frame(checkpointed, _frame(i), _detections(i))
        shutil.copyfile(live, stick / "site.dmproj")
        shutil.copyfile(f"{live}-wal", stick / "site.dmproj-wal")
    assert (stick / "site.dmproj-wal").stat().st_size > 0
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "private"))
    (tmp_path / "private").mkdir()
    _unwritable(monkeypatch, folder_too=True)
    with ProjectStore.open(stick / "site.dmproj") as store:
        assert store.read_only and store.run(checkpointed).frames_done == 7
        assert len(store.detections(checkpointed)) == 7 * len(_detections(0))
        assert [p.name for p in (tmp_path / "private").iterdir()] != []
    assert list((tmp_path / "private").iterdir()) == []  # the private copy is gone
    assert sorted(p.name for p in stick.iterdir()) == ["site.dmproj", "site.dmproj-wal"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="needs POSIX permissions, which root ignores (the tests above fake them)")
def test_a_project_on_a_write_protected_folder_opens_read_only(tmp_path, video):
    folder = tmp_path / "stick"
    folder.mkdir()
    with ProjectStore.create(folder / "site.dmproj", video_path=video) as store:
        _fill(store, 2)
    os.chmod(folder / "site.dmproj", 0o444)
    os.chmod(folder, 0o555)
    try:
        with ProjectStore.open(folder / "site.dmproj") as store:
            assert store.read_only and store.runs()[0].frames_done == 2
            with pytest.raises(StoreError, match="is read-only"):
                store.set_setting("x", 1)
        assert sorted(p.name for p in folder.iterdir()) == ["site.dmproj"]
    finally:
        os.chmod(folder, 0o755)


def test_an_unchanged_file_is_checked_once_per_process(tmp_path, video, monkeypatch):
    """The window opens the project again for every map it builds: the integrity check
    (which reads the whole file) runs again only when someone else changed the file."""
    path = tmp_path / "site.dmproj"
    with ProjectStore.create(path, video_path=video) as store:
        run = _fill(store, 3)
    real_connect = sqlite3.connect
    statements: list[str] = []

    def traced(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(store_module.sqlite3, "connect", traced)
    checks = lambda: sum("quick_check" in s for s in statements)  # noqa: E731
    ProjectStore.open(path).close()
    with ProjectStore.open(path) as store:  # this process's own edits do not count as a change
        ReviewSession(store, run, author="t").apply(SetReview(store.detections(run)[0].id, ReviewState.ACCEPTED))
    ProjectStore.open(path).close()
    assert checks() == 0  # created by this process: known sound
    other = real_connect(path)  # another program writes into it
    other.execute("INSERT INTO settings (key, value_json) VALUES ('x', '1')")
    other.commit()
    other.close()
    ProjectStore.open(path).close()
    assert checks() == 1


def test_text_that_is_not_json_in_a_project_is_a_store_error(tmp_path, video):
    path = tmp_path / "site.dmproj"
    with ProjectStore.create(path, video_path=video) as store:
        _fill(store, 1)
        store.set_setting("min_score", 0.5)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE runs SET settings_json = 'Z\\x07garbage'")
    conn.execute("UPDATE settings SET value_json = '{{{'")
    conn.commit()
    conn.close()
    with ProjectStore.open(path) as store:
        with pytest.raises(StoreError, match="is damaged.*settings of run 1"):
            store.runs()
        with pytest.raises(StoreError, match="is damaged.*setting 'min_score'"):
            store.settings()


def test_creation_on_a_file_system_without_hard_links(tmp_path, video, monkeypatch):
    """FAT and exFAT sticks, some network shares: the name is reserved exclusively instead."""
    import errno

    def no_links(source, target):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(store_module.os, "link", no_links)
    path = tmp_path / "stick.dmproj"
    with ProjectStore.create(path, video_path=video) as store:
        _fill(store, 1)
    with pytest.raises(StoreError, match="already exists"):
        ProjectStore.create(path, video_path=video)
    with ProjectStore.open(path) as store:
        assert store.runs()[0].frames_done == 1 and store.video_path == video
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flight.mp4", "stick.dmproj"]


def test_the_process_analysing_a_run_is_known_while_it_runs(tmp_path, video, monkeypatch):
    path = tmp_path / "site.dmproj"
    mine = os.getpid()
    other = os.getppid()  # a process of this machine that surely runs
    with ProjectStore.create(path, video_path=video) as store:
        run = store.start_run(model={}, settings={})
        assert store.active_writer(run) is None  # nobody stored a frame yet
        monkeypatch.setattr(store_module.os, "getpid", lambda: other)
        store.write_frame(run, _frame(0), _detections(0))
        monkeypatch.setattr(store_module.os, "getpid", lambda: mine)
    with ProjectStore.open(path) as store:
        writer = store.active_writer(run)
        assert writer is not None and writer["pid"] == other
        monkeypatch.setattr(store_module, "_process_alive", lambda pid: False)  # it ended (killed)
        assert store.active_writer(run) is None
        monkeypatch.undo()
        monkeypatch.setattr(store_module, "WRITER_ACTIVE_S", -1.0)  # its last frame is long ago
        assert store.active_writer(run) is None


def test_a_path_too_long_for_sqlite_is_refused_saying_how_long_it_may_be(tmp_path, video):
    """SQLite opens a project whose path, with ``-journal`` after it, fits in 512 bytes:
    504 bytes works, and 505 is refused naming the limit."""

    def path_of(length: int) -> Path:
        folder = tmp_path / ("d" * 200) / ("e" * 200)
        folder.mkdir(parents=True, exist_ok=True)
        name = "f" * (length - len(os.fsencode(str(folder))) - 1 - len(".dmproj")) + ".dmproj"
        return folder / name

    ProjectStore.create(path_of(504), video_path=video).close()
    with pytest.raises(StoreError, match="the path is 505 bytes long and SQLite opens at most 504: use a shorter"):
        ProjectStore.create(path_of(505), video_path=video)
    assert not path_of(505).exists()


def test_a_creation_killed_part_way_leaves_no_file_for_good(tmp_path, video):
    """Its temporary file is removed by the next creation in the folder, once it is old
    and its process gone; a recent one, or one of a live process, is left alone."""
    import time

    dead = 2**22 + 12345  # above Linux's largest process id: no such process
    abandoned = tmp_path / f".dm-{dead}-00ff00ff.creating"
    recent = tmp_path / f".dm-{dead}-11ff11ff.creating"
    alive = tmp_path / f".dm-{os.getpid()}-22ff22ff.creating"
    for leftover in (abandoned, recent, alive):
        leftover.write_bytes(b"half a project")
    hours_ago = time.time() - 2 * 3600
    for leftover in (abandoned, alive):
        os.utime(leftover, (hours_ago, hours_ago))
    ProjectStore.create(tmp_path / "site.dmproj", video_path=video).close()
    assert not abandoned.exists() and recent.exists() and alive.exists()
