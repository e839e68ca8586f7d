"""The close look: each detection seen again, in a crop of the full-resolution image.

The detector sees a frame shrunk to its input size (360 px on the short side for the
shipped model), where bare roof decking and an intact tan or terracotta roof are patches
of the same colour a few pixels wide. The close look cuts each detection's box out of
the frame as it came (a square around the box, :data:`CROP_MARGIN` of its side added on
every side, at least :data:`MIN_CROP_PX` pixels), resizes it to ``crop_px`` and runs a
small classifier of its own on it (:class:`CloseLookHead`: a copy of the detector's
backbone, fine-tuned on such crops, its last map averaged into one logit), so sheet
seams, shingle rows and tile courses are seen at several times the scale. It gives the
probability ``p`` that the crop shows damage, and the detection's score becomes
``score * p``: a detection the close look is sure of keeps its score, one it doubts
falls, and every score runs somewhat lower than without it. Boxes, levels and masks are
kept. MSNet runs it between its box branch and its mask branch
(:class:`engine.msnet.heads.RoIHeadsWithHook`), so no mask is computed for a detection it
drops (about half of them on the synthetic flights); with the mirror check on, it runs
after both views are merged.

The classifier is trained on the detector's own detections of annotated frames
(:mod:`engine.msnet.close_look_fit`): those on annotated damage against those far from
any damaged building. It has its own weights, so a fine-tune of the detector leaves it
as it is.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torchvision.ops import roi_align

from engine.msnet.heads import in_fixed_chunks
from engine.msnet.inference import in_bfloat16

#: share of the box's longer side added around it on every side
CROP_MARGIN = 0.25
#: the smallest crop, in pixels of the image (tiny boxes are seen with their surroundings)
MIN_CROP_PX = 24


class CloseLookHead(nn.Module):
    """Normalised crops -> probability of damage.

    ``body`` is a backbone body (an ``IntermediateLayerGetter`` giving an ordered dict
    of maps, as the detector's ``backbone.body``); its last map is averaged over space
    into one logit. ``crop_px`` is the side each crop is resized to.

    The classifier is trained with both kinds weighted equally (:meth:`logits`), so its
    odds are those of a crop drawn half from damage, half not. ``prior_logit`` (the log
    odds of damage among the detections it was trained on) is added at test time, so
    ``p`` is the probability that a detection of the detector shows damage.
    """

    def __init__(self, body: nn.Module, crop_px: int) -> None:
        super().__init__()
        self.crop_px = int(crop_px)
        self.body = body
        with torch.no_grad():
            was_training = body.training
            body.eval()
            channels = list(body(torch.zeros(1, 3, self.crop_px, self.crop_px)).values())[-1].shape[1]
            body.train(was_training)
        self.linear = nn.Linear(channels, 1)
        self.register_buffer("prior_logit", torch.zeros(()))
        #: the body in bfloat16 at test time (:mod:`engine.msnet.inference`, ``"close_look"``)
        self.cpu_bfloat16 = False

    def logits(self, batch: Tensor) -> Tensor:
        last = in_bfloat16(self.cpu_bfloat16, lambda crops: list(self.body(crops).values())[-1], batch)
        return self.linear(last.mean(dim=(2, 3)).float()).squeeze(1)

    def forward(self, batch: Tensor) -> Tensor:
        return torch.sigmoid(self.logits(batch) + self.prior_logit)


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


def normalised(batch: Tensor, mean: list[float], std: list[float]) -> Tensor:
    """``batch`` in [0, 1] normalised as the detector's transform does."""
    m = batch.new_tensor(mean).view(1, 3, 1, 1)
    s = batch.new_tensor(std).view(1, 3, 1, 1)
    return (batch - m) / s


def damage_probabilities(images: list[Tensor], boxes: list[Tensor], head: CloseLookHead,
                         mean: list[float], std: list[float], *, batch_size: int = 64,
                         fixed_batches: bool | None = None) -> list[Tensor]:
    """Per image, the close look's probability of damage of each box.

    ``fixed_batches``: every call of the head gets ``batch_size`` crops, the last batch
    zero-padded; ``None``: off the CPU only. A GPU builds a cuDNN plan for every new input
    shape, which costs more than the crops' convolutions, and the number of detections
    changes from frame to frame; on the CPU the padding would be work thrown away."""
    counts = [len(b) for b in boxes]
    if sum(counts) == 0:
        return [b.new_zeros((0,)) for b in boxes]
    every = torch.cat([crops(image, b, head.crop_px) for image, b in zip(images, boxes)])
    if fixed_batches is None:
        fixed_batches = every.device.type != "cpu"
    if fixed_batches:
        probabilities = in_fixed_chunks(lambda chunk: head(normalised(chunk, mean, std)), every, batch_size)
    else:
        probabilities = torch.cat([
            head(normalised(every[i:i + batch_size], mean, std))
            for i in range(0, len(every), batch_size)
        ])
    return list(probabilities.split(counts))


def combined_scores(scores: Tensor, probabilities: Tensor) -> Tensor:
    """The detector's score and the close look's probability, as one score."""
    return scores * probabilities.to(scores.dtype)
