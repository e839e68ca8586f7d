"""Mask R-CNN masks pasted into their boxes only, not into whole frames.

torchvision's :func:`~torchvision.models.detection.roi_heads.paste_masks_in_image`
returns one full-frame float mask per detection: 3.7 MB each at 720p, so ~60
detections allocate, zero and stack ~450 MB per frame, which cost more than the mask
head itself on a CPU. The analysis only needs each mask inside its (expanded) box;
:func:`paste_mask_crops` computes exactly the same pixels there and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.models.detection.roi_heads import expand_boxes, expand_masks


@dataclass(frozen=True, slots=True)
class MaskCrop:
    """A mask's values inside the frame window ``[y0:y0+h, x0:x0+w]``; zero elsewhere."""

    x0: int
    y0: int
    values: Tensor  # [h, w], probabilities (or booleans once thresholded)


def paste_mask_crops(masks: Tensor, boxes: Tensor, image_shape: tuple[int, int], padding: int = 1) -> list[MaskCrop]:
    """The pixels torchvision's ``paste_masks_in_image`` would write, box by box.

    Parameters
    ----------
    masks
        FloatTensor[N, 1, M, M]: the mask head's per-detection probabilities.
    boxes
        FloatTensor[N, 4]: the detections' boxes, xyxy in ``image_shape`` pixels.
    image_shape
        ``(H, W)`` of the frame.
    padding
        As torchvision's (the mask is padded by one cell and its box scaled to match).

    Returns
    -------
    list of MaskCrop
        One per detection; ``values`` may be empty when the box lies off the frame.
        Pasting them into zeros gives torchvision's full-frame masks exactly.
    """
    if masks.shape[0] == 0:
        return []
    masks, scale = expand_masks(masks, padding=padding)
    boxes = expand_boxes(boxes, scale).to(dtype=torch.int64).tolist()
    height, width = image_shape
    crops = []
    for mask, (bx0, by0, bx1, by1) in zip(masks, boxes):
        # Same arithmetic as torchvision.models.detection.roi_heads.paste_mask_in_image.
        box_w, box_h = max(bx1 - bx0 + 1, 1), max(by1 - by0 + 1, 1)
        resized = F.interpolate(mask[None], size=(box_h, box_w), mode="bilinear", align_corners=False)[0, 0]
        x0, x1 = max(bx0, 0), min(bx1 + 1, width)
        y0, y1 = max(by0, 0), min(by1 + 1, height)
        if x1 <= x0 or y1 <= y0:
            crops.append(MaskCrop(0, 0, resized[:0, :0]))
            continue
        crops.append(MaskCrop(x0, y0, resized[y0 - by0 : y1 - by0, x0 - bx0 : x1 - bx0]))
    return crops


class FrameMasks:
    """Crops as full-frame masks, each pasted into a frame of zeros when it is asked for
    and dropped after: a 12-megapixel photo with 90 detections held 90 such frames at
    once (9 GB), where one at a time holds one. ``masks[i]``: ``float32[H, W]``."""

    def __init__(self, crops: list[MaskCrop], frame_shape: tuple[int, int]) -> None:
        self.crops = crops
        self.frame_shape = (int(frame_shape[0]), int(frame_shape[1]))

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int):  # noqa: ANN204 - numpy.ndarray
        import numpy as np

        crop = self.crops[index]
        frame = np.zeros(self.frame_shape, dtype=np.float32)
        height, width = crop.values.shape[-2:]
        frame[crop.y0:crop.y0 + height, crop.x0:crop.x0 + width] = crop.values.detach().float().cpu().numpy()
        return frame


__all__ = ["FrameMasks", "MaskCrop", "paste_mask_crops"]
