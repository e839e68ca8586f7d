"""Is a clock offset said to be reliable right to within its stated uncertainty?

Short synthetic flights (``engine.synth.render_flyover``, 10-30 s at 320x180; some that
speed up, slow down and turn, some at constant speed with only a slow swing of the
heading) are rendered once each. Each is matched against two GPX tracks whose clock is
off by a known amount: one of the clip alone at 10 fixes a second (as ``damagemap synth``
writes it), one at 1 fix a second over 40 s either side of the clip (a phone's log of the
whole flight). ``services.sync.estimate_clock_offset`` is asked for the ``--offset``
that undoes the shift. One row per clip and track: the true offset, the estimate, its
stated uncertainty, confidence and verdict (reliable, ambiguous or poor), the runner-up
offset and how many standard errors its correlation falls below the best's; then how many
estimates said reliable were further off than their stated uncertainty (and than
0.5 s, some 3 m at these flights' speeds).

    python bench/clock_offset_accuracy.py                 # about 3 minutes on 2 cores
    python bench/clock_offset_accuracy.py --work /tmp/co  # keep the flights for a rerun
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _machine import cpu_name  # noqa: E402 - bench/ is on sys.path when a script runs
from clock_offset import shifted_gpx  # noqa: E402

#: A track of the clip alone (10 Hz) and one of 40 s either side (1 Hz): (name, span margin s, fix step s).
TRACKS = (("clip", 0.0, 0.1), ("wide", 40.0, 1.0))
#: How far off a reliable estimate may be, whatever its stated uncertainty: 0.5 s is 3 m at 6 m/s.
USEFUL_WITHIN_S = 0.5


@dataclass(frozen=True)
class Clip:
    seed: int
    seconds: float
    manoeuvres: bool
    #: the GPX clock's error for each of :data:`TRACKS` (s, the GPX fast by this much)
    shifts_s: tuple[float, float]

    @property
    def name(self) -> str:
        return f"{'manoeuvres' if self.manoeuvres else 'plain'}-{self.seed}-{self.seconds:g}s"


CLIPS = (
    Clip(7, 10.0, False, (0.0, 3.4)),
    Clip(3, 10.0, True, (-1.2, 6.2)),
    Clip(5, 12.0, False, (0.8, -4.1)),
    Clip(8, 12.0, True, (1.5, -9.6)),
    Clip(2, 15.0, False, (-0.6, 12.7)),
    Clip(4, 15.0, True, (0.0, -2.3)),
    Clip(9, 20.0, True, (2.1, 17.5)),
    Clip(6, 20.0, False, (-1.7, -0.4)),
    Clip(1, 30.0, True, (0.9, -21.3)),
    Clip(10, 30.0, False, (0.0, 8.8)),
)


def main(argv: list[str] | None = None) -> int:
    from engine.synth import render_flyover
    from engine.synth.flyover import build_flight
    from geo.telemetry import read_telemetry
    from services.sync import estimate_clock_offset

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="320x180")
    parser.add_argument("--work", default=None, help="folder for the flights (default: a temporary one)")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="clock-offset-accuracy-"))

    print(f"CPU: {cpu_name()}; clips at {args.size}, 10 fps; tracks: the clip alone at 10 Hz, "
          f"or 40 s either side at 1 Hz")
    print(f"{'clip':>20}  {'track':>5}  {'true s':>6}  {'estimate':>8}  {'error':>6}  {'+-s':>5}  {'corr':>4}  "
          f"{'conf':>4}  {'verdict':>9}  {'runner-up':>9}  {'r2':>4}  {'apart':>5}")
    reliable = beyond_stated = beyond_useful = wrong_not_reliable = ambiguous = total = 0
    started = time.perf_counter()
    for clip in CLIPS:
        folder = work / clip.name
        if not (folder / "flight.mp4").is_file():
            render_flyover(folder, seconds=clip.seconds, fps=10.0, size=size, seed=clip.seed, annotate_every=1000,
                           manoeuvres=clip.manoeuvres)
        flight = build_flight(seconds=clip.seconds, fps=10.0, size=size, seed=clip.seed, manoeuvres=clip.manoeuvres)
        for (track_name, margin_s, step_s), shift_s in zip(TRACKS, clip.shifts_s):
            gpx = shifted_gpx(flight, folder / f"{track_name}.gpx", shift_s,
                              span_s=(-margin_s, clip.seconds + margin_s), step_s=step_s)
            estimate = estimate_clock_offset(folder / "flight.mp4", read_telemetry(gpx))
            true_s = -shift_s  # the offset that undoes the shift
            error = estimate.offset_s - true_s
            is_ambiguous = getattr(estimate, "ambiguous", False)
            verdict = "reliable" if estimate.reliable else ("ambiguous" if is_ambiguous else "poor")
            ambiguous += is_ambiguous
            total += 1
            if estimate.reliable:
                reliable += 1
                beyond_stated += abs(error) > estimate.uncertainty_s
                beyond_useful += abs(error) > max(estimate.uncertainty_s, USEFUL_WITHIN_S)
            else:
                wrong_not_reliable += abs(error) > USEFUL_WITHIN_S
            runner = "-" if estimate.runner_up_s is None else f"{estimate.runner_up_s:+.1f}"
            runner_r = "-" if estimate.runner_up_correlation is None else f"{estimate.runner_up_correlation:.2f}"
            separation = getattr(estimate, "separation_sigma", None)
            apart = "-" if separation is None else f"{separation:.1f}"
            print(f"{clip.name:>20}  {track_name:>5}  {true_s:>+6.1f}  {estimate.offset_s:>+8.2f}  {error:>+6.2f}  "
                  f"{estimate.uncertainty_s:>5.2f}  {estimate.correlation:>4.2f}  {estimate.confidence:>4.2f}  "
                  f"{verdict:>9}  {runner:>9}  {runner_r:>4}  {apart:>5}")
    print(f"{reliable} of {total} estimates said reliable; of those {beyond_stated} further off than their stated "
          f"uncertainty, {beyond_useful} further than both it and {USEFUL_WITHIN_S} s")
    print(f"{total - reliable} not said reliable ({ambiguous} of them ambiguous), {wrong_not_reliable} of them more "
          f"than {USEFUL_WITHIN_S} s off")
    print(f"{time.perf_counter() - started:.0f} s in all; flights under {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
