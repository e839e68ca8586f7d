"""AP with and without the SRN: merging flights for one evaluation (engine.srn.evaluate)."""

from __future__ import annotations

from engine.evaluate import evaluate_results
from engine.srn.evaluate import merge_flights


def _flight(box: list[float]) -> dict:
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 64, "frame_index": 0}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": box, "area": box[2] * box[3], "iscrowd": 0,
             "segmentation": [[box[0], box[1], box[0] + box[2], box[1], box[0] + box[2], box[1] + box[3], box[0], box[1] + box[3]]]}
        ],
        "categories": [{"id": 1, "name": "Slight"}, {"id": 2, "name": "Severe"}, {"id": 3, "name": "Debris"}],
    }


def test_flights_merge_with_renumbered_ids_and_refined_scores_change_ap() -> None:
    # two flights whose image and annotation ids collide; each has one true box
    parts = []
    for box in ([10.0, 10.0, 20.0, 20.0], [30.0, 30.0, 20.0, 20.0]):
        truth = _flight(box)
        hit = {"image_id": 1, "category_id": 1, "bbox": box, "score": 0.5}
        miss = {"image_id": 1, "category_id": 1, "bbox": [0.0, 40.0, 10.0, 10.0], "score": 0.6}
        refined_hit, refined_miss = {**hit, "score": 0.65}, {**miss, "score": 0.3}
        parts.append((truth, [hit, miss], {"srn": [refined_hit, refined_miss]}))
    truth, plain, refined_by_name = merge_flights(parts)
    refined = refined_by_name["srn"]
    assert [i["id"] for i in truth["images"]] == [1, 2]
    assert [a["id"] for a in truth["annotations"]] == [1, 2]
    assert [r["image_id"] for r in plain] == [1, 1, 2, 2] == [r["image_id"] for r in refined]
    before = evaluate_results(truth, plain, iou_types=["bbox"])["bbox"]["AP"]
    after = evaluate_results(truth, refined, iou_types=["bbox"])["bbox"]["AP"]
    assert after > before  # the refined scores rank the true boxes first
