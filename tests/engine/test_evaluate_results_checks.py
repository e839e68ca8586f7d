"""``damagemap evaluate --predictions`` on results COCOeval cannot score or would score
wrongly without a word: a malformed entry is one line naming the file, the entry and the
field (not a traceback); labels of another numbering and masks of another size are refused
or warned about; no detections score 0 only where there is ground truth; text image ids
are told apart from numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from app.cli import main
from core.errors import InputError
from engine.data.isbda import annotation_path
from engine.evaluate import describe_ids, evaluate_results, read_results

DATA = Path(__file__).resolve().parents[1] / "data" / "isbda-frame"  # one 1382x792 image, 4 parts
HEIGHT, WIDTH = 80, 100
TRUTH = {
    "images": [{"id": 1, "width": WIDTH, "height": HEIGHT}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 50, 10, 50, 40, 10, 40]],
         "bbox": [10, 10, 40, 30], "iscrowd": 0, "area": 1200},  # medium
        {"id": 2, "image_id": 1, "category_id": 3, "segmentation": [[60, 50, 90, 50, 90, 75, 60, 75]],
         "bbox": [60, 50, 30, 25], "iscrowd": 0, "area": 750},  # small
    ],
}


def _rle(box: list[int], height: int = HEIGHT, width: int = WIDTH) -> dict:
    x, y, w, h = box
    mask = np.zeros((height, width), np.uint8)
    mask[y : y + h, x : x + w] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def _result(image_id=1, category_id=1, box=(10, 10, 40, 30), **fields) -> dict:
    x, y, w, h = box
    result = {"image_id": image_id, "category_id": category_id, "bbox": [x, y, w, h], "score": 0.9}
    return {**result, **fields}


def _frame_result(category_id: int = 1, **fields) -> dict:
    """A result on tests/data/isbda-frame's image, with a mask of its size."""
    fields.setdefault("segmentation", _rle([100, 100, 50, 40], 792, 1382))
    return _result(category_id=category_id, box=(100, 100, 50, 40), **fields)


def _evaluate(tmp_path, results, capsys) -> tuple[int, str, str]:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    code = main(["evaluate", "--data", str(DATA), "--split", "test", "--predictions", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


BROKEN = {
    "no score": ({k: v for k, v in _result().items() if k != "score"}, "has no 'score'"),
    "text score": (_result(score="high"), "has 'score' 'high', not a number"),
    "short bbox": (_result(bbox=[1, 2]), "has 'bbox' [1, 2], not [x, y, width, height]"),
    "no category": ({k: v for k, v in _result().items() if k != "category_id"}, "has no 'category_id'"),
    "neither box nor mask": ({k: v for k, v in _result().items() if k != "bbox"}, "neither 'bbox' nor"),
    "bad mask": (_result(segmentation={"counts": "abc"}), "has a 'segmentation' whose 'size' is None"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_malformed_result_is_named_with_its_entry_and_field(tmp_path, name):
    broken, said = BROKEN[name]
    path = tmp_path / "results.json"
    path.write_text(json.dumps([_result(), broken, broken]))
    with pytest.raises(InputError) as caught:
        read_results(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: result 2 of 3 ") and said in message, message
    assert "(2 of the 3 results have such a problem)" in message


@pytest.mark.parametrize("name", ["no score", "text score", "short bbox"])
def test_evaluate_predictions_says_one_line_not_a_traceback(tmp_path, capsys, name):
    code, _, err = _evaluate(tmp_path, [BROKEN[name][0]], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "results.json: result 1 of 1 " in lines[0] and BROKEN[name][1] in lines[0]


def test_results_none_of_whose_categories_are_the_splits_are_refused(tmp_path, capsys):
    code, out, err = _evaluate(tmp_path, [_frame_result(9), _frame_result(9)], capsys)
    assert code == 2 and "AP" not in out
    assert "2 results have category_id 9 (of 2)" in err and "uses 1 slight, 2 severe, 3 debris" in err, err


def test_labels_counted_from_zero_are_refused(tmp_path, capsys):
    code, out, err = _evaluate(tmp_path, [_frame_result(0), _frame_result(1), _frame_result(2)], capsys)
    assert code == 2 and "AP" not in out
    assert "1 result has category_id 0 (of 3)" in err and "counted from 0" in err, err


def test_some_results_of_other_categories_are_scored_with_a_warning(tmp_path, capsys):
    code, out, err = _evaluate(tmp_path, [_frame_result(1), _frame_result(7)], capsys)
    assert code == 0 and "mask" in out
    assert "1 result has category_id 7 (of 2)" in err and "left out of every AP" in err, err


def test_masks_of_another_size_than_the_image_are_refused(tmp_path, capsys):
    results = [_frame_result(), _frame_result(segmentation=_rle([1, 1, 5, 5], 10, 10))]
    code, out, err = _evaluate(tmp_path, results, capsys)
    assert code == 2 and "AP" not in out
    assert "1 of the 2 results have a mask of another size" in err
    assert "(result 2, image id 1: mask size 10x10, image 1382x792)" in err, err


def test_no_detections_score_nothing_only_where_there_is_ground_truth(tmp_path, capsys):
    metrics = evaluate_results(TRUTH, [])
    for iou_type in ("segm", "bbox"):
        row = metrics[iou_type]
        assert row["AP"] == row["APS"] == row["APM"] == 0.0
        assert row["APL"] == -1.0  # no large ground truth, as COCO says for any results

    code, out, err = _evaluate(tmp_path, [], capsys)  # the frame's parts are medium and large
    assert code == 0 and "holds no detections" in err
    mask_row = next(line for line in out.splitlines() if line.startswith("mask")).split()
    assert mask_row[1:] == ["0.0", "0.0", "0.0", "-", "0.0", "0.0"]


def test_text_image_ids_are_quoted_and_told_from_numbers(tmp_path, capsys):
    assert describe_ids(["1", "2"]) == "'1', '2'" and describe_ids([1, 2]) == "1, 2"
    code, _, err = _evaluate(tmp_path, [_frame_result(image_id="1")], capsys)
    assert code == 2
    assert "image ids '1' (text ids; the annotations use integers) are not in " in err, err
    assert str(annotation_path(DATA, "test")) in err


def test_results_with_and_without_boxes_or_with_polygon_masks_are_scored():
    """pycocotools reads every result as it reads the first: a box missing from a later
    one, or polygons without boxes, stopped it on a KeyError or a TypeError."""
    boxless = {k: v for k, v in _result(category_id=3, box=(60, 50, 30, 25)).items() if k != "bbox"}
    mixed = [_result(segmentation=_rle([10, 10, 40, 30])), {**boxless, "segmentation": _rle([60, 50, 30, 25])}]
    assert evaluate_results(TRUTH, mixed)["segm"]["AP"] == pytest.approx(1.0)
    polygons = [{k: v for k, v in _result().items() if k != "bbox"} | {"segmentation": [[10, 10, 50, 10, 50, 40, 10, 40]]}]
    assert evaluate_results(TRUTH, polygons, iou_types=["segm"])["segm"]["APM"] == pytest.approx(1.0)
