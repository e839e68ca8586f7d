"""The close look: each detection seen again in a full-resolution crop, its score combined
with the crop's probability of damage; the head fitted on a detector's own detections."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from core.errors import InputError, ModelError
from engine.msnet.close_look import (
    MIN_CROP_PX,
    CloseLookHead,
    combined_scores,
    crop_boxes,
    crops,
    damage_probabilities,
)
from engine.msnet.close_look_fit import Examples, auc, fit_head, label_detections, main
from engine.msnet.rescore import rescored
from engine.weights import load_model


def test_a_crop_is_a_square_around_the_box_with_a_margin_and_a_least_size() -> None:
    squares = crop_boxes(torch.tensor([[10.0, 20.0, 50.0, 40.0], [100.0, 100.0, 102.0, 103.0]]))
    # 40 x 20 box: a 60-pixel square on its centre (30, 30)
    assert squares[0].tolist() == pytest.approx([0.0, 0.0, 60.0, 60.0])
    # a tiny box is seen with its surroundings
    assert (squares[1, 2] - squares[1, 0]).item() == pytest.approx(MIN_CROP_PX)
    assert ((squares[1, :2] + squares[1, 2:]) / 2).tolist() == pytest.approx([101.0, 101.5])


def test_crops_show_what_lies_around_each_box_at_the_crop_size() -> None:
    image = torch.zeros(3, 120, 160)
    image[0, 40:80, 60:100] = 1.0  # a red square
    cut = crops(image, torch.tensor([[60.0, 40.0, 100.0, 80.0], [0.0, 0.0, 20.0, 20.0]]), 30)
    assert cut.shape == (2, 3, 30, 30)
    # the red square fills the middle two thirds of the first crop (a quarter margin each side)
    assert cut[0, 0, 10:20, 10:20].min().item() == pytest.approx(1.0)
    assert cut[0, 0, :3].max().item() == pytest.approx(0.0)
    assert cut[0, 1:].abs().max().item() == 0.0
    assert cut[1].abs().max().item() == 0.0  # a corner far from the square; black past the edge
    assert crops(image, torch.zeros((0, 4)), 30).shape == (0, 3, 30, 30)


def test_a_rejected_detection_falls_below_an_accepted_one_and_under_the_floor() -> None:
    detections = {"boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]]),
                  "labels": torch.tensor([1, 2, 3]), "scores": torch.tensor([0.9, 0.6, 0.3]),
                  "mask_crops": ["a", "b", "c"], "building_boxes": torch.zeros((3, 4))}
    probabilities = torch.tensor([0.25, 0.9, 0.5])
    new = combined_scores(detections["scores"], probabilities)
    assert new.tolist() == pytest.approx([0.225, 0.54, 0.15])
    looked = rescored(detections, new, score_floor=0.2)
    assert looked["scores"].tolist() == pytest.approx([0.54, 0.225])
    assert looked["labels"].tolist() == [2, 1]
    assert looked["mask_crops"] == ["b", "a"]
    assert looked["building_boxes"].shape == (3, 4)  # buildings are not damage: left as they are


def test_detections_are_labelled_by_the_annotated_damage_and_buildings() -> None:
    damage = torch.tensor([[10.0, 10.0, 30.0, 30.0]])
    houses = torch.tensor([[0.0, 0.0, 60.0, 40.0]])
    boxes = torch.tensor([
        [12.0, 12.0, 28.0, 28.0],    # on the damage
        [5.0, 5.0, 60.0, 35.0],      # the whole roof: its centre is outside the damage, IoU < 0.25
        [100.0, 100.0, 120.0, 120.0],  # far from any damaged building
        [40.0, 20.0, 60.0, 40.0],    # on the damaged house beside its damage: neither
    ])
    assert label_detections(boxes, damage, houses).tolist() == [1, -1, 0, -1]
    assert label_detections(boxes[2:3], damage[:0], houses[:0]).tolist() == [0]


def _tiny_body() -> torch.nn.Module:
    """A two-conv stand-in for a backbone body: an ordered dict of maps, like the detector's."""
    from torchvision.models._utils import IntermediateLayerGetter

    layers = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.ReLU(),
                                 torch.nn.Conv2d(8, 8, 3, stride=2, padding=1), torch.nn.ReLU())
    return IntermediateLayerGetter(layers, return_layers={"1": "0", "3": "1"})


