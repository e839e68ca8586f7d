"""Speed of the synthetic flyover renderer.

Prints one table: median of ``--runs`` runs per stage, frames/s, and the ratio to the
reference measured in the same run: a plain ground-only homography warp of the same
frames (the least any renderer of this kind must do per frame).

    python bench/bench_synth.py                       # 1280x720, 40 frames, 3 runs
    python bench/bench_synth.py --size 320x180 --frames 20
    python bench/bench_synth.py --end-to-end 20       # + a full 20 s render_flyover
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import cv2

from engine.synth import outputs, render_flyover
from engine.synth.flyover import build_flight
from engine.synth.render import FrameRenderer


def _median_s(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--end-to-end", type=float, default=0.0, metavar="SECONDS", help="also time render_flyover of this many seconds")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    seconds = args.frames / args.fps

    scene_s = _median_s(lambda: build_flight(seconds=seconds, fps=args.fps, size=(width, height), seed=args.seed), args.runs)
    flight = build_flight(seconds=seconds, fps=args.fps, size=(width, height), seed=args.seed)
    renderer = FrameRenderer(flight.scene, flight.camera, seed=args.seed)
    ground = flight.scene.ground.image

    def ground_only() -> None:
        for pose in flight.poses:
            cv2.warpPerspective(ground, renderer._ground_homography(pose), (width, height), flags=cv2.INTER_LINEAR)

    def full(with_ids: bool) -> None:
        for i, pose in enumerate(flight.poses):
            frame = renderer.render(pose, frame_index=i, with_ids=with_ids)
            if with_ids:
                outputs.frame_annotations(frame.surface_ids, flight.scene, image_id=1, first_id=1)

    n = len(flight.poses)
    rows = [("ground warp only (reference)", _median_s(ground_only, args.runs))]
    rows.append(("full frame (ground mips + houses + trees + post)", _median_s(lambda: full(False), args.runs)))
    rows.append(("full frame + id buffer + annotations", _median_s(lambda: full(True), args.runs)))
    reference = rows[0][1]
    print(f"synthetic flyover, {width}x{height}, {n} frames, median of {args.runs} runs")
    print(f"{'stage':52s} {'total s':>9s} {'frames/s':>9s} {'x ref':>7s}")
    print(f"{'scene + flight generation':52s} {scene_s:9.2f} {'':>9s} {'':>7s}")
    for name, secs in rows:
        print(f"{name:52s} {secs:9.2f} {n / secs:9.1f} {secs / reference:7.1f}")
    if args.end_to_end:
        with tempfile.TemporaryDirectory() as tmp:
            secs = _median_s(lambda: render_flyover(tmp, seconds=args.end_to_end, fps=args.fps, size=(width, height), seed=args.seed), args.runs)
        frames = int(args.end_to_end * args.fps)
        print(f"{f'render_flyover {args.end_to_end:g} s (all files)':52s} {secs:9.2f} {frames / secs:9.1f} {'':>7s}")


if __name__ == "__main__":
    main()
