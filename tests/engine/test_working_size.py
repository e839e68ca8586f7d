"""Frames larger than the model can use are shrunk before it looks, and its boxes and
masks still come in the frame's own pixels."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from core.errors import ModelError
from core.types import Frame
from engine.msnet.inference import InferenceSettings, apply_inference_settings
from engine.msnet.working_size import model_working_short_side, working_image, working_size


def test_only_frames_past_the_limit_shrink_keeping_their_aspect() -> None:
    assert working_size(2160, 3840, 1080) == (1080, 1920)
    assert working_size(3840, 2160, 1080) == (1920, 1080)  # a portrait frame: its short side is the width
    assert working_size(1080, 1920, 1080) is None and working_size(720, 1280, 1080) is None
    assert working_size(2160, 3840, None) is None
    image = np.zeros((90, 160, 3), np.uint8)
    image[:, 80:] = 200  # area averaging keeps the edge between two flat halves where it was
    small = working_image(image, 45)
    assert small.shape == (45, 80, 3) and small.dtype == np.uint8
    assert (small[:, :40] == 0).all() and (small[:, 40:] == 200).all()
    assert working_image(image, 90) is image


@pytest.fixture
def model(random_msnet):
    model = copy.deepcopy(random_msnet)
    model.min_detection_side_px = 0  # slivers would be judged in different pixels at the two sizes
    return model


def _same_detections_twice_as_large(small: dict, large: dict) -> None:
    assert torch.equal(small["labels"], large["labels"])
    assert torch.allclose(small["scores"], large["scores"])
    assert torch.allclose(small["boxes"] * 2, large["boxes"], atol=1e-3)
    assert torch.allclose(small["building_boxes"] * 2, large["building_boxes"], atol=1e-3)


@pytest.mark.parametrize("flip_check", [False, True], ids=["plain", "mirror check"])
def test_outputs_in_a_larger_frame_are_the_same_detections_scaled(model, flip_check) -> None:
    model.add_close_look(32)
    model.close_look, model.flip_check = True, flip_check
    torch.manual_seed(1)
    images = [torch.rand(3, 48, 80), torch.rand(3, 48, 80)]
    plain, _, sizes = model.detect_with_features(images, mask_crops=True)
    large, _, large_sizes = model.detect_with_features(images, mask_crops=True, output_sizes=[(96, 160)] * 2)
    assert large_sizes == sizes  # the model looked at the same input
    assert all(len(p["scores"]) > 0 for p in plain)
    for small, big in zip(plain, large):
        _same_detections_twice_as_large(small, big)
        # each mask is pasted from the mask head into the larger frame, around its box
        for crop, box in zip(big["mask_crops"], big["boxes"]):
            h, w = crop.values.shape
            x0, y0, x1, y1 = box.tolist()
            margin_x, margin_y = 0.15 * (x1 - x0) + 2, 0.15 * (y1 - y0) + 2  # the mask's one-cell padding
            assert x0 - margin_x <= crop.x0 <= x0 + 1 and y0 - margin_y <= crop.y0 <= y0 + 1
            assert x1 - 1 <= crop.x0 + w <= min(x1 + margin_x, 160) and y1 - 1 <= crop.y0 + h <= min(y1 + margin_y, 96)


def test_full_masks_are_the_larger_frames_size(model) -> None:
    torch.manual_seed(2)
    outputs, _, _ = model.detect_with_features([torch.rand(3, 48, 80)], output_sizes=[(96, 160)])
    assert outputs[0]["masks"].shape[-2:] == (96, 160)


def test_the_setting_is_a_multiple_of_the_input_size_and_off_with_tiles(model) -> None:
    apply_inference_settings(model, InferenceSettings(max_frame_scale=3))
    assert model.working_short_side == 3 * 64 and model_working_short_side(model) == 192
    apply_inference_settings(model, InferenceSettings(max_frame_scale=3, input_size=96))
    assert model.working_short_side == 288  # follows the input size the model runs at
    apply_inference_settings(model, InferenceSettings(max_frame_scale=3, tiles=2))
    assert model_working_short_side(model) is None  # the tiled look sees frames at their own size
    with pytest.raises(ValueError, match="tiled look"):
        model.detect_with_features([torch.rand(3, 48, 80)], output_sizes=[(96, 160)])
    apply_inference_settings(model, InferenceSettings())
    assert model_working_short_side(model) is None
    for bad in (0.5, "3", True, float("inf")):
        with pytest.raises(ModelError, match="max_frame_scale"):
            InferenceSettings.from_config({"max_frame_scale": bad}, source="msnet.json")
    assert InferenceSettings.from_config({"max_frame_scale": 2}, source="x").max_frame_scale == 2.0


def test_the_analysis_shrinks_large_frames_and_reports_in_their_pixels(model) -> None:
    from engine.analysis.detector import BatchDetector
    from engine.analysis.plan import AnalysisPlan

    rng = np.random.default_rng(3)
    small = rng.integers(0, 255, (48, 80, 3), dtype=np.uint8)
    large = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)  # the same picture, twice the size
    plan = AnalysisPlan(run_id=1, resumed=False, selected=[0], todo=[0], warmup=[], device=torch.device("cpu"),
                        model=model, model_info={}, settings={}, refiner=None, notes=[])
    detector = BatchDetector(plan, score_threshold=0.0)

    def run(image: np.ndarray):
        frame = Frame(index=0, pts_s=0.0, width_px=image.shape[1], height_px=image.shape[0], image=image)
        return detector.finish(detector.infer([frame]))[0][0]

    model.working_short_side = 48  # the large frame shrinks to the small one exactly (2 x 2 areas)
    shrunk = run(large)
    model.working_short_side = None
    direct = run(small)
    assert shrunk.frame_size == (96, 160) and direct.frame_size == (48, 80)
    assert len(direct) > 0 and torch.equal(shrunk.labels, direct.labels)
    assert torch.allclose(shrunk.scores, direct.scores)
    assert torch.allclose(shrunk.boxes, direct.boxes * 2, atol=1e-3)
    assert all(crop.x0 + crop.values.shape[1] <= 160 and crop.y0 + crop.values.shape[0] <= 96
               for crop in shrunk.mask_crops)
