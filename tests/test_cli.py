"""The command line's own behaviour: failures of the machine (full disk, damaged project)
as one line, output into a pipe that closes early, ``--version``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from core.store import ProjectStore
from tests.video_helpers import cut_short

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def assets(tmp_path_factory, texture_video, with_tiny_detector):
    """A 64x48 12-frame video and tiny MSNet weights."""
    root = tmp_path_factory.mktemp("cli")
    texture_video(root / "flight.mp4", 12)
    return with_tiny_detector(root)


def _analyze(assets, project):
    return ["analyze", str(assets / "flight.mp4"), "--project", str(project), "--weights",
            str(assets / "msnet.safetensors"), "--no-srn", "--device", "cpu", "-q"]


def _one_line_error(capsys, *words):
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and all(word in errors[0] for word in words), err
    assert not any("Traceback" in line for line in err), err
    return errors[0]


def test_disk_full_during_analyze_is_one_line_and_the_same_command_resumes(assets, tmp_path, monkeypatch, capsys):
    project = tmp_path / "full.dmproj"
    ProjectStore.create(project, video_path=assets / "flight.mp4").close()
    configure = ProjectStore._configure

    def little_room(self):
        # SQLite's own limit on the file's size: it fails as on a full disk ("database or disk is full").
        configure(self)
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        self._conn.execute(f"PRAGMA max_page_count = {pages + 3}")

    monkeypatch.setattr(ProjectStore, "_configure", little_room)
    assert main(_analyze(assets, project)) == 2
    _one_line_error(capsys, "full.dmproj", "disk is full", "run the same command again")
    monkeypatch.undo()
    with ProjectStore.open(project) as store:
        stored = store.run(1).frames_done
        assert 0 < stored < 12
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    assert main(_analyze(assets, project)) == 0  # space freed: the same command finishes the run
    with ProjectStore.open(project) as store:
        assert store.run(1).frames_done == 12 and store.run(1).finished


def test_disk_full_as_an_os_error_is_one_line(monkeypatch, tmp_path, capsys):
    import errno

    import app.commands.info as info

    def no_space(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(info, "run", no_space)
    assert main(["info", str(tmp_path / "p.dmproj")]) == 2
    _one_line_error(capsys, str(tmp_path / "x"), "no space left on device")


def test_a_damaged_project_is_one_line_naming_it(assets, tmp_path, capsys):
    project = tmp_path / "damaged.dmproj"
    assert main(_analyze(assets, project)) == 0
    capsys.readouterr()
    data = bytearray(project.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = bytes(b ^ 0x5A for b in data[middle : middle + 4096])
    project.write_bytes(data)
    assert main(["info", str(project)]) == 2
    _one_line_error(capsys, "damaged.dmproj")


_PIPED = "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"


def test_output_into_a_pipe_closed_early_ends_quietly(assets, tmp_path):
    project = tmp_path / "piped.dmproj"
    ProjectStore.create(project, video_path=assets / "flight.mp4").close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *sys.path]))
    for argv in (["info", str(project), "--json"], ["info", str(project)]):
        reader_gone = subprocess.Popen([sys.executable, "-c", _PIPED, *argv], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, env=env)
        reader_gone.stdout.close()  # as `| head -0` does before the command writes anything
        _, err = reader_gone.communicate(timeout=120)
        assert err.decode() == "" and reader_gone.returncode in (0, 141), err.decode()


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("damagemap ")


def test_info_words_frames_picked_at_an_uneven_step_as_one_range_with_its_spacing():
    from app.commands.info import _indices_text, frame_ranges, frame_spacing

    picked = [0, 3, 5, 8, 10, 13, 15]  # 2 fps of a 5 fps video: 3 and 2 frames apart in turn
    assert frame_ranges(picked) == [(0, 15)]
    assert frame_spacing(frame_ranges(picked), picked) == [[2, 3]]
    # numbered from 1, as the window's transport: index 0 is its frame 1
    assert _indices_text(picked) == "1-16 every 2-3"  # not "1, 4-6, 9-11", read as frames 5 and 10 too
    assert _indices_text([4, 5, 6, 20]) == "5-7, 21"


def _analyze_every_frame(assets, video, project):
    return ["analyze", str(video), "--project", str(project), "--weights", str(assets / "msnet.safetensors"),
            "--no-srn", "--every", "1", "--device", "cpu", "-q"]


def test_a_video_cut_short_is_analysed_to_its_last_decodable_frame_and_the_run_finishes(assets, tmp_path, capsys):
    from core.store import ProjectStore
    from engine.video import probe_video

    video = cut_short(assets / "flight.mp4", tmp_path / "cut.mp4", keep=0.9)
    project = tmp_path / "cut.dmproj"
    args = _analyze_every_frame(assets, video, project)
    # Before: "the stream ended before frame N", every time, the run never finished; then
    # "(complete)" with exit status 0, as if the whole video had been seen.
    assert main(args) == 2
    out = capsys.readouterr().out
    assert "(complete)" not in out and "could not be decoded and are left out" in out
    assert re.search(r"\(finished, \d+ selected frames left out\)", out), out
    with ProjectStore.open(project) as store:
        (run,) = store.runs()
        analysed, left_out = store.analysed_frames(run.id), run.settings["unreadable_frames"]["frames"]
        assert run.finished and analysed and left_out
        listed = probe_video(video).frame_count  # the frames its index lists
        assert sorted([*analysed, *left_out]) == list(range(listed))  # every one analysed or named
    assert main(args) == 2  # again: nothing left to do, in the same run, and the file still not whole
    assert "could not be decoded" in capsys.readouterr().out
    with ProjectStore.open(project) as store:
        assert [r.id for r in store.runs()] == [run.id] and store.analysed_frames(run.id) == analysed
    assert main(["info", str(project)]) == 0
    assert f"from frame {min(left_out) + 1} on (counted from 1) could not be decoded" in capsys.readouterr().out


def test_a_copy_cut_short_after_its_index_is_not_called_complete(assets, tmp_path, capsys):
    """A faststart MP4 copied halfway lists every frame in its index, but its file holds
    the first half: analysed as a shorter video, "(complete)", exit status 0, and nothing
    said the second half was missing."""
    from engine.video import probe_video
    from services.maps import frames_missing
    from tests.video_helpers import first_half, noise_video

    whole = noise_video(tmp_path / "whole.mp4", options={"movflags": "faststart"})  # the index up front
    video = first_half(whole, tmp_path / "half.mp4")
    info = probe_video(video)
    assert info.listed_frame_count > info.frame_count > 0
    project = tmp_path / "half.dmproj"
    assert main(_analyze_every_frame(assets, video, project)) == 2
    out = capsys.readouterr().out
    assert "(complete)" not in out and "the video is cut short: its index lists" in out
    with ProjectStore.open(project) as store:
        (run,) = store.runs()
        assert run.finished and frames_missing(run.settings) == info.listed_frame_count - info.frame_count
    assert main(["info", str(project)]) == 0
    assert "the video not whole" in capsys.readouterr().out


def test_an_analysis_stopped_with_new_run_says_to_resume_it_without_new_run(assets, tmp_path, monkeypatch, capsys):
    """Ctrl+C in `analyze --new-run`: the same command again would leave the stopped run as
    it is and start another; the hint says to drop --new-run, and that resumes the run."""
    from services import analysis

    project = tmp_path / "two.dmproj"
    assert main(_analyze(assets, project)) == 0  # run 1, finished
    analyse = analysis.analyse

    def stopped_after_three(*args, **kwargs):
        for k, progress in enumerate(analyse(*args, **kwargs)):
            if k == 3:
                raise KeyboardInterrupt
            yield progress

    monkeypatch.setattr(analysis, "analyse", stopped_after_three)
    capsys.readouterr()
    assert main([*_analyze(assets, project), "--new-run"]) == 130
    err = capsys.readouterr().err
    assert "in run 2; run the same command again without --new-run to resume it" in err, err
    monkeypatch.undo()
    assert main(_analyze(assets, project)) == 0  # as the hint says: run 2 goes on
    with ProjectStore.open(project) as store:
        assert [run.id for run in store.runs()] == [1, 2]
        assert store.run(2).frames_done == 12 and store.run(2).finished


def test_a_failure_in_a_data_loading_worker_is_its_own_one_line(monkeypatch, capsys):
    """A data set's failure inside a DataLoader worker (`train --workers 2`) comes back with
    the worker's traceback in its message; the command line says its last line only."""
    import app.commands.info as info
    from core.errors import InputError

    worker = ("Caught InputError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
              '  File "/x/engine/data/isbda.py", line 211, in read_image\n'
              "    raise InputError(...)\n"
              "core.errors.InputError: /data/train/f1.png: cannot read image (truncated file)\n")

    def fails(args):
        raise InputError(worker)

    monkeypatch.setattr(info, "run", fails)
    assert main(["info", "anything.dmproj"]) == 2
    assert capsys.readouterr().err.strip() == ("damagemap info: error: /data/train/f1.png: cannot read image "
                                               "(truncated file)")


def test_a_project_name_longer_than_a_file_system_takes_is_named(tmp_path, capsys):
    """It was refused naming `NAME.dmproj/survey.json`, a file the user never gave; a
    survey or an export folder so named got a bare "File name too long"."""
    project = tmp_path / ("q" * 260 + ".dmproj")
    assert main(["analyze", str(tmp_path / "flight.mp4"), "--project", str(project)]) == 2
    err = capsys.readouterr().err
    assert "is 267 bytes long, and a file system takes at most 255 bytes for one name" in err
    assert "survey.json" not in err
    assert main(["survey", "create", str(tmp_path / ("s" * 300))]) == 2
    assert "the survey folder" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "p.dmproj"), "--to", str(tmp_path / ("o" * 300))]) == 2
    assert "--to" in (err := capsys.readouterr().err) and "255 bytes for one name" in err
