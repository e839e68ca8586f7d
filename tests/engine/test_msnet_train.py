"""The trainer end to end on a two-image dataset: weights + config written, resume continues."""

from __future__ import annotations

import json

import pytest

from engine.train import TrainConfig, learning_rate, train
from engine.weights import load_model


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_train_saves_loadable_weights_and_resumes(tmp_path, damage_dataset):
    data = damage_dataset(tmp_path / "data")
    config = TrainConfig(
        data=[str(data)], out=str(tmp_path / "run"), arch="msnet", backbone="mobilenet_v3", heads="light",
        val_split=None, epochs=5, batch_size=2, lr=0.01, warmup_steps=0, min_size=64, max_size=96,
        multiscale=False, anchor_sizes=(16, 32, 64, 128, 256), roi_batch_size=32, workers=0, max_steps=2,
        log_every=1, save_half=True,
    )
    summary = train(config, progress=False)
    assert summary["steps"] == 2
    assert set(summary["last_losses"]) >= {"loss", "loss_objectness_building", "loss_mask"}
    model, saved_config = load_model(tmp_path / "run" / "model.safetensors")
    assert saved_config["model"]["arch"] == "msnet" and saved_config["training"]["batch_size"] == 2
    assert saved_config["summary"]["steps"] == 2
    assert saved_config["summary"]["device"] == "cpu"  # where it trained, whatever --device said ("auto")
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [record["step"] for record in log] == [1, 2]

    config.resume, config.max_steps = True, 3
    resumed = train(config, progress=False)
    assert resumed["steps"] == 3  # continued from the checkpoint's step 2


def test_paper_schedule_with_warmup():
    config = TrainConfig(data=["x"], warmup_steps=100)
    assert learning_rate(config, epoch=0, step=0) == 0.003 * 0.001
    assert learning_rate(config, epoch=0, step=100) == 0.003
    assert learning_rate(config, epoch=9, step=5000) == 0.003
    assert learning_rate(config, epoch=10, step=5000) == 0.001


def test_cosine_schedule_decays_to_the_floor_over_max_steps():
    config = TrainConfig(data=["x"], lr=0.01, lr_after_drop=0.0005, lr_schedule="cosine", max_steps=1000, warmup_steps=0)
    assert learning_rate(config, epoch=0, step=0) == pytest.approx(0.01)
    assert learning_rate(config, epoch=0, step=500) == pytest.approx((0.01 + 0.0005) / 2)
    assert learning_rate(config, epoch=50, step=1000) == pytest.approx(0.0005)
    steps = [learning_rate(config, epoch=0, step=s) for s in range(0, 1001, 50)]
    assert all(a >= b for a, b in zip(steps, steps[1:]))
    staged = TrainConfig(data=["x"], lr=0.01, lr_after_drop=0.0005, lr_schedule="cosine", max_steps=200,
                         schedule_steps=1000, warmup_steps=0)
    assert learning_rate(staged, epoch=0, step=200) == learning_rate(config, epoch=0, step=200)


def test_step_checkpoints_and_held_out_evaluations_are_logged(tmp_path, damage_dataset):
    data = tmp_path / "data"
    damage_dataset(data)
    damage_dataset(data, split="val")
    config = TrainConfig(
        data=[str(data)], out=str(tmp_path / "run"), arch="msnet", backbone="mobilenet_v3", heads="light",
        val_split="val", epochs=5, batch_size=1, lr=0.01, warmup_steps=0, min_size=64, max_size=96,
        multiscale=False, anchor_sizes=(16, 32, 64, 128, 256), roi_batch_size=32, workers=0, max_steps=3,
        eval_every=100, eval_every_steps=2, checkpoint_every_steps=1, photometric=1.0, fine_detail=1.0, log_every=1,
    )
    train(config, progress=False)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    evaluated = [record["step"] for record in log if "eval" in record]
    assert evaluated == [2, 3]  # every 2 steps, and at the end
    assert set(log[-1]["eval"]) == {"segm", "bbox"}
    assert not (tmp_path / "run" / "checkpoint.partial").exists()
