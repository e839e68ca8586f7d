"""Output paths that cannot be written (a file where a folder is wanted, a folder under a
file, a read-only folder) end every command in one line naming the path, never in a
traceback: :func:`app.cli.main` reports any ``OSError`` that names its file."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from app.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "isbda-frame"


def _one_error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1, err
    assert not any("Traceback" in line for line in err), err
    return errors[0]


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "flight.gpx"
    path.write_text("not a folder\n")
    return path


@pytest.fixture
def image(tmp_path) -> Path:
    from PIL import Image

    path = tmp_path / "frame.png"
    Image.new("RGB", (64, 48), (120, 120, 120)).save(path)
    return path


def test_predict_out_naming_a_file_is_one_line_naming_it(image, a_file, capsys):
    assert main(["predict", str(image), "--out", str(a_file), "--device", "cpu"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("damagemap predict: error: ")
    assert f"{a_file}: cannot create the folder" in line and "(File exists)" in line
    assert a_file.read_text() == "not a folder\n"  # untouched


def test_predict_out_under_a_file_is_one_line_naming_it(image, a_file, capsys):
    out = a_file / "predictions"
    assert main(["predict", str(image), "--out", str(out), "--device", "cpu"]) == 2
    line = _one_error_line(capsys)
    assert str(out) in line and "not a folder" in line and "(Not a directory)" in line


def test_predict_into_a_read_only_folder_is_one_line(image, tmp_path, capsys):
    folder = tmp_path / "card"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a mode-555 folder stays writable")
        assert main(["predict", str(image), "--out", str(folder / "pred"), "--device", "cpu"]) == 2
        line = _one_error_line(capsys)
        assert str(folder / "pred") in line and "(Permission denied)" in line
    finally:
        folder.chmod(0o755)


def test_synth_out_under_a_file_is_one_line(a_file, capsys):
    out = a_file / "flyover"
    assert main(["synth", str(out), "--seconds", "1", "--size", "64x36"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("damagemap synth: error: ") and str(out) in line and "(Not a directory)" in line


def test_synth_out_naming_a_file_is_one_line(a_file, capsys):
    assert main(["synth", str(a_file), "--seconds", "1", "--size", "64x36"]) == 2
    line = _one_error_line(capsys)
    assert f"{a_file}: cannot create the folder: a file of that name is in the way (File exists)" in line


def test_demo_out_under_a_file_is_one_line(a_file, capsys):
    out = a_file / "demo"
    assert main(["demo", "--no-gui", "--out", str(out), "--seconds", "1", "--size", "64x36"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("damagemap demo: error: ") and "demo" in line and "(Not a directory)" in line


@pytest.mark.parametrize("flag", ["--json", "--save-predictions"])
def test_evaluate_output_file_under_a_file_is_refused_before_the_model_runs(a_file, capsys, monkeypatch, flag):
    import engine.weights

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the output path was checked")

    monkeypatch.setattr(engine.weights, "load_model", refuse)
    target = a_file / "metrics.json"
    assert main(["evaluate", "--data", str(DATA), "--split", "test", flag, str(target), "--device", "cpu"]) == 2
    line = _one_error_line(capsys)
    assert flag in line and str(target) in line and "is a file, not a folder" in line


def test_evaluate_json_into_a_missing_folder_is_refused_before_the_model_runs(tmp_path, capsys, monkeypatch):
    import engine.weights

    monkeypatch.setattr(engine.weights, "load_model", lambda *a, **k: pytest.fail("model loaded"))
    target = tmp_path / "nowhere" / "metrics.json"
    assert main(["evaluate", "--data", str(DATA), "--split", "test", "--json", str(target)]) == 2
    line = _one_error_line(capsys)
    assert str(target) in line and "does not exist" in line


@pytest.mark.parametrize(("number", "exists", "words"), [
    (errno.EROFS, False, "the file system is read-only"),
    (errno.EACCES, False, "its folder cannot be written to"),
    (errno.EACCES, True, "permission denied"),
    (errno.EISDIR, True, "is a folder, not a file"),
    (errno.EIO, True, "cannot read or write it"),
])
def test_an_os_error_naming_a_file_is_one_line_with_the_reason(monkeypatch, tmp_path, capsys, number, exists, words):
    import app.commands.info as info

    path = tmp_path / "out.json"
    if exists:
        path.write_text("{}")

    def failing(args):
        raise OSError(number, os.strerror(number), str(path))

    monkeypatch.setattr(info, "run", failing)
    assert main(["info", str(tmp_path / "p.dmproj")]) == 2
    line = _one_error_line(capsys)
    assert line == f"damagemap info: error: {path}: {line.split(f'{path}: ', 1)[1]}"
    assert words in line and line.endswith(f"({os.strerror(number)})")


def test_an_os_error_naming_no_file_is_still_a_traceback(monkeypatch, tmp_path):
    """An ``OSError`` with no file is not the user's path: it stays a bug report."""
    import app.commands.info as info

    def failing(args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(info, "run", failing)
    with pytest.raises(OSError, match="Input/output error"):
        main(["info", str(tmp_path / "p.dmproj")])


def test_disk_full_keeps_its_own_message(monkeypatch, tmp_path, capsys):
    import app.commands.info as info

    def failing(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(info, "run", failing)
    assert main(["info", str(tmp_path / "p.dmproj")]) == 2
    assert "free some space and run the same command again" in _one_error_line(capsys)



def test_predict_onto_a_full_disk_names_the_overlay_and_leaves_no_half_of_it(image, tmp_path, capsys, monkeypatch):
    """Pillow's OSError on a full disk names no file: the line said only "cannot write: no
    space left on device", and the cut-off JPEG stayed in --out."""
    from PIL import Image

    def fill_up(self, target, *args, **kwargs):
        Path(target).write_bytes(b"\xff\xd8\xff")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", fill_up)
    out = tmp_path / "pred"
    assert main(["predict", str(image), "--out", str(out), "--device", "cpu"]) == 2
    line = _one_error_line(capsys)
    assert f"{out / 'frame-prediction.jpg'}: cannot write: no space left on device" in line, line
    assert list(out.iterdir()) == []
