"""The drone's height and the camera's pitch read from the video, against the truth.

For GPX-only synthetic flights (absolute altitudes from a drone already in the air, no
gimbal pitch), ``services.sync.estimate_sync`` reads the ground's elevation (and so the
height above the ground at the first fix) and the camera's pitch from how the ground
flows through the frame; the render's ``camera.json`` and SRT give the truth. Prints one
row per flight and the median absolute errors.

    python bench/flow_height_accuracy.py --work /tmp/sa --seeds 301 302 303 304 305 306
    python bench/flow_height_accuracy.py --work /tmp/sa --seeds 301 302 --manoeuvres

The flights are ``bench/site_accuracy.py --truth-masks``'s (12 s at 640x360, rendered
into ``--work`` when missing, reused otherwise), so both benches read the same renders.
To compare two versions of the code on the same renders, run this file from one
checkout with ``PYTHONPATH`` set to the other.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path


def render(flight: Path, seed: int, manoeuvres: bool) -> None:
    if (flight / "flight.mp4").is_file():
        return
    subprocess.run([sys.executable, "-m", "app.cli", "synth", str(flight), "--seed", str(seed), "--split", "test",
                    "--seconds", "12", "--fps", "10", "--size", "640x360", "--annotate-every", "5",
                    *(["--manoeuvres"] if manoeuvres else [])], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[301, 302, 303, 304, 305, 306])
    parser.add_argument("--work", type=Path, required=True, help="folder of the renders (shared with site_accuracy)")
    parser.add_argument("--manoeuvres", action="store_true", help="flights that speed up, slow down and turn")
    args = parser.parse_args(argv)

    import geo.pitch
    import numpy as np

    from geo.telemetry import read_telemetry
    from services.sync import estimate_sync

    print(f"code: {Path(geo.pitch.__file__).resolve().parents[1]}")
    print(f"{'seed':>5}  {'height true':>11}  {'read':>6}  {'+-':>4}  {'error m':>7}  {'pitch true':>10}  "
          f"{'read':>6}  {'+-':>4}  {'error deg':>9}  {'climb m/s':>9}")
    height_errors, pitch_errors = [], []
    for seed in args.seeds:
        flight = args.work / f"masks-{seed}{'-manoeuvres' if args.manoeuvres else ''}"
        render(flight, seed, args.manoeuvres)
        camera = json.loads((flight / "camera.json").read_text())
        ground = float(camera["origin"].get("ground_alt_m", 10.0))
        srt = read_telemetry(flight / "flight.SRT")
        true_height = float(srt.samples[0].alt_rel_m)
        true_pitch = float(np.median([s.gimbal_pitch_deg for s in srt.samples]))
        rel = np.array([s.alt_rel_m for s in srt.samples])
        climb = float(np.max(np.abs(np.gradient(rel, srt.times_s()))))
        report = estimate_sync(flight / "flight.mp4", read_telemetry(flight / "flight.gpx"))
        height = report.height
        row = f"{seed:>5}  {true_height:>11.1f}  "
        if height is None or report.ground_elevation_m is None:
            row += f"{'-':>6}  {'':>4}  {'-':>7}  "
        else:
            read = true_height + ground - report.ground_elevation_m  # the first fix's height above that ground
            height_errors.append(abs(read - true_height))
            row += f"{read:>6.1f}  {height.sigma_m:>4.0f}  {read - true_height:>+7.1f}  "
        view = report.view
        row += f"{true_pitch:>10.1f}  "
        if view is None:
            row += f"{'-':>6}  {'':>4}  {'-':>9}  "
        else:
            pitch_errors.append(abs(view.pitch_deg - true_pitch))
            row += f"{view.pitch_deg:>6.1f}  {view.pitch_sigma_deg:>4.0f}  {view.pitch_deg - true_pitch:>+9.1f}  "
        print(row + f"{climb:>9.2f}")
    if height_errors:
        print(f"median |error|: height {statistics.median(height_errors):.1f} m over {len(height_errors)} flights"
              + (f", pitch {statistics.median(pitch_errors):.1f} deg over {len(pitch_errors)}" if pitch_errors else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
