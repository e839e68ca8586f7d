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


def _reproduce_step_guard():
    """The ``reached`` function of ``reproduce.sh``, run by bash as the script defines it."""
    import re
    import subprocess

    script = (DEFAULT_MODEL_DIR / "reproduce.sh").read_text()
    definition = re.search(r"^reached\(\) \{.*?^\}", script, re.S | re.M)
    assert definition, "reproduce.sh defines reached()"

    def reached(step: int, log) -> bool:  # noqa: ANN001
        command = f"{definition.group(0)}\nreached {step} '{log}'"
        return subprocess.run(["bash", "-c", command]).returncode == 0

    return reached


def test_reproduce_runs_a_stage_whose_log_does_not_exist_yet(tmp_path):
    # a stage is skipped only when its log has logged the stage's last step; a fresh
    # output folder (no log) must train it
    reached = _reproduce_step_guard()
    log = tmp_path / "log.jsonl"
    assert not reached(600, log)
    log.write_text('{"step": 1, "loss": 1.2}\n{"step": 6000, "loss": 0.5}\n{"step": 60, "loss": 0.7}\n')
    assert not reached(600, log)
    with log.open("a") as f:
        f.write('{"step": 600, "epoch": 3, "loss": 0.4}\n')
    assert reached(600, log)
