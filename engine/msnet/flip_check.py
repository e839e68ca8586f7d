"""The mirror check: each image is also seen mirrored left to right, and a detection's
score becomes the mean of its score in the two views.

Real damage looks like damage in a mirror too, so the mirrored view finds it again and
its score stays about where it was; many false alarms on real footage (a bright patch, a
terracotta roof, a roof cut by the frame's edge) rest on details the mirrored view does
not share, so the mirrored view misses them and their score is halved. A detection in
the mirrored view matches one in the image when it has the same level and, mirrored
back, a box IoU of at least :data:`MATCH_IOU`. The image's own boxes and masks are kept.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import box_iou

from engine.msnet.rescore import rescored

#: box IoU at which a detection of the mirrored view counts as the same damage
MATCH_IOU = 0.5


def mirror_boxes(boxes: Tensor, width: int) -> Tensor:
    """``[N, 4]`` xyxy boxes of an image ``width`` pixels wide, mirrored left to right."""
    return torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], dim=1)


def mirrored_scores(original: dict[str, Tensor], mirrored: dict[str, Tensor], width: int) -> Tensor:
    """Per detection of ``original``: the best score of a same-level detection of
    ``mirrored`` (the image mirrored, ``width`` pixels wide) that matches it, else 0."""
    boxes = original["boxes"]
    if len(boxes) == 0 or len(mirrored["boxes"]) == 0:
        return boxes.new_zeros((len(boxes),))
    iou = box_iou(boxes, mirror_boxes(mirrored["boxes"], width))
    same = (original["labels"][:, None] == mirrored["labels"][None, :]) & (iou >= MATCH_IOU)
    candidates = torch.where(same, mirrored["scores"][None, :].to(iou.dtype), iou.new_zeros(()))
    return candidates.max(dim=1).values


def flip_checked(
    original: dict[str, object], mirrored: dict[str, Tensor], width: int, *, score_floor: float
) -> dict[str, object]:
    """``original`` with each score the mean of its own and :func:`mirrored_scores`
    (:func:`engine.msnet.rescore.rescored`: re-sorted, those under ``score_floor`` dropped)."""
    scores = original["scores"]
    assert isinstance(scores, Tensor)
    new_scores = (scores + mirrored_scores(original, mirrored, width).to(scores.dtype)) / 2  # type: ignore[arg-type]
    return rescored(original, new_scores, score_floor=score_floor)
