"""A numeric flag with a value that cannot be right is refused in one line that names the
flag as the user typed it (``--min-score``, not ``min_score``), before any work: the
files named need not exist, and nothing is created."""

from __future__ import annotations

import pytest

from app.cli import main

CASES = [
    ("export", ["--min-score", "7"], "--min-score must be in [0, 1]; got 7.0"),
    ("export", ["--min-score", "nan"], "--min-score must be in [0, 1]; got nan"),
    ("export", ["--ground-elevation", "nan"], "--ground-elevation must be a finite number"),
    ("export", ["--offset", "inf"], "--offset must be a finite number"),
    ("export", ["--hfov", "500"], "--hfov must be between 1 and 170 degrees"),
    ("export", ["--hfov", "nan"], "--hfov must be between 1 and 170 degrees"),
    ("export", ["--product-version", "0"], "--product-version must be from 1 to 99"),
    ("export", ["--run", "0"], "--run must be >= 1"),
    ("analyze", ["--score-threshold", "1.5"], "--score-threshold must be in [0, 1]; got 1.5"),
    ("analyze", ["--score-threshold", "nan"], "--score-threshold must be in [0, 1]; got nan"),
    ("analyze", ["--every", "0"], "--every must be >= 1"),
    ("analyze", ["--fps", "inf"], "--fps must be a positive, finite number"),
    ("analyze", ["--batch-size", "0"], "--batch-size must be >= 1"),
    ("analyze", ["--threads", "0"], "--threads must be >= 1"),
    ("analyze", ["--segment-frames", "0"], "--segment-frames must be >= 1"),
    ("analyze", ["--workers", "0"], "--workers must be >= 1"),
    ("analyze", ["--hover-every", "-1"], "--hover-every must be >= 0; got -1.0"),
    ("survey", ["--hover-every", "nan"], "--hover-every must be a finite number"),
    ("survey", ["--score-threshold", "-0.1"], "--score-threshold must be in [0, 1]; got -0.1"),
    ("survey", ["--fps", "nan"], "--fps must be a positive, finite number"),
    ("survey", ["--workers", "0"], "--workers must be >= 1"),
    ("predict", ["--score-threshold", "1.5"], "--score-threshold must be in [0, 1]; got 1.5"),
    ("predict", ["--json-threshold", "nan"], "--json-threshold must be in [0, 1]; got nan"),
    ("predict", ["--input-size", "32"], "--input-size must be >= 64; got 32"),
    ("analyze", ["--input-size", "0"], "--input-size must be >= 64; got 0"),
    ("survey", ["--input-size", "63"], "--input-size must be >= 64; got 63"),
    ("evaluate", ["--input-size", "10"], "--input-size must be >= 64; got 10"),
    ("analyze", ["--input-size", "20000"], "--input-size must be <= 4096 (a 4K frame's short side is 2160); got 20000"),
    ("predict", ["--input-size", "100000"], "--input-size must be <= 4096"),
    ("predict", ["--building-gate", "1"], "--building-gate must be in [0, 1); got 1.0"),
    ("analyze", ["--building-gate", "-0.2"], "--building-gate must be in [0, 1); got -0.2"),
    ("survey", ["--building-gate", "nan"], "--building-gate must be in [0, 1); got nan"),
    ("evaluate", ["--building-gate", "2"], "--building-gate must be in [0, 1); got 2.0"),
    ("analyze", ["--tiles", "0"], "--tiles must be a whole number from 1 (off) to 4; got 0"),
    ("predict", ["--tiles", "5"], "--tiles must be a whole number from 1 (off) to 4; got 5"),
    ("survey", ["--tiles", "-2"], "--tiles must be a whole number from 1 (off) to 4"),
    ("predict", ["--sharpness-ceiling", "-1"], "--sharpness-ceiling must be a number >= 0 (0: frames as they come); got -1.0"),
    ("analyze", ["--sharpness-ceiling", "nan"], "--sharpness-ceiling must be a number >= 0"),
    ("survey", ["--sharpness-ceiling", "-0.5"], "--sharpness-ceiling must be a number >= 0"),
    ("evaluate", ["--sharpness-ceiling", "inf"], "--sharpness-ceiling must be a number >= 0"),
    ("finetune", ["--lr", "inf"], "--lr must be a positive, finite number"),
    ("finetune", ["--lr", "0"], "--lr must be a positive, finite number"),
    ("finetune", ["--minutes", "nan"], "--minutes must be a positive, finite number of minutes"),
    ("finetune", ["--minutes", "0"], "--minutes must be a positive, finite number of minutes"),
    ("finetune", ["--steps", "0"], "--steps must be >= 1"),
    ("finetune", ["--batch-size", "0"], "--batch-size must be >= 1"),
    ("finetune", ["--holdout-every", "1"], "--holdout-every must be 0 (none held out) or >= 2; got 1"),
    ("finetune", ["--holdout-every", "-3"], "--holdout-every must be 0 (none held out) or >= 2; got -3"),
    ("finetune", ["--run", "-1"], "--run must be >= 1"),
    ("demo", ["--seconds", "-1"], "--seconds must be a positive, finite number of seconds"),
    ("demo", ["--analysis-fps", "nan"], "--analysis-fps must be a positive, finite number of frames per second"),
    ("synth", ["--seconds", "nan"], "--seconds must be a positive, finite number of seconds"),
    ("synth", ["--fps", "0"], "--fps must be a positive, finite number of frames per second"),
    ("synth", ["--annotate-every", "0"], "--annotate-every must be >= 1"),
    ("synth", ["--hfov", "180"], "--hfov must be between 1 and 170 degrees"),
    ("synth", ["--terrain", "-5"], "--terrain must be from 0 to 100 metres"),
    ("evaluate", ["--batch-size", "0"], "--batch-size must be >= 1"),
    ("train", ["--lr", "nan"], "--lr must be a positive, finite number"),
    ("train", ["--epochs", "0"], "--epochs must be >= 1"),
    ("train", ["--warmup-steps", "-1"], "--warmup-steps must be >= 0"),
    ("train", ["--photometric", "1.5"], "--photometric must be in [0, 1]"),
    ("train", ["--fine-detail", "-0.1"], "--fine-detail must be in [0, 1]"),
    ("train", ["--video-frames", "2"], "--video-frames must be in [0, 1]"),
    ("train", ["--time-budget", "inf"], "--time-budget must be a positive, finite number of minutes"),
    ("train", ["--lr-after-drop", "-0.1"], "--lr-after-drop must be >= 0"),
    ("train", ["--damage-positive-iou", "0.2"], "--damage-positive-iou must be from 0.3 to 1"),
    ("train", ["--box-positive-iou", "0"], "--box-positive-iou must be from 0.05 to 1"),
]


