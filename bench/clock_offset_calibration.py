"""Does the clock offset's stated uncertainty cover the truth as often as a sigma should?

``geo.clock_offset.estimate_offset`` states a one-sigma ``uncertainty_s``; the sites'
position uncertainty counts it. This script makes many synthetic motion series with a
known offset (a two-minute track that speeds up, slows down and turns, flown at 1 Hz like
a GPX; the video's image speed and turn read from it at 5 Hz, plus noise) and counts how
often the truth lies within 1 and 2 stated sigmas: about 68% and 95% when the sigma is
honest. The noise is white (a shaky read of each frame) or drifting (an error that
wanders over about a second, as an image flow's does: the harder case, since smoothing
does not average it away).

Only estimates at the right peak are counted (within the estimate's own exclusion zone of
the truth); one at another peak is an ambiguity, which the separation and confidence
report, not the sigma. ``--before REV`` also runs ``geo/clock_offset.py`` as it was at a
git revision on the same series, so both columns come from one run.

    python bench/clock_offset_calibration.py                      # 30 seeds
    python bench/clock_offset_calibration.py --seeds 60 --before HEAD~2
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _machine import cpu_name  # noqa: E402 - bench/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.types import TelemetrySample  # noqa: E402
from geo.clock_offset import STEP_S, estimate_offset, track_motion  # noqa: E402
from geo.telemetry.track import TimeBase, Track  # noqa: E402

START_UTC = 1_539_356_400.0
ORIGIN = (-85.66, 30.16)
DURATIONS_S = (6.0, 8.0, 10.0, 15.0, 20.0, 30.0)
NOISE_LEVELS = (0.2, 0.4, 0.8)  # noise standard deviation over the series'


def manoeuvring_track(seed: int, seconds: float = 120.0) -> Track:
    """A GPX-like track (1 Hz, UTC, absolute altitude) whose speed and heading each sway
    as three sines of random periods (4-29 s)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, seconds, 0.01)
    speed = 6.0 * (1 + sum(a * np.sin(2 * math.pi * t / p + f) for a, p, f in
                           zip(rng.uniform(0.1, 0.25, 3), rng.uniform(4, 23, 3), rng.uniform(0, 6, 3))))
    heading = 40.0 + sum(a * np.sin(2 * math.pi * t / p + f) for a, p, f in
                         zip(rng.uniform(4, 12, 3), rng.uniform(5, 29, 3), rng.uniform(0, 6, 3)))
    east = np.cumsum(np.sin(np.radians(heading)) * speed * 0.01)
    north = np.cumsum(np.cos(np.radians(heading)) * speed * 0.01)
    m_per_deg_lat = 111_320.0
    m_per_deg_lon = m_per_deg_lat * math.cos(math.radians(ORIGIN[1]))
    samples = tuple(TelemetrySample(t_s=START_UTC + float(t[k]), lat_deg=ORIGIN[1] + north[k] / m_per_deg_lat,
                                    lon_deg=ORIGIN[0] + east[k] / m_per_deg_lon, alt_abs_m=60.0)
                    for k in range(0, len(t), 100))
    return Track(samples, None, "gpx", TimeBase.UTC)


def noise(rng: np.random.Generator, n: int, kind: str, samples: int = 5) -> np.ndarray:
    """Unit noise, white or drifting over ``samples`` samples (a second at 5 Hz)."""
    if kind == "white":
        return rng.standard_normal(n)
    kernel = np.exp(-0.5 * (np.arange(-2 * samples, 2 * samples + 1) / samples) ** 2)
    drift = np.convolve(rng.standard_normal(n + 4 * samples), kernel, "same")[2 * samples:2 * samples + n]
    return drift / drift.std()


@dataclass(frozen=True)
class Case:
    seed: int
    duration_s: float
    kind: str
    level: float


