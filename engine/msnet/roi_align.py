"""RoIAlign on the CPU as one weighted gather: torchvision's numbers, a fraction of the time.

torchvision's CPU ``roi_align`` kernel walks every RoI, channel and sample in scalar
code: about 100 ms a frame on one core for the box branch's 500 proposals on the
stride-4 map of a 640x360 input, one of the largest costs of a CPU analysis. Each output
bin is a fixed weighted sum of 16 feature-map locations (2x2 samples a bin, 4 bilinear
corners each) whose weights depend only on the RoI. So the weights and locations of
every bin are computed in a few vectorised tensor operations, and the sums are one
``embedding_bag`` (``mode="sum"`` with per-sample weights) over the map laid out
``[locations, channels]``: an optimised kernel that reads each location's 256 channels
as one row. On a channels-last map (the analysis converts the detector to channels
last) that layout is a view, with nothing copied.

The samples, their clamping at the map's edges and the ones dropped outside it follow
torchvision's kernel (``aligned=False``, a fixed ``sampling_ratio``); the results agree to
float rounding (a test compares them). :class:`GatherMultiScaleRoIAlign` uses it for
inference on CPU tensors and hands everything else (training, CUDA, an adaptive sampling
ratio) to torchvision.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.poolers import _convert_to_roi_format, _setup_scales


def _axis_samples(start: Tensor, length: Tensor, bins: int, ratio: int, size: int) -> tuple[Tensor, Tensor]:
    """Map indices and weights of the samples along one axis: each ``[N, bins, ratio, 2]``
    (the two bilinear neighbours of every sample; weight 0 for samples off the map)."""
    bin_size = length.clamp(min=1.0) / bins  # a RoI is at least one location long
    step = torch.arange(bins, dtype=start.dtype, device=start.device)
    offset = torch.arange(ratio, dtype=start.dtype, device=start.device) + 0.5
    # torchvision's order of operations: start + p * bin + (i + 0.5) * bin / ratio
    at = (start[:, None, None] + step[None, :, None] * bin_size[:, None, None]
          + offset[None, None, :] * bin_size[:, None, None] / ratio)
    inside = (at >= -1.0) & (at <= size)
    at = at.clamp(min=0.0)
    low = at.floor()
    at_edge = low >= size - 1
    low = torch.where(at_edge, torch.full_like(low, size - 1), low)
    at = torch.where(at_edge, low, at)
    fraction = at - low
    # a sample off the map weighs 0; its index only has to be valid (a NaN box's too)
    low_index = low.nan_to_num(0.0).long().clamp(0, size - 1)
    high_index = torch.where(at_edge, low_index, (low_index + 1).clamp(max=size - 1))
    index = torch.stack([low_index, high_index], dim=-1)
    weight = torch.where(inside[..., None], torch.stack([1.0 - fraction, fraction], dim=-1), 0.0)
    return index, weight


def gather_roi_align(features: Tensor, rois: Tensor, output_size: tuple[int, int], spatial_scale: float,
                     sampling_ratio: int) -> Tensor:
    """``torchvision.ops.roi_align(features, rois, output_size, spatial_scale, sampling_ratio,
    aligned=False)`` for ``sampling_ratio > 0``, as one weighted gather.

    ``features`` is ``[B, C, H, W]``; ``rois`` is ``[K, 5]`` (batch index, x1, y1, x2, y2).
    Returns ``[K, C, output_h, output_w]``.
    """
    if sampling_ratio <= 0:
        raise ValueError(f"gather_roi_align needs a fixed sampling_ratio > 0; got {sampling_ratio}")
    batch, channels, height, width = features.shape
    out_h, out_w = output_size
    count = rois.shape[0]
    if count == 0:
        return features.new_zeros((0, channels, out_h, out_w))
    rois = rois.to(features.dtype)
    x1 = rois[:, 1] * spatial_scale
    y1 = rois[:, 2] * spatial_scale
    y_index, y_weight = _axis_samples(y1, rois[:, 4] * spatial_scale - y1, out_h, sampling_ratio, height)
    x_index, x_weight = _axis_samples(x1, rois[:, 3] * spatial_scale - x1, out_w, sampling_ratio, width)
    # one bag per (RoI, bin y, bin x); its entries run over (sample y, corner y, sample x, corner x)
    first = (rois[:, 0].long() * (height * width))[:, None, None, None, None, None, None]
    locations = (first + y_index[:, :, None, :, :, None, None] * width
                 + x_index[:, None, :, None, None, :, :])
    weights = y_weight[:, :, None, :, :, None, None] * x_weight[:, None, :, None, None, :, :]
    weights = weights / (sampling_ratio * sampling_ratio)
    per_bin = (2 * sampling_ratio) ** 2
    table = features.permute(0, 2, 3, 1).reshape(batch * height * width, channels).contiguous()
    pooled = F.embedding_bag(locations.reshape(-1, per_bin), table, mode="sum",
                             per_sample_weights=weights.reshape(-1, per_bin))  # [K * bins, C]
    # channels-last, as the table: the heads read it as it lies (engine.msnet.heads)
    return pooled.view(count, out_h, out_w, channels).permute(0, 3, 1, 2)


def _gather_applies(features: list[Tensor], sampling_ratio: int) -> bool:
    return (sampling_ratio > 0 and all(f.device.type == "cpu" and f.dtype == torch.float32 for f in features)
            and not (torch.is_grad_enabled() and any(f.requires_grad for f in features)))


class GatherMultiScaleRoIAlign(MultiScaleRoIAlign):
    """:class:`torchvision.ops.MultiScaleRoIAlign` whose CPU inference pools with
    :func:`gather_roi_align`; the same level mapping, the same numbers to float rounding.

    Training (gradients), CUDA and an adaptive ``sampling_ratio`` run torchvision's own
    code. Built models get it with :func:`use_gather_roi_align`.
    """

    def forward(self, x: dict[str, Tensor], boxes: list[Tensor], image_shapes: list[tuple[int, int]]) -> Tensor:
        maps = [v for k, v in x.items() if k in self.featmap_names]
        if not _gather_applies(maps, self.sampling_ratio):
            return super().forward(x, boxes, image_shapes)
        if self.scales is None or self.map_levels is None:
            self.scales, self.map_levels = _setup_scales(maps, image_shapes, self.canonical_scale,
                                                         self.canonical_level)
        rois = _convert_to_roi_format(boxes)
        output_size = (int(self.output_size[0]), int(self.output_size[1]))
        if len(maps) == 1:
            return gather_roi_align(maps[0], rois, output_size, self.scales[0], self.sampling_ratio)
        levels = self.map_levels(boxes)
        if len(rois) and bool((levels == levels[0]).all()):  # all on one level (most frames: the stride-4 map)
            level = int(levels[0])
            return gather_roi_align(maps[level], rois, output_size, self.scales[level], self.sampling_ratio)
        result = maps[0].new_zeros((len(rois), maps[0].shape[1]) + output_size).contiguous(
            memory_format=torch.channels_last)
        for level, (feature_map, scale) in enumerate(zip(maps, self.scales)):
            index = torch.where(levels == level)[0]
            if index.numel():
                result[index] = gather_roi_align(feature_map, rois[index], output_size, scale, self.sampling_ratio)
        return result


def use_gather_roi_align(model: torch.nn.Module) -> None:
    """Give every ``MultiScaleRoIAlign`` of ``model`` the gather CPU inference path (in place)."""
    for module in model.modules():
        if type(module) is MultiScaleRoIAlign:
            module.__class__ = GatherMultiScaleRoIAlign