def _argv(command: str, tmp_path) -> list[str]:
    """The command on files that do not exist: a check that comes after any work fails
    on them instead, with another message."""
    return {
        "export": ["export", str(tmp_path / "missing.dmproj"), "--to", str(tmp_path / "out")],
        "analyze": ["analyze", str(tmp_path / "missing.mp4"), "--project", str(tmp_path / "p.dmproj"),
                    "--device", "cpu", "-q"],
        "survey": ["survey", "analyse", str(tmp_path / "no-survey"), "-q"],
        "predict": ["predict", str(tmp_path / "missing.png"), "--out", str(tmp_path / "out"),
                    "--weights", str(tmp_path / "missing.safetensors"), "--device", "cpu"],
        "finetune": ["finetune", str(tmp_path / "missing.dmproj"), "--device", "cpu"],
        "evaluate": ["evaluate", "--data", str(tmp_path / "no-data"), "--weights", str(tmp_path / "missing.safetensors"),
                     "--device", "cpu"],
        "demo": ["demo", "--no-gui", "--out", str(tmp_path / "demo"), "--device", "cpu"],
        "synth": ["synth", str(tmp_path / "flight")],
        "train": ["train", "--data", str(tmp_path / "no-data"), "--out", str(tmp_path / "run"), "--device", "cpu",
                  "--quiet"],
    }[command]


@pytest.mark.parametrize(("command", "flags", "words"), CASES, ids=[f"{c}{' '.join(f)}" for c, f, _ in CASES])
def test_an_impossible_flag_value_is_refused_naming_the_flag(tmp_path, capsys, command, flags, words):
    work = tmp_path / "work"
    work.mkdir()
    assert main([*_argv(command, work), *flags]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"damagemap {command}: error: {words}"), err
    assert list(work.iterdir()) == []  # nothing created


def test_the_values_at_the_edges_are_accepted_by_the_checks():
    from app.commands import _flags

    _flags.fraction("--min-score", 0.0)
    _flags.fraction("--min-score", 1.0)
    _flags.between("--hfov", 169.9, 1, 170, inclusive=False)
    _flags.between("--product-version", 99, 1, 99)
    _flags.at_least("--every", 1)
    _flags.positive("--fps", 1e-3)
    for check in (_flags.finite, _flags.positive, _flags.at_least, _flags.fraction):
        check("--flag", None)  # not given


DEVICE_COMMANDS = ["predict", "evaluate", "train-srn"]


def _device_argv(command: str, tmp_path) -> list[str]:
    if command == "train-srn":
        return ["train-srn", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "srn.safetensors"), "--quiet"]
    return _argv(command, tmp_path)


@pytest.mark.parametrize("command", DEVICE_COMMANDS)
def test_a_device_torch_does_not_know_is_refused_before_the_weights_load(tmp_path, capsys, command):
    """Every command resolves ``--device`` by one rule; a misspelt device is named, not a
    torch traceback, and comes before any file is read."""
    argv = [*_device_argv(command, tmp_path), "--device", "gpu0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "expected 'auto', 'cpu' or 'cuda[:N]'; got 'gpu0'" in err, err


@pytest.mark.parametrize("command", DEVICE_COMMANDS)
def test_cuda_asked_for_without_a_gpu_says_what_to_pass(tmp_path, capsys, command):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert main([*_device_argv(command, tmp_path), "--device", "cuda:0"]) == 2
    assert "no CUDA GPU is available; use --device cpu or auto" in capsys.readouterr().err
