"""The close look: each detection seen again, in a crop of the full-resolution image.

The detector sees a frame shrunk to its input size (360 px on the short side for the
shipped model), where bare roof decking and an intact tan or terracotta roof are patches
of the same colour a few pixels wide. The close look cuts each detection's box out of
the frame as it came (a square around the box, :data:`CROP_MARGIN` of its side added on
every side, at least :data:`MIN_CROP_PX` pixels), resizes it to ``crop_px`` and runs the
detector's own backbone on it, so sheet seams, shingle rows and tile courses are seen at
several times the scale. A linear head (:class:`CloseLookHead`) on the pooled backbone
maps gives the probability ``p`` that the crop shows damage, and the detection's score
becomes ``score * p``: a detection the close look is sure of keeps its score, one it
doubts falls, and every score runs somewhat lower than without it. Boxes, levels and
masks are kept.

The head is fitted on the detector's own detections of annotated frames
(:mod:`engine.msnet.close_look_fit`): those on annotated damage against those far from
any damaged building. It reads the backbone's features, so a fine-tune that trains the
backbone turns it off (:mod:`engine.finetune`; on a CPU it trains the RoI heads only by
default).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torchvision.ops import roi_align

#: share of the box's longer side added around it on every side
CROP_MARGIN = 0.25
#: the smallest crop, in pixels of the image (tiny boxes are seen with their surroundings)
MIN_CROP_PX = 24


class CloseLookHead(nn.Module):
    """Standardised pooled backbone features -> probability of damage.

    ``mean``/``std`` standardise the features (fitted with the head); ``crop_px`` is the
    side each crop is resized to.
    """

    def __init__(self, in_features: int, crop_px: int) -> None:
        super().__init__()
        self.crop_px = int(crop_px)
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("std", torch.ones(in_features))
        self.linear = nn.Linear(in_features, 1)

    def forward(self, features: Tensor) -> Tensor:
        return torch.sigmoid(self.linear((features - self.mean) / self.std)).squeeze(1)


def crop_boxes(boxes: Tensor) -> Tensor:
    """``[N, 4]`` xyxy boxes -> the square crops around them (may reach past the image)."""
    centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
    centre_y = (boxes[:, 1] + boxes[:, 3]) / 2
    side = torch.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * (1 + 2 * CROP_MARGIN)
    half = side.clamp(min=MIN_CROP_PX) / 2
    return torch.stack([centre_x - half, centre_y - half, centre_x + half, centre_y + half], dim=1)


def crops(image: Tensor, boxes: Tensor, crop_px: int) -> Tensor:
    """``[N, 3, crop_px, crop_px]`` crops of ``image`` ([3, H, W]) around ``boxes``
    (bilinear, several samples a pixel when shrinking; black outside the image)."""
    if len(boxes) == 0:
        return image.new_zeros((0, 3, crop_px, crop_px))
    squares = crop_boxes(boxes.to(image.dtype))
    return roi_align(image[None], [squares], output_size=(crop_px, crop_px), spatial_scale=1.0,
                     sampling_ratio=2, aligned=True)


def pooled_features(body: nn.Module, batch: Tensor) -> Tensor:
    """The backbone's maps of ``batch`` (normalised images), each but the finest averaged
    over space, and the coarsest also maxed: ``[N, F]``."""
    maps = list(body(batch).values())
    pooled = [level.mean(dim=(2, 3)) for level in maps[1:]] + [maps[-1].amax(dim=(2, 3))]
    return torch.cat(pooled, dim=1).float()


def normalised(batch: Tensor, mean: list[float], std: list[float]) -> Tensor:
    """``batch`` in [0, 1] normalised as the detector's transform does."""
    m = batch.new_tensor(mean).view(1, 3, 1, 1)
    s = batch.new_tensor(std).view(1, 3, 1, 1)
    return (batch - m) / s


def damage_probabilities(images: list[Tensor], boxes: list[Tensor], body: nn.Module, head: CloseLookHead,
                         mean: list[float], std: list[float], *, batch_size: int = 64) -> list[Tensor]:
    """Per image, the close look's probability of damage of each box."""
    counts = [len(b) for b in boxes]
    if sum(counts) == 0:
        return [b.new_zeros((0,)) for b in boxes]
    every = torch.cat([crops(image, b, head.crop_px) for image, b in zip(images, boxes)])
    probabilities = torch.cat([
        head(pooled_features(body, normalised(every[i:i + batch_size], mean, std)))
        for i in range(0, len(every), batch_size)
    ])
    return list(probabilities.split(counts))


def combined_scores(scores: Tensor, probabilities: Tensor) -> Tensor:
    """The detector's score and the close look's probability, as one score."""
    return scores * probabilities.to(scores.dtype)
