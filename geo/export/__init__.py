"""Writing a :class:`~geo.mapping.DamageMap` for relief teams and GIS users.

:func:`export_map` writes into one folder: ``damage_sites.geojson``,
``observations.geojson``, ``track.geojson``, ``heatmap.geojson`` (RFC 7946, WGS84 lon/lat),
``damage_map.gpkg`` (every layer), ``damage_sites.kml``, ``damage_sites.kmz`` (the KML with
its icon inside, for a phone offline), ``damage_sites.csv`` and
``damage_map.html`` (works offline). Properties are documented in ``docs/exports.md``.
Each file is written to a temporary name and renamed when complete; temporary files
an earlier export left when it was killed are removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from core.errors import ExportError
from geo.export._atomic import ensure_dir, remove_abandoned_temp_files
from geo.export.html import write_html
from geo.export.records import heat_records, observation_records, site_records, track_records
from geo.export.vector import write_geojson, write_geopackage, write_kml, write_kmz, write_sites_csv
from geo.mapping import DamageMap

#: format name -> file name
FILES = {
    "sites": "damage_sites.geojson",
    "observations": "observations.geojson",
    "track": "track.geojson",
    "heatmap": "heatmap.geojson",
    "gpkg": "damage_map.gpkg",
    "kml": "damage_sites.kml",
    "kmz": "damage_sites.kmz",
    "csv": "damage_sites.csv",
    "html": "damage_map.html",
}
#: shorthand format names accepted by :func:`export_map`
ALIASES = {"geojson": ("sites", "observations", "track", "heatmap")}


def resolve_formats(formats: Iterable[str] | None) -> list[str]:
    """The file formats named by ``formats`` (aliases expanded; ``None``: all).

    Raises
    ------
    ExportError
        Naming an unknown format and listing the known ones.
    """
    if formats is None:
        return list(FILES)
    chosen: list[str] = []
    for name in formats:
        key = name.strip().lower()
        for item in ALIASES.get(key, (key,)):
            if item not in FILES:
                raise ExportError(f"unknown export format {name!r}; choose from {', '.join([*FILES, *ALIASES])}")
            if item not in chosen:
                chosen.append(item)
    return chosen


def export_map(
    damage_map: DamageMap,
    out_dir: str | Path,
    *,
    formats: Iterable[str] | None = None,
    thumbnail: Callable[[int], bytes | None] | None = None,
    closeup: Callable[[int], bytes | None] | None = None,
    writing: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write the chosen ``formats`` (all by default) into ``out_dir``; ``writing(path)``
    is told each file before it is written (an export's progress).

    ``thumbnail(frame_index)`` returns a JPEG of a frame (or ``None``) for the HTML
    popups, and ``closeup(site_id)`` one of the part of its best frame that
    :func:`geo.export.html.closeup_requests` names; the caller supplies them, since
    ``geo`` does not decode video.

    Raises
    ------
    ExportError
        Naming the folder or file that could not be written; no partial file is left.
    """
    chosen = resolve_formats(formats)  # an unknown format is refused before any folder is made
    out = ensure_dir(Path(out_dir))
    # What an earlier export that was killed part-way left behind.
    remove_abandoned_temp_files(out, [out / name for name in FILES.values()])
    written: list[Path] = []
    try:
        for fmt in chosen:
            if writing is not None:
                writing(out / FILES[fmt])
            _write_format(fmt, out / FILES[fmt], damage_map, thumbnail=thumbnail, closeup=closeup)
            written.append(out / FILES[fmt])
    except ExportError as exc:
        raise ExportError(f"{exc}{partly_written(out, written)}") from None
    return written


def partly_written(out: Path, written: list[Path], names: Iterable[str] | None = None) -> str:
    """What an export that stopped part-way leaves in ``out``: the files it wrote, and
    those there from an earlier export (each file is whole, but the set is mixed);
    ``names``: the files such an export writes (default: a flight's, :data:`FILES`)."""
    if not out.is_dir():  # the folder went away while the export wrote into it (deleted, unmounted)
        return f"; the folder {out} is gone (deleted or unmounted while exporting): nothing written is left"
    written = [path for path in written if Path(path).is_file()]
    earlier = sorted(name for name in (FILES.values() if names is None else names)
                     if (out / name).is_file() and out / name not in written)
    if not written:
        return "; nothing was written" + (f" (the {_files(earlier)} in {out} are from an earlier export)"
                                          if earlier else "")
    note = f"; this export wrote {_files([path.name for path in written])} before it stopped"
    if earlier:
        note += f", and the {_files(earlier)} beside {'it' if len(written) == 1 else 'them'} are from an earlier export"
    return note


def _files(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:2])} and {len(names) - 2} other files"


def _write_format(fmt: str, target: Path, damage_map: DamageMap, *,
                  thumbnail: Callable[[int], bytes | None] | None,
                  closeup: Callable[[int], bytes | None] | None) -> None:
    """Write one format's file (see :data:`FILES`)."""
    if fmt == "sites":
        write_geojson(target, site_records(damage_map), name="damage_sites")
    elif fmt == "observations":
        write_geojson(target, observation_records(damage_map), name="observations")
    elif fmt == "track":
        write_geojson(target, track_records(damage_map), name="track")
    elif fmt == "heatmap":
        write_geojson(target, heat_records(damage_map), name="heatmap")
    elif fmt == "gpkg":
        write_geopackage(target, damage_map)
    elif fmt == "kml":
        write_kml(target, damage_map)
    elif fmt == "kmz":
        write_kmz(target, damage_map, closeup=closeup)
    elif fmt == "csv":
        write_sites_csv(target, damage_map)
    elif fmt == "html":
        write_html(target, damage_map, thumbnail=thumbnail, closeup=closeup)


__all__ = ["FILES", "export_map", "partly_written", "resolve_formats"]
