"""What planning an analysed hovering flight again costs, with the run's record of the
frames it left out of the hover and without it.

Planning a run again (resuming it, or analysing a project already analysed, as a survey
run again does for every flight) takes the frames left out of its hovers from the run's
record (``services.analysis.LEFT_OUT_KEY``); without it the plan places the frames and,
under telemetry without a heading, reads the hover's images once more. A flight rendered
with a hover (``engine.synth.render_flyover``), under its GPX, is analysed at 2 frames a
second with the shipped detector on the CPU; then it is planned again, the record kept
and the record removed before each plan, in the same repeats. Prints the median time of
each and their ratio.

    python bench/replan_hover.py                       # 1280x720, 30 s, hovering 20 s of it
    python bench/replan_hover.py --size 1920x1080 --seconds 60 --hover 10,40
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import cpu_name  # noqa: E402
from _timing import median_seconds  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    import torch

    from core.store import ProjectStore
    from engine.synth import render_flyover
    from engine.synth.flyover import DEFAULT_GROUND_ALT_M
    from services.analysis import LEFT_OUT_KEY, AnalysisRequest, analyse, load_model, plan

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720", metavar="WxH")
    parser.add_argument("--seconds", type=float, default=30.0, help="the rendered flight's length (default 30)")
    parser.add_argument("--hover", default="5,20", metavar="START,SECONDS", help="its hover (default 5,20)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--work", default=None, help="folder for the render (default: a temporary one)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    hover = tuple(float(v) for v in args.hover.split(","))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="replan-hover-"))
    flight = work / f"flight-{width}x{height}-{args.seconds:g}s-hover-{hover[0]:g}-{hover[1]:g}"
    if not (flight / "flight.mp4").is_file():
        render_flyover(flight, seconds=args.seconds, fps=30.0, size=(width, height), seed=7, annotate_every=1000,
                       hover=hover)
    request = AnalysisRequest(device="cpu", fps=2.0)
    model = load_model(request)
    project = flight / "bench.dmproj"
    project.unlink(missing_ok=True)
    with ProjectStore.create(project, video_path=flight / "flight.mp4", telemetry_path=flight / "flight.gpx") as store:
        store.set_project_settings(dataclasses.replace(store.project_settings(),
                                                       ground_elevation_m=DEFAULT_GROUND_ALT_M))
        first = plan(store, request, model=model, check_placement=True)
        sum(1 for _ in analyse(store, request, model=model, analysis_plan=first))
        run_id = first.run_id
        recorded = store.run(run_id).settings

        def unrecorded() -> None:
            store.update_run_settings(run_id, {k: v for k, v in recorded.items() if k != LEFT_OUT_KEY})
            plan(store, request, model=model, check_placement=True)

        def with_record() -> None:
            again = plan(store, request, model=model, check_placement=True)
            assert again.skipped == first.skipped and not again.todo

        reference = median_seconds(unrecorded, args.repeats)
        store.update_run_settings(run_id, recorded)
        timed = median_seconds(with_record, args.repeats)
    print(f"CPU: {cpu_name()}; {args.size}, {args.seconds:g} s at 2 frames/s, hovering {hover[1]:g} s from "
          f"{hover[0]:g} s under its GPX; {len(first.todo)} frames analysed, {len(first.skipped)} left out; "
          f"median of {args.repeats}")
    print(f"{'plan again':>24}  {'seconds':>7}  {'ratio':>5}")
    print(f"{'record removed (before)':>24}  {reference:>7.3f}  {1.0:>5.2f}")
    print(f"{'with the record':>24}  {timed:>7.3f}  {timed / reference:>5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