def test_fixed_batches_give_the_same_probabilities_with_one_batch_shape() -> None:
    """Off the CPU the close look pads its last batch, so a video has one batch shape
    (one cuDNN plan); each crop's probability is what it is in a batch of its own size."""
    torch.manual_seed(0)
    head = CloseLookHead(_tiny_body(), crop_px=24).eval()
    seen: list[int] = []
    head.body.register_forward_hook(lambda module, args, out: seen.append(args[0].shape[0]))
    generator = torch.Generator().manual_seed(4)
    images = [torch.rand(3, 90, 120, generator=generator) for _ in range(2)]
    boxes = [torch.tensor([[10.0, 10.0, 40.0, 30.0], [50.0, 20.0, 90.0, 70.0], [0.0, 60.0, 20.0, 90.0]]),
             torch.tensor([[30.0, 30.0, 60.0, 60.0], [70.0, 5.0, 110.0, 45.0]])]
    mean, std = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
    with torch.no_grad():
        as_they_come = damage_probabilities(images, boxes, head, mean, std, batch_size=4, fixed_batches=False)
        assert seen == [4, 1]
        seen.clear()
        fixed = damage_probabilities(images, boxes, head, mean, std, batch_size=4, fixed_batches=True)
    assert seen == [4, 4]
    assert [len(p) for p in fixed] == [3, 2]
    for ours, theirs in zip(fixed, as_they_come):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


