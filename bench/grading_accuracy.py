"""Building grades and "Not assessed" on unseen synthetic flights, against the truth.

For each seed: ``damagemap synth`` (split ``test``, seeds the shipped model never saw)
-> the damage map from the flight's SRT -> :func:`geo.grading.grade_buildings` over the
scene's building footprints (with their heights). Detections are the ground-truth masks
of the annotated frames (``--detections truth``, the default) or the shipped model's
(``--detections model``: ``damagemap analyze --fps 2``).

The truth: a building's level is its worst damaged part's (``none`` when undamaged);
whether the flight saw it well is :func:`geo.coverage.unit_coverage` over the *true*
camera poses of ``camera.json`` for the frames the map used (the map itself only has the
SRT). Columns:

- ``filmed``: buildings the flight saw well (truth); ``agree``: of those, graded with the
  truth's level (a "Not assessed" counts as wrong); target >= 95 %.
- ``n/a``: buildings graded "Not assessed"; ``not seen well``: buildings the flight did not
  see well (truth), of which ``w/ site`` still got a damage site (a glimpse of damage is
  graded, not left out); ``diff``: buildings in "Not assessed" but not in (not seen well
  minus w/ site), or the other way round: 0 when "Not assessed" is exactly the buildings
  not seen well.

    python bench/grading_accuracy.py                         # truth as detections, seeds 401-405
    python bench/grading_accuracy.py --detections model --seeds 401 --seconds 8
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _machine import cpu_name  # noqa: E402 - bench/ is on sys.path when a script runs


def damagemap(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "app.cli", *args], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def truth_buildings(flight: Path):
    """(footprints with heights, {id: level}, camera.json)."""
    from geo.footprints import Footprints

    doc = json.loads((flight / "truth.geojson").read_text())
    camera = json.loads((flight / "camera.json").read_text())
    feats = doc["features"]
    footprints = Footprints.from_polygons(
        [f["geometry"]["coordinates"][0] for f in feats], ids=[f["properties"]["id"] for f in feats],
        heights_m=[f["properties"]["height_m"] for f in feats], source=str(flight / "truth.geojson"))
    return footprints, {str(f["properties"]["id"]): f["properties"]["level"] for f in feats}, camera


def truly_seen_well(footprints, camera_doc: dict, frames: set[int], settings) -> dict[str, bool]:
    """Coverage over the true poses of ``frames`` in the flight's own ENU frame."""
    from pyproj import CRS, Transformer
    from shapely.geometry import Polygon

    from core.camera import CameraPose, PinholeCamera
    from geo.coverage import unit_coverage

    to_enu = Transformer.from_crs("EPSG:4326", CRS.from_proj4(camera_doc["crs"]), always_xy=True)
    intr = camera_doc["intrinsics"]
    camera = PinholeCamera(int(intr["width_px"]), int(intr["height_px"]), float(intr["hfov_deg"]))
    poses = {int(f["index"]): CameraPose.from_dict(f["pose"]) if hasattr(CameraPose, "from_dict")
             else CameraPose(**{k: f["pose"][k] for k in ("east_m", "north_m", "up_m", "yaw_deg", "pitch_deg")})
             for f in camera_doc["frames"] if int(f["index"]) in frames}
    outlines = [Polygon(zip(*to_enu.transform(*p.exterior.xy))) for p in footprints.polygons]
    coverage = unit_coverage(outlines, list(footprints.heights_m), camera, poses, settings)
    return {i: c.seen_well for i, c in zip(footprints.ids, coverage)}


def map_from_truth(flight: Path):
    from geo.evaluation import detections_from_coco
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry

    camera = json.loads((flight / "camera.json").read_text())
    import datetime as dt

    start = dt.datetime.fromisoformat(camera["start_utc"].replace("Z", "+00:00")).timestamp()
    intr = camera["intrinsics"]
    video = {"width_px": intr["width_px"], "height_px": intr["height_px"],
             "duration_s": len(camera["frames"]) / camera["fps"], "creation_time_utc": start}
    annotations = next((flight / "annotations").glob("instances_*.json"))
    detections, times = detections_from_coco(annotations)
    return build_damage_map_from(detections, times, read_telemetry(flight / "flight.SRT"), video=video)


