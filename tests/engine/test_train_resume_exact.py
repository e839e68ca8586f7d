"""A training run stopped (``max_steps``, Ctrl+C) and resumed ends with the weights of a
run that never stopped: the rest of the interrupted epoch in its own order, the same
augmentation, the same epoch counter (the step schedule's drop), even when a Ctrl+C
lands inside an optimizer step. And the run folder is kept: a resume past ``max_steps``
trains nothing, a new run refuses a folder that holds one."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import InputError, ModelError
from engine.train import TrainConfig, TrainingInterrupted, train
from tests.training_helpers import interrupt_at

pytestmark = pytest.mark.usefixtures("one_torch_thread")

IMAGES = 3  # batch 1: an epoch is 3 steps


def _write_dataset(root: Path) -> Path:
    """``IMAGES`` 64x80 images, each with a damaged patch somewhere else (ISBDA layout)."""
    from PIL import Image

    (root / "train").mkdir(parents=True)
    (root / "annotations").mkdir()
    images, annotations = [], []
    for index in range(IMAGES):
        x, y = 8 + 14 * index, 12 + 6 * index
        frame = np.full((64, 80, 3), 40 + 30 * index, dtype=np.uint8)
        frame[y - 4:y + 28, x - 4:x + 34] = 140
        frame[y:y + 16, x:x + 20] = (230, 60, 40)
        Image.fromarray(frame).save(root / "train" / f"f{index}.png")
        images.append({"id": index + 1, "file_name": f"f{index}.png", "height": 64, "width": 80})
        annotations.append({"id": index + 1, "image_id": index + 1, "category_id": 1 + index % 3,
                            "segmentation": [[x, y, x + 20, y, x + 20, y + 16, x, y + 16]], "area": 320,
                            "damage_bbox": [x, y, 20, 16], "house_bbox": [x - 4, y - 4, 38, 32], "iscrowd": 0})
    (root / "annotations" / "instances_train.json").write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": []}))
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return _write_dataset(tmp_path_factory.mktemp("resume-data"))


def _config(data: Path, out: Path, **changes) -> TrainConfig:
    """A tiny run whose every random choice matters: shuffled batches of one, flips and
    distortions, multi-scale sizes, and a step schedule dropping after the first epoch."""
    settings = dict(
        data=[str(data)], out=str(out), arch="msnet", backbone="mobilenet_v3", heads="light", val_split=None,
        epochs=10, batch_size=1, lr=0.02, lr_after_drop=0.002, lr_drop_epoch=1, warmup_steps=0, min_size=64,
        max_size=96, multiscale=True, hflip=0.5, photometric=1.0, anchor_sizes=(16, 32, 64, 128, 256),
        roi_batch_size=32, workers=0, log_every=1,
    )
    return TrainConfig(**{**settings, **changes})


def _weights(out: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(out / "model.safetensors"))


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    different = [name for name in a if not torch.equal(a[name], b[name])]
    assert not different, f"{len(different)} of {len(a)} tensors differ, e.g. {different[0]}"


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory) -> dict[int, dict[str, torch.Tensor]]:
    """The weights of uninterrupted runs of 3 and 5 steps."""
    root = tmp_path_factory.mktemp("straight")
    weights = {}
    for steps in (3, 5):
        train(_config(data, root / f"s{steps}", max_steps=steps), progress=False)
        weights[steps] = _weights(root / f"s{steps}")
    return weights


def signal_in_step(monkeypatch, update: int, number: signal.Signals) -> None:  # noqa: ANN001 - pytest's
    """Send this process ``number`` in the middle of optimizer update ``update`` (from 1)."""
    calls = []
    step = torch.optim.SGD.step

    def step_then_signal(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == update:
            os.kill(os.getpid(), number)  # held until the update is over
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", step_then_signal)


def _checkpoint(out: Path) -> dict:
    return torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)


def test_a_run_resumed_in_chunks_ends_with_the_weights_of_one_that_never_stopped(data, straight, tmp_path):
    out = tmp_path / "chunks"
    config = _config(data, out, max_steps=2)  # stops inside the first epoch
    train(config, progress=False)
    assert (_checkpoint(out)["epoch"], _checkpoint(out)["epoch_position"]) == (0, 2)
    config.resume, config.max_steps = True, 3  # stops on the first epoch's last batch
    summary = train(config, progress=False)
    assert summary["epochs_completed"] == 1
    assert (_checkpoint(out)["epoch"], _checkpoint(out)["epoch_position"]) == (1, 0)
    _assert_same_weights(_weights(out), straight[3])
    config.max_steps = 5
    train(config, progress=False)
    _assert_same_weights(_weights(out), straight[5])
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [(r["step"], r["epoch"]) for r in log] == [(1, 0), (2, 0), (3, 0), (4, 1), (5, 1)]
    assert [r["lr"] for r in log] == [0.02, 0.02, 0.02, 0.002, 0.002]  # the drop after epoch 1, on time




def test_ctrl_c_writes_a_checkpoint_that_resumes_exactly(data, straight, tmp_path, monkeypatch):
    out = tmp_path / "stopped"
    config = _config(data, out, max_steps=5)
    with monkeypatch.context() as patched:
        interrupt_at(patched, 4)
        with pytest.raises(TrainingInterrupted) as stopped:
            train(config, progress=False)
    assert stopped.value.step == 4 and stopped.value.checkpoint == out / "checkpoint.pt"
    assert _checkpoint(out)["step"] == 4 and (_checkpoint(out)["epoch"], _checkpoint(out)["epoch_position"]) == (1, 1)
    assert not (out / "model.safetensors").exists()
    config.resume = True
    assert train(config, progress=False)["steps"] == 5
    _assert_same_weights(_weights(out), straight[5])


def test_ctrl_c_inside_an_optimizer_step_waits_for_the_whole_step(data, straight, tmp_path, monkeypatch):
    """A real SIGINT in the middle of the third update: the update completes, and the
    checkpoint holds the weights of three whole steps."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT has a handler of its own here")
    signal_in_step(monkeypatch, 3, signal.SIGINT)
    out = tmp_path / "mid-step"
    config = _config(data, out, max_steps=5)
    with pytest.raises(TrainingInterrupted) as stopped:
        train(config, progress=False)
    monkeypatch.undo()
    assert stopped.value.step == 3
    state = _checkpoint(out)
    expected = straight[3]
    model = {name: tensor for name, tensor in state["model"].items() if name in expected}
    assert model.keys() == expected.keys()
    for name, tensor in model.items():
        assert torch.equal(tensor.to(expected[name].dtype), expected[name]), name
    assert not (out / "model.safetensors").exists()
    # resumed where it stopped, at its last step (a Ctrl+C or a time limit during its last
    # evaluation): no step is taken, and the weights it never wrote are written (resuming
    # said "nothing to train; its weights are left as they are", and there were none)
    config.resume, config.max_steps = True, 3
    summary = train(config, progress=False)
    assert "nothing_to_train" not in summary and summary["steps"] == 3
    _assert_same_weights(_weights(out), straight[3])
    assert _checkpoint(out)["step"] == 3
    # weights of an earlier step beside the checkpoint (resumed to 5, stopped in the last
    # evaluation): written again at the checkpoint's step, not "left as they are"
    import json

    card = out / "model.json"
    card.write_text(json.dumps({**json.loads(card.read_text()), "summary": {"steps": 2}}))
    assert "nothing_to_train" not in train(config, progress=False)
    assert json.loads(card.read_text())["summary"]["steps"] == 3
    assert "nothing_to_train" in train(config, progress=False)  # now they are the checkpoint's


