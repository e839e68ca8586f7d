"""A survey's files: its sites and each flight's coverage as GeoJSON, GeoPackage and CSV,
its offline map (:mod:`geo.export.survey_html`) and its print map with a site atlas
(:mod:`geo.export.survey_print`).

Written as a flight's exports are: each file whole or not at all (a temporary file beside
it, renamed), what a killed export left behind cleared first, and CSV text that a
spreadsheet would run as a formula (a flight named ``=HYPERLINK(...)``) quoted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ExportError
from core.text import isolated, without_bidi_controls
from geo.export._atomic import (
    atomic_path,
    ensure_dir,
    remove_abandoned_temp_files,
    write_bytes_atomic,
    write_text_atomic,
)
from geo.export.labels import AREA_FILMED, EMS_GRADE as EMS_GRADE_LABEL, REVIEWED, SIGHTINGS, UNCERTAINTY, heading
from geo.export.records import Record, best_score, counted
from geo.export.vector import (
    KML_ICON,
    KMZ_ICON,
    kml_document,
    kmz_bytes,
    kml_site_attributes,
    kmz_closeup,
    polygon_outlines,
    spreadsheet_safe,
    track_names,
    utf8_frame,
    write_csv_text,
    write_geojson,
    write_gpkg_layer,
)
from geo.export.survey_html import FlightCloseup, survey_credits
from geo.footprints import is_missing
from geo.export.survey_records import SURVEY_SITE_KML_SCHEMA, SURVEY_SITE_SCHEMA, survey_site_records
from geo.survey_fusion import SurveyMap, coverage_layer, coverage_polygon

#: file names by format (``geojson`` writes two)
SURVEY_FILES = {
    "geojson": ("survey_sites.geojson", "survey_coverage.geojson"),
    "gpkg": ("survey.gpkg",),
    "csv": ("survey_sites.csv",),
    "kml": ("survey_sites.kml",),
    "kmz": ("survey_sites.kmz",),
    "html": ("survey_map.html",),
    "print": ("survey_map.png", "survey_map.pdf"),
    "buildings": ("survey_buildings.geojson",),
    "readme": ("survey_README.txt",),
    "zip": ("survey_package.zip",),
}

#: Decimals of a longitude or latitude in the GeoJSON and CSV (about a millimetre), as a
#: flight's files write them (:mod:`geo.export.records`): one join on position serves both.
COORDINATE_DECIMALS = 8


def write_survey_files(built: SurveyMap, out_dir: Path, formats: Sequence[str], *,
                       title: str = "Damage survey", closeup: FlightCloseup | None = None,
                       provenance: Mapping[str, Any] | None = None, grading=None,  # noqa: ANN001
                       basemap_html=None, basemap_print=None,  # noqa: ANN001 - geo.basemap.Basemap
                       info=None) -> list[Path]:  # noqa: ANN001 - geo.export.products.ProductInfo
    """Write ``formats`` (keys of :data:`SURVEY_FILES`) into ``out_dir``; the files written
    (``closeup``: the map's pictures, see :func:`geo.export.survey_html.render_survey_html`;
    ``provenance``: what the README says of the flights and the software, see
    :func:`readme_text`; ``grading``: the building footprints graded from the sites,
    :func:`geo.survey_grading.grade_survey`, for ``buildings``, the GeoPackage's
    ``buildings`` layer and the print map; without it no ``buildings`` file is written;
    ``basemap_html`` / ``basemap_print``: the basemap in Web Mercator for the offline map and
    in the survey's UTM zone for the print map; ``info``: the event, the producer and how to
    reach them, for the maps and the README). Every file carries one title, ``title`` with the
    event (:func:`geo.export.products.survey_map_title`).

    Raises
    ------
    ExportError
        Naming the folder or file that could not be written; no partial file is left.
    """
    from geo.export.products import survey_map_title

    title = survey_map_title(title, info)  # one title for every file, as a flight's package has
    out = ensure_dir(Path(out_dir))
    remove_abandoned_temp_files(out, [out / name for names in SURVEY_FILES.values() for name in names])
    sites = survey_site_records(built)  # a flight's site columns, named and typed as its files write them
    coverage = utf8_frame(coverage_layer(built))  # GDAL takes UTF-8 text only
    building_records = _building_records(built, grading) if grading is not None else None
    credits = survey_credits(built, provenance, info=info, grading=grading, basemap=basemap_html)
    written: list[Path] = []
    try:
        if "geojson" in formats:
            written.append(_write_geojson(out / "survey_sites.geojson", _dates_listed(sites)))
            written.append(_write_geojson(out / "survey_coverage.geojson", _frame_records(coverage)))
        if "gpkg" in formats:
            with atomic_path(out / "survey.gpkg") as temp:
                write_gpkg_layer(temp, "sites", sites, append=False, schema=SURVEY_SITE_SCHEMA)  # typed as a flight's
                coverage.to_file(temp, layer="coverage", driver="GPKG")
                if building_records is not None:  # typed as a flight's graded_buildings
                    write_gpkg_layer(temp, "buildings", building_records, append=True)
            written.append(out / "survey.gpkg")
        if "buildings" in formats and building_records is not None:
            written.append(_write_geojson(out / "survey_buildings.geojson", building_records))
        elif "buildings" in formats:
            # an earlier export's grades (given footprints then, none now): not left beside sites they
            # were not graded from, for a team handed the folder to read as this export's
            (out / "survey_buildings.geojson").unlink(missing_ok=True)
        if "csv" in formats:
            written.append(write_csv_text(out / "survey_sites.csv", _csv_text(sites)))
        if "kml" in formats:
            written.append(write_text_atomic(out / "survey_sites.kml", _survey_kml(built, sites, title)))
        if "kmz" in formats:
            images, pictures = _kmz_closeups(built, closeup) if closeup is not None else ({}, {})
            document = _survey_kml(built, sites, title, icon=KMZ_ICON, images=images)
            written.append(write_bytes_atomic(out / "survey_sites.kmz", kmz_bytes(document, pictures)))
        if "html" in formats:
            from geo.export.survey_html import write_survey_html

            written.append(write_survey_html(out / "survey_map.html", built, title=title, closeup=closeup,
                                             grading=grading, basemap=basemap_html, credits=credits, info=info))
        if "print" in formats:
            from geo.export.survey_print import write_survey_print

            written += write_survey_print(out / "survey_map.png", out / "survey_map.pdf", built, title=title,
                                          closeup=closeup, provenance=provenance, grading=grading,
                                          basemap=basemap_print, info=info, notes=built.notes)  # and the README
        if "readme" in formats:
            names = [p.name for p in written] + (["survey_package.zip"] if "zip" in formats else [])
            written.append(write_text_atomic(out / "survey_README.txt",
                                             readme_text(built, title=title, files=names, provenance=provenance or {},
                                                         grading=grading, info=info, credits=credits)))
        if "zip" in formats:  # one file to send: every other file of this export
            import zipfile

            with atomic_path(out / "survey_package.zip") as temp, zipfile.ZipFile(
                    temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for path in written:
                    archive.write(path, path.name)
            written.append(out / "survey_package.zip")
    except ExportError as exc:  # a full disk: which files are this export's, which an earlier one's
        from geo.export import partly_written

        names = [name for files in SURVEY_FILES.values() for name in files]
        raise ExportError(f"{exc}{partly_written(out, written, names)}") from None
    return written


def _rfc7946_geometry(geometry):  # noqa: ANN001, ANN202 - a shapely geometry or None, and the same
    """``geometry`` as RFC 7946 wants it and a flight's files write it: coordinates to
    :data:`COORDINATE_DECIMALS` decimals, exterior rings counter-clockwise."""
    import shapely
    from shapely.geometry import MultiPolygon
    from shapely.geometry.polygon import orient

    if geometry is None:
        return None
    geometry = shapely.transform(geometry, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    if geometry.geom_type == "Polygon":
        return orient(geometry, 1.0)
    if geometry.geom_type == "MultiPolygon":
        return MultiPolygon([orient(part, 1.0) for part in geometry.geoms])
    return geometry


def _frame_records(frame) -> list[Record]:  # noqa: ANN001 - a GeoDataFrame
    """``frame``'s rows as records (:mod:`geo.export.records`), its columns in order, an
    empty cell as None."""
    rows = frame.drop(columns="geometry").to_dict("records")
    return [({key: None if is_missing(value) else value for key, value in row.items()}, geometry)
            for row, geometry in zip(rows, frame.geometry)]


def _csv_text(sites: list[Record]) -> str:
    """The sites as a flight's ``damage_sites.csv`` writes its own: every column but
    ``colour``, with ``lon`` and ``lat`` (:data:`COORDINATE_DECIMALS`) after ``level``."""
    columns = [name for name in SURVEY_SITE_SCHEMA[0] if name != "colour"]
    columns[2:2] = ["lon", "lat"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for props, point in sites:
        row = dict(props, lon=round(point.x, COORDINATE_DECIMALS), lat=round(point.y, COORDINATE_DECIMALS))
        writer.writerow([spreadsheet_safe(row[name]) for name in columns])
    return buffer.getvalue()


def _dates_listed(records: list[Record]) -> list[Record]:
    """The sites' ``dates`` as a list (GDAL and so QGIS read a list of strings): as one
    text starting with a date, GDAL typed the field a date and kept the first one only."""
    return [({**props, "dates": [d for d in (props.get("dates") or "").split(",") if d]}, geometry)
            for props, geometry in records]


def _plain(value: object) -> object:
    """A numpy number as Python's (JSON writes Python's only); anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def _write_geojson(path: Path, records: list[Record]) -> Path:
    """``records`` as a flight's GeoJSON files are written (:func:`geo.export.vector.write_geojson`):
    RFC 7946 (:func:`_rfc7946_geometry`), the layer (the collection's ``name``, which GDAL
    and so QGIS show) named after the file, the same bytes for the same survey. A feature
    with no geometry (a flight whose frames saw no ground) keeps its null geometry."""
    return write_geojson(path, [({key: _plain(value) for key, value in props.items()}, _rfc7946_geometry(geometry))
                                for props, geometry in records], name=path.stem)


