"""The whole chain on an unseen synthetic flight, scored per damaged building.

``damagemap synth`` (a seed the shipped model never saw) -> ``damagemap analyze --fps 2``
-> ``damagemap export`` -> :func:`geo.building_evaluation.evaluate_buildings`: site
precision, recall of the damaged buildings the flight filmed, and the median distance
from a correct site to its building's nearest damaged part. Prints one row per seed and
the pooled figures. Targets: recall and precision >= 0.8, median distance <= 5 m.

    python bench/site_accuracy.py                           # shipped model, seeds 301 302
    python bench/site_accuracy.py --weights runs/msnet/model.safetensors --seeds 301 --no-srn
    python bench/site_accuracy.py --weights runs/msnet/model.safetensors --srn-weights runs/srn.safetensors
    python bench/site_accuracy.py --input-size 480 --work DIR               # the detector at another input size
    python bench/site_accuracy.py --flip-check                              # the shipped model, mirror check
    python bench/site_accuracy.py --tiles 2 --thresholds 0.2 0.3 0.4 0.5    # the tiled look, along the slider
    python bench/site_accuracy.py --truth-masks --seeds 301 302 303 304 305 306   # placement only, GPX-only flights
    python bench/site_accuracy.py --truth-masks --manoeuvres --hfov 70 --seeds 305 306   # turning flights, another lens
    python bench/site_accuracy.py --work DIR --reuse --seeds 303 304 305 306      # the export step again, same analyses
    python bench/site_accuracy.py --work DIR --reuse --thresholds 0.3 0.5 0.7     # the map at other slider settings
    python bench/site_accuracy.py --seconds 20 --hover 4,10 --seeds 337 338       # flights that stop and hover 10 s
    python bench/site_accuracy.py --seconds 20 --hover 4,10 --hover-every 0       # ... with every frame of the hover
    python bench/site_accuracy.py --seconds 20 --hover 4,10 --hover-turn 60 --gpx # ... turning, under a GPX (no heading)

Each seed is scored twice: every site (``export --include-unconfirmed``) and the sites
the map shows (the default export: confirmed sites only, see docs/exports.md). With
``--thresholds`` the map's sites are also scored at each of those score thresholds (the
app's slider, ``export --min-score``), pooled over the seeds: two models compared at the
same recall, not only at the default threshold, tell a better ranking from a shift of
their scores. Recall is also given by how large the flight showed each building's damage
(its largest part in one analysed frame): a building counts as filmed from 64 pixels,
which is about 5 pixels across at the detector's input size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _detector_flags import add_detector_flags, describe, detector_arguments  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: apparent sizes of a building's damage (its largest part in one frame, pixels) for recall
#: by size: about 8-17 px across, 17-32 px, and larger
SIZE_BANDS_PX = ((64.0, 300.0), (300.0, 1000.0), (1000.0, float("inf")))


def damagemap(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "app.cli", *args], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def nearest_part_m(damage_map, flight: Path) -> list[float]:
    """Distance (m) from each site to the nearest damaged part the flight annotated."""
    import numpy as np

    from engine.synth.geodesy import LocalFrame

    camera = json.loads((flight / "camera.json").read_text())
    frame = LocalFrame(camera["origin"]["lat_deg"], camera["origin"]["lon_deg"])
    annotations = json.loads(next((flight / "annotations").glob("instances_*.json")).read_text())
    seen = {a["part_id"] for a in annotations["annotations"]}
    truth = json.loads((flight / "truth.geojson").read_text())
    parts = np.array([(p["east_m"], p["north_m"]) for f in truth["features"] for p in f["properties"]["parts"]
                      if p["part_id"] in seen]).reshape(-1, 2)
    out = []
    for site in damage_map.sites:
        e, n = frame.to_enu(np.array([site.lon_deg]), np.array([site.lat_deg]))
        out.append(float(np.min(np.hypot(parts[:, 0] - e[0], parts[:, 1] - n[0]))))
    return out


def truth_masks(seeds: list[int], seconds: float, work: Path, *, manoeuvres: bool = False,
                hfov_deg: float | None = None) -> int:
    """Placement alone: the annotated masks as detections, mapped from the SRT, from the
    GPX with the assumed camera, and from the GPX with the camera estimated from the
    video (``services.sync.estimate_sync``). Each median twice: over every site
    (confirmed or not) / over the confirmed sites (the map's)."""
    import datetime as dt
    import statistics

    from engine.synth.flyover import build_flight
    from geo.evaluation import detections_from_coco
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry
    from services.sync import estimate_sync

    import numpy as np

    kind = (" manoeuvring" if manoeuvres else "") + (f", {hfov_deg:g} deg FOV" if hfov_deg else "")
    print(f"annotated masks as detections (2 frames/s), {seconds:g} s at 640x360{kind}; median distance site -> "
          "nearest part, every site / confirmed sites (m)")
    print(f"{'seed':>5}  {'SRT':>9}  {'GPX':>11}  {'GPX+est':>11}  {'+FOV named':>11}  {'pitch est/true':>15}  "
          f"{'FOV est/true':>13}  {'heading est/true':>16}  {'turns deg/s':>11}")
    keys = ("srt", "gpx", "est", "named")
    pooled: dict[str, list[float]] = {k: [] for k in keys}
    confirmed: dict[str, list[float]] = {k: [] for k in keys}
    stated: dict[str, list[float]] = {"gpx": [], "est": [], "named": []}  # each site's uncertainty_m
    suffix = ("-manoeuvres" if manoeuvres else "") + (f"-fov{hfov_deg:g}" if hfov_deg else "")
    for seed in seeds:
        flight = work / f"masks-{seed}{suffix}"
        if not (flight / "flight.mp4").is_file():
            damagemap("synth", str(flight), "--seed", str(seed), "--split", "test", "--seconds", str(seconds),
                      "--fps", "10", "--size", "640x360", "--annotate-every", "5",
                      *(["--manoeuvres"] if manoeuvres else []), *(["--hfov", str(hfov_deg)] if hfov_deg else []))
        camera = json.loads((flight / "camera.json").read_text())
        start = dt.datetime.fromisoformat(camera["start_utc"].replace("Z", "+00:00")).timestamp()
        video = {"width_px": 640, "height_px": 360, "duration_s": len(camera["frames"]) / camera["fps"],
                 "creation_time_utc": start}
        detections, times = detections_from_coco(flight / "annotations" / "instances_test.json")
        gpx = read_telemetry(flight / "flight.gpx")
        ground = float(camera["origin"].get("ground_alt_m", 10.0))
        srt_map = build_damage_map_from(detections, times, read_telemetry(flight / "flight.SRT"), video=video)
        gpx_map = build_damage_map_from(detections, times, gpx, video=video, ground_elevation_m=ground)
        view = estimate_sync(flight / "flight.mp4", gpx, ground_elevation_m=ground).view
        assert view is not None
        spreads = {"pitch_sigma_deg": view.pitch_sigma_deg, "heading_sigma_deg": view.yaw_sigma_deg,
                   "hfov_sigma_deg": view.hfov_sigma_deg}
        est_map = build_damage_map_from(detections, times, gpx, video=video, ground_elevation_m=ground,
                                        default_pitch_deg=view.pitch_deg, hfov_deg=view.hfov_deg,
                                        heading_offset_deg=view.yaw_offset_deg, **spreads)
        # the camera named (--hfov, a preset): pitch and heading estimated with its field of view
        hfov = float(camera["intrinsics"]["hfov_deg"])
        named = estimate_sync(flight / "flight.mp4", gpx, ground_elevation_m=ground, hfov_deg=hfov).view
        assert named is not None
        named_map = build_damage_map_from(detections, times, gpx, video=video, ground_elevation_m=ground,
                                          default_pitch_deg=named.pitch_deg, hfov_deg=hfov,
                                          heading_offset_deg=named.yaw_offset_deg,
                                          pitch_sigma_deg=named.pitch_sigma_deg, heading_sigma_deg=named.yaw_sigma_deg)
        plan = build_flight(seconds=seconds, fps=10.0, size=(640, 360), seed=seed, manoeuvres=manoeuvres, hfov_deg=hfov)
        true_pitch = float(np.mean([p.pitch_deg for p in plan.poses]))
        maps = dict(zip(keys, (srt_map, gpx_map, est_map, named_map)))
        every = {k: nearest_part_m(m.with_unconfirmed(), flight) for k, m in maps.items()}
        shown = {k: nearest_part_m(m, flight) for k, m in maps.items()}
        for k in keys:
            pooled[k] += every[k]
            confirmed[k] += shown[k]
        for k in ("gpx", "est", "named"):
            stated[k] += [f.uncertainty_m for f in maps[k].with_unconfirmed().fused]

        def cell(k: str, width: int) -> str:
            return f"{statistics.median(every[k]):.1f}/{statistics.median(shown[k]):.1f}".rjust(width)

        print(f"{seed:>5}  {cell('srt', 9)}  {cell('gpx', 11)}  {cell('est', 11)}  {cell('named', 11)}  "
              f"{view.pitch_deg:>7.1f}/{true_pitch:<7.1f}  {view.hfov_deg:>6.1f}/{hfov:<6.1f}  "
              f"{view.yaw_offset_deg:>+8.1f}/{plan.plan.camera_yaw_offset_deg:<+7.1f}  {view.turn_spread_deg_s:>11.2f}")

    def pooled_cell(k: str, width: int) -> str:
        return f"{statistics.median(pooled[k]):.1f}/{statistics.median(confirmed[k]):.1f}".rjust(width)

    print(f"{'all':>5}  {pooled_cell('srt', 9)}  {pooled_cell('gpx', 11)}  {pooled_cell('est', 11)}  "
          f"{pooled_cell('named', 11)}   (sites, every/confirmed: "
          + ", ".join(f"{len(pooled[k])}/{len(confirmed[k])}" for k in keys) + ")")
    for label, values in (("every site", pooled["est"]), ("confirmed sites", confirmed["est"])):
        est = np.array(values)
        print(f"GPX+est, {label}: {np.mean(est <= 5.0):.0%} within 5 m; 90th percentile {np.percentile(est, 90):.1f} m")
    for k, label in (("gpx", "GPX"), ("est", "GPX+est"), ("named", "+FOV named")):
        error, sigma = np.array(pooled[k]), np.array(stated[k])
        print(f"{label}: uncertainty_m median {np.median(sigma):.1f} m; error within 1x / 2x uncertainty_m: "
              f"{np.mean(error <= sigma):.0%} / {np.mean(error <= 2 * sigma):.0%} of sites (every site)")
    print(f"flights under {work}")
    return 0


def _srn_words(srn: bool | None) -> str:
    return "the weights' own setting" if srn is None else "on" if srn else "off"


def main(argv: list[str] | None = None) -> int:
    from geo.building_evaluation import (BuildingEvaluation, evaluate_buildings, filmed_in, largest_views,
                                         read_damaged_buildings)

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=None, help="MSNet .safetensors (default: the shipped model)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[301, 302])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--srn", action=argparse.BooleanOptionalAction, default=None,
                        help="refine scores with the SRN (default: the weights' own setting)")
    add_detector_flags(parser)
    parser.add_argument("--srn-weights", default=None, help="SRN .safetensors for --weights (default: the shipped SRN)")
    parser.add_argument("--work", default=None, help="folder for the flights and projects (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the projects already in --work (re-run only the export: tuning the site rules)")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[], metavar="P",
                        help="also score the map's sites at these score thresholds (export --min-score), pooled")
    parser.add_argument("--truth-masks", action="store_true",
                        help="no model: the annotated masks as detections, SRT vs GPX vs GPX with the camera "
                             "estimated from the video (12 s flights)")
    parser.add_argument("--manoeuvres", action="store_true",
                        help="with --truth-masks: flights that speed up, slow down and turn (synth --manoeuvres)")
    parser.add_argument("--hfov", type=float, default=None,
                        help="with --truth-masks: the synthetic camera's field of view (default synth's 84 deg)")
    parser.add_argument("--hover", default=None, metavar="START,SECONDS",
                        help="flights that stop and hover that long (synth --hover): a hover's frames are one look")
    parser.add_argument("--hover-every", default=None, metavar="S",
                        help="analyze --hover-every: one frame every S seconds of a hover (default analyze's; 0: all)")
    parser.add_argument("--hover-turn", type=float, default=0.0, metavar="DEG",
                        help="with --hover: the drone turns this far away and back while it hovers (synth --hover-turn)")
    parser.add_argument("--gpx", action="store_true",
                        help="map from the flight's GPX (no heading, no gimbal: the assumed camera) instead of its SRT")
    args = parser.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="site-accuracy-"))
    if args.truth_masks:
        return truth_masks(args.seeds, 12.0, work, manoeuvres=args.manoeuvres, hfov_deg=args.hfov)

    print(f"weights: {args.weights or 'shipped default'} ({describe(args)}); SRN {_srn_words(args.srn)}; "
          f"{args.seconds:g} s at {args.size}, analysed at 2 frames/s")
    print("'all': every site (export --include-unconfirmed); 'map': the default export (confirmed sites only)")
    print(f"{'seed':>5}  {'sites':>5}  {'right':>5}  {'filmed':>6}  {'found':>5}  {'precision':>9}  {'recall':>6}  "
          f"{'median m':>8}  |  {'sites':>5}  {'right':>5}  {'found':>5}  {'precision':>9}  {'recall':>6}  {'median m':>8}")
    keys = [("all", ["--include-unconfirmed"]), ("map", [])]
    keys += [(f"map-{t:g}", ["--min-score", f"{t:g}"]) for t in args.thresholds]  # the export folders' names too
    pooled = {key: BuildingEvaluation(0, 0, 0, 0, ()) for key, _ in keys}
    # recall by how large the damage appeared: [filmed, found in 'all', found in 'map'] per band
    by_size = {band: [0, 0, 0] for band in SIZE_BANDS_PX}
    analysed = {"frames": 0, "seconds": 0.0}

    def row(label: object, every: BuildingEvaluation, shown: BuildingEvaluation) -> str:
        return (f"{label:>5}  {every.sites:>5}  {every.correct_sites:>5}  {every.filmed_buildings:>6}  "
                f"{every.found_buildings:>5}  {every.precision:>9.2f}  {every.recall:>6.2f}  {every.median_distance_m:>8.1f}"
                f"  |  {shown.sites:>5}  {shown.correct_sites:>5}  {shown.found_buildings:>5}  {shown.precision:>9.2f}  "
                f"{shown.recall:>6.2f}  {shown.median_distance_m:>8.1f}")

    for seed in args.seeds:
        hover = (f"-hover{args.hover.replace(',', '-')}" + (f"-turn{args.hover_turn:g}" if args.hover_turn else "")
                 if args.hover else "")
        flight = work / f"flight-{seed}{hover}"
        if not (flight / "flight.mp4").is_file():
            damagemap("synth", str(flight), "--seed", str(seed), "--split", "test", "--seconds", str(args.seconds),
                      "--fps", "10", "--size", args.size, "--annotate-every", "5",
                      *(["--hover", args.hover, "--hover-turn", f"{args.hover_turn:g}"] if args.hover else []))
        project = work / f"project-{flight.name.removeprefix('flight-')}{'-gpx' if args.gpx else ''}.damagemap"
        if not (args.reuse and project.is_file()):
            project.unlink(missing_ok=True)
            analyze = ["analyze", str(flight / "flight.mp4"), "--project", str(project), "--fps", "2", "--quiet"]
            if args.weights:
                analyze += ["--weights", args.weights]
            if args.srn_weights:
                analyze += ["--srn-weights", args.srn_weights]
            if args.srn is not None:
                analyze.append("--srn" if args.srn else "--no-srn")
            if args.hover_every is not None:
                analyze += ["--hover-every", args.hover_every]
            if args.gpx:
                ground = json.loads((flight / "camera.json").read_text())["origin"]["ground_alt_m"]
                analyze += ["--track", str(flight / "flight.gpx"), "--ground-elevation", f"{ground:g}"]
            analyze += detector_arguments(args)
            started = time.perf_counter()
            damagemap(*analyze)
            analysed["seconds"] += time.perf_counter() - started
            analysed["frames"] += _frames_analysed(project)
        largest = largest_views(flight / "annotations" / "instances_test.json")
        filmed, glimpsed = filmed_in(largest)
        truth = read_damaged_buildings(flight / "truth.geojson")
        results = {}
        for key, extra in keys:
            out = work / f"export-{project.stem.removeprefix('project-')}-{key}"
            damagemap("export", str(project), "--to", str(out), "--formats", "sites", *extra)
            sites = json.loads((out / "damage_sites.geojson").read_text())["features"]
            points = [tuple(f["geometry"]["coordinates"][:2]) for f in sites]
            result = evaluate_buildings(points, truth, filmed, glimpsed)
            results[key] = result
            if key in ("all", "map"):
                for (low, high), counts in by_size.items():
                    band = {b for b in filmed if low <= largest[b] < high}
                    counts[1 if key == "all" else 2] += evaluate_buildings(
                        points, truth, band, glimpsed).found_buildings
                    counts[0] += len(band) if key == "all" else 0
            pooled[key] += result
        print(row(seed, results["all"], results["map"]))
    print(row("all", pooled["all"], pooled["map"]))
    print(f"\nrecall by how large the flight showed the damage (its largest part in one analysed frame, "
          f"pixels of the {args.size} video):")
    print(f"{'largest part':>17}  {'buildings':>9}  {'found (all)':>11}  {'recall':>6}  {'found (map)':>11}  {'recall':>6}")
    for (low, high), (filmed_count, found_all, found_map) in by_size.items():
        label = f"{low:g}-{high:g} px" if high != float("inf") else f">= {low:g} px"
        print(f"{label:>17}  {filmed_count:>9}  {found_all:>11}  {found_all / max(filmed_count, 1):>6.2f}  "
              f"{found_map:>11}  {found_map / max(filmed_count, 1):>6.2f}")
    if args.thresholds:
        print("\nthe map's sites by score threshold (pooled):")
        print(f"{'score >=':>8}  {'sites':>5}  {'right':>5}  {'found':>5}  {'precision':>9}  {'recall':>6}  {'median m':>8}")
        for threshold in args.thresholds:
            score = pooled[f"map-{threshold:g}"]
            print(f"{threshold:>8.2f}  {score.sites:>5}  {score.correct_sites:>5}  {score.found_buildings:>5}  "
                  f"{score.precision:>9.2f}  {score.recall:>6.2f}  {score.median_distance_m:>8.1f}")
    if analysed["frames"]:
        print(f"\nanalysed {analysed['frames']} frames in {analysed['seconds']:.0f} s (analyze's whole command, "
              "the model's loading included)")
    print(f"flights and projects under {work}")
    return 0


def _frames_analysed(project: Path) -> int:
    from core.store import ProjectStore

    with ProjectStore.open(project, read_only=True) as store:
        return len(store.analysed_frames(store.runs()[-1].id))


if __name__ == "__main__":
    raise SystemExit(main())
