"""Test-time settings (engine.msnet.inference): read from the weights' config over code
defaults, bad values refused by file, bfloat16 only where asked and only at test time on
a CPU, results close to float32, and the SRN following the detector's settings."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

import engine.msnet.inference as inference
from core.errors import ModelError
from core.model_files import config_path_for
from engine.msnet import build_msnet
from engine.msnet.inference import BFLOAT16_PARTS, InferenceSettings, apply_inference_settings, srn_in_bfloat16
from engine.weights import load_model, save_model

TINY = dict(backbone="mobilenet_v3", heads="light", min_size=96, max_size=128)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Tiny MSNet weights built with torchvision's test-time proposal counts."""
    torch.manual_seed(3)
    model = build_msnet(arch="msnet", **TINY).eval()
    return save_model(model, tmp_path_factory.mktemp("w") / "msnet.safetensors")


def _with_inference(tmp_path, saved, section):
    path = tmp_path / "msnet.safetensors"
    path.write_bytes(saved.read_bytes())
    config = json.loads(config_path_for(saved).read_text())
    config["inference"] = section
    config_path_for(path).write_text(json.dumps(config))
    return path


@pytest.fixture
def native_bfloat16(monkeypatch):
    """Pretend (or not) that the CPU computes bfloat16 natively; the arithmetic is the
    same either way, only slower without it."""

    def set_to(value: bool) -> None:
        monkeypatch.setattr(inference, "cpu_has_native_bfloat16", lambda: value)

    return set_to


def test_a_config_without_inference_object_runs_the_model_as_built_in_float32(saved):
    model, config = load_model(saved)
    assert "inference" not in config
    assert model.inference_settings == InferenceSettings()
    assert model.rpn.damage_rpn._post_nms_top_n["testing"] == 1000
    assert model.rpn.damage_rpn._pre_nms_top_n["testing"] == 1000
    assert model.roi_heads.detections_per_img == 100
    assert not model.fpn_bfloat16 and not model.rpn.trunk_bfloat16
    assert not model.roi_heads.mask_head.cpu_bfloat16 and not srn_in_bfloat16(model)


def test_the_shipped_model_runs_every_part_but_the_backbone_in_bfloat16():
    from engine.weights import DEFAULT_MSNET_WEIGHTS, read_config

    config = read_config(DEFAULT_MSNET_WEIGHTS)
    settings = InferenceSettings.from_config(config["inference"], source="shipped")
    # the backbone body in bfloat16 moved the real photos' results (the model card)
    assert set(settings.cpu_bfloat16) == set(BFLOAT16_PARTS) - {"backbone"}
    # 500 damage proposals, not the 1000 built: a fifth less time, held-out mask AP within
    # a point either way (300 would cost 4 points); see docs/pipeline.md
    assert settings.rpn_post_nms_top_n == 500


def test_all_parts_are_switched_together_with_the_config(tmp_path, saved):
    model, _ = load_model(_with_inference(tmp_path, saved, {"cpu_bfloat16": list(BFLOAT16_PARTS)}))
    assert model.fpn_bfloat16 and model.rpn.trunk_bfloat16
    assert model.roi_heads.mask_head.cpu_bfloat16 and model.roi_heads.mask_predictor.cpu_bfloat16
    assert srn_in_bfloat16(model)
    assert model.rpn.damage_rpn._post_nms_top_n["training"] == 2000  # training untouched


def test_config_keys_override_the_defaults(tmp_path, saved):
    path = _with_inference(tmp_path, saved, {"rpn_pre_nms_top_n": 400, "rpn_post_nms_top_n": 150,
                                             "detections_per_img": 50, "cpu_bfloat16": ["srn"]})
    model, _ = load_model(path)
    assert model.rpn.damage_rpn._pre_nms_top_n["testing"] == 400
    assert model.rpn.damage_rpn._post_nms_top_n["testing"] == 150
    assert model.roi_heads.detections_per_img == 50
    assert not model.fpn_bfloat16 and not model.rpn.trunk_bfloat16 and not model.roi_heads.mask_head.cpu_bfloat16
    assert srn_in_bfloat16(model)


