"""SRN scores reach stored detections by id: rows of a frame's detector output are
matched to the detections stored for them, never zipped by position."""

from __future__ import annotations

import numpy as np
import torch

from core.types import DamageLevel, Detection, Origin, ReviewState
from engine.analysis.detector import DetectorOutput, HostMaskCrop
from engine.analysis.threads import match_rows
from engine.convert import to_detections


def _stored(id_, score, level=DamageLevel.SEVERE, **kwargs):
    return Detection(0, level, score, (1.0, 1.0, 5.0, 5.0), id=id_, **kwargs)


def test_rows_find_their_stored_detections_by_the_detectors_score():
    stored = [
        _stored(10, 0.9),
        _stored(11, 0.7, level=DamageLevel.DEBRIS, origin=Origin.EDITED, review=ReviewState.ACCEPTED),  # relabelled
        _stored(12, 1.0, origin=Origin.ADDED, review=ReviewState.ACCEPTED),  # a reviewer drew it: no row
        _stored(13, 0.3),
    ]
    # Re-run scores drift a little; the row for 0.5 has no stored detection (not matched).
    assert match_rows([0.9002, 0.6995, 0.5, 0.3], stored) == {0: 10, 1: 11, 3: 13}


def test_equal_scores_take_the_stored_detections_in_id_order():
    stored = [_stored(21, 0.4), _stored(20, 0.4)]
    assert match_rows([0.4, 0.4, 0.4], sorted(stored, key=lambda d: d.id)) == {0: 20, 1: 21}


def test_a_detector_output_converts_row_for_row():
    crop = np.zeros((2, 3), bool)
    crop[0, 1] = True
    output = DetectorOutput(
        boxes=torch.tensor([[1.0, 2.0, 4.0, 4.0], [0.0, 0.0, 2.0, 2.0]]), labels=torch.tensor([3, 1]),
        scores=torch.tensor([0.8, 0.3]), frame_size=(6, 8),
        mask_crops=(HostMaskCrop(1, 2, crop), HostMaskCrop(0, 0, np.ones((2, 2), bool))),
        building_boxes=torch.tensor([[0.0, 0.0, 8.0, 6.0]]),
    )
    detections = to_detections(output.as_mapping(), 4)
    assert len(detections) == len(output) == 2
    assert [d.level for d in detections] == [DamageLevel.DEBRIS, DamageLevel.SLIGHT]
    assert detections[0].mask.extent_xyxy() == (2, 2, 3, 3) and detections[1].mask.area_px == 4
    assert detections[0].building_box_xyxy_px == (0.0, 0.0, 8.0, 6.0)
