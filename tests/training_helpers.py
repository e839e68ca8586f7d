"""A tiny detector, a tiny set of reviewed frames and a Ctrl+C at a chosen step, for the training and fine-tune tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch


def tiny_msnet() -> torch.nn.Module:
    """MSNet small enough to train a few steps on a CPU in a test (seeded)."""
    from engine.msnet import build_msnet

    torch.manual_seed(0)
    return build_msnet(backbone="mobilenet_v3", heads="light", min_size=64, max_size=96,
                       anchor_sizes=(16, 32, 64, 128, 256), box_batch_size_per_image=32,
                       rpn_pre_nms_top_n_train=200, rpn_post_nms_top_n_train=64)


def save_tiny_base(folder: Path) -> Path:
    """:func:`tiny_msnet` saved as ``folder/base.safetensors``."""
    from engine.weights import save_model

    return save_model(tiny_msnet(), Path(folder) / "base.safetensors")


def render_tiny_flyover(folder: Path) -> Path:
    """1 s at 10 fps, 96x64, annotated every other frame."""
    from engine.synth import render_flyover

    render_flyover(folder, seconds=1.0, fps=10.0, size=(96, 64), seed=4, annotate_every=2)
    return Path(folder)


def write_reviewed(flyover: Path, root: Path, *, negatives: bool = True, unreviewed: bool = False) -> Path:
    """The flyover's frames as an exported set of reviewed frames: tagged with a frame
    index like an export; with ``negatives`` a rejected region on each frame, with
    ``unreviewed`` an unreviewed one on the first."""
    shutil.copytree(Path(flyover) / "train", Path(root) / "train")
    data = json.loads((Path(flyover) / "annotations" / "instances_train.json").read_text())
    for image in data["images"]:
        image["frame_index"] = 100 + image["id"]
    if negatives:
        data["negatives"] = [{"id": i, "image_id": image["id"], "bbox": [2.0, 2.0, 20.0, 16.0]}
                             for i, image in enumerate(data["images"], start=1)]
    if unreviewed:
        data["unreviewed"] = [{"id": 1, "image_id": data["images"][0]["id"], "bbox": [40.0, 30.0, 30.0, 20.0]}]
    (Path(root) / "annotations").mkdir()
    (Path(root) / "annotations" / "instances_train.json").write_text(json.dumps(data))
    return Path(root)


def interrupt_at(monkeypatch, step: int) -> None:  # noqa: ANN001 - pytest's monkeypatch
    """Ctrl+C during the forward pass of step ``step`` + 1 (after ``step`` whole steps)."""
    import engine.train

    check = engine.train.check_finite

    def interrupted(losses, at):  # noqa: ANN001, ANN202
        if at == step:
            raise KeyboardInterrupt
        check(losses, at)

    monkeypatch.setattr(engine.train, "check_finite", interrupted)


def saved_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file."""
    from safetensors.torch import load_file

    return load_file(str(path))
