"""Weights round-trip through safetensors + JSON; wrong or corrupt files are refused by name."""

from __future__ import annotations

import json

import pytest
import torch

from core.errors import ModelError
from core.model_files import config_path_for
from engine.msnet import build_msnet
from engine.weights import load_init_weights, load_model, save_model

TINY = dict(backbone="mobilenet_v3", heads="light", min_size=96, max_size=128)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(1)
    model = build_msnet(arch="msnet", gate_threshold=0.2, **TINY).eval()
    path = save_model(model, tmp_path_factory.mktemp("w") / "msnet.safetensors", {"note": "test"})
    return model, path


def test_round_trip_rebuilds_the_same_model(saved):
    model, path = saved
    loaded, config = load_model(path)
    assert config["model"]["arch"] == "msnet" and config["model"]["gate_threshold"] == 0.2
    assert config["class_names"] == ["__background__", "Slight", "Severe", "Debris"]
    assert config["note"] == "test" and config["version"] == 1
    assert not loaded.training
    assert loaded.rpn.damage_rpn.gate_threshold == 0.2
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_half_storage_loads_as_float32(tmp_path, saved):
    model, _ = saved
    path = save_model(model, tmp_path / "half.safetensors", half=True)
    loaded, config = load_model(path)
    assert config["stored_dtype"] == "float16"
    weight = loaded.roi_heads.box_predictor.cls_score.weight
    assert weight.dtype == torch.float32
    torch.testing.assert_close(weight, model.roi_heads.box_predictor.cls_score.weight, atol=1e-3, rtol=1e-3)


def test_missing_corrupt_and_mismatched_files_raise_model_error_naming_them(tmp_path, saved):
    _, good = saved
    with pytest.raises(ModelError, match="nothing.safetensors"):
        load_model(tmp_path / "nothing.safetensors")

    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00\x01 definitely not safetensors")
    config_path_for(corrupt).write_text(config_path_for(good).read_text())
    with pytest.raises(ModelError, match="corrupt.safetensors"):
        load_model(corrupt)

    # weights of one architecture under a config describing another
    other = tmp_path / "other.safetensors"
    other.write_bytes(good.read_bytes())
    config = json.loads(config_path_for(good).read_text())
    config["model"]["arch"] = "maskrcnn"
    config_path_for(other).write_text(json.dumps(config))
    with pytest.raises(ModelError, match=r"other.safetensors.*do not fit"):
        load_model(other)

    no_config = tmp_path / "lonely.safetensors"
    no_config.write_bytes(good.read_bytes())
    with pytest.raises(ModelError, match="lonely.json"):
        load_model(no_config)

    not_ours = tmp_path / "foreign.safetensors"
    not_ours.write_bytes(good.read_bytes())
    config_path_for(not_ours).write_text(json.dumps({"kind": "something.else", "model": {}}))
    with pytest.raises(ModelError, match="foreign.json"):
        load_model(not_ours)


def test_init_from_a_local_torchvision_style_checkpoint(tmp_path):
    torch.manual_seed(2)
    source = build_msnet(arch="maskrcnn", **TINY)
    checkpoint = tmp_path / "coco.pth"
    torch.save(source.state_dict(), checkpoint)
    target = build_msnet(arch="msnet", **TINY)
    report = load_init_weights(target, checkpoint)
    assert report["loaded"] > 100
    torch.testing.assert_close(target.backbone.fpn.layer_blocks[0][0].weight, source.backbone.fpn.layer_blocks[0][0].weight)
    # the stock RPN head initialises both HRPN branches and the shared conv
    torch.testing.assert_close(target.rpn.trunk[0][0].weight, source.rpn.head.conv[0][0].weight)
    torch.testing.assert_close(target.rpn.damage_rpn.head.cls_logits.weight, source.rpn.head.cls_logits.weight)
    with pytest.raises(ModelError, match="missing.pth"):
        load_init_weights(target, tmp_path / "missing.pth")


def test_init_from_a_compact_damagemap_file_takes_its_values_not_its_int8_steps(tmp_path, saved):
    """Training can go on from the shipped model: its int8 tensors come back scaled."""
    from safetensors.torch import save_file

    from engine.compact import SCALE_SUFFIX, compact_state, expand_state

    model, _ = saved
    stored = compact_state(model.state_dict(), int8_min_elements=10_000)
    assert any(name.endswith(SCALE_SUFFIX) for name in stored)  # some tensors went to int8
    compact = tmp_path / "compact.safetensors"
    save_file(stored, str(compact))
    torch.manual_seed(3)
    target = build_msnet(arch="msnet", **TINY)
    load_init_weights(target, compact)
    expected = expand_state(stored, source=compact)
    for name, value in target.state_dict().items():
        torch.testing.assert_close(value, expected[name].to(value.dtype), msg=name)
        if name in model.state_dict() and value.is_floating_point():
            torch.testing.assert_close(value, model.state_dict()[name], atol=0.02, rtol=0.01, msg=name)