def _building_records(built: SurveyMap, grading) -> list[Record]:  # noqa: ANN001 - geo.grading.Grading
    """The graded footprints with their grade in every vocabulary and their evidence (the
    relief package's ``graded_buildings`` fields), the flight of the best frame and the
    flights that saw damage on each."""
    from geo.export.products import graded_building_records
    from geo.export.records import iso_time

    maps = {flight.name: flight.damage_map for flight in built.flights}

    def best_time(b):  # noqa: ANN001, ANN202
        flight = maps.get(b.best_flight)
        return iso_time(flight, b.best_time_s) if flight is not None and b.best_time_s is not None else None

    records = graded_building_records(None, grading, best_time=best_time)
    return [({**props, "best_flight": b.best_flight, "flights": ",".join(b.flights) or None}, polygon)
            for (props, polygon), b in zip(records, grading.buildings)]


#: what each file of a survey's export is, for its README
_FILE_TEXT = {
    "survey_sites.geojson": "the sites, WGS84 (EPSG:4326): level, confidence, flights and dates, reviewed, "
                            "position uncertainty, each flight's evidence",
    "survey_coverage.geojson": "the ground each flight's analysed frames saw, a polygon per flight",
    "survey.gpkg": "GeoPackage with the layers sites and coverage",
    "survey_sites.csv": "the sites as a table, one row each, with lon / lat",
    "survey_sites.kml": "the sites by level, every flight's track and area filmed, for Google Earth",
    "survey_sites.kmz": "the same with its icon inside and each flight's close-up of a site in its balloon, for a "
                        "phone or Google Earth with no network",
    "survey_buildings.geojson": "the building footprints graded from the sites: Copernicus EMS grade, xBD, OSM and "
                                "HOT tags, the sites on each, how every flight saw it",
    "survey_package.zip": "every other file of this export in one, to send",
    "survey_map.html": "offline web map: every flight's track and ground seen, the sites with each flight's close-up",
    "survey_map.png": "the print map: one A4 landscape page (150 dpi) of the sites and every flight's track",
    "survey_map.pdf": "the print map as a vector PDF, then the site atlas: a card a site, most severe first, "
                      "with its close-up and a box to tick on the ground",
}


