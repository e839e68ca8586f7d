"""The widest convolutions in int8 on CPUs without native bfloat16 (engine.msnet.int8)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import engine.msnet.inference as inference
from core.errors import ModelError
from core.model_files import config_path_for
from engine.msnet.inference import InferenceSettings
from engine.msnet.int8 import (
    ALLOWED,
    Int8ReadyConv2d,
    Int8ReadyConvTranspose2d,
    calibrate,
    int8_available,
    set_int8_ranges,
)
from engine.weights import DEFAULT_MSNET_WEIGHTS, load_model, read_config, save_model

pytestmark = [pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.skipif(not int8_available(), reason="torch without x86 quantized kernels")]

ISBDA_FRAME = Path(__file__).resolve().parents[1] / "data" / "isbda-frame" / "test" / "frame.png"


def _images(count: int, seed: int) -> list[torch.Tensor]:
    """Crops of a real frame (a random network's deep features vanish: the shipped one's do not)."""
    frame = torch.from_numpy(np.asarray(Image.open(ISBDA_FRAME).convert("RGB")).copy()).permute(2, 0, 1).float() / 255
    generator = torch.Generator().manual_seed(seed)
    crops = []
    for _ in range(count):
        top, left = (int(torch.randint(0, limit, (1,), generator=generator)) for limit in (792 - 360, 1382 - 640))
        crops.append(frame[:, top:top + 360, left:left + 640].contiguous())
    return crops


@pytest.fixture(scope="module")
def calibrated():
    model, _ = load_model(DEFAULT_MSNET_WEIGHTS, inference={"close_look": False, "sharpness_ceiling": 0, "cpu_int8": {}})
    ranges = calibrate(model, _images(2, 0))
    return model, ranges


@pytest.fixture
def native_bfloat16(monkeypatch):
    def set_to(value: bool) -> None:
        monkeypatch.setattr(inference, "cpu_has_native_bfloat16", lambda: value)

    return set_to


def _fpn_maps(model, image):
    with torch.no_grad():
        return model.backbone(model.transform([image])[0].tensors)


def test_calibration_measures_every_wide_convolution_in_order(calibrated):
    model, ranges = calibrated
    assert set(ranges) == set(ALLOWED)
    for low_in, high_in, low_out, high_out in ranges.values():
        assert low_in <= high_in and low_out <= high_out and high_out > low_out


def test_int8_runs_close_to_float_where_the_cpu_has_no_native_bfloat16(calibrated, native_bfloat16):
    model, ranges = calibrated
    image = _images(1, 9)[0]
    float_maps = _fpn_maps(model, image)
    assert set_int8_ranges(model, ranges) == len(ranges)
    native_bfloat16(False)
    try:
        int8_maps = _fpn_maps(model, image)
        conv = dict(model.named_modules())["backbone.fpn.layer_blocks.0.0"]
        assert isinstance(conv, Int8ReadyConv2d) and "_int8_copy" in conv.__dict__  # it ran in int8
        for name in float_maps:
            error = (int8_maps[name] - float_maps[name]).abs().mean() / float_maps[name].abs().mean()
            assert 0 < float(error) < 0.05, name
        native_bfloat16(True)  # such a CPU runs these parts in bfloat16 instead: the float convolution here
        assert all(torch.equal(a, b) for a, b in zip(_fpn_maps(model, image).values(), float_maps.values()))
    finally:
        set_int8_ranges(model, {})


@pytest.fixture
def in_int8(calibrated, native_bfloat16):
    """The calibrated model with its ranges set, on a CPU without native bfloat16;
    the ranges taken away again afterwards."""
    model, ranges = calibrated
    set_int8_ranges(model, ranges)
    native_bfloat16(False)
    yield model
    set_int8_ranges(model, {})


def test_training_and_gradients_run_the_float_convolution(in_int8):
    conv = dict(in_int8.named_modules())["rpn.trunk.0.0"]
    x = torch.rand(1, conv.in_channels, 8, 8)
    try:
        with torch.enable_grad():
            assert torch.equal(conv(x), torch.nn.functional.conv2d(x, conv.weight, conv.bias, padding=1))
        conv.train()
        with torch.no_grad():
            assert torch.equal(conv(x), torch.nn.functional.conv2d(x, conv.weight, conv.bias, padding=1))
    finally:
        conv.eval()


def test_int8_gives_the_same_numbers_for_either_memory_layout(in_int8):
    conv = dict(in_int8.named_modules())["backbone.fpn.layer_blocks.0.0"]
    x = torch.randn(1, conv.in_channels, 24, 40, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        from_nchw = conv(x)
        from_channels_last = conv(x.contiguous(memory_format=torch.channels_last))
    assert "_int8_copy" in conv.__dict__  # it ran in int8
    assert torch.equal(from_nchw, from_channels_last)
    # the kernels compute channels-last, and so hand their maps on (no copy to NCHW)
    assert from_channels_last.is_contiguous(memory_format=torch.channels_last)


def test_the_mask_predictors_transposed_convolution_runs_in_int8_close_to_float(in_int8):
    conv = dict(in_int8.named_modules())["roi_heads.mask_predictor.conv5_mask"]
    assert isinstance(conv, Int8ReadyConvTranspose2d)
    seen = []
    hook = conv.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    try:
        with torch.no_grad():
            in_int8([_images(1, 5)[0]])  # the detections of a real frame: the activations it is calibrated for
    finally:
        hook.remove()
    x = torch.cat(seen)
    assert x.shape[0] > 0
    ranges, conv.int8_ranges = conv.int8_ranges, None
    try:
        with torch.no_grad():
            float_out = conv(x)
    finally:
        conv.int8_ranges = ranges
    with torch.no_grad():
        int8_out = conv(x)
    assert "_int8_copy" in conv.__dict__ and int8_out.shape == float_out.shape == (x.shape[0], conv.out_channels, 28, 28)
    # each 2x2 output block comes from its own input location, as in the float one
    error = (int8_out - float_out).abs().mean() / float_out.abs().mean()
    assert 0 < float(error) < 0.05


def test_the_int8_copy_follows_the_weights_and_is_never_saved_or_pickled(in_int8):
    keys = set(in_int8.state_dict())
    conv = dict(in_int8.named_modules())["roi_heads.mask_head.0.0"]
    x = torch.rand(2, conv.in_channels, 14, 14)
    with torch.no_grad():
        before = conv(x)
        conv.weight.mul_(0.5)  # a fine-tune changed it: the int8 copy is built again
        after = conv(x)
        conv.weight.mul_(2.0)
    assert float((after - before).abs().mean()) > 0.01
    assert set(in_int8.state_dict()) == keys
    clone = pickle.loads(pickle.dumps(in_int8))
    assert "_int8_copy" not in dict(clone.named_modules())["roi_heads.mask_head.0.0"].__dict__


def test_the_ranges_travel_in_the_weights_config(tmp_path, calibrated):
    model, ranges = calibrated
    path = save_model(model, tmp_path / "msnet.safetensors")
    config = json.loads(config_path_for(path).read_text())
    config["inference"] = {"cpu_int8": ranges}
    config_path_for(path).write_text(json.dumps(config))
    loaded, _ = load_model(path)
    assert dict(loaded.inference_settings.cpu_int8) == {name: tuple(v) for name, v in ranges.items()}
    assert dict(loaded.named_modules())["rpn.trunk.0.0"].int8_ranges == tuple(ranges["rpn.trunk.0.0"])
    again = save_model(loaded, tmp_path / "again" / "msnet.safetensors")
    assert json.loads(config_path_for(again).read_text())["inference"]["cpu_int8"] == ranges


@pytest.mark.parametrize(("section", "words"), [
    ({"backbone.body.0.0": [0, 1, 0, 1]}, "'backbone.body.0.0' cannot run in int8"),
    ({"rpn.trunk.0.0": [0, 1, 0]}, "needs [input min, input max, output min, output max]"),
    ({"rpn.trunk.0.0": [1, 0, 0, 1]}, "finite and in order"),
    ({"rpn.trunk.0.0": [0, float("nan"), 0, 1]}, "finite and in order"),
    ([1, 2], "must be an object of convolution"),
])
def test_bad_int8_ranges_are_refused_naming_the_config(section, words):
    with pytest.raises(ModelError) as error:
        InferenceSettings.from_config({"cpu_int8": section}, source="msnet.json")
    assert str(error.value).startswith("msnet.json: inference setting 'cpu_int8'") and words in str(error.value)


def test_the_shipped_model_carries_ranges_for_every_wide_convolution():
    settings = InferenceSettings.from_config(read_config(DEFAULT_MSNET_WEIGHTS)["inference"], source="shipped")
    assert {name for name, _ in settings.cpu_int8} == set(ALLOWED)


def test_measuring_again_replaces_the_ranges_a_model_already_carries(tmp_path):
    """``python -m engine.msnet.int8`` on weights that carry ranges (a model trained on
    from the shipped one) measures every wide convolution again, not none of them."""
    weights = tmp_path / "msnet.safetensors"
    shutil.copy(DEFAULT_MSNET_WEIGHTS, weights)
    shutil.copy(config_path_for(DEFAULT_MSNET_WEIGHTS), config_path_for(weights))
    shipped = read_config(weights)["inference"]["cpu_int8"]
    frames = tmp_path / "flight" / "test"
    frames.mkdir(parents=True)
    Image.fromarray((_images(1, 3)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(frames / "0.jpg")
    subprocess.run([sys.executable, "-m", "engine.msnet.int8", "--weights", str(weights), "--data",
                    str(tmp_path / "flight"), "--frames", "1"], check=True, capture_output=True,
                   cwd=Path(__file__).resolve().parents[2], env={**os.environ, "OMP_NUM_THREADS": "1"})
    measured = read_config(weights)["inference"]["cpu_int8"]
    assert set(measured) == set(shipped) == set(ALLOWED)
    assert measured != shipped  # measured on this one frame, not the shipped ranges kept


def test_calibration_refuses_a_model_without_int8_convolutions():
    with pytest.raises(ValueError, match="none of the convolutions"):
        calibrate(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1)), _images(1, 0))
