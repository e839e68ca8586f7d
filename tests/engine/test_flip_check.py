"""The mirror check: a detection's score is its mean over the image and its mirror image."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from core.errors import ModelError
from engine.msnet.flip_check import flip_checked, mirror_boxes, mirrored_scores
from engine.weights import load_model

WIDTH = 100


def _detections(boxes, labels, scores, **extra):
    return {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.tensor(labels),
            "scores": torch.tensor(scores), **extra}


def test_mirroring_twice_gives_the_boxes_back() -> None:
    boxes = torch.tensor([[10.0, 5.0, 30.0, 25.0], [0.0, 0.0, 100.0, 50.0]])
    assert mirror_boxes(boxes, WIDTH).tolist() == [[70.0, 5.0, 90.0, 25.0], [0.0, 0.0, 100.0, 50.0]]
    assert torch.equal(mirror_boxes(mirror_boxes(boxes, WIDTH), WIDTH), boxes)


def test_only_the_same_level_at_the_mirrored_place_counts() -> None:
    original = _detections([[10, 10, 30, 30], [10, 10, 30, 30], [60, 60, 80, 80]], [1, 2, 1], [0.9, 0.8, 0.7])
    # the mirrored view: a Slight at the first box's mirrored place, a Slight where the
    # second (Severe) one is, and nothing near the third
    mirrored = _detections([[71, 10, 91, 30], [70, 10, 90, 30], [0, 60, 10, 70]], [1, 1, 1], [0.6, 0.4, 0.9])
    scores = mirrored_scores(original, mirrored, WIDTH)
    assert scores.tolist() == pytest.approx([0.6, 0.0, 0.0])
    assert mirrored_scores(original, _detections([], [], []), WIDTH).tolist() == [0.0, 0.0, 0.0]


def test_scores_are_averaged_reordered_and_floored_with_every_per_detection_field() -> None:
    crops = ["crop-a", "crop-b", "crop-c"]
    original = _detections([[10, 10, 30, 30], [40, 10, 60, 30], [60, 60, 80, 80]], [1, 1, 3], [0.9, 0.8, 0.08],
                           mask_crops=crops, building_boxes=torch.zeros((3, 4)), building_scores=torch.ones(3))
    mirrored = _detections([[40, 10, 60, 30], [70, 10, 90, 30]], [1, 1], [1.0, 0.2])
    checked = flip_checked(original, mirrored, WIDTH, score_floor=0.05)
    # the second is seen in both views (1.0), the first only weakly (0.2), the third not
    # at all: 0.04 falls under the box head's floor and is dropped
    assert checked["scores"].tolist() == pytest.approx([0.9, 0.55])
    assert checked["boxes"].tolist() == [[40, 10, 60, 30], [10, 10, 30, 30]]
    assert checked["mask_crops"] == ["crop-b", "crop-a"]
    assert checked["labels"].tolist() == [1, 1]
    assert checked["building_scores"].tolist() == [1.0, 1.0, 1.0]  # the buildings are not damage


def test_the_model_checks_each_image_against_its_own_mirror_image(random_msnet) -> None:
    """With the check on, the outputs are those of two plain runs (the images, their
    mirror images) merged by :func:`flip_checked`; the SRN's features stay the images'."""
    torch.manual_seed(1)
    images = [torch.rand(3, 64, 96), torch.rand(3, 64, 96)]
    with torch.no_grad():
        plain, features, sizes = random_msnet.detect_with_features(images)
        mirrored = random_msnet([image.flip(-1) for image in images])
        random_msnet.flip_check = True
        try:
            checked, checked_features, checked_sizes = random_msnet.detect_with_features(images)
        finally:
            random_msnet.flip_check = False
    assert all(len(p["scores"]) > 0 for p in plain)
    for image, p, m, c in zip(images, plain, mirrored, checked):
        expected = flip_checked(p, m, image.shape[-1], score_floor=random_msnet.roi_heads.score_thresh)
        assert torch.allclose(c["scores"], expected["scores"], atol=1e-4)
        assert torch.allclose(c["boxes"], expected["boxes"], atol=1e-3)
        assert c["masks"].shape[1:] == (1, 64, 96)
        assert (c["scores"] <= (p["scores"].max() + m["scores"].max()) / 2 + 1e-5).all()
    assert checked_sizes == sizes
    assert all(checked_features[k].shape == features[k].shape for k in features)
    assert all(torch.allclose(checked_features[k], features[k], atol=1e-5) for k in features)


def test_the_weights_config_turns_it_on_and_refuses_a_non_boolean(tiny_detector, tmp_path) -> None:
    for name in ("msnet.safetensors", "msnet.json"):
        shutil.copyfile(tiny_detector / name, tmp_path / name)
    config_path = tmp_path / "msnet.json"
    config = json.loads(config_path.read_text())
    model, _ = load_model(tmp_path / "msnet.safetensors")
    assert model.flip_check is False
    model, _ = load_model(tmp_path / "msnet.safetensors", inference={"flip_check": True})
    assert model.flip_check is True
    config["inference"] = {"flip_check": "yes"}
    config_path.write_text(json.dumps(config))
    with pytest.raises(ModelError, match="inference setting 'flip_check' must be true or false; got 'yes'") as error:
        load_model(tmp_path / "msnet.safetensors")
    assert "msnet.json" in str(error.value)
