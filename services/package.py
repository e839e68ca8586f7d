"""The relief package of a project: graded buildings, coverage, maps and provenance in one zip.

What the package says about the event (name, GLIDE number, analyst, organisation, how to
reach them, area, version) and which building footprints and basemap it uses are stored in the project,
so they are set once (on the command line or in the app's export dialog) and travel into
every product; both clients call :func:`export_package` through
:func:`services.export.export_project`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from core.last_few import LastFew
from core.settings import ProjectSettings
from core.store import ProjectStore, relative_to_project, resolve_referenced
from core.text import shown_file_name
from services.maps import damage_map as _damage_map
from services.maps import file_stamp
from services.maps import resolve_run

if TYPE_CHECKING:  # pragma: no cover
    from geo.export.package import PackageResult
    from geo.export.products import ProductInfo
    from geo.mapping import DamageMap
    from geo.pitch import FlowView

#: Longest side of the basemap on the printed page (about 7 inches at 150 dpi).
PRINT_BASEMAP_PX = 1200
#: Footprints farther than this outside the area the camera saw are not read.
FOOTPRINT_MARGIN_M = 100.0
#: Project settings keys (beside :class:`core.settings.ProjectSettings`'s).
PRODUCT_KEY = "product_info"
FOOTPRINTS_KEY = "footprints_path"
BASEMAP_KEY = "basemap_path"


def product_info(store: ProjectStore) -> ProductInfo:
    """The event and producer stored in the project (empty fields when never set).

    Raises
    ------
    InputError
        If the stored values are not valid (set them again).
    """
    from geo.export.products import ProductInfo

    tried = (_TRIED_INFO.get() or {}).get(_project_key(store))
    if tried is not None:
        return tried
    try:
        return ProductInfo.from_mapping(store.get_setting(PRODUCT_KEY) or {})
    except (TypeError, ValueError) as exc:
        raise InputError(f"{store.path}: the stored event information is not valid ({exc}); set it again") from None


def valid_product_fields(store: ProjectStore) -> tuple[ProductInfo, tuple[str, ...]]:
    """The stored product information's fields that are valid each on its own, and the
    names of those that are not (left at their defaults): where :func:`product_info`
    refuses the whole (a field kept by an older damagemap), what a form shows to give
    the others again unchanged."""
    from dataclasses import fields

    from geo.export.products import ProductInfo

    stored = store.get_setting(PRODUCT_KEY)
    stored = stored if isinstance(stored, dict) else {}
    kept: dict[str, Any] = {}
    refused: list[str] = []
    for name in (f.name for f in fields(ProductInfo)):
        if stored.get(name) is None:
            continue
        try:
            ProductInfo(**{name: stored[name]})
        except (TypeError, ValueError):
            refused.append(name)
        else:
            kept[name] = stored[name]
    return ProductInfo(**kept), tuple(refused)


def update_product_info(store: ProjectStore, **changes: Any) -> ProductInfo:
    """Change some fields of the stored product information (``event``, ``glide``,
    ``analyst``, ``organisation``, ``contact``, ``area``, ``version``) and store it.

    Raises
    ------
    InputError
        Naming the field whose value cannot be used; nothing is stored then.
    """
    updated = check_product_info(store, **changes)
    store.set_setting(PRODUCT_KEY, updated.to_mapping())
    return updated


def check_product_info(store: ProjectStore, **changes: Any) -> ProductInfo:
    """The project's product information with ``changes`` (``None``: left as it is),
    checked, not stored (:func:`update_product_info` stores it).

    Raises
    ------
    InputError
        Naming the field whose value cannot be used.
    """
    from geo.export.products import ProductInfo

    given: dict[str, Any] = {k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items() if v is not None}
    if "glide" in given and isinstance(given["glide"], str):
        given["glide"] = given["glide"].upper()
    if given.get("area") == "":  # cleared: the default code, as the package's name gives it, not a blank
        given["area"] = ProductInfo().area
    tried = (_TRIED_INFO.get() or {}).get(_project_key(store))
    # Over the stored mapping, not a checked ProductInfo: a stored value that is no longer
    # valid (an older version let it in) can be set again.
    current = tried.to_mapping() if tried is not None else store.get_setting(PRODUCT_KEY) or {}
    try:
        return ProductInfo.from_mapping({**dict(current), **given})
    except (TypeError, ValueError) as exc:
        product_info(store)  # a stored value still wrong: "set it again", naming the project
        raise InputError(str(exc)) from None


#: Product information given for the exports running in this context, not stored yet
#: (:func:`trying_product_info`): ``{project path: ProductInfo}``.
_TRIED_INFO: ContextVar[dict[str, ProductInfo] | None] = ContextVar("damagemap_tried_info", default=None)


@contextmanager
def trying_product_info(store: ProjectStore, **changes: Any) -> Iterator[None]:
    """:func:`update_product_info`'s ``changes``, checked first, for the exports made
    inside the block, and stored once it ends without an error; a read-only project
    (opened to view and export) keeps its own: the changes make these exports only.

    Raises
    ------
    InputError
        Naming the field whose value cannot be used (before the block runs).
    """
    if all(value is None for value in changes.values()):
        yield
        return
    updated = check_product_info(store, **changes)
    token = _TRIED_INFO.set({**(_TRIED_INFO.get() or {}), _project_key(store): updated})
    try:
        yield
    finally:
        _TRIED_INFO.reset(token)
    if not store.read_only:
        store.set_setting(PRODUCT_KEY, updated.to_mapping())


#: Footprints/basemap given for the exports running in this context, not stored yet
#: (:func:`trying_product_sources`): ``{project path: {settings key: path text, "" for none}}``.
_TRIED_SOURCES: ContextVar[dict[str, dict[str, str]] | None] = ContextVar("damagemap_tried_sources", default=None)
_SOURCE_FLAGS = {FOOTPRINTS_KEY: "footprints", BASEMAP_KEY: "basemap"}


def _project_key(store: ProjectStore) -> str:
    """The project a value tried for its exports is kept under (:func:`trying_product_info`,
    :func:`trying_product_sources`): its file's resolved path."""
    return str(Path(store.path).resolve())


