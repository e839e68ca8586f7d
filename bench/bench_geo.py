"""Geo costs: reading telemetry, and turning a flyover's detections into a damage map.

Prints a table of median seconds over several runs:

- ``read lines`` of the largest SRT sample (the reference, ratio 1.0: just the bytes as
  text lines),
- ``read_telemetry`` of that 13 388-cue DJI SRT and of the 11 609-row Airdata CSV,
- ``build_damage_map_from`` (projection, fusion, heatmap) and ``export_map`` (all eight
  files, no thumbnails) on a synthetic flyover's ground-truth masks,
- with ``--project P`` (a long flight's project: ``bench/_long_flight.py`` makes one without
  the detector), what a relief team waits for on it, on a copy: the project opened and its
  map built with every cache empty, the area of interest's wedges
  (``geo.reach.detection_wedges``, as a rebuild calls it), the site review queue, the
  export of every format and the relief package (``export --package``), each with the map
  built (a review decision's rebuild: ``bench/bench_map_rebuild.py``).

Run it::

    python bench/bench_geo.py [--runs 5] [--samples ../shared/samples] [--flyover DIR] [--project P]

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
from _machine import cpu_name  # noqa: E402
from _project_copy import project_copy  # noqa: E402
from _timing import median_seconds  # noqa: E402


class _PrintedRows(list):
    """Rows printed as they come (a long flight's take minutes each)."""

    def append(self, row: tuple[str, float]) -> None:
        print(f"{row[0]}: {row[1]:.2f} s", file=sys.stderr, flush=True)
        super().append(row)


def project_rows(project: Path, runs: int) -> list[tuple[str, float]]:
    """Median seconds of each step a long flight's project waits for (on a copy of it)."""
    import geo.mapping
    from core.store import ProjectStore
    from services import maps
    from services.export import ExportRequest, export_project
    from services.sites import site_review

    captured: dict[str, tuple] = {}
    wedges = geo.mapping.detection_wedges

    def capturing(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the call's own arguments
        captured["call"] = (args, kwargs)
        return wedges(*args, **kwargs)

    rows = _PrintedRows()
    with project_copy(project, "geo") as copy, tempfile.TemporaryDirectory() as tmp:
        def open_and_map() -> None:
            maps.clear_cache()
            with ProjectStore.open(copy) as store:
                maps.damage_map(store)

        geo.mapping.detection_wedges = capturing
        try:
            open_and_map()  # the site numbers written once, as the first opening does
        finally:
            geo.mapping.detection_wedges = wedges
        with ProjectStore.open(copy, read_only=True) as store:
            run = store.runs()[-1].id
            detections = len(store.detections(run, masks=False))
            frames = len(store.analysed_frames(run))
        rows.append((f"open + map cold ({frames} frames, {detections} detections)", median_seconds(open_and_map, runs)))
        args, kwargs = captured["call"]
        reach = wedges(*args, **kwargs)
        rows.append((f"detection_wedges ({sum(map(len, reach.values()))} wedges)",
                     median_seconds(lambda: wedges(*args, **kwargs), runs)))
        with ProjectStore.open(copy) as store:
            review = site_review(store)
            rows.append((f"site review queue, map built ({len(review.queue)} sites)",
                         median_seconds(lambda: site_review(store), runs)))
            out = Path(tmp)
            rows.append(("export every format, map built",
                         median_seconds(lambda: export_project(store, ExportRequest(out / "map")), runs)))
            rows.append(("export --package, map built",
                         median_seconds(lambda: export_project(store, ExportRequest(out / "package", formats=(),
                                                                                    package=True)), runs)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--samples", type=Path, default=root.parent / "shared" / "samples")
    parser.add_argument("--flyover", type=Path, default=None)
    parser.add_argument("--project", type=Path, default=None, help="also time a long flight's project (a copy)")
    parser.add_argument("--project-only", action="store_true", help="with --project: only the project's steps")
    args = parser.parse_args()
    if args.project is not None and args.project_only:
        _print(project_rows(args.project, args.runs), reference=None)
        return

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

    if args.project is not None:
        rows += project_rows(args.project, args.runs)
    _print(rows, reference=reference)


def _print(rows: list[tuple[str, float]], *, reference: float | None) -> None:
    print(f"median seconds ({cpu_name()})")
    width = max(len(name) for name, _ in rows)
    print(f"{'step'.ljust(width)}  {'median s':>9}" + (f"  {'x reference':>11}" if reference else ""))
    for name, seconds in rows:
        print(f"{name.ljust(width)}  {seconds:9.4f}" + (f"  {seconds / reference:11.1f}" if reference else ""))


if __name__ == "__main__":
    main()