def readme_text(built: SurveyMap, *, title: str, files: Sequence[str], provenance: Mapping[str, Any],
                grading=None, info=None,  # noqa: ANN001 - geo.grading.Grading, ProductInfo
                credits: Sequence[str] | None = None) -> str:
    """The export's README: what it is (preliminary, to be checked on the ground), the
    flights it fuses and how each was analysed, the counts by level, the files, and the
    damage scale. ``provenance``: ``software``, ``produced`` (when, as text) and ``flights``
    (name -> ``drone``, ``video``, ``telemetry``, ``model``, ``frames``); ``credits``: as
    the print map gives them (default: :func:`geo.export.survey_html.survey_credits`)."""
    from geo.export.package import damage_scale_lines, words_lines
    from geo.grading import EMS_GRADE

    flights = provenance.get("flights") or {}
    coverage = {c.flight: c for c in built.coverage}
    lines = [
        title, "=" * len(without_bidi_controls(title)), "",
        "Building damage from drone video, several flights fused into one map: the same damage seen",
        "by several flights (days, drones) is one site, with every flight's evidence.",
        "PRELIMINARY analysis, not yet validated in the field. Levels come from an automatic analysis",
        "of oblique drone video, reviewed where a reviewer decided (the 'reviewed' attribute);",
        "check on the ground before acting on a single building, and send corrections back.",
    ]
    open_first = _open_first_lines(files, built, grading)
    lines += ["", *open_first] if open_first else []
    lines += ["", *_not_shown_lines(built, grading), "", *words_lines(SURVEY_WORDS, order=SURVEY_WORD_ORDER),
              "", *_contact_lines(built, info, provenance)]
    if info is not None:
        lines += ["", "Event", "-----", f"Event: {isolated(info.event) or '-'}", f"GLIDE number: {info.glide or '-'}",
                  f"Analyst: {isolated(info.analyst) or '-'}", f"Organisation: {isolated(info.organisation) or '-'}",
                  f"Contact: {isolated(info.contact) or '-'}"]
    lines += [
        "", "Flights (provenance)", "--------------------",
    ]
    for flight in built.flights:
        about = flights.get(flight.name, {})
        seen = coverage.get(flight.name)
        lines += [
            f"{flight.name}: {flight.date[:10] if flight.date else 'date unknown'}"  # its day, as the tables give it
            + (f", {isolated(about['drone'])}" if about.get("drone") else ""),
            f"  video: {about.get('video') or '-'}; telemetry: {about.get('telemetry') or '-'}",
            f"  model: {about.get('model') or 'unknown'}; frames analysed: {about.get('frames', '-')}",
        ]
        if seen is not None:
            lines.append(f"  ground seen: {seen.area_m2 / 1e4:.2f} ha; survey sites it saw: {seen.sites}")
    lines += [
        f"Software: {provenance.get('software') or 'damagemap'}",
        f"Produced: {provenance.get('produced') or '-'}",
    ]
    if built.notes:
        lines += ["Processing notes:", *[f"  - {note}" for note in built.notes]]
    counts = built.level_counts()
    lines += ["", "Sites", "-----"]
    lines += [f"{level.label}: {counts[level]} ({EMS_GRADE[level.label.lower()]})" for level in sorted(counts, reverse=True)]
    lines += [f"{heading(REVIEWED)}: {sum(1 for s in built.sites if s.reviewed)} of {len(built.sites)}"]
    lines += ["", "Buildings", "---------"]
    if grading is None:
        lines += ["No building footprints were given, so no building is graded: give them with",
                  "`damagemap survey export --footprints FILE` (GeoJSON, GeoPackage, shapefile or OSM),",
                  "or set them on a flight's project."]
    else:
        from geo.grading import LABELS, ORDER

        graded = grading.counts()
        # the file's name, not where it lay on the analyst's disk: the README goes out with the files
        lines += [f"{len(grading.buildings)} footprints" + (f" from {Path(grading.source).name}" if grading.source else "")
                  + f", each graded by the most severe site within {grading.match_m:g} m of it:"]
        lines += [f"{LABELS[level]}: {graded[level]} ({EMS_GRADE[level]})" for level in ORDER]
        lines += [f"  - {note}" for note in grading.notes]
    lines += ["", "Files", "-----"]
    texts = dict(_FILE_TEXT)
    if grading is not None:  # the GeoPackage holds the graded buildings too
        texts["survey.gpkg"] = "GeoPackage with the layers sites, coverage and buildings (the graded footprints)"
    if not built.sites:
        texts["survey_map.pdf"] = "the print map as a vector PDF; no site atlas: the survey has no damage site"
    lines += [f"{name:<24} {texts.get(name, '')}".rstrip() for name in files]
    lines += [f"{'survey_README.txt':<24} this file", "", *damage_scale_lines()]
    if credits is None:
        credits = survey_credits(built, provenance, info=info, grading=grading)
    lines += ["", "Credits", "-------", *credits]  # as the print map gives them
    return "\n".join(lines) + "\n"


