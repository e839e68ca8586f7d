"""The shipped default models: present, small enough, and loadable without a network."""

import json

import torch

from engine.srn.io import load_srn
from engine.weights import DEFAULT_MODEL_DIR, DEFAULT_MSNET_WEIGHTS, load_model

SIZE_LIMIT_BYTES = 25 * 1000 * 1000


def test_shipped_models_fit_the_size_limit_together():
    files = [DEFAULT_MSNET_WEIGHTS, DEFAULT_MODEL_DIR / "srn.safetensors"]
    assert all(path.is_file() for path in files)
    assert sum(path.stat().st_size for path in files) <= SIZE_LIMIT_BYTES
    assert (DEFAULT_MODEL_DIR / "MODEL_CARD.md").is_file()


def test_shipped_models_load_as_float32():
    model, config = load_model(DEFAULT_MSNET_WEIGHTS)
    assert config["stored_dtype"] == "float16+int8"
    assert all(p.dtype == torch.float32 for p in model.parameters())
    fc6 = model.roi_heads.box_head.fc6.weight
    assert fc6.abs().max() > 0 and torch.isfinite(fc6).all()
    encoder, srn_config = load_srn(DEFAULT_MODEL_DIR / "srn.safetensors")
    assert all(p.dtype == torch.float32 for p in encoder.parameters())
    assert json.loads((DEFAULT_MODEL_DIR / "srn.json").read_text())["format"] == "damagemap-srn"