def _with_state(tmp_path, good, name, change):
    from safetensors.torch import load_file, save_file

    state = load_file(str(good))
    change(state)
    path = tmp_path / name
    save_file(state, str(path))
    config_path_for(path).write_text(config_path_for(good).read_text())
    return path


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_weights_holding_nan_or_infinity_are_refused_naming_the_file(tmp_path, saved, value):
    _, good = saved

    def poison_all(state):
        for tensor in state.values():
            if tensor.is_floating_point():
                tensor.fill_(value)

    everything = _with_state(tmp_path, good, "diverged.safetensors", poison_all)
    with pytest.raises(ModelError, match=r"diverged.safetensors.*NaN or infinite"):
        load_model(everything)

    def poison_one(state):
        name = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)
        state[name].view(-1)[0] = value

    one = _with_state(tmp_path, good, "one_bad.safetensors", poison_one)
    with pytest.raises(ModelError, match=r"one_bad.safetensors.*1 of \d+ weight tensors"):
        load_model(one)


@pytest.mark.parametrize(("key", "value", "said"), [
    ("num_classes", -5, "num_classes must be a whole number >= 1; got -5"),
    ("min_size", 0, "min_size must be a whole number >= 16 (or a list of them); got 0"),
    ("min_size", "abc", "min_size must be a whole number >= 16 (or a list of them); got 'abc'"),
    ("max_size", -1, "max_size must be a whole number >= min_size"),
    ("gate_threshold", float("nan"), "gate_threshold must be a number from 0 to 1; got nan"),
])
def test_a_hand_edited_config_no_model_can_run_with_is_one_model_error_naming_it(tmp_path, saved, key, value, said):
    """Each refused when the weights load, in one line naming the config and the setting,
    before a project or a run is made of it (a zero size was a traceback mid-analysis)."""
    _, good = saved
    path = tmp_path / "edited.safetensors"
    path.write_bytes(good.read_bytes())
    config = json.loads(config_path_for(good).read_text())
    config["model"][key] = value
    config_path_for(path).write_text(json.dumps(config))
    with pytest.raises(ModelError) as refused:
        load_model(path)
    message = str(refused.value)
    assert message.startswith(f"{config_path_for(path)}: cannot build the model it describes (") and said in message
    assert "\n" not in message and len(message) < 400


def test_srn_weights_or_a_checkpoint_given_for_a_detector_are_named_as_what_they_are(tmp_path):
    """`evaluate --weights srn.safetensors` said "not a damagemap MSNet config (kind None)";
    `predict --weights run/checkpoint.pt` said "checkpoint.json: model config not found"."""
    from engine.srn import build_srn, save_srn
    from engine.srn.io import SRNConfig

    encoder = build_srn()
    srn = save_srn(encoder, tmp_path / "srn.safetensors", SRNConfig.of(encoder))
    with pytest.raises(ModelError, match="the Score Refinement Network's weights, not a detector's"):
        load_model(srn)
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"not read")
    with pytest.raises(ModelError, match=r"checkpoint\.pt: a training checkpoint, not weights"):
        load_model(run / "checkpoint.pt")


def test_nothing_writes_over_the_shipped_default_model(tmp_path, saved):
    """`finetune --export` to the shipped model's file copied a fine-tune over it (and its
    card), silently: every later analysis without --weights ran the fine-tune. Nor may a
    training run, a weight average or a close-look fit write into its folder; an export
    onto the version's own file was a SameFileError traceback."""
    import hashlib

    from core.errors import InputError
    from engine.train import TrainConfig, train
    from engine.weight_average import main as average_main
    from engine.weights import DEFAULT_MODEL_DIR, DEFAULT_MSNET_WEIGHTS
    from services.models import export_model

    def digests():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
                for path in sorted(DEFAULT_MODEL_DIR.iterdir()) if path.is_file()}

    before = digests()
    model, path = saved
    with pytest.raises(InputError, match="shipped default model's folder"):
        export_model(path, DEFAULT_MSNET_WEIGHTS)
    with pytest.raises(InputError, match="shipped default model's folder"):
        save_model(model, DEFAULT_MODEL_DIR / "model.safetensors")
    with pytest.raises(InputError, match=r"--out .*: is in the shipped default model's folder"):
        train(TrainConfig(data=str(tmp_path), out=str(DEFAULT_MODEL_DIR), overwrite=True), progress=False)
    with pytest.raises(SystemExit):
        average_main([str(path), str(path), "--out", str(DEFAULT_MSNET_WEIGHTS)])
    with pytest.raises(InputError, match="the model version's own file"):
        export_model(path, path)
    assert digests() == before


def test_a_disk_filling_up_as_the_weights_are_written_is_an_enospc_naming_them(tmp_path, saved, monkeypatch):
    """safetensors says a full disk as its own SafetensorError, no OSError: the end of a
    training run was that traceback, and the half-written ``.tmp`` stayed on the full disk."""
    import errno

    import safetensors.torch

    def fill_up(tensors, filename, metadata=None):
        with open(filename, "wb") as written:
            written.write(b"\0" * 100)
        raise RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", fill_up)
    target = tmp_path / "run" / "model.safetensors"
    with pytest.raises(OSError) as raised:
        save_model(saved[0], target)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert list((tmp_path / "run").iterdir()) == []
