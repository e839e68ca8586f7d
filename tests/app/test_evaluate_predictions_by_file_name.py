"""``damagemap evaluate --predictions`` on ``damagemap predict``'s ``predictions.json``:
results are scored against the images they name (``file_name``), whatever order predict
was given the images in; and a model run by ``evaluate`` gives every result a mask."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from app.cli import main
from engine.weights import save_model

NAMES = ("f0.png", "f1.png", "f2.png")


def _box_polygon(box: list[float]) -> list[list[float]]:
    x, y, w, h = box
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def _write_truth(root: Path, truth_of: dict[str, list[tuple[list[float], int]]], *, first_id: int = 101) -> Path:
    """``root/annotations/instances_val.json``: each 80 x 64 image's parts (box, level),
    the images numbered from ``first_id``."""
    images, annotations = [], []
    for index, name in enumerate(NAMES):
        images.append({"id": first_id + index, "file_name": name, "width": 80, "height": 64})
        for box, level in truth_of.get(name, []):
            annotations.append({"id": len(annotations) + 1, "image_id": first_id + index, "category_id": level,
                                "bbox": box, "damage_bbox": box, "area": box[2] * box[3], "iscrowd": 0,
                                "segmentation": _box_polygon(box)})
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    path = root / "annotations" / "instances_val.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": []}))
    return path


def _metrics(tmp_path: Path, data: Path, predictions: Path, capsys) -> tuple[dict, str]:
    record = tmp_path / f"{predictions.parent.name}-metrics.json"
    assert main(["evaluate", "--data", str(data), "--split", "val", "--predictions", str(predictions),
                 "--json", str(record)]) == 0
    return json.loads(record.read_text())["metrics"], capsys.readouterr().err


def _predict_style(result_of: dict[str, tuple[list[float], int]], order: list[str]) -> list[dict]:
    """Results as ``damagemap predict`` writes them for images given in ``order``: ids 1..N."""
    results = []
    for image_id, name in enumerate(order, start=1):
        box, level = result_of[name]
        rle = mask_utils.frPyObjects(_box_polygon(box), 64, 80)[0]
        rle["counts"] = rle["counts"].decode("ascii")
        results.append({"image_id": image_id, "category_id": level, "bbox": box, "score": 0.9, "segmentation": rle,
                        "file_name": name, "path": f"data/val/{name}", "width": 80, "height": 64})
    return results


PARTS = {"f0.png": ([10.0, 10.0, 30.0, 20.0], 1), "f1.png": ([40.0, 30.0, 30.0, 25.0], 2),
         "f2.png": ([5.0, 35.0, 20.0, 25.0], 3)}


def test_predictions_in_any_order_score_as_the_images_they_name(tmp_path, capsys):
    data = tmp_path / "data"
    truth = _write_truth(data, {name: [part] for name, part in PARTS.items()})
    tables = {}
    for label, order in (("given", list(NAMES)), ("reversed", list(reversed(NAMES)))):
        results = tmp_path / label / "predictions.json"
        results.parent.mkdir()
        results.write_text(json.dumps(_predict_style(PARTS, order)))
        tables[label], err = _metrics(tmp_path, data, results, capsys)
        # predict's ids (1, 2, 3) are never the data set's (101, 102, 103): said, not silent
        assert err.strip() == (f"{results}: results matched to the images of {truth} by file name "
                               "(3 image(s) have another image id there)")
    assert tables["reversed"] == tables["given"]
    assert tables["given"]["segm"]["AP"] == pytest.approx(1.0) and tables["given"]["bbox"]["AP"] == pytest.approx(1.0)


def test_results_of_some_of_the_images_are_said_and_can_be_scored_on_those_alone(tmp_path, capsys):
    """predict run on two of the split's three images: scored against the whole split, the
    third image's damage counted as missed without a word (AP 10.5 where the images
    predicted scored 33.7)."""
    data = tmp_path / "data"
    _write_truth(data, {name: [part] for name, part in PARTS.items()})
    results = tmp_path / "some" / "predictions.json"
    results.parent.mkdir()
    results.write_text(json.dumps(_predict_style(PARTS, ["f0.png", "f1.png"])))
    whole, err = _metrics(tmp_path, data, results, capsys)
    assert "1 of the split's 3 images have damage and no result" in err and "--images-in-results" in err
    assert whole["segm"]["AP"] < 0.9
    record = tmp_path / "named.json"
    assert main(["evaluate", "--data", str(data), "--split", "val", "--predictions", str(results),
                 "--images-in-results", "--json", str(record)]) == 0
    assert "scoring the 2 image(s) it names, of the split's 3" in capsys.readouterr().err
    assert json.loads(record.read_text())["metrics"]["segm"]["AP"] == pytest.approx(1.0)
    assert main(["evaluate", "--data", str(data), "--split", "val", "--images-in-results"]) == 2  # a model run


def test_predictions_naming_images_the_split_lacks_are_refused_naming_them(tmp_path, capsys):
    data = tmp_path / "data"
    truth = _write_truth(data, {name: [part] for name, part in PARTS.items()})
    parts = {**PARTS, "DJI_0007.JPG": PARTS["f0.png"], "x.jpg": PARTS["f1.png"]}
    results = tmp_path / "predictions.json"
    results.write_text(json.dumps(_predict_style(parts, ["f0.png", "x.jpg", "DJI_0007.JPG"])))
    assert main(["evaluate", "--data", str(data), "--split", "val", "--predictions", str(results)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"damagemap evaluate: error: {results}: 2 image(s) it names are not in {truth}: "
                   "'DJI_0007.JPG', 'x.jpg'; give results made over the images it lists"]


@pytest.fixture
def weights(tmp_path, tiny_model) -> Path:
    path = tmp_path / "tiny.safetensors"
    save_model(tiny_model, path)
    return path


def test_predict_then_evaluate_scores_images_in_another_order_as_the_images_they_are(tmp_path, weights, capsys):
    """The data set numbers f0, f1 as 1, 2; predict is given f1, f0 (and numbers them 1,
    2). With each image's ground truth the tiny model's own boxes on it, its predictions
    score 100 box AP; by image id they were scored against one another's ground truth,
    silently."""
    data = tmp_path / "data"
    (data / "val").mkdir(parents=True)
    rng = np.random.default_rng(7)
    for name in NAMES[:2]:
        Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(data / "val" / name)
    out = tmp_path / "out"
    assert main(["predict", str(data / "val" / "f1.png"), str(data / "val" / "f0.png"), "--weights", str(weights),
                 "--out", str(out), "--json-threshold", "0.0", "--device", "cpu"]) == 0
    results = json.loads((out / "predictions.json").read_text())
    assert {(r["image_id"], r["file_name"]) for r in results} == {(1, "f1.png"), (2, "f0.png")}
    truth: dict[str, list] = {}
    for result in results:
        truth.setdefault(result["file_name"], []).append((result["bbox"], result["category_id"]))
    truth_file = _write_truth(data, truth, first_id=1)
    capsys.readouterr()
    metrics, err = _metrics(tmp_path, data, out / "predictions.json", capsys)
    assert metrics["bbox"]["AP"] == pytest.approx(1.0)
    assert err.strip() == (f"{out / 'predictions.json'}: results matched to the images of {truth_file} by file name "
                           "(2 image(s) have another image id there)")


def test_evaluate_running_a_model_gives_every_result_a_mask(tmp_path, tiny_model, damage_dataset, capsys):
    """``damagemap evaluate`` turns the model's output into COCO results as ``predict``
    does: a mask whose probabilities stay under 0.5 (a box a few pixels tall) keeps its
    most probable pixels in its box instead of an empty mask that scores an IoU of 0."""
    import torch

    model = copy.deepcopy(tiny_model)
    with torch.no_grad():  # every pasted mask far under 0.5
        model.roi_heads.mask_predictor.mask_fcn_logits.bias.fill_(-8.0)
    weights = tmp_path / "faint.safetensors"
    save_model(model, weights)
    data = damage_dataset(tmp_path / "data", "val")
    saved = tmp_path / "results.json"
    assert main(["evaluate", "--data", str(data), "--split", "val", "--weights", str(weights),
                 "--save-predictions", str(saved), "--device", "cpu", "--batch-size", "1"]) == 0
    results = json.loads(saved.read_text())
    assert results
    for result in results:
        mask = mask_utils.decode(result["segmentation"])
        rows, columns = np.nonzero(mask)
        assert rows.size, result["bbox"]
        x, y, w, h = result["bbox"]
        assert np.floor(x) <= columns.min() and columns.max() < np.ceil(x + w)
        assert np.floor(y) <= rows.min() and rows.max() < np.ceil(y + h)


def test_saved_predictions_name_their_images_so_another_data_sets_are_refused(tmp_path, tiny_model, damage_dataset,
                                                                              capsys):
    """``evaluate --save-predictions`` wrote results by image id alone: given back with
    another data set (or split) whose images are numbered alike, they were scored against
    that set's ground truth without a word."""
    weights = tmp_path / "tiny.safetensors"
    save_model(tiny_model, weights)
    data = damage_dataset(tmp_path / "data", "val")
    saved = tmp_path / "results.json"
    assert main(["evaluate", "--data", str(data), "--split", "val", "--weights", str(weights),
                 "--save-predictions", str(saved), "--device", "cpu", "--batch-size", "1"]) == 0
    results = json.loads(saved.read_text())
    assert results and {(r["image_id"], r["file_name"], r["width"], r["height"]) for r in results} <= {
        (1, "f0.png", 80, 64), (2, "f1.png", 80, 64)}
    assert {r["level"] for r in results} <= {"slight", "severe", "debris"}
    other = damage_dataset(tmp_path / "other", "val")
    coco_file = other / "annotations" / "instances_val.json"
    coco = json.loads(coco_file.read_text())
    for image in coco["images"]:
        (other / "val" / image["file_name"]).rename(other / "val" / f"x{image['file_name']}")
        image["file_name"] = f"x{image['file_name']}"
    coco_file.write_text(json.dumps(coco))
    capsys.readouterr()
    assert main(["evaluate", "--data", str(other), "--split", "val", "--predictions", str(saved)]) == 2
    err = capsys.readouterr().err
    assert f"{saved}: " in err and "image(s) it names are not in" in err and "'f0.png'" in err
