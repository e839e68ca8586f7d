"""The paper's protocol agrees with pycocotools on hand-made cases."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from engine.evaluate import (
    PAPER_IOU_THRESHOLDS,
    evaluate_results,
    format_table,
    match_results_to_images,
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


def test_ground_truth_without_area_is_sized_by_its_mask_as_coco_does():
    """Without `area`, the box's was used: a triangle's 600 px² mask in an 1,200 px² box was
    sorted medium, where pycocotools (and COCO's own files) sort it small."""
    truth = copy.deepcopy(GROUND_TRUTH)
    truth["annotations"] = [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 50, 10, 10, 40]],
                             "damage_bbox": [10, 10, 40, 30], "iscrowd": 0}]
    results = [_result([10, 10, 40, 30], 1)]
    ours = evaluate_results(truth, results)["segm"]
    with_area = copy.deepcopy(truth)
    rle = mask_utils.merge(mask_utils.frPyObjects(truth["annotations"][0]["segmentation"], HEIGHT, WIDTH))
    with_area["annotations"][0].update(area=float(mask_utils.area(rle)), bbox=[10, 10, 40, 30])
    assert with_area["annotations"][0]["area"] < 32 ** 2  # small by its mask, medium by its box
    assert ours["APS"] >= 0 and ours["APM"] == -1.0  # sorted small, as COCO sorts it
    assert ours == evaluate_results(with_area, results)["segm"]


def test_the_damage_box_is_scored_where_a_file_has_a_house_box_as_its_bbox():
    """ISBDA's `bbox` may be the house's; training takes `damage_bbox`, evaluation took
    `bbox`: perfect predictions scored box AP 50."""
    truth = copy.deepcopy(GROUND_TRUTH)
    for annotation in truth["annotations"]:
        annotation["bbox"] = list(annotation["house_bbox"])
    metrics = evaluate_results(truth, [_result([10, 10, 40, 30], 1), _result([60, 50, 30, 25], 3)])
    assert metrics["bbox"]["AP"] == pytest.approx(1.0)


def test_a_ground_truth_mask_of_another_image_size_is_refused():
    truth = copy.deepcopy(GROUND_TRUTH)
    mask = mask_utils.encode(np.asfortranarray(np.ones((HEIGHT * 2, WIDTH * 2), dtype=np.uint8)))
    mask["counts"] = mask["counts"].decode("ascii")
    truth["annotations"][0]["segmentation"] = mask
    with pytest.raises(InputError, match=r"has a mask of \[160, 200\] \(height, width\) on image 1 of \[80, 100\]"):
        evaluate_results(truth, [_result([10, 10, 40, 30], 1)])


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


def test_a_mask_the_threshold_empties_keeps_its_most_probable_pixels_in_its_box():
    """A box a few pixels tall whose pasted mask never reaches 0.5 keeps the pixels of its
    box at or above half the mask's largest probability there, not an empty mask; a mask
    the threshold leaves pixels in is as it was."""
    masks = torch.zeros((3, 1, HEIGHT, WIDTH))
    masks[0, 0, 10:40, 10:50] = 0.9  # an ordinary mask
    masks[1, 0, 60:66, 20:30] = 0.1  # a small box's faint mask: most probable at 0.3 ...
    masks[1, 0, 62:64, 22:26] = 0.3
    masks[1, 0, 61, 25] = 0.2  # ... 0.15 and above kept
    masks[1, 0, 70:75, 20:30] = 0.45  # outside its box: never kept
    # masks[2] is 0 everywhere: the whole box
    outputs = {"boxes": torch.tensor([[10.0, 10, 50, 40], [20.0, 60, 30, 66], [70.2, 5.5, 75.6, 8.4]]),
               "labels": torch.tensor([1, 2, 3]), "scores": torch.tensor([0.8, 0.7, 0.6]), "masks": masks}
    ordinary, faint, blank = (mask_utils.decode(r["segmentation"]) for r in outputs_to_results(outputs, image_id=1))
    np.testing.assert_array_equal(ordinary, (masks[0, 0] > 0.5).numpy())
    expected = np.zeros((HEIGHT, WIDTH), np.uint8)
    expected[62:64, 22:26] = 1
    expected[61, 25] = 1
    np.testing.assert_array_equal(faint, expected)
    expected = np.zeros((HEIGHT, WIDTH), np.uint8)
    expected[5:9, 70:76] = 1  # every pixel the box touches
    np.testing.assert_array_equal(blank, expected)


def test_a_small_detection_with_a_faint_mask_is_scored_by_its_mask():
    """The small ground truth (Debris, 30 x 25) found with a box that fits and a mask
    under 0.5 throughout: its mask AP was 0 (an empty mask), now as its box's."""
    masks = torch.zeros((1, 1, HEIGHT, WIDTH))
    masks[0, 0, 50:75, 60:90] = 0.4
    outputs = {"boxes": torch.tensor([[60.0, 50, 90, 75]]), "labels": torch.tensor([3]),
               "scores": torch.tensor([0.9]), "masks": masks}
    metrics = evaluate_results(GROUND_TRUTH, outputs_to_results(outputs, image_id=1))
    assert metrics["segm"]["APS"] == pytest.approx(1.0) == metrics["bbox"]["APS"]


