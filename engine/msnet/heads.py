"""torchvision's mask head and predictor, evaluated in fixed-size chunks on the CPU.

The mask branch sees a different number of detections in every frame. On the CPU,
oneDNN builds a convolution primitive for every new input shape, so a video pays that
cost again and again, and the upsampled ``[N, 256, 28, 28]`` activations (~50 MB for 60
detections) are fresh pages each time. Evaluating in chunks of :data:`CPU_EVAL_CHUNK`
(the last one zero-padded) keeps one shape and small buffers: each detection's mask is
computed exactly as before, independently of the others. Training and GPU evaluation
are torchvision's, unchanged; the parameters (and so the weights files) are the same.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor

from engine.msnet.inference import in_bfloat16

#: detections per mask-branch call in CPU evaluation: small chunks keep the 14x14 and
#: 28x28 activations in cache (720p flyover, 2-core AMD EPYC, one thread: 4 was 4-5%
#: faster per frame than 16 in float32 and in bfloat16; 1, 2 and 32 slower)
CPU_EVAL_CHUNK = 4


def in_fixed_chunks(forward: Callable[[Tensor], Tensor], x: Tensor, size: int) -> Tensor:
    """``forward(x)`` computed ``size`` rows at a time, the last chunk zero-padded."""
    count = x.shape[0]
    if count == 0:
        return forward(x)
    padding = -count % size
    if padding:
        x = torch.cat([x, x.new_zeros((padding, *x.shape[1:]))])
    return torch.cat([forward(chunk) for chunk in x.split(size)])[:count]


def _chunked_on_cpu(module: torch.nn.Module, forward: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    if module.training or x.device.type != "cpu":
        return forward(x)
    enabled = getattr(module, "cpu_bfloat16", False)
    return in_fixed_chunks(lambda chunk: in_bfloat16(enabled, forward, chunk), x, CPU_EVAL_CHUNK)


class MaskHead(MaskRCNNHeads):
    """:class:`~torchvision.models.detection.mask_rcnn.MaskRCNNHeads`, chunked on the CPU in eval
    (in bfloat16 when ``cpu_bfloat16`` is set, see :mod:`engine.msnet.inference`)."""

    cpu_bfloat16 = False

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return _chunked_on_cpu(self, super().forward, x)


class MaskPredictor(MaskRCNNPredictor):
    """:class:`~torchvision.models.detection.mask_rcnn.MaskRCNNPredictor`, chunked on the CPU in eval
    (in bfloat16 when ``cpu_bfloat16`` is set)."""

    cpu_bfloat16 = False

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return _chunked_on_cpu(self, super().forward, x)


__all__ = ["CPU_EVAL_CHUNK", "MaskHead", "MaskPredictor", "in_fixed_chunks"]
