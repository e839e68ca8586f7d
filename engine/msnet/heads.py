"""torchvision's mask head and predictor, run in fixed-size chunks; its RoI heads with a
hook before the mask branch.

The mask branch sees a different number of detections in every frame. On the CPU,
oneDNN builds a convolution primitive for every new input shape, so a video pays that
cost again and again, and the upsampled ``[N, 256, 28, 28]`` activations (~50 MB for 60
detections) are fresh pages each time. On a GPU, cuDNN builds (and may compile) an
execution plan for every new input shape, which costs far more than the convolution
itself, in training (where the positives sampled change in number every step) as in
evaluation. Running in chunks (the last one zero-padded) keeps one shape: of
:data:`CPU_EVAL_CHUNK` in evaluation on the CPU, which also keeps the buffers small, and
of :data:`DEVICE_CHUNK` on a GPU. Each detection's mask, and its gradient, is
computed exactly as before, independently of the others. Training on the CPU is
torchvision's, unchanged; the parameters (and so the weights files) are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

import torch
from torch import Tensor
from torch.nn import functional as F
from torchvision.models.detection.faster_rcnn import TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.roi_heads import RoIHeads

from engine.msnet.inference import in_bfloat16
from engine.msnet.unlabelled import IGNORE_KEY, leave_unlabelled

#: detections per mask-branch call in CPU evaluation: small chunks keep the 14x14 and
#: 28x28 activations in cache (720p flyover, 2-core AMD EPYC, one thread: 4 was 4-5%
#: faster per frame than 16 in float32 and in bfloat16; 1, 2 and 32 slower)
CPU_EVAL_CHUNK = 4

#: rows per call of the mask branch on a GPU (or any device but the CPU), in training
#: and evaluation: one input shape, so one cuDNN plan, for a whole video or training
#: run; large enough that a batch of frames, or a step's positives, take a call or a few
DEVICE_CHUNK = 64


def in_fixed_chunks(forward: Callable[[Tensor], Tensor], x: Tensor, size: int) -> Tensor:
    """``forward(x)`` computed ``size`` rows at a time, the last chunk zero-padded."""
    count = x.shape[0]
    if count == 0:
        return forward(x)
    padding = -count % size
    if padding:
        x = torch.cat([x, x.new_zeros((padding, *x.shape[1:]))])
    return torch.cat([forward(chunk) for chunk in x.split(size)])[:count]


def _chunked(module: torch.nn.Module, forward: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    if x.device.type != "cpu":
        # in training too: the positives sampled change in number every step, and the
        # padding is exact there as well (no layer mixes rows; a padded row's output is
        # dropped, so nothing flows back through it)
        return in_fixed_chunks(forward, x, DEVICE_CHUNK)
    if module.training:
        return forward(x)
    enabled = getattr(module, "cpu_bfloat16", False)
    return in_fixed_chunks(lambda chunk: in_bfloat16(enabled, forward, chunk), x, CPU_EVAL_CHUNK)


class BoxHead(TwoMLPHead):
    """:class:`~torchvision.models.detection.faster_rcnn.TwoMLPHead` that, in CPU inference,
    reads a channels-last input as it lies (the layout of the CPU's RoI pooling,
    :mod:`engine.msnet.roi_align`): its first layer's columns are put in (y, x, channel)
    order once, instead of copying every frame's ``[proposals, 256, 7, 7]`` to NCHW to
    flatten it. The same parameters and state dict; training and GPUs are torchvision's."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if (self.training or torch.is_grad_enabled() or x.device.type != "cpu" or x.dim() != 4
                or x.is_contiguous() or not x.is_contiguous(memory_format=torch.channels_last)):
            return super().forward(x)
        rows = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # a view: no copy
        x = F.relu(F.linear(rows, self._fc6_weight_channels_last(x.shape[1:]), self.fc6.bias))
        return F.relu(self.fc7(x))

    def _fc6_weight_channels_last(self, chw: torch.Size) -> Tensor:
        weight = self.fc6.weight
        key = (weight.data_ptr(), weight._version, weight.dtype, tuple(chw))
        cached = self.__dict__.get("_fc6_channels_last")
        if cached is None or cached[0] != key:
            channels, height, width = chw
            reordered = weight.detach().view(-1, channels, height, width).permute(0, 2, 3, 1).reshape(weight.shape[0], -1)
            cached = (key, reordered.contiguous())
            self.__dict__["_fc6_channels_last"] = cached
        return cached[1]

    def __getstate__(self):  # the reordered copy is rebuilt where it runs, never pickled
        state = dict(super().__getstate__())
        state.pop("_fc6_channels_last", None)
        return state


