"""``damagemap export PROJECT --to DIR``: the project's damage map as GeoJSON, GeoPackage,
KML, CSV and an offline HTML map; ``--package``: the relief package (graded buildings,
coverage, print map, offline map, README) in one folder and zip.

Argument parsing over :func:`services.export.export_project`, which the app's export
calls too: the same project gives the same files from both. Flags that set a project
setting apply to this export only unless ``--save`` stores them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands import _georeferencing
from core.sites import counted

if TYPE_CHECKING:  # pragma: no cover
    from services.export import ExportRequest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", type=Path, help="project file (.dmproj)")
    parser.add_argument("--to", "--out", dest="out_dir", type=Path, default=None, metavar="DIR",
                        help="output folder; default: PROJECT_export beside the project (flight.dmproj -> "
                             "flight_export), as the app's Export dialog")
    parser.add_argument("--run", type=int, default=None, metavar="N", help="analysis run (default: the latest)")
    _georeferencing.add_arguments(parser, default="the project's setting")
    parser.add_argument("--dem", type=Path, default=None, metavar="FILE",
                        help="a GeoTIFF elevation model (DEM/DSM): damage placed on the terrain instead of the "
                             "take-off plane")
    parser.add_argument("--telemetry", type=Path, default=None, metavar="FILE",
                        help="telemetry to use instead of the project's (kept as the project's with --save)")
    parser.add_argument("--min-score", type=float, default=None, metavar="P",
                        help="leave out unreviewed detections scoring below P (default: the project's setting, "
                             "0.5 unless set)")
    parser.add_argument("--formats", default=None, metavar="LIST",
                        help="the files to write, comma-separated, e.g. gpkg,kmz: sites, observations, track, "
                             "heatmap (geojson: those four), gpkg, kml, kmz, csv, html (default: all; the PDF and "
                             "the graded buildings are in the relief package, --package)")
    parser.add_argument("--save", action="store_true",
                        help="store --telemetry, --offset, --hfov, --pitch, --ground-elevation, --flight-height and "
                             "--min-score in the project (and what 'auto' read), so the app and later exports use "
                             "them")
    parser.add_argument("--no-thumbnails", dest="thumbnails", action="store_false", default=None,
                        help="no pictures in the HTML maps' popups nor in the KMZ's balloons (faster; the relief "
                             "package's printed atlas keeps its close-ups)")
    parser.add_argument("--include-unconfirmed", action="store_true", default=None,
                        help="also write the sites detected in too few of the frames that showed them "
                             "(property confirmed false; marked unconfirmed in the HTML map and the KML; not in "
                             "the relief package)")
    package = parser.add_argument_group(
        "relief package", "--package writes it; the event, producer, footprints and basemap given here are stored "
                          "in the project and used by every later package (from here or the app); the footprints "
                          "and basemap once the export that uses them succeeded")
    package.add_argument("--package", action="store_true",
                         help="write the relief package (with --formats, the map files too)")
    package.add_argument("--event", default=None, metavar="NAME", help='event name, e.g. "Hurricane Michael"')
    package.add_argument("--glide", default=None, metavar="ID", help="GLIDE number, e.g. TC-2018-000166-USA")
    package.add_argument("--analyst", default=None, metavar="NAME", help="who made the analysis")
    package.add_argument("--organisation", "--organization", default=None, metavar="NAME",
                         help="the producing organisation")
    package.add_argument("--contact", default=None, metavar="TEXT",
                         help='how a field team reaches the producer: phone, e-mail, radio channel, e.g. '
                              '"+33 6 12 34 56 78, maps@example.org, VHF channel 5"')
    package.add_argument("--area", default=None, metavar="CODE", help="area of interest code (default AOI01)")
    package.add_argument("--product-version", type=int, default=None, metavar="N", help="product version, 1-99")
    package.add_argument("--footprints", default=None, metavar="FILE",
                         help="building footprints: GeoJSON, GeoPackage, Shapefile or OpenStreetMap .osm.pbf "
                              "(an empty string removes them)")
    package.add_argument("--basemap", default=None, metavar="FILE",
                         help="offline basemap: GeoTIFF orthophoto or MBTiles (an empty string removes it)")
    training = parser.add_argument_group("training data", "the reviewed frames, for damagemap train or finetune")
    training.add_argument("--training", action="store_true",
                          help="write the run's reviewed frames as an ISBDA/COCO data set in DIR/training "
                               "(annotations + images), as the app's Export dialog does (with --formats, the map "
                               "files too)")
    training.add_argument("--include-pending", action="store_true",
                          help="with --training, label the detections still pending review too")


def check_arguments(args: argparse.Namespace) -> tuple[str, ...] | None:
    """Refuse flag values that cannot be right, naming the flag, before any work; the
    formats asked for (``None``: all). The settings check their own ranges too."""
    from app.commands import _flags
    from core.errors import InputError
    from geo.export import resolve_formats

    from app.commands._paths import refuse_folder

    refuse_folder(args.project, "the project file (.dmproj)")
    _georeferencing.check(args)
    _flags.fraction("--min-score", args.min_score)
    _flags.between("--product-version", args.product_version, 1, 99)
    _flags.at_least("--run", args.run)
    if getattr(args, "include_pending", False) and not getattr(args, "training", False):
        raise InputError("--include-pending labels the training data: give it with --training")
    if args.formats is None:
        return () if getattr(args, "package", False) or getattr(args, "training", False) else None
    formats = tuple(f for f in args.formats.split(",") if f.strip())
    if not formats:
        raise InputError(f"--formats: expected a comma-separated list of formats; got {args.formats!r}")
    resolve_formats(formats)  # an unknown format is refused before the map is built
    return formats


def export_request(args: argparse.Namespace, formats: tuple[str, ...] | None) -> ExportRequest:
    """What the flags ask to write into ``args.out_dir``; what they leave unsaid is
    :class:`services.export.ExportRequest`'s default, as the app's Export dialog opens on."""
    from services.export import ExportRequest

    given = {"thumbnails": args.thumbnails, "include_unconfirmed": args.include_unconfirmed,
             "package": args.package or None, "coco": args.training or None,
             "coco_include_pending": args.include_pending or None}
    return ExportRequest(args.out_dir, formats=formats, **{key: value for key, value in given.items()
                                                           if value is not None})


def _product_changes(args: argparse.Namespace) -> dict[str, str | None]:
    """The event and producer given on the command line (``None``: not given)."""
    return {"event": args.event, "glide": args.glide, "analyst": args.analyst,
            "organisation": args.organisation, "contact": args.contact, "area": args.area,
            "version": args.product_version}


def _no_training_data(args: argparse.Namespace, run_id: int, reviewed: dict[int, int]) -> str:
    """Why ``--training`` wrote nothing, and what would: the runs whose frames are
    reviewed (a re-analysis is a new run; the reviews stay on the run they were made on),
    else where to review."""
    from services.export import reviewed_elsewhere_text

    which = f"run {run_id}" + (" (the latest)" if args.run is None else "")
    if len(reviewed) == 1:
        return f"{reviewed_elsewhere_text(which, reviewed)}: export them with --run {next(iter(reviewed))}"
    if reviewed:
        return (f"{reviewed_elsewhere_text(which, reviewed)}: export those of one with --run N "
                f"(e.g. --run {max(reviewed)})")
    from core.survey import survey_of_project

    survey = survey_of_project(args.project)
    where = "in the app" + (f", or with damagemap survey decide {survey.folder}" if survey is not None else "")
    return f"no frame of this run is reviewed yet (review its sites {where}, then export again)"


def run(args: argparse.Namespace) -> int:
    from core.store import ProjectStore
    from core.types import DamageLevel
    from services.export import export_project, reviewed_frame_counts
    from services.package import trying_product_info, trying_product_sources

    formats = check_arguments(args)
    chosen_folder = args.out_dir is None
    if chosen_folder:
        from services.project import default_export_dir

        args.out_dir = default_export_dir(args.project)
    from app.commands._paths import refuse_overlong_name

    refuse_overlong_name(Path(args.out_dir), "--to" if not chosen_folder else "the export folder")
    request = export_request(args, formats)
    product_changes = _product_changes(args)
    with ProjectStore.open(args.project) as store, \
            trying_product_sources(store, footprints=args.footprints, basemap=args.basemap), \
            trying_product_info(store, **product_changes):
        if chosen_folder:  # said once the project opened: a refusal is the only line otherwise
            print(f"exporting to {args.out_dir} (beside the project; --to names another folder)")
        # (a footprints or basemap file, an event or producer given here is checked first,
        # used by this export, and stored only once the export succeeded)
        changes = {} if args.min_score is None else {"min_score": args.min_score}
        settings = _georeferencing.settings_with_flags(store, args, **changes)
        settings, camera_view = _georeferencing.read_from_video(store, args, settings, telemetry=args.telemetry)
        result = export_project(store, request, run_id=args.run, settings=settings, telemetry_path=args.telemetry,
                                dem_path=args.dem, camera_view=camera_view)
        runs = [r.id for r in store.runs()]
        training_elsewhere = ({} if result.training is None or result.training.image_count
                              else {run: count for run, count in reviewed_frame_counts(store).items() if count})
        read_only = store.read_only
        floor = float(store.run(result.run_id).settings.get("score_threshold") or 0.0)
        unsaved = not args.save and (settings != store.project_settings() or args.telemetry is not None)
        if args.save:
            store.set_project_settings(settings)
            if args.telemetry is not None:  # the log this export was placed with: the project's from now
                store.set_telemetry(Path(args.telemetry).absolute())
    damage_map = result.damage_map
    if damage_map is not None:
        counts = damage_map.level_counts()
        print(f"{len(damage_map.sites)} damage sites: "
              + ", ".join(f"{counts[level]} {level.label.lower()}" for level in sorted(DamageLevel, reverse=True))
              # the files are in WGS84 whatever the map was placed in: a bare "CRS EPSG:326xx" read as theirs
              + f" ({len(damage_map.observations)} observations; placed in {damage_map.crs}, the files in WGS84 "
                "lon/lat, EPSG:4326)")
    if len(runs) > 1:  # the window may show another (Analysis > Show Run): say which this is
        print(f"  from run {result.run_id} of {len(runs)}" + (" (the latest; --run N exports another)" if args.run is None
                                                      else " (--run)"))
    for note in damage_map.notes if damage_map is not None else ():
        print(f"  note: {note}")
    if args.min_score is not None and args.min_score < floor - 1e-9:
        print(f"  note: --min-score {args.min_score:g} is below {floor:g}, the score the analysis kept detections "
              f"from: nothing lower was stored, so this is the map at {floor:g} (analyze --score-threshold keeps "
              "lower scores)")
    if result.training is not None:
        training = result.training
        if training.image_count:
            print(f"training data: {counted(training.image_count, 'reviewed frame')}, "
                  f"{counted(training.annotation_count, 'annotation')} (ISBDA/COCO) in "
                  f"{training.annotations_path.parent.parent}")
        else:
            print(f"training data: none: {_no_training_data(args, result.run_id, training_elsewhere)}")
    if result.package is not None:
        print(f"relief package {result.package.name}: {result.package.folder} and {result.package.zip_path}")
        for note in result.package.notes:
            print(f"  note: {note}")
        if result.package.replaced_utc is not None:
            version = result.package.version
            update = (f"give this update the next version (--product-version {version + 1}, kept for later packages)"
                      if version < 99 else "give this update another area code (--area; version 99 is the last)")
            print(f"  note: replaced {result.package.name}, written {result.package.replaced_utc}: if that one was "
                  f"sent on, {update} so that two products do not go out under one name")
        if args.include_unconfirmed:
            print("  note: the relief package holds the confirmed sites only (--include-unconfirmed wrote the "
                  "unconfirmed ones into the other files)")
    for path in result.written:
        print(f"wrote {path}")
    values = [(flag, value) for flag, value in (("--footprints", args.footprints), ("--basemap", args.basemap),
                                                *((f"--{'product-version' if name == 'version' else name}", value)
                                                  for name, value in product_changes.items()))
              if value is not None]
    given = [flag for flag, _ in values]
    if read_only and given:
        print(f"the project is read-only: {', '.join(given)} made this export only; the project keeps its own")
    elif given:
        kept, cleared = [flag for flag, value in values if value != ""], [flag for flag, value in values if value == ""]
        if kept:
            print(f"kept {', '.join(kept)} in {args.project}: later exports and relief packages, here and in the "
                  "app, use them")
        if cleared:
            print(f"cleared {', '.join(cleared)} in {args.project}")
    if args.save:
        print(f"saved the settings in {args.project}")
    elif unsaved:
        print("the settings given here made this export only; the project keeps its own (add --save to keep "
              "them for the app and later exports)")
    return 0
