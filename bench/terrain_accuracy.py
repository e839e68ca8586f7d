"""Site error on hilly ground with perfect detections, with and without the DEM.

For each seed: hills (``engine.synth.terrain.Hills``, written as a GeoTIFF DEM), a
synthetic flight over them (its DJI SRT), and debris points on the slopes the flight
sees; every frame that sees a point gets a small box detection centred exactly where
the point projects (perfect detections, no occlusion by hills). The map is built from
the SRT with the flat take-off plane and with the DEM, and each site is scored by the
distance to its nearest true point. Prints one row per seed and the pooled medians.

    python bench/terrain_accuracy.py                       # seeds 1-4, 15 m relief
    python bench/terrain_accuracy.py --relief 30 --seeds 5 6
    python bench/terrain_accuracy.py --seeds 1 --rendered 1 2   # also rendered hilly flyovers
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def terrain_case(seed: int, work: Path, *, relief_m: float = 15.0, seconds: float = 20.0, fps: float = 2.0,
                 size: tuple[int, int] = (1280, 720), hfov_deg: float = 84.0, count: int = 30):
    """``(detections, frame_times, srt_path, dem_path, video_info, truth_enu, synth_frame)``."""
    from core.camera import PinholeCamera
    from core.types import DamageLevel, Detection
    from engine.synth import outputs
    from engine.synth.flight import FlightPlan
    from engine.synth.flyover import DEFAULT_GROUND_ALT_M, DEFAULT_START_UTC, MIN_TOP_DEPRESSION_DEG
    from engine.synth.geodesy import LocalFrame
    from engine.synth.terrain import Hills, ground_points, sightings

    rng = np.random.default_rng(seed)
    camera = PinholeCamera(size[0], size[1], hfov_deg)
    plan = FlightPlan.sample(rng, seconds)
    steepest = -(camera.vfov_deg / 2 + MIN_TOP_DEPRESSION_DEG + plan.pitch_swing_deg)
    plan = dataclasses.replace(plan, pitch_deg=max(-85.0, min(plan.pitch_deg, steepest)))
    times = np.arange(int(seconds * fps)) / fps
    poses = plan.poses(times)
    hills = Hills.sample(np.random.default_rng(seed + 1000), extent_m=400.0, relief_m=relief_m)
    # the drone flies at its height above the ground under it, not above the take-off
    poses = [dataclasses.replace(p, up_m=p.up_m + float(hills.height(np.array([p.east_m]), np.array([p.north_m]))[0]))
             for p in poses]
    points = ground_points(np.random.default_rng(seed + 2000), hills, camera, poses, count=count)
    seen = sightings(hills, camera, poses, points)
    detections = []
    for i, rows in enumerate(seen):
        for _, u, v in rows:
            detections.append(Detection(frame_index=i, level=DamageLevel.DEBRIS, score=0.9,
                                        box_xyxy_px=(u - 4.0, v - 4.0, u + 4.0, v + 4.0)))
    frame = LocalFrame(30.1588, -85.6602)
    east = np.array([p.east_m for p in poses])
    north = np.array([p.north_m for p in poses])
    lon, lat = frame.to_lonlat(east, north)
    records = [outputs.FrameRecord(i, float(times[i]), DEFAULT_START_UTC + dt.timedelta(seconds=float(times[i])), poses[i],
                                   float(lat[i]), float(lon[i]), poses[i].up_m, poses[i].up_m + DEFAULT_GROUND_ALT_M)
               for i in range(len(times))]
    work.mkdir(parents=True, exist_ok=True)
    srt = work / "flight.SRT"
    outputs.write_srt(srt, records, fps=fps, hfov_deg=hfov_deg)
    dem = hills.write_geotiff(work / "dem.tif", frame, (-500.0, -500.0, 500.0, 500.0), ground_alt_m=DEFAULT_GROUND_ALT_M)
    video = {"width_px": size[0], "height_px": size[1], "duration_s": seconds,
             "creation_time_utc": DEFAULT_START_UTC.timestamp()}
    return detections, {i: float(t) for i, t in enumerate(times)}, srt, dem, video, points, frame


def site_errors(damage_map, truth_enu: np.ndarray, frame) -> list[float]:
    """Horizontal distance (m) from each site to its nearest true point."""
    errors = []
    for site in damage_map.sites:
        e, n = frame.to_enu(np.array([site.lon_deg]), np.array([site.lat_deg]))
        errors.append(float(np.min(np.hypot(truth_enu[:, 0] - e[0], truth_enu[:, 1] - n[0]))))
    return errors


def rendered(seeds: list[int], relief_m: float, work: Path, seconds: float) -> None:
    """The same comparison on rendered hilly flyovers (``render_flyover(terrain_relief_m=)``),
    their annotated masks as the detections, scored by ``geo.evaluation`` per damaged part."""
    import datetime as dt
    import json

    from engine.synth import render_flyover
    from geo.evaluation import detections_from_coco, evaluate_sites, flyover_parts, part_of_detection
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry

    print(f"rendered: {seconds:g} s flights at 640x360, hills up to {relief_m:g} m, annotated masks every 5th frame")
    print(f"{'seed':>4}  {'ground':>6}  {'parts':>5}  {'sites':>5}  {'median m':>8}  {'recall':>6}  {'precision':>9}")
    for seed in seeds:
        folder = work / f"rendered-{seed}"
        if not (folder / "dem.tif").is_file():
            render_flyover(folder, seconds=seconds, fps=10.0, size=(640, 360), seed=seed, terrain_relief_m=relief_m)
        annotations = folder / "annotations" / "instances_train.json"
        camera = json.loads((folder / "camera.json").read_text())
        start = dt.datetime.fromisoformat(camera["start_utc"].replace("Z", "+00:00")).timestamp()
        video = {"width_px": camera["intrinsics"]["width_px"], "height_px": camera["intrinsics"]["height_px"],
                 "duration_s": len(camera["frames"]) / camera["fps"], "creation_time_utc": start}
        detections, times = detections_from_coco(annotations)
        placeable, dont_care = flyover_parts(annotations, folder / "truth.geojson", folder / "camera.json")
        for dem in (None, folder / "dem.tif"):
            damage_map = build_damage_map_from(detections, times, read_telemetry(folder / "flight.SRT"), video=video, dem=dem)
            result = evaluate_sites(damage_map.sites, placeable + dont_care)
            print(f"{seed:>4}  {'DEM' if dem else 'flat':>6}  {result.parts:>5}  {len(damage_map.sites):>5}  "
                  f"{result.median_error_m:>8.2f}  {result.recall:>6.2f}  {result.precision:>9.2f}")


def main(argv: list[str] | None = None) -> int:
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--relief", type=float, default=15.0, help="largest hill height, metres (default 15)")
    parser.add_argument("--rendered", type=int, nargs="*", default=None, metavar="SEED",
                        help="also render hilly flyovers of these seeds and score their annotated masks")
    parser.add_argument("--rendered-seconds", type=float, default=12.0)
    parser.add_argument("--work", default=None)
    args = parser.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="terrain-accuracy-"))
    print(f"hills up to {args.relief:g} m over 400 m; 20 s flights analysed at 2 frames/s, 1280x720; "
          "perfect box detections of debris on the slopes")
    print(f"{'seed':>4}  {'points':>6}  {'sights':>6}  {'slope %':>7}  {'flat: sites':>11}  {'median m':>8}  "
          f"{'DEM: sites':>10}  {'median m':>8}  {'p90 m':>6}  {'DEM s':>6}")
    pooled: dict[str, list[float]] = {"flat": [], "dem": []}
    for seed in args.seeds:
        detections, times, srt, dem, video, truth, frame = terrain_case(seed, work / f"seed-{seed}", relief_m=args.relief)
        track = read_telemetry(srt)
        flat = build_damage_map_from(detections, times, track, video=video, hfov_deg=84.0, min_score=0.0)
        started = time.perf_counter()
        with_dem = build_damage_map_from(detections, times, track, video=video, hfov_deg=84.0, min_score=0.0, dem=dem)
        took = time.perf_counter() - started
        flat_errors, dem_errors = site_errors(flat, truth, frame), site_errors(with_dem, truth, frame)
        pooled["flat"] += flat_errors
        pooled["dem"] += dem_errors
        slope = _median_slope(dem, truth, frame)
        print(f"{seed:>4}  {len(truth):>6}  {len(detections):>6}  {slope:>7.1f}  {len(flat.sites):>11}  "
              f"{statistics.median(flat_errors):>8.2f}  {len(with_dem.sites):>10}  {statistics.median(dem_errors):>8.2f}  "
              f"{float(np.percentile(dem_errors, 90)):>6.2f}  {took:>6.2f}")
    print(f"all: flat plane median {statistics.median(pooled['flat']):.2f} m (p90 "
          f"{float(np.percentile(pooled['flat'], 90)):.2f}); with the DEM median {statistics.median(pooled['dem']):.2f} m "
          f"(p90 {float(np.percentile(pooled['dem'], 90)):.2f})")
    if args.rendered:
        rendered(args.rendered, args.relief, work, args.rendered_seconds)
    print(f"files under {work}")
    return 0


def _median_slope(dem: Path, truth: np.ndarray, frame) -> float:
    """Median ground slope (%) at the true points, from the DEM."""
    import rasterio

    with rasterio.open(dem) as src:
        z = src.read(1).astype(np.float64)
        res = src.res[0]
        dz_dy, dz_dx = np.gradient(z, res)
        slope = np.hypot(dz_dx, dz_dy) * 100.0
        rows, cols = rasterio.transform.rowcol(src.transform, truth[:, 0], truth[:, 1])
    return float(np.median(slope[np.clip(rows, 0, z.shape[0] - 1), np.clip(cols, 0, z.shape[1] - 1)]))


if __name__ == "__main__":
    raise SystemExit(main())
