"""The relief package: one folder and one zip a relief team can take to the field.

Named after the Copernicus EMS convention (``<event>_<area>_<product>_DRONE_v<NN>``, see
:meth:`geo.export.products.ProductInfo.product_name`), the folder holds:

- ``<name>.gpkg``: every layer in WGS84 (EPSG:4326): ``graded_buildings`` (with
  footprints), ``damage_sites``, ``site_footprints``, ``observations``, ``coverage``
  (buildings, or grid cells without footprints), ``camera_footprints``, ``track``,
  ``area_of_interest`` (and ``gps_jumps`` when the track had any);
- ``<name>_map.html``: the offline HTML map, with the basemap when one was given;
- ``<name>.kmz``: the sites and the track for a phone or Google Earth, offline, each site's
  close-up in its balloon (unless the pictures were left out);
- ``<name>_map.png`` and ``<name>_map.pdf``: the print-ready A4 map (sites numbered), the PDF
  followed by the site atlas: a card per site, most severe first, with its close-up;
- ``README.txt``: what each file is, where the data came from, how it was made.

and ``<name>.zip`` beside it holds the same folder.
"""

from __future__ import annotations

import contextlib
import math
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.errors import ExportError
from core.text import isolated, without_bidi_controls
from geo.export._atomic import atomic_path, ensure_dir, remove_abandoned_temp_files, write_text_atomic
from geo.export.labels import EMS_GRADE as EMS_GRADE_LABEL, REVIEWED, SIGHTINGS, UNCERTAINTY, heading
from geo.export.products import (
    ProductInfo,
    aoi_records,
    camera_records,
    coverage_records,
    graded_building_records,
    html_layers,
    imagery_times,
    map_title,
)
from geo.export.records import (
    Record,
    counted,
    footprint_records,
    jump_records,
    observation_records,
    site_records,
    track_records,
)

#: GeoPackage layer order.
LAYER_ORDER = ("graded_buildings", "damage_sites", "site_footprints", "observations", "coverage",
               "camera_footprints", "track", "gps_jumps", "area_of_interest")


@dataclass(frozen=True)
class PackageResult:
    folder: Path
    zip_path: Path
    files: list[Path] = field(default_factory=list)
    name: str = ""
    #: what the person exporting should know (characters the print map cannot draw)
    notes: list[str] = field(default_factory=list)
    #: when the package of the same name this one replaced was written (UTC), else ``None``:
    #: a product already sent on is updated under the next version, not rewritten
    replaced_utc: str | None = None
    version: int = 1


def package_layers(damage_map, *, grading=None, coverage=None, info: ProductInfo) -> dict[str, list[Record]]:  # noqa: ANN001
    """Every GeoPackage layer's records (empty layers included, for the caller to skip)."""
    camera = camera_records(damage_map)
    return {
        "graded_buildings": graded_building_records(damage_map, grading) if grading is not None else [],
        "damage_sites": site_records(damage_map),
        "site_footprints": footprint_records(damage_map),
        "observations": observation_records(damage_map),
        "coverage": coverage_records(coverage, graded=_graded_ids(grading)) if coverage is not None else [],
        "camera_footprints": camera,
        "track": track_records(damage_map),
        "gps_jumps": jump_records(damage_map),
        "area_of_interest": aoi_records(damage_map, camera, info),
    }


def _graded_ids(grading) -> frozenset[str]:  # noqa: ANN001 - geo.grading.Grading or None
    """The buildings a damage site grades (a building seen only in passing included)."""
    return frozenset() if grading is None else frozenset(b.building_id for b in grading.buildings if b.site_ids)


def write_layers(path: Path, layers: Mapping[str, list[Record]], *, last_change: str) -> list[str]:
    """The non-empty layers, and the layers of sites even empty
    (:data:`geo.export.records.SITE_LAYER_SCHEMAS`), into one GeoPackage (EPSG:4326);
    returns their names."""
    from geo.export.records import SITE_LAYER_SCHEMAS
    from geo.export.vector import _gdal_option, write_gpkg_layer

    written: list[str] = []
    with atomic_path(path) as temp, _gdal_option("OGR_CURRENT_DATE", last_change):
        for name in LAYER_ORDER:
            records = layers.get(name) or []
            if not records and name not in SITE_LAYER_SCHEMAS:
                continue
            write_gpkg_layer(temp, name, records, append=bool(written))
            written.append(name)
    return written


