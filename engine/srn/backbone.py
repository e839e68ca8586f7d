"""The frozen detector backbone the SRN is trained on.

The SRN learns on the FPN maps of the very detector it will refine, so training takes
the detector's ``backbone`` (a torchvision ``BackboneWithFPN``) and the normalisation of
its ``transform`` (a ``GeneralizedRCNNTransform``), and never updates them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from engine.srn.encoder import FPN_LEVELS

class FrozenFPN(nn.Module):
    """A detector's backbone + FPN with frozen weights, fed equally sized image batches.

    Parameters
    ----------
    backbone
        A torchvision ``BackboneWithFPN`` (output keys ``'0'..'3'`` and ``'pool'``).
    transform
        The detector's ``GeneralizedRCNNTransform``; only its normalisation and batch
        padding are used: training frames arrive already resized to one size (see
        :class:`engine.srn.frames.FrameBank`).
    levels
        FPN levels returned.
    """

    def __init__(
        self,
        backbone: nn.Module,
        transform: GeneralizedRCNNTransform,
        levels: Sequence[str] = FPN_LEVELS,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.transform = transform
        self.levels = tuple(levels)
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FrozenFPN:
        # frozen means frozen: batch-norm statistics must not move either
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: Tensor) -> "OrderedDict[str, Tensor]":
        """FPN maps of a batch.

        Parameters
        ----------
        images
            ``Tensor[B, 3, H, W]`` float RGB in ``[0, 1]``, all of one size.

        Returns
        -------
        OrderedDict[str, Tensor]
            ``Tensor[B, 256, H_k, W_k]`` per level (P2..P5).
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"FrozenFPN: expected a [B, 3, H, W] batch; got shape {tuple(images.shape)}")
        mean = torch.as_tensor(self.transform.image_mean, dtype=images.dtype, device=images.device)
        std = torch.as_tensor(self.transform.image_std, dtype=images.dtype, device=images.device)
        x = (images - mean[:, None, None]) / std[:, None, None]
        height, width = x.shape[-2:]
        divisible = int(self.transform.size_divisible)  # pad as the detector pads its batches
        pad_h = -height % divisible
        pad_w = -width % divisible
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        features = self.backbone(x)
        return OrderedDict((level, features[level]) for level in self.levels)


def build_untrained_fpn(backbone_name: str = "resnet18", *, min_size: int = 800, max_size: int = 1333) -> FrozenFPN:
    """A random-init ResNet-FPN: for tests and for developing without detector weights."""
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    backbone = resnet_fpn_backbone(backbone_name=backbone_name, weights=None, trainable_layers=0)
    transform = GeneralizedRCNNTransform(min_size, max_size, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    return FrozenFPN(backbone, transform)


def load_frozen_fpn(weights_path: str | Path, *, device: str | torch.device = "cpu") -> tuple[FrozenFPN, dict]:
    """The frozen backbone of the detector stored at ``weights_path``.

    Returns the extractor and a provenance dict (path, SHA-256, arch, backbone, the
    detector's ``min_size``) to record in the SRN config.

    Raises
    ------
    core.errors.ModelError
        From :func:`engine.weights.load_model`, naming the file.
    """
    from engine.weights import load_model

    model, config = load_model(weights_path, device=device)
    extractor = FrozenFPN(model.backbone, model.transform).to(device)
    build = config.get("model", {})  # engine.weights keeps the build arguments here
    provenance = {
        "detector_weights": Path(weights_path).name,
        "detector_sha256": file_sha256(weights_path),
        "detector_arch": build.get("arch"),
        "detector_backbone": build.get("backbone"),
        "detector_min_size": _first(model.transform.min_size),
    }
    return extractor, provenance


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first(value: int | Sequence[int]) -> int:
    return int(value[0]) if isinstance(value, (tuple, list)) else int(value)
