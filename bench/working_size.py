"""What looking at a large frame as a 1080-line frame changes in the detections.

The shipped settings shrink a frame whose short side passes ``max_frame_scale`` times the
input size (:mod:`engine.msnet.working_size`). This renders crisp 4K (3840 x 2160) H.264
videos of three real photos (the Harvey flood, the Katrina blue tarps and the Florence
nadir photo, each mirrored and tiled at its own scale to fill the frame, panning 4 px a
frame; cached under ``--cache``), runs the detector on every ``--every``-th frame at full
size and shrunk, and matches the detections >= ``--score`` by level and box IoU >= 0.5:
how many are found both ways, how far their scores are apart, and which are found one
way only. It then prints the command that times the whole analysis both ways::

    python bench/working_size.py
    python bench/bench_pipeline.py --video CACHE/09_4k.mp4 --every 5 \\
        --reference '{"max_frame_scale": null}' --no-model-only
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PHOTOS = {
    "09": ROOT / "tests" / "data" / "real-intact" / "harvey_port_arthur_flood.jpg",
    "01": ROOT / "tests" / "data" / "real-gallery" / "train" / "01_fema18258_blue_tarps_katrina_ms_oblique.jpg",
    "10": ROOT / "tests" / "data" / "real-gallery" / "test" / "10_noaa_eri_florence_C25871189_nadir.jpg",
}
SIZE = (3840, 2160)
FRAMES = 90


def crisp_4k_video(photo: Path, out: Path) -> Path:
    """A 3 s 30 frames/s 4K video of ``photo`` mirrored and tiled at its own scale, panning."""
    import cv2

    from engine.video import write_video

    if out.exists():
        return out
    rgb = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    row = np.concatenate([rgb, rgb[:, ::-1]], axis=1)
    block = np.concatenate([row, row[::-1]], axis=0)
    width, height = SIZE
    big = np.tile(block, (1 + (height + 2 * FRAMES) // block.shape[0], 1 + (width + 4 * FRAMES) // block.shape[1], 1))
    write_video(out, (np.ascontiguousarray(big[2 * i:2 * i + height, 4 * i:4 * i + width]) for i in range(FRAMES)),
                fps=30.0)
    return out


def detections(model, image: np.ndarray, shrink: bool) -> dict:  # noqa: ANN001
    """The detector's output on ``image``: shrunk as the analysis shrinks it, or at its own size."""
    import torch

    from engine.msnet.working_size import detect_image

    if shrink:
        return detect_image(model, image, mask_crops=True)
    tensor = torch.from_numpy(image).permute(2, 0, 1).float().div_(255.0)
    with torch.inference_mode():
        outputs, _, _ = model.detect_with_features([tensor], mask_crops=True)
    return outputs[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=None, help="MSNet weights (default: the shipped model)")
    parser.add_argument("--every", type=int, default=15, help="frames between the ones compared (default 15)")
    parser.add_argument("--score", type=float, default=0.3, help="detections compared from this score (default 0.3)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "damagemap-bench-4k")
    args = parser.parse_args()

    import torch
    from torchvision.ops import box_iou

    from engine.analyze import load_detector
    from engine.video import VideoReader

    model, _ = load_detector(args.weights, torch.device("cpu"))
    if not getattr(model, "working_short_side", None):
        print("these weights' settings look at every frame at its own size (no max_frame_scale)")
        return 1
    args.cache.mkdir(parents=True, exist_ok=True)
    both = full_only = shrunk_only = total = 0
    gaps: list[float] = []
    one_way: list[str] = []
    for key, photo in PHOTOS.items():
        video = crisp_4k_video(photo, args.cache / f"{key}_4k.mp4")
        for frame in VideoReader(video).iter_frames(list(range(0, FRAMES, args.every))):
            full, shrunk = (detections(model, frame.image, shrink) for shrink in (False, True))
            keep_a, keep_b = full["scores"] >= args.score, shrunk["scores"] >= args.score
            boxes_a, boxes_b = full["boxes"][keep_a], shrunk["boxes"][keep_b]
            labels_a, labels_b = full["labels"][keep_a], shrunk["labels"][keep_b]
            scores_a, scores_b = full["scores"][keep_a], shrunk["scores"][keep_b]
            total += len(boxes_a)
            iou = box_iou(boxes_a, boxes_b) if len(boxes_a) and len(boxes_b) else torch.zeros(len(boxes_a), len(boxes_b))
            used: set[int] = set()
            for i in range(len(boxes_a)):
                j = int(iou[i].argmax()) if len(boxes_b) else -1
                if j >= 0 and iou[i, j] >= 0.5 and j not in used and labels_a[i] == labels_b[j]:
                    used.add(j)
                    both += 1
                    gaps.append(abs(float(scores_a[i] - scores_b[j])))
                else:
                    full_only += 1
                    if scores_a[i] >= 0.5:
                        one_way.append(f"{video.name} frame {frame.index}: at full size only, {float(scores_a[i]):.2f}")
            for j in range(len(boxes_b)):
                if j not in used:
                    shrunk_only += 1
                    if scores_b[j] >= 0.5:
                        one_way.append(f"{video.name} frame {frame.index}: shrunk only, {float(scores_b[j]):.2f}")
    print(f"working short side {model.working_short_side} px; detections >= {args.score:g} at full size: {total}")
    print(f"found both ways (level and IoU >= 0.5): {both} ({both / max(total, 1):.0%}); full size only: {full_only}; "
          f"shrunk only: {shrunk_only}")
    if gaps:
        print(f"score gap of the matched: median {statistics.median(gaps):.3f}, "
              f"90th percentile {float(np.percentile(gaps, 90)):.3f}")
    print("found one way only, >= 0.5:", *one_way, sep="\n  ")
    print("\ntime the whole analysis both ways:")
    for key in PHOTOS:
        print(f"  python bench/bench_pipeline.py --video {args.cache / f'{key}_4k.mp4'} --every 5 "
              "--reference '{\"max_frame_scale\": null}' --no-model-only")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