def map_from_model(flight: Path, work: Path, weights: str | None):
    from core.store import ProjectStore
    from services.maps import damage_map

    project = work / f"{flight.name}.dmproj"
    project.unlink(missing_ok=True)
    command = ["analyze", str(flight / "flight.mp4"), "--project", str(project), "--fps", "2", "--quiet",
               "--device", "cpu"]
    if weights:
        command += ["--weights", weights]
    damagemap(*command)
    with ProjectStore.open(project) as store:
        return damage_map(store)


def main(argv: list[str] | None = None) -> int:
    from geo.coverage import CoverageSettings, footprint_coverage
    from geo.grading import NOT_ASSESSED, grade_buildings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detections", choices=("truth", "model"), default="truth")
    parser.add_argument("--weights", default=None, help="MSNet .safetensors for --detections model")
    parser.add_argument("--seeds", type=int, nargs="+", default=[401, 402, 403, 404, 405])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--work", default=None, help="folder for the flights (default: a temporary one)")
    args = parser.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="grading-accuracy-"))
    work.mkdir(parents=True, exist_ok=True)
    settings = CoverageSettings()

    print(f"CPU: {cpu_name()}; detections: {args.detections}; flights {args.seconds:g} s at {args.size}, "
          f"10 fps, every 5th frame annotated/analysed (2 frames/s)")
    header = (f"{'seed':>5} {'buildings':>9} {'filmed':>6} {'agree':>5} {'agree %':>7} {'damaged':>7} "
              f"{'found':>5} {'n/a':>4} {'not seen well':>13} {'w/ site':>7} {'diff':>4} {'s':>5}")
    print(header)
    total = dict(buildings=0, filmed=0, agree=0, damaged=0, found=0, na=0, unseen=0, with_site=0, diff=0)
    for seed in args.seeds:
        started = time.perf_counter()
        flight = work / f"flight-{seed}"
        if not (flight / "camera.json").is_file():
            damagemap("synth", str(flight), "--seed", str(seed), "--split", "test", "--seconds", str(args.seconds),
                      "--fps", "10", "--size", args.size, "--annotate-every", "5")
        footprints, truth, camera_doc = truth_buildings(flight)
        damage_map = (map_from_truth(flight) if args.detections == "truth"
                      else map_from_model(flight, work, args.weights))
        coverage = footprint_coverage(damage_map, footprints, settings)
        grading = grade_buildings(damage_map, footprints, coverage)
        well = truly_seen_well(footprints, camera_doc, set(damage_map.poses), settings)
        graded = {b.building_id: b.level for b in grading.buildings}
        filmed = [i for i in footprints.ids if well[i]]
        agree = sum(graded[i] == truth[i] for i in filmed)
        damaged = [i for i in filmed if truth[i] != "none"]
        found = sum(graded[i] not in ("none", NOT_ASSESSED) for i in damaged)
        na = {i for i, level in graded.items() if level == NOT_ASSESSED}
        unseen = {i for i in footprints.ids if not well[i]}
        with_site = {b.building_id for b in grading.buildings if b.site_ids} & unseen
        row = dict(buildings=len(footprints), filmed=len(filmed), agree=agree, damaged=len(damaged), found=found,
                   na=len(na), unseen=len(unseen), with_site=len(with_site), diff=len(na ^ (unseen - with_site)))
        for key in total:
            total[key] += row[key]
        share = 100.0 * agree / len(filmed) if filmed else float("nan")
        print(f"{seed:>5} {row['buildings']:>9} {row['filmed']:>6} {agree:>5} {share:>7.1f} {row['damaged']:>7} "
              f"{found:>5} {row['na']:>4} {row['unseen']:>13} {row['with_site']:>7} {row['diff']:>4} "
              f"{time.perf_counter() - started:>5.0f}")
        for i in filmed:
            if graded[i] != truth[i]:
                print(f"       building {i}: graded {graded[i]}, truth {truth[i]}", file=sys.stderr)
    share = 100.0 * total["agree"] / total["filmed"] if total["filmed"] else float("nan")
    print(f"{'all':>5} {total['buildings']:>9} {total['filmed']:>6} {total['agree']:>5} {share:>7.1f} "
          f"{total['damaged']:>7} {total['found']:>5} {total['na']:>4} {total['unseen']:>13} {total['with_site']:>7} "
          f"{total['diff']:>4}")
    print(f"flights under {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
