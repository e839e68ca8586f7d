"""Ctrl+C inside a fine-tune step writes the checkpoint of the last whole step (long
before the periodic one at step 25), and the resumed run ends with the weights of a run
that never stopped."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from engine.checkpoint import checkpoint_step
from engine.finetune import FinetuneConfig, FinetuneInterrupted, finetune, run_to_end
from tests.training_helpers import interrupt_at, render_tiny_flyover, save_tiny_base, saved_weights, write_reviewed

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return save_tiny_base(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory) -> Path:
    """A tiny flyover's frames as an exported set of reviewed frames (a rejected region each)."""
    return write_reviewed(render_tiny_flyover(tmp_path_factory.mktemp("flyover")), tmp_path_factory.mktemp("reviewed"),
                          negatives=True)


def config_for(base: Path, reviewed: Path, out: Path, **changes) -> FinetuneConfig:
    """Four steps, the periodic checkpoint at its default (every 25 steps: never here)."""
    settings = dict(base_weights=str(base), data=str(reviewed), out=str(out), steps=4, batch_size=1,
                    replay_fraction=0.0, seed=7, scope="last", device="cpu")
    return FinetuneConfig(**{**settings, **changes})






@pytest.mark.parametrize("scope", ["roi", "last"])
def test_ctrl_c_inside_a_step_checkpoints_the_last_whole_step_and_resumes_exactly(base, reviewed, tmp_path,
                                                                                   monkeypatch, scope):
    whole = run_to_end(config_for(base, reviewed, tmp_path / "whole", scope=scope))
    config = config_for(base, reviewed, tmp_path / "stopped", scope=scope)
    states = []
    with monkeypatch.context() as patched:
        interrupt_at(patched, 2)
        with pytest.raises(FinetuneInterrupted) as stopped:
            for progress in finetune(config):
                states.append(progress.step)
    assert states == [0, 1, 2]  # the item before the first step, then the steps
    assert stopped.value.step == 2 and stopped.value.checkpoint == tmp_path / "stopped" / "checkpoint.pt"
    assert checkpoint_step(tmp_path / "stopped" / "checkpoint.pt") == 2
    assert not (tmp_path / "stopped" / "model.safetensors").exists()

    resumed = run_to_end(dataclasses.replace(config, resume=True))
    assert resumed.state == "finished" and resumed.step == 4
    a, b = saved_weights(whole.weights), saved_weights(resumed.weights)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ctrl_c_before_the_first_step_leaves_a_checkpoint_at_step_0(base, reviewed, tmp_path, monkeypatch):
    config = config_for(base, reviewed, tmp_path / "early")
    with monkeypatch.context() as patched:
        interrupt_at(patched, 0)
        with pytest.raises(FinetuneInterrupted) as stopped:
            list(finetune(config))
    assert stopped.value.step == 0 and checkpoint_step(tmp_path / "early" / "checkpoint.pt") == 0
    assert run_to_end(dataclasses.replace(config, resume=True)).step == 4
