"""Anchors on FPN maps of images padded only to a multiple of 16, not of the coarsest stride."""

from __future__ import annotations

import pytest
import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

from engine.msnet import build_msnet
from engine.msnet.anchors import SIZE_DIVISIBLE, FPNAnchorGenerator, fpn_stride

SIZES = ((16,), (32,), (64,), (128,), (256,))
RATIOS = ((0.5, 1.0, 2.0),) * 5


def _maps(height: int, width: int) -> list[torch.Tensor]:
    """Map sizes as the strided convolutions and the pooled level (kernel 1, stride 2) give
    them: each level halves and rounds up."""
    sizes, h, w = [], -(-height // 4), -(-width // 4)
    for _ in range(5):
        sizes.append((h, w))
        h, w = -(-h // 2), -(-w // 2)
    return [torch.zeros(1, 1, h, w) for h, w in sizes]


def _anchors(generator: AnchorGenerator, height: int, width: int) -> list[torch.Tensor]:
    images = ImageList(torch.zeros(1, 3, height, width), [(height, width)])
    maps = _maps(height, width)
    anchors = generator(images, maps)[0]
    per_level = [3 * m.shape[-2] * m.shape[-1] for m in maps]
    return list(anchors.split(per_level))


@pytest.mark.parametrize(("image", "grid", "stride"), [(384, 96, 4), (360, 90, 4), (360, 45, 8), (360, 23, 16),
                                                       (360, 12, 32), (360, 6, 64), (640, 10, 64), (1, 1, 1)])
def test_the_stride_is_the_nearest_power_of_two(image, grid, stride):
    assert fpn_stride(image, grid) == stride


def test_where_the_image_divides_by_the_strides_the_anchors_are_torchvisions():
    ours, theirs = _anchors(FPNAnchorGenerator(SIZES, RATIOS), 384, 640), _anchors(AnchorGenerator(SIZES, RATIOS), 384, 640)
    for mine, reference in zip(ours, theirs):
        assert torch.equal(mine, reference)


def test_a_frame_not_padded_to_32_keeps_each_cells_anchors():
    """A 640x360 frame (720p resized) without the padding to 384: every map cell it has
    keeps the anchors that cell has in the padded frame; torchvision's own generator
    would put the coarse levels' anchors at strides 15, 30 and 60."""
    padded = _anchors(FPNAnchorGenerator(SIZES, RATIOS), 384, 640)
    unpadded = _anchors(FPNAnchorGenerator(SIZES, RATIOS), 360, 640)
    for level, (full, cut) in enumerate(zip(padded, unpadded)):
        assert torch.equal(cut, full[: len(cut)]), f"level {level}"
    stock = _anchors(AnchorGenerator(SIZES, RATIOS), 360, 640)
    assert not torch.equal(stock[2], padded[2][: len(stock[2])])


def test_msnet_pads_its_batches_to_a_multiple_of_16_and_detects_on_them():
    torch.manual_seed(0)
    model = build_msnet(backbone="mobilenet_v3", heads="light", min_size=176, max_size=320,
                        anchor_sizes=(16, 32, 64, 128, 256)).eval()
    assert isinstance(model.rpn.damage_rpn.anchor_generator, FPNAnchorGenerator)
    assert SIZE_DIVISIBLE == 16
    frame = torch.rand(3, 360, 640)
    images, _ = model.transform([frame])
    assert tuple(images.tensors.shape[-2:]) == (176, 320)  # 176 = 11 x 16, not padded to 192
    with torch.no_grad():
        detections, features, sizes = model.detect_with_features([frame])
    assert [tuple(m.shape[-2:]) for m in features.values()] == [(44, 80), (22, 40), (11, 20), (6, 10), (3, 5)]
    assert detections[0]["boxes"].shape[1] == 4
    assert bool((detections[0]["boxes"][:, 3] <= 360).all())
