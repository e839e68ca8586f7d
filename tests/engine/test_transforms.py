"""Camera/codec distortions and fine detail at train time change pixels, never geometry."""

from __future__ import annotations

import random

import torch

from engine.data.transforms import FineDetail, PhotometricDistort, train_transforms
from engine.msnet.sharpness import sharpness_at


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


def _soft_frame() -> torch.Tensor:
    """A render-like frame: broad shapes, no pixel-scale texture (Laplacian variance about 2)."""
    generator = torch.Generator().manual_seed(3)
    coarse = torch.rand(1, 3, 6, 8, generator=generator)
    return torch.nn.functional.interpolate(coarse, size=(96, 128), mode="bilinear", align_corners=False)[0]


def test_fine_detail_makes_a_soft_frame_as_crisp_as_real_footage_and_keeps_targets():
    image = _soft_frame()
    _, target = _sample()
    soft = sharpness_at(image, 96)[0]  # at its own size
    assert soft < 20
    detail = FineDetail(1.0, rng=random.Random(2))
    crisp = []
    for _ in range(8):
        out, out_target = detail(image, target)
        assert out_target is target
        assert out.shape == image.shape and out.dtype == torch.float32
        assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
        assert abs(float(out.mean() - image.mean())) < 0.03  # texture, not a change of exposure
        crisp.append(sharpness_at(out, 96)[0])
    # the renders measure under 200 at the model's input size, real footage 300-2,000
    assert sorted(crisp)[len(crisp) // 2] > 200


def test_fine_detail_is_seeded_and_off_at_zero():
    image, target = _sample()
    first = train_transforms(hflip=0.0, fine_detail=1.0, seed=4)(image, target)[0]
    again = train_transforms(hflip=0.0, fine_detail=1.0, seed=4)(image, target)[0]
    other = train_transforms(hflip=0.0, fine_detail=1.0, seed=6)(image, target)[0]
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(train_transforms(hflip=0.0, fine_detail=0.0, seed=4)(image, target)[0], image)
