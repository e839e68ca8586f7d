"""Anchor gating of the Hierarchical RPN (MSNet paper, section 4.2, equations 1-2).

A damage anchor is scored against the top building proposals of the same image:

- Inner Intersection (II): ``max_p area(a ∩ p) / area(a)``: how much of the anchor lies
  inside some building. Small damage anchors inside a large building score 1.
- IoU: ``max_p area(a ∩ p) / area(a ∪ p)``: small anchors inside a large building score
  low, which is why the paper finds II better on small objects.

Only anchors whose score is strictly above the threshold ``S`` take part in damage
proposal generation and in the damage RPN loss. Everything here is broadcast tensor
arithmetic (as :func:`torchvision.ops.box_iou`), on whatever device the boxes live.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: anchors are scored in chunks of about this many anchor-proposal pairs: the temporaries
#: then stay in cache, which on CPU is several times faster than one [A, P] broadcast
_PAIRS_PER_CHUNK = 1 << 20

from engine.msnet.choices import Choice


class GateMetric(Choice):
    """How a damage anchor is compared with building proposals."""

    INNER_INTERSECTION = "ii"
    IOU = "iou"


def _box_area(boxes: Tensor) -> Tensor:
    """Area of ``[N, 4]`` xyxy boxes; degenerate (inverted) boxes count as 0."""
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def _intersection(anchors: Tensor, regions: Tensor) -> Tensor:
    """``[A, P]`` pairwise intersection areas of xyxy boxes."""
    top_left = torch.max(anchors[:, None, :2], regions[None, :, :2])
    bottom_right = torch.min(anchors[:, None, 2:], regions[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    return wh[..., 0] * wh[..., 1]


def inner_intersection(anchors: Tensor, regions: Tensor) -> Tensor:
    """Pairwise inner intersection ``area(a ∩ r) / area(a)``.

    Parameters
    ----------
    anchors : Tensor[A, 4]
        Boxes in ``(x1, y1, x2, y2)`` pixels.
    regions : Tensor[P, 4]
        Boxes in ``(x1, y1, x2, y2)`` pixels (building proposals).

    Returns
    -------
    Tensor[A, P]
        Values in ``[0, 1]``; 0 where the anchor has no area (a degenerate anchor is
        inside nothing).
    """
    inter = _intersection(anchors, regions)
    area = _box_area(anchors)[:, None]
    return torch.where(area > 0, inter / area.clamp(min=torch.finfo(inter.dtype).tiny), 0.0)


def intersection_over_union(anchors: Tensor, regions: Tensor) -> Tensor:
    """Pairwise IoU as :func:`torchvision.ops.box_iou`, but 0 (not NaN) for empty unions.

    Shapes and box format as :func:`inner_intersection`.
    """
    inter = _intersection(anchors, regions)
    union = _box_area(anchors)[:, None] + _box_area(regions)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(inter.dtype).tiny), 0.0)


def _intersection_wh(anchors: Tensor, regions: Tensor) -> tuple[Tensor, Tensor]:
    """``[a, P]`` intersection widths and heights, column by column, computed in place."""
    x1, y1, x2, y2 = anchors.unbind(1)
    widths = torch.minimum(x2[:, None], regions[None, :, 2]).sub_(torch.maximum(x1[:, None], regions[None, :, 0]))
    heights = torch.minimum(y2[:, None], regions[None, :, 3]).sub_(torch.maximum(y1[:, None], regions[None, :, 1]))
    return widths.clamp_(min=0), heights.clamp_(min=0)


def _best_inner_intersection(anchors: Tensor, regions: Tensor) -> Tensor:
    # area(a) does not depend on the region: max_p inter / area = (max_p inter) / area
    widths, heights = _intersection_wh(anchors, regions)
    best = widths.mul_(heights).amax(dim=1)
    area = _box_area(anchors)
    return torch.where(area > 0, best / area.clamp(min=torch.finfo(best.dtype).tiny), 0.0)


def _best_iou(anchors: Tensor, regions: Tensor) -> Tensor:
    widths, heights = _intersection_wh(anchors, regions)
    inter = widths.mul_(heights)
    union = (_box_area(anchors)[:, None] + _box_area(regions)[None, :]).sub_(inter)
    iou = torch.where(union > 0, inter / union.clamp(min=torch.finfo(inter.dtype).tiny), 0.0)
    return iou.amax(dim=1)


_BEST = {
    GateMetric.INNER_INTERSECTION: _best_inner_intersection,
    GateMetric.IOU: _best_iou,
}


def anchor_gate_scores(anchors: Tensor, proposals: Tensor, metric: GateMetric | str = "ii") -> Tensor:
    """Sampling score of each anchor: its best match over the building proposals.

    Parameters
    ----------
    anchors : Tensor[A, 4]
        Damage anchors, xyxy pixels.
    proposals : Tensor[P, 4]
        Building proposals of the same image, xyxy pixels. ``P`` may be 0.
    metric : GateMetric or {"ii", "iou"}
        Equation 2 (inner intersection) or equation 1 (IoU) of the paper.

    Returns
    -------
    Tensor[A]
        ``max_p metric(a, p)``, or zeros when there are no proposals. Equal to
        ``inner_intersection(anchors, proposals).amax(1)`` (or the IoU one), computed
        without the full ``[A, P]`` matrix.
    """
    best = _BEST[GateMetric.parse(metric)]
    anchors = anchors.float()
    proposals = proposals.to(anchors)
    if proposals.numel() == 0 or anchors.numel() == 0:
        return anchors.new_zeros(anchors.shape[0])
    chunk = max(1, _PAIRS_PER_CHUNK // proposals.shape[0])
    return torch.cat([best(part, proposals) for part in anchors.split(chunk)])


def gate_anchors(
    anchors: Tensor, proposals: Tensor, *, metric: GateMetric | str = "ii", threshold: float = 0.1
) -> Tensor:
    """Boolean ``[A]`` mask of the anchors kept for the damage RPN (score > threshold)."""
    return anchor_gate_scores(anchors, proposals, metric) > threshold
