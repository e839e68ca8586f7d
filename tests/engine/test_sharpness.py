"""Frames softened to the sharpness the detector was trained on (engine.msnet.sharpness)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from core.errors import ModelError
from engine.msnet import build_msnet
from engine.msnet.inference import InferenceSettings
from engine.msnet.sharpness import gaussian_blurred, laplacian_variance, sharpness_at, softened
from engine.weights import DEFAULT_MSNET_WEIGHTS, load_model, read_config, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(backbone="mobilenet_v3", heads="light", min_size=96, max_size=128)


def _crisp(height: int = 240, width: int = 320, seed: int = 0) -> torch.Tensor:
    """Fine texture (shingle-like stripes and noise), far sharper than any rendered frame."""
    rng = np.random.default_rng(seed)
    rows = (np.arange(height)[:, None] // 2 % 2).astype(np.float32)
    texture = 0.35 + 0.3 * rows + 0.25 * rng.random((height, width), dtype=np.float32)
    image = np.stack([texture, texture * 0.9, texture * 0.8])
    return torch.from_numpy(image).clamp(0, 1)


def _smooth(height: int = 240, width: int = 320) -> torch.Tensor:
    """A soft gradient: almost no Laplacian at all."""
    y = torch.linspace(0.2, 0.8, height)[:, None].expand(height, width)
    return torch.stack([y, y.flip(0), torch.full_like(y, 0.5)])


def test_the_laplacian_variance_is_opencvs():
    grey = (np.random.default_rng(1).random((50, 70)) * 255).astype(np.float32)
    expected = cv2.Laplacian(grey, cv2.CV_32F, borderType=cv2.BORDER_REPLICATE).var()
    assert laplacian_variance(torch.from_numpy(grey)) == pytest.approx(float(expected), rel=1e-3)


@pytest.mark.parametrize("sigma", [0.7, 1.6, 3.2])
def test_the_blur_is_opencvs_gaussian(sigma):
    image = torch.rand(3, 40, 60, generator=torch.Generator().manual_seed(2))
    ksize = 2 * max(1, math.ceil(3 * sigma)) + 1
    expected = cv2.GaussianBlur(image.permute(1, 2, 0).numpy(), (ksize, ksize), sigma, borderType=cv2.BORDER_REFLECT_101)
    got = gaussian_blurred(image, sigma).permute(1, 2, 0).numpy()
    assert np.abs(got - expected).max() < 1e-5
    assert gaussian_blurred(image, 0.0) is image


def test_bucketed_blurs_are_the_same_with_a_few_kernel_shapes(monkeypatch):
    """Off the CPU the kernels come in lengths of 2**k + 1 (zero taps past the radius), so
    the search for a frame's blur meets a few shapes again and again; the same pixels."""
    image = torch.rand(3, 48, 64, generator=torch.Generator().manual_seed(7))
    lengths = set()
    conv2d = torch.nn.functional.conv2d
    monkeypatch.setattr(torch.nn.functional, "conv2d",
                        lambda x, w, *a, **k: lengths.add(max(w.shape[-2:])) or conv2d(x, w, *a, **k))
    sigmas = [0.3 * step for step in range(1, 40)]  # radii 1..36
    for sigma in sigmas:
        torch.testing.assert_close(gaussian_blurred(image, sigma, bucketed=True),
                                   gaussian_blurred(image, sigma, bucketed=False), rtol=1e-5, atol=1e-6)
    lengths.clear()
    for sigma in sigmas:
        gaussian_blurred(image, sigma, bucketed=True)
    # radii past the image's short side keep their own length (replicated edges)
    assert {n for n in lengths if n < 48} == {3, 5, 9, 17, 33}
    assert len(lengths) < len(sigmas) // 2


def test_a_frame_no_sharper_than_the_ceiling_is_left_exactly_as_it_is():
    image = _smooth()
    before, _ = sharpness_at(image, 96)
    assert softened(image, before + 1.0, 96) is image
    crisp = _crisp()
    assert softened(crisp, sharpness_at(crisp, 96)[0] * 1.01, 96) is crisp


@pytest.mark.parametrize("scale", [1, 3])
def test_a_sharper_frame_is_softened_down_to_the_ceiling_where_the_model_looks(scale):
    """The same scene filmed at three times the resolution gets a blur three times wider:
    what the model sees at its input size is as sharp either way, at the ceiling."""
    image = torch.nn.functional.interpolate(_crisp()[None], scale_factor=scale, mode="nearest")[0]
    before, _ = sharpness_at(image, 120)
    ceiling = before / 8
    out = softened(image, ceiling, 120)
    after, _ = sharpness_at(out, 120)
    assert after == pytest.approx(ceiling, rel=0.05)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert float((out.mean() - image.mean()).abs()) < 0.01  # blurred, not darkened


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    torch.manual_seed(3)
    return save_model(build_msnet(arch="msnet", **TINY).eval(), tmp_path_factory.mktemp("w") / "msnet.safetensors")