def _tried(store: ProjectStore) -> dict[str, str]:
    return (_TRIED_SOURCES.get() or {}).get(_project_key(store), {})


def product_sources(store: ProjectStore) -> tuple[Path | None, Path | None]:
    """The building footprints file and the basemap of the project's products (``None``:
    none): those stored in the project, or those being tried (:func:`trying_product_sources`)."""
    tried = _tried(store)
    footprints = tried.get(FOOTPRINTS_KEY, _stored_source(store, FOOTPRINTS_KEY))
    basemap = tried.get(BASEMAP_KEY, _stored_source(store, BASEMAP_KEY))
    return (Path(footprints) if footprints else None, Path(basemap) if basemap else None)


#: Appended to a source's settings key: its path relative to the project's folder, so
#: that it follows a project moved or copied with its files, as the video and telemetry do.
_RELATIVE = "_relative"


def _stored_source(store: ProjectStore, key: str) -> str | None:
    """The stored file of ``key``: where its relative path from the project's folder
    leads when a file is there (or the absolute one is gone), else its absolute path."""
    stored, relative = store.get_setting(key), store.get_setting(key + _RELATIVE)
    if not stored:
        return None
    found = resolve_referenced(Path(store.path), str(relative) if relative else None, str(stored))
    return None if found is None else str(found)


def _checked_source(key: str, value: Path | str) -> str:
    """``value`` as it is stored: ``""`` for none, else the absolute path of a file
    that was read enough to know the products can use it.

    Raises
    ------
    InputError
        Naming the file and the problem.
    """
    if str(value) == "":
        return ""
    path = Path(value).expanduser()
    if key == FOOTPRINTS_KEY:
        from geo.footprints import check_footprints

        check_footprints(path)
    else:
        from geo.basemap import check_basemap

        check_basemap(path)
    return str(path.resolve())


def check_product_sources(footprints: Path | str | None = None, basemap: Path | str | None = None) -> dict[str, str]:
    """Read the footprints and/or basemap given enough to know the products can use them
    (``""``: none; ``None``: not given), storing nothing: ``{settings key: what would be
    stored}``. For a client that checks a choice before the export that stores it.

    Raises
    ------
    InputError
        Naming the file and the problem.
    """
    return {key: _checked_source(key, value) for key, value in ((FOOTPRINTS_KEY, footprints), (BASEMAP_KEY, basemap))
            if value is not None}


def _store_sources(store: ProjectStore, sources: dict[str, str]) -> None:
    for key, value in sources.items():
        store.set_setting(key, value or None)
        store.set_setting(key + _RELATIVE, relative_to_project(Path(store.path).resolve(), Path(value)) if value else None)


