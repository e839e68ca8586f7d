"""``damagemap synth``: arguments, the two-split layout, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main


def test_synth_cli_renders_train_and_val_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["synth", str(tmp_path), "--seconds", "0.2", "--size", "160x96", "--annotate-every", "1", "--splits", "train,val", "--seed", "4"])
    assert rc == 0
    printed = capsys.readouterr().out
    for split, seed in (("train", 4), ("val", 5)):
        assert f"split {split} (seed {seed})" in printed
        doc = json.loads((tmp_path / "annotations" / f"instances_{split}.json").read_text())
        assert len(doc["images"]) == 2
        assert all((tmp_path / split / image["file_name"]).is_file() for image in doc["images"])
        camera = json.loads((tmp_path / "flights" / split / "camera.json").read_text())
        assert camera["seed"] == seed and camera["split"] == split
        assert (tmp_path / "flights" / split / "flight.mp4").is_file()


def test_synth_cli_single_split_writes_flight_files_in_out(tmp_path: Path) -> None:
    assert main(["synth", str(tmp_path), "--seconds", "0.1", "--size", "160x96", "--origin", "35.0,-97.5", "--hfov", "70", "--start", "2013-05-20T20:00:00Z"]) == 0
    camera = json.loads((tmp_path / "camera.json").read_text())
    assert camera["start_utc"].startswith("2013-05-20T20:00:00")
    assert camera["origin"]["lat_deg"] == 35.0 and camera["intrinsics"]["hfov_deg"] == 70.0
    assert (tmp_path / "flight.gpx").is_file() and (tmp_path / "annotations" / "instances_train.json").is_file()


def test_synth_cli_leaves_the_orthophoto_out_of_a_training_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The basemap is written by default; ``--no-orthophoto`` leaves out only it."""
    assert main(["synth", str(tmp_path / "map"), "--seconds", "0.1", "--size", "160x96"]) == 0
    assert "orthophoto" in capsys.readouterr().out
    assert (tmp_path / "map" / "nadir.tif").is_file()
    assert main(["synth", str(tmp_path / "train"), "--seconds", "0.1", "--size", "160x96", "--no-orthophoto"]) == 0
    printed = capsys.readouterr().out
    assert "orthophoto" not in printed and "footprints" in printed
    assert not (tmp_path / "train" / "nadir.tif").exists()
    for name in ("flight.mp4", "footprints.geojson", "truth.geojson", "annotations/instances_train.json"):
        assert (tmp_path / "train" / name).is_file(), name


@pytest.mark.parametrize("args, message", [(["--size", "161x96"], "even"), (["--origin", "95,0"], "origin"),
                                           (["--light-roofs", "0.95"], "--light-roofs must be from 0 to 0.88"),
                                           # numpy's "expected non-negative integer", naming neither flag
                                           (["--seed", "-1"], "--seed must be >= 0; got -1"),
                                           (["--town", "-3"], "--town must be >= 0; got -3")])
def test_synth_cli_bad_input_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["synth", str(tmp_path), "--seconds", "0.1", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("damagemap synth: error:") and message in err and len(err.strip().splitlines()) == 1


def test_synth_cli_rejects_malformed_size(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["synth", str(tmp_path), "--size", "big"])


def test_synth_cli_reports_rendering_progress_in_a_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(tmp_path), "--seconds", "0.8", "--fps", "10", "--size", "96x64"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "frames" in line]
    assert lines == [f"rendering train: {n}/8 frames" for n in (2, 4, 6, 8)]
