"""Camera/codec distortions at train time change pixels, never geometry."""

from __future__ import annotations

import random

import torch

from engine.data.transforms import PhotometricDistort, train_transforms


def _sample():
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(3, 48, 64, generator=generator)
    masks = torch.zeros(1, 48, 64, dtype=torch.uint8)
    masks[0, 10:20, 10:30] = 1
    target = {"boxes": torch.tensor([[10.0, 10.0, 30.0, 20.0]]), "masks": masks, "labels": torch.tensor([1])}
    return image, target


def test_distortions_keep_targets_and_the_value_range():
    image, target = _sample()
    distort = PhotometricDistort(1.0, rng=random.Random(1))
    changed = 0
    for _ in range(10):
        out, out_target = distort(image, target)
        assert out_target is target
        assert out.shape == image.shape and out.dtype == torch.float32
        assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
        changed += int(not torch.allclose(out, image, atol=1e-3))
    assert changed >= 8  # p = 1: nearly always something changes


def test_same_seed_same_distortions_and_zero_probability_is_identity():
    image, target = _sample()
    first = train_transforms(hflip=0.0, photometric=1.0, seed=5)(image, target)[0]
    second = train_transforms(hflip=0.0, photometric=1.0, seed=5)(image, target)[0]
    assert torch.equal(first, second)
    assert torch.equal(train_transforms(hflip=0.0, photometric=0.0, seed=5)(image, target)[0], image)