def series(case: Case, track: Track, motion) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """The video's image times, speed and turn, its start on the track, and its clock error."""
    rng = np.random.default_rng([case.seed, int(case.duration_s * 10), int(case.level * 10), case.kind == "white"])
    start = 30.0 + rng.uniform(0.0, 50.0)
    clock_error = rng.uniform(-20.0, 20.0)
    t = np.arange(0.1, case.duration_s, 0.2)
    # the track's series are smoothed once more on the way into the video's (a box of an even
    # number of 0.1 s steps lags by half a step): read them that much later to cancel it
    seen = t + start + 0.5 * STEP_S
    speed = 40.0 * np.interp(seen, motion.t_s, motion.angular_speed)
    turn = 3.0 * np.interp(seen, motion.t_s, motion.turn_deg_s)
    speed += case.level * speed.std() * noise(rng, len(t), case.kind)
    turn += case.level * turn.std() * noise(rng, len(t), case.kind)
    return t, speed, turn, start, clock_error


def revision_module(revision: str):
    """``geo/clock_offset.py`` as it was at ``revision``, imported under another name."""
    source = subprocess.run(["git", "show", f"{revision}:geo/clock_offset.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="clock-offset-before-")) / "clock_offset_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("clock_offset_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=30, help="tracks (one per seed), each read at every length and noise")
    parser.add_argument("--before", default=None, help="a git revision whose estimate to run beside this checkout's")
    args = parser.parse_args(argv)
    versions = {"now": estimate_offset}
    if args.before:
        versions = {"before": revision_module(args.before).estimate_offset, **versions}
    # (duration, kind) -> version -> list of (|error|, sigma); and wrong peaks
    errors: dict[tuple[float, str], dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    wrong: dict[tuple[float, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seconds: dict[str, float] = defaultdict(float)
    for seed in range(args.seeds):
        track = manoeuvring_track(seed)
        motion = track_motion(track, creation_time_utc=START_UTC)
        for duration in DURATIONS_S:
            for kind in ("white", "drifting"):
                for level in NOISE_LEVELS:
                    t, speed, turn, start, clock_error = series(Case(seed, duration, kind, level), track, motion)
                    for name, estimate in versions.items():
                        began = time.perf_counter()
                        result = estimate(track, t, speed, turn, duration_s=duration,
                                          creation_time_utc=START_UTC + start + clock_error)
                        seconds[name] += time.perf_counter() - began
                        if result is None:
                            continue
                        error = abs(result.offset_s - clock_error)
                        if error > max(2.0, 0.1 * duration):
                            wrong[(duration, kind)][name] += 1
                        else:
                            errors[(duration, kind)][name].append((error, result.uncertainty_s))
    names = list(versions)
    print(f"CPU: {cpu_name()}; {args.seeds} tracks x noise {', '.join(map(str, NOISE_LEVELS))} of the series' "
          f"spread; counted: estimates at the right peak")
    header = f"{'clip':>5} {'noise':>8} {'n':>4} {'wrong':>5}"
    for name in names:
        header += f" | {name + ' 1σ':>10} {'2σ':>5} {'med σ':>6}"
    print(header + f" | {'med err':>7} {'p95 err':>7}")
    for (duration, kind), by_version in sorted(errors.items()):
        row = by_version[names[-1]]
        line = f"{duration:>4.0f}s {kind:>8} {len(row):>4} {wrong[(duration, kind)][names[-1]]:>5}"
        for name in names:
            pairs = by_version[name]
            within1 = sum(e <= s for e, s in pairs) / len(pairs)
            within2 = sum(e <= 2 * s for e, s in pairs) / len(pairs)
            line += f" | {within1:>10.0%} {within2:>5.0%} {statistics.median(s for _, s in pairs):>6.2f}"
        errs = sorted(e for e, _ in row)
        print(line + f" | {statistics.median(errs):>7.2f} {errs[int(0.95 * (len(errs) - 1))]:>7.2f}")
    for name in names:
        pairs = [p for by_version in errors.values() for p in by_version[name]]
        print(f"{name}: all {len(pairs)}: within 1σ {sum(e <= s for e, s in pairs) / len(pairs):.0%}, "
              f"2σ {sum(e <= 2 * s for e, s in pairs) / len(pairs):.0%}; "
              f"{1000 * seconds[name] / max(1, len(pairs)):.1f} ms an estimate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
