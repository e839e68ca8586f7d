"""Where sites land when the drone turns while it hovers: rendered flights that stop for
``--hover`` seconds and turn ``--turn`` degrees away and back meanwhile (``damagemap synth
--hover --hover-turn``), their annotated masks as the detections (placement alone, no
detector), mapped from the SRT (which records the turn) and from the GPX (which cannot),
also with the camera the GPX lacks given as it was ("GPX+cam": its pitch, field of view
and heading off the direction of travel), so the hover is all that differs from the SRT,
and each also with the camera's turns where the drone hovered read from the video ("+turns",
``geo.hover_turns``: they place the hover); and with the camera read from the video as
``--camera auto`` reads it ("GPX+auto"), then with the turns it reads too ("+turns").
Prints per flight and pooled: the sites, how far each lies from the nearest damaged part
the flight annotated (median), how many lie more than 10 m off, and the analysed frames
left unplaced. Run it with another checkout first on ``PYTHONPATH`` to compare the
placement code of two revisions on the same renders.

    python bench/hover_placement.py --work DIR                       # seeds 301-306
    PYTHONPATH=OLD_CHECKOUT python bench/hover_placement.py --work DIR
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_accuracy import damagemap, nearest_part_m  # noqa: E402


def true_camera(camera: dict) -> dict[str, float]:
    """The rendered camera as ``build_damage_map_from`` takes it for a GPX: the median
    pitch, the field of view and the median heading off the direction of travel (over
    the frames that moved on)."""
    import numpy as np

    poses = [f["pose"] for f in camera["frames"]]
    east, north = np.array([p["east_m"] for p in poses]), np.array([p["north_m"] for p in poses])
    step_e, step_n = np.diff(east), np.diff(north)
    moving = np.hypot(step_e, step_n) > 0.05
    bearing = np.degrees(np.arctan2(step_e[moving], step_n[moving]))
    yaw = np.array([p["yaw_deg"] for p in poses[:-1]])[moving]
    return {"default_pitch_deg": float(np.median([p["pitch_deg"] for p in poses])),
            "hfov_deg": float(camera["intrinsics"]["hfov_deg"]),
            "heading_offset_deg": float(np.median((yaw - bearing + 180.0) % 360.0 - 180.0))}


def _row(label: object, source: str, every: list[float], shown: list[float]) -> str:
    """Sites, median distance and sites more than 10 m off: every site / the map's."""
    return (f"{label:>5}  {source:<8} {len(every):>4}/{len(shown):<4}  "
            f"{statistics.median(every or [0]):>5.1f}/{statistics.median(shown or [0]):<5.1f}  "
            f"{sum(d > 10 for d in every):>4}/{sum(d > 10 for d in shown):<4}")


def main(argv: list[str] | None = None) -> int:
    from geo.evaluation import detections_from_coco
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[301, 302, 303, 304, 305, 306])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--hover", default="6,8", metavar="START,SECONDS")
    parser.add_argument("--turn", type=float, default=90.0, metavar="DEG")
    parser.add_argument("--work", default=None, help="folder for the flights (kept: a second run reuses them)")
    args = parser.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="hover-placement-"))
    print(f"annotated masks as detections (2 frames/s), {args.seconds:g} s at 640x360, hovering at {args.hover} s "
          f"and turning {args.turn:g} deg away and back; sites every/confirmed")
    print(f"{'seed':>5}  {'source':<8} {'sites':>9}  {'median m':>11}  {'> 10 m':>9}  {'unplaced':>8}")
    import dataclasses

    from core.settings import ProjectSettings
    from geo.mapping import settings_arguments
    from services.sync import georeference_from_video

    from services.sync import hover_turns_from_video

    pooled: dict[str, list[list[float]]] = {name: [[], []] for name in ("SRT", "GPX", "GPX+cam", "+turns", "GPX+auto",
                                                                      "+turns ")}
    for seed in args.seeds:
        flight = work / f"hover-{seed}-{args.hover.replace(',', '-')}-turn{args.turn:g}"
        if not (flight / "flight.mp4").is_file():
            damagemap("synth", str(flight), "--seed", str(seed), "--split", "test", "--seconds", str(args.seconds),
                      "--fps", "10", "--size", "640x360", "--annotate-every", "5", "--hover", args.hover,
                      "--hover-turn", str(args.turn), "--no-orthophoto")
        camera = json.loads((flight / "camera.json").read_text())
        start = dt.datetime.fromisoformat(camera["start_utc"].replace("Z", "+00:00")).timestamp()
        video = {"width_px": 640, "height_px": 360, "duration_s": len(camera["frames"]) / camera["fps"],
                 "creation_time_utc": start}
        detections, times = detections_from_coco(flight / "annotations" / "instances_test.json")
        ground = float(camera["origin"].get("ground_alt_m", 10.0))
        gpx = read_telemetry(flight / "flight.gpx")
        maps = {"SRT": build_damage_map_from(detections, times, read_telemetry(flight / "flight.SRT"), video=video),
                "GPX": build_damage_map_from(detections, times, gpx, video=video, ground_elevation_m=ground),
                "GPX+cam": build_damage_map_from(detections, times, gpx, video=video, ground_elevation_m=ground,
                                                 **true_camera(camera))}
        given = true_camera(camera)
        turns = hover_turns_from_video(flight / "flight.mp4", gpx, pitch_deg=given["default_pitch_deg"],
                                       hfov_deg=given["hfov_deg"])
        maps["+turns"] = build_damage_map_from(detections, times, gpx, video=video, ground_elevation_m=ground,
                                               hover_turns=turns, **given)
        read = georeference_from_video(flight / "flight.mp4", gpx, ProjectSettings(ground_elevation_m=ground),
                                       camera=True).settings
        maps["GPX+auto"] = build_damage_map_from(
            detections, times, gpx, video=video, **settings_arguments(dataclasses.replace(read, hover_turns=())))
        maps["+turns "] = build_damage_map_from(detections, times, gpx, video=video, **settings_arguments(read))
        for source, damage_map in maps.items():
            every, shown = nearest_part_m(damage_map.with_unconfirmed(), flight), nearest_part_m(damage_map, flight)
            pooled[source][0] += every
            pooled[source][1] += shown
            unplaced = len(getattr(damage_map.frame_poses, "hovering", ()))
            print(_row(seed, source, every, shown) + f"  {unplaced:>8}")
    for source, (every, shown) in pooled.items():
        print(_row("all", source, every, shown))
    print(f"flights under {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
