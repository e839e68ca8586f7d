"""The building gate's cost per frame: ``engine.msnet.gating.anchor_gate_scores`` against
the per-anchor computation, on the shipped detector's anchors.

The gate scores every damage anchor of a frame against the top building proposals
(inner intersection). ``anchor_gate_scores`` computes intersection widths and heights
once per distinct span of the anchor grid; the reference computes them per anchor and
proposal, in chunks of anchors that keep the temporaries in cache (as the gate did
before). Both give the same floats as ``inner_intersection(...).amax(1)`` (checked here).
Prints the median of ``--repeats`` runs of each, interleaved, and their ratio.

    python bench/bench_gate.py                      # a 720p frame at the shipped 360 px input
    python bench/bench_gate.py --size 1280x720 --input-size 540 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import cpu_name  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    import torch
    from torchvision.models.detection.image_list import ImageList

    from engine.msnet import gating
    from engine.msnet.gating import anchor_gate_scores, inner_intersection
    from engine.weights import DEFAULT_MSNET_WEIGHTS, load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720", help="the frame's size (default 1280x720)")
    parser.add_argument("--input-size", type=int, default=None, help="the detector's short side (default: its own)")
    parser.add_argument("--proposals", type=int, default=None, help="building proposals (default: the model's top n)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as each analysis call)")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    inference = {"input_size": args.input_size} if args.input_size else None
    model, _ = load_model(DEFAULT_MSNET_WEIGHTS, inference=inference)
    width, height = (int(v) for v in args.size.lower().split("x"))
    with torch.inference_mode():
        images, _ = model.transform([torch.zeros(3, height, width)])
        maps = list(model.backbone(images.tensors).values())
        anchors = model.rpn.damage_rpn.anchor_generator(ImageList(images.tensors, images.image_sizes), maps)[0]
    count = args.proposals or model.rpn.building_rpn._post_nms_top_n["testing"]
    resized_h, resized_w = images.image_sizes[0]
    generator = torch.Generator().manual_seed(0)  # building-sized boxes spread over the frame
    corners = torch.rand(count, 2, generator=generator) * torch.tensor([resized_w * 0.9, resized_h * 0.9])
    sides = 10 + torch.rand(count, 2, generator=generator) * min(resized_w, resized_h) / 3
    proposals = torch.cat([corners, corners + sides], dim=1)

    chunk = max(1, gating._PAIRS_PER_CHUNK // count)

    def per_anchor(part: torch.Tensor) -> torch.Tensor:
        widths, heights = gating._intersection_wh(part, proposals)
        area = gating._box_area(part)
        return torch.where(area > 0, widths.mul_(heights).amax(dim=1) / area.clamp(min=torch.finfo(area.dtype).tiny), 0.0)

    def reference() -> torch.Tensor:
        return torch.cat([per_anchor(part) for part in anchors.split(chunk)])

    def gate() -> torch.Tensor:
        return anchor_gate_scores(anchors, proposals, "ii")

    expected = inner_intersection(anchors, proposals).amax(dim=1)
    if not (torch.equal(gate(), expected) and torch.equal(reference(), expected)):
        print("the scores differ from inner_intersection's", file=sys.stderr)
        return 1
    times: dict[str, list[float]] = {"per anchor (reference)": [], "anchor_gate_scores": []}
    for _ in range(args.repeats):
        for name, fn in (("per anchor (reference)", reference), ("anchor_gate_scores", gate)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    print(f"CPU: {cpu_name()}; torch threads {args.threads}; {args.size} frame at input "
          f"{resized_w}x{resized_h}: {len(anchors):,} anchors x {count} building proposals; "
          f"median of {args.repeats}")
    print(f"{'':>24}  {'ms per frame':>12}")
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:>24}  {value:>12.1f}")
    print(f"{'ratio':>24}  {medians['per anchor (reference)'] / medians['anchor_gate_scores']:>11.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