def _open_first_lines(files: Sequence[str], built: SurveyMap, grading) -> list[str]:  # noqa: ANN001 - Grading
    """Which of the files written to open, on which device, as a flight's relief package
    README says it (:func:`geo.export.package.open_first_lines`)."""
    from geo.export.package import open_first_lines

    def written(name: str) -> str:
        return name if name in files else ""

    return open_first_lines(
        html=written("survey_map.html"), tap="what each flight saw of it, close up",
        kmz=written("survey_sites.kmz"), kmz_shows="the sites, every flight's track and area filmed",
        pdf=written("survey_map.pdf"), has_sites=bool(built.sites), gpkg=written("survey.gpkg"),
        gpkg_shows="the sites, the ground each flight saw" + (", the graded buildings" if grading is not None else ""))


#: The words the survey's maps, atlas and files use where a flight's differ or have none
#: (:data:`geo.export.package.WORDS`), and the order all are given in.
SURVEY_WORDS: dict[str, tuple[str, ...]] = {
    "site": ("one damaged place the flights' video showed, numbered (numbers can skip;",
             "a site keeps its number when flights are added)"),
    "flights, dates": ("the flights that saw the site, and the days they flew",),
    "best score": ("best_score: how sure the detector is that it sees damage there,",
                   "0 to 1, its best of all the flights' sightings"),
    "level agreement": ("confidence: how far the sightings of every flight agree on the level,",
                        "0 to 100 %; not a probability that there is damage"),
    "not found by": ("not_found_by: a flight that saw the place well and found no damage there:",
                     "a false alarm, damage that came or went between the flights, or one the",
                     "detector missed; look again"),
}
SURVEY_WORD_ORDER = ("site", "level", EMS_GRADE_LABEL, "flights, dates", SIGHTINGS, "best score", "level agreement",
                     UNCERTAINTY,
                     "not found by", "unconfirmed", "reviewed")


