"""Batch norms folded into their convolutions for analysis: the same detections, fewer
modules, and a folded model is never saved as if it were its weights file."""

from __future__ import annotations

import pytest
import torch
from torchvision.ops.misc import FrozenBatchNorm2d

from core.errors import ModelError
from engine.msnet import build_msnet
from engine.msnet.fold import FOLDED_ATTRIBUTE, fold_batch_norms
from engine.weights import save_model


def _tiny_mobilenet_msnet() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_msnet(arch="msnet", backbone="mobilenet_v2", min_size=64, max_size=96, heads="light", norm="frozen_bn",
                        rpn_pre_nms_top_n_test=50, rpn_post_nms_top_n_test=20, box_detections_per_img=10,
                        box_score_thresh=0.0)
    model.add_close_look(32)
    generator = torch.Generator().manual_seed(1)
    for norm in model.modules():  # batch norms that do something (fresh ones are the identity)
        if isinstance(norm, FrozenBatchNorm2d):
            channels = norm.weight.shape[0]
            norm.weight.copy_(torch.rand(channels, generator=generator) + 0.5)
            norm.bias.copy_(torch.randn(channels, generator=generator) * 0.1)
            norm.running_mean.copy_(torch.randn(channels, generator=generator) * 0.1)
            norm.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
    return model.eval()


def _frozen_norms(module: torch.nn.Module) -> int:
    return sum(isinstance(m, FrozenBatchNorm2d) for m in module.modules())


def test_folding_removes_every_norm_of_both_backbones_and_keeps_the_detections() -> None:
    model = _tiny_mobilenet_msnet()
    model.close_look = True
    images = [torch.rand(3, 80, 96, generator=torch.Generator().manual_seed(2))]
    with torch.no_grad():
        before = model(images)[0]
        body_norms = _frozen_norms(model.backbone.body)
        head_norms = _frozen_norms(model.close_look_head)
        assert body_norms == head_norms == 52  # MobileNetV2: one after each convolution

        folded = fold_batch_norms(model)
        after = model(images)[0]

    assert folded == body_norms + head_norms
    assert _frozen_norms(model) == 0
    assert getattr(model, FOLDED_ATTRIBUTE)
    assert len(before["scores"]) > 0
    assert after["labels"].tolist() == before["labels"].tolist()
    assert torch.allclose(after["scores"], before["scores"], atol=1e-4)
    assert torch.allclose(after["boxes"], before["boxes"], atol=1e-2)


def test_folding_leaves_a_norm_in_training_mode_alone() -> None:
    layers = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    assert fold_batch_norms(layers) == 0  # its statistics are still being learned
    layers.eval()
    x = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        layers[1].running_mean.fill_(0.5)
        expected = layers(x)
        assert fold_batch_norms(layers) == 1
        assert isinstance(layers[1], torch.nn.Identity)
        assert torch.allclose(layers(x), expected, atol=1e-5)


def test_a_folded_model_is_not_saved_as_its_weights_file(tmp_path) -> None:
    model = _tiny_mobilenet_msnet()
    fold_batch_norms(model)
    with pytest.raises(ModelError, match="folded"):
        save_model(model, tmp_path / "folded.safetensors")
    assert not (tmp_path / "folded.safetensors").exists()


def test_the_analysis_loads_its_detector_folded(tiny_detector) -> None:
    from engine.analysis.plan import load_detector

    model, info = load_detector(tiny_detector / "msnet.safetensors", torch.device("cpu"))
    assert getattr(model, FOLDED_ATTRIBUTE)
    assert _frozen_norms(model.backbone.body) == 0
    assert info["weights"].endswith("msnet.safetensors")
