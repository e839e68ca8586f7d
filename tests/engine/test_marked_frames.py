"""The hand-marked real ISBDA frame and the finder that reports what a model sees on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine.data import ISBDADataset
from engine.marked_frames import false_alarms, find_parts, marked_parts

MARKED = Path(__file__).resolve().parents[1] / "data" / "isbda-frame"


def test_the_marked_frame_reads_as_isbda_with_parts_inside_their_houses():
    dataset = ISBDADataset(MARKED, "test")
    image, target = dataset[0]
    assert tuple(image.shape) == (3, 792, 1382)
    assert target["labels"].tolist() == [1, 1, 1, 3]
    for box, mask in zip(target["boxes"], target["masks"]):
        assert mask.sum() > 1000  # roof-sized, not specks
        assert any(
            (box[:2] >= house[:2] - 1).all() and (box[2:] <= house[2:] + 1).all() for house in target["building_boxes"]
        )


def _result(x, y, w, h, score, level=1):
    return {"bbox": [x, y, w, h], "score": score, "category_id": level}


def test_a_part_is_found_by_overlap_or_by_a_centre_inside_it():
    annotations = json.loads((MARKED / "annotations" / "instances_test.json").read_text())
    parts = marked_parts(annotations, 1)
    main_roof = next(p for p in parts if p.part_id == 2)
    x0, y0, x1, y1 = main_roof.box_xyxy
    centre = main_roof.polygon_xy.mean(axis=0)
    results = [
        _result(x0, y0, x1 - x0, y1 - y0, 0.4),  # the whole part: IoU 1
        _result(centre[0] - 5, centre[1] - 5, 10, 10, 0.9, level=2),  # a small patch in the middle
        _result(0, 0, 30, 30, 0.95),  # top-left corner: finds nothing
    ]
    findings = {f.part.part_id: f for f in find_parts(results, parts)}
    assert findings[2].best_score == 0.9 and findings[2].best_level == 2 and findings[2].found(0.5)
    assert findings[1].best_level is None and not findings[1].found(0.0)
    assert false_alarms(results, parts, 0.5) == 1
    assert false_alarms(results, parts, 0.99) == 0
    assert np.allclose(main_roof.polygon_xy.min(axis=0), (x0, y0))
