"""SRN weights files (engine.srn.io)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from core.errors import ModelError
from engine.srn import SRNConfig, build_srn, load_srn, save_srn


def test_weights_round_trip_with_config(tmp_path) -> None:
    torch.manual_seed(0)
    encoder = build_srn(hidden_channels=64)
    path = save_srn(encoder, tmp_path / "srn.safetensors", SRNConfig.of(encoder, score_range=(0.3, 0.6)))
    loaded, config = load_srn(path)
    assert config.hidden_channels == 64 and config.score_range == (0.3, 0.6)
    assert json.loads((tmp_path / "srn.json").read_text())["format"] == "damagemap-srn"
    x = {k: torch.randn(1, 256, 4, 4) for k in "0123"}
    torch.testing.assert_close(loaded(x)["2"], encoder.eval()(x)["2"])
    assert not loaded.training


def test_config_in_metadata_is_used_when_json_is_missing(tmp_path) -> None:
    encoder = build_srn(hidden_channels=32)
    path = save_srn(encoder, tmp_path / "srn.safetensors")
    (tmp_path / "srn.json").unlink()
    assert load_srn(path)[1].hidden_channels == 32


def test_missing_file_is_named(tmp_path) -> None:
    with pytest.raises(ModelError, match=r"nope\.safetensors: SRN weights not found"):
        load_srn(tmp_path / "nope.safetensors")


def test_corrupt_file_is_named(tmp_path) -> None:
    path = tmp_path / "srn.safetensors"
    path.write_bytes(b"\x00garbage, not safetensors" * 10)
    with pytest.raises(ModelError, match=r"srn\.safetensors: not a readable safetensors"):
        load_srn(path)


def test_detector_weights_are_refused(tmp_path) -> None:
    path = tmp_path / "msnet.safetensors"
    save_file({"backbone.body.conv1.weight": torch.zeros(64, 3, 7, 7)}, str(path))
    with pytest.raises(ModelError, match=r"msnet\.safetensors: not SRN weights"):
        load_srn(path)
    (tmp_path / "msnet.json").write_text(json.dumps({"kind": "damagemap.msnet", "version": 1}))
    with pytest.raises(ModelError, match=r"msnet\.json: not an SRN config"):
        load_srn(path)


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path) -> None:
    path = save_srn(build_srn(hidden_channels=32), tmp_path / "srn.safetensors")
    config = json.loads((tmp_path / "srn.json").read_text())
    config["hidden_channels"] = 64
    (tmp_path / "srn.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"srn\.safetensors: tensor 'layers\.0\.\w+' has shape"):
        load_srn(path)


def test_newer_version_is_refused(tmp_path) -> None:
    path = save_srn(build_srn(hidden_channels=32), tmp_path / "srn.safetensors")
    config = json.loads((tmp_path / "srn.json").read_text())
    config["version"] = 99
    (tmp_path / "srn.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="version 99 is not supported"):
        load_srn(path)