def _contact_lines(built: SurveyMap, info, provenance: Mapping[str, Any]) -> list[str]:  # noqa: ANN001 - ProductInfo
    """Whom to send questions and corrections to, and how old what the maps show is: each
    flight's time (:func:`geo.export.products.imagery_text`), as a flight's package says
    its own (:func:`geo.export.package.contact_lines`)."""
    from geo.export.package import contact_lines
    from geo.export.products import imagery_text, imagery_times

    filmed = [f"  {flight.name}: {imagery_text(flight.damage_map, *imagery_times(flight.damage_map))}"
              for flight in built.flights]
    return contact_lines(info, filmed=["Filmed (each flight):", *filmed,
                                       "Damage since the last flight over a place is not on the maps."],
                         produced=provenance.get("produced"), whoever="whoever sent you these files")


def _not_shown_lines(built: SurveyMap, grading) -> list[str]:  # noqa: ANN001 - geo.grading.Grading
    """What the survey's maps leave out, in the words of a flight's relief package README
    (:func:`geo.export.package.not_shown_lines`): no site is not the same as no damage."""
    from geo.export.package import not_shown_lines

    return not_shown_lines(
        outside="the ground the flights filmed (\"Ground seen\", in each flight's colour on the maps; "
                "survey_coverage.geojson)",
        graded=grading is not None, not_graded="no flight saw them",
        unconfirmed=counted(built.unconfirmed, "unconfirmed site") if built.unconfirmed else "",
        unconfirmed_place="its place" if built.unconfirmed == 1 else "their place",
        left_off="(a flight's own export shows its own with --include-unconfirmed)",
        uncertainties={s.id: s.uncertainty_m for s in built.sites},
        reviewed=sum(1 for s in built.sites if s.reviewed))


def _survey_kml(built: SurveyMap, sites: list[Record], title: str, *, icon: str = KML_ICON,
                images: Mapping[str, str] | None = None) -> str:
    """The survey's sites (``sites``: :func:`survey_site_records`, their attributes typed
    as in the GeoPackage, :data:`SURVEY_SITE_KML_SCHEMA`, the number as ``site_id``), each
    described in a line (:func:`_site_summary`) after its pictures in ``images`` (HTML by
    site id), and every flight's track."""
    from geo.export.records import track_records

    placemarks = []
    descriptions = {}
    for site, (props, point) in zip(built.sites, sites):
        name = f"Site {site.id}: {site.level.label} ({counted(len(site.evidence), 'flight')})"
        placemarks.append((str(site.id), name, site.level, kml_site_attributes(props), point))
        descriptions[str(site.id)] = (images or {}).get(str(site.id), "") + _site_summary(site)
    lines = []
    for flight in built.flights:  # named as a flight's KML names its track's stretches
        tracks = track_records(flight.damage_map)
        base = f"Flight {flight.name}" + (f" ({flight.date[:10]})" if flight.date else "")
        lines += list(zip(track_names(base, len(tracks)), (line for _, line in tracks)))
    return kml_document(title, placemarks, lines=lines, icon=icon, descriptions=descriptions,
                        schema=SURVEY_SITE_KML_SCHEMA, outlines=_filmed_outlines(built))


