"""How real flights break into distinct views (``geo.views``): the real telemetry samples
beside the repository (``../shared/samples``), sampled as ``analyze --fps 2`` would, each
frame's camera pose from the log, then grouped into views. Prints one row per log: its
length, the frames the rate selects that are placed, those not placed because the drone
hovered under a log with no heading ("still"), the views, how many views hold 2, 3 or 4+
frames (4+: the hovers the map's notes name), the frames analysed once a hover's repeats
are left out (``analyze --hover-every``, default 2 s) and their share, the median height
and the longest hovers.

    python bench/hover_views.py                     # every DJI SRT and flight log found
    python bench/hover_views.py LOG [LOG ...]       # these logs
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT.parent / "shared" / "samples"


def default_logs() -> list[Path]:
    return sorted([*SAMPLES.glob("srt/*.[Ss][Rr][Tt]"), *SAMPLES.glob("flightlog/*Airdata*.csv")])


def main(argv: list[str] | None = None) -> int:
    from geo.camera import frame_poses
    from geo.sync import align_track
    from geo.telemetry import read_telemetry
    from geo.views import distinct_views, frames_a_view_repeats, hovers

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", nargs="*", type=Path)
    parser.add_argument("--fps", type=float, default=2.0, help="analysed frames a second (default 2, analyze's)")
    parser.add_argument("--flight-height", type=float, default=40.0,
                        help="height above the ground for logs that give none (default 40 m)")
    parser.add_argument("--hover-every", type=float, default=2.0,
                        help="one frame every S seconds of a hover is analysed (default 2, analyze's)")
    args = parser.parse_args(argv)
    logs = args.logs or default_logs()
    if not logs:
        print(f"no logs given and none under {SAMPLES}")
        return 1
    print(f"{'log':<44} {'s':>5} {'frames':>6} {'still':>5} {'views':>5} {'2':>4} {'3':>4} {'4+':>4}  "
          f"{'analysed':>8} {'share':>5}  {'height':>6}  {'heading from':<14} longest hovers")
    for log in logs:
        try:
            track = read_telemetry(log)
            times = track.times_s()
            duration = float(times[-1] - times[0])
            frame_times = {i: i / args.fps for i in range(int(duration * args.fps))}
            poses = frame_poses(align_track(track, duration_s=duration), frame_times)
            assumed = not poses.poses  # no height above the ground in the log: fly it at one
            if assumed:
                poses = frame_poses(align_track(track, duration_s=duration, flight_height_m=args.flight_height),
                                    frame_times)
        except Exception as exc:  # noqa: BLE001 - a row saying why, the other logs go on
            print(f"{log.name:<44} skipped: {str(exc).splitlines()[0][:90]}")
            continue
        if not poses.poses:
            print(f"{log.name:<44} skipped: no frame has a camera pose")
            continue
        views = distinct_views(poses.poses)
        sizes = Counter(Counter(views.values()).values())
        heights = sorted(p.up_m for p in poses.poses.values())
        longest = sorted(hovers(views, frame_times), key=lambda span: -span[2])[:3]
        named = ", ".join(f"{count} at {first:.0f}-{last:.0f} s" for first, last, count in longest) or "-"
        selected = len(poses.poses) + len(poses.hovering)
        analysed = selected - len(frames_a_view_repeats(views, frame_times, every_s=args.hover_every))
        print(f"{log.name[:44]:<44} {duration:>5.0f} {len(poses.poses):>6} {len(poses.hovering):>5} "
              f"{len(set(views.values())):>5} "
              f"{sizes[2]:>4} {sizes[3]:>4} {sum(n for k, n in sizes.items() if k >= 4):>4}  "
              f"{analysed:>8} {analysed / selected:>5.0%}  "
              f"{heights[len(heights) // 2]:>5.0f}{'*' if assumed else 'm'}  {poses.heading_source:<14} {named}")
    print(f"* the log gives no height above the ground: flown at --flight-height {args.flight_height:g} m")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