def test_a_resume_at_or_past_max_steps_trains_nothing_and_keeps_the_weights(data, tmp_path):
    out = tmp_path / "done"
    config = _config(data, out, max_steps=2)
    train(config, progress=False)
    before = (out / "model.safetensors").read_bytes(), (out / "log.jsonl").read_text()
    config.resume = True
    for max_steps in (2, 1):
        config.max_steps = max_steps
        summary = train(config, progress=False)
        assert summary["steps"] == 2
        assert f"already at step 2 (--max-steps {max_steps})" in summary["nothing_to_train"]
    assert ((out / "model.safetensors").read_bytes(), (out / "log.jsonl").read_text()) == before
    assert _checkpoint(out)["step"] == 2


def test_a_new_run_refuses_a_folder_that_holds_one_unless_told_to_overwrite(data, tmp_path):
    out = tmp_path / "run"
    train(_config(data, out, max_steps=2), progress=False)
    before = (out / "model.safetensors").read_bytes()
    with pytest.raises(InputError, match=r"run: holds a training run \(step 2\); continue it with --resume, or "
                                         r"choose another --out"):
        train(_config(data, out, max_steps=1), progress=False)
    assert (out / "model.safetensors").read_bytes() == before
    train(_config(data, out, max_steps=1, overwrite=True), progress=False)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [record["step"] for record in log] == [1]  # the new run's log alone
    assert _checkpoint(out)["step"] == 1


