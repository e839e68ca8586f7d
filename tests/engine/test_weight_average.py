"""Averaging detectors trained from the same weights: the mean of each tensor, stored as the
first file was, and refusals that name the file."""

from __future__ import annotations

import json

import pytest
import torch

from core.errors import ModelError
from core.model_files import config_path_for
from engine.msnet import build_msnet
from engine.weight_average import average_weight_files, main
from engine.weights import load_model, save_model

TINY = dict(backbone="mobilenet_v3", heads="light", min_size=96, max_size=128)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """One model and a copy of it whose float tensors moved (as a second training run's do)."""
    folder = tmp_path_factory.mktemp("runs")
    torch.manual_seed(3)
    first = build_msnet(arch="msnet", **TINY).eval()
    second = build_msnet(arch="msnet", **TINY).eval()
    second.load_state_dict(first.state_dict())
    with torch.no_grad():
        for parameter in second.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    return (first, save_model(first, folder / "a.safetensors", {"note": "run a"}),
            second, save_model(second, folder / "b.safetensors", {"note": "run b"}))


def test_the_average_holds_the_weighted_mean_of_each_tensor(tmp_path, two_runs):
    first, path_a, second, path_b = two_runs
    out = average_weight_files([path_a, path_b], tmp_path / "soup.safetensors", weights=[3, 1])
    soup, config = load_model(out)
    a, b = first.state_dict(), second.state_dict()
    moved = 0
    for name, tensor in soup.state_dict().items():
        if tensor.is_floating_point():
            torch.testing.assert_close(tensor, 0.75 * a[name] + 0.25 * b[name], atol=1e-6, rtol=1e-5)
            moved += not torch.equal(a[name], b[name])
        else:
            assert torch.equal(tensor, a[name]), name
    assert moved > 10
    assert config["note"] == "run a"
    assert [(entry["weights"], entry["weight"]) for entry in config["averaged_from"]] == \
        [(str(path_a), 0.75), (str(path_b), 0.25)]


def test_compact_files_average_into_a_compact_file(tmp_path, two_runs):
    first, _, second, _ = two_runs
    path_a = save_model(first, tmp_path / "a.safetensors", compact=True)
    path_b = save_model(second, tmp_path / "b.safetensors", compact=True)
    out = average_weight_files([path_a, path_b], tmp_path / "soup.safetensors")
    config = json.loads(config_path_for(out).read_text())
    assert config["stored_dtype"] == json.loads(config_path_for(path_a).read_text())["stored_dtype"]
    soup, _ = load_model(out)
    expected = (first.roi_heads.box_predictor.cls_score.weight + second.roi_heads.box_predictor.cls_score.weight) / 2
    torch.testing.assert_close(soup.roi_heads.box_predictor.cls_score.weight, expected, atol=2e-3, rtol=2e-3)


def test_another_model_is_refused_by_name(tmp_path, two_runs):
    _, path_a, _, _ = two_runs
    other = save_model(build_msnet(arch="maskrcnn", **TINY).eval(), tmp_path / "other.safetensors")
    with pytest.raises(ModelError, match="other.json"):
        average_weight_files([path_a, other], tmp_path / "soup.safetensors")
    assert not (tmp_path / "soup.safetensors").exists()


def test_the_command_line_refuses_one_file_and_a_wrong_count_of_weights(tmp_path, two_runs, capsys):
    _, path_a, _, path_b = two_runs
    with pytest.raises(SystemExit):
        main([str(path_a), "--out", str(tmp_path / "soup.safetensors")])
    assert "two or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(path_a), str(path_b), "--weights", "1", "--out", str(tmp_path / "soup.safetensors")])
    assert "one weight per file" in capsys.readouterr().err
    assert main([str(path_a), str(path_b), "--out", str(tmp_path / "soup.safetensors")]) == 0
    assert (tmp_path / "soup.safetensors").is_file()
