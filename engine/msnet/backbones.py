"""FPN backbones from torchvision parts, never with downloaded weights.

Every backbone returns torchvision's :class:`~torchvision.ops.feature_pyramid_network`
``BackboneWithFPN``: an OrderedDict with keys ``'0'..'3'`` (P2..P5, strides 4..32) and
``'pool'`` (P6), all with 256 channels, which is what the RoI heads, the anchor
generator and the SRN expect.
"""

from __future__ import annotations

from enum import Enum
from typing import Callable

import torchvision
from torch import nn
from torchvision.models.detection.backbone_utils import BackboneWithFPN, resnet_fpn_backbone
from torchvision.ops import misc as misc_nn_ops
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

FPN_CHANNELS = 256

from engine.msnet.choices import Choice


class BackboneName(Choice):
    RESNET50 = "resnet50"
    RESNET18 = "resnet18"
    MOBILENET_V3 = "mobilenet_v3"
    MOBILENET_V2 = "mobilenet_v2"


BackboneName.label = "backbone"


class NormName(str, Enum):
    """``bn``: trainable BatchNorm (training from scratch); ``frozen_bn``: torchvision's
    FrozenBatchNorm2d (fine-tuning from pretrained statistics)."""

    BN = "bn"
    FROZEN_BN = "frozen_bn"


def _norm_layer(norm: str | NormName) -> Callable[..., nn.Module]:
    return misc_nn_ops.FrozenBatchNorm2d if NormName(norm) is NormName.FROZEN_BN else nn.BatchNorm2d


#: the last block of each stride-4/8/16/32 stage of MobileNetV3-Large's ``features``
_MOBILENET_V3_STAGE_ENDS = {"3": "0", "6": "1", "12": "2", "16": "3"}
#: the same for MobileNetV2's ``features`` (block 18 is the 1280-channel head conv, the
#: last layer whose ImageNet features a classifier read)
_MOBILENET_V2_STAGE_ENDS = {"3": "0", "6": "1", "13": "2", "18": "3"}
#: first block of each MobileNetV2 stage (stem, strides 2, 4, 8, 16, 32), for freezing
_MOBILENET_V2_STAGE_STARTS = [0, 2, 4, 7, 14, 19]


def build_fpn_backbone(
    name: str | BackboneName, *, norm: str | NormName = "bn", trainable_layers: int | None = None
) -> BackboneWithFPN:
    """An FPN backbone with randomly initialised weights.

    Parameters
    ----------
    name : {"resnet50", "resnet18", "mobilenet_v3", "mobilenet_v2"}
    norm : {"bn", "frozen_bn"}
        Normalisation of the body.
    trainable_layers : int, optional
        Stages left trainable, counted from the top (torchvision's meaning). Default:
        all when training from scratch (``bn``), 3 when fine-tuning (``frozen_bn``).
    """
    backbone = BackboneName.parse(name)
    norm_layer = _norm_layer(norm)
    if backbone is BackboneName.MOBILENET_V3:
        body = torchvision.models.mobilenet_v3_large(weights=None, norm_layer=norm_layer).features
        if trainable_layers is None:
            trainable_layers = 6 if NormName(norm) is NormName.BN else 3
        # torchvision's own mobilenet_backbone returns only the two stride-32 maps; the
        # SRN and the small damage parts need P2..P5, so take the end of every stage.
        stage_starts = [0] + [i for i, block in enumerate(body) if getattr(block, "_is_cn", False)] + [len(body)]
        freeze_before = stage_starts[max(0, len(stage_starts) - 1 - trainable_layers)]
        for block in list(body)[:freeze_before]:
            block.requires_grad_(False)
        in_channels = [body[int(index)].out_channels for index in _MOBILENET_V3_STAGE_ENDS]
        return BackboneWithFPN(
            body, _MOBILENET_V3_STAGE_ENDS, in_channels, FPN_CHANNELS, extra_blocks=LastLevelMaxPool()
        )
    if backbone is BackboneName.MOBILENET_V2:
        body = torchvision.models.mobilenet_v2(weights=None, norm_layer=norm_layer).features
        if trainable_layers is None:
            trainable_layers = 5 if NormName(norm) is NormName.BN else 3
        starts = _MOBILENET_V2_STAGE_STARTS
        freeze_before = starts[max(0, len(starts) - 1 - trainable_layers)]
        for block in list(body)[:freeze_before]:
            block.requires_grad_(False)
        in_channels = [_out_channels(body[int(index)]) for index in _MOBILENET_V2_STAGE_ENDS]
        return BackboneWithFPN(
            body, _MOBILENET_V2_STAGE_ENDS, in_channels, FPN_CHANNELS, extra_blocks=LastLevelMaxPool()
        )
    if trainable_layers is None:
        trainable_layers = 5 if NormName(norm) is NormName.BN else 3
    return resnet_fpn_backbone(
        backbone_name=backbone.value, weights=None, norm_layer=norm_layer, trainable_layers=trainable_layers
    )


def _out_channels(block: nn.Module) -> int:
    """Output channels of a MobileNetV2 block (an InvertedResidual or a Conv2dNormActivation)."""
    if hasattr(block, "out_channels"):
        return int(block.out_channels)
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    return int(convs[-1].out_channels)
