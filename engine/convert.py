"""The one place where model tensors become :mod:`core` objects.

A detector output dict (torchvision's eval contract, plus MSNet's building boxes) turns
into :class:`core.types.Detection` objects with full-frame :class:`core.masks.RleMask`
masks. Everything upstream is tensors; everything downstream (store, geo, GUI) is
``core``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor

from core.masks import RleMask
from core.types import DamageLevel, Detection

#: Mask probabilities above this are foreground (torchvision's and COCO's convention).
MASK_THRESHOLD = 0.5
#: A damage box is given the building box that contains at least this much of it.
BUILDING_MIN_OVERLAP = 0.5


def to_detections(
    output: Mapping[str, Tensor],
    frame_index: int,
    *,
    score_threshold: float = 0.0,
    refined_scores: Tensor | None = None,
) -> list[Detection]:
    """Turn one image's detector output into detections.

    Parameters
    ----------
    output
        ``boxes`` (FloatTensor[N, 4], ``[x1, y1, x2, y2]`` frame pixels), ``labels``
        (Int64Tensor[N], 1 Slight, 2 Severe, 3 Debris; others are dropped), ``scores``
        (FloatTensor[N] in ``[0, 1]``), optional ``masks`` (FloatTensor[N, 1, H, W]
        probabilities, or BoolTensor already thresholded at :data:`MASK_THRESHOLD`) and
        optional ``building_boxes`` (FloatTensor[B, 4]). Any device; half precision
        is fine. Instead of ``masks``, the analysis passes ``mask_crops`` (one
        ``(x0, y0, bool[h, w])`` per detection: the thresholded mask's bounding crop)
        with ``mask_size`` ``(H, W)``: far less to copy off a GPU and to encode.
    frame_index
        The frame the output belongs to.
    score_threshold
        Detections scoring below it are dropped.
    refined_scores
        FloatTensor[N], SRN scores aligned with ``output`` (before thresholding).

    Returns
    -------
    list of Detection
        In the output's order (by score, as the detector sorts them), ``id`` unset.
    """
    boxes = output["boxes"].detach().float().cpu().numpy().reshape(-1, 4)
    labels = output["labels"].detach().cpu().numpy().reshape(-1)
    scores = output["scores"].detach().float().cpu().numpy().reshape(-1)
    refined = None if refined_scores is None else refined_scores.detach().float().cpu().numpy().reshape(-1)
    masks = output.get("masks")
    building_for = _assign_buildings(output["boxes"], output.get("building_boxes"))

    keep = np.flatnonzero((scores >= score_threshold) & np.isin(labels, [int(level) for level in DamageLevel]))
    mask_array = None
    crops = output.get("mask_crops")
    if crops is not None:
        height, width = (int(v) for v in output["mask_size"])  # type: ignore[union-attr]
        crop_masks = [rle_from_crop(np.asarray(crops[i][2]), int(crops[i][0]), int(crops[i][1]), height, width)
                      for i in keep]
    if masks is not None and len(keep):
        selected = masks[torch.as_tensor(keep, device=masks.device)]
        if selected.dtype != torch.bool:
            selected = selected > MASK_THRESHOLD
        mask_array = selected.reshape(len(keep), *selected.shape[-2:]).cpu().numpy()

    detections = []
    for position, i in enumerate(keep):
        box = tuple(float(v) for v in boxes[i])
        building = building_for[i]
        detections.append(
            Detection(
                frame_index=frame_index,
                level=DamageLevel(int(labels[i])),
                score=_unit(scores[i]),
                box_xyxy_px=box,  # type: ignore[arg-type]
                mask=(
                    crop_masks[position] if crops is not None
                    else None if mask_array is None else rle_from_mask(mask_array[position])
                ),
                building_box_xyxy_px=building,
                refined_score=None if refined is None else _unit(refined[i]),
            )
        )
    return detections


def rle_from_mask(mask: np.ndarray) -> RleMask:
    """COCO column-major RLE of a ``bool[H, W]`` mask, touching only its used columns.

    Detections cover a small part of a frame; encoding just the strip of columns they
    span is several times faster than encoding the whole frame.
    """
    height, width = mask.shape
    columns = np.flatnonzero(mask.any(axis=0))
    if columns.size == 0:
        return RleMask(height, width, (height * width,))
    first, last = int(columns[0]), int(columns[-1]) + 1
    return _rle_from_strip(mask[:, first:last], first, width)


def rle_from_crop(crop: np.ndarray, x0: int, y0: int, height_px: int, width_px: int) -> RleMask:
    """Full-frame RLE of a ``bool[h, w]`` crop placed at ``(x0, y0)`` in an ``H x W`` frame."""
    crop = np.asarray(crop, dtype=bool)
    h, w = crop.shape
    if h == 0 or w == 0:
        return RleMask(height_px, width_px, (height_px * width_px,))
    if not (0 <= x0 and x0 + w <= width_px and 0 <= y0 and y0 + h <= height_px):
        raise ValueError(f"rle_from_crop: a {h}x{w} crop at ({x0}, {y0}) does not fit {height_px}x{width_px}")
    strip = np.zeros((height_px, w), dtype=bool)
    strip[y0 : y0 + h] = crop
    return _rle_from_strip(strip, x0, width_px)


def _rle_from_strip(strip: np.ndarray, first_column: int, width_px: int) -> RleMask:
    """Full-frame RLE of full-height columns ``first_column..`` (zeros elsewhere)."""
    height = strip.shape[0]
    counts = list(RleMask.from_array(strip).counts)
    # The strip starts with a zero run (maybe empty); the columns before it extend it,
    # and the columns after it extend the final zero run (or add one).
    counts[0] += first_column * height
    after = (width_px - first_column - strip.shape[1]) * height
    if after:
        if len(counts) % 2 == 1:  # ends with a zero run
            counts[-1] += after
        else:
            counts.append(after)
    return RleMask(height, width_px, tuple(counts))


def _assign_buildings(boxes: Tensor, building_boxes: Tensor | None) -> list[tuple[float, float, float, float] | None]:
    """For each damage box, the building box containing most of it (or ``None``)."""
    count = int(boxes.shape[0])
    if building_boxes is None or building_boxes.numel() == 0 or count == 0:
        return [None] * count
    damage = boxes.detach().float().cpu().reshape(-1, 4)
    buildings = building_boxes.detach().float().cpu().reshape(-1, 4)
    top_left = torch.maximum(damage[:, None, :2], buildings[None, :, :2])
    bottom_right = torch.minimum(damage[:, None, 2:], buildings[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=2)  # [N, B]
    area = ((damage[:, 2] - damage[:, 0]) * (damage[:, 3] - damage[:, 1])).clamp(min=1e-6)
    overlap, best = (inter / area[:, None]).max(dim=1)
    result: list[tuple[float, float, float, float] | None] = []
    for share, index in zip(overlap.tolist(), best.tolist()):
        result.append(tuple(buildings[index].tolist()) if share >= BUILDING_MIN_OVERLAP else None)  # type: ignore[arg-type]
    return result


def _unit(value: float) -> float:
    """Clamp into [0, 1]: half-precision rounding may step just outside."""
    return float(min(1.0, max(0.0, value)))


__all__ = [
    "BUILDING_MIN_OVERLAP",
    "MASK_THRESHOLD",
    "rle_from_crop",
    "rle_from_mask",
    "to_detections",
]