def test_a_model_built_with_fewer_proposals_keeps_its_own():
    model = build_msnet(arch="msnet", rpn_post_nms_top_n_test=20, box_detections_per_img=6, **TINY)
    apply_inference_settings(model, InferenceSettings(rpn_post_nms_top_n=300))
    assert model.rpn.damage_rpn._post_nms_top_n["testing"] == 20
    assert model.roi_heads.detections_per_img == 6
    # settings put on again (the bench switches back and forth) start from the built values
    apply_inference_settings(model, InferenceSettings(rpn_post_nms_top_n=10, detections_per_img=3))
    apply_inference_settings(model, InferenceSettings())
    assert model.rpn.damage_rpn._post_nms_top_n["testing"] == 20
    assert model.roi_heads.detections_per_img == 6


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"rpn_post_nms_top_n": 0}, "'rpn_post_nms_top_n' must be a whole number >= 1; got 0"),
        ({"rpn_post_nms_top_n": "300"}, "whole number"),
        ({"detections_per_img": True}, "whole number"),
        ({"rpn_pre_nms_top_n": -5}, "whole number"),
        ({"cpu_bfloat16": "fpn"}, "must be a list of parts among backbone, fpn, rpn_head, mask_head, close_look, srn"),
        ({"cpu_bfloat16": ["box_head"]}, "'box_head'"),
        ({"srn": "no"}, "inference setting 'srn' must be true or false; got 'no'"),
        ({"post_nms": 300}, "unknown inference setting 'post_nms'"),
        ([300], "'inference' must be a JSON object"),
    ],
)
def test_bad_settings_are_refused_naming_the_config(tmp_path, saved, section, words):
    path = _with_inference(tmp_path, saved, section)
    with pytest.raises(ModelError) as error:
        load_model(path)
    message = str(error.value)
    assert str(config_path_for(path)) in message and words in message
    assert "\n" not in message


def test_settings_round_trip_through_their_json_form():
    settings = InferenceSettings(rpn_pre_nms_top_n=500, rpn_post_nms_top_n=200, srn=False, cpu_bfloat16=("srn", "fpn"))
    assert InferenceSettings.from_config(json.loads(json.dumps(settings.as_config())), source="x") == settings
    assert InferenceSettings.from_config(None, source="x") == InferenceSettings()
    assert InferenceSettings().cpu_bfloat16 == ()


def _features_and_outputs(model, images):
    with torch.inference_mode():
        features = model._features(model.transform(images)[0].tensors)
        outputs, _, _ = model.detect_with_features(images, mask_crops=False)
    return features, outputs


def test_bfloat16_parts_stay_close_to_float32_and_hand_back_float32(native_bfloat16):
    native_bfloat16(True)
    torch.manual_seed(4)
    model = build_msnet(arch="msnet", **TINY).eval()
    images = [torch.rand(3, 96, 128), torch.rand(3, 80, 120)]
    # few detections and RoIs: a CPU without native bfloat16 (where this test forces it)
    # emulates it, and the mask head on a random model's 100 detections took a minute there
    apply_inference_settings(model, InferenceSettings(cpu_bfloat16=(), detections_per_img=3))
    exact, _ = _features_and_outputs(model, images)
    with torch.inference_mode():
        trunk = model.rpn._trunk(exact["0"])
        chunk = torch.rand(2, 256, 14, 14)
        mask_exact = model.roi_heads.mask_predictor(model.roi_heads.mask_head(chunk))

    apply_inference_settings(model, InferenceSettings(cpu_bfloat16=BFLOAT16_PARTS, detections_per_img=3))
    reduced, outputs = _features_and_outputs(model, images)
    for name, level in exact.items():
        assert reduced[name].dtype == torch.float32
        assert not torch.equal(reduced[name], level)  # bfloat16 did run
        assert torch.allclose(reduced[name], level, rtol=0.05, atol=0.05 * float(level.abs().max())), name
    with torch.inference_mode():
        trunk_reduced = model.rpn._trunk(exact["0"])
        mask_reduced = model.roi_heads.mask_predictor(model.roi_heads.mask_head(chunk))
    assert trunk_reduced.dtype == mask_reduced.dtype == torch.float32
    assert not torch.equal(trunk_reduced, trunk)
    assert torch.allclose(trunk_reduced, trunk, atol=0.05 * float(trunk.abs().max()))
    assert torch.allclose(mask_reduced, mask_exact, atol=0.05 * float(mask_exact.abs().max()))
    for output in outputs:
        assert all(v.dtype in (torch.float32, torch.int64) for v in output.values())