def _blob_crops(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Grey crops (uint8, 24 px), every other one with an orange patch somewhere: label 1."""
    batch = 0.45 + 0.1 * torch.rand(count, 3, 24, 24, generator=generator)
    labels = torch.arange(count) % 2
    for i in range(1, count, 2):
        x, y = torch.randint(0, 16, (2,), generator=generator).tolist()
        batch[i, :, y:y + 8, x:x + 8] = torch.tensor([0.9, 0.55, 0.2])[:, None, None]
    return (batch * 255).round().to(torch.uint8), labels


def test_the_fitted_head_learns_to_tell_the_crops_apart() -> None:
    from engine.msnet.close_look_fit import probabilities

    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    mean, std = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
    train_crops, train_labels = _blob_crops(256, generator)
    head = CloseLookHead(_tiny_body(), crop_px=24)
    head.requires_grad_(False)  # frozen layers of a detector's body are trained all the same
    before = probabilities(head, Examples(*_blob_crops(64, generator), torch.rand(64)), mean, std)
    fit_head(head, Examples(train_crops, train_labels, torch.rand(256)), mean, std, epochs=8, lr=1e-2,
             batch_size=32, log_every=0)
    held_out = Examples(*_blob_crops(64, generator), torch.rand(64))
    p = probabilities(head, held_out, mean, std)
    assert auc(held_out.labels, p) > 0.95
    assert ((p > 0.5).long() == held_out.labels).float().mean() > 0.9
    assert before.std() < p.std()  # it learnt: untrained, every crop got about the same
    assert head.prior_logit.item() == pytest.approx(0.0)  # half the examples were damage
    head.prior_logit.fill_(math.log(3.0))  # three in four: the odds of each crop tripled
    odds = p / (1 - p)
    assert probabilities(head, held_out, mean, std) == pytest.approx(3 * odds / (1 + 3 * odds), abs=1e-4)
    with pytest.raises(ValueError, match="both kinds"):
        fit_head(head, Examples(train_crops, torch.ones(256, dtype=torch.long), torch.rand(256)), mean, std)


def test_a_head_rounded_as_stored_is_what_compact_storage_gives_back() -> None:
    """The fit measures its held-out AUCs on the head as the file will hold it."""
    from engine.compact import compact_state, expand_state
    from engine.msnet.close_look_fit import round_as_stored

    torch.manual_seed(0)
    head = CloseLookHead(_tiny_body(), crop_px=24)

    def stored_and_loaded() -> dict[str, torch.Tensor]:
        state = {"close_look_head." + name: value for name, value in head.state_dict().items()}
        return {name: value.float() for name, value in expand_state(compact_state(state), source="x").items()}

    weight = "close_look_head.body.0.weight"
    assert not torch.equal(stored_and_loaded()[weight], head.state_dict()["body.0.weight"])  # int8 rounds it
    round_as_stored(head)
    assert all(torch.equal(value, head.state_dict()[name.removeprefix("close_look_head.")].float())
               for name, value in stored_and_loaded().items())


def test_auc_counts_pairs_ranked_right() -> None:
    labels = torch.tensor([1, 1, 0, 0])
    assert auc(labels, torch.tensor([0.9, 0.8, 0.1, 0.2])) == 1.0
    assert auc(labels, torch.tensor([0.1, 0.2, 0.9, 0.8])) == 0.0
    assert auc(labels, torch.tensor([0.5, 0.5, 0.5, 0.5])) == 0.5


@pytest.fixture(scope="module")
def fitted(tiny_detector, damage_dataset, tmp_path_factory):
    """The tiny detector with a close-look head fitted on two frames (every score kept)."""
    root = tmp_path_factory.mktemp("close-look")
    data = damage_dataset(root / "data")
    out = root / "model" / "msnet.safetensors"
    assert main(["--weights", str(tiny_detector / "msnet.safetensors"), "--data", f"{data}:train",
                 "--out", str(out), "--crop-px", "32", "--min-score", "0.0", "--epochs", "1"]) == 0
    return out


def test_the_fit_keeps_the_detector_and_adds_a_head_that_runs(fitted, tiny_detector) -> None:
    config = json.loads(fitted.with_suffix(".json").read_text())
    assert config["model"]["close_look_px"] == 32
    assert config["inference"]["close_look"] is True
    assert config["close_look"]["examples"] > 0
    prior = config["close_look"]["on_damage"] / config["close_look"]["examples"]
    assert config["close_look"]["prior"] == pytest.approx(prior, abs=1e-3)
    model, _ = load_model(fitted)
    base, _ = load_model(tiny_detector / "msnet.safetensors")
    assert isinstance(model.close_look_head, CloseLookHead) and model.close_look is True
    # its odds are those of damage among the detections it learnt from, not half and half
    assert model.close_look_head.prior_logit.item() == pytest.approx(math.log(prior / (1 - prior)), abs=1e-3)
    head_keys = {k for k in model.state_dict() if k.startswith("close_look_head.")}
    assert {"close_look_head.linear.weight", "close_look_head.linear.bias"} <= head_keys
    # a backbone of its own, started from the detector's and fine-tuned on the crops
    body_keys = {k.removeprefix("close_look_head.") for k in head_keys if k.startswith("close_look_head.body.")}
    assert body_keys == {k.removeprefix("backbone.") for k in base.state_dict() if k.startswith("backbone.body.")}
    assert any(not torch.equal(model.state_dict()["close_look_head." + k], base.state_dict()["backbone." + k])
               for k in body_keys)
    for key, value in base.state_dict().items():  # the detector itself is unchanged
        assert torch.equal(model.state_dict()[key], value), key

    torch.manual_seed(3)
    images = [torch.rand(3, 64, 80)]
    model.roi_heads.score_thresh = base.roi_heads.score_thresh = 0.0
    with torch.no_grad():
        plain = base(images)[0]
        looked = model(images)[0]
        model.close_look = False
        off = model(images)[0]
    assert torch.equal(off["scores"], plain["scores"])
    assert len(plain["scores"]) > 0 and len(looked["scores"]) == len(plain["scores"])
    # each looked score is score * p of a plain detection with the same box
    for box, score in zip(looked["boxes"], looked["scores"]):
        match = (plain["boxes"] - box).abs().sum(dim=1).argmin()
        assert score <= plain["scores"][match] + 1e-6
    assert not torch.allclose(looked["scores"].sort().values, plain["scores"].sort().values)


def test_weights_without_a_head_refuse_the_close_look_by_name(tiny_detector, tmp_path) -> None:
    for name in ("msnet.safetensors", "msnet.json"):
        shutil.copyfile(tiny_detector / name, tmp_path / name)
    with pytest.raises(ModelError, match="no close-look head") as error:
        load_model(tmp_path / "msnet.safetensors", inference={"close_look": True})
    assert "msnet.safetensors" in str(error.value)
    assert load_model(tmp_path / "msnet.safetensors", inference={"close_look": False})[0].close_look is False
    config = json.loads((tmp_path / "msnet.json").read_text())
    config["inference"] = {"close_look": 1}
    (tmp_path / "msnet.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="inference setting 'close_look' must be true or false; got 1"):
        load_model(tmp_path / "msnet.safetensors")


def test_frames_can_come_from_the_flights_video_as_the_analysis_decodes_it(sites_flyover) -> None:
    from engine.msnet.close_look_fit import _frames

    spec = f"{sites_flyover.out_dir}:train:2"
    stills = list(_frames(spec))
    decoded = list(_frames(spec, from_video=True))
    assert len(decoded) == len(stills) > 1
    for (still, _, damage, houses), (frame, image, video_damage, video_houses) in zip(stills, decoded):
        assert frame.shape == still.shape and torch.equal(image, still)
        assert torch.equal(video_damage, damage) and torch.equal(video_houses, houses)
        # the same picture, with the video's compression in place of the still's
        difference = (frame - still).abs().mean().item()
        assert 0 < difference < 0.05
    # each decoded frame is the one its still was taken from, not a neighbour
    assert (decoded[0][0] - stills[0][0]).abs().mean() < (decoded[0][0] - stills[1][0]).abs().mean()


def test_both_sources_give_each_video_detection_twice_video_crops_first(sites_flyover, tiny_detector) -> None:
    from engine.msnet.close_look_fit import collect

    model, _ = load_model(tiny_detector / "msnet.safetensors", inference={"close_look": False})
    model.roi_heads.score_thresh = 0.0
    spec = f"{sites_flyover.out_dir}:train:2"
    video = collect(model, [spec], crop_px=16, min_score=0.0, frames="video")
    both = collect(model, [spec], crop_px=16, min_score=0.0, frames="both")
    count = len(video.labels)
    assert count > 0 and len(both.labels) == 2 * count
    assert torch.equal(both.crops[:count], video.crops)
    assert torch.equal(both.labels[count:], video.labels) and torch.equal(both.scores[count:], video.scores)
    # the second half: the same boxes cut from the stills, close to the video's but not equal
    difference = (both.crops[count:].float() - video.crops.float()).abs().mean().item()
    assert 0 < difference < 0.05 * 255
    with pytest.raises(ValueError, match="frames must be one of images, video, both"):
        collect(model, [spec], crop_px=16, min_score=0.0, frames="stills")


def test_both_sources_take_a_folder_of_photos_as_its_images(sites_flyover, tiny_detector, damage_dataset,
                                                            tmp_path) -> None:
    # labelled real photos (no flight.mp4) fitted beside flights: their crops once, from the images
    from engine.msnet.close_look_fit import collect

    model, _ = load_model(tiny_detector / "msnet.safetensors", inference={"close_look": False})
    model.roi_heads.score_thresh = 0.0
    photos = f"{damage_dataset(tmp_path / 'photos')}:train"
    flight = f"{sites_flyover.out_dir}:train:2"
    from_images = collect(model, [photos], crop_px=16, min_score=0.0, frames="images")
    assert len(from_images.labels) > 0
    alone = collect(model, [photos], crop_px=16, min_score=0.0, frames="both")
    assert torch.equal(alone.crops, from_images.crops) and torch.equal(alone.labels, from_images.labels)
    video = collect(model, [flight], crop_px=16, min_score=0.0, frames="video")
    mixed = collect(model, [flight, photos], crop_px=16, min_score=0.0, frames="both")
    count, photo_count = len(video.labels), len(from_images.labels)
    assert len(mixed.labels) == 2 * count + photo_count
    assert torch.equal(mixed.crops[:count], video.crops)
    assert torch.equal(mixed.crops[count:count + photo_count], from_images.crops)
    with pytest.raises(InputError, match="no flight.mp4"):
        collect(model, [photos], crop_px=16, min_score=0.0, frames="video")


def test_both_sources_take_exported_frames_from_the_video_their_images_name(sites_flyover, tiny_detector,
                                                                               tmp_path) -> None:
    """An exported data set (``export --training``) names each image's video in its
    ``video`` field and has no flight.mp4 of its own: "both" took it for photos, so its
    detections were never seen with the video's compression."""
    import json
    import shutil

    from engine.msnet.close_look_fit import collect

    model, _ = load_model(tiny_detector / "msnet.safetensors", inference={"close_look": False})
    model.roi_heads.score_thresh = 0.0
    exported = tmp_path / "training"
    (exported / "annotations").mkdir(parents=True)
    shutil.copytree(sites_flyover.out_dir / "train", exported / "train")
    coco = json.loads((sites_flyover.out_dir / "annotations" / "instances_train.json").read_text())
    for image in coco["images"]:
        image["video"] = str(sites_flyover.out_dir / "flight.mp4")
    (exported / "annotations" / "instances_train.json").write_text(json.dumps(coco))
    assert not (exported / "flight.mp4").exists()

    video = collect(model, [f"{sites_flyover.out_dir}:train:2"], crop_px=16, min_score=0.0, frames="video")
    both = collect(model, [f"{exported}:train:2"], crop_px=16, min_score=0.0, frames="both")
    count = len(video.labels)
    assert count > 0 and len(both.labels) == 2 * count
    assert torch.equal(both.crops[:count], video.crops)
