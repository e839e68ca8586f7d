"""Training augmentation that keeps boxes, building boxes and masks in step with the image.

Multi-scale training (random short side) is done by the model's own resize:
``build_msnet(min_size=(480, 512, ..., 800))`` makes torchvision's
``GeneralizedRCNNTransform`` pick one short side per batch and resize boxes and masks with
the image; eval uses the last size. :func:`multiscale_sizes` makes that tuple.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from torch import Tensor

from engine.data.isbda import Target, Transform

if TYPE_CHECKING:
    import numpy as np


class Compose:
    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Tensor, target: Target) -> tuple[Tensor, Target]:
        for transform in self.transforms:
            image, target = transform(image, target)
        return image, target

    def reseed(self, seed: int) -> None:
        """Seed each random transform afresh from ``seed`` (see :func:`reseed`)."""
        for number, transform in enumerate(self.transforms):
            reseed(transform, seed + number)


def reseed(transform: object, seed: int) -> None:
    """Seed ``transform``'s random choices afresh, if it makes any.

    A DataLoader worker starts with a copy of the dataset and its transforms, random
    number generators included, so without this every worker would flip, distort and
    pick the same way as the others (the trainer reseeds each item: :class:`engine.train.SeededItems`)."""
    if hasattr(transform, "reseed"):
        transform.reseed(seed)  # type: ignore[attr-defined]
    elif isinstance(getattr(transform, "rng", None), random.Random):
        transform.rng.seed(seed)  # type: ignore[attr-defined]


def _flip_boxes(boxes: Tensor, width: int) -> Tensor:
    flipped = boxes.clone()
    flipped[:, 0] = width - boxes[:, 2]
    flipped[:, 2] = width - boxes[:, 0]
    return flipped


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``, with every box (damage, building,
    rejected and unreviewed regions) and mask."""

    def __init__(self, p: float = 0.5, *, rng: random.Random | None = None) -> None:
        self.p = p
        self.rng = rng or random.Random()

    def __call__(self, image: Tensor, target: Target) -> tuple[Tensor, Target]:
        if self.rng.random() >= self.p:
            return image, target
        width = image.shape[-1]
        target = dict(target)
        for key in ("boxes", "building_boxes", "negative_boxes", "ignore_boxes"):
            if key in target:
                target[key] = _flip_boxes(target[key], width)
        if "masks" in target:
            target["masks"] = target["masks"].flip(-1)
        return image.flip(-1), target


class _PixelTransform:
    """A change of pixels only, applied with probability ``p``: boxes and masks stay
    valid. Subclasses change ``float32[H, W, 3]`` RGB in [0, 1] in :meth:`apply`."""

    def __init__(self, p: float, *, rng: random.Random | None = None) -> None:
        self.p = p
        self.rng = rng or random.Random()

    def apply(self, rgb: "np.ndarray") -> "np.ndarray":
        raise NotImplementedError

    def __call__(self, image: Tensor, target: Target) -> tuple[Tensor, Target]:
        if self.rng.random() >= self.p:
            return image, target
        import numpy as np
        import torch

        rgb = self.apply(image.permute(1, 2, 0).numpy().astype(np.float32))
        return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).contiguous(), target


class PhotometricDistort(_PixelTransform):
    """What a drone camera and its codec do to a frame, at random (domain randomisation).

    Applied with probability ``p``, each effect drawn independently: exposure, contrast,
    saturation, white balance and hue shifts; haze; defocus or motion blur; sensor noise;
    and JPEG block artefacts at drone-video-like qualities. Geometry is untouched, so
    boxes and masks stay valid. Works on ``float[3, H, W]`` images in [0, 1].
    """

    def __init__(self, p: float = 0.8, *, rng: random.Random | None = None) -> None:
        super().__init__(p, rng=rng)

    def apply(self, rgb: "np.ndarray") -> "np.ndarray":
        import cv2
        import numpy as np

        rng = self.rng
        if rng.random() < 0.8:  # exposure and contrast
            mean = rgb.mean()
            rgb = (rgb - mean) * rng.uniform(0.7, 1.3) + mean * rng.uniform(0.7, 1.3)
        if rng.random() < 0.6:  # white balance
            rgb = rgb * np.array([rng.uniform(0.85, 1.15) for _ in range(3)], np.float32)
        if rng.random() < 0.6:  # saturation
            grey = rgb.mean(axis=2, keepdims=True)
            rgb = grey + (rgb - grey) * rng.uniform(0.5, 1.4)
        if rng.random() < 0.3:  # hue shift
            hsv = cv2.cvtColor(np.clip(rgb, 0, 1), cv2.COLOR_RGB2HSV)
            hsv[..., 0] = (hsv[..., 0] + rng.uniform(-12, 12)) % 360
            rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        if rng.random() < 0.2:  # haze
            amount = rng.uniform(0.05, 0.3)
            rgb = rgb * (1 - amount) + amount * rng.uniform(0.7, 0.95)
        if rng.random() < 0.4:  # defocus or motion blur
            if rng.random() < 0.5:
                rgb = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.5, 1.6))
            else:
                length = rng.randint(3, 7)
                kernel = np.zeros((length, length), np.float32)
                kernel[length // 2] = 1.0 / length
                rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), rng.uniform(0, 180), 1.0)
                kernel = cv2.warpAffine(kernel, rotation, (length, length))
                rgb = cv2.filter2D(rgb, -1, kernel / max(float(kernel.sum()), 1e-6))
        if rng.random() < 0.5:  # sensor noise
            noise_rng = np.random.default_rng(rng.getrandbits(32))
            rgb = rgb + noise_rng.normal(0, rng.uniform(0.005, 0.03), rgb.shape).astype(np.float32)
        rgb = np.clip(rgb, 0, 1)
        if rng.random() < 0.6:  # codec block artefacts
            encoded = cv2.imencode(".jpg", (rgb * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, rng.randint(25, 85)])[1]
            rgb = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED).astype(np.float32) / 255.0
        return rgb


