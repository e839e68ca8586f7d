"""Clock offsets estimated from the video's motion, on synthetic flights whose GPX clock
is off by known amounts (0-30 s, and whole hours as from a camera set to local time).

Each flight is rendered once (``render_flyover``; with ``--plain`` also flights without
manoeuvres, whose speed is constant), its GPX is written at 1 Hz over two minutes around
the clip, shifted by each offset, and ``services.sync.estimate_clock_offset`` is asked
for the ``--offset`` that undoes it. Prints one row per flight and shift, the pooled
error, and the time the estimate takes per second of video on this CPU.

    python bench/clock_offset.py                       # seeds 11 12 13, 20 s clips
    python bench/clock_offset.py --seeds 11 --plain    # also a constant-speed flight
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from _machine import cpu_name  # noqa: E402 - bench/ is on sys.path when a script runs

SHIFTS_S = [0.0, 4.3, -12.7, 21.9, 29.6, 3600.0 + 3.1, -7200.0 + 15.2, 5 * 3600.0 + 1800.0]


def shifted_gpx(flight, path: Path, shift_s: float, *, span_s: tuple[float, float], step_s: float = 1.0) -> Path:
    """The flight's track, one fix every ``step_s`` over ``span_s``, with its clock ``shift_s`` fast."""
    from engine.synth import outputs
    from engine.synth.flyover import DEFAULT_GROUND_ALT_M, DEFAULT_START_UTC
    from engine.synth.geodesy import LocalFrame

    times = np.arange(span_s[0], span_s[1] - 1e-9, step_s)
    poses = flight.plan.poses(times)
    local = LocalFrame(30.1588, -85.6602)
    lon, lat = local.to_lonlat(np.array([p.east_m for p in poses]), np.array([p.north_m for p in poses]))
    records = [outputs.FrameRecord(i, float(t), DEFAULT_START_UTC + dt.timedelta(seconds=float(t) + shift_s), poses[i],
                                   float(lat[i]), float(lon[i]), poses[i].up_m, poses[i].up_m + DEFAULT_GROUND_ALT_M)
               for i, t in enumerate(times)]
    outputs.write_gpx(path, records, name="shifted")
    return path


def main(argv: list[str] | None = None) -> int:
    from engine.synth import render_flyover
    from engine.synth.flyover import build_flight
    from geo.telemetry import read_telemetry
    from services.sync import estimate_clock_offset

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="320x180")
    parser.add_argument("--plain", action="store_true", help="also flights without manoeuvres (constant speed)")
    parser.add_argument("--work", default=None, help="folder for the flights (default: a temporary one)")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="clock-offset-"))

    print(f"CPU: {cpu_name()}; {args.seconds:g} s clips at {args.size}, 10 fps; GPX at 1 Hz, 2 min around the clip")
    print(f"{'seed':>4}  {'flight':>10}  {'GPX clock':>10}  {'estimate':>10}  {'error s':>7}  {'corr':>5}  "
          f"{'+-s':>5}  {'conf':>4}  {'zone h':>6}  {'time s':>6}")
    errors: dict[str, list[float]] = {}
    timings: list[float] = []
    kinds = [True, False] if args.plain else [True]
    for seed in args.seeds:
        for manoeuvres in kinds:
            kind = "manoeuvres" if manoeuvres else "plain"
            folder = work / f"{kind}-{seed}"
            if not (folder / "flight.mp4").is_file():
                render_flyover(folder, seconds=args.seconds, fps=10.0, size=size, seed=seed, annotate_every=1000,
                               manoeuvres=manoeuvres)
            flight = build_flight(seconds=args.seconds, fps=10.0, size=size, seed=seed, manoeuvres=manoeuvres)
            for shift in SHIFTS_S:
                gpx = shifted_gpx(flight, folder / "shifted.gpx", shift, span_s=(-50.0, args.seconds + 50.0))
                started = time.perf_counter()
                estimate = estimate_clock_offset(folder / "flight.mp4", read_telemetry(gpx))
                took = time.perf_counter() - started
                timings.append(took / args.seconds)
                error = estimate.offset_s + shift  # the right offset undoes the shift
                errors.setdefault(kind, []).append(abs(error))
                print(f"{seed:>4}  {kind:>10}  {shift:>+10.1f}  {estimate.offset_s:>+10.2f}  {error:>+7.2f}  "
                      f"{estimate.correlation:>5.2f}  {estimate.uncertainty_s:>5.2f}  {estimate.confidence:>4.2f}  "
                      f"{estimate.zone_shift_h:>+6g}  {took:>6.2f}")
    for kind, values in errors.items():
        within = sum(v <= 0.5 for v in values)
        print(f"{kind}: {within}/{len(values)} within 0.5 s; median error {statistics.median(values):.2f} s, "
              f"worst {max(values):.2f} s")
    print(f"estimate time: median {statistics.median(timings):.3f} s per second of video "
          f"(decode at 5 frames/s, optical flow at 320 px, correlation), ratio to real time "
          f"{statistics.median(timings):.3f}")
    print(f"flights under {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
