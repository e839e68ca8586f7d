"""Cost of SRN score refinement against the detector forward it follows.

For one video frame, times (median of ``--runs`` after a warm-up):

- the detector: ``MSNet.detect_with_features`` on one frame (the reference, 1.00x);
- ``ScoreRefiner.describe`` (encode + RoIAlign) of that frame's ``--detections`` boxes,
  paper order (encode whole P2-P5 maps, then RoIAlign) and ``encode_rois_first``;
- ``ScoreRefiner.refine_pair`` of two described frames (the similarity matrix + matching).

A streaming pipeline describes each frame once and refines each pair once, so the SRN's
cost per frame is ``describe + refine_pair``. Random-init weights: the cost does not
depend on the values, and the boxes are drawn at random so their number is fixed.

    python bench/bench_srn.py                       # CPU, ResNet-50 MSNet, 1280x720
    python bench/bench_srn.py --device cuda --runs 20 [--autocast]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable

import torch

from engine.msnet import build_msnet
from engine.srn import FramePredictions, ScoreRefiner, build_srn


def _median_seconds(fn: Callable[[], object], runs: int, device: torch.device) -> float:
    fn()  # warm-up (cuDNN autotune, allocator)
    times = []
    for _ in range(runs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _random_boxes(count: int, width: int, height: int, generator: torch.Generator) -> torch.Tensor:
    # damage parts from ~20 px to ~300 px across, as in ISBDA (all FPN levels get boxes)
    side = torch.exp(torch.empty(count).uniform_(3.0, 5.7, generator=generator))
    aspect = torch.empty(count).uniform_(0.5, 2.0, generator=generator)
    w, h = side * aspect.sqrt(), side / aspect.sqrt()
    x1 = torch.rand(count, generator=generator) * (width - w)
    y1 = torch.rand(count, generator=generator) * (height - h)
    return torch.stack([x1, y1, x1 + w, y1 + h], dim=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--size", default="1280x720", help="frame size WxH")
    parser.add_argument("--min-size", type=int, default=800, help="detector input short side")
    parser.add_argument("--detections", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--autocast", action="store_true", help="fp16 autocast on CUDA, as engine.analyze runs")
    args = parser.parse_args()
    autocast = torch.autocast("cuda", dtype=torch.float16) if args.autocast else contextlib.nullcontext()
    with autocast:
        _run(args)


def _run(args: argparse.Namespace) -> None:
    device = torch.device(args.device)
    width, height = (int(v) for v in args.size.lower().split("x"))
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    detector = build_msnet(backbone=args.backbone, min_size=args.min_size).to(device).eval()
    frame = torch.rand(3, height, width, generator=generator).to(device)
    _, features, image_sizes = detector.detect_with_features([frame])
    detector_s = _median_seconds(lambda: detector.detect_with_features([frame]), args.runs, device)

    encoder = build_srn().to(device).eval()
    refiners = {
        "paper (encode maps, then RoIAlign)": ScoreRefiner(encoder, device=device),
        "encode_rois_first": ScoreRefiner(encoder, device=device, encode_rois_first=True),
    }
    rows = [("detector forward (detect_with_features)", "-", detector_s)]
    for count in args.detections:
        boxes = _random_boxes(count, width, height, generator)
        predictions = FramePredictions.from_detector(
            {"boxes": boxes.to(device), "scores": torch.rand(count, generator=generator)},
            features, image_sizes, (height, width),
        )
        for name, refiner in refiners.items():
            with torch.no_grad():
                describe_s = _median_seconds(lambda: refiner.describe(predictions), args.runs, device)
                described = refiner.describe(predictions)
                pair_s = _median_seconds(lambda: refiner.refine_pair(described, described), args.runs, device)
            rows.append((f"SRN describe, {name}", str(count), describe_s))
            rows.append(("SRN refine_pair (matrix + matching)", str(count), pair_s))
            rows.append(("SRN per frame = describe + refine_pair", str(count), describe_s + pair_s))

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"# SRN cost vs detector: {args.backbone} MSNet, {width}x{height} frame, min_size {args.min_size}, {name}")
    print(f"# median of {args.runs} runs after one warm-up{', fp16 autocast' if args.autocast else ''}")
    print(f"{'step':<46} {'boxes':>5} {'median ms':>10} {'x detector':>10}")
    for step, boxes, seconds in rows:
        print(f"{step:<46} {boxes:>5} {seconds * 1000:>10.1f} {seconds / detector_s:>10.3f}")


if __name__ == "__main__":
    main()
