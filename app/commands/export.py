"""``damagemap export PROJECT --to DIR``: the project's damage map as GeoJSON, GeoPackage,
KML, CSV and an offline HTML map; ``--package``: the relief package (graded buildings,
coverage, print map, offline map, README) in one folder and zip.

Argument parsing over :func:`services.export.export_project`, which the app's export
calls too: the same project gives the same files from both. Flags that set a project
setting apply to this export only unless ``--save`` stores them.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def _number_or_auto(text: str, unit: str) -> float | str:
    """An option's value: ``"auto"`` (any case), or a number of ``unit``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {unit} or 'auto'; got {text!r}") from None


def _offset(text: str) -> float | str:
    return _number_or_auto(text, "seconds")


def _ground_elevation(text: str) -> float | str:
    return _number_or_auto(text, "metres")


def _flight_height(text: str) -> float | str:
    value = _ground_elevation(text)
    if value != "auto" and not (isinstance(value, float) and math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected metres above the ground (> 0) or 'auto'; got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", type=Path, help="project file")
    parser.add_argument("--to", "--out", dest="out_dir", type=Path, default=None, metavar="DIR",
                        help="output folder; default: PROJECT_export beside the project (flight.dmproj -> "
                             "flight_export), as the app's Export dialog")
    parser.add_argument("--run", type=int, default=None, metavar="N", help="analysis run (default: the latest)")
    parser.add_argument("--offset", type=_offset, default=None, metavar="S",
                        help="seconds added to telemetry times after alignment, or 'auto' to estimate them from "
                             "the video's motion (default: the project's setting)")
    parser.add_argument("--camera", choices=["auto"], default=None,
                        help="auto: for telemetry without gimbal pitch (GPX), read the camera's pitch, heading "
                             "offset and (unless --hfov) field of view from the video's motion")
    parser.add_argument("--pitch", type=float, default=None, metavar="DEG",
                        help="the camera's pitch in degrees (-90 straight down, -30 for a shallow oblique view), "
                             "for telemetry without gimbal pitch (GPX, DJI Mini SRTs); default: the project's "
                             "setting, else -45 assumed")
    parser.add_argument("--dem", type=Path, default=None, metavar="FILE",
                        help="a GeoTIFF elevation model (DEM/DSM): damage placed on the terrain instead of the "
                             "take-off plane")
    parser.add_argument("--hfov", default=None, metavar="DEG",
                        help="horizontal field of view in degrees, or a preset such as mavic-2-pro "
                             "(default: the project's setting)")
    parser.add_argument("--telemetry", type=Path, default=None, metavar="FILE",
                        help="telemetry to use instead of the project's")
    parser.add_argument("--ground-elevation", type=_ground_elevation, default=None, metavar="M",
                        help="elevation (m) of the ground, for telemetry with absolute altitude only (GPX, some "
                             "DJI SRTs) that does not start at take-off, or 'auto' to read the drone's height from "
                             "the video's motion (default: the project's setting)")
    parser.add_argument("--flight-height", type=_flight_height, default=None, metavar="M",
                        help="the drone's height (m) above the ground, taken as constant, for telemetry with no "
                             "altitude at all (some Mavic 2 SRTs), or 'auto' to read it from the video's motion "
                             "(default: the project's setting)")
    parser.add_argument("--min-score", type=float, default=None, metavar="P",
                        help="leave out unreviewed detections scoring below P (default: the project's setting, "
                             "0.5 unless set)")
    parser.add_argument("--formats", default=None, metavar="LIST",
                        help="comma-separated: sites,observations,track,heatmap,geojson,gpkg,kml,csv,html (default all)")
    parser.add_argument("--save", action="store_true",
                        help="store --offset, --hfov, --pitch, --ground-elevation, --flight-height and --min-score "
                             "in the project (and what 'auto' read), so the app and later exports use them")
    parser.add_argument("--no-thumbnails", action="store_true", help="no frame thumbnails in the HTML popups")
    parser.add_argument("--include-unconfirmed", action="store_true",
                        help="also write the sites detected in too few of the frames that showed them "
                             "(property confirmed false)")
    package = parser.add_argument_group(
        "relief package", "--package writes it; the event, producer, footprints and basemap given here are stored "
                          "in the project and used by every later package (from here or the app)")
    package.add_argument("--package", action="store_true",
                         help="write the relief package (with --formats, the map files too)")
    package.add_argument("--event", default=None, metavar="NAME", help='event name, e.g. "Hurricane Michael"')
    package.add_argument("--glide", default=None, metavar="ID", help="GLIDE number, e.g. TC-2018-000166-USA")
    package.add_argument("--analyst", default=None, metavar="NAME", help="who made the analysis")
    package.add_argument("--organisation", "--organization", default=None, metavar="NAME",
                         help="the producing organisation")
    package.add_argument("--area", default=None, metavar="CODE", help="area of interest code (default AOI01)")
    package.add_argument("--product-version", type=int, default=None, metavar="N", help="product version, 1-99")
    package.add_argument("--footprints", default=None, metavar="FILE",
                         help="building footprints: GeoJSON, GeoPackage, Shapefile or OpenStreetMap .osm.pbf "
                              "(an empty string removes them)")
    package.add_argument("--basemap", default=None, metavar="FILE",
                         help="offline basemap: GeoTIFF orthophoto or MBTiles (an empty string removes it)")


def check_arguments(args: argparse.Namespace) -> tuple[str, ...] | None:
    """Refuse flag values that cannot be right, naming the flag, before any work; the
    formats asked for (``None``: all). The settings check their own ranges too."""
    from app.commands import _flags
    from core.errors import InputError
    from geo.export import resolve_formats

    from app.commands._paths import refuse_folder

    refuse_folder(args.project, "the project file (.dmproj)")
    _flags.finite("--offset", None if args.offset == "auto" else args.offset)
    _flags.finite("--ground-elevation", None if args.ground_elevation == "auto" else args.ground_elevation)
    _flags.fraction("--min-score", args.min_score)
    _flags.between("--pitch", args.pitch, -90, 0, "degrees (negative below the horizon)")
    if args.pitch is not None and args.camera == "auto":
        raise InputError("--pitch and --camera auto both set the camera's pitch; give one")
    _flags.between("--hfov", _hfov_degrees(args.hfov), 1, 170, "degrees", inclusive=False)  # as geo.camera
    _flags.between("--product-version", args.product_version, 1, 99)
    _flags.at_least("--run", args.run)
    if args.formats is None:
        return () if getattr(args, "package", False) else None
    formats = tuple(f for f in args.formats.split(",") if f.strip())
    if not formats:
        raise InputError(f"--formats: expected a comma-separated list of formats; got {args.formats!r}")
    resolve_formats(formats)  # an unknown format is refused before the map is built
    return formats


def _hfov_degrees(text: str | None) -> float | None:
    """``--hfov`` as degrees; ``None`` when not given or a preset name (checked by name later)."""
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def _settings(store, args: argparse.Namespace):  # noqa: ANN001, ANN202 - ProjectStore -> ProjectSettings
    """The project's settings with the flags given on the command line in their place."""
    from dataclasses import replace

    from core.errors import InputError

    changes: dict[str, object] = {}
    if args.offset is not None:
        changes["time_offset_s"] = args.offset
        changes["time_offset_sigma_s"] = None  # typed: its uncertainty is not known
    if args.hfov is not None:
        try:
            changes["hfov_deg"] = float(args.hfov)
        except ValueError:
            changes["hfov_deg"] = args.hfov  # a preset name; geo.camera checks it
    if args.ground_elevation is not None and args.ground_elevation != "auto":
        changes["ground_elevation_m"] = args.ground_elevation
        changes["ground_elevation_sigma_m"] = None  # typed: its uncertainty is not known
    if args.flight_height is not None and args.flight_height != "auto":
        changes["flight_height_m"] = args.flight_height
        changes["flight_height_sigma_m"] = None
    if args.min_score is not None:
        changes["min_score"] = args.min_score
    if args.pitch is not None:
        changes["camera_pitch_deg"] = args.pitch
        changes["camera_pitch_sigma_deg"] = None  # typed: counts as a reading
    try:
        return replace(store.project_settings(), **changes)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _store_package_options(store, args: argparse.Namespace) -> None:  # noqa: ANN001 - ProjectStore
    """Store the event, producer, footprints and basemap given on the command line."""
    from services.package import set_product_sources, update_product_info

    changes = {"event": args.event, "glide": args.glide, "analyst": args.analyst,
               "organisation": args.organisation, "area": args.area, "version": args.product_version}
    if any(v is not None for v in changes.values()):
        update_product_info(store, **changes)
    if args.footprints is not None or args.basemap is not None:
        set_product_sources(store, footprints=args.footprints, basemap=args.basemap)


def _auto_offset(store, telemetry: Path | None):  # noqa: ANN001, ANN202 - ProjectStore -> OffsetEstimate
    """``--offset auto``: the offset the video's motion gives (services.sync), printed."""
    from core.errors import TelemetryError
    from geo.telemetry import read_telemetry
    from services.sync import estimate_clock_offset

    path = telemetry if telemetry is not None else store.telemetry_path
    if path is None:
        raise TelemetryError(f"{store.path}: --offset auto needs telemetry; the project has none")
    estimate = estimate_clock_offset(Path(store.video_path), read_telemetry(Path(path)))
    for label, text in estimate.describe():
        print(f"  {label}: {text}")
    return estimate


def _from_video_motion(store, args: argparse.Namespace, settings):  # noqa: ANN001, ANN202 - ProjectStore, ProjectSettings
    """``--camera auto``, ``--ground-elevation auto`` and ``--flight-height auto``: what the
    video's motion says (:func:`services.sync.georeference_from_video`), printed;
    ``(view, settings)``."""
    from core.errors import TelemetryError
    from geo.telemetry import read_telemetry
    from services.sync import georeference_from_video

    asked = next(f"--{name} auto" for name, value in (("camera", args.camera), ("ground-elevation", args.ground_elevation),
                                                       ("flight-height", args.flight_height)) if value == "auto")
    path = args.telemetry if args.telemetry is not None else store.telemetry_path
    if path is None:
        raise TelemetryError(f"{store.path}: {asked} needs telemetry; the project has none")
    reading = georeference_from_video(Path(store.video_path), read_telemetry(Path(path)), settings,
                                      camera=args.camera == "auto", ground=args.ground_elevation == "auto",
                                      flown=args.flight_height == "auto")
    for line in reading.lines:
        print(f"  {line}")
    return reading.view, reading.settings  # the view's spreads enter the sites' error budget


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from core.store import ProjectStore
    from core.types import DamageLevel
    from services.export import ExportRequest, export_project

    formats = check_arguments(args)
    if args.out_dir is None:
        from services.project import default_export_dir

        args.out_dir = default_export_dir(args.project)
        print(f"exporting to {args.out_dir} (beside the project; --to names another folder)")
    request = ExportRequest(args.out_dir, formats=formats, thumbnails=not args.no_thumbnails, package=args.package,
                            include_unconfirmed=args.include_unconfirmed)
    with ProjectStore.open(args.project) as store:
        estimate = None
        if args.offset == "auto":
            estimate = _auto_offset(store, args.telemetry)
            args.offset = estimate.offset_s
        settings = _settings(store, args)
        if estimate is not None:  # how sure the offset is enters the sites' uncertainty
            settings = replace(settings, time_offset_sigma_s=round(estimate.uncertainty_s, 3))
        camera_view = None
        if "auto" in (args.camera, args.ground_elevation, args.flight_height):
            camera_view, settings = _from_video_motion(store, args, settings)
        _store_package_options(store, args)
        result = export_project(store, request, run_id=args.run, settings=settings, telemetry_path=args.telemetry,
                                dem_path=args.dem, camera_view=camera_view)
        unsaved = not args.save and settings != store.project_settings()
        if args.save:
            store.set_project_settings(settings)
    damage_map = result.damage_map
    assert damage_map is not None  # every export from here writes map files
    counts = damage_map.level_counts()
    print(f"{len(damage_map.sites)} damage sites: "
          + ", ".join(f"{counts[level]} {level.label.lower()}" for level in sorted(DamageLevel, reverse=True))
          + f" ({len(damage_map.observations)} observations, CRS {damage_map.crs})")
    for note in damage_map.notes:
        print(f"  note: {note}")
    if result.package is not None:
        print(f"relief package {result.package.name}: {result.package.folder} and {result.package.zip_path}")
    for path in result.written:
        print(f"wrote {path}")
    if args.save:
        print(f"saved the settings in {args.project}")
    elif unsaved:
        print("the settings given here made this export only; the project keeps its own (add --save to keep "
              "them for the app and later exports)")
    return 0