# Three images, each with one part of its own place and level: results scored against
# the wrong image's ground truth miss.
NAMED_TRUTH = {
    "images": [{"id": 10 + i, "width": WIDTH, "height": HEIGHT, "file_name": name}
               for i, name in enumerate(["a.png", "sub/b.png", "c.png"])],
    "annotations": [
        {"id": 1 + i, "image_id": 10 + i, "category_id": 1 + i, "bbox": box, "area": box[2] * box[3], "iscrowd": 0,
         "segmentation": [[box[0], box[1], box[0] + box[2], box[1], box[0] + box[2], box[1] + box[3],
                           box[0], box[1] + box[3]]]}
        for i, box in enumerate([[10, 10, 40, 30], [60, 50, 30, 25], [5, 40, 20, 30]])],
    "categories": [],
}


def _named_result(image: int, name: str, image_id: int, **extra):
    truth = NAMED_TRUTH["annotations"][image]
    result = _result(truth["bbox"], truth["category_id"])
    return {**result, "image_id": image_id, "file_name": name, **extra}


def test_results_naming_their_images_are_scored_by_name_whatever_their_ids():
    """``damagemap predict`` numbers its images in the order given (here c, a, b as 1, 2,
    3): scored by id they would miss every part."""
    results = [_named_result(2, "c.png", 1), _named_result(0, "a.png", 2), _named_result(1, "b.png", 3)]
    for iou_type, row in evaluate_results(NAMED_TRUTH, results).items():
        assert row["AP"] == pytest.approx(1.0), iou_type
    matched = match_results_to_images(NAMED_TRUTH, results)
    assert [r["image_id"] for r in matched] == [12, 10, 11]
    assert [r["image_id"] for r in results] == [1, 2, 3]  # the caller's results untouched


def test_results_without_names_keep_coco_id_matching():
    results = [_named_result(0, "", 10), _named_result(1, "", 11)]
    for result in results:
        del result["file_name"]
    assert match_results_to_images(NAMED_TRUTH, results) == results
    swapped = [{**results[0], "image_id": 11}, {**results[1], "image_id": 10}]
    assert evaluate_results(NAMED_TRUTH, swapped)["bbox"]["AP"] == 0.0  # ids are all there is


def test_a_name_is_matched_as_a_relative_path_then_by_its_last_part():
    truth = copy.deepcopy(NAMED_TRUTH)
    truth["images"][2]["file_name"] = "other/b.png"  # two images named b.png
    exact = match_results_to_images(truth, [_named_result(1, "sub/b.png", 1), _named_result(2, "other/b.png", 2)])
    assert [r["image_id"] for r in exact] == [11, 12]
    # predict writes the last part and the path it was given: the path says which
    by_path = [_named_result(1, "b.png", 1, path="data/val/sub/b.png"),
               _named_result(2, "b.png", 2, path="data/val/other/b.png")]
    assert [r["image_id"] for r in match_results_to_images(truth, by_path)] == [11, 12]
    # the id, when it is one of them
    assert match_results_to_images(truth, [_named_result(1, "b.png", 12)])[0]["image_id"] == 12
    with pytest.raises(InputError, match=r"^run.json: 'b.png' may be any of 'other/b.png', 'sub/b.png' in gt.json"):
        match_results_to_images(truth, [_named_result(1, "b.png", 1)], results_name="run.json",
                                annotations_name="gt.json")
    # one name twice in the annotations (flights merged): an exact match is no answer either
    truth["images"].append({**truth["images"][0], "id": 13})
    assert match_results_to_images(truth, [_named_result(0, "a.png", 13)])[0]["image_id"] == 13
    with pytest.raises(InputError, match=r"'a.png' may be any of 'a.png', 'a.png' in"):
        match_results_to_images(truth, [_named_result(0, "a.png", 1)])


def test_results_that_cannot_be_matched_by_name_are_refused_naming_them():
    with pytest.raises(InputError, match=r"^run.json: 2 image\(s\) it names are not in gt.json: 'x.jpg', 'y.jpg'"):
        match_results_to_images(NAMED_TRUTH, [_named_result(0, "a.png", 1), _named_result(0, "y.jpg", 2),
                                              _named_result(0, "x.jpg", 3)],
                                results_name="run.json", annotations_name="gt.json")
    # two images of the results (predict given cardA/a.png and cardB/a.png) for one annotated image
    with pytest.raises(InputError, match=r"results of 2 images \(image ids 1, 2\) are all of 'a.png' of"):
        evaluate_results(NAMED_TRUTH, [_named_result(0, "a.png", 1, path="cardA/a.png"),
                                       _named_result(0, "a.png", 2, path="cardB/a.png")])
    # unnamed results beside named ones whose ids are not the annotations': their ids mean nothing
    unnamed = _named_result(2, "", 12)
    del unnamed["file_name"]
    with pytest.raises(InputError, match=r"1 result\(s\) have no 'file_name', .* \('a.png' is image 1 in it, 10 in"):
        evaluate_results(NAMED_TRUTH, [_named_result(0, "a.png", 1), unnamed])
    # ... but with the annotations' ids they are scored by them
    assert evaluate_results(NAMED_TRUTH, [_named_result(0, "a.png", 10), unnamed])["bbox"]["AP"] == pytest.approx(2 / 3)
