"""engine.finetune on a tiny model and a tiny synthetic flyover: rejected regions are
negatives, unreviewed ones are ignored, only the given frames are seen, and a run
cancelled and resumed ends with the weights of a run that never stopped."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest
import torch

from core.errors import InputError
from engine.finetune import FinetuneConfig, ReviewedRegions, finetune, run_to_end, trainable_scope
from tests.training_helpers import render_tiny_flyover, save_tiny_base, saved_weights, write_reviewed

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def flyover(tmp_path_factory) -> Path:
    return render_tiny_flyover(tmp_path_factory.mktemp("ft-flyover"))


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return save_tiny_base(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def reviewed(flyover, tmp_path_factory) -> Path:
    """The flyover's frames as a reviewed set: one rejected region on each frame, an
    unreviewed one on the first."""
    return write_reviewed(flyover, tmp_path_factory.mktemp("reviewed"), unreviewed=True)


def _config(base, reviewed, out, **changes) -> FinetuneConfig:
    settings = dict(base_weights=str(base), data=str(reviewed), out=str(out), steps=4, batch_size=1,
                    replay_fraction=0.0, checkpoint_every=0, seed=7)
    settings.update(changes)
    return FinetuneConfig(**settings)




@pytest.mark.parametrize("scope", ["roi", "last"])
def test_cancel_and_resume_give_the_weights_of_an_uninterrupted_run(base, reviewed, flyover, tmp_path, scope):
    whole = run_to_end(_config(base, reviewed, tmp_path / "whole", replay=[str(flyover)], replay_fraction=0.5,
                               batch_size=2, scope=scope))
    assert whole.state == "finished" and whole.step == 4

    cancel = threading.Event()
    config = _config(base, reviewed, tmp_path / "split", replay=[str(flyover)], replay_fraction=0.5, batch_size=2,
                     scope=scope)
    states = []
    for progress in finetune(config, cancel=cancel):
        states.append(progress.state)
        if progress.step == 2:
            cancel.set()
    assert states[-1] == "cancelled" and progress.step == 2
    assert not (tmp_path / "split" / "model.safetensors").exists()
    resumed = run_to_end(dataclasses.replace(config, resume=True))
    assert resumed.state == "finished" and resumed.step == 4

    a, b = saved_weights(whole.weights), saved_weights(resumed.weights)
    initial = saved_weights(base)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    changed = {k for k in a if not torch.equal(a[k], initial[k])}
    assert changed  # it did train
    if scope == "roi":  # only the box and mask heads
        assert all(k.startswith("roi_heads.") for k in changed)


def test_only_the_given_frames_are_seen_and_each_once_per_pass(base, reviewed, tmp_path):
    frames = json.loads((reviewed / "annotations" / "instances_train.json").read_text())["images"]
    result = run_to_end(_config(base, reviewed, tmp_path / "out", steps=len(frames)))
    seen = result.summary["frames_seen_this_session"]
    assert sorted(seen) == sorted(f"review:frame{image['frame_index']}" for image in frames)
    card = json.loads((tmp_path / "out" / "model.json").read_text())
    assert card["summary"]["reviewed_frames"] == len(frames)
    assert card["finetune"]["base_weights"] == str(base)


def test_rejected_regions_are_background_and_never_targets(base):
    from engine.weights import load_model

    model, _ = load_model(base)
    model.train()
    image = torch.rand(3, 64, 96)
    target = {
        "boxes": torch.tensor([[50.0, 20.0, 80.0, 50.0]]),
        "labels": torch.tensor([2]),
        "masks": torch.zeros(1, 64, 96, dtype=torch.uint8),
        "building_boxes": torch.tensor([[45.0, 15.0, 85.0, 55.0]]),
    }
    target["masks"][0, 20:50, 50:80] = 1
    far = torch.tensor([[2.0, 2.0, 30.0, 30.0]])  # the model's input is not resized: 96x64 both ways
    on_target = torch.tensor([[51.0, 21.0, 80.0, 50.0]])
    with ReviewedRegions(model) as regions:
        losses = model([image], [{**target, "negative_boxes": far}])
        assert losses["loss_negative"] > 0
        losses["loss_negative"].backward()
        assert model.roi_heads.box_predictor.cls_score.weight.grad is not None
        # a rejected box on a kept target is left out: the reviewer kept something there
        assert "loss_negative" not in model([image], [{**target, "negative_boxes": on_target}])
    assert not regions._handles
    assert "loss_negative" not in model([image], [{**target, "negative_boxes": far}])  # hooks removed


def test_unreviewed_regions_get_no_label_in_a_fine_tune_of_the_box_head(base, reviewed):
    """The ``roi`` scope runs the box head on the frozen trunk's cached outputs: the
    unreviewed region reaches it resized with the frame, and no proposal on it is
    labelled background (as in a fine-tune of the whole model and in training)."""
    from torchvision.ops import box_iou

    from engine.data import ISBDADataset
    from engine.finetune import _FrozenTrunk, _prepare, _roi_losses
    from engine.weights import load_model

    model, _ = load_model(base)
    model.train()
    image, target = _prepare(*ISBDADataset(reviewed, "train")[0], False, torch.device("cpu"))
    image = torch.nn.functional.interpolate(image[None], scale_factor=2.0)[0]  # resized back by the model
    target = {**target, "ignore_boxes": target["ignore_boxes"] * 2, "boxes": target["boxes"] * 2,
              "building_boxes": target["building_boxes"] * 2,
              "masks": target["masks"].repeat_interleave(2, -1).repeat_interleave(2, -2)}
    region = target["ignore_boxes"] / 2
    labelled: list[tuple[torch.Tensor, torch.Tensor]] = []
    assign = model.roi_heads.assign_targets_to_proposals

    def seen(proposals, gt_boxes, gt_labels):  # noqa: ANN001, ANN202
        matched, labels = assign([torch.cat([p, region]) for p in proposals], gt_boxes, gt_labels)
        labelled.append((torch.cat([proposals[0], region]), labels[0]))
        return [m[:-1] for m in matched], [l[:-1] for l in labels]

    model.roi_heads.assign_targets_to_proposals = seen
    with ReviewedRegions(model):
        _roi_losses(model, _FrozenTrunk(model), [((0, 0, False), image, target)])
    proposals, labels = labelled[-1]
    on_region = box_iou(proposals, region)[:, 0] >= 0.5
    assert on_region.any() and not (labels[on_region] == 0).any()


def test_cpu_scope_trains_heads_and_last_stage_only(base):
    from engine.weights import load_model

    model, _ = load_model(base)
    names = trainable_scope(model, "last")
    assert any(n.startswith("roi_heads.") for n in names) and any(n.startswith("rpn.") for n in names)
    assert any(n.startswith("backbone.fpn.") for n in names)
    assert not any(n.startswith("backbone.body.0.") for n in names)
    assert any(n.startswith("backbone.body.16.") for n in names)
    assert len(trainable_scope(model, "all")) == len(list(model.parameters()))


def test_bad_settings_and_nothing_to_resume_are_refused(base, reviewed, tmp_path):
    with pytest.raises(InputError, match="scope"):
        _config(base, reviewed, tmp_path, scope="everything")
    with pytest.raises(InputError, match="nothing to resume"):
        run_to_end(_config(base, reviewed, tmp_path / "none", resume=True))


def test_the_dataset_carries_rejected_and_unreviewed_regions_through_a_flip(reviewed, flyover):
    from engine.data import ISBDADataset
    from engine.data.transforms import RandomHorizontalFlip

    image, target = ISBDADataset(reviewed, "train")[0]
    assert target["negative_boxes"].tolist() == [[2.0, 2.0, 22.0, 18.0]]
    assert target["ignore_boxes"].tolist() == [[40.0, 30.0, 70.0, 50.0]]
    _, flipped = RandomHorizontalFlip(1.0)(image, target)
    assert flipped["negative_boxes"].tolist() == [[74.0, 2.0, 94.0, 18.0]]
    assert flipped["ignore_boxes"].tolist() == [[26.0, 30.0, 56.0, 50.0]]
    _, plain = ISBDADataset(flyover, "train")[0]  # a file without the lists: targets as before
    assert "negative_boxes" not in plain and "ignore_boxes" not in plain


def test_a_fine_tune_of_the_backbone_leaves_the_close_look_as_it_was(reviewed, tmp_path):
    """The close look has a backbone of its own: the detector's fine-tune neither trains
    nor turns it off, even when it trains the detector's backbone."""
    from engine.msnet import build_msnet
    from engine.weights import load_model, save_model

    torch.manual_seed(0)
    model = build_msnet(backbone="mobilenet_v3", heads="light", min_size=64, max_size=96, close_look_px=32,
                        anchor_sizes=(16, 32, 64, 128, 256), box_batch_size_per_image=32)
    base = save_model(model, tmp_path / "base" / "msnet.safetensors")
    config = json.loads(base.with_suffix(".json").read_text())
    config["inference"] = {"close_look": True}
    base.with_suffix(".json").write_text(json.dumps(config))
    last = run_to_end(_config(base, reviewed, tmp_path / "last", scope="last"))
    tuned, tuned_config = load_model(last.weights)
    original, _ = load_model(base)
    assert tuned.close_look is True and tuned_config["inference"]["close_look"] is True
    head = {k: v for k, v in original.state_dict().items() if k.startswith("close_look_head.")}
    assert head and all(torch.equal(tuned.state_dict()[k], v) for k, v in head.items())
    trained_body = [k for k, v in original.state_dict().items()
                    if k.startswith("backbone.body.") and not torch.equal(tuned.state_dict()[k], v)]
    assert trained_body  # the detector's own backbone did change
