"""The paper's protocol agrees with pycocotools on hand-made cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from engine.evaluate import (
    PAPER_IOU_THRESHOLDS,
    evaluate_results,
    format_table,
    outputs_to_results,
    read_results,
)
from core.errors import InputError

HEIGHT, WIDTH = 80, 100
GROUND_TRUTH = {
    "images": [{"id": 1, "width": WIDTH, "height": HEIGHT, "file_name": "a.png"}],
    "annotations": [
        # 40x30 = 1200 px²: medium; no plain "bbox", as in ISBDA
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 50, 10, 50, 40, 10, 40]],
         "damage_bbox": [10, 10, 40, 30], "house_bbox": [0, 0, 60, 60], "iscrowd": 0, "area": 1200},
        # 30x25 = 750 px²: small
        {"id": 2, "image_id": 1, "category_id": 3, "segmentation": [[60, 50, 90, 50, 90, 75, 60, 75]],
         "damage_bbox": [60, 50, 30, 25], "house_bbox": [55, 45, 45, 35], "iscrowd": 0, "area": 750},
    ],
    "categories": [{"id": 1, "name": "Slight"}, {"id": 2, "name": "Severe"}, {"id": 3, "name": "Debris"}],
}


def _result(box, category, *, shift_x=0, score=0.9):
    x, y, w, h = box
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    mask[y : y + h, x + shift_x : x + shift_x + w] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    rle["counts"] = rle["counts"].decode("ascii")
    return {"image_id": 1, "category_id": category, "bbox": [x + shift_x, y, w, h], "score": score, "segmentation": rle}


def test_thresholds_are_the_papers():
    np.testing.assert_allclose(PAPER_IOU_THRESHOLDS, [0.25, 0.3, 0.35, 0.4, 0.45, 0.5])


def test_perfect_prediction_scores_one():
    metrics = evaluate_results(GROUND_TRUTH, [_result([10, 10, 40, 30], 1), _result([60, 50, 30, 25], 3)])
    for iou_type in ("segm", "bbox"):
        row = metrics[iou_type]
        for name in ("AP", "AP25", "AP50", "APS", "APM"):
            assert row[name] == pytest.approx(1.0), name
        assert row["APL"] == -1.0  # no large ground truth: nothing to measure


def test_shifted_prediction_scores_less_exactly_as_coco_says():
    # shifted 15 px of 40: IoU = 25*30 / (2*1200 - 25*30) = 0.4545, a hit at 0.25..0.45, a miss at 0.5
    metrics = evaluate_results(GROUND_TRUTH, [_result([10, 10, 40, 30], 1, shift_x=15), _result([60, 50, 30, 25], 3)])
    for iou_type in ("segm", "bbox"):
        row = metrics[iou_type]
        assert row["AP25"] == pytest.approx(1.0)
        assert row["AP50"] == pytest.approx(0.5)  # category 1 missed, category 3 perfect
        assert row["AP"] == pytest.approx((5 * 1.0 + 0.5) / 6)
        assert row["APM"] == pytest.approx(5 / 6)  # only the shifted one is medium
        assert row["APS"] == pytest.approx(1.0)


def test_wrong_class_and_no_results_score_zero():
    assert evaluate_results(GROUND_TRUTH, [_result([10, 10, 40, 30], 2)])["segm"]["AP"] == 0.0
    empty = evaluate_results(GROUND_TRUTH, [])
    assert empty["segm"]["AP"] == empty["bbox"]["AP50"] == 0.0


def test_model_outputs_round_trip_through_coco_results():
    mask = torch.zeros((1, 1, HEIGHT, WIDTH))
    mask[0, 0, 10:40, 10:50] = 0.9
    outputs = {"boxes": torch.tensor([[10.0, 10, 50, 40]]), "labels": torch.tensor([1]),
               "scores": torch.tensor([0.8]), "masks": mask}
    results = outputs_to_results(outputs, image_id=1)
    assert results[0]["bbox"] == [10.0, 10.0, 40.0, 30.0] and results[0]["category_id"] == 1
    json.dumps(results)  # JSON-serialisable, as a results file must be
    segm = evaluate_results(GROUND_TRUTH, results)["segm"]
    assert segm["APM"] == pytest.approx(1.0) and segm["APS"] == 0.0


def test_table_is_in_percent_with_dashes_for_unmeasured(tmp_path):
    table = format_table(evaluate_results(GROUND_TRUTH, [_result([10, 10, 40, 30], 1)]))
    lines = table.splitlines()
    assert lines[0].split() == ["AP", "AP25", "AP50", "APS", "APM", "APL"]
    assert lines[1].split()[0] == "mask" and lines[1].split()[-1] == "-"
    assert "50.0" in lines[1]


def test_bad_results_file_is_named(tmp_path):
    bad = tmp_path / "results.json"
    bad.write_text('{"not": "a list"}')
    with pytest.raises(InputError, match="results.json"):
        read_results(bad)