class MaskHead(MaskRCNNHeads):
    """:class:`~torchvision.models.detection.mask_rcnn.MaskRCNNHeads`, in fixed chunks off the
    CPU and in evaluation on it (there in bfloat16 when ``cpu_bfloat16`` is set, see
    :mod:`engine.msnet.inference`)."""

    cpu_bfloat16 = False

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return _chunked(self, super().forward, x)


class MaskPredictor(MaskRCNNPredictor):
    """:class:`~torchvision.models.detection.mask_rcnn.MaskRCNNPredictor`, in fixed chunks off the
    CPU and in evaluation on it (there in bfloat16 when ``cpu_bfloat16`` is set)."""

    cpu_bfloat16 = False

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return _chunked(self, super().forward, x)


#: per image, the boxes, scores and labels of the box branch's detections
Detections = tuple[list[Tensor], list[Tensor], list[Tensor]]
#: ``(boxes, scores, labels) -> (boxes, scores, labels)`` per image, applied between the
#: box branch's postprocess and the mask branch (:class:`RoIHeadsWithHook`); set for the
#: length of one call. A context variable, so that calls in flight on other threads
#: (the analysis runs two) neither see nor undo it.
BEFORE_MASKS: ContextVar[Callable[[list[Tensor], list[Tensor], list[Tensor]], Detections] | None] = ContextVar(
    "before_masks", default=None)


class RoIHeadsWithHook(RoIHeads):
    """torchvision's RoI heads, with :data:`BEFORE_MASKS` applied to the detections of an
    eval call before their masks are computed: the close look drops about half of them,
    and a mask computed for a dropped detection is work thrown away. In training, the
    proposals on a target's ``ignore_boxes`` are not sampled as background
    (:mod:`engine.msnet.unlabelled`). Same parameters; unset, and without
    ``ignore_boxes``, exactly torchvision's."""

    _ignore_regions: list[Tensor | None] | None = None

    def select_training_samples(self, proposals: list[Tensor], targets: list[dict[str, Tensor]] | None
                                ) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor]]:
        self._ignore_regions = None if targets is None else [target.get(IGNORE_KEY) for target in targets]
        try:
            return super().select_training_samples(proposals, targets)
        finally:
            self._ignore_regions = None

    def assign_targets_to_proposals(self, proposals: list[Tensor], gt_boxes: list[Tensor], gt_labels: list[Tensor]
                                    ) -> tuple[list[Tensor], list[Tensor]]:
        matched_idxs, labels = super().assign_targets_to_proposals(proposals, gt_boxes, gt_labels)
        if self._ignore_regions is not None:
            low = float(self.proposal_matcher.low_threshold)
            for image_labels, image_proposals, regions in zip(labels, proposals, self._ignore_regions):
                leave_unlabelled(image_labels, image_proposals, regions, low)
        return matched_idxs, labels

    def postprocess_detections(self, class_logits: Tensor, box_regression: Tensor, proposals: list[Tensor],
                               image_shapes: list[tuple[int, int]]) -> Detections:
        boxes, scores, labels = super().postprocess_detections(class_logits, box_regression, proposals, image_shapes)
        hook = BEFORE_MASKS.get()
        return (boxes, scores, labels) if hook is None else hook(boxes, scores, labels)


__all__ = ["BEFORE_MASKS", "CPU_EVAL_CHUNK", "DEVICE_CHUNK", "Detections", "MaskHead", "MaskPredictor",
           "RoIHeadsWithHook", "in_fixed_chunks"]
