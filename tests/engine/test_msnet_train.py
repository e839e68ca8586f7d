"""The trainer end to end on a two-image dataset: weights + config written, resume continues."""

from __future__ import annotations

import json

import pytest

from engine.train import TrainConfig, learning_rate, train
from engine.weights import load_model


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny_config(data, out, **changes) -> TrainConfig:
    settings = dict(
        data=[str(data)], out=str(out), arch="msnet", backbone="mobilenet_v3", heads="light",
        val_split=None, epochs=5, batch_size=2, lr=0.01, warmup_steps=0, min_size=64, max_size=96,
        multiscale=False, anchor_sizes=(16, 32, 64, 128, 256), roi_batch_size=32, workers=0, max_steps=1,
        log_every=1,
    )
    return TrainConfig(**{**settings, **changes})


def _with_close_look(tmp_path, data, config: dict | None = None):
    """A tiny trained model given a close-look head for 32 px crops (weights no fresh head
    has), saved with ``config``: the model and its file."""
    import torch

    from engine.weights import save_model

    train(_tiny_config(data, tmp_path / "first"), progress=False)
    model, _ = load_model(tmp_path / "first" / "model.safetensors")
    head = model.add_close_look(32)
    with torch.no_grad():
        head.linear.weight.fill_(0.25)
        head.prior_logit.fill_(-1.5)
    model.build_config = {**model.build_config, "close_look_px": 32}
    looked = tmp_path / "looked.safetensors"
    save_model(model, looked, config)
    return model, looked


def test_train_saves_loadable_weights_and_resumes(tmp_path, damage_dataset):
    data = damage_dataset(tmp_path / "data")
    config = _tiny_config(data, tmp_path / "run", max_steps=2, save_half=True)
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
    config = _tiny_config(data, tmp_path / "run", val_split="val", batch_size=1, max_steps=3, eval_every=100,
                          eval_every_steps=2, checkpoint_every_steps=1, photometric=1.0, fine_detail=1.0)
    train(config, progress=False)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    evaluated = [record["step"] for record in log if "eval" in record]
    assert evaluated == [2, 3]  # every 2 steps, and at the end
    assert set(log[-1]["eval"]) == {"segm", "bbox"}
    assert not (tmp_path / "run" / "checkpoint.partial").exists()


def test_training_on_from_a_model_with_a_close_look_keeps_it_and_its_settings(tmp_path, damage_dataset):
    """The close look's weights are its own (the detection losses never train them): a
    detector trained on from such a model keeps them, with the file's test-time settings,
    but not the int8 ranges measured on the old detector."""
    import torch

    data = damage_dataset(tmp_path / "data")
    first, looked = _with_close_look(tmp_path, data, {
        "close_look": {"auc": 0.9},
        "inference": {"close_look": True, "sharpness_ceiling": 150,
                      "cpu_int8": {"rpn.trunk.0.0": [-1.0, 1.0, -1.0, 1.0]}}})
    head = first.close_look_head

    train(_tiny_config(data, tmp_path / "on", init=str(looked), lr=0.05), progress=False)
    model, config = load_model(tmp_path / "on" / "model.safetensors")
    assert model.close_look_head is not None and model.close_look
    kept = model.close_look_head.state_dict()
    original = head.state_dict()
    assert len(kept) > 10
    for name, tensor in kept.items():
        assert torch.equal(tensor, original[name]), name
    # the detector itself did train (the close look is not a copy of the new backbone)
    trained, before = model.backbone.fpn.state_dict(), first.backbone.fpn.state_dict()
    assert any(not torch.equal(trained[name], before[name]) for name in trained)
    assert config["close_look"] == {"auc": 0.9, "carried_from": str(looked)}
    assert config["inference"]["sharpness_ceiling"] == 150 and "cpu_int8" not in config["inference"]

    # an initialisation without a close look (the first model's own file) gives none
    train(_tiny_config(data, tmp_path / "plain", init=str(tmp_path / "first" / "model.safetensors")), progress=False)
    plain, plain_config = load_model(tmp_path / "plain" / "model.safetensors")
    assert plain.close_look_head is None and "close_look" not in plain_config


