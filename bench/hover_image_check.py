"""What the image check of a hover costs, against the analysis of the same seconds.

Where the telemetry gives no heading, the analysis tells a hover's repeated frames from
their images (``engine.motion.video_held_views``): the hover is decoded once more before
the analysis, so the check pays only where it costs less than the frames it leaves out
(at 2 frames a second, 3 of every 4 frames of a held view). For each frame size, a
rendered flight (``engine.synth.render_flyover``) is checked as if all of it were a hover
and analysed at 2 frames a second with the shipped detector on the CPU, in the same
repeats. Prints, per size, the median time of each per second of video and their ratio;
``services.analysis.IMAGE_CHECK_MAX_LINES`` is where the check stops paying.

    python bench/hover_image_check.py                                 # 1280x720 and 1920x1080
    python bench/hover_image_check.py --sizes 1280x720 3840x2160 --seconds 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import cpu_name  # noqa: E402
from _timing import median_seconds  # noqa: E402

#: The share of a held view's frames the analysis leaves out at 2 frames a second (one
#: kept every 2 s): what the check can save at most, against the analysis's time.
LEFT_OUT_SHARE = 0.75


def main(argv: list[str] | None = None) -> int:
    import torch

    from core.store import ProjectStore
    from engine.motion import video_held_views
    from engine.synth import render_flyover
    from engine.video import probe_video, select_frame_indices
    from services.analysis import IMAGE_CHECK_MAX_LINES, AnalysisRequest, analyse, load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1280x720", "1920x1080"], metavar="WxH")
    parser.add_argument("--seconds", type=float, default=4.0, help="each rendered flight's length (default 4)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--work", default=None, help="folder for the renders (default: a temporary one)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="hover-image-check-"))
    request = AnalysisRequest(device="cpu", fps=2.0, new_run=True)
    model = load_model(request)

    print(f"CPU: {cpu_name()}; torch threads {args.threads}; {args.seconds:g} s flights, 2 frames/s; "
          f"median of {args.repeats}; the check runs up to {IMAGE_CHECK_MAX_LINES} lines")
    print(f"{'size':>10}  {'check ms/s':>10}  {'analysis ms/s':>13}  {'check / analysis':>16}  "
          f"{'saved at most':>13}")
    for size in args.sizes:
        width, height = (int(v) for v in size.lower().split("x"))
        flight = work / f"flight-{width}x{height}"
        if not (flight / "flight.mp4").is_file():
            render_flyover(flight, seconds=args.seconds, fps=30.0, size=(width, height), seed=7, annotate_every=1000)
        video = flight / "flight.mp4"
        info = probe_video(video)
        selected = list(select_frame_indices(info.pts_s, fps=2.0))
        seconds = info.duration_s
        check = median_seconds(lambda: video_held_views(video, [selected]), args.repeats)
        project = flight / "bench.dmproj"
        project.unlink(missing_ok=True)
        with ProjectStore.create(project, video_path=video) as store:
            analysis = median_seconds(lambda: sum(1 for _ in analyse(store, request, model=model)), args.repeats)
        ratio = check / analysis
        print(f"{size:>10}  {1000 * check / seconds:>10.0f}  {1000 * analysis / seconds:>13.0f}  {ratio:>16.2f}  "
              f"{LEFT_OUT_SHARE:>13.2f}")
    print(f"the check pays where its ratio is under {LEFT_OUT_SHARE:g}; renders under {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
