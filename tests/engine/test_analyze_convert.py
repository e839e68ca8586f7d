"""engine.convert: the one place tensors become core Detections."""

import numpy as np
import pytest
import torch

from core.masks import RleMask
from core.types import DamageLevel
from engine.convert import rle_from_crop, rle_from_mask, to_detections


def _output():
    masks = torch.zeros((3, 1, 20, 30))
    masks[0, 0, 2:6, 3:9] = 0.9
    masks[1, 0, 10:20, 25:30] = 0.6  # touches the right and bottom edges
    masks[1, 0, 0, 0] = 0.4  # below the 0.5 threshold
    masks[2, 0, 5:7, 5:7] = 0.7
    return {
        "boxes": torch.tensor([[3.0, 2.0, 9.0, 6.0], [25.0, 10.0, 30.0, 20.0], [5.0, 5.0, 7.0, 7.0]]),
        "labels": torch.tensor([1, 3, 4]),  # 4 is not a damage class
        "scores": torch.tensor([0.9, 0.3, 0.8]),
        "masks": masks,
        "building_boxes": torch.tensor([[0.0, 0.0, 12.0, 10.0]]),
    }


def test_to_detections_converts_levels_scores_boxes_and_masks():
    dets = to_detections(_output(), 7)
    assert [d.level for d in dets] == [DamageLevel.SLIGHT, DamageLevel.DEBRIS]  # label 4 dropped
    assert [d.frame_index for d in dets] == [7, 7]
    assert dets[0].score == pytest.approx(0.9) and dets[0].box_xyxy_px == (3.0, 2.0, 9.0, 6.0)
    assert dets[0].mask.area_px == 24 and dets[0].mask.bbox_xyxy() == (3.0, 2.0, 9.0, 6.0)
    assert dets[1].mask.area_px == 50  # the 0.4 pixel is background
    assert dets[0].building_box_xyxy_px == (0.0, 0.0, 12.0, 10.0)
    assert dets[1].building_box_xyxy_px is None  # outside every building box
    assert all(d.id is None and d.refined_score is None for d in dets)


def test_score_threshold_and_refined_scores():
    dets = to_detections(_output(), 0, score_threshold=0.5, refined_scores=torch.tensor([0.95, 0.2, 0.1]))
    assert len(dets) == 1 and dets[0].refined_score == pytest.approx(0.95)


def test_boolean_masks_and_half_precision_are_accepted():
    out = _output()
    out["masks"] = out["masks"] > 0.5
    out["scores"] = torch.tensor([1.0004, 0.3, 0.8]).half()  # fp16 rounding above 1
    dets = to_detections(out, 0)
    assert dets[0].score == 1.0 and dets[0].mask.area_px == 24


def test_empty_output():
    out = {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.int64),
           "scores": torch.zeros((0,)), "masks": torch.zeros((0, 1, 20, 30))}
    assert to_detections(out, 0) == []


@pytest.mark.parametrize("seed", range(6))
def test_strip_rle_equals_whole_frame_rle(seed):
    rng = np.random.default_rng(seed)
    mask = np.zeros((37, 53), dtype=bool)
    x1, x2 = sorted(rng.integers(0, 54, 2))
    y1, y2 = sorted(rng.integers(0, 38, 2))
    mask[y1:y2, x1:x2] = rng.random((y2 - y1, x2 - x1)) > 0.3
    if seed == 0:
        mask[:, 0] = mask[:, -1] = True  # first and last columns set
    assert rle_from_mask(mask) == RleMask.from_array(mask)
    assert np.array_equal(rle_from_mask(mask).to_array(), mask)


def test_crop_rle_equals_whole_frame_rle():
    mask = np.zeros((20, 30), dtype=bool)
    mask[3:9, 4:11] = np.random.default_rng(0).random((6, 7)) > 0.4
    mask[3, 4] = mask[8, 10] = True
    assert rle_from_crop(mask[3:9, 4:11], 4, 3, 20, 30) == RleMask.from_array(mask)
    assert rle_from_crop(np.zeros((0, 0), bool), 0, 0, 20, 30).area_px == 0
    with pytest.raises(ValueError, match="does not fit"):
        rle_from_crop(np.ones((5, 5), bool), 28, 0, 20, 30)


def test_to_detections_takes_mask_crops():
    out = _output()
    full = to_detections(out, 0)
    bool_masks = out.pop("masks")[:, 0] > 0.5
    crops = []
    for m in bool_masks.numpy():
        ys, xs = np.nonzero(m)
        crops.append((xs.min(), ys.min(), m[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]))
    out["mask_crops"], out["mask_size"] = crops, (20, 30)
    assert [d.mask for d in to_detections(out, 0)] == [d.mask for d in full]