def test_a_resume_with_another_model_says_what_the_checkpoint_was_written_for(data, tmp_path):
    out = tmp_path / "run"
    config = _config(data, out, max_steps=1)
    train(config, progress=False)
    config.resume, config.max_steps, config.arch = True, 2, "maskrcnn"
    with pytest.raises(ModelError) as raised:
        train(config, progress=False)
    message = str(raised.value)
    assert "checkpoint.pt: cannot resume: the checkpoint was written for msnet/mobilenet_v3 with light heads; " \
           "this run is maskrcnn/mobilenet_v3 with light heads" in message, message
    assert "\n" not in message


def test_a_run_resumed_with_other_data_or_rates_records_what_each_step_trained_on(data, tmp_path):
    """A curriculum resumes with more flights, or another rate: the weights' record
    (model.json) names the options of every earlier stretch with the step it lasted to,
    not only the last (its first steps on other data lost from it). The same folder named
    another way is the same data: nothing recorded."""
    import dataclasses
    import shutil

    from engine.weights import read_config

    out = tmp_path / "run"
    train(_config(data, out, max_steps=1), progress=False)
    relative = os.path.relpath(data)
    train(_config(Path(relative), out, max_steps=2, resume=True), progress=False)
    assert "earlier_options" not in read_config(out / "model.safetensors")["summary"]
    more = Path(shutil.copytree(data, tmp_path / "more"))
    both = [str(data), str(more)]
    train(dataclasses.replace(_config(data, out, max_steps=3, resume=True), data=both), progress=False)
    train(dataclasses.replace(_config(data, out, max_steps=4, resume=True), data=both, lr=0.01), progress=False)
    card = read_config(out / "model.safetensors")
    assert card["summary"]["earlier_options"] == [
        {"until_step": 2, "data": [relative], "batch_size": 1, "lr": 0.02},  # as the run was last given it
        {"until_step": 3, "data": both, "batch_size": 1, "lr": 0.02},
    ]
    assert card["training"]["data"] == both and card["training"]["lr"] == 0.01 and card["summary"]["steps"] == 4


def _cli_flags(data: Path, out: Path) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--val-split", "none", "--backbone", "mobilenet_v3",
            "--heads", "light", "--epochs", "10", "--batch-size", "1", "--lr", "0.02", "--lr-after-drop", "0.002",
            "--lr-drop-epoch", "1", "--warmup-steps", "0", "--min-size", "64", "--max-size", "96",
            "--anchor-sizes", "16,32,64,128,256", "--roi-batch", "32", "--photometric", "1", "--workers", "0",
            "--max-steps", "5", "--quiet"]


def test_sigterm_inside_an_optimizer_step_checkpoints_the_whole_step_as_ctrl_c_does(data, straight, tmp_path,
                                                                                    monkeypatch, capsys):
    """A batch scheduler's stop (SIGTERM) in the middle of the third update: the command
    line finishes the update, writes the checkpoint, says how to continue and exits 143;
    the resumed run ends with the weights of one that never stopped."""
    from app.cli import main

    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        pytest.skip("SIGTERM has a handler of its own here")
    out = tmp_path / "terminated"
    with monkeypatch.context() as patched:
        signal_in_step(patched, 3, signal.SIGTERM)
        assert main(_cli_flags(data, out)) == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler lasts only as long as the command
    err = capsys.readouterr().err
    assert "damagemap train: interrupted at step 3; " in err and "continue it with: damagemap train " in err
    assert _checkpoint(out)["step"] == 3 and not (out / "model.safetensors").exists()
    assert main([*_cli_flags(data, out), "--resume"]) == 0
    _assert_same_weights(_weights(out), straight[5])


def test_the_command_line_says_what_ctrl_c_kept_and_how_to_continue(data, straight, tmp_path, monkeypatch, capsys):
    import shlex

    from app.cli import main

    out = tmp_path / "cli"
    flags = _cli_flags(data, out)
    with monkeypatch.context() as patched:
        interrupt_at(patched, 2)
        assert main(flags) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith("damagemap train: interrupted at step 2; ") and len(err.splitlines()) == 1, err
    assert f"{out / 'checkpoint.pt'} holds the run at that step; continue it with: damagemap train " in err
    command = shlex.split(err.split("continue it with: ", 1)[1])
    assert command[-1] == "--resume" and "--photometric" in command and "--quiet" in command
    assert main(command[1:]) == 0  # the command said continues the run, to the weights of one that never stopped
    _assert_same_weights(_weights(out), straight[5])

    assert main(command[1:]) == 0
    assert "already at step 5 (--max-steps 5): nothing to train" in capsys.readouterr().err
    assert main([word for word in command[1:] if word != "--resume"]) == 2
    assert "holds a training run (step 5); continue it with --resume" in capsys.readouterr().err