def damage_scale_lines() -> list[str]:
    """The README's table of our levels against Copernicus EMS, xBD and OSM's tags, and
    what each level means (:data:`geo.grading.MEANINGS`)."""
    from geo.grading import EMS_GRADE, LABELS, MEANINGS, ORDER, OSM_DAMAGE, XBD

    def row(*cells: str) -> str:
        return " | ".join(f"{cell:<{width}}" for cell, width in zip(cells, (17, 20, 15, 0))).rstrip()

    lines = ["Damage scale", "------------", row("level (damagemap)", EMS_GRADE_LABEL, "xBD", "OSM damage:<event>")]
    for level in ORDER:
        xbd = XBD[level]
        lines.append(row(LABELS[level], EMS_GRADE[level], f"{xbd[0] if xbd[0] is not None else '-'} {xbd[1]}",
                         OSM_DAMAGE[level] or "-"))
    lines += ["", "What each level means, as the drone's camera saw the building:"]
    for level in ORDER:
        lines += _wrapped(f"{LABELS[level]:<19}{MEANINGS[level]}", indent=" " * 19)
    lines += _wrapped("The Copernicus EMS grades (after the EMS-98 damage grades), xBD and OSM names are the nearest "
                      "terms of those scales: a suggestion to confirm with the team using the map. A level says what "
                      "shows from the air, not what an inspection of the structure would find.", indent="")
    return lines


def _file_list(files: list[tuple[str, list[str]]]) -> list[str]:
    """Each file's name and its description, the descriptions in one column past the
    longest name (the package's names carry its event and date: 40 characters and more)."""
    width = max(len(file) for file, _ in files) + 2
    return [f"{file if k == 0 else '':<{width}}{text}" for file, texts in files for k, text in enumerate(texts)]


#: The README's widest line: text a helper below wraps (a parameter's words in it) fits in it.
README_WIDTH = 100
#: A site whose position may be more than this far off (metres) is named in the README:
#: its dot may stand on the building next door.
FAR_OFF_M = 10.0


#: What holds a quoted label's words together while :func:`_wrapped` wraps its text.
NO_BREAK = "\u00a0"


def _wrapped(text: str, indent: str = "  ") -> list[str]:
    """``text`` over lines of at most :data:`README_WIDTH` characters, the lines after
    the first indented by ``indent``; a file name, an option or a quoted label ("Site
    number", as the map shows it) is never split."""
    import re
    import textwrap

    kept = re.sub(r'"[^"]*"', lambda quoted: quoted.group().replace(" ", NO_BREAK), text)
    return [line.replace(NO_BREAK, " ") for line in textwrap.wrap(
        kept, README_WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)]


def open_first_lines(*, html: str = "", tap: str = "its close-up", kmz: str = "",
                     kmz_shows: str = "the sites, the track, the area filmed", pdf: str = "",
                     has_sites: bool = True, gpkg: str = "", gpkg_shows: str = "every layer") -> list[str]:
    """Which file to open, on which device: the reader has never seen damagemap. Each of
    ``html``, ``kmz``, ``pdf`` and ``gpkg`` is a file's name, left out when empty (no
    section at all without any); ``tap``: what tapping a site on the web map shows,
    ``kmz_shows`` and ``gpkg_shows``: what the phone's file and the GIS file hold;
    ``has_sites``: whether the PDF has a site atlas after its map."""
    paper = "the A4 map, every site numbered" + (", then a card per site to tick once checked on the ground"
                                                  if has_sites else "")
    lines: list[str] = []
    if html:
        lines += ["On a phone or a laptop, in any web browser (no network needed):", f"    {html}",
                  *_wrapped(f"  tap a site for {tap}; type a site's number (\"site 12\") in \"Site number\" to find it.")]
    if kmz:
        lines += [*_wrapped(f"In Organic Maps, OsmAnd or Google Earth ({kmz_shows}):", ""), f"    {kmz}"]
    if pdf:
        lines += [f"On paper ({paper}):", f"    {pdf}"]
    if gpkg:
        lines += [*_wrapped(f"In QGIS or ArcGIS ({gpkg_shows}):", ""), f"    {gpkg}"]
    if not lines:
        return []
    return ["Open first", "----------", *lines, "A site has the same number in every one of them."]