def test_the_backbone_and_the_close_look_in_bfloat16_stay_close_to_float32(native_bfloat16):
    from collections import OrderedDict

    from engine.msnet.close_look import CloseLookHead

    class Body(torch.nn.Module):  # a body whose maps do not fade out at random init
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 16, 3, padding=1)

        def forward(self, x):
            return OrderedDict(out=self.conv(x))

    native_bfloat16(True)
    torch.manual_seed(8)
    model = build_msnet(arch="msnet", **TINY).eval()
    head = model.close_look_head = CloseLookHead(Body(), 16).eval()
    torch.nn.init.normal_(head.linear.weight, std=3.0)
    x = torch.rand(1, 3, 96, 128)
    crops = torch.rand(6, 3, 16, 16) * 2 - 1
    with torch.inference_mode():
        exact_features, exact_p = model._features(x), head(crops)
        apply_inference_settings(model, InferenceSettings(cpu_bfloat16=("backbone", "close_look")))
        assert not model.fpn_bfloat16 and head.cpu_bfloat16
        features, p = model._features(x), head(crops)
    assert p.dtype == torch.float32 and not torch.equal(p, exact_p)  # bfloat16 did run
    assert torch.allclose(p, exact_p, atol=0.02)
    for name, level in exact_features.items():  # the body alone: its maps back in float32 for the FPN
        assert features[name].dtype == torch.float32 and not torch.equal(features[name], level)
        assert torch.allclose(features[name], level, atol=0.05 * float(level.abs().max())), name
    apply_inference_settings(model, InferenceSettings())
    with torch.inference_mode():
        assert not head.cpu_bfloat16 and torch.equal(head(crops), exact_p)


def test_bfloat16_is_off_in_training_with_gradients_and_on_cpus_without_it(native_bfloat16):
    torch.manual_seed(5)
    model = build_msnet(arch="msnet", **TINY)
    apply_inference_settings(model, InferenceSettings(cpu_bfloat16=BFLOAT16_PARTS))
    x = torch.rand(1, 3, 96, 128)
    native_bfloat16(True)
    model.eval()
    with torch.no_grad():
        exact = model.backbone(x)
        assert not torch.equal(model._features(x)["0"], exact["0"])
    assert torch.equal(model._features(x)["0"], exact["0"])  # gradients on: float32
    native_bfloat16(False)
    with torch.no_grad():
        assert torch.equal(model._features(x)["0"], exact["0"])
        assert torch.equal(model.rpn._trunk(exact["0"]), model.rpn.trunk(exact["0"]))
    native_bfloat16(True)
    model.train()  # (last: BatchNorm statistics move in training)
    with torch.no_grad():
        assert torch.equal(model._features(x)["0"], model.backbone(x)["0"])


def test_a_model_with_settings_pickles_with_them():
    """Ray ships the model to its workers by pickling it."""
    model = build_msnet(arch="msnet", **TINY).eval()
    apply_inference_settings(model, InferenceSettings(rpn_post_nms_top_n=77, cpu_bfloat16=("fpn",)))
    copy = pickle.loads(pickle.dumps(model))
    assert copy.inference_settings == model.inference_settings
    assert copy.fpn_bfloat16 and not copy.rpn.trunk_bfloat16
    assert copy.rpn.damage_rpn._post_nms_top_n["testing"] == 77


