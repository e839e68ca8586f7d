"""``damagemap train`` and ``evaluate``: every option explained in --help; a checkpoint (of
train or finetune) or an initialisation file holding Python objects is refused in one
line, without torch's advice to load it unsafely; evaluate refuses a model's flags on a
results file."""

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


def _evil_checkpoint(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump({"model": _Evil(), "optimizer": {}, "step": 1}, f, protocol=2)
    return path


def test_resume_from_a_checkpoint_holding_python_objects_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _evil_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert main(["train", "--data", str(tmp_path / "no-data"), "--out", str(tmp_path / "run"), "--resume",
                 "--device", "cpu", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checkpoint.pt" in err[0] and "weights_only" not in err[0], err
    assert "holds Python objects" in err[0] and "damagemap train without --resume" in err[0]
    assert not (tmp_path / "PWNED").exists()


def test_finetune_resume_from_a_checkpoint_holding_python_objects_is_one_line(tmp_path, monkeypatch, capsys):
    """The same refusal through ``finetune --resume``: the project's unfinished version
    has a plan and a checkpoint that is not what damagemap wrote."""
    import dataclasses
    import json

    from core.store import ProjectStore
    from engine.finetune import FinetuneConfig
    from services.finetune import PLAN_NAME
    from services.models import new_version

    monkeypatch.chdir(tmp_path)
    project = tmp_path / "flight.dmproj"
    (tmp_path / "flight.mp4").write_bytes(b"")  # only its presence is checked on the way
    with ProjectStore.create(project, video_path=tmp_path / "flight.mp4"):
        pass
    version = new_version(project)
    config = FinetuneConfig(base_weights=str(tmp_path / "base.safetensors"), data=str(version.folder / "data"),
                            out=str(version.folder), steps=3)
    (version.folder / PLAN_NAME).write_text(json.dumps({
        "run_id": 1, "train_frames": [0], "heldout_frames": [], "config": dataclasses.asdict(config)}))
    _evil_checkpoint(version.folder / "checkpoint.pt")
    assert main(["finetune", str(project), "--resume", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("resuming ft-001")
    assert len(err) == 2 and err[1].startswith("damagemap finetune: error: "), err
    assert str(version.folder / "checkpoint.pt") in err[1] and "weights_only" not in err[1]
    assert "holds Python objects" in err[1] and "damagemap finetune without --resume" in err[1]
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("flags", [["--input-size", "480"], ["--save-predictions", "again.json"],
                                   ["--building-gate", "0.5"], ["--flip-check"], ["--no-close-look"],
                                   ["--sharpness-ceiling", "200"], ["--frames", "video"],
                                   ["--input-size", "480", "--save-predictions", "again.json"]])
def test_evaluate_refuses_model_flags_when_scoring_a_results_file(tmp_path, capsys, flags):
    """A results file has no model to resize or re-save; a table printed as if it had would mislead."""
    results = tmp_path / "results.json"
    results.write_text("[]", encoding="utf-8")
    assert main(["evaluate", "--data", str(tmp_path / "no-data"), "--predictions", str(results), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    named = [flag.replace("--frames", "--frames video")
             for flag in ("--input-size", "--building-gate", "--sharpness-ceiling", "--flip-check", "--frames",
                          "--no-close-look", "--save-predictions")
             if flag in flags]
    assert err.startswith(f"damagemap evaluate: error: {', '.join(named)}: only when a model runs"), err
    assert "results.json" in err
    assert not (tmp_path / "again.json").exists()


def test_evaluate_without_weights_scores_the_shipped_model(tmp_path, capsys):
    """As ``predict`` and ``analyze`` do, ``evaluate`` runs the shipped detector when no
    weights are named: here on the hand-marked real ISBDA frame, where it finds damage."""
    import json
    from pathlib import Path

    from engine.weights import DEFAULT_MSNET_WEIGHTS

    marked = Path(__file__).resolve().parents[1] / "data" / "isbda-frame"
    record = tmp_path / "metrics.json"
    assert main(["evaluate", "--data", str(marked), "--split", "test", "--device", "cpu", "--json", str(record)]) == 0
    written = json.loads(record.read_text(encoding="utf-8"))
    assert written["source"] == str(DEFAULT_MSNET_WEIGHTS)
    assert written["metrics"]["bbox"]["AP25"] > 0  # the exposed decking is found
    assert str(DEFAULT_MSNET_WEIGHTS) in capsys.readouterr().out
