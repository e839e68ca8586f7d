"""The tiled look: each image is also seen in an N x N grid of overlapping tiles.

The detector resizes every image to its input size, so damage a few pixels across in
a wide frame reaches it smaller than nearly all it learnt from, and its score there is
low (most damage the map misses is damage under about 17 pixels across in a 960 x 540
frame). A tile of the frame, resized to the same input size, shows that damage about N
times larger. The image's own detections are kept; each tile adds the small detections
it finds (under :data:`SMALL_AREA_FRACTION` of the image's area), except those cut by a
tile's inner edge, which a neighbouring tile or the whole image sees whole. The union
goes through per-level NMS (:data:`MERGE_IOU`), so damage found both whole and in a
tile is kept once, with its best score. About N*N + 1 times the model's time.

This is slicing-aided inference (SAHI; Akyon et al., 2022) restricted to small
detections: a tile shows large damage larger than the model was trained to see it,
and it also cuts it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import batched_nms

from engine.msnet.paste import MaskCrop

#: share of a tile's width (height) that it shares with its neighbour
OVERLAP = 0.2
#: a tile's detection is kept when its box covers less than this share of the image
#: (about 1,000 pixels of a 960 x 540 frame, 17 x 17 pixels at the detector's 360)
SMALL_AREA_FRACTION = 1000 / (960 * 540)
#: pixels from a tile's inner edge within which a box counts as cut by it
EDGE_MARGIN_PX = 2
#: box IoU at which two same-level detections of the image and its tiles are one
MERGE_IOU = 0.5

Window = tuple[int, int, int, int]


def tile_windows(height: int, width: int, grid: int, overlap: float = OVERLAP) -> list[Window]:
    """``grid * grid`` windows ``(x0, y0, x1, y1)`` covering a ``height x width`` image,
    each overlapping its neighbours by ``overlap`` of its size; row by row."""
    if grid < 2:
        return []
    tile_h = max(1, round(height / (grid - (grid - 1) * overlap)))
    tile_w = max(1, round(width / (grid - (grid - 1) * overlap)))
    ys = [round(i * (height - tile_h) / (grid - 1)) for i in range(grid)]
    xs = [round(i * (width - tile_w) / (grid - 1)) for i in range(grid)]
    return [(x, y, x + tile_w, y + tile_h) for y in ys for x in xs]


def _kept_from_tile(detection: dict[str, object], window: Window, image_size: tuple[int, int]) -> Tensor:
    """Which of a tile's detections to keep: small, and not cut by an inner edge."""
    boxes = detection["boxes"]
    assert isinstance(boxes, Tensor)
    x0, y0, x1, y1 = window
    height, width = image_size
    keep = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) < SMALL_AREA_FRACTION * height * width
    if x0 > 0:
        keep &= boxes[:, 0] > EDGE_MARGIN_PX
    if y0 > 0:
        keep &= boxes[:, 1] > EDGE_MARGIN_PX
    if x1 < width:
        keep &= boxes[:, 2] < (x1 - x0) - EDGE_MARGIN_PX
    if y1 < height:
        keep &= boxes[:, 3] < (y1 - y0) - EDGE_MARGIN_PX
    return keep


def in_image(detection: dict[str, object], window: Window, image_size: tuple[int, int]) -> dict[str, object]:
    """A tile's kept detections (:func:`_kept_from_tile`) in the image's pixels: boxes
    shifted, full masks padded to the image, mask crops moved. Other keys are dropped
    (the buildings are the whole image's)."""
    keep = _kept_from_tile(detection, window, image_size)
    x0, y0, x1, y1 = window
    height, width = image_size
    boxes = detection["boxes"]
    assert isinstance(boxes, Tensor)
    out: dict[str, object] = {
        "boxes": boxes[keep] + boxes.new_tensor([x0, y0, x0, y0]),
        "labels": detection["labels"][keep],  # type: ignore[index]
        "scores": detection["scores"][keep],  # type: ignore[index]
    }
    masks = detection.get("masks")
    if isinstance(masks, Tensor):
        out["masks"] = F.pad(masks[keep], (x0, width - x1, y0, height - y1))
    crops = detection.get("mask_crops")
    if isinstance(crops, list):
        out["mask_crops"] = [MaskCrop(crop.x0 + x0, crop.y0 + y0, crop.values)
                             for crop, kept in zip(crops, keep.tolist()) if kept]
    return out


def merged(whole: dict[str, object], tiles: list[dict[str, object]], *, limit: int) -> dict[str, object]:
    """``whole`` (the image's own detections) joined with its tiles' (already in the
    image's pixels, :func:`in_image`): per-level NMS at :data:`MERGE_IOU`, best score
    first, at most ``limit``. Keys other than the detections' (buildings) are whole's."""
    parts = [whole, *tiles]
    boxes = torch.cat([p["boxes"] for p in parts])  # type: ignore[misc]
    scores = torch.cat([p["scores"] for p in parts])  # type: ignore[misc]
    labels = torch.cat([p["labels"] for p in parts])  # type: ignore[misc]
    order = batched_nms(boxes, scores, labels, MERGE_IOU)[:limit]
    result = dict(whole)
    result.update(boxes=boxes[order], scores=scores[order], labels=labels[order])
    if isinstance(whole.get("masks"), Tensor):
        result["masks"] = torch.cat([p["masks"] for p in parts])[order]  # type: ignore[misc]
    if isinstance(whole.get("mask_crops"), list):
        crops = [crop for p in parts for crop in p["mask_crops"]]  # type: ignore[attr-defined]
        result["mask_crops"] = [crops[int(i)] for i in order]
    return result


__all__ = ["EDGE_MARGIN_PX", "MERGE_IOU", "OVERLAP", "SMALL_AREA_FRACTION", "in_image", "merged", "tile_windows"]