def _filmed_outlines(built: SurveyMap) -> list:  # noqa: ANN202 - (name, shapely LineString)
    """The ground each flight saw as lines (what every phone map app draws), named as a
    flight's KML names its area filmed (:data:`geo.export.vector.AREA_FILMED_NAME`), with
    the flight and its day; split at 180 degrees as the coverage layer is
    (:func:`geo.survey_fusion.coverage_polygon`)."""
    return [(f"{heading(AREA_FILMED)} by {c.flight}" + (f" ({c.date[:10]})" if c.date else "")
             + " (outside every flight's: not looked at, no news of damage)", line)
            for c in built.coverage for line in polygon_outlines(coverage_polygon(c))]


def _site_summary(site) -> str:  # noqa: ANN001 - geo.survey_fusion.SurveySite
    """What a survey's site is, in one line (HTML, its text escaped, no markup: GDAL's
    plain KML driver reads it as the site's ``Description``): its level and EMS grade, the
    flights that saw it and when, its sightings, best score and level agreement, whether
    reviewed, how sure its position is, and the flights that saw its place well and did
    not find it."""
    from html import escape

    from geo.export.print_map import uncertainty_text
    from geo.export.records import EMS_GRADE
    from geo.export.survey_html import date_text

    days = ", ".join(date_text(date) for date in site.dates) or "date unknown"
    text = (f"{site.level.label} ({EMS_GRADE_LABEL}: {EMS_GRADE[site.level]}): seen by {counted(len(site.evidence), 'flight')} "
            f"({', '.join(site.flights)}; {days}), {site.observation_count} sightings, "
            f"best score {best_score(site):.2f}, level agreement {site.confidence:.0%}, "
            f"{REVIEWED if site.reviewed else f'not {REVIEWED}'}")
    if uncertainty_text(site.uncertainty_m):
        text += f"; {UNCERTAINTY} {uncertainty_text(site.uncertainty_m)}"
    if site.not_found_by:
        text += f"; not found by {', '.join(site.not_found_by)}, which saw the place well: look again"
    return escape(text, quote=False)


def _kmz_closeups(built: SurveyMap, closeup: FlightCloseup) -> tuple[dict[str, str], dict[str, bytes]]:
    """Each site's pictures for its balloon (HTML) by site id, and the pictures by their
    path in the archive: what every flight saw of the site, close up (the survey's offline
    map shows the same), its detection outlined in the level that flight gave it, the
    flight and date under it. A flight's close-up is stored once, however many sites show it."""
    from html import escape

    from geo.export.html import closeup_box, picture_bytes
    from geo.export.survey_html import date_text

    numbers = {flight.name: k for k, flight in enumerate(built.flights)}
    descriptions: dict[str, str] = {}
    files: dict[str, bytes] = {}
    images: dict[str, str] = {}  # a flight's site's <img>, by its picture's name ("" without one)

    def image_of(evidence) -> str:  # noqa: ANN001 - Evidence
        name = f"files/flight-{numbers[evidence.flight] + 1}-site-{evidence.flight_site_id}.jpg"
        if name not in images:
            found = built.flight_site(evidence)
            images[name] = "" if found is None else kmz_closeup(
                picture_bytes(lambda site_id: closeup(evidence.flight, site_id), evidence.flight_site_id),
                closeup_box(found[0].damage_map, found[1]), evidence.level.colour_hex, name, files)
        return images[name]

    for site in built.sites:
        cells = []
        for evidence in site.evidence:
            image = image_of(evidence) if evidence.flight in numbers else ""
            if image:
                caption = evidence.flight + (f" · {date_text(evidence.date)}" if evidence.date else "")
                cells.append(f'<td valign="top">{image}<br/>{escape(caption)}</td>')
        if cells:
            descriptions[str(site.id)] = f"<table><tr>{''.join(cells)}</tr></table>"
    return descriptions, files


__all__ = ["SURVEY_FILES", "readme_text", "write_survey_files"]
