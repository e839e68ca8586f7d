"""The whole analysis, this checkout against another git revision, runs taking turns.

A machine's speed drifts (a shared 2-core VM ran the same code in 60 s one hour and 78 s
the next), so two versions timed an hour apart cannot be told apart. This script exports
the other revision into a temporary folder (``_revisions.py``) and runs the analysis of
the same video at 2 frames/s in each tree in turn, each run a fresh process (so each pays its
first-frame costs, as a user's run does), and prints both medians and their ratio.

Each run: the tree's shipped model on its default settings, a fresh project, wall and
process CPU seconds of :func:`engine.analysis.run.analyze_video` (model loading left out).

Examples::

    python bench/compare_revisions.py --base HEAD~3                  # 60 s 720p flyover, 4 pairs
    python bench/compare_revisions.py --base v0.4 --video my.mp4 --pairs 6
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

#: run inside a tree (its own ``engine``/``core``): one timed analysis, as JSON on the last line
_ONE_RUN = """
import json, sys, tempfile, time
from pathlib import Path
import torch
from core.store import ProjectStore
from engine.analyze import analyze_video, plan_analysis
video, fps = Path(sys.argv[1]), float(sys.argv[2])
with tempfile.TemporaryDirectory() as tmp, ProjectStore.create(Path(tmp) / "bench.dmproj", video_path=video) as store:
    plan = plan_analysis(store, device="cpu", fps=fps)
    wall, cpu = time.perf_counter(), time.process_time()
    frames = sum(1 for _ in analyze_video(store, plan))
    print(json.dumps({"frames": frames, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                      "threads": torch.get_num_threads()}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="git revision to compare this checkout against")
    parser.add_argument("--video", type=Path, default=None,
                        help="video to analyse (default: bench_pipeline's cached 60 s 1280x720 flyover)")
    parser.add_argument("--fps", type=float, default=2.0, help="analysed frames per second (default 2)")
    parser.add_argument("--pairs", type=int, default=4, help="runs of each tree, taking turns (default 4)")
    args = parser.parse_args(argv)
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _machine import cpu_name
    from _revisions import ROOT, revision_tree, run_in_tree
    from bench_pipeline import make_video

    if args.video is None:
        defaults = argparse.Namespace(video=None, synthetic=None, size="1280x720", seconds=60.0)
        args.video = make_video(defaults, Path(tempfile.gettempdir()) / "damagemap-bench")
    video = args.video.resolve()
    if not video.is_file():
        raise SystemExit(f"{video}: no such video")
    with revision_tree(args.base) as base:
        runs: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
        for pair in range(args.pairs):
            for name, tree in (("base", base), ("this", ROOT)):
                result = run_in_tree(tree, _ONE_RUN, str(video), str(args.fps), what="the analysis")
                runs[name].append(result)
                print(f"pair {pair + 1}: {name:4s} {result['wall']:6.1f} s wall, {result['cpu']:6.1f} s CPU",
                      file=sys.stderr, flush=True)
    frames = runs["this"][0]["frames"]
    print(f"\n{video.name}, {frames} frames at {args.fps:g} frames/s; {cpu_name()} "
          f"({int(runs['this'][0]['threads'])} threads); median of {args.pairs} runs each, taking turns")
    print(f"{'tree':<28}{'wall s':>10}{'CPU s':>10}{'frames/s':>10}")
    medians = {}
    for name, label in (("base", f"base ({args.base})"), ("this", "this checkout")):
        wall = statistics.median(r["wall"] for r in runs[name])
        cpu = statistics.median(r["cpu"] for r in runs[name])
        medians[name] = (wall, cpu)
        print(f"{label:<28}{wall:>10.2f}{cpu:>10.2f}{frames / wall:>10.2f}")
    print(f"speed-up of this checkout over the base: {medians['base'][0] / medians['this'][0]:.3f}x wall, "
          f"{medians['base'][1] / medians['this'][1]:.3f}x CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
