"""``damagemap evaluate`` on a data set exported from reviews (``export --training``):
the detections nobody decided on (``unreviewed``) are "don't know", as training takes
them, so a model's detection on one is neither right nor wrong."""

from __future__ import annotations

import pytest

from engine.evaluate import evaluate_results


def _part(part_id: int, x: float, **extra) -> dict:
    return {"id": part_id, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [x, 20.0, 20.0, 20.0],
            "segmentation": [[x, 20.0, x + 20, 20.0, x + 20, 40.0, x, 40.0]], "area": 400.0, **extra}


def _result(x: float, score: float, level: int = 1) -> dict:
    return {"image_id": 1, "category_id": level, "score": score, "bbox": [x, 20.0, 20.0, 20.0]}


@pytest.fixture
def exported() -> dict:
    """One kept part at x 10, one left pending at x 60, one rejected at x 110."""
    return {"images": [{"id": 1, "file_name": "f.jpg", "width": 160, "height": 96}],
            "annotations": [_part(1, 10.0)], "unreviewed": [_part(1, 60.0)], "negatives": [_part(1, 110.0)],
            "categories": [{"id": 1, "name": "Slight"}, {"id": 2, "name": "Severe"}, {"id": 3, "name": "Debris"}]}


def test_a_detection_on_undecided_damage_is_neither_right_nor_wrong(exported):
    for level in (1, 2):  # whatever level the model gives it
        metrics = evaluate_results(exported, [_result(10.0, 0.5), _result(60.0, 0.9, level)], iou_types=("bbox",))
        assert metrics["bbox"]["AP"] == pytest.approx(1.0)
    assert exported["unreviewed"] and len(exported["annotations"]) == 1  # the caller's document left as it was


def test_a_detection_where_the_reviewer_rejected_one_is_a_false_alarm(exported):
    metrics = evaluate_results(exported, [_result(10.0, 0.5), _result(110.0, 0.9)], iou_types=("bbox",))
    assert metrics["bbox"]["AP"] == pytest.approx(0.5)