def not_shown_lines(*, outside: str, graded: bool = False, not_graded: str = "the flight did not see them",
                    unconfirmed: str = "", unconfirmed_place: str = "their place", left_off: str = "",
                    uncertainties: Mapping[int, float] | None = None, reviewed: int | None = None) -> list[str]:
    """What the maps leave out: no site is not the same as no damage. ``outside``: the
    ground looked at, as the maps and files name it; ``graded``: whether buildings were
    graded (``not_graded``: why some are not); ``unconfirmed``: the sites left off, counted
    ("3 unconfirmed sites"; empty: none), ``unconfirmed_place`` what they mark ("its
    place"), ``left_off``: where else they can be seen; ``uncertainties``: each site's
    position uncertainty in metres, by its number (their median is given, and the sites
    that may be more than :data:`FAR_OFF_M` off are named); ``reviewed``: how many of those
    sites a person reviewed (``None``: not said), so that a map no one checked says so."""
    import statistics

    lines = [
        "What the maps do NOT show",
        "-------------------------",
        *_wrapped(f"- Anything outside {outside}: no site there does not mean no damage; nobody has looked there."),
        "- Damage the video did not show: under a roof, behind another building, or too small",
        "  in the frame; the map finds most damaged buildings, not all.",
    ]
    if graded:
        lines += [f"- Buildings 'Not assessed' (grey): {not_graded} well enough to grade."]
    if unconfirmed:
        lines += [f"- {unconfirmed}: detected in too few of the frames that showed {unconfirmed_place}",
                  *_wrapped(f"  (often a false alarm), left off every map here{' ' + left_off if left_off else ''}.")]
    sized = {site: u for site, u in (uncertainties or {}).items() if math.isfinite(u)}
    if sized:
        lines += [f"- Exact positions: a site's dot can be off by a few metres (here a median of "
                  f"{statistics.median(sized.values()):.1f} m);", "  look at the buildings around it."]
        far = sorted(site for site, u in sized.items() if u > FAR_OFF_M)
        if far:  # a dot that far off may stand on the building next door
            lines += _wrapped(f"  {counted(len(far), 'site')} may be more than {FAR_OFF_M:.0f} m off (up to "
                              f"{max(sized.values()):.0f} m): {', '.join(map(str, far))}; each site's +- "
                              "(uncertainty_m) says how far.")
    sites = len(uncertainties or {})
    if reviewed is not None and reviewed < sites:
        lines += _wrapped("- A person's check: " + (
            f"none of the {counted(sites, 'site')} was reviewed on screen; each is the detector's alone."
            if reviewed == 0 else
            f"{reviewed} of the {counted(sites, 'site')} {'was' if reviewed == 1 else 'were'} reviewed on screen; "
            f"the other {sites - reviewed} {'is' if sites - reviewed == 1 else 'are'} the detector's alone "
            "(the 'reviewed' attribute, the atlas's cards)."))
    return lines


#: The words the maps, the atlas and the GeoPackage of a flight use, and what they mean,
#: each meaning's lines as the README prints them (see :func:`words_lines`).
WORDS: dict[str, tuple[str, ...]] = {
    "site": ("one damaged place the video showed, numbered (numbers can skip)",),
    "level": ("Slight, Severe or Debris (see Damage scale below)",),
    EMS_GRADE_LABEL: ("ems_grade: the nearest grade of the Copernicus EMS scale to the level",
                      "(see Damage scale below)"),
    SIGHTINGS: ("observations: the detections, frame by frame, fused into a site",),
    "best score": ("best_score: how sure the detector is that it sees damage there,",
                   "0 to 1, its best of all its sightings"),
    "level agreement": ("confidence: how far the sightings agree on the level, 0 to 100 %;",
                        "not a probability that there is damage"),
    UNCERTAINTY: ("uncertainty_m, +- on the maps: how far the real place may be from the",
                  "dot, in metres (about 2 times in 3 it is closer than this)"),
    "unconfirmed": ("detected in too few of the frames that showed the place: left off",),
    "reviewed": (f"{REVIEWED}: a person checked the detections on screen (not on",
                 "the ground)"),
    "frame": ("one picture of the video, numbered from 1 on the maps and in the KMZ's",
              "balloons; the files' frame fields (frame, best_frame, first_frame,",
              "last_frame) count from 0: the maps' frame 161 is best_frame 160"),
}


