"""Training augmentation that keeps boxes, building boxes and masks in step with the image.

Multi-scale training (random short side) is done by the model's own resize:
``build_msnet(min_size=(480, 512, ..., 800))`` makes torchvision's
``GeneralizedRCNNTransform`` pick one short side per batch and resize boxes and masks with
the image; eval uses the last size. :func:`multiscale_sizes` makes that tuple.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from torch import Tensor

from engine.data.isbda import Target, Transform


class Compose:
    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Tensor, target: Target) -> tuple[Tensor, Target]:
        for transform in self.transforms:
            image, target = transform(image, target)
        return image, target


def _flip_boxes(boxes: Tensor, width: int) -> Tensor:
    flipped = boxes.clone()
    flipped[:, 0] = width - boxes[:, 2]
    flipped[:, 2] = width - boxes[:, 0]
    return flipped


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``, with every box and mask."""

    def __init__(self, p: float = 0.5, *, rng: random.Random | None = None) -> None:
        self.p = p
        self.rng = rng or random.Random()

    def __call__(self, image: Tensor, target: Target) -> tuple[Tensor, Target]:
        if self.rng.random() >= self.p:
            return image, target
        width = image.shape[-1]
        target = dict(target)
        for key in ("boxes", "building_boxes"):
            if key in target:
                target[key] = _flip_boxes(target[key], width)
        if "masks" in target:
            target["masks"] = target["masks"].flip(-1)
        return image.flip(-1), target


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


def train_transforms(*, hflip: float = 0.5, seed: int | None = None) -> Compose:
    return Compose([RandomHorizontalFlip(hflip, rng=random.Random(seed))])