class FineDetail(_PixelTransform):
    """Fine texture and crisp edges of the kind real drone footage has and renders lack.

    Rendered frames are soft: at the detector's input size the variance of their
    Laplacian stays under about 200, where real footage measures 300-2,000 (gravel,
    leaves, shingle rows, sharp lenses). Applied with probability ``p``, this sharpens the
    frame (an unsharp mask of random width and strength) and lays grain on it in
    irregular patches (pixel-scale luminance noise under a smooth, thresholded mask), so
    the detector learns that such texture is not damage. Geometry is untouched. Works on
    ``float[3, H, W]`` images in [0, 1]; put it before :class:`PhotometricDistort`, whose
    blur and codec then act on the crisp frame as a camera's would.
    """

    def __init__(self, p: float = 0.5, *, rng: random.Random | None = None) -> None:
        super().__init__(p, rng=rng)

    def apply(self, rgb: "np.ndarray") -> "np.ndarray":
        import cv2
        import numpy as np

        from engine.synth.textures import smooth_noise

        rng = self.rng
        noise_rng = np.random.default_rng(rng.getrandbits(32))
        height, width = rgb.shape[:2]
        if rng.random() < 0.8:  # unsharp mask
            soft = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.8, 2.0))
            rgb = rgb + rng.uniform(1.0, 4.0) * (rgb - soft)
        if rng.random() < 0.8:  # grain in patches: gravel, leaves, shingle granules
            patches = smooth_noise(noise_rng, height, width, rng.uniform(20.0, 80.0))
            mask = np.clip(patches - rng.uniform(-1.0, 0.5), 0.0, 1.0)
            grain = noise_rng.standard_normal((height, width)).astype(np.float32)
            grain = cv2.GaussianBlur(grain, (0, 0), rng.uniform(0.4, 1.0))
            grain /= max(float(grain.std()), 1e-6)
            rgb = rgb * (1.0 + rng.uniform(0.05, 0.25) * (mask * grain)[..., None])
        return np.clip(rgb, 0, 1)


def multiscale_sizes(short_side: int, *, steps: int = 5, smallest_fraction: float = 0.6) -> tuple[int, ...]:
    """Short sides for multi-scale training, ending with ``short_side`` (the eval size).

    ``multiscale_sizes(800)`` gives ``(480, 560, 640, 720, 800)``, multiples of 32 nearest
    an even spread from ``smallest_fraction * short_side``.
    """
    if steps <= 1:
        return (short_side,)
    low = smallest_fraction * short_side
    sizes = [int(round((low + (short_side - low) * i / (steps - 1)) / 32) * 32) for i in range(steps - 1)]
    return tuple(sorted(set(s for s in sizes if 0 < s < short_side))) + (short_side,)


def train_transforms(*, hflip: float = 0.5, photometric: float = 0.0, fine_detail: float = 0.0,
                     seed: int | None = None) -> Compose:
    """Flips; fine texture with probability ``fine_detail``; camera/codec distortions with
    probability ``photometric`` (0: none)."""
    transforms: list[Transform] = [RandomHorizontalFlip(hflip, rng=random.Random(seed))]
    if fine_detail > 0:
        transforms.append(FineDetail(fine_detail, rng=random.Random(None if seed is None else seed + 2)))
    if photometric > 0:
        transforms.append(PhotometricDistort(photometric, rng=random.Random(None if seed is None else seed + 1)))
    return Compose(transforms)
