"""Forward time of MSNet vs stock torchvision Mask R-CNN with the same backbone.

Same frames, same device, same input sizes and heads; the two models are timed in
alternation (so background load hits both alike) and the table gives the median of
``--repeats`` runs and the ratio MSNet / Mask R-CNN (target: <= 1.10).

    python bench/bench_msnet.py --backbone mobilenet_v3 --size 480x270 --min-size 270 --repeats 7
    python bench/bench_msnet.py --backbone resnet50 --size 1333x800 --device cuda

The stock model is :class:`torchvision.models.detection.MaskRCNN` itself (not our
subclass), given an identically built FPN backbone, the same anchor generator and the
same head sizes; both are randomly initialised (nothing is downloaded).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torchvision.models.detection import MaskRCNN

from engine.msnet import build_msnet
from engine.msnet.backbones import build_fpn_backbone


def _frames(args: argparse.Namespace) -> list[torch.Tensor]:
    width, height = (int(v) for v in args.size.lower().split("x"))
    if args.images:
        from PIL import Image

        frames = []
        for path in args.images:
            with Image.open(path) as image:
                rgb = image.convert("RGB").resize((width, height))
            frames.append(torch.from_numpy(__import__("numpy").array(rgb)).permute(2, 0, 1).float() / 255)
        return frames
    generator = torch.Generator().manual_seed(0)
    return [torch.rand(3, height, width, generator=generator) for _ in range(args.batch)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="mobilenet_v3", choices=["resnet50", "resnet18", "mobilenet_v3", "mobilenet_v2"])
    parser.add_argument("--heads", default="light", choices=["standard", "light"])
    parser.add_argument("--size", default="480x270", help="frame WxH (default 480x270)")
    parser.add_argument("--min-size", type=int, default=270)
    parser.add_argument("--max-size", type=int, default=480)
    parser.add_argument("--batch", type=int, default=1, help="frames per forward")
    parser.add_argument("--images", nargs="*", help="use these images (resized to --size) instead of noise")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    torch.manual_seed(0)
    msnet = build_msnet(arch="msnet", backbone=args.backbone, heads=args.heads, min_size=args.min_size,
                        max_size=args.max_size).eval().to(device)
    # stock torchvision Mask R-CNN with the same parts (its own RPN and RoI heads)
    kwargs = {}
    if args.heads == "light":
        kwargs = dict(box_head=type(msnet.roi_heads.box_head)(256 * 7 * 7, msnet.roi_heads.box_head.fc6.out_features),
                      box_predictor=type(msnet.roi_heads.box_predictor)(msnet.roi_heads.box_head.fc6.out_features, 4),
                      mask_head=type(msnet.roi_heads.mask_head)(256, [256, 256], 1),
                      mask_predictor=type(msnet.roi_heads.mask_predictor)(256, 256, 4))
    stock = MaskRCNN(build_fpn_backbone(args.backbone), num_classes=None if kwargs else 4,
                     min_size=args.min_size, max_size=args.max_size,
                     rpn_anchor_generator=msnet.rpn.damage_rpn.anchor_generator, **kwargs).eval().to(device)
    frames = [f.to(device) for f in _frames(args)]
    models = {"maskrcnn (torchvision)": stock, "msnet": msnet}
    times: dict[str, list[float]] = {name: [] for name in models}
    detections: dict[str, int] = {}
    with torch.inference_mode():
        for _ in range(args.warmup):
            for model in models.values():
                model(frames)
        for _ in range(args.repeats):
            for name, model in models.items():
                _sync(device)
                start = time.perf_counter()
                outputs = model(frames)
                _sync(device)
                times[name].append(time.perf_counter() - start)
                detections[name] = sum(len(o["boxes"]) for o in outputs)
    reference = statistics.median(times["maskrcnn (torchvision)"])
    print(f"device {device}, backbone {args.backbone}, heads {args.heads}, frames {len(frames)}x{args.size}, "
          f"short side {args.min_size}, threads {torch.get_num_threads()}, median of {args.repeats}")
    print(f"{'model':26}{'median ms':>11}{'min ms':>9}{'max ms':>9}{'dets':>6}{'ratio':>8}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:26}{median * 1e3:11.1f}{min(samples) * 1e3:9.1f}{max(samples) * 1e3:9.1f}"
              f"{detections[name]:6d}{median / reference:8.3f}")


if __name__ == "__main__":
    main()