def words_lines(own: Mapping[str, Sequence[str]] | None = None, *, order: Sequence[str] | None = None) -> list[str]:
    """The words the maps, the atlas and the files use, in plain terms: :data:`WORDS`,
    with ``own`` meanings (a survey's "site") and words (its "not found by") in their
    stead or beside them, in ``order`` (default: :data:`WORDS`' then ``own``'s)."""
    words = {**WORDS, **(own or {})}
    lines = ["Words on the maps", "-----------------"]
    for term in order or words:
        lines += [f"{term if k == 0 else '':<22}{text}" for k, text in enumerate(words[term])]
    return lines


def contact_lines(info: ProductInfo | None, *, filmed: Sequence[str], produced: str | None,
                  whoever: str = "whoever sent you this package") -> list[str]:
    """Whom to send questions and corrections to, how to reach them, and how old what
    the maps show is: ``filmed``, its lines (when the video was filmed, and that damage
    since is not shown), ``produced``: when the files were made (``info``'s version
    after it), ``whoever``: whom to ask without a name or a contact."""
    who = ", ".join(isolated(x) for x in (getattr(info, "analyst", ""), getattr(info, "organisation", "")) if x)
    contact = getattr(info, "contact", "")
    return [
        "Contact and dates",
        "-----------------",
        f"Questions, and corrections from the ground, to: {who or whoever}.",
        f"Reach them: {isolated(contact.rstrip('.'))}." if contact else
        f"Reach them: no phone, e-mail or radio channel was given; ask {whoever}.",
        *filmed,
        f"Made: {produced or '-'}" + (f", version {info.version:02d} (a higher version replaces it)."
                                      if info is not None else "."),
    ]


def kmz_description(info: ProductInfo) -> str:
    """The KMZ document's description (HTML, each part escaped): what it is, who made it
    and how to reach them, what a phone shows about the file."""
    from html import escape

    from geo.export.products import PRELIMINARY

    who = ", ".join(isolated(x) for x in (info.analyst, info.organisation) if x)
    lines = [PRELIMINARY + "."]
    if who:
        lines.append(f"Produced by {who}.")
    if info.contact:
        lines.append(f"Contact: {isolated(info.contact)}")
    lines.append("Questions and corrections from the ground: see README.txt in the package.")
    return "<br/>".join(escape(line) for line in lines)


def sites_on_buildings(grading, sites: int) -> str:  # noqa: ANN001 - geo.grading.Grading
    """Why the damage sites and the damaged buildings are not counted alike: "The 15 damage
    sites lie on 12 buildings: a building with several takes the grade of its most severe
    one." (and how many lie on no footprint)."""
    buildings = counted(sum(1 for b in grading.buildings if b.site_ids), "building")
    off = len(grading.unmatched_site_ids)
    on = sites - off
    if not off:
        text = f"The {counted(sites, 'damage site')} {'lies' if sites == 1 else 'lie'} on {buildings}"
    else:
        text = f"{on} of the {counted(sites, 'damage site')} {'lies' if on == 1 else 'lie'} on {buildings}"
    text += ": a building with several takes the grade of its most severe one"
    if off:
        text += (f"; {off} {'lies' if off == 1 else 'lie'} on no footprint (more than {grading.match_m:g} m from "
                 "every outline), only in the damage_sites layer and on the maps")
    return text + "."


def coverage_lines(coverage, grading=None) -> list[str]:  # noqa: ANN001 - geo.coverage.CoverageLayer, Grading
    """How many buildings (or grid cells) the flight saw well, glimpsed or did not see, and
    what those words mean; with ``grading``, how many of those not seen well a damage site
    grades all the same (why "Not assessed" counts fewer than them)."""
    counts = coverage.counts()
    text = ("(seen well: in two or more good views; glimpsed: in view, never well enough to grade; "
            "not seen: in no analysed frame)")
    if grading is not None:
        graded = sum(1 for b in grading.buildings
                     if b.site_ids and b.coverage is not None and not b.coverage.seen_well)
        if graded:
            text += (f"; {counted(graded, 'building')} not seen well {'is' if graded == 1 else 'are'} graded all the "
                     f"same, from a damage site seen on {'it' if graded == 1 else 'them'}")
    return [f"Coverage units ({coverage.kind}s): " + ", ".join(f"{k} {v}" for k, v in counts.items()),
            *_wrapped(text + ".", indent="")]


