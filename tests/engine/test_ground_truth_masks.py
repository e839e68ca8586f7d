"""Ground truth written as COCO polygons (synthetic flights, reviewed frames) rasterises,
by pycocotools as every COCO tool and the training loader do, to exactly the mask it was
made from: no pixels lost along the edges, no thin part gone, holes kept; and scored as
its own predictions it gives 100 mask AP."""

from __future__ import annotations

import contextlib
import io
from types import SimpleNamespace

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from core.masks import RleMask
from core.types import DamageLevel, Detection
from engine.evaluate import evaluate_results
from engine.export_coco import annotation_for, mask_polygons
from engine.synth.outputs import frame_annotations

H, W = 40, 60


def _rasterised(segmentation: list[list[float]], height: int = H, width: int = W) -> np.ndarray:
    """What pycocotools (``annToMask``, the loader's targets, COCOeval) makes of polygons."""
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))).astype(bool)


def _shapes() -> dict[str, np.ndarray]:
    shapes = {}
    block = np.zeros((H, W), bool)
    block[5:12, 8:20] = True
    shapes["block"] = block
    shapes["one pixel"] = np.zeros((H, W), bool)
    shapes["one pixel"][3, 4] = True
    line = np.zeros((H, W), bool)
    line[20, 10:30] = True  # one pixel tall: centre-line contours have no inside at all
    shapes["line"] = line
    diagonal = np.zeros((H, W), bool)
    diagonal[np.arange(10, 20), np.arange(30, 40)] = True  # pixels touching only at corners
    shapes["diagonal"] = diagonal
    corner = np.zeros((H, W), bool)
    corner[2, 25:35] = corner[2:9, 34] = True  # one pixel wide, bent: its contour has no inside
    shapes["bent line"] = corner
    stairs = np.zeros((H, W), bool)
    for step in range(5):
        stairs[30 + step, 3 + 3 * step : 7 + 3 * step] = True  # a staircase edge, two pixels deep in places
    shapes["stairs"] = stairs
    ring = np.zeros((H, W), bool)
    ring[22:34, 35:50] = True
    ring[25:31, 39:46] = False  # a hole
    ring[27:29, 41:43] = True  # an island in the hole
    shapes["ring with island"] = ring
    border = np.zeros((H, W), bool)
    border[H - 3 :, W - 5 :] = True  # at the image's edge
    border[0, 0] = True
    shapes["edges and corners"] = border
    return shapes


@pytest.mark.parametrize("name", list(_shapes()))
def test_polygons_rasterise_to_exactly_the_mask(name):
    mask = _shapes()[name]
    polygons = mask_polygons(mask)
    assert polygons and all(len(p) >= 8 and len(p) % 2 == 0 for p in polygons)
    np.testing.assert_array_equal(_rasterised(polygons), mask)


def test_random_masks_with_holes_and_pinches_round_trip():
    rng = np.random.default_rng(7)
    for _ in range(150):
        mask = np.zeros((H, W), bool)
        h, w = rng.integers(1, 16, 2)
        y, x = rng.integers(0, H - h), rng.integers(0, W - w)
        mask[y : y + h, x : x + w] = rng.random((h, w)) < rng.uniform(0.3, 0.9)
        polygons = mask_polygons(mask)
        if mask.any():
            np.testing.assert_array_equal(_rasterised(polygons), mask)
        else:
            assert polygons == []


def test_a_crop_is_placed_at_its_offset_and_parts_come_largest_first():
    crop = np.zeros((6, 8), bool)
    crop[0, 0] = True
    crop[2:6, 3:8] = True
    polygons = mask_polygons(crop, offset=(10, 20))
    expected = np.zeros((H, W), bool)
    expected[20:26, 10:18] = crop
    np.testing.assert_array_equal(_rasterised(polygons), expected)
    assert len(polygons) == 2 and min(polygons[0][0::2]) == 13  # the 4x5 block before the single pixel


def _scene(parts: dict[int, tuple[int, DamageLevel]]):
    """A stand-in for :class:`engine.synth.scene.Scene`: surface id -> (building, level)."""
    size = max(parts) + 1
    to_building = np.full(size, -1)
    to_part = np.full(size, -1)
    records = []
    for sid, (building, level) in sorted(parts.items()):
        to_building[sid], to_part[sid] = building, len(records)
        records.append(SimpleNamespace(level=level, building_id=building, part_id=sid))
    return SimpleNamespace(surface_tables=lambda: (to_building, to_part), parts=records)


SYNTH_PARTS = ("block", "bent line", "stairs", "ring with island", "line", "diagonal")


def _surface_ids() -> tuple[np.ndarray, dict[int, np.ndarray]]:
    ids = np.zeros((H, W), np.int64)
    masks = {}
    for sid, name in enumerate(SYNTH_PARTS, start=1):
        masks[sid] = _shapes()[name]
        ids[masks[sid]] = sid
    return ids, masks


def _synth_scene():
    levels = (DamageLevel.SLIGHT, DamageLevel.SEVERE, DamageLevel.DEBRIS)
    return _scene({sid: (sid, levels[sid % 3]) for sid in range(1, len(SYNTH_PARTS) + 1)})


def test_synthetic_ground_truth_rasterises_to_the_rendered_parts():
    ids, masks = _surface_ids()
    annotations = frame_annotations(ids, _synth_scene(), image_id=1, first_id=1, min_area_px=4)
    # the same parts as ever: the thin ones too, only straight one-pixel lines left out
    assert sorted(a["part_id"] for a in annotations) == [1, 2, 3, 4]
    for annotation in annotations:
        mask = masks[annotation["part_id"]]
        np.testing.assert_array_equal(_rasterised(annotation["segmentation"]), mask)
        assert annotation["area"] == mask.sum()


def _as_predictions(ground_truth: dict) -> list[dict]:
    """Ground truth as COCO results (score 1, the polygons rasterised to RLE)."""
    results = []
    for a in ground_truth["annotations"]:
        rle = mask_utils.merge(mask_utils.frPyObjects(a["segmentation"], H, W))
        rle["counts"] = rle["counts"].decode("ascii")
        results.append({"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                        "score": 1.0, "segmentation": rle})
    return results


def test_synthetic_ground_truth_scored_as_predictions_is_perfect():
    ids, _ = _surface_ids()
    truth = {"images": [{"id": 1, "width": W, "height": H}],
             "annotations": frame_annotations(ids, _synth_scene(), image_id=1, first_id=1, min_area_px=4)}
    with contextlib.redirect_stdout(io.StringIO()):
        metrics = evaluate_results(truth, _as_predictions(truth))
    assert metrics["segm"]["AP"] == pytest.approx(1.0)
    assert metrics["bbox"]["AP"] == pytest.approx(1.0)


def test_reviewed_detections_export_their_exact_masks():
    shapes = _shapes()
    truth = {"images": [{"id": 1, "width": W, "height": H}], "annotations": []}
    for number, name in enumerate(("block", "one pixel", "line", "bent line", "stairs", "ring with island"), start=1):
        mask = shapes[name]
        ys, xs = np.nonzero(mask)
        box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        det = Detection(0, DamageLevel.SEVERE, 0.9, box, RleMask.from_array(mask))
        annotation = annotation_for(det, number, 1)
        np.testing.assert_array_equal(_rasterised(annotation["segmentation"]), mask, err_msg=name)
        assert annotation["area"] == mask.sum()
        truth["annotations"].append(annotation)
    metrics = evaluate_results(truth, _as_predictions(truth))
    assert metrics["segm"]["AP"] == pytest.approx(1.0)