def test_a_close_look_that_does_not_fit_is_refused_before_training(tmp_path, damage_dataset):
    from core.errors import ModelError

    data = damage_dataset(tmp_path / "data")
    _, looked = _with_close_look(tmp_path, data)
    with pytest.raises(ModelError, match="looked.safetensors: its close look does not fit"):
        train(_tiny_config(data, tmp_path / "other", init=str(looked), backbone="mobilenet_v2"), progress=False)
    assert not (tmp_path / "other" / "log.jsonl").exists()  # refused before the first step


def test_planned_steps_end_at_max_steps_or_the_last_epoch():
    from engine.train import planned_steps

    assert planned_steps(TrainConfig(data=["x"], epochs=100, max_steps=800), batches_per_epoch=720) == 800
    assert planned_steps(TrainConfig(data=["x"], epochs=2, max_steps=800), batches_per_epoch=300) == 600
    assert planned_steps(TrainConfig(data=["x"], epochs=3, max_steps=None), batches_per_epoch=10) == 30


def test_progress_counts_the_steps_of_the_run_not_the_epochs(tmp_path, damage_dataset, capsys):
    """With --max-steps the bar counts to it (not "epoch 1/5" with an epoch's batches),
    and a resumed run's bar starts at the checkpoint's step."""
    data = damage_dataset(tmp_path / "data")
    config = _tiny_config(data, tmp_path / "run", max_steps=2)
    train(config, progress=True)
    first = capsys.readouterr().err
    assert "2/2" in first and "epoch 1/5:" not in first

    config.resume, config.max_steps = True, 3
    train(config, progress=True)
    resumed = capsys.readouterr().err
    assert "3/3" in resumed and "1/3" not in resumed


def test_looser_positive_overlaps_train_small_damage_on_more_anchors_and_proposals():
    """``damage_positive_iou`` / ``box_positive_iou`` reach the damage RPN's and the box
    head's matchers and nothing else: a 7 px part at 0.5 has positive anchors beyond the best ones
    every part keeps, the building RPN still asks 0.7."""
    import torch
    from torchvision.ops import box_iou

    from engine.train import build_model_for

    small_part = torch.tensor([[20.0, 20.0, 27.0, 27.0]])
    ys, xs = torch.meshgrid(torch.arange(0.0, 40.0), torch.arange(0.0, 40.0), indexing="ij")
    anchors = torch.stack([xs.flatten(), ys.flatten(), xs.flatten() + 8, ys.flatten() + 8], dim=1)  # 8 px, every pixel
    quality = box_iou(small_part, anchors)

    def positives(matcher) -> int:
        return int((matcher(quality) >= 0).sum())

    default = build_model_for(_tiny_config("unused", "unused"))
    loose = build_model_for(_tiny_config("unused", "unused", damage_positive_iou=0.5, box_positive_iou=0.4))
    assert positives(loose.rpn.damage_rpn.proposal_matcher) > positives(default.rpn.damage_rpn.proposal_matcher)
    assert positives(loose.roi_heads.proposal_matcher) > positives(default.roi_heads.proposal_matcher)
    assert loose.rpn.damage_rpn.proposal_matcher.low_threshold == 0.3  # negatives as before
    assert loose.rpn.building_rpn.proposal_matcher.high_threshold == 0.7
    assert loose.roi_heads.proposal_matcher.high_threshold == loose.roi_heads.proposal_matcher.low_threshold == 0.4


def test_a_positive_overlap_under_the_negatives_is_refused():
    from engine.msnet import set_training_matches
    from engine.train import build_model_for

    model = build_model_for(_tiny_config("unused", "unused"))
    with pytest.raises(ValueError, match="damage_positive_iou"):
        set_training_matches(model, damage_positive_iou=0.2)
    with pytest.raises(ValueError, match="box_positive_iou"):
        set_training_matches(model, box_positive_iou=0.0)
