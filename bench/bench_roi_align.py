"""The RoI poolers' cost per frame on the CPU: torchvision's ``roi_align`` kernel against
:func:`engine.msnet.roi_align.gather_roi_align` (one weighted gather).

The shipped detector runs on frames of the benchmark flyover (``bench_pipeline.py``'s
cached 1-minute 720p flight, rendered once); the feature maps and RoIs its box and mask
poolers receive are recorded, then each pooler is timed on them both ways, interleaved.
Prints the median of ``--repeats`` runs per frame and the ratio, after checking that the
two agree to float rounding.

    python bench/bench_roi_align.py                 # 8 frames, one thread (as each analysis call)
    python bench/bench_roi_align.py --frames 4 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import cpu_name  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    import torch
    from torchvision.ops import MultiScaleRoIAlign

    from engine.msnet.roi_align import GatherMultiScaleRoIAlign
    from engine.video import VideoReader, select_frame_indices
    from engine.weights import DEFAULT_MSNET_WEIGHTS, load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=8, help="flyover frames (default 8, spread over the minute)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as each analysis call)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "damagemap-bench")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from bench_pipeline import make_video

    video = make_video(argparse.Namespace(video=None, synthetic=None, size="1280x720", seconds=60.0), args.cache)
    model, _ = load_model(DEFAULT_MSNET_WEIGHTS)
    poolers = {"box": model.roi_heads.box_roi_pool, "mask": model.roi_heads.mask_roi_pool}
    calls: dict[str, list[tuple]] = {name: [] for name in poolers}
    hooks = [pooler.register_forward_pre_hook(lambda _m, inputs, name=name: calls[name].append(inputs))
             for name, pooler in poolers.items()]
    with VideoReader(video) as reader:
        indices = select_frame_indices(reader.pts_s, fps=2.0)
        indices = indices[:: max(1, len(indices) // args.frames)][: args.frames]
        with torch.inference_mode():
            for frame in reader.iter_frames(indices):
                model([torch.from_numpy(frame.image).permute(2, 0, 1).float().div(255.0)])
    for hook in hooks:
        hook.remove()

    kinds = {"torchvision": MultiScaleRoIAlign, "gather": GatherMultiScaleRoIAlign}
    times = {(name, kind): [] for name in poolers for kind in kinds}
    for name, pooler in poolers.items():
        for inputs in calls[name]:
            results = {}
            for kind, cls in kinds.items():
                pooler.__class__ = cls
                with torch.inference_mode():
                    results[kind] = pooler(*inputs)
            if not torch.allclose(results["gather"], results["torchvision"], rtol=1e-4, atol=1e-4):
                print(f"the {name} pooler's results differ", file=sys.stderr)
                return 1
        for _ in range(args.repeats):
            for kind, cls in kinds.items():
                pooler.__class__ = cls
                start = time.perf_counter()
                with torch.inference_mode():
                    for inputs in calls[name]:
                        pooler(*inputs)
                times[(name, kind)].append((time.perf_counter() - start) / len(calls[name]))
        pooler.__class__ = GatherMultiScaleRoIAlign

    rois = {name: statistics.mean(sum(len(b) for b in inputs[1]) for inputs in calls[name]) for name in poolers}
    print(f"CPU: {cpu_name()}; torch threads {args.threads}; {len(indices)} frames of {video.parent.name} at the "
          f"shipped input size; median of {args.repeats}")
    print(f"{'pooler':>6}  {'RoIs/frame':>10}  {'torchvision ms':>14}  {'gather ms':>9}  {'ratio':>6}")
    for name in poolers:
        reference = statistics.median(times[(name, "torchvision")]) * 1000
        gather = statistics.median(times[(name, "gather")]) * 1000
        print(f"{name:>6}  {rois[name]:>10.0f}  {reference:>14.1f}  {gather:>9.1f}  {reference / gather:>5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
