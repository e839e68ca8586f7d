"""The multi-scale consistency loss and the SRN encoder (engine.srn.loss, encoder)."""

from __future__ import annotations

import pytest
import torch

from engine.srn import build_srn, feature_distance, multiscale_consistency_loss

SHAPES = {"0": (16, 16), "1": (8, 8), "2": (4, 4), "3": (2, 2)}


def _maps(channels: slice, batch: int = 3, width: int = 8, seed: int = 0) -> dict[str, torch.Tensor]:
    """Non-negative encodings living only in ``channels`` (so disjoint slices are orthogonal)."""
    generator = torch.Generator().manual_seed(seed)
    maps = {}
    for level, (h, w) in SHAPES.items():
        x = torch.zeros(batch, width, h, w)
        x[:, channels] = torch.rand(batch, channels.stop - channels.start, h, w, generator=generator) + 0.1
        maps[level] = x
    return maps


def test_loss_is_zero_for_identical_positives_and_orthogonal_negatives() -> None:
    anchor = _maps(slice(0, 4))
    negatives = [_maps(slice(4, 8), seed=s) for s in range(5)]
    loss = multiscale_consistency_loss(anchor, anchor, negatives, margin=1.0, top_k=1)
    torch.testing.assert_close(loss, torch.tensor(0.0), atol=1e-6, rtol=0)


def test_loss_is_margin_per_level_when_negatives_equal_anchors() -> None:
    anchor = _maps(slice(0, 8))
    loss = multiscale_consistency_loss(anchor, anchor, [anchor] * 5, margin=1.0)
    torch.testing.assert_close(loss, torch.tensor(float(len(SHAPES))), atol=1e-5, rtol=0)


def test_hard_negative_mining_keeps_the_worst_negatives() -> None:
    anchor = _maps(slice(0, 4))
    easy = _maps(slice(4, 8), seed=1)  # orthogonal: zero loss
    hard = anchor  # identical: loss = margin per level = 4
    negatives = [easy, easy, hard, easy, easy]
    top1 = multiscale_consistency_loss(anchor, anchor, negatives, top_k=1)
    top2 = multiscale_consistency_loss(anchor, anchor, negatives, top_k=2)
    torch.testing.assert_close(top1, torch.tensor(4.0), atol=1e-5, rtol=0)
    torch.testing.assert_close(top2, torch.tensor(2.0), atol=1e-5, rtol=0)


def test_feature_distance_is_one_minus_mean_cosine() -> None:
    a = torch.tensor([[[[1.0, 1.0]], [[0.0, 0.0]]]])  # [1, 2, 1, 2]: vectors (1,0), (1,0)
    b = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # vectors (1,0), (0,1)
    torch.testing.assert_close(feature_distance(a, b), torch.tensor([0.5]))
    with pytest.raises(ValueError, match="shapes differ"):
        feature_distance(a, b[..., :1])


def test_loss_margin_and_top_k_are_checked() -> None:
    anchor = _maps(slice(0, 4))
    with pytest.raises(ValueError, match="top_k"):
        multiscale_consistency_loss(anchor, anchor, [anchor], top_k=2)
    with pytest.raises(ValueError, match="at least one negative"):
        multiscale_consistency_loss(anchor, anchor, [])


def test_encoder_is_three_1x1_convs_on_every_level() -> None:
    encoder = build_srn()
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (256, 1024, (1, 1)),
        (1024, 1024, (1, 1)),
        (1024, 1024, (1, 1)),
    ]
    features = {level: torch.randn(1, 256, h, w) for level, (h, w) in SHAPES.items()}
    features["pool"] = torch.randn(1, 256, 1, 1)
    encoded = encoder(features)
    assert list(encoded) == ["0", "1", "2", "3"]
    assert all(encoded[k].shape == (1, 1024, *SHAPES[k]) for k in encoded)
    assert all((v >= 0).all() for v in encoded.values())  # ReLU last
    with pytest.raises(KeyError, match="lack levels"):
        encoder({"0": features["0"]})