def readme_text(name: str, damage_map, *, info: ProductInfo, layers: list[str], files: list[str],  # noqa: ANN001
                provenance: Mapping[str, Any], grading=None, coverage=None,  # noqa: ANN001
                area_km2: float | None = None, print_notes: Sequence[str] = ()) -> str:
    """The package's README (``area_km2``: the area filmed, as the ``area_of_interest``
    layer gives it; ``print_notes``: what the print map could not draw, among the
    processing notes)."""
    from geo.grading import EMS_GRADE, LABELS, ORDER
    from geo.export.products import imagery_text

    first, last = provenance.get("imagery_start"), provenance.get("imagery_end")
    title = map_title(damage_map, info)  # the maps' and the KMZ's: the package reads as one product
    lines = [
        title,
        "=" * len(without_bidi_controls(title)),
        f"Package: {name}",
        "",
        f"Building damage from drone video{': ' + isolated(info.event) if info.event else ''}.",
        "PRELIMINARY analysis, not yet validated in the field. Grades come from an automatic analysis",
        "of oblique drone video, reviewed where a reviewer decided (the 'reviewed' attribute);",
        "check on the ground before acting on a single building, and send corrections back.",
        "",
        *open_first_lines(html=f"{name}_map.html", kmz=f"{name}.kmz", pdf=f"{name}_map.pdf",
                          has_sites=bool(damage_map.sites), gpkg=f"{name}.gpkg"),
        "",
        *not_shown_lines(
            outside="the area the drone filmed (the \"Area filmed\" outline on the maps, layer area_of_interest)",
            graded=grading is not None,
            unconfirmed=counted(len(damage_map.unconfirmed), "unconfirmed site") if damage_map.unconfirmed else "",
            unconfirmed_place="its place" if len(damage_map.unconfirmed) == 1 else "their place",
            uncertainties={f.site.id: f.uncertainty_m for f in damage_map.fused},
            reviewed=sum(1 for f in damage_map.fused if f.site.reviewed)),
        "",
        *words_lines(),
        "",
        *contact_lines(info, filmed=[f"Filmed: {imagery_text(damage_map, first, last)}. "
                                     "Damage since then is not on the maps."], produced=provenance.get("produced")),
        "",
        "Event",
        "-----",
        f"Event: {isolated(info.event) or '-'}",
        f"GLIDE number: {info.glide or '-'}",
        f"Area of interest: {info.area}"
        + (f", the area filmed: {area_km2:g} km2 (layer area_of_interest)" if area_km2 is not None else ""),
        f"Product: {'grading (GRA)' if grading is not None else 'first estimate (FEP)'}, version {info.version:02d}",
        f"Analyst: {isolated(info.analyst) or '-'}",
        f"Organisation: {isolated(info.organisation) or '-'}",
        f"Contact: {isolated(info.contact) or '-'}",
        "",
        "Source and processing (provenance)",
        "----------------------------------",
        f"Imagery: {provenance.get('video') or 'drone video'}; frames {imagery_text(damage_map, first, last)}",
        f"Telemetry: {damage_map.track.name} ({damage_map.track.format})",
        f"Camera: {damage_map.camera.width_px}x{damage_map.camera.height_px}, horizontal field of view "
        f"{damage_map.fov.hfov_deg:.1f} deg ({damage_map.fov.source})",
        f"Analysed frames with a camera pose: {len(damage_map.poses)}",
        f"Model: {provenance.get('model') or 'unknown'}",
        f"Software: {provenance.get('software') or 'damagemap'}",
        f"Project: {provenance.get('project') or '-'}; run {provenance.get('run') or '-'}",
        f"Building footprints: {provenance.get('footprints') or 'none given (coverage on a grid of cells)'}",
        f"Basemap: {provenance.get('basemap') or 'none'}",
        *([f"Terrain: {provenance['terrain']} (sites placed on it)"] if provenance.get("terrain") else []),
        f"Produced: {provenance.get('produced') or '-'}",
        "Processing notes:",
        *[f"  - {note}" for note in (*damage_map.notes, *print_notes)],
    ]
    if grading is not None:
        lines += [*[f"  - {note}" for note in grading.notes]]
    files = [
        (f"{name}.gpkg", [f"GeoPackage, WGS84 (EPSG:4326), layers: {', '.join(layers)}"]),
        (f"{name}_map.html", ["offline web map (open in any browser; works without network)"]),
        (f"{name}.kmz", ["the sites by level, the track and the outline of the area filmed, for a",
                         "phone (Organic Maps, OsmAnd) or Google Earth; works without network;",
                         "each site's close-up in its balloon, unless the pictures were left out"]),
        (f"{name}_map.pdf", ["print-ready A4 map (vector), sites numbered; then the site atlas:",
                             "a card per site, most severe first (close-up, level, position,",
                             "when seen, a box to tick once checked on the ground)"] if damage_map.sites else
         ["print-ready A4 map (vector); no site atlas: no damage site was found"]),
        (f"{name}_map.png", ["the same map (first page) as an image"]),
        ("README.txt", ["this file"]),
    ]
    lines += ["", "Files", "-----", *_file_list(files), "", *damage_scale_lines()]
    lines += [
        "",
        "A building is 'No visible damage' only when the flight saw it well (two or more frames showing at",
        "least half of it, at 0.25 m per pixel or finer, from 15 degrees or more above the horizon) and",
        "no damage was found on it; otherwise, without damage found, it is 'Not assessed'. Coverage",
        "uses the camera geometry only: a building hidden behind another may count as seen.",
    ]
    sites = damage_map.level_counts()
    lines += ["", "Damage sites", "------------",
              *[f"{level.label}: {sites[level]} ({EMS_GRADE[level.label.lower()]})" for level in sorted(sites, reverse=True)],
              f"{heading(REVIEWED)}: {sum(1 for s in damage_map.sites if s.reviewed)} of {len(damage_map.sites)}"]
    if grading is not None:
        counts = grading.counts()
        lines += ["", "Buildings by grade", "------------------", *[f"{LABELS[level]}: {counts[level]}" for level in ORDER]]
        lines += _wrapped(sites_on_buildings(grading, len(damage_map.sites)), indent="")
    if coverage is not None:
        lines += coverage_lines(coverage, grading)
    credits = provenance.get("credits") or []
    if credits:
        lines += ["", "Credits", "-------", *credits]
    return "\n".join(lines) + "\n"