def test_the_analysis_srn_follows_the_detector_settings(tmp_path, saved, native_bfloat16):
    from engine.analyze import load_refiner
    from engine.srn import FramePredictions, build_srn, save_srn

    torch.manual_seed(6)
    save_srn(build_srn(hidden_channels=32), tmp_path / "srn.safetensors")
    on, _ = load_model(_with_inference(tmp_path, saved, {"cpu_bfloat16": ["srn"]}))
    off, _ = load_model(saved)
    refiner_on, status = load_refiner(on, torch.device("cpu"), tmp_path / "srn.safetensors")
    refiner_off, _ = load_refiner(off, torch.device("cpu"), tmp_path / "srn.safetensors")
    assert status.startswith("on") and refiner_on.cpu_bfloat16 and not refiner_off.cpu_bfloat16

    native_bfloat16(True)
    torch.manual_seed(7)
    frame = FramePredictions(
        boxes=torch.tensor([[4.0, 4.0, 40.0, 30.0], [50.0, 10.0, 90.0, 60.0]]), scores=torch.tensor([0.3, 0.6]),
        features={k: torch.rand(1, 256, 24 // 2**i, 32 // 2**i) for i, k in enumerate("0123")}, image_size=(96, 128),
    )
    with torch.inference_mode():
        reduced, exact = refiner_on.describe(frame), refiner_off.describe(frame)
    assert reduced.descriptors.dtype == torch.float32
    assert not torch.equal(reduced.descriptors, exact.descriptors)
    assert torch.allclose(reduced.descriptors, exact.descriptors, atol=2e-3)


def test_a_loaded_model_saved_again_keeps_its_settings(tmp_path, saved):
    """Fine-tuning loads the shipped model and saves a new one: it runs the same way."""
    model, _ = load_model(_with_inference(tmp_path, saved, {"cpu_bfloat16": ["fpn", "srn"]}))
    again = save_model(model, tmp_path / "tuned" / "msnet.safetensors", {"note": "tuned"})
    config = json.loads(config_path_for(again).read_text())
    assert config["inference"]["cpu_bfloat16"] == ["fpn", "srn"] and config["note"] == "tuned"
    reloaded, _ = load_model(again)
    assert reloaded.inference_settings == model.inference_settings
    fresh = save_model(build_msnet(arch="msnet", **TINY), tmp_path / "fresh" / "msnet.safetensors")
    assert "inference" not in json.loads(config_path_for(fresh).read_text())  # built in code: none


def test_an_input_size_resizes_what_the_model_sees_and_keeps_the_built_proportion(saved):
    model, config = load_model(saved, inference={"input_size": 192})
    assert config["inference"]["input_size"] == 192
    assert model.transform.min_size == (192,) and model.transform.max_size == 256  # built 96/128
    seen = []
    model.backbone.register_forward_hook(lambda module, args, out: seen.append(tuple(args[0].shape[-2:])))
    with torch.no_grad():
        (output,) = model([torch.rand(3, 60, 80)])
    assert seen == [(192, 256)]
    assert output["boxes"].numel() == 0 or float(output["boxes"][:, 2].max()) <= 80.0  # boxes in the image's pixels
    apply_inference_settings(model, InferenceSettings())
    assert model.transform.min_size == (96,) and model.transform.max_size == 128  # back to as built


@pytest.mark.parametrize("size", [32, 0, 480.5, True, 20000])
def test_a_bad_input_size_in_the_config_is_refused_naming_the_file(tmp_path, saved, size):
    path = _with_inference(tmp_path, saved, {"input_size": size})
    with pytest.raises(ModelError,
                       match=r"msnet\.json: inference setting 'input_size' must be a whole number from 64 to 4096"):
        load_model(path)


def test_a_building_gate_is_set_on_the_damage_rpn_and_undone(saved):
    model, config = load_model(saved, inference={"gate_threshold": 0.6})
    assert config["inference"]["gate_threshold"] == 0.6 and config["model"]["gate_threshold"] == 0.1
    assert model.rpn.damage_rpn.test_gate_threshold == 0.6
    assert model.rpn.damage_rpn.gate_threshold == 0.1  # what it trains with is untouched
    assert model.rpn.building_rpn.test_gate_threshold is None
    apply_inference_settings(model, InferenceSettings())
    assert model.rpn.damage_rpn.test_gate_threshold is None


@pytest.mark.parametrize("gate", [1.0, -0.1, "0.5", True])
def test_a_bad_building_gate_in_the_config_is_refused_naming_the_file(tmp_path, saved, gate):
    path = _with_inference(tmp_path, saved, {"gate_threshold": gate})
    with pytest.raises(ModelError, match=r"msnet\.json: inference setting 'gate_threshold' must be a number in \[0, 1\)"):
        load_model(path)


def test_a_building_gate_on_a_model_without_one_is_refused():
    torch.manual_seed(3)
    baseline = build_msnet(arch="maskrcnn", **TINY).eval()
    with pytest.raises(ModelError, match="the building gate is MSNet's") as error:
        apply_inference_settings(baseline, InferenceSettings(gate_threshold=0.5))
    assert "these weights are 'maskrcnn', which has no building RPN" in str(error.value)  # not "this MSNet"


def test_a_building_gate_asked_of_a_baseline_names_its_weights(tmp_path):
    torch.manual_seed(3)
    path = save_model(build_msnet(arch="maskrcnn", **TINY), tmp_path / "baseline.safetensors")
    with pytest.raises(ModelError) as error:
        load_model(path, inference={"gate_threshold": 0.5})
    assert str(error.value).startswith(f"{path}: the building gate is MSNet's")
