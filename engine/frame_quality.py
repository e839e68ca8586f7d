"""How dark, how uniform and how sharp a frame is (:class:`core.frame_quality.FrameQuality`).

Measured on the grey frame shrunk to the detector's input size by area averaging, where
the detector looks, so a 4K frame and a 720p one of the same view measure alike. The
sharpness is the variance of the 3x3 Laplacian in 0-255 units, as
``engine.msnet.sharpness`` measures it for the softening; that one shrinks the frame as
the model does (a softer filter), so a shrunk frame measures about half as sharp there.
Only the ratio to the video's own frames is judged (``core.frame_quality``). About
0.4 ms for a real 720p frame on a CPU core (``bench/frame_quality.py``).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from core.frame_quality import FrameQuality
from core.types import Frame

#: the short side (pixels) frames are measured at: the shipped detector's input size
MEASURE_SHORT_SIDE = 360


def measure_frame(image: np.ndarray, *, short_side: int = MEASURE_SHORT_SIDE) -> FrameQuality:
    """The quality of a ``uint8[H, W, 3]`` RGB frame."""
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    scale = short_side / min(height, width)
    if scale < 1.0:  # only ever shrunk: a small frame is measured as it is
        grey = cv2.resize(grey, (max(1, round(width * scale)), max(1, round(height * scale))),
                          interpolation=cv2.INTER_AREA)
    values = grey.astype(np.float32)
    mean, spread = cv2.meanStdDev(values)
    laplacian = cv2.Laplacian(values, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REPLICATE)
    return FrameQuality(mean=float(mean[0, 0]), contrast=float(spread[0, 0]), sharpness=float(laplacian.var()))


def with_quality(frame: Frame) -> Frame:
    """``frame`` with its quality measured (as it is, when it carries no image)."""
    if frame.image is None:
        return frame
    return dataclasses.replace(frame, quality=measure_frame(frame.image))
