"""``damagemap analyze`` refuses, before any frame is analysed and before a project is
created, what would otherwise fail late or be stored to break every later export: an
unknown camera preset, SRN weights asked for by name that cannot be used, a project in a
folder that cannot be written, and paths of the wrong kind (``--track`` a folder, a
project under a file)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app.cli import main


@pytest.fixture(scope="module")
def assets(tmp_path_factory, texture_video, with_tiny_detector):
    """A 64x48 6-frame video with tiny MSNet and SRN weights."""
    root = tmp_path_factory.mktemp("analyze-refuses")
    texture_video(root / "flight.mp4", 6)
    return with_tiny_detector(root, srn=True)


def _analyze(assets, project, *extra):
    return ["analyze", str(assets / "flight.mp4"), "--project", str(project), "--weights",
            str(assets / "msnet.safetensors"), "--device", "cpu", "-q", *extra]


@pytest.fixture
def no_model(monkeypatch):
    from services import analysis

    monkeypatch.setattr(analysis, "load_model", lambda *a, **k: pytest.fail("the model loaded before the check"))


def _error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if "error:" in line or "Traceback" in line]
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


# ------------------------------------------------------------------ D: camera preset


@pytest.mark.parametrize("name", ["nope", "mavic2pro"])
def test_an_unknown_camera_preset_is_refused_with_the_known_names(assets, tmp_path, capsys, no_model, name):
    project = tmp_path / "p.dmproj"
    assert main(_analyze(assets, project, "--no-srn", "--hfov", name)) == 2
    line = _error(capsys)
    assert f"--hfov: unknown camera preset {name!r}" in line and "mavic-2-pro" in line and "generic" in line
    assert not project.exists()


def test_export_refuses_the_same_preset_with_the_same_words(tmp_path, capsys):
    assert main(["export", str(tmp_path / "p.dmproj"), "--hfov", "nope", "--to", str(tmp_path / "x")]) == 2
    assert "--hfov: unknown camera preset 'nope'; give degrees or one of" in _error(capsys)


def test_a_known_preset_passes_the_check_in_any_spelling():
    from geo.camera import HFOV_PRESETS_DEG, hfov_preset, resolve_hfov

    assert hfov_preset("Mavic 2 Pro") == "mavic-2-pro" == hfov_preset("MAVIC_2_PRO")
    assert hfov_preset("84") is None  # degrees: the range is checked elsewhere
    assert resolve_hfov("mavic_2_pro").hfov_deg == HFOV_PRESETS_DEG["mavic-2-pro"]
    with pytest.raises(ValueError, match="unknown camera preset 'nope'"):
        hfov_preset("nope")


# ------------------------------------------------------------------ E: --srn-weights


def test_srn_weights_that_do_not_exist_are_an_error_naming_them(assets, tmp_path, capsys):
    project = tmp_path / "p.dmproj"
    missing = tmp_path / "nonexist.safetensors"
    assert main(_analyze(assets, project, "--srn-weights", str(missing))) == 2
    assert f"{missing}: SRN weights not found" in _error(capsys)
    assert not project.exists()


def test_srn_weights_that_are_not_srn_weights_are_an_error_naming_them(assets, tmp_path, capsys):
    project = tmp_path / "p.dmproj"
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not safetensors at all")
    assert main(_analyze(assets, project, "--srn-weights", str(junk))) == 2
    line = _error(capsys)
    assert f"{junk}: cannot be used as SRN weights" in line
    assert line.count(str(junk)) == 1
    assert not project.exists()


def test_usable_srn_weights_given_by_name_run(assets, tmp_path, capsys):
    from core.store import ProjectStore

    project = tmp_path / "p.dmproj"
    assert main(_analyze(assets, project, "--srn-weights", str(assets / "srn.safetensors"))) == 0
    with ProjectStore.open(project) as store:
        assert store.run(1).settings["srn_status"].startswith("on")


# ------------------------------------------------------------------ C: read-only folder


@pytest.fixture
def read_only(monkeypatch):
    """Makes the folders given look read-only to ``os.access`` (as on a locked SD card;
    a mode-555 folder would not do for root)."""
    folders: set[Path] = set()
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and Path(path).absolute() in folders:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    return lambda folder: folders.add(Path(folder).absolute())


def test_a_video_in_a_read_only_folder_says_so_and_suggests_project(assets, tmp_path, capsys, no_model, read_only):
    card = tmp_path / "card"
    card.mkdir()
    shutil.copyfile(assets / "flight.mp4", card / "flight.mp4")
    read_only(card)
    assert main(["analyze", str(card / "flight.mp4"), "--device", "cpu", "-q"]) == 2
    line = _error(capsys)
    assert f"{card} is read-only" in line and "beside the video" in line and "--project PATH" in line
    assert not (card / "flight.dmproj").exists()


def test_a_project_named_in_a_read_only_folder_says_so(assets, tmp_path, capsys, no_model, read_only):
    read_only(tmp_path)
    assert main(_analyze(assets, tmp_path / "p.dmproj", "--no-srn")) == 2
    line = _error(capsys)
    assert f"{tmp_path} is read-only" in line and "--project PATH" in line and "beside the video" not in line


def test_a_real_read_only_folder_says_so(assets, tmp_path, capsys, no_model):
    card = tmp_path / "card"
    card.mkdir()
    shutil.copyfile(assets / "flight.mp4", card / "flight.mp4")
    card.chmod(0o555)
    try:
        if os.access(card, os.W_OK):
            pytest.skip("running as root: a mode-555 folder stays writable")
        assert main(["analyze", str(card / "flight.mp4"), "--device", "cpu", "-q"]) == 2
        assert f"{card} is read-only" in _error(capsys)
    finally:
        card.chmod(0o755)


def test_the_store_says_a_read_only_folder_is_read_only(assets, tmp_path, read_only):
    from core.errors import StoreError
    from core.store import ProjectStore

    read_only(tmp_path)
    with pytest.raises(StoreError, match="is read-only"):
        ProjectStore.create(tmp_path / "p.dmproj", video_path=assets / "flight.mp4")


# ------------------------------------------------------------------ F: paths of the wrong kind


def test_a_project_under_a_file_says_the_file_is_not_a_folder(assets, tmp_path, capsys, no_model):
    track = tmp_path / "flight.gpx"
    track.write_text("<gpx/>")
    assert main(_analyze(assets, track / "p.dmproj", "--no-srn")) == 2
    line = _error(capsys)
    assert f"{str(track)!r} is a file, not a folder" in line and "does not exist" not in line


def test_a_project_in_a_missing_folder_still_says_it_does_not_exist(assets, tmp_path, capsys, no_model):
    assert main(_analyze(assets, tmp_path / "nowhere" / "p.dmproj", "--no-srn")) == 2
    assert "does not exist" in _error(capsys)


def test_a_project_that_is_another_application_s_file_is_refused_before_the_model_loads(assets, tmp_path, capsys,
                                                                                         no_model):
    import sqlite3

    other = tmp_path / "notes.dmproj"
    sqlite3.connect(other).execute("CREATE TABLE notes (text TEXT)").connection.commit()
    assert main(_analyze(assets, other, "--no-srn")) == 2
    assert "is not a damagemap project (an SQLite file of another application)" in _error(capsys)


def test_a_folder_given_as_track_is_named_a_folder(assets, tmp_path, capsys, no_model):
    assert main(_analyze(assets, tmp_path / "p.dmproj", "--no-srn", "--track", str(tmp_path))) == 2
    line = _error(capsys)
    assert f"--track {str(tmp_path)!r} is a folder" in line and "not found" not in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_given_as_track_is_named_a_named_pipe(assets, tmp_path, capsys, no_model):
    """It said "telemetry file not found" of a file that is there; reading it would block."""
    pipe = tmp_path / "flight.gpx"
    os.mkfifo(pipe)
    assert main(_analyze(assets, tmp_path / "p.dmproj", "--no-srn", "--track", str(pipe))) == 2
    line = _error(capsys)
    assert f"{pipe}: a named pipe, not a regular file" in line and "not found" not in line
    assert not (tmp_path / "p.dmproj").exists()
