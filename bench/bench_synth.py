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
import os
import statistics
import tempfile
import time

import cv2

from engine.synth import outputs, render_flyover
from engine.synth.flyover import build_flight
from engine.synth.render import FrameRenderer


def _median_s(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median wall-clock and CPU seconds (all threads) of ``runs`` calls.

    CPU seconds matter on a shared machine: wall time grows with everyone else's load.
    """
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


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
    reference = rows[0][1][0]
    print(f"synthetic flyover, {width}x{height}, {n} frames, median of {args.runs} runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'stage':52s} {'wall s':>8s} {'cpu s':>8s} {'frames/s':>9s} {'x ref':>7s}")
    print(f"{'scene + flight generation':52s} {scene_s[0]:8.2f} {scene_s[1]:8.2f} {'':>9s} {'':>7s}")
    for name, (wall, cpu) in rows:
        print(f"{name:52s} {wall:8.2f} {cpu:8.2f} {n / wall:9.1f} {wall / reference:7.1f}")
    if args.end_to_end:
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu = _median_s(lambda: render_flyover(tmp, seconds=args.end_to_end, fps=args.fps, size=(width, height), seed=args.seed), args.runs)
        frames = int(args.end_to_end * args.fps)
        print(f"{f'render_flyover {args.end_to_end:g} s (all files)':52s} {wall:8.2f} {cpu:8.2f} {frames / wall:9.1f} {'':>7s}")


if __name__ == "__main__":
    main()
