"""``damagemap train`` and ``evaluate``: every option explained in --help; a checkpoint or
initialisation file holding Python objects is refused in one line, without torch's advice
to load it unsafely."""

from __future__ import annotations

import argparse
import os
import pickle

import pytest

from app.cli import build_parser, main


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_every_option_has_help_text(command):
    undocumented = [
        action.option_strings[0] for action in _subparser(command)._actions
        if action.option_strings and action.help in (None, "")
    ]
    assert undocumented == []


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_init_weights_holding_python_objects_are_refused_without_unsafe_advice(tmp_path, monkeypatch):
    import torch

    from core.errors import ModelError
    from engine.weights import load_init_weights

    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.pt"
    with evil.open("wb") as f:
        pickle.dump({"backbone.body.conv1.weight": _Evil()}, f, protocol=2)
    with pytest.raises(ModelError) as raised:
        load_init_weights(torch.nn.Linear(2, 2), evil)
    message = str(raised.value)
    assert "evil.pt" in message and "refused" in message and "\n" not in message
    assert "weights_only" not in message
    assert not (tmp_path / "PWNED").exists()


def test_resume_from_a_checkpoint_holding_python_objects_is_one_line(tmp_path, monkeypatch, capsys):
    import engine.train

    def refused(config, progress=True):
        raise pickle.UnpicklingError("Weights only load failed. ... Re-running `torch.load` with `weights_only` "
                                     "set to `False` will likely succeed ...")

    monkeypatch.setattr(engine.train, "train", refused)
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checkpoint.pt" in err[0] and "weights_only" not in err[0], err
