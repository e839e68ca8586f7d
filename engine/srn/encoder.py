"""The SRN feature encoder ``f`` (MSNet paper, section 4.3).

Three fully connected layers of 1024 units with ReLU, applied at every location of the
FPN maps P2-P5: that is three 1x1 convolutions, shared by all levels. The encoder sits
on a frozen detector backbone; it is the only part of the SRN that learns.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

from torch import Tensor, nn

#: FPN levels P2..P5 as torchvision's BackboneWithFPN names them
FPN_LEVELS: tuple[str, ...] = ("0", "1", "2", "3")


class SRNEncoder(nn.Module):
    """Per-location encoder of FPN feature maps.

    Parameters
    ----------
    in_channels
        Channels of the FPN maps (256 for torchvision's FPN).
    hidden_channels
        Width of each of the fully connected layers (1024 in the paper).
    num_layers
        Number of 1x1 conv + ReLU layers (3 in the paper).
    levels
        Names of the FPN levels :meth:`forward` encodes; other keys (``'pool'``) are
        ignored.
    """

    def __init__(
        self,
        in_channels: int = 256,
        hidden_channels: int = 1024,
        num_layers: int = 3,
        levels: Sequence[str] = FPN_LEVELS,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"SRNEncoder: num_layers must be >= 1; got {num_layers!r}")
        layers: list[nn.Module] = []
        channels = in_channels
        for _ in range(num_layers):
            layers += [nn.Conv2d(channels, hidden_channels, kernel_size=1), nn.ReLU(inplace=True)]
            channels = hidden_channels
        self.layers = nn.Sequential(*layers)
        self.in_channels = in_channels
        self.out_channels = hidden_channels
        self.num_layers = num_layers
        self.levels = tuple(levels)

    def encode(self, feature_map: Tensor) -> Tensor:
        """Encode one map: ``Tensor[B, in_channels, H, W] -> Tensor[B, out_channels, H, W]``.

        Also takes RoI-aligned patches (``[N, in_channels, 7, 7]``): the encoder has no
        spatial extent.
        """
        if feature_map.dim() != 4 or feature_map.shape[1] != self.in_channels:
            raise ValueError(
                f"SRNEncoder.encode: expected a [B, {self.in_channels}, H, W] tensor; "
                f"got shape {tuple(feature_map.shape)}"
            )
        return self.layers(feature_map)

    def forward(self, features: Mapping[str, Tensor]) -> "OrderedDict[str, Tensor]":
        """Encode every level of an FPN output.

        Parameters
        ----------
        features
            FPN maps by level name, each ``Tensor[B, in_channels, H_k, W_k]`` (the
            OrderedDict a torchvision ``BackboneWithFPN`` returns; ``'pool'`` is skipped).

        Returns
        -------
        OrderedDict[str, Tensor]
            The encoded maps, ``Tensor[B, out_channels, H_k, W_k]`` per level.
        """
        missing = [level for level in self.levels if level not in features]
        if missing:
            raise KeyError(
                f"SRNEncoder: FPN features lack levels {missing}; got keys {list(features)}"
            )
        return OrderedDict((level, self.encode(features[level])) for level in self.levels)


def build_srn(
    *,
    in_channels: int = 256,
    hidden_channels: int = 1024,
    num_layers: int = 3,
    levels: Sequence[str] = FPN_LEVELS,
) -> SRNEncoder:
    """Build an untrained SRN encoder (three 1x1 convs 256 -> 1024 -> 1024 -> 1024).

    Load trained weights with :func:`engine.srn.load_srn` instead.
    """
    return SRNEncoder(in_channels, hidden_channels, num_layers, levels)
