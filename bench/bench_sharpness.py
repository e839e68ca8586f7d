"""What softening crisp frames costs: ``engine.msnet.sharpness.softened`` against the
shipped detector's own time on the same frames.

The real photos of ``tests/data`` (the ISBDA frame, the intact photo, the labelled
gallery), each resized to ``--size``, are all sharper than the shipped model's ceiling;
each is softened, and the detector (with the frames as they come, close look on) runs on
it, in the same repeats. Prints, per photo, its sharpness before and after, the median
time of the softening and of the detector, and their ratio; then the cost of the
measurement alone on a frame under the ceiling (what a rendered flight pays).

    python bench/bench_sharpness.py                      # 1280x720, two threads
    python bench/bench_sharpness.py --size 3840x2160 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import cpu_name  # noqa: E402
from _timing import median_seconds  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image

    from engine.msnet.sharpness import sharpness_at, softened
    from engine.weights import DEFAULT_MSNET_WEIGHTS, load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720", help="each photo resized to this (default 1280x720)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--photos", type=int, default=4, help="how many of the real photos (default 4)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))

    model, _ = load_model(DEFAULT_MSNET_WEIGHTS)
    ceiling, short_side = model.sharpness_ceiling, model.sharpness_short_side
    if ceiling is None:
        print("the shipped model softens no frame: nothing to measure", file=sys.stderr)
        return 1
    model.sharpness_ceiling = None  # the detector timed on frames softened beforehand
    photos = sorted([*DATA.glob("isbda-frame/test/*.png"), *DATA.glob("real-intact/*.jpg"),
                     *DATA.glob("real-gallery/*/*.jpg")])[: args.photos]
    print(f"CPU: {cpu_name()}; torch threads {args.threads}; photos resized to {width}x{height}; "
          f"ceiling {ceiling:g} at {short_side} px; median of {args.repeats}")
    print(f"{'photo':>40}  {'sharpness':>15}  {'softening ms':>12}  {'detector ms':>11}  {'ratio':>6}")
    ratios = []
    for path in photos:
        rgb = np.asarray(Image.open(path).convert("RGB")).copy()
        image = F.interpolate(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255, size=(height, width),
                              mode="bilinear", antialias=True, align_corners=False)[0].clamp(0, 1)
        before = sharpness_at(image, short_side)[0]
        soft = softened(image, ceiling, short_side)
        after = sharpness_at(soft, short_side)[0]
        with torch.inference_mode():
            model([soft])  # warm
            soften_s = median_seconds(lambda: softened(image, ceiling, short_side), args.repeats)
            detect_s = median_seconds(lambda: model([soft]), args.repeats)
        ratios.append(soften_s / detect_s)
        print(f"{path.name[:40]:>40}  {before:>6.0f} -> {after:>5.0f}  {soften_s * 1000:>12.1f}  "
              f"{detect_s * 1000:>11.1f}  {soften_s / detect_s:>5.1%}")
    soft_frame = F.avg_pool2d(torch.rand(1, 3, height, width), 9, stride=1, padding=4)[0]  # under any ceiling
    assert sharpness_at(soft_frame, short_side)[0] <= ceiling
    measure_s = median_seconds(lambda: softened(soft_frame, ceiling, short_side), args.repeats)
    print(f"{'a frame under the ceiling (measured only)':>40}  {'':>15}  {measure_s * 1000:>12.1f}")
    print(f"softening / detector: median {statistics.median(ratios):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