def set_product_sources(store: ProjectStore, *, footprints: Path | str | None = None,
                        basemap: Path | str | None = None) -> None:
    """Store the footprints and/or basemap file (absolute paths; an empty string removes
    it; ``None`` leaves it as it is), once each file given has been read enough to know
    the products can use it (:func:`geo.footprints.check_footprints`, :func:`geo.basemap.check_basemap`).

    Raises
    ------
    InputError
        If a file given does not exist or cannot be used; nothing is stored then.
    """
    _store_sources(store, check_product_sources(footprints, basemap))


@contextmanager
def trying_product_sources(store: ProjectStore, *, footprints: Path | str | None = None,
                           basemap: Path | str | None = None) -> Iterator[None]:
    """Check the footprints and/or basemap given (as :func:`set_product_sources`), have
    the exports made inside the block use them, and store them in the project only when
    the block ends without an error: a file the export could not use is never left in
    the project to break every later export. A read-only project keeps its own.

    Raises
    ------
    InputError
        If a file given cannot be used (before the block runs).
    """
    sources = check_product_sources(footprints, basemap)
    if not sources:
        yield
        return
    project = _project_key(store)
    tried = dict(_TRIED_SOURCES.get() or {})
    tried[project] = {**tried.get(project, {}), **sources}
    token = _TRIED_SOURCES.set(tried)
    try:
        yield
    finally:
        _TRIED_SOURCES.reset(token)
    if not store.read_only:
        _store_sources(store, sources)


def _stored_source_failure(exc: InputError, key: str) -> InputError:
    """``exc`` (a stored footprints or basemap file that cannot be used) saying where the
    file comes from and how to clear it."""
    flag = _SOURCE_FLAGS[key]
    return type(exc)(f"{exc} (the project's stored {flag} file: give another with --{flag} FILE, or clear it with "
                     f'--{flag} ""; in the app, File > Export…, Relief package)')


@dataclass(frozen=True, slots=True)
class PackageRequest:
    """Where to write the package; ``thumbnails``: pictures in the HTML map's popups (the
    printed atlas shows its close-ups either way); ``footprints``/``basemap`` replace the
    project's for this package only; ``produced`` (UTC) replaces the clock (reproducible
    outputs)."""

    out_dir: Path
    thumbnails: bool = True
    footprints: Path | None = None
    basemap: Path | None = None
    produced: dt.datetime | None = None


def software_version() -> str:
    """The installed version ("damagemap X.Y.Z"), for provenance."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"damagemap {version('damagemap')}"
    except PackageNotFoundError:
        return "damagemap (version unknown)"


def model_text(model: Any) -> str:
    """A run's model record in a few words (name, weights file, digest, version), for provenance."""
    if not isinstance(model, dict):
        return str(model) if model else "unknown"
    parts = []
    for key in ("name", "arch", "architecture", "backbone"):
        if model.get(key):
            parts.append(str(model[key]))
            break
    for key in ("weights", "path", "file"):
        if model.get(key):
            parts.append(Path(str(model[key])).name)
            break
    for key in ("sha256", "digest"):
        if model.get(key):
            parts.append(f"sha256 {str(model[key])[:12]}")
            break
    for key in ("version", "format_version"):
        if model.get(key):
            parts.append(f"version {model[key]}")
            break
    return ", ".join(parts) or "unknown"


@dataclass(frozen=True)
class ProductLayers:
    """What the footprints and basemap add to a map: the buildings' grades (``None``
    without footprints), the coverage (of the footprints, else of grid cells) and the
    basemap for the web map (Web Mercator) and the printed map (the map's UTM zone)."""

    grading: Any
    coverage: Any
    basemap_html: Any
    basemap_print: Any
    footprints_path: Path | None
    basemap_path: Path | None
    info: Any = None

    def html_layers(self) -> Any:
        """A ``geo.export.html`` ``extra_layers`` callable drawing them."""
        from geo.export.products import html_layers

        return html_layers(grading=self.grading, coverage=self.coverage, basemap=self.basemap_html, info=self.info)


def padded_bounds(bounds: tuple[float, float, float, float] | None, margin_m: float) -> tuple[float, float, float, float] | None:
    """``bounds`` (lon/lat) grown by about ``margin_m`` on every side."""
    import math

    if bounds is None:
        return None
    west, south, east, north = bounds
    dlat = margin_m / 111_320.0
    dlon = margin_m / (111_320.0 * max(math.cos(math.radians((south + north) / 2)), 0.01))
    return west - dlon, south - dlat, east + dlon, north + dlat


