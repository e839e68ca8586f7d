"""Frames softened to the sharpness the detector was trained on.

The shipped detector learned from rendered flights, whose frames are soft: at the
model's input size (360 px on the short side) the variance of their Laplacian is at most
198. Real aerial footage is far sharper: 286 for an ISBDA drone frame, 600-2,000 for the
public-domain photos of the real gallery. On such frames the
detector and its close look raise false alarms on the fine texture (gravel, leaves,
shingle rows) they never saw that crisp. Blurring a frame that is sharper than
``ceiling`` down to it, before the model sees it, brings it into the range the model
knows; a frame at or under the ceiling is left exactly as it is.

The sharpness is measured as image processing usually does (the variance of the 3x3
Laplacian of the grey image, in 0-255 units), on the frame resized to the input size the
model was built with, where it was trained to look. The blur that brings it to the ceiling is found there by
bisection, then applied to the full-resolution frame (the close look cuts its crops from
it) with the width scaled to that resolution, and checked: measured again at the input
size, refined when it misses the ceiling by more than :data:`TOLERANCE`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

#: ITU-R BT.601 luma weights (OpenCV's and PIL's grey)
GREY_WEIGHTS = (0.299, 0.587, 0.114)
#: the widest blur searched, in pixels of the input-size image
MAX_SIGMA_PX = 4.0
#: bisection steps on the small image (the width to within MAX_SIGMA_PX / 2**steps)
SEARCH_STEPS = 8
#: how near the ceiling a softened frame must measure (a share of it) ...
TOLERANCE = 0.1
#: ... within at most this many blurs of the full frame
REFINE_STEPS = 8
#: a CPU blur runs in OpenCV (the same pixels, faster); ``bench/bench_pipeline.py
#: --reference-torch-blur`` turns it off for its reference
CPU_BLUR_BY_OPENCV = True


def _grey(image: Tensor) -> Tensor:
    """[3, H, W] RGB in [0, 1] -> [H, W] grey in 0-255 units."""
    weights = torch.tensor(GREY_WEIGHTS, dtype=image.dtype, device=image.device)
    return torch.tensordot(weights, image, dims=1) * 255.0


def laplacian_variance(grey: Tensor) -> float:
    """Variance of the 3x3 Laplacian of a [H, W] grey image (edges replicated)."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=grey.dtype, device=grey.device)
    padded = F.pad(grey[None, None], (1, 1, 1, 1), mode="replicate")
    return float(F.conv2d(padded, kernel[None, None]).var())


