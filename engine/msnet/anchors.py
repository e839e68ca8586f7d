"""Anchors for FPN maps of images that are not a multiple of the coarsest stride.

torchvision's :class:`AnchorGenerator` takes each level's stride as ``image // grid``,
which is exact only when the padded image is a multiple of the coarsest stride (32 for
P5, 64 for the pooled level). A 720p frame resized to 640x360 is then padded to 640x384:
7% more pixels through every convolution for a band of padding, where a multiple of 16
(640x368) needs 2%. Strided convolutions round map sizes up (368 -> 92, 46, 23, 12, 6),
so a map cell keeps its place whatever the image size and only the stride needs
inferring: the power of two nearest ``image / grid``, as torchvision's
``MultiScaleRoIAlign`` infers its scales.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

#: the padding of the batched images. The anchors no longer need the coarsest stride
#: (32); padding to 8 (360 rows) cost the shipped model a point of held-out mask AP
#: (53.1 against 54.2), as damage at the bottom edge then meets the convolutions' zero
#: padding instead of the grey band it was trained with, and was no faster than 16 (368
#: rows), which keeps the AP (53.9) and takes 5% off the detector's time on one thread
SIZE_DIVISIBLE = 16


def fpn_stride(image_side: int, grid_side: int) -> int:
    """The stride of a map of ``grid_side`` cells over ``image_side`` pixels, a power of two."""
    return 2 ** round(math.log2(image_side / grid_side))


class FPNAnchorGenerator(AnchorGenerator):
    """torchvision's anchor generator with power-of-two strides inferred from the map
    sizes; the same anchors as torchvision's wherever the image divides by the strides."""

    def forward(self, image_list: ImageList, feature_maps: list[Tensor]) -> list[Tensor]:
        grid_sizes = [feature_map.shape[-2:] for feature_map in feature_maps]
        image_size = image_list.tensors.shape[-2:]
        dtype, device = feature_maps[0].dtype, feature_maps[0].device
        strides = [
            [
                torch.empty((), dtype=torch.int64, device=device).fill_(fpn_stride(int(image_size[0]), int(g[0]))),
                torch.empty((), dtype=torch.int64, device=device).fill_(fpn_stride(int(image_size[1]), int(g[1]))),
            ]
            for g in grid_sizes
        ]
        self.set_cell_anchors(dtype, device)
        anchors_over_all_feature_maps = self.grid_anchors(grid_sizes, strides)
        return [torch.cat(anchors_over_all_feature_maps) for _ in image_list.image_sizes]


__all__ = ["SIZE_DIVISIBLE", "FPNAnchorGenerator", "fpn_stride"]