def has_product_sources(store: ProjectStore) -> bool:
    return any(p is not None for p in product_sources(store))


def grade_footprints(built: DamageMap, footprints_path: Path) -> tuple[Any, Any]:
    """``(grading, coverage)`` of the footprints in ``footprints_path`` around the area
    ``built`` flew (:data:`FOOTPRINT_MARGIN_M` beyond it), graded from its sites: what
    the exports and the app's map both show.

    Raises
    ------
    InputError
        Footprints that cannot be used (naming the file).
    """
    from geo.grading import grade_buildings

    path = Path(footprints_path)
    stamp = file_stamp(path)
    assert stamp is not None
    outlines = footprints_around(built, path)
    coverage = _covered(built, outlines, stamp)
    return grade_buildings(built, outlines, coverage), coverage


def footprints_around(built: DamageMap, footprints_path: Path) -> Any:
    """The footprints (``geo.footprints.Footprints``) of ``footprints_path`` around the
    area ``built`` flew (:data:`FOOTPRINT_MARGIN_M` beyond it), kept while the file is
    unchanged: the app grades the footprints again after every review decision, which
    changes the sites, not the buildings (a file that cannot be read raises, and is read
    again next time).

    Raises
    ------
    InputError
        Footprints that cannot be used (naming the file).
    """
    from geo.coverage import flown_bounds_lonlat

    return footprints_within(footprints_path, padded_bounds(flown_bounds_lonlat(built), FOOTPRINT_MARGIN_M))


def footprints_within(footprints_path: Path, bbox_lonlat: tuple[float, float, float, float] | None) -> Any:
    """The footprints of ``footprints_path`` meeting ``bbox_lonlat`` (west, south, east,
    north; ``None``: all), kept while the file is unchanged (:func:`footprints_around`).

    Raises
    ------
    InputError
        Footprints that cannot be used (naming the file).
    """
    from geo.footprints import read_footprints

    path = Path(footprints_path)
    stamp = file_stamp(path)
    if stamp is None:
        raise InputError(f"{path}: no such footprints file")
    return _OUTLINES.get_or_read((stamp, bbox_lonlat), lambda: read_footprints(path, bbox_lonlat=bbox_lonlat))


#: the footprints read around the last few maps, by the file's stamp and the area read
_OUTLINES = LastFew(4)
#: (the footprints file, what coverage is computed from) -> each building's coverage (by
#: its id), for the last few maps: the frames that looked at the buildings, and so each
#: one's coverage, do not change with a review decision (which may change the area read
#: around the flight by a little, and so which buildings are graded)
_COVERAGE = LastFew(4)


def clear_cache() -> None:
    """Forget the footprints read and their coverage (tests, benchmarks; ``services.maps.clear_cache``)."""
    _OUTLINES.clear()
    _COVERAGE.clear()


def _covered(built: DamageMap, outlines: Any, stamp: tuple[str, int, int]) -> Any:
    """:func:`geo.coverage.footprint_coverage` of ``outlines`` (read from a file as it is
    at ``stamp``) by the map's frames; each building's is kept, and only those not
    covered before are computed."""
    from dataclasses import replace

    from geo.coverage import CoverageLayer, CoverageSettings, footprint_coverage

    ids = outlines.ids
    if len(set(ids)) != len(ids):  # buildings not told apart by their ids
        return footprint_coverage(built, outlines)
    key = (stamp, built.camera, built.local.key, tuple(sorted(built.looking_poses.items())),
           tuple(sorted((built.views or {}).items())))
    known = dict(_COVERAGE.get(key) or {})
    missing = [k for k, building in enumerate(ids) if building not in known]
    if missing:
        part = replace(outlines, ids=tuple(ids[k] for k in missing),
                       polygons=tuple(outlines.polygons[k] for k in missing),
                       heights_m=tuple(outlines.heights_m[k] for k in missing),
                       attributes=tuple(outlines.attributes[k] for k in missing) if outlines.attributes else ())
        layer = footprint_coverage(built, part)
        known.update(zip(layer.ids, layer.coverage))
        _COVERAGE.put(key, known)
    return CoverageLayer("building", tuple(ids), tuple(outlines.polygons), tuple(known[b] for b in ids),
                         CoverageSettings())