def gaussian_blurred(image: Tensor, sigma: float, *, bucketed: bool | None = None) -> Tensor:
    """``image`` ([C, H, W]) blurred by a Gaussian of ``sigma`` pixels, as two 1-D passes
    (edges reflected); ``sigma <= 0`` returns it unchanged.

    ``bucketed``: the kernel is as long as the next power of two of its radius, the taps
    past the radius zero, so that the few kernel shapes a video needs are met again and
    again (a GPU builds a cuDNN plan per new shape, and the search for a frame's blur
    tries a new width at every step); the same numbers. ``None``: off the CPU only."""
    if sigma <= 0:
        return image
    radius = max(1, math.ceil(3.0 * sigma))
    channels = image.shape[0]
    height, width = image.shape[-2:]
    if bucketed is None:
        bucketed = image.device.type != "cpu"
    taps = radius
    if bucketed and (1 << (radius - 1).bit_length()) < min(height, width):
        taps = 1 << (radius - 1).bit_length()
    offsets = torch.arange(-taps, taps + 1, dtype=image.dtype, device=image.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2) * (offsets.abs() <= radius)
    kernel = kernel / kernel.sum()
    narrow = radius > width - 1 or radius > height - 1  # an image narrower than the kernel: replicate instead
    if CPU_BLUR_BY_OPENCV and not bucketed and image.device.type == "cpu" and image.dtype == torch.float32:
        return _blurred_by_opencv(image, kernel, replicate=narrow)
    x = F.pad(image[None], (taps, taps, taps, taps), mode="replicate" if narrow else "reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    x = F.conv2d(x, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)
    return x[0]


def _blurred_by_opencv(image: Tensor, kernel: Tensor, *, replicate: bool) -> Tensor:
    """:func:`gaussian_blurred`'s two passes by OpenCV, plane by plane (edges replicated
    or reflected as there): the same pixels (to float rounding) four to six times as fast
    on a CPU as the grouped convolutions, which is most of what softening a crisp 1080p or
    4K frame costs."""
    import cv2  # lazy: only a CPU blur needs it

    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_REFLECT_101
    taps = kernel.numpy()
    planes = image.detach().contiguous().numpy()
    out = torch.empty_like(image, memory_format=torch.contiguous_format)
    target = out.numpy()
    for plane, blurred in zip(planes, target):
        cv2.sepFilter2D(plane, -1, taps, taps, dst=blurred, borderType=border)
    return out


def sharpness_at(image: Tensor, short_side: int) -> tuple[float, Tensor]:
    """The Laplacian variance of ``image`` resized to ``short_side`` px on its short side,
    and that grey image (on the image's device)."""
    height, width = image.shape[-2:]
    scale = short_side / min(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    small = F.interpolate(image[None].float(), size=size, mode="bilinear", antialias=scale < 1.0,
                          align_corners=False)[0]
    grey = _grey(small.clamp(0.0, 1.0))
    return laplacian_variance(grey), grey


def blur_to(grey: Tensor, ceiling: float) -> float:
    """The Gaussian width (pixels of ``grey``, a grey image sharper than ``ceiling``) that
    brings its Laplacian variance down to ``ceiling``."""
    low, high = 0.0, MAX_SIGMA_PX
    for _ in range(SEARCH_STEPS):
        middle = (low + high) / 2
        if laplacian_variance(gaussian_blurred(grey[None], middle)[0]) > ceiling:
            low = middle
        else:
            high = middle
    return high


def softened(image: Tensor, ceiling: float, short_side: int) -> Tensor:
    """``image`` ([3, H, W], RGB in [0, 1]) blurred so that, seen at ``short_side`` px,
    it is no sharper than ``ceiling`` (within :data:`TOLERANCE`); unchanged when it is
    not sharper.

    The width found on the small image is a first guess: resizing and blurring do not
    quite commute (texture near the full image's pixel pitch), so the blurred frame is
    measured where the model looks and the width refined when it misses.
    """
    before, grey = sharpness_at(image, short_side)
    if not before > ceiling:  # also a frame with no finite sharpness: nothing to soften toward
        return image
    scale = min(image.shape[-2:]) / min(grey.shape)
    sigma = max(blur_to(grey, ceiling) * scale, 1e-3)
    # the bracket (width, sharpness seen) around the ceiling; a miss is refined by
    # regula falsi (Illinois) in width squared: the sharpness falls about so for a mild blur
    low, high = (0.0, before), (math.inf, 0.0)
    softest_enough: Tensor | None = None
    out = image
    kept = 0  # which end the last two steps kept: +1 the sharp one, -1 the soft one
    for _ in range(REFINE_STEPS):
        out = gaussian_blurred(image, sigma)
        seen, _ = sharpness_at(out, short_side)
        if abs(seen - ceiling) <= TOLERANCE * ceiling:
            return out
        if seen > ceiling:
            low = (sigma, seen)
            if kept == -1:  # the soft end kept twice: halve its distance to the ceiling
                high = (high[0], ceiling + (high[1] - ceiling) / 2)
            kept = -1
        else:
            high, softest_enough = (sigma, seen), out
            if kept == 1:
                low = (low[0], ceiling + (low[1] - ceiling) / 2)
            kept = 1
        if math.isinf(high[0]):
            sigma *= 2.0
        else:
            share = (low[1] - ceiling) / max(low[1] - high[1], 1e-9)
            sigma = math.sqrt(low[0] ** 2 + (high[0] ** 2 - low[0] ** 2) * min(max(share, 0.02), 0.98))
    return softest_enough if softest_enough is not None else out