def _seen_by_the_transform(model, image):
    seen = []
    handle = model.transform.register_forward_pre_hook(lambda module, args: seen.append(args[0][0].clone()))
    try:
        with torch.no_grad():
            model([image])
    finally:
        handle.remove()
    return seen[0]


def test_the_model_softens_crisp_frames_before_it_looks_and_leaves_soft_ones(tiny_weights):
    crisp, soft = _crisp(), _smooth()
    ceiling = sharpness_at(crisp, 96)[0] / 6
    model, config = load_model(tiny_weights, inference={"sharpness_ceiling": ceiling})
    assert model.inference_settings.sharpness_ceiling == pytest.approx(ceiling)
    seen = _seen_by_the_transform(model, crisp)
    assert sharpness_at(seen, 96)[0] == pytest.approx(ceiling, rel=0.05)
    assert torch.equal(_seen_by_the_transform(model, soft), soft)
    # 0 (the command line's "frames as they come") turns it off
    model, _ = load_model(tiny_weights, inference={"sharpness_ceiling": 0})
    assert model.sharpness_ceiling is None and torch.equal(_seen_by_the_transform(model, crisp), crisp)


def test_training_sees_frames_as_they_come(tiny_weights):
    model, _ = load_model(tiny_weights, inference={"sharpness_ceiling": 1.0})
    model.train()
    seen = []
    model.transform.register_forward_pre_hook(lambda module, args: seen.append(args[0][0].clone()))
    crisp = _crisp(96, 128)
    target = {"boxes": torch.tensor([[10.0, 10.0, 40.0, 40.0]]), "labels": torch.tensor([1]),
              "masks": torch.zeros(1, 96, 128, dtype=torch.uint8), "building_boxes": torch.tensor([[5.0, 5.0, 60.0, 60.0]])}
    model([crisp], [target])
    assert torch.equal(seen[0], crisp)


@pytest.mark.parametrize("ceiling", [-1, "200", True, float("inf")])
def test_a_bad_sharpness_ceiling_is_refused_naming_the_config(ceiling):
    with pytest.raises(ModelError, match=r"msnet\.json: inference setting 'sharpness_ceiling' must be a number >= 0"):
        InferenceSettings.from_config({"sharpness_ceiling": ceiling}, source="msnet.json")


def test_the_shipped_model_softens_frames_sharper_than_its_training_flights():
    settings = InferenceSettings.from_config(read_config(DEFAULT_MSNET_WEIGHTS)["inference"], source="shipped")
    # the sharpest frame of its 24 training flights measures 198 (MEASUREMENTS.md beside the model card)
    assert settings.sharpness_ceiling == 200.0


def test_an_analysis_request_sets_the_ceiling_over_the_weights_own():
    from core.errors import InputError
    from services.analysis import AnalysisRequest

    assert AnalysisRequest(sharpness_ceiling=120.0).inference() == {"sharpness_ceiling": 120.0}
    assert AnalysisRequest(sharpness_ceiling=0.0).inference() == {"sharpness_ceiling": 0.0}  # off, over the weights'
    assert "sharpness_ceiling" not in AnalysisRequest().inference()  # the weights' own
    with pytest.raises(InputError, match="the sharpness ceiling must be a number >= 0"):
        AnalysisRequest(sharpness_ceiling=-3.0)


def test_the_sharpness_is_measured_at_the_built_input_size_whatever_the_input_size(tiny_weights):
    """A larger input size shows the model a sharper frame; the ceiling still means the
    training frames' sharpness, as the model saw them when it was trained."""
    crisp = _crisp()
    ceiling = sharpness_at(crisp, 96)[0] / 6
    at_built, _ = load_model(tiny_weights, inference={"sharpness_ceiling": ceiling})
    larger, _ = load_model(tiny_weights, inference={"sharpness_ceiling": ceiling, "input_size": 192})
    assert larger.sharpness_short_side == 96 and larger.transform.min_size == (192,)
    assert torch.allclose(_seen_by_the_transform(larger, crisp), _seen_by_the_transform(at_built, crisp))


def test_tiny_and_odd_frames_are_softened_or_passed_on_without_error():
    tiny = _crisp(12, 9)
    out = softened(tiny, sharpness_at(tiny, 96)[0] / 4, 96)  # narrower than the blur's kernel
    assert out.shape == tiny.shape and torch.isfinite(out).all()
    broken = _crisp()
    broken[:, 5, 5] = float("nan")
    assert softened(broken, 1.0, 96) is broken
    flat = torch.full((3, 50, 60), 0.4)
    assert softened(flat, 1.0, 96) is flat


def test_a_ceiling_of_zero_set_in_code_is_off_too(tiny_weights):
    from engine.msnet.inference import apply_inference_settings

    model, _ = load_model(tiny_weights)
    apply_inference_settings(model, InferenceSettings(sharpness_ceiling=0.0))  # as a bench's dataclasses.replace does
    crisp = _crisp()
    assert model.sharpness_ceiling is None and torch.equal(_seen_by_the_transform(model, crisp), crisp)