def write_package(
    damage_map,  # noqa: ANN001 - geo.mapping.DamageMap
    out_dir: str | Path,
    *,
    info: ProductInfo,
    grading=None,  # noqa: ANN001
    coverage=None,  # noqa: ANN001
    basemap_html=None,  # noqa: ANN001 - geo.basemap.Basemap in EPSG:3857
    basemap_print=None,  # noqa: ANN001 - the same in the map's CRS
    thumbnail: Callable[[int], bytes | None] | None = None,
    provenance: Mapping[str, Any] | None = None,
    closeup: Callable[[int], bytes | None] | None = None,
    popup_pictures: bool = True,
) -> PackageResult:
    """Write the package folder and its zip into ``out_dir`` (see the module docstring);
    ``popup_pictures`` false: the HTML map's popups show no picture (the atlas still
    shows the close-ups)."""
    from geo.export.html import write_html
    from geo.export.print_map import write_print_map
    from geo.export.vector import _gpkg_timestamp, write_kmz

    provenance = dict(provenance or {})
    first, last = imagery_times(damage_map)
    provenance.setdefault("imagery_start", first)
    provenance.setdefault("imagery_end", last)
    name = info.product_name("GRA" if grading is not None else "FEP")
    out = ensure_dir(Path(out_dir))
    earlier = (out / name).is_dir()
    folder = ensure_dir(out / name)
    targets = {k: folder / f"{name}{suffix}" for k, suffix in
               (("gpkg", ".gpkg"), ("html", "_map.html"), ("kmz", ".kmz"), ("png", "_map.png"), ("pdf", "_map.pdf"))}
    targets["readme"] = folder / "README.txt"
    remove_abandoned_temp_files(folder, list(targets.values()))
    remove_abandoned_temp_files(out, [out / f"{name}.zip"])
    replaced_utc = _written_utc(out / f"{name}.zip")

    try:
        layers = package_layers(damage_map, grading=grading, coverage=coverage, info=info)
        written_layers = write_layers(targets["gpkg"], layers, last_change=_gpkg_timestamp(damage_map))
        extra = html_layers(grading=grading, coverage=coverage, basemap=basemap_html,
                            camera=layers["camera_footprints"], info=info, credits=provenance.get("credits"))
        # one title for the package's maps, the KMZ's document name too: a phone lists KMZ files by it
        titled = replace(damage_map, title=map_title(damage_map, info))
        write_html(targets["html"], titled,
                   thumbnail=thumbnail if popup_pictures else None, extra_layers=extra,
                   closeup=closeup if popup_pictures else None)
        notes: list[str] = []  # what the print map cannot draw, named: in the README and said on export
        write_print_map(targets["png"], targets["pdf"], damage_map, grading=grading,
                        camera=layers["camera_footprints"], basemap=basemap_print, info=info, provenance=provenance,
                        closeup=closeup, notes=notes)
        write_kmz(targets["kmz"], titled, closeup=closeup if popup_pictures else None,
                  area_filmed=_filmed_outlines(layers["camera_footprints"]), description=kmz_description(info))
        files = [targets[k].name for k in ("gpkg", "html", "kmz", "pdf", "png")]
        area = layers["area_of_interest"]
        write_text_atomic(targets["readme"], readme_text(name, damage_map, info=info, layers=written_layers,
                                                         files=files, provenance=provenance, grading=grading,
                                                         coverage=coverage, print_notes=notes,
                                                         area_km2=area[0][0]["area_km2"] if area else None))
        zip_path = out / f"{name}.zip"
        with atomic_path(zip_path) as temp, zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for key in ("readme", "gpkg", "html", "kmz", "pdf", "png"):
                archive.write(targets[key], f"{name}/{targets[key].name}")
    except ExportError as exc:  # a full disk, a folder gone: the package folder is not the package
        raise ExportError(f"{exc}{_left_behind(folder, list(targets.values()), earlier=earlier)}") from None
    return PackageResult(folder, zip_path,
                         [targets[k] for k in ("gpkg", "html", "kmz", "png", "pdf", "readme")] + [zip_path],
                         name, notes, replaced_utc, info.version)


