"""``damagemap evaluate --predictions``: results over images the data set does not hold
(a ``damagemap predict`` over other photos) are one line naming both files, not
pycocotools' ``AssertionError``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from core.errors import InputError
from engine.data.isbda import annotation_path, read_coco_json
from engine.evaluate import evaluate_results, unknown_image_ids

DATA = Path(__file__).resolve().parents[1] / "data" / "isbda-frame"


def _result(image_id: int) -> dict:
    return {"image_id": image_id, "category_id": 1, "score": 0.9, "bbox": [10.0, 10.0, 20.0, 20.0]}


def test_results_naming_other_images_are_one_line_naming_both_files(tmp_path, capsys):
    results = tmp_path / "predictions.json"
    results.write_text(json.dumps([_result(1), _result(2), _result(7)]))
    assert main(["evaluate", "--data", str(DATA), "--split", "test", "--predictions", str(results)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert err[0].startswith(f"damagemap evaluate: error: {results}: image ids 2, 7 are not in ")
    assert str(annotation_path(DATA, "test")) in err[0]


def test_results_over_the_data_sets_images_are_scored(tmp_path, capsys):
    results = tmp_path / "predictions.json"
    results.write_text(json.dumps([_result(1)]))
    assert main(["evaluate", "--data", str(DATA), "--split", "test", "--predictions", str(results)]) == 0
    assert "AP" in capsys.readouterr().out


def test_evaluate_results_refuses_unknown_images_as_an_input_error():
    annotations = read_coco_json(annotation_path(DATA, "test"))
    assert unknown_image_ids(annotations, [_result(1), _result(3), _result(3)]) == [3]
    with pytest.raises(InputError, match="image ids 3 "):
        evaluate_results(annotations, [_result(1), _result(3)])


@pytest.mark.parametrize(("drop", "words"), [
    (("images", "height"), "image 1 has no 'height'; every image needs id, file_name, width, height"),
    (("annotations", "segmentation"), "has no 'segmentation': the paper's protocol scores masks and boxes"),
])
def test_annotations_missing_a_field_the_scoring_needs_are_one_line(tmp_path, capsys, drop, words):
    """An annotation file without an image's size or an annotation's mask: one line naming
    what is missing (and the file, where it is the file's), not pycocotools' KeyError."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    path = annotation_path(data, "test")
    doc = json.loads(path.read_text())
    key, field = drop
    for item in doc[key]:
        item.pop(field, None)
    path.write_text(json.dumps(doc))
    results = tmp_path / "predictions.json"
    masked = {**_result(1), "segmentation": {"size": [792, 1382], "counts": "0" + "1" * 3}}  # masks to score
    results.write_text(json.dumps([masked]))
    assert main(["evaluate", "--data", str(data), "--split", "test", "--predictions", str(results)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0] and words in err[0], err


def test_results_with_boxes_only_are_scored_as_boxes_not_as_masks_of_ap_0(tmp_path, capsys):
    results = tmp_path / "boxes.json"
    results.write_text(json.dumps([_result(1)]))  # no segmentation
    assert main(["evaluate", "--data", str(DATA), "--split", "test", "--predictions", str(results)]) == 0
    captured = capsys.readouterr()
    assert "the results hold boxes only (no segmentation): box AP alone" in captured.err
    rows = [line.split()[0] for line in captured.out.splitlines()[2:]]
    assert rows == ["box"], captured.out
