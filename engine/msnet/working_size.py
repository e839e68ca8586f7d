"""Frames larger than the detector can use, shrunk before it looks.

The detector sees every frame at its input size (a short side of 360 px for the shipped
model); only the close look cuts its crops at the frame's own resolution, and a crisp
frame is first softened to the training flights' sharpness at the input size
(:mod:`engine.msnet.sharpness`). A 4K frame carries nothing the model can use past a
few times its input size, yet at full size its conversion to floats, its softening and
its crops cost more than the detector itself on a CPU. So a frame whose short side
exceeds the model's ``working_short_side`` (:class:`engine.msnet.inference.InferenceSettings`)
is shrunk to it, by area averaging on its 8-bit pixels (OpenCV: a few milliseconds for
a 4K frame), and the model gives its boxes and masks in the frame's own pixels
(:meth:`engine.msnet.model.MSNet.detect_with_features`'s ``output_sizes``).
"""

from __future__ import annotations

import cv2
import numpy as np


def working_size(height: int, width: int, short_side: int | None) -> tuple[int, int] | None:
    """``(H, W)`` a frame of ``height`` x ``width`` is shrunk to (its aspect kept), or None
    when it is no larger than ``short_side`` (or there is no limit)."""
    if not short_side or min(height, width) <= short_side:
        return None
    scale = short_side / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def working_image(image: np.ndarray, short_side: int | None) -> np.ndarray:
    """``image`` (``uint8[H, W, 3]``) shrunk to :func:`working_size` by area averaging;
    the image itself when it is small enough."""
    size = working_size(int(image.shape[0]), int(image.shape[1]), short_side)
    if size is None:
        return image
    return cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def detect_image(model, image: np.ndarray, device: object = "cpu", *, mask_crops: bool = False) -> dict:  # noqa: ANN001
    """One image (``uint8[H, W, 3]`` RGB) through the detector as the analysis sees a frame:
    shrunk to the model's limit first, its boxes and masks in the image's own pixels
    (``mask_crops``: masks as crops of the image, :meth:`engine.msnet.model.MSNet.detect_with_features`)."""
    import torch

    shown = working_image(image, model_working_short_side(model))
    tensor = torch.from_numpy(shown).permute(2, 0, 1).float().div(255.0).to(device)
    sizes = None if shown is image else [(int(image.shape[0]), int(image.shape[1]))]
    with torch.no_grad():
        if sizes is None and not mask_crops:
            return model([tensor])[0]
        extra = {} if sizes is None else {"output_sizes": sizes}
        return model.detect_with_features([tensor], mask_crops=mask_crops, **extra)[0][0]


def model_working_short_side(model: object) -> int | None:
    """The model's limit (None: frames as they come, or a model that cannot give its
    output in a larger frame, e.g. with the tiled look on)."""
    short_side = getattr(model, "working_short_side", None)
    if not short_side or getattr(model, "tiles", 1) >= 2 or not hasattr(model, "detect_with_features"):
        return None
    return int(short_side)


__all__ = ["detect_image", "model_working_short_side", "working_image", "working_size"]
