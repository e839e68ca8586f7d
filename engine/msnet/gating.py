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


def _overlaps(low: Tensor, high: Tensor, region_low: Tensor, region_high: Tensor) -> Tensor:
    """``[a, P]`` lengths by which the spans ``[a]`` overlap the regions' ``[P]`` spans."""
    ends = torch.minimum(high[:, None], region_high[None, :])
    return ends.sub_(torch.maximum(low[:, None], region_low[None, :])).clamp_(min=0)


def _intersection_wh(anchors: Tensor, regions: Tensor) -> tuple[Tensor, Tensor]:
    """``[a, P]`` intersection widths and heights, column by column, computed in place."""
    x1, y1, x2, y2 = anchors.unbind(1)
    return _overlaps(x1, x2, regions[:, 0], regions[:, 2]), _overlaps(y1, y2, regions[:, 1], regions[:, 3])


def _distinct_intervals(low: Tensor, high: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The distinct ``(low, high)`` pairs among ``[A]`` coordinates, and each one's index
    among them: ``(lows[U], highs[U], index[A])``. Keyed on the float32 bits, so equal
    means bitwise equal."""
    bits = torch.stack([low, high], dim=1).to(torch.float32).view(torch.int32).to(torch.int64)
    distinct, index = torch.unique((bits[:, 0] << 32) | (bits[:, 1] & 0xFFFFFFFF), return_inverse=True)
    first = torch.empty(len(distinct), dtype=torch.int64, device=low.device)
    first.scatter_(0, index, torch.arange(len(index), device=low.device))
    return low[first], high[first], index


def _best_inner_intersection(anchors: Tensor, regions: Tensor) -> Tensor:
    # area(a) does not depend on the region: max_p inter / area = (max_p inter) / area.
    # An anchor grid has few distinct x spans (columns x shapes) and y spans (rows x
    # shapes): intersection widths and heights are computed once per span, and only their
    # product and its maximum once per anchor. The same floats as per anchor, fewer passes.
    x_low, x_high, x_of = _distinct_intervals(anchors[:, 0], anchors[:, 2])
    y_low, y_high, y_of = _distinct_intervals(anchors[:, 1], anchors[:, 3])
    widths = _overlaps(x_low, x_high, regions[:, 0], regions[:, 2])
    heights = _overlaps(y_low, y_high, regions[:, 1], regions[:, 3])
    chunk = max(1, _PAIRS_PER_CHUNK // regions.shape[0])
    best = torch.cat([widths[xs].mul_(heights[ys]).amax(dim=1) for xs, ys in zip(x_of.split(chunk), y_of.split(chunk))])
    area = _box_area(anchors)
    return torch.where(area > 0, best / area.clamp(min=torch.finfo(best.dtype).tiny), 0.0)


def _best_iou(anchors: Tensor, regions: Tensor) -> Tensor:
    widths, heights = _intersection_wh(anchors, regions)
    inter = widths.mul_(heights)
    union = (_box_area(anchors)[:, None] + _box_area(regions)[None, :]).sub_(inter)
    iou = torch.where(union > 0, inter / union.clamp(min=torch.finfo(inter.dtype).tiny), 0.0)
    return iou.amax(dim=1)


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
    metric = GateMetric.parse(metric)
    anchors = anchors.float()
    proposals = proposals.to(anchors)
    if proposals.numel() == 0 or anchors.numel() == 0:
        return anchors.new_zeros(anchors.shape[0])
    if metric is GateMetric.INNER_INTERSECTION:  # chunks its own per-anchor step
        return _best_inner_intersection(anchors, proposals)
    chunk = max(1, _PAIRS_PER_CHUNK // proposals.shape[0])
    return torch.cat([_best_iou(part, proposals) for part in anchors.split(chunk)])


def gate_anchors(
    anchors: Tensor, proposals: Tensor, *, metric: GateMetric | str = "ii", threshold: float = 0.1
) -> Tensor:
    """Boolean ``[A]`` mask of the anchors kept for the damage RPN (score > threshold)."""
    return anchor_gate_scores(anchors, proposals, metric) > threshold
