"""The CUDA paths, checked against the CPU: skipped on a machine without a CUDA GPU.

On a machine with one these run with the rest of the suite (``pytest tests/test_cuda.py``
runs them alone): the shipped detector on a real frame, the fixed batch shapes of its
mask branch and close look, a whole analysis with the SRN (half-precision autocast,
pinned transfers, batches of 4), the close look's fit, detector training with mixed
precision and SRN training. ``DAMAGEMAP_TEST_DEVICE=cuda:1`` picks another GPU;
``DAMAGEMAP_TEST_DEVICE=cpu`` dry-runs the checks on the CPU, each comparison then
comparing the CPU with itself.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

from app.cli import main

DEVICE = os.environ.get("DAMAGEMAP_TEST_DEVICE", "cuda")
ISBDA_FRAME = Path(__file__).parent / "data" / "isbda-frame" / "test" / "frame.png"

pytestmark = pytest.mark.skipif(DEVICE.startswith("cuda") and not torch.cuda.is_available(),
                                reason="needs a CUDA GPU (DAMAGEMAP_TEST_DEVICE=cpu dry-runs these checks)")


def _box_iou(a: list[float], b: list[float]) -> float:
    """IoU of two COCO [x, y, w, h] boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_the_shipped_detector_finds_on_the_gpu_what_it_finds_on_the_cpu(tmp_path) -> None:
    """Each detection >= 0.5 on the real ISBDA frame is there on the GPU too: same level,
    box IoU >= 0.7, score within 0.1 (the GPU runs float32, a CPU with native bfloat16
    runs parts in bfloat16, and kernels round differently)."""
    results = {}
    for device in ("cpu", DEVICE):
        out = tmp_path / device.replace(":", "-")
        assert main(["predict", str(ISBDA_FRAME), "--out", str(out), "--device", device]) == 0
        results[device] = [r for r in json.loads((out / "predictions.json").read_text()) if r["score"] >= 0.5]
    cpu, gpu = results["cpu"], results[DEVICE]
    assert len(cpu) >= 3  # the three damaged roofs at least: something to compare
    matched = sum(
        any(g["category_id"] == c["category_id"] and _box_iou(g["bbox"], c["bbox"]) >= 0.7
            and abs(g["score"] - c["score"]) <= 0.1 for g in gpu)
        for c in cpu
    )
    assert matched >= 0.9 * len(cpu)
    assert abs(len(gpu) - len(cpu)) <= max(2, 0.2 * len(cpu))


