"""``damagemap predict``: overlays and COCO results in the original image's pixels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from app.cli import main
from engine.weights import save_model


@pytest.fixture
def weights(tmp_path, tiny_model):
    path = tmp_path / "tiny.safetensors"
    save_model(tiny_model, path)
    return path


def test_predictions_json_describes_every_image_in_its_own_pixels(tmp_path, weights, capsys):
    rng = np.random.default_rng(0)
    paths = []
    for name, size in (("wide.png", (200, 120)), ("tall.jpg", (90, 150))):
        path = tmp_path / name
        Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
        paths.append(path)
    out = tmp_path / "out"
    assert main(["predict", *map(str, paths), "--weights", str(weights), "--out", str(out),
                 "--json-threshold", "0.0", "--device", "cpu"]) == 0
    results = json.loads((out / "predictions.json").read_text())
    assert (out / "wide-prediction.jpg").is_file() and (out / "tall-prediction.jpg").is_file()
    assert {r["file_name"] for r in results} == {"wide.png", "tall.jpg"}
    for result in results:
        width, height = (200, 120) if result["file_name"] == "wide.png" else (90, 150)
        assert (result["width"], result["height"]) == (width, height)
        assert result["image_id"] == (1 if result["file_name"] == "wide.png" else 2)
        assert result["level"] == {1: "slight", 2: "severe", 3: "debris"}[result["category_id"]]
        x, y, w, h = result["bbox"]
        assert 0 <= x and 0 <= y and x + w <= width + 1e-3 and y + h <= height + 1e-3
        assert min(w, h) >= 4  # no slivers
        assert 0.0 <= result["score"] <= 1.0
        assert result["segmentation"]["size"] == [height, width]
        assert mask_utils.area(result["segmentation"]) > 0
    assert len(results) >= 2
    assert "predictions.json" in capsys.readouterr().out


def test_threshold_keeps_only_confident_predictions(tmp_path, weights):
    path = tmp_path / "frame.png"
    Image.fromarray(np.full((120, 200, 3), 128, np.uint8)).save(path)
    out = tmp_path / "out"
    assert main(["predict", str(path), "--weights", str(weights), "--out", str(out), "--json-threshold", "0.99"]) == 0
    assert json.loads((out / "predictions.json").read_text()) == []


def test_an_image_larger_than_the_model_can_use_is_shrunk_and_answered_in_its_own_pixels(tmp_path, weights):
    """With the weights' ``max_frame_scale`` (1 x the tiny model's 96-px input here) a
    240 x 400 image is looked at as 96 x 160; its predictions are those of that smaller
    picture, in the image's own pixels."""
    import cv2

    config_path = weights.with_suffix(".json")
    config = json.loads(config_path.read_text())
    config["inference"] = {"max_frame_scale": 1}
    config_path.write_text(json.dumps(config))
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (240, 400, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "large.png")
    Image.fromarray(cv2.resize(image, (160, 96), interpolation=cv2.INTER_AREA)).save(tmp_path / "small.png")
    results = {}
    for name in ("large", "small"):
        assert main(["predict", str(tmp_path / f"{name}.png"), "--weights", str(weights), "--out",
                     str(tmp_path / name), "--json-threshold", "0.0", "--device", "cpu"]) == 0
        results[name] = json.loads((tmp_path / name / "predictions.json").read_text())
    large, small = results["large"], results["small"]
    assert large and len(large) == len(small)
    for big, little in zip(large, small):
        assert (big["width"], big["height"]) == (400, 240) and big["segmentation"]["size"] == [240, 400]
        assert big["category_id"] == little["category_id"] and big["score"] == pytest.approx(little["score"], abs=1e-5)
        assert big["bbox"] == pytest.approx([v * 2.5 for v in little["bbox"]], abs=0.05)
    # each mask pasted from the mask head straight into the large image: about 2.5 x 2.5 the area
    # (single masks of a few pixels differ more at their edges)
    assert sum(int(mask_utils.area(r["segmentation"])) for r in large) == pytest.approx(
        6.25 * sum(int(mask_utils.area(r["segmentation"])) for r in small), rel=0.1)


def test_images_of_the_same_name_from_different_folders_keep_their_own_overlays(tmp_path, weights):
    """DJI numbers restart on every card: ``a/DJI_0001.JPG`` and ``b/DJI_0001.JPG`` are two
    images, and predictions.json says which folder each came from."""
    paths = []
    for folder, grey in (("cardA", 60), ("cardB", 200)):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "DJI_0001.png"
        Image.fromarray(np.full((120, 200, 3), grey, np.uint8)).save(path)
        paths.append(path)
    out = tmp_path / "out"
    argv = ["predict", *map(str, paths), "--weights", str(weights), "--out", str(out), "--json-threshold", "0.0"]
    assert main(argv) == 0
    first, second = out / "DJI_0001-prediction.jpg", out / "DJI_0001-2-prediction.jpg"
    assert {p.name for p in out.glob("*.jpg")} == {first.name, second.name}
    # Each overlay shows its own frame (left half of the figure): the dark one first.
    assert np.asarray(Image.open(first)).mean() < np.asarray(Image.open(second)).mean()
    results = json.loads((out / "predictions.json").read_text())
    assert {(r["image_id"], r["file_name"], r["path"]) for r in results} == {
        (1, "DJI_0001.png", str(paths[0])), (2, "DJI_0001.png", str(paths[1]))}


def test_overlay_names_are_unique_and_follow_the_input_order():
    from pathlib import Path

    from app.commands.predict import overlay_names

    names = overlay_names([Path("a/x.jpg"), Path("b/x.JPG"), Path("c/x-2.png"), Path("d/X.jpg"), Path("e/y.jpg")])
    assert names == ["x-prediction.jpg", "x-2-prediction.jpg", "x-2-2-prediction.jpg", "X-3-prediction.jpg",
                     "y-prediction.jpg"]
