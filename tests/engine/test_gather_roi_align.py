"""RoIAlign as one weighted gather (engine.msnet.roi_align) against torchvision's kernel."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torchvision.ops import MultiScaleRoIAlign, roi_align

from engine.msnet.roi_align import GatherMultiScaleRoIAlign, gather_roi_align, use_gather_roi_align


def _rois(count: int, image_hw: tuple[int, int], batch: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    height, width = image_hw
    corner = torch.rand(count, 2, generator=generator) * torch.tensor([width + 40.0, height + 40.0]) - 20.0
    size = torch.rand(count, 2, generator=generator) * 90.0  # some thinner than one location
    size[: count // 8] = 0.0  # degenerate boxes are one location wide in both kernels
    index = torch.randint(0, batch, (count, 1), generator=generator).float()
    return torch.cat([index, corner, corner + size], dim=1)


@pytest.mark.parametrize(("output_size", "sampling_ratio", "scale"), [((7, 7), 2, 0.25), ((14, 14), 2, 0.125),
                                                                      ((5, 3), 1, 0.5), ((7, 7), 3, 0.0625)])
def test_gather_roi_align_equals_torchvision(output_size, sampling_ratio, scale) -> None:
    torch.manual_seed(0)
    image_hw = (96, 160)
    features = torch.randn(2, 8, int(image_hw[0] * scale), int(image_hw[1] * scale))
    rois = _rois(300, image_hw, batch=2, seed=1)  # boxes reaching off the image on every side
    expected = roi_align(features, rois, output_size, spatial_scale=scale, sampling_ratio=sampling_ratio,
                         aligned=False)
    result = gather_roi_align(features, rois, output_size, scale, sampling_ratio)
    # channels-last, as its table: the heads read it without a copy
    assert result.shape == expected.shape and result.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(result, expected, rtol=1e-5, atol=2e-5)
    assert expected.abs().sum() > 0 and (expected == 0).all(dim=(1, 2, 3)).any()  # some RoIs lie off the map


def test_gather_roi_align_rejects_adaptive_sampling() -> None:
    with pytest.raises(ValueError, match="sampling_ratio"):
        gather_roi_align(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), (2, 2), 1.0, 0)


def test_a_box_with_no_number_pools_to_nothing() -> None:
    rois = torch.tensor([[0.0, float("nan"), 2.0, 6.0, 6.0], [0.0, 1.0, 1.0, float("inf"), 5.0]])
    pooled = gather_roi_align(torch.ones(1, 2, 8, 8), rois, (2, 2), 1.0, 2)
    assert pooled.shape == (2, 2, 2, 2) and bool(torch.isfinite(pooled).all())


def test_no_rois_give_an_empty_batch() -> None:
    assert gather_roi_align(torch.zeros(1, 3, 4, 4), torch.zeros(0, 5), (7, 7), 1.0, 2).shape == (0, 3, 7, 7)


def _pyramid(seed: int) -> tuple[OrderedDict, list[torch.Tensor], list[tuple[int, int]]]:
    generator = torch.Generator().manual_seed(seed)
    image_hw = (128, 192)
    maps = OrderedDict((name, torch.randn(2, 4, image_hw[0] // s, image_hw[1] // s, generator=generator))
                       for name, s in (("0", 4), ("1", 8), ("2", 16), ("3", 32)))
    boxes = []
    for i in range(2):
        rois = _rois(200, image_hw, batch=1, seed=seed + i)[:, 1:]
        rois[:, 2:] = torch.maximum(rois[:, 2:], rois[:, :2] + 1.0)
        rois[::5, 2:] = rois[::5, :2] + 150.0  # large boxes reach the coarse levels
        rois[1::7, 2:] = rois[1::7, :2] + 300.0
        rois[2::9, 2:] = rois[2::9, :2] + 500.0
        boxes.append(rois)
    return maps, boxes, [image_hw, image_hw]


def test_multiscale_pooling_equals_torchvision_and_trains_through_torchvision() -> None:
    maps, boxes, shapes = _pyramid(seed=3)
    reference = MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2)
    gather = MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2)
    use_gather_roi_align(torch.nn.Sequential(gather))
    assert isinstance(gather, GatherMultiScaleRoIAlign)
    expected = reference(maps, boxes, shapes)
    with torch.no_grad():
        torch.testing.assert_close(gather(maps, boxes, shapes), expected, rtol=1e-5, atol=2e-5)
    levels = reference.map_levels(boxes)
    assert set(levels.tolist()) == {0, 1, 2, 3}  # the check covered several levels
    # with gradients wanted, torchvision's differentiable kernel runs, exactly
    wanting = OrderedDict((k, v.clone().requires_grad_(True)) for k, v in maps.items())
    pooled = gather(wanting, boxes, shapes)
    assert torch.equal(pooled, reference(wanting, boxes, shapes))
    pooled.sum().backward()
    assert wanting["0"].grad is not None and wanting["0"].grad.abs().sum() > 0


def test_channels_last_maps_and_one_level_give_the_same() -> None:
    maps, boxes, shapes = _pyramid(seed=5)
    small = [b.clone() for b in boxes]
    for b in small:
        b[:, 2:] = b[:, :2] + 6.0  # every box on the stride-4 map
    reference = MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2)
    gather = GatherMultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2)
    last = OrderedDict((k, v.contiguous(memory_format=torch.channels_last)) for k, v in maps.items())
    with torch.no_grad():
        expected = reference(maps, small, shapes)
        assert set(reference.map_levels(small).tolist()) == {0}
        torch.testing.assert_close(gather(last, small, shapes), expected, rtol=1e-5, atol=2e-5)
        empty = [b[:0] for b in boxes]
        assert gather(last, empty, shapes).shape == (0, 4, 7, 7)
