"""An SRN is used only with a detector whose features it was trained on."""

from __future__ import annotations

import pytest
import torch

from engine.analysis.plan import load_refiner
from engine.msnet import build_msnet
from engine.srn import build_srn
from engine.srn.io import SRNConfig, save_srn

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def detector():
    torch.manual_seed(0)
    return build_msnet(backbone="mobilenet_v3", heads="light", min_size=96, max_size=128).eval()


def _srn(tmp_path, **training):
    encoder = build_srn(hidden_channels=16, num_layers=1)
    return save_srn(encoder, tmp_path / "srn.safetensors", SRNConfig.of(encoder, training=training))


def _info(backbone, sha):
    return {"config": {"backbone": backbone}, "sha256": sha}


def test_an_srn_of_another_backbone_is_skipped_with_the_reason(tmp_path, detector):
    path = _srn(tmp_path, detector_backbone="mobilenet_v2", detector_sha256="a" * 64, detector_weights="v2.safetensors")
    refiner, note = load_refiner(detector, torch.device("cpu"), path, _info("mobilenet_v3", "b" * 64))
    assert refiner is None
    assert note.startswith("skipped: srn.safetensors was trained on a mobilenet_v2 detector, this one is mobilenet_v3")


def test_the_same_backbone_with_other_weights_runs_with_a_note(tmp_path, detector):
    path = _srn(tmp_path, detector_backbone="mobilenet_v3", detector_sha256="a" * 64, detector_weights="old.safetensors")
    refiner, note = load_refiner(detector, torch.device("cpu"), path, _info("mobilenet_v3", "b" * 64))
    assert refiner is not None and "trained for other detector weights (old.safetensors)" in note
    refiner, note = load_refiner(detector, torch.device("cpu"), path, _info("mobilenet_v3", "a" * 64))
    assert refiner is not None and note == f"on ({path})"
