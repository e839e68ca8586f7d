"""Where a detector loses damage parts, by their size: proposals or scores.

For every annotated damage part of the annotated frames of synthetic flights (the
``test`` split that ``bench/site_accuracy.py`` renders; each frame as the flight's video
gives it), by its area in the frame: the share that one of the RPN's proposals overlaps
(IoU >= 0.5 and >= 0.3), and the share that a detection overlaps (IoU >= 0.3) at a score
of at least 0.05, 0.2, 0.3 and 0.5. A part proposed but not detected is lost by the box
head's score (or the close look's doubt); one never proposed, by the RPN.

    python bench/part_recall.py --flights /tmp/sites/flight-313 /tmp/sites/flight-314
    python bench/part_recall.py --flights /tmp/sites/flight-3* --no-close-look
    python bench/part_recall.py --flights ... --weights runs/msnet/model.safetensors

MSNet models only (the hierarchical RPN's proposals are read). Prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import torch
from torchvision.ops import box_iou

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: part areas in pixels of the frame, as the site bench's size bands
AREA_BANDS = ((0, 64), (64, 300), (300, 1000), (1000, float("inf")))
SCORES = (0.05, 0.2, 0.3, 0.5)


def _frames(flight: Path, indices: set[int]) -> dict[int, torch.Tensor]:
    from engine.video import VideoReader

    frames = {}
    with VideoReader(flight / "flight.mp4") as reader:
        for frame in reader.iter_frames(sorted(indices)):
            frames[frame.index] = torch.from_numpy(frame.image).permute(2, 0, 1).float().div_(255.0)
    return frames


def _boxes(annotations: list[dict]) -> torch.Tensor:
    return torch.tensor([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                         for a in annotations], dtype=torch.float32).reshape(-1, 4)


def measure(model: torch.nn.Module, flights: list[Path], split: str) -> dict[tuple[float, float], dict[str, int]]:
    from engine.msnet.hrpn import HierarchicalRPN

    if not isinstance(getattr(model, "rpn", None), HierarchicalRPN):
        raise SystemExit("bench/part_recall.py reads MSNet's hierarchical RPN; this model has none")
    counts: dict[tuple[float, float], dict[str, int]] = {band: defaultdict(int) for band in AREA_BANDS}
    # the proposals of the detector's own pass (its softened frame, at its input size)
    # and the width of the image they lie in
    seen: list[tuple[torch.Tensor, int]] = []
    hook = model.rpn.register_forward_hook(
        lambda module, args, output: seen.append((output[0][0], args[0].image_sizes[0][1])))
    try:
        for flight in flights:
            _measure_flight(model, flight, split, counts, seen)
    finally:
        hook.remove()
    return counts


def _measure_flight(model: torch.nn.Module, flight: Path, split: str,
                    counts: dict[tuple[float, float], dict[str, int]], seen: list[tuple[torch.Tensor, int]]) -> None:
    from engine.analysis.detector import _score_floor

    coco = json.loads((flight / "annotations" / f"instances_{split}.json").read_text())
    parts = defaultdict(list)
    for annotation in coco["annotations"]:
        parts[annotation["image_id"]].append(annotation)
    frames = _frames(flight, {image["frame_index"] for image in coco["images"]})
    for image in coco["images"]:
        truth = parts[image["id"]]
        if not truth:
            continue
        frame = frames[image["frame_index"]]
        seen.clear()
        with torch.inference_mode(), _score_floor(model, min(SCORES)):
            detection = model.detect_with_features([frame], mask_crops=True)[0][0]
        proposals, resized_width = seen[0]
        proposals = proposals * (frame.shape[-1] / resized_width)
        boxes = _boxes(truth)
        proposed = box_iou(boxes, proposals).max(1).values if len(proposals) else torch.zeros(len(boxes))
        overlaps = box_iou(boxes, detection["boxes"]) >= 0.3
        for k, part in enumerate(truth):
            band = next(b for b in AREA_BANDS if b[0] <= part["area"] < b[1])
            tally = counts[band]
            tally["parts"] += 1
            tally["proposed 0.5"] += int(proposed[k] >= 0.5)
            tally["proposed 0.3"] += int(proposed[k] >= 0.3)
            best = float(detection["scores"][overlaps[k]].max()) if bool(overlaps[k].any()) else 0.0
            for score in SCORES:
                tally[f"detected {score:g}"] += int(best >= score)
    print(f"{flight.name}: {len(coco['images'])} frames", flush=True)


def main(argv: list[str] | None = None) -> int:
    from engine.analysis.plan import load_detector

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flights", type=Path, nargs="+", required=True, help="flyover folders (damagemap synth)")
    parser.add_argument("--split", default="test", help="annotation split (default: test)")
    parser.add_argument("--weights", default=None, help="MSNet .safetensors (default: the shipped model)")
    parser.add_argument("--close-look", action=argparse.BooleanOptionalAction, default=None,
                        help="the close look on or off (default: the model's own setting)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = None if args.close_look is None else {"close_look": args.close_look}
    model, info = load_detector(args.weights, torch.device("cpu"), overrides)
    counts = measure(model, args.flights, args.split)
    close_look = info.get("inference", {}).get("close_look")
    print(f"\nweights: {args.weights or 'shipped default'}; close look {'on' if close_look else 'off'}; "
          f"{len(args.flights)} flights, split {args.split!r}")
    header = f"{'part area':>14}  {'parts':>5}  {'proposed (IoU>=0.5 / 0.3)':>25}  " + "  ".join(
        f"{'det >= ' + format(s, 'g'):>9}" for s in SCORES)
    print(header)
    for (low, high), tally in counts.items():
        n = max(tally["parts"], 1)
        label = f"{low:g}-{high:g} px" if high != float("inf") else f">= {low:g} px"
        print(f"{label:>14}  {tally['parts']:>5}  {tally['proposed 0.5'] / n:>13.2f} / {tally['proposed 0.3'] / n:<9.2f}  "
              + "  ".join(f"{tally[f'detected {s:g}'] / n:>9.2f}" for s in SCORES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
