"""Analysing on Ray workers against the plain single-process run, on the same videos.

Measures frames/s (median of ``--repeats`` runs, each into fresh projects) of:

1. ``plain``: :func:`services.analysis.analyse`, one process, torch's threads (the
   reference: what ``damagemap analyze`` does);
2. ``plain 1 thread``: the same with one torch thread and one detector call at a time
   (what one Ray worker gets);
3. ``ray 1 worker`` and ``ray 2 workers``: :func:`services.cluster.analyse_on_ray` on a
   local Ray instance of that many CPUs, one torch thread per worker.

Ratios: each row to ``plain``; ``ray 2 / ray 1`` is the scaling, ``ray 1 / plain 1
thread`` Ray's overhead (segments' SRN overlap, shipping the model and the results,
the driver writing). Starting Ray (once per worker count, plus the workers' imports on
the warm-up run) is reported apart, not in the rates.

    python bench/bench_ray.py                         # two 10 s 640x360 flights at 2 fps, shipped model
    python bench/bench_ray.py --size 1280x720 --seconds 20 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from _machine import cpu_name  # noqa: E402 - bench/ is on sys.path when a script runs


def make_videos(args: argparse.Namespace, cache: Path) -> list[Path]:
    from engine.synth.survey_paths import render_survey_flight

    width, height = (int(v) for v in args.size.lower().split("x"))
    videos = []
    for seed in range(1, args.flights + 1):
        out = cache / f"bench-ray-{width}x{height}-{args.seconds:g}s-{seed}"
        if not (out / "flight.mp4").is_file():
            render_survey_flight(out, town_seed=7, path_seed=seed, seconds=args.seconds, fps=10,
                                 size=(width, height), annotate_every=1000)
        videos.append(out / "flight.mp4")
    return videos


def run_all(videos: list[Path], work: Path, analyse) -> tuple[float, int]:  # noqa: ANN001 - callable
    """Seconds and frames for analysing every video into a fresh project."""
    from core.store import ProjectStore

    work.mkdir(parents=True)
    frames = 0
    started = time.perf_counter()
    for k, video in enumerate(videos):
        with ProjectStore.create(work / f"p{k}.dmproj", video_path=video) as store:
            frames += sum(1 for _ in analyse(store))
    return time.perf_counter() - started, frames


def main(argv: list[str] | None = None) -> int:
    import torch

    from services import analysis
    from services.cluster import ClusterOptions, RaySession, analyse_on_ray

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flights", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--fps", type=float, default=2.0, help="frames analysed per second of video")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--segment-frames", type=int, default=8)
    parser.add_argument("--srn", action=argparse.BooleanOptionalAction, default=None,
                        help="refine scores with the SRN (default: the weights' own setting)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "damagemap-bench")
    args = parser.parse_args(argv)

    videos = make_videos(args, args.cache)
    request = analysis.AnalysisRequest(device="cpu", fps=args.fps, srn=args.srn)
    model = analysis.load_model(request)
    threads = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0))
    print(f"CPU: {cpu_name()}, {cores} cores available (shared machine: other work runs alongside)")
    srn = "as the weights say" if args.srn is None else "on" if args.srn else "off"
    print(f"videos: {len(videos)} x {args.seconds:g} s at {args.size}, {args.fps:g} frames/s analysed; shipped model; "
          f"SRN {srn}; segments of {args.segment_frames} frames")

    rates: dict[str, list[float]] = {}
    startup: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        root = Path(tmp)
        counter = iter(range(10_000))

        def measure(name: str, analyse) -> None:  # noqa: ANN001
            for _ in range(args.repeats):
                seconds, frames = run_all(videos, root / f"{next(counter)}", analyse)
                rates.setdefault(name, []).append(frames / seconds)

        measure("plain", lambda store: analysis.analyse(store, request, model=model))
        torch.set_num_threads(1)
        from engine.analyze import analyze_video

        measure("plain 1 thread", lambda store: analyze_video(
            store, analysis.plan(store, request, model=model), batch_size=1, frames_in_flight=1))
        torch.set_num_threads(threads)
        for workers in (1, 2):
            options = ClusterOptions(workers=workers, segment_frames=args.segment_frames)
            name = f"ray {workers} worker{'s' if workers > 1 else ''}"
            started = time.perf_counter()
            with RaySession(options):
                run_all(videos[:1], root / f"{next(counter)}", lambda store: analyse_on_ray(  # noqa: B023
                    store, request, options, model=model))  # warm-up: workers start and import torch
                startup[name] = time.perf_counter() - started
                measure(name, lambda store: analyse_on_ray(store, request, options, model=model))  # noqa: B023

    reference = statistics.median(rates["plain"])
    print(f"\n{'run':<16} {'frames/s':>9} {'x plain':>8}   runs")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:<16} {median:>9.3f} {median / reference:>8.2f}   {', '.join(f'{v:.3f}' for v in values)}")
    r1, r2 = statistics.median(rates["ray 1 worker"]), statistics.median(rates["ray 2 workers"])
    single = statistics.median(rates["plain 1 thread"])
    print(f"\nscaling ray 2 / ray 1 workers: {r2 / r1:.2f}x;  Ray overhead, ray 1 worker / plain 1 thread: "
          f"{r1 / single:.2f}x")
    print("Ray start + warm-up run (not in the rates): "
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in startup.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
