"""The whole chain on an unseen synthetic flight, scored per damaged building.

``damagemap synth`` (a seed the shipped model never saw) -> ``damagemap analyze --fps 2``
-> ``damagemap export`` -> :func:`geo.building_evaluation.evaluate_buildings`: site
precision, recall of the damaged buildings the flight filmed, and the median distance
from a correct site to its building's nearest damaged part. Prints one row per seed and
the pooled figures. Targets: recall and precision >= 0.8, median distance <= 5 m.

    python bench/site_accuracy.py                           # shipped model, seeds 301 302
    python bench/site_accuracy.py --weights runs/msnet/model.safetensors --seeds 301 --no-srn
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def damagemap(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "app.cli", *args], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    from geo.building_evaluation import BuildingEvaluation, evaluate_buildings, filmed_buildings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=None, help="MSNet .safetensors (default: the shipped model)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[301, 302])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--no-srn", action="store_true")
    parser.add_argument("--work", default=None, help="folder for the flights and projects (default: a temporary one)")
    args = parser.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="site-accuracy-"))

    print(f"weights: {args.weights or 'shipped default'}; SRN {'off' if args.no_srn else 'on'}; {args.seconds:g} s at {args.size}, analysed at 2 frames/s")
    print(f"{'seed':>5}  {'sites':>5}  {'right':>5}  {'filmed':>6}  {'found':>5}  {'precision':>9}  {'recall':>6}  {'median m':>8}")
    pooled = BuildingEvaluation(0, 0, 0, 0, ())
    for seed in args.seeds:
        flight = work / f"flight-{seed}"
        if not (flight / "flight.mp4").is_file():
            damagemap("synth", str(flight), "--seed", str(seed), "--split", "test", "--seconds", str(args.seconds),
                      "--fps", "10", "--size", args.size, "--annotate-every", "5")
        project = work / f"project-{seed}.damagemap"
        project.unlink(missing_ok=True)
        analyze = ["analyze", str(flight / "flight.mp4"), "--project", str(project), "--fps", "2", "--quiet"]
        if args.weights:
            analyze += ["--weights", args.weights]
        if args.no_srn:
            analyze.append("--no-srn")
        damagemap(*analyze)
        out = work / f"export-{seed}"
        damagemap("export", str(project), "--to", str(out), "--formats", "sites")
        sites = json.loads((out / "damage_sites.geojson").read_text())["features"]
        points = [tuple(f["geometry"]["coordinates"][:2]) for f in sites]
        filmed, glimpsed = filmed_buildings(flight / "annotations" / "instances_test.json")
        result = evaluate_buildings(points, flight / "truth.geojson", filmed, glimpsed)
        pooled = BuildingEvaluation(pooled.sites + result.sites, pooled.correct_sites + result.correct_sites,
                                    pooled.filmed_buildings + result.filmed_buildings,
                                    pooled.found_buildings + result.found_buildings,
                                    pooled.distances_m + result.distances_m)
        print(f"{seed:>5}  {result.sites:>5}  {result.correct_sites:>5}  {result.filmed_buildings:>6}  "
              f"{result.found_buildings:>5}  {result.precision:>9.2f}  {result.recall:>6.2f}  {result.median_distance_m:>8.1f}")
    print(f"{'all':>5}  {pooled.sites:>5}  {pooled.correct_sites:>5}  {pooled.filmed_buildings:>6}  "
          f"{pooled.found_buildings:>5}  {pooled.precision:>9.2f}  {pooled.recall:>6.2f}  {pooled.median_distance_m:>8.1f}")
    print(f"flights and projects under {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
