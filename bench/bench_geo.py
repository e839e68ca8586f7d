"""Geo costs: reading telemetry, and turning a flyover's detections into a damage map.

Prints a table of median seconds over several runs:

- ``read lines`` of the largest SRT sample (the reference, ratio 1.0: just the bytes as
  text lines),
- ``read_telemetry`` of that 13 388-cue DJI SRT and of the 11 609-row Airdata CSV,
- ``build_damage_map_from`` (projection, fusion, heatmap) and ``export_map`` (all eight
  files, no thumbnails) on a synthetic flyover's ground-truth masks,

Run it::

    python bench/bench_geo.py [--runs 5] [--samples ../shared/samples] [--flyover DIR]

``--flyover`` reuses a folder written by ``damagemap synth``; without it a 10 s flyover
is rendered first (not timed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_seconds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--samples", type=Path, default=root.parent / "shared" / "samples")
    parser.add_argument("--flyover", type=Path, default=None)
    args = parser.parse_args()

    from geo.evaluation import detections_from_coco
    from geo.export import export_map
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry

    srt = args.samples / "srt" / "DJI_20240614201546_0037_D.SRT"
    airdata = args.samples / "flightlog" / "mini2_Sep-5th-2021-07-23PM-Flight-Airdata.csv"
    rows: list[tuple[str, float]] = []
    reference = median_seconds(lambda: srt.read_text(encoding="utf-8").splitlines(), args.runs)
    rows.append(("read lines (SRT, reference)", reference))
    rows.append(("read_telemetry SRT 13388 cues", median_seconds(lambda: read_telemetry(srt), args.runs)))
    rows.append(("read_telemetry Airdata CSV 11609 rows", median_seconds(lambda: read_telemetry(airdata), args.runs)))

    with tempfile.TemporaryDirectory() as tmp:
        flyover = args.flyover
        if flyover is None:
            from engine.synth import render_flyover

            flyover = Path(tmp) / "flyover"
            render_flyover(flyover, seconds=10.0, fps=10.0, size=(1280, 720), seed=1)
        camera = json.loads((flyover / "camera.json").read_text())
        annotations = next((flyover / "annotations").glob("instances_*.json"))
        detections, times = detections_from_coco(annotations)
        start = dt.datetime.fromisoformat(camera["start_utc"].replace("Z", "+00:00")).timestamp()
        video = {"width_px": camera["intrinsics"]["width_px"], "height_px": camera["intrinsics"]["height_px"],
                 "duration_s": len(camera["frames"]) / camera["fps"], "creation_time_utc": start}
        track = read_telemetry(flyover / "flight.SRT")
        damage_map = build_damage_map_from(detections, times, track, video=video)
        label = f"build_damage_map_from ({len(detections)} detections -> {len(damage_map.sites)} sites)"
        rows.append((label, median_seconds(lambda: build_damage_map_from(detections, times, track, video=video),
                                           args.runs)))
        out = Path(tmp) / "export"
        rows.append(("export_map (8 files)", median_seconds(lambda: export_map(damage_map, out), args.runs)))

    width = max(len(name) for name, _ in rows)
    print(f"{'step'.ljust(width)}  {'median s':>9}  {'x reference':>11}")
    for name, seconds in rows:
        print(f"{name.ljust(width)}  {seconds:9.4f}  {seconds / reference:11.1f}")


if __name__ == "__main__":
    main()
