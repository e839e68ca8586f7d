"""Are the sites' stated uncertainties honest? Synthetic flights (perfect telemetry),
their ground-truth masks mapped, each site's ``uncertainty_m`` against its distance to the
nearest damaged part the flight annotated.

``uncertainty_m`` is a one-sigma horizontal error: about two sites in three should lie
within it, and nearly all within twice it. Prints one row per seed and the pooled row.

    python bench/uncertainty_calibration.py                  # seeds 1 2 3, 12 s at 640x360
    python bench/uncertainty_calibration.py --seeds 1 2 3 4 5 --work DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def flight_rows(folder: Path, seed: int) -> list[tuple[float, float, str]]:
    """``(claimed, actual, dominant part)`` per site of one rendered flight."""
    import datetime as dt

    from engine.synth import render_flyover
    from geo.evaluation import detections_from_coco, read_truth_parts
    from geo.local import LocalFrame
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry

    paths = render_flyover(folder, seconds=12.0, fps=10.0, size=(640, 360), seed=seed, annotate_every=5)
    camera = json.loads(Path(paths.camera).read_text())
    intr = camera["intrinsics"]
    video = {"width_px": intr["width_px"], "height_px": intr["height_px"],
             "duration_s": len(camera["frames"]) / camera["fps"],
             "creation_time_utc": dt.datetime.fromisoformat(camera["start_utc"].replace("Z", "+00:00")).timestamp()}
    detections, times = detections_from_coco(paths.annotations)
    damage_map = build_damage_map_from(detections, times, read_telemetry(paths.srt), video=video)
    parts = read_truth_parts(paths.truth)
    local = LocalFrame.around(parts[0].lon_deg, parts[0].lat_deg)
    pe, pn = local.to_local([p.lon_deg for p in parts], [p.lat_deg for p in parts])
    rows = []
    for fused in damage_map.fused:
        site = fused.site
        se, sn = local.to_local(site.lon_deg, site.lat_deg)
        actual = float(np.min(np.hypot(pe - se, pn - sn)))
        budget = fused.budget
        dominant = "" if budget is None else max(budget.parts().items(), key=lambda kv: kv[1])[0]
        rows.append((float(fused.uncertainty_m), actual, dominant))
    return rows


def describe(rows: list[tuple[float, float, str]]) -> str:
    claimed = np.array([r[0] for r in rows])
    actual = np.array([r[1] for r in rows])
    within = lambda k: float(np.mean(actual <= k * claimed))  # noqa: E731
    return (f"{len(rows):>5} {np.median(claimed):>9.2f} {np.median(actual):>8.2f} {within(1):>8.0%} {within(2):>8.0%} "
            f"{np.median(actual / np.maximum(claimed, 1e-6)):>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--work", type=Path, default=None, help="keep the rendered flights here")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="uncertainty-"))
    print(f"{'seed':>6} {'sites':>5} {'claimed':>9} {'actual':>8} {'<=1x':>8} {'<=2x':>8} {'ratio':>8}"
          "   (medians, metres; ratio: actual / claimed)")
    pooled: list[tuple[float, float, str]] = []
    for seed in args.seeds:
        rows = flight_rows(work / f"seed-{seed}", seed)
        pooled += rows
        print(f"{seed:>6} {describe(rows)}")
    print(f"{'pooled':>6} {describe(pooled)}")
    for part in sorted({r[2] for r in pooled}):
        chosen = [r for r in pooled if r[2] == part]
        print(f"  dominated by {part or '-'}: {describe(chosen)}")


if __name__ == "__main__":
    main()
