"""The commands that train and measure models spell their common flags alike: ``-q`` as
well as ``--quiet`` wherever a progress bar can be turned off, ``--threads`` wherever
torch runs, and ``train`` takes finetune's ``--steps`` and ``--minutes`` beside its own
``--max-steps`` and ``--time-budget``, which keep working."""

from __future__ import annotations

import pytest

from app.cli import build_parser


def _parse(*argv: str):
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize("command", [
    ["train", "--data", "d"], ["train-srn", "v.mp4"], ["finetune", "p.dmproj"], ["evaluate", "--data", "d"],
    ["analyze", "v.mp4"], ["survey", "analyze", "s"],
])
def test_quiet_has_its_short_spelling_everywhere(command):
    assert _parse(*command, "-q").quiet and _parse(*command, "--quiet").quiet
    assert not _parse(*command).quiet


@pytest.mark.parametrize("command", [
    ["train", "--data", "d"], ["finetune", "p.dmproj"], ["evaluate", "--data", "d"], ["analyze", "v.mp4"],
])
def test_threads_everywhere_torch_runs(command):
    assert _parse(*command, "--threads", "1").threads == 1 and _parse(*command).threads is None


def test_train_takes_finetunes_steps_and_minutes_and_keeps_its_own():
    assert _parse("train", "--data", "d", "--steps", "40").max_steps == 40
    assert _parse("train", "--data", "d", "--max-steps", "40").max_steps == 40
    assert _parse("train", "--data", "d", "--minutes", "2.5").time_budget == 2.5
    assert _parse("train", "--data", "d", "--time-budget", "2.5").time_budget == 2.5


@pytest.mark.parametrize(("argv", "message"), [
    (["finetune", "p.dmproj", "--threads", "0"], "--threads must be >= 1"),
    (["evaluate", "--data", "d", "--threads", "0"], "--threads must be >= 1"),
])
def test_threads_refused_by_name(argv, message, capsys):
    from app.cli import main

    assert main(argv) == 2
    assert message in capsys.readouterr().err