def product_layers(store: ProjectStore, built: DamageMap, *, footprints: Path | None = None,
                   basemap: Path | None = None) -> ProductLayers:
    """Grade the project's footprints (``footprints`` replaces them), cover them (or a
    grid) and read its basemap (``basemap`` replaces it) for the map ``built``.

    Raises
    ------
    InputError
        Footprints or basemap that cannot be used (naming the file).
    """
    from geo.basemap import read_basemap
    from geo.coverage import flown_bounds_lonlat, grid_coverage

    stored_footprints, stored_basemap = product_sources(store)
    footprints_path = footprints or stored_footprints
    basemap_path = basemap or stored_basemap
    tried = _tried(store)
    grading = None
    area = flown_bounds_lonlat(built)
    if footprints_path is not None:
        try:
            grading, coverage = grade_footprints(built, footprints_path)
        except InputError as exc:
            if footprints is not None or FOOTPRINTS_KEY in tried:
                raise
            raise _stored_source_failure(exc, FOOTPRINTS_KEY) from None
    else:
        coverage = grid_coverage(built)
    basemap_html = basemap_print = None
    if basemap_path is not None and area is not None:
        try:
            basemap_html = read_basemap(basemap_path, area)
            basemap_print = read_basemap(basemap_path, area, crs=built.crs, max_px=PRINT_BASEMAP_PX)
        except InputError as exc:
            if basemap is not None or BASEMAP_KEY in tried:
                raise
            raise _stored_source_failure(exc, BASEMAP_KEY) from None
    return ProductLayers(grading, coverage, basemap_html, basemap_print, footprints_path, basemap_path,
                         product_info(store))


def export_package(
    store: ProjectStore,
    request: PackageRequest,
    *,
    run_id: int | None = None,
    settings: ProjectSettings | None = None,
    telemetry_path: Path | None = None,
    dem_path: Path | None = None,
    camera_view: FlowView | None = None,
    thumbnail: Callable[[int], bytes | None] | None = None,
    closeup: Callable[[int], bytes | None] | None = None,
) -> PackageResult:
    """Write the run's relief package (the latest run by default) into ``request.out_dir``
    (``thumbnail`` and ``closeup``: the HTML map's pictures, as :func:`geo.export.export_map` takes them).
    ``settings``, ``telemetry_path``, ``dem_path`` and ``camera_view`` build the map as
    :func:`services.maps.damage_map` takes them, so the package shows the sites the
    export's other files show, where they show them.

    Raises
    ------
    InputError
        Footprints or basemap that cannot be used (naming the file).
    ExportError
        Naming the file that could not be written.
    GeoreferenceError, TelemetryError
        If the map cannot be built.
    """
    from geo.export.package import write_package
    from geo.export.products import map_credits

    run_id = resolve_run(store, run_id)
    built = _damage_map(store, run_id, settings=settings, telemetry_path=telemetry_path, dem_path=dem_path,
                        camera_view=camera_view)
    info = product_info(store)
    products = product_layers(store, built, footprints=request.footprints, basemap=request.basemap)
    footprints_path, basemap_path = products.footprints_path, products.basemap_path
    produced = (request.produced or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    credits = map_credits(software=software_version(), footprints=footprints_path, basemap=basemap_path,
                          imagery=f"drone video {shown_file_name(Path(store.video_path).name)}",
                          organisation=info.organisation)
    provenance: dict[str, Any] = {
        "video": shown_file_name(Path(store.video_path).name),
        "model": model_text(store.run(run_id).model),
        "software": software_version(),
        "project": Path(store.path).name,
        "run": run_id,
        "footprints": footprints_path.name if footprints_path else None,  # a name: the package goes to others
        "basemap": basemap_path.name if basemap_path else None,
        "terrain": Path(dem_path).name if dem_path is not None else None,
        "produced": produced.strftime("%Y-%m-%d %H:%M UTC"),
        "credits": credits,
    }
    return write_package(built, request.out_dir, info=info, grading=products.grading, coverage=products.coverage,
                         basemap_html=products.basemap_html, basemap_print=products.basemap_print,
                         thumbnail=thumbnail, provenance=provenance, closeup=closeup,
                         popup_pictures=request.thumbnails)


__all__ = ["BASEMAP_KEY", "FOOTPRINTS_KEY", "FOOTPRINT_MARGIN_M", "PRODUCT_KEY", "PackageRequest", "ProductLayers",
           "check_product_sources", "export_package", "grade_footprints", "has_product_sources",
           "model_text", "padded_bounds", "product_info", "product_layers", "product_sources", "set_product_sources",
           "software_version", "trying_product_sources", "update_product_info", "valid_product_fields"]