def _left_behind(folder: Path, targets: list[Path], *, earlier: bool) -> str:
    """What a package that stopped part-way leaves, for its message: a folder this export
    made is removed with what it wrote (no package folder without its README and zip to
    be mistaken for one); an earlier package's folder now mixes its files with this one's."""
    if not earlier:
        for target in targets:
            target.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
        return "; nothing of the package is left" if not folder.exists() else f"; {folder} is not a whole package"
    zipped = folder.parent / f"{folder.name}.zip"
    return (f"; {folder} now mixes this export's files with the earlier package's"
            + (f", and {zipped.name} is still the earlier package" if zipped.is_file() else "")
            + ": export again once the cause is fixed")


def _filmed_outlines(camera: list[Record]) -> list:  # noqa: ANN202 - shapely LineStrings
    """The outline of the area filmed as the web and print maps draw it
    (:func:`geo.ground_seen.ground_seen_lonlat`: the camera footprints' union without its
    saw teeth), as lines split at 180 degrees."""
    from geo.ground_seen import ground_seen_lonlat

    if not camera:
        return []
    return _outlines([({}, ground_seen_lonlat([polygon for _, polygon in camera]))])


def _outlines(records: list[Record]) -> list:  # noqa: ANN202 - shapely LineStrings
    """The rings of the records' polygons as lines (exteriors and holes), split at 180
    degrees (:func:`geo.export.vector.polygon_outlines`)."""
    from geo.export.vector import polygon_outlines

    return [line for _, geometry in records for line in polygon_outlines(geometry)]


def _written_utc(path: Path) -> str | None:
    """When ``path`` was last written, UTC to the minute, or ``None`` when there is none."""
    import datetime as dt

    try:
        written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
    except OSError:
        return None
    return written.strftime("%Y-%m-%d %H:%M UTC")


__all__ = ["LAYER_ORDER", "README_WIDTH", "WORDS", "PackageResult", "contact_lines", "damage_scale_lines",
           "kmz_description", "not_shown_lines", "open_first_lines", "package_layers", "readme_text",
           "sites_on_buildings", "coverage_lines", "words_lines", "write_layers", "write_package"]
