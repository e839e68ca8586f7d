"""Reading large telemetry files: time and peak memory of ``read_telemetry`` and of the
``damagemap telemetry`` summary on synthetic drone GPX logs of growing size.

Each measurement runs in a fresh Python process (so peak RSS is that run's own) and is
repeated; the table shows medians. A GPX point is written the way drone-log exporters
write it: 10 Hz, ``lat``/``lon`` with 7 decimals, ``<ele>``, a millisecond ``<time>``
and a ``<speed>`` extension.

Run it::

    python bench/bench_telemetry.py [--sizes 10000 100000 1000000] [--runs 3] [--code DIR]

``--code`` measures another checkout of the repository (for instance the commit before a
change, unpacked with ``git archive COMMIT | tar -x -C DIR``) on the same files, so
before and after are measured side by side; give it twice to compare.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from _machine import cpu_name  # noqa: E402 - bench/ is on sys.path when a script runs
from geo.telemetry import read_telemetry
from geo.telemetry.summary import summarise
start = time.perf_counter()
track = read_telemetry(sys.argv[2])
read_s = time.perf_counter() - start
start = time.perf_counter()
summary = summarise(track)
summary_s = time.perf_counter() - start
print(json.dumps({"read_s": read_s, "summary_s": summary_s, "samples": len(track),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""


def write_gpx(path: Path, points: int) -> None:
    """A drone-log-like GPX: a 10 Hz lawnmower pattern at 8 m/s, with a little noise."""
    start = dt.datetime(2024, 6, 14, 20, 15, 46, tzinfo=dt.timezone.utc).timestamp()
    lat0, lon0 = 35.9, -75.6
    metres_per_deg_lon = 111_320.0 * math.cos(math.radians(lat0))
    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="bench" '
                'xmlns="http://www.topografix.com/GPX/1/1">\n<trk><name>bench</name><trkseg>\n')
        for i in range(points):
            t = i * 0.1
            leg, along = divmod(t * 8.0, 400.0)
            east = along if int(leg) % 2 == 0 else 400.0 - along
            north = leg * 30.0 + 0.3 * math.sin(i * 0.7)
            lat = lat0 + north / 111_320.0
            lon = lon0 + east / metres_per_deg_lon
            stamp = dt.datetime.fromtimestamp(start + t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            f.write(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>{60.0 + 0.1 * math.sin(t):.1f}</ele>'
                    f"<time>{stamp}Z</time><speed>8.0</speed></trkpt>\n")
        f.write("</trkseg></trk>\n</gpx>\n")


def measure(code: Path, path: Path, runs: int) -> dict:
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _CHILD, str(code), str(path)], check=True,
                             capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in results) for key in ("read_s", "summary_s", "rss_mb")} | {
        "samples": results[0]["samples"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", type=Path, action="append", default=None,
                        help="a checkout of the repository to measure (default: this one); repeatable")
    args = parser.parse_args()
    codes = args.code or [ROOT]

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"CPU: {cpu_name()}, {len(os.sched_getaffinity(0))} cores (load average {load}); "
          f"Python {platform.python_version()}; median of {args.runs} runs, each in a fresh process")
    header = f"{'code':<24} {'points':>9} {'MB':>6} {'read s':>8} {'summary s':>10} {'total s':>8} {'peak RSS MB':>12}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"drone_{size}.gpx"
            write_gpx(path, size)
            mb = path.stat().st_size / 1e6
            for code in codes:
                r = measure(code.resolve(), path, args.runs)
                assert r["samples"] == size, r
                label = str(code)[-24:] if args.code else "this checkout"
                print(f"{label:<24} {size:>9} {mb:>6.1f} {r['read_s']:>8.2f} {r['summary_s']:>10.2f} "
                      f"{r['read_s'] + r['summary_s']:>8.2f} {r['rss_mb']:>12.0f}", flush=True)


if __name__ == "__main__":
    main()
