"""What the training commands say and do with inputs users get slightly wrong: a run folder
given to ``train --init``, ``--resume`` with ``--overwrite``, a ``finetune --export`` into
a folder not made yet; and ``train-srn --quiet`` still says what it did."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from app.cli import main


def test_init_given_a_run_folder_names_its_weights_file(damage_dataset, tmp_path, capsys):
    data = damage_dataset(tmp_path / "data")
    run = tmp_path / "runs" / "msnet"
    run.mkdir(parents=True)
    (run / "model.safetensors").write_bytes(b"")
    assert main(["train", "--data", str(data), "--init", str(run), "--out", str(tmp_path / "new"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"damagemap train: error: --init {run}: is a folder; give its model.safetensors "
                   f"({run / 'model.safetensors'})"), err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "--data", str(data), "--init", str(empty), "--out", str(tmp_path / "new"), "--quiet"]) == 2
    assert "is a folder; give a weights file (.safetensors, .pth)" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_a_val_data_folder_without_the_split_is_refused_before_training(damage_dataset, tmp_path, capsys):
    """--val-data naming a folder with no validation split trained on without a word (or a
    misspelt folder did), and the run's card had no held-out figures; it is refused first."""
    data = damage_dataset(tmp_path / "data")
    for val in (tmp_path / "nonexist", data):  # missing; a folder with a train split only
        assert main(["train", "--data", str(data), "--val-data", str(val), "--out", str(tmp_path / "run"),
                     "--max-steps", "1", "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"damagemap train: error: --val-data {val}: no 'val' split there"), err
    assert not (tmp_path / "run").exists()


def test_an_image_the_annotations_name_but_missing_is_refused_before_training(damage_dataset, tmp_path, capsys):
    data = damage_dataset(tmp_path / "data")
    gone = sorted((data / "train").iterdir())[0]
    gone.unlink()
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--max-steps", "1", "--quiet",
                 "--workers", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"damagemap train: error: {data / 'train'}: 1 image(s) the annotations name are not there "
                   f"(e.g. {gone.name!r})"), err
    assert not (tmp_path / "run").exists()


def test_train_srn_weights_given_a_run_folder_names_its_weights_file(tmp_path, capsys):
    run = tmp_path / "runs" / "msnet"
    run.mkdir(parents=True)
    (run / "model.safetensors").write_bytes(b"")
    assert main(["train-srn", str(tmp_path / "flight.mp4"), "--weights", str(run), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == (f"damagemap train-srn: error: --weights {run}: is a folder; give its "
                                               f"model.safetensors ({run / 'model.safetensors'})")


def test_resume_and_overwrite_together_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", "--data", str(tmp_path), "--resume", "--overwrite"])
    assert exited.value.code == 2
    assert "--overwrite: not allowed with argument --resume" in capsys.readouterr().err


def test_finetune_export_makes_a_missing_folder(tmp_path, capsys):
    from core.store import ProjectStore
    from engine.msnet import build_msnet
    from engine.weights import save_model
    from services.models import new_version

    project = tmp_path / "flight.dmproj"
    (tmp_path / "flight.mp4").write_bytes(b"")
    with ProjectStore.create(project, video_path=tmp_path / "flight.mp4"):
        pass
    torch.manual_seed(0)
    save_model(build_msnet(backbone="mobilenet_v3", heads="light", min_size=64, max_size=96),
               new_version(project).weights)
    target = tmp_path / "exports" / "june" / "improved.safetensors"
    assert main(["finetune", str(project), "--export", str(target)]) == 0
    assert target.is_file() and target.with_suffix(".json").is_file()
    assert f"ft-001 -> {target}" in capsys.readouterr().out
    assert main(["finetune", str(project), "--export", str(tmp_path / "bare")]) == 0  # the extension added
    assert (tmp_path / "bare.safetensors").is_file() and (tmp_path / "bare.json").is_file()
    capsys.readouterr()
    wrong = tmp_path / "other" / "improved.pt"
    assert main(["finetune", str(project), "--export", str(wrong)]) == 2
    assert "must be a .safetensors file" in capsys.readouterr().err
    assert not wrong.parent.exists()  # refused before any folder is made


def test_train_srn_quiet_hides_the_bar_but_not_the_summary(tiny_detector, texture_video, tmp_path, capsys):
    videos = [texture_video(tmp_path / f"v{k}.mp4", 20, start=40 * k) for k in range(2)]
    out = tmp_path / "srn.safetensors"
    assert main(["train-srn", *map(str, videos), "--weights", str(Path(tiny_detector) / "msnet.safetensors"),
                 "--out", str(out), "--steps", "1", "--short-side", "32", "--device", "cpu", "--quiet"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("train-srn: ") and " frames from 2 video(s) at " in lines[0]
    assert lines[1].startswith("train-srn: loss ") and lines[1].endswith(f"; wrote {out}")
    assert "it/s" not in captured.err and "step" not in captured.err  # no progress bar


def test_train_srn_stopped_or_failed_leaves_no_empty_folder_and_says_nothing_was_saved(tiny_detector, texture_video,
                                                                                      tmp_path, capsys, monkeypatch):
    import engine.srn

    videos = [texture_video(tmp_path / f"v{k}.mp4", 20, start=40 * k) for k in range(2)]
    out = tmp_path / "runs" / "srn1" / "srn.safetensors"

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine.srn, "train_srn", stopped)
    assert main(["train-srn", *map(str, videos), "--weights", str(Path(tiny_detector) / "msnet.safetensors"),
                 "--out", str(out), "--steps", "1", "--short-side", "32", "--device", "cpu", "--quiet"]) == 130
    assert "interrupted; nothing was saved (train-srn keeps no checkpoint)" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
