"""``damagemap predict``: overlays and COCO results in the original image's pixels; an
image that cannot be read is named and skipped, the others written."""

from __future__ import annotations

import copy
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


@pytest.fixture
def faint_weights(tmp_path, tiny_model):
    """The tiny model with its mask logits pushed far down: every pasted mask stays far
    under 0.5, as the masks of boxes a few pixels tall do."""
    import torch

    model = copy.deepcopy(tiny_model)
    with torch.no_grad():
        model.roi_heads.mask_predictor.mask_fcn_logits.bias.fill_(-8.0)
    path = tmp_path / "faint.safetensors"
    save_model(model, path)
    return path


def _image(path, seed: int = 0, size: tuple[int, int] = (64, 48)):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
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


def test_the_count_printed_is_of_the_predictions_drawn_whatever_the_json_keeps(tmp_path, weights, capsys):
    """--json-threshold over --score-threshold: the picture drew 11 predictions and the
    line said 2 (counted from those the JSON kept)."""
    path = _image(tmp_path / "frame.png", size=(200, 120))
    every = tmp_path / "every"
    assert main(["predict", str(path), "--weights", str(weights), "--out", str(every), "--json-threshold", "0.0",
                 "--score-threshold", "0.0"]) == 0
    drawn = len(json.loads((every / "predictions.json").read_text()))
    assert drawn >= 2
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["predict", str(path), "--weights", str(weights), "--out", str(out), "--json-threshold", "1.0",
                 "--score-threshold", "0.0"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert f": {drawn} damage prediction(s) >= 0.0 ->" in line, line
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


def test_an_unreadable_image_is_named_and_skipped_and_the_others_are_written(tmp_path, weights, capsys):
    """One bad file in a batch of drone stills no longer throws the batch away."""
    first = _image(tmp_path / "first.png", 0)
    truncated = tmp_path / "truncated.jpg"
    _image(truncated, 1)
    truncated.write_bytes(truncated.read_bytes()[:300])
    missing = tmp_path / "missing.jpg"
    last = _image(tmp_path / "last.png", 2)
    out = tmp_path / "out"
    argv = ["predict", *map(str, (first, truncated, missing, last)), "--weights", str(weights), "--out", str(out),
            "--json-threshold", "0.0", "--device", "cpu"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert any(line.startswith(f"{truncated}: cannot read image (") and line.endswith("; skipped") for line in err), err
    assert f"{missing}: cannot read image (no such file); skipped" in err, err
    assert err[-1] == (f"damagemap predict: error: 2 of 4 images could not be read and were skipped: "
                       f"{str(truncated)!r}, {str(missing)!r}; {out / 'predictions.json'} holds the other 2")
    assert "Traceback" not in captured.err
    assert {p.name for p in out.iterdir()} == {"first-prediction.jpg", "last-prediction.jpg", "predictions.json"}
    results = json.loads((out / "predictions.json").read_text())
    # ids are places on the command line: the skipped images' ids stay unused
    assert {(r["image_id"], r["file_name"]) for r in results} == {(1, "first.png"), (4, "last.png")}


def test_no_readable_image_writes_no_predictions(tmp_path, weights, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image\n")
    out = tmp_path / "out"
    argv = ["predict", str(text), str(tmp_path / "missing.png"), "--weights", str(weights), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("damagemap predict: error: all 2 images could not be read ("), err
    assert not (out / "predictions.json").exists()


def test_only_missing_images_are_refused_before_the_model_loads_and_out_is_made(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["predict", str(tmp_path / "a.jpg"), str(tmp_path), "--weights", str(tmp_path / "missing.safetensors"),
            "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"damagemap predict: error: no image to predict on: {str(tmp_path / 'a.jpg')!r}, "
                   f"{str(tmp_path)!r} are missing or a folder")
    assert not out.exists()


def test_bad_weights_leave_no_out_folder(tmp_path, weights, capsys):
    image = _image(tmp_path / "frame.png")
    weights.write_bytes(b"not safetensors at all")  # its config beside it is fine
    out = tmp_path / "out"
    assert main(["predict", str(image), "--weights", str(weights), "--out", str(out), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"damagemap predict: error: {weights}: not a readable"), err
    assert not out.exists()


def test_masks_the_threshold_would_empty_keep_their_most_probable_pixels(tmp_path, faint_weights):
    """Every result has a mask inside its box, even where the mask head's probabilities
    stay under 0.5 (about 15 % of the shipped model's results, its smallest boxes, had
    an empty RLE mask, which scores an IoU of 0)."""
    image = _image(tmp_path / "frame.png", 3, (80, 64))
    out = tmp_path / "out"
    assert main(["predict", str(image), "--weights", str(faint_weights), "--out", str(out),
                 "--json-threshold", "0.0", "--device", "cpu"]) == 0
    results = json.loads((out / "predictions.json").read_text())
    assert results
    for result in results:
        mask = mask_utils.decode(result["segmentation"])
        assert mask.sum() > 0, result["bbox"]
        x, y, w, h = result["bbox"]
        rows, columns = np.nonzero(mask)
        assert np.floor(x) <= columns.min() and columns.max() < np.ceil(x + w)
        assert np.floor(y) <= rows.min() and rows.max() < np.ceil(y + h)


def test_a_photo_stored_sideways_is_looked_at_upright_and_a_16_bit_one_keeps_its_greys(tmp_path, weights):
    """A JPEG a camera stored sideways with an EXIF orientation (6: turn 90° clockwise to
    show) is analysed upright, as every viewer shows it, and answered in those pixels; a
    16-bit grey PNG is scaled to 8 bits, not clipped to white."""
    from app.commands.predict import _read_image

    ys, xs = np.mgrid[0:48, 0:80]
    upright = np.stack([xs * 3, ys * 5, np.full_like(xs, 90)], axis=2).astype(np.uint8)  # 80 wide, 48 tall as shown
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # 48 wide, 80 tall on disk
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways = tmp_path / "sideways.jpg"
    stored.save(sideways, exif=exif, quality=95)
    read = _read_image(sideways)
    assert read.shape == (48, 80, 3)
    assert np.abs(read.astype(int) - upright.astype(int)).mean() < 4  # the same picture, upright
    grey = tmp_path / "grey16.png"
    Image.fromarray((np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 30)).save(grey)
    read = _read_image(grey)
    assert read.shape == (32, 64, 3) and read.min() == 0 and 200 <= read.max() < 255 and len(np.unique(read)) > 100
    out = tmp_path / "out"
    assert main(["predict", str(sideways), "--weights", str(weights), "--out", str(out), "--json-threshold", "0.0",
                 "--device", "cpu"]) == 0
    results = json.loads((out / "predictions.json").read_text())
    assert results and all((r["width"], r["height"]) == (80, 48) for r in results)


def test_evaluate_scores_what_predict_finds(tmp_path):
    """`damagemap evaluate` runs the shipped detector as `predict` and `analyze` do
    (batch norms folded): on the real ISBDA frame the very detections with the very
    scores (unfolded, the close look scored 60 detections, 0.91 where predict gives 0.906),
    so its AP measures what a user gets."""
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data" / "isbda-frame"
    saved = tmp_path / "evaluated.json"
    assert main(["evaluate", "--data", str(data), "--split", "test", "--device", "cpu",
                 "--save-predictions", str(saved)]) == 0
    out = tmp_path / "out"
    assert main(["predict", str(data / "test" / "frame.png"), "--out", str(out), "--json-threshold", "0.0",
                 "--device", "cpu"]) == 0

    def found(results):
        return sorted((r["category_id"], round(r["score"], 5), *(round(v, 2) for v in r["bbox"])) for r in results)

    predicted = found(json.loads((out / "predictions.json").read_text()))
    assert predicted and found(json.loads(saved.read_text())) == predicted