def test_on_the_gpu_the_varying_parts_of_the_detector_see_one_batch_shape() -> None:
    """cuDNN builds a plan for every new input shape: the mask branch and the close look,
    which see a different number of detections in every call, run in fixed batches off
    the CPU, so frames with different numbers of detections make no new shapes there."""
    import numpy as np
    from PIL import Image

    from engine.analysis.plan import load_detector
    from engine.msnet.heads import CPU_EVAL_CHUNK, DEVICE_CHUNK

    device = torch.device(DEVICE)
    model, _ = load_detector(None, device)
    seen: dict[str, set[int]] = {"mask branch": set(), "close look": set()}
    for part, module in (("mask branch", model.roi_heads.mask_head), ("mask branch", model.roi_heads.mask_predictor),
                         ("close look", model.close_look_head.body)):
        for conv in module.modules():
            if isinstance(conv, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                conv.register_forward_hook(lambda m, args, out, part=part: seen[part].add(args[0].shape[0]))
    image = torch.from_numpy(np.asarray(Image.open(ISBDA_FRAME).convert("RGB")).copy()).permute(2, 0, 1).float() / 255
    frames = [image, image[:, : image.shape[1] // 2], image[:, :, : image.shape[2] // 2]]
    counts = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
        for frame in frames:
            counts.append(len(model([frame.to(device)])[0]["scores"]))
    assert len(set(counts)) > 1 and min(counts) > 0  # different numbers of detections
    if device.type == "cpu":  # a dry run: the CPU's own chunks for the mask branch
        assert seen["mask branch"] == {CPU_EVAL_CHUNK}
    else:
        assert seen == {"mask branch": {DEVICE_CHUNK}, "close look": {DEVICE_CHUNK}}


def test_crisp_frames_are_softened_on_the_gpu_as_on_the_cpu() -> None:
    """The real ISBDA frame is sharper than the shipped model's ceiling: both devices blur
    it to within the ceiling's tolerance, and to nearly the same pixels."""
    import numpy as np
    from PIL import Image

    from engine.msnet.sharpness import TOLERANCE, sharpness_at, softened

    image = torch.from_numpy(np.asarray(Image.open(ISBDA_FRAME).convert("RGB")).copy()).permute(2, 0, 1).float() / 255
    on_cpu = softened(image, 200.0, 360)
    on_gpu = softened(image.to(DEVICE), 200.0, 360)
    assert on_gpu.device.type == torch.device(DEVICE).type
    assert abs(sharpness_at(on_gpu, 360)[0] - 200.0) <= TOLERANCE * 200.0
    assert float((on_gpu.cpu() - on_cpu).abs().mean()) < 2e-3


@pytest.fixture(scope="module")
def damaged_flight(tmp_path_factory) -> Path:
    """3 s at 10 fps, 640x360, seed 301 (a flight the shipped model never saw)."""
    from engine.synth import render_flyover

    # no orthophoto: the analysis needs none, and rasterio is not in the GPU kit (bench/gpu_kit.sh)
    return render_flyover(tmp_path_factory.mktemp("flight"), seconds=3.0, fps=10.0, size=(640, 360), seed=301,
                          orthophoto=False).video


def _sites(project: Path, out: Path) -> list[tuple[float, float]]:
    assert main(["export", str(project), "--to", str(out), "--formats", "sites", "--include-unconfirmed"]) == 0
    features = json.loads((out / "damage_sites.geojson").read_text())["features"]
    return [tuple(f["geometry"]["coordinates"][:2]) for f in features]


def test_an_analysis_on_the_gpu_places_the_sites_it_places_on_the_cpu(damaged_flight, tmp_path) -> None:
    """The whole analysis (shipped detector and SRN, which the shipped model leaves off
    unless asked; half-precision autocast and batches of 4 on a GPU) against the CPU's:
    about as many sites, nearly all within 2 m of one."""
    sites = {}
    for device in ("cpu", DEVICE):
        name = device.replace(":", "-")
        project = tmp_path / f"{name}.damagemap"
        assert main(["analyze", str(damaged_flight), "--project", str(project), "--fps", "5", "--srn",
                     "--device", device, "--quiet"]) == 0
        sites[device] = _sites(project, tmp_path / f"export-{name}")
    cpu, gpu = sites["cpu"], sites[DEVICE]
    assert len(cpu) >= 2

    def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
        north = (a[1] - b[1]) * 111_320.0
        east = (a[0] - b[0]) * 111_320.0 * math.cos(math.radians(a[1]))
        return math.hypot(east, north)

    near = sum(min(metres(c, g) for g in gpu) <= 2.0 for c in cpu) if gpu else 0
    assert near >= 0.8 * len(cpu)
    assert abs(len(gpu) - len(cpu)) <= max(1, 0.2 * len(cpu))


def test_detector_training_on_the_gpu_with_mixed_precision(damage_dataset, tmp_path) -> None:
    """A few MSNet steps with mixed precision (on by default on a GPU): finite losses,
    weights that load on the CPU, and a resume from the checkpoint."""
    from engine.train import TrainConfig, train
    from engine.weights import load_model

    config = TrainConfig(
        data=[str(damage_dataset(tmp_path / "data"))], out=str(tmp_path / "run"), arch="msnet",
        backbone="resnet18", heads="light", val_split=None, batch_size=2, lr=0.01, warmup_steps=0,
        min_size=64, max_size=96, multiscale=False, anchor_sizes=(16, 32, 64, 128, 256), roi_batch_size=32,
        workers=0, max_steps=4, log_every=1, device=DEVICE, seed=0,
    )
    summary = train(config, progress=False)
    assert summary["steps"] == 4
    assert {"loss_objectness_building", "loss_mask"} <= set(summary["last_losses"])
    assert all(math.isfinite(v) for v in summary["last_losses"].values())
    model, _ = load_model(tmp_path / "run" / "model.safetensors", device=torch.device("cpu"))
    assert all(torch.isfinite(p).all() for p in model.parameters())

    config.resume, config.max_steps = True, 6  # the checkpoint holds the loss scaler's state too
    resumed = train(config, progress=False)
    assert resumed["steps"] == 6 and all(math.isfinite(v) for v in resumed["last_losses"].values())


def test_srn_training_on_the_gpu(tiny_detector, texture_video, tmp_path) -> None:
    """``train-srn --device`` on two short videos: finite weights that load on the CPU."""
    from engine.srn import load_srn

    videos = [texture_video(tmp_path / f"v{k}.mp4", 20, start=40 * k) for k in range(2)]
    out = tmp_path / "srn.safetensors"
    assert main(["train-srn", *map(str, videos), "--weights", str(tiny_detector / "msnet.safetensors"),
                 "--out", str(out), "--steps", "3", "--short-side", "32", "--device", DEVICE, "--quiet"]) == 0
    encoder, config = load_srn(out)
    assert config.training["steps"] == 3
    assert all(torch.isfinite(p).all() for p in encoder.parameters())


def test_the_close_look_is_fitted_on_the_gpu_as_on_the_cpu(tiny_detector, damage_dataset, tmp_path) -> None:
    """``python -m engine.msnet.close_look_fit --device``: the same examples (the detector's
    detections, labelled against the truth) and a head that loads and runs on the CPU,
    with the same prior; the detector itself unchanged."""
    from engine.msnet.close_look_fit import main as fit
    from engine.weights import load_model

    data = damage_dataset(tmp_path / "data")
    base, _ = load_model(tiny_detector / "msnet.safetensors", device=torch.device("cpu"))
    configs = {}
    for device in ("cpu", DEVICE):
        out = tmp_path / device.replace(":", "-") / "msnet.safetensors"
        assert fit(["--weights", str(tiny_detector / "msnet.safetensors"), "--data", f"{data}:train", "--out", str(out),
                    "--crop-px", "32", "--min-score", "0.0", "--epochs", "1", "--device", device]) == 0
        configs[device] = json.loads(out.with_suffix(".json").read_text())["close_look"]
        model, _ = load_model(out, device=torch.device("cpu"))
        assert all(torch.isfinite(p).all() for p in model.close_look_head.parameters())
        for key, value in base.state_dict().items():
            assert torch.equal(model.state_dict()[key], value), key
    cpu, gpu = configs["cpu"], configs[DEVICE]
    assert cpu["examples"] > 0
    assert abs(gpu["examples"] - cpu["examples"]) <= max(2, 0.1 * cpu["examples"])
    assert gpu["prior"] == pytest.approx(cpu["prior"], abs=0.1)
