"""``damagemap export PROJECT --to DIR``: the project's damage map as GeoJSON, GeoPackage,
KML, CSV and an offline HTML map."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", type=Path, help="project file")
    parser.add_argument("--to", dest="out_dir", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument("--run", type=int, default=None, metavar="N", help="analysis run (default: the latest)")
    parser.add_argument("--offset", type=float, default=None, metavar="S",
                        help="seconds added to telemetry times after alignment (default: the project's setting)")
    parser.add_argument("--hfov", default=None, metavar="DEG",
                        help="horizontal field of view in degrees, or a preset such as mavic-2-pro")
    parser.add_argument("--telemetry", type=Path, default=None, metavar="FILE",
                        help="telemetry to use instead of the project's")
    parser.add_argument("--ground-elevation", type=float, default=None, metavar="M",
                        help="elevation (m) of the ground, for telemetry with absolute altitude only (GPX) "
                             "that does not start at take-off")
    parser.add_argument("--min-score", type=float, default=0.5, metavar="P",
                        help="leave out unreviewed detections scoring below P (default 0.5)")
    parser.add_argument("--formats", default=None, metavar="LIST",
                        help="comma-separated: sites,observations,track,heatmap,geojson,gpkg,kml,csv,html (default all)")
    parser.add_argument("--no-thumbnails", action="store_true", help="no frame thumbnails in the HTML popups")


def _video_info(store, run_id: int) -> dict:
    """The video's geometry from the file; from the stored masks if it is gone."""
    from core.errors import StoreError, VideoError

    video = store.video_path
    try:
        from engine.video import probe_video

        return probe_video(video).as_dict()
    except VideoError as exc:
        detections = [d for d in store.detections(run_id) if d.mask is not None]
        frames = store.analysed_frames(run_id)
        if not detections or not frames:
            raise StoreError(f"{store.path}: cannot read the project's video ({exc}) and no stored frame gives its size") from None
        print(f"warning: {exc}; using the stored frame size and no creation time")
        mask = detections[0].mask
        return {"width_px": mask.width_px, "height_px": mask.height_px, "duration_s": max(frames.values()) + 1.0,
                "creation_time_utc": None}


def run(args: argparse.Namespace) -> int:
    from core.errors import ExportError, GeoreferenceError
    from core.store import ProjectStore
    from core.types import DamageLevel
    from geo.export import export_map
    from geo.mapping import build_damage_map
    from geo.telemetry import read_telemetry

    formats = None if args.formats is None else [f for f in args.formats.split(",") if f.strip()]
    hfov = args.hfov
    if hfov is not None:
        try:
            hfov = float(hfov)
        except ValueError:
            pass  # a preset name; geo.camera checks it
    with ProjectStore.open(args.project) as store:
        run_id = args.run if args.run is not None else store.latest_run_id()
        if run_id is None:
            raise GeoreferenceError(f"{args.project}: the project has no analysis run yet; run 'damagemap analyze' first")
        if run_id not in {r.id for r in store.runs()}:
            raise GeoreferenceError(f"{args.project}: no run {run_id}; runs: {', '.join(str(r.id) for r in store.runs())}")
        track = read_telemetry(args.telemetry) if args.telemetry else None
        info = _video_info(store, run_id)
        damage_map = build_damage_map(store, run_id, video_info=info, hfov_deg=hfov, offset_s=args.offset,
                                      track=track, min_score=args.min_score,
                                      ground_elevation_m=args.ground_elevation)
        thumbnail = None
        if not args.no_thumbnails and (formats is None or "html" in formats):
            from engine.thumbnails import jpeg_thumbnails

            thumbnail = jpeg_thumbnails(store.video_path, [site.best_frame for site in damage_map.sites]).get
        try:
            written = export_map(damage_map, args.out_dir, formats=formats, thumbnail=thumbnail)
        except ValueError as exc:
            raise ExportError(str(exc)) from None
    counts = damage_map.level_counts()
    print(f"{len(damage_map.sites)} damage sites: "
          + ", ".join(f"{counts[level]} {level.label.lower()}" for level in sorted(DamageLevel, reverse=True))
          + f" ({len(damage_map.observations)} observations, CRS {damage_map.crs})")
    for note in damage_map.notes:
        print(f"  note: {note}")
    for path in written:
        print(f"wrote {path}")
    return 0
