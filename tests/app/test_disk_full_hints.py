"""A full disk is one line that names the file and says how to go on as true for the
command: an analysis resumes where it stopped, a training run or a fine-tune goes on
from its checkpoint with --resume, anything else is run again with no such promise."""

from __future__ import annotations

import errno
import importlib
import json
from pathlib import Path

import pytest

from app.cli import main


def _error_line(capsys) -> str:  # noqa: ANN001
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and not any("Traceback" in line for line in err), err
    return errors[0]


@pytest.mark.parametrize(("argv", "module", "hint", "not_said"), [
    (["analyze", "v.mp4"], "analyze", "run the same command again (an analysis resumes where it stopped)", "--resume"),
    (["train", "--data", "d", "--out", "r"], "train",
     "go on from the last checkpoint with: damagemap train --data d --out r --resume", "an analysis"),
    (["finetune", "p.dmproj"], "finetune", "go on from the last checkpoint: run the same command again with --resume",
     "an analysis"),
    (["predict", "a.jpg", "--out", "o"], "predict", "run the same command again", "resume"),
])
def test_the_hint_after_a_full_disk_is_the_commands_own(argv, module, hint, not_said, monkeypatch, tmp_path, capsys):
    def no_space(args):  # noqa: ANN001, ANN202
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(importlib.import_module(f"app.commands.{module}"), "run", no_space)
    assert main(argv) == 2
    line = _error_line(capsys)
    assert f"{tmp_path / 'x'}: cannot write: no space left on device; free some space and {hint}" in line, line
    assert not_said not in line, line


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_evaluate_onto_a_full_disk_names_the_file(tmp_path, capsys):
    """The write fails once the file is open, where the system's error names no file."""
    data = tmp_path / "data"
    (data / "annotations").mkdir(parents=True)
    (data / "annotations" / "instances_val.json").write_text(json.dumps(
        {"images": [{"id": 1, "file_name": "a.jpg", "width": 8, "height": 8}], "annotations": [], "categories": []}))
    (tmp_path / "results.json").write_text("[]")
    assert main(["evaluate", "--data", str(data), "--predictions", str(tmp_path / "results.json"),
                 "--json", "/dev/full"]) == 2
    line = _error_line(capsys)
    assert "/dev/full: cannot write: no space left on device; free some space and run the same command again" in line
    assert "resume" not in line
