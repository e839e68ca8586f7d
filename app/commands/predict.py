"""``damagemap predict``: draw damage predictions on images (frame | overlay, as the paper's figures)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    parser.add_argument("--weights", default=None, help="MSNet .safetensors (default: the shipped model)")
    parser.add_argument("--out", required=True, help="folder for <stem>-prediction.jpg files")
    parser.add_argument("--score-threshold", type=float, default=0.5, help="hide predictions below (default 0.5)")
    parser.add_argument("--buildings", action="store_true", help="also outline the building proposals")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np
    import torch
    from PIL import Image

    from core.errors import InputError
    from engine.visualize import prediction_figure
    from engine.weights import DEFAULT_MSNET_WEIGHTS, load_model

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model, _ = load_model(args.weights or DEFAULT_MSNET_WEIGHTS, device=device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.images:
        path = Path(name)
        try:
            with Image.open(path) as opened:
                image = np.array(opened.convert("RGB"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read image ({exc})") from None
        tensor = torch.from_numpy(image).permute(2, 0, 1).float().div(255.0).to(device)
        with torch.no_grad():
            output = model([tensor])[0]
        figure = prediction_figure(image, output, score_threshold=args.score_threshold,
                                   show_buildings=args.buildings)
        target = out / f"{path.stem}-prediction.jpg"
        Image.fromarray(figure).save(target, quality=92)
        shown = int((output["scores"] >= args.score_threshold).sum())
        print(f"{path}: {shown} damage prediction(s) >= {args.score_threshold} -> {target}")
    return 0
